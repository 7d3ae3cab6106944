"""The recipe's knobs: every field of :class:`Recipe`, declared once, with no Keras.

Every knob (name, type, default, valid range, help) is a field of :class:`Recipe`. The
command line, study specs, validation and reports all read the declaration from here via
:func:`knobs`; importing this module stays instant because it never imports Keras.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.errors import BenchInputError

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
    #: The optimizers whose update reads this knob; ``None``: every recipe uses it.
    optimizers: tuple[str, ...] | None = None

    @classmethod
    def from_field(cls, declared: dataclasses.Field) -> Knob:
        """The knob a dataclass field declared with :func:`knob_field` stands for.

        Example:
            >>> Knob.from_field(dataclasses.fields(Recipe)[0]).choices[:2]
            ('adam', 'adamw')
        """
        type_name = str(declared.type).removesuffix(" | None")
        limits = {k: v for k, v in declared.metadata.items() if k in _KNOB_METADATA}
        return cls(
            name=declared.name, type=_FIELD_TYPES[type_name], default=declared.default, **limits
        )

    def applies_to(self, optimizer: str) -> bool:
        """Whether a recipe with ``optimizer`` reads this knob at all.

        Example:
            >>> knob_by_name("momentum").applies_to("adam"), knob_by_name("l2").applies_to("adam")
            (False, True)
        """
        return self.optimizers is None or optimizer in self.optimizers

    def describe_help(self) -> str:
        """The help text, with the optimizers that read the knob when not every one does.

        Example:
            >>> knob_by_name("momentum").describe_help()
            'momentum (sgd, sgd_momentum only)'
        """
        if self.optimizers is None:
            return self.help
        return f"{self.help} ({', '.join(self.optimizers)} only)"

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


def knob_field(default: Any, help: str, **limits: Any) -> Any:
    """A dataclass field that declares a knob: its default, help text and valid values.

    ``limits`` are :class:`Knob`'s ``choices``, ``low``, ``high``, ``low_open`` and
    ``high_open``; any other key (a spec table's ``omit_default`` or ``workload_option``)
    stays in the field's metadata for its owner, and :meth:`Knob.from_field` leaves it out.

    Example:
        >>> @dataclass(frozen=True)
        ... class Box:
        ...     side: int = knob_field(3, "side in cm", low=1)
        >>> Knob.from_field(dataclasses.fields(Box)[0]).describe_valid()
        'an integer >= 1'
    """
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

    optimizer: str = knob_field(
        "adamw",
        "optimizer (sgd is the seed's: momentum 0.9 with Nesterov)",
        choices=OPTIMIZERS,
    )
    learning_rate: float = knob_field(1e-3, "base learning rate", low=0.0, low_open=True, high=10.0)
    momentum: float = knob_field(
        0.9,
        "momentum",
        low=0.0,
        high=1.0,
        high_open=True,
        optimizers=("sgd", "sgd_momentum"),
    )
    beta_1: float = knob_field(
        0.9,
        "first-moment decay",
        low=0.0,
        high=1.0,
        high_open=True,
        optimizers=("adam", "adamw", "nadam", "lion"),
    )
    beta_2: float = knob_field(
        0.999,
        "second-moment decay",
        low=0.0,
        high=1.0,
        high_open=True,
        optimizers=("adam", "adamw", "nadam", "lion"),
    )
    epsilon: float = knob_field(
        1e-7,
        "the term added to the update's denominator (Keras's default)",
        low=0.0,
        low_open=True,
        high=1.0,
        optimizers=("adam", "adamw", "nadam", "adagrad", "rmsprop"),
    )
    weight_decay: float = knob_field(
        1e-4,
        "decoupled weight decay applied by the optimizer itself; Keras shrinks each weight "
        "by learning_rate * weight_decay every step",
        low=0.0,
        high=100.0,
    )
    l2: float = knob_field(
        0.0,
        "L2 kernel-regularizer rate on every MLP Dense layer (the seed's l2)",
        low=0.0,
        high=1.0,
    )
    dropout: float = knob_field(
        0.1,
        "dropout in the transformer blocks (attention and MLP)",
        low=0.0,
        high=1.0,
        high_open=True,
    )
    head_dropout: float = knob_field(
        0.5,
        "dropout before and inside the classification head",
        low=0.0,
        high=1.0,
        high_open=True,
    )
    label_smoothing: float = knob_field(
        0.0, "label smoothing of the cross-entropy loss", low=0.0, high=1.0, high_open=True
    )
    augment: bool = knob_field(False, "random flip, rotation and zoom of training images")
    schedule: str = knob_field("constant", "learning-rate schedule", choices=SCHEDULES)
    warmup_epochs: int = knob_field(5, "warmup_cosine: epochs of linear warmup", low=0, high=1000)
    cosine_alpha: float = knob_field(
        0.0, "warmup_cosine: final rate as a fraction of the base rate", low=0.0, high=1.0
    )
    step_every: int = knob_field(10, "step: epochs between rate cuts", low=1, high=1000)
    step_factor: float = knob_field(
        0.5,
        "step: multiply the rate by this at each cut",
        low=0.0,
        low_open=True,
        high=1.0,
        high_open=True,
    )
    plateau_monitor: str = knob_field(
        "val_loss", "reduce_on_plateau: metric watched", choices=MONITORS
    )
    plateau_factor: float = knob_field(
        0.1,
        "reduce_on_plateau: multiply the rate by this",
        low=0.0,
        low_open=True,
        high=1.0,
        high_open=True,
    )
    plateau_patience: int = knob_field(
        5, "reduce_on_plateau: epochs without improvement", low=0, high=1000
    )
    plateau_min_lr: float = knob_field(1e-6, "reduce_on_plateau: lowest rate", low=0.0, high=10.0)
    early_stopping: bool = knob_field(True, "stop when the monitored metric stops improving")
    monitor: str = knob_field("val_loss", "early stopping: metric watched", choices=MONITORS)
    patience: int = knob_field(10, "early stopping: epochs without improvement", low=0, high=1000)
    min_delta: float = knob_field(
        0.0, "early stopping: smallest change that counts", low=0.0, high=10.0
    )
    restore_best_weights: bool = knob_field(
        True, "early stopping: keep the best epoch's weights (false: the last epoch's)"
    )
    epochs: int = knob_field(30, "maximum number of epochs", low=1, high=10000)
    batch_size: int = knob_field(32, "images per training step", low=1, high=65536)
    seed: int = knob_field(
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


_KNOB_METADATA = ("help", "choices", "low", "high", "low_open", "high_open", "optimizers")
_FIELD_TYPES = {"str": str, "float": float, "int": int, "bool": bool}
_KNOBS = tuple(Knob.from_field(f) for f in dataclasses.fields(Recipe))
_KNOBS_BY_NAME = {k.name: k for k in _KNOBS}
