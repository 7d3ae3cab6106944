"""A study spec as stored with its study, read leniently: a report describes what was
stored, by this version or an earlier one, so values of the wrong type read as unknown
rather than fail. (A spec being run is parsed strictly by :mod:`bench.spec`.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def spec_seeds(spec: Mapping[str, Any]) -> tuple[int, ...]:
    """The seeds a stored spec runs every recipe with; ``()`` when it names none.

    Example:
        >>> spec_seeds({"seeds": [0, 1, 2]}), spec_seeds({})
        ((0, 1, 2), ())
    """
    seeds = spec.get("seeds")
    if not isinstance(seeds, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in seeds
    ):
        return ()
    return tuple(seeds)


@dataclass(frozen=True)
class StoredObjective:
    """A stored spec's ``[objective]``: the metric Optuna optimized and its direction, each
    ``None`` when the spec does not say (or says something else than a valid value).

    Example:
        >>> spec_objective({"objective": {"metric": "val_auc", "direction": "maximize"}})
        StoredObjective(metric='val_auc', direction='maximize')
        >>> spec_objective({"objective": {"direction": "up"}})
        StoredObjective(metric=None, direction=None)
    """

    metric: str | None
    direction: str | None


def spec_objective(spec: Mapping[str, Any]) -> StoredObjective:
    """The objective of a stored spec, read leniently (see :class:`StoredObjective`)."""
    objective = spec.get("objective")
    if not isinstance(objective, Mapping):
        return StoredObjective(metric=None, direction=None)
    metric, direction = objective.get("metric"), objective.get("direction")
    return StoredObjective(
        metric=metric if isinstance(metric, str) and metric else None,
        direction=direction if direction in ("maximize", "minimize") else None,
    )


@dataclass(frozen=True)
class TuningPlan:
    """A spec's tuning protocol: each candidate's equal tuning budget, then final seeds.

    Attributes:
        budget: Tuning trials per candidate, or ``None`` when the spec does not say.
        sampler: The sampler of the tuning phase (``""`` when not said).
        seed: The seed every tuning trial trains with, or ``None``.
        final_seeds: The fresh seeds the chosen settings are rerun with.
        confirm: How many best draws per candidate were rerun on ``confirm_seed`` before
            it chose (0: it chose by the tuning seed alone).
        confirm_seed: The seed of those reruns, or ``None``.
        budget_per_dimension: Tuning trials per searched field of a candidate, when the
            spec gives its budget that way (``budget`` is then ``None``).
        defaults_arm: Whether each candidate also trained untuned, at its knobs'
            defaults, on the final seeds (phase ``defaults``).
        sampler_seed: The seed of the tuning sampler's draws; ``None`` when they were
            seeded from the spec (or, where ``sampler_seed_recorded`` is false, stored
            before draws were seeded at all).
        sampler_seed_recorded: Whether the stored spec says how its draws were seeded.
        second_look_seeds: The seeds the second look adds for the best and the candidates
            its first look (on ``final_seeds``) left in the top group (``()``: one look).

    Example:
        >>> plan = spec_tuning({"tuning": {"budget": 20, "sampler": "tpe", "seed": 0,
        ...                                "final_seeds": [1, 2, 3]}})
        >>> plan.budget, plan.final_seeds
        (20, (1, 2, 3))
        >>> plan = spec_tuning({"tuning": {"budget_per_dimension": 4}})
        >>> plan.budget_of(dimensions=2), plan.budget
        (8, None)
    """

    budget: int | None
    sampler: str
    seed: int | None
    final_seeds: tuple[int, ...]
    confirm: int = 0
    confirm_seed: int | None = None
    budget_per_dimension: int | None = None
    defaults_arm: bool = False
    sampler_seed: int | None = None
    sampler_seed_recorded: bool = False
    second_look_seeds: tuple[int, ...] = ()

    def budget_of(self, *, dimensions: int) -> int | None:
        """The tuning trials of a candidate that searches ``dimensions`` fields, or
        ``None`` when the spec does not say."""
        if self.budget_per_dimension is not None:
            return self.budget_per_dimension * max(1, dimensions)
        return self.budget


def spec_tuning(spec: Mapping[str, Any]) -> TuningPlan | None:
    """The ``tuning`` table of a stored spec, or ``None`` when it has none.

    Values of the wrong type read as unknown (``None``, ``""``, ``()``) rather than fail:
    a report describes what was stored.

    Example:
        >>> spec_tuning({}) is None
        True
        >>> spec_tuning({"tuning": {"budget": "many", "final_seeds": [1, 2]}})
        TuningPlan(budget=None, sampler='', seed=None, final_seeds=(1, 2), confirm=0,
                   confirm_seed=None, budget_per_dimension=None, defaults_arm=False,
                   sampler_seed=None, sampler_seed_recorded=False, second_look_seeds=())
    """
    table = spec.get("tuning")
    if not isinstance(table, Mapping):
        return None
    sampler = table.get("sampler")
    per_dimension = table.get("budget_per_dimension")
    return TuningPlan(
        budget=table["budget"] if _is_int(table.get("budget")) else None,
        sampler=sampler if isinstance(sampler, str) else "",
        seed=table["seed"] if _is_int(table.get("seed")) else None,
        final_seeds=spec_seeds({"seeds": table.get("final_seeds")}),
        confirm=table["confirm"] if _is_int(table.get("confirm")) else 0,
        confirm_seed=table["confirm_seed"] if _is_int(table.get("confirm_seed")) else None,
        budget_per_dimension=per_dimension if _is_int(per_dimension) else None,
        defaults_arm=table.get("defaults_arm") is True,
        sampler_seed=table["sampler_seed"] if _is_int(table.get("sampler_seed")) else None,
        sampler_seed_recorded="sampler_seed" in table,
        second_look_seeds=spec_seeds({"seeds": table.get("second_look_seeds")}),
    )


def spec_shared_space(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The ``search_space`` every recipe of a stored spec shares, by knob (``{}`` when it
    has none or stores something else).

    Example:
        >>> spec_shared_space({"search_space": {"l2": [0.0, 0.1]}}), spec_shared_space({})
        ({'l2': [0.0, 0.1]}, {})
    """
    shared = spec.get("search_space")
    return dict(shared) if isinstance(shared, Mapping) else {}


def spec_variants(spec: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """A stored spec's variants, by name, each its fixed fields and its own
    ``search_space`` (``{}`` when it has none; a variant stored as something else than a
    table is left out).

    Example:
        >>> spec_variants({"variants": {"sgd": {"optimizer": "sgd"}, "odd": 3}})
        {'sgd': {'optimizer': 'sgd'}}
    """
    variants = spec.get("variants")
    if not isinstance(variants, Mapping):
        return {}
    return {str(name): fields for name, fields in variants.items() if isinstance(fields, Mapping)}


def spec_search_spaces(spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each candidate's search space, by variant name: the spec's shared ``search_space``
    overlaid with the variant's own.

    A knob's space is a list of values or a range ``{"low", "high", "log"}``. The
    shared space alone is returned under ``""`` when the spec has no variants.

    Example:
        >>> spec = {
        ...     "search_space": {"weight_decay": [0.0, 0.01]},
        ...     "variants": {
        ...         "sgd": {"optimizer": "sgd",
        ...                 "search_space": {"learning_rate": {"low": 1e-3, "high": 1.0,
        ...                                                    "log": True}}},
        ...         "adam": {"optimizer": "adam"},
        ...     },
        ... }
        >>> {name: sorted(space) for name, space in spec_search_spaces(spec).items()}
        {'sgd': ['learning_rate', 'weight_decay'], 'adam': ['weight_decay']}
    """
    shared = spec_shared_space(spec)
    variants = spec_variants(spec)
    if not variants:
        return {"": shared} if shared else {}
    spaces = {}
    for name, fields in variants.items():
        own = fields.get("search_space")
        spaces[name] = {**shared, **(own if isinstance(own, Mapping) else {})}
    return spaces


def spec_named_recipes(spec: Mapping[str, Any]) -> list[str]:
    """The recipe labels a stored spec names before any trial runs: every candidate of a
    tuning protocol, otherwise each variant that searches nothing (its label is its name).
    A swept recipe is labelled by its drawn values, known only once drawn.

    Example:
        >>> variants = {"adam": {}, "sgd": {"search_space": {"momentum": [0.5, 0.9]}}}
        >>> spec_named_recipes({"variants": variants})
        ['adam']
        >>> spec_named_recipes({"tuning": {"budget": 2}, "variants": variants})
        ['adam', 'sgd']
    """
    if spec_tuning(spec) is not None:
        return list(spec_variants(spec))
    return [name for name, space in spec_search_spaces(spec).items() if name and not space]


def candidate_budgets(spec: Mapping[str, Any]) -> dict[str, int]:
    """Each candidate's tuning budget by a stored spec (``{}`` when it has no protocol or
    does not say): ``budget``, or ``budget_per_dimension`` times the fields it searches.

    Example:
        >>> spec = {"tuning": {"budget_per_dimension": 3},
        ...         "variants": {"sgd": {"search_space": {"learning_rate": {}, "momentum": {}}},
        ...                      "adam": {"search_space": {"learning_rate": {}}}}}
        >>> candidate_budgets(spec)
        {'sgd': 6, 'adam': 3}
    """
    plan = spec_tuning(spec)
    if plan is None:
        return {}
    budgets = {
        name: plan.budget_of(dimensions=len(space))
        for name, space in spec_search_spaces(spec).items()
        if name
    }
    return {name: budget for name, budget in budgets.items() if budget is not None}


def range_scale(space: Any) -> str | None:
    """The scale a stored range was drawn on (``linear``, ``log``, ``log1m``); ``None``
    for a list of values or anything else.

    Example:
        >>> range_scale({"low": 0.5, "high": 0.99, "log": False, "scale": "log1m"})
        'log1m'
        >>> range_scale({"low": 1e-4, "high": 0.1, "log": True}), range_scale([0.1, 0.2])
        ('log', None)
    """
    if not isinstance(space, Mapping) or "low" not in space or "high" not in space:
        return None
    scale = space.get("scale")
    if isinstance(scale, str):
        return scale
    return "log" if space.get("log") else "linear"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
