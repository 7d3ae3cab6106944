"""How a searched range is drawn: its scale, and the value the sampler draws for a knob.

A range is drawn uniformly on one of :data:`SCALES`: the knob's value (``linear``), its
logarithm (``log``), or the logarithm of its distance below 1 (``log1m``, for a knob
bounded above by 1 such as a momentum or an Adam beta: 0.9 to 0.99 is as long a step as
0.5 to 0.95). A ``log1m`` knob's Optuna param holds the drawn ``1 - value`` on a log
scale and is named ``1-<knob>`` (``sgd.1-momentum``), so that the dashboard shows what
was drawn; every reader turns it back into the knob's value with :func:`knob_of_param`.

No dependencies: the spec, the sampler, the results and the report all read it.

Example:
    >>> drawn_name("momentum", "log1m"), to_drawn(0.9, "log1m")
    ('1-momentum', 0.1)
    >>> knob_of_param("1-momentum", 0.1)
    ('momentum', 0.9)
    >>> round(position(0.9, low=0.5, high=0.99, scale="log1m"), 2)  # linear: 0.82
    0.41
"""

from __future__ import annotations

import math
from typing import Any, Final

LINEAR: Final = "linear"
LOG: Final = "log"
LOG1M: Final = "log1m"
SCALES: Final[tuple[str, ...]] = (LINEAR, LOG, LOG1M)
#: What each scale draws uniformly, for messages and the report.
SCALE_WORDS: Final[dict[str, str]] = {
    LINEAR: "the value",
    LOG: "log(value)",
    LOG1M: "log(1 - value)",
}
#: The prefix of a ``log1m`` knob's param: it holds ``1 - value``.
COMPLEMENT: Final = "1-"
#: How close to an end of its range (a fraction of the range's width, on the scale it
#: was drawn on) a chosen value is flagged as possibly limited by the range.
EDGE_FRACTION: Final = 0.05


def drawn_name(knob: str, scale: str) -> str:
    """The name of the param that holds a knob's drawn value.

    Example:
        >>> drawn_name("learning_rate", "log"), drawn_name("beta_2", "log1m")
        ('learning_rate', '1-beta_2')
    """
    return COMPLEMENT + knob if scale == LOG1M else knob


def to_drawn(value: float, scale: str) -> float:
    """The drawn value of a knob's ``value``: ``1 - value`` on ``log1m``, else the value.

    Rounded to 12 significant digits, as the sampler's draws are.

    Example:
        >>> to_drawn(0.99, "log1m"), to_drawn(0.01, "log")
        (0.01, 0.01)
    """
    return float(f"{1.0 - value:.12g}") if scale == LOG1M else value


def from_drawn(drawn: float, scale: str) -> float:
    """The knob's value of a drawn value (the inverse of :func:`to_drawn`).

    Example:
        >>> from_drawn(0.05, "log1m")
        0.95
    """
    return float(f"{1.0 - drawn:.15g}") if scale == LOG1M else drawn


def knob_name(name: str) -> str:
    """The knob a param (without its candidate's prefix) draws.

    Example:
        >>> knob_name("1-momentum"), knob_name("learning_rate")
        ('momentum', 'learning_rate')
    """
    return name.removeprefix(COMPLEMENT)


def knob_of_param(name: str, value: Any) -> tuple[str, Any]:
    """A param's knob and the knob's value: ``1-momentum = 0.1`` is ``momentum = 0.9``.

    Example:
        >>> knob_of_param("learning_rate", 0.01), knob_of_param("1-beta_1", 0.25)
        (('learning_rate', 0.01), ('beta_1', 0.75))
    """
    if name.startswith(COMPLEMENT) and isinstance(value, (int, float)):
        return knob_name(name), from_drawn(float(value), LOG1M)
    return knob_name(name), value


def position(value: float, *, low: float, high: float, scale: str) -> float:
    """Where ``value`` lies in ``[low, high]`` on the scale its range was drawn on: 0 at
    ``low``, 1 at ``high``.

    Example:
        >>> position(1e-3, low=1e-5, high=1e-1, scale="log")
        0.5
        >>> position(0.5, low=0.5, high=0.99, scale="log1m")
        0.0
    """
    if scale == LOG:
        value, low, high = math.log(value), math.log(low), math.log(high)
    elif scale == LOG1M:
        value, low, high = -math.log1p(-value), -math.log1p(-low), -math.log1p(-high)
    return (value - low) / (high - low)


def edge(value: float, *, low: float, high: float, scale: str) -> str | None:
    """``"low"`` or ``"high"`` when ``value`` is within :data:`EDGE_FRACTION` of the
    range's width (on its scale) of that end, else ``None``.

    Example:
        >>> edge(0.098, low=1e-4, high=0.1, scale="log")
        'high'
        >>> edge(0.01, low=1e-4, high=0.1, scale="log") is None
        True
    """
    at = position(value, low=low, high=high, scale=scale)
    if at <= EDGE_FRACTION:
        return "low"
    if at >= 1 - EDGE_FRACTION:
        return "high"
    return None
