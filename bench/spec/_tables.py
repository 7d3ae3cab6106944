"""The spec's dataclasses: one per TOML table, frozen, with their defaults and limits.

Each TOML table has a dataclass that mirrors it (:class:`WorkloadSpec`,
:class:`ObjectiveSpec`, :class:`BudgetSpec`, :class:`TuningSpec`), and
:class:`StudySpec` holds them with the top-level fields. The fields are the declaration
(:func:`bench.recipe.knob_field`): the keys a spec may use, their defaults and valid
values, and :meth:`StudySpec.to_dict` all derive from them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench._schema import SEED, VARIANT
from bench.errors import BenchInputError
from bench.recipe import Recipe, knob_by_name, knob_field
from bench.spec._fields import (
    Range,
    SpecProblem,
    check_scalar,
    replace_checked,
)
from bench.spec._rules import check_coherent
from bench.workload import DEFAULT_DATASET, DEFAULT_PRESET, PRESETS, WORKLOAD_OPTIONS

if TYPE_CHECKING:
    from bench.workload import Workload

SAMPLERS = ("grid", "random", "tpe", "qmc")
PRUNERS = ("none", "median", "hyperband")
OBJECTIVE_METRICS = ("val_auc", "val_accuracy", "val_loss")
DIRECTIONS = ("maximize", "minimize")
#: How a study without ``[tuning]`` stores its trials, hashed with its spec: since the
#: seed became a user attribute (no longer an Optuna param) such a study stored before is
#: never resumed with the new layout, but versioned as ``NAME-v2`` and left as it is.
SEED_LAYOUT = "seed-user-attr"


@dataclass(frozen=True, kw_only=True)
class WorkloadSpec:
    """The ``[workload]`` table: the data, splits and ViT preset every trial shares.

    Example:
        >>> WorkloadSpec(train_size=200).to_dict()
        {'dataset': 'digits', 'preset': 'tiny', 'train_size': 200, 'split_seed': 0}
    """

    dataset: str = knob_field(DEFAULT_DATASET, "digits, digits10, folder:PATH or npz:PATH")
    preset: str = knob_field(DEFAULT_PRESET, "size of the shared ViT", choices=tuple(PRESETS))
    train_size: int | None = knob_field(
        None,
        "training images (a stratified subset)",
        workload_option=WORKLOAD_OPTIONS["train_size"],
    )
    split_seed: int = knob_field(
        0, "seed of the train/val/test split", workload_option=WORKLOAD_OPTIONS["split_seed"]
    )
    label_noise: float = knob_field(
        0.0,
        "fraction of training labels flipped to another class",
        workload_option=WORKLOAD_OPTIONS["label_noise"],
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

    metric: str = knob_field(
        "val_auc", "validation metric of the kept weights", choices=OBJECTIVE_METRICS
    )
    direction: str = knob_field("maximize", "optimization direction", choices=DIRECTIONS)

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
        {'n_trials': 8, 'timeout': None, 'retries': 2}
    """

    n_trials: int | None = knob_field(None, "trials to finish in all", low=1)
    timeout: float | None = knob_field(
        None, "seconds after which no new trial starts", low=0.0, low_open=True
    )
    retries: int = knob_field(
        2, "times a trial whose worker died or raised is run again, across runs", low=0, high=100
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

    The draws are seeded by ``sampler_seed`` (default: derived from the rest of the spec),
    so two runs of one spec draw the same settings; with ``qmc`` (scrambled Halton) and
    ``random`` a tuning trial's draw depends only on its slot (candidate and index).

    With ``confirm`` > 0, a candidate's ``confirm`` best draws are rerun on
    ``confirm_seed`` before it chooses, and it chooses among them by the worse of their two
    seeds: settings that hold beyond the one seed that found them.

    With ``budget_per_dimension`` instead of ``budget``, a candidate's budget is that many
    trials per field it searches: the same density of draws for a 1-D and a 3-D space.

    With ``defaults_arm``, phase ``defaults`` trains each candidate at its fixed knobs and
    every searched knob at its declared default (no tuning) once per final seed, once
    every candidate's tuning is done, so the report can say whether tuning changed the
    ranking: ``len(final_seeds)`` more trials per candidate.

    With ``second_look_seeds``, the verdict looks twice: first on the final seeds, then
    the best and every candidate that first look leaves in the top group also rerun on
    these seeds and are judged again on all of theirs (a candidate is worse when either
    look marks it, each look at half the report's level): seeds are spent where a verdict
    is undecided. At most ``len(second_look_seeds)`` more trials per candidate.

    Example:
        >>> TuningSpec(budget=6, final_seeds=(1, 2, 3)).to_dict()
        {'budget': 6, 'sampler': 'qmc', 'seed': 0, 'final_seeds': [1, 2, 3], 'sampler_seed': None}
        >>> TuningSpec(budget=6, final_seeds=(1, 2, 3), confirm=2).rerun_seed
        4
        >>> per_dimension = TuningSpec(budget=None, budget_per_dimension=4)
        >>> per_dimension.candidate_budget(dimensions=2)
        8
        >>> TuningSpec().candidate_budget(dimensions=2)
        6
    """

    budget: int | None = knob_field(6, "tuning trials per candidate", low=1, high=10000)
    budget_per_dimension: int | None = knob_field(
        None,
        "tuning trials per searched field of a candidate (instead of budget)",
        low=1,
        high=10000,
        omit_default=True,
    )
    sampler: str = knob_field("qmc", "sampler of the tuning phase", choices=TUNING_SAMPLERS)
    seed: int = knob_field(0, "the seed every tuning trial trains with", low=0)
    final_seeds: tuple[int, ...] = (1, 2, 3)
    second_look_seeds: tuple[int, ...] = ()
    sampler_seed: int | None = knob_field(
        None, "seed of the tuning draws (default: derived from the spec)", low=0, high=2**32 - 1
    )
    confirm: int = knob_field(
        0, "best draws per candidate rerun on the confirm seed (0: none)", low=0, high=10000
    )
    confirm_seed: int | None = knob_field(
        None, "the seed the best draws are rerun on (default: one past every other seed)", low=0
    )
    defaults_arm: bool = knob_field(
        False,
        "also train each candidate untuned, at its knobs' defaults, on every final seed",
        omit_default=True,
    )

    def candidate_budget(self, *, dimensions: int) -> int:
        """The tuning trials of a candidate that searches ``dimensions`` fields."""
        if self.budget_per_dimension is not None:
            return self.budget_per_dimension * max(1, dimensions)
        assert self.budget is not None
        return self.budget

    @property
    def rerun_seed(self) -> int:
        """The seed the ``confirm`` best draws are rerun on."""
        if self.confirm_seed is not None:
            return self.confirm_seed
        return max(self.seed, *self.final_seeds, *self.second_look_seeds) + 1

    def to_dict(self) -> dict[str, Any]:
        values = {
            **dataclasses.asdict(self),
            "final_seeds": list(self.final_seeds),
            "second_look_seeds": list(self.second_look_seeds),
        }
        if not self.second_look_seeds:  # as stored before the second look: the same hash
            del values["second_look_seeds"]
        if self.budget_per_dimension is None:  # as stored before it existed: the same hash
            del values["budget_per_dimension"]
        if not self.confirm:  # as stored before confirmation existed: the same hash
            del values["confirm"], values["confirm_seed"]
        if not self.defaults_arm:  # as stored before the arm existed: the same hash
            del values["defaults_arm"]
        else:
            values["confirm_seed"] = self.rerun_seed  # what ran, for the report to say
        return values


@dataclass(frozen=True, kw_only=True)
class StudySpec:
    """A validated study spec; build one with :func:`load_spec` or :func:`parse_spec`.

    Example:
        >>> from bench.spec import load_spec
        >>> spec = load_spec("optimizers-fixed")
        >>> spec.sampler, spec.objective.metric, len(spec.variants)
        ('grid', 'val_auc', 8)
    """

    name: str
    description: str
    workload: WorkloadSpec = field(default_factory=WorkloadSpec)
    objective: ObjectiveSpec = field(default_factory=ObjectiveSpec)
    sampler: str = knob_field("grid", "Optuna sampler", choices=SAMPLERS)
    pruner: str = knob_field("none", "Optuna pruner", choices=PRUNERS)
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
        candidate's tuning budget, confirmations, final seeds and defaults arm under
        ``[tuning]``."""
        if self.tuning is not None:
            tuning = self.tuning
            arms = 2 if tuning.defaults_arm else 1
            # The second look's seeds count as if every candidate ran them: the most the
            # study can run until its first look is judged.
            seeded = arms * len(tuning.final_seeds) + len(tuning.second_look_seeds)
            per_candidate = tuning.confirm + seeded
            return sum(per_candidate + self.candidate_budget(c) for c in self.variants)
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

    def tuning_sampler_seed(self) -> int:
        """The seed of the tuning draws: the spec's ``sampler_seed``, else one derived from
        the spec's content, so that two runs of one spec draw the same settings.

        Example:
            >>> from bench.spec import load_spec
            >>> spec = load_spec("optimizers")
            >>> spec.tuning_sampler_seed() == load_spec("optimizers").tuning_sampler_seed()
            True
        """
        if self.tuning is not None and self.tuning.sampler_seed is not None:
            return self.tuning.sampler_seed
        return int(self.content_hash()[:8], 16)

    def candidate_budget(self, candidate: str) -> int:
        """A ``[tuning]`` candidate's tuning trials (its draws on the tuning seed).

        Example:
            >>> from bench.spec import load_spec
            >>> spec = load_spec("optimizers")
            >>> spec.candidate_budget("sgd") == spec.tuning.budget_per_dimension * 2
            True
        """
        assert self.tuning is not None
        return self.tuning.candidate_budget(dimensions=len(self.candidate_space(candidate)))

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
            >>> from bench.spec import load_spec
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
        retries: int | None = None,
    ) -> StudySpec:
        """A copy with the command line's overrides applied, then checked whole again.

        Every override passes through here; an error names the flag (``--n-trials``...).

        Example:
            >>> from bench.spec import load_spec
            >>> spec = load_spec("optimizers-fixed")
            >>> spec.with_overrides(epochs=2).epochs
            2
            >>> spec.with_overrides(n_trials=4)
            Traceback (most recent call last):
            ...
            bench.errors.BenchInputError: --n-trials: got 4; expected a multiple of the 5 seeds ...
        """
        flags: dict[str, str] = {}
        changes: dict[str, Any] = {}
        try:
            if epochs is not None:
                flags.update(epochs="--epochs", **{"fixed.epochs": "--epochs"})
                changes.update(self._epochs_override(epochs))
            if dataset is not None:
                flags["workload.dataset"] = "--dataset"
                changes["workload"] = replace_checked(self.workload, "workload", dataset=dataset)
            if n_trials is not None or timeout is not None or retries is not None:
                given = {"n_trials": n_trials, "timeout": timeout, "retries": retries}
                given = {k: v for k, v in given.items() if v is not None}
                flags.update({f"budget.{k}": "--" + k.replace("_", "-") for k in given})
                changes["budget"] = replace_checked(self.budget, "budget", **given)
            changed = dataclasses.replace(self, **changes)
            check_coherent(changed)
        except SpecProblem as problem:
            where = flags.get(problem.where, f"{self.source}: {problem.where}")
            raise BenchInputError(f"{where}: {problem.message}") from None
        return changed

    def _epochs_override(self, epochs: int) -> dict[str, Any]:
        checked = check_scalar(knob_by_name("epochs"), epochs, "epochs")
        if "epochs" in self.search_space:
            raise SpecProblem("epochs", "the spec searches epochs (search_space.epochs); drop it")
        if any("epochs" in v for v in self.variants.values()):
            raise SpecProblem("epochs", "the spec's variants set their own epochs; drop it")
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
