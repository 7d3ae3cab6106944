"""The stored trial record: every user attribute ``bench run`` stores, declared once, with
its one writer and its one reader.

A trial's whole result lives in its Optuna user attributes, so that ``optuna-dashboard``,
the ``optuna`` command line and ``optuna.load_study`` all see it. Every key is an
:class:`Attr` below; nothing else in the package spells a key. The runner writes through
:class:`RecordWriter` (one method per moment of a trial's life, each returning the
attributes in the order they must be stored), and every reader (results, recovery, the
tuning protocol, the console) goes through :class:`TrialRecord`. Test fixtures and the
docstring example study build their trials with the same writer, so they cannot drift
from what the runner stores.

Example:
    >>> import optuna
    >>> attrs = {**RecordWriter.slot(phase="tune", candidate="adam", seed=0),
    ...          **RecordWriter.labelled("adam (tune)", seed=0)}
    >>> frozen = optuna.trial.create_trial(value=0.9, user_attrs=attrs)
    >>> record = TrialRecord.read(frozen)
    >>> record.phase, record.candidate, record.seed, record.recipe_label
    ('tune', 'adam', 0, 'adam (tune)')
"""

from __future__ import annotations

import dataclasses
import math
import traceback
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar

from bench._schema import PHASES, VARIANT, Phase, StopReason, Task

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

T = TypeVar("T")


@dataclass(frozen=True)
class Attr(Generic[T]):
    """One stored user attribute: its key and the type a valid value has.

    Example:
        >>> SEED.get({"seed": 3}), SEED.get({"seed": True}), SEED.get({})
        (3, None, None)
    """

    key: str
    kind: type | tuple[type, ...]

    def get(self, attrs: Mapping[str, Any]) -> T | None:
        """The attribute's value in ``attrs``, or None when absent or of the wrong type
        (a record read back describes what was stored, and never fails on junk)."""
        value = attrs.get(self.key)
        if isinstance(value, bool) and bool not in _kinds(self.kind):
            return None
        return value if isinstance(value, self.kind) else None  # type: ignore[return-value]


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


# Who runs the trial (see bench.recovery.TrialOwner).
HOST: Final[Attr[str]] = Attr("host", str)
PID: Final[Attr[int]] = Attr("pid", int)
BOOT_ID: Final[Attr[str]] = Attr("boot_id", str)
# Which run it is: its seed, and under a tuning protocol its slot.
SEED: Final[Attr[int]] = Attr("seed", int)
PHASE: Final[Attr[str]] = Attr("phase", str)
CANDIDATE: Final[Attr[str]] = Attr("candidate", str)
#: Which of its candidate's tuning slots a tuning trial holds (0 to budget - 1): its draw.
SLOT_INDEX: Final[Attr[int]] = Attr("slot_index", int)
TUNED: Final[Attr[dict]] = Attr("tuned", dict)
RECIPE_LABEL: Final[Attr[str]] = Attr("recipe_label", str)
# What training produced (the fields of TrialResult that the record keeps).
RECIPE: Final[Attr[dict]] = Attr("recipe", dict)
STOP_REASON: Final[Attr[str]] = Attr("stop_reason", str)
EPOCHS_RUN: Final[Attr[int]] = Attr("epochs_run", int)
KEPT_EPOCH: Final[Attr[int]] = Attr("kept_epoch", int)
HISTORY: Final[Attr[list]] = Attr("history", list)
METRICS: Final[Attr[dict]] = Attr("metrics", dict)
GAP: Final[Attr[dict]] = Attr("gap", dict)
TEST_PREDICTIONS: Final[Attr[dict]] = Attr("test_predictions", dict)
WORKLOAD: Final[Attr[dict]] = Attr("workload", dict)
#: The Keras backend that trained the trial (``jax``, ``tensorflow``); on a study, the
#: backend all of its trials train with (numbers differ across backends).
BACKEND: Final[Attr[str]] = Attr("backend", str)
VERSIONS: Final[Attr[dict]] = Attr("versions", dict)
WALL_TIME_S: Final[Attr[float]] = Attr("wall_time_s", (int, float))
IMAGES_PER_S: Final[Attr[float]] = Attr("images_per_s", (int, float))
#: An unexpected error a trial's worker met: its type, message and traceback.
ERROR: Final[Attr[dict]] = Attr("error", dict)
#: The signal that stopped a trial (``SIGINT``, ``SIGTERM``): it is always run again.
INTERRUPTED: Final[Attr[str]] = Attr("interrupted", str)

# Keys inside stored values.
#: In ``metrics``: the training split scored on its labels before any noise was added.
CLEAN_TRAIN: Final = "train_clean"
#: In ``test_predictions``: the test labels and the model's scores for them.
Y_TRUE: Final = "y_true"
Y_SCORE: Final = "y_score"
#: In ``error``: the exception's type name, message and formatted traceback.
ERROR_TYPE: Final = "type"
ERROR_MESSAGE: Final = "message"
ERROR_TRACEBACK: Final = "traceback"

#: Every trial attribute, in the order a finished trial's record lists them.
TRIAL_ATTRS: Final[tuple[Attr, ...]] = (
    HOST,
    PID,
    BOOT_ID,
    SEED,
    PHASE,
    CANDIDATE,
    SLOT_INDEX,
    TUNED,
    RECIPE_LABEL,
    RECIPE,
    STOP_REASON,
    EPOCHS_RUN,
    KEPT_EPOCH,
    HISTORY,
    METRICS,
    GAP,
    TEST_PREDICTIONS,
    WORKLOAD,
    BACKEND,
    VERSIONS,
    WALL_TIME_S,
    IMAGES_PER_S,
    ERROR,
    INTERRUPTED,
)
#: The attributes of the training result (fields of :class:`TrialResult`), in the
#: order they are stored.
RESULT_ATTRS: Final[tuple[Attr, ...]] = (
    HISTORY,
    KEPT_EPOCH,
    EPOCHS_RUN,
    STOP_REASON,
    METRICS,
    GAP,
    TEST_PREDICTIONS,
    RECIPE,
    WORKLOAD,
    WALL_TIME_S,
    IMAGES_PER_S,
    BACKEND,
    VERSIONS,
)
#: Attributes of who ran a trial: a queued copy of a trial must never carry them.
OWNER_ATTRS: Final[tuple[Attr, ...]] = (HOST, PID, BOOT_ID)

# The study's own user attributes.
SPEC: Final[Attr[dict]] = Attr("spec", dict)
DESCRIPTION: Final[Attr[str]] = Attr("description", str)
SPEC_HASH: Final[Attr[str]] = Attr("spec_hash", str)


class _Settable(Protocol):
    def set_user_attr(self, key: str, value: Any) -> None: ...


@dataclass
class TrialResult:
    """What one training run produced (:func:`bench.trial.run_trial` returns it);
    :meth:`to_dict` is the ``bench train --json`` file.

    ``kept_epoch`` is 1-based: the epoch whose weights the model ends with. ``gap`` is
    measured with those weights: ``accuracy`` is train minus validation accuracy and
    ``loss`` is validation minus train loss. ``class_names`` and ``task`` are part of the
    stored workload; the record keeps the other fields as they are.
    """

    history: list[dict[str, float]]
    kept_epoch: int
    epochs_run: int
    stop_reason: StopReason
    metrics: dict[str, dict[str, float | None]]
    gap: dict[str, float]
    test_predictions: dict[str, list]
    class_names: list[str]
    task: Task
    recipe: dict[str, Any]
    workload: dict[str, Any]
    wall_time_s: float
    images_per_s: float
    backend: str = ""
    versions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RecordWriter:
    """The one writer of a trial's record: each method returns the attributes of one
    moment of the trial's life, in the order they must be stored, and :meth:`write`
    stores them. Other processes read a trial between two writes, so each method puts
    the attribute that makes its part count last.

    Example:
        >>> class Trial:
        ...     def __init__(self): self.user_attrs = {}
        ...     def set_user_attr(self, key, value): self.user_attrs[key] = value
        >>> trial = Trial()
        >>> RecordWriter.write(trial, RecordWriter.slot(phase="final", candidate="sgd",
        ...                                               seed=2, tuned={"learning_rate": 0.1}))
        >>> list(trial.user_attrs)
        ['seed', 'tuned', 'candidate', 'phase']
    """

    @staticmethod
    def write(trial: _Settable, attrs: Mapping[str, Any]) -> None:
        """Store ``attrs`` on a running trial, one storage write each, in their order."""
        for key, value in attrs.items():
            trial.set_user_attr(key, value)

    @staticmethod
    def owner(*, host: str, pid: int, boot_id: str) -> dict[str, Any]:
        """Who runs the trial; the process id goes last, as it is what a reader trusts."""
        return {HOST.key: host, BOOT_ID.key: boot_id, PID.key: pid}

    @staticmethod
    def seed(seed: int) -> dict[str, Any]:
        """The seed a trial runs with; also what a queued seed copy starts with."""
        return {SEED.key: seed}

    @staticmethod
    def slot(
        *,
        phase: Phase,
        candidate: str,
        seed: int,
        tuned: Mapping[str, Any] | None = None,
        index: int | None = None,
    ) -> dict[str, Any]:
        """A slot of the tuning protocol; the phase goes last, so that a trial holds its
        slot only once the whole slot is stored."""
        attrs: dict[str, Any] = {SEED.key: seed}
        if tuned is not None:
            attrs[TUNED.key] = dict(tuned)
        if index is not None:
            attrs[SLOT_INDEX.key] = index
        attrs[CANDIDATE.key] = candidate
        attrs[PHASE.key] = phase
        return attrs

    @staticmethod
    def labelled(label: str, *, seed: int) -> dict[str, Any]:
        """The recipe's name in reports and the seed it runs with."""
        return {RECIPE_LABEL.key: label, SEED.key: seed}

    @staticmethod
    def result(result: TrialResult) -> dict[str, Any]:
        """What training produced, NaN and infinity stored as None (strict JSON)."""
        produced = result.to_dict()
        return {attr.key: _json_safe(produced[attr.key]) for attr in RESULT_ATTRS}

    @staticmethod
    def untrained(*, recipe: Mapping[str, Any], stop_reason: StopReason) -> dict[str, Any]:
        """A trial that ends before training: its recipe, why, and no epochs."""
        return {RECIPE.key: dict(recipe), EPOCHS_RUN.key: 0, STOP_REASON.key: stop_reason}

    @staticmethod
    def study(
        *, spec: Mapping[str, Any], description: str, spec_hash: str, backend: str
    ) -> dict[str, Any]:
        """The study's own attributes; the hash goes last, as a resuming run waits for it."""
        return {
            SPEC.key: dict(spec),
            DESCRIPTION.key: description,
            BACKEND.key: backend,
            SPEC_HASH.key: spec_hash,
        }

    @staticmethod
    def error(error: BaseException) -> dict[str, Any]:
        """An unexpected error the trial met: its type, message and traceback."""
        trace = "".join(traceback.format_exception(error))
        return {
            ERROR.key: {
                ERROR_TYPE: type(error).__name__,
                ERROR_MESSAGE: str(error),
                ERROR_TRACEBACK: trace,
            }
        }

    @staticmethod
    def interrupted(signal_name: str) -> dict[str, Any]:
        """The signal that stopped the trial (the user's stop, not a crash)."""
        return {INTERRUPTED.key: signal_name}

    @staticmethod
    def stopped(stop_reason: StopReason) -> dict[str, Any]:
        """Why a trial ended without a result of its own (a duplicate, a crash)."""
        return {STOP_REASON.key: stop_reason}


def recipe_label(params: Mapping[str, Any]) -> str:
    """A recipe's name in reports: its variant, then its sampled fields; never the seed
    (which studies stored by earlier versions held among their params).

    Example:
        >>> recipe_label({"variant": "adamw"})
        'adamw'
        >>> recipe_label({"l2": 0.01, "weight_decay": 0.0, "seed": 0})
        'l2=0.01 weight_decay=0'
    """
    parts = [str(params[VARIANT])] if VARIANT in params else []
    shown = {k: v for k, v in params.items() if k not in (VARIANT, SEED.key)}
    return " ".join([*parts, *_settings_words(shown)])


def slot_label(candidate: str, *, phase: Phase, values: Mapping[str, Any]) -> str:
    """The name of a tuning-protocol trial: its candidate, phase and settings.

    Example:
        >>> slot_label("sgd", phase="final", values={"learning_rate": 0.0123, "momentum": 0.9})
        'sgd (final: learning_rate=0.0123 momentum=0.9)'
    """
    shown = " ".join(_settings_words(values))
    return f"{candidate} ({phase}{': ' + shown if shown else ''})"


def _settings_words(values: Mapping[str, Any]) -> list[str]:
    return [f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()]


def queued_copy_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes a queued copy of a failed trial keeps: its seed and slot, never who
    ran it nor how it ended (a copy carrying the dead owner's process id would look
    stale to every other worker the moment it starts).

    Example:
        >>> queued_copy_attrs({"seed": 1, "pid": 42, "host": "a", "stop_reason": "pruned"})
        {'seed': 1}
    """
    keep = (SEED, PHASE, CANDIDATE, SLOT_INDEX, TUNED, RECIPE_LABEL)
    return {attr.key: attrs[attr.key] for attr in keep if attr.key in attrs}


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


@dataclass(frozen=True)
class TrialRecord:
    """The one reader of a stored trial's record: each attribute typed, None when absent
    or not of its type. Studies stored by earlier versions read too: their seed was an
    Optuna param.

    Example:
        >>> import optuna
        >>> from optuna.distributions import IntDistribution
        >>> legacy = optuna.trial.create_trial(
        ...     params={"seed": 1}, distributions={"seed": IntDistribution(0, 1)}, value=0.5)
        >>> TrialRecord.read(legacy).seed
        1
    """

    host: str | None = None
    pid: int | None = None
    boot_id: str | None = None
    seed: int | None = None
    phase: Phase | None = None
    candidate: str | None = None
    slot_index: int | None = None
    tuned: dict[str, Any] | None = None
    recipe_label: str | None = None
    recipe: dict[str, Any] | None = None
    stop_reason: StopReason | None = None
    epochs_run: int | None = None
    kept_epoch: int | None = None
    history: list[Any] | None = None
    metrics: dict[str, Any] | None = None
    gap: dict[str, Any] | None = None
    test_predictions: dict[str, Any] | None = None
    workload: dict[str, Any] | None = None
    backend: str | None = None
    versions: dict[str, Any] | None = None
    wall_time_s: float | None = None
    images_per_s: float | None = None
    error: dict[str, Any] | None = None
    interrupted: str | None = None

    @classmethod
    def read(cls, trial: FrozenTrial) -> TrialRecord:
        """Read the record of ``trial`` (any state; a queued trial has a partial one)."""
        return cls.from_attrs(trial.user_attrs, legacy_params=trial.params)

    @classmethod
    def from_attrs(
        cls, attrs: Mapping[str, Any], *, legacy_params: Mapping[str, Any] | None = None
    ) -> TrialRecord:
        """Read a record from user attributes (``legacy_params``: the trial's params, where
        earlier versions kept the seed)."""
        values = {attr.key: attr.get(attrs) for attr in TRIAL_ATTRS}
        if values[SEED.key] is None and legacy_params is not None:
            values[SEED.key] = SEED.get(legacy_params)
        if values[PHASE.key] not in PHASES:
            values[PHASE.key] = None
        return cls(**values)


assert tuple(f.name for f in dataclasses.fields(TrialRecord)) == tuple(
    a.key for a in TRIAL_ATTRS
), "TrialRecord's fields are the declared attributes, in their order"


def library_versions(backend: str) -> dict[str, str]:
    """Versions of the libraries a result of ``backend`` depends on.

    Example:
        >>> "numpy" in library_versions("jax")
        True
    """
    from importlib.metadata import PackageNotFoundError, version

    from bench.backend import BACKEND_LIBRARIES

    found = {}
    names = ("bench", *BACKEND_LIBRARIES.get(backend, ()), "keras", "numpy", "scikit-learn")
    for name in (*names, "optuna"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found
