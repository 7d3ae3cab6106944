"""Tests for the workload's data: sources, splits, resizing, hashing, label noise, pipelines."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import digits_npz_arrays, error_line, write_digits_npz
from PIL import Image
from sklearn.datasets import load_digits

from bench.errors import BenchInputError
from bench.workload import TASKS, Dataset, Split, load_dataset, make_pipeline
from bench.workload._digits import DIGITS_BINARY_TASK, DIGITS_TRAIN_SIZE

SIZE = 12


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """Digits images as uint8 0..255 (N, 8, 8) and their labels."""
    bunch = load_digits()
    return (bunch.images * (255 / 16)).round().astype(np.uint8), bunch.target


def _save(path: Path, image: np.ndarray, *, rgb: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pil = Image.fromarray(image, mode="L")
    if rgb:
        pil = pil.convert("RGB")
    pil.save(path)


def _write_classes(
    root: Path, digits: tuple[np.ndarray, np.ndarray], classes: dict[str, int], *, per_class: int
) -> None:
    images, labels = digits
    for name, digit in classes.items():
        for i, image in enumerate(images[labels == digit][:per_class]):
            _save(root / name / f"{i}.png", image)


def _assert_images(split: Split, channels: int) -> None:
    assert split.x.dtype == np.float32
    assert split.x.shape[1:] == (SIZE, SIZE, channels)
    assert split.x.min() >= 0.0 and split.x.max() <= 1.0


def _assert_same(a: Dataset, b: Dataset) -> None:
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(a, name).x, getattr(b, name).x)
        np.testing.assert_array_equal(getattr(a, name).y, getattr(b, name).y)
    assert a.content_hash == b.content_hash


# The npz files here: digits rows 0-299 train, 300-399 val, 400-499 test, no class names.
NPZ_SIZES = (300, 100, 100)


def _digit(y: np.ndarray) -> np.ndarray:
    return y


def _write_npz(
    path: Path,
    labels_of: Callable = _digit,
    *,
    class_names: tuple[str, ...] | None = None,
    **overrides: np.ndarray | None,
) -> Path:
    """conftest's npz writer with this file's splits (``overrides`` as there)."""
    return write_digits_npz(
        path, sizes=NPZ_SIZES, labels_of=labels_of, class_names=class_names, **overrides
    )


def _npz_arrays(labels_of: Callable = _digit) -> dict[str, np.ndarray]:
    """The arrays :func:`_write_npz` writes, to derive overrides from."""
    return digits_npz_arrays(sizes=NPZ_SIZES, labels_of=labels_of, class_names=None)


# --------------------------------------------------------------------------- digits


def test_digits_binary_default() -> None:
    ds = load_dataset("digits", image_size=SIZE)
    assert ds.task == "binary" and ds.task in TASKS
    assert ds.class_names == DIGITS_BINARY_TASK.class_names == ("0-4", "5-9")
    assert ds.num_outputs == 1
    assert ds.input_shape == (SIZE, SIZE, 1)
    assert len(ds.train) == DIGITS_TRAIN_SIZE
    assert len(ds.train) + len(ds.val) + len(ds.test) == 1797
    assert abs(len(ds.val) - len(ds.test)) <= 1
    for split in (ds.train, ds.val, ds.test):
        _assert_images(split, 1)
        assert split.y.dtype == np.float32 and split.y.shape == (len(split),)
        assert set(np.unique(split.y)) == {0.0, 1.0}
        # stratified: every split has (almost) the full set's share of positives (5-9)
        assert abs(split.y.mean() - 896 / 1797) < 0.01


def test_digits_binary_labels_follow_the_task() -> None:
    """The labels agree with DIGITS_BINARY_TASK's positive digits behind each image."""
    images, digits = load_digits(return_X_y=True)
    ds = load_dataset("digits", image_size=8, train_size=100)
    pixels = images.reshape(-1, 8, 8) / 16.0
    for x, y in zip(ds.train.x[:20], ds.train.y[:20], strict=True):
        match = np.flatnonzero(np.abs(pixels - x[..., 0]).max(axis=(1, 2)) < 1e-6)
        assert (digits[match[0]] in DIGITS_BINARY_TASK.positive) == bool(y)


def test_digits10_multiclass() -> None:
    ds = load_dataset("digits10", image_size=SIZE, seed=3, train_size=300)
    assert ds.task == "multiclass"
    assert ds.class_names == tuple(str(d) for d in range(10))
    assert ds.num_outputs == 10
    assert len(ds.train) == 300 and len(ds.val) + len(ds.test) == 1497
    for split in (ds.train, ds.val, ds.test):
        assert split.y.dtype == np.int64
        assert np.bincount(split.y, minlength=10).min() >= len(split) // 10 - 2


def test_digits_split_is_deterministic_by_seed() -> None:
    a = load_dataset("digits", image_size=8, seed=7)
    _assert_same(a, load_dataset("digits", image_size=8, seed=7))
    other = load_dataset("digits", image_size=8, seed=8)
    assert not np.array_equal(a.train.x, other.train.x)
    assert a.content_hash != other.content_hash


def test_digits_describe_is_json() -> None:
    ds = load_dataset("digits", image_size=SIZE)
    described = json.loads(json.dumps(ds.describe()))
    assert described["name"] == "digits"
    assert described["sizes"]["train"] == DIGITS_TRAIN_SIZE
    assert described["input_shape"] == [SIZE, SIZE, 1]
    assert described["content_hash"] == ds.content_hash and len(ds.content_hash) == 16


def test_arrays_are_read_only() -> None:
    ds = load_dataset("digits", image_size=8)
    with pytest.raises(ValueError):
        ds.train.x[0, 0, 0, 0] = 1.0


# --------------------------------------------------------------------------- folder


@pytest.fixture
def split_folder(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> Path:
    root = tmp_path / "splits"
    for split, count in (("train", 12), ("validation", 4), ("test", 4)):
        _write_classes(root / split, digits, {"three": 3, "eight": 8}, per_class=count)
    return root


def test_folder_with_split_subfolders(split_folder: Path) -> None:
    ds = load_dataset(f"folder:{split_folder}", image_size=SIZE)
    assert ds.task == "binary"
    assert ds.class_names == ("eight", "three")  # sorted
    assert (len(ds.train), len(ds.val), len(ds.test)) == (24, 8, 8)
    for split in (ds.train, ds.val, ds.test):
        _assert_images(split, 1)
        assert split.y.mean() == 0.5


def test_folder_mixed_grayscale_and_rgb_jpeg(
    split_folder: Path, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    _save(split_folder / "test" / "three" / "COLOUR.JPG", digits[0][3], rgb=True)
    ds = load_dataset(f"folder:{split_folder}", image_size=SIZE)
    assert ds.input_shape == (SIZE, SIZE, 3)
    for split in (ds.train, ds.val, ds.test):
        _assert_images(split, 3)
    assert len(ds.test) == 9
    gray = ds.train.x[0]
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])


def test_folder_train_size_subsamples_train_only(split_folder: Path) -> None:
    ds = load_dataset(f"folder:{split_folder}", image_size=SIZE, train_size=10)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (10, 8, 8)
    assert ds.train.y.mean() == 0.5


@pytest.fixture
def flat_folder(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> Path:
    root = tmp_path / "flat"
    _write_classes(root, digits, {"one": 1, "two": 2, "zero": 0}, per_class=20)
    (root / "notes.txt").write_text("not an image")
    (root / "one" / "README.md").write_text("ignored: not an image suffix")
    return root


def test_flat_folder_splits_70_15_15_stratified(flat_folder: Path) -> None:
    ds = load_dataset(f"folder:{flat_folder}", image_size=SIZE, seed=1)
    assert ds.task == "multiclass"
    assert ds.class_names == ("one", "two", "zero")
    assert (len(ds.train), len(ds.val), len(ds.test)) == (42, 9, 9)
    assert np.bincount(ds.train.y).tolist() == [14, 14, 14]
    assert np.bincount(ds.val.y).tolist() == [3, 3, 3]
    assert np.bincount(ds.test.y).tolist() == [3, 3, 3]
    _assert_images(ds.train, 1)


def test_flat_folder_is_deterministic_by_seed(flat_folder: Path) -> None:
    source = f"folder:{flat_folder}"
    a = load_dataset(source, image_size=SIZE, seed=1)
    _assert_same(a, load_dataset(source, image_size=SIZE, seed=1))
    assert a.content_hash != load_dataset(source, image_size=SIZE, seed=2).content_hash


def test_resize_is_bilinear_and_in_range(tmp_path: Path) -> None:
    image = np.zeros((4, 4), np.uint8)
    image[:, 2:] = 255
    for name in ("a", "b"):
        for i in range(10):
            _save(tmp_path / name / f"{i}.png", image)
    ds = load_dataset(f"folder:{tmp_path}", image_size=8)
    row = ds.train.x[0, 0, :, 0]
    assert row[0] == 0.0 and row[-1] == 1.0
    assert ((row > 0) & (row < 1)).any()  # interpolated, not nearest-neighbour


# --------------------------------------------------------------------------- npz


def test_npz_binary_uint8(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    path = _write_npz(tmp_path / "b.npz", lambda y: (y % 2).reshape(-1, 1))
    ds = load_dataset(f"npz:{path}", image_size=SIZE)
    assert ds.task == "binary" and ds.class_names == ("0", "1") and ds.num_outputs == 1
    assert (len(ds.train), len(ds.val), len(ds.test)) == (300, 100, 100)
    _assert_images(ds.train, 1)
    np.testing.assert_array_equal(ds.val.y, (digits[1][300:400] % 2).astype(np.float32))
    assert ds.val.y.dtype == np.float32


def test_npz_multiclass_float_rgb_with_class_names(tmp_path: Path) -> None:
    arrays = _npz_arrays()
    rgb = {}
    for split in ("train", "val", "test"):
        gray = arrays[f"{split}_images"].astype(np.float32) / 255
        rgb[f"{split}_images"] = np.repeat(gray[..., None], 3, axis=-1)
    names = tuple(f"digit {d}" for d in range(10))
    path = _write_npz(tmp_path / "m.npz", class_names=names, **rgb)
    ds = load_dataset(f"npz:{path}", image_size=SIZE, train_size=100, seed=4)
    assert ds.task == "multiclass" and ds.class_names == names and ds.num_outputs == 10
    assert ds.input_shape == (SIZE, SIZE, 3)
    assert len(ds.train) == 100 and np.bincount(ds.train.y, minlength=10).min() >= 8
    assert ds.train.y.dtype == np.int64
    _assert_images(ds.test, 3)
    again = load_dataset(f"npz:{path}", image_size=SIZE, train_size=100, seed=4)
    _assert_same(ds, again)


def test_npz_multilabel(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    def multi_hot(y: np.ndarray) -> np.ndarray:
        return np.stack([y % 2 == 1, y >= 5, y == 0], axis=1).astype(np.uint8)

    path = _write_npz(tmp_path / "ml.npz", multi_hot)
    ds = load_dataset(f"npz:{path}", image_size=8)
    assert ds.task == "multilabel" and ds.class_names == ("0", "1", "2") and ds.num_outputs == 3
    assert ds.train.y.dtype == np.float32 and ds.train.y.shape == (300, 3)
    np.testing.assert_array_equal(ds.test.y, multi_hot(digits[1][400:500]))
    assert len(load_dataset(f"npz:{path}", image_size=8, train_size=50).train) == 50


# --------------------------------------------------------------------------- pipeline


def test_pipeline_one_hot_for_multiclass() -> None:
    ds = load_dataset("digits10", image_size=8, train_size=100)
    batches = list(make_pipeline(ds.train, batch_size=32, shuffle=False, seed=0))
    assert [tuple(x.shape) for x, _ in batches] == [(32, 8, 8, 1)] * 3 + [(4, 8, 8, 1)]
    y = np.concatenate([y.numpy() for _, y in batches])
    assert y.dtype == np.float32 and y.shape == (100, 10)
    np.testing.assert_array_equal(y.argmax(axis=1), ds.train.y)
    np.testing.assert_array_equal(y.sum(axis=1), 1.0)


def test_pipeline_one_hot_keeps_all_columns_when_a_class_is_missing() -> None:
    split = Split(x=np.zeros((3, 4, 4, 1), np.float32), y=np.array([0, 1, 1]), num_classes=5)
    (_, y), *_ = make_pipeline(split, batch_size=8, shuffle=False, seed=0)
    assert tuple(y.shape) == (3, 5)


def test_pipeline_binary_and_shuffle_is_seeded() -> None:
    ds = load_dataset("digits", image_size=8, train_size=64)
    first = [y.numpy() for _, y in make_pipeline(ds.train, batch_size=16, shuffle=True, seed=5)]
    again = [y.numpy() for _, y in make_pipeline(ds.train, batch_size=16, shuffle=True, seed=5)]
    assert first[0].shape == (16,) and first[0].dtype == np.float32
    np.testing.assert_array_equal(np.concatenate(first), np.concatenate(again))
    assert not np.array_equal(np.concatenate(first), ds.train.y)


# --------------------------------------------------------------------------- bad input


def _bad_folder_cases(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> dict:
    """Each bad folder, with a fragment its error message must contain."""
    cases = {}
    empty = tmp_path / "empty"
    empty.mkdir()
    cases["empty"] = (empty, "no class subfolders")
    one_class = tmp_path / "one_class"
    _write_classes(one_class, digits, {"only": 1}, per_class=5)
    cases["one_class"] = (one_class, "only one class 'only'")
    no_images = tmp_path / "no_images"
    _write_classes(no_images, digits, {"a": 1}, per_class=5)
    (no_images / "b").mkdir()
    (no_images / "b" / "x.txt").write_text("x")
    cases["no_images"] = (no_images, "has no images")
    corrupt = tmp_path / "corrupt"
    _write_classes(corrupt, digits, {"a": 1, "b": 2}, per_class=5)
    (corrupt / "b" / "broken.png").write_bytes(b"\x89PNG not really")
    cases["corrupt"] = (corrupt, "broken.png")
    tiny = tmp_path / "tiny"
    _write_classes(tiny, digits, {"a": 1, "b": 2}, per_class=2)
    cases["tiny"] = (tiny, "too few images")
    missing_split = tmp_path / "missing_split"
    _write_classes(missing_split / "train", digits, {"a": 1, "b": 2}, per_class=3)
    _write_classes(missing_split / "test", digits, {"a": 1, "b": 2}, per_class=3)
    cases["missing_split"] = (missing_split, "['val']")
    cases["missing"] = (tmp_path / "does_not_exist", "does not exist")
    return cases


FOLDER_CASES = ("empty", "one_class", "no_images", "corrupt", "tiny", "missing_split", "missing")


@pytest.mark.parametrize("case", FOLDER_CASES)
def test_bad_folder(case: str, tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    path, fragment = _bad_folder_cases(tmp_path, digits)[case]
    source = f"folder:{path}"
    with pytest.raises(BenchInputError) as error:
        load_dataset(source, image_size=8)
    message = str(error.value)
    assert source in message and fragment in message and "\n" not in message


def _bad_npz(tmp_path: Path, case: str) -> tuple[Path, str]:
    good = _npz_arrays()
    path = tmp_path / f"{case}.npz"
    if case == "missing":
        return tmp_path / "nope.npz", "does not exist"
    if case == "missing_keys":
        written = _write_npz(path, val_labels=None, test_images=None)
        return written, "keys ['val_labels', 'test_images'] missing"
    if case == "length":
        written = _write_npz(path, test_labels=good["test_labels"][:-1])
        return written, "split 'test' has 100 images but 99 labels"
    if case == "pickled":
        written = _write_npz(path, train_labels=np.array([object()] * 300, dtype=object))
        return written, "pickled object arrays"
    if case == "single_class":
        return _write_npz(path, np.zeros_like), "single class"
    if case == "not_npz":
        path.write_bytes(b"definitely not a zip archive")
        return path, "is not an .npz archive"
    if case == "bad_multilabel":
        return _write_npz(path, lambda y: np.full((len(y), 3), 2)), "other than 0 and 1"
    if case == "float_range":
        written = _write_npz(path, val_images=good["val_images"].astype(np.float32))
        return written, "val_images are floats outside [0, 1]"
    if case == "too_small_subsample":
        return _write_npz(path), "too few images"
    raise AssertionError(case)


NPZ_CASES = (
    "missing",
    "missing_keys",
    "length",
    "pickled",
    "single_class",
    "not_npz",
    "bad_multilabel",
    "float_range",
    "too_small_subsample",
)


@pytest.mark.parametrize("case", NPZ_CASES)
def test_bad_npz(case: str, tmp_path: Path) -> None:
    path, fragment = _bad_npz(tmp_path, case)
    source = f"npz:{path}"
    train_size = 5 if case == "too_small_subsample" else None
    with pytest.raises(BenchInputError) as error:
        load_dataset(source, image_size=8, train_size=train_size)
    message = str(error.value)
    assert source in message and fragment in message and "\n" not in message


@pytest.mark.parametrize("source", ["foo", "digits:x", "digits10:", "folder:", "npz", "", "mnist"])
def test_unknown_source(source: str) -> None:
    with pytest.raises(BenchInputError, match="unknown source; expected digits, digits10") as error:
        load_dataset(source, image_size=8)
    assert repr(source) in str(error.value)


@pytest.mark.parametrize("train_size", [0, 19, 1797, 1778])
def test_digits_bad_train_size(train_size: int) -> None:
    with pytest.raises(BenchInputError, match="train_size: got") as error:
        load_dataset("digits10", image_size=8, train_size=train_size)
    assert str(train_size) in str(error.value)


def test_folder_train_size_larger_than_train(split_folder: Path) -> None:
    with pytest.raises(BenchInputError, match="expected at most 24"):
        load_dataset(f"folder:{split_folder}", image_size=8, train_size=25)


@pytest.mark.parametrize("image_size", [0, -3, 2.5, True])
def test_bad_image_size(image_size: object) -> None:
    with pytest.raises(BenchInputError, match="image_size: got"):
        load_dataset("digits", image_size=image_size)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- bad files


def _photo(mode: str, size: tuple[int, int], *, seed: int = 0) -> Image.Image:
    """A noisy picture of ``size`` (width, height) in Pillow ``mode``."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels, mode="RGB").convert(mode)


def _truncated_jpeg(path: Path) -> None:
    buffer = io.BytesIO()
    _photo("RGB", (64, 64)).save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


def _bad_file_folder(
    tmp_path: Path, digits: tuple[np.ndarray, np.ndarray], case: str
) -> tuple[Path, Path, str]:
    """A flat folder with one bad file: (folder, the file to name, a fragment of the reason)."""
    root = tmp_path / case
    _write_classes(root, digits, {"a": 1, "b": 2}, per_class=10)
    if case == "single_image_class":
        _save(root / "c" / "0.png", digits[0][0])
        return root, root / "c", "has 1 image; expected at least 7 images per class"
    if case == "truncated_jpeg":
        _truncated_jpeg(root / "a" / "cut.jpg")
        return root, root / "a" / "cut.jpg", "truncated or corrupt"
    if case == "empty_png":
        (root / "b" / "empty.png").write_bytes(b"")
        return root, root / "b" / "empty.png", "an empty file (0 bytes)"
    if case == "not_an_image":
        (root / "a" / "notes.jpeg").write_text("shopping list, not a photo")
        return root, root / "a" / "notes.jpeg", "not in an image format"
    raise AssertionError(case)


BAD_FILE_CASES = ("single_image_class", "truncated_jpeg", "empty_png", "not_an_image")


@pytest.mark.parametrize("case", BAD_FILE_CASES)
def test_bad_file_is_one_line_naming_it(
    case: str, tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    root, named, fragment = _bad_file_folder(tmp_path, digits, case)
    source = f"folder:{root}"
    with pytest.raises(BenchInputError) as error:
        load_dataset(source, image_size=8)
    message = str(error.value)
    assert source in message and repr(str(named)) in message and fragment in message
    assert "expected" in message and "\n" not in message


def test_bad_file_in_a_split_folder_is_named(split_folder: Path) -> None:
    broken = split_folder / "validation" / "eight" / "cut.jpg"
    _truncated_jpeg(broken)
    with pytest.raises(BenchInputError, match="truncated or corrupt") as error:
        load_dataset(f"folder:{split_folder}", image_size=8)
    assert repr(str(broken)) in str(error.value)


def test_single_image_class_is_fine_when_the_folder_has_its_own_splits(
    split_folder: Path, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    for split in ("train", "validation", "test"):
        _save(split_folder / split / "zero" / "0.png", digits[0][0])
    ds = load_dataset(f"folder:{split_folder}", image_size=8)
    assert ds.class_names == ("eight", "three", "zero") and len(ds.train) == 25


def _bad_split_npz(tmp_path: Path, case: str) -> Path:
    path = tmp_path / f"{case}.npz"
    if case == "image_size":
        return _write_npz(path, val_images=np.zeros((100, 16, 16), np.uint8))
    assert case == "channels", case
    gray = _npz_arrays()["test_images"]
    return _write_npz(path, test_images=np.repeat(gray[..., None], 3, axis=-1))


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("image_size", "val_images are 16x16 with 1 channel but train_images are 8x8 with 1"),
        ("channels", "test_images are 8x8 with 3 channels but train_images are 8x8 with 1"),
    ],
)
def test_npz_splits_must_share_image_size_and_channels(
    case: str, fragment: str, tmp_path: Path
) -> None:
    source = f"npz:{_bad_split_npz(tmp_path, case)}"
    with pytest.raises(BenchInputError) as error:
        load_dataset(source, image_size=8)
    message = str(error.value)
    assert source in message and fragment in message and "\n" not in message
    assert "expected one image size and channel count in every split" in message


# --------------------------------------------------------------------------- real photos


def _write_mixed_photos(root: Path) -> None:
    """Two classes of pictures in every size and colour mode a camera or an editor writes."""
    palette = _photo("RGB", (30, 20), seed=5).quantize(8)
    palette.info["transparency"] = bytes(range(0, 256, 32))  # per-entry alpha
    cat = {
        "gray.jpg": _photo("L", (8, 8), seed=1),
        "photo.jpg": _photo("RGB", (40, 30), seed=2),
        "print.jpg": _photo("CMYK", (25, 25), seed=3),
        "cutout.png": _photo("RGBA", (9, 13), seed=4),
        "palette.png": palette,
        "bilevel.png": _photo("1", (12, 12), seed=6),
        "gray_alpha.png": _photo("LA", (10, 10), seed=7),
    }
    sixteen = np.random.default_rng(8).integers(0, 65536, (20, 14)).astype(np.uint16)
    dog = {
        "scan16.png": Image.fromarray(sixteen),
        "tall.PNG": _photo("RGB", (10, 50), seed=9),
        "small.jpeg": _photo("L", (5, 5), seed=10),
        "gray.png": _photo("L", (64, 48), seed=11),
        "rgba.png": _photo("RGBA", (16, 16), seed=12),
        "cmyk.jpg": _photo("CMYK", (7, 9), seed=13),
        "palette.png": _photo("P", (33, 33), seed=14),
    }
    for name, images in (("cat", cat), ("dog", dog)):
        (root / name).mkdir(parents=True)
        for file, image in images.items():
            image.save(root / name / file)
    assert Image.open(root / "dog" / "scan16.png").mode.startswith("I")


def test_photos_of_mixed_sizes_and_colour_modes_load_as_rgb(tmp_path: Path) -> None:
    _write_mixed_photos(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a palette's transparency must not warn
        ds = load_dataset(f"folder:{tmp_path}", image_size=SIZE)
    assert ds.task == "binary" and ds.input_shape == (SIZE, SIZE, 3)
    assert len(ds.train) + len(ds.val) + len(ds.test) == 14
    for split in (ds.train, ds.val, ds.test):
        _assert_images(split, 3)


def _constant_png(path: Path, value: int, dtype: type) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((6, 6), value, dtype)).save(path)


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    for split in ("train", "val", "test"):
        _constant_png(tmp_path / split / "dark" / "16bit.png", 128 * 257, np.uint16)
        _constant_png(tmp_path / split / "bright" / "16bit.png", 65535, np.uint16)
        _constant_png(tmp_path / split / "dark" / "8bit.png", 64, np.uint8)
    ds = load_dataset(f"folder:{tmp_path}", image_size=4)
    assert ds.input_shape == (4, 4, 1)  # all grayscale: one channel
    brightness = sorted(float(image.mean()) for image in ds.train.x)
    assert brightness == pytest.approx([64 / 255, 128 / 255, 1.0])


# --------------------------------------------------------------------------- command line


def _train_argv(source: str, out: Path) -> list[str]:
    return ["train", "--dataset", source, "--epochs", "1", "--json", str(out)]


@pytest.mark.parametrize("case", ["single_image_class", "truncated_jpeg"])
def test_command_line_bad_folder_is_one_line_and_exit_2(
    case: str, tmp_path: Path, digits: tuple[np.ndarray, np.ndarray], capsys
) -> None:
    from bench.cli import main

    root, named, fragment = _bad_file_folder(tmp_path, digits, case)
    out = tmp_path / "out.json"
    assert main(_train_argv(f"folder:{root}", out)) == 2
    line = error_line(capsys)
    assert line.startswith("bench: error: dataset 'folder:")
    assert repr(str(named)) in line and fragment in line
    assert not out.exists()


def test_command_line_npz_with_mismatched_splits_is_one_line_and_exit_2(
    tmp_path: Path, capsys
) -> None:
    from bench.cli import main

    path = _bad_split_npz(tmp_path, "channels")
    out = tmp_path / "out.json"
    assert main(_train_argv(f"npz:{path}", out)) == 2
    line = error_line(capsys)
    assert f"dataset 'npz:{path}'" in line and "test_images" in line
    assert not out.exists()


# --------------------------------------------------------------------------- label noise


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != b) if a.ndim == 1 else (a != b).any(axis=1)


@pytest.mark.parametrize(
    ("source", "noise"), [("digits", 0.1), ("digits10", 0.25), ("digits10", 0.333)]
)
def test_label_noise_flips_exactly_that_many_training_labels(source: str, noise: float) -> None:
    clean = load_dataset(source, image_size=8, seed=3, train_size=300)
    noisy = load_dataset(source, image_size=8, seed=3, train_size=300, label_noise=noise)
    changed = _changed(noisy.train.y, clean.train.y)
    assert changed.sum() == round(noise * 300)
    assert np.isin(noisy.train.y, np.arange(len(clean.class_names))).all()
    np.testing.assert_array_equal(noisy.train.x, clean.train.x)
    for split in ("val", "test"):
        np.testing.assert_array_equal(getattr(noisy, split).y, getattr(clean, split).y)
        np.testing.assert_array_equal(getattr(noisy, split).x, getattr(clean, split).x)
    assert noisy.train.y.dtype == clean.train.y.dtype


def test_label_noise_is_deterministic_by_split_seed() -> None:
    a = load_dataset("digits10", image_size=8, seed=4, label_noise=0.2)
    _assert_same(a, load_dataset("digits10", image_size=8, seed=4, label_noise=0.2))
    b = load_dataset("digits10", image_size=8, seed=5, label_noise=0.2)
    clean_b = load_dataset("digits10", image_size=8, seed=5)
    flipped_a = _changed(a.train.y, load_dataset("digits10", image_size=8, seed=4).train.y)
    assert not np.array_equal(flipped_a, _changed(b.train.y, clean_b.train.y))


def test_label_noise_multilabel_flips_one_bit_per_chosen_image(tmp_path: Path) -> None:
    def multi_hot(y: np.ndarray) -> np.ndarray:
        return np.stack([y % 2 == 1, y >= 5, y == 0], axis=1).astype(np.uint8)

    source = f"npz:{_write_npz(tmp_path / 'ml.npz', multi_hot)}"
    clean = load_dataset(source, image_size=8, seed=1)
    noisy = load_dataset(source, image_size=8, seed=1, label_noise=0.15)
    bits = np.abs(noisy.train.y - clean.train.y).sum(axis=1)
    assert (bits == 1).sum() == round(0.15 * 300) and set(np.unique(bits)) == {0.0, 1.0}
    np.testing.assert_array_equal(noisy.test.y, clean.test.y)


def test_label_noise_is_recorded_and_hashed_only_when_set() -> None:
    from bench.workload import load_workload

    clean = load_dataset("digits", image_size=8)
    assert clean.content_hash == load_dataset("digits", image_size=8, label_noise=0.0).content_hash
    assert clean.describe()["label_noise"] == 0.0
    noisy = load_dataset("digits", image_size=8, label_noise=0.1)
    assert noisy.content_hash != clean.content_hash
    assert json.loads(json.dumps(noisy.describe()))["label_noise"] == 0.1
    workload = load_workload("digits", train_size=100, label_noise=0.2)
    assert workload.describe()["label_noise"] == 0.2 and workload.dataset.label_noise == 0.2


def test_label_noise_too_small_to_flip_one_label_changes_nothing_but_the_hash() -> None:
    clean = load_dataset("digits", image_size=8, train_size=100)
    tiny = load_dataset("digits", image_size=8, train_size=100, label_noise=0.004)
    np.testing.assert_array_equal(tiny.train.y, clean.train.y)
    assert tiny.describe()["label_noise"] == 0.004


@pytest.mark.parametrize("noise", [-0.1, 1, 1.0, 2.5, float("nan"), True, "0.1", None])
def test_bad_label_noise(noise: object) -> None:
    with pytest.raises(BenchInputError, match="label_noise: got") as error:
        load_dataset("digits", image_size=8, label_noise=noise)  # type: ignore[arg-type]
    assert "expected a fraction 0 <= label_noise < 1" in str(error.value)
