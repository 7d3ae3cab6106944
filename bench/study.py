"""Run a study: spec -> Optuna study (sampler, pruner, storage) -> one trial per recipe and seed.

Every trial lands in an Optuna storage (SQLite by default; any RDB URL such as PostgreSQL
for workers on several machines) with its params, one intermediate value per epoch and
user attributes that hold the whole result, so that ``optuna-dashboard``, the ``optuna``
command line and ``optuna.load_study`` all see it.

The seed is never an Optuna param (so the dashboard's importances rank recipe fields
only): it is the ``seed`` user attribute. A sampler proposes a recipe, which runs with the
spec's first seed and queues one copy per other seed, each holding its seed from the start.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import optuna
from optuna.trial import TrialState

from bench._record import SPEC_HASH, Attr, RecordWriter, recipe_label, slot_label
from bench._schema import DUPLICATE, PRUNED, TUNE
from bench._signals import exit_status, stop_on_sigterm
from bench.recovery import (
    FINISHED,
    TrialCounts,
    TrialOwner,
    count_trials,
    describe_owners,
    recover_stale_trials,
    requeue_interrupted,
    trial_cell,
    trial_seed,
)
from bench.spec import SEED, VARIANT, Range, StudySpec
from bench.storage import is_missing_sqlite_file, open_storage, redact_url
from bench.tuning import (
    Assignment,
    count_tuning_trials,
    is_taken_before,
    next_assignment,
    param_name,
)
from bench.workload import Workload


class TrialReporter(Protocol):
    """What a display needs to follow a study; every method is optional to act on."""

    def trial_started(self, number: int, label: str, seed: int, epochs: int) -> None: ...

    def epoch_ended(self, record: dict[str, float]) -> None: ...

    def trial_ended(self, trial: optuna.trial.FrozenTrial) -> None: ...

    def trials_done(self, counts: TrialCounts, *, best: optuna.trial.FrozenTrial | None) -> None:
        """Progress polled from the storage while worker processes run the trials."""

    def waiting(self, counts: TrialCounts, *, owners: str) -> None:
        """Nothing is left to start, but trials of other workers are still running."""


@dataclass(frozen=True)
class StudyHandle:
    """The Optuna study a spec runs in, and whether this call created it."""

    study: optuna.Study
    name: str
    created: bool
    renamed_from: str | None = None


def open_study(spec: StudySpec, *, storage: optuna.storages.BaseStorage) -> StudyHandle:
    """Create the spec's study, or resume the one with the same spec.

    A stored study whose spec differs (another search space, workload or epochs) is never
    mixed with this one: the run goes to ``NAME-v2`` (then ``-v3``...), and re-running
    the changed spec resumes that versioned study.
    """
    content_hash = spec.content_hash()
    version = 1
    while True:
        name = spec.name if version == 1 else f"{spec.name}-v{version}"
        try:
            study = optuna.create_study(
                storage=storage,
                study_name=name,
                direction=spec.objective.direction,
                sampler=make_sampler(spec),
                pruner=make_pruner(spec),
            )
        except optuna.exceptions.DuplicatedStudyError:
            study = optuna.load_study(
                study_name=name,
                storage=storage,
                sampler=make_sampler(spec),
                pruner=make_pruner(spec),
            )
            stored_hash = _wait_for_attr(study, SPEC_HASH)
            if stored_hash == content_hash:
                return StudyHandle(
                    study, name, created=False, renamed_from=spec.name if version > 1 else None
                )
            version += 1
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([spec.objective.metric])
        RecordWriter.write(
            study,
            RecordWriter.study(
                spec=spec.to_dict(), description=spec.description, spec_hash=content_hash
            ),
        )
        return StudyHandle(
            study, name, created=True, renamed_from=spec.name if version > 1 else None
        )


def _wait_for_attr(study: optuna.Study, attr: Attr, *, timeout_s: float = 30.0) -> Any:
    # Another worker may have created the study a moment ago and not yet stored its spec.
    deadline = time.monotonic() + timeout_s
    while True:
        value = attr.get(study.user_attrs)
        if value is not None or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def make_sampler(spec: StudySpec) -> optuna.samplers.BaseSampler:
    """The spec's Optuna sampler, over recipe fields only: never the seed.

    A grid's cells are the variants times the listed search-space values; every sampled
    recipe runs with the first seed and queues itself once per other seed (see
    :class:`TrialObjective`). A ``[tuning]`` study samples each candidate's own params.

    Example:
        >>> from bench.spec import load_spec
        >>> sampler = make_sampler(load_spec("optimizers-fixed"))
        >>> sorted(sampler._search_space)
        ['variant']
    """
    if spec.tuning is not None:
        return _base_sampler(spec.tuning.sampler)
    if spec.sampler == "grid":
        return _RecipeGridSampler(grid_space(spec), seed=0)
    return _base_sampler(spec.sampler)


def grid_space(spec: StudySpec) -> dict[str, list[Any]]:
    """The cells of a grid study: its variants and listed search-space values.

    Example:
        >>> from bench.spec import load_spec
        >>> space = grid_space(load_spec("optimizers-fixed"))
        >>> list(space), len(space["variant"])
        (['variant'], 8)
    """
    space: dict[str, list[Any]] = {}
    if spec.variants:
        space[VARIANT] = list(spec.variants)
    space.update({k: v for k, v in spec.search_space.items() if isinstance(v, list)})
    return space


class _RecipeGridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler, for a study whose queued seed copies hold no grid cell.

    Optuna's ``after_trial`` reads the finished trial's cell, which a queued copy lacks;
    such a trial is simply done. Once every cell has run, ``run_worker``'s budget callback
    stops the study when no copy is left.
    """

    def after_trial(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        if "grid_id" in study._storage.get_trial_system_attrs(trial._trial_id):
            super().after_trial(study, trial, state, values)


def _base_sampler(name: str) -> optuna.samplers.BaseSampler:
    # Random draws are seeded from the operating system: workers (and a resumed run)
    # seeded alike would draw the same recipes. QMC's points are indexed through the
    # storage, so its workers share one seed and extend one sequence.
    if name == "random":
        return optuna.samplers.RandomSampler()
    if name == "tpe":
        return optuna.samplers.TPESampler(n_startup_trials=6)
    return optuna.samplers.QMCSampler(seed=0, warn_independent_sampling=False)


def make_pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    """The spec's Optuna pruner (``none`` never prunes)."""
    if spec.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2 * len(spec.seeds), n_warmup_steps=2)
    if spec.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=spec.max_epochs)
    return optuna.pruners.NopPruner()


def suggest(trial: optuna.Trial, spec: StudySpec) -> dict[str, Any]:
    """Ask the trial for the variant and every searched field of the spec (not the seed).

    Example:
        >>> from bench.spec import load_spec
        >>> study = optuna.create_study(sampler=make_sampler(load_spec("optimizers-fixed")))
        >>> list(suggest(study.ask(), load_spec("optimizers-fixed")))
        ['variant']
    """
    sampled: dict[str, Any] = {}
    if spec.variants:
        sampled[VARIANT] = trial.suggest_categorical(VARIANT, list(spec.variants))
    sampled.update(suggest_space(trial, spec.search_space))
    return sampled


def suggest_space(
    trial: optuna.Trial, space: Mapping[str, list[Any] | Range], *, prefix: str = ""
) -> dict[str, Any]:
    """Ask the trial for each field of ``space``; params are named ``prefix + field``."""
    sampled: dict[str, Any] = {}
    for name, values in space.items():
        param = prefix + name
        if isinstance(values, list):
            sampled[name] = trial.suggest_categorical(param, values)
        elif isinstance(values.low, int) and isinstance(values.high, int):
            sampled[name] = trial.suggest_int(
                param, values.low, values.high, log=values.log, step=int(values.step or 1)
            )
        else:
            sampled[name] = trial.suggest_float(
                param, float(values.low), float(values.high), log=values.log, step=values.step
            )
    return sampled


class _DuplicateCell(Exception):
    """A grid cell and seed that another worker already ran (a race at the grid's end)."""


class TrialObjective:
    """The Optuna objective: one training run of the sampled recipe with one seed.

    Stores the whole result in the trial's user attributes and reports the objective
    metric every epoch, so the pruner and the dashboard's learning curves see it.
    """

    def __init__(
        self, spec: StudySpec, workload: Workload, *, reporter: TrialReporter | None = None
    ):
        self.spec = spec
        self.workload = workload
        self.reporter = reporter

    def __call__(self, trial: optuna.Trial) -> float:
        from bench.trial import run_trial

        TrialOwner.this_process().record(trial)
        if self.spec.tuning is not None:
            sampled, label = self._tuning_recipe(trial)
        else:
            sampled, label = self._sampled_recipe(trial)
        recipe = self.spec.recipe(sampled)
        RecordWriter.write(trial, RecordWriter.labelled(label, seed=recipe.seed))
        if self._first_seed_was_pruned(trial, seed=recipe.seed):
            RecordWriter.write(
                trial, RecordWriter.untrained(recipe=recipe.to_dict(), stop_reason=PRUNED)
            )
            raise optuna.TrialPruned(f"{label}: its first seed was pruned")
        if self.reporter:
            self.reporter.trial_started(trial.number, label, recipe.seed, recipe.epochs)

        metric = self.spec.objective.metric
        result = run_trial(self.workload, recipe, on_epoch=self._epoch_hook(trial, metric))
        RecordWriter.write(trial, RecordWriter.result(result))
        if result.stop_reason == PRUNED:
            raise optuna.TrialPruned(f"pruned at epoch {result.epochs_run}")
        split, name = self.spec.objective.split_and_name
        value = result.metrics[split][name]
        # NaN tells Optuna the trial failed: a diverged run has no honest objective value.
        return float("nan") if value is None else float(value)

    def _epoch_hook(self, trial: optuna.Trial, metric: str) -> Callable[[dict], bool]:
        def on_epoch(record: dict[str, float]) -> bool:
            if self.reporter:
                self.reporter.epoch_ended(record)
            value = record.get(metric, float("nan"))
            if math.isfinite(value):
                trial.report(value, step=int(record["epoch"]))
            return trial.should_prune()

        return on_epoch

    def _sampled_recipe(self, trial: optuna.Trial) -> tuple[dict[str, Any], str]:
        """The sampler's recipe with the trial's seed: a queued copy's own, else the first."""
        seed = trial_seed(trial.study._storage.get_trial(trial._trial_id))
        if seed is None:
            seed = self.spec.seeds[0]
            # Stored before the params, so another worker never sees this cell seedless.
            RecordWriter.write(trial, RecordWriter.seed(seed))
        sampled = suggest(trial, self.spec)
        if self.spec.sampler == "grid":
            self._refuse_duplicate_cell(trial)
        if seed == self.spec.seeds[0]:
            self._queue_other_seeds(trial, sampled)
        return {**sampled, SEED: seed}, recipe_label(sampled)

    def _tuning_recipe(self, trial: optuna.Trial) -> tuple[dict[str, Any], str]:
        """Claim a slot of the tuning protocol (or keep the one a queued copy holds)."""
        assignment = Assignment.of(trial.study._storage.get_trial(trial._trial_id))
        if assignment is None:
            assignment = next_assignment(trial.study, self.spec, skip=trial.number)
            if assignment is None:
                raise self._duplicate(trial, "no slot of the tuning protocol is free")
            assignment.record(trial)
            if is_taken_before(
                trial.study, self.spec, trial.study._storage.get_trial(trial._trial_id)
            ):
                raise self._duplicate(
                    trial, f"{assignment.phase} slot of {assignment.candidate} taken"
                )
        candidate = assignment.candidate
        if assignment.phase == TUNE:
            space = self.spec.candidate_space(candidate)
            values = suggest_space(trial, space, prefix=param_name(candidate, ""))
        else:
            values = dict(assignment.tuned or {})
        label = slot_label(candidate, phase=assignment.phase, values=values)
        return {VARIANT: candidate, **values, SEED: assignment.seed}, label

    def _first_seed_was_pruned(self, trial: optuna.Trial, *, seed: int) -> bool:
        """Whether this is another seed of a recipe whose first-seed trial was pruned.

        The pruner judges trials, but the study ranks recipes: once a recipe's first seed
        fell below the median, its other seeds would only spend epochs on a recipe that
        cannot lead, so they are pruned as they start, untrained.
        """
        first = self.spec.seeds[0]
        if self.spec.tuning is not None or self.spec.pruner == "none" or seed == first:
            return False
        params, _ = trial_cell(trial.study._storage.get_trial(trial._trial_id))
        pruned = trial.study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
        return any(trial_cell(other) == (params, first) for other in pruned)

    def _duplicate(self, trial: optuna.Trial, why: str) -> _DuplicateCell:
        RecordWriter.write(trial, RecordWriter.stopped(DUPLICATE))
        trial.study.stop()
        return _DuplicateCell(why)

    def _queue_other_seeds(self, trial: optuna.Trial, sampled: dict[str, Any]) -> None:
        """Queue the recipe once per other seed; the seed rides along as a user attribute."""
        # Idempotent: a retried first-seed trial must not queue the other seeds twice.
        others = trial.study.get_trials(deepcopy=False)
        planned = {trial_cell(t) for t in others if t.number != trial.number}
        params = tuple(sorted(sampled.items()))
        for seed in self.spec.seeds[1:]:
            if (params, seed) not in planned:
                trial.study.enqueue_trial(sampled, user_attrs=RecordWriter.seed(seed))

    def _refuse_duplicate_cell(self, trial: optuna.Trial) -> None:
        cell = trial_cell(trial.study._storage.get_trial(trial._trial_id))
        for other in trial.study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING)):
            if other.number != trial.number and trial_cell(other) == cell:
                RecordWriter.write(trial, RecordWriter.stopped(DUPLICATE))
                trial.study.stop()
                raise _DuplicateCell(
                    f"grid cell {dict(cell[0])} with seed {cell[1]} already run by trial "
                    f"{other.number}"
                )


def default_jobs(*, trials_left: int) -> int:
    """Worker processes ``bench run`` starts by default: one per core, at most one per
    trial left (measured fastest on a 2-core machine; see BENCHMARKS.md).

    Example:
        >>> default_jobs(trials_left=1)
        1
    """
    return max(1, min(os.cpu_count() or 1, trials_left))


def set_thread_budget(jobs: int) -> None:
    """Share this machine's cores among ``jobs`` workers; call before TensorFlow starts."""
    cores = os.cpu_count() or 1
    per_worker = max(1, cores // max(1, jobs))
    from bench._keras import tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(per_worker)
        tf.config.threading.set_inter_op_parallelism_threads(1 if jobs > 1 else 0)
    except RuntimeError:
        pass  # TensorFlow already started in this process; its threads are fixed now


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
) -> None:
    """Run trials of an existing study until its budget is met or time runs out.

    Several workers (processes here, or machines sharing a PostgreSQL URL) may run this
    at once against one study; each finished trial counts toward the shared budget.
    When only other workers' trials are left running, it waits for them rather than
    calling the study done: one whose worker is gone is run again here. ``workload``
    saves loading the data again when the caller already has it.
    """
    set_thread_budget(jobs)
    if workload is None:
        workload = spec.workload.load()
    storage = open_storage(storage_url)
    study = optuna.load_study(
        study_name=study_name, storage=storage, sampler=make_sampler(spec), pruner=make_pruner(spec)
    )
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    deadline = None if timeout is None else time.monotonic() + timeout
    callbacks: list[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] = [
        _BudgetCallback(spec, budget)
    ]
    if reporter is not None:
        callbacks.append(lambda _study, frozen: reporter.trial_ended(frozen))
    objective = TrialObjective(spec, workload, reporter=reporter)
    while True:
        recover_stale_trials(study)
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
                catch=(_DuplicateCell,),
                gc_after_trial=True,
            )
            continue
        if counts.running == 0:
            if counts.to_run > 0:
                raise RuntimeError(f"{counts.to_run} trial(s) left, but none can start")
            return
        if reporter is not None:
            reporter.waiting(counts, owners=_running_owners(study, counts))
        time.sleep(WAIT_POLL_S)


def study_counts(study: optuna.Study, spec: StudySpec, *, budget: int) -> TrialCounts:
    """Finished, running and still-to-run trials of the spec's study."""
    if spec.tuning is not None:
        return count_tuning_trials(study, spec)
    return count_trials(study, budget=budget, grid=spec.sampler == "grid")


def _can_start(study: optuna.Study, spec: StudySpec) -> bool:
    if spec.tuning is None or study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        return True
    return next_assignment(study, spec) is not None


#: How often a worker with nothing left to start checks the trials it waits for.
WAIT_POLL_S = 5.0


def _running_owners(study: optuna.Study, counts: TrialCounts) -> str:
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    return describe_owners([t for t in running if t.number in counts.running_elsewhere])


class _BudgetCallback:
    """Stops a worker once the shared budget is met (counting every worker's trials),
    or when the process that started it is gone."""

    def __init__(self, spec: StudySpec, budget: int) -> None:
        self.spec = spec
        self.budget = budget
        self.parent = os.getppid()

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        counts = study_counts(study, self.spec, budget=self.budget)
        if counts.to_run == 0 or os.getppid() != self.parent:
            study.stop()


def _worker_process(spec: StudySpec, **options: Any) -> None:
    """A worker process of ``bench run --jobs N``: stopped by its parent with SIGTERM.

    It ignores SIGINT, so Ctrl-C in a terminal (sent to every process of the group)
    reaches the parent alone, which then stops each worker once.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop_on_sigterm()
    try:
        run_worker(spec, **options)
    except KeyboardInterrupt as interrupt:
        sys.exit(exit_status(interrupt))


def _start_workers(run: PreparedRun, *, jobs: int, timeout: float | None) -> list:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
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
            },
            name=f"bench-worker-{i}",
        )
        for i in range(jobs)
    ]
    for process in processes:
        process.start()
    return processes


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


@dataclass(frozen=True)
class PreparedRun:
    """A study opened (or resumed) in its storage, ready to run its remaining trials.

    Example:
        >>> from bench.spec import load_spec
        >>> run = prepare_run(load_spec("optimizers-fixed"), storage_url="sqlite:///:memory:")
        >>> run.counts().to_run, run.budget
        (24, 24)

        ``run.run_remaining(jobs=2)`` would then train the 16 trials in two processes.
    """

    spec: StudySpec
    storage_url: str
    handle: StudyHandle
    workload: Workload
    budget: int
    requeued: int

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
        processes = _start_workers(self, jobs=jobs, timeout=timeout)
        try:
            while any(p.is_alive() for p in processes):
                if reporter is not None:
                    reporter.trials_done(self.counts(), best=self._best_trial())
                time.sleep(1.0)
        except KeyboardInterrupt:
            _stop_workers(processes)
            raise
        failed = [p.name for p in processes if p.exitcode]
        if failed:
            raise RuntimeError(f"worker(s) {', '.join(failed)} exited with an error")

    def recover(self) -> int:
        """Queue again the trials an interrupt or a killed worker left; returns how many."""
        return len(recover_stale_trials(self.handle.study)) + len(
            requeue_interrupted(self.handle.study)
        )

    def _best_trial(self) -> optuna.trial.FrozenTrial | None:
        try:
            return self.handle.study.best_trial
        except ValueError:  # no trial has completed yet
            return None


def prepare_run(spec: StudySpec, *, storage_url: str) -> PreparedRun:
    """Load the workload, then open or resume the spec's study and queue again the trials
    an interrupted or crashed run left behind. The data is loaded first, so a bad
    dataset writes nothing to the storage."""
    workload = spec.workload.load()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    handle = open_study(spec, storage=open_storage(storage_url))
    recovered = recover_stale_trials(handle.study)
    return PreparedRun(
        spec=spec,
        storage_url=storage_url,
        handle=handle,
        workload=workload,
        budget=spec.total_trials,
        requeued=len(recovered) + len(requeue_interrupted(handle.study)),
    )


def study_progress(spec: StudySpec, *, storage_url: str) -> str:
    """One line on how far the spec's study has run in a storage (reads, never creates)."""
    if is_missing_sqlite_file(storage_url):
        return f"not run yet: {redact_url(storage_url)} does not exist"
    storage = open_storage(storage_url, create=False)
    names = {s.study_name: s for s in optuna.get_all_study_summaries(storage)}
    content_hash = spec.content_hash()
    matching = [
        n
        for n in names
        if (n == spec.name or n.startswith(f"{spec.name}-v"))
        and SPEC_HASH.get(names[n].user_attrs) == content_hash
    ]
    if not matching:
        return f"not run yet in {redact_url(storage_url)}"
    study = optuna.load_study(study_name=matching[0], storage=storage)
    counts = {state.name.lower(): 0 for state in TrialState}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name.lower()] += 1
    progress = study_counts(study, spec, budget=spec.total_trials)
    shown = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
    total = spec.total_trials
    return (
        f"study {matching[0]!r} in {redact_url(storage_url)}: {progress.finished} of {total} "
        f"trials done ({shown or 'no trials'})"
    )
