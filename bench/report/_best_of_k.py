"""Expected best validation score after k tuning trials, from a candidate's tuning draws.

Dodge et al. (2019), "Show Your Work: Improved Reporting of Experimental Results": how
good a candidate looks depends on how many settings it was allowed to try, so report the
expected best validation score as a function of the budget k, not only at the budget used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bench._ranking import rank_key

#: The columns of :func:`expected_best_of_k`'s frame.
BEST_OF_K_COLUMNS = ("k", "expected", "sd", "low", "high")


def expected_best_of_k(
    scores: Sequence[float],
    *,
    direction: str = "maximize",
    failed: int = 0,
    failure_score: float = math.nan,
) -> pd.DataFrame:
    """The expected best score of k draws taken from ``scores``, k = 1..n, and its spread.

    ``scores`` are a candidate's finished tuning trials' objective values; ``failed`` more
    draws found nothing (pruned, diverged, crashed), nor does a score that is not finite:
    they rank below every finished draw, as the tuning protocol never chooses one, and
    score ``failure_score`` when all k draws failed (NaN, where the objective has no such
    score, leaves those k without a value).

    The k draws are taken *without replacement*, every k-subset of the n draws equally
    likely: the mean over subsets is the unbiased estimate of the best of k fresh draws
    (a U-statistic) for every k up to n, and at k = n it is the best the candidate
    actually found, the draw its final seeds rerun. Dodge et al. draw with replacement
    (the empirical distribution function to the power k), which is biased towards the
    middle and reaches the observed best only as k grows without bound. The i-th worst
    of n draws is the best of a k-subset with probability C(i-1, k-1) / C(n, k); ``sd``
    is the standard deviation of the best over the k-subsets (how far luck in which
    draws were taken moves it; zero at k = n), both exact, no sampling. ``low`` and
    ``high`` are ``expected`` ∓ ``sd`` clipped to the draws' range, which the best of k
    never leaves.

    Example:
        >>> expected_best_of_k([0.1, 0.2, 0.3]).round(4)
           k  expected      sd     low    high
        0  1    0.2000  0.0816  0.1184  0.2816
        1  2    0.2667  0.0471  0.2195  0.3000
        2  3    0.3000  0.0000  0.3000  0.3000
        >>> expected_best_of_k([0.3, 0.1], direction="minimize", failed=1,
        ...                    failure_score=0.9)["expected"].round(4).tolist()
        [0.4333, 0.1667, 0.1]
    """
    ranked = _worst_first(scores, direction=direction, failed=failed, failure_score=failure_score)
    n = len(ranked)
    if n == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in BEST_OF_K_COLUMNS})
    weights = _best_position_probabilities(n)
    expected = _weighted_sum(weights, ranked)
    second = _weighted_sum(weights, ranked**2)
    sd = np.sqrt(np.clip(second - expected**2, 0.0, None))
    bottom, top = np.nanmin(ranked), np.nanmax(ranked)
    return pd.DataFrame(
        {
            "k": np.arange(1, n + 1),
            "expected": expected,
            "sd": sd,
            "low": np.clip(expected - sd, bottom, top),
            "high": np.clip(expected + sd, bottom, top),
        }
    )


def _worst_first(
    scores: Sequence[float], *, direction: str, failed: int, failure_score: float
) -> np.ndarray:
    """The draws' scores from the worst to the best: failures first, then by the objective."""
    finished = [float(s) for s in scores if math.isfinite(float(s))]
    failed += len(scores) - len(finished)
    # rank_key orders best first; the index breaks ties, which cannot change a score.
    best_first = sorted(
        range(len(finished)), key=lambda i: rank_key(finished[i], i, direction=direction)
    )
    ordered = [finished[i] for i in reversed(best_first)]
    return np.array([failure_score] * failed + ordered, dtype=float)


def _best_position_probabilities(n: int) -> np.ndarray:
    """``P[k - 1, i]``: the chance that the (i+1)-th worst draw is the best of k of n.

    From the distribution function P(best of k is among the i worst) = C(i, k) / C(n, k)
    = prod_{j<k} (i - j) / (n - j), a product of fractions at most one (no overflow).
    """
    i = np.arange(n + 1, dtype=float)[:, None]
    j = np.arange(n, dtype=float)[None, :]
    cdf = np.cumprod(np.clip(i - j, 0.0, None) / (n - j), axis=1)  # [i, k - 1]
    return np.diff(cdf, axis=0).T


def _weighted_sum(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    # A position that cannot be the best adds nothing, even a NaN failure score.
    return np.where(weights > 0, weights * values[None, :], 0.0).sum(axis=1)
