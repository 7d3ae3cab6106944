"""The ``folder:PATH`` source: PNG and JPEG files in one folder per class.

``PATH/{train,val,test}/CLASS/*`` keeps its splits (``validation`` may stand for
``val``); a flat ``PATH/CLASS/*`` is split 70/15/15 (:data:`FOLDER_SPLIT_FRACTIONS`),
stratified, by seed. Images of any size and colour mode are resized to one square size
and brought to one channel count: RGB if any image is in colour, else grayscale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from bench.errors import BenchInputError
from bench.workload._dataset import Arrays, SourceData
from bench.workload._splits import split_stratified, subsample_train

FOLDER_SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
"""Train/val/test fractions used for a ``folder:`` source without split subfolders."""

# Stratifying the val/test split needs two images of each class left after training's share.
MIN_IMAGES_PER_CLASS = math.ceil(2 / (1 - FOLDER_SPLIT_FRACTIONS[0]))
"""Images per class with which every seed's 70/15/15 split of a flat folder succeeds."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

_GRAYSCALE_MODES = ("1", "L", "LA", "La")
_SIXTEEN_BIT_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")

_Raw = tuple[list[np.ndarray], np.ndarray]
"""uint8 images of mixed channel counts, and their class-index labels."""


def load_folder(
    source: str, path: str, *, image_size: int, seed: int, train_size: int | None
) -> SourceData:
    """Read the class folders under ``path``, resized to ``image_size``, and split them.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as root:
        ...     for name in ("cat", "dog"):
        ...         Path(root, name).mkdir()
        ...         for i in range(7):
        ...             image = Image.new("RGB", (20, 10), (30 * i, 0, 0))
        ...             image.save(Path(root, name, f"{i}.png"))
        ...     data = load_folder(f"folder:{root}", root, image_size=8, seed=0, train_size=None)
        >>> data.class_names, [len(labels) for _, labels in data.splits], data.splits[0][0].shape
        (('cat', 'dog'), [10, 2, 2], (10, 8, 8, 3))
    """
    root = Path(path)
    if not root.is_dir():
        raise BenchInputError(f"dataset {source!r}: folder {str(root)!r} does not exist")
    split_dirs = _split_dirs(source, root)
    if split_dirs is None:
        class_names = _class_names(source, root)
        raw = _read_class_folders(source, root, class_names, image_size)
        ((x, labels),) = _common_channels([raw])
        splits = _split_flat(source, root, class_names, x, labels, seed=seed)
    else:
        class_names = _class_names(source, split_dirs[0])
        raws = [_read_split(source, folder, class_names, image_size) for folder in split_dirs]
        splits = tuple(_common_channels(raws))
    splits = subsample_train(source, splits, train_size=train_size, seed=seed)
    return SourceData(class_names, splits)


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


def _read_split(source: str, folder: Path, class_names: Sequence[str], image_size: int) -> _Raw:
    """One split folder's images; its class folders must be among train's."""
    present = _subfolders(folder)
    extra = sorted(set(present) - set(class_names))
    if not present or extra:
        raise BenchInputError(
            f"dataset {source!r}: {str(folder)!r} has class folders {present}; "
            f"expected some of train's {list(class_names)}"
        )
    return _read_class_folders(source, folder, class_names, image_size)


def _read_class_folders(
    source: str, folder: Path, class_names: Sequence[str], image_size: int
) -> _Raw:
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
    if file.stat().st_size == 0:
        raise _unreadable(source, file, "an empty file (0 bytes)")
    try:
        with Image.open(file) as image:
            resized = _eight_bit(image).resize((image_size, image_size), Image.BILINEAR)
    # Pillow reports damaged data as OSError, SyntaxError or ValueError, depending on where
    # in the file the damage is.
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise _unreadable(source, file, _reason(error)) from None
    array = np.asarray(resized, dtype=np.uint8)
    return array[..., np.newaxis] if array.ndim == 2 else array


def _reason(error: Exception) -> str:
    """Why Pillow could not read a file, in a few words."""
    if isinstance(error, Image.UnidentifiedImageError):
        return "not in an image format Pillow recognises"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror  # the file system's own words, e.g. "Permission denied"
    detail = " ".join(str(error).split()) or type(error).__name__
    return f"truncated or corrupt ({detail})"


def _eight_bit(image: Image.Image) -> Image.Image:
    """``image`` in mode ``L`` if it has no colour, else ``RGB``; alpha is dropped."""
    if image.mode in _SIXTEEN_BIT_MODES:
        # Pillow's own conversion clips 16-bit values at 255 instead of scaling them.
        values = np.asarray(image, dtype=np.float64) / 257.0
        return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), mode="L")
    if image.mode in _GRAYSCALE_MODES:
        return image.convert("L")
    if image.mode == "P":
        # Through RGBA: a palette image whose transparency is given per palette entry
        # warns when converted straight to RGB. The colours are the same either way.
        image = image.convert("RGBA")
    return image.convert("RGB")


def _unreadable(source: str, file: Path, reason: str) -> BenchInputError:
    return BenchInputError(
        f"dataset {source!r}: cannot read image {str(file)!r}: {reason}; "
        f"expected a readable PNG or JPEG"
    )


def _common_channels(raws: Sequence[_Raw]) -> list[Arrays]:
    """Stack uint8 images as float32 in [0, 1]; all grayscale -> 1 channel, else all RGB."""
    channels = 3 if any(image.shape[-1] == 3 for images, _ in raws for image in images) else 1
    out = []
    for images, labels in raws:
        stacked = np.stack(
            [np.broadcast_to(image, (*image.shape[:2], channels)) for image in images]
        )
        out.append((stacked.astype(np.float32) / np.float32(255.0), labels))
    return out


def _split_flat(
    source: str,
    root: Path,
    class_names: Sequence[str],
    x: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int,
) -> tuple[Arrays, Arrays, Arrays]:
    """Split a flat folder by :data:`FOLDER_SPLIT_FRACTIONS`, stratified by class."""
    try:
        return _split_three_ways(source, x, labels, seed=seed)
    except BenchInputError:
        counts = np.bincount(labels, minlength=len(class_names))
        smallest = int(counts.argmin())
        images = f"{counts[smallest]} image{'' if counts[smallest] == 1 else 's'}"
        raise BenchInputError(
            f"dataset {source!r}: too few images to split 70/15/15 stratified: class folder "
            f"{str(root / class_names[smallest])!r} has {images}; expected at least "
            f"{MIN_IMAGES_PER_CLASS} images per class, or train/val/test folders"
        ) from None


def _split_three_ways(
    source: str, x: np.ndarray, labels: np.ndarray, *, seed: int
) -> tuple[Arrays, Arrays, Arrays]:
    train_fraction, val_fraction, _ = FOLDER_SPLIT_FRACTIONS
    n_train = round(train_fraction * len(labels))
    what = "70/15/15"
    train, rest = split_stratified(source, x, labels, n_first=n_train, seed=seed, what=what)
    n_val = round(val_fraction / (1 - train_fraction) * len(rest[1]))
    val, test = split_stratified(source, *rest, n_first=n_val, seed=seed, what=what)
    return train, val, test
