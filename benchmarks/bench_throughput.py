"""Training throughput and model FLOPs utilisation of each ViT preset, against a naive
``model.fit`` on NumPy arrays.

For each preset (digits at the preset's image size, 500 training images): ``bench`` is two
:func:`bench.trial.run_trial` calls in one process (the second reuses the first's traced
steps; its steady epochs are timed); ``naive`` is a fresh model fitted on NumPy arrays with
Keras's defaults. An epoch is the training pass and the validation pass; its FLOPs are
counted from the layers (Dense and attention matmuls; training = 3x forward). The peak is
this machine's fp32 matmul rate measured with NumPy in the same run.

    .venv/bin/python benchmarks/bench_throughput.py [--rounds 3] [--presets tiny,small,keras-io]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bench import keras, trial
from bench.recipe import Recipe, build_optimizer
from bench.workload import build_vit, load_workload

EPOCHS = 3
#: Training images per preset: keras-io's epochs take minutes on a CPU at 500.
TRAIN_SIZE = {"tiny": None, "small": None, "keras-io": 128}
RECIPE = Recipe(epochs=EPOCHS, early_stopping=False)


def numpy_peak_flops(*, n: int = 1024, repeats: int = 5) -> float:
    """Best fp32 matmul rate of NumPy's BLAS on this machine, in FLOP/s."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best


def forward_flops(model: keras.Model) -> float:
    """FLOPs (2 per multiply-add) of one image's forward pass: Dense layers and attention."""
    total = 0.0
    for layer in model.layers:
        if isinstance(layer, keras.layers.MultiHeadAttention):
            tokens = model.get_layer("patch_encoder").num_patches
            projections = (layer._query_dense, layer._key_dense, layer._value_dense)
            kernels = sum(int(np.prod(d.kernel.shape)) for d in (*projections, layer._output_dense))
            total += 2 * tokens * kernels + 2 * 2 * layer.num_heads * tokens**2 * layer.key_dim
        elif isinstance(layer, keras.layers.Dense):
            tokens = int(np.prod(layer.input.shape[1:-1]))
            total += 2 * tokens * int(np.prod(layer.kernel.shape))
        elif hasattr(layer, "projection"):  # PatchEncoder: one Dense per patch
            total += 2 * layer.num_patches * int(np.prod(layer.projection.kernel.shape))
    return total


def epoch_flops(model, workload) -> float:
    data = workload.dataset
    per_image = forward_flops(model)
    return per_image * (3 * len(data.train.x) + len(data.val.x))


def steady_epoch_seconds(history_times: list[float]) -> float:
    seconds = [b - a for a, b in zip([0.0, *history_times], history_times, strict=False)]
    return statistics.median(seconds[1:])


def bench_way(workload) -> tuple[float, float]:
    trial.run_trial(workload, RECIPE.replace(epochs=1), reuse=True)
    result = trial.run_trial(workload, RECIPE, reuse=True)
    return steady_epoch_seconds([r["time_s"] for r in result.history]), result.metrics["test"][
        "accuracy"
    ]


class _EpochTimes(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.started, self.times = time.perf_counter(), []

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.started)


def naive_way(workload) -> tuple[float, float]:
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    data = workload.dataset
    model = build_vit(workload.preset, channels=data.input_shape[-1], num_outputs=1, task="binary")
    model.compile(
        optimizer=build_optimizer(RECIPE, steps_per_epoch=len(data.train.x) // 32 + 1),
        loss="binary_crossentropy",
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
    )
    times = _EpochTimes()
    model.fit(
        data.train.x,
        data.train.y,
        epochs=EPOCHS,
        verbose=0,
        validation_data=(data.val.x, data.val.y),
        callbacks=[times],
    )
    accuracy = model.evaluate(data.test.x, data.test.y, verbose=0, return_dict=True)["accuracy"]
    return steady_epoch_seconds(times.times), accuracy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--presets", default="tiny,small,keras-io")
    args = parser.parse_args()
    peak = numpy_peak_flops()
    lines = [f"peak_gflops={peak / 1e9:.1f}"]
    for preset in args.presets.split(","):
        workload = load_workload("digits", preset=preset, train_size=TRAIN_SIZE[preset])
        flops = epoch_flops(
            build_vit(workload.preset, channels=1, num_outputs=1, task="binary"), workload
        )
        ours, naive, accuracy = [], [], {"bench": [], "naive": []}
        for i in range(args.rounds):
            trial.clear_reuse_cache()
            seconds, acc = bench_way(workload)
            ours.append(seconds)
            accuracy["bench"].append(acc)
            seconds, acc = naive_way(workload)
            naive.append(seconds)
            accuracy["naive"].append(acc)
            print(
                f"{preset} round {i + 1}: bench {ours[-1]:.2f} s/epoch, naive {naive[-1]:.2f}",
                flush=True,
            )
        epoch_images = len(workload.dataset.train.x)
        name = preset.replace("-", "_")
        lines += [
            f"images_per_s_{name}={epoch_images / statistics.median(ours):.1f}",
            f"images_per_s_naive_{name}={epoch_images / statistics.median(naive):.1f}",
            f"mfu_{name}={flops / statistics.median(ours) / peak:.3f}",
            f"mfu_naive_{name}={flops / statistics.median(naive) / peak:.3f}",
            f"speedup_{name}={statistics.median(naive) / statistics.median(ours):.3f}",
            f"test_accuracy_{name}={statistics.median(accuracy['bench']):.3f}",
            f"test_accuracy_naive_{name}={statistics.median(accuracy['naive']):.3f}",
        ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
