"""How long ``write_report`` takes for a study of 500 stored trials (target: <= 15 s).

Builds a synthetic SQLite storage in the runner's schema (an L2 x weight-decay grid of
10 x 10 recipes, 5 seeds each, 20-epoch histories, 500 test predictions per trial; a few
trials pruned, failed or diverged), then times ``write_report`` three times and prints the
median. Not a test: run it by hand and record the number in BENCHMARKS.md.

The storage is the report tests' own (``tests/report_fixtures.py``, written by the record
writer that ``bench run`` stores trials with), so run it as a module from the repository
root, which puts the root on the module path and makes the fixtures
``tests.report_fixtures``:

    python -m benchmarks.bench_report
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import optuna

from bench.report import write_report

try:
    from tests.report_fixtures import DIVERGED, FAILED, PRUNED, build_storage
except ModuleNotFoundError as missing:
    if missing.name != "tests":
        raise
    print(
        "bench_report: run it from the repository root as: python -m benchmarks.bench_report",
        file=sys.stderr,
    )
    sys.exit(2)

SPACE = {
    "l2": [0.0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1],
    "weight_decay": [0.0, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1],
}
SEEDS = (0, 1, 2, 3, 4)
REPEATS = 3


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        outcomes = {(i, 0): PRUNED for i in range(0, 100, 9)}
        outcomes.update({(i, 1): FAILED for i in range(3, 100, 17)})
        outcomes.update({(i, 2): DIVERGED for i in range(5, 100, 23)})
        storage = build_storage(
            Path(tmp) / "bench.db",
            study_name="bench500",
            space=SPACE,
            seeds=SEEDS,
            epochs=20,
            n_test=500,
            outcomes=outcomes,
        )
        print(f"built 500-trial storage in {time.perf_counter() - started:.1f} s")
        times = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            result = write_report("bench500", storage=storage, out_dir=Path(tmp) / "reports")
            times.append(time.perf_counter() - started)
        print(
            f"trials: {result.n_trials}, included: {result.n_included}, excluded: {result.excluded}"
        )
        print("runs (s): " + ", ".join(f"{t:.2f}" for t in times))
        print(f"write_report, 500 trials: median {statistics.median(times):.2f} s (target <= 15 s)")


if __name__ == "__main__":
    main()
