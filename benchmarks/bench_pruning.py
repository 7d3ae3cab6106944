"""What median pruning saves in the ``tuned`` study, and whether its verdict holds.

Each round runs ``bench run --study tuned`` as a user would (its median pruner, one worker
per core) into a fresh SQLite file, then trains every trial it completed or pruned
(including the seeds pruned untrained because their recipe's first seed was pruned)
again to its end with the same recipe and seed and no pruner, two worker processes side
by side. Printed at the end, as ``name=value`` lines:

- ``epochs_saved``: 1 - epochs the pruned study trained / epochs of the same trials
  unpruned (median over rounds);
- ``same_winner``: 1 when, in every round, the pruned study's best recipe (best mean
  objective over its completed seeds) is the unpruned best, or its unpruned mean lies
  within the unpruned best's 95% t interval over seeds; else 0.

The sampler (TPE) is seeded by the operating system, so each round tunes afresh.

    .venv/bin/python benchmarks/bench_pruning.py [--rounds 3] [--study tuned]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import optuna
from _bench_run import timed_bench_run
from optuna.trial import TrialState
from scipy import stats

from bench.recipe import Recipe
from bench.spec import SEED, StudySpec, load_spec

WORKERS = 2
_workload = None


def run_pruned_study(spec: StudySpec, storage: str) -> float:
    """Seconds for ``bench run --study NAME`` into ``storage``, as the README runs it."""
    return timed_bench_run(spec.name, storage)


def _start_worker(study: str) -> None:
    global _workload
    from bench.study import set_thread_budget

    set_thread_budget(WORKERS)
    _workload = load_spec(study).workload.load()


def _train_to_end(recipe: dict, split: str, metric: str) -> tuple[int, float]:
    from bench.trial import run_trial

    result = run_trial(_workload, Recipe(**recipe))
    value = result.metrics[split][metric]
    return result.epochs_run, math.nan if value is None else float(value)


def t_interval(values: list[float]) -> tuple[float, float]:
    """The 95% Student-t interval of the mean of the values that are not NaN; NaN when
    fewer than 2 are."""
    a = np.asarray(values, dtype=float)
    a = a[~np.isnan(a)]
    if len(a) < 2:
        return math.nan, math.nan
    interval = stats.ttest_1samp(a, 0.0).confidence_interval(confidence_level=0.95)
    return float(interval.low), float(interval.high)


def best_recipe(values: dict[str, list[float]], *, maximize: bool) -> str:
    means = {label: statistics.fmean(v) for label, v in values.items() if v}
    return (max if maximize else min)(means, key=means.__getitem__)


def one_round(spec: StudySpec, folder: Path, index: int) -> dict[str, float]:
    storage = f"sqlite:///{folder / f'pruned-{index}.db'}"
    seconds = run_pruned_study(spec, storage)
    study = optuna.load_study(study_name=spec.name, storage=storage)
    started = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    split, metric = spec.objective.split_and_name
    with ProcessPoolExecutor(
        WORKERS, mp_context=get_context("spawn"), initializer=_start_worker, initargs=(spec.name,)
    ) as pool:
        unpruned = list(
            pool.map(
                _train_to_end,
                [spec.recipe({**t.params, SEED: t.user_attrs[SEED]}).to_dict() for t in started],
                [split] * len(started),
                [metric] * len(started),
            )
        )

    maximize = spec.objective.direction == "maximize"
    pruned_values: dict[str, list[float]] = defaultdict(list)
    unpruned_values: dict[str, list[float]] = defaultdict(list)
    for trial, (_, value) in zip(started, unpruned, strict=True):
        label = trial.user_attrs["recipe_label"]
        if trial.state == TrialState.COMPLETE:
            pruned_values[label].append(trial.value)
        unpruned_values[label].append(value)
    pruned_best = best_recipe(pruned_values, maximize=maximize)
    unpruned_best = best_recipe(unpruned_values, maximize=maximize)
    low, high = t_interval(unpruned_values[unpruned_best])
    held = statistics.fmean(unpruned_values[pruned_best])
    same = pruned_best == unpruned_best or (low <= held <= high)
    pruned_epochs = sum(t.user_attrs["epochs_run"] for t in started)
    unpruned_epochs = sum(epochs for epochs, _ in unpruned)
    n_pruned = sum(t.state == TrialState.PRUNED for t in started)
    print(
        f"round {index + 1}: {len(started)} trials ({n_pruned} pruned) in {seconds:.0f} s; "
        f"epochs {pruned_epochs} pruned vs {unpruned_epochs} unpruned; best pruned "
        f"{pruned_best!r} (unpruned mean {held:.4f}), best unpruned {unpruned_best!r} "
        f"({statistics.fmean(unpruned_values[unpruned_best]):.4f}, 95% t interval "
        f"{low:.4f}-{high:.4f}): same_winner={int(same)}",
        flush=True,
    )
    return {
        "epochs_saved": 1 - pruned_epochs / unpruned_epochs,
        "same_winner": float(same),
        "study_s": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--study", default="tuned")
    args = parser.parse_args()
    spec = load_spec(args.study)
    with tempfile.TemporaryDirectory() as tmp:
        rounds = [one_round(spec, Path(tmp), i) for i in range(args.rounds)]
    print(f"study={spec.name}")
    print(f"rounds={args.rounds}")
    print(f"study_s={statistics.median(r['study_s'] for r in rounds):.1f}")
    print(f"epochs_saved={statistics.median(r['epochs_saved'] for r in rounds):.3f}")
    print(f"same_winner={int(all(r['same_winner'] for r in rounds))}")


if __name__ == "__main__":
    main()
