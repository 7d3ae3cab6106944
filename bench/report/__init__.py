"""Reports: stored trials -> statistics, seaborn figures, HTML, Markdown, CSV, dashboard note.

Nothing here trains or imports TensorFlow; everything is read through
:mod:`bench.results`. The modules are private, one job each:

* ``_selection``: which trials count, judge, tuned; a group's best trial.
* ``_stats``: every statistic (intervals, tests, time to target, ROC curves).
* ``_labels``: every label and number format.
* ``_protocol``: what the tuning phase did per candidate.
* ``_study_facts``: the Study section: the spec's facts by the study's kind, and each
  candidate's search space as a table.
* ``_verdicts``: the pipeline from stored results to the ranked, judged leaderboard, that
  every report, leaderboard, figure and ``bench best`` starts from.
* ``figures``: one module per figure, data prepared apart from drawing; its ``_draw``
  draws them all (and is the only path that loads matplotlib).
* ``_headline``: the verdict in words (top group, worse and why).
* ``_leaderboard``, ``_content``, ``_render``: tables, words, HTML/Markdown/note.
* ``_report``: the report built once from the verdicts, and writing the files; ``_note``:
  the dashboard note.
* ``_best``: the recipe of the top candidate (or a named one) as TOML, ``bench best``.

This package exports what the command line uses, and what reading a leaderboard or
judging results by its rule needs:

* the words of the leaderboard's ``vs_best`` column: :data:`BEST`, :data:`TIED`,
  :data:`WORSE`, :data:`NOT_TESTABLE`, and :data:`TOP_GROUP` (best or not told apart);
* the verdict rule: :func:`compare_to_best` on per-seed results, at level :data:`ALPHA`,
  with its critical value :func:`range_critical_t`, its failure test
  :func:`failure_p_value` and the candidates' :class:`TuningDraws` (tuning luck);
* planning seeds: :func:`power_vs_best` and :func:`seeds_for_power`.

Example:
    >>> from bench.report._example import example_storage
    >>> board = study_leaderboard("demo", storage=example_storage())
    >>> board[["rank", "recipe_label", "n", "vs_best"]]
       rank recipe_label  n vs_best
    0     1         adam  2    best
    1     2          sgd  2   worse
    >>> board.loc[board["vs_best"].isin(TOP_GROUP), "recipe_label"].tolist()
    ['adam']
    >>> leaderboard_table(board, title="demo: leaderboard").row_count
    2
    >>> seeds_for_power(0.05, sd=0.017, candidates=8)  # seeds to tell 0.05 AUC apart
    6
"""

from __future__ import annotations

from bench.report._best import BestRecipe, best_recipe
from bench.report._best_of_k import TuningDraws
from bench.report._compare import BEST, NOT_TESTABLE, TIED, TOP_GROUP, WORSE, compare_to_best
from bench.report._headline import verdict_headline
from bench.report._leaderboard import leaderboard_table
from bench.report._report import ReportResult, write_report
from bench.report._significance import (
    ALPHA,
    failure_p_value,
    power_vs_best,
    range_critical_t,
    seeds_for_power,
)
from bench.report._verdicts import (
    Verdicts,
    range_edge_note,
    second_look_candidates,
    study_leaderboard,
    unranked_recipes,
    verdicts_of,
)

__all__ = [
    "ALPHA",
    "BEST",
    "NOT_TESTABLE",
    "TIED",
    "TOP_GROUP",
    "WORSE",
    "BestRecipe",
    "ReportResult",
    "TuningDraws",
    "Verdicts",
    "best_recipe",
    "compare_to_best",
    "failure_p_value",
    "leaderboard_table",
    "power_vs_best",
    "range_critical_t",
    "range_edge_note",
    "second_look_candidates",
    "seeds_for_power",
    "study_leaderboard",
    "unranked_recipes",
    "verdict_headline",
    "verdicts_of",
    "write_report",
]
