"""What bench prints while it works: rich progress on a terminal, plain lines in a log.

Only presentation lives here; it reads results, it never computes them. When standard
error is not a terminal (a log file, ``nohup``, CI), every display prints one plain line
per finished epoch or trial instead of redrawing a progress bar, and nothing is cut
to fit a width.
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench._ranking import best_of
from bench._record import TrialRecord
from bench._schema import DIVERGED, SPLITS

#: Width of tables written to a file or pipe, where no terminal says how wide to be.
PLAIN_WIDTH = 200


def make_console(*, stderr: bool = False) -> Console:
    """A rich console on standard output (or error) that never cuts a table in a log.

    Example:
        >>> make_console().width >= 80
        True
    """
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console.width = max(console.width, PLAIN_WIDTH)
    return console


stderr_console = make_console(stderr=True)


def epoch_progress(console: Console = stderr_console) -> Progress:
    """A progress bar whose description line carries the latest epoch's metrics."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[metrics]}"),
        console=console,
        transient=False,
    )


def plain_line(console: Console, text: str) -> None:
    """One line as it is: no markup, no wrapping, no ellipsis."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def format_metrics(record: dict[str, float]) -> str:
    """One line of an epoch's metrics, e.g. ``loss 0.410  acc 0.830 ... lr 1.0e-03``.

    Example:
        >>> format_metrics({"loss": 0.41, "val_auc": 0.9, "lr": 1e-3})
        'loss 0.410  val_auc 0.900  lr 1.0e-03'
    """
    parts = []
    for key, label in (
        ("loss", "loss"),
        ("accuracy", "acc"),
        ("auc", "auc"),
        ("val_loss", "val_loss"),
        ("val_accuracy", "val_acc"),
        ("val_auc", "val_auc"),
    ):
        if key in record:
            parts.append(f"{label} {record[key]:.3f}")
    if "lr" in record:
        parts.append(f"lr {record['lr']:.1e}")
    return "  ".join(parts)


class EpochDisplay:
    """Follows one training run: a progress bar over epochs with the latest metrics, or
    one plain line per epoch when standard error is not a terminal.

    Its :meth:`epoch_ended` is the ``on_epoch`` hook of :func:`bench.trial.run_trial`,
    the same hook a study's display is driven by.

    Example:
        >>> with EpochDisplay(epochs=2) as display:
        ...     display.epoch_ended({"epoch": 1, "loss": 0.5, "lr": 1e-3})
    """

    def __init__(self, *, epochs: int, console: Console = stderr_console) -> None:
        self.console = console
        self.epochs = epochs
        self.plain = not console.is_terminal
        self.progress = epoch_progress(console)
        self.task = self.progress.add_task("epoch", total=epochs, metrics="")

    def __enter__(self) -> EpochDisplay:
        if not self.plain:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.plain:
            self.progress.stop()

    def epoch_ended(self, record: dict[str, float]) -> None:
        epoch = int(record["epoch"])
        if self.plain:
            plain_line(self.console, f"epoch {epoch}/{self.epochs}  {format_metrics(record)}")
            return
        self.progress.update(self.task, completed=epoch, metrics=format_metrics(record))

    def finished(self, epochs_run: int) -> None:
        """Shrink the bar to the epochs that ran (early stopping ends a run sooner)."""
        self.progress.update(self.task, total=epochs_run, completed=epochs_run)


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4f}"


def trial_summary_table(result: dict[str, Any]) -> Table:
    """The summary of one ``bench train`` run: each split's loss, accuracy and AUC, and
    the file the model was saved to (``saved_model``) when it was."""
    table = Table(
        title=(
            f"{result['workload']['dataset']} ({result['task']}), kept epoch "
            f"{result['kept_epoch']} of {result['epochs_run']} ({result['stop_reason']})"
        )
    )
    table.add_column("split")
    for column in ("loss", "accuracy", "AUC"):
        table.add_column(column, justify="right")
    for split in SPLITS:
        m = result["metrics"][split]
        table.add_row(split, _fmt(m["loss"]), _fmt(m["accuracy"]), _fmt(m["auc"]))
    gap = result["gap"]
    table.caption = (
        f"generalization gap: accuracy {gap['accuracy']:+.4f} (train - val), "
        f"loss {gap['loss']:+.4f} (val - train); "
        f"{result['wall_time_s']:.1f} s, {result['images_per_s']:.0f} images/s"
    )
    if result.get("saved_model"):
        table.caption += f"; model saved to {result['saved_model']}"
    return table


class StudyDisplay:
    """Follows a study: trials finished of N, the running trial's epoch and metrics, and
    the best value so far; in a log, one plain line per epoch and per finished trial; on a
    terminal, a line for each trial that diverged. Implements :class:`bench.study.TrialReporter`.

    Example:
        >>> with StudyDisplay(total=4, metric="val_auc", direction="maximize") as display:
        ...     display.trial_started(0, "adamw", seed=0, epochs=2)
    """

    def __init__(
        self,
        *,
        total: int,
        metric: str,
        direction: str,
        finished: int = 0,
        console: Console = stderr_console,
    ) -> None:
        self.metric = metric
        self.direction = direction
        self.total = total
        self.finished = finished
        self.console = console
        self.plain = not console.is_terminal
        self.best: tuple[float, str] | None = None
        self._best_trial: Any = None
        self._current = ""
        self._last_plain = ""
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
        )
        self.trials = self.progress.add_task("trials", total=total, completed=finished, info="")
        self.epochs = self.progress.add_task("epoch", total=1, info="", visible=False)

    def __enter__(self) -> StudyDisplay:
        if not self.plain:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.plain:
            self.progress.stop()

    def trial_started(self, number: int, label: str, seed: int, epochs: int) -> None:
        self._current = f"trial {number}"
        self._epochs = epochs
        self.progress.reset(
            self.epochs,
            total=epochs,
            visible=True,
            description=f"trial {number}",
            info=f"{label} (seed {seed})",
        )
        if self.plain:
            self._say(f"trial {number} started: {label} (seed {seed}), {epochs} epochs")

    def epoch_ended(self, record: dict[str, float]) -> None:
        epoch = int(record["epoch"])
        if self.plain:
            self._say(f"{self._current} epoch {epoch}/{self._epochs}  {format_metrics(record)}")
            return
        self.progress.update(self.epochs, completed=epoch, info=format_metrics(record))

    def trial_ended(self, trial: Any) -> None:
        """One line per finished trial in a log; on a terminal, for a diverged one only
        (the bar shows the rest). The line says how the trial ended: its Optuna state,
        or ``diverged``, which a diverged trial is whatever its state.
        """
        self.finished += 1
        self.progress.update(self.trials, completed=self.finished)
        self._offer_best(trial)
        diverged = TrialRecord.read(trial).stop_reason == DIVERGED
        if self.plain or diverged:
            ending = DIVERGED if diverged else trial.state.name.lower()
            self._say(
                f"{self._trial_words(trial, ending)}; "
                f"{self.finished} of {self.total} trials done{self._best_words()}"
            )

    def trial_diverged(self, trial: Any) -> None:
        """A line naming a trial that a worker process ran and that diverged; the rest of a
        run in worker processes shows through :meth:`trials_done`."""
        self._say(self._trial_words(trial, DIVERGED))

    def trials_done(self, counts: Any, *, best: Any = None) -> None:
        """For a display fed by polling the storage (several worker processes). The total
        follows the counts: it shrinks where a study learns that some trials never run (a
        candidate with no usable settings, a second look that reruns fewer candidates)."""
        self.finished = counts.finished
        total = counts.finished + counts.running + counts.to_run
        if total != self.total:
            self.total = total
            self.progress.update(self.trials, total=total)
        if best is not None:
            self._offer_best(best)
        running = f"{counts.running} running" if counts.running else ""
        self.progress.update(self.trials, completed=counts.finished)
        if self.best is None:
            self.progress.update(self.trials, info=running)
        if self.plain:
            self._say_once(
                f"{counts.finished} of {self.total} trials done"
                + (f", {running}" if running else "")
                + self._best_words()
            )

    def waiting(self, counts: Any, *, owners: str) -> None:
        """Nothing is left to start here, but other workers still run trials."""
        self._say_once(
            f"waiting for {counts.running} running trial(s) of other workers ({owners}): "
            "they count when they finish, and are run again here if their worker is gone"
        )

    def _say(self, text: str) -> None:
        if self.plain:
            plain_line(self.console, text)
        else:
            self.progress.console.print(text, markup=False, highlight=False)

    def _say_once(self, text: str) -> None:
        if text != self._last_plain:
            self._last_plain = text
            self._say(text)

    def _trial_words(self, trial: Any, ending: str) -> str:
        record = TrialRecord.read(trial)
        value = "" if trial.value is None else f" {self.metric} {trial.value:.4f}"
        seed = "?" if record.seed is None else record.seed
        return f"trial {trial.number} {ending}: {record.recipe_label or ''} (seed {seed}){value}"

    def _best_words(self) -> str:
        return f"; best {self.metric} {self.best[0]:.4f}: {self.best[1]}" if self.best else ""

    def _offer_best(self, trial: Any) -> None:
        candidates = [trial] if self._best_trial is None else [self._best_trial, trial]
        best = best_of(candidates, direction=self.direction)
        if best is not None and best is not self._best_trial:
            self._best_trial = best
            self.best = (best.value, TrialRecord.read(best).recipe_label or "")
        if self.best:
            info = f"best {self.metric} {self.best[0]:.4f}: {self.best[1]}"
            self.progress.update(self.trials, info=info)
