"""Set-up of a study: open (or resume) it in a storage, with the spec's sampler and pruner.

The seed is never an Optuna param (so the dashboard's importances rank recipe fields
only): it is a user attribute of the trial record (:mod:`bench._record`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from bench._record import BACKEND, SPEC_HASH, Attr, RecordWriter
from bench._scales import LOG1M, from_drawn
from bench._schema import VARIANT
from bench.backend import active_backend, choose_backend
from bench.errors import BenchInputError
from bench.spec import Range, StudySpec
from bench.study._pruning import CandidatePruner

#: The backend of studies stored before a study recorded its own: TensorFlow, the only
#: one bench trained with then.
LEGACY_BACKEND = "tensorflow"


@dataclass(frozen=True)
class StudyHandle:
    """The Optuna study a spec runs in, and whether this call created it."""

    study: optuna.Study
    name: str
    created: bool
    renamed_from: str | None = None


def open_study(
    spec: StudySpec, *, storage: optuna.storages.BaseStorage, backend: str | None = None
) -> StudyHandle:
    """Create the spec's study, or resume the one with the same spec.

    A stored study whose spec differs (another search space, workload or epochs) is never
    mixed with this one: the run goes to ``NAME-v2`` (then ``-v3``...), and re-running
    the changed spec resumes that versioned study.

    The study records the Keras ``backend`` its trials train with (default: the one
    Keras runs on here, else the one :func:`bench.backend.choose_backend` picks);
    resuming it under another backend is a :class:`BenchInputError` that names both,
    since their numbers differ.

    Example:
        >>> from bench.spec import load_spec
        >>> storage = optuna.storages.InMemoryStorage()
        >>> open_study(load_spec("optimizers-fixed"), storage=storage).created
        True
        >>> open_study(load_spec("optimizers-fixed"), storage=storage).created
        False
    """
    backend = backend or active_backend() or choose_backend(None)
    content_hash = spec.content_hash()
    version = 1
    while True:
        name = spec.name if version == 1 else f"{spec.name}-v{version}"
        try:
            study = optuna.create_study(
                storage=storage,
                study_name=name,
                direction=spec.objective.direction,
                sampler=make_sampler(spec),
                pruner=make_pruner(spec),
            )
        except optuna.exceptions.DuplicatedStudyError:
            study = optuna.load_study(
                study_name=name,
                storage=storage,
                sampler=make_sampler(spec),
                pruner=make_pruner(spec),
            )
            stored_hash = _wait_for_attr(study, SPEC_HASH)
            if stored_hash == content_hash:
                _check_backend(study, name, backend=backend)
                return StudyHandle(
                    study, name, created=False, renamed_from=spec.name if version > 1 else None
                )
            version += 1
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([spec.objective.metric])
        RecordWriter.write(
            study,
            RecordWriter.study(
                spec=spec.to_dict(),
                description=spec.description,
                spec_hash=content_hash,
                backend=backend,
            ),
        )
        return StudyHandle(
            study, name, created=True, renamed_from=spec.name if version > 1 else None
        )


def study_backend(study: optuna.Study) -> str:
    """The Keras backend a stored study's trials train with.

    Example:
        >>> study_backend(optuna.create_study())
        'tensorflow'
    """
    return BACKEND.get(study.user_attrs) or LEGACY_BACKEND


def _check_backend(study: optuna.Study, name: str, *, backend: str) -> None:
    stored = study_backend(study)
    if stored != backend:
        raise BenchInputError(
            f"study '{name}' was run with the {stored} backend, not {backend}: resume it "
            f"with --backend {stored}, or run this one into another --storage"
        )


def _wait_for_attr(study: optuna.Study, attr: Attr, *, timeout_s: float = 30.0) -> Any:
    # Another worker may have created the study a moment ago and not yet stored its spec.
    deadline = time.monotonic() + timeout_s
    while True:
        value = attr.get(study.user_attrs)
        if value is not None or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def make_sampler(spec: StudySpec) -> optuna.samplers.BaseSampler:
    """The spec's Optuna sampler, over recipe fields only: never the seed.

    A grid's cells are the variants times the listed search-space values; every sampled
    recipe runs with the first seed and queues itself once per other seed (see
    :class:`bench.study.TrialObjective`). A ``[tuning]`` study samples each candidate's
    own params.

    Example:
        >>> from bench.spec import load_spec
        >>> sampler = make_sampler(load_spec("optimizers-fixed"))
        >>> type(sampler).__name__
        'RecipeGridSampler'
    """
    if spec.tuning is not None:
        from bench.study._slot_sampler import ProtocolSampler, SlotSampler

        if spec.tuning.sampler in ("qmc", "random"):
            return ProtocolSampler(SlotSampler(spec, kind=spec.tuning.sampler))
        return ProtocolSampler(
            optuna.samplers.TPESampler(n_startup_trials=6, seed=spec.tuning_sampler_seed())
        )
    if spec.sampler == "grid":
        return RecipeGridSampler(grid_space(spec), seed=0)
    return _base_sampler(spec.sampler)


def grid_space(spec: StudySpec) -> dict[str, list[Any]]:
    """The cells of a grid study: its variants and listed search-space values.

    Example:
        >>> from bench.spec import load_spec
        >>> space = grid_space(load_spec("optimizers-fixed"))
        >>> list(space), len(space["variant"])
        (['variant'], 8)
    """
    space: dict[str, list[Any]] = {}
    if spec.variants:
        space[VARIANT] = list(spec.variants)
    space.update({k: v for k, v in spec.search_space.items() if isinstance(v, list)})
    return space


class RecipeGridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler, for a study whose queued seed copies hold no grid cell.

    Optuna's ``after_trial`` reads the finished trial's cell, which a queued copy lacks;
    such a trial is simply done. Once every cell has run, the worker's budget callback
    stops the study when no copy is left.

    Example:
        >>> study = optuna.create_study(sampler=RecipeGridSampler({"variant": ["a", "b"]}))
        >>> study.optimize(lambda t: len(t.suggest_categorical("variant", ["a", "b"])))
        >>> len(study.trials)
        2
    """

    def after_trial(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        if "grid_id" in trial.system_attrs:
            super().after_trial(study, trial, state, values)


def _base_sampler(name: str) -> optuna.samplers.BaseSampler:
    # Random draws are seeded from the operating system: workers (and a resumed run)
    # seeded alike would draw the same recipes. QMC's points are indexed through the
    # storage, so its workers share one seed and extend one sequence.
    if name == "random":
        return optuna.samplers.RandomSampler()
    if name == "tpe":
        return optuna.samplers.TPESampler(n_startup_trials=6)
    return optuna.samplers.QMCSampler(seed=0, warn_independent_sampling=False)


def make_pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    """The spec's Optuna pruner (``none`` never prunes); under a tuning protocol each
    candidate's tuning trials are pruned against that candidate's own
    (:class:`~bench.study._pruning.CandidatePruner`).

    Example:
        >>> from bench.spec import load_spec
        >>> type(make_pruner(load_spec("tuned"))).__name__
        'MedianPruner'
    """
    if spec.pruner == "median":
        pruner = optuna.pruners.MedianPruner(n_startup_trials=2 * len(spec.seeds), n_warmup_steps=2)
    elif spec.pruner == "hyperband":
        pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=spec.max_epochs)
    else:
        return optuna.pruners.NopPruner()
    return pruner if spec.tuning is None else CandidatePruner(pruner)


def suggest(trial: optuna.Trial, spec: StudySpec) -> dict[str, Any]:
    """Ask the trial for the variant and every searched field of the spec (not the seed).

    Example:
        >>> from bench.spec import load_spec
        >>> study = optuna.create_study(sampler=make_sampler(load_spec("optimizers-fixed")))
        >>> list(suggest(study.ask(), load_spec("optimizers-fixed")))
        ['variant']
    """
    sampled: dict[str, Any] = {}
    if spec.variants:
        sampled[VARIANT] = trial.suggest_categorical(VARIANT, list(spec.variants))
    sampled.update(suggest_space(trial, spec.search_space))
    return sampled


def suggest_space(
    trial: optuna.Trial, space: Mapping[str, list[Any] | Range], *, prefix: str = ""
) -> dict[str, Any]:
    """Ask the trial for each field of ``space``; params are named ``prefix + field``
    (``prefix + "1-" + field`` for a ``log1m`` range, which draws ``1 - value``).
    Returns each field's value for the recipe.

    Example:
        >>> from bench.spec import Range
        >>> trial = optuna.create_study().ask()
        >>> space = {"l2": [0.0, 0.1], "momentum": Range(0.5, 0.99, scale="log1m")}
        >>> sampled = suggest_space(trial, space, prefix="sgd.")
        >>> list(trial.params)
        ['sgd.l2', 'sgd.1-momentum']
        >>> round(sampled["momentum"] + trial.params["sgd.1-momentum"], 12)
        1.0
    """
    sampled: dict[str, Any] = {}
    for name, values in space.items():
        param = prefix + name
        if isinstance(values, list):
            sampled[name] = trial.suggest_categorical(param, values)
        elif isinstance(values.low, int) and isinstance(values.high, int):
            sampled[name] = trial.suggest_int(
                param, values.low, values.high, log=values.log, step=int(values.step or 1)
            )
        elif values.scale == LOG1M:
            low, high = values.drawn_bounds()
            drawn = trial.suggest_float(values.param(prefix, name), low, high, log=True)
            sampled[name] = from_drawn(drawn, values.scale)
        else:
            sampled[name] = trial.suggest_float(
                param, float(values.low), float(values.high), log=values.log, step=values.step
            )
    return sampled
