"""Terminal display: rich progress for training and rich tables for results.

Only presentation lives here; it reads results, it never computes them.
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench._schema import SPLITS

stderr_console = Console(stderr=True)


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


def format_metrics(record: dict[str, float]) -> str:
    """One line of an epoch's metrics, e.g. ``loss 0.41 acc 0.83 ... lr 1e-03``."""
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
    """Follows one training run: a progress bar over epochs with the latest metrics.

    Its :meth:`epoch_ended` is the ``on_epoch`` hook of :func:`bench.trial.run_trial`,
    the same hook a study's display is driven by.

    Example:
        >>> with EpochDisplay(epochs=2) as display:
        ...     display.epoch_ended({"epoch": 1, "loss": 0.5, "lr": 1e-3})
    """

    def __init__(self, *, epochs: int, console: Console = stderr_console) -> None:
        self.progress = epoch_progress(console)
        self.task = self.progress.add_task("epoch", total=epochs, metrics="")

    def __enter__(self) -> EpochDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def epoch_ended(self, record: dict[str, float]) -> None:
        self.progress.update(
            self.task, completed=int(record["epoch"]), metrics=format_metrics(record)
        )

    def finished(self, epochs_run: int) -> None:
        """Shrink the bar to the epochs that ran (early stopping ends a run sooner)."""
        self.progress.update(self.task, total=epochs_run, completed=epochs_run)


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4f}"


def trial_summary_table(result: dict[str, Any]) -> Table:
    """The summary of one ``bench train`` run: each split's loss, accuracy and AUC."""
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
    return table


class StudyDisplay:
    """Follows a study in the terminal: trial k of N, the running trial's epoch and
    metrics, and the best value so far. Implements :class:`bench.study.TrialReporter`.

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
        done: int = 0,
        console: Console = stderr_console,
    ) -> None:
        self.metric = metric
        self.direction = direction
        self.best: tuple[float, str] | None = None
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
        )
        self.trials = self.progress.add_task("trials", total=total, completed=done, info="")
        self.epochs = self.progress.add_task("epoch", total=1, info="", visible=False)

    def __enter__(self) -> StudyDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def trial_started(self, number: int, label: str, seed: int, epochs: int) -> None:
        self.progress.reset(
            self.epochs,
            total=epochs,
            visible=True,
            description=f"trial {number}",
            info=f"{label} (seed {seed})",
        )

    def epoch_ended(self, record: dict[str, float]) -> None:
        self.progress.update(
            self.epochs, completed=int(record["epoch"]), info=format_metrics(record)
        )

    def trial_ended(self, trial: Any) -> None:
        self.progress.advance(self.trials)
        self._offer_best(trial)

    def trials_done(self, done: int, *, best: Any = None) -> None:
        """For a display fed by polling the storage (several worker processes)."""
        self.progress.update(self.trials, completed=done)
        if best is not None:
            self._offer_best(best)

    def _offer_best(self, trial: Any) -> None:
        value = trial.value
        if value is not None and math.isfinite(value):
            better = self.best is None or (
                value > self.best[0] if self.direction == "maximize" else value < self.best[0]
            )
            if better:
                self.best = (value, str(trial.user_attrs.get("recipe_label", "")))
        if self.best:
            info = f"best {self.metric} {self.best[0]:.4f}: {self.best[1]}"
            self.progress.update(self.trials, info=info)
