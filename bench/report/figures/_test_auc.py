"""Test AUC per recipe: every seed, the mean and its 95% Student-t interval."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from bench.report._significance import ALPHA
from bench.report.figures._base import (
    MAX_ROW_RECIPES,
    FigureInput,
    FigureText,
    recipe_rows,
    shown_note,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class TestAucInfo(FigureText):
    """What the test-AUC figure shows.

    Attributes:
        trials: The included trials of the recipes drawn, ``recipe`` naming their row.
        order: The rows, best mean test AUC first (★/≈ marked when ranked by test AUC).
    """

    __test__ = False  # a figure's data, not a pytest class

    trials: pd.DataFrame
    order: list[str]


def _get_test_auc_info(data: FigureInput) -> TestAucInfo | None:
    """Each recipe's per-seed test AUC, recipes by mean; ``None`` without test AUC.

    Example:
        >>> from bench.report._example import example_storage
        >>> from bench.report._report import figure_input
        >>> info = _get_test_auc_info(figure_input("demo", storage=example_storage()))
        >>> info.order, info.trials.groupby("recipe")["test_auc"].mean().round(2).to_dict()
        (['adam', 'sgd'], {'adam': 0.91, 'sgd': 0.71})
    """
    if data.included["test_auc"].isna().all():
        return None
    ranked = data.summary.sort_values("test_auc_mean", ascending=False, na_position="last")
    labels = ranked["recipe_label"].head(MAX_ROW_RECIPES).tolist()
    marked = data.ranked_by == "test_auc"
    trials, order = recipe_rows(data, labels, marks=marked)
    marks = ""
    if marked:
        marks = (
            " ★ marks the best recipe and ≈ those statistically indistinguishable from it "
            f"(on per-seed test AUC and on failures, both corrected p ≥ {ALPHA}; see the "
            "leaderboard)."
        )
    caption = (
        "Test AUC per recipe, ordered by its mean: grey dots are single seeds, the diamond is "
        "the mean and the bar its 95% Student-t interval (no bar with one seed). Read "
        "overlapping bars as recipes the seeds cannot tell apart, and a wide spread of dots "
        "as a recipe whose result depends on luck." + marks + shown_note(data, MAX_ROW_RECIPES)
    )
    return TestAucInfo(
        name="test_auc",
        title="Test AUC per recipe",
        caption=caption,
        trials=trials,
        order=order,
    )


def draw_test_auc(info: TestAucInfo) -> Figure:
    """Seeds as grey dots, the mean as a diamond with its t interval, one row per recipe."""
    from bench.report._stats import bounded_errorbar
    from bench.report.figures._style import plt, row_height, sns

    fig, ax = plt.subplots(figsize=(8, row_height(len(info.order))))
    sns.stripplot(
        data=info.trials,
        x="test_auc",
        y="recipe",
        order=info.order,
        color="0.45",
        alpha=0.55,
        size=4,
        ax=ax,
    )
    sns.pointplot(
        data=info.trials,
        x="test_auc",
        y="recipe",
        order=info.order,
        errorbar=bounded_errorbar("test_auc"),
        color="C0",
        markers="D",
        linestyle="none",
        capsize=0.25,
        ax=ax,
    )
    ax.set(xlabel="test AUC", ylabel="")
    return fig
