"""More final seeds for every candidate, or only where a verdict is undecided?

Reads a folder that ``bench_replication.py --final-seeds 10 --keep FOLDER`` filled (each
replication's study and its oracle) and judges every replication's board again, from the
same trials, under four designs, all fixed before any of those replications ran:

- ``fixed_5``: every candidate's first 5 final seeds (the built-in spec's design);
- ``fixed_10``: all 10;
- ``sequential``: a first look on 5 seeds; then the best and every candidate that look
  leaves in the top group add seeds 6-10, and a second look judges them on all 10 (a
  candidate already worse keeps its 5). A candidate is worse when either look marks it,
  each look at the report's level :data:`ALPHA`;
- ``sequential_split``: the same at ``ALPHA / 2`` per look (Bonferroni over the two
  looks), so that two chances to mark a tied candidate worse keep the report's level.

Each design is judged twice: with tuning luck (a candidate counts as worse only where
the test with both candidates' tuning luck added, ``p (luck)``, tells it apart) and on the
final seeds alone (``<design>_seeds_only``: the tuning trials left out, so no luck). The
report's rule since this comparison is ``sequential_split_seeds_only``, with the luck
test kept as a mark on worse candidates ("within tuning luck").

Each board is judged by the report's own pipeline (:func:`bench.report.verdicts_of`) on
the stored trials with the other seeds left out, and scored against the replication's
oracle as ``bench_replication.py`` scores it (``DROP``, ``NEAR``). Prints a line per
replication, then ``<design>_<figure>=value`` lines with 95% Wilson intervals, and
``<design>_final_trials``: the final trials a replication runs under the design (median).

    .venv/bin/python benchmarks/bench_sequential.py FOLDER [--first 21] [--replications 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path

import optuna
import pandas as pd
from bench_replication import DROP, NEAR, oracle_means, rate_lines

from bench.report import ALPHA, verdicts_of
from bench.results import StudyResults, load_results

FIRST_LOOK = 5

#: A candidate's verdict at a level: worse, or in the top group.
Judge = Callable[[StudyResults, Mapping[str, int]], dict[str, bool]]


def with_seeds(results: StudyResults, seeds: Mapping[str, int], *, luck: bool) -> StudyResults:
    """``results`` with each candidate's final trials cut to its first ``seeds[candidate]``
    final seeds (in seed order); tuning trials kept with ``luck``, else left out."""
    trials = results.trials
    final = trials["phase"] == "final"
    order = sorted(trials.loc[final, "seed"].dropna().unique())
    kept_final = final & trials.apply(
        lambda row: row["seed"] in order[: seeds.get(row["candidate"], len(order))], axis=1
    )
    keep = kept_final | (~final if luck else trials["phase"].isna())
    return dataclasses.replace(results, trials=trials[keep])


def worse_at(level: float, *, luck: bool) -> Judge:
    """A judge marking a candidate worse when either corrected p-value is below ``level``."""

    def judge(results: StudyResults, seeds: Mapping[str, int]) -> dict[str, bool]:
        board = verdicts_of(with_seeds(results, seeds, luck=luck)).summary
        metric = board["p_luck"] if luck else board["p_metric"]
        p = pd.concat([metric, board["p_failures"]], axis=1).fillna(1.0).min(axis=1)
        return dict(zip(board["recipe_label"], (p < level).tolist(), strict=True))

    return judge


def fixed(results: StudyResults, count: int, judge: Judge) -> tuple[dict[str, bool], int]:
    candidates = results.trials["candidate"].dropna().unique()
    marks = judge(results, dict.fromkeys(candidates, count))
    return marks, count * len(candidates)


def sequential(results: StudyResults, more: int, judge: Judge) -> tuple[dict[str, bool], int]:
    """The two-look design: seeds 1-5, then ``more`` for the best and the undecided."""
    candidates = list(results.trials["candidate"].dropna().unique())
    first = judge(results, dict.fromkeys(candidates, FIRST_LOOK))
    undecided = [c for c, worse in first.items() if not worse]  # the best among them
    seeds = {c: more if c in undecided else FIRST_LOOK for c in candidates}
    second = judge(results, seeds)
    marks = {c: first.get(c, False) or second.get(c, False) for c in candidates}
    return marks, sum(seeds.values())


def designs(results: StudyResults, more: int) -> dict[str, tuple[dict[str, bool], int]]:
    judged = {}
    for suffix, luck in (("", True), ("_seeds_only", False)):
        at_alpha, at_half = worse_at(ALPHA, luck=luck), worse_at(ALPHA / 2, luck=luck)
        judged |= {
            f"fixed_5{suffix}": fixed(results, FIRST_LOOK, at_alpha),
            f"fixed_{more}{suffix}": fixed(results, more, at_alpha),
            f"sequential{suffix}": sequential(results, more, at_alpha),
            f"sequential_split{suffix}": sequential(results, more, at_half),
        }
    return judged


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--first", type=int, default=21)
    parser.add_argument("--replications", type=int, default=10)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    recall: dict[str, list[bool]] = {}
    false_worse: dict[str, list[bool]] = {}
    classes: dict[str, list[dict[str, bool]]] = {}
    trials: dict[str, list[int]] = {}
    for index in range(args.first, args.first + args.replications):
        name = f"optimizers-h{index}"
        url = f"sqlite:///{args.folder / f'{name}.db'}"
        results = load_results(name, storage=url)
        more = len(results.planned_seeds)
        truth = oracle_means(name, url)
        best = max(truth.values())
        line = []
        for design, (marks, count) in designs(results, more).items():
            classes.setdefault(design, []).append(marks)
            trials.setdefault(design, []).append(count)
            for candidate, worse in marks.items():
                drop = best - truth[candidate]
                if drop >= DROP:
                    recall.setdefault(design, []).append(worse)
                if drop <= NEAR:
                    false_worse.setdefault(design, []).append(worse)
            line.append(f"{design} worse {sorted(c for c, w in marks.items() if w)}")
        drops = {c: round(best - v, 3) for c, v in sorted(truth.items())}
        print(f"replication {index}: oracle drops {drops}; " + "; ".join(line), flush=True)
    lines = []
    for design in classes:
        boards = classes[design]
        candidates = sorted(set().union(*boards))
        majority = {c: Counter(b.get(c) for b in boards).most_common(1)[0][0] for c in candidates}
        agree = [b.get(c) == majority[c] for b in boards for c in candidates]
        lines += rate_lines(f"{design}_worse_recall", sum(recall[design]), len(recall[design]))
        hits = false_worse.get(design, [])
        lines += rate_lines(f"{design}_false_worse", sum(hits), len(hits))
        lines += rate_lines(f"{design}_top_group_agreement", sum(agree), len(agree))
        lines.append(f"{design}_final_trials={statistics.median(trials[design]):g}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
