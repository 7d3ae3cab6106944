"""The one error type a user can cause."""

from __future__ import annotations


class BenchInputError(ValueError):
    """Bad user input: a bad flag value, dataset, path or study spec.

    The command line prints the message as one line and exits with status 2, so the
    message must name the input and say what would be valid.

    Example:
        >>> raise BenchInputError("--epochs: got 0; expected an integer >= 1")
        Traceback (most recent call last):
        ...
        bench.errors.BenchInputError: --epochs: got 0; expected an integer >= 1
    """
