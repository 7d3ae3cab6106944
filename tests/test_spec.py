"""Study specs: declared once, every override checked with the whole spec."""

from __future__ import annotations

import pytest
from conftest import error_line

from bench.cli import main
from bench.errors import BenchInputError
from bench.spec import BudgetSpec, ObjectiveSpec, WorkloadSpec, load_spec, parse_spec

BASE = {
    "name": "s",
    "description": "d",
    "seeds": [0, 1],
    "variants": [{"name": "a", "optimizer": "adam"}, {"name": "b", "optimizer": "sgd"}],
}


def test_each_table_is_declared_by_its_dataclass():
    spec = parse_spec(
        {
            **BASE,
            "workload": {"dataset": "digits10", "train_size": 200},
            "objective": {"metric": "val_loss", "direction": "minimize"},
            "budget": {"n_trials": 4, "timeout": 60},
        },
        source="s.toml",
    )
    assert spec.workload == WorkloadSpec(dataset="digits10", train_size=200)
    assert spec.objective == ObjectiveSpec(metric="val_loss", direction="minimize")
    assert spec.budget == BudgetSpec(n_trials=4, timeout=60.0)
    table = spec.to_dict()
    assert table["workload"] == {
        "dataset": "digits10",
        "preset": "tiny",
        "train_size": 200,
        "split_seed": 0,
    }
    assert table["budget"] == {"n_trials": 4, "timeout": 60.0, "retries": 2}
    assert "source" not in table


@pytest.mark.parametrize(
    ("table", "value", "fragment"),
    [
        ("workload", {"colour": 1}, "workload: unknown field 'colour'; expected one of dataset"),
        ("workload", {"preset": "huge"}, "workload.preset: got 'huge'; expected one of tiny"),
        ("workload", {"train_size": 0}, "workload.train_size: got 0; expected an integer >= 1"),
        ("workload", {"dataset": ""}, "workload.dataset: got ''; expected a non-empty string"),
        ("objective", {"metric": "loss"}, "objective.metric: got 'loss'; expected one of val_auc"),
        ("budget", {"timeout": -5}, "budget.timeout: got -5; expected a number > 0"),
        ("budget", {"n_trials": "4"}, "budget.n_trials: got '4'; expected an integer >= 1"),
        ("budget", 3, "budget: got 3; expected a table"),
    ],
)
def test_a_bad_table_value_names_the_file_and_field(table, value, fragment):
    with pytest.raises(BenchInputError) as error:
        parse_spec({**BASE, table: value}, source="s.toml")
    assert str(error.value).startswith("s.toml: ") and fragment in str(error.value)


def test_epochs_at_the_top_and_under_fixed_is_refused_naming_both(tmp_path, capsys):
    spec = tmp_path / "twice.toml"
    spec.write_text(
        'name = "twice"\ndescription = "d"\nepochs = 5\n'
        "[fixed]\nepochs = 7\n"
        '[search_space]\noptimizer = ["adam", "sgd"]\n'
    )
    assert main(["run", "--study", str(spec), "--storage", f"sqlite:///{tmp_path}/b.db"]) == 2
    line = error_line(capsys)
    assert str(spec) in line and "top level" in line and "fixed.epochs" in line
    assert not (tmp_path / "b.db").exists()


def test_n_trials_from_the_command_line_obeys_the_seeds_rule(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/b.db"
    assert main(["run", "--study", "optimizers-fixed", "--n-trials", "4", "--storage", url]) == 2
    line = error_line(capsys)
    assert line == (
        "bench: error: --n-trials: got 4; expected a multiple of the 5 seeds "
        "(every sampled recipe runs once per seed)"
    )
    assert not (tmp_path / "b.db").exists()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--n-trials", "0"], "--n-trials: got 0; expected an integer >= 1"),
        (["--timeout", "-1"], "--timeout: got -1.0; expected a number > 0"),
        (["--epochs", "0"], "--epochs: got 0; expected an integer >= 1"),
        (["--dataset", ""], "--dataset: got ''; expected a non-empty string"),
    ],
)
def test_every_override_is_checked_like_the_spec_field(argv, fragment, tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/b.db"
    assert main(["run", "--study", "optimizers-fixed", *argv, "--storage", url]) == 2
    assert fragment in error_line(capsys)
    assert not (tmp_path / "b.db").exists()


def test_epochs_override_replaces_the_one_place_epochs_is_given():
    in_fixed = parse_spec({**BASE, "fixed": {"epochs": 9}}, source="s.toml")
    assert in_fixed.with_overrides(epochs=2).fixed["epochs"] == 2
    assert in_fixed.with_overrides(epochs=2).epochs is None
    at_top = parse_spec({**BASE, "epochs": 9}, source="s.toml")
    assert at_top.with_overrides(epochs=2).recipe({"variant": "a"}).epochs == 2
    searched = parse_spec(
        {
            **BASE,
            "sampler": "random",
            "budget": {"n_trials": 2},
            "search_space": {"epochs": {"low": 2, "high": 9}},
        },
        source="s.toml",
    )
    with pytest.raises(BenchInputError, match="--epochs: the spec searches epochs"):
        searched.with_overrides(epochs=2)


def test_the_pruner_reads_epochs_wherever_the_spec_gives_them():
    assert parse_spec({**BASE, "fixed": {"epochs": 12}}, source="s").max_epochs == 12
    assert parse_spec({**BASE, "epochs": 7}, source="s").max_epochs == 7
    mixed = {**BASE, "epochs": 7, "variants": [{"name": "long", "epochs": 40}]}
    assert parse_spec(mixed, source="s").max_epochs == 40
    assert parse_spec(BASE, source="s").max_epochs == 30  # the recipe's default


def test_the_workload_table_loads_its_workload():
    workload = load_spec("optimizers").workload.load()
    assert workload.dataset.name == "digits" and workload.preset.name == "tiny"


def test_label_noise_is_a_workload_field_that_leaves_older_spec_hashes_alone():
    clean = parse_spec(BASE, source="s.toml")
    noisy = parse_spec({**BASE, "workload": {"label_noise": 0.2}}, source="s.toml")
    assert "label_noise" not in clean.to_dict()["workload"]
    assert noisy.to_dict()["workload"]["label_noise"] == 0.2
    assert clean.content_hash() != noisy.content_hash()
    zero = parse_spec({**BASE, "workload": {"label_noise": 0.0}}, source="s.toml")
    assert zero.content_hash() == clean.content_hash()
    with pytest.raises(BenchInputError, match="workload.label_noise: got 1.0; expected"):
        parse_spec({**BASE, "workload": {"label_noise": 1.0}}, source="s.toml")
    assert noisy.workload.load().dataset.describe()["label_noise"] == 0.2


def test_bench_train_refuses_label_noise_out_of_range(capsys):
    assert main(["train", "--label-noise", "1.5"]) == 2
    assert "label_noise: got 1.5" in error_line(capsys)


@pytest.mark.parametrize(
    ("option", "value"), [("train_size", 0), ("split_seed", -1), ("label_noise", 1.0)]
)
def test_workload_options_are_checked_by_the_workload_with_the_loaders_words(option, value):
    from bench.workload import WORKLOAD_OPTIONS

    expected = f"workload.{option}: got {value!r}; expected {WORKLOAD_OPTIONS[option].describe()}"
    with pytest.raises(BenchInputError, match=expected.replace("(", r"\(")):
        parse_spec({**BASE, "workload": {option: value}}, source="s.toml")
    with pytest.raises(BenchInputError) as from_loader:
        WORKLOAD_OPTIONS[option].check(value)
    assert str(from_loader.value) in expected


def test_a_spec_keeps_tomls_number_types_for_workload_options():
    spec = parse_spec({**BASE, "workload": {"train_size": 200.0, "label_noise": 0}}, source="s")
    assert (spec.workload.train_size, spec.workload.label_noise) == (200, 0.0)
    assert type(spec.workload.label_noise) is float


@pytest.mark.parametrize(
    ("metric", "direction", "fix"),
    [("val_loss", "maximize", '"minimize"'), ("val_auc", "minimize", '"maximize"')],
)
def test_an_objective_optimized_the_wrong_way_is_refused_naming_the_fix(metric, direction, fix):
    raw = {
        "name": "wrong-way",
        "description": "a loss maximized",
        "seeds": [0],
        "objective": {"metric": metric, "direction": direction},
        "variants": [{"name": "adam", "optimizer": "adam"}],
    }
    with pytest.raises(BenchInputError, match=f"objective.direction: got '{direction}'.*{fix}"):
        parse_spec(raw, source="wrong.toml")


TUNED = """name = "spaces"
description = "d"
[tuning]
budget = 2
final_seeds = [1, 2]
[[variants]]
name = "sgd"
optimizer = "sgd"
[variants.search_space]
learning_rate = { low = 1e-3, high = 1e-1, log = true }
"""


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        (
            'momentum = { low = 0.5, high = 0.99, scale = "logit" }',
            "variants[0].search_space.momentum.scale: got 'logit'; expected one of",
        ),
        (
            'l2 = { low = 0.5, high = 1.0, scale = "log1m" }',
            'variants[0].search_space.l2.high: got 1.0; "log1m" needs high below 1',
        ),
        (
            'warmup_epochs = { low = 0, high = 5, scale = "log1m" }',
            "warmup_epochs takes values up to 1000",
        ),
        (
            'momentum = { low = 0.5, high = 0.99, log = true, scale = "log1m" }',
            'log = true and scale = "log1m" disagree',
        ),
        (
            'momentum = { low = 0.99, high = 0.5, scale = "log1m" }',
            "low 0.99 must be below high 0.5",
        ),
    ],
)
def test_a_bad_scale_is_one_line_through_bench_run(entry, fragment, tmp_path, capsys):
    spec = tmp_path / "spaces.toml"
    spec.write_text(TUNED + entry + "\n")
    assert main(["run", "--study", str(spec), "--storage", f"sqlite:///{tmp_path}/b.db"]) == 2
    line = error_line(capsys)
    assert line.startswith(f"bench: error: {spec}: ") and fragment in line
    assert not (tmp_path / "b.db").exists()


def test_learning_rate_cannot_be_drawn_on_log1m_since_it_is_not_below_1():
    raw = {
        **BASE,
        "seeds": [0],
        "sampler": "random",
        "budget": {"n_trials": 2},
        "search_space": {"learning_rate": {"low": 1e-4, "high": 0.1, "scale": "log1m"}},
    }
    with pytest.raises(BenchInputError) as error:
        parse_spec(raw, source="s.toml")
    message = str(error.value)
    assert "search_space.learning_rate.scale" in message and "up to 10" in message
    assert "\n" not in message


def test_a_log1m_range_keeps_older_spec_hashes_and_stores_its_scale():
    import tomllib

    log_flag = parse_spec(tomllib.loads(TUNED), source="s.toml")
    said = TUNED.replace("log = true", 'scale = "log"')
    assert parse_spec(tomllib.loads(said), source="s.toml").content_hash() == (
        log_flag.content_hash()
    )
    stored = log_flag.to_dict()["variants"]["sgd"]["search_space"]["learning_rate"]
    assert stored == {"low": 1e-3, "high": 1e-1, "log": True, "step": None}
    momentum = 'momentum = { low = 0.5, high = 0.99, scale = "log1m" }\n'
    spec = parse_spec(tomllib.loads(TUNED + momentum), source="s.toml")
    assert spec.to_dict()["variants"]["sgd"]["search_space"]["momentum"]["scale"] == "log1m"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ("budget = 2\nbudget_per_dimension = 3", "tuning.budget: given with"),
        ("budget = 2\nprune_final = true", "tuning.prune_final: the final phase is never pruned"),
    ],
)
def test_the_tuning_budget_and_final_pruning_are_checked(change, fragment, tmp_path, capsys):
    spec = tmp_path / "spaces.toml"
    spec.write_text(TUNED.replace("budget = 2", change))
    assert main(["run", "--study", str(spec), "--storage", f"sqlite:///{tmp_path}/b.db"]) == 2
    assert fragment in error_line(capsys)
    assert not (tmp_path / "b.db").exists()


def test_budget_per_dimension_gives_each_candidate_its_fields_times_the_budget():
    import tomllib

    text = TUNED.replace("budget = 2", "budget_per_dimension = 3")
    text += "momentum = { low = 0.5, high = 0.99 }\n"
    text += '[[variants]]\nname = "adam"\noptimizer = "adam"\n[variants.search_space]\n'
    text += "learning_rate = { low = 1e-4, high = 1e-2, log = true }\n"
    spec = parse_spec(tomllib.loads(text), source="s.toml")
    assert spec.candidate_budget("sgd") == 6 and spec.candidate_budget("adam") == 3
    assert spec.total_trials == (6 + 2) + (3 + 2)
    assert spec.to_dict()["tuning"]["budget_per_dimension"] == 3
