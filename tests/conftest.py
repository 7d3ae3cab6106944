"""Shared fixtures: a small digits workload, one short training run, one tiny real study.

Each is built once per test session: training is the slow part of the suite.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.recipe import Recipe

XSS_CLASS = "<script>alert(1)</script>"

TINY_SPEC = """
name = "tiny"
description = "two optimizers, two seeds, two epochs"
seeds = [0, 1]
epochs = 2

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


def write_digits_npz(path: Path, *, class_names: tuple[str, str] = ("low", "high")) -> Path:
    """A MedMNIST-style binary npz made of real digits: 120 train, 60 val, 60 test."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images * 255 / 16).astype("uint8")
    labels = (digits.target >= 5).astype("int64").reshape(-1, 1)
    arrays = {"class_names": np.array(class_names)}
    for name, rows in (
        ("train", slice(0, 120)),
        ("val", slice(120, 180)),
        ("test", slice(180, 240)),
    ):
        arrays[f"{name}_images"], arrays[f"{name}_labels"] = images[rows], labels[rows]
    np.savez(path, **arrays)
    return path


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


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory):
    """A real study, run with ``bench run``: 2 recipes x 2 seeds x 2 epochs on an npz whose
    positive class is named like an HTML injection. Returns (spec path, storage URL)."""
    from bench.cli import main

    folder = tmp_path_factory.mktemp("study")
    npz = write_digits_npz(folder / "digits.npz", class_names=("benign", XSS_CLASS))
    spec = folder / "tiny.toml"
    spec.write_text(TINY_SPEC.format(npz=npz))
    url = f"sqlite:///{folder / 'bench.db'}"
    assert main(["run", "--study", str(spec), "--storage", url, "--jobs", "1"]) == 0
    return spec, url
