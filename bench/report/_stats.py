"""What the trials that count say per recipe: means and intervals, each recipe's verdict
(judged in :mod:`bench.report._compare`) and the time-to-target goal.

ROC curves are computed in :mod:`bench.report._roc`; which trials count is decided in
:mod:`bench.report._selection`; the metrics themselves are declared in
:mod:`bench.report._metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from bench.report._best_of_k import TuningDraws
from bench.report._compare import TOP_GROUP, compare_to_best
from bench.report._metrics import COUNT_METRICS, METRIC_RANGES, SUMMARY_METRICS

CONFIDENCE = 0.95
#: The time-to-target goal, as a fraction of the best recipe's mean final validation AUC.
TARGET_FRACTION = 0.95


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
    first_look: Collection[int] | None = None,
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
    :func:`compare_to_best`, which takes the candidates' ``tuning`` draws and, for a
    two-look verdict, the ``first_look`` seeds), and the top
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
        included,
        summary["recipe_label"].tolist(),
        metric=rank_by,
        tuning=tuning,
        first_look=first_look,
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
