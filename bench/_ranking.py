"""The one rule for "best": by the study's objective, ties to the earlier trial, and a
trial without a finite objective value never best. The tuning protocol, the report, the
progress line of ``bench run`` and its main process's reading of the storage all order
trials with :func:`rank_key` (:func:`best_of` picks one).

Example:
    >>> trials = [(0, 0.8), (1, 0.9), (2, 0.9), (3, None)]
    >>> min(trials, key=lambda t: rank_key(t[1], t[0], direction="maximize"))
    (1, 0.9)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal, Protocol, TypeVar

Direction = Literal["maximize", "minimize"]


class _Ranked(Protocol):
    number: int
    value: float | None


_T = TypeVar("_T", bound=_Ranked)


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


def best_of(trials: Iterable[_T], *, direction: str) -> _T | None:
    """The best of ``trials`` by :func:`rank_key`; None when none has a finite value.

    Example:
        >>> from types import SimpleNamespace as Trial
        >>> trials = [Trial(number=0, value=0.8), Trial(number=1, value=0.9),
        ...           Trial(number=2, value=0.9), Trial(number=3, value=None)]
        >>> best_of(trials, direction="maximize").number
        1
        >>> best_of(trials[3:], direction="maximize") is None
        True
    """
    best = min(trials, key=lambda t: rank_key(t.value, t.number, direction=direction), default=None)
    if best is None or rank_key(best.value, best.number, direction=direction)[0] == math.inf:
        return None
    return best
