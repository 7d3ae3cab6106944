"""Stratified, seeded splitting shared by the sources: the same seed gives the same split."""

from __future__ import annotations

import numpy as np

from bench.errors import BenchInputError
from bench.workload._dataset import Arrays


def split_stratified(
    source: str, x: np.ndarray, labels: np.ndarray, *, n_first: int, seed: int, what: str
) -> tuple[Arrays, Arrays]:
    """Split into ``n_first`` images and the rest, stratified by label, deterministic by seed.

    Multi-hot labels are split at random: scikit-learn has no multilabel stratification.
    ``what`` names the split in the error raised when a class is too small to stratify.

    Example:
        >>> x, y = np.zeros((8, 2, 2, 1)), np.array([0, 1] * 4)
        >>> (x_a, y_a), (x_b, y_b) = split_stratified("toy", x, y, n_first=4, seed=0, what="a/b")
        >>> sorted(y_a.tolist()), sorted(y_b.tolist())
        ([0, 0, 1, 1], [0, 0, 1, 1])
    """
    # Imported here: scikit-learn takes most of a second to import, and only loading data
    # splits (bench --help, report and the dashboard never do).
    from sklearn.model_selection import train_test_split

    try:
        x_a, x_b, y_a, y_b = train_test_split(
            x, labels, train_size=n_first, random_state=seed, stratify=_stratify_key(labels)
        )
    except ValueError:
        counts = np.unique(labels, return_counts=True)[1] if labels.ndim == 1 else [len(labels)]
        raise BenchInputError(
            f"dataset {source!r}: too few images to split {what} stratified "
            f"({len(labels)} images, smallest class {min(counts)}, first part {n_first}); "
            f"expected at least one image per class in every part"
        ) from None
    return (x_a, y_a), (x_b, y_b)


def _stratify_key(labels: np.ndarray) -> np.ndarray | None:
    return labels if labels.ndim == 1 else None


def subsample_train(
    source: str,
    splits: tuple[Arrays, Arrays, Arrays],
    *,
    train_size: int | None,
    seed: int,
) -> tuple[Arrays, Arrays, Arrays]:
    """``splits`` with the training split cut to ``train_size`` images, stratified.

    Example:
        >>> part = (np.zeros((6, 2, 2, 1)), np.array([0, 1] * 3))
        >>> train, val, test = subsample_train("toy", (part,) * 3, train_size=4, seed=0)
        >>> len(train[1]), len(val[1])
        (4, 6)
    """
    (x, labels), val, test = splits
    if train_size is None or train_size == len(labels):
        return splits
    if train_size > len(labels):
        raise BenchInputError(
            f"train_size: got {train_size} for dataset {source!r}; expected at most "
            f"{len(labels)} (the training split's size)"
        )
    train, _ = split_stratified(
        source, x, labels, n_first=train_size, seed=seed, what=f"a {train_size}-image train subset"
    )
    return train, val, test
