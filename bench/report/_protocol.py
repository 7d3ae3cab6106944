"""The fair tuning protocol in a report: how much tuning each candidate got, in words.

Under the protocol each candidate is tuned on one seed with the same budget (phase
``tune``), then its chosen settings are rerun on fresh seeds (phase ``final``). Which
trials judge and which tuned is decided in :mod:`bench.report._selection`; this module
says what the tuning phase did per candidate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

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
            seeds ran with, in words) and ``final_seeds`` (the counted ones).
        tuning_seeds: The seeds the tuning trials ran with.
        final_seeds: The final seeds the spec asks for, or those that ran.
    """

    plan: TuningPlan | None
    per_candidate: pd.DataFrame
    tuning_seeds: tuple[int, ...]
    final_seeds: tuple[int, ...]


def tuning_protocol(
    trials: pd.DataFrame, *, plan: TuningPlan | None, direction: str
) -> TuningProtocol | None:
    """What the tuning phase did per candidate; ``None`` for a study without phases.

    ``trials`` holds every trial with its ``excluded`` reason (``""`` when it counts).

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
    """
    if not has_phases(trials):
        return None
    tune = tuning_trials(trials)
    final = verdict_trials(trials)
    counted_final = counted(final)
    best = best_trial_of(counted(tune), group="candidate", direction=direction)
    best = best.set_index("candidate")
    candidates = list(dict.fromkeys([*tune["candidate"], *final["recipe_label"]]))
    rows = [
        _candidate_row(
            name,
            tune=tune[tune["candidate"] == name],
            final=final[final["recipe_label"] == name],
            counted_final=counted_final[counted_final["recipe_label"] == name],
            best=best.loc[name] if name in best.index else None,
        )
        for name in candidates
    ]
    final_seeds = plan.final_seeds if plan and plan.final_seeds else _seeds(final)
    return TuningProtocol(
        plan=plan,
        per_candidate=pd.DataFrame(rows, columns=_CANDIDATE_COLUMNS),
        tuning_seeds=_seeds(tune),
        final_seeds=final_seeds,
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
)


def _candidate_row(
    name: str,
    *,
    tune: pd.DataFrame,
    final: pd.DataFrame,
    counted_final: pd.DataFrame,
    best: pd.Series | None,
) -> tuple[Any, ...]:
    excluded = exclusion_counts(tune["excluded"])
    return (
        name,
        len(tune),
        int((tune["excluded"] == "").sum()),
        ", ".join(f"{count} {why}" for why, count in excluded.items() if count),
        " ".join(str(s) for s in _seeds(tune)),
        math.nan if best is None else float(best["value"]),
        settings_text(_chosen(final, best)),
        " ".join(str(s) for s in _seeds(counted_final)),
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
    """
    plan = protocol.plan
    table = protocol.per_candidate
    runs = dict(zip(table["candidate"], table["tuning_trials"], strict=True))
    budget = plan.budget if plan else None
    counts = set(runs.values())
    if budget is not None and counts <= {budget}:
        tuning = f"{budget} tuning trials"
    elif budget is not None:
        tuning = f"a budget of {budget} tuning trials ({_per_candidate(runs)} run so far)"
    elif len(counts) == 1:
        tuning = f"{counts.pop()} tuning trials"
    else:
        tuning = f"unequal tuning ({_per_candidate(runs)} tuning trials)"
    sampler = f" ({plan.sampler} sampler)" if plan and plan.sampler else ""
    seeds = (plan.seed,) if plan and plan.seed is not None else protocol.tuning_seeds
    final = protocol.final_seeds
    return (
        f"Tuning protocol: each candidate: {tuning}{sampler} on {_seed_words(seeds)}, then "
        f"{len(final)} final seeds ({', '.join(str(s) for s in final)}). The leaderboard and "
        "its tests use the final seeds only; the tuning trials chose the settings and are "
        "counted apart."
    )


def _per_candidate(runs: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in runs.items())


def _seed_words(seeds: Sequence[int]) -> str:
    if not seeds:
        return "no recorded seed"
    word = "seed" if len(seeds) == 1 else "seeds"
    return f"{word} {', '.join(str(s) for s in seeds)}"
