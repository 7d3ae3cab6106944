"""The ``npz:PATH`` source: a MedMNIST-style archive, read without pickle.

It holds ``{train,val,test}_images`` (uint8 0..255 or float 0..1, ``(N, H, W)`` or
``(N, H, W, 1|3)``, one size and channel count for all three) and
``{train,val,test}_labels`` (integer ``(N,)`` or ``(N, 1)`` class indices, or ``(N, K)``
0/1 rows for a multilabel task), and optionally ``class_names``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from bench._schema import SPLITS, SplitName
from bench.errors import BenchInputError
from bench.workload._dataset import SourceData, resize
from bench.workload._splits import subsample_train

_NPZ_KEYS = tuple(f"{split}_{part}" for split in SPLITS for part in ("images", "labels"))


def load_npz(
    source: str, path: str, *, image_size: int, seed: int, train_size: int | None
) -> SourceData:
    """Read and check the archive at ``path``, resized to ``image_size``.

    Example:
        >>> import tempfile
        >>> images, labels = np.zeros((10, 28, 28), np.uint8), np.array([0, 1] * 5)
        >>> arrays = {f"{s}_{p}": a for s in ("train", "val", "test")
        ...           for p, a in (("images", images), ("labels", labels))}
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     np.savez(Path(folder, "toy.npz"), **arrays)
        ...     data = load_npz("npz:toy", f"{folder}/toy.npz", image_size=8, seed=0, train_size=4)
        >>> data.task, [x.shape for x, _ in data.splits]
        ('binary', [(4, 8, 8, 1), (10, 8, 8, 1), (10, 8, 8, 1)])
    """
    arrays = _read_npz(source, Path(path))
    multilabel = arrays["train_labels"].ndim == 2 and arrays["train_labels"].shape[1] > 1
    class_names, label_arrays = _npz_labels(source, arrays, multilabel=multilabel)
    _check_same_image_shape(
        source, [_image_shape(source, split, arrays[f"{split}_images"]) for split in SPLITS]
    )
    splits = []
    for split, labels in zip(SPLITS, label_arrays, strict=True):
        images = _npz_images(source, split, arrays[f"{split}_images"])
        if len(images) != len(labels):
            raise BenchInputError(
                f"dataset {source!r}: split {split!r} has {len(images)} images but "
                f"{len(labels)} labels; expected equal counts"
            )
        splits.append((resize(images, image_size), labels))
    splits = subsample_train(source, tuple(splits), train_size=train_size, seed=seed)
    return SourceData(class_names, splits, multilabel=multilabel)


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


def _image_shape(source: str, split: SplitName, images: np.ndarray) -> tuple[int, int, int]:
    """``(H, W, C)`` of ``{split}_images``, checked to be ``(N, H, W)`` or ``(N, H, W, 1|3)``."""
    shape = images.shape + (1,) if images.ndim == 3 else images.shape
    if len(shape) != 4 or shape[-1] not in (1, 3):
        raise BenchInputError(
            f"dataset {source!r}: {split}_images has shape {images.shape}; "
            f"expected (N, H, W), (N, H, W, 1) or (N, H, W, 3)"
        )
    return shape[1:]


def _check_same_image_shape(source: str, shapes: list[tuple[int, int, int]]) -> None:
    """Every split's images share train's height, width and channel count."""
    for split, shape in zip(SPLITS, shapes, strict=True):
        if shape != shapes[0]:
            raise BenchInputError(
                f"dataset {source!r}: {split}_images are {_shape_words(shape)} but "
                f"train_images are {_shape_words(shapes[0])}; expected one image size and "
                f"channel count in every split"
            )


def _npz_images(source: str, split: SplitName, images: np.ndarray) -> np.ndarray:
    """``{split}_images`` (shape already checked) as float32 ``(N, H, W, C)`` in ``[0, 1]``."""
    if images.ndim == 3:
        images = images[..., np.newaxis]
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


def _shape_words(shape: tuple[int, ...]) -> str:
    height, width, channels = shape
    return f"{height}x{width} with {channels} channel{'s' if channels != 1 else ''}"


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
