"""Faults a study survives: a trial that raises, a cell that kills its worker every time,
two workers claiming one slot, an orphaned worker, a failing storage, a protocol run
killed in each phase and stopped by SIGTERM (a signal to a grid's run: test_reliability).
Their trials train nothing (``run_fixtures``' stand-ins): the faults are the processes'.

Every process can die at any instruction; after each fault a rerun finishes every cell
once and no live trial is ever failed.
"""

from __future__ import annotations

import datetime
import functools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from run_fixtures import (
    CELLS,
    assert_protocol_ran_once,
    cell,
    grid_spec,
    paced_stand_in_trial,
    protocol_spec,
    protocol_summary,
    stand_in_trial,
    start_run,
    stored_trials,
    wait_for,
)

from bench._record import TrialRecord
from bench.cli import main
from bench.recipe import Recipe
from bench.recovery import TrialOwner
from bench.spec import load_spec, parse_spec
from bench.storage import open_storage
from bench.study import DuplicateCell, TuningSlots, open_study, run_worker
from bench.tuning import Assignment, is_taken_before, next_assignment

TESTS = Path(__file__).resolve().parent


# ----------------------------------------------------------------------------- trial errors


@pytest.mark.slow
def test_a_trial_that_raises_is_failed_with_its_error_and_retried_until_crashed(tmp_path):
    spec = load_spec(str(grid_spec(tmp_path, epochs=1, retries=1)))
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    handle = open_study(spec, storage=open_storage(url))

    def train(workload: Any, recipe: Recipe, **options: Any):
        if recipe.optimizer == "sgd" and recipe.seed == 1:
            raise ZeroDivisionError("a bug in one recipe")
        return stand_in_trial(workload, recipe, **options)

    run_worker(
        spec,
        storage_url=url,
        study_name=handle.name,
        budget=spec.total_trials,
        workload=object(),
        train=train,
    )
    trials = stored_trials(url)
    complete = Counter(cell(t) for t in trials if t.state == TrialState.COMPLETE)
    assert complete == Counter({("adam", 0): 1, ("adam", 1): 1, ("sgd", 0): 1})
    failed = [t for t in trials if cell(t) == ("sgd", 1)]
    errored = [t for t in failed if TrialRecord.read(t).error]
    assert len(errored) == 2  # the first attempt and its one retry
    error = TrialRecord.read(errored[0]).error
    assert error["type"] == "ZeroDivisionError" and error["message"] == "a bug in one recipe"
    assert "Traceback" in error["traceback"]
    (crashed,) = [t for t in failed if TrialRecord.read(t).stop_reason == "crashed"]
    assert crashed.system_attrs["retry_history"] == [t.number for t in errored]


def test_bench_run_says_which_trials_raised_and_exits_1(tmp_path, capsys, monkeypatch):
    import bench.trial

    def broken(workload: Any, recipe: Recipe, **options: Any):
        raise RuntimeError("out of cheese")

    monkeypatch.setattr(bench.trial, "run_trial", broken)  # the command line trains through it
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    spec = str(grid_spec(tmp_path, epochs=1, retries=0))
    assert main(["run", "--study", spec, "--storage", url, "--jobs", "1"]) == 1
    printed = capsys.readouterr()
    err = printed.err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if "failed with an error" in line]
    assert "4 trial(s) failed" in line and "RuntimeError: out of cheese" in line
    assert "user attribute 'error'" in line
    crashed = [t for t in stored_trials(url) if TrialRecord.read(t).stop_reason == "crashed"]
    assert sorted(cell(t) for t in crashed) == sorted(CELLS)
    # Crashed seeds stay in the verdict as failures, scored as chance.
    from bench.report import study_leaderboard

    board = study_leaderboard("grid", storage=url).set_index("recipe_label")
    assert board["failures"].to_dict() == {"adam": "2 crashed", "sgd": "2 crashed"}
    assert board["val_auc_mean"].tolist() == [0.5, 0.5]
    assert "2 crashed" in printed.out  # the printed leaderboard's "failed" column


# ----------------------------------------------------------------------------- crash loop


@pytest.mark.slow
def test_a_cell_that_kills_its_worker_every_time_ends_as_crashed_after_the_cap(tmp_path):
    spec, url = grid_spec(tmp_path, epochs=1, retries=1), f"sqlite:///{tmp_path / 'bench.db'}"
    command = [sys.executable, str(TESTS / "_fault_worker.py"), "crash", str(spec), url, "sgd"]
    codes = []
    for _ in range(8):
        run = subprocess.run(command, capture_output=True, text=True, timeout=240)
        codes.append(run.returncode)
        if run.returncode == 0:
            break
    # Each run dies in the first sgd trial it starts: each of sgd's two seeds is tried
    # 1 + 1 times, then ends as crashed, and the study completes.
    assert codes == [-signal.SIGKILL] * 4 + [0], run.stderr
    trials = stored_trials(url)
    assert Counter(cell(t) for t in trials if t.state == TrialState.COMPLETE) == Counter(
        {("adam", 0): 1, ("adam", 1): 1}
    )
    crashed = [t for t in trials if TrialRecord.read(t).stop_reason == "crashed"]
    assert sorted(cell(t) for t in crashed) == [("sgd", 0), ("sgd", 1)]
    assert all(len(t.system_attrs["retry_history"]) == 2 for t in crashed)
    from bench.report import study_leaderboard, unranked_recipes

    board = study_leaderboard("grid", storage=url).set_index("recipe_label")
    assert board.index.tolist() == ["adam", "sgd"]  # sgd's crashed seeds count as failures
    assert board.loc["sgd", "failures"] == "2 crashed" and board.loc["sgd", "val_auc_mean"] == 0.5
    assert unranked_recipes("grid", storage=url) == {}


# ----------------------------------------------------------------------------- one slot

ONE_SLOT = {
    "name": "slots",
    "description": "one candidate, one tuning trial",
    "workload": {"dataset": "digits"},
    "epochs": 1,
    "tuning": {"budget": 1, "final_seeds": [1], "seed": 0},
    "variants": [
        {
            "name": "adam",
            "optimizer": "adam",
            "search_space": {"learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}},
        }
    ],
}


def test_two_workers_claiming_one_slot_the_lower_trial_keeps_it() -> None:
    spec = parse_spec(ONE_SLOT, source="test")
    study = optuna.create_study(direction="maximize")
    first, second = study.ask(), study.ask()
    slot = next_assignment(study, spec)
    assert slot == Assignment("tune", "adam", 0, index=0)
    slot.record(first)
    slot.record(second)  # both chose before either had stored its claim
    assert not is_taken_before(study, spec, number=first.number, slot=slot)
    assert is_taken_before(study, spec, number=second.number, slot=slot)
    # A third worker starting now finds no free slot: its attempt is a refused duplicate.
    study.optimize(lambda t: TuningSlots(spec).recipe(t) and 0.0, n_trials=1, catch=DuplicateCell)
    late = study.trials[-1]
    assert late.state == TrialState.FAIL and TrialRecord.read(late).stop_reason == "duplicate"


def test_a_requeued_trial_is_never_judged_stale_before_its_new_owner_is_recorded() -> None:
    study = optuna.create_study()
    dead = TrialOwner(host=TrialOwner.this_process().host, pid=2**22 + 7, boot_id="")
    dead = TrialOwner(host=dead.host, pid=dead.pid, boot_id=TrialOwner.this_process().boot_id)
    trial = study.ask()
    dead.record(trial)
    study.tell(trial, state=TrialState.FAIL)
    from bench.recovery import recover_stale_trials, requeue_interrupted

    assert requeue_interrupted(study) == [trial.number]
    copy = study.ask()  # the queued copy, taken by a live worker
    assert copy.number != trial.number and "pid" not in copy.user_attrs
    assert recover_stale_trials(study) == []  # another worker's recovery leaves it alone
    study.tell(copy, 0.5)
    assert study.trials[copy.number].state == TrialState.COMPLETE


# ----------------------------------------------------------------------------- orphans


@pytest.mark.slow
def test_workers_of_a_killed_main_process_stop_after_their_trial(tmp_path):
    spec = grid_spec(tmp_path, epochs=6)
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    main_process = start_run(
        spec, url, "--jobs", "2", log=tmp_path / "first.log", stand_in_epoch_s=0.5
    )
    running: list[TrialOwner] = []

    def two_running() -> bool:
        owners = [TrialOwner.of(t) for t in stored_trials(url) if t.state == TrialState.RUNNING]
        running[:] = [o for o in owners if o is not None]
        return len(running) == 2

    wait_for(two_running)
    main_process.kill()
    main_process.wait(timeout=30)
    main_gone = datetime.datetime.now()  # the clock Optuna stamps a trial's start with
    started = time.monotonic()
    wait_for(lambda: all(owner.is_gone() for owner in running), timeout_s=120)
    gone_after = time.monotonic() - started
    started_since = [
        t.number
        for t in stored_trials(url)
        if t.datetime_start is not None and t.datetime_start > main_gone  # queued: None
    ]
    assert started_since == [], "an orphaned worker started another trial"
    rerun = start_run(spec, url, "--jobs", "2", log=tmp_path / "rerun.log", stand_in_epoch_s=0)
    assert rerun.wait(timeout=600) == 0, (tmp_path / "rerun.log").read_text()
    complete = [cell(t) for t in stored_trials(url) if t.state == TrialState.COMPLETE]
    assert sorted(complete) == sorted(CELLS), f"workers gone {gone_after:.0f} s after the kill"


# ----------------------------------------------------------------------------- protocol


def _running_in(url: str, phase: str) -> list[TrialOwner]:
    running = [t for t in stored_trials(url, "protocol") if t.state == TrialState.RUNNING]
    owners = [TrialOwner.of(t) for t in running if TrialRecord.read(t).phase == phase]
    return [owner for owner in owners if owner is not None and not owner.is_gone()]


@pytest.mark.slow
def test_the_protocol_with_two_workers_survives_a_killed_worker_in_each_phase_and_sigterm(
    tmp_path, monkeypatch
):
    spec = protocol_spec(tmp_path)
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    log = tmp_path / "kills.log"
    logs = [log]
    run = start_run(spec, url, "--jobs", "2", log=log, stand_in_epoch_s=0.5)
    for phase in ("tune", "final"):  # kill -9 a worker in the middle of a trial of each
        wait_for(lambda: _running_in(url, phase))  # noqa: B023
        os.kill(_running_in(url, phase)[0].pid, signal.SIGKILL)
    assert run.wait(timeout=600) == 1, log.read_text()  # its workers died
    log = tmp_path / "sigterm.log"
    logs.append(log)
    run = start_run(spec, url, "--jobs", "2", log=log, stand_in_epoch_s=0.5)
    wait_for(lambda: run.poll() is not None or _running_in(url, "final"), timeout_s=300)
    assert run.poll() is None, log.read_text()  # the SIGTERM lands mid-trial
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=120) == 128 + signal.SIGTERM, log.read_text()
    log = tmp_path / "rerun.log"
    logs.append(log)
    rerun = start_run(spec, url, "--jobs", "2", log=log, stand_in_epoch_s=0)
    assert rerun.wait(timeout=600) == 0, log.read_text()
    for path in logs:
        assert "Traceback" not in path.read_text(), f"{path.name}:\n{path.read_text()}"

    assert_protocol_ran_once(url)
    # The faults cost time, not results: the verdicts are those of a run without them (the
    # same stand-in, in this process: its scores depend on the recipe alone).
    import bench.trial

    instant = functools.partial(paced_stand_in_trial, epoch_s=0)
    monkeypatch.setattr(bench.trial, "run_trial", instant)
    clean = tmp_path / "clean"
    clean.mkdir()
    clean_url = f"sqlite:///{clean / 'bench.db'}"
    argv = ["run", "--study", str(protocol_spec(clean)), "--storage", clean_url, "--jobs", "1"]
    assert main(argv) == 0
    pd.testing.assert_frame_equal(
        protocol_summary(url, tmp_path / "report"), protocol_summary(clean_url, clean / "report")
    )


# ----------------------------------------------------------------------------- storage


def _faulty_bench(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(TESTS / "_fault_worker.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_a_storage_that_fails_mid_study_is_one_line_and_the_rerun_completes(tmp_path):
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    run = ["run", "--study", str(grid_spec(tmp_path, epochs=1)), "--storage", url, "--jobs", "1"]
    failed = _faulty_bench("full-disk", "2", *run)
    assert failed.returncode == 1, failed.stderr
    assert "Traceback" not in failed.stderr
    assert f"bench: error: storage {url} failed: database or disk is full" in failed.stderr
    assert sum(t.state == TrialState.COMPLETE for t in stored_trials(url)) == 2  # nothing lost
    rerun = _faulty_bench("cli", *run)
    assert rerun.returncode == 0, rerun.stderr
    complete = [cell(t) for t in stored_trials(url) if t.state == TrialState.COMPLETE]
    assert sorted(complete) == sorted(CELLS)


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(capsys, monkeypatch):
    import bench.trial

    def broken(workload: Any, recipe: Recipe, **options: Any):
        raise RuntimeError("out of cheese")

    monkeypatch.setattr(bench.trial, "run_trial", broken)
    monkeypatch.delenv("BENCH_DEBUG", raising=False)
    assert main(["train", "--epochs", "1", "--train-size", "120"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "bench: error: RuntimeError: out of cheese (--debug shows the traceback)" in err
    with pytest.raises(RuntimeError, match="out of cheese"):
        main(["--debug", "train", "--epochs", "1", "--train-size", "120"])


def test_a_claim_waits_for_an_earlier_trial_whose_claim_is_being_stored() -> None:
    """The lower trial has started but not yet stored its claim when the higher one
    checks: the higher one waits for it, sees the same draw taken, and yields."""
    import threading

    spec = parse_spec(ONE_SLOT, source="test")
    study = optuna.create_study(direction="maximize")
    first, second = study.ask(), study.ask()
    slot = next_assignment(study, spec)
    storing = threading.Timer(0.5, slot.record, args=(first,))  # a slow worker's writes
    storing.start()
    try:
        with pytest.raises(DuplicateCell):
            _claim(study, spec, second)
    finally:
        storing.join(timeout=10)
    assert TrialRecord.from_attrs(first.user_attrs).slot_index == 0


def _claim(study: optuna.Study, spec, trial: optuna.Trial) -> None:
    # TuningSlots refuses a duplicate by stopping the study, which Optuna allows only
    # inside optimize; here the refusal itself is what is checked.
    original = study.stop
    study.stop = lambda: None
    try:
        TuningSlots(spec).recipe(trial)
    finally:
        study.stop = original
