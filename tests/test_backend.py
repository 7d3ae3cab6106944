"""The Keras backend: chosen before Keras loads, recorded with every trial and study,
the same numbers run to run on each backend, and one worker per GPU where there are GPUs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from conftest import error_line

from bench import backend as backends
from bench.cli import main
from bench.errors import BenchInputError
from bench.spec import load_spec
from bench.storage import open_storage
from bench.study import open_study


def test_the_flag_wins_over_bench_backend_which_wins_over_keras_backend():
    environ = {"BENCH_BACKEND": "tensorflow", "KERAS_BACKEND": "jax"}
    assert backends.choose_backend("jax", environ=environ) == "jax"
    assert backends.choose_backend(None, environ=environ) == "tensorflow"
    assert backends.choose_backend(None, environ={"KERAS_BACKEND": "tensorflow"}) == "tensorflow"
    assert backends.choose_backend(None, environ={}) == "jax"  # both are installed here


def test_an_unknown_backend_names_the_valid_ones():
    with pytest.raises(
        BenchInputError, match=r"^\$KERAS_BACKEND torch: unknown; expected one of jax, tensorflow$"
    ):
        backends.choose_backend(None, environ={"KERAS_BACKEND": "torch"})


def test_a_backend_that_is_not_installed_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(backends, "is_installed", lambda name: name != "tensorflow")
    with pytest.raises(BenchInputError) as raised:
        backends.choose_backend("tensorflow", environ={})
    assert str(raised.value) == (
        "--backend tensorflow: not installed; install it with 'pip install tensorflow'"
    )
    # Nothing asked for: the default falls back to what is installed.
    monkeypatch.setattr(backends, "is_installed", lambda name: name == "tensorflow")
    assert backends.choose_backend(None, environ={}) == "tensorflow"


def test_bench_train_with_an_unknown_backend_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "result.json"
    assert main(["train", "--backend", "torch", "--epochs", "1", "--json", str(out)]) == 2
    line = error_line(capsys)
    assert "--backend torch" in line and "jax, tensorflow" in line
    assert not out.exists()


def test_the_jax_cache_is_per_user_and_switched_on_for_every_program(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    backends.use_backend("jax", environ=env)
    assert env["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "bench" / "jax")
    assert env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
    assert env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] == "0"
    assert env["KERAS_BACKEND"] == "jax"


def test_resuming_a_study_under_another_backend_is_refused(tmp_path, capsys):
    spec_path = tmp_path / "one.toml"
    spec_path.write_text(
        'name = "one"\ndescription = "one trial"\nseeds = [0]\nepochs = 1\n'
        '[workload]\ndataset = "digits"\n[[variants]]\nname = "adam"\noptimizer = "adam"\n'
    )
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    here = backends.choose_backend(None)
    other = next(b for b in backends.BACKENDS if b != here)
    open_study(load_spec(str(spec_path)), storage=open_storage(url), backend=other)
    assert main(["run", "--study", str(spec_path), "--storage", url]) == 2
    line = error_line(capsys)
    assert f"run with the {other} backend, not {here}" in line
    assert f"--backend {other}" in line
    study = optuna.load_study(study_name="one", storage=url)
    assert study.trials == []  # nothing was run or queued


def test_a_stored_study_names_its_backend_in_the_report_facts():
    from bench.report._study_facts import study_facts

    facts = study_facts(
        {}, workload={}, backend="jax", versions={"jaxlib": "1.2.3", "keras": "3.15.1"}
    )
    assert dict(facts.itertuples(index=False))["backend"] == "jax 1.2.3"


def _start_training(backend: str, out: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "bench", "train", "--backend", backend, "--json", str(out)]
    command += ["--epochs", "2", "--train-size", "100", "--optimizer", "sgd", "--l2", "0.01"]
    env = {k: v for k, v in os.environ.items() if k not in ("BENCH_BACKEND", "KERAS_BACKEND")}
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )


def _result(training: subprocess.Popen, out: Path) -> dict:
    _, stderr = training.communicate(timeout=600)
    assert training.returncode == 0, stderr
    return json.loads(out.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("backend", backends.BACKENDS)
def test_the_same_recipe_on_the_same_backend_gives_the_same_numbers(backend, tmp_path):
    # Two processes at once: neither sees the other's traced steps or random state.
    outs = [tmp_path / f"{run}.json" for run in ("a", "b")]
    trainings = [_start_training(backend, out) for out in outs]
    first, second = (_result(t, out) for t, out in zip(trainings, outs, strict=True))
    assert first["backend"] == second["backend"] == backend
    library = {"jax": "jaxlib", "tensorflow": "tensorflow"}[backend]
    assert first["versions"][library] == backends.backend_version(backend)
    for result in (first, second):
        for record in result["history"]:
            record.pop("time_s")
    assert first["history"] == second["history"]
    assert first["metrics"] == second["metrics"]
    assert first["test_predictions"] == second["test_predictions"]


def _two_gpus(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in ``nvidia-smi`` first on PATH that lists GPUs 0 and 1."""
    fake = folder / "nvidia-smi"
    fake.write_text("#!/bin/sh\nprintf '0\\n1\\n'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def test_gpus_are_found_by_nvidia_smi_and_narrowed_by_cuda_visible_devices(tmp_path, monkeypatch):
    _two_gpus(tmp_path, monkeypatch)
    assert backends.list_gpus() == ["0", "1"]
    assert backends.default_jobs(trials_left=88) == 2
    assert backends.default_jobs(trials_left=1) == 1
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert backends.list_gpus() == ["1"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert backends.list_gpus() == []


def test_without_gpus_there_is_one_worker_per_core_each_with_its_share(monkeypatch):
    monkeypatch.setattr(backends, "list_gpus", lambda: [])
    assert backends.default_jobs(trials_left=88) == (os.cpu_count() or 1)
    envs = backends.worker_environments(jobs=2, backend="jax", cores=2)
    assert all("CUDA_VISIBLE_DEVICES" not in env for env in envs)
    assert all("intra_op_parallelism_threads=1" in env["XLA_FLAGS"] for env in envs)


@pytest.mark.parametrize("backend", backends.BACKENDS)
def test_each_worker_process_starts_on_its_own_gpu(backend, tmp_path, monkeypatch):
    """Discovery simulated (two GPUs), then real worker processes started the way
    ``bench run --jobs`` starts them, each writing down the environment it got."""
    import _env_worker

    from bench.study import _processes

    _two_gpus(tmp_path, monkeypatch)
    monkeypatch.setattr(_processes, "_worker_process", _env_worker.record_environment)
    monkeypatch.setenv("BENCH_TEST_ENV_DIR", str(tmp_path))
    run = _StubRun(backend)
    processes = _processes._start_workers(
        run, jobs=backends.default_jobs(trials_left=9), timeout=None
    )
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    seen = sorted(
        (json.loads(p.read_text()) for p in tmp_path.glob("*.json")),
        key=lambda env: env["CUDA_VISIBLE_DEVICES"],
    )
    assert [env["CUDA_VISIBLE_DEVICES"] for env in seen] == ["0", "1"]
    for env in seen:
        assert env["KERAS_BACKEND"] == backend
        assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
        assert env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
        assert env["XLA_FLAGS"] == os.environ.get("XLA_FLAGS")  # no CPU thread cap on a GPU
    assert "CUDA_VISIBLE_DEVICES" not in os.environ  # the parent's own is left as it was


class _StubRun:
    """What ``_start_workers`` reads of a prepared run."""

    def __init__(self, backend: str) -> None:
        self.spec, self.storage_url, self.budget, self.backend = None, "sqlite://", 9, backend
        self.handle = type("Handle", (), {"name": "stub"})()
