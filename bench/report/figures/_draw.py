"""The report's figures: draw every one that applies, in reading order, as PNG and SVG.

One module per figure (``figures/_<figure>.py``), after Optuna's ``visualization`` package:
its ``_get_<figure>_info(data)`` selects and prepares what the figure shows with pandas
alone, title and caption included as text, and returns a small frozen dataclass (or
``None`` when the figure does not apply); its ``draw_<figure>(info)`` lays it out with
seaborn and returns the matplotlib figure. ``_base`` holds what they share,
``_axes`` the axis rules and ``_style`` the look. Every figure is drawn from the
study's included trials (never pruned, failed or diverged ones), but for the best-of-k
figure, which counts a failed tuning trial as a draw of the budget that found nothing.

Importing this module loads matplotlib; the report imports it only when it draws (the
package, :mod:`bench.report.figures`, imports it only when :func:`draw_figures` is asked for).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from matplotlib.figure import Figure

from bench.report.figures._base import FigureInput, FigureText, ReportFigure
from bench.report.figures._best_of_k import _get_best_of_k_info, draw_best_of_k
from bench.report.figures._gap import _get_gap_info, draw_gap
from bench.report.figures._heatmaps import _get_heatmaps_info, draw_heatmaps
from bench.report.figures._learning_curves import (
    _get_learning_curves_auc_info,
    _get_learning_curves_loss_info,
    draw_learning_curves,
)
from bench.report.figures._learning_rate import _get_learning_rate_info, draw_learning_rate
from bench.report.figures._roc import _get_roc_info, draw_roc
from bench.report.figures._sensitivity import _get_sensitivity_info, draw_sensitivity
from bench.report.figures._style import DPI, plt, style
from bench.report.figures._test_auc import _get_test_auc_info, draw_test_auc
from bench.report.figures._time_to_target import _get_time_to_target_info, draw_time_to_target

#: A figure: what prepares its data and text (``None``: it does not apply), what draws it.
FigureMaker = tuple[Callable[[FigureInput], Any], Callable[[Any], Figure]]

#: Every figure, in reading order.
FIGURES: Sequence[FigureMaker] = (
    (_get_learning_curves_loss_info, draw_learning_curves),
    (_get_learning_curves_auc_info, draw_learning_curves),
    (_get_test_auc_info, draw_test_auc),
    (_get_sensitivity_info, draw_sensitivity),
    (_get_best_of_k_info, draw_best_of_k),
    (_get_gap_info, draw_gap),
    (_get_roc_info, draw_roc),
    (_get_heatmaps_info, draw_heatmaps),
    (_get_learning_rate_info, draw_learning_rate),
    (_get_time_to_target_info, draw_time_to_target),
)
# Nothing judged yet: a protocol study still tuning can show its tuning.
_BEFORE_VERDICTS: Sequence[FigureMaker] = ((_get_sensitivity_info, draw_sensitivity),)


def draw_figures(data: FigureInput) -> list[ReportFigure]:
    """Every figure that applies to the study, in reading order.

    Example:
        >>> from bench.report._example import example_storage
        >>> from bench.report._report import figure_input
        >>> for figure in draw_figures(figure_input("demo", storage=example_storage())):
        ...     print(figure.name)
        learning_curves_loss
        learning_curves_auc
        test_auc
        generalization_gap
        roc_curves
        learning_rate
        time_to_target
    """
    makers = _BEFORE_VERDICTS if data.summary.empty else FIGURES
    figures = []
    with style():
        for get_info, draw in makers:
            info: FigureText | None = get_info(data)
            if info is not None:
                fig = draw(info)
                figures.append(_save(fig, name=info.name, title=info.title, caption=info.caption))
    return figures


def _save(fig: Figure, *, name: str, title: str, caption: str) -> ReportFigure:
    try:
        png, svg = io.BytesIO(), io.BytesIO()
        fig.savefig(png, format="png", dpi=DPI, bbox_inches="tight")
        fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
        return ReportFigure(name, title, caption, png.getvalue(), svg.getvalue())
    finally:
        plt.close(fig)
