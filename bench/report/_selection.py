"""Which trials a report uses: excluded ones and why, verdict trials, tuning trials, the best.

Every other report module takes its trials from here, so the rules live in one place:

* A trial is *excluded* (``excluded`` names why; ``""`` when it counts) when it was
  pruned, failed, diverged, is still running, or completed without metrics.
* *Verdict* trials are those leaderboards and tests come from: all trials, or under the
  fair tuning protocol (phase ``tune``, then ``final``) only the final-phase ones, each
  labelled by its candidate.
* *Tuning* trials are the tune-phase ones, with their ``candidate``; counted and drawn
  (the sensitivity figure), never averaged into a verdict.
* *Defaults* trials are the defaults arm's (phase ``defaults``), labelled by candidate
  like verdict trials; they give the arm's own ranking, never the leaderboard's.
* A group's *best* trial is chosen by the study objective (never by test AUC).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import pandas as pd
from optuna.trial import TrialState

from bench._ranking import rank_key
from bench._schema import CRASHED, DIVERGED, DUPLICATE, PRUNED
from bench.results import DEFAULTS, FINAL, TUNE

# Why a trial is left out of the numbers. Pruned and diverged are the stop reasons of the
# same name; the others come from the trial's Optuna state or its missing metrics.
FAILED: Final = "failed"
RUNNING: Final = "running"
#: Queued (Optuna's WAITING) and not started: the rest of an interrupted run, or the
#: trials a ``--n-trials`` limit left for the next run.
QUEUED: Final = "queued"
INCOMPLETE: Final = "incomplete"
#: Excluded trials, by why, in the order a reader meets them.
EXCLUSION_REASONS: tuple[str, ...] = (
    PRUNED,
    FAILED,
    DIVERGED,
    CRASHED,
    RUNNING,
    QUEUED,
    INCOMPLETE,
    DUPLICATE,
)
#: Why a seed the spec asks for has no trial that counts, when no trial of it ran.
NOT_RUN: Final = "not run yet"
#: Why a candidate's final seeds never run: its every tuning trial failed.
NO_SETTINGS: Final = "no usable tuning trial"
#: How a seed can end that counts in its recipe's verdict as a failure, scored as chance:
#: leaving it out would favour recipes that are unstable on some seeds.
FAILURE_ENDINGS: tuple[str, ...] = (PRUNED, DIVERGED, CRASHED, NO_SETTINGS)
#: A failed seed's score per metric: chance for AUC; the majority-class rate of the
#: split for accuracy (from the stored workload; NaN where it is not stored).
CHANCE_AUC = 0.5

__all__ = [
    "DIVERGED",
    "EXCLUSION_REASONS",
    "FAILED",
    "FAILURE_ENDINGS",
    "INCOMPLETE",
    "NOT_RUN",
    "NO_SETTINGS",
    "PRUNED",
    "QUEUED",
    "RUNNING",
    "TrialCounts",
    "TrialSelection",
    "best_trial_of",
    "counted",
    "defaults_trials",
    "exclusion_counts",
    "exclusion_reasons",
    "has_phases",
    "missing_seeds",
    "select_trials",
    "trial_counts",
    "tuning_trials",
    "verdict_trials",
    "unusable_candidates",
]

# A COMPLETE trial without any of these stored no result worth averaging.
_RESULT_METRICS = ("test_auc", "test_accuracy", "val_auc", "val_accuracy")


def exclusion_reasons(trials: pd.DataFrame) -> pd.Series:
    """Why each trial is left out of every mean (``""`` for the trials that count).

    Diverged trials are excluded whatever their state; a COMPLETE trial without test or
    validation metrics is an ``incomplete`` record rather than a silent NaN in a mean.

    Example:
        >>> metrics = {m: [0.9, 0.5, 0.6, None] for m in _RESULT_METRICS}
        >>> trials = pd.DataFrame(
        ...     {
        ...         "state": ["COMPLETE", "COMPLETE", "PRUNED", "FAIL"],
        ...         "stop_reason": ["completed", "diverged", "pruned", None],
        ...         **metrics,
        ...     }
        ... )
        >>> exclusion_reasons(trials).tolist()
        ['', 'diverged', 'pruned', 'failed']
    """
    state = trials["state"]
    reason = pd.Series("", index=trials.index, dtype=object)
    no_metrics = trials[list(_RESULT_METRICS)].isna().all(axis=1)
    reason[(state == TrialState.COMPLETE.name) & no_metrics] = INCOMPLETE
    reason[state == TrialState.RUNNING.name] = RUNNING
    reason[state == TrialState.WAITING.name] = QUEUED
    reason[state == TrialState.FAIL.name] = FAILED
    reason[state == TrialState.PRUNED.name] = PRUNED
    # The study's own endings: a cell that crashed its worker on every attempt, and an
    # attempt refused because another worker had taken its cell (it never was a run).
    for ending in (DIVERGED, CRASHED, DUPLICATE):
        reason[trials["stop_reason"] == ending] = ending
    return reason


def exclusion_counts(reasons: pd.Series) -> dict[str, int]:
    """Counts of excluded trials per reason, every reason present (zero when none).

    Example:
        >>> exclusion_counts(pd.Series(["", "pruned", "pruned"]))["pruned"]
        2
    """
    counts: Mapping[str, int] = reasons[reasons != ""].value_counts().to_dict()
    return {reason: int(counts.get(reason, 0)) for reason in EXCLUSION_REASONS}


def counted(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials that count: those whose ``excluded`` reason is empty.

    Example:
        >>> trials = pd.DataFrame({"number": [0, 1], "excluded": ["", "failed"]})
        >>> counted(trials)["number"].tolist()
        [0]
    """
    return trials[trials["excluded"] == ""]


def has_phases(trials: pd.DataFrame) -> bool:
    """Whether the trials were run under a tuning protocol (some carry a ``phase``).

    Example:
        >>> has_phases(pd.DataFrame({"phase": ["tune", "final"]})), has_phases(pd.DataFrame())
        (True, False)
    """
    return "phase" in trials.columns and bool(trials["phase"].notna().any())


def verdict_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials verdicts come from: all of them, or only the final phase by candidate.

    Under a tuning protocol ``recipe_label`` becomes the trial's ``candidate`` (its stored
    label where it names none), so every per-recipe number is per candidate, and the
    ``params_*`` columns are dropped: a final trial's settings are its ``tuned_*`` values
    (studies stored by earlier versions hold no params on final trials at all).

    Example:
        >>> trials = pd.DataFrame(
        ...     {
        ...         "number": [0, 1, 2],
        ...         "phase": ["tune", "final", "final"],
        ...         "candidate": ["sgd", "sgd", "sgd"],
        ...         "recipe_label": ["sgd lr=0.1", "sgd lr=0.01", "sgd lr=0.01"],
        ...         "params_lr": [0.1, None, None],
        ...     }
        ... )
        >>> verdict_trials(trials)
           number  phase candidate recipe_label
        1       1  final       sgd          sgd
        2       2  final       sgd          sgd
    """
    if not has_phases(trials):
        return trials
    return _by_candidate(trials[trials["phase"] == FINAL])


def defaults_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The defaults arm's trials, labelled by candidate like :func:`verdict_trials`
    (empty without a protocol or without the arm).

    Example:
        >>> trials = pd.DataFrame(
        ...     {"number": [0, 1], "phase": ["final", "defaults"], "candidate": ["sgd", "sgd"],
        ...      "recipe_label": ["sgd", "sgd (defaults: lr=0.01)"]}
        ... )
        >>> defaults_trials(trials)
           number     phase candidate recipe_label
        1       1  defaults       sgd          sgd
    """
    if not has_phases(trials):
        return trials.iloc[:0]
    return _by_candidate(trials[trials["phase"] == DEFAULTS])


def _by_candidate(trials: pd.DataFrame) -> pd.DataFrame:
    if "candidate" in trials.columns:
        trials = trials.assign(recipe_label=trials["candidate"].fillna(trials["recipe_label"]))
    return trials.drop(columns=[c for c in trials.columns if c.startswith("params_")])


def tuning_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The tune-phase trials, with ``candidate`` filled (empty without a protocol).

    Example:
        >>> trials = pd.DataFrame(
        ...     {"phase": ["tune", "final"], "candidate": [None, "sgd"],
        ...      "recipe_label": ["adam lr=0.1", "sgd"]}
        ... )
        >>> tuning_trials(trials)["candidate"].tolist()
        ['adam lr=0.1']
    """
    if not has_phases(trials):
        return trials.iloc[:0].assign(candidate=pd.Series(dtype=object))
    tune = trials[trials["phase"] == TUNE]
    candidate = tune["candidate"] if "candidate" in tune.columns else tune["recipe_label"]
    return tune.assign(candidate=candidate.fillna(tune["recipe_label"]))


def best_trial_of(trials: pd.DataFrame, *, group: str, direction: str) -> pd.DataFrame:
    """Each ``group``'s best trial by the study objective (``value``), in trial order.

    The one rule for "best" in a report: the objective (validation data), never test AUC,
    which would flatter the choice; ties go to the lower trial number; a trial without
    an objective value is never best. ``group`` is ``recipe_label`` for a recipe's best
    seed, ``candidate`` for the tuning trial a candidate chose.

    Example:
        >>> trials = pd.DataFrame(
        ...     {"number": [0, 1, 2, 3], "recipe_label": ["adam", "adam", "sgd", "sgd"],
        ...      "value": [0.80, 0.90, 0.70, None]}
        ... )
        >>> best_trial_of(trials, group="recipe_label", direction="maximize")
           number recipe_label  value
        1       1         adam    0.9
        2       2          sgd    0.7
    """
    valued = trials.dropna(subset=["value"])
    keys = [
        rank_key(value, number, direction=direction)
        for value, number in zip(valued["value"], valued["number"], strict=True)
    ]
    ordered = valued.iloc[sorted(range(len(valued)), key=keys.__getitem__)]
    return ordered.drop_duplicates(group).sort_values("number")


def chosen_tuning_trials(
    tuning: pd.DataFrame, summary: pd.DataFrame, *, direction: str
) -> pd.DataFrame:
    """Each candidate's tuning trial at the settings its final seeds reran (the summary's
    ``tuned_*`` values), the earliest where a rerun on the confirm seed shares them; its
    best tuning trial (:func:`best_trial_of`) where no final seed has run.

    Under ``confirm`` the chosen draw need not be the best single tuning trial.

    Example:
        >>> tuning = pd.DataFrame({"number": [0, 1, 2], "candidate": ["sgd"] * 3,
        ...                        "value": [0.9, 0.8, 0.85], "params_lr": [0.1, 0.01, 0.01]})
        >>> summary = pd.DataFrame({"recipe_label": ["sgd"], "tuned_lr": [0.01]})
        >>> chosen_tuning_trials(tuning, summary, direction="maximize")["number"].tolist()
        [1]
    """
    best = best_trial_of(tuning, group="candidate", direction=direction)
    tuned = [c for c in summary.columns if c.startswith("tuned_")]
    picks = []
    for candidate, fallback in best.groupby("candidate", sort=False):
        rows = summary.loc[summary["recipe_label"] == candidate, tuned]
        settings = rows.iloc[0].dropna() if len(rows) else pd.Series(dtype=object)
        same = tuning[tuning["candidate"] == candidate].dropna(subset=["value"])
        for column, value in settings.items():
            knob = f"params_{column.removeprefix('tuned_')}"
            held = same[knob] if knob in same.columns else pd.Series(index=same.index)
            same = same[held.map(lambda v, want=value: _same_setting(v, want))]
        picks.append(same.head(1) if len(settings) and len(same) else fallback)
    if not picks:
        return best
    return pd.concat(picks).sort_values("number")


def _same_setting(have: object, want: object) -> bool:
    if isinstance(have, float) and isinstance(want, float):
        return abs(have - want) <= 1e-9 * max(abs(have), abs(want))
    return have == want


def missing_seeds(
    trials: pd.DataFrame,
    *,
    seeds: Sequence[int],
    recipes: Sequence[str] = (),
    unusable: Collection[str] = (),
) -> pd.DataFrame:
    """The ``seeds`` each recipe has no trial that counts for, and why.

    ``trials`` holds every trial with the ``excluded`` column of :func:`exclusion_reasons`;
    ``recipes`` names recipes expected even without a trial among them (a tuned candidate
    whose final seeds have not run). Returns one row per recipe and missing seed
    (``recipe_label``, ``seed``, ``why``), recipes in the order of their first trial, then
    the other ``recipes``. ``why`` is the exclusion reason of the
    seed's latest trial (a retried seed says how the retry went), or ``not run yet`` when
    the seed has no trial or only a queued one (``no usable tuning trial`` for the
    ``unusable`` candidates, whose seeds never will run).

    Example:
        >>> trials = pd.DataFrame(
        ...     {
        ...         "number": [0, 1, 2, 3],
        ...         "state": ["COMPLETE", "FAIL", "COMPLETE", "WAITING"],
        ...         "recipe_label": ["adam", "adam", "sgd", "sgd"],
        ...         "seed": [0, 1, 0, 1],
        ...         "excluded": ["", "failed", "diverged", "queued"],
        ...     }
        ... )
        >>> missing_seeds(trials, seeds=[0, 1])
          recipe_label  seed          why
        0         adam     1       failed
        1          sgd     0     diverged
        2          sgd     1  not run yet
    """
    attempts = trials[trials["excluded"] != DUPLICATE].sort_values("number")
    why = attempts["excluded"].where(attempts["state"] != TrialState.WAITING.name, NOT_RUN)
    done: set[tuple[str, int]] = set()
    latest: dict[tuple[str, int], str] = {}
    for label, seed, reason in zip(attempts["recipe_label"], attempts["seed"], why, strict=True):
        if pd.isna(seed):
            continue
        key = (label, int(seed))
        if reason == "":
            done.add(key)
        latest[key] = reason
    labels = dict.fromkeys([*attempts["recipe_label"], *recipes])
    never = {label: NO_SETTINGS if label in unusable else NOT_RUN for label in labels}
    rows = [
        (label, seed, latest.get((label, seed), never[label]))
        for label in labels
        for seed in seeds
        if (label, seed) not in done
    ]
    return pd.DataFrame(rows, columns=["recipe_label", "seed", "why"])


@dataclass(frozen=True)
class TrialSelection:
    """A study's trials sorted by the part each plays in the report.

    Attributes:
        trials: Every trial, with ``excluded`` (``""`` when it counts).
        judged: The trials verdicts come from (see :func:`verdict_trials`), excluded
            ones included.
        included: The judged trials that count: what every number is computed from.
        tuning: The tune-phase trials with ``candidate`` (empty without a protocol).
        tuning_counted: The tuning trials that count.
        tuning_failed: The tuning trials that ended in one of :data:`FAILURE_ENDINGS`:
            draws of the tuning budget that found no settings to rerun.
        defaults: The defaults arm's trials by candidate (see :func:`defaults_trials`),
            excluded ones included; empty without the arm.
    """

    trials: pd.DataFrame
    judged: pd.DataFrame
    included: pd.DataFrame
    tuning: pd.DataFrame
    tuning_counted: pd.DataFrame
    tuning_failed: pd.DataFrame
    defaults: pd.DataFrame


def select_trials(trials: pd.DataFrame) -> TrialSelection:
    """Mark why each trial is excluded and split the trials by role.

    Example:
        >>> trials = pd.DataFrame(
        ...     {
        ...         "number": [0, 1],
        ...         "state": ["COMPLETE", "FAIL"],
        ...         "stop_reason": ["completed", None],
        ...         "recipe_label": ["adam", "adam"],
        ...         **{m: [0.9, None] for m in _RESULT_METRICS},
        ...     }
        ... )
        >>> selection = select_trials(trials)
        >>> selection.trials["excluded"].tolist(), selection.included["number"].tolist()
        (['', 'failed'], [0])
    """
    marked = trials.assign(excluded=exclusion_reasons(trials))
    judged = verdict_trials(marked)
    tuning = tuning_trials(marked)
    return TrialSelection(
        trials=marked,
        judged=judged,
        included=counted(judged),
        tuning=tuning,
        tuning_counted=counted(tuning),
        tuning_failed=tuning[tuning["excluded"].isin(FAILURE_ENDINGS)],
        defaults=defaults_trials(marked),
    )


@dataclass(frozen=True)
class TrialCounts:
    """Every trial of a study counted once, by the part it plays in the report.

    Each mapping counts trials by how they ended: ``""`` for those that count, else the
    exclusion reason, in the order of :data:`EXCLUSION_REASONS`.

    Attributes:
        total: All trials.
        protocol: Whether the study ran under a tuning protocol.
        tuning: The tune-phase trials (none without a protocol).
        verdict: The judged trials the verdict is computed from: those that count, and the
            failures (pruned, diverged, crashed) it scores as chance.
        outside: The other judged trials: failed ones (retried, not failures), running
            ones, duplicates, records without metrics.
        defaults: The defaults arm's trials (none without the arm).
    """

    total: int
    protocol: bool
    tuning: Mapping[str, int]
    verdict: Mapping[str, int]
    outside: Mapping[str, int]
    defaults: Mapping[str, int] = field(default_factory=dict)


def trial_counts(selection: TrialSelection) -> TrialCounts:
    """How many trials tuned, judge, or neither (yet), and how they ended.

    Example:
        >>> trials = pd.DataFrame(
        ...     {
        ...         "number": [0, 1, 2, 3],
        ...         "state": ["COMPLETE", "PRUNED", "COMPLETE", "FAIL"],
        ...         "stop_reason": ["completed", "pruned", "completed", None],
        ...         "phase": ["tune", "tune", "final", "final"],
        ...         "candidate": ["sgd"] * 4,
        ...         "recipe_label": ["sgd"] * 4,
        ...         **{m: [0.8, 0.6, 0.8, None] for m in _RESULT_METRICS},
        ...     }
        ... )
        >>> counts = trial_counts(select_trials(trials))
        >>> counts.tuning, counts.verdict, counts.outside
        ({'': 1, 'pruned': 1}, {'': 1}, {'failed': 1})
    """
    judged = selection.judged["excluded"]
    in_verdict = judged.isin(["", *FAILURE_ENDINGS])
    return TrialCounts(
        total=len(selection.trials),
        protocol=has_phases(selection.trials),
        tuning=_by_ending(selection.tuning["excluded"]),
        verdict=_by_ending(judged[in_verdict]),
        outside=_by_ending(judged[~in_verdict]),
        defaults=_by_ending(selection.defaults["excluded"]),
    )


def _by_ending(reasons: pd.Series) -> dict[str, int]:
    counts = reasons.value_counts().to_dict()
    return {r: int(counts[r]) for r in ("", *EXCLUSION_REASONS) if counts.get(r)}


def unusable_candidates(
    tuning: pd.DataFrame, *, budget: int | Mapping[str, int] | None
) -> list[str]:
    """Candidates whose every tuning trial has finished (``budget`` of them: one number
    for all, or by candidate) and none counts without having diverged: no settings to
    rerun, so their final seeds never run.

    Example:
        >>> tuning = pd.DataFrame(
        ...     {"candidate": ["sgd", "sgd", "adam", "adam"],
        ...      "excluded": ["diverged", "diverged", "", "diverged"]}
        ... )
        >>> unusable_candidates(tuning, budget=2)
        ['sgd']
    """
    if not budget or tuning.empty:
        return []
    finished = tuning[~tuning["excluded"].isin([RUNNING, QUEUED, DUPLICATE])]
    unusable = []
    for candidate, trials in finished.groupby("candidate", sort=False):
        own = budget.get(str(candidate)) if isinstance(budget, Mapping) else budget
        if own and len(trials) >= own and not (trials["excluded"] == "").any():
            unusable.append(str(candidate))
    return unusable
