"""The recipe: the training algorithm under test, and the one place its knobs are declared.

Where things live:

- ``_knobs.py``: :class:`Recipe`, :class:`Knob`, :func:`knobs` and the choices
  (:data:`OPTIMIZERS`...), which the command line, specs and reports read. No Keras.
- ``_builders.py``: a recipe turned into Keras objects (:func:`build_optimizer`,
  :func:`build_learning_rate`, :func:`build_loss`, :func:`build_regularizer`,
  :func:`build_callbacks`), so that :mod:`bench.trial` only wires them together.
- ``_reuse.py``: which recipes share a traced training step
  (:func:`optimizer_signature`) and writing a recipe's numbers into its variables
  (:func:`set_optimizer_values`, :func:`set_regularizer_value`).

The Keras side is imported on first use of one of its names, so that reading the knobs
(``bench --help``, validating a spec) never waits for TensorFlow.

Example:
    >>> from bench.recipe import Recipe, knobs
    >>> Recipe(optimizer="sgd").optimizer, len(knobs()) > 20
    ('sgd', True)
"""

from __future__ import annotations

from bench._lazy import lazy_exports
from bench.recipe._knobs import (
    MONITORS,
    OPTIMIZERS,
    SCHEDULES,
    Knob,
    Recipe,
    check_knob_names,
    knob_by_name,
    knob_field,
    knobs,
)

#: The names that import Keras, by the module that defines them.
_KERAS_SIDE = {
    **dict.fromkeys(
        (
            "build_callbacks",
            "build_learning_rate",
            "build_loss",
            "build_optimizer",
            "build_regularizer",
            "monitor_mode",
            "warmup_cosine_rate",
        ),
        "bench.recipe._builders",
    ),
    **dict.fromkeys(
        (
            "VariableMomentumSGD",
            "optimizer_signature",
            "set_optimizer_values",
            "set_regularizer_value",
        ),
        "bench.recipe._reuse",
    ),
}

__all__ = [
    "MONITORS",
    "OPTIMIZERS",
    "SCHEDULES",
    "Knob",
    "Recipe",
    "check_knob_names",
    "knob_by_name",
    "knob_field",
    "knobs",
    *sorted(_KERAS_SIDE),
]


# The Keras side is imported on first use (PEP 562).
__getattr__, __dir__ = lazy_exports(globals(), _KERAS_SIDE)
