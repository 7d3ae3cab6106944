"""Studies: specs validated, trials stored for Optuna's own tools, resumed, never duplicated."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from conftest import TINY_SPEC, StubReporter
from optuna.trial import TrialState

from bench.cli import main
from bench.spec import builtin_spec_paths, load_spec


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_every_trial_is_stored_with_its_result_for_optuna(tiny_study):
    _, url = tiny_study
    study = optuna.load_study(study_name="tiny", storage=url)
    trials = study.get_trials()
    assert len(trials) == 4 and all(t.state == TrialState.COMPLETE for t in trials)
    cells = {(t.params["variant"], t.user_attrs["seed"]) for t in trials}
    assert cells == {("adam", 0), ("adam", 1), ("sgd", 0), ("sgd", 1)}
    assert all(list(t.params) == ["variant"] for t in trials)
    for t in trials:
        attrs = t.user_attrs
        assert sorted(t.intermediate_values) == [1, 2]
        assert [h["epoch"] for h in attrs["history"]] == [1, 2]
        assert t.intermediate_values[2] == pytest.approx(attrs["history"][1]["val_auc"])
        assert t.value == pytest.approx(attrs["metrics"]["val"]["auc"])
        assert attrs["stop_reason"] in ("completed", "early_stopped")
        assert attrs["seed"] == attrs["recipe"]["seed"]
        assert attrs["recipe_label"] == t.params["variant"]
        assert attrs["workload"]["sizes"] == {"train": 120, "val": 60, "test": 60}
        assert len(attrs["test_predictions"]["y_score"]) == attrs["workload"]["sizes"]["test"]
        assert attrs["backend"] == study.user_attrs["backend"]
        library = {"jax": "jaxlib", "tensorflow": "tensorflow"}[attrs["backend"]]
        assert {library, "keras", "optuna"} <= set(attrs["versions"])
    assert study.user_attrs["spec"]["name"] == "tiny"


@pytest.mark.slow
def test_the_optuna_command_line_reads_the_trials(tiny_study):
    _, url = tiny_study
    optuna_cli = Path(sys.executable).with_name("optuna")
    run = subprocess.run(
        [str(optuna_cli), "trials", "--storage", url, "--study-name", "tiny", "-f", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = json.loads(run.stdout)
    assert len(rows) == 4
    assert all("history" in row["user_attrs"] for row in rows)


def test_rerunning_resumes_without_running_anything_again(tiny_study, capsys):
    spec, url = tiny_study
    assert main(["run", "--study", str(spec), "--storage", url]) == 0
    assert "4 of 4 trials done, 0 to run" in " ".join(capsys.readouterr().err.split())
    assert len(optuna.load_study(study_name="tiny", storage=url).trials) == 4


@pytest.mark.slow
def test_a_changed_spec_never_mixes_with_the_stored_trials(tiny_study, tmp_path, capsys):
    _, url = tiny_study
    spec, _ = tiny_study
    changed = _write(tmp_path / "tiny.toml", spec.read_text().replace("epochs = 2", "epochs = 1"))
    assert (
        main(["run", "--study", str(changed), "--storage", url, "--n-trials", "2", "--jobs", "1"])
        == 0
    )
    err = " ".join(capsys.readouterr().err.split())
    assert "different spec" in err and "tiny-v2" in err
    assert len(optuna.load_study(study_name="tiny", storage=url).trials) == 4
    versioned = optuna.load_study(study_name="tiny-v2", storage=url).trials
    assert [len(t.user_attrs["history"]) for t in versioned] == [1, 1]


class _PruneAfterFirstReport(optuna.pruners.BasePruner):
    def prune(self, study, trial) -> bool:
        return len(trial.intermediate_values) >= 1


def test_a_pruned_trial_is_stored_as_pruned_with_its_stop_reason(small_workload):
    from bench.study import TrialObjective

    spec = load_spec("optimizers-fixed").with_overrides(epochs=3)
    study = optuna.create_study(
        direction="maximize",
        pruner=_PruneAfterFirstReport(),
        sampler=optuna.samplers.GridSampler({"variant": ["adam"]}),
    )
    study.optimize(TrialObjective(spec, small_workload), n_trials=1)
    trial, *queued = study.trials  # the first seed's run queued the other seeds'
    assert [(t.state, t.user_attrs["seed"]) for t in queued] == [
        (TrialState.WAITING, seed) for seed in spec.seeds[1:]
    ]
    assert trial.state == TrialState.PRUNED
    assert trial.user_attrs["stop_reason"] == "pruned"
    assert trial.user_attrs["epochs_run"] == 1 and list(trial.intermediate_values) == [1]


def test_builtin_studies_load_and_list(capsys):
    assert {
        "optimizers",
        "optimizers-fixed",
        "regularization",
        "early-stopping",
        "schedulers",
        "seed-recipes",
        "tuned",
    } <= set(builtin_spec_paths())
    assert main(["studies"]) == 0
    out = capsys.readouterr().out
    assert "optimizers" in out and "tuned" in out
    assert "up to 144" in out  # the second look runs only where the first is undecided
    row = next(line for line in out.splitlines() if "│ optimizers " in line)
    assert "│ qmc " in row  # a tuning study's sampler is its tuning phase's
    optimizers = load_spec("optimizers")
    assert {v["optimizer"] for v in optimizers.variants.values()} == {
        "adam",
        "adamw",
        "sgd",
        "sgd_momentum",
        "adagrad",
        "rmsprop",
        "nadam",
        "lion",
    }
    # The built-in verdict: at least 5 final seeds, shared by every candidate (paired).
    assert optimizers.tuning is not None and len(optimizers.tuning.final_seeds) >= 5
    for name in builtin_spec_paths():
        spec = load_spec(name)
        verdict_seeds = spec.tuning.final_seeds if spec.tuning else spec.seeds
        assert len(verdict_seeds) >= 3, name  # a verdict needs an interval over seeds
    fixed = load_spec("optimizers-fixed")
    assert set(fixed.variants) == set(optimizers.variants) and fixed.tuning is None


def test_show_prints_the_spec_and_progress(tiny_study, capsys):
    spec, url = tiny_study
    assert main(["show", str(spec), "--storage", url]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "4 of 4 trials done" in out and '"sampler": "grid"' in out
    from bench.backend import active_backend, choose_backend

    assert f"backend {active_backend() or choose_backend(None)}" in out  # the one it ran on


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (("seeds = [0, 1]", "seeds = [0, 1]\ncolour = 'red'"), "top level: unknown field 'colour'"),
        (("epochs = 2", "epochs = 'two'"), "epochs: got 'two'; expected an integer"),
        (
            ('optimizer = "sgd"', 'optimizer = "adamax"'),
            "variants[1].optimizer: got 'adamax'; expected one of adam",
        ),
        (
            ("seeds = [0, 1]", "seeds = [0, 1]\nsampler = 'bayes'"),
            "sampler: got 'bayes'; expected one of grid, random, tpe, qmc",
        ),
    ],
)
def test_bad_specs_exit_2_naming_file_and_field(tmp_path, capsys, change, fragment):
    spec = _write(tmp_path / "bad.toml", TINY_SPEC.format(npz="unused").replace(*change))
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    assert main(["run", "--study", str(spec), "--storage", url]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(spec) in err and fragment in err
    assert not (tmp_path / "bench.db").exists()


def test_unknown_optimizer_in_the_search_space_and_an_empty_space(tmp_path, capsys):
    base = 'name = "s"\ndescription = "d"\n'
    cases = {
        "space.toml": (
            base + '[search_space]\noptimizer = ["adam", "adamax"]\n',
            "search_space.optimizer[1]: got 'adamax'",
        ),
        "empty.toml": (base + "[search_space]\n", "search_space: empty"),
        "unknown.toml": (
            base + "[search_space]\nlr = [0.1]\n",
            "search_space.lr: unknown recipe field 'lr'",
        ),
    }
    for name, (text, fragment) in cases.items():
        spec = _write(tmp_path / name, text)
        assert main(["run", "--study", str(spec), "--storage", "sqlite:///x.db"]) == 2
        err = capsys.readouterr().err
        assert f"{spec}: {fragment}" in err, err


def test_unknown_study_name_lists_the_builtin_ones(capsys):
    assert main(["run", "--study", "nope"]) == 2
    assert "built-in studies: early-stopping" in capsys.readouterr().err


def test_a_bad_dataset_in_the_spec_exits_2_and_creates_no_study(tmp_path, capsys):
    spec = _write(tmp_path / "s.toml", TINY_SPEC.format(npz=tmp_path / "missing.npz"))
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    assert main(["run", "--study", str(spec), "--storage", url]) == 2
    assert "missing.npz" in capsys.readouterr().err
    assert not (tmp_path / "bench.db").exists()


@pytest.mark.slow
def test_a_sampled_recipe_runs_once_per_seed(small_workload, tmp_path):
    from bench.spec import parse_spec
    from bench.storage import open_storage
    from bench.study import open_study, run_worker

    spec = parse_spec(
        {
            "name": "sampled",
            "description": "random rates",
            "sampler": "random",
            "seeds": [3, 7],
            "epochs": 1,
            "budget": {"n_trials": 4},
            "search_space": {"learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}},
        },
        source="test",
    )
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    handle = open_study(spec, storage=open_storage(url))
    run_worker(
        spec,
        storage_url=url,
        study_name=handle.name,
        budget=spec.total_trials,
        workload=small_workload,
    )
    trials = optuna.load_study(study_name="sampled", storage=url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    assert all(list(t.params) == ["learning_rate"] for t in trials)
    seeds_by_rate: dict[float, list[int]] = {}
    for t in trials:
        seeds_by_rate.setdefault(t.params["learning_rate"], []).append(t.user_attrs["seed"])
    assert len(seeds_by_rate) == 2
    assert all(sorted(seeds) == [3, 7] for seeds in seeds_by_rate.values())


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://user:pw@127.0.0.1/bench", "no database driver for 'mysql'"),
        ("nosuchdb://somewhere", "cannot open"),
    ],
)
def test_a_storage_that_cannot_be_opened_exits_2(url, fragment, capsys):
    from bench.storage import redact_url

    assert main(["run", "--study", "optimizers", "--storage", url, "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"--storage {redact_url(url)}" in err and fragment in err
    assert ":pw@" not in err


@pytest.mark.slow
def test_an_interrupted_grid_resumes_and_runs_every_cell_once(small_workload, tmp_path, capsys):
    from bench.spec import load_spec
    from bench.storage import open_storage
    from bench.study import open_study, run_worker

    text = TINY_SPEC.format(npz="x").replace('name = "tiny"', 'name = "resume"')
    text = text.replace("epochs = 2", "epochs = 1")
    text = text.replace('dataset = "npz:x"', 'dataset = "digits"\ntrain_size = 160')
    spec_path = _write(tmp_path / "resume.toml", text)
    spec = load_spec(str(spec_path))
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    handle = open_study(spec, storage=open_storage(url))
    with pytest.raises(KeyboardInterrupt):
        run_worker(
            spec,
            storage_url=url,
            study_name=handle.name,
            budget=spec.total_trials,
            workload=small_workload,
            reporter=StubReporter(stop_at_trial=4),
        )
    states = [t.state for t in optuna.load_study(study_name="resume", storage=url).trials]
    assert states == [TrialState.COMPLETE] * 3 + [TrialState.FAIL]

    assert main(["run", "--study", str(spec_path), "--storage", url, "--jobs", "1"]) == 0
    assert "1 interrupted trial(s) queued again" in " ".join(capsys.readouterr().err.split())
    trials = optuna.load_study(study_name="resume", storage=url).trials
    complete = sorted(
        (t.params["variant"], t.user_attrs["seed"])
        for t in trials
        if t.state == TrialState.COMPLETE
    )
    assert complete == [("adam", 0), ("adam", 1), ("sgd", 0), ("sgd", 1)]


DIVERGING = """
name = "diverging"
description = "adam, and sgd at a rate (with an L2 rate) that surely diverges"
sampler = "grid"
seeds = [0]
epochs = 3

[workload]
dataset = "digits"
train_size = 160

[fixed]
early_stopping = false

[[variants]]
name = "adam"
optimizer = "adam"

[[variants]]
name = "sgd"
optimizer = "sgd"
learning_rate = 10.0
l2 = 1.0
"""


@pytest.mark.slow  # a subprocess trains two trials of three epochs
@pytest.mark.parametrize("jobs", ["1", "2"])  # in this process, or in worker processes
def test_run_names_the_diverged_trial_and_prints_nothing_of_keras(tmp_path, jobs):
    spec = _write(tmp_path / "diverging.toml", DIVERGING)
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--study", str(spec), "--storage", url]
        + ["--jobs", jobs],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    trials = optuna.load_study(study_name="diverging", storage=url).trials
    diverged = [t.number for t in trials if t.user_attrs.get("stop_reason") == "diverged"]
    assert [t.user_attrs["recipe_label"] for t in trials if t.number in diverged] == ["sgd"]
    assert "Invalid loss" not in run.stdout + run.stderr
    ended = [line for line in run.stderr.splitlines() if " diverged: " in line]
    assert [line.split(" diverged: ")[0] for line in ended] == [f"trial {diverged[0]}"]
    assert ended[0].split(" diverged: ")[1].startswith("sgd (seed 0)")
