"""What differs between Keras's backends inside a trial, in one place: how a trial's
random streams are seeded, how the training images are fed to ``fit``, and how
TensorFlow's threads are shared. Everything else in a trial is Keras and runs on both.

The model, its layers and the optimizers are backend-neutral Keras; each layer draws
its initial weights and dropout masks from seed generators seeded by Python's
``random`` (:func:`seed_everything`). Only the feeding differs: TensorFlow keeps its
``tf.data`` pipeline, whose last short batch costs no compile there; JAX compiles a
program per input shape, so it is fed :class:`FixedShapeBatches`.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from bench._keras import keras
from bench.workload import Split, make_pipeline
from bench.workload._dataset import model_targets

#: TensorFlow's global seed in every bench process (the shuffle's op seed varies per trial).
_TF_GLOBAL_SEED = 0


def backend() -> str:
    """The backend Keras runs on in this process.

    Example:
        >>> backend() in ("jax", "tensorflow")
        True
    """
    return keras.backend.backend()


def seed_everything(seed: int) -> None:
    """Seed every random stream a trial draws from: Python's and NumPy's with ``seed``
    and, under TensorFlow, its global seed with a fixed value, once per process.

    Why not ``keras.utils.set_random_seed``: its ``tf.random.set_seed`` clears
    TensorFlow's caches of instantiated functions, so the next call of every traced step
    is optimized again (about 3 s a trial on a 2-core machine), which undoes reusing
    them. The only TensorFlow-seeded stream in a trial is the ``tf.data`` shuffle, which
    takes the recipe's seed as its op seed. The ViT's layers draw their initial weights
    and dropout streams from seed generators seeded by Python's ``random``; none uses
    Keras's global seed generator.

    Example:
        >>> seed_everything(3)
        >>> random.random() == (random.seed(3) or random.random())
        True
    """
    if backend() == "tensorflow":
        import tensorflow as tf

        if tf.compat.v1.get_seed(None)[0] != _TF_GLOBAL_SEED:
            tf.random.set_seed(_TF_GLOBAL_SEED)
    random.seed(seed)
    np.random.seed(seed)


def training_batches(split: Split, *, batch_size: int, seed: int) -> Any:
    """The training split as ``fit`` takes it on this backend, reshuffled every epoch
    with ``seed``: TensorFlow's ``tf.data`` pipeline, or :class:`FixedShapeBatches`."""
    if backend() == "tensorflow":
        return make_pipeline(split, batch_size=batch_size, shuffle=True, seed=seed)
    return FixedShapeBatches(split, batch_size=batch_size, seed=seed)


def set_cpu_threads(*, threads: int, jobs: int) -> None:
    """Keep TensorFlow's kernels to ``threads`` threads; call before it starts. (A JAX
    worker gets its threads from ``XLA_FLAGS`` when it starts: bench.backend.)"""
    if backend() != "tensorflow":
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1 if jobs > 1 else 0)
    except RuntimeError:
        pass  # TensorFlow already started in this process; its threads are fixed now


class FixedShapeBatches(keras.utils.PyDataset):
    """A split in shuffled batches of one shape, ``(images, targets, weights)``: the last
    batch is filled up with repeated images of weight 0, so a backend that compiles one
    program per shape compiles one, and every image counts exactly once.

    The order of epoch ``e`` is a permutation drawn from ``(seed, e)``. The loss is
    averaged over the weights (``mean_with_sample_weight``, :func:`bench.recipe.build_loss`)
    and the metrics weigh each image, so the filler changes neither; Keras's running
    mean of the epoch's loss weighs each batch by its size, filler included.

    Example:
        >>> split = Split(x=np.zeros((40, 8, 8, 1), np.float32), y=np.arange(40) % 2 * 1.0)
        >>> batches = FixedShapeBatches(split, batch_size=32, seed=0)
        >>> len(batches), batches[1][0].shape, float(batches[1][2].sum())
        (2, (32, 8, 8, 1), 8.0)
    """

    def __init__(self, split: Split, *, batch_size: int, seed: int) -> None:
        super().__init__()
        self._x, self._y = split.x, model_targets(split)
        self._batch_size = batch_size
        self._seed = seed
        self._epoch = 0
        self._order = self._permutation()

    @property
    def num_batches(self) -> int:
        return math.ceil(len(self._x) / self._batch_size)

    def __len__(self) -> int:
        return self.num_batches

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = self._order[index * self._batch_size : (index + 1) * self._batch_size]
        weights = np.zeros(self._batch_size, np.float32)
        weights[: len(rows)] = 1.0
        rows = np.resize(rows, self._batch_size)
        return self._x[rows], self._y[rows], weights

    def on_epoch_end(self) -> None:
        self._epoch += 1
        self._order = self._permutation()

    def _permutation(self) -> np.ndarray:
        return np.random.default_rng([self._seed, self._epoch]).permutation(len(self._x))
