"""Shared fixtures: a small digits workload and one short training run, built once."""

from __future__ import annotations

import pytest

from bench.recipe import Recipe


@pytest.fixture(scope="session")
def small_workload():
    from bench.workload import load_workload

    return load_workload("digits", preset="tiny", train_size=160)


@pytest.fixture(scope="session")
def short_run(small_workload):
    """A 4-epoch run with early stopping that restores the best weights."""
    from bench.trial import run_trial

    recipe = Recipe(epochs=4, patience=1, monitor="val_loss", learning_rate=3e-3)
    return run_trial(small_workload, recipe)
