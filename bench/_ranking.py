"""The one rule for "best": by the study's objective, ties to the earlier trial, and a
trial without a finite objective value never best. The tuning protocol, the console and
the report all order trials with :func:`rank_key`.

Example:
    >>> trials = [(0, 0.8), (1, 0.9), (2, 0.9), (3, None)]
    >>> min(trials, key=lambda t: rank_key(t[1], t[0], direction="maximize"))
    (1, 0.9)
"""

from __future__ import annotations

import math
from typing import Literal

Direction = Literal["maximize", "minimize"]


def rank_key(value: float | None, number: int, *, direction: str) -> tuple[float, int]:
    """A sort key: the smallest key is the best trial.

    Example:
        >>> rank_key(0.9, 4, direction="maximize") < rank_key(0.8, 1, direction="maximize")
        True
        >>> rank_key(None, 0, direction="minimize")
        (inf, 0)
    """
    if value is None or not math.isfinite(value):
        return (math.inf, number)
    return (-value if direction == "maximize" else value, number)
