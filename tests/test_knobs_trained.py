"""Knobs a recipe sets reach the Keras objects that train it: augmentation, label
smoothing, Adam's betas, the reduce-on-plateau settings and early stopping's min_delta.

The builders are checked one knob at a time; one short real fit with every one of these
knobs set checks that the objects the fit used hold them, and that the plateau schedule
and min_delta acted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bench.recipe import (
    Recipe,
    build_callbacks,
    build_loss,
    build_optimizer,
    set_optimizer_values,
)

BETAS = {"beta_1": 0.8, "beta_2": 0.95}
PLATEAU = {
    "schedule": "reduce_on_plateau",
    "plateau_factor": 0.5,
    "plateau_patience": 0,
    "plateau_min_lr": 0.0,
}


def _value(number: Any) -> float:
    return float(np.asarray(number))


def _callback(callbacks: list, name: str) -> Any:
    (found,) = [c for c in callbacks if type(c).__name__ == name]
    return found


# ----------------------------------------------------------------------------- builders


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "nadam", "lion"])
def test_betas_reach_the_optimizer_built_or_reused(optimizer):
    recipe = Recipe(optimizer=optimizer, **BETAS)
    built = build_optimizer(recipe, steps_per_epoch=5)
    assert {name: _value(getattr(built, name)) for name in BETAS} == pytest.approx(BETAS)
    # A traced step is reused across recipes of one optimizer: the betas are written
    # into the optimizer another recipe built.
    reused = build_optimizer(Recipe(optimizer=optimizer), steps_per_epoch=5)
    set_optimizer_values(reused, recipe, steps_per_epoch=5)
    assert {name: _value(getattr(reused, name)) for name in BETAS} == pytest.approx(BETAS)


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel"])
def test_label_smoothing_reaches_the_loss_and_changes_its_value(task):
    smoothed = build_loss(Recipe(label_smoothing=0.2), task=task)
    assert smoothed.label_smoothing == pytest.approx(0.2)
    y_true = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], "float32")
    if task == "binary":
        y_true = y_true[:, :1]
    if task == "multiclass":
        y_true = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], "float32")
    y_pred = np.full(y_true.shape, 0.7, "float32") * y_true + 0.1
    plain = build_loss(Recipe(), task=task)
    # Smoothing moves the targets toward uniform: the loss is the plain loss of those.
    classes = y_true.shape[1] if task == "multiclass" else 2
    targets = y_true * 0.8 + 0.2 / classes
    assert _value(smoothed(y_true, y_pred)) == pytest.approx(_value(plain(targets, y_pred)))
    assert _value(smoothed(y_true, y_pred)) != pytest.approx(_value(plain(y_true, y_pred)))


@pytest.mark.parametrize(("monitor", "mode"), [("val_loss", "min"), ("val_auc", "max")])
def test_plateau_settings_reach_the_callback(monitor, mode):
    recipe = Recipe(**{**PLATEAU, "plateau_min_lr": 1e-5}, plateau_monitor=monitor)
    plateau = _callback(build_callbacks(recipe), "ReduceLROnPlateau")
    assert (plateau.monitor, plateau.mode) == (monitor, mode)
    assert (plateau.factor, plateau.patience, plateau.min_lr) == (0.5, 0, 1e-5)


def test_no_plateau_callback_unless_the_schedule_is_reduce_on_plateau():
    names = [type(c).__name__ for c in build_callbacks(Recipe(plateau_factor=0.5))]
    assert "ReduceLROnPlateau" not in names


def test_min_delta_reaches_early_stopping():
    stopper = _callback(build_callbacks(Recipe(min_delta=0.3, patience=4)), "EarlyStopping")
    assert (abs(stopper.min_delta), stopper.patience) == (pytest.approx(0.3), 4)


def test_augment_adds_the_augmentation_layers_to_the_model_trained(small_workload):
    from bench._compiled import compiled_model

    def layer_names(recipe: Recipe) -> set[str]:
        return {
            layer.name for layer in compiled_model(small_workload, recipe, reuse=False).model.layers
        }

    assert "augmentation" in layer_names(Recipe(augment=True))
    assert "augmentation" not in layer_names(Recipe())


# ----------------------------------------------------------------------------- one real fit


class _Spy:
    """Wraps a builder of ``bench.trial`` and keeps what it returned."""

    def __init__(self, builder: Any) -> None:
        self.builder = builder
        self.built: list[Any] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.built.append(self.builder(*args, **kwargs))
        return self.built[-1]


@pytest.fixture(scope="module")
def fitted(small_workload):
    """A run with every knob above set, and the compiled model and callbacks it used.

    The rate is so low that validation loss cannot improve by the plateau's threshold
    (1e-4), and no epoch can improve it by ``min_delta`` = 10: after epoch 2 the plateau
    schedule halves the rate and early stopping (patience 1) ends the run, keeping epoch
    1's weights.
    """
    from bench import trial

    recipe = Recipe(
        optimizer="adam",
        learning_rate=1e-9,
        augment=True,
        label_smoothing=0.2,
        **BETAS,
        **PLATEAU,
        min_delta=10.0,
        patience=1,
        epochs=4,
        seed=0,
    )
    with pytest.MonkeyPatch.context() as patch:
        models, callbacks = _Spy(trial.compiled_model), _Spy(trial.build_callbacks)
        patch.setattr(trial, "compiled_model", models)
        patch.setattr(trial, "build_callbacks", callbacks)
        result = trial.run_trial(small_workload, recipe, reuse=False)
    (compiled,) = models.built
    (used,) = callbacks.built
    return result, compiled.model, used


@pytest.mark.slow  # trains two epochs
def test_the_fit_used_the_recipes_betas_smoothing_and_augmentation(fitted):
    _, model, _ = fitted
    assert type(model.optimizer).__name__ == "Adam"
    assert {name: _value(getattr(model.optimizer, name)) for name in BETAS} == pytest.approx(BETAS)
    assert model.loss.label_smoothing == pytest.approx(0.2)
    assert "augmentation" in {layer.name for layer in model.layers}


@pytest.mark.slow
def test_the_plateau_schedule_cut_the_rate_by_its_factor_during_the_fit(fitted):
    result, model, callbacks = fitted
    plateau = _callback(callbacks, "ReduceLROnPlateau")
    assert (plateau.factor, plateau.patience, plateau.min_lr) == (0.5, 0, 0.0)
    # Epoch 1 improves on nothing; epoch 2 does not improve: the rate is halved after it.
    assert [record["lr"] for record in result.history] == pytest.approx([1e-9, 1e-9], rel=1e-5)
    assert _value(model.optimizer.learning_rate) == pytest.approx(1e-9 * 0.5, rel=1e-5)


@pytest.mark.slow
def test_min_delta_stopped_the_fit_when_no_epoch_improved_by_it(fitted):
    result, _, callbacks = fitted
    assert abs(_callback(callbacks, "EarlyStopping").min_delta) == pytest.approx(10.0)
    assert (result.stop_reason, result.epochs_run, result.kept_epoch) == ("early_stopped", 2, 1)
    assert result.recipe["min_delta"] == 10.0 and result.recipe["augment"] is True
