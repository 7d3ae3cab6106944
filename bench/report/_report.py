"""Build a study's report and write it to disk in one piece.

The ranking it reports comes from :mod:`bench.report._verdicts`; this module adds the
figures (drawn only here), the words and the files.
"""

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
from bench.report._content import FIGURE_DIR, ReportContent
from bench.report._labels import counts_text
from bench.report._note import save_leaderboard_note
from bench.report._protocol import edge_sentence
from bench.report._render import render_html, render_markdown, render_note
from bench.report._selection import TrialCounts, exclusion_counts, trial_counts
from bench.report._time_to_target import TimeToTarget, time_to_target
from bench.report._verdicts import Verdicts, _protocol, verdicts_of
from bench.report.figures import FigureInput
from bench.results import StudyResults, load_results
from bench.storage import redact_url

#: The defaults arm beside the tuned ranking, written only for a study with the arm.
DEFAULTS_CSV = "defaults.csv"


@dataclass(frozen=True)
class ReportResult:
    """What :func:`write_report` wrote and what the command line prints.

    Attributes:
        study_name: The study reported.
        out_dir: The study's report directory (``<out_dir>/<study>``).
        index_html: The self-contained HTML page.
        report_md: The Markdown report.
        trials_csv: One row per trial.
        summary_csv: One row per recipe (per candidate under a tuning protocol).
        defaults_csv: The defaults arm beside the tuned ranking, one row per candidate
            (``None`` for a study without the arm).
        figures: The PNG and SVG files, in reading order.
        leaderboard: One row per recipe, ranked (the ``summary.csv`` rows; ``n_planned``
            and ``seeds_missing`` say which of the spec's seeds a recipe lacks and why);
            render it with :func:`leaderboard_table`.
        ranked_by: The metric the leaderboard is ranked and tested on.
        n_trials: All trials of the study.
        n_included: The trials the numbers are computed from (under a tuning protocol,
            the final-phase trials that count).
        excluded: Excluded trials per reason (``pruned``, ``failed``, ``diverged``,
            ``running``, ``incomplete``), zero counts included.
        counts: Every trial counted once: tuning, in the verdict, or neither (yet).
        note_written: Whether the leaderboard was saved as the study's dashboard note.
        warnings: One-line messages for the user (e.g. why the note was not written).
        range_note: The sentence on chosen values at an end of their range (``""`` when
            none), which the console prints after the leaderboard.

    :func:`write_report`'s example shows one.
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
    counts: TrialCounts
    note_written: bool
    warnings: tuple[str, ...] = field(default=())
    range_note: str = ""
    defaults_csv: Path | None = None

    @property
    def status_line(self) -> str:
        """The line ``bench report`` ends a study with: what its trials did (tuning, in
        the verdict, neither) and which files it wrote. :func:`write_report` shows one.
        """
        files = (self.index_html, self.report_md, self.trials_csv, self.summary_csv)
        files += (self.defaults_csv,) if self.defaults_csv is not None else ()
        wrote = ", ".join(str(path) for path in files)
        return f"{self.study_name}: {counts_text(self.counts)}; wrote {wrote}"


def build_report(study_name: str, *, storage: str) -> ReportContent:
    """Read a study and compute everything its report says, figures included.

    Raises:
        BenchInputError: If the storage or study is unknown, or the study has no trials.

    Example:
        >>> from bench.report._example import example_storage
        >>> content = build_report("demo", storage=example_storage())
        >>> content.summary[["rank", "recipe_label", "n", "test_auc_mean"]]
           rank recipe_label  n  test_auc_mean
        0     1         adam  2           0.91
        1     2          sgd  2           0.71
    """
    return report_content(load_results(study_name, storage=storage))


def _figure_input(results: StudyResults, verdicts: Verdicts) -> FigureInput:
    target_times = time_to_target(verdicts.selection.included, results.histories)
    return FigureInput(
        results=results,
        included=verdicts.selection.included,
        summary=_with_time_to_target(verdicts.summary, target_times),
        ranked_by=verdicts.ranked_by,
        time_to_target=target_times,
        tuning=verdicts.selection.tuning_counted,
        tuning_failed=verdicts.selection.tuning_failed,
    )


def figure_input(study_name: str, *, storage: str) -> FigureInput:
    """What a study's figures are drawn from: the report's numbers, before any drawing.

    Raises:
        BenchInputError: If the storage or study is unknown, or the study has no trials.

    Example:
        >>> from bench.report._example import example_storage
        >>> data = figure_input("demo", storage=example_storage())
        >>> data.ranked_by, len(data.included), data.summary["recipe_label"].tolist()
        ('val_auc', 4, ['adam', 'sgd'])
    """
    results = load_results(study_name, storage=storage)
    return _figure_input(results, verdicts_of(results))


def report_content(results: StudyResults) -> ReportContent:
    """Everything a report says about already-loaded ``results``, figures included."""
    from bench.report.figures import draw_figures  # loads matplotlib: only when drawing

    verdicts = verdicts_of(results)
    selection = verdicts.selection
    data = _figure_input(results, verdicts)
    return ReportContent(
        results=results,
        summary=data.summary,
        ranked_by=verdicts.ranked_by,
        trials=selection.trials,
        judged=selection.judged,
        excluded_counts=exclusion_counts(selection.trials["excluded"]),
        counts=trial_counts(selection),
        missing=verdicts.missing,
        time_to_target=data.time_to_target,
        protocol=_protocol(results, selection.trials),
        figures=draw_figures(data),
        generated_at=datetime.now(),
        defaults_arm=verdicts.defaults,
    )


def _with_time_to_target(summary: pd.DataFrame, target_times: TimeToTarget | None) -> pd.DataFrame:
    if target_times is None:
        return summary
    per_recipe = target_times.per_recipe.drop(columns="n").rename(
        columns={
            "reached": "target_reached",
            "epochs_median": "epochs_to_target_median",
            "seconds_median": "seconds_to_target_median",
        }
    )
    return summary.merge(per_recipe, on="recipe_label", how="left")


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
        >>> import tempfile
        >>> from bench.report._example import example_storage
        >>> out = tempfile.mkdtemp()
        >>> result = write_report("demo", storage=example_storage(), out_dir=out)
        >>> result.index_html.relative_to(out).as_posix(), result.n_included, result.note_written
        ('demo/index.html', 4, True)
        >>> print(result.status_line.replace(out, "OUT"))
        demo: 4 trials: 4 in the verdict; wrote OUT/demo/index.html, OUT/demo/report.md, ...
    """
    content = build_report(study_name, storage=storage)
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
            message = str(exc).replace(storage, redact_url(storage))
            warnings.append(f"dashboard note not written: {message}")
    figures = tuple(
        target / FIGURE_DIR / f"{f.name}.{ext}" for f in content.figures for ext in ("png", "svg")
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
        counts=content.counts,
        note_written=note_written,
        warnings=tuple(warnings),
        range_note=edge_sentence(content.protocol) if content.protocol is not None else "",
        defaults_csv=target / DEFAULTS_CSV if content.defaults_arm is not None else None,
    )


def _write_files(directory: Path, content: ReportContent) -> None:
    figures = directory / FIGURE_DIR
    figures.mkdir()
    for figure in content.figures:
        (figures / f"{figure.name}.png").write_bytes(figure.png)
        (figures / f"{figure.name}.svg").write_bytes(figure.svg)
    (directory / "index.html").write_text(render_html(content), encoding="utf-8")
    (directory / "report.md").write_text(render_markdown(content), encoding="utf-8")
    content.trials.to_csv(directory / "trials.csv", index=False)
    content.summary.to_csv(directory / "summary.csv", index=False)
    if content.defaults_arm is not None:
        content.defaults_arm.table.to_csv(directory / DEFAULTS_CSV, index=False)


def _write_atomically(target: Path, content: ReportContent) -> None:
    for path in (target.parent, target):
        if path.exists() and not path.is_dir():
            raise BenchInputError(
                f"--out {target.parent}: {path} is a file; expected a folder to write the "
                "report into"
            )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise BenchInputError(
            f"--out {target.parent}: cannot write there ({exc.strerror}); expected a folder "
            "you may write to"
        ) from exc
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
