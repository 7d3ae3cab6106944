"""Do the built-in study's verdicts hold up? R held-out replications of ``optimizers``.

Replication r (1, 2, ...) runs the built-in ``optimizers`` spec as ``bench run`` does
(default workers) into a fresh SQLite file, with seeds no earlier evaluation of the rules
used: its own split of the data (``split_seed`` = 100 + r), its own quasirandom tuning
draws (``sampler_seed`` = 10000 r + 7), its own tuning seed (10000 r) and its own final
seeds (10000 r + 1, ...; the spec's count, or ``--final-seeds``) and second-look seeds
after them (the spec's count, or ``--second-look-seeds``). Then its **oracle**:
each candidate's chosen settings (what its final seeds reran) trained again on
``--oracle-seeds`` (default 20) more seeds, 10000 r + 101, ..., as a grid study in a
file of its own. The oracle's mean validation AUC is the replication's truth: a
candidate's *drop* is the oracle best's mean less its own.

Each candidate's class in a replication is ``top`` (best, or not told apart from it) or
``worse``, as ``bench report`` judges it. Prints a line per replication, then
``name=value`` lines, each rate with its 95% Wilson interval (``name_low``,
``name_high``, from ``scipy.stats.binomtest``) and its counts:

- ``top_group_agreement``: of the candidate-replications, the fraction whose class is
  the candidate's majority class over the replications;
- ``worse_recall``: of the candidate-replications whose oracle drop is 0.10 or more, the
  fraction marked worse;
- ``false_worse``: of the candidate-replications within 0.02 of the oracle best (the
  oracle best itself included), the fraction marked worse;
- ``winner_in_top``: fraction of replications whose first-ranked candidate is in every
  other replication's top group;
- ``paired_sd_median`` and ``paired_sd_max``: over candidates and replications, the sd of
  a candidate's per-seed difference to the best, and ``seeds_for_<d>_at_<which>``: the
  seeds the report's paired test needs to tell a difference ``d`` (0.05, 0.10) apart at
  that spread on AUC's own scale (80% power, 8 candidates: ``bench.report.seeds_for_power``).

``--confirm N`` sets the spec's ``confirm`` (rerun each candidate's N best draws on another
seed before it chooses; 0 chooses by the tuning seed alone), added under ``[tuning]``
when the spec has none. ``--keep FOLDER`` keeps the SQLite files: run again with the same
folder and the studies resume (nothing finished reruns), so only the verdicts are made
again, by this tree's rules.

``--first R0`` numbers the replications R0, R0 + 1, ...: another set of held-out
replications, whose seeds no earlier set used (the first set is 1-10).

    .venv/bin/python benchmarks/bench_replication.py [--replications 10] [--first 1] [--epochs N]
        [--final-seeds N] [--second-look-seeds N] [--oracle-seeds 20] [--confirm N]
        [--keep FOLDER]
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import tempfile
from collections import Counter
from pathlib import Path

import optuna
from _bench_run import timed_bench_run
from scipy import stats

from bench.report import TOP_GROUP, WORSE, seeds_for_power, study_leaderboard
from bench.spec import builtin_spec_paths, load_spec

DROP = 0.10
NEAR = 0.02
SEED_BLOCK = 10_000
#: Recipe keys the oracle's grid spec does not take per variant: the seed is the grid's.
NOT_VARIANT_KEYS = ("seed", "epochs")


def replication_seeds(
    index: int, *, final_seeds: int, oracle_seeds: int, second_look_seeds: int = 0
) -> dict:
    """Replication ``index``'s seeds, none of them used by an earlier evaluation (those
    used split seed 0, tuning seed 0, final seeds below 30, sampler seeds 101-102 and
    confirm seeds 1001-1002); the second look's follow the final seeds.

    Example:
        >>> seeds = replication_seeds(2, final_seeds=2, oracle_seeds=3, second_look_seeds=1)
        >>> seeds["tuning"], seeds["final"], seeds["second"], seeds["oracle"], seeds["split"]
        (20000, [20001, 20002], [20003], [20101, 20102, 20103], 102)
    """
    base = SEED_BLOCK * index
    return {
        "split": 100 + index,
        "sampler": base + 7,
        "tuning": base,
        "final": [base + 1 + i for i in range(final_seeds)],
        "second": [base + 1 + final_seeds + i for i in range(second_look_seeds)],
        "oracle": [base + 101 + i for i in range(oracle_seeds)],
        "confirm": base + 99,
    }


def replication_spec(
    folder: Path, index: int, *, seeds: dict, confirm: int | None = None
) -> tuple[Path, str]:
    """The built-in spec under replication ``index``'s name and seeds (and ``confirm``,
    when given, in place of the spec's or added under ``[tuning]``)."""
    text = Path(builtin_spec_paths()["optimizers"]).read_text()
    name = f"optimizers-h{index}"
    text = re.sub(r'(?m)^name = ".*"$', f'name = "{name}"', text, count=1)
    text = re.sub(r"(?m)^\[workload\]$", f"[workload]\nsplit_seed = {seeds['split']}", text)
    text = re.sub(r"(?m)^confirm(_seed)? = .*\n", "", text)
    tuning = f"seed = {seeds['tuning']}\nsampler_seed = {seeds['sampler']}\n"
    tuning += f"final_seeds = {seeds['final']}\n"
    if seeds.get("second"):
        tuning += f"second_look_seeds = {seeds['second']}\n"
    if confirm:
        tuning += f"confirm = {confirm}\nconfirm_seed = {seeds['confirm']}\n"
    text = re.sub(r"(?m)^(seed|sampler_seed|final_seeds|second_look_seeds) = .*\n", "", text)
    text, count = re.subn(r"(?m)^\[tuning\]\n", f"[tuning]\n{tuning}", text)
    if count != 1:
        raise SystemExit("the built-in optimizers spec has no [tuning] table to replicate")
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path, name


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def oracle_spec(folder: Path, name: str, url: str, *, seeds: dict, epochs: int | None) -> Path:
    """A grid spec rerunning every candidate's chosen settings (its final trials' recipe)
    on the oracle seeds, on the replication's split."""
    chosen: dict[str, dict] = {}
    for trial in optuna.load_study(study_name=name, storage=url).trials:
        attrs = trial.user_attrs
        if attrs.get("phase") == "final" and "recipe" in attrs:
            chosen.setdefault(attrs["candidate"], attrs["recipe"])
    spec = load_spec(str(folder / f"{name}.toml"))
    lines = [
        f'name = "{name}-oracle"',
        f'description = "The chosen settings of {name} on {len(seeds["oracle"])} more seeds"',
        'sampler = "grid"',
        'pruner = "none"',
        f"seeds = {seeds['oracle']}",
        f"epochs = {epochs or spec.epochs}",
        "[workload]",
        'dataset = "digits"',
        'preset = "tiny"',
        f"split_seed = {seeds['split']}",
        "[objective]",
        'metric = "val_auc"',
        'direction = "maximize"',
    ]
    for candidate, recipe in sorted(chosen.items()):
        lines += ["[[variants]]", f'name = "{candidate}"']
        lines += [
            f"{key} = {_toml_value(value)}"
            for key, value in recipe.items()
            if key not in NOT_VARIANT_KEYS and value is not None
        ]
    path = folder / f"{name}-oracle.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def oracle_means(name: str, url: str) -> dict[str, float]:
    """Each candidate's mean validation AUC over the oracle seeds that trained."""
    values: dict[str, list[float]] = {}
    for trial in optuna.load_study(study_name=f"{name}-oracle", storage=url).trials:
        auc = (trial.user_attrs.get("metrics") or {}).get("val", {}).get("auc")
        if trial.state.name == "COMPLETE" and auc is not None:
            variant = trial.params.get("variant") or trial.user_attrs.get("recipe_label")
            values.setdefault(str(variant), []).append(auc)
    return {candidate: statistics.fmean(v) for candidate, v in values.items()}


def paired_sds(name: str, url: str, best: str) -> list[float]:
    """Per candidate, the sd of its per-seed validation AUC difference to the best."""
    per_seed: dict[str, dict[int, float]] = {}
    for trial in optuna.load_study(study_name=name, storage=url).trials:
        attrs = trial.user_attrs
        if attrs.get("phase") == "final" and trial.state.name == "COMPLETE":
            value = (attrs.get("metrics") or {}).get("val", {}).get("auc")
            if value is not None:
                per_seed.setdefault(attrs["candidate"], {})[attrs["seed"]] = value
    sds = []
    for candidate, values in per_seed.items():
        shared = sorted(set(values) & set(per_seed.get(best, {})))
        if candidate != best and len(shared) >= 2:
            sds.append(statistics.stdev(per_seed[best][s] - values[s] for s in shared))
    return sds


def rate_lines(name: str, hits: int, total: int) -> list[str]:
    """``name=rate`` with its 95% Wilson interval and counts; ``nan`` with no case.

    Example:
        >>> rate_lines("x", 9, 10)
        ['x=0.900', 'x_low=0.596', 'x_high=0.982', 'x_count=9 of 10']
    """
    if total == 0:
        return [f"{name}=nan", f"{name}_count=0 of 0"]
    interval = stats.binomtest(hits, total).proportion_ci(method="wilson")
    return [
        f"{name}={hits / total:.3f}",
        f"{name}_low={interval.low:.3f}",
        f"{name}_high={interval.high:.3f}",
        f"{name}_count={hits} of {total}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replications", type=int, default=10)
    parser.add_argument(
        "--first",
        type=int,
        default=1,
        help="the first replication's index r: a later set of held-out replications "
        "starts after the last one used",
    )
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument(
        "--final-seeds", type=int, default=None, help="final seeds per replication (the spec's)"
    )
    parser.add_argument(
        "--second-look-seeds",
        type=int,
        default=None,
        help="second-look seeds per replication (the spec's; 0: one look)",
    )
    parser.add_argument("--oracle-seeds", type=int, default=20)
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
    builtin = load_spec("optimizers").tuning
    final_seeds = args.final_seeds or len(builtin.final_seeds)
    second_look = args.second_look_seeds
    second_look = len(builtin.second_look_seeds) if second_look is None else second_look
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    classes: list[dict[str, str]] = []
    winners, sds = [], []
    recall, false_worse = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) if args.keep is None else args.keep
        folder.mkdir(parents=True, exist_ok=True)
        extra = ["--epochs", str(args.epochs)] if args.epochs else []
        for index in range(args.first, args.first + args.replications):
            seeds = replication_seeds(
                index,
                final_seeds=final_seeds,
                oracle_seeds=args.oracle_seeds,
                second_look_seeds=second_look,
            )
            spec, name = replication_spec(folder, index, seeds=seeds, confirm=args.confirm)
            url = f"sqlite:///{folder / f'{name}.db'}"
            seconds = timed_bench_run(str(spec), url, *extra)
            oracle = oracle_spec(folder, name, url, seeds=seeds, epochs=args.epochs)
            seconds += timed_bench_run(str(oracle), url)
            truth = oracle_means(name, url)
            board = study_leaderboard(name, storage=url)
            marked = dict(zip(board["recipe_label"], board["vs_best"], strict=True))
            classes.append({c: "top" if v in TOP_GROUP else "worse" for c, v in marked.items()})
            winners.append(board["recipe_label"].iloc[0])
            oracle_best = max(truth.values())
            for candidate, verdict in marked.items():
                drop = oracle_best - truth[candidate]
                if drop >= DROP:
                    recall.append(verdict == WORSE)
                if drop <= NEAR:
                    false_worse.append(verdict == WORSE)
            sds += paired_sds(name, url, board["recipe_label"].iloc[0])
            rows = ", ".join(
                f"{r.recipe_label} {r.val_auc_mean:.3f}/{truth[r.recipe_label]:.3f} ({r.vs_best}"
                + (f", {r.failures}" if r.failures else "")
                + ")"
                for r in board.itertuples()
            )
            print(f"replication {index} ({seconds:.0f} s; mean/oracle): {rows}", flush=True)
    candidates = sorted(set().union(*classes))
    majority = {
        c: Counter(k.get(c, "missing") for k in classes).most_common(1)[0][0] for c in candidates
    }
    agreeing = [k.get(c, "missing") == majority[c] for k in classes for c in candidates]
    in_top = [
        all(other.get(w) == "top" for j, other in enumerate(classes) if j != i)
        for i, w in enumerate(winners)
    ]
    confirm = load_spec("optimizers").tuning.confirm if args.confirm is None else args.confirm
    lines = [
        f"replications={args.replications}",
        f"final_seeds={final_seeds}",
        f"second_look_seeds={second_look}",
        f"oracle_seeds={args.oracle_seeds}",
        f"confirm={confirm}",
        *rate_lines("top_group_agreement", sum(agreeing), len(agreeing)),
        *rate_lines("worse_recall", sum(recall), len(recall)),
        *rate_lines("false_worse", sum(false_worse), len(false_worse)),
        *rate_lines("winner_in_top", sum(in_top), len(in_top)),
    ]
    spreads = {
        "median": statistics.median(sds) if sds else math.nan,
        "max": max(sds) if sds else math.nan,
    }
    for which, spread in spreads.items():
        lines.append(f"paired_sd_{which}={spread:.4f}")
        for delta in (0.05, 0.10):
            needed = seeds_for_power(delta, sd=spread, candidates=len(candidates)) if sds else None
            lines.append(f"seeds_for_{delta:.2f}_at_{which}={needed}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
