"""A small stored study for the docstring examples: no training, no TensorFlow.

Example:
    >>> from bench.results import load_trials
    >>> trials = load_trials(EXAMPLE_STUDY, storage=example_storage())
    >>> trials[["number", "recipe_label", "seed", "test_auc"]]
       number recipe_label  seed  test_auc
    0       0         adam     0      0.90
    1       1         adam     1      0.92
    2       2          sgd     0      0.70
    3       3          sgd     1      0.72
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from bench._record import Y_SCORE, Y_TRUE, RecordWriter, TrialResult, recipe_label
from bench._schema import COMPLETED, SPLITS, VARIANT, Task
from bench.spec import parse_spec

if TYPE_CHECKING:
    from bench.report._content import ReportContent

#: The study :func:`example_storage` holds.
EXAMPLE_STUDY = "demo"
_QUALITY = {"adam": 0.90, "sgd": 0.70}
_SEEDS = (0, 1)
_EPOCHS = 3
_TASK: Task = "binary"


@functools.cache
def example_storage() -> str:
    """The URL of an SQLite storage holding study ``demo``, written by the record writer
    that ``bench run`` stores its trials with.

    Two recipes (variants ``adam`` and ``sgd``) ran once per seed 0 and 1 for 3 epochs,
    all complete. Built once per process in a temporary folder removed at exit.

    Example:
        >>> example_storage().startswith("sqlite:///")
        True
    """
    folder = Path(tempfile.mkdtemp(prefix="bench-example-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    url = f"sqlite:///{folder / 'bench.db'}"
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study created" line
    try:
        study = optuna.create_study(study_name=EXAMPLE_STUDY, storage=url, direction="maximize")
    finally:
        optuna.logging.set_verbosity(verbosity)
    spec = _spec()
    RecordWriter.write(
        study,
        RecordWriter.study(
            spec=spec.to_dict(),
            description=spec.description,
            spec_hash=spec.content_hash(),
            backend="jax",
        ),
    )
    study.add_trials([_trial(name, seed) for name in _QUALITY for seed in _SEEDS])
    return url


@functools.cache
def example_report() -> ReportContent:
    """The report content of the example study, figures included; built once per process.

    Example:
        >>> example_report().summary["recipe_label"].tolist()
        ['adam', 'sgd']
    """
    from bench.report._report import build_report  # loads matplotlib: only when asked

    return build_report(EXAMPLE_STUDY, storage=example_storage())


def _spec():
    return parse_spec(
        {
            "name": EXAMPLE_STUDY,
            "description": "adam against sgd, two seeds",
            "workload": {"dataset": "digits", "preset": "tiny"},
            "objective": {"metric": "val_auc", "direction": "maximize"},
            "sampler": "grid",
            "pruner": "none",
            "seeds": list(_SEEDS),
            "epochs": _EPOCHS,
            "variants": [{"name": name, "optimizer": name} for name in _QUALITY],
        },
        source="the example study",
    )


def _trial(name: str, seed: int) -> optuna.trial.FrozenTrial:
    quality = _QUALITY[name] + 0.02 * seed
    history = [_epoch(epoch, quality) for epoch in range(1, _EPOCHS + 1)]
    kept = history[-1]
    labels = [0, 1] * 4
    result = TrialResult(
        history=history,
        kept_epoch=int(kept["epoch"]),
        epochs_run=len(history),
        stop_reason=COMPLETED,
        metrics={
            split: {"loss": 1 - quality, "accuracy": quality, "auc": quality} for split in SPLITS
        },
        gap={"accuracy": 0.0, "loss": 0.0},
        test_predictions={
            Y_TRUE: labels,
            Y_SCORE: [0.5 + (quality - 0.5) * (2 * y - 1) for y in labels],
        },
        class_names=["0", "1"],
        task=_TASK,
        recipe=_spec().recipe({VARIANT: name, "seed": seed}).to_dict(),
        workload={"dataset": "digits", "task": _TASK, "preset": "tiny"},
        wall_time_s=kept["time_s"],
        images_per_s=100.0,
        versions={"optuna": optuna.__version__},
    )
    params = {VARIANT: name}
    return optuna.trial.create_trial(
        state=TrialState.COMPLETE,
        value=quality,
        params=params,
        distributions={VARIANT: CategoricalDistribution(list(_QUALITY))},
        user_attrs={
            **RecordWriter.labelled(recipe_label(params), seed=seed),
            **RecordWriter.result(result),
        },
        intermediate_values={h["epoch"]: h["val_auc"] for h in history},
    )


def _epoch(epoch: int, quality: float) -> dict[str, float]:
    progress = epoch / _EPOCHS
    auc = 0.5 + (quality - 0.5) * progress
    return {
        "epoch": epoch,
        "loss": 1 - auc,
        "accuracy": auc,
        "auc": auc,
        "val_loss": 1.02 - auc,
        "val_accuracy": auc - 0.01,
        "val_auc": auc,
        "lr": 1e-3,
        "time_s": 2.0 * epoch,
    }
