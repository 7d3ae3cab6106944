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
