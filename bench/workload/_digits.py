"""The ``digits`` and ``digits10`` sources: scikit-learn's bundled 8x8 handwritten digits.

``digits`` is a binary task (:data:`DIGITS_BINARY_TASK`), ``digits10`` the 10-class one.
Both split by seed into :data:`DIGITS_TRAIN_SIZE` training images (or ``train_size``)
and equal, stratified validation and test halves of the rest. Nothing is downloaded.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.errors import BenchInputError
from bench.workload._dataset import SourceData, resize
from bench.workload._splits import split_stratified


@dataclass(frozen=True)
class DigitsBinaryTask:
    """Which digits form the negative and the positive class of the ``digits`` source.

    Digits in neither group are dropped, so a hard pair (say 3 vs 8) is one line away.

    Example:
        >>> DigitsBinaryTask(negative=(3,), positive=(8,), class_names=("3", "8")).positive
        (8,)
    """

    negative: tuple[int, ...]
    positive: tuple[int, ...]
    class_names: tuple[str, str]


# Why 0-4 vs 5-9 (and not odd/even or a hard pair): see "The digits binary task" in BENCHMARKS.md.
DIGITS_BINARY_TASK = DigitsBinaryTask(
    negative=(0, 1, 2, 3, 4), positive=(5, 6, 7, 8, 9), class_names=("0-4", "5-9")
)

DIGITS_TRAIN_SIZE = 500
"""Default training-set size of the ``digits`` sources; the rest is halved into val/test."""


def load_digits_source(
    source: str, path: str = "", *, image_size: int, seed: int, train_size: int | None
) -> SourceData:
    """Read ``digits`` or ``digits10`` (``path`` is unused) and split it by ``seed``.

    Example:
        >>> data = load_digits_source("digits", image_size=8, seed=0, train_size=100)
        >>> data.task, [len(labels) for _, labels in data.splits]
        ('binary', [100, 848, 849])
    """
    images, digits = _digits_arrays()
    if source == "digits10":
        labels, class_names = digits, tuple(str(d) for d in range(10))
    else:
        task = DIGITS_BINARY_TASK
        keep = np.isin(digits, task.negative + task.positive)
        images, labels = images[keep], np.isin(digits[keep], task.positive).astype(np.int64)
        class_names = task.class_names
    x = resize(images[..., np.newaxis] / np.float32(16.0), image_size)
    n_train = _train_size(source, len(labels), class_names, train_size)
    train, rest = split_stratified(
        source, x, labels, n_first=n_train, seed=seed, what="train/val/test"
    )
    val, test = split_stratified(
        source, *rest, n_first=len(rest[1]) // 2, seed=seed, what="val/test"
    )
    return SourceData(class_names, (train, val, test))


@functools.cache
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.float32), bunch.target.astype(np.int64)


def _train_size(source: str, n: int, class_names: Sequence[str], train_size: int | None) -> int:
    size = DIGITS_TRAIN_SIZE if train_size is None else train_size
    # Validation and test each need at least one image per class to be stratified.
    low, high = 2 * len(class_names), n - 2 * len(class_names)
    if not low <= size <= high:
        raise BenchInputError(
            f"train_size: got {size} for dataset {source!r}; expected {low} to {high}"
        )
    return size
