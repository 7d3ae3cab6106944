"""When each recipe reached the validation-AUC target, and the performance profile drawn
from those times (the time-to-target figure's data)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.report._stats import TARGET_FRACTION


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
