"""The storage hands each queued trial to exactly one worker."""

from __future__ import annotations

import threading

import optuna
from optuna.trial import TrialState

from bench.storage import open_storage


def test_a_queued_trial_is_claimed_by_exactly_one_worker_on_sqlite(tmp_path):
    # Optuna's hand-off of a queued trial reads WAITING, then writes RUNNING; workers
    # racing on one SQLite file must not both win (then one trial would run twice).
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    study = optuna.create_study(storage=open_storage(url), study_name="race")
    workers = [open_storage(url) for _ in range(4)]
    double_claims = 0
    for _ in range(10):
        study.enqueue_trial({"x": 1})
        (waiting,) = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        start, claims = threading.Barrier(len(workers), timeout=30), []

        def claim(storage, trial_id=waiting._trial_id, start=start, claims=claims):
            start.wait()
            if storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                claims.append(storage)

        threads = [threading.Thread(target=claim, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads)
        double_claims += len(claims) != 1
        study._storage.set_trial_state_values(waiting._trial_id, state=TrialState.FAIL)
    assert double_claims == 0
