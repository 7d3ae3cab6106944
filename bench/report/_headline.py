"""The verdict in words: the top group, the recipes ranked above worse ones of higher mean
and why, the worse ones with their reasons, and those not testable."""

from __future__ import annotations

import pandas as pd

from bench.report._compare import NOT_TESTABLE, TOP_GROUP, WORSE
from bench.report._labels import diff_text, display_label, format_interval
from bench.report._metrics import SUMMARY_METRICS


def _named_with_value(row: pd.Series, ranked_by: str) -> str:
    """``adam (0.910 [0.783, 1.000], n=2)``; ``adam (0.776 (n=1))`` without an interval."""
    n = int(row["n"])
    low, high = row[f"{ranked_by}_ci_low"], row[f"{ranked_by}_ci_high"]
    interval = format_interval(row[f"{ranked_by}_mean"], low, high, n)
    count = "" if pd.isna(low) or pd.isna(high) else f", n={n}"
    return f"{display_label(row['recipe_label'])} ({interval}{count})"


def verdict_headline(summary: pd.DataFrame, *, ranked_by: str | None = None) -> str:
    """The verdict in words: the top group (the highest mean and every recipe not told
    apart from it), then those that are worse; never a single winner the seeds cannot
    back up. ``ranked_by`` defaults to the metric the leaderboard was ranked by.

    Example:
        >>> from bench.report._example import example_storage
        >>> from bench.report import study_leaderboard
        >>> print(verdict_headline(study_leaderboard("demo", storage=example_storage())))
        Top group by mean validation AUC: adam (0.910 [0.783, 1.000], n=2). Worse: sgd (metric).
    """
    if summary.empty:
        return ""
    ranked_by = ranked_by or summary.attrs.get("ranked_by") or "val_auc"
    metric = SUMMARY_METRICS.get(ranked_by, ranked_by)
    noun = "candidates" if "candidate" in summary.columns else "recipes"

    def named(rows: pd.DataFrame, *, values: bool) -> str:
        if rows.empty:
            return "none"
        if not values:
            return ", ".join(display_label(label) for label in rows["recipe_label"])
        return ", ".join(_named_with_value(row, ranked_by) for _, row in rows.iterrows())

    top = summary[summary["vs_best"].isin(TOP_GROUP)]
    text = f"Top group by mean {metric}: {named(top, values=True)}."
    if len(top) > 1:
        text += (
            f" These {len(top)} {noun} are not told apart by the seeds (metric and "
            "failures, corrected for choosing the best): their order is not resolved."
        )
    text += _above_higher_means(summary, ranked_by=ranked_by)
    worse = summary[summary["vs_best"] == WORSE]
    text += f" Worse: {_worse_words(worse)}."
    if "within_luck" in worse.columns and worse["within_luck"].eq(True).any():
        within = worse[worse["within_luck"].eq(True)]
        text += (
            f" Within tuning luck: {named(within, values=False)} (worse on the settings "
            "tuning chose, but not beyond the spread of the best of the tuning draws: "
            "another tuning run could reverse it)."
        )
    untested = summary[summary["vs_best"] == NOT_TESTABLE]
    if not untested.empty:
        text += f" Not testable (fewer than 2 seeds): {named(untested, values=False)}."
    return text


def _worse_words(worse: pd.DataFrame) -> str:
    """``sgd (metric), lion (failures)``: each worse recipe with what made it worse."""
    if worse.empty:
        return "none"
    reasons = worse["worse_by"] if "worse_by" in worse.columns else [""] * len(worse)
    return ", ".join(
        display_label(label) + (f" ({why})" if why else "")
        for label, why in zip(worse["recipe_label"], reasons, strict=True)
    )


def _above_higher_means(summary: pd.DataFrame, *, ranked_by: str) -> str:
    """The sentence saying why top-group recipes rank above worse ones of higher mean: a
    verdict asks whether the interval of a recipe's difference to the best reaches 0
    (seeds that vary widely, or few of them, keep it there at a low mean), and it judges
    failed seeds, which a mean counts as chance, apart."""
    mean = summary[f"{ranked_by}_mean"]
    worse = summary["vs_best"] == WORSE
    if not worse.any():
        return ""
    lifted = summary[summary["vs_best"].isin(TOP_GROUP) & (mean < mean[worse].max())]
    if lifted.empty:
        return ""
    names = ", ".join(_lifted_words(row) for _, row in lifted.iterrows())
    text = (
        f" Ranked above worse recipes of higher mean: {names}. A verdict asks whether the "
        "interval of a recipe's difference to the best reaches 0, not how low its mean is"
    )
    if (lifted["n_failed"] > 0).any():
        text += (
            "; failed seeds, scored as chance in a mean, are judged apart by how often they fail"
        )
    return text + "."


def _lifted_words(row: pd.Series) -> str:
    """``adam (1 of 5 seeds failed; -0.012 [-0.031, +0.004] to the best)``."""
    reasons = []
    if row["n_failed"] > 0:
        reasons.append(f"{int(row['n_failed'])} of {int(row['n'])} seeds failed")
    difference = diff_text(
        row.get("diff_to_best"), row.get("diff_to_best_low"), row.get("diff_to_best_high")
    )
    if difference != "–":
        reasons.append(f"{difference} to the best")
    label = display_label(row["recipe_label"])
    return f"{label} ({'; '.join(reasons)})" if reasons else label
