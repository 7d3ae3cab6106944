"""Study specs: one TOML file per study, validated before anything runs.

A spec names the workload, fixed recipe values, the search space over recipe fields
(and/or named recipe variants), the sampler, pruner, seeds, objective, budget and epochs.
Every recipe field and value is checked against its declaration in :mod:`bench.recipe`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from bench.errors import BenchInputError
from bench.recipe import Knob, Recipe, knob_by_name, knobs
from bench.workload import DEFAULT_DATASET, DEFAULT_PRESET, PRESETS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

SAMPLERS = ("grid", "random", "tpe", "qmc")
PRUNERS = ("none", "median", "hyperband")
OBJECTIVE_METRICS = ("val_auc", "val_accuracy", "val_loss")
DIRECTIONS = ("maximize", "minimize")
VARIANT = "variant"
SEED = "seed"

_TOP_LEVEL = {
    "name",
    "description",
    "workload",
    "objective",
    "sampler",
    "pruner",
    "seeds",
    "epochs",
    "budget",
    "fixed",
    "search_space",
    "variants",
}
_WORKLOAD_KEYS = {"dataset", "preset", "train_size", "split_seed"}
_OBJECTIVE_KEYS = {"metric", "direction"}
_BUDGET_KEYS = {"n_trials", "timeout"}
_RANGE_KEYS = {"low", "high", "log", "step"}


@dataclass(frozen=True)
class Range:
    """A numeric search range over one recipe field (``log`` for a log scale)."""

    low: float
    high: float
    log: bool = False
    step: float | None = None


@dataclass(frozen=True, kw_only=True)
class StudySpec:
    """A validated study spec.

    Example:
        >>> spec = load_spec("optimizers")
        >>> spec.sampler, spec.objective_metric
        ('grid', 'val_auc')
    """

    name: str
    description: str
    source: str
    dataset: str = DEFAULT_DATASET
    preset: str = DEFAULT_PRESET
    train_size: int | None = None
    split_seed: int = 0
    objective_metric: str = "val_auc"
    direction: str = "maximize"
    sampler: str = "grid"
    pruner: str = "none"
    seeds: tuple[int, ...] = (0,)
    epochs: int | None = None
    n_trials: int | None = None
    timeout: float | None = None
    fixed: Mapping[str, Any] = field(default_factory=dict)
    search_space: Mapping[str, list[Any] | Range] = field(default_factory=dict)
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def grid_size(self) -> int:
        """The number of trials a grid study runs: cells times seeds."""
        cells = max(1, len(self.variants))
        for values in self.search_space.values():
            cells *= len(values) if isinstance(values, list) else 1
        return cells * len(self.seeds)

    @property
    def budget(self) -> int:
        """Trials to finish: ``n_trials``, or the whole grid for a grid study."""
        if self.n_trials is not None:
            return self.n_trials
        return self.grid_size

    def recipe(self, sampled: Mapping[str, Any]) -> Recipe:
        """The recipe of one trial: fixed values, then the variant, then sampled fields."""
        values: dict[str, Any] = dict(self.fixed)
        if self.epochs is not None:
            values["epochs"] = self.epochs
        variant = sampled.get(VARIANT)
        if variant is not None:
            values.update(self.variants[variant])
        values.update({k: v for k, v in sampled.items() if k != VARIANT})
        return Recipe(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, stored with the study; also what the spec hash covers."""
        space = {
            name: (values if isinstance(values, list) else vars(values))
            for name, values in self.search_space.items()
        }
        return {
            "name": self.name,
            "description": self.description,
            "workload": {
                "dataset": self.dataset,
                "preset": self.preset,
                "train_size": self.train_size,
                "split_seed": self.split_seed,
            },
            "objective": {"metric": self.objective_metric, "direction": self.direction},
            "sampler": self.sampler,
            "pruner": self.pruner,
            "seeds": list(self.seeds),
            "epochs": self.epochs,
            "budget": {"n_trials": self.n_trials, "timeout": self.timeout},
            "fixed": dict(self.fixed),
            "search_space": space,
            "variants": {k: dict(v) for k, v in self.variants.items()},
        }

    def content_hash(self) -> str:
        """Hash of what decides the trials' results (not the budget nor the wording)."""
        content = self.to_dict()
        for volatile in ("name", "description", "budget"):
            content.pop(volatile)
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]

    def with_overrides(self, *, epochs: int | None = None, dataset: str | None = None) -> StudySpec:
        """A copy with the command line's ``--epochs`` / ``--dataset`` applied."""
        import dataclasses

        changes: dict[str, Any] = {}
        if epochs is not None:
            changes["epochs"] = knob_by_name("epochs").check(epochs, source="--epochs")
        if dataset is not None:
            changes["dataset"] = dataset
        return dataclasses.replace(self, **changes)


def builtin_spec_paths() -> dict[str, Path]:
    """The built-in study specs, by name (they ship inside the installed package)."""
    folder = resources.files("bench.studies")
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            found[entry.name[: -len(".toml")]] = Path(str(entry))
    return dict(sorted(found.items()))


def load_spec(name_or_path: str) -> StudySpec:
    """Load a built-in spec by name, or a spec file by path, and validate it.

    Raises :class:`BenchInputError` naming the file, the field and what is valid.
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
                f"--study {name_or_path}: no such built-in study or file; built-in studies: "
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
    """Validate a spec's parsed TOML; errors name ``source`` and the field."""
    return _SpecParser(source).parse(raw)


class _SpecParser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> BenchInputError:
        return BenchInputError(f"{self.source}: {where}: {message}")

    def parse(self, raw: Mapping[str, Any]) -> StudySpec:
        self._only(raw, _TOP_LEVEL, "top level")
        name = self._string(raw, "name", required=True)
        description = self._string(raw, "description", required=True)
        workload = self._table(raw, "workload", _WORKLOAD_KEYS)
        objective = self._table(raw, "objective", _OBJECTIVE_KEYS)
        budget = self._table(raw, "budget", _BUDGET_KEYS)
        sampler = self._choice(raw, "sampler", SAMPLERS, default="grid")
        spec = StudySpec(
            name=name,
            description=description,
            source=self.source,
            dataset=self._string(workload, "dataset", where="workload.dataset") or DEFAULT_DATASET,
            preset=self._choice(
                workload, "preset", tuple(PRESETS), default=DEFAULT_PRESET, where="workload.preset"
            ),
            train_size=self._int(workload, "train_size", low=1, where="workload.train_size"),
            split_seed=self._int(workload, "split_seed", low=0, where="workload.split_seed") or 0,
            objective_metric=self._choice(
                objective, "metric", OBJECTIVE_METRICS, default="val_auc", where="objective.metric"
            ),
            direction=self._choice(
                objective, "direction", DIRECTIONS, default="maximize", where="objective.direction"
            ),
            sampler=sampler,
            pruner=self._choice(raw, "pruner", PRUNERS, default="none"),
            seeds=self._seeds(raw),
            epochs=None
            if "epochs" not in raw
            else knob_by_name("epochs").check(raw["epochs"], source=self._at("epochs")),
            n_trials=self._int(budget, "n_trials", low=1, where="budget.n_trials"),
            timeout=self._number(budget, "timeout", where="budget.timeout"),
            fixed=self._recipe_values(raw.get("fixed", {}), "fixed"),
            search_space=self._search_space(raw.get("search_space", {})),
            variants=self._variants(raw.get("variants", [])),
        )
        self._check_coherent(spec)
        return spec

    def _at(self, where: str) -> str:
        return f"{self.source}: {where}"

    def _only(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(
                    where, f"unknown field {key!r}; expected one of {', '.join(sorted(allowed))}"
                )

    def _table(self, raw: Mapping[str, Any], key: str, allowed: set[str]) -> Mapping[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, Mapping):
            raise self.fail(key, f"got {value!r}; expected a table")
        self._only(value, allowed, key)
        return value

    def _string(self, raw, key, *, required=False, where=None) -> str | None:
        where = where or key
        if key not in raw:
            if required:
                raise self.fail(where, "missing; expected a string")
            return None
        value = raw[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"got {value!r}; expected a non-empty string")
        return value

    def _choice(self, raw, key, choices, *, default, where=None) -> str:
        value = raw.get(key, default)
        if value not in choices:
            raise self.fail(where or key, f"got {value!r}; expected one of {', '.join(choices)}")
        return value

    def _int(self, raw, key, *, low, where) -> int | None:
        if key not in raw:
            return None
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.fail(where, f"got {value!r}; expected an integer >= {low}")
        return value

    def _number(self, raw, key, *, where) -> float | None:
        if key not in raw:
            return None
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise self.fail(where, f"got {value!r}; expected a number of seconds > 0")
        return float(value)

    def _seeds(self, raw) -> tuple[int, ...]:
        seeds = raw.get("seeds", [0])
        if not isinstance(seeds, list) or not seeds:
            raise self.fail("seeds", f"got {seeds!r}; expected a non-empty list of integers")
        seed_knob = knob_by_name(SEED)
        checked = tuple(self._checked(seed_knob, s, f"seeds[{i}]") for i, s in enumerate(seeds))
        if len(set(checked)) != len(checked):
            raise self.fail("seeds", f"got {seeds!r}; expected distinct seeds")
        return checked

    def _checked(self, knob: Knob, value: Any, where: str) -> Any:
        # TOML has real types: a string where a number is expected is an error, not a cast.
        if knob.type is not str and isinstance(value, str):
            raise self.fail(where, f"got {value!r}; expected {knob.describe_valid()}")
        if knob.type is str and not isinstance(value, str):
            raise self.fail(where, f"got {value!r}; expected {knob.describe_valid()}")
        return knob.check(value, source=self._at(where))

    def _knob(self, name: str, where: str) -> Knob:
        if name == SEED:
            raise self.fail(where, "the seed is not a recipe field here; list seeds in 'seeds'")
        try:
            return knob_by_name(name)
        except BenchInputError:
            raise self.fail(
                where,
                f"unknown recipe field {name!r}; expected one of "
                f"{', '.join(k.name for k in knobs() if k.name != SEED)}",
            ) from None

    def _recipe_values(self, table: Any, where: str) -> dict[str, Any]:
        if not isinstance(table, Mapping):
            raise self.fail(where, f"got {table!r}; expected a table of recipe fields")
        return {
            name: self._checked(self._knob(name, f"{where}.{name}"), value, f"{where}.{name}")
            for name, value in table.items()
        }

    def _search_space(self, table: Any) -> dict[str, list[Any] | Range]:
        if not isinstance(table, Mapping):
            raise self.fail("search_space", f"got {table!r}; expected a table")
        space: dict[str, list[Any] | Range] = {}
        for name, values in table.items():
            where = f"search_space.{name}"
            knob = self._knob(name, where)
            if isinstance(values, list):
                if not values:
                    raise self.fail(where, "empty list; expected at least one value")
                space[name] = [
                    self._checked(knob, v, f"{where}[{i}]") for i, v in enumerate(values)
                ]
            elif isinstance(values, Mapping):
                space[name] = self._range(knob, values, where)
            else:
                raise self.fail(
                    where,
                    f"got {values!r}; expected a list of values or a table "
                    "{low, high, log, step}",
                )
        return space

    def _range(self, knob: Knob, values: Mapping[str, Any], where: str) -> Range:
        self._only(values, _RANGE_KEYS, where)
        if knob.type not in (int, float):
            raise self.fail(where, f"{knob.name} is not numeric; give a list of values")
        if "low" not in values or "high" not in values:
            raise self.fail(where, "a range needs both 'low' and 'high'")
        low = self._checked(knob, values["low"], f"{where}.low")
        high = self._checked(knob, values["high"], f"{where}.high")
        if low >= high:
            raise self.fail(where, f"low {low!r} must be below high {high!r}")
        log = values.get("log", False)
        if not isinstance(log, bool):
            raise self.fail(f"{where}.log", f"got {log!r}; expected true or false")
        if log and low <= 0:
            raise self.fail(where, f"a log range needs low > 0; got {low!r}")
        step = values.get("step")
        if step is not None and (
            isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0
        ):
            raise self.fail(f"{where}.step", f"got {step!r}; expected a number > 0")
        return Range(low=low, high=high, log=log, step=step)

    def _variants(self, entries: Any) -> dict[str, dict[str, Any]]:
        if not isinstance(entries, list):
            raise self.fail("variants", f"got {entries!r}; expected [[variants]] tables")
        variants: dict[str, dict[str, Any]] = {}
        for i, entry in enumerate(entries):
            where = f"variants[{i}]"
            if not isinstance(entry, Mapping):
                raise self.fail(where, f"got {entry!r}; expected a table")
            entry = dict(entry)
            name = entry.pop("name", None)
            if not isinstance(name, str) or not name:
                raise self.fail(f"{where}.name", "missing; every variant needs a name")
            if name in variants:
                raise self.fail(f"{where}.name", f"duplicate variant name {name!r}")
            variants[name] = self._recipe_values(entry, where)
        return variants

    def _check_coherent(self, spec: StudySpec) -> None:
        if not spec.search_space and not spec.variants:
            raise self.fail(
                "search_space", "empty; give at least one field to sweep, or [[variants]]"
            )
        for name in spec.search_space:
            if name in spec.fixed:
                raise self.fail(f"search_space.{name}", "also set in [fixed]; keep one")
            if any(name in v for v in spec.variants.values()):
                raise self.fail(f"search_space.{name}", "also set by a variant; keep one")
        if spec.sampler == "grid":
            for name, values in spec.search_space.items():
                if isinstance(values, Range):
                    raise self.fail(
                        f"search_space.{name}",
                        "the grid sampler needs a list of values; ranges suit random, tpe, qmc",
                    )
        elif spec.n_trials is None:
            raise self.fail("budget.n_trials", f"missing; the {spec.sampler} sampler needs one")
        if spec.n_trials is not None and spec.n_trials % len(spec.seeds):
            raise self.fail(
                "budget.n_trials",
                f"got {spec.n_trials}; expected a multiple of the {len(spec.seeds)} seeds "
                "(every sampled recipe runs once per seed)",
            )
        # Build every recipe the spec can produce once, so a bad combination fails now.
        for variant in spec.variants or [None]:
            sampled = {VARIANT: variant} if variant else {}
            for name, values in spec.search_space.items():
                sampled[name] = values[0] if isinstance(values, list) else values.low
            try:
                spec.recipe(sampled)
            except BenchInputError as error:
                raise self.fail(
                    f"variant {variant!r}" if variant else "fixed", str(error)
                ) from None
