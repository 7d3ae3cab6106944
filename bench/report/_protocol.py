"""The fair tuning protocol in a report: how much tuning each candidate got, in words.

Under the protocol each candidate is tuned on one seed with the same budget (phase
``tune``), then its chosen settings are rerun on fresh seeds (phase ``final``). Which
trials judge and which tuned is decided in :mod:`bench.report._selection`; this module
says what the tuning phase did per candidate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from bench._scales import EDGE_FRACTION, edge
from bench._stored_spec import range_scale
from bench.report._labels import settings_text
from bench.report._selection import (
    best_trial_of,
    counted,
    exclusion_counts,
    has_phases,
    tuning_trials,
    verdict_trials,
)
from bench.results import TuningPlan

# Params that name the candidate rather than a knob searched for it.
_NOT_KNOBS = frozenset({"params_variant", "params_candidate"})
#: Follows a chosen value at an end of its range (see :func:`range_edges`).
EDGE_MARK = "†"


def searched_knobs(tune: pd.DataFrame) -> list[str]:
    """The knobs the tuning trials searched: their ``params_<knob>`` that hold a value.

    Example:
        >>> tune = pd.DataFrame({"params_learning_rate": [0.1, 0.01], "params_beta": [None, None]})
        >>> searched_knobs(tune)
        ['learning_rate']
    """
    return [
        c.removeprefix("params_")
        for c in tune.columns
        if c.startswith("params_") and c not in _NOT_KNOBS and tune[c].notna().any()
    ]


@dataclass(frozen=True)
class TuningProtocol:
    """How much tuning each candidate got, for the report's words and its Tuning table.

    Attributes:
        plan: The stored spec's tuning table, or ``None`` when it has none.
        per_candidate: One row per candidate: ``candidate``, ``tuning_trials`` (all),
            ``tuning_counted`` (finished and usable), ``tuning_excluded`` (the rest, in
            words), ``tuning_seeds``, ``best_objective``, ``chosen`` (the settings its final
            seeds ran with, in words, a value at an end of its range marked
            :data:`EDGE_MARK`), ``final_seeds`` (the counted ones) and ``edges`` (the
            chosen knobs at an end of their range, knob to ``"low"`` or ``"high"``).
        tuning_seeds: The seeds the tuning trials ran with.
        final_seeds: The final seeds the spec asks for, or those that ran.
        dimensions: How many fields each candidate searched (by the stored spec).
    """

    plan: TuningPlan | None
    per_candidate: pd.DataFrame
    tuning_seeds: tuple[int, ...]
    final_seeds: tuple[int, ...]
    dimensions: Mapping[str, int] = field(default_factory=dict)

    def budget_of(self, candidate: str) -> int | None:
        """The candidate's tuning budget by the spec, or ``None`` when it does not say."""
        if self.plan is None:
            return None
        return self.plan.budget_of(dimensions=self.dimensions.get(candidate, 1))


def tuning_protocol(
    trials: pd.DataFrame,
    *,
    plan: TuningPlan | None,
    direction: str,
    spaces: Mapping[str, Mapping[str, Any]] | None = None,
) -> TuningProtocol | None:
    """What the tuning phase did per candidate; ``None`` for a study without phases.

    ``trials`` holds every trial with its ``excluded`` reason (``""`` when it counts);
    ``spaces`` each candidate's search space as stored (see
    :func:`bench.results.spec_search_spaces`), which says whether a chosen value lies at
    an end of its range.

    Example:
        >>> trials = pd.DataFrame(
        ...     {
        ...         "number": [0, 1, 2, 3],
        ...         "phase": ["tune", "tune", "final", "final"],
        ...         "candidate": ["sgd"] * 4,
        ...         "recipe_label": ["sgd"] * 4,
        ...         "seed": [0, 0, 1, 2],
        ...         "value": [0.7, None, 0.8, 0.82],
        ...         "excluded": ["", "pruned", "", ""],
        ...         "params_lr": [0.1, 0.3, None, None],
        ...         "tuned_lr": [None, None, 0.1, 0.1],
        ...     }
        ... )
        >>> protocol = tuning_protocol(trials, plan=None, direction="maximize")
        >>> protocol.per_candidate[["tuning_trials", "tuning_excluded", "chosen"]]
           tuning_trials tuning_excluded  chosen
        0              2        1 pruned  lr=0.1
        >>> spaces = {"sgd": {"lr": {"low": 0.001, "high": 0.1, "log": True}}}
        >>> protocol = tuning_protocol(trials, plan=None, direction="maximize", spaces=spaces)
        >>> protocol.per_candidate.loc[0, "chosen"], protocol.per_candidate.loc[0, "edges"]
        ('lr=0.1†', {'lr': 'high'})
    """
    if not has_phases(trials):
        return None
    tune = tuning_trials(trials)
    final = verdict_trials(trials)
    counted_final = counted(final)
    best = best_trial_of(counted(tune), group="candidate", direction=direction)
    best = best.set_index("candidate")
    candidates = list(dict.fromkeys([*tune["candidate"], *final["recipe_label"]]))
    spaces = spaces or {}
    rows = [
        _candidate_row(
            name,
            tune=tune[tune["candidate"] == name],
            final=final[final["recipe_label"] == name],
            counted_final=counted_final[counted_final["recipe_label"] == name],
            best=best.loc[name] if name in best.index else None,
            space=spaces.get(name, {}),
        )
        for name in candidates
    ]
    final_seeds = plan.final_seeds if plan and plan.final_seeds else _seeds(final)
    return TuningProtocol(
        plan=plan,
        per_candidate=pd.DataFrame(rows, columns=_CANDIDATE_COLUMNS),
        tuning_seeds=_seeds(tune),
        final_seeds=final_seeds,
        dimensions={name: len(space) for name, space in spaces.items() if name},
    )


_CANDIDATE_COLUMNS = (
    "candidate",
    "tuning_trials",
    "tuning_counted",
    "tuning_excluded",
    "tuning_seeds",
    "best_objective",
    "chosen",
    "final_seeds",
    "edges",
)


def _candidate_row(
    name: str,
    *,
    tune: pd.DataFrame,
    final: pd.DataFrame,
    counted_final: pd.DataFrame,
    best: pd.Series | None,
    space: Mapping[str, Any],
) -> tuple[Any, ...]:
    excluded = exclusion_counts(tune["excluded"])
    chosen = _chosen(final, best)
    edges = range_edges(chosen, space)
    return (
        name,
        len(tune),
        int((tune["excluded"] == "").sum()),
        ", ".join(f"{count} {why}" for why, count in excluded.items() if count),
        " ".join(str(s) for s in _seeds(tune)),
        math.nan if best is None else float(best["value"]),
        ", ".join(
            settings_text({knob: value}) + (EDGE_MARK if knob in edges else "")
            for knob, value in chosen.items()
        ),
        " ".join(str(s) for s in _seeds(counted_final)),
        edges,
    )


def range_edges(chosen: Mapping[str, Any], space: Mapping[str, Any]) -> dict[str, str]:
    """The chosen knobs within :data:`~bench._scales.EDGE_FRACTION` of an end of their
    range (on the scale the range was drawn on): knob to ``"low"`` or ``"high"``.

    Example:
        >>> space = {"momentum": {"low": 0.5, "high": 0.99, "log": False, "scale": "log1m"},
        ...          "learning_rate": {"low": 1e-4, "high": 0.1, "log": True}}
        >>> range_edges({"momentum": 0.989, "learning_rate": 0.003}, space)
        {'momentum': 'high'}
        >>> range_edges({"momentum": 0.985}, space)  # near 0.99 linearly, not in log(1 - m)
        {}
        >>> range_edges({"momentum": 0.9, "learning_rate": 1.1e-4}, space)
        {'learning_rate': 'low'}
    """
    edges = {}
    for knob, value in chosen.items():
        searched = space.get(knob)
        scale = range_scale(searched)
        if scale is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        try:
            end = edge(float(value), low=searched["low"], high=searched["high"], scale=scale)
        except (TypeError, ValueError, ZeroDivisionError):  # a range stored oddly
            continue
        if end is not None:
            edges[knob] = end
    return edges


def edge_sentence(protocol: TuningProtocol) -> str:
    """One sentence on the chosen values at an end of their range (``""`` when none).

    Example:
        >>> per_candidate = pd.DataFrame({"candidate": ["sgd"], "edges": [{"lr": "high"}]})
        >>> protocol = TuningProtocol(plan=None, per_candidate=per_candidate, tuning_seeds=(0,),
        ...                           final_seeds=(1,))
        >>> for part in edge_sentence(protocol).split("; "):
        ...     print(part)
        † At an end of its range (within 5% of its width, on the scale it ...): sgd's lr (high)
        the best setting may lie beyond it, so the candidate may be limited by its range.
    """
    at_edge = [
        f"{candidate}'s {knob} ({end})"
        for candidate, edges in zip(
            protocol.per_candidate["candidate"], protocol.per_candidate["edges"], strict=True
        )
        for knob, end in (edges or {}).items()
    ]
    if not at_edge:
        return ""
    return (
        f"{EDGE_MARK} At an end of its range (within {EDGE_FRACTION:.0%} of its width, on the "
        f"scale it was drawn on): {', '.join(at_edge)}; the best setting may lie beyond it, "
        "so the candidate may be limited by its range."
    )


def _chosen(final: pd.DataFrame, best: pd.Series | None) -> dict[str, Any]:
    """The settings the final seeds reran (their ``tuned`` values), else the best tuning's."""
    tuned = [c for c in final.columns if c.startswith("tuned_") and final[c].notna().any()]
    if tuned:
        first = final[tuned].apply(lambda column: column.dropna().iloc[0])
        return {c.removeprefix("tuned_"): first[c] for c in tuned}
    if best is None:
        return {}
    params = best.filter(like="params_").dropna()
    return {k.removeprefix("params_"): v for k, v in params.items() if k not in _NOT_KNOBS}


def _seeds(trials: pd.DataFrame) -> tuple[int, ...]:
    return tuple(sorted(int(s) for s in trials["seed"].dropna().unique()))


def protocol_sentence(protocol: TuningProtocol) -> str:
    """How much tuning each candidate got and which seeds judge, in one sentence.

    Example:
        >>> per_candidate = pd.DataFrame({"candidate": ["sgd", "adam"], "tuning_trials": [20, 20]})
        >>> protocol = TuningProtocol(
        ...     plan=TuningPlan(budget=20, sampler="tpe", seed=0, final_seeds=(1, 2, 3)),
        ...     per_candidate=per_candidate, tuning_seeds=(0,), final_seeds=(1, 2, 3),
        ... )
        >>> for part in protocol_sentence(protocol).split(", then "):
        ...     print(part)
        Tuning protocol: each candidate: 20 tuning trials (tpe sampler) on seed 0
        3 final seeds (1, 2, 3). The leaderboard and its tests use the final seeds only; ...
        >>> import dataclasses
        >>> unequal = dataclasses.replace(protocol, dimensions={"sgd": 2, "adam": 1})
        >>> protocol_sentence(unequal).split(": ", 1)[1].split(" (tpe")[0]
        'each candidate: 20 tuning trials (per searched field: sgd 10, adam 20)'
        >>> plan = dataclasses.replace(unequal.plan, budget=None, budget_per_dimension=4)
        >>> per_field = dataclasses.replace(unequal, plan=plan)
        >>> print(protocol_sentence(per_field).split(": ", 1)[1].split(" (tpe")[0])
        each candidate: 4 tuning trials per searched field (sgd 8, adam 4), sgd 20, adam 20 ...
        >>> looks = dataclasses.replace(protocol.plan, second_look_seeds=(4, 5))
        >>> print(protocol_sentence(dataclasses.replace(protocol, plan=looks)).split(". ")[0][-73:])
        and, for the best and the candidates those leave undecided, 2 more (4, 5)
    """
    plan = protocol.plan
    table = protocol.per_candidate
    runs = dict(zip(table["candidate"], table["tuning_trials"], strict=True))
    budget = plan.budget if plan else None
    counts = set(runs.values())
    if plan is not None and plan.budget_per_dimension is not None:
        tuning = _per_field_budget(protocol, runs, per_field=plan.budget_per_dimension)
    elif budget is not None and counts <= {budget}:
        tuning = f"{budget} tuning trials{_per_field_words(protocol, budget)}"
    elif budget is not None:
        tuning = (
            f"a budget of {budget} tuning trials{_per_field_words(protocol, budget)} "
            f"({_per_candidate(runs)} run so far)"
        )
    elif len(counts) == 1:
        tuning = f"{counts.pop()} tuning trials"
    else:
        tuning = f"unequal tuning ({_per_candidate(runs)} tuning trials)"
    sampler = f" ({plan.sampler} sampler)" if plan and plan.sampler else ""
    seeds = (plan.seed,) if plan and plan.seed is not None else protocol.tuning_seeds
    final = protocol.final_seeds
    more = plan.second_look_seeds if plan else ()
    second = (
        f" and, for the best and the candidates those leave undecided, {len(more)} more "
        f"({', '.join(str(s) for s in more)})"
        if more
        else ""
    )
    return (
        f"Tuning protocol: each candidate: {tuning}{sampler} on {_seed_words(seeds)}, then "
        f"{len(final)} final seeds ({', '.join(str(s) for s in final)}){second}. The "
        "leaderboard and its tests use the final seeds only; the tuning trials chose the "
        "settings and are counted apart."
    )


def _per_field_budget(protocol: TuningProtocol, runs: Mapping[str, int], *, per_field: int) -> str:
    """A budget given per searched field, with what it makes per candidate."""
    budgets = {name: protocol.budget_of(name) for name in runs}
    if len(set(budgets.values())) == 1:
        count = next(iter(budgets.values()))
        fields = count // per_field
        each = f"{count} for each candidate's {fields} field{'s' if fields != 1 else ''}"
    else:
        each = _per_candidate(budgets)
    words = f"{per_field} tuning trials per searched field ({each})"
    if any(runs[name] != budgets[name] for name in runs):
        words += f", {_per_candidate(runs)} run so far"
    return words


def _per_field_words(protocol: TuningProtocol, budget: int) -> str:
    """`` (N per searched field)`` for a budget per candidate, when the spaces are known."""
    dimensions = {
        name: protocol.dimensions[name]
        for name in protocol.per_candidate["candidate"]
        if protocol.dimensions.get(name)
    }
    if not dimensions:
        return ""
    per_field = {name: budget / count for name, count in dimensions.items()}
    if len(set(per_field.values())) == 1:
        return f" ({next(iter(per_field.values())):.3g} per searched field)"
    listed = ", ".join(f"{name} {value:.3g}" for name, value in per_field.items())
    return f" (per searched field: {listed})"


def _per_candidate(runs: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in runs.items())


def _seed_words(seeds: Sequence[int]) -> str:
    if not seeds:
        return "no recorded seed"
    word = "seed" if len(seeds) == 1 else "seeds"
    return f"{word} {', '.join(str(s) for s in seeds)}"
