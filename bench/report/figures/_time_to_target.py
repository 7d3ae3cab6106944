"""Time to target as performance profiles (MLCommons AlgoPerf), in epochs and seconds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bench.report._labels import display_label
from bench.report._time_to_target import performance_profile
from bench.report.figures._base import (
    MAX_CURVE_RECIPES,
    FigureInput,
    FigureText,
    shown_note,
    top_labels,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_UNITS = ("epochs", "seconds")


@dataclass(frozen=True)
class TimeToTargetInfo(FigureText):
    """What the time-to-target figure shows.

    Attributes:
        labels: The recipes drawn, in leaderboard order, one colour each.
        profiles: Per unit (``epochs``, ``seconds``) the performance profile: ``recipe``
            (display label), ``tau``, ``fraction``.
    """

    labels: list[str]
    profiles: dict[str, pd.DataFrame]


def _get_time_to_target_info(data: FigureInput) -> TimeToTargetInfo | None:
    """Each recipe's performance profile; ``None`` when no trial reached the target.

    Example:
        >>> from bench.report._example import example_storage
        >>> from bench.report._report import figure_input
        >>> info = _get_time_to_target_info(figure_input("demo", storage=example_storage()))
        >>> info.labels, sorted(info.profiles)
        (['adam', 'sgd'], ['epochs', 'seconds'])
    """
    target_times = data.time_to_target
    if target_times is None:
        return None
    labels = top_labels(data, MAX_CURVE_RECIPES)
    per_trial = target_times.per_trial[target_times.per_trial["recipe_label"].isin(labels)]
    if not np.isfinite(per_trial["epochs"]).any():
        return None
    profiles = {}
    for unit in _UNITS:
        profile = performance_profile(per_trial, column=f"{unit}_ratio")
        profile["recipe"] = profile["recipe_label"].map(display_label)
        profiles[unit] = profile
    never = target_times.per_recipe.loc[target_times.per_recipe["reached"] == 0, "recipe_label"]
    missing = ""
    if len(never):
        missing = f" {len(never)} recipe(s) never reached the target on any seed (flat at 0)."
    caption = (
        f"Time to target as a performance profile (as in MLCommons AlgoPerf): the target is "
        f"validation AUC {target_times.target:.4f} ({target_times.fraction:.0%} of the best "
        f"recipe's mean final {target_times.best_final:.4f}); each step curve is the fraction "
        "of a recipe's seeds that "
        "reached it within τ times the fastest trial's epochs (left) or seconds (right). "
        "Higher and further left is faster and more reliable; a curve that stays below 1 "
        "has seeds that never got there (counted as infinitely slow)."
        + missing
        + shown_note(data, MAX_CURVE_RECIPES)
    )
    return TimeToTargetInfo(
        name="time_to_target",
        title="Time to target",
        caption=caption,
        labels=labels,
        profiles=profiles,
    )


def draw_time_to_target(info: TimeToTargetInfo) -> Figure:
    """Two step-curve panels (epochs, seconds) sharing the fraction axis."""
    from bench.report.figures._style import palette, plt, sns

    colors = palette(info.labels)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
    for ax, unit in zip(axes, _UNITS, strict=True):
        sns.lineplot(
            data=info.profiles[unit],
            x="tau",
            y="fraction",
            hue="recipe",
            hue_order=[display_label(x) for x in info.labels],
            palette=colors,
            drawstyle="steps-post",
            estimator=None,
            legend=unit == "seconds",
            ax=ax,
        )
        ax.set(
            xlabel=f"τ: {unit} to target ÷ fastest trial's {unit}",
            ylabel="fraction of the recipe's seeds",
            ylim=(-0.02, 1.02),
        )
    sns.move_legend(axes[1], "upper left", bbox_to_anchor=(1.02, 1.0), title=None, fontsize=7)
    return fig
