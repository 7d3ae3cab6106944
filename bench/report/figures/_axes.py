"""Axis rules the figures share: when a scale is logarithmic. Pure pandas, no matplotlib."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd


def rate_scale(rates: pd.Series, *, lines: pd.Series | None = None) -> str:
    """The y scale for learning rates: ``log`` when they span more than a decade.

    Rates of 0 (a schedule's end) have no logarithm. With a 0 among them the axis is
    ``symlog`` (linear near 0) only when the ``lines``' peak rates span more than a
    decade, a 1e-4 rate next to 0.01; one schedule decaying to 0 stays linear.

    Example:
        >>> rate_scale(pd.Series([1e-4, 1e-2])), rate_scale(pd.Series([1e-3, 5e-4]))
        ('log', 'linear')
        >>> cosine = pd.Series([1e-3, 5e-4, 0.0])
        >>> rate_scale(cosine, lines=pd.Series(["a", "a", "a"]))
        'linear'
        >>> rate_scale(pd.Series([1e-2, 0.0, 1e-4, 0.0]), lines=pd.Series(["a", "a", "b", "b"]))
        'symlog'
    """
    positive = rates[rates > 0]
    if positive.empty or positive.max() <= 10 * positive.min():
        return "linear"
    if len(positive) == len(rates):
        return "log"
    peaks = rates.groupby(lines if lines is not None else pd.Series(0, index=rates.index)).max()
    peaks = peaks[peaks > 0]
    return "symlog" if peaks.max() > 10 * peaks.min() else "linear"


def knob_is_log(knob: str, values: pd.Series, spaces: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether to draw a searched knob on a log axis.

    A range in the stored spec decides (``log`` true or false, for any candidate that
    searched the knob); a list of values or no range in the spec: when the values are
    positive and span more than a decade.

    Example:
        >>> spaces = {"sgd": {"learning_rate": {"low": 1e-3, "high": 1.0, "log": True}}}
        >>> knob_is_log("learning_rate", pd.Series([0.01, 0.02]), spaces)
        True
        >>> knob_is_log("momentum", pd.Series([0.05, 0.9]), spaces)
        True
        >>> knob_is_log("momentum", pd.Series([0.5, 0.9]), spaces)
        False
    """
    ranges = [s[knob] for s in spaces.values() if isinstance(s.get(knob), Mapping)]
    if ranges:
        return any(bool(r.get("log")) for r in ranges)
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    return bool(len(numbers) and (numbers > 0).all() and numbers.max() > 10 * numbers.min())
