"""Two runs of one spec draw the same tuning settings and give the same numbers."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import optuna
import pandas as pd
import pytest
from run_fixtures import assert_protocol_ran_once, protocol_spec, start_run, stored_trials

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
    spec = protocol_spec(tmp_path)
    summaries = []
    for run in ("first", "second"):
        url = f"sqlite:///{tmp_path / f'{run}.db'}"
        process = start_run(spec, url, "--jobs", "2", log=tmp_path / f"{run}.log")
        assert process.wait(timeout=600) == 0, (tmp_path / f"{run}.log").read_text()
        out = tmp_path / run
        report = subprocess.run(
            [sys.executable, "-m", "bench", "report", "--storage", url, "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert report.returncode == 0, report.stderr
        endings = Counter(TrialRecord.read(t).stop_reason for t in stored_trials(url, "protocol"))
        # Two workers that both saw the last free slot: one is refused and stored as a
        # duplicate, which never counts; every slot still ran exactly once.
        assert sum(n for reason, n in endings.items() if reason != DUPLICATE) == 8, endings
        assert_protocol_ran_once(url)
        summaries.append(pd.read_csv(out / "protocol" / "summary.csv"))
    timing = [c for c in summaries[0].columns if "time" in c or "seconds" in c]
    first, second = (s.drop(columns=timing) for s in summaries)
    pd.testing.assert_frame_equal(first, second)
