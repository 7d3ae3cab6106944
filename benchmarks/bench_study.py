"""The README's ``optimizers`` study here against an earlier commit, side by side.

Each round runs ``bench run --study optimizers`` with default flags as separate
processes into fresh SQLite files, in alternating order: from the earlier commit checked
out into a temporary git worktree (its own spec, by path), and from this tree twice:
with JAX's compilation cache as a user has it on a second run (a cache folder primed by
one run before the rounds) and with an empty cache of its own (a first run on a new
machine). Prints per round, then ``name=value`` lines: ``study_speedup`` is the median of
the rounds' ratios (earlier time over this tree's, warm cache), ``study_speedup_cold``
the same with the empty cache.

    .venv/bin/python benchmarks/bench_study.py [--rounds 2] [--base c5070ce]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from _bench_run import ROOT, timed_bench_run, worktree

from bench.backend import JAX_CACHE_ENV


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--base", default="c5070ce")
    args = parser.parse_args()
    here_spec = str(ROOT / "studies" / "optimizers.toml")
    with tempfile.TemporaryDirectory() as tmp, worktree(args.base) as base:
        folder = Path(tmp)
        warm = {JAX_CACHE_ENV: str(folder / "warm-cache")}
        primed = timed_bench_run(here_spec, f"sqlite:///{folder / 'prime.db'}", env=warm)
        print(f"priming run (empty cache): {primed:.1f} s", flush=True)
        base_s, warm_s, cold_s = [], [], []
        for i in range(args.rounds):
            runs = ("base", "warm", "cold") if i % 2 == 0 else ("cold", "warm", "base")
            timed = {}
            for run in runs:
                storage = f"sqlite:///{folder / f'{run}-{i}.db'}"
                if run == "base":
                    # By path: a built-in name resolves to this tree's studies/.
                    base_spec = str(base / "studies" / "optimizers.toml")
                    timed[run] = timed_bench_run(base_spec, storage, tree=base)
                else:
                    cache = warm if run == "warm" else {JAX_CACHE_ENV: str(folder / f"cold-{i}")}
                    timed[run] = timed_bench_run(here_spec, storage, env=cache)
            base_s.append(timed["base"])
            warm_s.append(timed["warm"])
            cold_s.append(timed["cold"])
            print(
                f"round {i + 1}: {args.base} {timed['base']:.1f} s, here {timed['warm']:.1f} s "
                f"(warm cache, {timed['base'] / timed['warm']:.2f}x), {timed['cold']:.1f} s "
                f"(empty cache, {timed['base'] / timed['cold']:.2f}x)",
                flush=True,
            )
    print(f"base={args.base}")
    print(f"rounds={args.rounds}")
    print(f"base_s={statistics.median(base_s):.1f}")
    print(f"study_s={statistics.median(warm_s):.1f}")
    print(f"study_cold_s={statistics.median(cold_s):.1f}")
    warm_ratios = [b / w for b, w in zip(base_s, warm_s, strict=True)]
    cold_ratios = [b / c for b, c in zip(base_s, cold_s, strict=True)]
    print(f"study_speedup={statistics.median(warm_ratios):.3f}")
    print(f"study_speedup_cold={statistics.median(cold_ratios):.3f}")


if __name__ == "__main__":
    main()
