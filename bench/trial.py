"""One trial: build the shared ViT, fit it with one recipe, evaluate every split.

Nothing here knows about Optuna: a study passes ``on_epoch``, which receives each epoch's
record and answers whether to stop (prune) the run.
"""

from __future__ import annotations

import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench._keras import keras
from bench._record import TrialResult, library_versions
from bench._schema import (
    COMPLETED,
    DIVERGED,
    EARLY_STOPPED,
    EPOCH_METRICS,
    PRUNED,
    SPLITS,
    StopReason,
    Task,
)
from bench._signals import at_safe_points, raise_if_stop_requested
from bench.recipe import (
    Recipe,
    build_callbacks,
    build_loss,
    build_optimizer,
    build_regularizer,
    optimizer_signature,
    set_optimizer_values,
    set_regularizer_value,
)
from bench.workload import Split, Workload, make_pipeline
from bench.workload._model import build_vit

#: Called with each epoch's history record; a true answer stops the run as pruned.
EpochHook = Callable[[dict[str, float]], "bool | None"]
#: Called once a run is evaluated, with a plain copy of the model it kept (see run_trial).
KeptHook = Callable[[keras.Model], None]

#: The metrics of the training images with their clean labels (label-noise workloads).
CLEAN_TRAIN = "train_clean"

#: Set to 0 to build, trace and compile a fresh model in every trial.
REUSE_ENV = "BENCH_REUSE"


def run_trial(
    workload: Workload,
    recipe: Recipe,
    *,
    on_epoch: EpochHook | None = None,
    on_kept: KeptHook | None = None,
    reuse: bool | None = None,
) -> TrialResult:
    """Train the workload's ViT with ``recipe`` and evaluate the weights it keeps.

    ``on_epoch`` gets each epoch's history record (a display follows it, a study reports
    it to its pruner); returning True stops the run and marks it ``pruned``.

    ``on_kept`` gets, once the splits are evaluated, an uncompiled copy of the model with
    the weights it kept and Keras's own L2, which ``model.save`` writes as a file Keras
    loads without bench's optimizers or variables (``bench train --save``).

    With ``reuse`` (default: :func:`reuse_enabled`), trials in one process that share the
    model's shape and the optimizer's kind train with the same traced steps; each trial
    still starts from the weights, optimizer state and random streams that a fresh build
    with its seed has, so its history is the same as with ``reuse=False``.

    Example:
        The arguments of a one-epoch run on the built-in digits:

        >>> from bench.workload import load_workload
        >>> workload, recipe = load_workload("digits"), Recipe(epochs=1)
        >>> workload.dataset.task, recipe.epochs
        ('binary', 1)

        ``run_trial(workload, recipe)`` then trains one epoch and returns a result with
        ``epochs_run == 1`` and ``stop_reason == "completed"`` (that call, which trains,
        is ``test_the_documented_one_epoch_run_completes`` in ``tests/test_trial.py``).
    """
    with at_safe_points():
        return _run_trial(workload, recipe, on_epoch=on_epoch, on_kept=on_kept, reuse=reuse)


def _run_trial(
    workload: Workload,
    recipe: Recipe,
    *,
    on_epoch: EpochHook | None,
    on_kept: KeptHook | None,
    reuse: bool | None,
) -> TrialResult:
    reuse = reuse_enabled() if reuse is None else reuse
    if not reuse:
        keras.backend.clear_session()
    seed_everything(recipe.seed)
    data = workload.dataset
    train = make_pipeline(data.train, batch_size=recipe.batch_size, shuffle=True, seed=recipe.seed)
    val = make_pipeline(data.val, batch_size=EVAL_BATCH_SIZE, shuffle=False, seed=recipe.seed)
    steps_per_epoch = math.ceil(len(data.train.x) / recipe.batch_size)

    compiled = _compiled_model(workload, recipe, reuse=reuse)
    model = compiled.prepare(recipe, steps_per_epoch=steps_per_epoch)
    recorder = _HistoryRecorder(on_epoch)
    recipe_callbacks = build_callbacks(recipe)
    start = time.perf_counter()
    model.fit(
        train,
        validation_data=val,
        epochs=recipe.epochs,
        verbose=0,
        shuffle=False,  # the pipeline reshuffles every epoch with the recipe's seed
        callbacks=[_SafePoints(), recorder, *recipe_callbacks],
    )
    raise_if_stop_requested()
    compiled.keep_train_function()
    fit_seconds = time.perf_counter() - start

    history = recorder.history
    epochs_run = len(history)
    stopper = next(
        (c for c in recipe_callbacks if isinstance(c, keras.callbacks.EarlyStopping)), None
    )
    stop_reason = _stop_reason(history, pruned=recorder.pruned, stopper=stopper)
    kept_epoch = _kept_epoch(recipe, stopper=stopper, epochs_run=epochs_run)

    loss_fn = build_loss(recipe, task=data.task)
    metrics, test_scores = {}, None
    for name in SPLITS:
        metrics[name], scores = evaluate_split(
            model, getattr(data, name), task=data.task, loss_fn=loss_fn
        )
        if name == "test":
            test_scores = scores
    gap = {
        "accuracy": metrics["train"]["accuracy"] - metrics["val"]["accuracy"],
        "loss": metrics["val"]["loss"] - metrics["train"]["loss"],
    }
    if data.train_clean is not None:
        # Against flipped labels a model that learned the clean task scores low on train;
        # the gap that says how well it generalizes compares it on the clean labels.
        metrics[CLEAN_TRAIN], _ = evaluate_split(
            model, data.train_clean, task=data.task, loss_fn=loss_fn
        )
        gap["clean_accuracy"] = metrics[CLEAN_TRAIN]["accuracy"] - metrics["val"]["accuracy"]
    if on_kept is not None:
        on_kept(compiled.plain_copy(recipe))
    return TrialResult(
        history=history,
        kept_epoch=kept_epoch,
        epochs_run=epochs_run,
        stop_reason=stop_reason,
        metrics=metrics,
        gap=gap,
        test_predictions={"y_true": data.test.y.tolist(), "y_score": test_scores.tolist()},
        class_names=list(data.class_names),
        task=data.task,
        recipe=recipe.to_dict(),
        workload=workload.describe(),
        wall_time_s=time.perf_counter() - start,
        images_per_s=len(data.train.x) * epochs_run / fit_seconds if fit_seconds else 0.0,
        versions=library_versions(),
    )


def evaluate_split(
    model: keras.Model, split: Split, *, task: Task, loss_fn: keras.losses.Loss
) -> tuple[dict[str, float | None], np.ndarray]:
    """Loss (with the regularization penalty, as in training), accuracy and AUC of a split.

    AUC is scikit-learn's ``roc_auc_score`` (macro one-vs-rest for multiclass); it is
    None where it is undefined (one class present, or a diverged model's NaN scores).
    Returns the metrics and the model's scores (binary: P(positive) per image).
    """
    # The model's traced predict step, kept with the model when trials reuse it.
    probs = np.concatenate(
        [
            keras.ops.convert_to_numpy(model.predict_on_batch(split.x[i : i + EVAL_BATCH_SIZE]))
            for i in range(0, len(split.x), EVAL_BATCH_SIZE)
        ]
    )
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


def seed_everything(seed: int) -> None:
    """Seed every random stream a trial draws from: Python's and NumPy's with ``seed``,
    TensorFlow's global seed with a fixed value, once per process.

    Why not ``keras.utils.set_random_seed``: its ``tf.random.set_seed`` clears
    TensorFlow's caches of instantiated functions, so the next call of every traced step
    is optimized again (about 3 s a trial on a 2-core machine), which undoes reusing
    them. The only TensorFlow-seeded stream in a trial is the ``tf.data`` shuffle, which
    takes the recipe's seed as its op seed. The ViT's layers draw their initial weights
    and dropout streams from seed generators seeded by Python's ``random``; none uses
    Keras's global seed generator.

    Example:
        >>> seed_everything(3)
        >>> import random
        >>> random.random() == (random.seed(3) or random.random())
        True
    """
    import random

    import tensorflow as tf

    if tf.compat.v1.get_seed(None)[0] != _TF_GLOBAL_SEED:
        tf.random.set_seed(_TF_GLOBAL_SEED)
    random.seed(seed)
    np.random.seed(seed)


#: TensorFlow's global seed in every bench process (the shuffle's op seed varies per trial).
_TF_GLOBAL_SEED = 0


def reuse_enabled(*, environ: Mapping[str, str] | None = None) -> bool:
    """Whether trials reuse traced steps: yes unless ``$BENCH_REUSE`` is 0, false, no or off.

    ``environ`` is the environment to read (default: this process's, ``os.environ``).

    Example:
        >>> reuse_enabled(environ={"BENCH_REUSE": "off"}), reuse_enabled(environ={})
        (False, True)
    """
    environ = os.environ if environ is None else environ
    return environ.get(REUSE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def clear_reuse_cache() -> None:
    """Forget every model and traced step kept for reuse (the next trial builds anew)."""
    _CACHE.clear()


#: Images per evaluation step (each epoch's validation, and every split after training).
#: Evaluation updates no weights, so its batch size changes no result beyond the
#: summation order of the mean loss (under 1e-6); larger batches run the same arithmetic
#: in fewer, larger kernels (validation 1.2x faster than in batches of 32, BENCHMARKS.md).
EVAL_BATCH_SIZE = 256

#: Training and evaluation steps run per call of a traced step (Keras's loop inside the
#: graph): the same steps in the same order, with less Python per step. Measured 1.3-1.6x
#: faster epochs on the tiny preset, identical histories (BENCHMARKS.md).
STEPS_PER_EXECUTION = 32

#: Compiled models kept for reuse, least recently used first; a few shapes at most.
_CACHE: OrderedDict[tuple, _CompiledModel] = OrderedDict()
_MAX_MODELS = 4
#: Initial weights kept per seed for each compiled model.
_MAX_WEIGHT_BYTES = 256 * 2**20


def _compiled_model(workload: Workload, recipe: Recipe, *, reuse: bool) -> _CompiledModel:
    data = workload.dataset
    key = (
        workload.preset,
        data.input_shape,
        data.num_outputs,
        data.task,
        recipe.dropout,
        recipe.head_dropout,
        recipe.l2 > 0,
        recipe.augment,
        recipe.label_smoothing,
    )
    if reuse and key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    compiled = _CompiledModel(workload, recipe)
    if reuse:
        _CACHE[key] = compiled
        while len(_CACHE) > _MAX_MODELS:
            _CACHE.popitem(last=False)
    return compiled


class _CompiledModel:
    """One compiled ViT shared by the trials of a model shape, with a traced training step
    per optimizer signature; :meth:`prepare` resets it to a fresh build's state."""

    def __init__(self, workload: Workload, recipe: Recipe) -> None:
        data = workload.dataset
        self._regularizer = build_regularizer(recipe)
        #: What decides the model's layers, but the regularizer and the seed.
        self._layers = {
            "preset": workload.preset,
            "channels": data.input_shape[-1],
            "num_outputs": data.num_outputs,
            "task": data.task,
            "dropout": recipe.dropout,
            "head_dropout": recipe.head_dropout,
            "augment": recipe.augment,
        }
        self.model = self._build(recipe.seed)
        self._initial: OrderedDict[int, list[np.ndarray]] = OrderedDict()
        self._remember(recipe.seed, self.model)
        self._steps: dict[tuple, _OptimizerSteps] = {}
        self._signature: tuple | None = None
        self.model.compile(
            optimizer="sgd",  # replaced by the recipe's in prepare()
            loss=build_loss(recipe, task=data.task),
            metrics=_metrics(data.task, num_outputs=data.num_outputs),
            steps_per_execution=STEPS_PER_EXECUTION,
        )

    def prepare(self, recipe: Recipe, *, steps_per_epoch: int) -> keras.Model:
        """The model with the recipe's initial weights, optimizer and numbers."""
        for variable, value in zip(self.model.variables, self._weights(recipe.seed), strict=True):
            variable.assign(value)
        signature = optimizer_signature(recipe, steps_per_epoch=steps_per_epoch)
        steps = self._steps.get(signature)
        if steps is None:
            steps = _OptimizerSteps(build_optimizer(recipe, steps_per_epoch=steps_per_epoch))
            steps.optimizer.build(self.model.trainable_variables)
            steps.initial = [v.numpy() for v in steps.optimizer.variables]
            self._steps[signature] = steps
        for variable, value in zip(steps.optimizer.variables, steps.initial, strict=True):
            variable.assign(value)
        set_optimizer_values(steps.optimizer, recipe, steps_per_epoch=steps_per_epoch)
        set_regularizer_value(self._regularizer, recipe)
        self.model.optimizer = steps.optimizer
        self.model.train_function = steps.train_function
        self._signature = signature
        return self.model

    def plain_copy(self, recipe: Recipe) -> keras.Model:
        """An uncompiled build of the same layers holding the model's current weights,
        with Keras's own L2 of the recipe's rate instead of the shared variable."""
        plain = build_vit(
            **self._layers, regularizer=build_regularizer(recipe, variable=False), seed=recipe.seed
        )
        plain.set_weights(self.model.get_weights())
        return plain

    def keep_train_function(self) -> None:
        """Keep the step that ``fit`` traced for the current optimizer signature."""
        self._steps[self._signature].train_function = self.model.train_function

    def _build(self, seed: int) -> keras.Model:
        return build_vit(**self._layers, regularizer=self._regularizer, seed=seed)

    def _weights(self, seed: int) -> list[np.ndarray]:
        if seed not in self._initial:
            # A throwaway build draws the seed's initial weights and random-stream
            # states exactly as a fresh build in a new trial would.
            seed_everything(seed)
            self._remember(seed, self._build(seed))
        self._initial.move_to_end(seed)
        return self._initial[seed]

    def _remember(self, seed: int, model: keras.Model) -> None:
        self._initial[seed] = [v.numpy() for v in model.variables]
        while len(self._initial) > 1 and self._weight_bytes() > _MAX_WEIGHT_BYTES:
            self._initial.popitem(last=False)

    def _weight_bytes(self) -> int:
        return sum(a.nbytes for values in self._initial.values() for a in values)


@dataclass
class _OptimizerSteps:
    optimizer: keras.optimizers.Optimizer
    initial: list[np.ndarray] = field(default_factory=list)
    train_function: Any = None


def _metrics(task: Task, *, num_outputs: int) -> list[keras.metrics.Metric]:
    if task == "multiclass":
        return [
            keras.metrics.CategoricalAccuracy(name="accuracy"),
            keras.metrics.AUC(name="auc", multi_label=True, num_labels=num_outputs),
        ]
    return [
        keras.metrics.BinaryAccuracy(name="accuracy"),
        keras.metrics.AUC(
            name="auc",
            multi_label=task == "multilabel",
            num_labels=num_outputs if task == "multilabel" else None,
        ),
    ]


def _targets(y: np.ndarray, *, task: Task, num_outputs: int) -> np.ndarray:
    if task == "multiclass":
        return np.eye(num_outputs, dtype="float32")[y]
    if task == "binary":
        return y.reshape(-1, 1).astype("float32")
    return y.astype("float32")


def _stop_reason(history: list[dict[str, float]], *, pruned: bool, stopper) -> StopReason:
    if history and not math.isfinite(history[-1]["loss"]):
        return DIVERGED
    if pruned:
        return PRUNED
    if stopper is not None and stopper.stopped_epoch > 0:
        return EARLY_STOPPED
    return COMPLETED


def _kept_epoch(recipe: Recipe, *, stopper, epochs_run: int) -> int:
    # Keras's EarlyStopping restores the best weights at the end of training whenever it
    # saw any; otherwise the model holds the last epoch's weights.
    if stopper is not None and recipe.restore_best_weights and stopper.best_weights is not None:
        return int(stopper.best_epoch) + 1
    return epochs_run


class _SafePoints(keras.callbacks.Callback):
    """Between batches, raise a stop that Ctrl-C or SIGTERM asked for (see bench._signals)."""

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        raise_if_stop_requested()

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        raise_if_stop_requested()


class _HistoryRecorder(keras.callbacks.Callback):
    """Records each epoch's metrics, the rate used in it and the time so far."""

    def __init__(self, on_epoch: EpochHook | None) -> None:
        super().__init__()
        self.on_epoch = on_epoch
        self.history: list[dict[str, float]] = []
        self.pruned = False
        self._lr = float("nan")
        self._start = time.perf_counter()

    def on_train_begin(self, logs=None) -> None:
        self._start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None) -> None:
        logs = logs or {}
        record = {"epoch": epoch + 1}
        for name in EPOCH_METRICS:
            record[name] = float(logs.get(name, float("nan")))
        record["lr"] = self._lr
        record["time_s"] = time.perf_counter() - self._start
        self.history.append(record)
        if self.on_epoch is not None and self.on_epoch(record):
            self.pruned = True
            self.model.stop_training = True
