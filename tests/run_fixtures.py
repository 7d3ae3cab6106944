"""Helpers of the tests that run studies for real: a small grid spec, ``bench run`` in a
process of its own, the stored trials, a bounded wait, and a training stand-in.

Example:
    >>> import tempfile
    >>> spec = grid_spec(Path(tempfile.mkdtemp()), epochs=1)
    >>> spec.name
    'grid.toml'
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

from bench._record import TrialRecord, TrialResult
from bench._schema import COMPLETED, PRUNED, SPLITS
from bench.recipe import Recipe

GRID = """
name = "grid"
description = "two optimizers, two seeds"
seeds = [0, 1]
epochs = {epochs}

[workload]
dataset = "digits"
train_size = {train_size}

[budget]
retries = {retries}

[[variants]]
name = "adam"
optimizer = "adam"

[[variants]]
name = "sgd"
optimizer = "sgd"
learning_rate = 0.01
"""
#: The grid's cells: (variant, seed).
CELLS = [("adam", 0), ("adam", 1), ("sgd", 0), ("sgd", 1)]


def grid_spec(folder: Path, *, epochs: int, train_size: int = 120, retries: int = 2) -> Path:
    """The grid spec written to ``folder/grid.toml``."""
    path = folder / "grid.toml"
    path.write_text(GRID.format(epochs=epochs, train_size=train_size, retries=retries))
    return path


PROTOCOL = """
name = "protocol"
description = "two candidates, two tuning trials each, two final seeds"
epochs = 3

[workload]
dataset = "digits"
train_size = 200

[tuning]
budget = 2
sampler = "qmc"
seed = 0
final_seeds = [1, 2]

[[variants]]
name = "adam"
optimizer = "adam"
[variants.search_space]
learning_rate = { low = 1e-4, high = 1e-2, log = true }

[[variants]]
name = "sgd"
optimizer = "sgd"
[variants.search_space]
learning_rate = { low = 1e-3, high = 1e-1, log = true }
"""


def protocol_spec(folder: Path) -> Path:
    """The protocol spec (two candidates, two tuning trials each, two final seeds) written
    to ``folder/protocol.toml``."""
    path = folder / "protocol.toml"
    path.write_text(PROTOCOL)
    return path


def assert_protocol_ran_once(url: str) -> None:
    """Every slot of the protocol study ran once, its budgets are equal, and each final
    trial reran its candidate's best complete tuning trial."""
    trials = stored_trials(url, "protocol")
    records = [(t, TrialRecord.read(t)) for t in trials]
    done = [(t, r) for t, r in records if t.state == TrialState.COMPLETE]
    tuned = Counter(r.candidate for _, r in done if r.phase == "tune")
    assert tuned == {"adam": 2, "sgd": 2}  # every slot once, budgets equal
    finals = Counter((r.candidate, r.seed) for _, r in done if r.phase == "final")
    assert finals == {("adam", 1): 1, ("adam", 2): 1, ("sgd", 1): 1, ("sgd", 2): 1}
    for candidate in ("adam", "sgd"):
        best = max(
            (t for t, r in done if r.phase == "tune" and r.candidate == candidate),
            key=lambda t: t.value,
        )
        chosen = best.params[f"{candidate}.learning_rate"]
        reruns = [r for _, r in done if r.phase == "final" and r.candidate == candidate]
        assert all(r.tuned == {"learning_rate": chosen} for r in reruns)


#: ``bench`` whose trials train nothing (tests/_stand_in_bench.py), and the variable that
#: sets the seconds each of their epochs takes.
STAND_IN_BENCH = Path(__file__).resolve().parent / "_stand_in_bench.py"
STAND_IN_EPOCH_S = "BENCH_STAND_IN_EPOCH_S"


def start_run(
    spec: Path, url: str, *extra: str, log: Path, stand_in_epoch_s: float | None = None
) -> subprocess.Popen:
    """``bench run`` of ``spec`` in a process (and process group) of its own, its output
    in ``log``. With ``stand_in_epoch_s``, its trials train nothing and take that many
    seconds per epoch (tests about processes, not training)."""
    bench, env = ["-m", "bench"], None
    if stand_in_epoch_s is not None:
        bench = [str(STAND_IN_BENCH)]
        env = {**os.environ, STAND_IN_EPOCH_S: str(stand_in_epoch_s)}
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, *bench, "run", "--study", str(spec), "--storage", url, *extra],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            # As from a terminal: a test run started in the background (``cmd &`` in a
            # script, nohup) ignores SIGINT, and children would inherit that.
            preexec_fn=_default_sigint,
            # A process group of its own, so that stop_run also ends its worker processes.
            start_new_session=True,
        )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop_run(process: subprocess.Popen) -> None:
    """Kill what is left of the process group of ``process`` (it, and its workers should a
    test fail before they stop), and reap ``process`` (killed, it exits at once)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def stored_trials(url: str, name: str = "grid") -> list[optuna.trial.FrozenTrial]:
    """Every trial of study ``name`` in the storage at ``url``."""
    return optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)


def cell(trial: optuna.trial.FrozenTrial) -> tuple[Any, int | None]:
    """The (variant, seed) a grid trial ran."""
    return trial.params.get("variant"), TrialRecord.read(trial).seed


def wait_for(condition: Callable[[], Any], *, timeout_s: float = 240.0) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (KeyError, ValueError):  # the study is not created yet
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for the study")


def _stand_in_score(recipe: Recipe) -> float:
    """A score in (0.5, 0.95) that rises with the learning rate; the seed adds a little."""
    return 0.5 + 0.4 * recipe.learning_rate / (recipe.learning_rate + 0.01) + 0.001 * recipe.seed


def stand_in_trial(workload: object, recipe: Recipe, *, on_epoch=None, **_: Any) -> TrialResult:
    """One epoch of nothing: the score rises with the learning rate, the seed adds noise."""
    score = _stand_in_score(recipe)
    record = {"epoch": 1, "loss": 1 - score, "val_auc": score, "val_loss": 1 - score}
    if on_epoch is not None:
        on_epoch(record)
    split = {"loss": 1 - score, "accuracy": score, "auc": score}
    return TrialResult(
        history=[record],
        kept_epoch=1,
        epochs_run=1,
        stop_reason=COMPLETED,
        metrics={name: dict(split) for name in SPLITS},
        gap={"accuracy": 0.0, "loss": 0.0},
        test_predictions={},
        class_names=["a", "b"],
        task="binary",
        recipe=recipe.to_dict(),
        workload={},
        wall_time_s=0.02,
        images_per_s=1.0,
    )


def paced_stand_in_trial(
    workload: object, recipe: Recipe, *, on_epoch=None, epoch_s: float = 0.5, **_: Any
) -> TrialResult:
    """:func:`stand_in_trial` over ``recipe.epochs`` epochs of ``epoch_s`` seconds each: long
    enough for a test to stop or kill it mid-trial. A stop signal is raised between epochs'
    sleeps within 0.2 s, as training raises it between batches; a pruner's stop ends it."""
    from bench._signals import sleep_until_stopped

    score = _stand_in_score(recipe)
    history, stop_reason = [], COMPLETED
    for epoch in range(1, recipe.epochs + 1):
        sleep_until_stopped(epoch_s)
        record = {"epoch": epoch, "loss": 1 - score, "val_auc": score, "val_loss": 1 - score}
        history.append(record)
        if on_epoch is not None and on_epoch(record):
            stop_reason = PRUNED
            break
    return dataclasses.replace(
        stand_in_trial(workload, recipe),
        history=history,
        kept_epoch=len(history),
        epochs_run=len(history),
        stop_reason=stop_reason,
    )


def stop_process(process: subprocess.Popen) -> None:
    """Stop a server the test started: SIGTERM, then SIGKILL after 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def protocol_summary(url: str, out: Path) -> pd.DataFrame:
    """``bench report`` of the protocol study at ``url``, run in this process: its
    summary.csv without the columns that time the run."""
    from bench.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["report", "--storage", url, "--out", str(out)]) == 0
    summary = pd.read_csv(out / "protocol" / "summary.csv")
    return summary.drop(columns=[c for c in summary.columns if "time" in c or "seconds" in c])
