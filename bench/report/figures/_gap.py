"""Generalization gap per recipe at the kept epoch: accuracy and loss, seeds and means."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bench.report.figures._base import (
    MAX_ROW_RECIPES,
    FigureInput,
    FigureText,
    recipe_rows,
    shown_note,
    top_labels,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_AXIS_TITLES = {
    "gap_clean_accuracy": "train (clean labels) − validation accuracy",
    "gap_accuracy": "train − validation accuracy",
    "gap_loss": "validation − train loss",
}


@dataclass(frozen=True)
class GapInfo(FigureText):
    """What the generalization-gap figure shows.

    Attributes:
        columns: The gaps drawn, one panel each (``gap_accuracy``, ``gap_loss``).
        axis_titles: Each panel's x label.
        trials: The included trials of the recipes drawn, ``recipe`` naming their row.
        order: The rows, in leaderboard order.
    """

    columns: list[str]
    axis_titles: list[str]
    trials: pd.DataFrame
    order: list[str]


def _get_gap_info(data: FigureInput) -> GapInfo | None:
    """The gaps the included trials recorded, per recipe; ``None`` when none did.

    Example:
        >>> from bench.report._example import example_storage
        >>> from bench.report._report import figure_input
        >>> info = _get_gap_info(figure_input("demo", storage=example_storage()))
        >>> info.columns, info.order, len(info.trials)
        (['gap_accuracy', 'gap_loss'], ['adam', 'sgd'], 4)
    """
    columns = [
        c
        for c in ("gap_clean_accuracy", "gap_accuracy", "gap_loss")
        if c in data.included and data.included[c].notna().any()
    ]
    if not columns:
        return None
    trials, order = recipe_rows(data, top_labels(data, MAX_ROW_RECIPES), marks=False)
    clean = "gap_clean_accuracy" in columns
    which = (
        "train accuracy on the clean training labels minus validation accuracy (the gap to "
        "read), then train accuracy on the flipped labels the model was trained on minus "
        "validation accuracy (a model that learned the clean task scores about the noise "
        "rate below zero there), and validation minus train loss (flipped labels)"
        if clean
        else "train minus validation accuracy and validation minus train loss"
    )
    caption = (
        f"Generalization gap at the kept epoch, per recipe in leaderboard order: {which}; "
        "dots are seeds, the diamond the mean and the bar its 95% Student-t interval. "
        f"Closer to zero{' on the clean-label gap' if clean else ''} means the recipe "
        "generalizes what it learned; a small gap with a low AUC is underfitting, not "
        "success, so read it next to the AUC figure." + shown_note(data, MAX_ROW_RECIPES)
    )
    return GapInfo(
        name="generalization_gap",
        title="Generalization gap",
        caption=caption,
        columns=columns,
        axis_titles=[_AXIS_TITLES[c] for c in columns],
        trials=trials,
        order=order,
    )


def draw_gap(info: GapInfo) -> Figure:
    """One panel per gap: seeds as dots, the mean with its t interval, a line at zero."""
    from bench.report._stats import bounded_errorbar
    from bench.report.figures._style import plt, row_height, sns

    count = len(info.columns)
    fig, axes = plt.subplots(
        1, count, figsize=(5 * count + 3, row_height(len(info.order))), sharey=True
    )
    axes = np.atleast_1d(axes)
    for ax, column, title in zip(axes, info.columns, info.axis_titles, strict=True):
        sns.stripplot(
            data=info.trials,
            x=column,
            y="recipe",
            order=info.order,
            color="0.45",
            alpha=0.5,
            size=4,
            ax=ax,
        )
        sns.pointplot(
            data=info.trials,
            x=column,
            y="recipe",
            order=info.order,
            errorbar=bounded_errorbar(column),
            color="C3",
            markers="D",
            linestyle="none",
            capsize=0.25,
            ax=ax,
        )
        ax.axvline(0, color="0.3", linewidth=0.8)
        ax.set(xlabel=title, ylabel="")
    return fig
