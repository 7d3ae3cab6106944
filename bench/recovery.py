"""What a crash leaves behind, found and put back in the queue.

A worker that dies (``kill -9``, an out-of-memory kill, a reboot, a closed laptop lid)
leaves its trial RUNNING in the storage. Each trial records the host and process that
run it, so a RUNNING trial of this host whose process is gone is stale at once; one of
another host is stale when its Optuna heartbeat stops for the storage's grace period.
Stale and interrupted trials are failed and a copy with the same params and user attributes
(the seed among them) is queued, with Optuna's own retry callback; a diverged trial failed
for a reason and stays.

Example:
    >>> import optuna
    >>> study = optuna.create_study()
    >>> count_trials(study, budget=4)
    TrialCounts(finished=0, running=0, to_run=4, running_elsewhere=())
"""

from __future__ import annotations

import os
import socket
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from bench._record import RecordWriter, TrialRecord, queued_copy_attrs
from bench._schema import CRASHED, DIVERGED
from bench.storage import retry_callback

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
#: Stop reasons of failed trials that ended a cell for good: a run that diverged, and a
#: cell whose worker died (or raised) on every attempt the retry cap allowed.
FINAL_FAILURES = (DIVERGED, CRASHED)
#: How many times a cell whose worker died or raised is run again, across runs.
DEFAULT_RETRIES = 2


def trial_seed(trial: FrozenTrial) -> int | None:
    """The seed a trial runs (or ran) with: its ``seed`` user attribute, else the ``seed``
    param that studies stored by earlier versions sampled, else None (not decided yet).

    Example:
        >>> import optuna
        >>> from optuna.distributions import IntDistribution
        >>> queued = optuna.trial.create_trial(state=TrialState.WAITING, user_attrs={"seed": 2})
        >>> legacy = optuna.trial.create_trial(
        ...     params={"seed": 1}, distributions={"seed": IntDistribution(0, 1)}, value=0.5)
        >>> trial_seed(queued), trial_seed(legacy)
        (2, 1)
    """
    return TrialRecord.read(trial).seed


def trial_cell(trial: FrozenTrial) -> tuple[tuple[tuple[str, object], ...], int | None]:
    """What makes two trials the same run: their params (a queued trial's fixed ones) and
    their seed. Two trials of one cell must never both count.

    Example:
        >>> import optuna
        >>> queued = optuna.trial.create_trial(state=TrialState.WAITING,
        ...     user_attrs={"seed": 1}, system_attrs={"fixed_params": {"variant": "sgd"}})
        >>> trial_cell(queued)
        ((('variant', 'sgd'),), 1)
    """
    params = trial.params or trial.system_attrs.get("fixed_params", {})
    return tuple(sorted(params.items())), trial_seed(trial)


@dataclass(frozen=True)
class TrialOwner:
    """The host and process running a trial, stored as its user attributes.

    ``boot_id`` tells two machines that share a host name apart (and a machine from
    itself before a reboot), so a process id is only trusted on the same running kernel.

    Example:
        >>> me = TrialOwner.this_process()
        >>> me.is_gone(), TrialOwner(host=me.host, pid=2**22 + 1, boot_id=me.boot_id).is_gone()
        (False, True)
    """

    host: str
    pid: int
    boot_id: str

    @classmethod
    def this_process(cls) -> TrialOwner:
        return cls(host=socket.gethostname(), pid=os.getpid(), boot_id=_boot_id())

    @classmethod
    def of(cls, trial: FrozenTrial) -> TrialOwner | None:
        record = TrialRecord.read(trial)
        if record.pid is None or record.host is None:
            return None
        return cls(host=record.host, pid=record.pid, boot_id=record.boot_id or "")

    def record(self, trial: optuna.Trial) -> None:
        RecordWriter.write(
            trial, RecordWriter.owner(host=self.host, pid=self.pid, boot_id=self.boot_id)
        )

    def is_here(self) -> bool:
        """True when this process runs on the owner's machine, under the same boot."""
        here = TrialOwner.this_process()
        return self.host == here.host and self.boot_id == here.boot_id

    def is_gone(self) -> bool:
        """True when the owner ran on this machine and its process no longer exists."""
        if not self.is_here():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, owned by another user
            return False
        return _is_zombie(self.pid)


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:  # not Linux: the host name alone identifies the machine
        return ""


def _is_zombie(pid: int) -> bool:
    # A worker killed while its parent lives stays a zombie until the parent reaps it.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


@dataclass(frozen=True)
class TrialCounts:
    """How far a study is toward its budget; running trials are never counted as done.

    ``running_elsewhere`` lists the RUNNING trials owned by other machines (or by no
    recorded owner): they count once they finish, or are run again here once their
    heartbeat has been silent for the storage's grace period.
    """

    finished: int
    running: int
    to_run: int
    running_elsewhere: tuple[int, ...]


def count_trials(study: optuna.Study, *, budget: int, grid: bool = False) -> TrialCounts:
    """Finished, running and still-to-run trials of ``study`` against ``budget``.

    A diverged or crashed trial is finished (it failed for a reason). For a grid (``grid=True``) a
    cell and seed count once whatever happened to them, so a retried run is not counted
    twice.
    """
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state in FINISHED or _ended_for_a_reason(t)]
    running = [t for t in trials if t.state == TrialState.RUNNING]
    if grid:
        done_cells = {trial_cell(t) for t in done}
        running = [t for t in running if trial_cell(t) not in done_cells]
        finished = len(done_cells)
        running_count = len({trial_cell(t) for t in running})
    else:
        finished, running_count = len(done), len(running)
    elsewhere = running_elsewhere(running)
    return TrialCounts(
        finished=finished,
        running=running_count,
        to_run=max(0, budget - finished - running_count),
        running_elsewhere=elsewhere,
    )


def recover_stale_trials(study: optuna.Study, *, retries: int = DEFAULT_RETRIES) -> list[int]:
    """Fail and queue again every RUNNING trial whose worker is known to be gone.

    Trials of this machine whose process has exited are stale at once; Optuna's
    heartbeat check fails those of other machines after the grace period. A trial whose
    owner is not recorded yet (it has just started) is never judged by process id. A cell
    already run ``1 + retries`` times ends as ``crashed`` instead of being queued. Returns
    the numbers of the trials queued again (or ended).
    """
    storage = study._storage  # Optuna has no public call that fails a trial of another process
    queued = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = TrialOwner.of(trial)
        if owner is None or not owner.is_gone():
            continue
        try:
            if storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                retry_or_give_up(study, storage.get_trial(trial._trial_id), retries=retries)
                queued.append(trial.number)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker recovered it first
    before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    after = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    queued.extend(t.number for t in after if t.number not in before)
    return queued


def requeue_interrupted(study: optuna.Study, *, retries: int = DEFAULT_RETRIES) -> list[int]:
    """Queue a copy of each trial that failed without a result and was not retried yet.

    That is a trial stopped by Ctrl-C or SIGTERM (always queued again), or one whose
    worker raised or died and that was not queued yet (queued up to the retry cap, then
    ended as ``crashed``). A diverged or crashed trial failed for a reason and stays.
    The copy keeps the trial's seed and slot. Returns the numbers of the failed trials
    that were queued again or ended.
    """
    trials = study.get_trials(deepcopy=False)
    retried = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    queued = []
    for trial in trials:
        if (
            trial.state == TrialState.FAIL
            and trial.number not in retried
            and TrialRecord.read(trial).stop_reason is None
        ):
            interrupted = TrialRecord.read(trial).interrupted is not None
            retry_or_give_up(study, trial, retries=retries, interrupted=interrupted)
            queued.append(trial.number)
    return queued


def retry_or_give_up(
    study: optuna.Study,
    trial: FrozenTrial,
    *,
    retries: int = DEFAULT_RETRIES,
    interrupted: bool = False,
) -> bool:
    """Queue a copy of a failed trial, or, once its cell has been retried ``retries``
    times, store the cell's end as a ``crashed`` trial listing every attempt (its
    ``retry_history``). Returns True when a copy was queued.

    A trial stopped by Ctrl-C or SIGTERM (``interrupted``) is always queued again: the
    user stopped it, it did not crash.

    Example:
        >>> study = optuna.create_study()
        >>> study.add_trial(optuna.trial.create_trial(state=TrialState.FAIL))
        >>> retry_or_give_up(study, study.trials[0], retries=0)
        False
        >>> [TrialRecord.read(t).stop_reason for t in study.trials]
        [None, 'crashed']
    """
    attempts = [*trial.system_attrs.get("retry_history", []), trial.number]
    if interrupted or len(attempts) <= retries:
        retry_callback(max_retry=None)(study, trial)
        return True
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.FAIL,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs={
                **queued_copy_attrs(trial.user_attrs),
                **RecordWriter.stopped(CRASHED),
            },
            system_attrs={
                **trial.system_attrs,
                "failed_trial": attempts[0],
                "retry_history": attempts,
            },
        )
    )
    return False


def _ended_for_a_reason(trial: FrozenTrial) -> bool:
    return TrialRecord.read(trial).stop_reason in FINAL_FAILURES


def running_elsewhere(running: Sequence[FrozenTrial]) -> tuple[int, ...]:
    """The numbers of the running trials not owned by a process of this machine."""
    return tuple(t.number for t in running if not _owned_here(t))


def _owned_here(trial: FrozenTrial) -> bool:
    owner = TrialOwner.of(trial)
    return owner is not None and owner.is_here()


def describe_owners(trials: Sequence[FrozenTrial]) -> str:
    """``host:pid`` of each trial's worker, for a line that says what is waited for."""
    owners = [TrialOwner.of(t) for t in trials]
    return ", ".join(f"{o.host}:{o.pid}" if o else "unknown worker" for o in owners)
