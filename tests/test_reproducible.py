"""Two runs of one spec draw the same tuning settings and give the same numbers."""

from __future__ import annotations

from collections import Counter

import optuna
import pandas as pd
import pytest
from run_fixtures import (
    assert_protocol_ran_once,
    protocol_spec,
    protocol_summary,
    start_run,
    stored_trials,
)

from bench._record import TrialRecord
from bench._schema import DUPLICATE
from bench.spec import load_spec
from bench.study import TuningSlots, make_sampler


def _draws(spec, *, others_first: int) -> dict[tuple[str, int], dict]:
    """Claim every tuning slot after ``others_first`` unrelated trials (as in a study other
    workers started on: trial numbers and the sampler's history differ); returns each
    slot's params."""
    study = optuna.create_study(direction="maximize", sampler=make_sampler(spec))
    for _ in range(others_first):
        study.add_trial(optuna.trial.create_trial(value=0.5))
    drawn = {}
    for _ in range(len(spec.variants) * spec.tuning.budget):
        trial = study.ask()
        TuningSlots(spec).recipe(trial)
        record = TrialRecord.from_attrs(trial.user_attrs)
        drawn[(record.candidate, record.slot_index)] = dict(trial.params)
        study.tell(trial, 0.5)
    return drawn


def test_a_tuning_slot_draws_the_same_settings_in_any_run(tmp_path) -> None:
    spec = load_spec(str(protocol_spec(tmp_path)))
    first, second = _draws(spec, others_first=0), _draws(spec, others_first=3)
    assert first == second and len(first) == 4
    rates = sorted(v["adam.learning_rate"] for (c, _), v in first.items() if c == "adam")
    assert rates[0] < 1e-3 < rates[1]  # two quasirandom draws fall in the two halves


@pytest.mark.slow
def test_two_runs_of_a_protocol_spec_with_two_workers_give_the_same_summary(tmp_path) -> None:
    # Both runs at once, each into its own storage: neither can lean on the other, and the
    # load they put on each other's workers must not change a number.
    urls, runs = [], []
    for name in ("first", "second"):
        folder = tmp_path / name
        folder.mkdir()
        urls.append(f"sqlite:///{folder / 'bench.db'}")
        runs.append(start_run(protocol_spec(folder), urls[-1], "--jobs", "2", log=folder / "log"))
    for name, process in zip(("first", "second"), runs, strict=True):
        assert process.wait(timeout=600) == 0, (tmp_path / name / "log").read_text()
    for run in urls:
        endings = Counter(TrialRecord.read(t).stop_reason for t in stored_trials(run, "protocol"))
        # Two workers that both saw the last free slot: one is refused and stored as a
        # duplicate, which never counts; every slot still ran exactly once.
        assert sum(n for reason, n in endings.items() if reason != DUPLICATE) == 8, endings
        assert_protocol_ran_once(run)
    first, second = (protocol_summary(url, tmp_path / f"report-{i}") for i, url in enumerate(urls))
    pd.testing.assert_frame_equal(first, second)
