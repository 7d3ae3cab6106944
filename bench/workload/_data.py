"""Datasets for the workload: load, split, resize, hash, and feed to Keras.

A *source* string names where the images come from:

- ``digits``: scikit-learn's bundled 8x8 digits as a binary task (see :data:`DIGITS_BINARY_TASK`).
- ``digits10``: the same images as a 10-class task.
- ``folder:PATH``: ``PATH/{train,val,test}/CLASS/*`` or ``PATH/CLASS/*`` (PNG or JPEG).
- ``npz:PATH``: a MedMNIST-style ``.npz`` with ``{train,val,test}_{images,labels}``.

Every source yields the same :class:`Dataset`: float32 images in ``[0, 1]`` resized to a
square ``image_size``, stratified deterministic splits, and a content hash so a study can
tell that its data changed underneath it.
"""

from __future__ import annotations

import functools
import hashlib
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from sklearn.model_selection import train_test_split

from bench.errors import BenchInputError

if TYPE_CHECKING:
    import tensorflow as tf

TASKS = ("binary", "multiclass", "multilabel")

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class DigitsBinaryTask:
    """Which digits form the negative and the positive class of the ``digits`` source.

    Digits in neither group are dropped, so a hard pair (say 3 vs 8) is one line away.
    """

    negative: tuple[int, ...]
    positive: tuple[int, ...]
    class_names: tuple[str, str]


# Low (0-4) vs high (5-9) keeps all 1,797 images, balanced ~50/50, so validation and test
# hold ~650 images each, and the label groups five shapes per class: a small ViT must learn
# each digit from ~50 examples, so it memorises the training set well before it generalises.
# Probed with a 4-block ViT (16x16, AdamW, 40 epochs, seed 0): train accuracy 1.00, best val
# 0.955, val loss lowest at epoch 12 then rising. Odd vs even was a little easier (val 0.965,
# val-loss minimum at epoch 22; also easier for logistic regression and an MLP). Hard pairs
# (3 vs 8, 1 vs 7) have only ~360 images and already reach 0.97-1.00 val accuracy with 150
# training images, which leaves no room to tell recipes apart.
DIGITS_BINARY_TASK = DigitsBinaryTask(
    negative=(0, 1, 2, 3, 4), positive=(5, 6, 7, 8, 9), class_names=("0-4", "5-9")
)

DIGITS_TRAIN_SIZE = 500
"""Default training-set size of the ``digits`` sources; the rest is halved into val/test."""

FOLDER_SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
"""Train/val/test fractions used for a ``folder:`` source without split subfolders."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

_SOURCES_HINT = "expected digits, digits10, folder:PATH or npz:PATH"
_NPZ_KEYS = tuple(f"{split}_{part}" for split in SPLITS for part in ("images", "labels"))
_GRAYSCALE_MODES = ("1", "L", "LA")


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
        >>> import numpy as np
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


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded dataset: task, class names, three splits and a content hash.

    Example:
        >>> ds = load_dataset("digits", image_size=16)
        >>> ds.task, ds.class_names, ds.num_outputs, ds.input_shape
        ('binary', ('0-4', '5-9'), 1, (16, 16, 1))
        >>> sorted(ds.describe()["sizes"])
        ['test', 'train', 'val']
    """

    name: str
    task: str
    class_names: tuple[str, ...]
    train: Split
    val: Split
    test: Split
    content_hash: str

    @property
    def num_outputs(self) -> int:
        """Width of the model's output layer: 1 for binary, the class count otherwise."""
        return 1 if self.task == "binary" else len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of every image."""
        _, height, width, channels = self.train.x.shape
        return (height, width, channels)

    def describe(self) -> dict:
        """A JSON-able summary, for study metadata and reports."""
        return {
            "name": self.name,
            "task": self.task,
            "class_names": list(self.class_names),
            "sizes": {split: len(getattr(self, split)) for split in SPLITS},
            "input_shape": list(self.input_shape),
            "content_hash": self.content_hash,
        }


def load_dataset(
    source: str, *, image_size: int, seed: int = 0, train_size: int | None = None
) -> Dataset:
    """Load a dataset from a source string, split it and resize it to ``image_size``.

    Splits are stratified and deterministic: the same ``seed`` gives identical splits.
    The ``digits`` sources split by seed into ``train_size`` (default
    :data:`DIGITS_TRAIN_SIZE`) training images and equal validation and test halves of the
    rest. ``folder:`` and ``npz:`` sources keep their own splits (a flat folder is split
    70/15/15 by seed); with ``train_size`` their training split is subsampled, stratified.

    Args:
        source: ``digits``, ``digits10``, ``folder:PATH`` or ``npz:PATH``.
        image_size: Side of the square images after resizing (bilinear).
        seed: Seed of every random split.
        train_size: Number of training images, or ``None`` for the source's default.

    Raises:
        BenchInputError: A bad source, path, file, label layout or size, in one line.

    Example:
        >>> ds = load_dataset("digits10", image_size=8, seed=1, train_size=200)
        >>> ds.task, len(ds.train), ds.train.x.shape[1:]
        ('multiclass', 200, (8, 8, 1))
    """
    _check_int("image_size", image_size, minimum=1)
    if train_size is not None:
        _check_int("train_size", train_size, minimum=1)
    kind, colon, path = source.partition(":")
    named = kind in ("digits", "digits10") and not colon
    with_path = kind in ("folder", "npz") and bool(path)
    if not (named or with_path):
        raise BenchInputError(f"dataset {source!r}: unknown source; {_SOURCES_HINT}")
    loader = _LOADERS[kind]
    return loader(source, path, image_size=image_size, seed=seed, train_size=train_size)


def make_pipeline(split: Split, *, batch_size: int, shuffle: bool, seed: int) -> tf.data.Dataset:
    """Batch a split as a ``tf.data.Dataset`` of ``(images, labels)`` for ``model.fit``.

    Multiclass labels are one-hot encoded here (float32, ``K`` columns) because the
    workload's loss is ``CategoricalCrossentropy`` with label smoothing, which needs
    one-hot targets; binary and multilabel labels pass through unchanged.

    Example:
        >>> ds = load_dataset("digits10", image_size=8)
        >>> batches = make_pipeline(ds.train, batch_size=32, shuffle=True, seed=0)
        >>> x, y = next(iter(batches))
        >>> tuple(x.shape), tuple(y.shape)
        ((32, 8, 8, 1), (32, 10))
    """
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((split.x, _model_targets(split))).cache()
    if shuffle:
        data = data.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _model_targets(split: Split) -> np.ndarray:
    if not np.issubdtype(split.y.dtype, np.integer):
        return split.y
    num_classes = split.num_classes or int(split.y.max()) + 1
    return np.eye(num_classes, dtype=np.float32)[split.y]


# --------------------------------------------------------------------------- sources


def _load_digits(
    source: str, path: str, *, image_size: int, seed: int, train_size: int | None
) -> Dataset:
    images, digits = _digits_arrays()
    if source == "digits10":
        labels, class_names = digits, tuple(str(d) for d in range(10))
    else:
        task = DIGITS_BINARY_TASK
        keep = np.isin(digits, task.negative + task.positive)
        images, labels = images[keep], np.isin(digits[keep], task.positive).astype(np.int64)
        class_names = task.class_names
    x = _resize(images[..., np.newaxis] / np.float32(16.0), image_size)
    train, rest = _split_stratified(
        source,
        x,
        labels,
        n_first=_digits_train_size(source, len(labels), class_names, train_size),
        seed=seed,
        what="train/val/test",
    )
    val, test = _split_stratified(
        source, *rest, n_first=len(rest[1]) // 2, seed=seed, what="val/test"
    )
    return _build(source, class_names, labels_2d=False, splits=(train, val, test))


@functools.cache
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.float32), bunch.target.astype(np.int64)


def _digits_train_size(
    source: str, n: int, class_names: Sequence[str], train_size: int | None
) -> int:
    size = DIGITS_TRAIN_SIZE if train_size is None else train_size
    # Validation and test each need at least one image per class to be stratified.
    low, high = 2 * len(class_names), n - 2 * len(class_names)
    if not low <= size <= high:
        raise BenchInputError(
            f"train_size: got {size} for dataset {source!r}; expected {low} to {high}"
        )
    return size


def _load_folder(
    source: str, path: str, *, image_size: int, seed: int, train_size: int | None
) -> Dataset:
    root = Path(path)
    if not root.is_dir():
        raise BenchInputError(f"dataset {source!r}: folder {str(root)!r} does not exist")
    split_dirs = _split_dirs(source, root)
    if split_dirs is None:
        class_names = _class_names(source, root)
        raw = _read_class_folders(source, root, class_names, image_size)
        ((x, labels),) = _common_channels([raw])
        splits = _split_three_ways(source, x, labels, seed=seed)
    else:
        class_names = _class_names(source, split_dirs[0])
        raws = []
        for split_dir in split_dirs:
            present = _subfolders(split_dir)
            extra = sorted(set(present) - set(class_names))
            if not present or extra:
                raise BenchInputError(
                    f"dataset {source!r}: {str(split_dir)!r} has class folders {present}; "
                    f"expected some of train's {list(class_names)}"
                )
            raws.append(_read_class_folders(source, split_dir, class_names, image_size))
        splits = tuple(_common_channels(raws))
    splits = _subsample_train(source, splits, train_size=train_size, seed=seed)
    return _build(source, class_names, labels_2d=False, splits=splits)


def _split_dirs(source: str, root: Path) -> tuple[Path, Path, Path] | None:
    """The train/val/test folders, or None for a flat ``PATH/CLASS/*`` folder."""
    found = {name: root / name for name in ("train", "val", "validation", "test")}
    found = {name: p for name, p in found.items() if p.is_dir()}
    if not found:
        return None
    val = found.get("val", found.get("validation"))
    missing = [
        name
        for name, p in (("train", found.get("train")), ("val", val), ("test", found.get("test")))
        if p is None
    ]
    if missing:
        raise BenchInputError(
            f"dataset {source!r}: split folder(s) {missing} missing; expected train, "
            f"val (or validation) and test, or class folders only"
        )
    return found["train"], val, found["test"]


def _subfolders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _class_names(source: str, folder: Path) -> tuple[str, ...]:
    names = tuple(_subfolders(folder))
    if not names:
        raise BenchInputError(
            f"dataset {source!r}: {str(folder)!r} has no class subfolders; "
            f"expected CLASS/ folders of .png or .jpg images"
        )
    if len(names) < 2:
        raise BenchInputError(
            f"dataset {source!r}: only one class {names[0]!r}; expected at least 2 classes"
        )
    return names


def _read_class_folders(
    source: str, folder: Path, class_names: Sequence[str], image_size: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """Every image under ``folder/CLASS/`` as uint8 arrays, with class-index labels."""
    images: list[np.ndarray] = []
    labels: list[int] = []
    for index, name in enumerate(class_names):
        class_dir = folder / name
        if not class_dir.is_dir():
            continue  # a val/test split may lack a class; train defines the class list
        files = sorted(
            p for p in class_dir.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not files:
            raise BenchInputError(
                f"dataset {source!r}: class folder {str(class_dir)!r} has no images; "
                f"expected {', '.join(IMAGE_SUFFIXES)} files"
            )
        images.extend(_read_image(source, f, image_size) for f in files)
        labels.extend([index] * len(files))
    return images, np.asarray(labels, dtype=np.int64)


def _read_image(source: str, file: Path, image_size: int) -> np.ndarray:
    """One image as uint8 ``(S, S, 1)`` if grayscale, else ``(S, S, 3)``."""
    try:
        with Image.open(file) as image:
            mode = "L" if image.mode in _GRAYSCALE_MODES else "RGB"
            resized = image.convert(mode).resize((image_size, image_size), Image.BILINEAR)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise BenchInputError(
            f"dataset {source!r}: cannot read image {str(file)!r} ({type(error).__name__}); "
            f"expected a readable PNG or JPEG"
        ) from None
    array = np.asarray(resized, dtype=np.uint8)
    return array[..., np.newaxis] if array.ndim == 2 else array


def _common_channels(
    raws: Sequence[tuple[list[np.ndarray], np.ndarray]],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stack uint8 images as float32 in [0, 1]; all grayscale -> 1 channel, else all RGB."""
    channels = 3 if any(image.shape[-1] == 3 for images, _ in raws for image in images) else 1
    out = []
    for images, labels in raws:
        stacked = np.stack(
            [np.broadcast_to(image, (*image.shape[:2], channels)) for image in images]
        )
        out.append((stacked.astype(np.float32) / np.float32(255.0), labels))
    return out


def _load_npz(
    source: str, path: str, *, image_size: int, seed: int, train_size: int | None
) -> Dataset:
    arrays = _read_npz(source, Path(path))
    labels_2d = arrays["train_labels"].ndim == 2 and arrays["train_labels"].shape[1] > 1
    class_names, label_arrays = _npz_labels(source, arrays, multilabel=labels_2d)
    splits = []
    for split, labels in zip(SPLITS, label_arrays, strict=True):
        images = _npz_images(source, split, arrays[f"{split}_images"])
        if len(images) != len(labels):
            raise BenchInputError(
                f"dataset {source!r}: split {split!r} has {len(images)} images but "
                f"{len(labels)} labels; expected equal counts"
            )
        splits.append((_resize(images, image_size), labels))
    splits = _subsample_train(source, tuple(splits), train_size=train_size, seed=seed)
    return _build(source, class_names, labels_2d=labels_2d, splits=splits)


def _read_npz(source: str, file: Path) -> dict[str, np.ndarray]:
    if not file.is_file():
        raise BenchInputError(f"dataset {source!r}: file {str(file)!r} does not exist")
    # np.load takes any file that is not a zip for a pickle, so its error would mislead.
    if not zipfile.is_zipfile(file):
        raise BenchInputError(
            f"dataset {source!r}: {str(file)!r} is not an .npz archive; expected one saved "
            f"with numpy.savez"
        )
    try:
        with np.load(file, allow_pickle=False) as npz:
            missing = [key for key in _NPZ_KEYS if key not in npz.files]
            if missing:
                raise BenchInputError(
                    f"dataset {source!r}: keys {missing} missing; expected {list(_NPZ_KEYS)}"
                )
            keys = [*_NPZ_KEYS, *(["class_names"] if "class_names" in npz.files else [])]
            return {key: npz[key] for key in keys}
    except BenchInputError:
        raise
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise BenchInputError(
                f"dataset {source!r}: {str(file)!r} holds pickled object arrays; expected "
                f"plain numeric or string arrays (not dtype=object)"
            ) from None
        raise BenchInputError(f"dataset {source!r}: cannot read {str(file)!r} ({error})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise BenchInputError(
            f"dataset {source!r}: cannot read {str(file)!r} ({type(error).__name__}); "
            f"expected an .npz archive saved with numpy.savez"
        ) from None


def _npz_images(source: str, split: str, images: np.ndarray) -> np.ndarray:
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise BenchInputError(
            f"dataset {source!r}: {split}_images has shape {images.shape}; "
            f"expected (N, H, W), (N, H, W, 1) or (N, H, W, 3)"
        )
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    if np.issubdtype(images.dtype, np.floating):
        if images.size and not (images.min() >= 0.0 and images.max() <= 1.0):
            raise BenchInputError(
                f"dataset {source!r}: {split}_images are floats outside [0, 1]; "
                f"expected uint8 0..255 or float 0..1"
            )
        return images.astype(np.float32)
    raise BenchInputError(
        f"dataset {source!r}: {split}_images has dtype {images.dtype}; "
        f"expected uint8 0..255 or float 0..1"
    )


def _npz_labels(
    source: str, arrays: dict[str, np.ndarray], *, multilabel: bool
) -> tuple[tuple[str, ...], list[np.ndarray]]:
    """Class names and per-split labels: int64 class indices, or int64 multi-hot rows."""
    raw = [arrays[f"{split}_labels"] for split in SPLITS]
    for split, labels in zip(SPLITS, raw, strict=True):
        ok_shape = labels.ndim == 1 or (labels.ndim == 2 and (multilabel or labels.shape[1] == 1))
        ok_shape = ok_shape and (not multilabel or labels.shape[1:] == raw[0].shape[1:])
        integral = labels.dtype.kind in "iub" or (
            labels.dtype.kind == "f" and np.array_equal(labels, np.round(labels))
        )
        if not (ok_shape and integral):
            raise BenchInputError(
                f"dataset {source!r}: {split}_labels has shape {labels.shape} and dtype "
                f"{labels.dtype}; expected integer (N,) or (N, 1) labels, or (N, K) 0/1 rows"
            )
    raw = [labels.astype(np.int64) for labels in raw]
    named = _npz_class_names(source, arrays)
    if multilabel:
        if any(not np.isin(labels, (0, 1)).all() for labels in raw):
            raise BenchInputError(
                f"dataset {source!r}: (N, K) labels hold values other than 0 and 1; "
                f"expected multi-hot rows"
            )
        count = raw[0].shape[1]
        return _checked_names(source, named, count), raw
    raw = [labels.reshape(-1) for labels in raw]
    present = np.unique(np.concatenate(raw))
    if len(present) < 2:
        raise BenchInputError(
            f"dataset {source!r}: labels hold a single class {present.tolist()}; "
            f"expected at least 2 classes"
        )
    if named is not None:
        if present.min() < 0 or present.max() >= len(named):
            raise BenchInputError(
                f"dataset {source!r}: labels range {present.min()}..{present.max()} does not "
                f"index class_names of length {len(named)}"
            )
        return named, raw
    # Without names, remap the labels present to 0..K-1 and name each by its original value.
    return tuple(str(v) for v in present), [np.searchsorted(present, y) for y in raw]


def _npz_class_names(source: str, arrays: dict[str, np.ndarray]) -> tuple[str, ...] | None:
    names = arrays.get("class_names")
    if names is None:
        return None
    if names.ndim != 1 or names.dtype.kind not in "US":
        raise BenchInputError(
            f"dataset {source!r}: class_names has shape {names.shape} and dtype {names.dtype}; "
            f"expected a 1-D string array"
        )
    return tuple(str(n) for n in names.astype(str))


def _checked_names(source: str, named: tuple[str, ...] | None, count: int) -> tuple[str, ...]:
    if named is None:
        return tuple(str(i) for i in range(count))
    if len(named) != count:
        raise BenchInputError(
            f"dataset {source!r}: class_names has {len(named)} names for {count} label columns"
        )
    return named


_LOADERS: dict[str, Callable[..., Dataset]] = {
    "digits": _load_digits,
    "digits10": _load_digits,
    "folder": _load_folder,
    "npz": _load_npz,
}


# --------------------------------------------------------------------------- helpers

_Arrays = tuple[np.ndarray, np.ndarray]


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise BenchInputError(f"{name}: got {value!r}; expected an integer >= {minimum}")


def _resize(images: np.ndarray, image_size: int) -> np.ndarray:
    """Resize float32 ``(N, H, W, C)`` images to ``image_size`` square, bilinear, per channel."""
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


def _stratify_key(labels: np.ndarray) -> np.ndarray | None:
    # sklearn has no multilabel stratification (iterative stratification is a separate
    # package), so multi-hot labels are split at random.
    return labels if labels.ndim == 1 else None


def _split_stratified(
    source: str, x: np.ndarray, labels: np.ndarray, *, n_first: int, seed: int, what: str
) -> tuple[_Arrays, _Arrays]:
    """Split into ``n_first`` and the rest, stratified by label, deterministic by seed."""
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


def _split_three_ways(
    source: str, x: np.ndarray, labels: np.ndarray, *, seed: int
) -> tuple[_Arrays, _Arrays, _Arrays]:
    train_fraction, val_fraction, _ = FOLDER_SPLIT_FRACTIONS
    n_train = round(train_fraction * len(labels))
    what = "70/15/15"
    train, rest = _split_stratified(source, x, labels, n_first=n_train, seed=seed, what=what)
    n_val = round(val_fraction / (1 - train_fraction) * len(rest[1]))
    val, test = _split_stratified(source, *rest, n_first=n_val, seed=seed, what=what)
    return train, val, test


def _subsample_train(
    source: str, splits: tuple[_Arrays, _Arrays, _Arrays], *, train_size: int | None, seed: int
) -> tuple[_Arrays, _Arrays, _Arrays]:
    (x, labels), val, test = splits
    if train_size is None or train_size == len(labels):
        return splits
    if train_size > len(labels):
        raise BenchInputError(
            f"train_size: got {train_size} for dataset {source!r}; expected at most "
            f"{len(labels)} (the training split's size)"
        )
    train, _ = _split_stratified(
        source, x, labels, n_first=train_size, seed=seed, what=f"a {train_size}-image train subset"
    )
    return train, val, test


def _build(
    source: str,
    class_names: tuple[str, ...],
    *,
    labels_2d: bool,
    splits: Sequence[_Arrays],
) -> Dataset:
    task = "multilabel" if labels_2d else "binary" if len(class_names) == 2 else "multiclass"
    built = [_as_split(x, labels, task=task, num_classes=len(class_names)) for x, labels in splits]
    return Dataset(
        name=source,
        task=task,
        class_names=tuple(class_names),
        train=built[0],
        val=built[1],
        test=built[2],
        content_hash=_content_hash(task, class_names, built),
    )


def _as_split(x: np.ndarray, labels: np.ndarray, *, task: str, num_classes: int) -> Split:
    y = labels.astype(np.int64 if task == "multiclass" else np.float32)
    x = np.ascontiguousarray(x, dtype=np.float32)
    for array in (x, y):
        array.setflags(write=False)  # the content hash must stay true
    return Split(x=x, y=y, num_classes=num_classes if task == "multiclass" else None)


def _content_hash(task: str, class_names: Sequence[str], splits: Sequence[Split]) -> str:
    digest = hashlib.sha256(f"{task}|{'|'.join(class_names)}".encode())
    for split in splits:
        for array in (split.x, split.y):
            digest.update(f"|{array.dtype.str}{array.shape}|".encode())
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


__all__ = [
    "DIGITS_BINARY_TASK",
    "DIGITS_TRAIN_SIZE",
    "TASKS",
    "Dataset",
    "DigitsBinaryTask",
    "Split",
    "load_dataset",
    "make_pipeline",
]
