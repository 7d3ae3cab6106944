"""Build a study's report and write it to disk in one piece."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from bench.errors import BenchInputError
from bench.report._dashboard import save_leaderboard_note
from bench.report._figures import FigureInput, draw_figures
from bench.report._render import ReportContent, render_html, render_markdown, render_note
from bench.report._stats import (
    TARGET_FRACTION,
    exclusion_counts,
    exclusion_reasons,
    summarize,
    time_to_target,
)
from bench.results import StudyResults, load_results

# Ranked by test AUC when the task has one; otherwise by the next metric that exists.
_RANK_CANDIDATES = ("test_auc", "test_accuracy", "val_auc")


@dataclass(frozen=True)
class ReportResult:
    """What :func:`write_report` wrote and what the command line prints.

    Attributes:
        study_name: The study reported.
        out_dir: The study's report directory (``<out_dir>/<study>``).
        index_html: The self-contained HTML page.
        report_md: The Markdown report.
        trials_csv: One row per trial.
        summary_csv: One row per recipe.
        figures: The PNG and SVG files, in reading order.
        leaderboard: One row per recipe, ranked (the ``summary.csv`` rows); render it with
            :func:`leaderboard_table`.
        ranked_by: The metric the leaderboard is ranked and tested on.
        n_trials: All trials of the study.
        n_included: The trials the numbers are computed from.
        excluded: Excluded trials per reason (``pruned``, ``failed``, ``diverged``,
            ``running``, ``incomplete``), zero counts included.
        note_written: Whether the leaderboard was saved as the study's dashboard note.
        warnings: One-line messages for the user (e.g. why the note was not written).
    """

    study_name: str
    out_dir: Path
    index_html: Path
    report_md: Path
    trials_csv: Path
    summary_csv: Path
    figures: tuple[Path, ...]
    leaderboard: pd.DataFrame
    ranked_by: str
    n_trials: int
    n_included: int
    excluded: dict[str, int]
    note_written: bool
    warnings: tuple[str, ...] = field(default=())


def build_report(
    study_name: str, *, storage: str, target_fraction: float = TARGET_FRACTION
) -> ReportContent:
    """Read a study and compute everything its report says, figures included.

    Raises:
        BenchInputError: If the storage or study is unknown, or the study has no trials.

    Example:
        >>> content = build_report("optimizers", storage="sqlite:///bench.db")  # doctest: +SKIP
        >>> content.summary[["recipe_label", "test_auc_mean"]]  # doctest: +SKIP
    """
    results = load_results(study_name, storage=storage)
    return report_content(results, target_fraction=target_fraction)


def report_content(
    results: StudyResults, *, target_fraction: float = TARGET_FRACTION
) -> ReportContent:
    """Everything a report says about already-loaded ``results``.

    Example:
        >>> content = report_content(load_results("optimizers", storage=url))  # doctest: +SKIP
    """
    if not 0 < target_fraction <= 1:
        raise BenchInputError(f"target fraction: got {target_fraction}; expected 0 < f <= 1")
    reasons = exclusion_reasons(results.trials)
    trials = results.trials.assign(excluded=reasons)
    included = trials[reasons == ""]
    ranked_by = _rank_metric(included)
    summary = summarize(included, rank_by=ranked_by)
    ttt = time_to_target(included, results.histories, fraction=target_fraction)
    if ttt is not None:
        summary = summary.merge(
            ttt.per_recipe.drop(columns="n").rename(
                columns={
                    "reached": "target_reached",
                    "epochs_median": "epochs_to_target_median",
                    "seconds_median": "seconds_to_target_median",
                }
            ),
            on="recipe_label",
            how="left",
        )
    figures = draw_figures(
        FigureInput(
            results=results,
            included=included,
            summary=summary,
            ranked_by=ranked_by,
            time_to_target=ttt,
        )
    )
    return ReportContent(
        results=results,
        summary=summary,
        ranked_by=ranked_by,
        trials=trials,
        excluded_counts=exclusion_counts(reasons),
        time_to_target=ttt,
        figures=figures,
        generated_at=datetime.now(),
    )


def _rank_metric(included: pd.DataFrame) -> str:
    return next((m for m in _RANK_CANDIDATES if included[m].notna().any()), _RANK_CANDIDATES[0])


def study_leaderboard(study_name: str, *, storage: str) -> pd.DataFrame:
    """The ranked per-recipe summary of a study's usable trials, without figures or files.

    Empty when no trial is usable yet.

    Example:
        >>> url = "sqlite:///runs/bench.db"
        >>> board = study_leaderboard("optimizers", storage=url)  # doctest: +SKIP
        >>> board[["recipe_label", "n", "test_auc_mean"]]  # doctest: +SKIP
    """
    trials = load_results(study_name, storage=storage).trials
    included = trials[exclusion_reasons(trials) == ""]
    if included.empty:
        return pd.DataFrame()
    return summarize(included, rank_by=_rank_metric(included))


def report_dir_name(study_name: str) -> str:
    """The directory a study's report goes to: its name, made safe as one path part.

    Example:
        >>> report_dir_name("optimizers")
        'optimizers'
        >>> report_dir_name("../x y")
        'x_y'
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", study_name).strip("._")
    return safe or "study"


def write_report(
    study_name: str,
    *,
    storage: str,
    out_dir: str | os.PathLike[str] = "reports",
    write_note: bool = True,
    target_fraction: float = TARGET_FRACTION,
) -> ReportResult:
    """Render a study's report into ``<out_dir>/<study>/`` and return what to print.

    Writes ``index.html`` (self-contained), ``report.md``, ``figures/*.png`` and ``.svg``,
    ``trials.csv`` and ``summary.csv``. The directory is built next to its target and
    moved into place at the end, so an error leaves the previous report (or nothing)
    rather than a half-written one. With ``write_note`` the leaderboard also becomes the
    study's note in optuna-dashboard.

    Raises:
        BenchInputError: If the storage or study is unknown, the study has no trials, or
            ``out_dir`` cannot be written.

    Example:
        >>> result = write_report("optimizers", storage="sqlite:///runs/bench.db")  # doctest: +SKIP
        >>> result.index_html  # doctest: +SKIP
        PosixPath('reports/optimizers/index.html')
    """
    content = build_report(study_name, storage=storage, target_fraction=target_fraction)
    target = Path(out_dir) / report_dir_name(study_name)
    _write_atomically(target, content)
    note_written, warnings = False, []
    if write_note:
        try:
            save_leaderboard_note(
                study_name,
                storage=storage,
                markdown=render_note(content, report_path=str(target / "index.html")),
            )
            note_written = True
        except Exception as exc:  # the report is written; a read-only storage must not undo it
            warnings.append(f"dashboard note not written: {exc}")
    figures = tuple(
        target / "figures" / f"{f.name}.{ext}" for f in content.figures for ext in ("png", "svg")
    )
    return ReportResult(
        study_name=study_name,
        out_dir=target,
        index_html=target / "index.html",
        report_md=target / "report.md",
        trials_csv=target / "trials.csv",
        summary_csv=target / "summary.csv",
        figures=figures,
        leaderboard=content.summary,
        ranked_by=content.ranked_by,
        n_trials=len(content.trials),
        n_included=content.n_included,
        excluded=dict(content.excluded_counts),
        note_written=note_written,
        warnings=tuple(warnings),
    )


def _write_files(directory: Path, content: ReportContent) -> None:
    figures = directory / "figures"
    figures.mkdir()
    for figure in content.figures:
        (figures / f"{figure.name}.png").write_bytes(figure.png)
        (figures / f"{figure.name}.svg").write_bytes(figure.svg)
    (directory / "index.html").write_text(render_html(content), encoding="utf-8")
    (directory / "report.md").write_text(render_markdown(content), encoding="utf-8")
    content.trials.to_csv(directory / "trials.csv", index=False)
    content.summary.to_csv(directory / "summary.csv", index=False)


def _write_atomically(target: Path, content: ReportContent) -> None:
    if target.exists() and not target.is_dir():
        raise BenchInputError(f"--out: {target} exists and is not a directory")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise BenchInputError(f"--out: cannot write to {target.parent} ({exc.strerror})") from exc
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; a report is meant to be read
        _write_files(staging, content)
        if target.exists():
            retired = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
            target.rename(retired)
            staging.rename(target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
