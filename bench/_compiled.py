"""Reuse of compiled models between the trials of one process.

Building the ViT and tracing (TensorFlow) or compiling (JAX) its training step costs
seconds; a study's trials share a few model shapes and optimizer kinds. So a
:class:`CompiledModel` is kept per :class:`ModelShape`, with one training step per
optimizer signature (:func:`bench.recipe.optimizer_signature`). A recipe's numbers
(rate, schedule, momentum, decay, betas, L2) are variables of the model's or the
optimizer's state, so one step serves them all, and :meth:`CompiledModel.prepare`
resets the weights, optimizer state and random streams to those a fresh build with the
trial's seed has: a trial's history is the same with reuse as without.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench._backend_ops import seed_everything
from bench._keras import keras
from bench._schema import Task
from bench.recipe import (
    Recipe,
    build_loss,
    build_optimizer,
    build_regularizer,
    optimizer_signature,
    set_optimizer_values,
    set_regularizer_value,
)
from bench.workload import Workload
from bench.workload._model import build_vit
from bench.workload._presets import Preset

#: Set to 0 to build, trace and compile a fresh model in every trial.
REUSE_ENV = "BENCH_REUSE"

#: Training steps run per call of the training function (Keras's loop inside one traced
#: call under TensorFlow; under JAX, one Python call of the compiled step each): the same
#: steps in the same order, with less Python per step. Measured 1.3-1.6x faster
#: TensorFlow epochs on the tiny preset, identical histories (BENCHMARKS.md).
STEPS_PER_EXECUTION = 32


def reuse_enabled(*, environ: Mapping[str, str] | None = None) -> bool:
    """Whether trials reuse compiled steps: yes unless ``$BENCH_REUSE`` is 0, false, no or off.

    ``environ`` is the environment to read (default: this process's, ``os.environ``).

    Example:
        >>> reuse_enabled(environ={"BENCH_REUSE": "off"}), reuse_enabled(environ={})
        (False, True)
    """
    environ = os.environ if environ is None else environ
    return environ.get(REUSE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


@dataclass(frozen=True)
class ModelShape:
    """What decides a compiled model: its layers and loss, but not the L2 rate (a
    variable) nor the seed (the weights it starts from).

    Example:
        >>> from bench.workload import load_workload
        >>> shape = ModelShape.of(load_workload("digits"), Recipe())
        >>> shape.task, shape.channels, shape.has_l2
        ('binary', 1, False)
    """

    preset: Preset
    channels: int
    num_outputs: int
    task: Task
    dropout: float
    head_dropout: float
    augment: bool
    has_l2: bool
    label_smoothing: float

    @classmethod
    def of(cls, workload: Workload, recipe: Recipe) -> ModelShape:
        data = workload.dataset
        return cls(
            preset=workload.preset,
            channels=data.input_shape[-1],
            num_outputs=data.num_outputs,
            task=data.task,
            dropout=recipe.dropout,
            head_dropout=recipe.head_dropout,
            augment=recipe.augment,
            has_l2=recipe.l2 > 0,
            label_smoothing=recipe.label_smoothing,
        )

    def layers(self) -> dict[str, Any]:
        """:func:`bench.workload.build_vit`'s arguments, but the regularizer and seed."""
        return {
            "preset": self.preset,
            "channels": self.channels,
            "num_outputs": self.num_outputs,
            "task": self.task,
            "dropout": self.dropout,
            "head_dropout": self.head_dropout,
            "augment": self.augment,
        }


def compiled_model(workload: Workload, recipe: Recipe, *, reuse: bool) -> CompiledModel:
    """The kept model of the recipe's shape (built and kept when missing), or with
    ``reuse=False`` a fresh one that is not kept."""
    shape = ModelShape.of(workload, recipe)
    if reuse and shape in _CACHE:
        _CACHE.move_to_end(shape)
        return _CACHE[shape]
    compiled = CompiledModel(shape, recipe)
    if reuse:
        _CACHE[shape] = compiled
        while len(_CACHE) > _MAX_MODELS:
            _CACHE.popitem(last=False)
    return compiled


def clear_reuse_cache() -> None:
    """Forget every model and compiled step kept for reuse (the next trial builds anew)."""
    _CACHE.clear()


#: Compiled models kept for reuse, least recently used first; a few shapes at most.
_CACHE: OrderedDict[ModelShape, CompiledModel] = OrderedDict()
_MAX_MODELS = 4
#: Initial weights kept per seed for each compiled model.
_MAX_WEIGHT_BYTES = 256 * 2**20


class CompiledModel:
    """One compiled ViT shared by the trials of a model shape, with a training step per
    optimizer signature; :meth:`prepare` resets it to a fresh build's state."""

    def __init__(self, shape: ModelShape, recipe: Recipe) -> None:
        self.shape = shape
        self._regularizer = build_regularizer(recipe)
        self.model = self._build(recipe.seed)
        self._initial: OrderedDict[int, list[np.ndarray]] = OrderedDict()
        self._remember(recipe.seed, self.model)
        self._steps: dict[tuple, _OptimizerSteps] = {}
        self._signature: tuple | None = None
        self.model.compile(
            optimizer="sgd",  # replaced by the recipe's in prepare()
            loss=build_loss(recipe, task=shape.task),
            metrics=_metrics(shape.task, num_outputs=shape.num_outputs),
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
        if steps.train_function is None:
            self.model.train_step = _own_train_step(self.model)
        self._signature = signature
        return self.model

    def plain_copy(self, recipe: Recipe) -> keras.Model:
        """An uncompiled build of the same layers holding the model's current weights,
        with Keras's own L2 of the recipe's rate instead of the shared variable."""
        plain = build_vit(
            **self.shape.layers(),
            regularizer=build_regularizer(recipe, variable=False),
            seed=recipe.seed,
        )
        for layer in plain.layers:
            layer.set_weights(self.model.get_layer(layer.name).get_weights())
        return plain

    def keep_train_function(self) -> None:
        """Keep the step that ``fit`` made for the current optimizer signature."""
        self._steps[self._signature].train_function = self.model.train_function

    def _build(self, seed: int) -> keras.Model:
        model = build_vit(**self.shape.layers(), regularizer=self._regularizer, seed=seed)
        if self._regularizer is not None:
            # The L2 rate is the model's state: a backend that compiles the step from its
            # state alone (JAX) reads it at every step instead of baking it in.
            model._track_variable(self._regularizer.l2)
        return model

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


def _own_train_step(model: keras.Model) -> Any:
    """The model's training step as a function object of its own.

    Why: ``fit`` compiles ``model.train_step`` with ``jax.jit`` under JAX, and JAX shares
    one trace among wrappers of equal functions, and bound methods of one object are
    equal. The step of a second optimizer whose state has the same shapes as the first's
    (SGD with momentum, RMSprop with weight decay) would then run the first one's update.
    A new function per optimizer signature gets a trace of its own.
    """
    step = type(model).train_step

    def train_step(*args: Any) -> Any:
        return step(model, *args)

    return train_step


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
