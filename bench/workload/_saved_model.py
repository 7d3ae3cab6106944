"""A trained ViT saved to a file in Keras's own format, and loaded back with Keras alone.

The model saved is a plain one (what :func:`bench.trial.run_trial` hands its ``on_kept``
hook: uncompiled, Keras's own L2, the weights training kept), so
``keras.saving.load_model`` reads it without ``custom_objects`` once the ViT's two
layers of its own are registered, which :func:`register_layers` does and
:func:`load_model` (``bench.load_model``) does before loading. Nothing here imports
Keras until a model is saved or loaded.

Example:
    >>> from pathlib import Path
    >>> check_model_path(Path("model.h5"))
    Traceback (most recent call last):
    ...
    bench.errors.BenchInputError: --save model.h5: expected a path ending in .keras (Keras's ...
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.errors import BenchInputError

#: The file ending Keras's model format requires.
MODEL_SUFFIX = ".keras"


def check_model_path(path: Path, *, flag: str = "--save") -> None:
    """Raise :class:`BenchInputError` naming ``flag`` unless a model can be saved at
    ``path``: it ends in ``.keras``, its folder exists, and it is not a folder itself.

    Example:
        >>> check_model_path(Path("model.keras"))
        >>> check_model_path(Path("no/such/folder/model.keras"))
        Traceback (most recent call last):
        ...
        bench.errors.BenchInputError: --save no/such/folder/model.keras: folder no/such/folder ...
    """
    if path.suffix != MODEL_SUFFIX:
        raise BenchInputError(
            f"{flag} {path}: expected a path ending in {MODEL_SUFFIX} (Keras's model format)"
        )
    folder = path.parent
    if not folder.is_dir():
        raise BenchInputError(f"{flag} {path}: folder {folder} does not exist")
    if path.is_dir():
        raise BenchInputError(f"{flag} {path}: is a folder; expected a file path")


def save_model(model: Any, path: Path) -> None:
    """Save ``model`` (a ``keras.Model``) at ``path`` with ``model.save``, whole or not at
    all: it is written next to ``path`` under a temporary name, then moved into place.

    Example:
        >>> import tempfile
        >>> from bench.workload import PRESETS, build_vit
        >>> model = build_vit(PRESETS["tiny"], channels=1, num_outputs=1, task="binary")
        >>> path = Path(tempfile.mkdtemp()) / "vit.keras"
        >>> save_model(model, path)
        >>> load_model(path).count_params() == model.count_params()
        True
    """
    check_model_path(path)
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial{MODEL_SUFFIX}")
    try:
        model.save(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def load_model(path: str | os.PathLike[str]) -> Any:
    """The ``keras.Model`` that ``bench train --save`` wrote at ``path``, read by
    ``keras.saving.load_model`` once :func:`register_layers` has registered the ViT's
    layers. Imports Keras; also reachable as ``bench.load_model``.

    Example:
        >>> import tempfile
        >>> from bench.workload import PRESETS, build_vit
        >>> model = build_vit(PRESETS["tiny"], channels=1, num_outputs=1, task="binary")
        >>> path = Path(tempfile.mkdtemp()) / "vit.keras"
        >>> save_model(model, path)
        >>> load_model(path).count_params() == model.count_params()
        True
    """
    register_layers()
    from bench._keras import keras

    return keras.saving.load_model(path)


def register_layers() -> None:
    """Register the ViT's own layers (``Patches``, ``PatchEncoder``, package ``bench``)
    with Keras, so that ``keras.saving.load_model`` reads a model bench saved without
    ``custom_objects``. Imports Keras.

    Example:
        >>> register_layers()
        >>> import keras
        >>> keras.saving.get_registered_object("bench>Patches").__name__
        'Patches'
    """
    import bench.workload._model  # noqa: F401  (its decorators register the layers)
