"""Label noise: a seeded fraction of training labels moved to another class.

Noisy labels are a workload property (every recipe of a study sees the same flipped
labels), so the flips are drawn from the split seed, never the trial's seed.
"""

from __future__ import annotations

import numpy as np


def flip_labels(labels: np.ndarray, *, fraction: float, num_classes: int, seed: int) -> np.ndarray:
    """``labels`` with ``round(fraction * N)`` rows, chosen at random, changed.

    A class index ``(N,)`` moves to a different class drawn uniformly from the other
    ``num_classes - 1``; a multi-hot row ``(N, K)`` gets one random bit flipped. The
    same ``seed`` flips the same rows the same way. ``labels`` itself is not modified.

    Example:
        >>> labels = np.array([0, 1, 2, 0, 1, 2, 0, 1])
        >>> noisy = flip_labels(labels, fraction=0.25, num_classes=3, seed=0)
        >>> int((noisy != labels).sum())
        2
        >>> rows = np.array([[1, 0], [0, 0], [1, 1], [0, 1]])
        >>> np.abs(flip_labels(rows, fraction=0.5, num_classes=2, seed=0) - rows).sum(axis=1)
        array([0, 0, 1, 1])
    """
    count = round(fraction * len(labels))
    if count == 0:
        return labels
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(labels), size=count, replace=False)
    noisy = labels.copy()
    if labels.ndim == 1:
        shift = rng.integers(1, num_classes, size=count)
        noisy[rows] = (labels[rows] + shift) % num_classes
    else:
        columns = rng.integers(0, labels.shape[1], size=count)
        noisy[rows, columns] = 1 - labels[rows, columns]
    return noisy
