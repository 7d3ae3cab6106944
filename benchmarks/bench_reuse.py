"""How much reusing traced steps saves on the ``optimizers`` study, and whether it changes
any result.

Each round runs the study's 16 trials (8 optimizers x 2 seeds, its epochs, digits, tiny
preset) through :func:`bench.trial.run_trial` twice in this process: once with reuse
(starting from an empty cache) and once building every model afresh, in alternating
order. Prints per round and, at the end, ``name=value`` lines: the median ratio of the
two, the median first-epoch excess with and without reuse, and whether every recipe's
history and metrics were the same both ways.

    .venv/bin/python benchmarks/bench_reuse.py [--rounds 3] [--epochs 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import trial  # noqa: E402
from bench.recipe import Recipe  # noqa: E402
from bench.workload import load_workload  # noqa: E402


def study_recipes(*, epochs: int | None) -> list[Recipe]:
    """The optimizers study's trials as recipes, in the study's order."""
    spec = tomllib.loads((ROOT / "studies" / "optimizers.toml").read_text())
    recipes = []
    for variant in spec["variants"]:
        fields = {k: v for k, v in variant.items() if k != "name"}
        for seed in spec["seeds"]:
            recipes.append(
                Recipe(
                    **{**spec.get("fixed", {}), **fields},
                    epochs=epochs or spec["epochs"],
                    seed=seed,
                )
            )
    return recipes


def run_sequence(workload, recipes: list[Recipe], *, reuse: bool) -> tuple[float, list]:
    trial.clear_reuse_cache()
    started = time.perf_counter()
    results = [trial.run_trial(workload, r, reuse=reuse) for r in recipes]
    return time.perf_counter() - started, results


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
    args = parser.parse_args()
    workload = load_workload("digits", preset="tiny")
    recipes = study_recipes(epochs=args.epochs)
    ratios, excess_on, excess_off, same = [], [], [], True
    for i in range(args.rounds):
        order = (True, False) if i % 2 == 0 else (False, True)
        timed = {reuse: run_sequence(workload, recipes, reuse=reuse) for reuse in order}
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
    print(f"trials={len(recipes)}")
    print(f"rounds={args.rounds}")
    print(f"reuse_speedup={statistics.median(ratios):.3f}")
    print(f"first_epoch_excess_s={statistics.median(excess_on):.3f}")
    print(f"first_epoch_excess_fresh_s={statistics.median(excess_off):.3f}")
    print(f"same_results={int(same)}")


if __name__ == "__main__":
    main()
