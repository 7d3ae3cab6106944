"""The tuning protocol: an equal tuning budget per candidate, then fresh seeds for the verdict.

A spec with a ``[tuning]`` table runs in one Optuna study in two phases. Phase ``tune``
gives every candidate (a ``[[variants]]`` entry) ``budget`` trials over its own search
space, all on the tuning seed; its searched fields are Optuna params named
``<candidate>.<field>``, so a sampler learns each candidate's space from that candidate's
trials alone. Phase ``final`` reruns each candidate's best tuning settings (by the
objective, on validation data) once per final seed; those seeds never chose anything.
Every trial carries user attributes ``phase``, ``candidate`` and ``seed``, and a final
trial ``tuned`` (the settings it reran). Which trial does what is decided when it starts,
from what the storage holds, so the protocol resumes like any study.

Example:
    >>> import optuna
    >>> from bench.spec import load_spec
    >>> spec = load_spec("optimizers")
    >>> next_assignment(optuna.create_study(direction="maximize"), spec)
    Assignment(phase='tune', candidate='adam', seed=0, tuned=None, index=0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from bench._ranking import rank_key
from bench._record import RecordWriter, TrialRecord
from bench._schema import DIVERGED, FINAL, TUNE, VARIANT, Phase
from bench.recovery import FINAL_FAILURES, TrialCounts, TrialOwner, running_elsewhere
from bench.spec import StudySpec


@dataclass(frozen=True)
class Assignment:
    """What one trial of a tuning study runs: a candidate in a phase, with a seed."""

    phase: Phase
    candidate: str
    seed: int
    tuned: Mapping[str, Any] | None = None
    #: A tuning slot's place in its candidate's budget (0 to budget - 1): which draw it is.
    index: int | None = None

    def record(self, trial: optuna.Trial) -> None:
        # Other processes read between the writes: the writer stores the phase last, so a
        # trial holds its slot only once it is fully recorded.
        RecordWriter.write(
            trial,
            RecordWriter.slot(
                phase=self.phase,
                candidate=self.candidate,
                seed=self.seed,
                tuned=self.tuned,
                index=self.index,
            ),
        )

    @classmethod
    def of(cls, trial: FrozenTrial) -> Assignment | None:
        """The trial's slot; None when it holds none, or its record is incomplete (being
        written by another worker, or cut short by a crash).

        Example:
            >>> from optuna.trial import create_trial
            >>> Assignment.of(create_trial(value=0.9, user_attrs={"phase": "tune", "seed": 0}))
        """
        return cls.from_record(TrialRecord.read(trial))

    @classmethod
    def from_record(cls, record: TrialRecord) -> Assignment | None:
        """The slot a trial record holds (see :meth:`of`)."""
        if record.phase is None or record.candidate is None or record.seed is None:
            return None
        return cls(record.phase, record.candidate, record.seed, record.tuned, record.slot_index)


def param_name(candidate: str, field: str) -> str:
    """The Optuna param of a candidate's searched field, e.g. ``sgd.learning_rate``."""
    return f"{candidate}.{field}"


def _holds_a_slot(trial: FrozenTrial) -> bool:
    # An interrupted trial gave its slot to the queued copy; a duplicate never had one.
    if trial.state == TrialState.FAIL:
        return TrialRecord.read(trial).stop_reason in FINAL_FAILURES
    return True


def _finished(trial: FrozenTrial) -> bool:
    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED) or (
        trial.state == TrialState.FAIL and TrialRecord.read(trial).stop_reason in FINAL_FAILURES
    )


@dataclass(frozen=True)
class _Ledger:
    """The slots the storage's trials hold, by phase and candidate."""

    tune: dict[str, list[FrozenTrial]]
    final: dict[tuple[str, int], list[FrozenTrial]]

    @classmethod
    def read(cls, study: optuna.Study, spec: StudySpec, *, skip: int | None = None) -> _Ledger:
        tune: dict[str, list[FrozenTrial]] = {c: [] for c in spec.variants}
        final: dict[tuple[str, int], list[FrozenTrial]] = {}
        for trial in study.get_trials(deepcopy=False):
            assignment = Assignment.of(trial)
            if trial.number == skip or assignment is None or not _holds_a_slot(trial):
                continue
            if assignment.phase == TUNE:
                tune.setdefault(assignment.candidate, []).append(trial)
            else:
                final.setdefault((assignment.candidate, assignment.seed), []).append(trial)
        return cls(tune=tune, final=final)

    def free_index(self, candidate: str) -> int:
        """The lowest slot index of ``candidate`` no tuning trial holds."""
        held = {TrialRecord.read(t).slot_index for t in self.tune.get(candidate, [])}
        return next(i for i in range(len(held) + 1) if i not in held)

    def tuning_done(self, candidate: str, budget: int) -> bool:
        trials = self.tune.get(candidate, [])
        return len(trials) >= budget and all(_finished(t) for t in trials)


def best_settings(study: optuna.Study, spec: StudySpec, candidate: str) -> dict[str, Any] | None:
    """The searched fields of the candidate's best complete tuning trial, or None.

    A trial that diverged is never chosen, even when the weights it kept scored: its
    rate is past the edge of stability, and the final seeds would rerun it.
    """
    tuning = [
        trial
        for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if (slot := Assignment.of(trial)) is not None
        and slot.phase == TUNE
        and slot.candidate == candidate
    ]
    return _best_of(tuning, spec, candidate)


def _best_of(tuning: list[FrozenTrial], spec: StudySpec, candidate: str) -> dict[str, Any] | None:
    """:func:`best_settings` among ``tuning``, the candidate's tuning trials."""
    eligible = [
        trial
        for trial in tuning
        if trial.state == TrialState.COMPLETE and TrialRecord.read(trial).stop_reason != DIVERGED
    ]
    direction = spec.objective.direction

    def key(trial: FrozenTrial) -> tuple[float, int]:
        # Ties go to the lower slot (the same in every run), else the earlier trial.
        index = TrialRecord.read(trial).slot_index
        return rank_key(trial.value, trial.number if index is None else index, direction=direction)

    best = min(eligible, key=key, default=None)
    if best is None or key(best)[0] == math.inf:
        return None
    prefix = f"{candidate}."
    return {k[len(prefix) :]: v for k, v in best.params.items() if k.startswith(prefix)}


#: How far below the most-left tuning budget a candidate of a worker's own optimizer kinds
#: may be and still be preferred: a worker keeps to the kinds it has traced, and a study
#: stopped part-way still has tuning budgets within a few trials of each other.
KIND_SLACK = 2


def next_assignment(
    study: optuna.Study,
    spec: StudySpec,
    *,
    skip: int | None = None,
    worker: TrialOwner | None = None,
) -> Assignment | None:
    """The next free slot, or None when nothing can start now (every slot is taken, or
    tuning results are still running elsewhere).

    A slot is a tuning trial of a candidate with budget left, or a final seed of a
    candidate whose tuning has finished. Which free slot comes next never changes what
    any slot runs (a draw depends on its candidate and index only), so the choice is
    about cost: ``worker`` (the process asking) prefers candidates of an optimizer kind
    it already traced, then kinds no other live worker has traced, then the rest, so each
    kind is traced by as few workers as possible. Among tuning slots, only candidates
    within :data:`KIND_SLACK` of the most budget left are preferred that way; otherwise
    the most budget left comes first, as without a worker.
    """
    tuning = spec.tuning
    assert tuning is not None
    ledger = _Ledger.read(study, spec, skip=skip)
    left = {c: tuning.budget - len(ledger.tune[c]) for c in spec.variants}
    most_left = max(left.values())
    affinity = _KindAffinity.read(ledger, spec, worker=worker)
    options: list[tuple[tuple, Assignment]] = []
    for order, candidate in enumerate(spec.variants):
        if left[candidate] > 0:
            slot = Assignment(TUNE, candidate, tuning.seed, index=ledger.free_index(candidate))
            balanced = left[candidate] >= most_left - KIND_SLACK
            rank = affinity.rank(candidate) if balanced else 3
            options.append(((0, rank, -left[candidate], order), slot))
        elif ledger.tuning_done(candidate, tuning.budget):
            seed = next((s for s in tuning.final_seeds if (candidate, s) not in ledger.final), None)
            if seed is None:
                continue
            # The ledger holds the candidate's tuning trials: no second read of the study.
            tuned = _best_of(ledger.tune[candidate], spec, candidate)
            if tuned is not None:
                # Without a worker, every tuning slot comes before any final seed.
                phase_order = 1 if worker is None else 0
                slot = Assignment(FINAL, candidate, seed, tuned)
                options.append(((phase_order, affinity.rank(candidate), 0, order), slot))
    return min(options, key=lambda option: option[0])[1] if options else None


@dataclass(frozen=True)
class _KindAffinity:
    """Which optimizer kinds a worker has traced, and which other live workers have."""

    kinds: Mapping[str, str]
    mine: frozenset[str]
    theirs: frozenset[str]

    @classmethod
    def read(cls, ledger: _Ledger, spec: StudySpec, *, worker: TrialOwner | None) -> _KindAffinity:
        kinds = {c: candidate_kind(spec, c) for c in spec.variants}
        mine: set[str] = set()
        theirs: set[str] = set()
        alive: dict[TrialOwner, bool] = {}
        if worker is not None:
            held = [*ledger.tune.items(), *((c, t) for (c, _), t in ledger.final.items())]
            for candidate, trials in held:
                for trial in trials:
                    owner = TrialOwner.of(trial)
                    if owner == worker:
                        mine.add(kinds[candidate])
                    elif owner is not None and alive.setdefault(owner, not owner.is_gone()):
                        theirs.add(kinds[candidate])
        return cls(kinds=kinds, mine=frozenset(mine), theirs=frozenset(theirs - mine))

    def rank(self, candidate: str) -> int:
        kind = self.kinds[candidate]
        return 0 if kind in self.mine else 2 if kind in self.theirs else 1


def candidate_kind(spec: StudySpec, candidate: str) -> str:
    """The optimizer a candidate trains with (what a worker traces once per kind).

    Example:
        >>> from bench.spec import load_spec
        >>> candidate_kind(load_spec("optimizers"), "sgd_momentum")
        'sgd_momentum'
    """
    return spec.recipe({VARIANT: candidate}).optimizer


def is_taken_before(study: optuna.Study, spec: StudySpec, *, number: int, slot: Assignment) -> bool:
    """True when trials numbered below ``number`` already fill the slot it claimed.

    Two workers starting together can claim one slot; the lower trial number keeps it.
    """
    assignment = slot
    assert spec.tuning is not None
    ledger = _Ledger.read(study, spec)
    if assignment.phase == TUNE:
        holders = ledger.tune.get(assignment.candidate, [])
        capacity = spec.tuning.budget
    else:
        holders = ledger.final.get((assignment.candidate, assignment.seed), [])
        capacity = 1
    before = [t for t in holders if t.number < number]
    same_draw = assignment.index is not None and any(
        TrialRecord.read(t).slot_index == assignment.index for t in before
    )
    return same_draw or len(before) >= capacity


def count_tuning_trials(study: optuna.Study, spec: StudySpec) -> TrialCounts:
    """Finished, running and still-to-run trials of a tuning study.

    A candidate whose every tuning trial diverged or was pruned has no settings to
    rerun: its final seeds are not counted as still to run.
    """
    tuning = spec.tuning
    assert tuning is not None
    ledger = _Ledger.read(study, spec)
    held = [t for trials in (*ledger.tune.values(), *ledger.final.values()) for t in trials]
    finished = sum(1 for t in held if _finished(t))
    running = [t for t in held if t.state == TrialState.RUNNING]
    total = spec.total_trials
    for candidate in spec.variants:
        if ledger.tuning_done(candidate, tuning.budget) and not _best_of(
            ledger.tune[candidate], spec, candidate
        ):
            total -= len(tuning.final_seeds)
    return TrialCounts(
        finished=finished,
        running=len(running),
        to_run=max(0, total - finished - len(running)),
        running_elsewhere=running_elsewhere(running),
    )
