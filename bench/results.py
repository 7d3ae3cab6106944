"""Stored trials -> pandas DataFrames: the one reader of the Optuna storage.

Everything that reads what ``bench run`` stored goes through here, so the schema (the
trial user attributes written by the study runner) is interpreted in one place. The
functions here only read. The storage is written by :mod:`bench.study` (the study, its
spec and its trials) and, for one thing, by :mod:`bench.report`: the leaderboard saved
as the study's note in optuna-dashboard.

Example:
    >>> from bench.report._example import example_storage
    >>> trials = load_trials("demo", storage=example_storage())
    >>> trials.groupby("recipe_label")["test_auc"].mean().round(2).to_dict()
    {'adam': 0.91, 'sgd': 0.71}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd

from bench._record import (
    BACKEND,
    CLEAN_TRAIN,
    SPEC,
    SPEC_HASH,
    Y_SCORE,
    Y_TRUE,
    TrialRecord,
    recipe_label,
)
from bench._scales import knob_of_param
from bench._schema import DEFAULTS, FINAL, HISTORY_FIELDS, METRIC_NAMES, SEED, SPLITS, TUNE
from bench._stored_spec import (
    TuningPlan,
    candidate_budgets,
    spec_named_recipes,
    spec_objective,
    spec_search_spaces,
    spec_seeds,
    spec_tuning,
)
from bench.errors import BenchInputError
from bench.storage import open_storage, redact_url

__all__ = [
    "DEFAULTS",
    "FINAL",
    "HISTORY_COLUMNS",
    "TUNE",
    "Predictions",
    "StudyResults",
    "TuningPlan",
    "candidate_budgets",
    "list_study_names",
    "load_histories",
    "load_predictions",
    "load_results",
    "load_study_spec",
    "load_trials",
    "results_of",
    "spec_named_recipes",
    "spec_objective",
    "spec_search_spaces",
    "spec_seeds",
    "spec_tuning",
]

#: The per-epoch columns of a history after ``epoch``.
HISTORY_COLUMNS: tuple[str, ...] = HISTORY_FIELDS[1:]

# Columns every trials frame has, whatever the trials hold, so code downstream never
# needs to ask whether a column exists (a study of only failed trials still has them).
_TRIAL_COLUMNS: tuple[str, ...] = (
    "number",
    "state",
    "recipe_label",
    "seed",
    "value",
    *(f"{split}_{name}" for split in SPLITS for name in METRIC_NAMES),
    "train_clean_accuracy",
    "gap_accuracy",
    "gap_clean_accuracy",
    "gap_loss",
    "kept_epoch",
    "epochs_run",
    "stop_reason",
    "wall_time_s",
    "images_per_s",
    "datetime_start",
    "datetime_complete",
    "duration_s",
    "fail_reason",
)
_INT_COLUMNS = ("seed", "kept_epoch", "epochs_run")
# Columns of trials under a tuning protocol, present only when some trial stores them.
_PROTOCOL_COLUMNS = ("phase", "candidate")
_HISTORY_FRAME_COLUMNS = ("number", "recipe_label", "seed", "epoch", *HISTORY_COLUMNS)


@dataclass(frozen=True)
class Predictions:
    """A trial's test-set labels and scores, as arrays.

    ``y_true`` is ``(N,)`` of 0/1 (binary) or class indices (multiclass), or ``(N, K)`` of
    0/1 (multilabel). ``y_score`` is ``(N,)`` of P(positive) (binary) or ``(N, K)``.

    Example:
        >>> predictions = Predictions(y_true=np.array([0, 1]), y_score=np.array([0.2, 0.9]))
        >>> predictions.y_score.shape
        (2,)
    """

    y_true: np.ndarray
    y_score: np.ndarray


@dataclass(frozen=True)
class StudyResults:
    """Everything stored for one study, read in one pass over the storage.

    Attributes:
        study_name: The study's name.
        storage: The storage URL it was read from, as given (show it with
            :func:`bench.storage.redact_url`).
        spec: The study spec as stored (``{}`` if the runner stored none).
        spec_hash: The stored spec hash, or ``None``.
        direction: ``"maximize"`` or ``"minimize"``: how the objective is optimized.
        trials: One row per trial, all states (see :func:`load_trials`).
        histories: One row per trial and epoch (see :func:`load_histories`).
        workload: The ``workload`` user attribute of the first trial that has one.
        versions: The ``versions`` user attribute of the first trial that has one.
        backend: The Keras backend the study's trials train with (its own attribute,
            else its first trial's; ``None`` for studies stored before either held it,
            which all trained with TensorFlow).

    Example:
        >>> from bench.report._example import example_storage
        >>> results = load_results("demo", storage=example_storage())
        >>> results.study_name, results.spec["sampler"], len(results.trials)
        ('demo', 'grid', 4)
    """

    study_name: str
    storage: str
    spec: dict[str, Any]
    spec_hash: str | None
    direction: str
    trials: pd.DataFrame
    histories: pd.DataFrame
    workload: dict[str, Any]
    versions: dict[str, Any]
    backend: str | None = None
    _raw_predictions: Mapping[int, Mapping[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def planned_seeds(self) -> tuple[int, ...]:
        """The seeds the stored spec runs every recipe with (``()`` when it names none).

        Under a tuning protocol these are the final seeds every candidate is rerun with.

        Example:
            >>> from bench.report._example import example_storage
            >>> load_results("demo", storage=example_storage()).planned_seeds
            (0, 1)
        """
        tuning = self.tuning
        return tuning.final_seeds if tuning and tuning.final_seeds else spec_seeds(self.spec)

    @property
    def tuning(self) -> TuningPlan | None:
        """The stored spec's tuning protocol, or ``None`` (see :func:`spec_tuning`).

        Example:
            >>> from bench.report._example import example_storage
            >>> load_results("demo", storage=example_storage()).tuning is None
            True
        """
        return spec_tuning(self.spec)

    def predictions(self, number: int) -> Predictions | None:
        """The test predictions of trial ``number``, or ``None`` if it stored none.

        Example:
            >>> from bench.report._example import example_storage
            >>> results = load_results("demo", storage=example_storage())
            >>> results.predictions(0).y_score.shape
            (8,)
        """
        raw = self._raw_predictions.get(number)
        if not raw or raw.get(Y_TRUE) is None or raw.get(Y_SCORE) is None:
            return None
        y_true = np.asarray(raw[Y_TRUE])
        y_score = np.asarray(raw[Y_SCORE], dtype=float)
        if len(y_true) == 0 or len(y_true) != len(y_score):
            return None
        return Predictions(y_true=y_true, y_score=y_score)


def list_study_names(storage: str, *, with_trials: bool = False) -> list[str]:
    """The names of the studies in ``storage``, sorted; ``with_trials`` skips empty ones.

    Example:
        >>> from bench.report._example import example_storage
        >>> list_study_names(example_storage())
        ['demo']
    """
    opened = open_storage(storage, create=False)
    if not with_trials:
        return sorted(optuna.get_all_study_names(opened))
    return sorted(s.study_name for s in optuna.get_all_study_summaries(opened) if s.n_trials)


def load_results(study_name: str, *, storage: str) -> StudyResults:
    """Read one study's spec, trials, histories and predictions in one pass.

    Raises:
        BenchInputError: If the storage cannot be opened, the study is not in it, or the
            study has no trials.

    Example:
        >>> from bench.report._example import example_storage
        >>> results = load_results("demo", storage=example_storage())
        >>> results.direction, len(results.trials), len(results.histories)
        ('maximize', 4, 12)
    """
    study = _load_study(study_name, storage)
    if not study.get_trials(deepcopy=False):
        raise BenchInputError(
            f"study '{study_name}' in {redact_url(storage)} has no trials yet; run it first "
            f"(bench run --study {study_name})"
        )
    return results_of(study, storage=storage)


def results_of(study: optuna.Study, *, storage: str = "") -> StudyResults:
    """:func:`load_results` of a study already open (``storage`` names where it is, for
    messages): what a running study's protocol reads its own verdicts from.

    Example:
        >>> from bench.report._example import example_storage
        >>> opened = optuna.load_study(study_name="demo", storage=example_storage())
        >>> len(results_of(opened).trials)
        4
    """
    frozen = study.get_trials(deepcopy=False)
    spec = SPEC.get(study.user_attrs) or {}
    records = [(trial, TrialRecord.read(trial)) for trial in frozen]
    return StudyResults(
        study_name=study.study_name,
        storage=storage,
        spec=spec,
        spec_hash=SPEC_HASH.get(study.user_attrs),
        direction=_direction(study, spec),
        trials=_trials_frame(records),
        histories=_histories_frame(records),
        workload=next((r.workload for _, r in records if r.workload is not None), {}),
        versions=next((r.versions for _, r in records if r.versions is not None), {}),
        backend=BACKEND.get(study.user_attrs)
        or next((r.backend for _, r in records if r.backend is not None), None),
        _raw_predictions={
            t.number: r.test_predictions for t, r in records if r.test_predictions is not None
        },
    )


def load_trials(study_name: str, *, storage: str) -> pd.DataFrame:
    """One row per trial of the study, in every state.

    Columns: ``number``, ``state`` (``COMPLETE``/``PRUNED``/``FAIL``/``RUNNING``/...),
    ``recipe_label``, ``seed``, ``value`` (the objective), ``{train,val,test}_{loss,
    accuracy,auc}``, ``gap_accuracy``, ``gap_loss``, ``kept_epoch``, ``epochs_run``,
    ``stop_reason``, ``wall_time_s``, ``images_per_s``, ``datetime_start``,
    ``datetime_complete``, ``duration_s``, ``fail_reason``, then ``params_<field>`` for each
    sampled recipe field (seed excluded) and ``recipe_<knob>`` for every recipe knob.
    Trials run under a tuning protocol add ``phase`` (``tune``, ``final`` or ``defaults``) and
    ``candidate``, and ``tuned_<knob>`` for each value a final trial reran with (its
    ``tuned`` user attribute); studies without them have none of these columns.
    Missing values are NaN / None.

    Example:
        >>> from bench.report._example import example_storage
        >>> trials = load_trials("demo", storage=example_storage())
        >>> trials[["number", "state", "recipe_label", "seed", "val_auc", "params_variant"]]
           number     state recipe_label  seed  val_auc params_variant
        0       0  COMPLETE         adam     0     0.90           adam
        1       1  COMPLETE         adam     1     0.92           adam
        2       2  COMPLETE          sgd     0     0.70            sgd
        3       3  COMPLETE          sgd     1     0.72            sgd
    """
    return load_results(study_name, storage=storage).trials


def load_histories(study_name: str, *, storage: str) -> pd.DataFrame:
    """Per-epoch histories in long format: one row per trial and epoch.

    Columns: ``number``, ``recipe_label``, ``seed``, ``epoch`` (1-based), ``loss``,
    ``accuracy``, ``auc``, ``val_loss``, ``val_accuracy``, ``val_auc``, ``lr``, ``time_s``
    (cumulative seconds at the end of the epoch). Trials in every state are included;
    join on ``number`` with :func:`load_trials` to filter.

    Example:
        >>> from bench.report._example import example_storage
        >>> histories = load_histories("demo", storage=example_storage())
        >>> histories.query("number == 0")[["epoch", "val_auc", "time_s"]].round(3)
           epoch  val_auc  time_s
        0      1    0.633     2.0
        1      2    0.767     4.0
        2      3    0.900     6.0
    """
    return load_results(study_name, storage=storage).histories


def load_predictions(
    study_name: str, *, storage: str, numbers: Sequence[int] | None = None
) -> dict[int, Predictions]:
    """Test predictions per trial number (all trials, or only ``numbers``).

    Trials that stored no predictions are left out.

    Example:
        >>> from bench.report._example import example_storage
        >>> predictions = load_predictions("demo", storage=example_storage(), numbers=[0])
        >>> predictions[0].y_true[:4]
        array([0, 1, 0, 1])
    """
    results = load_results(study_name, storage=storage)
    wanted = results.trials["number"].tolist() if numbers is None else list(numbers)
    found = {n: results.predictions(n) for n in wanted}
    return {n: p for n, p in found.items() if p is not None}


def load_study_spec(study_name: str, *, storage: str) -> dict[str, Any]:
    """The study spec stored with the study (``{}`` if none was stored).

    Example:
        >>> from bench.report._example import example_storage
        >>> load_study_spec("demo", storage=example_storage())["seeds"]
        [0, 1]
    """
    return SPEC.get(_load_study(study_name, storage).user_attrs) or {}


def _load_study(study_name: str, storage: str) -> optuna.Study:
    opened = open_storage(storage, create=False)
    names = sorted(optuna.get_all_study_names(opened))
    if study_name not in names:
        there = ", ".join(names) if names else "none"
        raise BenchInputError(
            f"study '{study_name}' not found in {redact_url(storage)}; studies there: {there}"
        )
    return optuna.load_study(study_name=study_name, storage=opened)


def _direction(study: optuna.Study, spec: Mapping[str, Any]) -> str:
    return spec_objective(spec).direction or study.directions[0].name.lower()


def _number(value: Any) -> float:
    """A stored metric as a float; None, strings and other junk become NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value)


def _trial_row(trial: optuna.trial.FrozenTrial, record: TrialRecord) -> dict[str, Any]:
    metrics = record.metrics or {}
    gap = record.gap or {}
    start, end = trial.datetime_start, trial.datetime_complete
    label = record.recipe_label
    row: dict[str, Any] = {
        "number": trial.number,
        "state": trial.state.name,
        "recipe_label": label if label is not None else recipe_label(trial.params),
        "seed": record.seed,
        "value": trial.value if trial.state == optuna.trial.TrialState.COMPLETE else None,
        "gap_accuracy": _number(gap.get("accuracy")),
        "gap_clean_accuracy": _number(gap.get("clean_accuracy")),
        "gap_loss": _number(gap.get("loss")),
        "kept_epoch": record.kept_epoch,
        "epochs_run": record.epochs_run,
        "stop_reason": record.stop_reason,
        "wall_time_s": _number(record.wall_time_s),
        "images_per_s": _number(record.images_per_s),
        "datetime_start": start,
        "datetime_complete": end,
        "duration_s": (end - start).total_seconds() if start and end else math.nan,
        "fail_reason": trial.system_attrs.get("fail_reason"),
    }
    for split in SPLITS:
        split_metrics = metrics.get(split) if isinstance(metrics.get(split), Mapping) else {}
        for name in METRIC_NAMES:
            row[f"{split}_{name}"] = _number(split_metrics.get(name))
    clean = metrics.get(CLEAN_TRAIN) if isinstance(metrics.get(CLEAN_TRAIN), Mapping) else {}
    row["train_clean_accuracy"] = _number(clean.get("accuracy"))
    if record.phase is not None:
        row["phase"] = record.phase
    if record.candidate is not None:
        row["candidate"] = record.candidate
    # A tuning trial names its params <candidate>.<field>; its row names the field and
    # holds the knob's value (a log1m param holds 1 - value: see bench._scales).
    own = f"{record.candidate}."
    for name, value in trial.params.items():
        if name != SEED:
            knob, knob_value = knob_of_param(name.removeprefix(own), value)
            row[f"params_{knob}"] = knob_value
    for name, value in (record.tuned or {}).items():
        row[f"tuned_{name}"] = value
    for name, value in (record.recipe or {}).items():
        row[f"recipe_{name}"] = value
    return row


def _trials_frame(records: Sequence[tuple[optuna.trial.FrozenTrial, TrialRecord]]) -> pd.DataFrame:
    frame = pd.DataFrame([_trial_row(t, r) for t, r in records])
    protocol = [c for c in _PROTOCOL_COLUMNS if c in frame.columns]
    extra = sorted(c for c in frame.columns if c not in (*_TRIAL_COLUMNS, *protocol))
    settings = [c for p in ("params_", "tuned_") for c in extra if c.startswith(p)]
    rest = [c for c in extra if c not in settings]
    frame = frame.reindex(columns=[*_TRIAL_COLUMNS, *protocol, *settings, *rest])
    for column in _INT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    return frame.sort_values("number", ignore_index=True)


def _histories_frame(
    records: Sequence[tuple[optuna.trial.FrozenTrial, TrialRecord]],
) -> pd.DataFrame:
    rows: list[tuple[Any, ...]] = []
    for trial, record in records:
        if record.history is None:
            continue
        label = record.recipe_label
        label = label if label is not None else recipe_label(trial.params)
        seed = record.seed
        for position, epoch in enumerate(record.history, start=1):
            if not isinstance(epoch, Mapping):
                continue
            rows.append(
                (
                    trial.number,
                    label,
                    seed,
                    epoch.get("epoch", position),
                    *(_number(epoch.get(c)) for c in HISTORY_COLUMNS),
                )
            )
    frame = pd.DataFrame(rows, columns=list(_HISTORY_FRAME_COLUMNS))
    frame["seed"] = pd.to_numeric(frame["seed"], errors="coerce").astype("Int64")
    frame["epoch"] = pd.to_numeric(frame["epoch"], errors="coerce").astype("Int64")
    return frame.sort_values(["number", "epoch"], ignore_index=True)
