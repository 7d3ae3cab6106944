"""Study specs: one TOML file per study, declared once as frozen dataclasses.

Each TOML table has a dataclass that mirrors it (:class:`WorkloadSpec`,
:class:`ObjectiveSpec`, :class:`BudgetSpec`, :class:`TuningSpec`), and
:class:`StudySpec` holds them with the top-level fields. The fields are the declaration:
the keys a spec may use, their defaults and valid values, and :meth:`StudySpec.to_dict`
all derive from them, the way :class:`bench.recipe.Recipe` declares the recipe knobs.
Every recipe field and value in ``[fixed]``, ``[search_space]`` and ``[[variants]]`` is
checked against its knob.

Where things live:

- ``_tables.py``: the dataclasses, and the overrides of the command line.
- ``_parse.py``: :func:`load_spec`, :func:`parse_spec`, :func:`builtin_spec_paths`.
- ``_fields.py``: checking one field's value; ``_rules.py``: the rules across fields.
- ``_recipe_file.py``: a recipe file, a ``[fixed]`` table on its own
  (:func:`read_recipe_file`, :func:`recipe_toml`): ``bench best`` writes one,
  ``bench train --recipe`` reads it.

Example:
    >>> raw = {"name": "lr", "description": "two rates"}
    >>> raw["search_space"] = {"learning_rate": [1e-3, 1e-2]}
    >>> spec = parse_spec(raw, source="lr.toml")
    >>> spec.sampler, spec.total_trials, spec.workload.dataset
    ('grid', 2, 'digits')
    >>> spec.with_overrides(n_trials=3).total_trials
    3
"""

from bench._schema import SEED, VARIANT
from bench.spec._fields import Range
from bench.spec._parse import builtin_spec_paths, load_spec, parse_spec
from bench.spec._recipe_file import read_recipe_file, recipe_toml
from bench.spec._tables import (
    DIRECTIONS,
    OBJECTIVE_METRICS,
    PRUNERS,
    SAMPLERS,
    SEED_LAYOUT,
    TUNING_SAMPLERS,
    BudgetSpec,
    ObjectiveSpec,
    StudySpec,
    TuningSpec,
    WorkloadSpec,
)

__all__ = [
    "DIRECTIONS",
    "OBJECTIVE_METRICS",
    "PRUNERS",
    "SAMPLERS",
    "SEED",
    "SEED_LAYOUT",
    "TUNING_SAMPLERS",
    "VARIANT",
    "BudgetSpec",
    "ObjectiveSpec",
    "Range",
    "StudySpec",
    "TuningSpec",
    "WorkloadSpec",
    "builtin_spec_paths",
    "load_spec",
    "parse_spec",
    "read_recipe_file",
    "recipe_toml",
]
