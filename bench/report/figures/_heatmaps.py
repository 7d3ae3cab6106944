"""Heatmaps of a two-field sweep: mean test AUC and mean gap, one cell per recipe."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bench._stored_spec import spec_shared_space
from bench.report._labels import mathtext_safe
from bench.report.figures._base import FigureInput, FigureText

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class HeatmapPanel:
    """One heatmap: its title, its rows-by-columns table and its colour scale.

    Attributes:
        title: The panel's title.
        table: The mean per cell (rows: the first field; columns: the second).
        cmap: The colour map name.
        center: The value the colour map is centred on, or ``None`` (sequential).
    """

    title: str
    table: pd.DataFrame
    cmap: str
    center: float | None


@dataclass(frozen=True)
class HeatmapsInfo(FigureText):
    """What the heatmaps figure shows.

    Attributes:
        fields: The two swept fields (rows, columns).
        panels: One heatmap per metric that has values.
        shape: The number of distinct values of each field.
        annotate: Whether the cells carry their values (not when the grid is large).
    """

    fields: list[str]
    panels: list[HeatmapPanel]
    shape: tuple[int, int]
    annotate: bool


def sweep_fields(data: FigureInput) -> list[str]:
    """The swept recipe fields (seed excluded) that the trials hold as ``params_*``.

    Example:
        >>> from bench.report._example import example_storage
        >>> from bench.report._report import figure_input
        >>> sweep_fields(figure_input("demo", storage=example_storage()))
        ['variant']
    """
    fields = [f for f in spec_shared_space(data.results.spec) if f != "seed"]
    if not fields:
        fields = [
            c.removeprefix("params_") for c in data.summary.columns if c.startswith("params_")
        ]
    return [f for f in fields if f"params_{f}" in data.summary.columns]


def _gap_colors(summary: pd.DataFrame) -> tuple[str, float | None]:
    """Diverging around 0 when gaps have both signs; else sequential, darker = larger."""
    gaps = summary["gap_accuracy_mean"]
    return ("vlag", 0.0) if gaps.min() < 0 < gaps.max() else ("rocket_r", None)


def _get_heatmaps_info(data: FigureInput) -> HeatmapsInfo | None:
    """The per-recipe means on the grid of two swept fields; ``None`` unless exactly two.

    Example:
        >>> from bench.report._example import example_storage
        >>> from bench.report._report import figure_input
        >>> _get_heatmaps_info(figure_input("demo", storage=example_storage())) is None
        True
    """
    fields = sweep_fields(data)
    if len(fields) != 2:
        return None
    rows, cols = (f"params_{f}" for f in fields)
    metrics = [
        (column, title, cmap, center)
        for column, title, cmap, center in (
            ("test_auc_mean", "mean test AUC", "viridis", None),
            ("gap_accuracy_mean", "mean gap (train − val accuracy)", *_gap_colors(data.summary)),
        )
        if data.summary[column].notna().any()
    ]
    if not metrics:
        return None
    shape = (data.summary[rows].nunique(), data.summary[cols].nunique())
    panels = [
        HeatmapPanel(
            title=title,
            table=data.summary.pivot_table(index=rows, columns=cols, values=column, aggfunc="mean"),
            cmap=cmap,
            center=center,
        )
        for column, title, cmap, center in metrics
    ]
    caption = (
        f"The two swept fields, {fields[0]} (rows) by {fields[1]} (columns): mean test AUC "
        "and mean generalization gap over seeds, one cell per recipe. Look for a region, not "
        "a single cell: a good setting whose neighbours are also good is robust, a lone "
        "bright cell is more likely seed noise (check its interval in the leaderboard). Blank "
        "cells were not run or had no included trial."
    )
    return HeatmapsInfo(
        name="heatmaps",
        title=f"{fields[0]} × {fields[1]}",
        caption=caption,
        fields=fields,
        panels=panels,
        shape=shape,
        annotate=max(shape) <= 12,
    )


def draw_heatmaps(info: HeatmapsInfo) -> Figure:
    """One annotated heatmap per metric, side by side."""
    from bench.report.figures._style import plt, sns

    width = max(4.5, 0.75 * info.shape[1] + 2.5)
    count = len(info.panels)
    fig, axes = plt.subplots(1, count, figsize=(width * count, max(3.5, 0.5 * info.shape[0] + 1.8)))
    fig.subplots_adjust(wspace=0.2)
    for ax, panel in zip(np.atleast_1d(axes), info.panels, strict=True):
        with warnings.catch_warnings():  # seaborn 0.13 calls a colormap method matplotlib retires
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            sns.heatmap(
                panel.table,
                ax=ax,
                cmap=panel.cmap,
                center=panel.center,
                annot=info.annotate,
                fmt=".3f",
                annot_kws={"fontsize": 7},
                linewidths=0.5,
            )
        ax.set(
            xlabel=mathtext_safe(info.fields[1]),
            ylabel=mathtext_safe(info.fields[0]),
            title=panel.title,
        )
    return fig
