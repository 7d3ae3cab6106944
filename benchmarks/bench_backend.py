"""Keras on JAX against Keras on TensorFlow: later epochs, and the first epoch's excess
with a cold and a warm JAX compilation cache.

Each probe is one process that trains the README's workload (digits, preset ``tiny``,
Adam at 1e-3, batch 32, no early stopping) through :func:`bench.trial.run_trial` for
``--epochs`` epochs. Probes run two at once, as a study's two workers do, each with the
environment ``bench run --jobs 2`` gives its workers (one core each). Each round runs,
in alternating order, a TensorFlow pair and a JAX pair with a warm cache (primed once,
before the rounds, by one probe), then a JAX pair with an empty cache of its own, then
one probe of each backend alone.

Prints each round and ``name=value`` lines (medians over rounds; a round's figure is
the median over both probes):

- ``backend_epoch_speedup``: TensorFlow's later epoch over JAX's (two probes at once);
  ``backend_epoch_speedup_alone``: the same with one probe alone on the machine;
- ``first_epoch_excess_s`` (JAX, warm cache), ``first_epoch_excess_cold_s`` (JAX, empty
  cache) and ``first_epoch_excess_tf_s``: the first epoch minus the median later one.

    .venv/bin/python benchmarks/bench_backend.py [--rounds 3] [--epochs 8]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _bench_run import ROOT, bench_env

from bench.backend import JAX_CACHE_ENV, worker_environments

WORKERS = 2


def probe(out: Path, *, epochs: int, workers: int) -> None:
    """One probe (run in its own process): write its epochs' seconds to ``out``."""
    from bench.recipe import Recipe
    from bench.study import set_thread_budget
    from bench.trial import run_trial
    from bench.workload import load_workload

    set_thread_budget(workers)
    recipe = Recipe(optimizer="adam", learning_rate=1e-3, epochs=epochs, early_stopping=False)
    result = run_trial(load_workload("digits"), recipe, reuse=False)
    ends = [record["time_s"] for record in result.history]
    epoch_s = [ends[0]] + [b - a for a, b in itertools.pairwise(ends)]
    out.write_text(json.dumps({"epoch_s": epoch_s, "backend": result.backend}))


def run_pair(
    backend: str, *, epochs: int, folder: Path, cache: Path, tag: str, workers: int = WORKERS
) -> dict:
    """``workers`` probes at once (two by default, as a study's two workers; one, alone
    on the machine, as ``--jobs 1``); returns their median later epoch and first-epoch
    excess."""
    processes, outs = [], []
    for index, worker in enumerate(worker_environments(jobs=workers, backend=backend, gpus=[])):
        out = folder / f"{tag}-{index}.json"
        env = {**bench_env(), **worker, JAX_CACHE_ENV: str(cache)}
        command = [sys.executable, __file__, "--probe", str(out), "--epochs", str(epochs)]
        command += ["--workers", str(workers)]
        processes.append(subprocess.Popen(command, env=env, cwd=ROOT))
        outs.append(out)
    for process in processes:
        if process.wait() != 0:
            sys.exit(f"a {backend} probe failed")
    later, excess = [], []
    for out in outs:
        result = json.loads(out.read_text())
        assert result["backend"] == backend, result
        epoch_s = result["epoch_s"]
        later_s = statistics.median(epoch_s[1:])
        later.append(later_s)
        excess.append(epoch_s[0] - later_s)
    return {"later_s": statistics.median(later), "excess_s": statistics.median(excess)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--probe", type=Path)
    parser.add_argument("--workers", type=int, default=WORKERS)
    args = parser.parse_args()
    if args.probe is not None:
        probe(args.probe, epochs=args.epochs, workers=args.workers)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        warm = folder / "warm-cache"
        run_pair("jax", epochs=2, folder=folder, cache=warm, tag="prime")
        speedups, warm_excess, cold_excess, tf_excess, alone = [], [], [], [], []
        for i in range(args.rounds):
            order = ("tensorflow", "jax") if i % 2 == 0 else ("jax", "tensorflow")
            pairs = {
                backend: run_pair(
                    backend, epochs=args.epochs, folder=folder, cache=warm, tag=f"{backend}-{i}"
                )
                for backend in order
            }
            cold = run_pair(
                "jax", epochs=args.epochs, folder=folder, cache=folder / f"cold-{i}", tag=f"c{i}"
            )
            single = {
                backend: run_pair(
                    backend,
                    epochs=args.epochs,
                    folder=folder,
                    cache=warm,
                    tag=f"alone-{backend}-{i}",
                    workers=1,
                )
                for backend in order
            }
            alone.append(single["tensorflow"]["later_s"] / single["jax"]["later_s"])
            speedups.append(pairs["tensorflow"]["later_s"] / pairs["jax"]["later_s"])
            warm_excess.append(pairs["jax"]["excess_s"])
            cold_excess.append(cold["excess_s"])
            tf_excess.append(pairs["tensorflow"]["excess_s"])
            print(
                f"round {i + 1}: later epoch tensorflow {pairs['tensorflow']['later_s']:.3f} s, "
                f"jax {pairs['jax']['later_s']:.3f} s ({speedups[-1]:.2f}x); first-epoch "
                f"excess jax warm {warm_excess[-1]:.2f} s, cold {cold_excess[-1]:.2f} s, "
                f"tensorflow {tf_excess[-1]:.2f} s; one probe alone: tensorflow "
                f"{single['tensorflow']['later_s']:.3f} s, jax {single['jax']['later_s']:.3f} s",
                flush=True,
            )
    print(f"rounds={args.rounds}")
    print(f"cpu_count={os.cpu_count()}")
    print(f"backend_epoch_speedup={statistics.median(speedups):.3f}")
    print(f"backend_epoch_speedup_alone={statistics.median(alone):.3f}")
    print(f"first_epoch_excess_s={statistics.median(warm_excess):.3f}")
    print(f"first_epoch_excess_cold_s={statistics.median(cold_excess):.3f}")
    print(f"first_epoch_excess_tf_s={statistics.median(tf_excess):.3f}")


if __name__ == "__main__":
    main()
