"""A stand-in for ``bench run``'s worker process: it writes the environment it started
with to ``$BENCH_TEST_ENV_DIR/<pid>.json`` and ends (tests/test_backend.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

RECORDED = ("CUDA_VISIBLE_DEVICES", "XLA_PYTHON_CLIENT_PREALLOCATE", "TF_FORCE_GPU_ALLOW_GROWTH")


def record_environment(spec, **options) -> None:
    names = (*RECORDED, "KERAS_BACKEND", "XLA_FLAGS")
    seen = {name: os.environ.get(name) for name in names}
    Path(os.environ["BENCH_TEST_ENV_DIR"], f"{os.getpid()}.json").write_text(json.dumps(seen))
