"""What every figure shares: its input, its output, its words, and which recipes it shows.

No matplotlib here: a figure's data and text are prepared apart from its drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from bench.report._labels import FIGURE_MARKS, display_label, mathtext_safe
from bench.report._time_to_target import TimeToTarget
from bench.results import StudyResults, spec_objective

#: Figures with one panel or line per recipe show at most this many (the best-ranked).
MAX_CURVE_RECIPES = 10
#: Figures with one row per recipe show at most this many.
MAX_ROW_RECIPES = 40
MAX_ROC_CLASSES = 10


@dataclass(frozen=True)
class ReportFigure:
    """One rendered figure.

    Attributes:
        name: File stem (``figures/<name>.png``).
        title: A short heading.
        caption: What the figure shows and what to read from it (plain text).
        png: The PNG bytes.
        svg: The SVG bytes.
    """

    name: str
    title: str
    caption: str
    png: bytes
    svg: bytes


@dataclass(frozen=True)
class FigureText:
    """A figure's file stem, heading and caption: what every ``_get_*_info`` returns.

    Attributes:
        name: File stem (``figures/<name>.png``).
        title: A short heading.
        caption: What the figure shows and what to read from it (plain text).
    """

    name: str
    title: str
    caption: str


@dataclass(frozen=True)
class FigureInput:
    """What the figures are drawn from.

    Attributes:
        results: The study as read from the storage.
        included: The trials that count, one row each.
        summary: One row per recipe, ranked best first (see ``summarize``).
        ranked_by: The summary column the ranking uses (e.g. ``test_auc``).
        time_to_target: Time-to-target per trial, or ``None`` without validation AUC.
        tuning: The tune-phase trials that count, with ``candidate`` (empty without a
            tuning protocol).
        tuning_failed: The tune-phase trials that were pruned, diverged or crashed, with
            ``candidate``: draws of the tuning budget that found nothing.
    """

    results: StudyResults
    included: pd.DataFrame
    summary: pd.DataFrame
    ranked_by: str
    time_to_target: TimeToTarget | None
    tuning: pd.DataFrame = field(default_factory=pd.DataFrame)
    tuning_failed: pd.DataFrame = field(default_factory=pd.DataFrame)


def objective_words(data: FigureInput) -> str:
    """The study's objective as an axis names it: ``objective (val_auc)``.

    Example:
        >>> from bench.report._example import example_storage
        >>> from bench.report._report import figure_input
        >>> objective_words(figure_input("demo", storage=example_storage()))
        'objective (val_auc)'
    """
    metric = objective_metric(data)
    return f"objective ({metric})" if metric else "objective"


def objective_metric(data: FigureInput) -> str:
    """The metric the study optimizes (``val_auc``), ``""`` where its spec names none.

    Example:
        >>> from bench.report._example import example_storage
        >>> from bench.report._report import figure_input
        >>> objective_metric(figure_input("demo", storage=example_storage()))
        'val_auc'
    """
    return spec_objective(data.results.spec).metric or ""


def tuned_candidates(data: FigureInput) -> list[str]:
    """The tuned candidates, one colour each in every figure of the tuning trials: those
    with a scored tuning trial in leaderboard order, then the others in trial order, then
    those whose every tuning trial failed.

    Example:
        >>> from bench.report._example import example_storage
        >>> from bench.report._report import figure_input
        >>> tuned_candidates(figure_input("demo", storage=example_storage()))
        []
    """
    scored = data.tuning.dropna(subset=["value"])["candidate"] if not data.tuning.empty else []
    failed = data.tuning_failed["candidate"] if not data.tuning_failed.empty else []
    ranked = [c for c in data.summary["recipe_label"] if c in set(scored)]
    return list(dict.fromkeys([*ranked, *scored, *failed]))


def top_labels(data: FigureInput, limit: int) -> list[str]:
    """The ``limit`` best-ranked recipe labels."""
    return data.summary["recipe_label"].head(limit).tolist()


def shown_note(data: FigureInput, limit: int) -> str:
    """The caption's last sentence when only the ``limit`` best-ranked recipes are drawn."""
    total = len(data.summary)
    if total <= limit:
        return ""
    return f" Only the {limit} best-ranked of {total} recipes are drawn; all are in summary.csv."


def recipe_rows(
    data: FigureInput, labels: Sequence[str], *, marks: bool
) -> tuple[pd.DataFrame, list[str]]:
    """The included trials of ``labels`` with a ``recipe`` column naming their row.

    With ``marks`` a name starts with ★ (best) or ≈ (indistinguishable from it). Returns
    the trials and the row names in the order of ``labels``.
    """
    status = dict(zip(data.summary["recipe_label"], data.summary["vs_best"], strict=True))
    frame = data.included[data.included["recipe_label"].isin(labels)].copy()

    def name(label: str) -> str:
        mark = FIGURE_MARKS.get(status.get(label, ""), "") if marks else ""
        return mark + mathtext_safe(display_label(label))

    frame["recipe"] = frame["recipe_label"].map(name)
    return frame, [name(x) for x in labels]
