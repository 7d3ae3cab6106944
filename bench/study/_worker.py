"""The worker loop: run trials of an existing study until its shared budget is met.

Several workers (processes here, or machines sharing a PostgreSQL URL) may run at once
against one study; each finished trial counts toward the shared budget.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable

import optuna
from optuna.trial import TrialState

from bench._record import TrialRecord
from bench._signals import at_safe_points, raise_if_stop_requested, sleep_until_stopped
from bench.backend import KERAS_BACKEND_ENV, cpu_share
from bench.recovery import (
    TrialCounts,
    count_trials,
    describe_owners,
    recover_stale_trials,
    retry_or_give_up,
)
from bench.spec import StudySpec
from bench.storage import open_storage
from bench.study._objective import (
    DuplicateCell,
    TrainFn,
    TrialError,
    TrialObjective,
    TrialReporter,
)
from bench.study._setup import make_pruner, make_sampler
from bench.tuning import count_tuning_trials, next_assignment
from bench.workload import Workload

#: How often a worker with nothing left to start checks the trials it waits for. The run
#: ends up to this long after its last trial; a check is one small query of the storage.
WAIT_POLL_S = 1.0

#: Opens a storage from its URL (:func:`bench.storage.open_storage` by default).
StorageFactory = Callable[[str], optuna.storages.BaseStorage]


def set_thread_budget(jobs: int) -> None:
    """Share this machine's cores among ``jobs`` workers; call before TensorFlow starts
    (a JAX worker's share is set by its environment: bench.backend.worker_environments)."""
    if os.environ.get(KERAS_BACKEND_ENV) == "jax":
        return  # nothing to set, and Keras stays unloaded until a trial needs it
    from bench._backend_ops import set_cpu_threads

    set_cpu_threads(threads=cpu_share(jobs), jobs=jobs)


def run_worker(
    spec: StudySpec,
    *,
    storage_url: str,
    study_name: str,
    budget: int,
    timeout: float | None = None,
    jobs: int = 1,
    reporter: TrialReporter | None = None,
    workload: Workload | None = None,
    storage_factory: StorageFactory = open_storage,
    poll_s: float = WAIT_POLL_S,
    train: TrainFn | None = None,
    parent_pid: int | None = None,
) -> None:
    """Run trials of an existing study until its budget is met or time runs out.

    When only other workers' trials are left running, it waits for them (checking every
    ``poll_s`` seconds) rather than calling the study done: one whose worker is gone is
    run again here. ``workload`` saves loading the data again when the caller already has
    it; ``storage_factory`` opens the storage and ``train`` trains one recipe (defaults:
    :func:`bench.storage.open_storage` and ``bench.trial.run_trial``). A worker process
    of ``bench run --jobs N`` passes its main process as ``parent_pid``: once that
    process is gone (exited, killed or crashed), the worker ends after its current trial.

    A stop (Ctrl-C, SIGTERM) waits for a safe point from the first line on: raised during
    the set-up, inside a library's garbage-collection callback, it would be printed and
    swallowed ("Exception ignored in ...") and the worker would go on.
    """
    with at_safe_points():
        set_thread_budget(jobs)
        if workload is None:
            workload = spec.workload.load()
        if train is None:
            import bench.trial  # noqa: F401  (Keras and its backend, before the freeze below)
        # What is loaded so far lives as long as the worker. Out of the collector's reach, the
        # collection after each trial (``gc_after_trial``, which frees a trial's graphs) scans
        # only what trials create: about 0.01 s instead of 0.3 s with TensorFlow loaded.
        gc.freeze()
        study = optuna.load_study(
            study_name=study_name,
            storage=storage_factory(storage_url),
            sampler=make_sampler(spec),
            pruner=make_pruner(spec),
        )
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        deadline = None if timeout is None else time.monotonic() + timeout
        orphaned = _Orphaned(parent_pid)
        callbacks: list[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] = [
            _retry_errored(retries=spec.budget.retries),
            _BudgetCallback(spec, budget, orphaned=orphaned),
        ]
        if reporter is not None:
            callbacks.append(lambda _study, frozen: reporter.trial_ended(frozen))
        objective = TrialObjective(spec, workload, reporter=reporter, train=train)
        # Ctrl-C and SIGTERM act between trials, batches and polls.
        _work(
            study,
            spec,
            objective,
            callbacks,
            budget=budget,
            deadline=deadline,
            orphaned=orphaned,
            reporter=reporter,
            poll_s=poll_s,
        )


def _work(
    study: optuna.Study,
    spec: StudySpec,
    objective: TrialObjective,
    callbacks: list,
    *,
    budget: int,
    deadline: float | None,
    orphaned: _Orphaned,
    reporter: TrialReporter | None,
    poll_s: float,
) -> None:
    while not orphaned():
        raise_if_stop_requested()
        recover_stale_trials(study, retries=spec.budget.retries)
        counts = study_counts(study, spec, budget=budget)
        time_left = None if deadline is None else deadline - time.monotonic()
        if time_left is not None and time_left <= 0:
            return
        if counts.to_run > 0 and _can_start(study, spec):
            study.optimize(
                objective,
                # A tuning study decides each trial's slot as it starts: one at a time.
                n_trials=1 if spec.tuning is not None else None,
                timeout=time_left,
                callbacks=callbacks,
                catch=(DuplicateCell, TrialError),
                gc_after_trial=True,
            )
            continue
        if counts.running == 0:
            if counts.to_run == 0:
                return
            # Another worker may have started or finished a trial between the counts and the
            # slot check: only a study unchanged across both reads is stuck.
            if study_counts(study, spec, budget=budget) != counts:
                continue
            raise RuntimeError(f"{counts.to_run} trial(s) left, but none can start")
        if reporter is not None:
            reporter.waiting(counts, owners=_running_owners(study, counts))
        sleep_until_stopped(poll_s)


def study_counts(study: optuna.Study, spec: StudySpec, *, budget: int) -> TrialCounts:
    """Finished, running and still-to-run trials of the spec's study.

    Example:
        >>> from bench.spec import load_spec
        >>> study_counts(optuna.create_study(), load_spec("optimizers-fixed"), budget=24)
        TrialCounts(finished=0, running=0, to_run=24, running_elsewhere=())
    """
    if spec.tuning is not None:
        return count_tuning_trials(study, spec)
    return count_trials(study, budget=budget, grid=spec.sampler == "grid")


def _can_start(study: optuna.Study, spec: StudySpec) -> bool:
    if spec.tuning is None or study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        return True
    return next_assignment(study, spec) is not None


def _running_owners(study: optuna.Study, counts: TrialCounts) -> str:
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    return describe_owners([t for t in running if t.number in counts.running_elsewhere])


def _retry_errored(*, retries: int) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    """A callback that queues again (up to ``retries`` times) a trial whose training
    raised, so a passing fault gets another chance and a lasting one ends as crashed."""

    def retry(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state == TrialState.FAIL and TrialRecord.read(trial).error is not None:
            retry_or_give_up(study, trial, retries=retries)

    return retry


class _Orphaned:
    """Whether the process that started this worker is gone (the worker then has a new
    parent); always False for a worker started without one."""

    def __init__(self, parent_pid: int | None) -> None:
        self.parent_pid = parent_pid

    def __call__(self) -> bool:
        return self.parent_pid is not None and os.getppid() != self.parent_pid


class _BudgetCallback:
    """Stops a worker's ``optimize`` once the shared budget is met (counting every
    worker's trials), or when its main process is gone; the worker loop then ends too."""

    def __init__(self, spec: StudySpec, budget: int, *, orphaned: _Orphaned) -> None:
        self.spec = spec
        self.budget = budget
        self.orphaned = orphaned

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        counts = study_counts(study, self.spec, budget=self.budget)
        if counts.to_run == 0 or self.orphaned():
            study.stop()
