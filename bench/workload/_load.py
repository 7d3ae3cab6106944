"""``load_dataset``: a source string in, a checked and split :class:`Dataset` out.

The source string picks the reader (``digits``/``digits10`` in ``_digits.py``,
``folder:PATH`` in ``_folder.py``, ``npz:PATH`` in ``_npz.py``); the options every source
shares are checked here (with ``_options.py``), before anything is read.
"""

from __future__ import annotations

from typing import Protocol

from bench.errors import BenchInputError
from bench.workload._dataset import Dataset, SourceData, build_dataset
from bench.workload._digits import load_digits_source
from bench.workload._folder import load_folder
from bench.workload._npz import load_npz
from bench.workload._options import WORKLOAD_OPTIONS

_SOURCES_HINT = "expected digits, digits10, folder:PATH or npz:PATH"


class _SourceReader(Protocol):
    def __call__(
        self, source: str, path: str, *, image_size: int, seed: int, train_size: int | None
    ) -> SourceData: ...


_READERS: dict[str, _SourceReader] = {
    "digits": load_digits_source,
    "digits10": load_digits_source,
    "folder": load_folder,
    "npz": load_npz,
}


def load_dataset(
    source: str,
    *,
    image_size: int,
    seed: int = 0,
    train_size: int | None = None,
    label_noise: float = 0.0,
) -> Dataset:
    """Load a dataset from a source string, split it and resize it to ``image_size``.

    Splits are stratified and deterministic: the same ``seed`` gives identical splits.
    The ``digits`` sources split by seed into ``train_size`` (default 500,
    ``DIGITS_TRAIN_SIZE``) training images and equal validation and test halves of the
    rest. ``folder:`` and ``npz:`` sources keep their own splits (a flat folder is split
    70/15/15 by seed); with ``train_size`` their training split is subsampled, stratified.

    Args:
        source: ``digits``, ``digits10``, ``folder:PATH`` or ``npz:PATH``.
        image_size: Side of the square images after resizing (bilinear).
        seed: Seed of every random split, and of the label noise.
        train_size: Number of training images, or ``None`` for the source's default.
        label_noise: Fraction of training labels moved to a different class chosen at
            random (one random bit flipped per chosen image for a multilabel task);
            exactly ``round(label_noise * len(train))`` of them, ``0 <= label_noise < 1``.
            Validation and test labels are never changed.

    Raises:
        BenchInputError: A bad source, path, file, label layout, size or noise, in one line.

    Example:
        >>> ds = load_dataset("digits10", image_size=8, seed=1, train_size=200)
        >>> ds.task, len(ds.train), ds.train.x.shape[1:]
        ('multiclass', 200, (8, 8, 1))
        >>> noisy = load_dataset("digits10", image_size=8, seed=1, train_size=200, label_noise=0.1)
        >>> int((noisy.train.y != ds.train.y).sum()), bool((noisy.test.y == ds.test.y).all())
        (20, True)
    """
    WORKLOAD_OPTIONS["image_size"].check(image_size)
    if train_size is not None:
        WORKLOAD_OPTIONS["train_size"].check(train_size)
    WORKLOAD_OPTIONS["label_noise"].check(label_noise)
    WORKLOAD_OPTIONS["split_seed"].check(seed)
    kind, colon, path = source.partition(":")
    named = kind in ("digits", "digits10") and not colon
    with_path = kind in ("folder", "npz") and bool(path)
    if not (named or with_path):
        raise BenchInputError(f"dataset {source!r}: unknown source; {_SOURCES_HINT}")
    data = _READERS[kind](source, path, image_size=image_size, seed=seed, train_size=train_size)
    return build_dataset(source, data, label_noise=float(label_noise), seed=seed)
