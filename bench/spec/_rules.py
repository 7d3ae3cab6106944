"""The rules that tie a spec's fields together; run after parsing and after every
override (:meth:`bench.spec.StudySpec.with_overrides`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench._schema import VARIANT
from bench.errors import BenchInputError
from bench.recipe import knob_by_name
from bench.spec._fields import Range, SpecProblem

if TYPE_CHECKING:
    from bench.spec._tables import StudySpec


def check_coherent(spec: StudySpec) -> None:
    """The rules that tie fields together; a broken one raises :class:`SpecProblem`.

    Example:
        >>> from bench.spec import load_spec
        >>> check_coherent(load_spec("optimizers-fixed"))
    """
    check_direction(spec.objective.metric, spec.objective.direction)
    if spec.tuning is not None:
        check_tuning(spec)
        return
    for i, variant in enumerate(spec.variants.values()):
        if "search_space" in variant:
            raise SpecProblem(
                f"variants[{i}].search_space", "a candidate's own search space needs [tuning]"
            )
    if not spec.search_space and not spec.variants:
        raise SpecProblem(
            "search_space", "empty; give at least one field to sweep, or [[variants]]"
        )
    if spec.epochs is not None and "epochs" in spec.fixed:
        raise SpecProblem(
            "epochs", "given both at the top level and as fixed.epochs; give it in one place"
        )
    for name in spec.search_space:
        if name in spec.fixed or (name == "epochs" and spec.epochs is not None):
            place = "[fixed]" if name in spec.fixed else "the top level"
            raise SpecProblem(f"search_space.{name}", f"also set in {place}; keep one")
        if any(name in v for v in spec.variants.values()):
            raise SpecProblem(f"search_space.{name}", "also set by a variant; keep one")
    if spec.sampler == "grid":
        for name, values in spec.search_space.items():
            if isinstance(values, Range):
                raise SpecProblem(
                    f"search_space.{name}",
                    "the grid sampler needs a list of values; ranges suit random, tpe, qmc",
                )
    elif spec.budget.n_trials is None:
        raise SpecProblem("budget.n_trials", f"missing; the {spec.sampler} sampler needs one")
    n_trials = spec.budget.n_trials
    if n_trials is not None and n_trials % len(spec.seeds):
        raise SpecProblem(
            "budget.n_trials",
            f"got {n_trials}; expected a multiple of the {len(spec.seeds)} seeds "
            "(every sampled recipe runs once per seed)",
        )
    # Build every recipe the spec can produce once, so a bad combination fails now.
    for variant in spec.variants or [None]:
        sampled: dict[str, Any] = {VARIANT: variant} if variant else {}
        for name, values in spec.search_space.items():
            sampled[name] = values[0] if isinstance(values, list) else values.low
        try:
            spec.recipe(sampled)
        except BenchInputError as error:
            raise SpecProblem(f"variant {variant!r}" if variant else "fixed", str(error)) from None


def check_direction(metric: str, direction: str) -> None:
    """A loss is minimized, an AUC or accuracy maximized; the other way is a mistake.

    Example:
        >>> check_direction("val_loss", "maximize")
        Traceback (most recent call last):
        ...
        bench.spec._fields.SpecProblem: objective.direction: got 'maximize' for val_loss, ...
    """
    expected = "minimize" if metric.endswith("loss") else "maximize"
    if direction != expected:
        other = (
            'metric = "val_loss" to minimize'
            if expected == "maximize"
            else ('metric = "val_auc" to maximize')
        )
        kind = "a loss" if expected == "minimize" else "higher is better"
        raise SpecProblem(
            "objective.direction",
            f'got {direction!r} for {metric}, {kind}; expected "{expected}" (or {other})',
        )


def check_tuning(spec: StudySpec) -> None:
    """The rules of a ``[tuning]`` spec: candidates, each with a space of its own."""
    if not spec.variants:
        raise SpecProblem("variants", "[tuning] compares candidates; give [[variants]]")
    if spec.budget.n_trials is not None:
        raise SpecProblem("budget.n_trials", "not used with [tuning]; its budget is tuning.budget")
    if spec.epochs is not None and "epochs" in spec.fixed:
        raise SpecProblem(
            "epochs", "given both at the top level and as fixed.epochs; give it in one place"
        )
    for i, (name, variant) in enumerate(spec.variants.items()):
        space = spec.candidate_space(name)
        if not space:
            raise SpecProblem(
                f"variants[{i}].search_space", f"empty; candidate {name!r} searches nothing"
            )
        for knob in space:
            if knob in spec.fixed or knob in variant or (knob == "epochs" and spec.epochs):
                raise SpecProblem(
                    f"variants[{i}].search_space.{knob}", "also set as a fixed value; keep one"
                )
        low = {k: v[0] if isinstance(v, list) else v.low for k, v in space.items()}
        try:
            recipe = spec.recipe({VARIANT: name, **low})
        except BenchInputError as error:
            raise SpecProblem(f"variant {name!r}", str(error)) from None
        for knob in space:
            declared = knob_by_name(knob)
            if not declared.applies_to(recipe.optimizer):
                # A dimension that changes nothing would spend the candidate's budget (and,
                # per dimension, give it more draws of the others than its rivals get).
                raise SpecProblem(
                    f"variants[{i}].search_space.{knob}",
                    f"{recipe.optimizer} does not use {knob}; searching it changes nothing "
                    f"(it is read by {', '.join(declared.optimizers or ())})",
                )
