"""Several workers sharing one study on a real PostgreSQL server, as on several machines.

The server comes from ``$BENCH_TEST_POSTGRES_URL`` (``bash .ci/run`` provides one); each
test gets a database of its own, dropped afterwards. In CI a missing server fails the
tests instead of skipping them.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import optuna
import pytest
from conftest import TINY_SPEC, write_digits_npz
from optuna.trial import TrialState
from run_fixtures import (
    STAND_IN_BENCH,
    STAND_IN_EPOCH_S,
    assert_protocol_ran_once,
    protocol_spec,
    start_run,
    stop_run,
    stored_trials,
    wait_for,
)

from bench._record import TrialRecord

URL_ENV = "BENCH_TEST_POSTGRES_URL"
WORKERS = 4
VARIANTS = ("adam", "sgd", "rmsprop")  # each names its optimizer
SEEDS = (0, 1)  # 6 grid cells: more than workers, so most workers run a second cell


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The SQLAlchemy URL of a PostgreSQL database whose user may create databases."""
    url = os.environ.get(URL_ENV)
    if not url:
        message = (
            f"${URL_ENV} is not set: run 'bash .ci/run', which starts a PostgreSQL server "
            f"and sets it, or export {URL_ENV}=postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB "
            "(a user allowed to create databases)"
        )
        if _in_ci():
            pytest.fail(f"CI needs a PostgreSQL server for these tests. {message}", pytrace=False)
        pytest.skip(message)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        message = "no PostgreSQL driver: pip install -e '.[postgres]'"
        if _in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return url


@contextmanager
def _fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server of ``server_url``; dropped on exit."""
    import sqlalchemy
    from sqlalchemy.engine import make_url

    name = f"bench_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                # FORCE: this process's own Optuna engines may still hold connections.
                connection.execute(sqlalchemy.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test (an Optuna storage URL)."""
    with _fresh_database(postgres_server) as url:
        yield url


def _shows(text: str | bytes, password: str) -> bool:
    """Whether ``text`` contains ``password``, even split by a line wrap (rich wraps output
    to the terminal width)."""
    if isinstance(text, str):
        text = text.encode()
    return password.encode() in b"".join(text.split())


def _password(url: str) -> str:
    from sqlalchemy.engine import make_url

    password = make_url(url).password
    assert password, f"{URL_ENV} must carry a password for the redaction test"
    return password


@pytest.fixture(scope="module")
def grid_on_postgres(postgres_server, tmp_path_factory):
    """4 ``bench run --jobs 1`` processes started at once, as on 4 machines, on one 3 x 2
    grid study (1 epoch) in a fresh PostgreSQL database; their trials train nothing (the
    test is about the processes and the storage). Returns (storage URL,
    [(exit status, stdout, stderr)] of the processes)."""
    folder = tmp_path_factory.mktemp("postgres")
    npz = write_digits_npz(folder / "digits.npz")
    text = TINY_SPEC.format(npz=npz).replace('name = "tiny"', 'name = "pg-grid"')
    text = text.replace("epochs = 2", "epochs = 1")
    text = text.split("[[variants]]")[0] + "".join(
        f'[[variants]]\nname = "{name}"\noptimizer = "{name}"\n\n' for name in VARIANTS
    )
    spec = folder / "pg-grid.toml"
    spec.write_text(text)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", STAND_IN_EPOCH_S: "0.2"}
    env.pop("BENCH_STORAGE", None)
    with _fresh_database(postgres_server) as url:
        command = [
            *(sys.executable, str(STAND_IN_BENCH), "run", "--study", str(spec)),
            *("--storage", url, "--jobs", "1"),
        ]
        workers = [
            subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
            )
            for _ in range(WORKERS)
        ]
        # One deadline for the 4 of them, not 600 s each.
        deadline = time.monotonic() + 600
        results = []
        try:
            for worker in workers:
                out, err = worker.communicate(timeout=max(deadline - time.monotonic(), 1))
                results.append((worker.returncode, out, err))
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.communicate(timeout=60)
        yield url, results


@pytest.mark.slow
def test_four_workers_run_every_grid_cell_exactly_once(grid_on_postgres):
    url, results = grid_on_postgres
    for returncode, _, err in results:
        assert returncode == 0, err[-3000:]
    study = optuna.load_study(study_name="pg-grid", storage=url)
    trials = study.get_trials(deepcopy=False)
    complete = Counter(
        (t.params["variant"], t.user_attrs["seed"])
        for t in trials
        if t.state == TrialState.COMPLETE
    )
    assert all("seed" not in t.params for t in trials)
    expected = {(variant, seed) for variant in VARIANTS for seed in SEEDS}
    assert set(complete) == expected, sorted(complete)
    assert all(count == 1 for count in complete.values()), complete
    assert not [t.number for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert [s.study_name for s in optuna.get_all_study_summaries(url)] == ["pg-grid"]


@pytest.mark.slow
def test_the_workers_never_print_the_password(grid_on_postgres):
    url, results = grid_on_postgres
    password = _password(url)
    for _, out, err in results:
        shown = (out + err)[-1500:].replace(password, "<password>")
        assert not _shows(out, password) and not _shows(err, password), shown


@pytest.mark.slow
def test_the_report_of_a_postgres_study_never_shows_the_password(grid_on_postgres, tmp_path):
    url, _ = grid_on_postgres
    password = _password(url)
    out_dir = tmp_path / "reports"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    report = subprocess.run(
        [sys.executable, "-m", "bench", "report", "--storage", url, "--out", str(out_dir)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert report.returncode == 0, report.stderr[-3000:]
    assert (out_dir / "pg-grid" / "index.html").is_file()
    assert (out_dir / "pg-grid" / "trials.csv").is_file()
    for stream in (report.stdout, report.stderr):
        assert not _shows(stream, password), stream[-1500:].replace(password, "<password>")
    leaking = [
        str(path.relative_to(out_dir))
        for path in sorted(out_dir.rglob("*"))
        if path.is_file() and _shows(path.read_bytes(), password)
    ]
    assert not leaking, f"the storage password is written in {leaking}"


def test_each_test_gets_an_empty_database_of_its_own(postgres_url, postgres_server):
    from sqlalchemy.engine import make_url

    assert make_url(postgres_url).database != make_url(postgres_server).database
    assert optuna.get_all_study_summaries(postgres_url) == []
    optuna.create_study(study_name="scratch", storage=postgres_url)
    assert [s.study_name for s in optuna.get_all_study_summaries(postgres_url)] == ["scratch"]


@pytest.mark.slow
def test_the_protocol_on_postgres_survives_a_killed_bench_run_of_two(postgres_url, tmp_path):
    """Two ``bench run --jobs 1`` processes (as on two machines) on the tuning protocol;
    one is killed with SIGKILL in the middle of a trial; the other finishes the study
    after its trial's heartbeat goes silent, or a rerun does; every slot runs once."""
    spec = protocol_spec(tmp_path)
    run = functools.partial(start_run, spec, postgres_url, "--jobs", "1")
    first = run(log=tmp_path / "first.log", stand_in_epoch_s=0.5)
    second = run(log=tmp_path / "second.log", stand_in_epoch_s=0.5)
    try:
        wait_for(lambda: _running_owned_by(postgres_url, first.pid))
        os.kill(first.pid, signal.SIGKILL)
        assert second.wait(timeout=600) == 0, (tmp_path / "second.log").read_text()
    finally:
        stop_run(first)
        stop_run(second)
    rerun = run(log=tmp_path / "rerun.log", stand_in_epoch_s=0)
    try:
        assert rerun.wait(timeout=600) == 0, (tmp_path / "rerun.log").read_text()
    finally:
        stop_run(rerun)
    assert_protocol_ran_once(postgres_url)


def _running_owned_by(url: str, pid: int) -> bool:
    running = [t for t in stored_trials(url, "protocol") if t.state == TrialState.RUNNING]
    return any(TrialRecord.read(t).pid == pid and t.intermediate_values for t in running)
