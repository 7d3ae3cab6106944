"""The report's figures: one module per figure, its data prepared apart from its drawing.

Each ``_<figure>`` module's ``_get_<figure>_info(data)`` prepares what the figure shows
with pandas alone; its ``draw_<figure>(info)`` draws it. ``_base`` holds what they share,
``_axes`` the axis rules, ``_style`` the look, and ``_draw`` draws them all
(:func:`draw_figures`). Only ``_style`` and ``_draw`` load matplotlib: importing this
package does not, and :func:`draw_figures` is imported from ``_draw`` when first asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench._lazy import lazy_exports
from bench.report.figures._base import FigureInput, FigureText, ReportFigure

if TYPE_CHECKING:
    from bench.report.figures._draw import draw_figures

__all__ = ["FigureInput", "FigureText", "ReportFigure", "draw_figures"]


# draw_figures loads matplotlib: imported only when drawing (PEP 562).
__getattr__, __dir__ = lazy_exports(globals(), {"draw_figures": "bench.report.figures._draw"})
