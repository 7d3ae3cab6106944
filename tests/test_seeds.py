"""Seeds are not hyperparameters: each trial's seed is a user attribute, never a param.

Training is replaced by a stand-in whose score depends on the recipe and the seed, so
these tests check the study's bookkeeping in seconds; tests/test_study.py trains for real
(with two worker processes too).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

import optuna
import pytest
from conftest import StubReporter
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial
from run_fixtures import stand_in_trial

from bench._schema import PRUNED
from bench.recipe import Recipe
from bench.recovery import requeue_interrupted
from bench.spec import StudySpec, load_spec, parse_spec
from bench.storage import open_storage
from bench.study import open_study, run_worker

SEEDS = [0, 1, 2]
CELLS = [(v, l2) for v in ("fast", "slow") for l2 in (0.0, 0.01)]


def _spec(name: str, **fields: Any) -> StudySpec:
    """A one-epoch study of three seeds; ``fields`` override the defaults (None drops one)."""
    table = {
        "name": name,
        "description": "seeds as user attributes",
        "seeds": SEEDS,
        "epochs": 1,
        **fields,
    }
    return parse_spec({k: v for k, v in table.items() if v is not None}, source="test")


GRID = _spec(
    "grid",
    variants=[
        {"name": "fast", "optimizer": "adam", "learning_rate": 1e-2},
        {"name": "slow", "optimizer": "adam", "learning_rate": 1e-3},
    ],
    search_space={"l2": [0.0, 0.01]},
)


def _run(spec: StudySpec, url: str, *, reporter=None, train=None) -> None:
    """Resume the spec's study like ``bench run`` does, with one worker that trains with
    ``train`` (default: the stand-in, which trains nothing)."""
    handle = open_study(spec, storage=open_storage(url))
    requeue_interrupted(handle.study)
    run_worker(
        spec,
        storage_url=url,
        study_name=handle.name,
        budget=spec.total_trials,
        workload=object(),
        reporter=reporter,
        train=train or stand_in_trial,
    )


def _trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).get_trials()


@pytest.fixture(scope="module")
def grid_url(tmp_path_factory) -> str:
    """The grid, interrupted in a queued seed's trial, then in a first seed's (which had
    queued its other seeds already), then resumed to the end."""
    url = f"sqlite:///{tmp_path_factory.mktemp('seeds') / 'bench.db'}"
    for seed in (2, 0):
        with pytest.raises(KeyboardInterrupt):
            _run(GRID, url, reporter=StubReporter(stop_at_seed=seed))
    _run(GRID, url)
    return url


def _complete_cells(trials: list[optuna.trial.FrozenTrial]) -> Counter:
    return Counter(
        (t.params["variant"], t.params["l2"], t.user_attrs["seed"])
        for t in trials
        if t.state == TrialState.COMPLETE
    )


EVERY_CELL_ONCE = Counter({(*cell, seed): 1 for cell in CELLS for seed in SEEDS})


def test_a_grid_runs_each_cell_once_per_seed_after_interrupts(grid_url):
    trials = _trials(grid_url, "grid")
    assert _complete_cells(trials) == EVERY_CELL_ONCE
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert sorted(t.user_attrs["seed"] for t in failed) == [0, 2]
    assert len(trials) == len(EVERY_CELL_ONCE) + len(failed)  # no seed was queued twice
    ran = [t for t in trials if t.state == TrialState.COMPLETE]
    assert all(t.user_attrs["recipe"]["seed"] == t.user_attrs["seed"] for t in ran)


def test_no_trial_of_a_grid_has_the_seed_as_a_param(grid_url):
    trials = _trials(grid_url, "grid")
    assert all(set(t.params) == {"variant", "l2"} for t in trials)
    assert all(set(t.distributions) == {"variant", "l2"} for t in trials)


def test_the_seed_is_not_ranked_among_the_importances(grid_url):
    study = optuna.load_study(study_name="grid", storage=grid_url)
    importances = optuna.importance.get_param_importances(study)
    assert sorted(importances) == ["l2", "variant"]


def test_results_and_the_leaderboard_count_seeds_per_recipe(grid_url):
    from bench.report import study_leaderboard
    from bench.results import load_trials

    trials = load_trials("grid", storage=grid_url)
    complete = trials[trials["state"] == "COMPLETE"]
    seeds = complete.groupby("recipe_label")["seed"].agg(lambda s: sorted(s.tolist()))
    labels = ["fast l2=0", "fast l2=0.01", "slow l2=0", "slow l2=0.01"]
    assert seeds.to_dict() == {label: SEEDS for label in labels}
    assert "params_seed" not in trials.columns
    board = study_leaderboard("grid", storage=grid_url).set_index("recipe_label")
    assert board["n"].to_dict() == {label: 3 for label in labels}
    assert (board["n_planned"] == 3).all() and (board["seeds_missing"] == "").all()


def test_a_random_study_samples_recipes_and_queues_their_seeds(tmp_path):
    spec = _spec(
        "random",
        sampler="random",
        budget={"n_trials": 6},
        search_space={"learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}},
    )
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    _run(spec, url)
    trials = _trials(url, "random")
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    assert all(set(t.params) == {"learning_rate"} for t in trials)
    seeds: dict[float, list[int]] = {}
    for t in trials:
        seeds.setdefault(t.params["learning_rate"], []).append(t.user_attrs["seed"])
    assert sorted(seeds.values()) == [SEEDS, SEEDS]


def test_a_tuning_study_keeps_its_seeds_out_of_the_params(tmp_path):
    spec = _spec(
        "tuning",
        seeds=None,
        tuning={"budget": 1, "seed": 0, "final_seeds": [1]},
        variants=[
            {
                "name": "adam",
                "optimizer": "adam",
                "search_space": {"learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}},
            }
        ],
    )
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    _run(spec, url)
    trials = _trials(url, "tuning")
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    assert [t.user_attrs["seed"] for t in trials] == [0, 1]
    assert all("seed" not in t.params for t in trials)


def _legacy_hash(spec: StudySpec) -> str:
    """``content_hash`` as versions that sampled the seed as a param computed it."""
    content = spec.to_dict()
    for volatile in ("name", "description", "budget"):
        content.pop(volatile)
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def test_the_hash_changed_for_grid_and_sampled_specs_only():
    sampled = _spec(
        "sampled", sampler="random", budget={"n_trials": 3}, search_space={"l2": [0.0, 0.01]}
    )
    tuning = load_spec("optimizers")
    assert tuning.tuning is not None
    assert GRID.content_hash() != _legacy_hash(GRID)
    assert sampled.content_hash() != _legacy_hash(sampled)
    assert tuning.content_hash() == _legacy_hash(tuning)


def test_a_study_stored_with_the_seed_as_a_param_is_left_as_it_is(tmp_path):
    from bench.results import load_trials

    url = f"sqlite:///{tmp_path / 'bench.db'}"
    legacy = optuna.create_study(storage=url, study_name="grid", direction="maximize")
    legacy.set_user_attr("spec", GRID.to_dict())
    legacy.set_user_attr("spec_hash", _legacy_hash(GRID))
    distributions = {
        "variant": CategoricalDistribution(["fast", "slow"]),
        "seed": CategoricalDistribution(SEEDS),
    }
    for seed in SEEDS:
        params = {"variant": "fast", "seed": seed}
        attrs = {"recipe_label": "fast"} if seed else {}  # the label falls back to the params
        legacy.add_trial(
            create_trial(params=params, distributions=distributions, value=0.5, user_attrs=attrs)
        )

    handle = open_study(GRID, storage=open_storage(url))
    assert (handle.name, handle.created, handle.renamed_from) == ("grid-v2", True, "grid")
    assert len(_trials(url, "grid")) == 3 and not _trials(url, "grid-v2")
    trials = load_trials("grid", storage=url)
    assert trials["seed"].tolist() == SEEDS
    # A trial stored without a label is named as the runner names its recipe, so it joins
    # that recipe rather than appearing as one of its own.
    assert trials["recipe_label"].tolist() == ["fast", "fast", "fast"]


@pytest.mark.parametrize("pruner", ["median", "none"])
def test_the_other_seeds_of_a_recipe_pruned_on_its_first_seed_are_not_trained(tmp_path, pruner):
    trained: list[tuple[str, int]] = []

    def prune_slow_on_seed_0(workload: object, recipe: Recipe, **options: Any):
        """The pruner's verdict, fixed: the slow recipe falls below the median on seed 0."""
        trained.append((recipe.learning_rate, recipe.seed))
        result = stand_in_trial(workload, recipe, **options)
        if recipe.learning_rate == 1e-3 and recipe.seed == 0:
            result.stop_reason = PRUNED
        return result

    spec = _spec(
        "pruned",
        pruner=pruner,
        variants=[
            {"name": "fast", "optimizer": "adam", "learning_rate": 1e-2},
            {"name": "slow", "optimizer": "adam", "learning_rate": 1e-3},
        ],
    )
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    _run(spec, url, train=prune_slow_on_seed_0)

    states = {
        (t.params["variant"], t.user_attrs["seed"]): (t.state, t.user_attrs.get("epochs_run"))
        for t in _trials(url, "pruned")
    }
    assert len(states) == 6
    assert {states["fast", seed] for seed in SEEDS} == {(TrialState.COMPLETE, 1)}
    assert states["slow", 0] == (TrialState.PRUNED, 1)
    if pruner == "median":  # the slow recipe's other seeds stop before training
        assert [states["slow", seed] for seed in (1, 2)] == [(TrialState.PRUNED, 0)] * 2
        untrained = [t for t in _trials(url, "pruned") if t.user_attrs.get("epochs_run") == 0]
        assert sorted(t.user_attrs["recipe"]["seed"] for t in untrained) == [1, 2]
        assert sorted(trained) == [(1e-3, 0), *((1e-2, seed) for seed in SEEDS)]
    else:  # without a pruner nothing is pruned on account of another trial
        assert {states["slow", seed] for seed in (1, 2)} == {(TrialState.COMPLETE, 1)}
        assert len(trained) == 6
