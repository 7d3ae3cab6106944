"""bench: benchmark training recipes for a shared Vision Transformer.

Which optimizer, L2 rate, weight decay, early-stopping patience and learning-rate
schedule make a ViT generalize best, and by how much? Recipes are swept as Optuna
studies, every trial lands in an Optuna storage, and ``bench report`` compares them.

Three names load Keras, so they are imported on first use (``import bench`` and
``bench --help`` never wait for it):

- ``load_model(path)``: a model ``bench train --save`` wrote, loaded after the ViT's own
  layers are registered with Keras (:func:`bench.workload.load_model`).
- ``keras``: Keras with the backend bench chose (``--backend``, ``$BENCH_BACKEND``,
  ``$KERAS_BACKEND`` or the default), for a script that builds or fits models next to
  bench's trials without changing their backend.
- ``compiled_model(workload, recipe, *, reuse)``: the compiled ViT a trial of this
  process trains, taken from the reuse cache (``reuse=True``) or built afresh; its
  ``prepare(recipe, steps_per_epoch=...)`` returns the Keras model set to a fresh build's
  state. A hook for timing a trial's parts (``benchmarks/bench_epoch.py``).

Example:
    >>> from bench import keras
    >>> keras.backend.backend() in ("jax", "tensorflow")
    True
"""

import os

from bench._lazy import lazy_exports

# TensorFlow prints pages of start-up logs otherwise; a user's own setting wins. The Keras
# backend is chosen when Keras is first needed (bench.backend, bench._keras).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

#: The public names that import Keras, by the module that defines them.
_KERAS_SIDE = {
    "keras": "bench._keras",
    "compiled_model": "bench._compiled",
    "load_model": "bench.workload",
}

__all__ = sorted(_KERAS_SIDE)


# The Keras side is imported on first use (PEP 562).
__getattr__, __dir__ = lazy_exports(globals(), _KERAS_SIDE)
