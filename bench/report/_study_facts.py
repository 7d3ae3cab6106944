"""The Study section of a report: what the stored spec says ran, in rows that fit its kind.

A study is one of three kinds, and each shows only the facts that describe it:

* ``protocol`` (a ``[tuning]`` table): each candidate's tuning budget, the tuning sampler,
  the tuning seed and the final seeds. The top-level ``seeds`` and ``sampler`` a protocol
  spec also stores describe nothing that ran, so they are not shown.
* ``grid``: its seeds, and the grid (variants times listed values).
* ``sampled`` (``random``, ``tpe``, ``qmc``): its seeds, sampler and trial budget.

Every candidate's search space is a table of its own (:func:`search_space_table`) rather
than a line of JSON. The spec is read leniently, as :mod:`bench._stored_spec` reads it:
a value of the wrong type reads as unknown, never as an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pandas as pd

from bench._stored_spec import (
    TuningPlan,
    range_scale,
    spec_objective,
    spec_seeds,
    spec_shared_space,
    spec_tuning,
    spec_variants,
)
from bench.backend import BACKEND_LIBRARIES, backend_library
from bench.report._labels import compact_text, pairs_text

StudyKind = Literal["protocol", "grid", "sampled", "unknown"]

#: Where a search space's rows name the space every candidate (variant) shares.
SHARED = "(every {noun})"
#: Shown for a fact the stored spec does not hold (or holds as the wrong type).
UNKNOWN = "not recorded"


def study_kind(spec: Mapping[str, Any]) -> StudyKind:
    """Which kind of study a stored spec describes (``unknown`` without a sampler).

    Example:
        >>> study_kind({"sampler": "grid", "tuning": {"budget": 6}})
        'protocol'
        >>> study_kind({"sampler": "grid"}), study_kind({"sampler": "tpe"}), study_kind({})
        ('grid', 'sampled', 'unknown')
    """
    if spec_tuning(spec) is not None:
        return "protocol"
    sampler = spec.get("sampler")
    if not isinstance(sampler, str):
        return "unknown"
    return "grid" if sampler == "grid" else "sampled"


def study_facts(
    spec: Mapping[str, Any],
    *,
    workload: Mapping[str, Any],
    spec_hash: str | None = None,
    backend: str | None = None,
    versions: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The Study table: one row per fact (``""`` names it, ``value`` says it).

    ``workload`` is what the trials stored about their data, which wins over the spec.
    ``backend`` is the Keras backend the trials trained with, shown with its library's
    version from ``versions`` (studies that stored none trained with TensorFlow).

    Example:
        >>> from bench.spec import load_spec
        >>> facts = study_facts(load_spec("optimizers").to_dict(), workload={})
        >>> for field, value in facts.itertuples(index=False):
        ...     print(f"{field}: {value}")
        description: The eight optimizers, each tuned with an equal budget over ...
        workload: dataset digits, task ?, preset tiny
        objective: maximize val_auc
        tuning budget: 4 trials per searched field of each candidate (8 candidates)
        tuning sampler: qmc, its draws seeded from the spec
        tuning seed: 0
        final seeds: 1, 2, 3, 4, 5 (each candidate's chosen settings once per seed)
        second-look seeds: 6, 7, 8, 9, 10 (the best and the undecided after the first)
        epochs: 20
        pruner: none
        backend: tensorflow (stored before studies named their backend)
    """
    rows = [
        *_workload_rows(spec, workload),
        *_kind_rows(spec),
        *_common_rows(spec),
    ]
    rows.append(("backend", _backend_text(backend, versions or {})))
    if spec_hash:
        rows.append(("spec hash", str(spec_hash)))
    return pd.DataFrame(rows, columns=["", "value"])


def _backend_text(backend: str | None, versions: Mapping[str, Any]) -> str:
    name = backend or "tensorflow"
    library = backend_library(name) if name in BACKEND_LIBRARIES else name
    shown = f"{name} {versions[library]}" if versions.get(library) else name
    return shown if backend else f"{shown} (stored before studies named their backend)"


def _workload_rows(spec: Mapping[str, Any], workload: Mapping[str, Any]) -> list[tuple[str, str]]:
    stored = spec.get("workload") if isinstance(spec.get("workload"), Mapping) else {}
    rows = []
    if spec.get("description"):
        rows.append(("description", str(spec["description"])))
    dataset = workload.get("dataset") or stored.get("dataset")
    preset = workload.get("preset") or stored.get("preset")
    rows.append(
        ("workload", f"dataset {dataset}, task {workload.get('task', '?')}, preset {preset}")
    )
    if workload.get("class_names"):
        rows.append(("classes", ", ".join(str(c) for c in workload["class_names"])))
    if isinstance(workload.get("sizes"), Mapping):
        rows.append(("splits", pairs_text(workload["sizes"])))
    objective = spec_objective(spec)
    if objective.metric or objective.direction:
        rows.append(("objective", f"{objective.direction or ''} {objective.metric or ''}"))
    return rows


def _kind_rows(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    kind = study_kind(spec)
    if kind == "protocol":
        plan = spec_tuning(spec)
        assert plan is not None  # the kind says so
        return protocol_rows(plan, spec=spec)
    seeds = _seeds_text(spec_seeds(spec))
    if kind == "grid":
        return [("grid", grid_text(spec)), ("seeds", f"{seeds} (each recipe once per seed)")]
    if kind == "sampled":
        return [
            ("sampler", str(spec["sampler"])),
            ("seeds", f"{seeds} (each sampled recipe once per seed)"),
        ]
    return []


def _common_rows(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = []
    if isinstance(spec.get("fixed"), Mapping) and spec["fixed"]:
        rows.append(("fixed recipe", pairs_text(spec["fixed"])))
    if "epochs" in spec and spec["epochs"] is not None:
        rows.append(("epochs", compact_text(spec["epochs"])))
    budget = budget_text(spec.get("budget"))
    if budget:
        rows.append(("budget", budget))
    if isinstance(spec.get("pruner"), str):
        pruner = spec["pruner"]
        if study_kind(spec) == "protocol" and pruner != "none":
            pruner += " (tuning phase only: the final seeds are never pruned)"
        rows.append(("pruner", pruner))
    return rows


def protocol_rows(plan: TuningPlan, *, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The rows of a tuning-protocol study: budget, sampler, tuning seed, final seeds
    (and the second-look seeds and the defaults arm, where the spec has them).

    Example:
        >>> plan = TuningPlan(budget=6, sampler="random", seed=0, final_seeds=(1, 2),
        ...                   sampler_seed=7, sampler_seed_recorded=True)
        >>> spec = {"variants": {"sgd": {}, "adam": {}}}
        >>> for field, value in protocol_rows(plan, spec=spec):
        ...     print(f"{field}: {value}")
        tuning budget: 6 trials per candidate (2 candidates)
        tuning sampler: random, sampler seed 7
        tuning seed: 0
        final seeds: 1, 2 (each candidate's chosen settings once per seed)
    """
    count = len(spec_variants(spec))
    candidates = f" ({count} candidate{'s' if count != 1 else ''})" if count else ""
    if plan.budget_per_dimension is not None:
        budget = f"{plan.budget_per_dimension} trials per searched field of each candidate"
        budget += candidates
    else:
        budget = f"{plan.budget} trials per candidate{candidates}" if plan.budget else UNKNOWN
    final = _seeds_text(plan.final_seeds)
    rows = [
        ("tuning budget", budget),
        ("tuning sampler", _tuning_sampler_text(plan)),
        ("tuning seed", UNKNOWN if plan.seed is None else str(plan.seed)),
        ("final seeds", f"{final} (each candidate's chosen settings once per seed)"),
    ]
    if plan.second_look_seeds:
        more = _seeds_text(plan.second_look_seeds)
        rows.append(("second-look seeds", f"{more} (the best and the undecided after the first)"))
    if plan.defaults_arm:
        rows.append(("defaults arm", "each candidate untuned, at its knobs' defaults, per seed"))
    return rows


def _tuning_sampler_text(plan: TuningPlan) -> str:
    sampler = plan.sampler or UNKNOWN
    if not plan.sampler_seed_recorded:
        return sampler  # stored before the draws were seeded: nothing to say
    if plan.sampler_seed is None:
        return f"{sampler}, its draws seeded from the spec"
    return f"{sampler}, sampler seed {compact_text(plan.sampler_seed)}"


def grid_text(spec: Mapping[str, Any]) -> str:
    """The grid a grid study runs: its variants times each listed field's values.

    Example:
        >>> grid_text({"search_space": {"l2": [0.0, 0.1], "weight_decay": [0, 3, 10]}})
        '2 values of l2 × 3 values of weight_decay: 6 recipes'
        >>> grid_text({"variants": {"adam": {}, "sgd": {}}, "search_space": {}})
        '2 variants: 2 recipes'
    """
    variants, space = spec_variants(spec), spec_shared_space(spec)
    factors = [len(variants)] if variants else []
    words = [_counted(len(variants), "variant")] if variants else []
    for knob, values in space.items():
        if isinstance(values, list):
            factors.append(len(values))
            words.append(f"{_counted(len(values), 'value')} of {knob}")
    if not factors:
        return UNKNOWN
    return f"{' × '.join(words)}: {_counted(math.prod(factors), 'recipe')}"


def budget_text(budget: Any) -> str:
    """The ``[budget]`` table in words (``""`` when it limits nothing).

    Example:
        >>> budget_text({"n_trials": 24, "timeout": 3600.0, "retries": 2})
        '24 trials, no new trial after 3600 s'
        >>> budget_text({"n_trials": None, "timeout": None, "retries": 2})
        ''
    """
    if not isinstance(budget, Mapping):
        return ""
    parts = []
    if isinstance(budget.get("n_trials"), int):
        parts.append(f"{budget['n_trials']} trials")
    if isinstance(budget.get("timeout"), (int, float)):
        parts.append(f"no new trial after {budget['timeout']:g} s")
    return ", ".join(parts)


def search_space_table(spec: Mapping[str, Any]) -> pd.DataFrame:
    """Each candidate's search space, one row per knob: a range's ``low``, ``high`` and
    ``log`` (and ``step`` where a range has one), or the ``value`` a candidate fixes or the
    values a grid lists. The space every candidate shares comes first, once.

    The first column names the candidate (``variant`` outside a tuning protocol); a study
    without variants has none. Empty when the spec searches nothing.

    Example:
        >>> spec = {
        ...     "tuning": {"budget": 6},
        ...     "variants": {
        ...         "adamw": {"optimizer": "adamw", "weight_decay": 0.01,
        ...                   "search_space": {"learning_rate": {"low": 1e-05, "high": 0.01,
        ...                                                      "log": True, "step": None}}},
        ...     },
        ... }
        >>> search_space_table(spec)
          candidate           knob    low  high  log   value
        0     adamw      optimizer      –     –    –   adamw
        1     adamw   weight_decay      –     –    –    0.01
        2     adamw  learning_rate  1e-05  0.01  yes       –
    """
    variants, shared = spec_variants(spec), spec_shared_space(spec)
    noun = "candidate" if study_kind(spec) == "protocol" else "variant"
    rows = [(SHARED.format(noun=noun), knob, space) for knob, space in shared.items()]
    for name, fields in variants.items():
        own = fields.get("search_space")
        rows.extend((name, knob, value) for knob, value in fields.items() if knob != "search_space")
        if isinstance(own, Mapping):
            rows.extend((str(name), knob, space) for knob, space in own.items())
    table = pd.DataFrame(
        [(who, knob, *_space_cells(space)) for who, knob, space in rows],
        columns=[noun, "knob", "low", "high", "log", "step", "value"],
    )
    if not (table["step"] != "–").any():
        table = table.drop(columns="step")
    return table.drop(columns=noun) if not variants else table


#: The ``log`` cell of a range, by its scale: ``log1m`` draws log(1 - value).
_LOG_CELLS = {"log": "yes", "log1m": "of 1 − value", "linear": "no"}


def _space_cells(space: Any) -> tuple[str, str, str, str, str]:
    """(low, high, log, step, value) of one knob: a range, a list of values or a value."""
    if isinstance(space, Mapping) and "low" in space and "high" in space:
        step = space.get("step")
        return (
            compact_text(space["low"]),
            compact_text(space["high"]),
            _LOG_CELLS.get(range_scale(space) or "", "no"),
            "–" if step is None else compact_text(step),
            "–",
        )
    if isinstance(space, list):
        return ("–", "–", "–", "–", "one of " + ", ".join(compact_text(v) for v in space))
    return ("–", "–", "–", "–", compact_text(space))


def _seeds_text(seeds: Sequence[int]) -> str:
    return ", ".join(str(s) for s in seeds) if seeds else UNKNOWN


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
