"""Pruning under a tuning protocol: each candidate's tuning trial is judged against its own
candidate's tuning trials, never against another optimizer's."""

from __future__ import annotations

from collections.abc import Container

import optuna
from optuna.trial import FrozenTrial, TrialState

from bench._record import TrialRecord
from bench._schema import TUNE


class CandidatePruner(optuna.pruners.BasePruner):
    """``pruner`` applied to a tuning trial as if its candidate were tuned in a study of its
    own: the trials it is compared with are that candidate's tuning trials only.

    Optuna's pruners compare a trial with every trial of its study. Under a tuning protocol
    that would cut an optimizer that starts slowly because others start fast, and its
    draws would get fewer epochs than theirs; the protocol gives every candidate the same
    budget. Final and defaults trials judge the candidates and are never compared with.
    A trial outside the protocol (no candidate) is never pruned by it.

    Example:
        >>> from bench._record import RecordWriter
        >>> median = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
        >>> study = optuna.create_study(direction="maximize", pruner=CandidatePruner(median))
        >>> def tuning_trial(candidate, auc):
        ...     trial = study.ask()
        ...     for key, value in RecordWriter.slot(phase="tune", candidate=candidate,
        ...                                         seed=0).items():
        ...         trial.set_user_attr(key, value)
        ...     trial.report(auc, step=1)
        ...     return trial
        >>> _ = study.tell(tuning_trial("adam", 0.95), 0.95)
        >>> _ = study.tell(tuning_trial("sgd", 0.60), 0.60)
        >>> slow_sgd = tuning_trial("sgd", 0.55)   # below sgd's own draw: pruned
        >>> bool(slow_sgd.should_prune())
        True
        >>> fast_sgd = tuning_trial("sgd", 0.70)   # below adam's, above sgd's: goes on
        >>> bool(fast_sgd.should_prune())
        False
    """

    def __init__(self, pruner: optuna.pruners.BasePruner) -> None:
        self._pruner = pruner

    def prune(self, study: optuna.study.Study, trial: FrozenTrial) -> bool:
        record = TrialRecord.read(trial)
        if record.candidate is None:
            return False
        return self._pruner.prune(_CandidateStudy(study, candidate=record.candidate), trial)


class _CandidateStudy(optuna.study.Study):
    """``study`` seen through one candidate: its trials are that candidate's tuning trials.

    A subclass, as Optuna's own HyperbandPruner sees a study through one bracket, so that
    any pruner reads it as the study it expects.
    """

    def __init__(self, study: optuna.study.Study, *, candidate: str) -> None:
        super().__init__(
            study_name=study.study_name,
            storage=study._storage,  # noqa: SLF001 (as optuna.pruners.HyperbandPruner does)
            sampler=study.sampler,
            pruner=study.pruner,
        )
        self._candidate = candidate

    def get_trials(
        self, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        return [
            trial
            for trial in super().get_trials(deepcopy=deepcopy, states=states)
            if (record := TrialRecord.read(trial)).candidate == self._candidate
            and record.phase == TUNE
        ]
