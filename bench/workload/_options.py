"""What a workload option may be, declared and checked in one place.

:func:`bench.workload.load_dataset` checks its arguments with these before it reads
anything, and a spec's ``[workload]`` table checks its values with the same ones, so a
bad size or noise reads the same from a spec, the command line or Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from bench.errors import BenchInputError


@dataclass(frozen=True)
class WorkloadOption:
    """One option of loading a workload: an integer with a minimum, or a fraction in [0, 1).

    Example:
        >>> WORKLOAD_OPTIONS["train_size"].describe()
        'an integer >= 1'
        >>> WORKLOAD_OPTIONS["label_noise"].check(1.0)
        Traceback (most recent call last):
        ...
        bench.errors.BenchInputError: label_noise: got 1.0; expected a fraction 0 <= label_noise < 1
    """

    name: str
    kind: Literal["integer", "fraction"]
    minimum: int = 0

    def describe(self) -> str:
        """Which values are valid, in words, for error messages."""
        if self.kind == "fraction":
            return f"a fraction 0 <= {self.name} < 1"
        return f"an integer >= {self.minimum}"

    def is_valid(self, value: object) -> bool:
        """Whether ``value`` is valid as it is: no conversion, and a bool is no number."""
        if isinstance(value, bool):
            return False
        if self.kind == "fraction":
            is_number = isinstance(value, (int, float, np.integer, np.floating))
            return is_number and 0 <= value < 1
        return isinstance(value, (int, np.integer)) and value >= self.minimum

    def check(self, value: object) -> None:
        """Raise :class:`BenchInputError` naming the option if ``value`` is not valid."""
        if not self.is_valid(value):
            raise BenchInputError(f"{self.name}: got {value!r}; expected {self.describe()}")


#: Every checked workload option, by the name the loader and the spec give it.
WORKLOAD_OPTIONS = {
    option.name: option
    for option in (
        WorkloadOption("image_size", "integer", minimum=1),
        WorkloadOption("train_size", "integer", minimum=1),
        WorkloadOption("split_seed", "integer", minimum=0),
        WorkloadOption("label_noise", "fraction"),
    )
}
