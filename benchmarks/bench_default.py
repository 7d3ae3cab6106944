"""What a new user gains from the defaults: the README's first command (one worker per
core, traced steps reused) against one worker with reuse off.

Each round runs ``bench run --study STUDY`` twice as separate processes, each into a
fresh SQLite file, in alternating order: once as the README runs it, once with
``--jobs 1`` and ``BENCH_REUSE=0``. Prints per round and, at the end, ``name=value``
lines: the median ratio of the two wall times and the medians themselves. The install
step is not timed (it is the same either way).

    .venv/bin/python benchmarks/bench_default.py [--rounds 3] [--study optimizers] [--epochs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_study(study: str, *, default: bool, epochs: int | None, folder: Path) -> float:
    """Seconds for one ``bench run`` of ``study`` into a new storage under ``folder``."""
    storage = folder / f"{'default' if default else 'baseline'}-{time.monotonic_ns()}.db"
    command = [sys.executable, "-m", "bench", "run", "--study", study]
    command += ["--storage", f"sqlite:///{storage}"]
    if epochs:
        command += ["--epochs", str(epochs)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("BENCH_STORAGE", None)
    if not default:
        command += ["--jobs", "1"]
        env["BENCH_REUSE"] = "0"
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--study", default="optimizers")
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    ratios, defaults, baselines = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            order = (True, False) if i % 2 == 0 else (False, True)
            timed = {
                default: run_study(
                    args.study, default=default, epochs=args.epochs, folder=Path(tmp)
                )
                for default in order
            }
            defaults.append(timed[True])
            baselines.append(timed[False])
            ratios.append(timed[False] / timed[True])
            print(
                f"round {i + 1}: default {timed[True]:.1f} s, one worker without reuse "
                f"{timed[False]:.1f} s, ratio {ratios[-1]:.2f}",
                flush=True,
            )
    print(f"study={args.study}")
    print(f"rounds={args.rounds}")
    print(f"default_s={statistics.median(defaults):.1f}")
    print(f"baseline_s={statistics.median(baselines):.1f}")
    print(f"default_speedup={statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
