"""``bench run`` in a process of its own, training with a stand-in that takes no time,
with a fault injected. Used by the fault tests:

- ``python _fault_worker.py crash SPEC URL VARIANT``: prepares the run as ``bench run``
  does (recovering what the last run left) and runs the remaining trials here; a trial of
  ``VARIANT`` kills this process with SIGKILL, as the out-of-memory killer would.
- ``python _fault_worker.py full-disk N ARGS...``: ``bench ARGS...`` whose storage fails
  with SQLite's "database or disk is full" once ``N`` trials have finished.
- ``python _fault_worker.py cli ARGS...``: ``bench ARGS...`` with the stand-in trainer.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from run_fixtures import stand_in_trial

from bench._record import TrialResult
from bench.recipe import Recipe
from bench.spec import load_spec
from bench.study import prepare_run, run_worker


def crash_on(spec_path: str, url: str, crash: str) -> None:
    spec = load_spec(spec_path)
    run = prepare_run(spec, storage_url=url)

    def train(workload: Any, recipe: Recipe, **options: Any) -> TrialResult:
        if recipe.optimizer == crash:
            os.kill(os.getpid(), signal.SIGKILL)
        return stand_in_trial(workload, recipe, **options)

    run_worker(
        spec,
        storage_url=url,
        study_name=run.handle.name,
        budget=run.budget,
        workload=run.workload,
        train=train,
    )


def full_disk_after(finished: int) -> None:
    """From now on, finishing a trial fails as a full disk once ``finished`` trials did."""
    import sqlite3

    import optuna
    from sqlalchemy.exc import OperationalError

    original = optuna.storages.RDBStorage.set_trial_state_values
    told: list[int] = []

    def set_trial_state_values(self, trial_id, state, values=None):  # noqa: ANN001, ANN202
        if state.is_finished():
            if len(told) >= finished:
                full = sqlite3.OperationalError("database or disk is full")
                raise OperationalError("UPDATE trials SET state=?", {}, full)
            told.append(trial_id)
        return original(self, trial_id, state, values)

    optuna.storages.RDBStorage.set_trial_state_values = set_trial_state_values


def cli(args: list[str]) -> int:
    import bench.trial
    from bench.cli import main

    bench.trial.run_trial = stand_in_trial
    return main(args)


if __name__ == "__main__":
    mode, rest = sys.argv[1], sys.argv[2:]
    if mode == "crash":
        crash_on(*rest)
    elif mode == "full-disk":
        full_disk_after(int(rest[0]))
        sys.exit(cli(rest[1:]))
    else:
        sys.exit(cli(rest))
