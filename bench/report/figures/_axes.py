"""Axis rules the figures share: when a scale is logarithmic. Pure pandas, no matplotlib."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from bench._scales import LINEAR, LOG, LOG1M


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


def knob_scale(knob: str, values: pd.Series, spaces: Mapping[str, Mapping[str, Any]]) -> str:
    """The axis a searched knob is drawn on: ``log1m``, ``log`` or ``linear``.

    A range in the stored spec decides: drawn on log(1 - value) (``scale = "log1m"``, for
    any candidate that searched the knob) is drawn so, 0.9, 0.99 and 0.999 equally apart; a
    ``log`` range on a log axis; another range on a linear one. A list of values or no
    range in the spec: a log axis when the values are positive and span more than a
    decade.

    Example:
        >>> spaces = {"sgd": {"learning_rate": {"low": 1e-3, "high": 1.0, "log": True},
        ...                   "momentum": {"low": 0.5, "high": 0.99, "scale": "log1m"}}}
        >>> knob_scale("learning_rate", pd.Series([0.01, 0.02]), spaces)
        'log'
        >>> knob_scale("momentum", pd.Series([0.5, 0.9]), spaces)
        'log1m'
        >>> knob_scale("weight_decay", pd.Series([0.05, 0.9]), spaces)
        'log'
        >>> knob_scale("weight_decay", pd.Series([0.5, 0.9]), spaces)
        'linear'
    """
    ranges = [s[knob] for s in spaces.values() if isinstance(s.get(knob), Mapping)]
    if ranges:
        if any(r.get("scale") == LOG1M for r in ranges):
            return LOG1M
        return LOG if any(bool(r.get("log")) for r in ranges) else LINEAR
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    spans_decades = len(numbers) and (numbers > 0).all() and numbers.max() > 10 * numbers.min()
    return LOG if spans_decades else LINEAR
