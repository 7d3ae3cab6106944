"""bench: benchmark training recipes for a shared Vision Transformer.

Which optimizer, L2 rate, weight decay, early-stopping patience and learning-rate
schedule make a ViT generalize best, and by how much? Recipes are swept as Optuna
studies, every trial lands in an Optuna storage, and ``bench report`` compares them.

A model ``bench train --save`` wrote loads with :func:`bench.load_model`
(:func:`bench.workload.load_model`), which registers the ViT's own layers with Keras
first. ``import bench`` alone imports no Keras: every command line starts with it.

Example:
    >>> import bench
    >>> bench.load_model.__module__
    'bench.workload._saved_model'
"""

import os

# TensorFlow prints pages of start-up logs otherwise; a user's own setting wins. The Keras
# backend is chosen when Keras is first needed (bench.backend, bench._keras).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

__all__ = ["__version__", "load_model"]


def __getattr__(name: str):
    # Loading a model needs Keras (seconds to import); only this name pays for it.
    if name == "load_model":
        from bench.workload import load_model

        return load_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
