"""Keras, loaded with the backend :mod:`bench.backend` chose, and with TensorFlow's
start-up chatter kept off the user's terminal.

Keras already loaded by the caller keeps its backend. Otherwise the backend is the one
``bench`` was told (``--backend``, ``$BENCH_BACKEND``, ``$KERAS_BACKEND``) or the default.

TensorFlow's C++ runtime writes oneDNN and CUDA notices straight to file descriptor 2
while it loads, before any logging setting is read, so they can only be silenced by
pointing that descriptor elsewhere for the duration of the import. Errors raised by the
import still propagate as Python exceptions.
"""

from __future__ import annotations

import os
import sys

from bench.backend import KERAS_BACKEND_ENV, active_backend, choose_backend, use_backend


def _import_tensorflow_quietly() -> None:
    if "tensorflow" in sys.modules or os.environ.get("BENCH_TF_VERBOSE"):
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


if active_backend() is None:
    use_backend(choose_backend(None))
    if os.environ[KERAS_BACKEND_ENV] == "tensorflow":
        _import_tensorflow_quietly()

import keras  # noqa: E402

__all__ = ["keras"]
