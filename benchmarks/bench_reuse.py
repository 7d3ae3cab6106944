"""How much reusing traced steps saves on the ``optimizers`` study, and whether it changes
any result.

Each round runs the study's protocol through :func:`bench.trial.run_trial` twice in this
process, once with reuse (from an empty cache) and once building every model afresh, in
alternating order: every candidate's tuning trials on the tuning seed, with its search
space drawn by a seeded NumPy generator (the study's sampler is seeded from the operating
system, so both sides get the same draws here), then each candidate's best settings (by
the study's objective) on every final seed. Prints per round and, at the end,
``name=value`` lines: the median ratio of the two, the median first-epoch excess with and
without reuse, and whether every trial's history, metrics and test scores were the same
both ways (which also makes the leaderboard the same).

    .venv/bin/python benchmarks/bench_reuse.py [--rounds 3] [--epochs 20] [--study optimizers]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import time

import numpy as np

from bench import trial
from bench.spec import SEED, VARIANT, Range, StudySpec, load_spec


def tuning_draws(spec: StudySpec, *, seed: int = 0) -> list[dict]:
    """Each candidate's tuning trials as sampled fields, drawn like the study's sampler
    (log-uniform for log ranges, 1 - value log-uniform for log1m ones, uniform otherwise)
    from a seeded generator."""
    rng = np.random.default_rng(seed)
    draws = []
    for candidate in spec.variants:
        for _ in range(spec.candidate_budget(candidate)):
            fields = {VARIANT: candidate, SEED: spec.tuning.seed}
            for name, space in spec.candidate_space(candidate).items():
                fields[name] = _draw(rng, space)
            draws.append(fields)
    return draws


def _draw(rng: np.random.Generator, space) -> object:
    if isinstance(space, list):
        return space[int(rng.integers(len(space)))]
    assert isinstance(space, Range)
    if space.scale == "log1m":
        low, high = space.drawn_bounds()
        return 1.0 - float(math.exp(rng.uniform(math.log(low), math.log(high))))
    if space.log:
        return float(math.exp(rng.uniform(math.log(space.low), math.log(space.high))))
    return float(rng.uniform(space.low, space.high))


def run_protocol(spec: StudySpec, workload, draws: list[dict], *, reuse: bool) -> tuple:
    """Tuning trials, then each candidate's best settings on the final seeds."""
    trial.clear_reuse_cache()
    started = time.perf_counter()
    split, metric = spec.objective.split_and_name
    sign = 1 if spec.objective.direction == "maximize" else -1
    results, best = [], {}
    for fields in draws:
        result = trial.run_trial(workload, spec.recipe(fields), reuse=reuse)
        results.append(result)
        score = sign * (result.metrics[split][metric] or -math.inf)
        if fields[VARIANT] not in best or score > best[fields[VARIANT]][0]:
            best[fields[VARIANT]] = (score, fields)
    for _, fields in best.values():
        for seed in spec.tuning.final_seeds:
            recipe = spec.recipe({**fields, SEED: seed})
            results.append(trial.run_trial(workload, recipe, reuse=reuse))
    elapsed = time.perf_counter() - started
    print(f"  {'reuse' if reuse else 'fresh'}: {len(results)} trials, {elapsed:.1f} s", flush=True)
    return elapsed, results


def epoch_seconds(result) -> list[float]:
    times = [r["time_s"] for r in result.history]
    return [b - a for a, b in zip([0.0, *times], times, strict=False)]


def first_epoch_excess(results) -> float:
    firsts, laters = [], []
    for result in results:
        seconds = epoch_seconds(result)
        firsts.append(seconds[0])
        laters.extend(seconds[1:])
    return statistics.median(firsts) - statistics.median(laters)


def same_results(a, b) -> bool:
    def strip(result):
        history = [{k: v for k, v in r.items() if k != "time_s"} for r in result.history]
        return history, result.metrics, result.test_predictions

    return all(strip(x) == strip(y) for x, y in zip(a, b, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--study", default="optimizers")
    parser.add_argument("--budget", type=int, default=None, help="tuning trials per candidate")
    parser.add_argument("--final-seeds", type=int, default=None, help="how many final seeds")
    args = parser.parse_args()
    spec = load_spec(args.study)
    if args.epochs:
        spec = spec.with_overrides(epochs=args.epochs)
    if args.budget or args.final_seeds:
        tuning = spec.tuning
        spec = dataclasses.replace(
            spec,
            tuning=dataclasses.replace(
                tuning,
                budget=args.budget or tuning.budget,
                budget_per_dimension=None if args.budget else tuning.budget_per_dimension,
                final_seeds=tuning.final_seeds[: args.final_seeds or len(tuning.final_seeds)],
            ),
        )
    workload = spec.workload.load()
    draws = tuning_draws(spec)
    ratios, excess_on, excess_off, same = [], [], [], True
    for i in range(args.rounds):
        order = (True, False) if i % 2 == 0 else (False, True)
        timed = {reuse: run_protocol(spec, workload, draws, reuse=reuse) for reuse in order}
        (on_s, on), (off_s, off) = timed[True], timed[False]
        ratios.append(off_s / on_s)
        excess_on.append(first_epoch_excess(on))
        excess_off.append(first_epoch_excess(off))
        same = same and same_results(on, off)
        print(
            f"round {i + 1}: reuse {on_s:.1f} s, fresh {off_s:.1f} s, ratio {ratios[-1]:.2f}, "
            f"first-epoch excess {excess_on[-1]:.2f} s vs {excess_off[-1]:.2f} s",
            flush=True,
        )
    print(f"trials={len(on)}")
    print(f"budget={max(spec.candidate_budget(c) for c in spec.variants)}")
    print(f"final_seeds={len(spec.tuning.final_seeds)}")
    print(f"epochs={spec.max_epochs}")
    print(f"rounds={args.rounds}")
    print(f"reuse_speedup={statistics.median(ratios):.3f}")
    print(f"first_epoch_excess_s={statistics.median(excess_on):.3f}")
    print(f"first_epoch_excess_fresh_s={statistics.median(excess_off):.3f}")
    print(f"same_results={int(same)}")


if __name__ == "__main__":
    main()
