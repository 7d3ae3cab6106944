"""The workload: data, splits and task, and the shared ViT with its presets."""

from bench.workload._data import TASKS, Dataset, Split, load_dataset, make_pipeline
from bench.workload._presets import PRESETS, Preset, get_preset
from bench.workload._workload import DEFAULT_DATASET, DEFAULT_PRESET, Workload, load_workload

__all__ = [
    "DEFAULT_DATASET",
    "DEFAULT_PRESET",
    "PRESETS",
    "TASKS",
    "Dataset",
    "Preset",
    "Split",
    "Workload",
    "build_vit",
    "get_preset",
    "load_dataset",
    "load_workload",
    "make_pipeline",
]


def __getattr__(name: str):
    # The model module imports Keras (seconds); load it only when it is asked for, so
    # that validating a command line stays instant.
    if name == "build_vit":
        from bench.workload._model import build_vit

        return build_vit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
