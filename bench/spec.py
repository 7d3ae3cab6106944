"""Study specs: one TOML file per study, declared once as frozen dataclasses.

Each TOML table has a dataclass that mirrors it (:class:`WorkloadSpec`,
:class:`ObjectiveSpec`, :class:`BudgetSpec`), and :class:`StudySpec` holds them with the
top-level fields. The fields are the declaration: the keys a spec may use, their
defaults and valid values, and :meth:`StudySpec.to_dict` all derive from them, the way
:class:`bench.recipe.Recipe` declares the recipe knobs. Every recipe field and value in
``[fixed]``, ``[search_space]`` and ``[[variants]]`` is checked against its knob.

Example:
    >>> raw = {"name": "lr", "description": "two rates"}
    >>> raw["search_space"] = {"learning_rate": [1e-3, 1e-2]}
    >>> spec = parse_spec(raw, source="lr.toml")
    >>> spec.sampler, spec.total_trials, spec.workload.dataset
    ('grid', 2, 'digits')
    >>> spec.with_overrides(n_trials=3).total_trials
    3
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench._schema import SEED, VARIANT
from bench.errors import BenchInputError
from bench.recipe import Knob, Recipe, knob_by_name, knobs
from bench.workload import DEFAULT_DATASET, DEFAULT_PRESET, PRESETS

if TYPE_CHECKING:
    from bench.workload import Workload

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

SAMPLERS = ("grid", "random", "tpe", "qmc")
PRUNERS = ("none", "median", "hyperband")
OBJECTIVE_METRICS = ("val_auc", "val_accuracy", "val_loss")
DIRECTIONS = ("maximize", "minimize")
#: How a study without ``[tuning]`` stores its trials, hashed with its spec: since the
#: seed became a user attribute (no longer an Optuna param) such a study stored before is
#: never resumed with the new layout, but versioned as ``NAME-v2`` and left as it is.
SEED_LAYOUT = "seed-user-attr"
_RANGE_KEYS = ("low", "high", "log", "step")
_FIELD_TYPES = {"str": str, "int": int, "float": float}


def _setting(default: Any, help: str, **limits: Any) -> Any:
    """A spec field with its help text and the limits :class:`bench.recipe.Knob` checks."""
    return field(default=default, metadata={"help": help, **limits})


def _declaration(cls: type, name: str) -> Knob:
    """The :class:`Knob` that checks one scalar field of a spec dataclass."""
    declared = {f.name: f for f in dataclasses.fields(cls)}[name]
    type_name = str(declared.type).removesuffix(" | None")
    limits = {k: v for k, v in declared.metadata.items() if k != "omit_default"}
    return Knob(name=name, type=_FIELD_TYPES[type_name], default=declared.default, **limits)


class _Problem(Exception):
    """A spec value that is wrong: ``where`` names the field, ``message`` what is valid."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True, kw_only=True)
class WorkloadSpec:
    """The ``[workload]`` table: the data, splits and ViT preset every trial shares.

    Example:
        >>> WorkloadSpec(train_size=200).to_dict()
        {'dataset': 'digits', 'preset': 'tiny', 'train_size': 200, 'split_seed': 0}
    """

    dataset: str = _setting(DEFAULT_DATASET, "digits, digits10, folder:PATH or npz:PATH")
    preset: str = _setting(DEFAULT_PRESET, "size of the shared ViT", choices=tuple(PRESETS))
    train_size: int | None = _setting(None, "training images (a stratified subset)", low=1)
    split_seed: int = _setting(0, "seed of the train/val/test split", low=0)
    label_noise: float = _setting(
        0.0,
        "fraction of training labels flipped to another class",
        low=0.0,
        high=1.0,
        high_open=True,
        omit_default=True,
    )

    def load(self) -> Workload:
        """Load the data at the size the preset needs, split with the split seed."""
        from bench.workload import load_workload

        return load_workload(
            self.dataset,
            preset=self.preset,
            split_seed=self.split_seed,
            train_size=self.train_size,
            label_noise=self.label_noise,
        )

    def to_dict(self) -> dict[str, Any]:
        return _table_dict(self)


@dataclass(frozen=True, kw_only=True)
class ObjectiveSpec:
    """The ``[objective]`` table: the validation metric Optuna optimizes, and its direction.

    Example:
        >>> ObjectiveSpec().split_and_name
        ('val', 'auc')
    """

    metric: str = _setting(
        "val_auc", "validation metric of the kept weights", choices=OBJECTIVE_METRICS
    )
    direction: str = _setting("maximize", "optimization direction", choices=DIRECTIONS)

    @property
    def split_and_name(self) -> tuple[str, str]:
        """The metric as (split, metric name), the keys of a trial result's ``metrics``."""
        split, name = self.metric.split("_", 1)
        return split, name

    def to_dict(self) -> dict[str, Any]:
        return _table_dict(self)


@dataclass(frozen=True, kw_only=True)
class BudgetSpec:
    """The ``[budget]`` table: how many trials to finish, and for how long to start new ones.

    Example:
        >>> BudgetSpec(n_trials=8).to_dict()
        {'n_trials': 8, 'timeout': None}
    """

    n_trials: int | None = _setting(None, "trials to finish in all", low=1)
    timeout: float | None = _setting(
        None, "seconds after which no new trial starts", low=0.0, low_open=True
    )

    def to_dict(self) -> dict[str, Any]:
        return _table_dict(self)


TUNING_SAMPLERS = ("random", "tpe", "qmc")


@dataclass(frozen=True, kw_only=True)
class TuningSpec:
    """The ``[tuning]`` table: an equal tuning budget per candidate, then fresh seeds.

    Each ``[[variants]]`` entry is a candidate with its own ``search_space``. Phase
    ``tune`` runs ``budget`` trials per candidate on ``seed``; phase ``final`` reruns each
    candidate's best settings (by the objective, on validation data) once per final seed.

    Example:
        >>> TuningSpec(budget=6, final_seeds=(1, 2, 3)).to_dict()
        {'budget': 6, 'sampler': 'random', 'seed': 0, 'final_seeds': [1, 2, 3]}
    """

    budget: int = _setting(6, "tuning trials per candidate", low=1, high=10000)
    sampler: str = _setting("random", "sampler of the tuning phase", choices=TUNING_SAMPLERS)
    seed: int = _setting(0, "the seed every tuning trial trains with", low=0)
    final_seeds: tuple[int, ...] = (1, 2, 3)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "final_seeds": list(self.final_seeds)}


@dataclass(frozen=True)
class Range:
    """A numeric search range over one recipe field (``log`` for a log scale)."""

    low: float
    high: float
    log: bool = False
    step: float | None = None


@dataclass(frozen=True, kw_only=True)
class StudySpec:
    """A validated study spec; build one with :func:`load_spec` or :func:`parse_spec`.

    Example:
        >>> spec = load_spec("optimizers-fixed")
        >>> spec.sampler, spec.objective.metric, len(spec.variants)
        ('grid', 'val_auc', 8)
    """

    name: str
    description: str
    workload: WorkloadSpec = field(default_factory=WorkloadSpec)
    objective: ObjectiveSpec = field(default_factory=ObjectiveSpec)
    sampler: str = _setting("grid", "Optuna sampler", choices=SAMPLERS)
    pruner: str = _setting("none", "Optuna pruner", choices=PRUNERS)
    seeds: tuple[int, ...] = (0,)
    epochs: int | None = None
    budget: BudgetSpec = field(default_factory=BudgetSpec)
    fixed: Mapping[str, Any] = field(default_factory=dict)
    search_space: Mapping[str, list[Any] | Range] = field(default_factory=dict)
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    tuning: TuningSpec | None = field(default=None, metadata={"omit_default": True})
    #: Where the spec was read from (for messages); not a TOML key.
    source: str = field(default="", compare=False, metadata={"toml": False})

    @property
    def grid_size(self) -> int:
        """The number of trials a grid study runs: cells times seeds."""
        cells = max(1, len(self.variants))
        for values in self.search_space.values():
            cells *= len(values) if isinstance(values, list) else 1
        return cells * len(self.seeds)

    @property
    def total_trials(self) -> int:
        """Trials to finish: ``budget.n_trials``, the whole grid for a grid study, or each
        candidate's tuning budget and final seeds under ``[tuning]``."""
        if self.tuning is not None:
            per_candidate = self.tuning.budget + len(self.tuning.final_seeds)
            return per_candidate * len(self.variants)
        if self.budget.n_trials is not None:
            return self.budget.n_trials
        return self.grid_size

    @property
    def max_epochs(self) -> int:
        """The most epochs any trial of the study can train (the pruners' resource)."""
        base = self.epochs or self.fixed.get("epochs") or knob_by_name("epochs").default
        found = [base, *(v["epochs"] for v in self.variants.values() if "epochs" in v)]
        searched = self.search_space.get("epochs")
        if isinstance(searched, list):
            found.extend(searched)
        elif isinstance(searched, Range):
            found.append(searched.high)
        return int(max(found))

    def candidate_space(self, candidate: str) -> dict[str, list[Any] | Range]:
        """The fields a ``[tuning]`` candidate searches: the shared ``search_space``
        overlaid with the variant's own."""
        return {**self.search_space, **self.variants[candidate].get("search_space", {})}

    def recipe(self, sampled: Mapping[str, Any]) -> Recipe:
        """The recipe of one trial: fixed values, then the variant, then sampled fields."""
        values: dict[str, Any] = dict(self.fixed)
        if self.epochs is not None:
            values["epochs"] = self.epochs
        variant = sampled.get(VARIANT)
        if variant is not None:
            values.update({k: v for k, v in self.variants[variant].items() if k != "search_space"})
        values.update({k: v for k, v in sampled.items() if k not in (VARIANT, SEED)})
        if SEED in sampled:
            values[SEED] = sampled[SEED]
        return Recipe(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form with the TOML's shape, stored with the study; the hash covers it."""
        return {
            f.name: _json_form(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.metadata.get("toml", True)
            and not (f.metadata.get("omit_default") and getattr(self, f.name) == f.default)
        }

    def content_hash(self) -> str:
        """Hash of what decides the trials' results (not the budget nor the wording) and
        of how they are stored: a ``[tuning]`` study always kept its seeds out of its
        params, the others hash :data:`SEED_LAYOUT` too.

        Example:
            >>> spec = load_spec("regularization")
            >>> spec.content_hash() == spec.with_overrides(timeout=60).content_hash()
            True
        """
        content = self.to_dict()
        for volatile in ("name", "description", "budget"):
            content.pop(volatile)
        if self.tuning is None:
            content["layout"] = SEED_LAYOUT
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]

    def with_overrides(
        self,
        *,
        epochs: int | None = None,
        dataset: str | None = None,
        n_trials: int | None = None,
        timeout: float | None = None,
    ) -> StudySpec:
        """A copy with the command line's overrides applied, then checked whole again.

        Every override passes through here; an error names the flag (``--n-trials``...).

        Example:
            >>> spec = load_spec("optimizers-fixed")
            >>> spec.with_overrides(epochs=2).epochs
            2
            >>> spec.with_overrides(n_trials=4)
            Traceback (most recent call last):
            ...
            bench.errors.BenchInputError: --n-trials: got 4; expected a multiple of the 3 seeds ...
        """
        flags: dict[str, str] = {}
        changes: dict[str, Any] = {}
        try:
            if epochs is not None:
                flags.update(epochs="--epochs", **{"fixed.epochs": "--epochs"})
                changes.update(self._epochs_override(epochs))
            if dataset is not None:
                flags["workload.dataset"] = "--dataset"
                changes["workload"] = _replace_checked(self.workload, "workload", dataset=dataset)
            if n_trials is not None or timeout is not None:
                given = {"n_trials": n_trials, "timeout": timeout}
                given = {k: v for k, v in given.items() if v is not None}
                flags.update({f"budget.{k}": "--" + k.replace("_", "-") for k in given})
                changes["budget"] = _replace_checked(self.budget, "budget", **given)
            changed = dataclasses.replace(self, **changes)
            _check_coherent(changed)
        except _Problem as problem:
            where = flags.get(problem.where, f"{self.source}: {problem.where}")
            raise BenchInputError(f"{where}: {problem.message}") from None
        return changed

    def _epochs_override(self, epochs: int) -> dict[str, Any]:
        checked = _check_scalar(knob_by_name("epochs"), epochs, "epochs")
        if "epochs" in self.search_space:
            raise _Problem("epochs", "the spec searches epochs (search_space.epochs); drop it")
        if any("epochs" in v for v in self.variants.values()):
            raise _Problem("epochs", "the spec's variants set their own epochs; drop it")
        if "epochs" in self.fixed:
            return {"fixed": {**self.fixed, "epochs": checked}}
        return {"epochs": checked}


def _table_dict(table: Any) -> dict[str, Any]:
    """A table's fields; those added after specs were first stored are left out at their
    default, so that a stored study's spec hash does not change."""
    return {
        f.name: getattr(table, f.name)
        for f in dataclasses.fields(table)
        if not (f.metadata.get("omit_default") and getattr(table, f.name) == f.default)
    }


def _json_form(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return _json_form(value.to_dict())
    if dataclasses.is_dataclass(value):
        return _json_form(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {k: _json_form(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_form(v) for v in value]
    return value


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
    """Validate a spec's parsed TOML; errors name ``source`` and the field.

    Example:
        >>> parse_spec({"name": "x", "description": "y", "colour": 1}, source="x.toml")
        Traceback (most recent call last):
        ...
        bench.errors.BenchInputError: x.toml: top level: unknown field 'colour'; expected one of ...
    """
    try:
        spec = _parse(raw, source=source)
        _check_coherent(spec)
    except _Problem as problem:
        raise BenchInputError(f"{source}: {problem}") from None
    return spec


# --- Parsing: TOML values -> the dataclasses above -------------------------------------


def _parse(raw: Mapping[str, Any], *, source: str) -> StudySpec:
    toml_fields = [f for f in dataclasses.fields(StudySpec) if f.metadata.get("toml", True)]
    _only(raw, [f.name for f in toml_fields], "top level")
    special: dict[str, Callable[[Any], Any]] = {
        "seeds": _seeds,
        "epochs": lambda value: _recipe_value("epochs", value, "epochs"),
        "fixed": lambda value: _recipe_values(value, "fixed"),
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
                raise _Problem(key, f"not used with [tuning]; give {instead}")
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
            values[name] = _check_scalar(_declaration(StudySpec, name), raw[name], name)
    return StudySpec(**values)


def _only(table: Mapping[str, Any], allowed: list[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise _Problem(
                where, f"unknown field {key!r}; expected one of {', '.join(sorted(allowed))}"
            )


def _required_string(raw: Mapping[str, Any], key: str) -> str:
    if key not in raw:
        raise _Problem(key, "missing; expected a string")
    return _nonempty_string(raw[key], key)


def _nonempty_string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Problem(where, f"got {value!r}; expected a non-empty string")
    return value


def _table(cls: type, raw: Any, where: str) -> Any:
    """One TOML table checked field by field against the dataclass that declares it."""
    if not isinstance(raw, Mapping):
        raise _Problem(where, f"got {raw!r}; expected a table")
    names = [f.name for f in dataclasses.fields(cls)]
    _only(raw, names, where)
    return cls(
        **{key: _check_scalar(_declaration(cls, key), raw[key], f"{where}.{key}") for key in raw}
    )


def _replace_checked(table: Any, where: str, **changes: Any) -> Any:
    checked = {
        key: _check_scalar(_declaration(type(table), key), value, f"{where}.{key}")
        for key, value in changes.items()
    }
    return dataclasses.replace(table, **checked)


def _check_scalar(knob: Knob, value: Any, where: str) -> Any:
    # TOML has real types: a string where a number is expected is an error, not a cast.
    if (knob.type is str) != isinstance(value, str):
        raise _Problem(where, f"got {value!r}; expected {_valid_words(knob)}")
    if knob.type is str and knob.choices is None:
        return _nonempty_string(value, where)
    try:
        return knob.check(value)
    except BenchInputError:
        raise _Problem(where, f"got {value!r}; expected {_valid_words(knob)}") from None


def _valid_words(knob: Knob) -> str:
    return (
        "a non-empty string" if knob.type is str and knob.choices is None else knob.describe_valid()
    )


def _seeds(seeds: Any) -> tuple[int, ...]:
    if not isinstance(seeds, list) or not seeds:
        raise _Problem("seeds", f"got {seeds!r}; expected a non-empty list of integers")
    seed_knob = knob_by_name(SEED)
    checked = tuple(_check_scalar(seed_knob, s, f"seeds[{i}]") for i, s in enumerate(seeds))
    if len(set(checked)) != len(checked):
        raise _Problem("seeds", f"got {seeds!r}; expected distinct seeds")
    return checked


def _knob(name: str, where: str) -> Knob:
    if name == SEED:
        raise _Problem(where, "the seed is not a recipe field here; list seeds in 'seeds'")
    try:
        return knob_by_name(name)
    except BenchInputError:
        raise _Problem(
            where,
            f"unknown recipe field {name!r}; expected one of "
            f"{', '.join(k.name for k in knobs() if k.name != SEED)}",
        ) from None


def _recipe_value(name: str, value: Any, where: str) -> Any:
    return _check_scalar(_knob(name, where), value, where)


def _recipe_values(table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise _Problem(where, f"got {table!r}; expected a table of recipe fields")
    return {name: _recipe_value(name, value, f"{where}.{name}") for name, value in table.items()}


def _search_space(table: Any, at: str = "search_space") -> dict[str, list[Any] | Range]:
    if not isinstance(table, Mapping):
        raise _Problem(at, f"got {table!r}; expected a table")
    space: dict[str, list[Any] | Range] = {}
    for name, values in table.items():
        where = f"{at}.{name}"
        knob = _knob(name, where)
        if isinstance(values, list):
            if not values:
                raise _Problem(where, "empty list; expected at least one value")
            space[name] = [_check_scalar(knob, v, f"{where}[{i}]") for i, v in enumerate(values)]
        elif isinstance(values, Mapping):
            space[name] = _range(knob, values, where)
        else:
            raise _Problem(
                where,
                f"got {values!r}; expected a list of values or a table {{low, high, log, step}}",
            )
    return space


def _range(knob: Knob, values: Mapping[str, Any], where: str) -> Range:
    _only(values, list(_RANGE_KEYS), where)
    if knob.type not in (int, float):
        raise _Problem(where, f"{knob.name} is not numeric; give a list of values")
    if "low" not in values or "high" not in values:
        raise _Problem(where, "a range needs both 'low' and 'high'")
    low = _check_scalar(knob, values["low"], f"{where}.low")
    high = _check_scalar(knob, values["high"], f"{where}.high")
    if low >= high:
        raise _Problem(where, f"low {low!r} must be below high {high!r}")
    log = values.get("log", False)
    if not isinstance(log, bool):
        raise _Problem(f"{where}.log", f"got {log!r}; expected true or false")
    if log and low <= 0:
        raise _Problem(where, f"a log range needs low > 0; got {low!r}")
    step = values.get("step")
    if step is not None and (
        isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0
    ):
        raise _Problem(f"{where}.step", f"got {step!r}; expected a number > 0")
    return Range(low=low, high=high, log=log, step=step)


def _variants(entries: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(entries, list):
        raise _Problem("variants", f"got {entries!r}; expected [[variants]] tables")
    variants: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(entries):
        where = f"variants[{i}]"
        if not isinstance(entry, Mapping):
            raise _Problem(where, f"got {entry!r}; expected a table")
        entry = dict(entry)
        name = entry.pop("name", None)
        if not isinstance(name, str) or not name:
            raise _Problem(f"{where}.name", "missing; every variant needs a name")
        if name in variants:
            raise _Problem(f"{where}.name", f"duplicate variant name {name!r}")
        space = entry.pop("search_space", None)
        variants[name] = _recipe_values(entry, where)
        if space is not None:
            variants[name]["search_space"] = _search_space(space, f"{where}.search_space")
    return variants


def _tuning(table: Any) -> TuningSpec:
    if not isinstance(table, Mapping):
        raise _Problem("tuning", f"got {table!r}; expected a table")
    table = dict(table)
    final_seeds = table.pop("final_seeds", None)
    tuning = (
        _table(TuningSpec, {k: v for k, v in table.items()}, "tuning") if table else TuningSpec()
    )
    if final_seeds is not None:
        try:
            seeds = _seeds(final_seeds)
        except _Problem as problem:
            raise _Problem(f"tuning.final_{problem.where}", problem.message) from None
        tuning = dataclasses.replace(tuning, final_seeds=seeds)
    if tuning.seed in tuning.final_seeds:
        raise _Problem(
            "tuning.final_seeds",
            f"got {list(tuning.final_seeds)}; expected seeds other than the tuning seed "
            f"{tuning.seed} (the verdict comes from seeds that did not choose the settings)",
        )
    return tuning


# --- Rules across fields ---------------------------------------------------------------


def _check_coherent(spec: StudySpec) -> None:
    """The rules that tie fields together; run after parsing and after every override."""
    if spec.tuning is not None:
        _check_tuning(spec)
        return
    for i, variant in enumerate(spec.variants.values()):
        if "search_space" in variant:
            raise _Problem(
                f"variants[{i}].search_space", "a candidate's own search space needs [tuning]"
            )
    if not spec.search_space and not spec.variants:
        raise _Problem("search_space", "empty; give at least one field to sweep, or [[variants]]")
    if spec.epochs is not None and "epochs" in spec.fixed:
        raise _Problem(
            "epochs", "given both at the top level and as fixed.epochs; give it in one place"
        )
    for name in spec.search_space:
        if name in spec.fixed or (name == "epochs" and spec.epochs is not None):
            place = "[fixed]" if name in spec.fixed else "the top level"
            raise _Problem(f"search_space.{name}", f"also set in {place}; keep one")
        if any(name in v for v in spec.variants.values()):
            raise _Problem(f"search_space.{name}", "also set by a variant; keep one")
    if spec.sampler == "grid":
        for name, values in spec.search_space.items():
            if isinstance(values, Range):
                raise _Problem(
                    f"search_space.{name}",
                    "the grid sampler needs a list of values; ranges suit random, tpe, qmc",
                )
    elif spec.budget.n_trials is None:
        raise _Problem("budget.n_trials", f"missing; the {spec.sampler} sampler needs one")
    n_trials = spec.budget.n_trials
    if n_trials is not None and n_trials % len(spec.seeds):
        raise _Problem(
            "budget.n_trials",
            f"got {n_trials}; expected a multiple of the {len(spec.seeds)} seeds "
            "(every sampled recipe runs once per seed)",
        )
    # Build every recipe the spec can produce once, so a bad combination fails now.
    for variant in spec.variants or [None]:
        sampled: dict[str, Any] = {VARIANT: variant} if variant else {}
        for name, values in spec.search_space.items():
            sampled[name] = values[0] if isinstance(values, list) else values.low
        try:
            spec.recipe(sampled)
        except BenchInputError as error:
            raise _Problem(f"variant {variant!r}" if variant else "fixed", str(error)) from None


def _check_tuning(spec: StudySpec) -> None:
    """The rules of a ``[tuning]`` spec: candidates, each with a space of its own."""
    if not spec.variants:
        raise _Problem("variants", "[tuning] compares candidates; give [[variants]]")
    if spec.budget.n_trials is not None:
        raise _Problem("budget.n_trials", "not used with [tuning]; its budget is tuning.budget")
    if spec.epochs is not None and "epochs" in spec.fixed:
        raise _Problem(
            "epochs", "given both at the top level and as fixed.epochs; give it in one place"
        )
    for i, (name, variant) in enumerate(spec.variants.items()):
        space = spec.candidate_space(name)
        if not space:
            raise _Problem(
                f"variants[{i}].search_space", f"empty; candidate {name!r} searches nothing"
            )
        for knob in space:
            if knob in spec.fixed or knob in variant or (knob == "epochs" and spec.epochs):
                raise _Problem(
                    f"variants[{i}].search_space.{knob}", "also set as a fixed value; keep one"
                )
        low = {k: v[0] if isinstance(v, list) else v.low for k, v in space.items()}
        try:
            spec.recipe({VARIANT: name, **low})
        except BenchInputError as error:
            raise _Problem(f"variant {name!r}", str(error)) from None
