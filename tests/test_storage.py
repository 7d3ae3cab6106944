"""The storage hands each queued trial to exactly one worker."""

from __future__ import annotations

import threading
import time

import optuna
import sqlalchemy
from optuna.trial import TrialState

from bench.storage import open_storage

#: How long a claim waits between reading the trial and writing it: long enough for every
#: other worker to read the trial in between, unless the storage keeps them out.
CLAIM_PAUSE_S = 0.3


def _pause_before_writing(storage: optuna.storages.RDBStorage) -> None:
    """Hold each UPDATE of a trial back, so racing claims overlap every time."""

    @sqlalchemy.event.listens_for(storage.engine, "before_cursor_execute")
    def pause(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("UPDATE TRIALS"):
            time.sleep(CLAIM_PAUSE_S)


def _claims_of_one_queued_trial(url: str, open_worker, *, workers: int = 4) -> int:
    """How many of ``workers`` storages, racing at once, get one queued trial to RUNNING."""
    study = optuna.create_study(storage=open_worker(url), study_name="race")
    study.enqueue_trial({"x": 1})
    (waiting,) = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    storages = [open_worker(url) for _ in range(workers)]
    for storage in storages:
        _pause_before_writing(storage)
    start, claims = threading.Barrier(workers, timeout=30), []

    def claim(storage: optuna.storages.RDBStorage) -> None:
        start.wait()
        if storage.set_trial_state_values(waiting._trial_id, state=TrialState.RUNNING):
            claims.append(storage)

    threads = [threading.Thread(target=claim, args=(storage,)) for storage in storages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return len(claims)


def _plain_optuna_storage(url: str) -> optuna.storages.RDBStorage:
    return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})


def test_a_queued_trial_is_claimed_by_exactly_one_worker_on_sqlite(tmp_path):
    # Optuna's hand-off of a queued trial reads WAITING, then writes RUNNING. With every
    # claim paused between the two, all the workers read WAITING first unless the storage
    # serialises them: then each would run the same trial.
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    assert _claims_of_one_queued_trial(url, open_storage) == 1


def test_the_race_is_real_on_a_plain_optuna_sqlite_storage(tmp_path):
    # The harness above reaches the race: without bench's serialised transactions, more
    # than one worker wins the same queued trial.
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    assert _claims_of_one_queued_trial(url, _plain_optuna_storage) > 1
