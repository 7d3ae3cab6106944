"""Do the built-in study's verdicts replicate? R independent runs of ``optimizers``.

Replication r runs the built-in ``optimizers`` spec as ``bench run`` does (default
workers) into a fresh SQLite file, with its own tuning draws (replication 0: the spec's
default sampler seed, as the README's command; then ``sampler_seed`` 101, 102, ...) and
its own final seeds (disjoint: 1-5, 6-10, ... with the spec's 5; ``--final-seeds`` changes
how many) and confirm seed (the spec's, then 1001, 1002, ...; ``--confirm 0`` chooses by
the tuning seed alone). Each candidate's class in a replication
is ``top`` (best, or not told apart from it) or ``worse``. Prints per replication, then
``name=value`` lines:

- ``top_group_agreement``: fraction of candidates with the same class in every replication;
- ``worse_recall``: of the candidate-replications whose mean is at least 0.10 below that
  replication's best, the fraction marked worse (``nan`` when there is none);
- ``winner_in_top``: fraction of replications whose first-ranked candidate is in every
  other replication's top group;
- ``paired_sd_median`` and ``paired_sd_max``: over candidates and replications, the sd
  of a candidate's per-seed difference to the best, and ``seeds_for_<d>_at_<which>``:
  the seeds the report's paired test needs to tell a difference ``d`` (0.05, 0.10) apart
  at that spread on AUC's own scale (80% power, 8 candidates, noncentral t:
  ``bench.report.seeds_for_power``).

    .venv/bin/python benchmarks/bench_replication.py [--replications 3] [--final-seeds N]
        [--confirm N]
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import tempfile
from pathlib import Path

import optuna
from _bench_run import timed_bench_run

from bench.report import TOP_GROUP, WORSE, seeds_for_power, study_leaderboard
from bench.spec import builtin_spec_paths, load_spec

DROP = 0.10


def replication_spec(
    folder: Path, index: int, *, seeds_per_run: int, confirm: int | None = None
) -> tuple[Path, str]:
    """The built-in spec with replication ``index``'s name, sampler seed, confirm seed and
    final seeds (and ``confirm``, when given, in place of the spec's)."""
    text = Path(builtin_spec_paths()["optimizers"]).read_text()
    name = "optimizers" if index == 0 else f"optimizers-r{index}"  # 0: the README's run
    seeds = list(range(1 + seeds_per_run * index, 1 + seeds_per_run * (index + 1)))
    text = re.sub(r'(?m)^name = ".*"$', f'name = "{name}"', text, count=1)
    text = re.sub(r"(?m)^final_seeds = \[.*\]$", f"final_seeds = {seeds}", text, count=1)
    if index:
        text = re.sub(r"(?m)^final_seeds = ", f"sampler_seed = {100 + index}\nfinal_seeds = ", text)
        text = re.sub(r"(?m)^confirm_seed = .*$", f"confirm_seed = {1000 + index}", text)
    if confirm is not None:
        text = re.sub(r"(?m)^confirm = .*$", f"confirm = {confirm}", text)
        if not confirm:
            text = re.sub(r"(?m)^confirm_seed = .*\n", "", text)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path, name


def run_replication(
    folder: Path, index: int, *, epochs: int | None, seeds_per_run: int, confirm: int | None
) -> tuple[str, str, float]:
    spec, name = replication_spec(folder, index, seeds_per_run=seeds_per_run, confirm=confirm)
    url = f"sqlite:///{folder / f'{name}.db'}"
    extra = ["--epochs", str(epochs)] if epochs else []
    return name, url, timed_bench_run(str(spec), url, *extra)


def paired_sds(name: str, url: str, board) -> list[float]:
    """Per candidate, the sd of its per-seed validation AUC difference to the best."""
    trials = optuna.load_study(study_name=name, storage=url).trials
    per_seed: dict[str, dict[int, float]] = {}
    for trial in trials:
        attrs = trial.user_attrs
        if attrs.get("phase") == "final" and trial.state.name == "COMPLETE":
            value = (attrs.get("metrics") or {}).get("val", {}).get("auc")
            if value is not None:
                per_seed.setdefault(attrs["candidate"], {})[attrs["seed"]] = value
    best = per_seed.get(board["recipe_label"].iloc[0], {})
    sds = []
    for candidate, values in per_seed.items():
        shared = sorted(set(values) & set(best))
        if candidate != board["recipe_label"].iloc[0] and len(shared) >= 2:
            sds.append(statistics.stdev(best[s] - values[s] for s in shared))
    return sds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replications", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument(
        "--final-seeds", type=int, default=None, help="final seeds per replication (the spec's)"
    )
    parser.add_argument(
        "--confirm", type=int, default=None, help="best draws rerun per candidate (the spec's)"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="keep the replications' SQLite files in this folder; run again with the same "
        "folder, the studies resume (nothing finished reruns) and only the verdicts are made "
        "again, by this tree's rules",
    )
    args = parser.parse_args()
    seeds_per_run = args.final_seeds or len(load_spec("optimizers").tuning.final_seeds)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    classes: list[dict[str, str]] = []
    winners, drops, sds = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) if args.keep is None else args.keep
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(args.replications):
            name, url, seconds = run_replication(
                folder,
                index,
                epochs=args.epochs,
                seeds_per_run=seeds_per_run,
                confirm=args.confirm,
            )
            board = study_leaderboard(name, storage=url)
            top = board["vs_best"].isin(TOP_GROUP)
            labels = top.map({True: "top", False: "worse"})
            classes.append(dict(zip(board["recipe_label"], labels, strict=True)))
            winners.append(board["recipe_label"].iloc[0])
            best = board["val_auc_mean"].iloc[0]
            for _, row in board.iterrows():
                if row["val_auc_mean"] <= best - DROP:
                    drops.append(row["vs_best"] == WORSE)
            sds += paired_sds(name, url, board)
            rows = ", ".join(
                f"{r.recipe_label} {r.val_auc_mean:.3f} ({r.vs_best}"
                + (f", {r.failures}" if r.failures else "")
                + ")"
                for r in board.itertuples()
            )
            print(f"replication {index + 1} ({seconds:.0f} s): {rows}", flush=True)
    candidates = sorted(set().union(*classes))
    agree = [len({c.get(k, "missing") for c in classes}) == 1 for k in candidates]
    in_top = [
        all(other.get(w) == "top" for j, other in enumerate(classes) if j != i)
        for i, w in enumerate(winners)
    ]
    spreads = {
        "median": statistics.median(sds) if sds else math.nan,
        "max": max(sds) if sds else math.nan,
    }
    print(f"replications={args.replications}")
    print(f"final_seeds={seeds_per_run}")
    confirm = load_spec("optimizers").tuning.confirm if args.confirm is None else args.confirm
    print(f"confirm={confirm}")
    print(f"top_group_agreement={sum(agree) / len(agree):.3f}")
    print(f"worse_recall={sum(drops) / len(drops):.3f}" if drops else "worse_recall=nan")
    print(f"drops={len(drops)}")
    print(f"winner_in_top={sum(in_top) / len(in_top):.3f}")
    for which, spread in spreads.items():
        print(f"paired_sd_{which}={spread:.4f}")
        for delta in (0.05, 0.10):
            needed = seeds_for_power(delta, sd=spread, candidates=len(candidates)) if sds else None
            print(f"seeds_for_{delta:.2f}_at_{which}={needed}")


if __name__ == "__main__":
    main()
