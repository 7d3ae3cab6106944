"""A multilabel workload end to end: an npz of multi-hot labels is run as a study with
``bench run`` and reported with ``bench report``, with finite per-label AUCs throughout."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pandas as pd
import pytest
from conftest import write_digits_npz
from sklearn.metrics import roc_auc_score

from bench._record import TrialRecord
from bench.cli import main

LABELS = ("high", "even", "round")

SPEC = """
name = "multi"
description = "two optimizers on three labels"
seeds = [0]
epochs = 1

[workload]
dataset = "npz:{npz}"

[[variants]]
name = "adam"
optimizer = "adam"

[[variants]]
name = "sgd"
optimizer = "sgd"
learning_rate = 0.01
"""


def _three_labels(digits: np.ndarray) -> np.ndarray:
    """Multi-hot rows, one column per name of LABELS: 5-9, even, drawn with a loop."""
    return np.stack([digits >= 5, digits % 2 == 0, np.isin(digits, (0, 6, 8, 9))], axis=1).astype(
        "int64"
    )


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """The study run and reported; returns (storage URL, report folder)."""
    folder = tmp_path_factory.mktemp("multilabel")
    npz = write_digits_npz(folder / "labels.npz", labels_of=_three_labels, class_names=LABELS)
    spec = folder / "multi.toml"
    spec.write_text(SPEC.format(npz=npz))
    url = f"sqlite:///{folder / 'bench.db'}"
    assert main(["run", "--study", str(spec), "--storage", url, "--jobs", "1"]) == 0
    out = folder / "reports"
    assert main(["report", "--study", "multi", "--storage", url, "--out", str(out)]) == 0
    return url, out / "multi"


def _trials(url: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name="multi", storage=url).get_trials(deepcopy=False)


@pytest.mark.slow  # trains two one-epoch trials
def test_each_trial_trains_one_output_per_label(reported):
    url, _ = reported
    trials = _trials(url)
    assert sorted(t.params["variant"] for t in trials) == ["adam", "sgd"]
    for trial in trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert TrialRecord.read(trial).workload["task"] == "multilabel"
        scores = np.array(trial.user_attrs["test_predictions"]["y_score"])
        assert scores.shape == (60, len(LABELS))


@pytest.mark.slow
def test_stored_test_auc_is_the_macro_auc_over_labels(reported):
    url, _ = reported
    for trial in _trials(url):
        predictions = trial.user_attrs["test_predictions"]
        expected = roc_auc_score(predictions["y_true"], predictions["y_score"], average="macro")
        assert trial.user_attrs["metrics"]["test"]["auc"] == pytest.approx(expected)


@pytest.mark.slow
def test_summary_has_finite_aucs_for_both_recipes(reported):
    url, folder = reported
    summary = pd.read_csv(folder / "summary.csv").set_index("recipe_label")
    assert sorted(summary.index) == ["adam", "sgd"]
    stored = {t.params["variant"]: t.user_attrs["metrics"] for t in _trials(url)}
    for recipe, metrics in stored.items():
        for split in ("val", "test"):
            mean = summary.loc[recipe, f"{split}_auc_mean"]
            assert math.isfinite(mean) and 0.0 <= mean <= 1.0
            assert mean == pytest.approx(metrics[split]["auc"])  # one seed: its AUC


@pytest.mark.slow
def test_the_report_names_the_task_and_labels_and_draws_their_roc_curves(reported):
    _, folder = reported
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    assert "task multilabel" in markdown and ", ".join(LABELS) in markdown
    assert "task multilabel" in (folder / "index.html").read_text(encoding="utf-8")
    assert (folder / "figures" / "roc_curves.png").stat().st_size > 2000
