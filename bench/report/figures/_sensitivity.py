"""Sensitivity to the tuned knobs: every tuning trial's objective against each knob."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bench._scales import LOG, LOG1M
from bench.report._labels import display_label, mathtext_safe
from bench.report._protocol import searched_knobs
from bench.report._selection import chosen_tuning_trials
from bench.report.figures._axes import knob_scale
from bench.report.figures._base import FigureInput, FigureText, objective_words, tuned_candidates
from bench.results import spec_search_spaces, spec_tuning

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class SensitivityInfo(FigureText):
    """What the sensitivity figure shows.

    Attributes:
        knobs: The numeric knobs searched, one panel each.
        knob_scales: Each knob's axis: ``linear``, ``log`` or ``log1m`` (see ``knob_scale``).
        tuning: The counted tuning trials with an objective value (the points).
        chosen: Each candidate's chosen tuning trial (the stars).
        candidates: The candidates, leaderboard order first, one colour each.
        y_label: The y axis label, naming the objective.
    """

    knobs: list[str]
    knob_scales: dict[str, str]
    tuning: pd.DataFrame
    chosen: pd.DataFrame
    candidates: list[str]
    y_label: str


def _numeric_knobs(tuning: pd.DataFrame) -> list[str]:
    knobs = searched_knobs(tuning)
    return [
        k
        for k in knobs
        if pd.api.types.is_numeric_dtype(tuning[f"params_{k}"].dropna().infer_objects())
        and not pd.api.types.is_bool_dtype(tuning[f"params_{k}"].dropna().infer_objects())
    ]


def _choice_words(data: FigureInput) -> str:
    plan = spec_tuning(data.results.spec)
    if plan is not None and plan.confirm:
        return (
            f" (of its {plan.confirm} best draws, also run on seed {plan.confirm_seed}, the "
            "one whose worse seed scored best)"
        )
    return " (its best tuning trial)"


def _get_sensitivity_info(data: FigureInput) -> SensitivityInfo | None:
    """The tuning trials per numeric searched knob; ``None`` without a tuning protocol.

    Example:
        >>> from bench.report._example import example_storage
        >>> from bench.report._report import figure_input
        >>> _get_sensitivity_info(figure_input("demo", storage=example_storage())) is None
        True
    """
    tuning = data.tuning.dropna(subset=["value"]) if not data.tuning.empty else data.tuning
    knobs = _numeric_knobs(tuning) if not tuning.empty else []
    if not knobs:
        return None
    scored = set(tuning["candidate"])
    spaces = spec_search_spaces(data.results.spec)
    y_label = objective_words(data)
    seeds = ", ".join(str(int(s)) for s in sorted(tuning["seed"].dropna().unique()))
    caption = (
        f"Sensitivity: the study {y_label} of every tuning trial (seed {seeds}) against each "
        "searched knob, one colour per candidate; the star is the value each candidate "
        f"chose{_choice_words(data)}, which its final seeds then rerun. Knobs searched on "
        "a log scale, or whose values span more than a decade, are drawn on a log axis, and "
        "those searched on log(1 - value) (momentum) so, 0.9, 0.99 and 0.999 equally apart. Read "
        "the shape around the star: a flat, wide optimum is a robust optimizer, one that "
        "does well without a lucky setting; a narrow peak means its result hangs on the "
        "tuning, and a star at the edge of the range says the range may be too narrow. "
        "Each point is one seed, so differences smaller than the final seeds' spread in the "
        "leaderboard are noise."
    )
    knob_scales = {
        knob: knob_scale(
            knob, tuning.loc[tuning[f"params_{knob}"].notna(), f"params_{knob}"], spaces
        )
        for knob in knobs
    }
    return SensitivityInfo(
        name="sensitivity",
        title="Sensitivity to the tuned knobs",
        caption=caption,
        knobs=knobs,
        knob_scales=knob_scales,
        tuning=tuning,
        chosen=chosen_tuning_trials(tuning, data.summary, direction=data.results.direction),
        candidates=[c for c in tuned_candidates(data) if c in scored],
        y_label=y_label,
    )


def draw_sensitivity(info: SensitivityInfo) -> Figure:
    """One scatter panel per knob, a colour per candidate, its choice as a star."""
    from bench.report.figures._style import palette, plt

    colors = palette(info.candidates)
    knobs = info.knobs
    ncols = min(3, len(knobs))
    nrows = math.ceil(len(knobs) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.3 * ncols, 3.5 * nrows), sharey=True, squeeze=False
    )
    for index, (ax, knob) in enumerate(zip(axes.flat, knobs, strict=False)):
        _draw_panel(ax, info, knob=knob, colors=colors)
        ax.set(xlabel=mathtext_safe(knob), ylabel=info.y_label if index % ncols == 0 else "")
    for ax in axes.flat[len(knobs) :]:
        ax.set_visible(False)
    handles = [
        plt.Line2D([], [], marker="o", linestyle="", color=colors[display_label(c)], label=c)
        for c in info.candidates
    ]
    handles.append(
        plt.Line2D(
            [],
            [],
            marker="*",
            linestyle="",
            markersize=12,
            color="0.5",
            markeredgecolor="black",
            label="chosen (its final seeds rerun it)",
        )
    )
    axes.flat[len(knobs) - 1].legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8
    )
    fig.subplots_adjust(wspace=0.08, hspace=0.4)
    return fig


def _draw_panel(
    ax: Axes,
    info: SensitivityInfo,
    *,
    knob: str,
    colors: Mapping[str, tuple[float, float, float]],
) -> None:
    import matplotlib.ticker

    column = f"params_{knob}"
    points = info.tuning[info.tuning[column].notna()]
    stars = info.chosen[info.chosen[column].notna()]
    for frame, style in (
        (points, {"s": 22, "alpha": 0.65, "edgecolor": "none"}),
        (stars, {"s": 240, "marker": "*", "edgecolor": "black", "linewidth": 0.8, "zorder": 3}),
    ):
        for candidate, group in frame.groupby("candidate", sort=False):
            ax.scatter(
                group[column].astype(float),
                group["value"],
                color=colors[display_label(candidate)],
                **style,
            )
    scale = info.knob_scales.get(knob)
    if scale == LOG:
        ax.set_xscale("log")
        # Minor-tick labels of a narrow log range overlap; the decades are enough.
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    elif scale == LOG1M:
        _log1m_axis(ax, points[column].astype(float))


#: Where a log(1 - value) axis puts its ticks: 1 - value at 1-2-5 steps, else 1-5 steps,
#: else decades, whichever first gives at most :data:`_MAX_TICKS` within the panel.
_LOG1M_TICKS = (
    (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9998, 0.9999),
    (0.5, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999),
    (0.9, 0.99, 0.999, 0.9999),
)
_MAX_TICKS = 6


def _log1m_axis(ax: Axes, values: pd.Series) -> None:
    """The x axis in log10(1 - value), labelled in the value (0.9, 0.99 and 0.999 equally apart)."""
    import matplotlib.ticker

    # A value of 1 has no log(1 - value); the spec refuses ranges that reach it.
    top = 1.0 - 1e-6

    def forward(value):
        return -np.log10(1.0 - np.minimum(np.asarray(value, dtype=float), top))

    def inverse(drawn):
        return 1.0 - 10.0 ** (-np.asarray(drawn, dtype=float))

    ax.set_xscale("function", functions=(forward, inverse))
    ax.autoscale_view()
    low, high = ax.get_xlim()
    shown = [[t for t in series if low <= t <= high] for series in _LOG1M_TICKS]
    ticks = next((t for t in shown if 2 <= len(t) <= _MAX_TICKS), shown[-1])
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks or [values.min()]))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
