"""Reports: stored trials -> statistics, seaborn figures, HTML, Markdown, CSV, dashboard note.

Nothing here trains or imports TensorFlow; everything is read through
:mod:`bench.results`. The modules are private, one job each:

* ``_selection``: which trials count, judge, tuned; a group's best trial.
* ``_stats``: every statistic (intervals, tests, time to target, ROC curves).
* ``_labels``: every label and number format.
* ``_protocol``: what the tuning phase did per candidate.
* ``_study_facts``: the Study section: the spec's facts by the study's kind, and each
  candidate's search space as a table.
* ``_fig_<figure>``: one figure each, data prepared apart from drawing; ``_figures``
  draws them all (and is the only path that loads matplotlib).
* ``_leaderboard``, ``_content``, ``_render``: tables, words, HTML/Markdown/note.
* ``_report``: the pipeline, built once, and writing the files; ``_note``: the
  dashboard note.
* ``_best``: the recipe of the top candidate (or a named one) as TOML, ``bench best``.

This package exports what the command line uses.

Example:
    >>> from bench.report._example import example_storage
    >>> board = study_leaderboard("demo", storage=example_storage())
    >>> board[["rank", "recipe_label", "n", "vs_best"]]
       rank recipe_label  n vs_best
    0     1         adam  2    best
    1     2          sgd  2   worse
    >>> leaderboard_table(board, title="demo: leaderboard").row_count
    2
"""

from __future__ import annotations

from bench.report._best import BestRecipe, best_recipe
from bench.report._content import verdict_headline
from bench.report._leaderboard import leaderboard_table
from bench.report._report import (
    ReportResult,
    range_edge_note,
    study_leaderboard,
    unranked_recipes,
    write_report,
)

__all__ = [
    "BestRecipe",
    "ReportResult",
    "best_recipe",
    "leaderboard_table",
    "range_edge_note",
    "study_leaderboard",
    "unranked_recipes",
    "verdict_headline",
    "write_report",
]
