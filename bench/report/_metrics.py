"""The summary metrics a report aggregates per recipe: their names, which count epochs, and
the range each bounded one lives in. Declared once; the statistics and the comparisons read
them here."""

from __future__ import annotations

#: Per-recipe metrics aggregated over seeds: column -> the words a reader sees.
SUMMARY_METRICS: dict[str, str] = {
    "test_auc": "test AUC",
    "val_auc": "validation AUC",
    "test_accuracy": "test accuracy",
    "val_accuracy": "validation accuracy",
    "gap_accuracy": "generalization gap (accuracy)",
    "gap_clean_accuracy": "generalization gap (accuracy, clean training labels)",
    "gap_loss": "generalization gap (loss)",
    "kept_epoch": "kept epoch",
    "epochs_run": "epochs run",
    "wall_time_s": "wall time (s)",
}

#: Summary metrics that count epochs: whole numbers whose t interval is shown only from
#: :data:`MIN_INTERVAL_N` seeds on; below that the values themselves are shown.
COUNT_METRICS: tuple[str, ...] = ("kept_epoch", "epochs_run")
MIN_INTERVAL_N = 3

#: The range each bounded summary metric lives in: its interval never leaves it.
METRIC_RANGES: dict[str, tuple[float, float]] = {
    "test_auc": (0.0, 1.0),
    "val_auc": (0.0, 1.0),
    "test_accuracy": (0.0, 1.0),
    "val_accuracy": (0.0, 1.0),
    "gap_accuracy": (-1.0, 1.0),
    "gap_clean_accuracy": (-1.0, 1.0),
}
