"""Command-line paths a user relies on: ``--version``; ``bench run --retries`` and
``--timeout``; ``bench train --split-seed``; ``bench dashboard --host`` and a taken port;
``bench report``, ``best`` and ``show`` with nothing to work on.

Runs train with a stand-in (``run_fixtures.stand_in_trial``) unless training is what
the test is about.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import socket
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import optuna
import pytest
from conftest import error_line
from optuna.trial import TrialState
from run_fixtures import CELLS, cell, grid_spec, stand_in_trial, stored_trials

from bench._record import SPEC, TrialRecord
from bench.cli import main
from bench.recipe import Recipe


def _url(folder: Path) -> str:
    return f"sqlite:///{folder / 'bench.db'}"


def _run(spec: Path, url: str, *flags: str) -> int:
    return main(["run", "--study", str(spec), "--storage", url, "--jobs", "1", *flags])


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def test_version_is_the_installed_distributions(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"bench {importlib.metadata.version('bench')}\n"


# ----------------------------------------------------------------------------- bench run


@pytest.mark.slow  # about 8 s: 11 trials stored in SQLite
def test_retries_flag_overrides_the_spec_and_is_stored_with_the_study(
    tmp_path, capsys, monkeypatch
):
    import bench.trial

    def raises_on_sgd_seed_1(workload: Any, recipe: Recipe, **options: Any):
        if recipe.optimizer == "sgd" and recipe.seed == 1:
            raise ZeroDivisionError("a bug in one recipe")
        return stand_in_trial(workload, recipe, **options)

    monkeypatch.setattr(bench.trial, "run_trial", raises_on_sgd_seed_1)
    spec, url = grid_spec(tmp_path, epochs=1, retries=0), _url(tmp_path)
    assert _run(spec, url, "--retries", "3") == 1  # a trial raised: exit 1
    capsys.readouterr()
    trials = stored_trials(url)
    attempts = [t for t in trials if cell(t) == ("sgd", 1)]
    assert sum(1 for t in attempts if TrialRecord.read(t).error) == 4  # 1 + 3 retries
    assert [TrialRecord.read(t).stop_reason for t in attempts].count("crashed") == 1
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 3
    stored = SPEC.get(optuna.load_study(study_name="grid", storage=url).user_attrs)
    assert stored["budget"]["retries"] == 3


@pytest.mark.slow  # about 6 s: two runs stored in SQLite
def test_timeout_starts_no_trial_after_it_and_a_rerun_resumes(tmp_path, capsys, monkeypatch):
    import bench.trial

    def slow(workload: Any, recipe: Recipe, **options: Any):
        time.sleep(0.5)
        return stand_in_trial(workload, recipe, **options)

    monkeypatch.setattr(bench.trial, "run_trial", slow)
    spec, url = grid_spec(tmp_path, epochs=1), _url(tmp_path)
    assert _run(spec, url, "--timeout", "0.2") == 0
    trials = stored_trials(url)
    # The trial running when the time ran out finished; no other started.
    assert [t.state for t in trials if t.state != TrialState.WAITING] == [TrialState.COMPLETE]
    # The queued seed copies carry their recipe's name, so what is left is named.
    queued = [TrialRecord.read(t) for t in trials if t.state == TrialState.WAITING]
    assert queued and {(r.recipe_label, r.seed) for r in queued} <= set(CELLS)
    # The run says it stopped short, and how to go on.
    left = len(CELLS) - 1
    err = capsys.readouterr().err
    assert (
        f"bench: --timeout 0.2 s reached: 1 of {len(CELLS)} trials done, {left} to run; "
        f"resume with: bench run --study {spec} --storage {url}"
    ) in err
    assert "no seed counts: :" not in err  # no nameless recipe among those not run yet
    # The timeout is not part of what the study is: the rerun resumes the same study.
    assert _run(spec, url) == 0
    assert "--timeout" not in capsys.readouterr().err  # no limit given, none reached
    assert optuna.get_all_study_names(url) == ["grid"]
    done = [cell(t) for t in stored_trials(url) if t.state == TrialState.COMPLETE]
    assert sorted(done) == sorted(CELLS)


# ----------------------------------------------------------------------------- bench train


@pytest.mark.slow  # one epoch of training
def test_split_seed_changes_the_split_train_uses_and_the_json_records_it(tmp_path, capsys):
    from bench.workload import load_workload

    out = tmp_path / "result.json"
    argv = ["train", "--train-size", "60", "--epochs", "1", "--split-seed", "3"]
    assert main([*argv, "--json", str(out)]) == 0
    capsys.readouterr()
    workload = json.loads(out.read_text())["workload"]
    assert workload["split_seed"] == 3
    by_seed = {
        seed: load_workload("digits", split_seed=seed, train_size=60).dataset.content_hash
        for seed in (0, 3)
    }
    assert by_seed[0] != by_seed[3]
    assert workload["content_hash"] == by_seed[3]


# ----------------------------------------------------------------------------- dashboard


@pytest.fixture
def dashboard_storage(tmp_path) -> str:
    url = _url(tmp_path)
    optuna.create_study(storage=url, study_name="shown")
    return url


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def test_dashboard_listens_on_the_host_given(dashboard_storage, capsys, monkeypatch):
    from wsgiref.simple_server import WSGIServer

    def one_request(server: WSGIServer, *args: Any, **kwargs: Any) -> None:
        server.timeout = 30  # never hang the test: give up after 30 s without a request
        server.handle_request()

    monkeypatch.setattr(WSGIServer, "serve_forever", one_request)
    host = "127.0.0.2"  # a loopback address other than the default
    port = _free_port(host)
    answers: list[dict] = []

    def ask() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                url = f"http://{host}:{port}/api/studies"
                with urllib.request.urlopen(url, timeout=5) as response:
                    answers.append(json.loads(response.read()))
                    return
            except OSError:
                time.sleep(0.1)

    client = threading.Thread(target=ask)
    client.start()
    try:
        argv = ["dashboard", "--storage", dashboard_storage, "--host", host, "--port", str(port)]
        assert main(argv) == 0
    finally:
        client.join(timeout=40)
    assert [s["study_name"] for s in answers[0]["study_summaries"]] == ["shown"]
    assert f"http://{host}:{port}/dashboard/" in capsys.readouterr().err


def test_a_taken_dashboard_port_is_one_line_and_exit_2(dashboard_storage, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["dashboard", "--storage", dashboard_storage, "--port", str(port)]) == 2
    line = error_line(capsys)  # only the error: no address announced as if it served
    assert f"127.0.0.1:{port}" in line and "--port" in line


# ----------------------------------------------------------------------------- nothing there


def _empty_storage(folder: Path, kind: str) -> Path:
    """A storage with no trials: no file, a database with no study, or a study never run."""
    db = folder / "bench.db"
    if kind == "no study":
        optuna.storages.RDBStorage(f"sqlite:///{db}")
    elif kind == "never run":
        optuna.create_study(storage=f"sqlite:///{db}", study_name="grid")
    return db


@pytest.mark.parametrize(
    ("storage", "study", "fragment"),
    [
        pytest.param("missing", [], "no database file", id="no file"),
        pytest.param("no study", [], "holds no trials yet; run 'bench run'", id="no study"),
        pytest.param("never run", [], "holds no trials yet; run 'bench run'", id="never run"),
        pytest.param(
            "never run", ["--study", "grid"], "study 'grid' in sqlite:///", id="named, never run"
        ),
        pytest.param("no study", ["--study", "grid"], "study 'grid' not found", id="named, none"),
    ],
)
@pytest.mark.parametrize("command", ["report", "best"])
def test_report_and_best_with_no_trials_are_one_line_and_write_nothing(
    tmp_path, capsys, command, storage, study, fragment
):
    db = _empty_storage(tmp_path, storage)
    before = _digest(db)
    out = tmp_path / "reports"
    argv = [command, *study, "--storage", f"sqlite:///{db}"]
    if command == "report":
        argv += ["--out", str(out)]
    assert main(argv) == 2
    line = error_line(capsys)
    assert str(db) in line and fragment in line
    assert capsys.readouterr().out == ""
    assert _digest(db) == before  # a missing one is not created
    assert not out.exists()


def test_show_of_an_unknown_study_names_it_and_the_known_ones(tmp_path, capsys):
    db = tmp_path / "bench.db"
    assert main(["show", "no-such-study", "--storage", f"sqlite:///{db}"]) == 2
    line = error_line(capsys)
    assert "study no-such-study: no such built-in study or file" in line
    assert "--study" not in line  # show takes the study as its argument, not as --study
    assert "optimizers" in line  # the built-in studies it could have meant
    assert not db.exists()
