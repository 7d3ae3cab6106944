"""Each recipe judged against the best: its metric on the seeds that trained (one-sided,
studentized range, widened by tuning luck) and its failure rate, and the verdict words those
judgements are stored as (``vs_best``, ``worse_by``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import pandas as pd
from scipy import stats

from bench.report._best_of_k import TuningDraws
from bench.report._metrics import METRIC_RANGES
from bench.report._significance import (
    ALPHA,
    LOOK_ALPHA,
    failure_p_value,
    range_critical_t,
    range_p_value,
)

T = TypeVar("T")

#: The verdicts of :func:`compare_to_best`, as ``summary.csv`` stores them (``vs_best``).
BEST = "best"
TIED = "indistinguishable"
WORSE = "worse"
NOT_TESTABLE = "not testable"
#: The verdicts that put a recipe in the top group: the best and those not told apart.
TOP_GROUP: tuple[str, ...] = (BEST, TIED)
#: What can make a recipe worse (``worse_by``): its metric on the seeds that trained, its
#: failure rate, or both (``"metric, failures"``).
BY_METRIC = "metric"
BY_FAILURES = "failures"

TEST_NAME = (
    "a one-sided paired t-test of “below the best” over the seeds both trained (Welch's where "
    "they share fewer than 2), on the log-odds of a metric bounded by 0 and 1, its critical "
    "value the studentized range of all the compared recipes"
)
LUCK_NAME = (
    "its standard error widened by both recipes' tuning luck: the spread of the best of each "
    "one's tuning trials resampled with replacement (a bootstrap over its tuning trials, not "
    "repeated tuning studies; “tuning luck (sd)” on the leaderboard), the degrees of freedom "
    "by Welch–Satterthwaite"
)
FAILURE_TEST_NAME = (
    "a one-sided Boschloo exact test of “fails more often than the best”, Bonferroni-corrected "
    "over every pair of recipes"
)
#: Where a bounded metric is clipped before its log-odds: a seed at 1.0 counts as 0.999.
LOGIT_CLIP = 1e-3
CORRECTION_NAME = "Tukey's studentized range"


def compare_to_best(
    included: pd.DataFrame,
    ranked_labels: Sequence[str],
    *,
    metric: str = "test_auc",
    tuning: Mapping[str, TuningDraws] | None = None,
    first_look: Collection[int] | None = None,
) -> pd.DataFrame:
    """Judge each recipe against the best (first) one: on ``metric`` over the seeds that
    trained, and on how often its seeds failed.

    A row of ``included`` with a non-empty ``failure`` is a failed seed (scored as chance
    in the means, see :func:`bench.report._verdict_values.verdict_values`); it is left out of
    the metric test and counted in the failure test, so a failure neither shields a
    recipe from "worse" (a seed at chance spreads the paired differences) nor hides in it.

    * **Metric**: the seeds pair up (one seed gives two recipes the same initial weights
      and data order), so the difference to the best is taken per shared seed, on the
      log-odds of a metric bounded by 0 and 1 (:func:`_log_odds`); Welch's statistic
      where they share fewer than 2 seeds. Only "below the best" counts against a recipe,
      and the critical value is that of the studentized range of the ``k`` recipes
      compared (:func:`range_p_value`): the best is the sample maximum, so a recipe tied
      with it trails it by the largest of the pairwise differences among the tied ones.
      This is Tukey's single-step comparison (Tukey 1953), with the standard error and
      degrees of freedom of each pair as in Games & Howell (1976); Hsu's MCB (Hsu 1996,
      ch. 4) guarantees only that one true best stays in, and with 5 tied recipes marked
      one of them worse in 9% of simulated boards (``benchmarks/bench_verdicts.py``).
    * **Tuning luck** (under a tuning protocol, ``tuning``: each candidate's draws on its
      tuning seed, scored by ``metric``): the final seeds measure seed noise around the
      one draw a candidate chose, but which draw that is was luck too. The verdict judges
      the settings each candidate chose (what its final seeds ran); a recipe worse by its
      metric is then tested again with both recipes' tuning luck added: the spread of the
      best of its draws resampled with replacement
      (:meth:`TuningDraws.resampled_best_sd`, on the test's scale), added to the
      variance of their difference, its degrees of freedom by Welch and Satterthwaite (a
      luck from n draws counts n - 1). ``within_luck`` marks a worse recipe that second
      test does not tell apart: another tuning run could reverse it. The draws' scores
      carry their tuning seed's noise as well, so that test errs towards "within".
    * **Failures**: a one-sided Boschloo exact test of "fails more often than the best"
      (:func:`failure_p_value`), Bonferroni-corrected over the ``k (k - 1) / 2`` pairs of
      recipes for the same reason: the best is the one with the fewest failures as often
      as not.

    A recipe is ``worse`` when either adjusted p-value is below :data:`ALPHA` (``worse_by``
    names which: :data:`BY_METRIC`, :data:`BY_FAILURES`); ``not testable`` when it is not
    worse and either side has fewer than 2 seeds that trained; else ``indistinguishable``.

    * **Two looks** (``first_look``: the seeds of the first look, under a spec with
      second-look seeds): the first look judges every recipe on those seeds alone, ranked
      by its mean over them; the recipes it leaves in the top group then ran more seeds,
      and the second look judges them on all of theirs against the best among them. A
      recipe is worse when either look marks it, each look at :data:`LOOK_ALPHA` (its
      intervals too); ``look`` says which look gave the row (1 or 2; NaN with one look).

    Returns columns ``recipe_label``; ``look``; ``p_value`` (the one-sided t-test of the metric,
    uncorrected); ``p_metric`` and ``p_failures`` (corrected); ``diff_to_best`` with
    ``diff_to_best_low`` / ``diff_to_best_high``: the recipe's mean minus the best's and its
    simultaneous 95% interval, computed on the test's scale and shown on the metric's (the
    means' difference after the log-odds are mapped back); ``tuning_sd``, the recipe's
    tuning luck on the metric's own scale (NaN without draws); ``p_luck``, the metric
    test again with both lucks added (corrected; NaN without draws); ``vs_best``,
    ``worse_by`` and ``within_luck``.

    Example:
        >>> included = pd.DataFrame(
        ...     {
        ...         "recipe_label": ["a", "a", "a", "b", "b", "b", "c"],
        ...         "seed": [1, 2, 3, 1, 2, 3, 1],
        ...         "test_auc": [0.90, 0.91, 0.92, 0.89, 0.91, 0.93, 0.5],
        ...     }
        ... )
        >>> compared = compare_to_best(included, ["a", "b", "c"]).round(3)
        >>> compared[["recipe_label", "p_metric", "diff_to_best", "vs_best"]]
          recipe_label  p_metric  diff_to_best            vs_best
        0            a       NaN           NaN               best
        1            b       1.0         0.001  indistinguishable
        2            c       NaN           NaN       not testable
    """
    if first_look is None or "seed" not in included.columns:
        return _one_look(included, ranked_labels, metric=metric, tuning=tuning, level=ALPHA)
    early = included[included["seed"].isin(list(first_look))]
    first = _one_look(
        early,
        _ranked_by_mean(early, metric, ranked_labels),
        metric=metric,
        tuning=tuning,
        level=LOOK_ALPHA,
    )
    decided = set(first.loc[first["vs_best"] == WORSE, "recipe_label"])
    # The second look's best is the best of those the first look left in the top group.
    order = sorted(ranked_labels, key=lambda label: label in decided)
    second = _one_look(included, order, metric=metric, tuning=tuning, level=LOOK_ALPHA)
    kept = second[~second["recipe_label"].isin(decided)].assign(look=2.0)
    frame = pd.concat([kept, first[first["recipe_label"].isin(decided)].assign(look=1.0)])
    return frame.reset_index(drop=True).astype(
        {"recipe_label": object, "vs_best": object, "worse_by": object}
    )


def _ranked_by_mean(included: pd.DataFrame, metric: str, labels: Sequence[str]) -> list[str]:
    """``labels`` by their mean ``metric`` in ``included``, highest first (ties and labels
    without a value keep their order), as the leaderboard ranks them."""
    means = included.groupby("recipe_label", sort=False)[metric].mean()
    position = {label: i for i, label in enumerate(labels)}

    def key(label: str) -> tuple[float, int]:
        mean = means.get(label, math.nan)
        return (math.inf if pd.isna(mean) else -float(mean), position[label])

    return sorted(labels, key=key)


def _one_look(
    included: pd.DataFrame,
    ranked_labels: Sequence[str],
    *,
    metric: str,
    tuning: Mapping[str, TuningDraws] | None,
    level: float,
) -> pd.DataFrame:
    """:func:`compare_to_best` on one set of seeds, at ``level``."""
    scale = _log_odds if METRIC_RANGES.get(metric) == (0.0, 1.0) else _identity
    back = _expit if scale is _log_odds else _identity
    failed = _failed_rows(included)
    trained = included[~failed]
    values = {
        label: scale(_per_seed(group, metric))
        for label, group in trained.groupby("recipe_label", sort=False)
    }
    seeds = included.groupby(included["recipe_label"], sort=False).size()
    failures = failed.groupby(included["recipe_label"], sort=False).sum()
    empty = pd.Series(dtype=float)
    best_label = ranked_labels[0] if ranked_labels else None
    best = values.get(best_label, empty)
    others = list(ranked_labels[1:])
    luck = {
        label: (draws.resampled_best_sd(scale), len(draws) - 1.0)
        for label, draws in (tuning or {}).items()
    }
    gaps = {label: _gap_to_best(best, values.get(label, empty)) for label in others}
    compared = 1 + sum(gap is not None for gap in gaps.values())
    rows = [_best_row(best_label)] if best_label is not None else []
    tuning_sd = {label: draws.resampled_best_sd() for label, draws in (tuning or {}).items()}
    for label in others:
        gap = gaps[label]
        metric_row = _metric_row(gap, candidates=compared, back=back, level=level)
        p_failures = failure_p_value(
            int(failures.get(label, 0)),
            int(seeds.get(label, 0)),
            int(failures.get(best_label, 0)),
            int(seeds.get(best_label, 0)),
            candidates=len(ranked_labels),
        )
        verdict, worse_by = _verdict(metric_row["p_metric"], p_failures, level=level)
        p_luck = math.nan
        if luck:
            lucky = _with_tuning_luck(gap, luck.get(label), luck.get(best_label))
            p_luck = _metric_row(lucky, candidates=compared, back=back, level=level)["p_metric"]
        rows.append(
            {
                "recipe_label": label,
                **metric_row,
                "p_failures": p_failures,
                "p_luck": p_luck,
                "tuning_sd": tuning_sd.get(label, math.nan),
                "vs_best": verdict,
                "worse_by": worse_by,
                # Worse on its seeds, by its metric alone, but not beyond its tuning luck.
                "within_luck": verdict == WORSE and worse_by == BY_METRIC and p_luck >= level,
            }
        )
    if rows:
        rows[0]["tuning_sd"] = tuning_sd.get(best_label, math.nan)
    frame = pd.DataFrame(rows, columns=list(_COMPARISON_COLUMNS))
    return frame.astype({"recipe_label": object, "vs_best": object, "worse_by": object})


_COMPARISON_COLUMNS: dict[str, float | str] = {
    "recipe_label": "",
    "look": math.nan,
    "p_value": math.nan,
    "p_metric": math.nan,
    "p_failures": math.nan,
    "diff_to_best": math.nan,
    "diff_to_best_low": math.nan,
    "diff_to_best_high": math.nan,
    "p_luck": math.nan,
    "tuning_sd": math.nan,
    "vs_best": BEST,
    "worse_by": "",
    "within_luck": False,
}


#: The columns the metric test fills (NaN when it is not testable).
_METRIC_TEST_COLUMNS = (
    "p_value",
    "p_metric",
    "diff_to_best",
    "diff_to_best_low",
    "diff_to_best_high",
)


def _best_row(label: str) -> dict[str, float | str]:
    return {**_COMPARISON_COLUMNS, "recipe_label": label}


def _failed_rows(included: pd.DataFrame) -> pd.Series:
    if "failure" not in included.columns:
        return pd.Series(False, index=included.index)
    return included["failure"].fillna("").astype(str) != ""


@dataclass(frozen=True)
class _Gap:
    """A recipe's difference to the best on the test's scale: ``mean`` (recipe minus best),
    its standard error ``se`` and degrees of freedom ``df``, and ``anchor``, the best's mean
    over the same seeds (where the difference is mapped back to the metric's scale)."""

    mean: float
    se: float
    df: float
    anchor: float


def _gap_to_best(best: pd.Series, other: pd.Series) -> _Gap | None:
    """Paired over the shared seeds, else Welch's; ``None`` (not testable) with fewer than
    2 values on a side."""
    if len(best) < 2 or len(other) < 2:
        return None
    shared = best.index.intersection(other.index)
    if best.index.name == other.index.name == "seed" and len(shared) >= 2:
        differences = (other[shared] - best[shared]).to_numpy()
        n = len(differences)
        return _Gap(
            mean=float(differences.mean()),
            se=float(differences.std(ddof=1)) / math.sqrt(n),
            df=n - 1.0,
            anchor=float(best[shared].mean()),
        )
    a, b = best.to_numpy(), other.to_numpy()
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    # Welch–Satterthwaite; two constant sides leave it undefined, and the spread then is 0.
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if se > 0 else 1.0
    return _Gap(mean=float(b.mean() - a.mean()), se=se, df=float(df), anchor=float(a.mean()))


def _with_tuning_luck(gap: _Gap | None, *lucks: tuple[float, float] | None) -> _Gap | None:
    """``gap`` with each known luck's variance (sd, df) added to its standard error; its
    degrees of freedom by Welch–Satterthwaite over the parts."""
    if gap is None:
        return None
    parts = [(gap.se**2, gap.df)]
    parts += [(sd**2, df) for sd, df in filter(None, lucks) if math.isfinite(sd) and sd > 0]
    variance = sum(v for v, _ in parts)
    if len(parts) == 1 or variance <= 0:
        return gap
    df = variance**2 / sum(v**2 / df for v, df in parts if v > 0)
    return replace(gap, se=math.sqrt(variance), df=df)


def _metric_row(
    gap: _Gap | None, *, candidates: int, back: Callable[[float], float], level: float
) -> dict[str, float]:
    if gap is None:
        return {
            key: math.nan
            for key in (
                "p_value",
                "p_metric",
                "diff_to_best",
                "diff_to_best_low",
                "diff_to_best_high",
            )
        }
    if gap.se > 0:
        t = gap.mean / gap.se
        p_value = float(stats.t.cdf(t, gap.df))
        p_metric = range_p_value(-t, candidates=candidates, df=gap.df)
        half = range_critical_t(candidates=candidates, df=gap.df, level=level) * gap.se
    else:
        # No spread: the t statistic is undefined; a difference is then certain.
        below = gap.mean < 0 and not np.isclose(gap.mean, 0.0)
        p_value = p_metric = 0.0 if below else 1.0
        half = 0.0
    anchor = back(gap.anchor)
    return {
        "p_value": p_value,
        "p_metric": p_metric,
        "diff_to_best": back(gap.anchor + gap.mean) - anchor,
        "diff_to_best_low": back(gap.anchor + gap.mean - half) - anchor,
        "diff_to_best_high": back(gap.anchor + gap.mean + half) - anchor,
    }


def _verdict(p_metric: float, p_failures: float, *, level: float) -> tuple[str, str]:
    reasons = [
        reason
        for reason, p in ((BY_METRIC, p_metric), (BY_FAILURES, p_failures))
        if not math.isnan(p) and p < level
    ]
    if reasons:
        return WORSE, ", ".join(reasons)
    return (NOT_TESTABLE if math.isnan(p_metric) else TIED), ""


def _per_seed(group: pd.DataFrame, metric: str) -> pd.Series:
    """A recipe's values indexed by seed (a seed run twice: their mean); a RangeIndex
    when the trials carry no seed, so nothing pairs."""
    if "seed" not in group.columns or group["seed"].isna().all():
        return group[metric].astype(float).dropna().reset_index(drop=True).rename(None)
    valued = group.dropna(subset=[metric, "seed"])
    return valued[metric].astype(float).groupby(valued["seed"].astype(int).rename("seed")).mean()


def _log_odds(values: pd.Series) -> pd.Series:
    """The log-odds of a metric bounded by 0 and 1 (AUC, accuracy): the scale its tests use.

    On the metric's own scale a seed that failed (AUC 0.5 among seeds near 0.95) or one
    near the bound spreads a t-test's variance as far as a real difference; log-odds is
    the usual variance-stabilizing scale for a proportion and an AUC (as in logit-based
    AUC intervals), so such differences keep their size relative to the spread.

    Example:
        >>> _log_odds(pd.Series([0.5, 0.9, 1.0])).round(3).tolist()
        [0.0, 2.197, 6.907]
    """
    clipped = values.clip(LOGIT_CLIP, 1 - LOGIT_CLIP)
    return np.log(clipped / (1 - clipped))


def _identity(values: T) -> T:
    return values


def _expit(log_odds: float) -> float:
    return float(1 / (1 + math.exp(-log_odds)))
