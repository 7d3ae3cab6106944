"""The workload: data, splits and task, and the shared ViT with its presets.

Where things live:

- ``_load.py``: :func:`load_dataset`, which reads a source string and checks the options.
- ``_options.py``: :data:`WORKLOAD_OPTIONS`, what each option may be (the loader and a
  spec's ``[workload]`` table both check with it).
- ``_digits.py``, ``_folder.py``, ``_npz.py``: the sources ``digits``/``digits10``,
  ``folder:PATH`` and ``npz:PATH``, each reading its images into a ``SourceData``.
- ``_dataset.py``: :class:`Dataset`, :class:`Split`, building a dataset from a source's
  data (task, read-only arrays, content hash), resizing, and :func:`make_pipeline`.
- ``_splits.py``: stratified, seeded splitting; ``_noise.py``: label noise.
- ``_presets.py``: :data:`PRESETS`; ``_model.py``: :func:`build_vit` (imports Keras).
- ``_saved_model.py``: a trained model saved as a ``.keras`` file (:func:`save_model`,
  :func:`check_model_path`), loaded back (:func:`load_model`, ``bench.load_model``), and
  :func:`register_layers`, which lets Keras load it.
- ``_workload.py``: :class:`Workload` and :func:`load_workload`, a dataset with a preset.

Example:
    >>> from bench.workload import TASKS, load_workload
    >>> load_workload("digits10", train_size=100).dataset.task in TASKS
    True
"""

from bench._schema import TASKS
from bench.workload._dataset import Dataset, Split, make_pipeline
from bench.workload._load import load_dataset
from bench.workload._options import WORKLOAD_OPTIONS, WorkloadOption
from bench.workload._presets import PRESETS, Preset, get_preset
from bench.workload._saved_model import (
    MODEL_SUFFIX,
    check_model_path,
    load_model,
    register_layers,
    save_model,
)
from bench.workload._workload import DEFAULT_DATASET, DEFAULT_PRESET, Workload, load_workload

__all__ = [
    "DEFAULT_DATASET",
    "DEFAULT_PRESET",
    "MODEL_SUFFIX",
    "PRESETS",
    "TASKS",
    "WORKLOAD_OPTIONS",
    "Dataset",
    "Preset",
    "Split",
    "Workload",
    "WorkloadOption",
    "build_vit",
    "check_model_path",
    "get_preset",
    "load_dataset",
    "load_model",
    "load_workload",
    "make_pipeline",
    "register_layers",
    "save_model",
]


def __getattr__(name: str):
    # The model module imports Keras (seconds); load it only when it is asked for, so
    # that validating a command line stays instant.
    if name == "build_vit":
        from bench.workload._model import build_vit

        return build_vit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
