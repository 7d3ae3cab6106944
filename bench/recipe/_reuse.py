"""Trace reuse, recipe side: which recipes share a traced training step, and the
variables that carry each recipe's numbers into it.

A recipe's numbers (rate, schedule, decay, betas, epsilon, SGD's momentum, the L2 rate) live in
Keras variables, so that a training step traced for one recipe serves every recipe with
the same :func:`optimizer_signature` once :func:`set_optimizer_values` (and
:func:`set_regularizer_value`) has written that recipe's numbers. The builders in
``_builders.py`` make their objects with :func:`hyperparameter` and
:class:`VariableMomentumSGD`; :mod:`bench._compiled` keeps the steps per signature. Under
JAX a step reads only the state passed to it, so every such variable is tracked by the
optimizer (or, for the L2 rate, by the model).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench._keras import keras

if TYPE_CHECKING:
    from bench.recipe._knobs import Recipe

ops = keras.ops

#: Optimizer attributes that hold a recipe's number (Keras keeps them as floats). SGD's
#: momentum has its own variable (:class:`VariableMomentumSGD`).
OPTIMIZER_NUMBERS = ("weight_decay", "beta_1", "beta_2", "epsilon")


def optimizer_signature(recipe: Recipe, *, steps_per_epoch: int) -> tuple:
    """What decides the graph of a recipe's optimizer: two recipes with the same signature
    differ only in numbers that live in variables (see :func:`set_optimizer_values`).

    Example:
        >>> from bench.recipe import Recipe
        >>> a = optimizer_signature(Recipe(learning_rate=0.1), steps_per_epoch=5)
        >>> a == optimizer_signature(Recipe(learning_rate=0.01), steps_per_epoch=5)
        True
        >>> a == optimizer_signature(Recipe(optimizer="sgd"), steps_per_epoch=5)
        False
    """
    warmup = recipe.schedule == "warmup_cosine" and recipe.warmup_epochs * steps_per_epoch > 0
    return (
        recipe.optimizer,
        recipe.schedule,
        warmup,
        recipe.optimizer != "adamw" and not recipe.weight_decay,
        recipe.momentum > 0 if recipe.optimizer in ("sgd", "sgd_momentum") else None,
    )


def set_optimizer_values(
    optimizer: keras.optimizers.Optimizer, recipe: Recipe, *, steps_per_epoch: int
) -> None:
    """Write the recipe's numbers into an optimizer built for the same signature.

    Example:
        >>> from bench.recipe import Recipe, build_optimizer
        >>> opt = build_optimizer(Recipe(learning_rate=0.1), steps_per_epoch=5)
        >>> set_optimizer_values(opt, Recipe(learning_rate=0.02), steps_per_epoch=5)
        >>> round(float(opt.learning_rate), 6)
        0.02
    """
    for attribute in OPTIMIZER_NUMBERS:
        _assign(getattr(optimizer, attribute, None), getattr(recipe, attribute))
    _assign(getattr(optimizer, "momentum_variable", None), recipe.momentum)
    rate = optimizer._learning_rate
    if _is_variable(rate):
        rate.assign(recipe.learning_rate)
        return
    for attribute, value in schedule_numbers(recipe, steps_per_epoch=steps_per_epoch).items():
        _assign(getattr(rate, attribute), value)


def _assign(variable: Any, value: float) -> None:
    # Attributes a signature leaves out (no momentum, no warmup) are not variables.
    if _is_variable(variable):
        variable.assign(value)


def hyperparameter(value: float, name: str) -> keras.Variable:
    """A recipe's number as a non-trainable float32 variable, for the builders.

    Example:
        >>> hyperparameter(0.5, "l2").numpy().item()
        0.5
    """
    return keras.Variable(float(value), dtype="float32", trainable=False, name=name)


def _is_variable(value: Any) -> bool:
    return isinstance(value, keras.Variable)


def schedule_numbers(recipe: Recipe, *, steps_per_epoch: int) -> dict[str, float]:
    """The numbers of the recipe's step-based schedule by attribute (empty for others).

    Example:
        >>> from bench.recipe import Recipe
        >>> schedule_numbers(Recipe(schedule="step", step_every=2), steps_per_epoch=5)
        {'initial_learning_rate': 0.001, 'decay_steps': 10, 'decay_rate': 0.5}
    """
    if recipe.schedule == "warmup_cosine":
        warmup_steps = recipe.warmup_epochs * steps_per_epoch
        return {
            "initial_learning_rate": 0.0 if warmup_steps else recipe.learning_rate,
            "decay_steps": max(1, (recipe.epochs - recipe.warmup_epochs) * steps_per_epoch),
            "alpha": recipe.cosine_alpha,
            "warmup_target": recipe.learning_rate,
            "warmup_steps": warmup_steps,
        }
    if recipe.schedule == "step":
        return {
            "initial_learning_rate": recipe.learning_rate,
            "decay_steps": recipe.step_every * steps_per_epoch,
            "decay_rate": recipe.step_factor,
        }
    return {}


def set_regularizer_value(
    regularizer: keras.regularizers.Regularizer | None, recipe: Recipe
) -> None:
    """Write the recipe's ``l2`` into a regularizer from
    :func:`bench.recipe.build_regularizer` (None, for no L2, is left alone).

    Example:
        >>> from bench.recipe import Recipe, build_regularizer
        >>> reg = build_regularizer(Recipe(l2=0.01))
        >>> set_regularizer_value(reg, Recipe(l2=0.5))
        >>> round(float(reg.l2), 6)
        0.5
    """
    if regularizer is not None:
        regularizer.l2.assign(recipe.l2)


class VariableMomentumSGD(keras.optimizers.SGD):
    """Keras's SGD whose momentum lives in a variable, so that one traced training step
    serves every momentum a study tries.

    Why: Keras's SGD reads ``momentum`` as a Python float inside its update step, so the
    value is baked into the traced graph and every new momentum traces the step again
    (seconds a trial on a small CPU). Here whether there is momentum at all is decided
    when the optimizer is made (it is part of the optimizer's signature), and the value
    is read from :attr:`momentum_variable` at every step. The update is Keras's.

    Example:
        >>> opt = VariableMomentumSGD(learning_rate=0.1, momentum=0.5, nesterov=True)
        >>> _ = opt.momentum_variable.assign(0.9)
        >>> round(float(opt.momentum_variable.numpy()), 6), opt.momentum
        (0.9, 0.5)
    """

    def __init__(self, *, momentum: float = 0.0, **kwargs) -> None:
        super().__init__(momentum=momentum, **kwargs)
        self.momentum_variable = keras.Variable(
            float(momentum), dtype="float32", trainable=False, name="momentum"
        )

    def update_step(self, gradient, variable, learning_rate) -> None:
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if self.momentum == 0:
            self.assign_sub(variable, ops.multiply(gradient, learning_rate))
            return
        m = self.momentums[self._get_variable_index(variable)]
        momentum = ops.cast(self.momentum_variable, variable.dtype)
        step = ops.multiply(gradient, learning_rate)
        self.assign(m, ops.subtract(ops.multiply(m, momentum), step))
        if self.nesterov:
            self.assign_add(variable, ops.subtract(ops.multiply(m, momentum), step))
        else:
            self.assign_add(variable, m)
