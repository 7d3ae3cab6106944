"""The recipe: the training algorithm under test, and the one place its knobs are declared.

Every knob (name, type, default, valid range, help) is a field of :class:`Recipe`. The
command line, study specs, validation and reports all read the declaration from here via
:func:`knobs`. Turning a recipe into Keras objects (optimizer, loss, LR schedule,
callbacks) also lives here, so that :mod:`bench.trial` only wires them together.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.errors import BenchInputError

if TYPE_CHECKING:
    import keras

    from bench._schema import Task

OPTIMIZERS = ("adam", "adamw", "sgd", "sgd_momentum", "adagrad", "rmsprop", "nadam", "lion")
SCHEDULES = ("constant", "reduce_on_plateau", "warmup_cosine", "step")
MONITORS = ("val_loss", "val_accuracy", "val_auc", "loss", "accuracy", "auc")


@dataclass(frozen=True)
class Knob:
    """The declaration of one recipe knob: its name, type, default and valid values.

    Example:
        >>> k = knob_by_name("learning_rate")
        >>> k.check(0.01)
        0.01
        >>> k.describe_valid()
        'a number > 0 and <= 10'
    """

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def describe_valid(self) -> str:
        """Say in words which values are valid, for error messages and ``--help``."""
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.type is bool:
            return "true or false"
        kind = "an integer" if self.type is int else "a number"
        bounds = []
        if self.low is not None:
            bounds.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            bounds.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        return kind + (" " + " and ".join(bounds) if bounds else "")

    def check(self, value: Any, *, source: str | None = None) -> Any:
        """Return ``value`` converted to this knob's type, or raise :class:`BenchInputError`.

        ``source`` names where the value came from (a flag or a spec field) in the message.
        """
        where = source or self.name
        coerced = self._coerce(value, where)
        if self.choices is not None and coerced not in self.choices:
            raise BenchInputError(f"{where}: got {value!r}; expected {self.describe_valid()}")
        numeric = self.type in (int, float)
        if numeric and (not math.isfinite(coerced) or not self._in_range(coerced)):
            raise BenchInputError(f"{where}: got {value!r}; expected {self.describe_valid()}")
        return coerced

    def _in_range(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (
            self.high is not None and (value >= self.high if self.high_open else value > self.high)
        )

    def _coerce(self, value: Any, where: str) -> Any:
        bad = BenchInputError(f"{where}: got {value!r}; expected {self.describe_valid()}")
        if self.type is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
                return value.lower() in ("true", "yes", "1")
            raise bad
        if self.type is int:
            if isinstance(value, bool):
                raise bad
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str):
                try:
                    return int(value)
                except ValueError:
                    raise bad from None
            raise bad
        if self.type is float:
            if isinstance(value, bool):
                raise bad
            try:
                return float(value)
            except (TypeError, ValueError):
                raise bad from None
        if not isinstance(value, str):
            raise bad
        return value


def _knob(default: Any, help: str, **limits: Any) -> Any:
    return field(default=default, metadata={"help": help, **limits})


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """One training recipe: every knob that a study may compare, with its default.

    Defaults follow the fixed version of the seed notebook's recipe (AdamW, early stopping
    on validation loss that restores the best weights). Values are validated on creation.

    Example:
        >>> r = Recipe(optimizer="sgd", learning_rate=0.01)
        >>> r.optimizer, r.restore_best_weights
        ('sgd', True)
        >>> r.replace(weight_decay=0.05).weight_decay
        0.05
    """

    optimizer: str = _knob(
        "adamw",
        "optimizer (sgd is the seed's: momentum 0.9 with Nesterov)",
        choices=OPTIMIZERS,
    )
    learning_rate: float = _knob(1e-3, "base learning rate", low=0.0, low_open=True, high=10.0)
    momentum: float = _knob(
        0.9, "momentum of sgd and sgd_momentum", low=0.0, high=1.0, high_open=True
    )
    beta_1: float = _knob(
        0.9, "first-moment decay of adam, adamw, nadam, lion", low=0.0, high=1.0, high_open=True
    )
    beta_2: float = _knob(
        0.999, "second-moment decay of adam, adamw, nadam, lion", low=0.0, high=1.0, high_open=True
    )
    weight_decay: float = _knob(
        1e-4,
        "decoupled weight decay applied by the optimizer itself; Keras shrinks each weight "
        "by learning_rate * weight_decay every step",
        low=0.0,
        high=100.0,
    )
    l2: float = _knob(
        0.0,
        "L2 kernel-regularizer rate on every MLP Dense layer (the seed's l2)",
        low=0.0,
        high=1.0,
    )
    dropout: float = _knob(
        0.1,
        "dropout in the transformer blocks (attention and MLP)",
        low=0.0,
        high=1.0,
        high_open=True,
    )
    head_dropout: float = _knob(
        0.5,
        "dropout before and inside the classification head",
        low=0.0,
        high=1.0,
        high_open=True,
    )
    label_smoothing: float = _knob(
        0.0, "label smoothing of the cross-entropy loss", low=0.0, high=1.0, high_open=True
    )
    augment: bool = _knob(False, "random flip, rotation and zoom of training images")
    schedule: str = _knob("constant", "learning-rate schedule", choices=SCHEDULES)
    warmup_epochs: int = _knob(5, "warmup_cosine: epochs of linear warmup", low=0, high=1000)
    cosine_alpha: float = _knob(
        0.0, "warmup_cosine: final rate as a fraction of the base rate", low=0.0, high=1.0
    )
    step_every: int = _knob(10, "step: epochs between rate cuts", low=1, high=1000)
    step_factor: float = _knob(
        0.5,
        "step: multiply the rate by this at each cut",
        low=0.0,
        low_open=True,
        high=1.0,
        high_open=True,
    )
    plateau_monitor: str = _knob("val_loss", "reduce_on_plateau: metric watched", choices=MONITORS)
    plateau_factor: float = _knob(
        0.1,
        "reduce_on_plateau: multiply the rate by this",
        low=0.0,
        low_open=True,
        high=1.0,
        high_open=True,
    )
    plateau_patience: int = _knob(
        5, "reduce_on_plateau: epochs without improvement", low=0, high=1000
    )
    plateau_min_lr: float = _knob(1e-6, "reduce_on_plateau: lowest rate", low=0.0, high=10.0)
    early_stopping: bool = _knob(True, "stop when the monitored metric stops improving")
    monitor: str = _knob("val_loss", "early stopping: metric watched", choices=MONITORS)
    patience: int = _knob(10, "early stopping: epochs without improvement", low=0, high=1000)
    min_delta: float = _knob(0.0, "early stopping: smallest change that counts", low=0.0, high=10.0)
    restore_best_weights: bool = _knob(
        True, "early stopping: keep the best epoch's weights (false: the last epoch's)"
    )
    epochs: int = _knob(30, "maximum number of epochs", low=1, high=10000)
    batch_size: int = _knob(32, "images per training step", low=1, high=65536)
    seed: int = _knob(
        0,
        "seed of weights, shuffling and dropout (splits are the workload's)",
        low=0,
        high=2**31 - 1,
    )

    def __post_init__(self) -> None:
        for k in knobs():
            object.__setattr__(self, k.name, k.check(getattr(self, k.name)))

    def replace(self, **changes: Any) -> Recipe:
        """A copy with some knobs changed (validated). Unknown names raise BenchInputError."""
        check_knob_names(changes, source="recipe")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every knob's value, JSON-able."""
        return dataclasses.asdict(self)


def knobs() -> tuple[Knob, ...]:
    """Every recipe knob's declaration, in declaration order.

    Example:
        >>> [k.name for k in knobs()][:3]
        ['optimizer', 'learning_rate', 'momentum']
    """
    return _KNOBS


def knob_by_name(name: str) -> Knob:
    """The declaration of one knob; an unknown name raises :class:`BenchInputError`."""
    try:
        return _KNOBS_BY_NAME[name]
    except KeyError:
        raise BenchInputError(
            f"unknown recipe field {name!r}; expected one of {', '.join(_KNOBS_BY_NAME)}"
        ) from None


def check_knob_names(names: Sequence[str] | dict[str, Any], *, source: str) -> None:
    """Raise :class:`BenchInputError` naming ``source`` if any name is not a recipe knob."""
    for name in names:
        if name not in _KNOBS_BY_NAME:
            raise BenchInputError(
                f"{source}: unknown recipe field {name!r}; expected one of "
                f"{', '.join(_KNOBS_BY_NAME)}"
            )


def _declare_knobs() -> tuple[Knob, ...]:
    declared = []
    for f in dataclasses.fields(Recipe):
        meta = dict(f.metadata)
        declared.append(Knob(name=f.name, type=_FIELD_TYPES[f.type], default=f.default, **meta))
    return tuple(declared)


_FIELD_TYPES = {"str": str, "float": float, "int": int, "bool": bool}
_KNOBS = _declare_knobs()
_KNOBS_BY_NAME = {k.name: k for k in _KNOBS}


# --- Recipe -> Keras objects ---------------------------------------------------------


def build_optimizer(recipe: Recipe, *, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """The recipe's Keras optimizer, with its learning-rate schedule when it is step-based.

    ``weight_decay`` is Keras's decoupled decay, applied by every optimizer alike; the
    L2 penalty is separate (:func:`build_regularizer`). The numbers a recipe sets (rate,
    schedule, decay, betas, SGD's momentum) live in variables, so that a traced
    training step serves any recipe with the same :func:`optimizer_signature` once
    :func:`set_optimizer_values` has written that recipe's numbers.

    Example:
        >>> opt = build_optimizer(Recipe(optimizer="sgd"), steps_per_epoch=10)
        >>> type(opt).__name__, bool(opt.nesterov), opt.momentum
        ('VariableMomentumSGD', True, 0.9)
    """
    from bench._keras import keras
    from bench._optimizers import VariableMomentumSGD

    lr = build_learning_rate(recipe, steps_per_epoch=steps_per_epoch)
    wd = recipe.weight_decay or None
    name = recipe.optimizer
    betas = {"beta_1": recipe.beta_1, "beta_2": recipe.beta_2}
    if name == "adam":
        optimizer = keras.optimizers.Adam(learning_rate=lr, weight_decay=wd, **betas)
    elif name == "adamw":
        # AdamW's own default decay is 0.004; here the recipe's value always rules.
        optimizer = keras.optimizers.AdamW(
            learning_rate=lr, weight_decay=recipe.weight_decay, **betas
        )
    elif name == "nadam":
        optimizer = keras.optimizers.Nadam(learning_rate=lr, weight_decay=wd, **betas)
    elif name == "lion":
        optimizer = keras.optimizers.Lion(learning_rate=lr, weight_decay=wd, **betas)
    elif name == "sgd":
        optimizer = VariableMomentumSGD(
            learning_rate=lr, momentum=recipe.momentum, nesterov=True, weight_decay=wd
        )
    elif name == "sgd_momentum":
        optimizer = VariableMomentumSGD(learning_rate=lr, momentum=recipe.momentum, weight_decay=wd)
    elif name == "adagrad":
        optimizer = keras.optimizers.Adagrad(learning_rate=lr, weight_decay=wd)
    elif name == "rmsprop":
        optimizer = keras.optimizers.RMSprop(learning_rate=lr, weight_decay=wd)
    else:
        raise AssertionError(f"optimizer {name!r} is declared but not built")
    for attribute in _OPTIMIZER_NUMBERS:
        value = getattr(optimizer, attribute, None)
        if isinstance(value, float):
            setattr(optimizer, attribute, _hyperparameter(value, attribute))
    return optimizer


#: Optimizer attributes that hold a recipe's number (Keras keeps them as floats). SGD's
#: momentum has its own variable (:class:`bench._optimizers.VariableMomentumSGD`).
_OPTIMIZER_NUMBERS = ("weight_decay", "beta_1", "beta_2")


def optimizer_signature(recipe: Recipe, *, steps_per_epoch: int) -> tuple:
    """What decides the graph of a recipe's optimizer: two recipes with the same signature
    differ only in numbers that live in variables (see :func:`set_optimizer_values`).

    Example:
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
        >>> opt = build_optimizer(Recipe(learning_rate=0.1), steps_per_epoch=5)
        >>> set_optimizer_values(opt, Recipe(learning_rate=0.02), steps_per_epoch=5)
        >>> round(float(opt.learning_rate), 6)
        0.02
    """
    for attribute in _OPTIMIZER_NUMBERS:
        _assign(getattr(optimizer, attribute, None), getattr(recipe, attribute))
    _assign(getattr(optimizer, "momentum_variable", None), recipe.momentum)
    rate = optimizer._learning_rate
    if _is_variable(rate):
        rate.assign(recipe.learning_rate)
        return
    for attribute, value in _schedule_numbers(recipe, steps_per_epoch=steps_per_epoch).items():
        _assign(getattr(rate, attribute), value)


def _assign(variable: Any, value: float) -> None:
    # Attributes a signature leaves out (no momentum, no warmup) are not variables.
    if _is_variable(variable):
        variable.assign(value)


def _hyperparameter(value: float, name: str):
    from bench._keras import keras

    return keras.Variable(float(value), dtype="float32", trainable=False, name=name)


def _is_variable(value: Any) -> bool:
    from bench._keras import keras

    return isinstance(value, keras.Variable)


def build_learning_rate(
    recipe: Recipe, *, steps_per_epoch: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The optimizer's ``learning_rate``: a float, or a Keras schedule over steps.

    ``warmup_cosine`` warms up linearly from 0 to the base rate over ``warmup_epochs``,
    then decays along a cosine to ``cosine_alpha`` times the base rate at the last epoch.
    It is a function of the step alone, computed from the base rate, so factors never
    compound (the seed's version multiplied the *current* rate each epoch).
    ``step`` multiplies the base rate by ``step_factor`` every ``step_every`` epochs.
    A schedule's numbers live in variables (see :func:`set_optimizer_values`).
    """
    from bench._keras import keras

    numbers = _schedule_numbers(recipe, steps_per_epoch=steps_per_epoch)
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
            setattr(schedule, attribute, _hyperparameter(value, attribute))
    return schedule


def _schedule_numbers(recipe: Recipe, *, steps_per_epoch: int) -> dict[str, float]:
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
    from bench._keras import keras

    smoothing = recipe.label_smoothing
    if task == "multiclass":
        return keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)
    return keras.losses.BinaryCrossentropy(label_smoothing=smoothing)


def build_regularizer(recipe: Recipe) -> keras.regularizers.Regularizer | None:
    """The L2 kernel regularizer of the MLP Dense layers, or None when ``l2`` is 0.

    Its rate is a variable, so :func:`set_regularizer_value` can change it without
    retracing a training step.

    Example:
        >>> reg = build_regularizer(Recipe(l2=0.01))
        >>> set_regularizer_value(reg, Recipe(l2=0.5))
        >>> round(float(reg.l2), 6)
        0.5
    """
    from bench._keras import keras

    if recipe.l2 <= 0:
        return None
    regularizer = keras.regularizers.L2(recipe.l2)
    regularizer.l2 = _hyperparameter(recipe.l2, "l2")
    return regularizer


def set_regularizer_value(
    regularizer: keras.regularizers.Regularizer | None, recipe: Recipe
) -> None:
    """Write the recipe's ``l2`` into a regularizer from :func:`build_regularizer`."""
    if regularizer is not None:
        regularizer.l2.assign(recipe.l2)


def build_callbacks(recipe: Recipe) -> list[keras.callbacks.Callback]:
    """Early stopping and the epoch-driven schedule (reduce_on_plateau) of the recipe.

    Only one schedule acts at a time: the step-based schedules live inside the optimizer
    (:func:`build_learning_rate`), so no callback ever overwrites another's rate.
    """
    from bench._keras import keras

    callbacks: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN()]
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
    """``"min"`` for losses, ``"max"`` for accuracy and AUC."""
    return "min" if monitor.endswith("loss") else "max"
