"""What the benchmark scripts share: running ``bench run`` as a user does, and checking
out an earlier commit to run side by side."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench_env(tree: Path | None = None) -> dict[str, str]:
    """This environment for a ``bench`` process: TensorFlow's start-up chatter off, no
    ``$BENCH_STORAGE`` or backend choice from the caller (each version runs on its
    default backend), and ``tree``'s ``bench`` first when given."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    for name in ("BENCH_STORAGE", "BENCH_BACKEND", "KERAS_BACKEND"):
        env.pop(name, None)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env


def timed_bench_run(
    study: str,
    storage: str,
    *extra: str,
    tree: Path = ROOT,
    env: dict[str, str] | None = None,
) -> float:
    """Seconds for one ``bench run --study STUDY --storage URL`` in a process of its own,
    with ``tree``'s ``bench``; exits with its error output when it fails.

    With another ``tree``, name its spec by path: a built-in name resolves through the
    installed (editable) package to this tree's ``studies/``. ``env`` adds variables.
    """
    command = [sys.executable, "-m", "bench", "run", "--study", study, "--storage", storage]
    command += list(extra)
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=tree,
        env={**bench_env(None if tree == ROOT else tree), **(env or {})},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(
            f"{' '.join(command)} in {tree} failed ({done.returncode}):\n{done.stderr[-2000:]}"
        )
    return time.perf_counter() - started


@contextmanager
def worktree(commit: str) -> Iterator[Path]:
    """``commit`` checked out in a temporary git worktree, removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(path), commit],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            yield path
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT)


def side_by_side(
    rounds: int, measure: Callable[[str, int], float], *, label: Callable[[str], str]
) -> tuple[list[float], list[float], list[float]]:
    """``measure("base", i)`` and ``measure("here", i)`` for each round ``i``, in an order
    that alternates between rounds (so neither version always runs on a warmer machine);
    prints each round and returns the base values, this tree's values and their ratios.
    ``label`` formats one value for the round's line."""
    base_s, here_s, ratios = [], [], []
    for i in range(rounds):
        order = ("base", "here") if i % 2 == 0 else ("here", "base")
        timed = {version: measure(version, i) for version in order}
        base_s.append(timed["base"])
        here_s.append(timed["here"])
        ratios.append(timed["base"] / timed["here"])
        print(
            f"round {i + 1}: base {label(timed['base'])}, here {label(timed['here'])}, "
            f"ratio {ratios[-1]:.3f}",
            flush=True,
        )
    return base_s, here_s, ratios
