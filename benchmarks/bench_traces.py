"""How many times a study's workers trace an optimizer's training step.

Runs ``bench run --study STUDY`` as the README does (default workers: one per core) into
a fresh SQLite file, then counts the distinct (worker process, optimizer kind) pairs
among its trials: each worker traces a kind's step once and reuses it (see
``bench.trial``), so that count is the number of traces. Prints per round, then
``name=value`` lines (medians over rounds).

    .venv/bin/python benchmarks/bench_traces.py [--rounds 1] [--study optimizers]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import optuna
from _bench_run import timed_bench_run

from bench.recovery import TrialOwner
from bench.results import load_trials
from bench.spec import load_spec
from bench.tuning import candidate_kind


def count_traces(study: str, *, storage: Path) -> tuple[int, int]:
    """(traces, trials): distinct (process, optimizer kind) pairs among trained trials."""
    spec = load_spec(study)
    url = f"sqlite:///{storage}"
    stored = optuna.load_study(study_name=spec.name, storage=url).trials
    owners = {t.number: TrialOwner.of(t) for t in stored}
    trials = load_trials(spec.name, storage=url)
    if "candidate" not in trials:  # not a tuning protocol: no candidate, no kind
        return 0, 0
    trained = trials[trials["candidate"].notna() & trials["epochs_run"].fillna(0).gt(0)]
    traces = {
        (owners[number], candidate_kind(spec, candidate))
        for number, candidate in zip(trained["number"], trained["candidate"], strict=True)
    }
    return len(traces), len(trained)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--study", default="optimizers")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    traces, seconds = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            storage = Path(tmp) / f"round-{i}.db"
            seconds.append(timed_bench_run(args.study, f"sqlite:///{storage}"))
            count, trained = count_traces(args.study, storage=storage)
            traces.append(count)
            print(f"round {i + 1}: {count} traces over {trained} trials, {seconds[-1]:.1f} s")
    print(f"study={args.study}")
    print(f"rounds={args.rounds}")
    print(f"study_s={statistics.median(seconds):.1f}")
    print(f"traces_per_study={statistics.median(traces):g}")


if __name__ == "__main__":
    main()
