"""One trial: build the shared ViT, fit it with one recipe, evaluate every split.

Nothing here knows about Optuna: a study passes ``on_epoch``, which receives each epoch's
record and answers whether to stop (prune) the run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from bench._backend_ops import backend, seed_everything, training_batches
from bench._compiled import (
    REUSE_ENV,
    STEPS_PER_EXECUTION,
    clear_reuse_cache,
    compiled_model,
    reuse_enabled,
)
from bench._keras import keras
from bench._record import CLEAN_TRAIN, Y_SCORE, Y_TRUE, TrialResult, library_versions
from bench._schema import (
    COMPLETED,
    DIVERGED,
    EARLY_STOPPED,
    EPOCH_METRICS,
    PRUNED,
    SPLITS,
    StopReason,
)
from bench._signals import at_safe_points, raise_if_stop_requested
from bench.evaluation import EVAL_BATCH_SIZE, evaluate_split, roc_auc
from bench.recipe import Recipe, build_callbacks, build_loss
from bench.workload import Split, Workload

__all__ = [
    "CLEAN_TRAIN",
    "EVAL_BATCH_SIZE",
    "REUSE_ENV",
    "STEPS_PER_EXECUTION",
    "clear_reuse_cache",
    "evaluate_split",
    "reuse_enabled",
    "roc_auc",
    "run_trial",
    "seed_everything",
]

#: Called with each epoch's history record; a true answer stops the run as pruned.
EpochHook = Callable[[dict[str, float]], "bool | None"]
#: Called once a run is evaluated, with a plain copy of the model it kept (see run_trial).
KeptHook = Callable[[keras.Model], None]

#: The metrics of the training images with their clean labels (label-noise workloads).


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
    train = training_batches(data.train, batch_size=recipe.batch_size, seed=recipe.seed)
    steps_per_epoch = math.ceil(len(data.train.x) / recipe.batch_size)

    compiled = compiled_model(workload, recipe, reuse=reuse)
    model = compiled.prepare(recipe, steps_per_epoch=steps_per_epoch)
    loss_fn = build_loss(recipe, task=data.task)
    recorder = _HistoryRecorder(on_epoch)
    recipe_callbacks = build_callbacks(recipe)
    start = time.perf_counter()
    model.fit(
        train,
        epochs=recipe.epochs,
        verbose=0,
        shuffle=False,  # the batches are reshuffled every epoch with the recipe's seed
        # Validation first: the recorder, early stopping and the plateau schedule read it.
        callbacks=[
            _Validation(data.val, task=data.task, loss_fn=loss_fn),
            _SafePoints(),
            recorder,
            *recipe_callbacks,
        ],
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
        test_predictions={Y_TRUE: data.test.y.tolist(), Y_SCORE: test_scores.tolist()},
        class_names=list(data.class_names),
        task=data.task,
        recipe=recipe.to_dict(),
        workload=workload.describe(),
        wall_time_s=time.perf_counter() - start,
        images_per_s=len(data.train.x) * epochs_run / fit_seconds if fit_seconds else 0.0,
        backend=backend(),
        versions=library_versions(backend()),
    )


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


class _Validation(keras.callbacks.Callback):
    """Scores the validation split after each epoch with :func:`evaluate_split` (the
    same scores as the kept weights get) and adds them to the epoch's logs as
    ``val_loss``, ``val_accuracy`` and ``val_auc``.

    Why not ``fit``'s ``validation_data``: its last short batch is one more compiled
    program under JAX, and its running loss weighs a batch by its size, filler included;
    here every batch has one shape and every image counts once.
    """

    def __init__(self, split: Split, *, task, loss_fn: keras.losses.Loss) -> None:
        super().__init__()
        self.split, self.task, self.loss_fn = split, task, loss_fn

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is None:
            return
        scores, _ = evaluate_split(self.model, self.split, task=self.task, loss_fn=self.loss_fn)
        for name, value in scores.items():
            logs[f"val_{name}"] = float("nan") if value is None else value


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
