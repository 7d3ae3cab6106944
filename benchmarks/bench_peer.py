"""``bench run`` against KerasTuner on the same eight trials, both with their defaults.

The trials: the eight optimizers of ``optimizers-fixed`` at its learning rates, seed 0,
8 epochs, no early stopping, ``bench``'s own ViT (tiny preset) and digits splits. One
side is ``bench run`` on that study (written to a temporary spec file); the other is
KerasTuner's ``GridSearch`` over an ``optimizer`` choice, fitting NumPy arrays as its
documentation does. Both run as fresh processes, so process start and imports count on
each side; they alternate order per round. ``bench run`` runs on its default backend
(JAX); KerasTuner runs on Keras's own default, TensorFlow, as a user who sets nothing
gets it, and (``--peer-backend jax``) on JAX too. Printed at the end: ``peer_ratio``
(median of KerasTuner's time over ``bench run``'s) and both medians.

KerasTuner is a benchmark-only dependency: ``pip install -e '.[benchmarks]'``.

    .venv/bin/python benchmarks/bench_peer.py [--rounds 3]
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

from _bench_run import ROOT

EPOCHS = 8
BASE_STUDY = "optimizers-fixed"


def write_spec(folder: Path) -> Path:
    """The base study with one seed, ``EPOCHS`` epochs and early stopping off."""
    text = (ROOT / "studies" / f"{BASE_STUDY}.toml").read_text()
    text = text.replace(f'name = "{BASE_STUDY}"', 'name = "peer"', 1)
    text = re.sub(r"(?m)^seeds = \[.*\]$", "seeds = [0]", text, count=1)
    text = text.replace("epochs = 20", f"epochs = {EPOCHS}", 1)
    text = text.replace("[fixed]\n", "[fixed]\nearly_stopping = false\n", 1)
    path = folder / "peer.toml"
    path.write_text(text)
    return path


def _env(backend: str | None = None) -> dict[str, str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    for name in ("BENCH_STORAGE", "BENCH_BACKEND", "KERAS_BACKEND"):
        env.pop(name, None)
    if backend is not None:
        env["KERAS_BACKEND"] = backend
    return env


def timed(command: list[str], *, backend: str | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=_env(backend), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def run_bench(spec: Path, folder: Path) -> float:
    storage = f"sqlite:///{folder / f'bench-{time.monotonic_ns()}.db'}"
    return timed([sys.executable, "-m", "bench", "run", "--study", str(spec), "--storage", storage])


def run_kerastuner(spec: Path, folder: Path, *, backend: str) -> float:
    directory = folder / f"kerastuner-{time.monotonic_ns()}"
    command = [sys.executable, __file__, "--kerastuner", str(spec), str(directory)]
    return timed(command, backend=backend)


def kerastuner_search(spec_path: Path, directory: Path) -> None:
    """KerasTuner's side, in its own process: GridSearch over the spec's variants."""
    import keras_tuner

    from bench import keras
    from bench.recipe import build_loss, build_optimizer
    from bench.spec import load_spec
    from bench.workload import build_vit

    spec = load_spec(str(spec_path))
    workload = spec.workload.load()
    data = workload.dataset
    if data.task != "binary":
        sys.exit(f"the KerasTuner side compiles a binary task's metrics, not {data.task!r}")
    steps_per_epoch = -(-len(data.train.x) // 32)

    def build_model(hp: keras_tuner.HyperParameters) -> keras.Model:
        recipe = spec.recipe({"variant": hp.Choice("variant", list(spec.variants))})
        model = build_vit(
            workload.preset,
            channels=data.input_shape[-1],
            num_outputs=data.num_outputs,
            task=data.task,
            dropout=recipe.dropout,
            head_dropout=recipe.head_dropout,
            augment=recipe.augment,
            seed=recipe.seed,
        )
        model.compile(
            optimizer=build_optimizer(recipe, steps_per_epoch=steps_per_epoch),
            loss=build_loss(recipe, task=data.task),
            # The metrics a trial computes, as a KerasTuner user writes them.
            metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
        )
        return model

    keras.utils.set_random_seed(spec.seeds[0])
    tuner = keras_tuner.GridSearch(
        build_model, objective="val_loss", seed=spec.seeds[0], directory=str(directory)
    )
    tuner.search(
        data.train.x,
        data.train.y,
        epochs=EPOCHS,
        validation_data=(data.val.x, data.val.y),
        verbose=0,
    )
    trials = tuner.oracle.trials
    if len(trials) != len(spec.variants):
        sys.exit(f"KerasTuner ran {len(trials)} trials, expected {len(spec.variants)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peer-backend", default="tensorflow", choices=("tensorflow", "jax"))
    parser.add_argument("--kerastuner", nargs=2, metavar=("SPEC", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.kerastuner:
        kerastuner_search(Path(args.kerastuner[0]), Path(args.kerastuner[1]))
        return
    ours, theirs, ratios = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spec = write_spec(folder)
        for i in range(args.rounds):
            if i % 2 == 0:
                bench_s = run_bench(spec, folder)
                peer_s = run_kerastuner(spec, folder, backend=args.peer_backend)
            else:
                peer_s = run_kerastuner(spec, folder, backend=args.peer_backend)
                bench_s = run_bench(spec, folder)
            ours.append(bench_s)
            theirs.append(peer_s)
            ratios.append(peer_s / bench_s)
            print(
                f"round {i + 1}: bench run {bench_s:.1f} s, KerasTuner {peer_s:.1f} s, "
                f"ratio {ratios[-1]:.2f}",
                flush=True,
            )
    print(f"rounds={args.rounds}")
    print(f"peer_backend={args.peer_backend}")
    print(f"bench_s={statistics.median(ours):.1f}")
    print(f"kerastuner_s={statistics.median(theirs):.1f}")
    print(f"peer_ratio={statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
