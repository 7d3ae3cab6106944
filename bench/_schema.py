"""The shape of a stored trial result, shared by its writer and its readers.

:mod:`bench.trial` produces the result, :mod:`bench.study` stores it as Optuna user
attributes, and :mod:`bench.results` reads it back. The names a result uses for splits,
tasks and stop reasons are declared here once.

Example:
    >>> SPLITS
    ('train', 'val', 'test')
    >>> HISTORY_FIELDS[:4]
    ('epoch', 'loss', 'accuracy', 'auc')
"""

from __future__ import annotations

from typing import Final, Literal, get_args

SplitName = Literal["train", "val", "test"]
SPLITS: Final[tuple[SplitName, ...]] = get_args(SplitName)

Task = Literal["binary", "multiclass", "multilabel"]
TASKS: Final[tuple[Task, ...]] = get_args(Task)

#: Why a trial ended: training's own reasons, then the study's (``duplicate``: a grid cell
#: or slot another worker already ran; ``crashed``: its worker died on every attempt).
StopReason = Literal["completed", "early_stopped", "pruned", "diverged", "duplicate", "crashed"]
STOP_REASONS: Final[tuple[StopReason, ...]] = get_args(StopReason)
COMPLETED: Final = "completed"
EARLY_STOPPED: Final = "early_stopped"
PRUNED: Final = "pruned"
DIVERGED: Final = "diverged"
DUPLICATE: Final = "duplicate"
CRASHED: Final = "crashed"

#: The phases of a tuning protocol: a tuning trial searched a candidate's settings on the
#: tuning seed; a final trial reran the chosen settings on a fresh seed; a defaults trial
#: (``[tuning] defaults_arm``) trained the candidate untuned, at its knobs' defaults, on a
#: final seed.
Phase = Literal["tune", "final", "defaults"]
PHASES: Final[tuple[Phase, ...]] = get_args(Phase)
TUNE: Final = "tune"
FINAL: Final = "final"
DEFAULTS: Final = "defaults"

METRIC_NAMES: Final[tuple[str, ...]] = ("loss", "accuracy", "auc")
#: Per-epoch history fields after ``epoch``: the Keras logs, then the rate and the time.
EPOCH_METRICS: Final[tuple[str, ...]] = tuple(
    f"{prefix}{name}" for prefix in ("", "val_") for name in METRIC_NAMES
)
HISTORY_FIELDS: Final[tuple[str, ...]] = ("epoch", *EPOCH_METRICS, "lr", "time_s")

#: The param that names a study's variant (a candidate, under a tuning protocol).
VARIANT: Final = "variant"

#: A trial's seed: a recipe field (the user attribute that stores it is in bench._record).
SEED: Final = "seed"
