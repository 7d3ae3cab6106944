"""Bad input against a storage that already holds a study: one line, exit 2, no traceback,
and the storage file byte-for-byte as it was.

(Bad data sources are covered in test_data.py, bad recipe flags in test_cli.py, bad spec
tables in test_spec.py.)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import error_line

from bench.cli import main

PASSWORD = "S3cr3tPw"


@pytest.fixture(scope="module")
def stored(tiny_study, tmp_path_factory):
    """A copy of the tiny study's database, its spec, and a folder to write into."""
    spec, url = tiny_study
    folder = tmp_path_factory.mktemp("bad")
    db = folder / "bench.db"
    shutil.copy(url.removeprefix("sqlite:///"), db)
    return spec, db, folder


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_only_folder() -> Path:
    # Root writes through file modes, so a read-only folder for root is sysfs's top.
    if os.geteuid() == 0:
        return Path("/sys")
    folder = Path("/tmp/bench-read-only")
    folder.mkdir(exist_ok=True)
    folder.chmod(0o555)
    return folder


def _write_spec(folder: Path, name: str, body: str) -> str:
    path = folder / f"{name}.toml"
    path.write_text(f'name = "{name}"\ndescription = "d"\n{body}')
    return str(path)


CASES = {
    "unknown study": (["run", "--study", "nope"], "no such built-in study or file"),
    "n-trials not a multiple of the seeds": (
        ["run", "--study", "{spec}", "--n-trials", "3"],
        "--n-trials: got 3; expected a multiple of the 2 seeds",
    ),
    "zero jobs": (["run", "--study", "{spec}", "--jobs", "0"], "--jobs: got 0"),
    "epochs twice": (
        ["run", "--study", "@epochs-twice"],
        "given both at the top level and as fixed.epochs",
    ),
    "range low above high": (
        ["run", "--study", "@upside-down"],
        "search_space.learning_rate: low 0.1 must be below high 0.001",
    ),
    "not TOML": (["run", "--study", "@not-toml"], "not valid TOML"),
    "report of a missing study": (
        ["report", "--study", "nope", "--out", "{folder}/out"],
        "nope",
    ),
    "report into a read-only folder": (
        ["report", "--out", "{read_only}/reports"],
        "--out {read_only}/reports: cannot write there (",
    ),
    "report --out is a file": (
        ["report", "--out", "{spec}"],
        "--out {spec}: {spec} is a file; expected a folder to write the report into",
    ),
    "dashboard port out of range": (["dashboard", "--port", "70000"], "--port: got 70000"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_leaves_the_storage_untouched(case, stored, capsys):
    spec, db, folder = stored
    _write_spec(
        folder,
        "epochs-twice",
        'epochs = 2\n[fixed]\nepochs = 3\n[search_space]\noptimizer = ["adam"]\n',
    )
    _write_spec(
        folder,
        "upside-down",
        'sampler = "random"\n[budget]\nn_trials = 2\n[search_space]\n'
        "learning_rate = { low = 0.1, high = 0.001 }\n",
    )
    (folder / "not-toml.toml").write_text("name = [unclosed\n")
    argv, fragment = CASES[case]
    values = {"spec": spec, "folder": folder, "read_only": _read_only_folder()}
    argv = [
        str(folder / f"{a[1:]}.toml") if a.startswith("@") else a.format(**values) for a in argv
    ]
    before = _digest(db)
    assert main([*argv, "--storage", f"sqlite:///{db}"]) == 2
    assert fragment.format(**values) in error_line(capsys)
    assert _digest(db) == before


@pytest.mark.parametrize("command", [["run", "--study", "{spec}"], ["report"], ["show", "{spec}"]])
def test_a_file_that_is_not_a_database_is_refused_and_left_as_it_was(command, stored, capsys):
    spec, _, folder = stored
    junk = folder / "junk.db"
    junk.write_bytes(os.urandom(4096))
    before = _digest(junk)
    argv = [a.format(spec=spec) for a in command]
    assert main([*argv, "--storage", f"sqlite:///{junk}"]) == 2
    assert "file is not a database" in error_line(capsys)
    assert _digest(junk) == before


@pytest.mark.parametrize("command", [["run", "--study", "{spec}"], ["report"], ["show", "{spec}"]])
def test_another_applications_database_gains_no_optuna_tables(command, stored, capsys):
    spec, _, folder = stored
    other = folder / "invoices.db"
    if not other.exists():
        with sqlite3.connect(other) as connection:
            connection.execute("CREATE TABLE invoices (id INTEGER, total REAL)")
    before = _digest(other)
    argv = [a.format(spec=spec) for a in command]
    assert main([*argv, "--storage", f"sqlite:///{other}"]) == 2
    assert "a database of another application (tables invoices)" in error_line(capsys)
    assert _digest(other) == before


def test_a_storage_in_a_read_only_folder_is_one_line(capsys):
    url = f"sqlite:///{_read_only_folder()}/bench.db"
    assert main(["run", "--study", "optimizers", "--storage", url]) == 2
    assert f"--storage {url}: cannot open" in error_line(capsys)


def test_no_output_shows_the_storage_password(capsys, monkeypatch):
    url = f"postgresql+psycopg://alice:{PASSWORD}@127.0.0.1:1/bench"
    for argv in (
        ["run", "--study", "optimizers", "--storage", url],
        ["report", "--storage", url],
        ["show", "optimizers", "--storage", url],
        ["dashboard", "--storage", url],
    ):
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert PASSWORD not in captured.out + captured.err
        assert "alice:***@127.0.0.1" in captured.err
    monkeypatch.setenv("BENCH_STORAGE", url)
    assert main(["run", "--study", "optimizers"]) == 2
    assert PASSWORD not in capsys.readouterr().err
