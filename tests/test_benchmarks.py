"""The benchmarks start: a name moved or made private in ``bench`` breaks a test here, not
someone running a measurement from BENCHMARKS.md.

Each benchmark's docstring shows the command that runs it (``python benchmarks/NAME.py``,
or ``python -m benchmarks.NAME`` from the repository root); that command with ``--help``
must print the usage and exit 0. The imports a ``--help`` never reaches (inside
functions, and in the probe programs a benchmark starts as ``python -c``) are checked
statically: each names a public module and a name it defines.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted((ROOT / "benchmarks").glob("bench_*.py"))
#: The command line a benchmark's docstring shows, without the interpreter's folder.
USAGE = re.compile(r"^\s*(?:\.venv/bin/)?python (benchmarks/\w+\.py|-m benchmarks\.\w+)", re.M)

by_name = pytest.mark.parametrize("script", BENCHMARKS, ids=lambda path: path.stem)


def documented_command(script: Path) -> list[str]:
    """The arguments after ``python`` of the command the benchmark's docstring shows."""
    docstring = ast.get_docstring(ast.parse(script.read_text())) or ""
    found = USAGE.search(docstring)
    assert found, f"{script.name}: the docstring shows no 'python benchmarks/...' command"
    command = found.group(1).split()
    assert command[-1].removesuffix(".py").endswith(script.stem), f"{script.name}: {command}"
    return command


def bench_imports(script: Path) -> Iterator[tuple[str, str | None]]:
    """(module, name) for each import from ``bench`` in the script and in the programs it
    holds as strings (name None for ``import bench.x``)."""
    tree = ast.parse(script.read_text())
    constants = [
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
    ]
    programs = [tree, *(ast.parse(c) for c in constants if isinstance(c, str) and "import" in c)]
    for node in (n for program in programs for n in ast.walk(program)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "bench":
            yield from ((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from ((a.name, None) for a in node.names if a.name.split(".")[0] == "bench")


def defines(module: ModuleType, name: str) -> bool:
    """Whether ``from module import name`` finds ``name``: an attribute or a submodule."""
    if hasattr(module, name):
        return True
    submodule = f"{module.__name__}.{name}"
    return hasattr(module, "__path__") and importlib.util.find_spec(submodule) is not None


def test_every_benchmark_is_found() -> None:
    assert len(BENCHMARKS) >= 10, BENCHMARKS


@pytest.mark.slow  # each start imports bench, some Keras: about 30 s for all of them
@by_name
def test_documented_command_answers_help(script: Path) -> None:
    done = subprocess.run(
        [sys.executable, *documented_command(script), "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("usage:"), f"--help did not print the usage:\n{done.stdout}"


@by_name
def test_imports_only_public_names_that_exist(script: Path) -> None:
    source = script.read_text()
    assert "sys.path" not in source, f"{script.name} edits sys.path; bench is installed"
    for module, name in bench_imports(script):
        where = f"{script.name}: {module}{'' if name is None else f' {name}'}"
        assert not any(part.startswith("_") for part in module.split(".")), where
        imported = importlib.import_module(module)
        if name is not None:
            assert not name.startswith("_"), where
            assert defines(imported, name), where
