"""Expected best validation score after k tuning trials, from a candidate's tuning draws.

Dodge et al. (2019), "Show Your Work: Improved Reporting of Experimental Results": how
good a candidate looks depends on how many settings it was allowed to try, so report the
expected best validation score as a function of the budget k, not only at the budget used.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class TuningDraws:
    """A candidate's draws on its tuning seed: the objective ``scores`` of those that
    finished, how many ``failed`` (pruned, diverged, crashed), the score a failed draw
    stands for (``failure_score``, chance) and the objective's ``direction``.

    Example:
        >>> draws = TuningDraws(scores=(0.90, 0.95, 0.70), failed=1, failure_score=0.5)
        >>> len(draws), round(draws.resampled_best_sd(), 4)
        (4, 0.0651)
    """

    scores: tuple[float, ...]
    failed: int = 0
    failure_score: float = math.nan
    direction: str = "maximize"

    def __len__(self) -> int:
        return len(self.scores) + self.failed

    def resampled_best_sd(self, scale: Callable[[np.ndarray], np.ndarray] | None = None) -> float:
        """The candidate's *tuning luck*: the standard deviation of the best of n draws
        taken with replacement from its n draws, the bootstrap's estimate of how far
        another set of draws of the same budget would move the score of the one it
        chooses (on ``scale``'s scale, when given: the verdict's log-odds). Exact: the
        i-th worst of n is the best of a resample with probability (i/n)^n - ((i-1)/n)^n.
        NaN with fewer than 2 draws (nothing to resample).

        Each draw's score carries its tuning seed's noise as well as its setting's worth,
        so this overstates the luck of the setting alone: a verdict that widens its
        interval by it errs towards "not told apart".

        Example:
            >>> round(TuningDraws(scores=(0.1, 0.2, 0.3)).resampled_best_sd(), 4)
            0.0544
            >>> TuningDraws(scores=(0.8, 0.8)).resampled_best_sd()
            0.0
        """
        ranked = _worst_first(
            self.scores,
            direction=self.direction,
            failed=self.failed,
            failure_score=self.failure_score,
        )
        n = len(ranked)
        if n < 2:
            return math.nan
        if scale is not None:
            ranked = np.asarray(scale(ranked), dtype=float)
        position = np.arange(1, n + 1, dtype=float)
        weights = (position / n) ** n - ((position - 1) / n) ** n
        mean = float(np.sum(weights * ranked))
        return math.sqrt(max(float(np.sum(weights * ranked**2)) - mean**2, 0.0))


def tuning_draws(
    counted: pd.DataFrame,
    failed: pd.DataFrame,
    *,
    seed: int | None,
    direction: str,
    failure_score: float,
) -> dict[str, TuningDraws]:
    """Each candidate's :class:`TuningDraws` from its counted and failed tune-phase trials
    (with ``candidate``, ``seed`` and the objective ``value``), on the tuning ``seed``
    only: reruns of a draw on another seed (``confirm``) are no draws.

    Example:
        >>> counted = pd.DataFrame({"candidate": ["sgd", "sgd", "sgd"], "seed": [0, 0, 9],
        ...                         "value": [0.7, 0.8, 0.75]})
        >>> failed = pd.DataFrame({"candidate": ["sgd"], "seed": [0]})
        >>> tuning_draws(counted, failed, seed=0, direction="maximize", failure_score=0.5)
        {'sgd': TuningDraws(scores=(0.7, 0.8), failed=1, failure_score=0.5, direction='maximize')}
    """

    def on_tuning_seed(trials: pd.DataFrame) -> pd.DataFrame:
        if trials.empty or seed is None:
            return trials
        return trials[trials["seed"] == seed]

    counted, failed = on_tuning_seed(counted), on_tuning_seed(failed)
    scores: Mapping[str, list[float]] = (
        {str(c): g["value"].astype(float).tolist() for c, g in counted.groupby("candidate")}
        if not counted.empty
        else {}
    )
    failures: Mapping[str, int] = (
        {str(c): int(n) for c, n in failed["candidate"].value_counts().items()}
        if not failed.empty
        else {}
    )
    return {
        candidate: TuningDraws(
            scores=tuple(scores.get(candidate, ())),
            failed=failures.get(candidate, 0),
            failure_score=failure_score,
            direction=direction,
        )
        for candidate in sorted({*scores, *failures})
    }


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
