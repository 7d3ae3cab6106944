"""The leaderboard as display strings: one frame for the files, a rich table for the terminal."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.table import Table
from rich.text import Text

from bench.report._compare import BY_METRIC
from bench.report._labels import (
    diff_text,
    display_label,
    format_interval,
    format_values,
    p_value_text,
    verdict_text,
)
from bench.report._metrics import COUNT_METRICS, MIN_INTERVAL_N

# Leaderboard columns: summary metric -> (header, decimals).
_METRIC_COLUMNS: dict[str, tuple[str, int]] = {
    "val_auc": ("val AUC", 3),
    "test_auc": ("test AUC", 3),
    "val_accuracy": ("val acc", 3),
    "test_accuracy": ("test acc", 3),
    "gap_accuracy": ("gap (acc)", 3),
    "kept_epoch": ("kept epoch", 1),
    "epochs_run": ("epochs run", 1),
    "wall_time_s": ("wall time (s)", 1),
}
#: The header of the column naming the seeds a recipe lacks, shown only when one does.
MISSING_COLUMN = "missing seeds"
#: The header of the corrected p-value of the metric test against the best recipe.
P_COLUMN = "p (metric)"
#: The header of the corrected p-value of the failure test, shown only when a seed failed.
FAILURES_P_COLUMN = "p (failures)"
#: The header of the difference to the best with its simultaneous 95% interval.
DIFF_COLUMN = "Δ to best"
#: The header of the column counting the seeds that failed (scored as chance) and how.
FAILED_COLUMN = "failed"
#: The header of a candidate's tuning luck (the sd of its best tuning draw, resampled),
#: shown only under a tuning protocol.
LUCK_COLUMN = "tuning luck (sd)"
#: The header of the metric test with both recipes' tuning luck added, shown for the
#: recipes it tests (those worse by their metric, under a tuning protocol).
LUCK_P_COLUMN = "p (luck)"

#: The leaderboard columns a terminal shows (the files hold them all).
TERMINAL_COLUMNS: tuple[str, ...] = (
    "#",
    "recipe",
    "n",
    FAILED_COLUMN,
    "val AUC",
    "test AUC",
    "gap (acc)",
    "kept epoch",
    DIFF_COLUMN,
    LUCK_COLUMN,
    P_COLUMN,
    FAILURES_P_COLUMN,
    "vs best",
    MISSING_COLUMN,
)


def _seed_count(row: dict[str, Any]) -> int | str:
    """``n``, or ``n/planned`` when the recipe has fewer seeds than the spec asks for."""
    n, planned = int(row["n"]), row.get("n_planned")
    return f"{n}/{int(planned)}" if not pd.isna(planned) and n < planned else n


def leaderboard_frame(summary: pd.DataFrame, *, limit: int | None = None) -> pd.DataFrame:
    """The leaderboard as display strings: rank, recipe, n, mean ± 95% CI, the difference to
    the best, p-values, verdict.

    ``Δ to best`` is the recipe's mean minus the best's on the ranked metric with its
    simultaneous 95% interval; ``p (metric)`` and ``p (failures)`` (shown when a seed
    failed) are the corrected p-values of the tests against the best recipe, and
    ``vs best`` the verdict they give (``≈ best``, or ``worse (metric)``, ``worse
    (failures)``: what made it worse).
    ``tuning luck (sd)``, shown under a tuning protocol, is the spread of the best of
    the candidate's tuning draws resampled with replacement, which widens ``Δ to best``.
    ``n`` reads ``2/3`` for a recipe with fewer seeds than the spec asks for, and a
    ``missing seeds`` column says which and why when any recipe lacks one.

    Example:
        >>> from bench.report._metrics import SUMMARY_METRICS
        >>> from bench.report._stats import summarize
        >>> included = pd.DataFrame(
        ...     {
        ...         "recipe_label": ["adam", "adam", "sgd"],
        ...         "seed": [0, 1, 0],
        ...         **{metric: [0.90, 0.92, 0.70] for metric in SUMMARY_METRICS},
        ...     }
        ... )
        >>> board = leaderboard_frame(summarize(included))
        >>> board[["#", "recipe", "n", "test AUC", "vs best"]]
           # recipe  n              test AUC             vs best
        0  1   adam  2  0.910 [0.783, 1.000]                best
        1  2    sgd  1           0.700 (n=1)  not testable (n<2)
    """
    shown = summary.head(limit) if limit else summary
    rows = [_leaderboard_row(row) for row in shown.to_dict("records")]
    metrics = (h for h, _ in _METRIC_COLUMNS.values())
    columns = ["#", "recipe", "n", FAILED_COLUMN, *metrics, DIFF_COLUMN, LUCK_COLUMN, P_COLUMN]
    columns += [LUCK_P_COLUMN, FAILURES_P_COLUMN, "vs best", MISSING_COLUMN]
    board = pd.DataFrame(rows, columns=columns)
    if not board[LUCK_COLUMN].astype(bool).any():
        board = board.drop(columns=LUCK_COLUMN)
    if not board[LUCK_P_COLUMN].astype(bool).any():
        board = board.drop(columns=LUCK_P_COLUMN)
    if not board[FAILED_COLUMN].astype(bool).any():  # shown only when a recipe has one
        board = board.drop(columns=[FAILED_COLUMN, FAILURES_P_COLUMN])
    if not board[MISSING_COLUMN].astype(bool).any():
        board = board.drop(columns=MISSING_COLUMN)
    return board


def _leaderboard_row(row: dict[str, Any]) -> dict[str, Any]:
    n = int(row["n"])
    cells: dict[str, Any] = {
        "#": int(row["rank"]) if pd.notna(row["rank"]) else "–",  # no seed of it counts
        "recipe": display_label(row["recipe_label"]),
        "n": _seed_count(row),
    }
    for metric, (header, decimals) in _METRIC_COLUMNS.items():
        if metric in COUNT_METRICS and n < MIN_INTERVAL_N and f"{metric}_values" in row:
            # A t interval from one or two whole numbers is mostly the t quantile's width.
            cells[header] = format_values(row[f"{metric}_values"])
            continue
        cells[header] = format_interval(
            row[f"{metric}_mean"],
            row[f"{metric}_ci_low"],
            row[f"{metric}_ci_high"],
            n,
            decimals=decimals,
        )
    cells[FAILED_COLUMN] = row.get("failures") or ""
    cells[DIFF_COLUMN] = diff_text(
        row.get("diff_to_best"), row.get("diff_to_best_low"), row.get("diff_to_best_high")
    )
    luck = row.get("tuning_sd")
    cells[LUCK_COLUMN] = f"{luck:.3f}" if luck is not None and pd.notna(luck) else ""
    cells[P_COLUMN] = p_value_text(row.get("p_metric"))
    cells[FAILURES_P_COLUMN] = p_value_text(row.get("p_failures"))
    p_luck = row.get("p_luck")
    by_metric = BY_METRIC in str(row.get("worse_by") or "").split(", ")
    cells[LUCK_P_COLUMN] = p_value_text(p_luck) if by_metric and pd.notna(p_luck) else ""
    cells["vs best"] = verdict_text(
        row.get("vs_best"),
        row.get("worse_by"),
        look=row.get("look"),
        within_luck=bool(row.get("within_luck") in (True, 1)),
    )
    cells[MISSING_COLUMN] = row.get("seeds_missing") or ""
    return cells


def leaderboard_table(summary: pd.DataFrame, *, title: str | None = None) -> Table:
    """The leaderboard as a rich table for the terminal (:data:`TERMINAL_COLUMNS`).

    ``summary`` is a ranked leaderboard such as :func:`study_leaderboard` returns or
    ``ReportResult.leaderboard`` holds. Cells are passed as :class:`rich.text.Text`, so
    brackets in recipe labels print literally.

    Example:
        >>> from bench.report import study_leaderboard
        >>> from bench.report._example import example_storage
        >>> table = leaderboard_table(study_leaderboard("demo", storage=example_storage()))
        >>> table.row_count, [column.header for column in table.columns][:5]
        (2, ['#', 'recipe', 'n', 'val AUC', 'test AUC'])
    """
    board = leaderboard_frame(summary)
    board = board[[c for c in TERMINAL_COLUMNS if c in board.columns]]
    table = Table(title=title, title_justify="left")
    for column in board.columns:
        if column in ("recipe", MISSING_COLUMN):
            table.add_column(column, overflow="fold")
        elif column in ("#", "n"):
            table.add_column(column, justify="right", no_wrap=True)
        else:  # "0.812 ± 0.013" may wrap after the ± in a narrow terminal, never inside a number
            justify = "left" if column == "vs best" else "right"
            table.add_column(column, justify=justify)
    for values in board.itertuples(index=False):
        table.add_row(*(Text(str(v)) for v in values))
    return table
