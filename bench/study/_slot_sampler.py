"""Tuning draws that depend on the slot alone: a candidate's ``index``-th point of a
scrambled Halton sequence (``qmc``) or of a seeded random stream (``random``).

Optuna's own samplers draw from a state that depends on which trials a worker has seen
and in what order, so two runs of one spec (or one run with two workers) draw different
settings. Here the draw of tuning slot (candidate, index) is a function of the spec's
sampler seed, the candidate and the index, whichever worker runs it and whenever.
Quasirandom points cover a small budget evenly (Bousquet et al. 2017, "Critical
hyper-parameters: no random, no cry"; AlgoPerf's external tuning ruleset).
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from bench._record import TrialRecord
from bench._scales import LOG1M, knob_name, to_drawn
from bench._schema import VARIANT
from bench.spec import StudySpec


class SlotSampler(optuna.samplers.BaseSampler):
    """Each tuning trial's params from its slot: the ``index``-th point of its candidate's
    sequence, over the candidate's own search space.

    Example:
        >>> from bench.spec import load_spec
        >>> spec = load_spec("optimizers")
        >>> sampler = SlotSampler(spec, kind="qmc")
        >>> first = sampler.point("adam", 0)
        >>> first == SlotSampler(spec, kind="qmc").point("adam", 0), len(first)
        (True, 2)
        >>> sorted(int(sampler.point("adam", i)[0] * 4) for i in range(4))  # one per quarter
        [0, 1, 2, 3]
    """

    def __init__(self, spec: StudySpec, *, kind: str) -> None:
        self.spec = spec
        self.kind = kind
        self.seed = spec.tuning_sampler_seed()

    def infer_relative_search_space(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        return {}

    def sample_independent(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        record = TrialRecord.read(trial)
        candidate, index = record.candidate, record.slot_index
        if candidate is None or index is None:  # a slot stored by an earlier version
            candidate, index = param_name.partition(".")[0], 10_000 + trial.number
        fields = (
            list(self.spec.candidate_space(candidate)) if candidate in self.spec.variants else []
        )
        field = knob_name(param_name.removeprefix(f"{candidate}."))
        dimension = fields.index(field) if field in fields else 0
        unit = self.point(candidate, index, dimensions=max(1, len(fields)))[dimension]
        return from_unit(unit, param_distribution)

    def point(self, candidate: str, index: int, *, dimensions: int | None = None) -> list[float]:
        """Slot ``index`` of ``candidate``: one number in [0, 1) per searched field."""
        if dimensions is None:
            dimensions = max(1, len(self.spec.candidate_space(candidate)))
        key = [self.seed, zlib.crc32(candidate.encode())]
        stream = np.random.SeedSequence(key)
        if self.kind == "qmc":
            from scipy.stats import qmc

            halton = qmc.Halton(d=dimensions, scramble=True, seed=np.random.default_rng(stream))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return [float(u) for u in halton.random(index + 1)[index]]
        rng = np.random.default_rng(np.random.SeedSequence([*key, index]))
        return [float(u) for u in rng.random(dimensions)]


def from_unit(unit: float, distribution: BaseDistribution) -> Any:
    """The value at ``unit`` (in [0, 1)) of an Optuna distribution: log-uniform on a log
    range, on the step grid where there is one.

    Example:
        >>> from_unit(0.5, FloatDistribution(1e-4, 1e-2, log=True))
        0.001
        >>> from_unit(0.99, CategoricalDistribution(["a", "b"]))
        'b'
    """
    if isinstance(distribution, CategoricalDistribution):
        choices: Sequence[Any] = distribution.choices
        return choices[min(int(unit * len(choices)), len(choices) - 1)]
    if not isinstance(distribution, (FloatDistribution, IntDistribution)):
        raise TypeError(f"no unit mapping for {distribution!r}")
    low, high = float(distribution.low), float(distribution.high)
    if distribution.log:
        value = math.exp(math.log(low) + unit * (math.log(high) - math.log(low)))
    else:
        value = low + unit * (high - low)
    step = distribution.step
    if step is not None:
        value = low + round((value - low) / step) * step
    value = min(max(value, low), high)
    if isinstance(distribution, IntDistribution):
        return int(round(value))
    return float(f"{value:.12g}")


class ProtocolSampler(optuna.samplers.BaseSampler):
    """A tuning-protocol study's sampler: the ``variant`` param and the settings a trial
    reruns (a final seed, or a draw rerun on the confirm seed) come from the trial's slot,
    tuning draws from ``base``.

    Every trial of the protocol carries its candidate as the categorical param
    ``variant``, and a final-phase trial the settings it reruns as its candidate's params,
    so Optuna's and the dashboard's views (best trial, slice, importance) name both.

    Example:
        >>> from bench.spec import load_spec
        >>> from bench._record import RecordWriter
        >>> spec = load_spec("optimizers")
        >>> study = optuna.create_study(sampler=ProtocolSampler(SlotSampler(spec, kind="qmc")))
        >>> trial = study.ask()
        >>> tuned = {"learning_rate": 0.002}
        >>> RecordWriter.write(
        ...     trial, RecordWriter.slot(phase="final", candidate="adam", seed=1, tuned=tuned))
        >>> trial.suggest_categorical("variant", list(spec.variants))
        'adam'
        >>> trial.suggest_float("adam.learning_rate", 1e-5, 1e-2, log=True)
        0.002
    """

    def __init__(self, base: optuna.samplers.BaseSampler) -> None:
        self.base = base

    def infer_relative_search_space(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self.base.infer_relative_search_space(study, trial)

    def sample_relative(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        # The slot is stored after the trial starts (when relative sampling runs), so a
        # final trial's settings come through sample_independent below.
        return self.base.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        record = TrialRecord.read(trial)
        if param_name == VARIANT and record.candidate is not None:
            return record.candidate
        if record.tuned:  # a final seed, or a rerun of a draw on the confirm seed
            drawn = param_name.removeprefix(f"{record.candidate}.")
            field = knob_name(drawn)
            if field in record.tuned:
                value = record.tuned[field]
                return to_drawn(value, LOG1M) if drawn != field else value
        return self.base.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.base.before_trial(study, trial)

    def after_trial(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        state: optuna.trial.TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self.base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()
