"""Process control of ``bench run``: open the study, recover what a crash left, run the
remaining trials here or in worker processes, and stop them on Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import datetime
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from bench._ranking import best_of
from bench._record import ERROR_MESSAGE, ERROR_TYPE, TrialRecord
from bench._schema import DIVERGED
from bench._signals import at_safe_points, exit_status, sleep_until_stopped, stop_on_sigterm
from bench.backend import worker_environments
from bench.errors import DEBUG_ENV, describe_error
from bench.recovery import TrialCounts, recover_stale_trials, requeue_interrupted
from bench.spec import StudySpec
from bench.storage import open_storage, redact_url
from bench.study._objective import TrialReporter
from bench.study._setup import StudyHandle, open_study, study_backend
from bench.study._worker import run_worker, study_counts
from bench.workload import Workload


class WorkersFailed(Exception):
    """Worker processes of ``bench run --jobs N`` ended with an error (each said which)."""


def _worker_process(spec: StudySpec, **options: Any) -> None:
    """A worker process of ``bench run --jobs N``: stopped by its parent with SIGTERM.

    It ignores SIGINT, so Ctrl-C in a terminal (sent to every process of the group)
    reaches the parent alone, which then stops each worker once. An error that ends it
    is one line on standard error (the traceback too with ``BENCH_DEBUG=1``).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop_on_sigterm()
    try:
        run_worker(spec, **options)
    except KeyboardInterrupt as interrupt:
        sys.exit(exit_status(interrupt))
    except Exception as error:
        if os.environ.get(DEBUG_ENV) == "1":
            raise
        name = multiprocessing.current_process().name
        shown = redact_url(options["storage_url"])
        print(f"bench: {name}: {describe_error(error, shown)}", file=sys.stderr)
        sys.exit(1)


def _start_workers(run: PreparedRun, *, jobs: int, timeout: float | None) -> list:
    """Start ``jobs`` worker processes, each with its environment from
    :func:`bench.backend.worker_environments` (its GPU, or its share of the cores)."""
    context = multiprocessing.get_context("spawn")
    environments = worker_environments(jobs=jobs, backend=run.backend)
    processes = [
        context.Process(
            target=_worker_process,
            args=(run.spec,),
            kwargs={
                "storage_url": run.storage_url,
                "study_name": run.handle.name,
                "budget": run.budget,
                "timeout": timeout,
                "jobs": jobs,
                "parent_pid": os.getpid(),
            },
            name=f"bench-worker-{i}",
        )
        for i in range(jobs)
    ]
    for process, environment in zip(processes, environments, strict=True):
        # A spawned process starts with this one's environment as it is at start().
        with _environment(environment):
            process.start()
    return processes


@contextlib.contextmanager
def _environment(changes: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


#: Seconds a worker gets to end its trial after a stop, before it is killed.
WORKER_STOP_GRACE_S = 20.0


def _stop_workers(processes: list) -> None:
    """SIGTERM to every live worker, then SIGKILL to any still alive after the grace
    period or at a second Ctrl-C. A killed worker's trial is recovered by the next run."""
    for process in processes:
        if process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + WORKER_STOP_GRACE_S
    try:
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
    except KeyboardInterrupt:
        pass  # a second Ctrl-C: stop now
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()


class _DivergedTrials:
    """The trials of ``study`` that finish from now on and diverged, each read once.

    Worker processes report to no display: the main process finds their diverged trials
    in the storage, so that its progress names them.
    """

    def __init__(self, study: optuna.Study) -> None:
        self.study = study
        self.seen = {t.number for t in self._finished()}

    def new(self) -> list[optuna.trial.FrozenTrial]:
        """The trials that finished since the last call and diverged, in trial order."""
        fresh = [t for t in self._finished() if t.number not in self.seen]
        self.seen.update(t.number for t in fresh)
        return [t for t in fresh if TrialRecord.read(t).stop_reason == DIVERGED]

    def _finished(self) -> list[optuna.trial.FrozenTrial]:
        return self.study.get_trials(deepcopy=False, states=_FINISHED)


_FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


@dataclass(frozen=True)
class PreparedRun:
    """A study opened (or resumed) in its storage, ready to run its remaining trials.

    Example:
        >>> from bench.spec import load_spec
        >>> run = prepare_run(load_spec("optimizers-fixed"), storage_url="sqlite:///:memory:")
        >>> run.counts().to_run, run.budget
        (40, 40)

        ``run.run_remaining(jobs=2)`` would then train the 16 trials in two processes.
    """

    spec: StudySpec
    storage_url: str
    handle: StudyHandle
    workload: Workload
    budget: int
    requeued: int

    @property
    def backend(self) -> str:
        """The Keras backend the study's trials train with."""
        return study_backend(self.handle.study)

    def counts(self) -> TrialCounts:
        """Finished, running and still-to-run trials, read from the storage now."""
        return study_counts(self.handle.study, self.spec, budget=self.budget)

    def run_remaining(self, *, jobs: int = 1, reporter: TrialReporter | None = None) -> None:
        """Run until the budget is met: in this process, or in ``jobs`` worker processes
        whose progress is polled from the storage every second.

        Ctrl-C or SIGTERM (a ``KeyboardInterrupt``) stops every worker within
        :data:`WORKER_STOP_GRACE_S` seconds and is raised again here; call
        :meth:`recover` then to queue the interrupted trials.
        """
        timeout = self.spec.budget.timeout
        if jobs == 1:
            run_worker(
                self.spec,
                storage_url=self.storage_url,
                study_name=self.handle.name,
                budget=self.budget,
                timeout=timeout,
                reporter=reporter,
                workload=self.workload,
            )
            return
        diverged = _DivergedTrials(self.handle.study)
        processes = _start_workers(self, jobs=jobs, timeout=timeout)

        def all_ended() -> bool:
            return not any(p.is_alive() for p in processes)

        try:
            with at_safe_points():  # a stop mid-query would print the driver's traceback
                while not all_ended():
                    if reporter is not None:
                        self._report(reporter, diverged)
                    sleep_until_stopped(1.0, until=all_ended)
                if reporter is not None:  # what the last poll missed
                    self._report(reporter, diverged)
        except KeyboardInterrupt:
            _stop_workers(processes)
            raise
        failed = [p.name for p in processes if p.exitcode]
        if failed:
            raise WorkersFailed(f"worker(s) {', '.join(failed)} exited with an error")

    def _report(self, reporter: TrialReporter, diverged: _DivergedTrials) -> None:
        for trial in diverged.new():
            reporter.trial_diverged(trial)
        reporter.trials_done(self.counts(), best=self._best_trial())

    def recover(self) -> int:
        """Queue again the trials an interrupt or a killed worker left; returns how many."""
        retries = self.spec.budget.retries
        return len(recover_stale_trials(self.handle.study, retries=retries)) + len(
            requeue_interrupted(self.handle.study, retries=retries)
        )

    def errored_trials(self, *, since: datetime.datetime) -> list[tuple[int, str]]:
        """The trials started at or after ``since`` whose training raised: number and
        ``Type: message`` of each (the traceback is in the trial's ``error`` attribute)."""
        errored = []
        for trial in self.handle.study.get_trials(deepcopy=False):
            error = TrialRecord.read(trial).error
            if error and trial.datetime_start and trial.datetime_start >= since:
                errored.append(
                    (trial.number, f"{error.get(ERROR_TYPE)}: {error.get(ERROR_MESSAGE)}")
                )
        return errored

    def _best_trial(self) -> optuna.trial.FrozenTrial | None:
        complete = self.handle.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        return best_of(complete, direction=self.spec.objective.direction)


def prepare_run(spec: StudySpec, *, storage_url: str, backend: str | None = None) -> PreparedRun:
    """Load the workload, then open or resume the spec's study and queue again the trials
    an interrupted or crashed run left behind. The data is loaded first, so a bad
    dataset writes nothing to the storage. ``backend``: as :func:`bench.study.open_study`
    takes it."""
    workload = spec.workload.load()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    handle = open_study(spec, storage=open_storage(storage_url), backend=backend)
    retries = spec.budget.retries
    recovered = recover_stale_trials(handle.study, retries=retries)
    return PreparedRun(
        spec=spec,
        storage_url=storage_url,
        handle=handle,
        workload=workload,
        budget=spec.total_trials,
        requeued=len(recovered) + len(requeue_interrupted(handle.study, retries=retries)),
    )
