"""The Excluded trials table and its sentence: every trial left out of the numbers, and
why."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from bench.report._labels import REASON_WORDS, display_label
from bench.report._selection import DUPLICATE, has_phases


def excluded_frame(trials: pd.DataFrame) -> pd.DataFrame:
    """The excluded trials, one row each, with why (and their phase under a protocol).

    Example:
        >>> trials = pd.DataFrame(
        ...     {
        ...         "number": [0, 1],
        ...         "state": ["COMPLETE", "FAIL"],
        ...         "excluded": ["", "failed"],
        ...         "recipe_label": ["adam", "sgd"],
        ...         "seed": pd.array([0, 1], dtype="Int64"),
        ...         "epochs_run": pd.array([3, None], dtype="Int64"),
        ...         "fail_reason": [None, "ValueError: bad input"],
        ...     }
        ... )
        >>> excluded_frame(trials)[["trial", "why", "recipe", "seed", "epochs run", "note"]]
           trial     why recipe seed epochs run                   note
        1      1  failed    sgd    1          –  ValueError: bad input
    """
    excluded = trials[trials["excluded"] != ""]
    phase = {"phase": excluded["phase"].fillna("–")} if has_phases(trials) else {}
    return pd.DataFrame(
        {
            "trial": excluded["number"],
            **phase,
            "state": excluded["state"],
            "why": excluded["excluded"].map(lambda r: REASON_WORDS.get(r, r)),
            "recipe": excluded["recipe_label"].map(display_label),
            "seed": _dash_missing(excluded["seed"]),
            "epochs run": _dash_missing(excluded["epochs_run"]),
            "note": excluded["fail_reason"].fillna("").astype(str).str.slice(0, 200),
        }
    )


def _dash_missing(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "–")


def excluded_sentence(excluded_counts: Mapping[str, int]) -> str:
    """What the Excluded trials table holds, from the count of trials per reason.

    Example:
        >>> excluded_sentence({"diverged": 2, "pruned": 0})[:11]
        '2 diverged.'
        >>> excluded_sentence({"duplicate": 1}).split(". ")[-1][:49]
        'A duplicate is a slot two workers claimed at once'
    """
    counts = [f"{c} {r}" for r, c in excluded_counts.items() if c]
    if not counts:
        return "None: every trial finished and counts."
    duplicates = (
        " A duplicate is a slot two workers claimed at once: the later claim stops before it "
        "trains, and the earlier one runs the slot."
        if excluded_counts.get(DUPLICATE)
        else ""
    )
    return (
        f"{', '.join(counts)}. These trials are listed here and never averaged into the "
        f"numbers or drawn in the figures.{duplicates}"
    )
