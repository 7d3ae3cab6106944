"""The figures' look: the matplotlib backend, the seaborn style, colours and row heights.

Importing this module loads matplotlib (headless); only drawing imports it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")  # reports are files; never open a window or need a display

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from bench.report._labels import display_label  # noqa: E402

#: The PNGs' resolution.
DPI = 110

__all__ = ["DPI", "palette", "plt", "row_height", "sns", "style"]


@contextmanager
def style() -> Iterator[None]:
    """The report's seaborn style, SVG text kept as text and stable SVG ids, for a block."""
    rc = {
        **sns.axes_style("whitegrid"),
        **sns.plotting_context("notebook", font_scale=0.85),
        "svg.fonttype": "none",  # text stays text: smaller, faster, searchable
        "svg.hashsalt": "bench-report",
        "figure.max_open_warning": 0,
    }
    with plt.rc_context(rc):
        yield


def palette(labels: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """One colour per recipe, keyed by its display label (tab10 up to 10, then husl)."""
    colors = sns.color_palette("tab10" if len(labels) <= 10 else "husl", len(labels))
    return dict(zip((display_label(x) for x in labels), colors, strict=True))


def row_height(count: int) -> float:
    """The height in inches of a figure with one row per recipe."""
    return 1.2 + 0.32 * count
