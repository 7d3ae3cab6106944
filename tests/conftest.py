"""Shared fixtures: a small digits workload, one short training run, one tiny real study;
and the helpers every test file shares (import them with ``from conftest import ...``):

- :func:`write_digits_npz` writes an npz data set (the only npz writer of the tests);
- :func:`error_line` reads the one-line error a command printed;
- :class:`StubReporter` is a display for ``run_worker`` that records what it is told and
  can press Ctrl-C.

Each fixture is built once per test session: training is the slow part of the suite.

Where ``BENCH_NO_SKIPS`` is set (``.ci/run`` sets it), a skipped test fails the run: a
test that cannot run there hides what it checks.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _five_to_nine(digits: np.ndarray) -> np.ndarray:
    """Binary labels, one column (MedMNIST's layout): 1 for the digits 5-9."""
    return (digits >= 5).astype("int64").reshape(-1, 1)


def digits_npz_arrays(
    *,
    sizes: tuple[int, int, int] = (120, 60, 60),
    labels_of: Callable[[np.ndarray], np.ndarray] = _five_to_nine,
    class_names: tuple[str, ...] | None = ("low", "high"),
) -> dict[str, np.ndarray]:
    """The arrays of a MedMNIST-style npz made of real digits: uint8 images 0..255 (N, 8, 8),
    ``labels_of(digit)`` labels, consecutive rows for train, val and test (``sizes``), and
    ``class_names`` unless None."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images * 255 / 16).astype("uint8")
    labels = labels_of(digits.target)
    arrays = {} if class_names is None else {"class_names": np.array(class_names)}
    start = 0
    for name, size in zip(("train", "val", "test"), sizes, strict=True):
        rows = slice(start, start + size)
        arrays[f"{name}_images"], arrays[f"{name}_labels"] = images[rows], labels[rows]
        start += size
    return arrays


def write_digits_npz(
    path: Path,
    *,
    sizes: tuple[int, int, int] = (120, 60, 60),
    labels_of: Callable[[np.ndarray], np.ndarray] = _five_to_nine,
    class_names: tuple[str, ...] | None = ("low", "high"),
    **overrides: np.ndarray | None,
) -> Path:
    """Write :func:`digits_npz_arrays` to ``path``, each of ``overrides`` replacing (or, when
    None, removing) the array of its name; an override may also add a key. By default a
    binary npz: 120 train, 60 val, 60 test images."""
    arrays = digits_npz_arrays(sizes=sizes, labels_of=labels_of, class_names=class_names)
    arrays.update(overrides)
    np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    return path


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The error the command just printed to stderr, checked to be the documented shape:
    exactly one non-empty line, ``bench: error: ...``, no traceback. Returns that line."""
    err = capsys.readouterr().err.strip()
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err, err
    assert lines[0].startswith("bench: error: "), err
    return lines[0]


class StubReporter:
    """A display for ``run_worker`` (a ``bench.study.TrialReporter``) that records what it
    is told and can press Ctrl-C: it raises KeyboardInterrupt at the end of an epoch of the
    ``stop_at_trial``-th trial this worker starts, or of the first trial of seed
    ``stop_at_seed``.

    ``started`` holds each trial's (number, label, seed, epochs), ``epochs`` each epoch's
    record, ``ended`` the finished trials, ``progress`` the counts polled while worker
    processes run, ``waits`` the owners named each time the worker waits for other
    workers' trials; ``waiting_started`` is set the first time it waits.
    """

    def __init__(self, *, stop_at_trial: int | None = None, stop_at_seed: int | None = None):
        self.stop_at_trial, self.stop_at_seed = stop_at_trial, stop_at_seed
        self.started: list[tuple[int, str, int, int]] = []
        self.epochs: list[dict[str, float]] = []
        self.ended: list[object] = []
        self.diverged: list[object] = []
        self.progress: list[object] = []
        self.waits: list[str] = []
        self.waiting_started = threading.Event()

    def _stops_here(self) -> bool:
        if not self.started:
            return False
        if self.stop_at_trial is not None and len(self.started) == self.stop_at_trial:
            return True
        return self.stop_at_seed is not None and self.started[-1][2] == self.stop_at_seed

    def trial_started(self, number: int, label: str, seed: int, epochs: int) -> None:
        self.started.append((number, label, seed, epochs))

    def epoch_ended(self, record: dict[str, float]) -> None:
        self.epochs.append(record)
        if self._stops_here():
            raise KeyboardInterrupt

    def trial_ended(self, trial: object) -> None:
        self.ended.append(trial)

    def trial_diverged(self, trial: object) -> None:
        self.diverged.append(trial)

    def trials_done(self, counts: object, *, best: object) -> None:
        self.progress.append(counts)

    def waiting(self, counts: object, *, owners: str) -> None:
        self.waits.append(owners)
        self.waiting_started.set()


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


#: Set (to anything but 0) where a skipped test must fail the run (CI).
NO_SKIPS = "BENCH_NO_SKIPS"
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def _skips_fail() -> bool:
    return bool(_skipped) and os.environ.get(NO_SKIPS, "").strip() not in ("", "0")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skips_fail():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _skips_fail():
        terminalreporter.section(f"{NO_SKIPS} is set: skipped tests fail the run", red=True)
        for nodeid in _skipped:
            terminalreporter.write_line(nodeid)
