"""The shape of a stored trial result, shared by its writer (trial) and reader (results)."""

from __future__ import annotations

SPLITS: tuple[str, ...] = ("train", "val", "test")
METRIC_NAMES: tuple[str, ...] = ("loss", "accuracy", "auc")
#: Per-epoch history fields after ``epoch``: the Keras logs, then the rate and the time.
EPOCH_METRICS: tuple[str, ...] = tuple(
    f"{prefix}{name}" for prefix in ("", "val_") for name in METRIC_NAMES
)
HISTORY_FIELDS: tuple[str, ...] = ("epoch", *EPOCH_METRICS, "lr", "time_s")
