"""The significance tests behind the verdict, and the power they have: the studentized
range critical value a comparison with the best is judged against, the exact failure-rate
test, and how many seeds a difference needs."""

from __future__ import annotations

import functools
import math

from scipy import stats

ALPHA = 0.05
#: The level of each of a two-look verdict's looks (a spec's ``second_look_seeds``):
#: Bonferroni over the two, so that two chances to mark a recipe worse keep :data:`ALPHA`.
LOOK_ALPHA = ALPHA / 2


@functools.lru_cache(maxsize=1024)
def range_critical_t(*, candidates: int, df: float, level: float = ALPHA) -> float:
    """The t a recipe must trail the best by to be ``worse`` on the metric: the studentized
    range's upper ``level`` quantile for ``candidates`` means over ``√2``.

    With 2 recipes this is the two-sided t quantile: the best is the larger of the two,
    so trailing it is as likely under a tie as either sign of a two-sided test.

    Example:
        >>> round(range_critical_t(candidates=2, df=4), 4), round(float(stats.t.isf(0.025, 4)), 4)
        (2.7764, 2.7764)
        >>> round(range_critical_t(candidates=8, df=4), 2)
        5.19
    """
    return float(stats.studentized_range.isf(level, candidates, df)) / math.sqrt(2)


def range_p_value(t: float, *, candidates: int, df: float) -> float:
    """The p-value of a recipe ``t`` standard errors below the best, one of ``candidates``
    compared: how often the largest studentized gap among that many tied recipes is this
    large. 1 when the recipe is not below the best (``t <= 0``).

    Example:
        >>> p = range_p_value(3.0, candidates=2, df=4)
        >>> round(p, 4), round(float(2 * stats.t.sf(3.0, 4)), 4)
        (0.0399, 0.0399)
        >>> range_p_value(-1.0, candidates=8, df=4)
        1.0
    """
    if not t > 0:
        return 1.0
    return float(stats.studentized_range.sf(t * math.sqrt(2), candidates, df))


def failure_p_value(
    failed: int, n: int, best_failed: int, best_n: int, *, candidates: int
) -> float:
    """The corrected p-value of "fails more often than the best": ``failed`` of ``n`` seeds
    against the best's ``best_failed`` of ``best_n``, by a one-sided Boschloo exact test
    (uniformly more powerful than Fisher's), Bonferroni-corrected over the
    ``candidates (candidates - 1) / 2`` pairs any of which could have been "a recipe and the
    best". 1 when its failure rate is not above the best's; NaN when a side has no seed.

    Example:
        >>> round(failure_p_value(5, 5, 0, 5, candidates=2), 5)
        0.00098
        >>> round(failure_p_value(5, 5, 0, 5, candidates=8), 4)
        0.0273
        >>> failure_p_value(1, 5, 2, 5, candidates=8)
        1.0
    """
    if n < 1 or best_n < 1:
        return math.nan
    if failed * best_n <= best_failed * n:
        return 1.0
    pairs = candidates * (candidates - 1) // 2
    return min(1.0, max(pairs, 1) * _boschloo_greater(failed, n, best_failed, best_n))


@functools.lru_cache(maxsize=1024)
def _boschloo_greater(failed: int, n: int, best_failed: int, best_n: int) -> float:
    table = [[failed, n - failed], [best_failed, best_n - best_failed]]
    return float(stats.boschloo_exact(table, alternative="greater").pvalue)


def power_vs_best(difference: float, *, sd: float, n: int, candidates: int) -> float:
    """How often a recipe ``difference`` below the best (on the test's scale) is marked
    ``worse`` on the metric by a paired test over ``n`` seeds, when the per-seed difference
    has standard deviation ``sd`` and ``candidates`` recipes are compared: the noncentral t
    (``scipy.stats.nct``) beyond :func:`range_critical_t`.

    Example (the spread of the built-in ``optimizers`` study, on AUC's scale):
        >>> round(power_vs_best(0.05, sd=0.017, n=2, candidates=8), 3)
        0.103
        >>> round(power_vs_best(0.05, sd=0.017, n=5, candidates=8), 3)
        0.8
    """
    if n < 2:
        return 0.0
    df = n - 1
    critical = range_critical_t(candidates=candidates, df=df)
    return float(stats.nct.sf(critical, df, difference / sd * math.sqrt(n)))


def seeds_for_power(
    difference: float, *, sd: float, candidates: int, power: float = 0.8, most: int = 200
) -> int | None:
    """The fewest seeds at which :func:`power_vs_best` reaches ``power``; ``None`` past
    ``most``.

    Example:
        >>> seeds_for_power(0.05, sd=0.017, candidates=8)
        6
        >>> seeds_for_power(0.10, sd=0.11, candidates=8)
        22
    """
    for n in range(2, most + 1):
        if power_vs_best(difference, sd=sd, n=n, candidates=candidates) >= power:
            return n
    return None
