"""Labels and number formats: how recipes, verdicts, intervals and settings read.

Every rendering (HTML, Markdown, dashboard note, terminal table, figure text) takes its
words from here. Nothing here imports matplotlib.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Mapping
from typing import Any

import pandas as pd

from bench.report._compare import BEST, NOT_TESTABLE, TIED, WORSE
from bench.report._selection import (
    DIVERGED,
    DUPLICATE,
    FAILED,
    INCOMPLETE,
    PRUNED,
    QUEUED,
    RUNNING,
    TrialCounts,
)

#: Why a trial is excluded, as the Excluded trials table says it.
REASON_WORDS: dict[str, str] = {
    PRUNED: "pruned by the study's pruner",
    FAILED: "failed",
    DIVERGED: "diverged (non-finite loss)",
    RUNNING: "still running",
    QUEUED: "queued, not started",
    INCOMPLETE: "complete but stored without metrics",
    DUPLICATE: "duplicate: another worker had claimed the slot first, nothing trained",
}
#: The ``vs_best`` verdicts as the leaderboard's ``vs best`` column says them.
VERDICT_WORDS: dict[str, str] = {
    BEST: "best",
    TIED: "≈ best",
    WORSE: "worse",
    NOT_TESTABLE: "not testable (n<2)",
}
#: The ``vs_best`` verdicts as a leaderboard row's mark (the HTML row class).
ROW_MARKS: dict[str, str] = {BEST: "best", TIED: "tied"}
#: The ``vs_best`` verdicts as a prefix of a recipe's name in a figure.
FIGURE_MARKS: dict[str, str] = {BEST: "★ ", TIED: "≈ "}


def verdict_text(
    verdict: object, worse_by: object = "", *, look: object = None, within_luck: bool = False
) -> str:
    """A ``vs_best`` verdict in words, a worse one with what made it worse (``worse_by``:
    the metric, the failures or both), in a two-look verdict at which ``look``, and
    whether it is ``within_luck`` (not beyond its tuning luck); ``–`` for none.

    Example:
        >>> verdict_text("worse", "failures"), verdict_text("indistinguishable")
        ('worse (failures)', '≈ best')
        >>> verdict_text("worse", "metric, failures"), verdict_text(None)
        ('worse (metric, failures)', '–')
        >>> verdict_text("worse", "metric", look=2.0)
        'worse (metric, look 2)'
        >>> verdict_text("worse", "metric", within_luck=True)
        'worse (metric), within tuning luck'
    """
    words = VERDICT_WORDS.get(str(verdict), "–")
    if verdict == WORSE and isinstance(worse_by, str) and worse_by:
        at = f", look {int(look)}" if isinstance(look, (int, float)) and look == look else ""
        luck = ", within tuning luck" if within_luck else ""
        return f"{words} ({worse_by}{at}){luck}"
    return words


def diff_text(diff: float, low: float, high: float, *, decimals: int = 3) -> str:
    """A difference to the best with its interval, signed: ``-0.012 [-0.031, +0.004]``;
    ``–`` where there is none (the best itself, a recipe not testable).

    Example:
        >>> diff_text(-0.0123, -0.031, 0.0042)
        '-0.012 [-0.031, +0.004]'
        >>> diff_text(float("nan"), float("nan"), float("nan"))
        '–'
    """
    if any(v is None or pd.isna(v) for v in (diff, low, high)):
        return "–"
    return f"{diff:+.{decimals}f} [{low:+.{decimals}f}, {high:+.{decimals}f}]"


def display_label(label: str) -> str:
    """A recipe label as readers see it: the empty label of an unswept study is named.

    Example:
        >>> display_label(""), display_label("adam")
        ('(fixed recipe)', 'adam')
    """
    return label if label else "(fixed recipe)"


def mathtext_safe(value: object) -> str:
    """User text for matplotlib: a literal ``$`` would start mathtext.

    Example:
        >>> print(mathtext_safe("lr=$1"))
        lr=\\$1
    """
    return str(value).replace("$", r"\$")


def wrapped_label(label: str, *, width: int = 34) -> str:
    """A recipe label for a figure: named, mathtext-safe, wrapped at ``width`` characters.

    Example:
        >>> print(wrapped_label("optimizer=adamw patience=10", width=16))
        optimizer=adamw
        patience=10
    """
    return textwrap.fill(mathtext_safe(display_label(label)), width=width)


def format_interval(mean: float, low: float, high: float, n: int, *, decimals: int = 3) -> str:
    """``mean ± half-width`` of a 95% interval, ``mean [low, high]`` when the interval was
    clipped to the metric's range, or ``mean (n=1)`` when it is undefined.

    Example:
        >>> format_interval(0.8, 0.77, 0.83, 3)
        '0.800 ± 0.030'
        >>> format_interval(0.91, 0.783, 1.0, 2)
        '0.910 [0.783, 1.000]'
        >>> format_interval(0.8, float("nan"), float("nan"), 1)
        '0.800 (n=1)'
    """
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    if low is None or math.isnan(low) or math.isnan(high):
        return f"{mean:.{decimals}f} (n={n})"
    if abs((mean - low) - (high - mean)) > 10 ** -(decimals + 1):
        return f"{mean:.{decimals}f} [{low:.{decimals}f}, {high:.{decimals}f}]"
    return f"{mean:.{decimals}f} ± {(high - low) / 2:.{decimals}f}"


def format_values(values: object) -> str:
    """Per-seed values (``"12 19"`` as ``summarize`` stores them) as ``12, 19``.

    Example:
        >>> format_values("12 19"), format_values(None)
        ('12, 19', '–')
    """
    if values is None or (isinstance(values, float) and math.isnan(values)) or not values:
        return "–"
    return ", ".join(str(values).split())


def p_value_text(p_value: object) -> str:
    """A p-value to 2 significant digits, ``–`` when there is none.

    Example:
        >>> p_value_text(0.012345), p_value_text(float("nan"))
        ('0.012', '–')
    """
    return "–" if p_value is None or pd.isna(p_value) else f"{float(p_value):.2g}"


def objective_text(value: float) -> str:
    """An objective value to 4 decimals, ``–`` when there is none.

    Example:
        >>> objective_text(0.91234), objective_text(float("nan"))
        ('0.9123', '–')
    """
    return "–" if math.isnan(value) else f"{value:.4f}"


def settings_text(settings: Mapping[str, Any]) -> str:
    """Chosen settings in words, floats to 3 significant digits.

    Example:
        >>> settings_text({"learning_rate": 0.0031415, "nesterov": True})
        'learning_rate=0.00314, nesterov=True'
    """
    return ", ".join(f"{knob}={_value_text(value)}" for knob, value in settings.items())


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def pairs_text(mapping: Mapping[str, Any]) -> str:
    """A mapping as ``key: value`` pairs on one line, values as compact JSON.

    Example:
        >>> pairs_text({"optimizer": "adam", "seeds": [0, 1]})
        'optimizer: adam; seeds: [0, 1]'
    """
    return "; ".join(f"{k}: {compact_text(v)}" for k, v in mapping.items())


def compact_text(value: Any) -> str:
    """A value on one line: strings as they are, anything else as JSON.

    Example:
        >>> compact_text("tpe"), compact_text({"low": 0.1})
        ('tpe', '{"low": 0.1}')
    """
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def counts_text(counts: TrialCounts) -> str:
    """What a study's trials did, every trial counted once: tuning (under a protocol), in
    the verdict (failures it scores as chance named), then the rest by how they ended.

    Example:
        >>> print(counts_text(TrialCounts(
        ...     total=72, protocol=True, tuning={"": 47, "pruned": 1}, verdict={"": 24},
        ...     outside={},
        ... )))
        72 trials: 48 tuning (1 pruned), 24 in the verdict
        >>> print(counts_text(TrialCounts(
        ...     total=12, protocol=False, tuning={}, verdict={"": 9, "diverged": 1},
        ...     outside={"failed": 1, "running": 1},
        ... )))
        12 trials: 10 in the verdict (1 diverged, scored as chance), 1 failed, 1 running
        >>> print(counts_text(TrialCounts(
        ...     total=12, protocol=True, tuning={"": 4}, verdict={"": 4}, outside={},
        ...     defaults={"": 3, "diverged": 1},
        ... )))
        12 trials: 4 tuning, 4 in the verdict, 4 at defaults (1 diverged)
    """
    parts = []
    if counts.protocol:
        parts.append(f"{sum(counts.tuning.values())} tuning{_endings(counts.tuning)}")
    failures = _endings(counts.verdict, then=", scored as chance")
    parts.append(f"{sum(counts.verdict.values())} in the verdict{failures}")
    if counts.defaults:
        parts.append(f"{sum(counts.defaults.values())} at defaults{_endings(counts.defaults)}")
    parts.extend(f"{n} {why}" for why, n in counts.outside.items())
    return f"{counts.total} trials: {', '.join(parts)}"


def _endings(counts: Mapping[str, int], *, then: str = "") -> str:
    """`` (1 pruned, 2 diverged{then})`` for the counts other than ``""``; else nothing."""
    words = [f"{n} {why}" for why, n in counts.items() if why and n]
    return f" ({', '.join(words)}{then})" if words else ""


def missing_by_recipe(missing: pd.DataFrame) -> pd.Series:
    """Each recipe's missing seeds in words, from ``missing_seeds``' rows; neighbouring
    seeds missing for the same reason share it.

    Example:
        >>> missing = pd.DataFrame(
        ...     {"recipe_label": ["sgd", "sgd", "sgd"], "seed": [0, 2, 3],
        ...      "why": ["pruned", "not run yet", "not run yet"]}
        ... )
        >>> missing_by_recipe(missing).to_dict()
        {'sgd': '0 (pruned), 2 3 (not run yet)'}
    """

    def words(rows: pd.DataFrame) -> str:
        runs: list[tuple[list[str], str]] = []
        for seed, why in zip(rows["seed"], rows["why"], strict=True):
            if runs and runs[-1][1] == why:
                runs[-1][0].append(str(seed))
            else:
                runs.append(([str(seed)], why))
        return ", ".join(f"{' '.join(seeds)} ({why})" for seeds, why in runs)

    if missing.empty:
        return pd.Series(dtype=object)
    return pd.Series(
        {label: words(rows) for label, rows in missing.groupby("recipe_label", sort=False)},
        dtype=object,
    )
