"""Which Keras backend trains, chosen before Keras is imported, and how worker processes
share this machine's cores or GPUs.

Keras 3 reads ``KERAS_BACKEND`` once, when it is first imported, so the choice is made
here and written to the environment, where worker processes inherit it. Nothing in this
module imports Keras, TensorFlow or JAX.

The choice, strongest first: ``--backend``, ``$BENCH_BACKEND``, an explicit
``$KERAS_BACKEND``, then :data:`DEFAULT_BACKEND` where it is installed (JAX trained the
shared ViT's epochs 1.8x faster than TensorFlow on a 2-core CPU; BENCHMARKS.md), else
TensorFlow.

Example:
    >>> choose_backend(None, environ={"BENCH_BACKEND": "tensorflow"})
    'tensorflow'
    >>> choose_backend("torch", environ={})
    Traceback (most recent call last):
    ...
    bench.errors.BenchInputError: --backend torch: unknown; expected one of jax, tensorflow
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, MutableMapping
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path

from bench.errors import BenchInputError

#: The Keras backends bench trains with, the default first.
BACKENDS = ("jax", "tensorflow")
DEFAULT_BACKEND = BACKENDS[0]
#: Chooses the backend like ``--backend`` (which wins over it).
BACKEND_ENV = "BENCH_BACKEND"
#: Keras's own variable: respected when set, and set for Keras and the workers.
KERAS_BACKEND_ENV = "KERAS_BACKEND"
#: The folder JAX keeps compiled programs in, shared by every worker, run and study.
JAX_CACHE_ENV = "BENCH_JAX_CACHE"

#: The libraries each backend's results depend on (a trial records their versions); the
#: last one's version is the backend's own.
BACKEND_LIBRARIES = {"jax": ("jax", "jaxlib"), "tensorflow": ("tensorflow",)}


def choose_backend(requested: str | None, *, environ: Mapping[str, str] | None = None) -> str:
    """The backend to train with: ``requested`` (``--backend``), else the environment's,
    else the default; an unknown or uninstalled one is a :class:`BenchInputError`.

    Example:
        >>> choose_backend(None, environ={"KERAS_BACKEND": "tensorflow"})
        'tensorflow'
        >>> choose_backend("jax", environ={"BENCH_BACKEND": "tensorflow"})
        'jax'
    """
    environ = os.environ if environ is None else environ
    for source, value in (
        ("--backend", requested),
        (f"${BACKEND_ENV}", environ.get(BACKEND_ENV)),
        (f"${KERAS_BACKEND_ENV}", environ.get(KERAS_BACKEND_ENV)),
    ):
        if value:
            return _checked(value.strip().lower(), source=source)
    return DEFAULT_BACKEND if is_installed(DEFAULT_BACKEND) else "tensorflow"


def _checked(name: str, *, source: str) -> str:
    if name not in BACKENDS:
        raise BenchInputError(f"{source} {name}: unknown; expected one of {', '.join(BACKENDS)}")
    if not is_installed(name):
        raise BenchInputError(
            f"{source} {name}: not installed; install it with 'pip install {name}'"
        )
    return name


def is_installed(backend: str) -> bool:
    """Whether the backend's library can be imported here.

    Example:
        >>> is_installed("jax") in (True, False)
        True
    """
    return find_spec(backend) is not None


def use_backend(backend: str, *, environ: MutableMapping[str, str] | None = None) -> None:
    """Make ``backend`` the one Keras loads here and in the workers started from here,
    with JAX's persistent compilation cache switched on (see :func:`jax_cache_dir`).

    A :class:`BenchInputError` when this process already runs Keras on another backend.

    Example:
        >>> env = {}
        >>> use_backend("jax", environ=env)
        >>> env["KERAS_BACKEND"], env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]
        ('jax', '0')
    """
    environ = os.environ if environ is None else environ
    if environ is os.environ:
        loaded = active_backend()
        if loaded is not None and loaded != backend:
            raise BenchInputError(
                f"--backend {backend}: this process already runs Keras on {loaded}; "
                "choose the backend before Keras is imported"
            )
    environ[KERAS_BACKEND_ENV] = backend
    environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if backend == "jax":
        # Compiled once per machine: every worker, rerun and later study reads what one
        # compiled (a step takes seconds to compile on a CPU, every program is kept).
        environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(jax_cache_dir(environ=environ)))
        environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
        environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")


def active_backend() -> str | None:
    """The backend of the Keras loaded in this process, or None before Keras is loaded.

    Example:
        >>> active_backend() in (None, "jax", "tensorflow")
        True
    """
    import sys

    keras = sys.modules.get("keras")
    if keras is None or not hasattr(keras, "backend"):
        return None
    return keras.backend.backend()


def backend_library(backend: str) -> str:
    """The library whose version is the backend's own.

    Example:
        >>> backend_library("jax"), backend_library("tensorflow")
        ('jaxlib', 'tensorflow')
    """
    return BACKEND_LIBRARIES[backend][-1]


def backend_version(backend: str) -> str | None:
    """The installed version of :func:`backend_library`, or None.

    Example:
        >>> backend_version("jax") is None or backend_version("jax")[0].isdigit()
        True
    """
    try:
        return version(backend_library(backend))
    except PackageNotFoundError:
        return None


def jax_cache_dir(*, environ: Mapping[str, str] | None = None) -> Path:
    """JAX's compilation cache: ``$BENCH_JAX_CACHE``, else ``bench/jax`` in the user's
    cache folder (``$XDG_CACHE_HOME``, else ``~/.cache``).

    Example:
        >>> str(jax_cache_dir(environ={"XDG_CACHE_HOME": "/c"}))
        '/c/bench/jax'
    """
    environ = os.environ if environ is None else environ
    if environ.get(JAX_CACHE_ENV):
        return Path(environ[JAX_CACHE_ENV])
    base = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "bench" / "jax"


def list_gpus() -> list[str]:
    """The indices of this machine's NVIDIA GPUs as ``nvidia-smi`` lists them (none when
    it is absent or fails); ``$CUDA_VISIBLE_DEVICES``, where set, narrows them.

    Example:
        >>> isinstance(list_gpus(), list)
        True
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    command = shutil.which("nvidia-smi")
    if command is None:
        return []
    try:
        listed = subprocess.run(
            [command, "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in listed.splitlines() if line.strip().isdigit()]


def default_jobs(*, trials_left: int, gpus: list[str] | None = None) -> int:
    """Worker processes ``bench run`` starts by default: one per GPU where there are
    GPUs, else one per core; never more than one per trial left.

    Example:
        >>> default_jobs(trials_left=10, gpus=["0", "1", "2"])
        3
        >>> default_jobs(trials_left=1, gpus=[])
        1
    """
    gpus = list_gpus() if gpus is None else gpus
    slots = len(gpus) or os.cpu_count() or 1
    return max(1, min(slots, trials_left))


def worker_environments(
    *, jobs: int, backend: str, gpus: list[str] | None = None, cores: int | None = None
) -> list[dict[str, str]]:
    """The environment variables each of ``jobs`` workers starts with.

    With GPUs, worker ``i`` sees GPU ``i`` alone (round robin when there are more
    workers), and takes memory as it needs it rather than all of it at start (JAX:
    ``XLA_PYTHON_CLIENT_PREALLOCATE``, TensorFlow: memory growth). Without, each JAX
    worker's XLA runs on its share of the cores (TensorFlow's threads are set inside the
    worker: :func:`bench.study.set_thread_budget`).

    Example:
        >>> envs = worker_environments(jobs=2, backend="jax", gpus=["0", "1"])
        >>> [e["CUDA_VISIBLE_DEVICES"] for e in envs], envs[0]["XLA_PYTHON_CLIENT_PREALLOCATE"]
        (['0', '1'], 'false')
    """
    gpus = list_gpus() if gpus is None else gpus
    envs: list[dict[str, str]] = []
    for index in range(jobs):
        env = {KERAS_BACKEND_ENV: backend}
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
            env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
            env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
        elif backend == "jax":
            flags = xla_cpu_flags(threads=cpu_share(jobs, cores=cores))
            if flags:
                env["XLA_FLAGS"] = flags
        envs.append(env)
    return envs


def cpu_share(jobs: int, *, cores: int | None = None) -> int:
    """The cores each of ``jobs`` workers gets on this machine (at least one).

    Example:
        >>> cpu_share(2, cores=8), cpu_share(4, cores=2)
        (4, 1)
    """
    cores = (os.cpu_count() or 1) if cores is None else cores
    return max(1, cores // max(1, jobs))


def xla_cpu_flags(*, threads: int) -> str:
    """``XLA_FLAGS`` for a JAX worker with ``threads`` cores of its own: with one core, XLA's
    CPU kernels run on one thread (appended to any flags the user set); with more, XLA's
    own thread pool is left as it is.

    Example:
        >>> "--xla_cpu_multi_thread_eigen=false" in xla_cpu_flags(threads=1)
        True
    """
    user = os.environ.get("XLA_FLAGS", "")
    if threads > 1:
        return user
    return f"{user} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1".strip()
