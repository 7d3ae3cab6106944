"""The dataset every source produces, how it is built and hashed, and how Keras is fed it.

A source reads its images into a :class:`SourceData`; :func:`build_dataset` turns that
into a :class:`Dataset` (task, read-only float32 splits, label noise, content hash);
:func:`make_pipeline` batches one :class:`Split` for ``model.fit``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from bench._schema import SPLITS, Task
from bench.workload._noise import flip_labels

if TYPE_CHECKING:
    import tensorflow as tf

Arrays = tuple[np.ndarray, np.ndarray]
"""Images and labels of one split, before they become a :class:`Split`."""


@dataclass(frozen=True, eq=False)
class Split:
    """Images and labels of one split.

    Attributes:
        x: float32 images, shape ``(N, H, W, C)``, values in ``[0, 1]``.
        y: binary: float32 ``(N,)`` of 0/1; multiclass: int64 ``(N,)`` class index;
            multilabel: float32 ``(N, K)`` multi-hot.
        num_classes: ``K`` for a multiclass split, so that one-hot encoding has ``K``
            columns even when this split happens to lack the last class; ``None`` otherwise.

    Example:
        >>> x = np.zeros((4, 8, 8, 1), np.float32)
        >>> split = Split(x=x, y=np.array([0, 1, 0, 1], np.float32))
        >>> len(split)
        4
    """

    x: np.ndarray
    y: np.ndarray
    num_classes: int | None = None

    def __post_init__(self) -> None:
        if self.x.ndim != 4 or len(self.x) != len(self.y):
            raise ValueError(
                f"Split needs x of shape (N, H, W, C) and y of length N; "
                f"got x {self.x.shape} and y {self.y.shape}"
            )

    def __len__(self) -> int:
        return len(self.y)

    def majority_rate(self) -> float:
        """The accuracy of always answering the most frequent label: a failed run's score.

        Multilabel accuracy is per label, so this averages each label's majority rate.

        Example:
            >>> x = np.zeros((4, 8, 8, 1), np.float32)
            >>> Split(x=x, y=np.array([0, 1, 1, 1], np.float32)).majority_rate()
            0.75
        """
        if len(self.y) == 0:
            return float("nan")
        if self.y.ndim == 2:
            positive = self.y.mean(axis=0)
            return float(np.maximum(positive, 1 - positive).mean())
        _, counts = np.unique(self.y, return_counts=True)
        return float(counts.max() / len(self.y))


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded dataset: task, class names, three splits and a content hash.

    ``label_noise`` is the fraction of training labels that :func:`build_dataset` flipped;
    ``train_clean`` then holds the training images with their labels before the flips
    (``None`` without noise), so a run can say how well it learned the clean task.
    ``split_seed`` is the seed of the random splits and of the flips.

    Example:
        >>> from bench.workload import load_dataset
        >>> ds = load_dataset("digits", image_size=16)
        >>> ds.task, ds.class_names, ds.num_outputs, ds.input_shape
        ('binary', ('0-4', '5-9'), 1, (16, 16, 1))
        >>> sorted(ds.describe()["sizes"])
        ['test', 'train', 'val']
    """

    name: str
    task: Task
    class_names: tuple[str, ...]
    train: Split
    val: Split
    test: Split
    content_hash: str
    label_noise: float = 0.0
    train_clean: Split | None = None
    split_seed: int = 0

    @property
    def num_outputs(self) -> int:
        """Width of the model's output layer: 1 for binary, the class count otherwise."""
        return 1 if self.task == "binary" else len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of every image."""
        _, height, width, channels = self.train.x.shape
        return (height, width, channels)

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary, stored with every trial and shown in reports."""
        return {
            "name": self.name,
            "task": self.task,
            "class_names": list(self.class_names),
            "sizes": {split: len(getattr(self, split)) for split in SPLITS},
            "majority_rate": {split: getattr(self, split).majority_rate() for split in SPLITS},
            "input_shape": list(self.input_shape),
            "label_noise": self.label_noise,
            "split_seed": self.split_seed,
            "content_hash": self.content_hash,
        }


@dataclass(frozen=True)
class SourceData:
    """What a source read: class names and ``(images, labels)`` of train, val and test.

    Images are float32 ``(N, H, W, C)`` in ``[0, 1]``; labels are int64 class indices
    ``(N,)``, or int64 multi-hot rows ``(N, K)`` when ``multilabel``.

    Example:
        >>> y = np.array([0, 1, 1])
        >>> data = SourceData(("cat", "dog"), ((np.zeros((3, 2, 2, 1)), y),) * 3)
        >>> data.task
        'binary'
    """

    class_names: tuple[str, ...]
    splits: tuple[Arrays, Arrays, Arrays]
    multilabel: bool = False

    @property
    def task(self) -> Task:
        """``multilabel`` for multi-hot labels, else ``binary`` or ``multiclass`` by class count."""
        if self.multilabel:
            return "multilabel"
        return "binary" if len(self.class_names) == 2 else "multiclass"


def build_dataset(
    name: str, data: SourceData, *, label_noise: float = 0.0, seed: int = 0
) -> Dataset:
    """The :class:`Dataset` of ``data``, its training labels flipped at rate ``label_noise``.

    Arrays become read-only so that the content hash stays true. ``label_noise`` enters
    the hash only when non-zero, so a dataset without noise keeps the hash it always had.

    Example:
        >>> y = np.array([0, 1, 2, 0, 1, 2])
        >>> data = SourceData(("a", "b", "c"), ((np.zeros((6, 2, 2, 1)), y),) * 3)
        >>> ds = build_dataset("toy", data, label_noise=0.5, seed=0)
        >>> int((ds.train.y != y).sum()), int((ds.val.y != y).sum())
        (3, 0)
        >>> bool((ds.train_clean.y == y).all()), ds.train_clean.x is ds.train.x
        (True, True)
    """
    task, num_classes = data.task, len(data.class_names)
    (train_x, train_y), val, test = data.splits
    noisy_train_y = flip_labels(train_y, fraction=label_noise, num_classes=num_classes, seed=seed)
    splits = [
        _as_split(x, y, task=task, num_classes=num_classes)
        for x, y in ((train_x, noisy_train_y), val, test)
    ]
    return Dataset(
        name=name,
        task=task,
        class_names=tuple(data.class_names),
        train=splits[0],
        val=splits[1],
        test=splits[2],
        content_hash=_content_hash(task, data.class_names, splits, label_noise=label_noise),
        label_noise=label_noise,
        train_clean=(
            Split(
                x=splits[0].x,
                y=_as_split(train_x, train_y, task=task, num_classes=num_classes).y,
                num_classes=splits[0].num_classes,
            )
            if label_noise
            else None
        ),
        split_seed=seed,
    )


def _as_split(x: np.ndarray, labels: np.ndarray, *, task: Task, num_classes: int) -> Split:
    y = labels.astype(np.int64 if task == "multiclass" else np.float32)
    x = np.ascontiguousarray(x, dtype=np.float32)
    for array in (x, y):
        array.setflags(write=False)
    return Split(x=x, y=y, num_classes=num_classes if task == "multiclass" else None)


def _content_hash(
    task: Task, class_names: Sequence[str], splits: Sequence[Split], *, label_noise: float
) -> str:
    header = f"{task}|{'|'.join(class_names)}"
    if label_noise:
        header += f"|label_noise={label_noise!r}"
    digest = hashlib.sha256(header.encode())
    for split in splits:
        for array in (split.x, split.y):
            digest.update(f"|{array.dtype.str}{array.shape}|".encode())
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def resize(images: np.ndarray, image_size: int) -> np.ndarray:
    """Resize float ``(N, H, W, C)`` images to ``image_size`` square, bilinear, per channel.

    Example:
        >>> resize(np.ones((2, 8, 8, 3)), 4).shape
        (2, 4, 4, 3)
    """
    images = images.astype(np.float32, copy=False)
    if images.shape[1:3] == (image_size, image_size):
        return images
    size = (image_size, image_size)
    out = np.empty((len(images), image_size, image_size, images.shape[-1]), np.float32)
    for i, image in enumerate(images):
        for c in range(images.shape[-1]):
            channel = Image.fromarray(np.ascontiguousarray(image[..., c]), mode="F")
            out[i, ..., c] = np.asarray(channel.resize(size, Image.BILINEAR))
    # Bilinear weights can overshoot by float rounding; keep the [0, 1] promise exact.
    return np.clip(out, 0.0, 1.0, out=out)


def make_pipeline(split: Split, *, batch_size: int, shuffle: bool, seed: int) -> tf.data.Dataset:
    """Batch a split as a ``tf.data.Dataset`` of ``(images, labels)`` for ``model.fit``.

    Multiclass labels are one-hot encoded here (float32, ``K`` columns) because the
    workload's loss is ``CategoricalCrossentropy`` with label smoothing, which needs
    one-hot targets; binary and multilabel labels pass through unchanged.

    Example:
        >>> x = np.zeros((40, 8, 8, 1), np.float32)
        >>> split = Split(x=x, y=np.arange(40) % 10, num_classes=10)
        >>> batches = make_pipeline(split, batch_size=32, shuffle=True, seed=0)
        >>> x, y = next(iter(batches))
        >>> tuple(x.shape), tuple(y.shape)
        ((32, 8, 8, 1), (32, 10))
    """
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((split.x, model_targets(split))).cache()
    if shuffle:
        data = data.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def model_targets(split: Split) -> np.ndarray:
    """The split's labels as the model's loss takes them: multiclass one-hot (float32,
    ``K`` columns), binary and multilabel as they are.

    Example:
        >>> model_targets(Split(x=np.zeros((2, 4, 4, 1), np.float32), y=np.array([0, 2]),
        ...                     num_classes=3)).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    if not np.issubdtype(split.y.dtype, np.integer):
        return split.y
    num_classes = split.num_classes or int(split.y.max()) + 1
    return np.eye(num_classes, dtype=np.float32)[split.y]
