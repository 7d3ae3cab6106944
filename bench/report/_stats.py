"""What the trials that count say per recipe: means, intervals, tests and targets.

Every statistic a report shows is computed here (ROC curves in :mod:`bench.report._roc`);
which trials count is decided in :mod:`bench.report._selection`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 0.05
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

TEST_NAME = (
    "paired t-test over the seeds both share (Welch's t-test where they share none), on the "
    "log-odds of a metric bounded by 0 and 1"
)
#: Where a bounded metric is clipped before its log-odds: a seed at 1.0 counts as 0.999.
LOGIT_CLIP = 1e-3
CORRECTION_NAME = "Holm–Bonferroni"


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


def summarize(included: pd.DataFrame, *, rank_by: str = "test_auc") -> pd.DataFrame:
    """One row per recipe: n, its seeds, its failed seeds, and the mean, sd and 95% t
    interval of each summary metric (the interval clipped to the metric's range,
    :data:`METRIC_RANGES`: an AUC's never passes 1).

    A row of ``included`` with a non-empty ``failure`` is a failed seed scored as chance
    (see :func:`bench.report._selection.verdict_values`): it counts in ``n`` and in every
    mean it has a value for; ``n_failed`` and ``failures`` (``"2 diverged"``) say how
    many failed and how.

    The recipe's settings come first: ``candidate`` (under a tuning protocol), its sampled
    ``params_<field>`` and the ``tuned_<knob>`` values its final seeds reran with.

    Each of :data:`COUNT_METRICS` also gets ``<metric>_values``: its per-seed values in
    seed order (``"12 19"``), which the leaderboard shows instead of a t interval when
    fewer than :data:`MIN_INTERVAL_N` seeds ran.
    Rows are ranked by the mean of ``rank_by``, highest first (every ranked metric is
    better higher), and each recipe is compared with the best one (see
    :func:`compare_to_best`). ``included`` holds only the trials that count (see
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
    summary.insert(0, "rank", np.arange(1, len(summary) + 1))
    summary = summary.rename_axis("recipe_label").reset_index()
    comparison = compare_to_best(included, summary["recipe_label"].tolist(), metric=rank_by)
    return summary.merge(comparison, on="recipe_label", how="left")


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
    included: pd.DataFrame, ranked_labels: Sequence[str], *, metric: str = "test_auc"
) -> pd.DataFrame:
    """Test each recipe's per-seed ``metric`` against the best (first) recipe's.

    Seeds pair up: one seed gives two recipes the same initial weights and data order, so
    the test is a paired t-test (two-sided) over the seeds both recipes have, on the
    log-odds of a metric bounded by 0 and 1 (:func:`_log_odds`), and
    Welch's unequal-variances t-test only where they share fewer than 2 seeds (or the
    trials carry no ``seed``). The p-values of all the comparisons are corrected
    together with :func:`holm`: ``p_holm >= 0.05`` means the recipe is not told apart
    from the best. With fewer than 2 seeds on either side the comparison is ``not
    testable`` (and not counted in the correction). Returns columns ``recipe_label``,
    ``p_value`` (uncorrected), ``p_holm`` and ``vs_best`` (``best`` /
    ``indistinguishable`` / ``worse`` / ``not testable``).

    Example:
        >>> included = pd.DataFrame(
        ...     {
        ...         "recipe_label": ["a", "a", "a", "b", "b", "b", "c"],
        ...         "seed": [1, 2, 3, 1, 2, 3, 1],
        ...         "test_auc": [0.90, 0.91, 0.92, 0.89, 0.91, 0.93, 0.5],
        ...     }
        ... )
        >>> compared = compare_to_best(included, ["a", "b", "c"]).round(2)
        >>> compared[["recipe_label", "p_holm", "vs_best"]]
          recipe_label  p_holm            vs_best
        0            a     NaN               best
        1            b    0.88  indistinguishable
        2            c     NaN       not testable
    """
    scale = _log_odds if METRIC_RANGES.get(metric) == (0.0, 1.0) else _identity
    values = {
        label: scale(_per_seed(group, metric))
        for label, group in included.groupby("recipe_label", sort=False)
    }
    empty = pd.Series(dtype=float)
    best = values.get(ranked_labels[0], empty) if ranked_labels else empty
    p_values = [
        _p_vs_best(best, values.get(label, empty)) if position else math.nan
        for position, label in enumerate(ranked_labels)
    ]
    adjusted = holm(p_values)
    verdicts = ["best" if position == 0 else _verdict(p) for position, p in enumerate(adjusted)]
    return pd.DataFrame(
        {
            "recipe_label": pd.Series(list(ranked_labels), dtype=object),
            "p_value": p_values,
            "p_holm": adjusted,
            "vs_best": verdicts,
        }
    )


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


def _identity(values: pd.Series) -> pd.Series:
    return values


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm–Bonferroni step-down adjusted p-values; NaN entries are not comparisons.

    The i-th smallest of m p-values is multiplied by ``m - i`` (i from 0), the running
    maximum keeps the order, and nothing exceeds 1. Rejecting where the adjusted value is
    below α controls the family-wise error rate at α. (scipy's
    ``false_discovery_control`` is Benjamini–Hochberg, a different guarantee.)

    Example:
        >>> holm([0.01, 0.04, 0.03, 0.005]).round(4).tolist()
        [0.03, 0.06, 0.06, 0.02]
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, math.nan)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    factors = len(order) - np.arange(len(order))
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(factors * p[order]))
    return adjusted


def _p_vs_best(best: pd.Series, other: pd.Series) -> float:
    """The two-sided p-value of ``other`` against ``best``: paired over their shared seeds,
    else Welch's; NaN (not testable) with fewer than 2 values on a side."""
    if len(best) < 2 or len(other) < 2:
        return math.nan
    shared = best.index.intersection(other.index)
    paired = best.index.name == other.index.name == "seed" and len(shared) >= 2
    a, b = (best[shared], other[shared]) if paired else (best, other)
    spread = (a - b).std() if paired else max(a.std(), b.std())
    if not spread > 0:
        # No spread: the t statistic is undefined; compare the means.
        return 1.0 if np.isclose(a.mean(), b.mean()) else 0.0
    with warnings.catch_warnings():
        # A side of identical values (failed seeds all at chance) is a valid sample; scipy
        # warns about precision there, and the p-value is still right.
        warnings.simplefilter("ignore", RuntimeWarning)
        if paired:
            return float(stats.ttest_rel(a.to_numpy(), b.to_numpy()).pvalue)
        return float(stats.ttest_ind(a.to_numpy(), b.to_numpy(), equal_var=False).pvalue)


def _verdict(p_holm: float) -> str:
    if math.isnan(p_holm):
        return "not testable"
    return "indistinguishable" if p_holm >= ALPHA else "worse"


@dataclass(frozen=True)
class TimeToTarget:
    """When each trial first reached the validation-AUC target.

    Attributes:
        target: The validation AUC to reach.
        best_final: The best recipe's mean final validation AUC the target derives from.
        fraction: ``target / best_final``.
        per_trial: One row per included trial: ``number``, ``recipe_label``, ``seed``,
            ``epochs`` and ``seconds`` to target (``inf`` when never reached), and their
            performance ratios ``epochs_ratio`` / ``seconds_ratio`` (time / the fastest
            trial's time).
        per_recipe: One row per recipe: ``reached`` (trials that got there), ``n``,
            ``epochs_median`` and ``seconds_median`` over all its trials (``inf`` when
            fewer than half reached it).
    """

    target: float
    best_final: float
    fraction: float
    per_trial: pd.DataFrame
    per_recipe: pd.DataFrame


def time_to_target(included: pd.DataFrame, histories: pd.DataFrame) -> TimeToTarget | None:
    """Epochs and seconds each trial needs to first reach a validation-AUC target.

    The target is :data:`TARGET_FRACTION` of the best recipe's mean final validation AUC
    (the AUC of the kept weights), in the manner of MLCommons AlgoPerf. Returns ``None``
    when no trial has a validation AUC.

    Example:
        >>> included = pd.DataFrame(
        ...     {"number": [0, 1], "recipe_label": ["fast", "slow"], "seed": [0, 0],
        ...      "val_auc": [0.90, 0.88]}
        ... )
        >>> histories = pd.DataFrame(
        ...     {"number": [0, 0, 1, 1], "epoch": [1, 2, 1, 2],
        ...      "val_auc": [0.86, 0.90, 0.70, 0.88], "time_s": [10.0, 20.0, 12.0, 24.0]}
        ... )
        >>> result = time_to_target(included, histories)
        >>> round(result.target, 3)
        0.855
        >>> result.per_recipe[["recipe_label", "reached", "epochs_median"]]
          recipe_label  reached  epochs_median
        0         fast        1            1.0
        1         slow        1            2.0
    """
    finals = included.groupby("recipe_label")["val_auc"].mean()
    if finals.dropna().empty or histories.empty:
        return None
    best_final = float(finals.max())
    target = TARGET_FRACTION * best_final
    curves = histories[histories["number"].isin(included["number"])]
    hits = (
        curves[curves["val_auc"] >= target]
        .sort_values(["number", "epoch"])
        .groupby("number")[["epoch", "time_s"]]
        .first()
        .rename(columns={"epoch": "epochs", "time_s": "seconds"})
    )
    per_trial = included[["number", "recipe_label", "seed"]].merge(
        hits, left_on="number", right_index=True, how="left"
    )
    per_trial["epochs"] = per_trial["epochs"].astype(float).fillna(math.inf)
    per_trial["seconds"] = per_trial["seconds"].astype(float).fillna(math.inf)
    for unit in ("epochs", "seconds"):
        fastest = per_trial[unit].min()
        ratio = per_trial[unit] / fastest if 0 < fastest < math.inf else math.inf
        per_trial[f"{unit}_ratio"] = ratio
    grouped = per_trial.groupby("recipe_label", sort=False)
    per_recipe = pd.DataFrame(
        {
            "reached": grouped["epochs"].agg(lambda s: int(np.isfinite(s).sum())),
            "n": grouped.size(),
            # The median over all seeds, never-reached ones counted as infinite, so a recipe
            # that usually misses the target does not look fast from its one lucky seed.
            "epochs_median": grouped["epochs"].median(),
            "seconds_median": grouped["seconds"].median(),
        }
    ).reset_index()
    return TimeToTarget(
        target=target,
        best_final=best_final,
        fraction=TARGET_FRACTION,
        per_trial=per_trial,
        per_recipe=per_recipe,
    )


def performance_profile(
    ratios: pd.DataFrame, *, column: str, taus: np.ndarray | None = None
) -> pd.DataFrame:
    """The fraction of each recipe's trials with performance ratio <= tau, per tau.

    ``taus`` defaults to every observed ratio, from 1 to a little past the largest.

    Example:
        >>> ratios = pd.DataFrame({"recipe_label": ["a", "a", "b"], "ratio": [1.0, 3.0, 2.0]})
        >>> profile = performance_profile(ratios, column="ratio", taus=np.array([1.0, 2.0]))
        >>> profile
          recipe_label  tau  fraction
        0            a  1.0       0.5
        1            a  2.0       0.5
        2            b  1.0       0.0
        3            b  2.0       1.0
    """
    finite = ratios[column][np.isfinite(ratios[column])]
    if taus is None:
        top = max(float(finite.max()) * 1.1 if len(finite) else 2.0, 1.25)
        taus = np.unique(np.concatenate([[1.0], finite.to_numpy(), [top]]))
    rows = []
    for label, group in ratios.groupby("recipe_label", sort=False):
        values = np.sort(group[column].to_numpy(dtype=float))
        fractions = np.searchsorted(values, taus, side="right") / len(values)
        rows.append(pd.DataFrame({"recipe_label": label, "tau": taus, "fraction": fractions}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
