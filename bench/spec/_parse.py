"""Reading a spec: a built-in name or a TOML file in, a validated :class:`StudySpec` out.

Each TOML value is checked where it is read, and an error names the file, the field and
what is valid; the rules across fields then run on the whole spec (``_rules.py``).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from bench._scales import LINEAR, LOG, LOG1M, SCALE_WORDS, SCALES
from bench._schema import SEED
from bench.errors import BenchInputError
from bench.recipe import Knob, knob_by_name
from bench.spec._fields import (
    Range,
    SpecProblem,
    check_field,
    check_scalar,
    nonempty_string,
    recipe_knob,
    recipe_value,
    recipe_values,
)
from bench.spec._rules import check_coherent
from bench.spec._tables import StudySpec, TuningSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_RANGE_KEYS = ("low", "high", "log", "scale", "step")


def builtin_spec_paths() -> dict[str, Path]:
    """The built-in study specs, by name (they ship inside the installed package).

    Example:
        >>> "optimizers" in builtin_spec_paths()
        True
    """
    folder = resources.files("bench.studies")
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            found[entry.name[: -len(".toml")]] = Path(str(entry))
    return dict(sorted(found.items()))


def load_spec(name_or_path: str) -> StudySpec:
    """Load a built-in spec by name, or a spec file by path, and validate it.

    Raises :class:`BenchInputError` naming the file, the field and what is valid.

    Example:
        >>> load_spec("tuned").sampler
        'tpe'
    """
    builtin = builtin_spec_paths()
    if name_or_path in builtin:
        path = builtin[name_or_path]
        label = f"studies/{path.name}"
    else:
        path = Path(name_or_path)
        label = str(path)
        if not path.is_file():
            raise BenchInputError(
                f"study {name_or_path}: no such built-in study or file; built-in studies: "
                f"{', '.join(builtin)}"
            )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise BenchInputError(f"{label}: not valid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BenchInputError(f"{label}: cannot read: {error}") from None
    return parse_spec(raw, source=label)


def parse_spec(raw: Mapping[str, Any], *, source: str) -> StudySpec:
    """Validate a spec's parsed TOML; errors name ``source`` and the field.

    Example:
        >>> parse_spec({"name": "x", "description": "y", "colour": 1}, source="x.toml")
        Traceback (most recent call last):
        ...
        bench.errors.BenchInputError: x.toml: top level: unknown field 'colour'; expected one of ...
    """
    try:
        spec = _parse(raw, source=source)
        check_coherent(spec)
    except SpecProblem as problem:
        raise BenchInputError(f"{source}: {problem}") from None
    return spec


def _parse(raw: Mapping[str, Any], *, source: str) -> StudySpec:
    toml_fields = [f for f in dataclasses.fields(StudySpec) if f.metadata.get("toml", True)]
    _only(raw, [f.name for f in toml_fields], "top level")
    special: dict[str, Callable[[Any], Any]] = {
        "seeds": _seeds,
        "epochs": lambda value: recipe_value("epochs", value, "epochs"),
        "fixed": lambda value: recipe_values(value, "fixed"),
        "search_space": _search_space,
        "variants": _variants,
        "tuning": _tuning,
    }
    if "tuning" in raw:
        for key, instead in (
            ("seeds", "tuning.seed and tuning.final_seeds"),
            ("sampler", "tuning.sampler"),
        ):
            if key in raw:
                raise SpecProblem(key, f"not used with [tuning]; give {instead}")
    values: dict[str, Any] = {"source": source}
    for declared in toml_fields:
        name = declared.name
        if name in ("name", "description"):
            values[name] = _required_string(raw, name)
        elif name not in raw:
            continue
        elif name in special:
            values[name] = special[name](raw[name])
        elif dataclasses.is_dataclass(declared.default_factory):  # [workload], ...
            values[name] = _table(declared.default_factory, raw[name], name)
        else:
            values[name] = check_field(StudySpec, name, raw[name], name)
    return StudySpec(**values)


def _only(table: Mapping[str, Any], allowed: list[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise SpecProblem(
                where, f"unknown field {key!r}; expected one of {', '.join(sorted(allowed))}"
            )


def _required_string(raw: Mapping[str, Any], key: str) -> str:
    if key not in raw:
        raise SpecProblem(key, "missing; expected a string")
    return nonempty_string(raw[key], key)


def _table(cls: type, raw: Any, where: str) -> Any:
    """One TOML table checked field by field against the dataclass that declares it."""
    if not isinstance(raw, Mapping):
        raise SpecProblem(where, f"got {raw!r}; expected a table")
    names = [f.name for f in dataclasses.fields(cls)]
    _only(raw, names, where)
    return cls(**{key: check_field(cls, key, raw[key], f"{where}.{key}") for key in raw})


def _seeds(seeds: Any) -> tuple[int, ...]:
    if not isinstance(seeds, list) or not seeds:
        raise SpecProblem("seeds", f"got {seeds!r}; expected a non-empty list of integers")
    seed_knob = knob_by_name(SEED)
    checked = tuple(check_scalar(seed_knob, s, f"seeds[{i}]") for i, s in enumerate(seeds))
    if len(set(checked)) != len(checked):
        raise SpecProblem("seeds", f"got {seeds!r}; expected distinct seeds")
    return checked


def _search_space(table: Any, at: str = "search_space") -> dict[str, list[Any] | Range]:
    if not isinstance(table, Mapping):
        raise SpecProblem(at, f"got {table!r}; expected a table")
    space: dict[str, list[Any] | Range] = {}
    for name, values in table.items():
        where = f"{at}.{name}"
        knob = recipe_knob(name, where)
        if isinstance(values, list):
            if not values:
                raise SpecProblem(where, "empty list; expected at least one value")
            space[name] = [check_scalar(knob, v, f"{where}[{i}]") for i, v in enumerate(values)]
        elif isinstance(values, Mapping):
            space[name] = _range(knob, values, where)
        else:
            raise SpecProblem(
                where,
                f"got {values!r}; expected a list of values or a table {{low, high, scale, step}}",
            )
    return space


def _range(knob: Knob, values: Mapping[str, Any], where: str) -> Range:
    _only(values, list(_RANGE_KEYS), where)
    if knob.type not in (int, float):
        raise SpecProblem(where, f"{knob.name} is not numeric; give a list of values")
    if "low" not in values or "high" not in values:
        raise SpecProblem(where, "a range needs both 'low' and 'high'")
    low = check_scalar(knob, values["low"], f"{where}.low")
    high = check_scalar(knob, values["high"], f"{where}.high")
    if low >= high:
        raise SpecProblem(where, f"low {low!r} must be below high {high!r}")
    scale = _scale(values, where)
    if scale == LOG and low <= 0:
        raise SpecProblem(where, f"a log range needs low > 0; got {low!r}")
    if scale == LOG1M:
        _check_log1m(knob, high, where)
    step = values.get("step")
    if step is not None and (
        isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0
    ):
        raise SpecProblem(f"{where}.step", f"got {step!r}; expected a number > 0")
    if step is not None and scale == LOG1M:
        raise SpecProblem(f"{where}.step", f'a step needs a linear range, not scale = "{scale}"')
    return Range(low=low, high=high, scale=scale, step=step)


def _scale(values: Mapping[str, Any], where: str) -> str:
    """The range's scale: ``scale``, or ``log = true`` (the older way to say "log")."""
    log = values.get("log", False)
    if not isinstance(log, bool):
        raise SpecProblem(f"{where}.log", f"got {log!r}; expected true or false")
    if "scale" not in values:
        return LOG if log else LINEAR
    scale = values["scale"]
    if scale not in SCALES:
        words = ", ".join(f'"{s}" (uniform in {SCALE_WORDS[s]})' for s in SCALES)
        raise SpecProblem(f"{where}.scale", f"got {scale!r}; expected one of {words}")
    if log and scale != LOG:
        raise SpecProblem(where, f'log = true and scale = "{scale}" disagree; give one')
    return scale


def _check_log1m(knob: Knob, high: float, where: str) -> None:
    """A ``log1m`` range needs a float knob bounded above by 1, and a high below 1."""
    bounded = knob.type is float and knob.high is not None and knob.high <= 1
    if not bounded:
        limit = "no upper bound" if knob.high is None else f"values up to {knob.high:g}"
        raise SpecProblem(
            f"{where}.scale",
            f'"log1m" draws log(1 - value), for a knob below 1 (momentum, beta_1, beta_2); '
            f"{knob.name} takes {limit}",
        )
    if high >= 1:
        raise SpecProblem(
            f"{where}.high", f'got {high!r}; "log1m" needs high below 1 (log(1 - 1) is -inf)'
        )


def _variants(entries: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(entries, list):
        raise SpecProblem("variants", f"got {entries!r}; expected [[variants]] tables")
    variants: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(entries):
        where = f"variants[{i}]"
        if not isinstance(entry, Mapping):
            raise SpecProblem(where, f"got {entry!r}; expected a table")
        entry = dict(entry)
        name = entry.pop("name", None)
        if not isinstance(name, str) or not name:
            raise SpecProblem(f"{where}.name", "missing; every variant needs a name")
        if name in variants:
            raise SpecProblem(f"{where}.name", f"duplicate variant name {name!r}")
        space = entry.pop("search_space", None)
        variants[name] = recipe_values(entry, where)
        if space is not None:
            variants[name]["search_space"] = _search_space(space, f"{where}.search_space")
    return variants


def _tuning(table: Any) -> TuningSpec:
    if not isinstance(table, Mapping):
        raise SpecProblem("tuning", f"got {table!r}; expected a table")
    table = dict(table)
    for key in table:
        if "prun" in key:
            raise SpecProblem(
                f"tuning.{key}",
                "the final phase is never pruned (its seeds judge the candidates); the "
                "top-level pruner acts on the tuning phase only",
            )
    seed_lists = {key: table.pop(key, None) for key in ("final_seeds", "second_look_seeds")}
    tuning = (
        _table(TuningSpec, {k: v for k, v in table.items()}, "tuning") if table else TuningSpec()
    )
    for key, listed in seed_lists.items():
        if listed is not None:
            try:
                seeds = _seeds(listed)
            except SpecProblem as problem:
                where = key.removesuffix("seeds") + problem.where
                raise SpecProblem(f"tuning.{where}", problem.message) from None
            tuning = dataclasses.replace(tuning, **{key: seeds})
    if tuning.seed in tuning.final_seeds:
        raise SpecProblem(
            "tuning.final_seeds",
            f"got {list(tuning.final_seeds)}; expected seeds other than the tuning seed "
            f"{tuning.seed} (the verdict comes from seeds that did not choose the settings)",
        )
    reused = set(tuning.second_look_seeds) & {tuning.seed, *tuning.final_seeds}
    if reused:
        raise SpecProblem(
            "tuning.second_look_seeds",
            f"got {list(tuning.second_look_seeds)}; expected seeds other than the tuning seed "
            f"and the final seeds (reused: {sorted(reused)})",
        )
    if "budget_per_dimension" in table:
        if "budget" in table:
            raise SpecProblem(
                "tuning.budget",
                "given with tuning.budget_per_dimension; give one (a budget per candidate, "
                "or per searched field)",
            )
        tuning = dataclasses.replace(tuning, budget=None)
    smallest, name = (
        (tuning.budget, "tuning.budget")
        if tuning.budget is not None
        else (tuning.budget_per_dimension, "tuning.budget_per_dimension")
    )
    if smallest is not None and tuning.confirm > smallest:
        raise SpecProblem(
            "tuning.confirm",
            f"got {tuning.confirm}; expected at most {name} ({smallest}): "
            "the best draws rerun are among the candidate's draws",
        )
    if tuning.confirm_seed is not None and not tuning.confirm:
        raise SpecProblem(
            "tuning.confirm_seed", "set without tuning.confirm; expected both, or neither"
        )
    seeded = (tuning.seed, *tuning.final_seeds, *tuning.second_look_seeds)
    if tuning.confirm and tuning.rerun_seed in seeded:
        raise SpecProblem(
            "tuning.confirm_seed",
            f"got {tuning.rerun_seed}; expected a seed other than the tuning seed and the "
            "final and second-look seeds",
        )
    return tuning
