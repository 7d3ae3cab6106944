"""Synthetic Optuna storages, written by the record writer the study runner stores with.

Each trial's user attributes come from :class:`bench._record.RecordWriter` (its owner,
label and seed, a tuning slot, the :class:`~bench._record.TrialResult` of training), its
params are named as the runner names them (a tuning trial's ``<candidate>.<field>``, never
the seed), and each ending is stored as the runner stores it: a pruned trial keeps its
partial history, a running one has only its reported epochs, a failed (interrupted) one
has no result, a diverged one fails with no objective value (``DIVERGED``) or, when it
kept finite weights, completes with stop reason ``diverged`` (``DIVERGED_KEPT``).

Curves differ by recipe (a deterministic per-recipe quality, speed and overfitting) and by
seed (noise), so reports built from them look like real ones. Used by the report and
results tests and by ``benchmarks/bench_report.py``.

Example:
    >>> import tempfile
    >>> storage = build_storage(Path(tempfile.mkdtemp()) / "bench.db", study_name="demo")
    >>> optuna.load_study(study_name="demo", storage=storage).trials[0].user_attrs["seed"]
    0
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
)
from optuna.trial import TrialState
from sklearn.metrics import roc_auc_score

from bench._record import RecordWriter, TrialResult, recipe_label, slot_label
from bench.recipe import knob_by_name
from bench.recovery import TrialOwner
from bench.tuning import param_name

DEFAULT_SPACE: dict[str, list[Any]] = {
    "optimizer": ["adamw", "sgd", "adam"],
    "learning_rate": [1e-4, 1e-3],
}
BASE_RECIPE: dict[str, Any] = {
    "optimizer": "adamw",
    "learning_rate": 1e-4,
    "weight_decay": 1e-2,
    "l2": 0.0,
    "dropout": 0.1,
    "head_dropout": 0.5,
    "label_smoothing": 0.0,
    "schedule": "warmup_cosine",
    "warmup_epochs": 2,
    "patience": 10,
    "monitor": "val_loss",
    "restore_best_weights": True,
    "batch_size": 32,
}


@dataclass(frozen=True)
class Outcome:
    """How a synthetic trial ends: its Optuna state and stop reason."""

    state: TrialState = TrialState.COMPLETE
    stop_reason: str | None = "completed"


PRUNED = Outcome(TrialState.PRUNED, "pruned")
FAILED = Outcome(TrialState.FAIL, None)
#: Diverged with non-finite kept metrics: the objective is NaN, so Optuna fails the trial.
DIVERGED = Outcome(TrialState.FAIL, "diverged")
#: Diverged late, but the restored weights are finite: the trial completes.
DIVERGED_KEPT = Outcome(TrialState.COMPLETE, "diverged")
RUNNING = Outcome(TrialState.RUNNING, None)
#: No trial at all: the seed of that recipe has not been run yet.
NOT_RUN = Outcome(TrialState.WAITING, None)


def build_storage(
    path: Path,
    *,
    study_name: str = "demo",
    space: Mapping[str, Sequence[Any]] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = 8,
    task: str = "binary",
    class_names: Sequence[str] | None = None,
    n_test: int = 120,
    outcomes: Mapping[tuple[int, int], Outcome] | None = None,
    with_predictions: bool = True,
) -> str:
    """Create a SQLite storage at ``path`` holding one synthetic study; return its URL.

    Every combination of ``space`` values is one recipe, run once per seed. ``outcomes``
    maps ``(recipe index, seed)`` to a non-default ending (pruned, failed, ...), or to
    ``NOT_RUN`` to store no trial for it.
    """
    storage = f"sqlite:///{path}"
    add_study(
        storage,
        study_name=study_name,
        space=space,
        seeds=seeds,
        epochs=epochs,
        task=task,
        class_names=class_names,
        n_test=n_test,
        outcomes=outcomes,
        with_predictions=with_predictions,
    )
    return storage


def add_study(
    storage: str,
    *,
    study_name: str,
    space: Mapping[str, Sequence[Any]] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = 8,
    task: str = "binary",
    class_names: Sequence[str] | None = None,
    n_test: int = 120,
    outcomes: Mapping[tuple[int, int], Outcome] | None = None,
    with_predictions: bool = True,
) -> optuna.Study:
    """Add one synthetic study to ``storage`` (see :func:`build_storage`)."""
    space = dict(DEFAULT_SPACE if space is None else space)
    if class_names is None:
        class_names = ["negative", "positive"] if task == "binary" else ["cat", "dog", "bird"]
    outcomes = outcomes or {}
    study = optuna.create_study(storage=storage, study_name=study_name, direction="maximize")
    _write_spec(study, _spec(study_name, space, seeds, epochs, task))
    distributions = _distributions(space)
    workload = {
        "dataset": "synthetic",
        "task": task,
        "preset": "tiny",
        "class_names": list(class_names),
        "sizes": {"train": 400, "val": 100, "test": n_test},
        "content_hash": "0" * 12,
    }
    grid = itertools.product(*space.values())
    combos = [dict(zip(space, values, strict=True)) for values in grid]
    trials = []
    for index, sampled in enumerate(combos):
        for seed in seeds:
            outcome = outcomes.get((index, seed), Outcome())
            if outcome is NOT_RUN:
                continue
            trials.append(
                synthetic_trial(
                    sampled,
                    seed=seed,
                    epochs=epochs,
                    workload=workload,
                    distributions=distributions,
                    outcome=outcome,
                    with_predictions=with_predictions,
                )
            )
    study.add_trials(trials)
    return study


def synthetic_trial(
    sampled: Mapping[str, Any],
    *,
    seed: int,
    epochs: int,
    workload: Mapping[str, Any],
    distributions: Mapping[str, BaseDistribution],
    outcome: Outcome = Outcome(),
    with_predictions: bool = True,
    params: Mapping[str, Any] | None = None,
    label: str | None = None,
    quality: float | None = None,
    slot: Mapping[str, Any] | None = None,
) -> optuna.trial.FrozenTrial:
    """One stored trial of recipe ``sampled`` with ``seed``, as the runner stores it.

    By default its Optuna params are ``sampled``, its label is the runner's
    :func:`~bench._record.recipe_label` and its quality follows from the label;
    ``params``, ``label`` and ``quality`` replace them, and ``slot`` holds the
    :meth:`~bench._record.RecordWriter.slot` arguments of a tuning-protocol trial.
    """
    params = dict(params) if params is not None else dict(sampled)
    label = label if label is not None else recipe_label(params)
    recipe = {**BASE_RECIPE, **sampled, "epochs": epochs, "seed": seed}
    trial_distributions = {k: distributions[k] for k in params}
    me = TrialOwner.this_process()
    attrs: dict[str, Any] = RecordWriter.owner(host=me.host, pid=me.pid, boot_id=me.boot_id)
    if slot is not None:
        attrs.update(RecordWriter.slot(**slot))
    attrs.update(RecordWriter.labelled(label, seed=seed))

    rng = np.random.default_rng(_stable_int(label) * 1000 + seed)
    character, speed, overfit = _character(label)
    quality = character if quality is None else quality
    history = _history(recipe, epochs, quality, speed, overfit, rng)
    if outcome.state in (TrialState.PRUNED, TrialState.RUNNING):
        history = history[: max(1, epochs // 3)]
    intermediate = {h["epoch"]: h["val_auc"] for h in history}
    if outcome.state == TrialState.RUNNING or outcome == FAILED:
        # Training stores its result when it ends; until then only the reported epochs.
        return optuna.trial.create_trial(
            state=outcome.state,
            params=params,
            distributions=trial_distributions,
            user_attrs=attrs,
            intermediate_values=intermediate,
        )
    if outcome.stop_reason == "diverged":
        for h in history[-2:]:
            h["loss"] = h["val_loss"] = math.nan
    kept = history[-1]
    if recipe["restore_best_weights"] or outcome == DIVERGED_KEPT:
        kept = max(history, key=lambda h: h["val_auc"])
    test_auc_target = min(0.99, kept["val_auc"] - 0.01 + rng.normal(0, 0.01))
    y_true, y_score = _predictions(workload, test_auc_target, rng)
    task = workload["task"]
    metrics: dict[str, dict[str, float | None]] = {
        "train": {k: kept[k] for k in ("loss", "accuracy", "auc")},
        "val": {k: kept[f"val_{k}"] for k in ("loss", "accuracy", "auc")},
        "test": {
            "loss": kept["val_loss"] + 0.02,
            "accuracy": _accuracy(task, y_true, y_score),
            "auc": _auc(task, y_true, y_score),
        },
    }
    if outcome == DIVERGED:
        metrics = {split: dict.fromkeys(values) for split, values in metrics.items()}
    result = TrialResult(
        history=history,
        kept_epoch=int(kept["epoch"]),
        epochs_run=len(history),
        stop_reason=outcome.stop_reason or "completed",  # type: ignore[arg-type]
        metrics=metrics,
        gap={
            "accuracy": kept["accuracy"] - kept["val_accuracy"],
            "loss": kept["val_loss"] - kept["loss"],
        },
        test_predictions={"y_true": y_true, "y_score": y_score} if with_predictions else {},
        class_names=list(workload["class_names"]),
        task=task,
        recipe=recipe,
        workload=dict(workload),
        wall_time_s=history[-1]["time_s"] + 1.5,
        images_per_s=400 * len(history) / history[-1]["time_s"],
        versions={"optuna": optuna.__version__, "tensorflow": "2.21.0"},
    )
    attrs.update(RecordWriter.result(result))
    value = metrics["val"]["auc"] if outcome.state == TrialState.COMPLETE else None
    return optuna.trial.create_trial(
        state=outcome.state,
        value=value,
        params=params,
        distributions=trial_distributions,
        user_attrs=attrs,
        intermediate_values=intermediate,
    )


@dataclass(frozen=True)
class Candidate:
    """A candidate of a tuning-protocol study and the shape of its objective.

    ``space`` maps each searched knob to ``{"low", "high", "log"}``. The objective peaks
    at ``peak`` where every knob is at its ``optimum`` and falls off quadratically with
    the distance in units of ``width`` (decades for a log knob): a wide width is a
    robust candidate, a narrow one a fragile one.
    """

    space: Mapping[str, Mapping[str, Any]]
    optimum: Mapping[str, float]
    width: Mapping[str, float]
    peak: float

    def quality(self, values: Mapping[str, float]) -> float:
        """The objective quality the recipe with these knob values trains to."""
        loss = 0.0
        for knob, value in values.items():
            log = bool(self.space[knob].get("log"))
            where, best = (
                (math.log10(value), math.log10(self.optimum[knob]))
                if log
                else (
                    value,
                    self.optimum[knob],
                )
            )
            loss += ((where - best) / self.width[knob]) ** 2
        return max(0.56, self.peak - 0.12 * loss)

    def sample(self, rng: np.random.Generator) -> dict[str, float]:
        """One point of the search space, log-uniform on log knobs."""
        values = {}
        for knob, bounds in self.space.items():
            low, high = float(bounds["low"]), float(bounds["high"])
            if bounds.get("log"):
                values[knob] = float(10 ** rng.uniform(math.log10(low), math.log10(high)))
            else:
                values[knob] = float(rng.uniform(low, high))
        return values


PROTOCOL_CANDIDATES: dict[str, Candidate] = {
    "sgd": Candidate(
        space={
            "learning_rate": {"low": 1e-3, "high": 1.0, "log": True},
            "momentum": {"low": 0.5, "high": 0.99, "log": False},
        },
        optimum={"learning_rate": 0.05, "momentum": 0.9},
        width={"learning_rate": 0.7, "momentum": 0.4},
        peak=0.84,
    ),
    "adam": Candidate(
        space={"learning_rate": {"low": 1e-5, "high": 1e-1, "log": True}},
        optimum={"learning_rate": 1e-3},
        width={"learning_rate": 1.6},
        peak=0.92,
    ),
    "rmsprop": Candidate(
        space={"learning_rate": {"low": 1e-5, "high": 1e-1, "log": True}},
        optimum={"learning_rate": 5e-4},
        width={"learning_rate": 0.9},
        peak=0.915,
    ),
}


def add_protocol_study(
    storage: str,
    *,
    study_name: str,
    candidates: Mapping[str, Candidate] | None = None,
    budget: int = 12,
    tune_seed: int = 0,
    final_seeds: Sequence[int] = (1, 2, 3),
    epochs: int = 6,
    tune_outcomes: Mapping[tuple[str, int], Outcome] | None = None,
    final_outcomes: Mapping[tuple[str, int], Outcome] | None = None,
    defaults_arm: bool = False,
) -> optuna.Study:
    """Add a study run under the fair tuning protocol to ``storage``.

    Each candidate gets ``budget`` tune-phase trials on ``tune_seed`` over its own search
    space (its knobs are the trial's Optuna params; the seed is a user attribute), then
    its best tuning trial's values are rerun once per ``final_seeds`` seed as final-phase
    trials holding them in the ``tuned`` user attribute. ``tune_outcomes`` maps
    ``(candidate, tuning trial index)`` and ``final_outcomes`` ``(candidate, seed)`` to a
    non-default ending; a candidate none of whose tuning trials completes gets no final
    trials, as under the protocol. With ``defaults_arm`` each candidate also trains once
    per final seed at its searched knobs' declared defaults (phase ``defaults``, no params).
    """
    candidates = dict(PROTOCOL_CANDIDATES if candidates is None else candidates)
    tune_outcomes, final_outcomes = tune_outcomes or {}, final_outcomes or {}
    study = optuna.create_study(storage=storage, study_name=study_name, direction="maximize")
    # Shaped as StudySpec.to_dict() stores it: a protocol spec also holds the top-level
    # sampler and seeds it does not use.
    spec = {
        "name": study_name,
        "description": f"Fair tuning protocol over {', '.join(candidates)}.",
        "workload": {"dataset": "synthetic", "preset": "tiny"},
        "objective": {"metric": "val_auc", "direction": "maximize"},
        "sampler": "grid",
        "pruner": "none",
        "seeds": [0],
        "epochs": epochs,
        "budget": {"n_trials": None, "timeout": None, "retries": 2},
        "fixed": {},
        "search_space": {},
        "variants": {
            name: {
                "optimizer": name,
                "search_space": {k: {"step": None, **v} for k, v in c.space.items()},
            }
            for name, c in candidates.items()
        },
        "tuning": {
            "budget": budget,
            "budget_per_dimension": None,  # the runner stores the unused one as None
            "sampler": "tpe",
            "seed": tune_seed,
            "final_seeds": list(final_seeds),
            "sampler_seed": None,
            **({"defaults_arm": True} if defaults_arm else {}),
        },
    }
    _write_spec(study, spec)
    workload = {
        "dataset": "synthetic",
        "task": "binary",
        "preset": "tiny",
        "class_names": ["negative", "positive"],
        "sizes": {"train": 400, "val": 100, "test": 120},
        "content_hash": "0" * 12,
    }
    trials = []
    for name, candidate in candidates.items():
        distributions = {
            param_name(name, knob): FloatDistribution(
                float(b["low"]), float(b["high"]), log=bool(b.get("log"))
            )
            for knob, b in candidate.space.items()
        }
        rng = np.random.default_rng(_stable_int(name))
        tuned = [candidate.sample(rng) for _ in range(budget)]
        tuning = [
            synthetic_trial(
                {"optimizer": name, **values},
                seed=tune_seed,
                epochs=epochs,
                workload=workload,
                distributions=distributions,
                outcome=tune_outcomes.get((name, index), Outcome()),
                params={param_name(name, k): v for k, v in values.items()},
                label=slot_label(name, phase="tune", values=values),
                quality=candidate.quality(values),
                slot={"phase": "tune", "candidate": name, "seed": tune_seed},
            )
            for index, values in enumerate(tuned)
        ]
        trials.extend(tuning)
        finished = [t for t in tuning if t.state == TrialState.COMPLETE]
        if not finished:  # no usable tuning trial: its final seeds never run
            continue
        best = max(finished, key=lambda t: t.value)
        chosen = {k.removeprefix(f"{name}."): v for k, v in best.params.items()}
        for seed in final_seeds:
            outcome = final_outcomes.get((name, seed), Outcome())
            if outcome is NOT_RUN:
                continue
            trials.append(
                synthetic_trial(
                    {"optimizer": name, **chosen},
                    seed=seed,
                    epochs=epochs,
                    workload=workload,
                    distributions=distributions,
                    outcome=outcome,
                    params={},
                    label=slot_label(name, phase="final", values=chosen),
                    quality=candidate.quality(chosen),
                    slot={"phase": "final", "candidate": name, "seed": seed, "tuned": chosen},
                )
            )
        if defaults_arm:
            trials.extend(_defaults_trials(name, candidate, final_seeds, epochs, workload))
    study.add_trials(trials)
    return study


def _defaults_trials(
    name: str,
    candidate: Candidate,
    seeds: Sequence[int],
    epochs: int,
    workload: Mapping[str, Any],
) -> list[optuna.trial.FrozenTrial]:
    """A candidate's defaults arm: its searched knobs at their declared defaults, once
    per seed, holding no param (as :class:`bench.study.TuningSlots` stores them)."""
    defaults = {knob: knob_by_name(knob).default for knob in candidate.space}
    return [
        synthetic_trial(
            {"optimizer": name, **defaults},
            seed=seed,
            epochs=epochs,
            workload=workload,
            distributions={},
            params={},
            label=slot_label(name, phase="defaults", values=defaults),
            quality=candidate.quality(defaults),
            slot={"phase": "defaults", "candidate": name, "seed": seed},
        )
        for seed in seeds
    ]


def _write_spec(study: optuna.Study, spec: dict[str, Any]) -> None:
    spec_hash = hashlib.sha256(str(spec["name"]).encode()).hexdigest()[:12]
    RecordWriter.write(
        study,
        RecordWriter.study(
            spec=spec, description=spec["description"], spec_hash=spec_hash, backend="jax"
        ),
    )


def _spec(
    name: str, space: Mapping[str, Sequence[Any]], seeds: Sequence[int], epochs: int, task: str
) -> dict[str, Any]:
    # Shaped as StudySpec.to_dict() stores a grid spec.
    return {
        "name": name,
        "description": f"Synthetic {task} study over {', '.join(space)}.",
        "workload": {"dataset": "synthetic", "preset": "tiny"},
        "objective": {"metric": "val_auc", "direction": "maximize"},
        "sampler": "grid",
        "pruner": "none",
        "seeds": list(seeds),
        "epochs": epochs,
        "budget": {"n_trials": None, "timeout": None, "retries": 2},
        "fixed": {k: v for k, v in BASE_RECIPE.items() if k not in space},
        "search_space": {k: list(v) for k, v in space.items()},
        "variants": {},
    }


def _distributions(space: Mapping[str, Sequence[Any]]) -> dict[str, BaseDistribution]:
    return {k: CategoricalDistribution(list(v)) for k, v in space.items()}


def _stable_int(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _character(label: str) -> tuple[float, float, float]:
    """A recipe's (quality, speed, overfitting), deterministic in its label."""
    rng = np.random.default_rng(_stable_int(label))
    return rng.uniform(0.72, 0.93), rng.uniform(0.2, 0.7), rng.uniform(0.0, 0.015)


def _lr(recipe: Mapping[str, Any], epoch: int, epochs: int) -> float:
    base = float(recipe["learning_rate"])
    warmup = int(recipe["warmup_epochs"])
    if recipe["schedule"] == "constant":
        return base
    if recipe["schedule"] == "warmup_cosine" and epoch <= warmup:
        return base * epoch / max(1, warmup)
    progress = (epoch - 1) / max(1, epochs - 1)
    return base * 0.5 * (1 + math.cos(math.pi * progress))


def _history(
    recipe: Mapping[str, Any],
    epochs: int,
    quality: float,
    speed: float,
    overfit: float,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    history = []
    elapsed = 0.0
    for epoch in range(1, epochs + 1):
        progress = 1 - math.exp(-speed * epoch)
        drift = overfit * max(0, epoch - 4)
        train_auc = 0.5 + (quality + 0.05 - 0.5) * progress + rng.normal(0, 0.004)
        val_auc = 0.5 + (quality - 0.5) * progress - drift + rng.normal(0, 0.01)
        elapsed += 2.0 + rng.uniform(0, 0.3)
        history.append(
            {
                "epoch": epoch,
                "loss": 0.69 * (1 - progress) + 0.25 - 0.01 * epoch + rng.normal(0, 0.005),
                "accuracy": 0.5 + (train_auc - 0.5) * 0.9,
                "auc": min(train_auc, 0.999),
                "val_loss": 0.69 * (1 - progress) + 0.32 + 3 * drift + rng.normal(0, 0.01),
                "val_accuracy": 0.5 + (val_auc - 0.5) * 0.85,
                "val_auc": min(val_auc, 0.999),
                "lr": _lr(recipe, epoch, epochs),
                "time_s": elapsed,
            }
        )
    return history


def _predictions(
    workload: Mapping[str, Any], auc: float, rng: np.random.Generator
) -> tuple[list[Any], list[Any]]:
    n = int(workload["sizes"]["test"])
    k = len(workload["class_names"])
    from scipy.stats import norm

    shift = math.sqrt(2) * norm.ppf(min(max(auc, 0.51), 0.99))
    task = workload["task"]
    if task == "binary":
        y = rng.integers(0, 2, n)
        logits = rng.normal(0, 1, n) + shift * y
        return y.tolist(), (1 / (1 + np.exp(-(logits - shift / 2)))).tolist()
    if task == "multiclass":
        y = rng.integers(0, k, n)
        logits = rng.normal(0, 1, (n, k))
        logits[np.arange(n), y] += shift
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return y.tolist(), probs.tolist()
    y = rng.integers(0, 2, (n, k))
    logits = rng.normal(0, 1, (n, k)) + shift * y
    return y.tolist(), (1 / (1 + np.exp(-(logits - shift / 2)))).tolist()


def _accuracy(task: str, y_true: list[Any], y_score: list[Any]) -> float:
    y, s = np.asarray(y_true), np.asarray(y_score)
    if task == "multiclass":
        return float((s.argmax(axis=1) == y).mean())
    return float(((s >= 0.5) == (y == 1)).mean())


def _auc(task: str, y_true: list[Any], y_score: list[Any]) -> float:
    y, s = np.asarray(y_true), np.asarray(y_score)
    if task == "multiclass":
        return float(roc_auc_score(y, s, multi_class="ovr"))
    return float(roc_auc_score(y, s, average="macro"))


__all__ = [
    "DIVERGED",
    "DIVERGED_KEPT",
    "PROTOCOL_CANDIDATES",
    "Candidate",
    "add_protocol_study",
    "FAILED",
    "NOT_RUN",
    "PRUNED",
    "RUNNING",
    "Outcome",
    "add_study",
    "build_storage",
    "synthetic_trial",
]
