"""Does memory grow as one process runs trial after trial with reuse, and how much does
each preset need?

Runs 40 short trials (tiny preset, 160 training images, 1 epoch) cycling through the
eight optimizers, two schedules and a new seed every trial, and reads the process's peak
resident memory after trials 5 and 40. Then, in one fresh process per preset, runs two
one-epoch trials and reads its peak resident memory.

    .venv/bin/python benchmarks/bench_memory.py [--trials 40]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path


def peak_rss_mib() -> float:
    """This process's peak resident memory so far: VmHWM of /proc/self/status (Linux).

    Not ``getrusage``: Linux carries ``ru_maxrss`` across ``exec``, so a preset measured
    in a child process would report this parent's peak instead of its own.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (this benchmark needs Linux)")


def sequence(trials: int) -> dict[int, float]:
    from bench.recipe import OPTIMIZERS, Recipe
    from bench.trial import run_trial
    from bench.workload import load_workload

    workload = load_workload("digits", preset="tiny", train_size=160)
    peaks = {}
    for i in range(1, trials + 1):
        recipe = Recipe(
            optimizer=OPTIMIZERS[i % len(OPTIMIZERS)],
            schedule=("constant", "warmup_cosine")[i % 2],
            warmup_epochs=0,
            epochs=1,
            seed=i,
        )
        run_trial(workload, recipe, reuse=True)
        peaks[i] = peak_rss_mib()
        print(f"trial {i}: peak RSS {peaks[i]:.0f} MiB", flush=True)
    return peaks


def one_preset(preset: str) -> None:
    from bench.recipe import Recipe
    from bench.trial import run_trial
    from bench.workload import load_workload

    workload = load_workload("digits", preset=preset, train_size=128)
    for seed in (0, 1):
        run_trial(workload, Recipe(epochs=1, seed=seed), reuse=True)
    print(f"{peak_rss_mib():.0f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--preset")
    args = parser.parse_args()
    if args.preset:
        one_preset(args.preset)
        return
    peaks = sequence(args.trials)
    lines = [
        f"peak_rss_trial5_mib={peaks[5]:.0f}",
        f"peak_rss_trial{args.trials}_mib={peaks[args.trials]:.0f}",
        f"rss_growth={peaks[args.trials] / peaks[5]:.3f}",
    ]
    for preset in ("tiny", "small", "keras-io"):
        out = subprocess.run(
            [sys.executable, __file__, "--preset", preset],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        lines.append(f"peak_rss_{preset.replace('-', '_')}_mib={out[-1]}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
