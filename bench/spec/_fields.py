"""Checking one spec field's value: scalars against the knob their dataclass field
declares, recipe fields against :mod:`bench.recipe`, and the values that the tables and
the parser share (:class:`Range`, :data:`VARIANT`, :class:`SpecProblem`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench._scales import LINEAR, LOG, LOG1M, drawn_name, to_drawn
from bench._schema import SEED
from bench.errors import BenchInputError
from bench.recipe import Knob, knob_by_name, knobs


class SpecProblem(Exception):
    """A spec value that is wrong: ``where`` names the field, ``message`` what is valid."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True)
class Range:
    """A numeric search range over one recipe field, drawn uniformly on its ``scale``
    (one of :data:`bench._scales.SCALES`).

    Example:
        >>> momentum = Range(low=0.5, high=0.99, scale="log1m")
        >>> momentum.log, momentum.drawn_bounds(), momentum.param("sgd.", "momentum")
        (False, (0.01, 0.5), 'sgd.1-momentum')
        >>> momentum.to_dict()
        {'low': 0.5, 'high': 0.99, 'log': False, 'step': None, 'scale': 'log1m'}
    """

    low: float
    high: float
    scale: str = LINEAR
    step: float | None = None

    @property
    def log(self) -> bool:
        """Whether the range is drawn on a log scale of the value itself."""
        return self.scale == LOG

    def param(self, prefix: str, knob: str) -> str:
        """The Optuna param the knob is drawn as (``1-<knob>`` on ``log1m``)."""
        return prefix + drawn_name(knob, self.scale)

    def drawn_bounds(self) -> tuple[float, float]:
        """The bounds of the drawn value, lowest first."""
        ends = sorted((to_drawn(self.low, self.scale), to_drawn(self.high, self.scale)))
        return ends[0], ends[1]

    def to_dict(self) -> dict[str, Any]:
        """The stored form: ``scale`` only where it is ``log1m`` (so that a spec stored
        before scales existed keeps its hash)."""
        stored = {"low": self.low, "high": self.high, "log": self.log, "step": self.step}
        return stored if self.scale != LOG1M else {**stored, "scale": self.scale}


def check_field(cls: type, name: str, value: Any, where: str) -> Any:
    """One scalar field of a spec dataclass checked; a problem names ``where``.

    A field declared with a ``workload_option`` (see :data:`bench.workload.WORKLOAD_OPTIONS`)
    takes its TOML type from its knob and its valid values from the workload's option.

    Example:
        >>> from bench.spec import WorkloadSpec
        >>> check_field(WorkloadSpec, "train_size", 200.0, "workload.train_size")
        200
        >>> check_field(WorkloadSpec, "label_noise", 1, "workload.label_noise")
        Traceback (most recent call last):
        ...
        bench.spec._fields.SpecProblem: workload.label_noise: got 1; expected a fraction 0 <= ...
    """
    declared = {f.name: f for f in dataclasses.fields(cls)}[name]
    option = declared.metadata.get("workload_option")
    if option is None:
        return check_scalar(Knob.from_field(declared), value, where)
    try:
        checked = check_scalar(Knob.from_field(declared), value, where)
        option.check(checked)
    except (SpecProblem, BenchInputError):
        raise SpecProblem(where, f"got {value!r}; expected {option.describe()}") from None
    return checked


def replace_checked(table: Any, where: str, **changes: Any) -> Any:
    """A copy of a spec table with some fields changed, each checked like the TOML's."""
    checked = {
        key: check_field(type(table), key, value, f"{where}.{key}")
        for key, value in changes.items()
    }
    return dataclasses.replace(table, **checked)


def check_scalar(knob: Knob, value: Any, where: str) -> Any:
    """A TOML value checked against ``knob``; a problem names ``where``.

    Example:
        >>> check_scalar(knob_by_name("epochs"), "5", "epochs")
        Traceback (most recent call last):
        ...
        bench.spec._fields.SpecProblem: epochs: got '5'; expected an integer >= 1 and <= 10000
    """
    # TOML has real types: a string where a number is expected is an error, not a cast.
    if (knob.type is str) != isinstance(value, str):
        raise SpecProblem(where, f"got {value!r}; expected {_valid_words(knob)}")
    if knob.type is str and knob.choices is None:
        return nonempty_string(value, where)
    try:
        return knob.check(value)
    except BenchInputError:
        raise SpecProblem(where, f"got {value!r}; expected {_valid_words(knob)}") from None


def _valid_words(knob: Knob) -> str:
    return (
        "a non-empty string" if knob.type is str and knob.choices is None else knob.describe_valid()
    )


def nonempty_string(value: Any, where: str) -> str:
    """``value`` if it is a string with more than blanks; a problem names ``where``."""
    if not isinstance(value, str) or not value.strip():
        raise SpecProblem(where, f"got {value!r}; expected a non-empty string")
    return value


def recipe_knob(name: str, where: str) -> Knob:
    """The recipe knob a spec names at ``where``; the seed is not one (specs list seeds)."""
    if name == SEED:
        raise SpecProblem(where, "the seed is not a recipe field here; list seeds in 'seeds'")
    try:
        return knob_by_name(name)
    except BenchInputError:
        raise SpecProblem(
            where,
            f"unknown recipe field {name!r}; expected one of "
            f"{', '.join(k.name for k in knobs() if k.name != SEED)}",
        ) from None


def recipe_value(name: str, value: Any, where: str) -> Any:
    """A recipe field's value in a spec, checked against its knob."""
    return check_scalar(recipe_knob(name, where), value, where)


def recipe_values(table: Any, where: str) -> dict[str, Any]:
    """A table of recipe fields (``[fixed]``, a variant), each checked against its knob."""
    if not isinstance(table, Mapping):
        raise SpecProblem(where, f"got {table!r}; expected a table of recipe fields")
    return {name: recipe_value(name, value, f"{where}.{name}") for name, value in table.items()}
