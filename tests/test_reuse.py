"""Reusing traced steps across trials changes nothing: a trial that runs after others in
the same process has the history and metrics it has when run alone on a fresh build."""

from __future__ import annotations

import numpy as np
import pytest

from bench import _compiled, trial
from bench.recipe import Recipe
from bench.trial import run_trial

# Same optimizer kinds as TARGETS at other rates, decays, momenta and seeds, so that the
# targets run on steps traced for another recipe.
WARM_UP = (
    Recipe(optimizer="adam", learning_rate=2e-3, weight_decay=0.01, epochs=2, seed=1),
    Recipe(optimizer="sgd", learning_rate=0.05, momentum=0.5, weight_decay=0.0, epochs=2, seed=1),
    Recipe(
        optimizer="adamw",
        schedule="warmup_cosine",
        warmup_epochs=1,
        learning_rate=1e-3,
        weight_decay=0.05,
        epochs=3,
        seed=0,
    ),
    Recipe(optimizer="adam", learning_rate=1e-3, l2=0.01, epochs=2, seed=1),
    Recipe(optimizer="rmsprop", schedule="step", step_every=1, step_factor=0.9, epochs=2, seed=1),
)
TARGETS = {
    "adam": Recipe(optimizer="adam", learning_rate=5e-3, weight_decay=0.05, epochs=2, seed=0),
    "sgd_momentum": Recipe(
        optimizer="sgd", learning_rate=0.01, momentum=0.9, weight_decay=0.0, epochs=2, seed=0
    ),
    "warmup_cosine": Recipe(
        optimizer="adamw",
        schedule="warmup_cosine",
        warmup_epochs=1,
        learning_rate=3e-3,
        weight_decay=0.01,
        epochs=3,
        seed=3,
    ),
    "early_stopping": Recipe(
        optimizer="adam",
        learning_rate=0.03,
        weight_decay=0.01,
        epochs=3,
        patience=0,
        monitor="val_auc",
        # No epoch improves AUC by 0.5, so the run stops after its second epoch on either
        # backend, whatever the scores (and restores the first epoch's weights).
        min_delta=0.5,
        seed=2,
    ),
    # The L2 rate and a step schedule's numbers are state of the compiled step, not
    # constants of the first recipe that compiled it.
    "l2": Recipe(optimizer="adam", learning_rate=2e-3, l2=0.2, epochs=2, seed=0),
    "step": Recipe(
        optimizer="rmsprop", schedule="step", step_every=1, step_factor=0.3, epochs=3, seed=0
    ),
    "reduce_on_plateau": Recipe(
        optimizer="rmsprop",
        schedule="reduce_on_plateau",
        plateau_patience=0,
        plateau_factor=0.2,
        epochs=3,
        seed=0,
    ),
}


def _without_times(history):
    return np.array([[v for k, v in sorted(r.items()) if k != "time_s"] for r in history])


@pytest.fixture(scope="module")
def reused(small_workload):
    trial.clear_reuse_cache()
    for recipe in WARM_UP:
        run_trial(small_workload, recipe, reuse=True)
    results = {name: run_trial(small_workload, r, reuse=True) for name, r in TARGETS.items()}
    signatures = [len(c._steps) for c in _compiled._CACHE.values()]
    trial.clear_reuse_cache()
    return results, signatures


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_a_trial_after_others_matches_the_same_trial_on_a_fresh_build(reused, small_workload, name):
    alone = run_trial(small_workload, TARGETS[name], reuse=False)
    after = reused[0][name]
    assert (after.epochs_run, after.stop_reason, after.kept_epoch) == (
        alone.epochs_run,
        alone.stop_reason,
        alone.kept_epoch,
    )
    np.testing.assert_allclose(
        _without_times(after.history), _without_times(alone.history), rtol=0, atol=1e-6
    )
    for split, metrics in alone.metrics.items():
        assert after.metrics[split] == pytest.approx(metrics, rel=0, abs=1e-6)
    np.testing.assert_allclose(
        after.test_predictions["y_score"], alone.test_predictions["y_score"], rtol=0, atol=1e-6
    )


def test_the_targets_ran_on_steps_traced_for_other_recipes(reused):
    # Two model shapes (with and without L2). Without: one step each for adam with decay,
    # sgd with momentum (any value), adamw with warmup, rmsprop with a step schedule and
    # rmsprop at a constant rate; with: adam.
    assert sorted(reused[1]) == [1, 5]


def test_early_stopping_target_does_stop_early(reused):
    assert reused[0]["early_stopping"].stop_reason == "early_stopped"
