"""Where a trial's epoch goes, and how much faster it is than at an earlier commit.

Each round starts, for each version (this tree and ``--base``, checked out into a
temporary git worktree), two probe processes at once, as the two workers of a
``bench run`` on a 2-core machine: one intra-op thread each. A probe trains the default
study's first candidate (adam, learning rate 1e-3, the ``tiny`` preset on digits, 20
epochs, early stopping as the recipe defaults) on three seeds in one process, so the
first trial traces and the later ones reuse the traced steps as in a study, and reports
its later epochs' times (every epoch after the first of trials 2 and 3). Versions
alternate in order between rounds. In this tree a probe also times an epoch's parts.

Prints per round, then ``name=value`` lines: ``epoch_speedup`` is the median of the
rounds' ratios (base's median later epoch over this tree's).

    .venv/bin/python benchmarks/bench_epoch.py [--rounds 3] [--base 86f4c63]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from _bench_run import ROOT, bench_env, side_by_side, worktree

PROBE = r"""
import json, os, statistics, sys, time
os.environ["KERAS_BACKEND"] = "tensorflow"  # the TensorFlow path, in every version
import numpy as np
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
from bench.recipe import Recipe
from bench.trial import run_trial
from bench.workload import load_workload

workload = load_workload("digits", preset="tiny")
later = []
for seed in (1, 2, 3):
    recipe = Recipe(optimizer="adam", learning_rate=1e-3, weight_decay=0.0, epochs=20, seed=seed)
    result = run_trial(workload, recipe)
    ends = [record["time_s"] for record in result.history]
    if seed > 1:
        later += list(np.diff(ends))
parts = {}
if sys.argv[1] == "parts":  # this tree only: the base version runs "epochs"
    from bench import compiled_model
    from bench.evaluation import EVAL_BATCH_SIZE
    from bench.workload import make_pipeline

    data = workload.dataset
    recipe = Recipe(optimizer="adam", learning_rate=1e-3, weight_decay=0.0, seed=1)
    model = compiled_model(workload, recipe, reuse=True).prepare(
        recipe, steps_per_epoch=int(np.ceil(len(data.train.x) / recipe.batch_size))
    )
    train = make_pipeline(data.train, batch_size=recipe.batch_size, shuffle=True, seed=1)

    def median_s(run, n=15):
        times = []
        for _ in range(n):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    parts["train_steps_s"] = median_s(lambda: model.train_function(iter(train)))
    for name, size in (("validation_32_s", 32), ("validation_s", EVAL_BATCH_SIZE)):
        val = make_pipeline(data.val, batch_size=size, shuffle=False, seed=1)
        model.evaluate(val, verbose=0)
        parts[name] = median_s(lambda: model.evaluate(val, verbose=0))
print(json.dumps({"later_epoch_s": later, **parts}))
"""


def run_pair(tree: Path, *, parts: bool) -> dict:
    """Two probes at once in ``tree``; their later epochs pooled, the first one's parts."""
    env = bench_env(tree)
    modes = ("parts" if parts else "epochs", "epochs")
    probes = [
        subprocess.Popen(
            [sys.executable, "-c", PROBE, mode],
            cwd=tree,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for mode in modes
    ]
    results = []
    for probe in probes:
        out, err = probe.communicate()
        if probe.returncode != 0:
            sys.exit(f"probe in {tree} failed:\n{err[-2000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    pooled = {**results[0], "later_epoch_s": sum((r["later_epoch_s"] for r in results), [])}
    return pooled


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base", default="86f4c63")
    args = parser.parse_args()
    parts: list[dict] = []
    with worktree(args.base) as base:

        def measure(version: str, _round: int) -> float:
            result = run_pair(base if version == "base" else ROOT, parts=version == "here")
            if version == "here":
                parts.append(result)
            return statistics.median(result["later_epoch_s"])

        base_s, today_s, ratios = side_by_side(
            args.rounds, measure, label=lambda s: f"later epoch {s:.4f} s"
        )
    print(f"base={args.base}")
    print(f"rounds={args.rounds}")
    print(f"base_later_epoch_s={statistics.median(base_s):.4f}")
    print(f"later_epoch_s={statistics.median(today_s):.4f}")
    for name in ("train_steps_s", "validation_32_s", "validation_s"):
        print(f"{name}={statistics.median(p[name] for p in parts):.4f}")
    print(f"epoch_speedup={statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
