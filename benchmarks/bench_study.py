"""The built-in ``optimizers`` study here against an earlier commit, side by side.

Each round runs ``bench run --study optimizers`` with default flags twice, as separate
processes into fresh SQLite files, in alternating order: once from this tree with the
study cut to the earlier commit's size (final seeds 1-3: 72 trials), once from the
earlier commit checked out into a temporary git worktree (its own ``optimizers`` spec,
72 trials). Prints per round, then ``name=value`` lines: ``study_speedup`` is the median
of the rounds' ratios (earlier time over this tree's).

    .venv/bin/python benchmarks/bench_study.py [--rounds 3] [--base 86f4c63]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sized_spec(folder: Path) -> Path:
    """This tree's ``optimizers`` spec with the earlier size: final seeds 1-3."""
    text = (ROOT / "studies" / "optimizers.toml").read_text()
    text = re.sub(r"(?m)^final_seeds = \[.*\]$", "final_seeds = [1, 2, 3]", text, count=1)
    path = folder / "optimizers.toml"
    path.write_text(text)
    return path


def run_study(tree: Path, study: str, *, storage: Path) -> float:
    """Seconds for one ``bench run`` of ``study`` with the ``bench`` of ``tree``."""
    command = [sys.executable, "-m", "bench", "run", "--study", study]
    command += ["--storage", f"sqlite:///{storage}"]
    env = {**os.environ, "PYTHONPATH": str(tree), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("BENCH_STORAGE", None)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(
            f"{' '.join(command)} in {tree} failed ({done.returncode}):\n{done.stderr[-2000:]}"
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base", default="86f4c63")
    args = parser.parse_args()
    ratios, base_s, here_s = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = folder / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base), args.base],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        spec = sized_spec(folder)
        try:
            for i in range(args.rounds):
                order = ("base", "here") if i % 2 == 0 else ("here", "base")
                timed = {}
                for version in order:
                    storage = folder / f"{version}-{i}.db"
                    if version == "base":
                        timed[version] = run_study(base, "optimizers", storage=storage)
                    else:
                        timed[version] = run_study(ROOT, str(spec), storage=storage)
                base_s.append(timed["base"])
                here_s.append(timed["here"])
                ratios.append(timed["base"] / timed["here"])
                print(
                    f"round {i + 1}: {args.base} {timed['base']:.1f} s, here "
                    f"{timed['here']:.1f} s, ratio {ratios[-1]:.2f}",
                    flush=True,
                )
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT)
    print(f"base={args.base}")
    print(f"rounds={args.rounds}")
    print(f"base_s={statistics.median(base_s):.1f}")
    print(f"study_s={statistics.median(here_s):.1f}")
    print(f"study_speedup={statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
