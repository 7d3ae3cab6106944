"""The one pipeline from stored results to the ranked, judged leaderboard, that every report,
leaderboard, figure and ``bench best`` starts from."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from bench.report._best_of_k import TuningDraws, tuning_draws
from bench.report._compare import compare_to_best
from bench.report._defaults_arm import DefaultsArm, defaults_arm
from bench.report._labels import missing_by_recipe
from bench.report._protocol import TuningProtocol, edge_sentence, tuning_protocol
from bench.report._selection import (
    FAILED,
    NOT_RUN,
    QUEUED,
    RUNNING,
    TrialSelection,
    counted,
    missing_seeds,
    select_trials,
    unusable_candidates,
)
from bench.report._stats import summarize
from bench.report._verdict_values import chance_score, verdict_values
from bench.results import (
    StudyResults,
    TuningPlan,
    candidate_budgets,
    load_results,
    spec_named_recipes,
    spec_objective,
    spec_search_spaces,
)

# Ranked by the study's objective where it is one of these (validation data chose the
# settings and judges them; test metrics are shown beside), else by the first that exists.
_RANK_CANDIDATES = ("val_auc", "val_accuracy", "test_auc", "test_accuracy")


@dataclass(frozen=True)
class Verdicts:
    """The trials sorted by role, and the ranked leaderboard they give (see
    :func:`verdicts_of`); ``defaults`` is the defaults arm beside it, ``None`` for a study
    without the arm."""

    selection: TrialSelection
    missing: pd.DataFrame
    ranked_by: str
    summary: pd.DataFrame
    defaults: DefaultsArm | None = None


def verdicts_of(results: StudyResults) -> Verdicts:
    """The one pipeline every report, leaderboard, figure and ``bench best`` starts from.

    Example:
        >>> from bench.report._example import example_storage
        >>> verdicts = verdicts_of(load_results("demo", storage=example_storage()))
        >>> verdicts.ranked_by, verdicts.summary["recipe_label"].tolist()
        ('val_auc', ['adam', 'sgd'])
    """
    selection = select_trials(results.trials)
    ranked_by = _rank_metric(selection.included, objective=spec_objective(results.spec).metric)
    missing = _planned_missing(results, selection)
    majority = results.workload.get("majority_rate") or {}
    tuning = _tuning_draws(results, selection, ranked_by=ranked_by)
    plan = results.tuning
    first_look = plan.final_seeds if plan is not None and plan.second_look_seeds else None
    more_planned: dict[str, int] = {}
    if plan is not None and first_look is not None:
        second = _second_look(
            selection, missing, ranked_by=ranked_by, tuning=tuning, plan=plan, majority=majority
        )
        judged = selection.judged
        more = missing_seeds(
            judged[judged["recipe_label"].isin(second or ())],
            seeds=plan.second_look_seeds,
            recipes=sorted(second or ()),
        )
        missing = pd.concat([missing, more], ignore_index=True)
        more_planned = dict.fromkeys(second or (), len(plan.second_look_seeds))
    values = verdict_values(selection.included, missing, majority_rate=majority)
    summary = _ranked_summary(
        values,
        ranked_by=ranked_by,
        missing=missing,
        planned=results.planned_seeds,
        tuning=tuning,
        first_look=first_look,
        more_planned=more_planned,
    )
    summary.attrs["ranked_by"] = ranked_by  # what verdict_headline names
    return Verdicts(
        selection=selection,
        missing=missing,
        ranked_by=ranked_by,
        summary=summary,
        defaults=_defaults_arm(results, selection, ranked_by=ranked_by, tuned=summary),
    )


def _planned_missing(results: StudyResults, selection: TrialSelection) -> pd.DataFrame:
    """The seeds the spec plans for every recipe (a protocol's final seeds) that no trial
    counts for, and why."""
    return missing_seeds(
        selection.judged,
        seeds=results.planned_seeds,
        # Named by the spec too: a variant the budget or a running study has not reached yet.
        recipes=[*selection.tuning["candidate"].unique(), *spec_named_recipes(results.spec)],
        unusable=unusable_candidates(selection.tuning, budget=candidate_budgets(results.spec)),
    )


#: How a first-look seed can stand that leaves the first look still to be judged.
_PENDING = (NOT_RUN, RUNNING, QUEUED, FAILED)


def second_look_candidates(results: StudyResults) -> frozenset[str] | None:
    """The candidates that run the spec's second-look seeds: the best and those its
    first look (on the final seeds) leaves in the top group; ``None`` while a first-look
    seed is still to run (the first look is not judged yet), empty without a second look.

    Example:
        >>> from bench.report._example import example_storage
        >>> second_look_candidates(load_results("demo", storage=example_storage()))
        frozenset()
    """
    plan = results.tuning
    if plan is None or not plan.second_look_seeds:
        return frozenset()
    selection = select_trials(results.trials)
    ranked_by = _rank_metric(selection.included, objective=spec_objective(results.spec).metric)
    missing = _planned_missing(results, selection)  # the final seeds: the first look's
    tuning = _tuning_draws(results, selection, ranked_by=ranked_by)
    majority = results.workload.get("majority_rate") or {}
    return _second_look(
        selection, missing, ranked_by=ranked_by, tuning=tuning, plan=plan, majority=majority
    )


def _second_look(
    selection: TrialSelection,
    missing: pd.DataFrame,
    *,
    ranked_by: str,
    tuning: dict[str, TuningDraws],
    plan: TuningPlan,
    majority: Mapping[str, float],
) -> frozenset[str] | None:
    """:func:`second_look_candidates` from a study's first-look ``missing`` seeds."""
    if missing["why"].isin(_PENDING).any():
        return None
    first = selection.included[selection.included["seed"].isin(plan.final_seeds)]
    values = verdict_values(first, missing, majority_rate=majority)
    if values.empty:
        return frozenset()
    labels = values["recipe_label"].unique().tolist()
    judged = compare_to_best(
        values, labels, metric=ranked_by, tuning=tuning, first_look=plan.final_seeds
    )
    return frozenset(judged.loc[judged["look"] == 2, "recipe_label"])


def _tuning_draws(
    results: StudyResults, selection: TrialSelection, *, ranked_by: str
) -> dict[str, TuningDraws]:
    """Each candidate's tuning draws, for the verdict's tuning luck; none when the ranked
    metric is not the objective the draws were scored by."""
    if ranked_by != spec_objective(results.spec).metric or selection.tuning_counted.empty:
        return {}
    chance = chance_score(ranked_by, majority_rate=results.workload.get("majority_rate") or {})
    plan = results.tuning
    return tuning_draws(
        selection.tuning_counted,
        selection.tuning_failed,
        seed=plan.seed if plan is not None else None,
        direction=results.direction,
        failure_score=math.nan if chance is None else chance,
    )


def _defaults_arm(
    results: StudyResults, selection: TrialSelection, *, ranked_by: str, tuned: pd.DataFrame
) -> DefaultsArm | None:
    """The defaults trials ranked as the leaderboard ranks the final ones (a failed seed
    scored as chance), beside the tuned ranking; ``None`` for a study without the arm."""
    plan = results.tuning
    arm = selection.defaults
    if arm.empty and not (plan is not None and plan.defaults_arm):
        return None
    missing = missing_seeds(
        arm, seeds=results.planned_seeds, recipes=selection.tuning["candidate"].unique().tolist()
    )
    values = verdict_values(
        counted(arm), missing, majority_rate=results.workload.get("majority_rate") or {}
    )
    summary = summarize(values, rank_by=ranked_by) if not values.empty else pd.DataFrame()
    return defaults_arm(summary, tuned, ranked_by=ranked_by)


def _rank_metric(included: pd.DataFrame, *, objective: str | None) -> str:
    present = [m for m in _RANK_CANDIDATES if m in included and included[m].notna().any()]
    if objective in present:
        return objective
    return present[0] if present else _RANK_CANDIDATES[0]


def _ranked_summary(
    included: pd.DataFrame,
    *,
    ranked_by: str,
    missing: pd.DataFrame,
    planned: Sequence[int],
    tuning: dict[str, TuningDraws],
    first_look: Sequence[int] | None = None,
    more_planned: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """The leaderboard rows of the ``included`` trials, with the seeds each recipe lacks.

    ``n_planned`` (the spec's seed count, empty when it names none, plus the recipe's
    ``more_planned`` second-look seeds) and ``seeds_missing`` (``"1 (failed), 2
    (running)"``, empty when none is) follow the ``seeds`` column.
    """
    summary = summarize(included, rank_by=ranked_by, tuning=tuning, first_look=first_look)
    after_seeds = summary.columns.get_loc("seeds") + 1
    more = summary["recipe_label"].map(more_planned or {}).fillna(0).astype(int)
    counts = [len(planned) + extra if planned else None for extra in more]
    summary.insert(after_seeds, "n_planned", pd.array(counts, "Int64"))
    seeds_missing = summary["recipe_label"].map(missing_by_recipe(missing)).fillna("")
    summary.insert(after_seeds + 1, "seeds_missing", seeds_missing)
    return summary


def study_leaderboard(study_name: str, *, storage: str) -> pd.DataFrame:
    """The ranked per-recipe summary of a study's usable trials, without figures or files.

    The same rows as the report's ``summary.csv`` less the time-to-target columns; empty
    when no trial is usable yet. Under a tuning protocol the rows are candidates judged
    on their final seeds.

    Example:
        >>> from bench.report._example import example_storage
        >>> board = study_leaderboard("demo", storage=example_storage())
        >>> board[["recipe_label", "n", "n_planned", "seeds_missing", "test_auc_mean"]]
          recipe_label  n  n_planned seeds_missing  test_auc_mean
        0         adam  2          2                         0.91
        1          sgd  2          2                         0.71
    """
    verdicts = verdicts_of(load_results(study_name, storage=storage))
    if verdicts.summary.empty:  # not one seed counts, nor failed
        return pd.DataFrame()
    return verdicts.summary


def _protocol(results: StudyResults, trials: pd.DataFrame) -> TuningProtocol | None:
    return tuning_protocol(
        trials,
        plan=results.tuning,
        direction=results.direction,
        spaces=spec_search_spaces(results.spec),
    )


def range_edge_note(study_name: str, *, storage: str) -> str:
    """The sentence on chosen values at an end of their range (``""`` when none, or
    without a tuning protocol), for the console after the leaderboard.

    Example:
        >>> from bench.report._example import example_storage
        >>> range_edge_note("demo", storage=example_storage())
        ''
    """
    results = load_results(study_name, storage=storage)
    protocol = _protocol(results, select_trials(results.trials).trials)
    return edge_sentence(protocol) if protocol is not None else ""


def unranked_recipes(study_name: str, *, storage: str) -> dict[str, str]:
    """The recipes none of whose seeds counts (each crashed, diverged or failed), so that
    no leaderboard row holds them, with their missing seeds and why.

    Example:
        >>> from bench.report._example import example_storage
        >>> unranked_recipes("demo", storage=example_storage())
        {}
    """
    verdicts = verdicts_of(load_results(study_name, storage=storage))
    ranked = set(verdicts.summary["recipe_label"]) if not verdicts.summary.empty else set()
    why = missing_by_recipe(verdicts.missing)
    return {label: text for label, text in why.items() if label not in ranked}
