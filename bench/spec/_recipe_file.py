"""A recipe file: one recipe as a flat TOML table of knobs, read and written here.

The file is what a spec's ``[fixed]`` table holds, on its own: every key a recipe knob
(:mod:`bench.recipe`), every value checked against its knob the way ``[fixed]`` checks
it. ``bench best`` writes one and ``bench train --recipe FILE`` reads it; the seed stays
out of it, as it does out of ``[fixed]`` (``bench train --seed`` chooses it).

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "best.toml"
    >>> _ = path.write_text(recipe_toml({"optimizer": "sgd", "learning_rate": 0.05},
    ...                                 header=["from the example"]))
    >>> print(path.read_text(), end="")
    # from the example
    optimizer = "sgd"
    learning_rate = 0.05
    >>> read_recipe_file(path)
    {'optimizer': 'sgd', 'learning_rate': 0.05}
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench._schema import SEED
from bench.errors import BenchInputError
from bench.recipe import knob_by_name
from bench.spec._fields import SpecProblem, recipe_value

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


def read_recipe_file(path: Path, *, flag: str = "--recipe") -> dict[str, Any]:
    """The knobs a recipe file sets, each checked as a spec's ``[fixed]`` checks it.

    Raises :class:`BenchInputError` naming ``flag``, the file, and what is valid: a
    missing or unreadable file, TOML that does not parse, a key that is not a recipe
    knob (or the seed), a value of the wrong type or out of its knob's range.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.toml"
        >>> _ = path.write_text("learning_rate = -1.0\\n")
        >>> read_recipe_file(path)
        Traceback (most recent call last):
        ...
        bench.errors.BenchInputError: --recipe .../r.toml: learning_rate: got -1.0; expected a ...
    """
    where = f"{flag} {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BenchInputError(
            f"{where}: no such file; expected a TOML file of recipe knobs (bench best writes one)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise BenchInputError(f"{where}: cannot read: {error}") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise BenchInputError(f"{where}: not valid TOML: {error}") from None
    if SEED in table:
        raise BenchInputError(
            f"{where}: {SEED}: not part of a recipe file; give the seed with --seed"
        )
    try:
        return {name: recipe_value(name, value, name) for name, value in table.items()}
    except SpecProblem as problem:
        raise BenchInputError(f"{where}: {problem}") from None


def recipe_toml(
    values: Mapping[str, Any],
    *,
    header: Sequence[str] = (),
    notes: Mapping[str, str] | None = None,
) -> str:
    """A recipe file's text: ``header`` as comment lines, then one ``knob = value`` line
    per entry of ``values`` (in their order), each with its ``notes`` entry as a comment.

    Written by hand: :mod:`tomllib` only reads, no TOML writer is among bench's
    dependencies, and a flat table of scalars (strings, booleans, integers, finite
    floats) needs nothing more. Each value is checked against its knob first, so what is
    written is what :func:`read_recipe_file` and a spec's ``[fixed]`` accept.

    Example:
        >>> print(recipe_toml({"augment": False, "epochs": 20}, notes={"epochs": "searched"}))
        augment = false
        epochs = 20  # searched
        <BLANKLINE>
    """
    notes = notes or {}
    lines = [f"# {_one_line(line)}" for line in header]
    for name, value in values.items():
        if name == SEED:
            raise ValueError("the seed is not part of a recipe file")
        literal = _toml_literal(knob_by_name(name).check(value))
        note = f"  # {_one_line(notes[name])}" if name in notes else ""
        lines.append(f"{name} = {literal}{note}")
    return "\n".join(lines) + "\n"


def _toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        # repr round-trips a float exactly and is a TOML float (1e-05, 0.001, 20.0);
        # a knob's check has already refused infinities and NaN.
        return repr(value)
    # A JSON string with its escapes (\", \\, \n, \uXXXX) is a TOML basic string.
    return json.dumps(str(value))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
