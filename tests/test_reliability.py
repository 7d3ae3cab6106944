"""What survives what: a killed worker, a signal to the main process, another host's trial.

These run the ``bench run`` command in a subprocess and read the storage back. Their
trials train nothing (``run_fixtures.paced_stand_in_trial``: the tests are about
processes), except a SIGTERM to a run that trains for real: a stop must wait for a safe
point inside Keras's fit too.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
import time

import optuna
import pytest
from conftest import StubReporter
from optuna.trial import TrialState
from run_fixtures import (
    CELLS,
    STAND_IN_BENCH,
    STAND_IN_EPOCH_S,
    grid_spec,
    paced_stand_in_trial,
    start_run,
    stop_run,
    stored_trials,
    wait_for,
)

from bench.cli import main


def _mid_trial(url: str, *, running: int = 1) -> bool:
    """``running`` trials have started, and one of them has finished an epoch."""
    trials = [
        t for t in stored_trials(url) if t.state == TrialState.RUNNING and "pid" in t.user_attrs
    ]
    return len(trials) >= running and any(t.intermediate_values for t in trials)


def _each_cell_complete_once(url: str) -> None:
    trials = stored_trials(url)
    complete = sorted(
        (t.params["variant"], t.user_attrs["seed"])
        for t in trials
        if t.state == TrialState.COMPLETE
    )
    assert complete == CELLS
    assert all("seed" not in t.params for t in trials)
    assert not [t.number for t in trials if t.state == TrialState.RUNNING]


@pytest.mark.slow
def test_kill_9_mid_trial_then_the_same_command_completes_every_cell_once(tmp_path):
    spec, url = grid_spec(tmp_path, epochs=3), f"sqlite:///{tmp_path / 'bench.db'}"
    first = start_run(spec, url, "--jobs", "1", log=tmp_path / "first.log", stand_in_epoch_s=0.5)
    try:
        wait_for(lambda: _mid_trial(url))
    finally:
        stop_run(first)
    assert [t.state for t in stored_trials(url)].count(TrialState.RUNNING) == 1

    rerun = subprocess.run(
        [sys.executable, str(STAND_IN_BENCH), "run", "--study", str(spec), "--storage", url],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, STAND_IN_EPOCH_S: "0"},
    )
    assert rerun.returncode == 0, rerun.stderr
    first_line = " ".join(rerun.stderr.splitlines()[0].split())
    assert "1 interrupted trial(s) queued again" in first_line
    _each_cell_complete_once(url)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "status", "stand_in_epoch_s"),
    [(signal.SIGTERM, 143, None), (signal.SIGINT, 130, 0.5)],
    ids=["SIGTERM-training", "SIGINT"],
)
def test_a_signal_to_the_main_process_stops_every_worker_and_the_rerun_recovers(
    tmp_path, monkeypatch, signum, status, stand_in_epoch_s
):
    spec, url = grid_spec(tmp_path, epochs=4), f"sqlite:///{tmp_path / 'bench.db'}"
    log = tmp_path / "run.log"
    run = start_run(spec, url, "--jobs", "2", log=log, stand_in_epoch_s=stand_in_epoch_s)
    try:
        wait_for(lambda: _mid_trial(url, running=2))
        workers = {t.user_attrs["pid"] for t in stored_trials(url) if t.state == TrialState.RUNNING}
        sent = time.monotonic()
        run.send_signal(signum)
        assert run.wait(timeout=60) == status
        assert time.monotonic() - sent < 30
        for pid in workers:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    except BaseException:
        stop_run(run)  # a failed check leaves no process behind
        raise
    lines = log.read_text().strip().splitlines()
    assert lines[-1].startswith(f"bench: stopped by {signal.Signals(signum).name};")
    assert f"resume with: bench run --study {spec} --storage {url}" in lines[-1]
    # A stop raised at an arbitrary instruction shows as a traceback or a corrupted
    # interpreter (SystemError); stops wait for safe points.
    assert "Traceback" not in log.read_text() and "SystemError" not in log.read_text()
    stopped = [t for t in stored_trials(url) if t.state == TrialState.FAIL]
    requeued = [
        t.system_attrs["failed_trial"]
        for t in stored_trials(url)
        if t.state == TrialState.WAITING and "failed_trial" in t.system_attrs
    ]
    # Each stopped trial is queued again once (other seeds' copies may be waiting too).
    assert len(stopped) == 2 and sorted(requeued) == sorted(t.number for t in stopped)

    import bench.trial

    # The rerun is about recovery, not training.
    monkeypatch.setattr(
        bench.trial, "run_trial", functools.partial(paced_stand_in_trial, epoch_s=0)
    )
    assert main(["run", "--study", str(spec), "--storage", url, "--jobs", "1"]) == 0
    _each_cell_complete_once(url)


def _beat_until(storage, trial_id: int, stop: threading.Event, *, limit_s: float = 240) -> None:
    """Beat every 0.5 s until ``stop`` is set, for ``limit_s`` at most."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        storage.record_heartbeat(trial_id)
        if stop.wait(0.5):
            return


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")
def test_another_hosts_running_trial_is_waited_for_then_run_here_after_its_heartbeat_stops(
    tmp_path, small_workload
):
    """The other host's worker beats until this worker has said it waits, then goes
    silent (its host died): after the grace period its cell is run here."""
    from bench.spec import load_spec
    from bench.storage import open_storage
    from bench.study import open_study, run_worker

    spec = load_spec(str(grid_spec(tmp_path, epochs=1)))
    url = f"sqlite:///{tmp_path / 'bench.db'}"

    def short_grace_storage(url: str) -> optuna.storages.RDBStorage:
        return optuna.storages.RDBStorage(
            url,
            heartbeat_interval=1,
            grace_period=3,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(),
        )

    handle = open_study(spec, storage=open_storage(url))
    storage = short_grace_storage(url)
    study = optuna.load_study(study_name=handle.name, storage=storage)
    study.enqueue_trial({"variant": "sgd"}, user_attrs={"seed": 1})
    elsewhere = study.ask()
    elsewhere.suggest_categorical("variant", ["adam", "sgd"])
    for key, value in {"host": "elsewhere", "pid": 4242, "boot_id": "x"}.items():
        elsewhere.set_user_attr(key, value)

    waits = StubReporter()
    heartbeat = threading.Thread(
        target=_beat_until,
        args=(storage, elsewhere._trial_id, waits.waiting_started),
        daemon=True,
    )
    heartbeat.start()
    try:
        run_worker(
            spec,
            storage_url=url,
            study_name=handle.name,
            budget=spec.total_trials,
            workload=small_workload,
            reporter=waits,
            storage_factory=short_grace_storage,
            poll_s=0.5,
        )
    finally:
        waits.waiting_started.set()  # stops the beats should the worker fail first
        heartbeat.join(timeout=30)
    assert not heartbeat.is_alive()
    assert waits.waits and waits.waits[0] == "elsewhere:4242"
    assert stored_trials(url)[elsewhere.number].state == TrialState.FAIL
    _each_cell_complete_once(url)


@pytest.mark.slow
def test_redirected_output_is_plain_lines_without_start_up_noise(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "bench", "train", "--epochs", "2", "--train-size", "120"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert [line.split()[:2] for line in lines if line.startswith("epoch ")] == [
        ["epoch", "1/2"],
        ["epoch", "2/2"],
    ]
    for noise in ("oneDNN", "cuda", "TensorFlow binary", "…", "\x1b["):
        assert noise not in run.stderr + run.stdout, noise
    assert "generalization gap" in run.stdout
