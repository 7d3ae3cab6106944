"""Scoring a model on a split: loss with the regularization penalty, accuracy, and
scikit-learn's ROC AUC, from predictions made in batches of one fixed shape.

Both the per-epoch validation scores of a trial's history and the kept weights' scores
of every split come from :func:`evaluate_split`, so the two say the same thing.
"""

from __future__ import annotations

import numpy as np

from bench._keras import keras
from bench._schema import Task
from bench.workload import Split

#: Images per evaluation step (each epoch's validation, and every split after training).
#: Evaluation updates no weights, so its batch size changes no result beyond the
#: summation order of the mean loss (under 1e-6); larger batches run the same arithmetic
#: in fewer, larger kernels (validation 1.2x faster than in batches of 32, BENCHMARKS.md).
EVAL_BATCH_SIZE = 256


def predict_scores(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """The model's outputs for ``x``, predicted in batches of :data:`EVAL_BATCH_SIZE`
    images; the last batch is filled up with zeros and their outputs dropped, so every
    split of every size runs the one predict program (JAX compiles one per shape).

    Example:
        >>> from bench.workload import PRESETS, build_vit
        >>> m = build_vit(PRESETS["tiny"], channels=1, num_outputs=3, task="multiclass")
        >>> predict_scores(m, np.zeros((5, 16, 16, 1), "float32")).shape
        (5, 3)
    """
    outputs = []
    for start in range(0, len(x), EVAL_BATCH_SIZE):
        batch = x[start : start + EVAL_BATCH_SIZE]
        filled = len(batch)
        if filled < EVAL_BATCH_SIZE:
            batch = np.concatenate(
                [batch, np.zeros((EVAL_BATCH_SIZE - filled, *batch.shape[1:]), batch.dtype)]
            )
        # The model's traced predict step, kept with the model when trials reuse it.
        scores = keras.ops.convert_to_numpy(model.predict_on_batch(batch))
        outputs.append(scores[:filled])
    return np.concatenate(outputs)


def evaluate_split(
    model: keras.Model, split: Split, *, task: Task, loss_fn: keras.losses.Loss
) -> tuple[dict[str, float | None], np.ndarray]:
    """Loss (with the regularization penalty, as in training), accuracy and AUC of a split.

    AUC is scikit-learn's ``roc_auc_score`` (macro one-vs-rest for multiclass); it is
    None where it is undefined (one class present, or a diverged model's NaN scores).
    Returns the metrics and the model's scores (binary: P(positive) per image).
    """
    probs = predict_scores(model, split.x)
    targets = _targets(split.y, task=task, num_outputs=probs.shape[-1])
    penalty = sum(float(keras.ops.convert_to_numpy(v)) for v in model.losses)
    loss = float(keras.ops.convert_to_numpy(loss_fn(targets, probs))) + penalty
    if task == "multiclass":
        accuracy = float(np.mean(np.argmax(probs, axis=1) == split.y))
        scores = probs
    else:
        accuracy = float(np.mean((probs > 0.5) == (targets > 0.5)))
        scores = probs[:, 0] if task == "binary" else probs
    return {"loss": loss, "accuracy": accuracy, "auc": roc_auc(split.y, scores, task=task)}, scores


def roc_auc(y_true: np.ndarray, y_score: np.ndarray, *, task: Task) -> float | None:
    """scikit-learn's ROC AUC for the task, or None where it is undefined.

    Example:
        >>> roc_auc(np.array([0, 1, 1]), np.array([0.2, 0.9, 0.6]), task="binary")
        1.0
    """
    from sklearn.metrics import roc_auc_score

    if not np.all(np.isfinite(y_score)):
        return None
    try:
        if task == "multiclass":
            return float(
                roc_auc_score(
                    y_true,
                    y_score,
                    multi_class="ovr",
                    average="macro",
                    labels=np.arange(y_score.shape[1]),
                )
            )
        return float(roc_auc_score(y_true, y_score, average="macro"))
    except ValueError:
        return None


def _targets(y: np.ndarray, *, task: Task, num_outputs: int) -> np.ndarray:
    if task == "multiclass":
        return np.eye(num_outputs, dtype="float32")[y]
    if task == "binary":
        return y.reshape(-1, 1).astype("float32")
    return y.astype("float32")
