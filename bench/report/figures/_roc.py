"""ROC curves on the test set of each recipe's best trial (chosen by the objective)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from bench._schema import TASKS
from bench.report._labels import display_label, mathtext_safe, wrapped_label
from bench.report._roc import roc_curves
from bench.report._selection import best_trial_of
from bench.report.figures._base import (
    MAX_CURVE_RECIPES,
    MAX_ROC_CLASSES,
    FigureInput,
    FigureText,
    shown_note,
    top_labels,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_BINARY, _, _MULTILABEL = TASKS


@dataclass(frozen=True)
class RocInfo(FigureText):
    """What the ROC figure shows.

    Attributes:
        binary: One panel with a curve per recipe (binary task), else one panel per
            recipe with a curve per class (one-vs-rest) or per label (multilabel).
        curves: One row per curve point: ``recipe`` (its panel), ``curve`` (its legend
            entry, with the trial and its AUC), ``class``, ``fpr``, ``tpr``.
        panels: The panels of a non-binary task, in leaderboard order.
    """

    binary: bool
    curves: pd.DataFrame
    panels: list[str]


def _get_roc_info(data: FigureInput) -> RocInfo | None:
    """The best trials' ROC curves; ``None`` when no trial stored its test predictions.

    Example:
        >>> from bench.report._example import example_storage
        >>> from bench.report._report import figure_input
        >>> info = _get_roc_info(figure_input("demo", storage=example_storage()))
        >>> info.binary, sorted(info.curves["curve"].unique())
        (True, ['adam (#1, AUC 1.000)', 'sgd (#3, AUC 1.000)'])
    """
    labels = top_labels(data, MAX_CURVE_RECIPES)
    best = best_trial_of(data.included, group="recipe_label", direction=data.results.direction)
    best = best.set_index("recipe_label")
    task = data.results.workload.get("task", _BINARY)
    class_names = [str(c) for c in data.results.workload.get("class_names", [])]
    parts = []
    for label in labels:
        if label not in best.index:
            continue
        number = int(best.loc[label, "number"])
        predictions = data.results.predictions(number)
        if predictions is None:
            continue
        rows = roc_curves(
            predictions.y_true,
            predictions.y_score,
            task=task,
            class_names=class_names,
            max_classes=MAX_ROC_CLASSES,
        )
        for cls, auc, fpr, tpr in rows:
            parts.append(
                pd.DataFrame(
                    {
                        "recipe": wrapped_label(f"{display_label(label)} (#{number})"),
                        "curve": f"{wrapped_label(label, width=60)} (#{number}, AUC {auc:.3f})",
                        "class": mathtext_safe(cls),
                        "fpr": fpr,
                        "tpr": tpr,
                    }
                )
            )
    if not parts:
        return None
    curves = pd.concat(parts, ignore_index=True)
    binary = task == _BINARY
    per_class = ""
    if not binary:
        # A multilabel task's label is present or absent on its own: its curve is no
        # one-vs-rest reduction, as a multiclass task's is.
        per_class = (
            " One curve per label (present against absent), one colour per label"
            if task == _MULTILABEL
            else " One-vs-rest curves, one colour per class"
        )
        per_class += (
            f" (the first {MAX_ROC_CLASSES})" if len(class_names) > MAX_ROC_CLASSES else ""
        ) + "."
    caption = (
        "ROC curves on the test set of each recipe's best trial, chosen by the study "
        "objective on validation data (not by test AUC, which would flatter it)."
        + per_class
        + " A curve hugging the top-left corner separates the classes well; the dashed "
        "diagonal is chance. One trial per recipe shows a shape, not an uncertainty: compare "
        "recipes by the test AUC figure." + shown_note(data, MAX_CURVE_RECIPES)
    )
    return RocInfo(
        name="roc_curves",
        title="ROC curves (test set)",
        caption=caption,
        binary=binary,
        curves=curves,
        panels=list(dict.fromkeys(curves["recipe"])),
    )


def draw_roc(info: RocInfo) -> Figure:
    """One square panel (binary) or a grid of panels per recipe, the chance diagonal dashed."""
    from bench.report.figures._style import plt, sns

    frame = info.curves
    if info.binary:
        fig, ax = plt.subplots(figsize=(7.5, 6.5))
        sns.lineplot(data=frame, x="fpr", y="tpr", hue="curve", estimator=None, sort=False, ax=ax)
        ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=0.8)
        ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1))
        ax.set_aspect("equal")
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1.0), title=None, fontsize=7)
        return fig
    order = info.panels
    grid = sns.relplot(
        data=frame,
        x="fpr",
        y="tpr",
        hue="class",
        col="recipe",
        col_order=order,
        col_wrap=min(3, len(order)),
        kind="line",
        estimator=None,
        sort=False,
        height=3.0,
        facet_kws={"sharex": True, "sharey": True},
    )
    for title, ax in grid.axes_dict.items():
        ax.set_title(title, fontsize=8)
        ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=0.8)
    grid.set_axis_labels("false positive rate", "true positive rate")
    return grid.figure
