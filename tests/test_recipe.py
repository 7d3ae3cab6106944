"""Recipe knobs: one declaration each, validated, and turned into working Keras objects."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from bench.errors import BenchInputError
from bench.recipe import (
    OPTIMIZERS,
    SCHEDULES,
    Recipe,
    build_learning_rate,
    build_optimizer,
    knob_by_name,
    knobs,
    warmup_cosine_rate,
)


@pytest.mark.parametrize("module", ["bench.recipe._knobs", "bench.recipe"])
def test_reading_the_knobs_does_not_import_keras(module):
    check = (
        f"import {module}, sys; "
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", check], check=True)


def test_the_keras_side_is_importable_from_the_package():
    from bench.recipe import VariableMomentumSGD, build_optimizer

    assert isinstance(
        build_optimizer(Recipe(optimizer="sgd"), steps_per_epoch=1), VariableMomentumSGD
    )


def test_every_knob_default_is_valid_and_declared_once():
    names = [k.name for k in knobs()]
    assert len(names) == len(set(names))
    defaults = Recipe()
    for k in knobs():
        assert getattr(defaults, k.name) == k.default
        assert k.check(k.default) == k.default


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"learning_rate": -0.1}, "learning_rate: got -0.1; expected a number > 0"),
        ({"dropout": 1.0}, "dropout: got 1.0; expected a number >= 0 and < 1"),
        ({"patience": -1}, "patience: got -1; expected an integer >= 0"),
        ({"epochs": 0}, "epochs: got 0; expected an integer >= 1"),
        ({"optimizer": "adamax"}, "expected one of adam, adamw, sgd"),
        ({"schedule": "cyclic"}, "expected one of constant, reduce_on_plateau"),
        ({"restore_best_weights": "maybe"}, "expected true or false"),
    ],
)
def test_out_of_range_values_name_the_knob_and_valid_range(changes, fragment):
    with pytest.raises(BenchInputError, match=fragment.replace("(", r"\(")):
        Recipe(**changes)


def test_unknown_knob_is_refused_with_the_valid_names():
    with pytest.raises(BenchInputError, match="unknown recipe field 'lr'.*learning_rate"):
        Recipe().replace(lr=0.1)
    with pytest.raises(BenchInputError, match="unknown recipe field"):
        knob_by_name("lr")


def test_seed_sgd_is_nesterov_with_momentum():
    opt = build_optimizer(Recipe(optimizer="sgd", momentum=0.9), steps_per_epoch=1)
    assert opt.nesterov and math.isclose(float(opt.momentum), 0.9)
    plain = build_optimizer(Recipe(optimizer="sgd_momentum"), steps_per_epoch=1)
    assert not plain.nesterov


def _one_step_model():
    from bench._keras import keras

    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="gelu"), keras.layers.Dense(1)]
    )
    return model


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_builds_and_takes_a_training_step(name):
    model = _one_step_model()
    recipe = Recipe(optimizer=name, learning_rate=0.05)
    model.compile(
        optimizer=build_optimizer(recipe, steps_per_epoch=1), loss="mse", run_eagerly=True
    )
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights(), strict=False))


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_every_schedule_builds_and_takes_a_training_step(schedule):
    from bench.recipe import build_callbacks

    recipe = Recipe(schedule=schedule, epochs=3, warmup_epochs=1)
    model = _one_step_model()
    model.compile(
        optimizer=build_optimizer(recipe, steps_per_epoch=2), loss="mse", run_eagerly=True
    )
    x = np.ones((4, 4), "float32")
    history = model.fit(
        x,
        np.zeros((4, 1), "float32"),
        batch_size=2,
        epochs=2,
        verbose=0,
        validation_data=(x, np.zeros((4, 1), "float32")),
        callbacks=build_callbacks(recipe),
    )
    assert all(np.isfinite(history.history["loss"]))


def test_weight_decay_shrinks_weights_when_gradients_are_zero():
    from bench._keras import keras

    layer = keras.layers.Dense(2, use_bias=False)
    layer.build((None, 2))
    layer.kernel.assign(np.ones((2, 2), "float32"))
    opt = build_optimizer(
        Recipe(optimizer="adamw", weight_decay=0.1, learning_rate=0.5), steps_per_epoch=1
    )
    opt.apply_gradients([(np.zeros((2, 2), "float32"), layer.kernel)])
    shrunk = keras.ops.convert_to_numpy(layer.kernel)
    np.testing.assert_allclose(shrunk, 1.0 - 0.5 * 0.1, rtol=1e-6)


@pytest.mark.parametrize("epoch", [0, 1, 2, 3, 5, 7, 10])
def test_warmup_cosine_follows_its_formula_from_the_base_rate(epoch):
    from bench._keras import keras

    steps = 4
    recipe = Recipe(
        schedule="warmup_cosine", learning_rate=0.02, warmup_epochs=3, epochs=10, cosine_alpha=0.1
    )
    schedule = build_learning_rate(recipe, steps_per_epoch=steps)
    got = float(keras.ops.convert_to_numpy(schedule(epoch * steps)))
    warm = 3 * steps
    if epoch * steps < warm:
        expected = 0.02 * epoch * steps / warm
    else:
        progress = (epoch * steps - warm) / (7 * steps)
        expected = 0.02 * (0.9 * 0.5 * (1 + math.cos(math.pi * progress)) + 0.1)
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-9)
    assert warmup_cosine_rate(recipe, step=epoch * steps, steps_per_epoch=steps) == (
        pytest.approx(expected, rel=1e-9, abs=1e-12)
    )


def test_step_schedule_cuts_by_factor_every_n_epochs():
    from bench._keras import keras

    recipe = Recipe(schedule="step", learning_rate=0.1, step_every=2, step_factor=0.5)
    schedule = build_learning_rate(recipe, steps_per_epoch=5)
    rates = [float(keras.ops.convert_to_numpy(schedule(e * 5))) for e in range(6)]
    np.testing.assert_allclose(rates, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025], rtol=1e-6)


@pytest.mark.parametrize("name", ["adam", "adamw", "nadam", "adagrad", "rmsprop"])
def test_epsilon_reaches_the_keras_optimizers_that_take_one(name):
    default = build_optimizer(Recipe(optimizer=name), steps_per_epoch=1)
    assert math.isclose(float(default.epsilon), 1e-7, rel_tol=1e-6)  # Keras's own default
    opt = build_optimizer(Recipe(optimizer=name, epsilon=1e-3), steps_per_epoch=1)
    assert math.isclose(float(opt.epsilon), 1e-3, rel_tol=1e-6)


def test_epsilon_is_rewritten_for_a_recipe_that_reuses_a_traced_optimizer():
    from bench.recipe import optimizer_signature, set_optimizer_values

    a, b = Recipe(optimizer="adam"), Recipe(optimizer="adam", epsilon=1e-4)
    assert optimizer_signature(a, steps_per_epoch=1) == optimizer_signature(b, steps_per_epoch=1)
    opt = build_optimizer(a, steps_per_epoch=1)
    set_optimizer_values(opt, b, steps_per_epoch=1)
    assert math.isclose(float(opt.epsilon), 1e-4, rel_tol=1e-6)


@pytest.mark.parametrize("name", ["adamw", "lion"])
def test_weight_decay_reaches_adamw_and_lion(name):
    opt = build_optimizer(Recipe(optimizer=name, weight_decay=0.3), steps_per_epoch=1)
    assert math.isclose(float(opt.weight_decay), 0.3, rel_tol=1e-6)


def test_epsilon_out_of_range_names_the_knob():
    with pytest.raises(BenchInputError, match=r"epsilon: got 0.0; expected a number > 0"):
        Recipe(epsilon=0.0)
