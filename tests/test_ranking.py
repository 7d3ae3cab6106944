"""One rule for "best" (bench._ranking) in every place that names it: the progress line
of a running study, its main process's reading of the storage, the report."""

from __future__ import annotations

import math

import optuna
import pytest
from rich.console import Console

from bench._record import RECIPE_LABEL
from bench.console import StudyDisplay


def _trial(number: int, value: float | None, label: str) -> optuna.trial.FrozenTrial:
    trial = optuna.trial.create_trial(
        value=value,
        state=optuna.trial.TrialState.COMPLETE
        if value is not None
        else optuna.trial.TrialState.FAIL,
        user_attrs={RECIPE_LABEL.key: label},
    )
    trial.number = number
    return trial


def _best_after(trials: list[optuna.trial.FrozenTrial], *, direction: str) -> tuple | None:
    display = StudyDisplay(
        total=len(trials), metric="val_auc", direction=direction, console=Console(file=None)
    )
    for trial in trials:
        display.trial_ended(trial)
    return display.best


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (2, 0, 3, 1)])
def test_the_progress_line_names_the_same_best_in_any_finishing_order(order):
    trials = [_trial(0, 0.8, "a"), _trial(1, 0.9, "b"), _trial(2, 0.9, "c"), _trial(3, None, "d")]
    assert _best_after([trials[i] for i in order], direction="maximize") == (0.9, "b")


def test_a_trial_without_a_finite_value_is_never_the_best_and_direction_counts():
    trials = [_trial(0, math.inf, "inf"), _trial(1, 0.3, "low"), _trial(2, 0.7, "high")]
    assert _best_after(trials, direction="maximize") == (0.7, "high")
    assert _best_after(trials, direction="minimize") == (0.3, "low")
    assert _best_after(trials[:1], direction="maximize") is None
