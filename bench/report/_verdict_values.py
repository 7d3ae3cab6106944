"""The values a verdict is computed from: each judged seed's metric, a failed seed scored
as chance (the trials that count are chosen in :mod:`bench.report._selection`)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from bench.report._selection import CHANCE_AUC, FAILURE_ENDINGS


def chance_score(column: str, *, majority_rate: Mapping[str, float]) -> float | None:
    """What a failed run scores on metric ``column`` (``<split>_<metric>``): chance for AUC,
    the split's majority-class rate for accuracy (NaN where it is not stored); ``None``
    for a metric without a chance level (loss) or a column that is not a split's metric.

    Example:
        >>> rate = {"val": 0.6}
        >>> [chance_score(c, majority_rate=rate) for c in ("val_auc", "val_accuracy", "val_loss")]
        [0.5, 0.6, None]
    """
    split, _, metric = column.partition("_")
    if split not in ("train", "val", "test"):
        return None
    if metric == "auc":
        return CHANCE_AUC
    if metric == "accuracy":
        return float(majority_rate.get(split, float("nan")))
    return None


def verdict_values(
    included: pd.DataFrame, missing: pd.DataFrame, *, majority_rate: Mapping[str, float]
) -> pd.DataFrame:
    """The rows a verdict averages: every trial that counts, and one row per failed seed
    (``missing`` seeds whose latest attempt ended in one of :data:`FAILURE_ENDINGS`),
    scored as chance and, under a tuning protocol, named by its ``candidate``. ``failure``
    names how a seed failed (``""`` for a trial that counts).

    Example:
        >>> included = pd.DataFrame(
        ...     {"recipe_label": ["adam"], "seed": [1], "val_auc": [0.9], "val_accuracy": [0.8]}
        ... )
        >>> missing = pd.DataFrame(
        ...     {"recipe_label": ["adam", "adam"], "seed": [2, 3], "why": ["diverged", "running"]}
        ... )
        >>> verdict_values(included, missing, majority_rate={"val": 0.6})
          recipe_label  seed  val_auc  val_accuracy   failure
        0         adam     1      0.9           0.8
        1         adam     2      0.5           0.6  diverged
    """
    failed = missing[missing["why"].isin(FAILURE_ENDINGS)]
    rows = pd.DataFrame(
        {"recipe_label": failed["recipe_label"].to_numpy(), "seed": failed["seed"].to_numpy()}
    )
    if "candidate" in included.columns:
        # A verdict row's label is its candidate (verdict_trials): a candidate whose every
        # seed failed has no other row to take it from.
        rows["candidate"] = rows["recipe_label"]
    for column in included.columns:
        score = chance_score(column, majority_rate=majority_rate)
        if score is not None:
            rows[column] = score
    rows["failure"] = failed["why"].to_numpy()
    counted_rows = included.assign(failure="")
    if rows.empty:
        return counted_rows
    return pd.concat([counted_rows, rows], ignore_index=True)
