"""Turning a recipe into Keras objects: optimizer, learning rate, loss, L2, callbacks.

:mod:`bench.trial` only wires these together. Every number a recipe sets is held in a
variable (see ``_reuse.py``), so that a traced training step serves many recipes.
"""

from __future__ import annotations

import math

from bench._keras import keras
from bench._schema import Task
from bench.recipe._knobs import Recipe
from bench.recipe._reuse import (
    OPTIMIZER_NUMBERS,
    VariableMomentumSGD,
    hyperparameter,
    schedule_numbers,
)


def build_optimizer(recipe: Recipe, *, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """The recipe's Keras optimizer, with its learning-rate schedule when it is step-based.

    ``weight_decay`` is Keras's decoupled decay, applied by every optimizer alike; the
    L2 penalty is separate (:func:`build_regularizer`). ``epsilon`` reaches the
    optimizers that take one (all but sgd and lion). The numbers a recipe sets (rate,
    schedule, decay, betas, epsilon, SGD's momentum) live in variables, so that a traced
    training step serves any recipe with the same
    :func:`~bench.recipe.optimizer_signature` once
    :func:`~bench.recipe.set_optimizer_values` has written that recipe's numbers.

    Example:
        >>> opt = build_optimizer(Recipe(optimizer="sgd"), steps_per_epoch=10)
        >>> type(opt).__name__, bool(opt.nesterov), opt.momentum
        ('VariableMomentumSGD', True, 0.9)
    """
    lr = build_learning_rate(recipe, steps_per_epoch=steps_per_epoch)
    wd = recipe.weight_decay or None
    name = recipe.optimizer
    betas = {"beta_1": recipe.beta_1, "beta_2": recipe.beta_2}
    epsilon = recipe.epsilon
    if name == "adam":
        optimizer = keras.optimizers.Adam(
            learning_rate=lr, weight_decay=wd, epsilon=epsilon, **betas
        )
    elif name == "adamw":
        # AdamW's own default decay is 0.004; here the recipe's value always rules.
        optimizer = keras.optimizers.AdamW(
            learning_rate=lr, weight_decay=recipe.weight_decay, epsilon=epsilon, **betas
        )
    elif name == "nadam":
        optimizer = keras.optimizers.Nadam(
            learning_rate=lr, weight_decay=wd, epsilon=epsilon, **betas
        )
    elif name == "lion":
        optimizer = keras.optimizers.Lion(learning_rate=lr, weight_decay=wd, **betas)
    elif name == "sgd":
        optimizer = VariableMomentumSGD(
            learning_rate=lr, momentum=recipe.momentum, nesterov=True, weight_decay=wd
        )
    elif name == "sgd_momentum":
        optimizer = VariableMomentumSGD(learning_rate=lr, momentum=recipe.momentum, weight_decay=wd)
    elif name == "adagrad":
        optimizer = keras.optimizers.Adagrad(learning_rate=lr, weight_decay=wd, epsilon=epsilon)
    elif name == "rmsprop":
        optimizer = keras.optimizers.RMSprop(learning_rate=lr, weight_decay=wd, epsilon=epsilon)
    else:
        raise AssertionError(f"optimizer {name!r} is declared but not built")
    for attribute in OPTIMIZER_NUMBERS:
        value = getattr(optimizer, attribute, None)
        if isinstance(value, float):
            setattr(optimizer, attribute, hyperparameter(value, attribute))
    if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
        # The schedule's variables are the optimizer's state too, so that a backend that
        # compiles a step from its state alone (JAX) reads them at every step rather than
        # baking the first recipe's numbers into the program.
        for attribute in schedule_numbers(recipe, steps_per_epoch=steps_per_epoch):
            variable = getattr(lr, attribute)
            if isinstance(variable, keras.Variable):
                optimizer._track_variable(variable)
    return optimizer


def build_learning_rate(
    recipe: Recipe, *, steps_per_epoch: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The optimizer's ``learning_rate``: a float, or a Keras schedule over steps.

    ``warmup_cosine`` warms up linearly from 0 to the base rate over ``warmup_epochs``,
    then decays along a cosine to ``cosine_alpha`` times the base rate at the last epoch.
    It is a function of the step alone, computed from the base rate, so factors never
    compound (the seed's version multiplied the *current* rate each epoch).
    ``step`` multiplies the base rate by ``step_factor`` every ``step_every`` epochs.
    A schedule's numbers live in variables (see :func:`~bench.recipe.set_optimizer_values`).

    Example:
        >>> rate = build_learning_rate(Recipe(schedule="step"), steps_per_epoch=10)
        >>> type(rate).__name__, build_learning_rate(Recipe(), steps_per_epoch=10)
        ('ExponentialDecay', 0.001)
    """
    numbers = schedule_numbers(recipe, steps_per_epoch=steps_per_epoch)
    if recipe.schedule == "warmup_cosine":
        warmup = numbers["warmup_steps"] > 0
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=numbers["initial_learning_rate"],
            decay_steps=numbers["decay_steps"],
            alpha=numbers["alpha"],
            warmup_target=numbers["warmup_target"] if warmup else None,
            warmup_steps=numbers["warmup_steps"],
        )
    elif recipe.schedule == "step":
        schedule = keras.optimizers.schedules.ExponentialDecay(
            initial_learning_rate=numbers["initial_learning_rate"],
            decay_steps=numbers["decay_steps"],
            decay_rate=numbers["decay_rate"],
            staircase=True,
        )
    else:
        return recipe.learning_rate
    for attribute, value in numbers.items():
        if getattr(schedule, attribute) is not None:
            setattr(schedule, attribute, hyperparameter(value, attribute))
    return schedule


def warmup_cosine_rate(recipe: Recipe, *, step: float, steps_per_epoch: int) -> float:
    """The ``warmup_cosine`` rate at a step, in closed form (the documented formula).

    Example:
        >>> r = Recipe(schedule="warmup_cosine", learning_rate=0.1, warmup_epochs=2, epochs=4)
        >>> warmup_cosine_rate(r, step=1, steps_per_epoch=1)
        0.05
        >>> round(warmup_cosine_rate(r, step=3, steps_per_epoch=1), 6)
        0.05
    """
    warmup = recipe.warmup_epochs * steps_per_epoch
    base = recipe.learning_rate
    if step < warmup:
        return base * step / warmup
    decay = max(1, (recipe.epochs - recipe.warmup_epochs) * steps_per_epoch)
    progress = min(step - warmup, decay) / decay
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return base * ((1.0 - recipe.cosine_alpha) * cosine + recipe.cosine_alpha)


def build_loss(recipe: Recipe, *, task: Task) -> keras.losses.Loss:
    """The cross-entropy of the task (categorical for multiclass, else binary per output),
    with the recipe's label smoothing.

    Example:
        >>> type(build_loss(Recipe(label_smoothing=0.1), task="multiclass")).__name__
        'CategoricalCrossentropy'
    """
    # Averaged over the images' weights: a batch filled up with zero-weight images
    # (bench._backend_ops.FixedShapeBatches) has the loss of its real images alone; with
    # no weights it is the plain mean over the batch.
    options = {"label_smoothing": recipe.label_smoothing, "reduction": "mean_with_sample_weight"}
    if task == "multiclass":
        return keras.losses.CategoricalCrossentropy(**options)
    return keras.losses.BinaryCrossentropy(**options)


def build_regularizer(
    recipe: Recipe, *, variable: bool = True
) -> keras.regularizers.Regularizer | None:
    """The L2 kernel regularizer of the MLP Dense layers, or None when ``l2`` is 0.

    Its rate is a variable, so :func:`~bench.recipe.set_regularizer_value` can change it
    without retracing a training step. With ``variable=False`` it is Keras's plain L2,
    its rate a number: what a saved model carries, loadable without bench.

    Example:
        >>> reg = build_regularizer(Recipe(l2=0.01))
        >>> round(float(reg.l2), 6), build_regularizer(Recipe(l2=0.0))
        (0.01, None)
        >>> build_regularizer(Recipe(l2=0.01), variable=False).get_config()
        {'l2': 0.01}
    """
    if recipe.l2 <= 0:
        return None
    regularizer = keras.regularizers.L2(recipe.l2)
    if variable:
        regularizer.l2 = hyperparameter(recipe.l2, "l2")
    return regularizer


class StopOnDivergence(keras.callbacks.Callback):
    """Stop training after the first batch whose loss is not finite, as Keras's
    ``TerminateOnNaN`` does, without its "Invalid loss" line on standard output, which
    would land in the middle of ``bench run``'s progress. The trial's stop reason
    (``diverged``) says what happened, and the progress line names the trial.

    Example:
        >>> model = keras.Sequential([keras.layers.Dense(1)])
        >>> stop = StopOnDivergence()
        >>> stop.set_model(model)
        >>> model.stop_training = False  # as fit starts
        >>> stop.on_train_batch_end(0, {"loss": 0.7})
        >>> model.stop_training
        False
        >>> stop.on_train_batch_end(31, {"loss": float("nan")})
        >>> model.stop_training
        True
    """

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True


def build_callbacks(recipe: Recipe) -> list[keras.callbacks.Callback]:
    """Stopping on divergence, early stopping and the epoch-driven schedule
    (reduce_on_plateau) of the recipe.

    Only one schedule acts at a time: the step-based schedules live inside the optimizer
    (:func:`build_learning_rate`), so no callback ever overwrites another's rate.

    Example:
        >>> [type(c).__name__ for c in build_callbacks(Recipe(schedule="reduce_on_plateau"))]
        ['StopOnDivergence', 'ReduceLROnPlateau', 'EarlyStopping']
    """
    callbacks: list[keras.callbacks.Callback] = [StopOnDivergence()]
    if recipe.schedule == "reduce_on_plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=recipe.plateau_monitor,
                mode=monitor_mode(recipe.plateau_monitor),
                factor=recipe.plateau_factor,
                patience=recipe.plateau_patience,
                min_lr=recipe.plateau_min_lr,
            )
        )
    if recipe.early_stopping:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=recipe.monitor,
                mode=monitor_mode(recipe.monitor),
                patience=recipe.patience,
                min_delta=recipe.min_delta,
                restore_best_weights=recipe.restore_best_weights,
            )
        )
    return callbacks


def monitor_mode(monitor: str) -> str:
    """``"min"`` for losses, ``"max"`` for accuracy and AUC.

    Example:
        >>> monitor_mode("val_loss"), monitor_mode("val_auc")
        ('min', 'max')
    """
    return "min" if monitor.endswith("loss") else "max"
