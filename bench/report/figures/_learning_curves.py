"""Learning curves: train and validation loss or AUC per epoch, one panel per recipe."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from bench.report._labels import wrapped_label
from bench.report.figures._base import (
    MAX_CURVE_RECIPES,
    FigureInput,
    FigureText,
    shown_note,
    top_labels,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# metric -> (file stem, heading, the metric in words)
_CURVES = {
    "loss": ("learning_curves_loss", "Learning curves: loss", "loss"),
    "auc": ("learning_curves_auc", "Learning curves: AUC", "AUC"),
}


@dataclass(frozen=True)
class LearningCurvesInfo(FigureText):
    """What a learning-curves figure shows.

    Attributes:
        labels: The recipes, one panel each, in leaderboard order.
        panels: Each recipe's curves: ``epoch``, ``value``, ``split`` (``train`` or
            ``validation``), one row per trial and epoch.
        kept: Each recipe's median kept epoch (the dotted line; NaN draws none).
        what: The metric in words (the y label).
        y_limits: The y range, or ``None`` to fit the data.
    """

    labels: list[str]
    panels: dict[str, pd.DataFrame]
    kept: pd.Series
    what: str
    y_limits: tuple[float, float] | None


def _get_learning_curves_info(data: FigureInput, *, metric: str) -> LearningCurvesInfo | None:
    """The curves of ``metric`` (``loss`` or ``auc``) and ``val_<metric>``, or ``None``.

    Example:
        >>> from bench.report._example import example_storage
        >>> from bench.report._report import figure_input
        >>> data = figure_input("demo", storage=example_storage())
        >>> info = _get_learning_curves_info(data, metric="auc")
        >>> info.name, info.labels, info.y_limits
        ('learning_curves_auc', ['adam', 'sgd'], (0.0, 1.02))
        >>> info.panels["adam"].groupby("split")["value"].count().to_dict()
        {'train': 6, 'validation': 6}
    """
    name, title, what = _CURVES[metric]
    labels = top_labels(data, MAX_CURVE_RECIPES)
    # Labels from the included trials: under a tuning protocol they name the candidate.
    label_of = data.included.set_index("number")["recipe_label"]
    histories = data.results.histories
    histories = histories[histories["number"].isin(label_of.index)]
    histories = histories.assign(recipe_label=histories["number"].map(label_of))
    histories = histories[histories["recipe_label"].isin(labels)]
    train, val = metric, f"val_{metric}"
    if histories.empty or histories[[train, val]].isna().all().all():
        return None
    frame = pd.concat(
        [
            histories[["recipe_label", "epoch", column]]
            .rename(columns={column: "value"})
            .assign(split=split)
            for column, split in ((train, "train"), (val, "validation"))
        ],
        ignore_index=True,
    )
    frame["epoch"] = frame["epoch"].astype(float)
    by_label = dict(tuple(frame.groupby("recipe_label", sort=False)))
    caption = (
        f"Train (solid) and validation (dashed) {what} per epoch, one panel per recipe in "
        "leaderboard order: the line is the mean over seeds and the band spans the lowest "
        "to the highest seed (no band where only one seed ran that far); the dotted line is "
        "the median kept epoch. The train curve is what Keras reports while it trains: the "
        "mean over the epoch's batches, with dropout (and augmentation, where the recipe has "
        "it) on, so it can sit below the validation curve, most of all early on. Read a "
        "distance that grows over training, or a validation curve that turns while the train "
        "curve keeps improving, as overfitting; the generalization gap figure evaluates both "
        "splits the same way, after training. After early stops fewer seeds contribute to "
        "the late epochs." + shown_note(data, MAX_CURVE_RECIPES)
    )
    return LearningCurvesInfo(
        name=name,
        title=title,
        caption=caption,
        labels=labels,
        panels={label: by_label.get(label, frame.iloc[:0]) for label in labels},
        kept=data.included.groupby("recipe_label")["kept_epoch"].median(),
        what=what,
        y_limits=(0.0, 1.02) if metric == "auc" else None,
    )


def _get_learning_curves_loss_info(data: FigureInput) -> LearningCurvesInfo | None:
    return _get_learning_curves_info(data, metric="loss")


def _get_learning_curves_auc_info(data: FigureInput) -> LearningCurvesInfo | None:
    return _get_learning_curves_info(data, metric="auc")


def draw_learning_curves(info: LearningCurvesInfo) -> Figure:
    """Small multiples: one panel per recipe, train and validation lines with the seeds' range."""
    from bench.report.figures._style import plt, sns

    labels = info.labels
    # Small multiples drawn axis by axis: seaborn's FacetGrid re-lays out the whole
    # figure several times, which costs seconds at 10 panels.
    nrows = math.ceil(len(labels) / 5)
    ncols = math.ceil(len(labels) / nrows)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(3.1 * ncols, 2.6 * nrows + 0.4),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for ax, label in zip(axes.flat, labels, strict=False):  # spare axes are hidden
        sns.lineplot(
            data=info.panels[label],
            x="epoch",
            y="value",
            hue="split",
            style="split",
            hue_order=["train", "validation"],
            style_order=["train", "validation"],
            # The seeds' range, not a t interval: with two or three seeds a t band is
            # wider than the metric's whole scale and hides the curves it should frame.
            errorbar=("pi", 100),
            legend=ax is axes.flat[0],
            ax=ax,
        )
        ax.set_title(wrapped_label(label), fontsize=8)
        ax.set(xlabel="epoch", ylabel=info.what)
        if info.y_limits is not None:
            ax.set_ylim(*info.y_limits)
        if not pd.isna(info.kept.get(label)):
            ax.axvline(float(info.kept[label]), color="0.55", linestyle=":", linewidth=1)
    for index in range(len(labels), nrows * ncols):
        axes.flat[index].set_visible(False)
        axes.flat[index - ncols].xaxis.set_tick_params(labelbottom=True)
    handles, names = axes.flat[0].get_legend_handles_labels()
    axes.flat[0].get_legend().remove()
    fig.legend(handles, names, loc="lower center", ncol=2, bbox_to_anchor=(0.5, 0.98))
    fig.subplots_adjust(hspace=0.45, wspace=0.08)  # fixed spacing: tight_layout costs a draw
    return fig
