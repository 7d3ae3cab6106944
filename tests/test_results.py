"""bench.results: the storage reader turns stored trials into the frames the report uses."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from report_fixtures import (
    DIVERGED,
    FAILED,
    PRUNED,
    RUNNING,
    add_protocol_study,
    add_study,
    build_storage,
)

from bench.errors import BenchInputError
from bench.results import (
    HISTORY_COLUMNS,
    TuningPlan,
    list_study_names,
    load_histories,
    load_predictions,
    load_results,
    load_study_spec,
    load_trials,
    spec_search_spaces,
    spec_seeds,
    spec_tuning,
)
from bench.tuning import param_name

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = build_storage(
        tmp_path_factory.mktemp("results") / "bench.db",
        study_name="optimizers",
        seeds=(0, 1),
        epochs=4,
        outcomes={(0, 1): PRUNED, (1, 0): FAILED, (2, 1): DIVERGED, (3, 0): RUNNING},
    )
    add_study(url, study_name="classes", task="multiclass", space={"l2": [0.0]}, seeds=(0,))
    optuna.create_study(storage=url, study_name="empty")
    return url


def _stored(storage: str, name: str = "optimizers") -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)


def test_list_study_names_sorted(storage: str) -> None:
    assert list_study_names(storage) == ["classes", "empty", "optimizers"]


def test_trials_one_row_per_trial_in_every_state(storage: str) -> None:
    trials = load_trials("optimizers", storage=storage)
    stored = _stored(storage)
    assert trials["number"].tolist() == [t.number for t in stored]
    assert trials["state"].tolist() == [t.state.name for t in stored]
    assert set(trials["state"]) == {"COMPLETE", "PRUNED", "FAIL", "RUNNING"}


def test_trial_values_equal_the_stored_attributes(storage: str) -> None:
    trials = load_trials("optimizers", storage=storage).set_index("number")
    for trial in _stored(storage):
        row = trials.loc[trial.number]
        attrs = trial.user_attrs
        assert row["recipe_label"] == attrs["recipe_label"]
        assert row["seed"] == attrs["seed"]
        if trial.state == optuna.trial.TrialState.FAIL:
            assert math.isnan(row["test_auc"]) and math.isnan(row["value"])
            continue
        if "metrics" not in attrs:  # still running: only its reported epochs are stored
            assert trial.state == optuna.trial.TrialState.RUNNING
            assert math.isnan(row["test_auc"]) and pd.isna(row["stop_reason"])
            continue
        for split in ("train", "val", "test"):
            for name in ("loss", "accuracy", "auc"):
                assert row[f"{split}_{name}"] == attrs["metrics"][split][name]
        assert row["gap_accuracy"] == attrs["gap"]["accuracy"]
        assert row["gap_loss"] == attrs["gap"]["loss"]
        assert row["kept_epoch"] == attrs["kept_epoch"]
        assert row["epochs_run"] == attrs["epochs_run"]
        if "stop_reason" in attrs:
            assert row["stop_reason"] == attrs["stop_reason"]
        else:
            assert pd.isna(row["stop_reason"])
        assert row["wall_time_s"] == attrs["wall_time_s"]
        assert row["params_optimizer"] == trial.params["optimizer"]
        assert row["recipe_weight_decay"] == attrs["recipe"]["weight_decay"]
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert row["value"] == trial.value
        else:
            assert math.isnan(row["value"])


def test_histories_long_format(storage: str) -> None:
    histories = load_histories("optimizers", storage=storage)
    stored = _stored(storage)
    assert list(histories.columns) == ["number", "recipe_label", "seed", "epoch", *HISTORY_COLUMNS]
    assert len(histories) == sum(len(t.user_attrs.get("history", [])) for t in stored)
    first = stored[0]
    rows = histories[histories["number"] == first.number]
    assert rows["epoch"].tolist() == [h["epoch"] for h in first.user_attrs["history"]]
    assert rows["val_auc"].tolist() == [h["val_auc"] for h in first.user_attrs["history"]]
    assert rows["time_s"].is_monotonic_increasing


def test_predictions_as_arrays(storage: str) -> None:
    binary = load_predictions("optimizers", storage=storage, numbers=[0])
    assert binary[0].y_true.shape == binary[0].y_score.shape
    classes = load_predictions("classes", storage=storage)
    (only,) = classes.values()
    assert only.y_score.ndim == 2 and only.y_score.shape[0] == only.y_true.shape[0]
    np.testing.assert_allclose(only.y_score.sum(axis=1), 1.0)
    trials = load_trials("optimizers", storage=storage)
    interrupted = trials.query("state in ('FAIL', 'RUNNING') and stop_reason.isna()")["number"]
    assert len(interrupted) and not set(interrupted) & set(
        load_predictions("optimizers", storage=storage)
    )


def test_study_spec_and_direction(storage: str) -> None:
    assert load_study_spec("optimizers", storage=storage)["objective"]["metric"] == "val_auc"
    results = load_results("optimizers", storage=storage)
    assert results.direction == "maximize"
    assert results.workload["task"] == "binary"


def test_planned_seeds_are_the_stored_specs(storage: str) -> None:
    assert load_results("optimizers", storage=storage).planned_seeds == (0, 1)
    assert spec_seeds({"seeds": [2, 5]}) == (2, 5)
    for junk in ({}, {"seeds": "0 1"}, {"seeds": [True]}, {"seeds": [0.5]}):
        assert spec_seeds(junk) == ()


def test_unknown_study_is_one_line_naming_the_studies_there(storage: str) -> None:
    with pytest.raises(BenchInputError) as info:
        load_trials("foo", storage=storage)
    message = str(info.value)
    assert "\n" not in message
    assert (
        message == f"study 'foo' not found in {storage}; studies there: classes, empty, optimizers"
    )


def test_empty_study_is_an_error(storage: str) -> None:
    with pytest.raises(BenchInputError, match="has no trials"):
        load_results("empty", storage=storage)


def test_missing_database_file_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nope.db"
    with pytest.raises(BenchInputError, match="no database file"):
        list_study_names(f"sqlite:///{path}")
    assert not path.exists()


# ----------------------------------------------------------------------------- tuning protocol


@pytest.fixture(scope="module")
def fair_storage(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('fair') / 'bench.db'}"
    add_protocol_study(url, study_name="fair", budget=4, final_seeds=(1, 2), epochs=3)
    return url


def test_protocol_trials_carry_phase_candidate_and_tuned_values(fair_storage: str) -> None:
    trials = load_trials("fair", storage=fair_storage).set_index("number")
    for trial in _stored(fair_storage, "fair"):
        row = trials.loc[trial.number]
        assert row["phase"] == trial.user_attrs["phase"]
        assert row["candidate"] == trial.user_attrs["candidate"]
        assert row["seed"] == trial.user_attrs["seed"]
        if row["phase"] == "tune":
            own = param_name(row["candidate"], "learning_rate")
            assert row["params_learning_rate"] == trial.params[own]
            assert pd.isna(row["tuned_learning_rate"])
        else:
            assert pd.isna(row["params_learning_rate"])  # a final trial samples nothing
            assert row["tuned_learning_rate"] == trial.user_attrs["tuned"]["learning_rate"]
    columns = trials.columns.tolist()
    assert columns.index("phase") < columns.index("params_learning_rate")
    assert columns.index("params_momentum") < columns.index("tuned_learning_rate")
    assert trials.groupby("phase").size().to_dict() == {"final": 6, "tune": 12}


def test_a_study_without_phases_has_no_protocol_columns(storage: str) -> None:
    trials = load_trials("optimizers", storage=storage)
    assert not {"phase", "candidate"} & set(trials.columns)
    assert not [c for c in trials.columns if c.startswith("tuned_")]
    assert load_results("optimizers", storage=storage).tuning is None


def test_tuning_plan_and_final_seeds_from_the_stored_spec(fair_storage: str) -> None:
    results = load_results("fair", storage=fair_storage)
    assert results.tuning == TuningPlan(
        budget=4, sampler="tpe", seed=0, final_seeds=(1, 2), sampler_seed_recorded=True
    )
    assert results.planned_seeds == (1, 2)  # verdicts are planned on the final seeds
    odd = spec_tuning({"tuning": {"budget": True, "seed": "0", "final_seeds": [1.5]}})
    assert odd == TuningPlan(budget=None, sampler="", seed=None, final_seeds=())
    assert spec_tuning({"tuning": "yes"}) is None


def test_search_spaces_per_candidate(fair_storage: str) -> None:
    spaces = spec_search_spaces(load_results("fair", storage=fair_storage).spec)
    assert sorted(spaces) == ["adam", "rmsprop", "sgd"]
    assert spaces["sgd"]["learning_rate"] == {"low": 1e-3, "high": 1.0, "log": True, "step": None}
    assert set(spaces["sgd"]) == {"learning_rate", "momentum"}
    assert spec_search_spaces({"search_space": {"l2": [0.0, 0.1]}}) == {"": {"l2": [0.0, 0.1]}}
    assert spec_search_spaces({}) == {}
