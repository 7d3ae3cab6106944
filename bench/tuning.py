"""The tuning protocol: an equal tuning budget per candidate, then fresh seeds for the verdict.

A spec with a ``[tuning]`` table runs in one Optuna study in two phases. Phase ``tune``
gives every candidate (a ``[[variants]]`` entry) ``budget`` trials (or
``budget_per_dimension`` per field it searches) over its own search space, all on the
tuning seed; its searched fields are Optuna params named ``<candidate>.<field>``
(``<candidate>.1-<field>`` for a ``log1m`` range, see :mod:`bench._scales`), so a sampler
learns each candidate's space from that candidate's trials alone. Phase ``final`` reruns
each candidate's best tuning settings (by the objective, on validation data) once per
final seed; those seeds never chose anything. With ``defaults_arm``, phase ``defaults``
trains each candidate untuned (its searched fields at their declared defaults) once per
final seed, only once every candidate's tuning is done, so it can change nothing tuning
chooses. With ``second_look_seeds``, once every final seed has ended the verdict takes a
first look, and the best and the candidates it leaves in the top group also run the
second-look seeds (phase ``final`` too), for the report's second look.
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

import dataclasses
import math
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from bench._ranking import rank_key
from bench._record import RecordWriter, TrialRecord
from bench._scales import knob_of_param
from bench._schema import DEFAULTS, DIVERGED, FINAL, TUNE, VARIANT, Phase
from bench.recipe import knob_by_name
from bench.recovery import FINAL_FAILURES, TrialCounts, TrialOwner, running_elsewhere
from bench.spec import StudySpec, TuningSpec


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
    """The slots the storage's trials hold, by phase and candidate.

    A candidate's tuning trials are its draws (on the tuning seed, one per slot index)
    and, with ``confirm``, the reruns of its best draws on the confirm seed (each holding
    the index of the draw it reruns).
    """

    tuning: TuningSpec
    budgets: Mapping[str, int]
    tune: dict[str, list[FrozenTrial]]
    final: dict[tuple[str, int], list[FrozenTrial]]
    #: The defaults arm's trials by (candidate, seed), held like final seeds.
    defaults: dict[tuple[str, int], list[FrozenTrial]]

    @classmethod
    def read(cls, study: optuna.Study, spec: StudySpec, *, skip: int | None = None) -> _Ledger:
        assert spec.tuning is not None
        tune: dict[str, list[FrozenTrial]] = {c: [] for c in spec.variants}
        final: dict[tuple[str, int], list[FrozenTrial]] = {}
        defaults: dict[tuple[str, int], list[FrozenTrial]] = {}
        for trial in study.get_trials(deepcopy=False):
            assignment = Assignment.of(trial)
            if trial.number == skip or assignment is None or not _holds_a_slot(trial):
                continue
            if assignment.phase == TUNE:
                tune.setdefault(assignment.candidate, []).append(trial)
            else:
                seeded = defaults if assignment.phase == DEFAULTS else final
                seeded.setdefault((assignment.candidate, assignment.seed), []).append(trial)
        budgets = {c: spec.candidate_budget(c) for c in spec.variants}
        return cls(tuning=spec.tuning, budgets=budgets, tune=tune, final=final, defaults=defaults)

    def seeded(self) -> list[tuple[str, list[FrozenTrial]]]:
        """The final and defaults trials, each (candidate, seed)'s under its candidate."""
        held = (*self.final.items(), *self.defaults.items())
        return [(candidate, trials) for (candidate, _), trials in held]

    def all_tuned(self, direction: str) -> bool:
        """Whether every candidate's tuning is done: its settings are chosen for good."""
        return all(self.tuning_done(c, direction) for c in self.budgets)

    def draws(self, candidate: str) -> list[FrozenTrial]:
        """The candidate's tuning trials on the tuning seed."""
        seed = self.tuning.seed
        return [t for t in self.tune.get(candidate, []) if TrialRecord.read(t).seed == seed]

    def reruns(self, candidate: str) -> dict[int | None, FrozenTrial]:
        """The candidate's reruns on the confirm seed, by the index of the draw they rerun."""
        if not self.tuning.confirm:
            return {}
        found: dict[int | None, FrozenTrial] = {}
        for trial in self.tune.get(candidate, []):
            record = TrialRecord.read(trial)
            if record.seed == self.tuning.rerun_seed:
                found[record.slot_index] = trial
        return found

    def free_index(self, candidate: str) -> int:
        """The lowest slot index of ``candidate`` no draw holds."""
        held = {TrialRecord.read(t).slot_index for t in self.draws(candidate)}
        return next(i for i in range(len(held) + 1) if i not in held)

    def draws_done(self, candidate: str) -> bool:
        draws = self.draws(candidate)
        return len(draws) >= self.budgets[candidate] and all(_finished(t) for t in draws)

    def to_confirm(self, candidate: str, direction: str) -> list[FrozenTrial]:
        """The draws to rerun on the confirm seed: the ``confirm`` best usable ones."""
        return self.best_draws(candidate, direction)[: self.tuning.confirm]

    def best_draws(self, candidate: str, direction: str) -> list[FrozenTrial]:
        """The candidate's usable draws, best first."""
        return sorted(filter(_usable, self.draws(candidate)), key=_draw_key(direction))

    def tuning_done(self, candidate: str, direction: str) -> bool:
        if not self.draws_done(candidate):
            return False
        reruns = self.reruns(candidate)
        return all(
            (rerun := reruns.get(TrialRecord.read(draw).slot_index)) is not None
            and _finished(rerun)
            for draw in self.to_confirm(candidate, direction)
        )


def _usable(trial: FrozenTrial) -> bool:
    # A trial that diverged is never chosen, even when the weights it kept scored: its rate
    # is past the edge of stability, and the final seeds would rerun it.
    return trial.state == TrialState.COMPLETE and TrialRecord.read(trial).stop_reason != DIVERGED


def _draw_key(direction: str) -> Callable[[FrozenTrial], tuple[float, int]]:
    def key(trial: FrozenTrial) -> tuple[float, int]:
        # Ties go to the lower slot (the same in every run), else the earlier trial.
        index = TrialRecord.read(trial).slot_index
        return rank_key(trial.value, trial.number if index is None else index, direction=direction)

    return key


def _settings(trial: FrozenTrial, candidate: str) -> dict[str, Any]:
    """The knobs' values of the candidate's params (a ``log1m`` knob's param holds
    ``1 - value``: see :mod:`bench._scales`)."""
    prefix = f"{candidate}."
    return dict(
        knob_of_param(k[len(prefix) :], v) for k, v in trial.params.items() if k.startswith(prefix)
    )


def best_settings(study: optuna.Study, spec: StudySpec, candidate: str) -> dict[str, Any] | None:
    """The searched fields of the settings the candidate chose, or None when none is usable.

    Without ``confirm``: its best tuning trial that finished and did not diverge. With
    ``confirm``: among its ``confirm`` best draws, the one whose worse seed (the tuning
    seed or the confirm seed) scored best; a draw that failed on the confirm seed comes
    after every draw that held.
    """
    return _best_of(_Ledger.read(study, spec), spec, candidate)


def _best_of(ledger: _Ledger, spec: StudySpec, candidate: str) -> dict[str, Any] | None:
    """:func:`best_settings` from the slots the ledger holds."""
    direction = spec.objective.direction
    key = _draw_key(direction)
    # Without ``confirm`` there are no reruns, and the best draw stands alone.
    top = ledger.best_draws(candidate, direction)[: ledger.tuning.confirm or 1]
    reruns = ledger.reruns(candidate)

    def held(draw: FrozenTrial) -> tuple[bool, tuple[float, int]]:
        rerun = reruns.get(TrialRecord.read(draw).slot_index)
        if rerun is None or not _usable(rerun):
            return True, key(draw)
        # The worse of the two seeds; the rerun keeps the draw's index for ties.
        return False, max(key(draw), (key(rerun)[0], key(draw)[1]))

    best = min(top, key=held, default=None)
    if best is None or key(best)[0] == math.inf:
        return None
    return _settings(best, candidate)


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

    A slot is a tuning trial of a candidate with budget left, a final seed of a candidate
    whose tuning has finished, a second-look seed of a candidate the first look left in
    the top group (see :func:`second_look`), or (with ``defaults_arm``) a defaults seed of
    any candidate once every candidate's tuning has finished. Which free slot comes next
    never changes what any slot runs (a draw depends on its candidate and index only), so
    the choice is about cost: ``worker`` (the process asking) prefers candidates of an
    optimizer kind it already traced, then kinds no other live worker has traced, then the
    rest, so each kind is traced by as few workers as possible. Among tuning slots, only candidates
    within :data:`KIND_SLACK` of the most budget left are preferred that way; otherwise
    the most budget left comes first, as without a worker.
    """
    tuning = spec.tuning
    assert tuning is not None
    direction = spec.objective.direction
    ledger = _Ledger.read(study, spec, skip=skip)
    left = {c: ledger.budgets[c] - len(ledger.draws(c)) for c in spec.variants}
    most_left = max(left.values())
    affinity = _KindAffinity.read(ledger, spec, worker=worker)
    # Without a worker, every draw comes before any rerun or final seed.
    later = 1 if worker is None else 0
    options: list[tuple[tuple, Assignment]] = []
    for order, candidate in enumerate(spec.variants):
        if left[candidate] > 0:
            slot = Assignment(TUNE, candidate, tuning.seed, index=ledger.free_index(candidate))
            balanced = left[candidate] >= most_left - KIND_SLACK
            rank = affinity.rank(candidate) if balanced else 3
            options.append(((0, rank, -left[candidate], order), slot))
        elif not ledger.draws_done(candidate):
            continue
        elif rerun := _next_rerun(ledger, candidate, direction):
            options.append(((later, affinity.rank(candidate), 0, order), rerun))
        elif ledger.tuning_done(candidate, direction):
            seed = next((s for s in tuning.final_seeds if (candidate, s) not in ledger.final), None)
            if seed is None and candidate in (second_look(study, spec, ledger) or ()):
                free = (s for s in tuning.second_look_seeds if (candidate, s) not in ledger.final)
                seed = next(free, None)
            if seed is None:
                continue
            # The ledger holds the candidate's tuning trials: no second read of the study.
            tuned = _best_of(ledger, spec, candidate)
            if tuned is not None:
                slot = Assignment(FINAL, candidate, seed, tuned)
                options.append(((later, affinity.rank(candidate), 0, order), slot))
    for order, slot in _defaults_slots(ledger, spec):
        options.append(((later, affinity.rank(slot.candidate), 0, order), slot))
    return min(options, key=lambda option: option[0])[1] if options else None


#: Each study's second look, once judged (it never changes after): judging it reads the
#: whole study, which a worker would otherwise do before every trial.
_SECOND_LOOKS: weakref.WeakKeyDictionary[optuna.Study, frozenset[str]] = weakref.WeakKeyDictionary()


def second_look(study: optuna.Study, spec: StudySpec, ledger: _Ledger) -> frozenset[str] | None:
    """The candidates that run the second-look seeds (the best and those the first look
    leaves in the top group, judged as the report judges them); ``None`` until every
    first-look seed has ended, empty for a spec without a second look."""
    tuning = ledger.tuning
    if not tuning.second_look_seeds:
        return frozenset()
    if study in _SECOND_LOOKS:
        return _SECOND_LOOKS[study]
    if not _first_look_ended(ledger, spec):
        return None
    # The protocol asks the report's verdict which candidates it leaves undecided; imported
    # here, as the verdict's statistics are needed only once the first look has ended.
    from bench.report import second_look_candidates
    from bench.results import results_of

    # Judged under the spec this process runs (a study stores the same one).
    found = second_look_candidates(dataclasses.replace(results_of(study), spec=spec.to_dict()))
    if found is not None:
        _SECOND_LOOKS[study] = found
    return found


def _first_look_ended(ledger: _Ledger, spec: StudySpec) -> bool:
    """Whether every candidate's tuning and every final seed of those with settings ended."""
    if not ledger.all_tuned(spec.objective.direction):
        return False
    for candidate in spec.variants:
        if _best_of(ledger, spec, candidate) is None:
            continue
        for seed in ledger.tuning.final_seeds:
            if not any(_finished(t) for t in ledger.final.get((candidate, seed), [])):
                return False
    return True


def _defaults_slots(ledger: _Ledger, spec: StudySpec) -> list[tuple[int, Assignment]]:
    """Each candidate's first defaults seed no trial holds, with the candidate's place.

    None before every candidate's tuning is done: a defaults trial then can neither
    enter a tuning pruner's median nor a sampler's history while settings are chosen.
    """
    tuning = ledger.tuning
    if not tuning.defaults_arm or not ledger.all_tuned(spec.objective.direction):
        return []
    slots = []
    for order, candidate in enumerate(spec.variants):
        free = (s for s in tuning.final_seeds if (candidate, s) not in ledger.defaults)
        seed = next(free, None)
        if seed is not None:
            slots.append((order, Assignment(DEFAULTS, candidate, seed)))
    return slots


def default_settings(spec: StudySpec, candidate: str) -> dict[str, Any]:
    """The searched fields of a candidate at their declared defaults: what its defaults
    arm trains with (its fixed knobs come from the spec as in every trial).

    Example:
        >>> from bench.spec import load_spec
        >>> default_settings(load_spec("optimizers"), "adam")
        {'learning_rate': 0.001, 'epsilon': 1e-07}
    """
    return {field: knob_by_name(field).default for field in spec.candidate_space(candidate)}


def _next_rerun(ledger: _Ledger, candidate: str, direction: str) -> Assignment | None:
    """The first of the candidate's best draws that no trial reruns yet, as a slot."""
    reruns = ledger.reruns(candidate)
    for draw in ledger.to_confirm(candidate, direction):
        index = TrialRecord.read(draw).slot_index
        if index not in reruns:
            settings = _settings(draw, candidate)
            return Assignment(TUNE, candidate, ledger.tuning.rerun_seed, settings, index)
    return None


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
            held = [*ledger.tune.items(), *ledger.seeded()]
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
    if assignment.phase == TUNE and assignment.seed == spec.tuning.seed:
        holders = ledger.draws(assignment.candidate)
        capacity = spec.candidate_budget(assignment.candidate)
    elif assignment.phase == TUNE:
        holders = list(ledger.reruns(assignment.candidate).values())
        capacity = spec.tuning.confirm
    else:
        seeded = ledger.defaults if assignment.phase == DEFAULTS else ledger.final
        holders = seeded.get((assignment.candidate, assignment.seed), [])
        capacity = 1
    before = [t for t in holders if t.number < number]
    same_draw = assignment.index is not None and any(
        TrialRecord.read(t).slot_index == assignment.index for t in before
    )
    return same_draw or len(before) >= capacity


def count_tuning_trials(study: optuna.Study, spec: StudySpec) -> TrialCounts:
    """Finished, running and still-to-run trials of a tuning study.

    A candidate whose every tuning trial diverged or was pruned has no settings to
    rerun: its final seeds are not counted as still to run (its defaults seeds are).
    """
    tuning = spec.tuning
    assert tuning is not None
    ledger = _Ledger.read(study, spec)
    held = [t for trials in ledger.tune.values() for t in trials]
    held += [t for _, trials in ledger.seeded() for t in trials]
    finished = sum(1 for t in held if _finished(t))
    running = [t for t in held if t.state == TrialState.RUNNING]
    total = spec.total_trials
    direction = spec.objective.direction
    looked = second_look(study, spec, ledger)
    for candidate in spec.variants:
        if ledger.draws_done(candidate):
            # Fewer usable draws than ``confirm``: fewer reruns.
            total -= tuning.confirm - len(ledger.to_confirm(candidate, direction))
        if ledger.tuning_done(candidate, direction) and not _best_of(ledger, spec, candidate):
            total -= len(tuning.final_seeds) + len(tuning.second_look_seeds)
        elif looked is not None and candidate not in looked:
            total -= len(tuning.second_look_seeds)
    return TrialCounts(
        finished=finished,
        running=len(running),
        to_run=max(0, total - finished - len(running)),
        running_elsewhere=running_elsewhere(running),
    )
