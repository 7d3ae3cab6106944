"""What the trials that count say per recipe: means, intervals, tests and targets.

Every statistic a report shows is computed here (ROC curves in :mod:`bench.report._roc`);
which trials count is decided in :mod:`bench.report._selection`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import pandas as pd
from scipy import stats

from bench.report._best_of_k import TuningDraws
from bench.report._significance import ALPHA, failure_p_value, range_critical_t, range_p_value

T = TypeVar("T")

CONFIDENCE = 0.95
#: The time-to-target goal, as a fraction of the best recipe's mean final validation AUC.
TARGET_FRACTION = 0.95

#: Per-recipe metrics aggregated over seeds: column -> the words a reader sees.
SUMMARY_METRICS: dict[str, str] = {
    "test_auc": "test AUC",
    "val_auc": "validation AUC",
    "test_accuracy": "test accuracy",
    "val_accuracy": "validation accuracy",
    "gap_accuracy": "generalization gap (accuracy)",
    "gap_clean_accuracy": "generalization gap (accuracy, clean training labels)",
    "gap_loss": "generalization gap (loss)",
    "kept_epoch": "kept epoch",
    "epochs_run": "epochs run",
    "wall_time_s": "wall time (s)",
}

#: Summary metrics that count epochs: whole numbers whose t interval is shown only from
#: :data:`MIN_INTERVAL_N` seeds on; below that the values themselves are shown.
COUNT_METRICS: tuple[str, ...] = ("kept_epoch", "epochs_run")
MIN_INTERVAL_N = 3

#: The range each bounded summary metric lives in: its interval never leaves it.
METRIC_RANGES: dict[str, tuple[float, float]] = {
    "test_auc": (0.0, 1.0),
    "val_auc": (0.0, 1.0),
    "test_accuracy": (0.0, 1.0),
    "val_accuracy": (0.0, 1.0),
    "gap_accuracy": (-1.0, 1.0),
    "gap_clean_accuracy": (-1.0, 1.0),
}

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


def t_interval(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """The 95% Student-t confidence interval of the mean; ``(nan, nan)`` when n < 2.

    Example:
        >>> lo, hi = t_interval([0.80, 0.82, 0.84])
        >>> round(lo, 4), round(hi, 4)
        (0.7703, 0.8697)
    """
    a = np.asarray(values, dtype=float)
    a = a[~np.isnan(a)]
    if len(a) < 2:
        return math.nan, math.nan
    mean = float(a.mean())
    half = float(_half_width(float(a.std(ddof=1)), len(a)))
    return mean - half, mean + half


def _half_width(sd: float | np.ndarray, n: int | np.ndarray) -> float | np.ndarray:
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        quantile = stats.t.ppf(0.5 + CONFIDENCE / 2, np.where(n >= 2, n - 1, np.nan))
        return quantile * np.asarray(sd, dtype=float) / np.sqrt(n)


def t_errorbar(values: pd.Series) -> tuple[float, float]:
    """:func:`t_interval` as a seaborn ``errorbar``: n = 1 spans nothing, not a fake band.

    Example:
        >>> t_errorbar(pd.Series([0.8]))
        (0.8, 0.8)
    """
    low, high = t_interval(values)
    if math.isnan(low):
        mean = float(np.nanmean(values)) if len(values) else math.nan
        return mean, mean
    return low, high


def bounded_errorbar(metric: str) -> Callable[[pd.Series], tuple[float, float]]:
    """:func:`t_errorbar` clipped to ``metric``'s range (:data:`METRIC_RANGES`), as the
    leaderboard's intervals are.

    Example:
        >>> bounded_errorbar("test_auc")(pd.Series([0.90, 0.99]))
        (0.3732..., 1.0)
    """
    low_end, high_end = METRIC_RANGES.get(metric, (-math.inf, math.inf))

    def errorbar(values: pd.Series) -> tuple[float, float]:
        low, high = t_errorbar(values)
        return max(low, low_end), min(high, high_end)

    return errorbar


def summarize(
    included: pd.DataFrame,
    *,
    rank_by: str = "test_auc",
    tuning: Mapping[str, TuningDraws] | None = None,
) -> pd.DataFrame:
    """One row per recipe: n, its seeds, its failed seeds, and the mean, sd and 95% t
    interval of each summary metric (the interval clipped to the metric's range,
    :data:`METRIC_RANGES`: an AUC's never passes 1).

    A row of ``included`` with a non-empty ``failure`` is a failed seed scored as chance
    (see :func:`bench.report._verdict_values.verdict_values`): it counts in ``n`` and in every
    mean it has a value for; ``n_failed`` and ``failures`` (``"2 diverged"``) say how
    many failed and how.

    The recipe's settings come first: ``candidate`` (under a tuning protocol), its sampled
    ``params_<field>`` and the ``tuned_<knob>`` values its final seeds reran with.

    Each of :data:`COUNT_METRICS` also gets ``<metric>_values``: its per-seed values in
    seed order (``"12 19"``), which the leaderboard shows instead of a t interval when
    fewer than :data:`MIN_INTERVAL_N` seeds ran.
    Rows are ranked by the mean of ``rank_by``, highest first (every ranked metric is
    better higher), each recipe is compared with the best one (see
    :func:`compare_to_best`, which takes the candidates' ``tuning`` draws), and the top
    group then moves first (:func:`top_group_first`).
    ``included`` holds only the trials that count (see
    :func:`bench.report._selection.select_trials`).

    Example:
        >>> values = [0.90, 0.92, 0.94, 0.70, 0.75, 0.80]
        >>> included = pd.DataFrame(
        ...     {
        ...         "recipe_label": ["adam"] * 3 + ["sgd"] * 3,
        ...         "seed": [0, 1, 2] * 2,
        ...         **{metric: values for metric in SUMMARY_METRICS},
        ...     }
        ... )
        >>> summary = summarize(included)
        >>> summary[["rank", "recipe_label", "n", "seeds", "test_auc_mean", "vs_best"]]
           rank recipe_label  n  seeds  test_auc_mean vs_best
        0     1         adam  3  0 1 2           0.92    best
        1     2          sgd  3  0 1 2           0.75   worse
    """
    settings = [
        c for c in included.columns if c == "candidate" or c.startswith(("params_", "tuned_"))
    ]
    included = included.reindex(columns=[*included.columns, *_absent(included)])
    numeric = included[list(SUMMARY_METRICS)].astype(float)
    grouped = numeric.groupby(included["recipe_label"], sort=False)
    means, sds, counts = grouped.mean(), grouped.std(ddof=1), grouped.count()
    half = pd.DataFrame(_half_width(sds.to_numpy(), counts.to_numpy()), index=means.index)
    half.columns = means.columns
    by_recipe = included.groupby("recipe_label", sort=False)
    failure = included["failure"] if "failure" in included.columns else None
    parts = {
        "n": by_recipe.size(),
        "seeds": by_recipe["seed"].agg(lambda s: " ".join(str(v) for v in sorted(s.dropna()))),
        "n_failed": (
            (failure != "").groupby(included["recipe_label"], sort=False).sum().astype(int)
            if failure is not None
            else by_recipe.size() * 0
        ),
        "failures": (
            failure.groupby(included["recipe_label"], sort=False).agg(_failure_words)
            if failure is not None
            else by_recipe.size().map(lambda _: "")
        ),
    }
    for metric in SUMMARY_METRICS:
        low, high = METRIC_RANGES.get(metric, (-math.inf, math.inf))
        parts[f"{metric}_mean"] = means[metric]
        parts[f"{metric}_sd"] = sds[metric]
        parts[f"{metric}_ci_low"] = (means[metric] - half[metric]).clip(lower=low)
        parts[f"{metric}_ci_high"] = (means[metric] + half[metric]).clip(upper=high)
        if metric in COUNT_METRICS:
            parts[f"{metric}_values"] = _values_in_seed_order(included, metric).reindex(means.index)
    summary = pd.DataFrame(parts)
    if settings:
        summary = included.groupby("recipe_label", sort=False)[settings].first().join(summary)
    summary = summary.sort_values(
        f"{rank_by}_mean", ascending=False, na_position="last", kind="stable"
    )
    summary = summary.rename_axis("recipe_label").reset_index()
    comparison = compare_to_best(
        included, summary["recipe_label"].tolist(), metric=rank_by, tuning=tuning
    )
    summary = top_group_first(summary.merge(comparison, on="recipe_label", how="left"))
    summary.insert(0, "rank", np.arange(1, len(summary) + 1))
    return summary


def top_group_first(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows ordered top group first (:data:`TOP_GROUP`), each part in the order it had.

    Two tests make the verdict (the metric on the seeds that trained, the failure rate),
    and a mean counts a failed seed as chance, so a recipe not told apart from the best
    can have a lower mean than one that is worse; ranked by mean alone the top group
    would not be a prefix of the ranking.

    Example:
        >>> board = pd.DataFrame({"recipe_label": ["a", "b", "c"],
        ...                       "vs_best": ["best", "worse", "indistinguishable"]})
        >>> top_group_first(board)["recipe_label"].tolist()
        ['a', 'c', 'b']
    """
    outside = ~summary["vs_best"].isin(TOP_GROUP)
    return summary.iloc[np.argsort(outside.to_numpy(), kind="stable")].reset_index(drop=True)


def _absent(included: pd.DataFrame) -> list[str]:
    return [m for m in SUMMARY_METRICS if m not in included.columns]


def _failure_words(failures: pd.Series) -> str:
    counts = failures[failures != ""].value_counts()
    return ", ".join(f"{count} {why}" for why, count in counts.items())


def _values_in_seed_order(included: pd.DataFrame, metric: str) -> pd.Series:
    ordered = included.sort_values("seed", kind="stable")
    return ordered.groupby("recipe_label", sort=False)[metric].agg(
        lambda s: " ".join(_whole(v) for v in s.dropna())
    )


def _whole(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def compare_to_best(
    included: pd.DataFrame,
    ranked_labels: Sequence[str],
    *,
    metric: str = "test_auc",
    tuning: Mapping[str, TuningDraws] | None = None,
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
      one draw a candidate chose, but which draw that is was luck too. Each candidate's
      tuning luck is the spread of the best of its draws resampled with replacement
      (:meth:`TuningDraws.resampled_best_sd`, on the test's scale); both recipes' lucks
      add to the variance of their difference, its degrees of freedom by Welch and
      Satterthwaite (a luck from n draws counts n - 1). The draws' scores carry their
      tuning seed's noise as well, so this errs towards "not told apart".
    * **Failures**: a one-sided Boschloo exact test of "fails more often than the best"
      (:func:`failure_p_value`), Bonferroni-corrected over the ``k (k - 1) / 2`` pairs of
      recipes for the same reason: the best is the one with the fewest failures as often
      as not.

    A recipe is ``worse`` when either adjusted p-value is below :data:`ALPHA` (``worse_by``
    names which: :data:`BY_METRIC`, :data:`BY_FAILURES`); ``not testable`` when it is not
    worse and either side has fewer than 2 seeds that trained; else ``indistinguishable``.

    Returns columns ``recipe_label``; ``p_value`` (the one-sided t-test of the metric,
    uncorrected); ``p_metric`` and ``p_failures`` (corrected); ``diff_to_best`` with
    ``diff_to_best_low`` / ``diff_to_best_high``: the recipe's mean minus the best's and its
    simultaneous 95% interval, computed on the test's scale and shown on the metric's (the
    means' difference after the log-odds are mapped back); ``tuning_sd``, the recipe's
    tuning luck on the metric's own scale (NaN without draws); ``vs_best`` and
    ``worse_by``.

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
    gaps = {
        label: _with_tuning_luck(
            _gap_to_best(best, values.get(label, empty)), luck.get(label), luck.get(best_label)
        )
        for label in others
    }
    compared = 1 + sum(gap is not None for gap in gaps.values())
    rows = [_best_row(best_label)] if best_label is not None else []
    tuning_sd = {label: draws.resampled_best_sd() for label, draws in (tuning or {}).items()}
    for label in others:
        gap = gaps[label]
        metric_row = _metric_row(gap, candidates=compared, back=back)
        p_failures = failure_p_value(
            int(failures.get(label, 0)),
            int(seeds.get(label, 0)),
            int(failures.get(best_label, 0)),
            int(seeds.get(best_label, 0)),
            candidates=len(ranked_labels),
        )
        verdict, worse_by = _verdict(metric_row["p_metric"], p_failures)
        rows.append(
            {
                "recipe_label": label,
                **metric_row,
                "p_failures": p_failures,
                "tuning_sd": tuning_sd.get(label, math.nan),
                "vs_best": verdict,
                "worse_by": worse_by,
            }
        )
    if rows:
        rows[0]["tuning_sd"] = tuning_sd.get(best_label, math.nan)
    frame = pd.DataFrame(rows, columns=list(_COMPARISON_COLUMNS))
    return frame.astype({"recipe_label": object, "vs_best": object, "worse_by": object})


_COMPARISON_COLUMNS: dict[str, float | str] = {
    "recipe_label": "",
    "p_value": math.nan,
    "p_metric": math.nan,
    "p_failures": math.nan,
    "diff_to_best": math.nan,
    "diff_to_best_low": math.nan,
    "diff_to_best_high": math.nan,
    "tuning_sd": math.nan,
    "vs_best": BEST,
    "worse_by": "",
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
    gap: _Gap | None, *, candidates: int, back: Callable[[float], float]
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
        half = range_critical_t(candidates=candidates, df=gap.df) * gap.se
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


def _verdict(p_metric: float, p_failures: float) -> tuple[str, str]:
    reasons = [
        reason
        for reason, p in ((BY_METRIC, p_metric), (BY_FAILURES, p_failures))
        if not math.isnan(p) and p < ALPHA
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
