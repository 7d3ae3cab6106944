"""Would several trials of one candidate, trained as towers of one compiled program, beat
running them one after another as ``bench run`` does?

The default ``optimizers`` study runs, per optimizer, 6 tuning trials (seed 0, six
learning rates) and 5 final trials (one rate, seeds 1-5), nearly all for their full 20
epochs. This script takes a group of that shape (adam, 6 rates from 1e-4 to 1e-2 on a log
scale, seed 0, 20 epochs) and trains it three ways, each in a process of its own with
one thread, as one worker of a ``bench run`` on a 2-core machine:

- ``sequential``: six ``run_trial`` calls, as a worker runs them (one traced step,
  reused; Keras's ``fit`` with the recipe's callbacks, early stopping off so that every
  way trains 20 epochs);
- ``towers``: six ViTs, each with its own Adam, stepped by one ``tf.function`` per
  batch and validated by another (the same graph, without XLA);
- ``towers_xla``: the same two functions with ``jit_compile=True`` (XLA fuses the
  kernels; it compiles each batch shape once).

The towers see the same batches (the six tuning trials share seed 0, so they do in a
study too) and, unlike ``fit``, compute no training metrics, so they do a little less
work than the trials. Prints each way's seconds, then ``name=value`` lines:
``towers_xla_speedup`` (sequential over ``towers_xla``, compiling included),
``towers_speedup`` (sequential over ``towers``), ``xla_compile_s`` (the first epoch's
excess over a later one) and ``xla_loss_drift`` (the largest difference between the
towers' final training losses with and without XLA: the numbers a recipe produces).

    .venv/bin/python benchmarks/bench_towers.py [--rounds 1] [--towers 6] [--epochs 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from _bench_run import ROOT, bench_env

PROBE = r"""
import json, statistics, sys, time
import numpy as np
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
import keras
from bench.recipe import Recipe, build_loss
from bench.evaluation import EVAL_BATCH_SIZE, roc_auc
from bench.trial import run_trial, seed_everything
from bench.workload import build_vit, get_preset, load_workload, make_pipeline

mode, towers, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rates = np.geomspace(1e-4, 1e-2, towers)
workload = load_workload("digits", preset="tiny")
data = workload.dataset
started = time.perf_counter()
out = {"mode": mode}
if mode == "sequential":
    for rate in rates:
        recipe = Recipe(optimizer="adam", learning_rate=float(rate), weight_decay=0.0,
                        epochs=epochs, seed=0, early_stopping=False)
        run_trial(workload, recipe)
else:
    recipe = Recipe(optimizer="adam", seed=0)
    seed_everything(0)
    models = [
        build_vit(get_preset("tiny"), channels=data.input_shape[-1], num_outputs=data.num_outputs,
                  task=data.task, seed=0)
        for _ in rates
    ]
    for model in models[1:]:
        model.set_weights(models[0].get_weights())
    optimizers = [keras.optimizers.Adam(learning_rate=float(rate)) for rate in rates]
    for model, optimizer in zip(models, optimizers):
        optimizer.build(model.trainable_variables)
    loss_fn = build_loss(recipe, task=data.task)
    xla = mode == "towers_xla"

    @tf.function(jit_compile=xla)
    def train_step(x, y):
        losses = []
        for model, optimizer in zip(models, optimizers):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(grads, model.trainable_variables)
            losses.append(loss)
        return tf.stack(losses)

    @tf.function(jit_compile=xla)
    def predict_step(x):
        return tf.stack([model(x, training=False) for model in models])

    train = make_pipeline(data.train, batch_size=recipe.batch_size, shuffle=True, seed=0)
    val = make_pipeline(data.val, batch_size=EVAL_BATCH_SIZE, shuffle=False, seed=0)
    ends, last = [], None
    for _ in range(epochs):
        for x, y in train:
            last = train_step(x, y)
        scores = np.concatenate([predict_step(x).numpy() for x, _ in val], axis=1)
        aucs = [roc_auc(data.val.y, s[:, 0], task=data.task) for s in scores]
        ends.append(time.perf_counter() - started)
    epoch_s = np.diff([0.0] + ends)
    out["first_epoch_s"] = float(epoch_s[0])
    out["later_epoch_s"] = float(statistics.median(epoch_s[1:]))
    out["final_losses"] = [float(v) for v in last.numpy()]
    out["val_aucs"] = aucs
out["seconds"] = time.perf_counter() - started
print(json.dumps(out))
"""

MODES = ("sequential", "towers", "towers_xla")


def probe(mode: str, *, towers: int, epochs: int) -> dict:
    """One way of training the group, in a fresh process; its JSON line."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode, str(towers), str(epochs)],
        cwd=ROOT,
        env=bench_env(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"probe {mode} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--towers", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    ratios: dict[str, list[float]] = {"towers_xla_speedup": [], "towers_speedup": []}
    compile_s, drift = [], []
    for round_number in range(1, args.rounds + 1):
        order = MODES if round_number % 2 else tuple(reversed(MODES))
        results = {mode: probe(mode, towers=args.towers, epochs=args.epochs) for mode in order}
        for mode in MODES:
            print(f"round {round_number}: {json.dumps(results[mode])}", flush=True)
        sequential = results["sequential"]["seconds"]
        ratios["towers_xla_speedup"].append(sequential / results["towers_xla"]["seconds"])
        ratios["towers_speedup"].append(sequential / results["towers"]["seconds"])
        xla = results["towers_xla"]
        compile_s.append(xla["first_epoch_s"] - xla["later_epoch_s"])
        plain = results["towers"]["final_losses"]
        drift.append(max(abs(a - b) for a, b in zip(xla["final_losses"], plain, strict=True)))
    for name, values in ratios.items():
        print(f"{name}={statistics.median(values):.3f}")
    print(f"xla_compile_s={statistics.median(compile_s):.1f}")
    print(f"xla_loss_drift={statistics.median(drift):.2e}")


if __name__ == "__main__":
    main()
