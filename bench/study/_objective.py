"""The Optuna objective: one training run of one recipe with one seed, stored as a trial.

:class:`TrialObjective` is thin: a policy decides which recipe and seed a trial runs
(:class:`SeedCopies` for grid and sampled studies, :class:`TuningSlots` under a tuning
protocol), training runs through an injected function, and the record writer stores the
result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Protocol

import optuna
from optuna.trial import TrialState

from bench._record import RecordWriter, TrialRecord, TrialResult, recipe_label, slot_label
from bench._schema import DEFAULTS, DUPLICATE, PRUNED, SEED, TUNE, VARIANT
from bench._signals import raise_if_stop_requested, signal_name
from bench.recipe import Recipe
from bench.recovery import FINISHED, TrialOwner, trial_cell
from bench.spec import StudySpec
from bench.study._setup import suggest, suggest_space
from bench.tuning import (
    Assignment,
    default_settings,
    is_taken_before,
    next_assignment,
    param_name,
)
from bench.workload import Workload

#: Trains one recipe on a workload (``bench.trial.run_trial``'s signature).
TrainFn = Callable[..., TrialResult]


class TrialReporter(Protocol):
    """What a display needs to follow a study; every method is optional to act on."""

    def trial_started(self, number: int, label: str, seed: int, epochs: int) -> None: ...

    def epoch_ended(self, record: dict[str, float]) -> None: ...

    def trial_ended(self, trial: optuna.trial.FrozenTrial) -> None: ...

    def trial_diverged(self, trial: optuna.trial.FrozenTrial) -> None:
        """A trial a worker process ran diverged (found in the storage while polling)."""

    def trials_done(self, counts: Any, *, best: optuna.trial.FrozenTrial | None) -> None:
        """Progress polled from the storage while worker processes run the trials."""

    def waiting(self, counts: Any, *, owners: str) -> None:
        """Nothing is left to start, but trials of other workers are still running."""


class TrialError(Exception):
    """Training raised an unexpected error: the trial is stored as failed with the error
    (its ``error`` attribute) and the worker carries on with the study."""


class DuplicateCell(Exception):
    """A grid cell and seed, or a tuning slot, that another worker already took (a race at
    the end of a study): the attempt is stored as ``duplicate`` and never counts."""


def _live_record(trial: optuna.Trial) -> TrialRecord:
    return TrialRecord.from_attrs(trial.user_attrs, legacy_params=trial.params)


def _refuse(trial: optuna.Trial, why: str) -> DuplicateCell:
    RecordWriter.write(trial, RecordWriter.stopped(DUPLICATE))
    trial.study.stop()
    return DuplicateCell(why)


class SeedCopies:
    """Grid and sampled studies: a sampled recipe runs with the spec's first seed and
    queues one copy per other seed, each holding its seed from the start.

    Example:
        >>> from bench.spec import load_spec
        >>> from bench.study._setup import make_sampler
        >>> spec = load_spec("optimizers-fixed")
        >>> study = optuna.create_study(sampler=make_sampler(spec))
        >>> sampled, label = SeedCopies(spec).recipe(study.ask())
        >>> sampled["seed"], len(study.get_trials(states=(TrialState.WAITING,)))
        (0, 4)
    """

    def __init__(self, spec: StudySpec) -> None:
        self.spec = spec

    def recipe(self, trial: optuna.Trial) -> tuple[dict[str, Any], str]:
        """The sampler's recipe with the trial's seed: a queued copy's own, else the first."""
        seed = _live_record(trial).seed
        if seed is None:
            seed = self.spec.seeds[0]
            # Stored before the params, so another worker never sees this cell seedless.
            RecordWriter.write(trial, RecordWriter.seed(seed))
        sampled = suggest(trial, self.spec)
        if self.spec.sampler == "grid":
            self._refuse_duplicate_cell(trial, seed=seed)
        label = recipe_label(sampled)
        if seed == self.spec.seeds[0]:
            # The params as drawn (a log1m knob's is 1 - value), for the copies to redraw.
            self._queue_other_seeds(trial, dict(trial.params), label=label)
        return {**sampled, SEED: seed}, label

    def first_seed_was_pruned(self, trial: optuna.Trial, *, seed: int) -> bool:
        """Whether this is another seed of a recipe whose first-seed trial was pruned.

        The pruner judges trials, but the study ranks recipes: once a recipe's first seed
        fell below the median, its other seeds would only spend epochs on a recipe that
        cannot lead, so they are pruned as they start, untrained.
        """
        first = self.spec.seeds[0]
        if self.spec.pruner == "none" or seed == first:
            return False
        params = tuple(sorted(trial.params.items()))
        pruned = trial.study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
        return any(trial_cell(other) == (params, first) for other in pruned)

    def _queue_other_seeds(
        self, trial: optuna.Trial, params: dict[str, Any], *, label: str
    ) -> None:
        # Idempotent: a retried first-seed trial must not queue the other seeds twice.
        # Labelled when queued, so that a report made before they run names their recipe.
        others = trial.study.get_trials(deepcopy=False)
        planned = {trial_cell(t) for t in others if t.number != trial.number}
        cell = tuple(sorted(params.items()))
        for seed in self.spec.seeds[1:]:
            if (cell, seed) not in planned:
                trial.study.enqueue_trial(
                    params, user_attrs=RecordWriter.labelled(label, seed=seed)
                )

    def _refuse_duplicate_cell(self, trial: optuna.Trial, *, seed: int) -> None:
        cell = (tuple(sorted(trial.params.items())), seed)
        states = (*FINISHED, TrialState.RUNNING)
        for other in trial.study.get_trials(deepcopy=False, states=states):
            if other.number != trial.number and trial_cell(other) == cell:
                raise _refuse(
                    trial,
                    f"grid cell {dict(cell[0])} with seed {seed} already run by trial "
                    f"{other.number}",
                )


class TuningSlots:
    """Tuning-protocol studies: each trial claims the next free slot (a tuning trial of
    a candidate, a final seed of its chosen settings, or a defaults seed), or keeps the
    one its queued copy holds. Two workers claiming one slot: the lower trial number keeps it.

    Example:
        >>> from bench.spec import load_spec
        >>> from bench.study._setup import make_sampler
        >>> spec = load_spec("optimizers")
        >>> study = optuna.create_study(direction="maximize", sampler=make_sampler(spec))
        >>> trial = study.ask()
        >>> sampled, label = TuningSlots(spec).recipe(trial)
        >>> sampled["variant"], sampled["seed"], label.split(":")[0]
        ('adam', 0, 'adam (tune')
        >>> sorted(trial.params)
        ['adam.epsilon', 'adam.learning_rate', 'variant']
    """

    def __init__(self, spec: StudySpec) -> None:
        self.spec = spec

    def recipe(self, trial: optuna.Trial) -> tuple[dict[str, Any], str]:
        """Claim a slot (or keep the queued copy's); returns its recipe values and label."""
        assignment = Assignment.from_record(_live_record(trial))
        if assignment is None:
            assignment = next_assignment(
                trial.study, self.spec, skip=trial.number, worker=TrialOwner.this_process()
            )
            if assignment is None:
                raise _refuse(trial, "no slot of the tuning protocol is free")
            assignment.record(trial)
            _wait_for_earlier_claims(trial)
            if is_taken_before(trial.study, self.spec, number=trial.number, slot=assignment):
                raise _refuse(trial, f"{assignment.phase} slot of {assignment.candidate} taken")
        candidate = assignment.candidate
        # The sampler answers both from the slot (see ProtocolSampler): they are params so
        # that Optuna's and the dashboard's views name the candidate and its settings.
        trial.suggest_categorical(VARIANT, list(self.spec.variants))
        space = self.spec.candidate_space(candidate)
        if assignment.phase == DEFAULTS:
            # Untuned: no param is drawn, so no sampler ever learns from this trial.
            values = default_settings(self.spec, candidate)
        elif assignment.tuned is None:
            values = suggest_space(trial, space, prefix=param_name(candidate, ""))
        else:
            values = dict(assignment.tuned or {})
            rerun = {field: space[field] for field in values if field in space}
            suggest_space(trial, rerun, prefix=param_name(candidate, ""))
        label = slot_label(candidate, phase=assignment.phase, values=values)
        return {VARIANT: candidate, **values, SEED: assignment.seed}, label


#: How long a claim waits for the claims of lower-numbered trials to be stored.
CLAIM_WAIT_S = 10.0


def _wait_for_earlier_claims(trial: optuna.Trial) -> None:
    """Wait until every running trial numbered below this one has stored its slot.

    The lower trial number keeps a slot two workers claimed at once, which holds only if
    the higher one checks after the lower one's claim is stored. A worker that died
    between starting a trial and storing its claim is waited for no longer than
    :data:`CLAIM_WAIT_S`.
    """
    deadline = time.monotonic() + CLAIM_WAIT_S
    while time.monotonic() < deadline:
        running = trial.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        pending = [
            t
            for t in running
            if t.number < trial.number
            and Assignment.of(t) is None
            and TrialRecord.read(t).stop_reason is None
        ]
        if not pending:
            return
        time.sleep(0.05)


class TrialObjective:
    """The Optuna objective: one training run of the sampled recipe with one seed.

    Stores the whole result in the trial's record and reports the objective metric every
    epoch, so the pruner and the dashboard's learning curves see it. Under a tuning
    protocol only a tuning-phase trial is ever pruned: a final or defaults trial's seed
    judges, it chose nothing. ``train`` runs one
    recipe (default: ``bench.trial.run_trial``, imported when first needed).
    """

    def __init__(
        self,
        spec: StudySpec,
        workload: Workload,
        *,
        reporter: TrialReporter | None = None,
        train: TrainFn | None = None,
    ):
        self.spec = spec
        self.workload = workload
        self.reporter = reporter
        self.train = train
        self.seed_copies = SeedCopies(spec) if spec.tuning is None else None
        self.policy = self.seed_copies or TuningSlots(spec)

    def __call__(self, trial: optuna.Trial) -> float:
        try:
            return self._run(trial)
        except KeyboardInterrupt as stop:
            RecordWriter.write(trial, RecordWriter.interrupted(signal_name(stop)))
            raise

    def _run(self, trial: optuna.Trial) -> float:
        raise_if_stop_requested()  # a stop that came between two trials starts none
        TrialOwner.this_process().record(trial)
        sampled, label = self.policy.recipe(trial)
        recipe = self.spec.recipe(sampled)
        RecordWriter.write(trial, RecordWriter.labelled(label, seed=recipe.seed))
        if self.seed_copies and self.seed_copies.first_seed_was_pruned(trial, seed=recipe.seed):
            RecordWriter.write(
                trial, RecordWriter.untrained(recipe=recipe.to_dict(), stop_reason=PRUNED)
            )
            raise optuna.TrialPruned(f"{label}: its first seed was pruned")
        if self.reporter:
            self.reporter.trial_started(trial.number, label, recipe.seed, recipe.epochs)
        # The final and defaults seeds judge the candidates: none is ever cut short.
        phase = _live_record(trial).phase
        prunable = phase is None or phase == TUNE
        try:
            result = self._train(recipe, trial, prunable=prunable)
        except Exception as error:
            RecordWriter.write(trial, RecordWriter.error(error))
            raise TrialError(f"trial {trial.number}: {type(error).__name__}: {error}") from error
        RecordWriter.write(trial, RecordWriter.result(result))
        if result.stop_reason == PRUNED:
            raise optuna.TrialPruned(f"pruned at epoch {result.epochs_run}")
        split, name = self.spec.objective.split_and_name
        value = result.metrics[split][name]
        # NaN tells Optuna the trial failed: a diverged run has no honest objective value.
        return float("nan") if value is None else float(value)

    def _train(self, recipe: Recipe, trial: optuna.Trial, *, prunable: bool) -> TrialResult:
        train = self.train
        if train is None:
            from bench.trial import run_trial as train
        return train(self.workload, recipe, on_epoch=self._epoch_hook(trial, prunable=prunable))

    def _epoch_hook(self, trial: optuna.Trial, *, prunable: bool) -> Callable[[dict], bool]:
        """Report each epoch's objective (the dashboard's learning curves); ask the pruner
        whether to stop only when ``prunable``."""
        metric = self.spec.objective.metric

        def on_epoch(record: dict[str, float]) -> bool:
            if self.reporter:
                self.reporter.epoch_ended(record)
            value = record.get(metric, float("nan"))
            if math.isfinite(value):
                trial.report(value, step=int(record["epoch"]))
            return prunable and trial.should_prune()

        return on_epoch
