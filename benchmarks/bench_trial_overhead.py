"""What a bench trial costs over the same recipe trained by a plain ``model.fit`` script.

Three ways to train the same recipe (tiny preset, digits, 20 epochs, no early stopping),
interleaved so machine noise hits them alike, each repeated REPEATS times:

- plain: build the ViT, compile, ``model.fit`` on NumPy arrays, ``model.evaluate`` on test;
- trial: :func:`bench.trial.run_trial` (tf.data pipeline, history, all three splits scored);
- study: the same trial through the Optuna objective into an SQLite storage.

Prints the median seconds of each and the ratios trial/plain and study/trial. Not a test:
run it by hand and record the numbers in BENCHMARKS.md.

    python benchmarks/bench_trial_overhead.py
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import optuna

from bench import keras
from bench.recipe import Recipe, build_optimizer
from bench.spec import parse_spec
from bench.storage import open_storage
from bench.study import TrialObjective, make_sampler
from bench.trial import run_trial
from bench.workload import build_vit, load_workload

EPOCHS = 20
REPEATS = 3
RECIPE = Recipe(epochs=EPOCHS, early_stopping=False)


def plain_fit(workload) -> float:
    started = time.perf_counter()
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    data = workload.dataset
    model = build_vit(workload.preset, channels=data.input_shape[-1], num_outputs=1, task="binary")
    model.compile(
        optimizer=build_optimizer(RECIPE, steps_per_epoch=len(data.train.x) // 32 + 1),
        loss="binary_crossentropy",
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
    )
    model.fit(
        data.train.x,
        data.train.y,
        batch_size=32,
        epochs=EPOCHS,
        verbose=0,
        validation_data=(data.val.x, data.val.y),
    )
    model.evaluate(data.test.x, data.test.y, verbose=0)
    return time.perf_counter() - started


def bench_trial(workload) -> float:
    started = time.perf_counter()
    run_trial(workload, RECIPE)
    return time.perf_counter() - started


def study_trial(workload, url: str, index: int) -> float:
    spec = parse_spec(
        {
            "name": f"overhead{index}",
            "description": "overhead",
            "epochs": EPOCHS,
            "fixed": {"early_stopping": False},
            "search_space": {"optimizer": ["adamw"]},
        },
        source="benchmark",
    )
    study = optuna.create_study(
        storage=open_storage(url),
        study_name=spec.name,
        direction="maximize",
        sampler=make_sampler(spec),
    )
    started = time.perf_counter()
    study.optimize(TrialObjective(spec, workload), n_trials=1)
    return time.perf_counter() - started


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    workload = load_workload("digits")
    times: dict[str, list[float]] = {"plain": [], "trial": [], "study": []}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        plain_fit(workload)  # warm TensorFlow up once; not counted
        for i in range(REPEATS):
            times["plain"].append(plain_fit(workload))
            times["trial"].append(bench_trial(workload))
            times["study"].append(study_trial(workload, url, i))
            print(
                f"round {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()),
                flush=True,
            )
    medians = {k: statistics.median(v) for k, v in times.items()}
    print(", ".join(f"{k} median {v:.2f} s" for k, v in medians.items()))
    print(
        f"trial / plain = {medians['trial'] / medians['plain']:.3f}; "
        f"study / trial = {medians['study'] / medians['trial']:.3f}"
    )


if __name__ == "__main__":
    main()
