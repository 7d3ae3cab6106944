"""One training run: kept weights, stop reasons, metrics and predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from bench._schema import HISTORY_FIELDS
from bench.recipe import Recipe
from bench.trial import run_trial

# A high rate without dropout: validation loss bottoms out early, then rises.
OVERFIT = {
    "epochs": 12,
    "patience": 2,
    "monitor": "val_loss",
    "learning_rate": 0.02,
    "optimizer": "adam",
    "weight_decay": 0.0,
    "dropout": 0.0,
    "head_dropout": 0.0,
    "seed": 1,
}


@pytest.fixture(scope="module")
def restored(small_workload):
    return run_trial(small_workload, Recipe(restore_best_weights=True, **OVERFIT))


@pytest.fixture(scope="module")
def not_restored(small_workload):
    return run_trial(small_workload, Recipe(restore_best_weights=False, **OVERFIT))


def test_history_has_one_record_per_epoch_with_every_field(short_run):
    assert len(short_run.history) == short_run.epochs_run
    for i, record in enumerate(short_run.history, start=1):
        assert set(record) == set(HISTORY_FIELDS)
        assert record["epoch"] == i
        assert record["lr"] == pytest.approx(3e-3)


def test_restore_best_weights_keeps_the_best_epochs_validation_metric(restored):
    val_losses = [h["val_loss"] for h in restored.history]
    best = int(np.argmin(val_losses)) + 1
    assert restored.stop_reason == "early_stopped"
    assert best < restored.epochs_run  # the run went past its best epoch
    assert restored.kept_epoch == best
    assert restored.metrics["val"]["loss"] == pytest.approx(val_losses[best - 1], rel=1e-4)


def test_without_restore_the_last_epochs_weights_are_kept(not_restored):
    last = not_restored.history[-1]
    assert not_restored.kept_epoch == not_restored.epochs_run
    assert not_restored.metrics["val"]["loss"] == pytest.approx(last["val_loss"], rel=1e-4)
    assert not_restored.metrics["val"]["accuracy"] == pytest.approx(last["val_accuracy"], abs=1e-6)


def test_reported_test_auc_is_scikit_learns_on_the_saved_predictions(short_run):
    p = short_run.test_predictions
    assert short_run.metrics["test"]["auc"] == roc_auc_score(p["y_true"], p["y_score"])
    assert len(p["y_true"]) == short_run.workload["sizes"]["test"]


def test_gap_is_train_minus_validation_at_the_kept_weights(short_run):
    m = short_run.metrics
    assert short_run.gap["accuracy"] == pytest.approx(m["train"]["accuracy"] - m["val"]["accuracy"])
    assert short_run.gap["loss"] == pytest.approx(m["val"]["loss"] - m["train"]["loss"])


def test_epoch_hook_can_stop_the_run_as_pruned(small_workload):
    seen = []

    def prune_after_first(record):
        seen.append(record["epoch"])
        return True

    result = run_trial(small_workload, Recipe(epochs=3), on_epoch=prune_after_first)
    assert seen == [1]
    assert (result.stop_reason, result.epochs_run) == ("pruned", 1)


def test_a_diverging_recipe_stops_and_says_so(small_workload):
    # The L2 penalty at this rate blows the weights up on either backend. (Without L2, a
    # rate of 10 overflows TensorFlow's cross-entropy, but JAX's clipped one saturates at
    # chance and stays finite: such a run completes with a chance-level score.)
    recipe = Recipe(optimizer="sgd", learning_rate=10.0, l2=1.0, epochs=3, early_stopping=False)
    result = run_trial(small_workload, recipe)
    assert result.stop_reason == "diverged"
    assert not math.isfinite(result.history[-1]["loss"])
    assert result.metrics["test"]["auc"] is None


@pytest.mark.slow
def test_multiclass_workload_trains_with_softmax_and_macro_auc():
    from bench.workload import load_workload

    workload = load_workload("digits10", preset="tiny", train_size=200)
    result = run_trial(workload, Recipe(epochs=1))
    scores = np.asarray(result.test_predictions["y_score"])
    assert scores.shape == (workload.dataset.test.x.shape[0], 10)
    expected = roc_auc_score(result.test_predictions["y_true"], scores, multi_class="ovr")
    assert result.metrics["test"]["auc"] == pytest.approx(expected)


@pytest.mark.slow
def test_the_documented_one_epoch_run_completes():
    # The call that run_trial's docstring describes, on the full default digits workload.
    from bench.workload import load_workload

    result = run_trial(load_workload("digits"), Recipe(epochs=1))
    assert (result.epochs_run, result.stop_reason) == (1, "completed")


def test_reuse_is_on_unless_the_environment_turns_it_off(monkeypatch):
    from bench.trial import REUSE_ENV, reuse_enabled

    for off in ("0", "false", " No ", "OFF"):
        assert not reuse_enabled(environ={REUSE_ENV: off})
    assert reuse_enabled(environ={REUSE_ENV: "1"}) and reuse_enabled(environ={})
    monkeypatch.setenv(REUSE_ENV, "off")
    assert not reuse_enabled()
    monkeypatch.delenv(REUSE_ENV)
    assert reuse_enabled()


def test_validation_in_large_batches_keeps_the_history_of_batches_of_32(
    small_workload, monkeypatch
):
    import bench.trial

    recipe = Recipe(epochs=3, learning_rate=3e-3, seed=4)
    assert len(small_workload.dataset.val.x) > bench.trial.EVAL_BATCH_SIZE  # several batches
    large = run_trial(small_workload, recipe)
    monkeypatch.setattr(bench.trial, "EVAL_BATCH_SIZE", recipe.batch_size)
    small = run_trial(small_workload, recipe)
    for a, b in zip(large.history, small.history, strict=True):
        assert {k: v for k, v in a.items() if not k.startswith("val_") and k != "time_s"} == {
            k: v for k, v in b.items() if not k.startswith("val_") and k != "time_s"
        }
        for name in ("val_loss", "val_accuracy", "val_auc"):
            assert a[name] == pytest.approx(b[name], abs=1e-6)
    for split, values in large.metrics.items():
        assert values == pytest.approx(small.metrics[split], abs=1e-6)


def test_a_label_noise_workload_reports_the_gap_on_clean_training_labels():
    from bench.workload import load_workload

    workload = load_workload("digits", preset="tiny", train_size=160, label_noise=0.25)
    flipped = workload.dataset.train.y != workload.dataset.train_clean.y
    assert 0.15 < flipped.mean() < 0.35  # the workload knows which labels it flipped
    result = run_trial(workload, Recipe(epochs=1, seed=2))
    clean, val = result.metrics["train_clean"]["accuracy"], result.metrics["val"]["accuracy"]
    assert result.gap["clean_accuracy"] == pytest.approx(clean - val)
    assert result.gap["accuracy"] == pytest.approx(result.metrics["train"]["accuracy"] - val)


def test_the_gap_figure_shows_and_names_the_clean_label_gap_when_there_is_one():
    import dataclasses

    from bench.report._example import example_storage
    from bench.report._report import figure_input
    from bench.report.figures._gap import _get_gap_info

    data = figure_input("demo", storage=example_storage())
    assert "clean" not in _get_gap_info(data).caption
    noisy = dataclasses.replace(data, included=data.included.assign(gap_clean_accuracy=0.02))
    info = _get_gap_info(noisy)
    assert info.columns[0] == "gap_clean_accuracy"
    assert "clean training labels minus validation accuracy (the gap to read)" in info.caption
