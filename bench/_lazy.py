"""Names a package exports but imports only on first use (Keras, matplotlib): ``import
bench`` and ``bench --help`` never wait for them."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any


def lazy_exports(
    namespace: MutableMapping[str, Any], exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module's ``__getattr__`` and ``__dir__`` (PEP 562) for ``exports``: each name,
    by the module that defines it, imported when first read and then kept in
    ``namespace`` (the module's ``globals()``), so the next read is a plain lookup.

    Example:
        >>> namespace = {"__name__": "demo"}
        >>> __getattr__, __dir__ = lazy_exports(namespace, {"sqrt": "math"})
        >>> __getattr__("sqrt")(9.0), "sqrt" in namespace
        (3.0, True)
        >>> __getattr__("cbrt")
        Traceback (most recent call last):
        ...
        AttributeError: module 'demo' has no attribute 'cbrt'
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
