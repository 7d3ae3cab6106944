"""Reports: stored trials -> statistics, seaborn figures, HTML, Markdown, CSV, dashboard note.

Nothing here trains or imports TensorFlow; everything is read through
:mod:`bench.results`.

Example:
    >>> from bench.report import write_report, leaderboard_table  # doctest: +SKIP
    >>> result = write_report("optimizers", storage="sqlite:///runs/bench.db")  # doctest: +SKIP
    >>> rich.print(leaderboard_table(result.leaderboard))  # doctest: +SKIP
"""

from __future__ import annotations

from bench.report._dashboard import dashboard_url, save_leaderboard_note, serve_dashboard
from bench.report._figures import ReportFigure, best_trials, display_label, draw_figures
from bench.report._render import (
    TERMINAL_COLUMNS,
    ReportContent,
    format_interval,
    leaderboard_frame,
    leaderboard_table,
    render_html,
    render_markdown,
    render_note,
)
from bench.report._report import (
    ReportResult,
    build_report,
    report_content,
    report_dir_name,
    study_leaderboard,
    write_report,
)
from bench.report._stats import (
    ALPHA,
    CONFIDENCE,
    SUMMARY_METRICS,
    TARGET_FRACTION,
    TEST_NAME,
    TimeToTarget,
    compare_to_best,
    exclusion_counts,
    exclusion_reasons,
    performance_profile,
    summarize,
    t_interval,
    time_to_target,
)

__all__ = [
    "ALPHA",
    "CONFIDENCE",
    "SUMMARY_METRICS",
    "TARGET_FRACTION",
    "TERMINAL_COLUMNS",
    "TEST_NAME",
    "ReportContent",
    "ReportFigure",
    "ReportResult",
    "TimeToTarget",
    "best_trials",
    "build_report",
    "compare_to_best",
    "dashboard_url",
    "display_label",
    "draw_figures",
    "exclusion_counts",
    "exclusion_reasons",
    "format_interval",
    "leaderboard_frame",
    "leaderboard_table",
    "performance_profile",
    "render_html",
    "render_markdown",
    "render_note",
    "report_content",
    "report_dir_name",
    "save_leaderboard_note",
    "serve_dashboard",
    "study_leaderboard",
    "summarize",
    "t_interval",
    "time_to_target",
    "write_report",
]
