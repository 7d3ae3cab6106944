"""The built-in ``optimizers`` study here against an earlier commit, side by side.

Each round runs ``bench run --study optimizers`` with default flags twice, as separate
processes into fresh SQLite files, in alternating order: once from this tree with the
study cut to the earlier commit's size (final seeds 1-3: 72 trials), once from the
earlier commit checked out into a temporary git worktree (its own ``optimizers`` spec,
72 trials). Prints per round, then ``name=value`` lines: ``study_speedup`` is the median
of the rounds' ratios (earlier time over this tree's).

    .venv/bin/python benchmarks/bench_study.py [--rounds 3] [--base 86f4c63]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
from pathlib import Path

from _bench_run import ROOT, side_by_side, timed_bench_run, worktree


def sized_spec(folder: Path) -> Path:
    """This tree's ``optimizers`` spec with the earlier size: final seeds 1-3."""
    text = (ROOT / "studies" / "optimizers.toml").read_text()
    text = re.sub(r"(?m)^final_seeds = \[.*\]$", "final_seeds = [1, 2, 3]", text, count=1)
    path = folder / "optimizers.toml"
    path.write_text(text)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base", default="86f4c63")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, worktree(args.base) as base:
        folder = Path(tmp)
        spec = sized_spec(folder)

        def measure(version: str, i: int) -> float:
            storage = f"sqlite:///{folder / f'{version}-{i}.db'}"
            if version == "base":
                # By path: a built-in name would resolve to the installed package's
                # studies, this tree's, whatever ``bench`` runs them.
                base_spec = str(base / "studies" / "optimizers.toml")
                return timed_bench_run(base_spec, storage, tree=base)
            return timed_bench_run(str(spec), storage)

        base_s, here_s, ratios = side_by_side(args.rounds, measure, label=lambda s: f"{s:.1f} s")
    print(f"base={args.base}")
    print(f"rounds={args.rounds}")
    print(f"base_s={statistics.median(base_s):.1f}")
    print(f"study_s={statistics.median(here_s):.1f}")
    print(f"study_speedup={statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
