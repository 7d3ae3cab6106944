"""How often does the leaderboard call a recipe tied with the best "worse"? A simulation.

Boards of 8 recipes over 5 seeds, drawn on the log-odds scale the tests use (AUC near
0.96: per-recipe noise sd 0.31 per seed, so the per-seed difference of two recipes has sd
0.44, the 0.017 of AUC the built-in ``optimizers`` study shows; a seed effect shared by
all recipes, sd 0.3). The best is the recipe of highest mean, as on the leaderboard.

- ``tied_5_worse_3``: 5 recipes tied at the top and 3 that are 3 noise sd (0.93 in
  log-odds, about 0.04 AUC) lower, no failures. ``false_worse`` is the fraction of
  boards on which some tied recipe is marked worse (target: at most 0.05), with its 95%
  Clopper–Pearson interval; ``power`` the fraction of the worse recipes marked worse.
  Both for the rule the report uses (one-sided paired tests against the best, critical
  value the studentized range of 8 means: ``bench.report.range_critical_t``) and
  for the rule it replaced (two-sided paired tests, Holm-corrected).
- ``tied_8_failing``: 8 tied recipes whose seeds each fail with probability 0.3, scored
  as chance in the mean; failures judged apart (``failure_p_value``) and the metric on
  the seeds that trained. ``false_worse``: boards on which any recipe is marked worse,
  for either reason and for each. The first boards are also judged by
  ``compare_to_best`` itself, and must agree with the simulation's verdicts.
- ``tuning_luck``: each recipe draws 8 settings whose true log-odds fall short of its
  ceiling by a half-normal amount (sd 1.0: draws spread from AUC 0.96 down to about 0.8,
  as the built-in study's do), chooses the one that scores best on its tuning seed, and
  reruns it on 5 final seeds, as the tuning protocol does; which setting it chose is the
  tuning luck the final seeds do not see. Boards of 8 tied recipes (``false_worse``) and
  of 5 tied and 3 whose ceiling is 1.5 lower (AUC 0.96 against 0.84; ``power``), judged
  by ``compare_to_best`` with the recipes' tuning draws: ``luck`` counts a recipe worse
  only beyond its tuning luck (``within_luck`` false), ``no_luck`` counts every worse one.
- ``sequential``: the ``tuning_luck`` boards with 10 final seeds, judged beyond tuning
  luck (``p_luck``) under four designs: ``fixed_5`` (seeds 1-5), ``fixed_10`` (all 10),
  and two looks (``sequential``: seeds 1-5, then seeds 6-10 for the best and every
  recipe the first look left in the top group, worse when either look marks it, each
  look at ``ALPHA``;
  ``sequential_split``: each look at ``ALPHA / 2``). ``false_worse`` on boards of 8 tied
  recipes without tuning luck (every draw the same setting, so only seed noise and the
  draws' own noise differ: the level each design keeps) and with it, ``power`` on boards
  of 5 tied and 3 worse, and the mean final trials a board runs (``--sequential-only``
  runs these alone, on ``--boards`` / 10 boards each).

    .venv/bin/python benchmarks/bench_verdicts.py [--boards 20000] [--seed 0] [--sequential-only]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from scipy import stats

from bench.report import (
    ALPHA,
    WORSE,
    TuningDraws,
    compare_to_best,
    failure_p_value,
    range_critical_t,
)

RECIPES, SEEDS, TIED = 8, 5, 5
NOISE_SD, SEED_SD, LEVEL = 0.31, 0.3, 3.18  # log-odds; 3.18 is AUC 0.96
WORSE_SHIFT = 3 * NOISE_SD
FAILURE_RATE = 0.3
CHECKED_BOARDS = 100
DRAWS, SETTING_SD, LUCK_SHIFT = 8, 1.0, -1.5


def draw(rng: np.random.Generator, boards: int, shifts: np.ndarray) -> np.ndarray:
    """Per-seed log-odds, shape (boards, recipes, seeds)."""
    seed_effect = rng.normal(0, SEED_SD, size=(boards, 1, SEEDS))
    noise = rng.normal(0, NOISE_SD, size=(boards, len(shifts), SEEDS))
    return LEVEL + shifts[None, :, None] + seed_effect + noise


def paired_t(values: np.ndarray, trained: np.ndarray, best: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each recipe's paired t against the best over the seeds both trained, and its df;
    NaN where fewer than 2 seeds pair up."""
    rows = np.arange(len(values))
    shared = trained & trained[rows, best][:, None, :]
    n = shared.sum(2)
    differences = np.where(shared, values - values[rows, best][:, None, :], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(np.where(n[..., None] > 0, differences, 0), axis=2)
        sd = np.nanstd(np.where(n[..., None] > 1, differences, 0), axis=2, ddof=1)
        t = np.where(n >= 2, mean / (sd / np.sqrt(n)), np.nan)
    return t, n - 1


def holm_rejects(p: np.ndarray) -> np.ndarray:
    """Holm's step-down at ALPHA per row; NaN entries are not comparisons."""
    order = np.argsort(np.where(np.isnan(p), np.inf, p), axis=1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=1)
    m = (~np.isnan(p)).sum(1, keepdims=True)
    adjusted = np.maximum.accumulate(np.nan_to_num(ranked * (m - np.arange(p.shape[1])), nan=1), 1)
    rejects = np.zeros_like(p, dtype=bool)
    np.put_along_axis(rejects, order, adjusted < ALPHA, axis=1)
    return rejects & ~np.isnan(p)


def tied_and_worse(rng: np.random.Generator, boards: int) -> dict[str, dict[str, float]]:
    shifts = np.array([0.0] * TIED + [-WORSE_SHIFT] * (RECIPES - TIED))
    values = draw(rng, boards, shifts)
    best = values.mean(2).argmax(1)
    t, df = paired_t(values, np.ones(values.shape, dtype=bool), best)
    others = np.arange(RECIPES)[None, :] != best[:, None]
    t = np.where(others, t, np.nan)
    new = -t > range_critical_t(candidates=RECIPES, df=SEEDS - 1)
    old = holm_rejects(2 * stats.t.sf(np.abs(t), df))
    return {name: _rates(worse, tied=TIED) for name, worse in (("new", new), ("old", old))}


def _rates(worse: np.ndarray, *, tied: int) -> dict[str, float]:
    false = int(worse[:, :tied].any(1).sum())
    ci = stats.binomtest(false, len(worse)).proportion_ci(confidence_level=0.95)
    return {
        "false_worse": false / len(worse),
        "low": ci.low,
        "high": ci.high,
        "power": float(worse[:, tied:].mean()) if tied < worse.shape[1] else float("nan"),
    }


def failing(rng: np.random.Generator, boards: int) -> tuple[np.ndarray, ...]:
    """Verdicts for boards of tied recipes whose seeds fail, by reason: (metric, failures,
    values, trained)."""
    values = draw(rng, boards, np.zeros(RECIPES))
    trained = rng.random(values.shape) >= FAILURE_RATE
    scored = np.where(trained, values, 0.0)  # a failure scored as chance: log-odds 0
    # The leaderboard ranks by the mean of the metric itself, not of its log-odds.
    best = (1 / (1 + np.exp(-scored))).mean(2).argmax(1)
    failures = (~trained).sum(2)
    by_metric = np.zeros((boards, RECIPES), dtype=bool)
    by_failures = np.zeros((boards, RECIPES), dtype=bool)
    for b in range(boards):
        top = best[b]
        gaps = {r: gap_t(values[b], trained[b], r, top) for r in range(RECIPES) if r != top}
        compared = 1 + sum(gap is not None for gap in gaps.values())
        for r, gap in gaps.items():
            if gap is not None:
                by_metric[b, r] = -gap[0] > range_critical_t(candidates=compared, df=gap[1])
            p = failure_p_value(
                int(failures[b, r]), SEEDS, int(failures[b, top]), SEEDS, candidates=RECIPES
            )
            by_failures[b, r] = p < ALPHA
    return by_metric, by_failures, values, trained


def gap_t(values: np.ndarray, trained: np.ndarray, r: int, best: int) -> tuple[float, float] | None:
    """Recipe ``r``'s t against the best and its df: paired over the seeds both trained,
    Welch's where they share fewer than 2; ``None`` with fewer than 2 on a side."""
    mine, theirs = values[r][trained[r]], values[best][trained[best]]
    if len(mine) < 2 or len(theirs) < 2:
        return None
    shared = trained[r] & trained[best]
    if shared.sum() >= 2:
        d = values[r][shared] - values[best][shared]
        return d.mean() / (d.std(ddof=1) / np.sqrt(len(d))), len(d) - 1.0
    welch = stats.ttest_ind(mine, theirs, equal_var=False)
    return float(welch.statistic), float(welch.df)


def report_verdicts(values: np.ndarray, trained: np.ndarray) -> np.ndarray:
    """The same boards judged by the report's own code."""
    labels = [f"r{i}" for i in range(RECIPES)]
    rows = [
        {
            "recipe_label": labels[r],
            "seed": s,
            "test_auc": float(1 / (1 + np.exp(-values[r, s]))) if trained[r, s] else 0.5,
            "failure": "" if trained[r, s] else "diverged",
        }
        for r in range(RECIPES)
        for s in range(SEEDS)
    ]
    included = pd.DataFrame(rows)
    ranked = included.groupby("recipe_label")["test_auc"].mean().sort_values(ascending=False)
    verdicts = compare_to_best(included, ranked.index.tolist()).set_index("recipe_label")
    return (verdicts["vs_best"] == WORSE).reindex(labels).to_numpy()


def tuning_luck(rng: np.random.Generator, boards: int, shifts: np.ndarray) -> dict[str, np.ndarray]:
    """Per rule (with the tuning draws, without), which recipes of each board are worse."""
    labels = [f"r{i}" for i in range(RECIPES)]
    worse = {rule: np.zeros((boards, RECIPES), dtype=bool) for rule in ("luck", "no_luck")}
    for b in range(boards):
        settings = LEVEL + shifts[:, None] - SETTING_SD * np.abs(rng.normal(size=(RECIPES, DRAWS)))
        tuned = settings + rng.normal(0, NOISE_SD, size=settings.shape)
        chosen = settings[np.arange(RECIPES), tuned.argmax(1)]
        finals = draw(rng, 1, chosen - LEVEL)[0]
        auc = 1 / (1 + np.exp(-finals))
        included = pd.DataFrame(
            {
                "recipe_label": np.repeat(labels, SEEDS),
                "seed": np.tile(np.arange(SEEDS), RECIPES),
                "val_auc": auc.ravel(),
            }
        )
        ranked = included.groupby("recipe_label")["val_auc"].mean().sort_values(ascending=False)
        draws = {
            label: TuningDraws(scores=tuple(1 / (1 + np.exp(-tuned[r]))))
            for r, label in enumerate(labels)
        }
        verdicts = compare_to_best(
            included, ranked.index.tolist(), metric="val_auc", tuning=draws
        ).set_index("recipe_label")
        marked = verdicts["vs_best"] == WORSE
        worse["no_luck"][b] = marked.reindex(labels).to_numpy()
        beyond = marked & ~verdicts["within_luck"].astype(bool)
        worse["luck"][b] = beyond.reindex(labels).to_numpy()
    return worse


SEQUENTIAL_SEEDS = 10


def _board(
    rng: np.random.Generator, shifts: np.ndarray, seeds: int, setting_sd: float
) -> tuple[pd.DataFrame, dict[str, TuningDraws]]:
    """One tuning-luck board: every recipe's final seeds and its tuning draws."""
    labels = [f"r{i}" for i in range(RECIPES)]
    settings = LEVEL + shifts[:, None] - setting_sd * np.abs(rng.normal(size=(RECIPES, DRAWS)))
    tuned = settings + rng.normal(0, NOISE_SD, size=settings.shape)
    chosen = settings[np.arange(RECIPES), tuned.argmax(1)]
    seed_effect = rng.normal(0, SEED_SD, size=(1, seeds))
    finals = chosen[:, None] + seed_effect + rng.normal(0, NOISE_SD, size=(RECIPES, seeds))
    included = pd.DataFrame(
        {
            "recipe_label": np.repeat(labels, seeds),
            "seed": np.tile(np.arange(seeds), RECIPES),
            "val_auc": (1 / (1 + np.exp(-finals))).ravel(),
        }
    )
    draws = {
        label: TuningDraws(scores=tuple(1 / (1 + np.exp(-tuned[r]))))
        for r, label in enumerate(labels)
    }
    return included, draws


def _worse_with(
    included: pd.DataFrame, draws: dict[str, TuningDraws], seeds: dict[str, int], level: float
) -> dict[str, bool]:
    """Which recipes are worse at ``level``, each judged on its first ``seeds[label]``."""
    kept = included[included["seed"] < included["recipe_label"].map(seeds)]
    ranked = kept.groupby("recipe_label")["val_auc"].mean().sort_values(ascending=False)
    verdicts = compare_to_best(kept, ranked.index.tolist(), metric="val_auc", tuning=draws)
    p = verdicts[["p_luck", "p_failures"]].fillna(1.0).min(axis=1)
    return dict(zip(verdicts["recipe_label"], (p < level).tolist(), strict=True))


def sequential(
    rng: np.random.Generator, boards: int, shifts: np.ndarray, *, setting_sd: float = SETTING_SD
) -> dict[str, tuple[np.ndarray, float]]:
    """Per design, which recipes of each board are worse and the mean final trials."""
    labels = [f"r{i}" for i in range(RECIPES)]
    designs = ("fixed_5", "fixed_10", "sequential", "sequential_split")
    worse = {d: np.zeros((boards, RECIPES), dtype=bool) for d in designs}
    trials = {d: 0.0 for d in designs}
    for b in range(boards):
        included, draws = _board(rng, shifts, SEQUENTIAL_SEEDS, setting_sd)
        marks: dict[str, tuple[dict[str, bool], int]] = {}
        for design, count in (("fixed_5", SEEDS), ("fixed_10", SEQUENTIAL_SEEDS)):
            marks[design] = (
                _worse_with(included, draws, dict.fromkeys(labels, count), ALPHA),
                count * RECIPES,
            )
        for design, level in (("sequential", ALPHA), ("sequential_split", ALPHA / 2)):
            first = _worse_with(included, draws, dict.fromkeys(labels, SEEDS), level)
            seeds = {r: SEEDS if first[r] else SEQUENTIAL_SEEDS for r in labels}
            second = _worse_with(included, draws, seeds, level)
            marks[design] = ({r: first[r] or second[r] for r in labels}, sum(seeds.values()))
        for design, (marked, count) in marks.items():
            worse[design][b] = [marked[r] for r in labels]
            trials[design] += count / boards
    return {d: (worse[d], trials[d]) for d in designs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--sequential-only", action="store_true", help="run the sequential scenarios alone"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    luck_boards = max(args.boards // 10, CHECKED_BOARDS)
    if not args.sequential_only:
        _fixed_scenarios(rng, args.boards, luck_boards)
    for name, shifts, tied, setting_sd in (
        ("sequential tied_8 (no tuning luck)", np.zeros(RECIPES), RECIPES, 0.0),
        ("sequential tied_8", np.zeros(RECIPES), RECIPES, SETTING_SD),
        (
            "sequential tied_5_worse_3",
            np.r_[np.zeros(TIED), np.full(3, LUCK_SHIFT)],
            TIED,
            SETTING_SD,
        ),
    ):
        judged = sequential(rng, luck_boards, shifts, setting_sd=setting_sd)
        for design, (worse, trials) in judged.items():
            rates = _rates(worse, tied=tied)
            power = f" power={rates['power']:.3f}" if tied < RECIPES else ""
            print(
                f"{name} {design}: false_worse={rates['false_worse']:.4f} "
                f"[{rates['low']:.4f}, {rates['high']:.4f}]{power} "
                f"final_trials={trials:.1f} (boards={luck_boards})",
                flush=True,
            )


def _fixed_scenarios(rng: np.random.Generator, boards: int, luck_boards: int) -> None:
    """The scenarios on 5 final seeds: tied and worse, failing seeds, tuning luck."""
    for rule, rates in tied_and_worse(rng, boards).items():
        print(
            f"tied_5_worse_3 {rule}: false_worse={rates['false_worse']:.4f} "
            f"[{rates['low']:.4f}, {rates['high']:.4f}] power={rates['power']:.3f}"
        )
    failing_boards = max(boards // 10, CHECKED_BOARDS)
    by_metric, by_failures, values, trained = failing(rng, failing_boards)
    for reason, worse in (
        ("either", by_metric | by_failures),
        ("metric", by_metric),
        ("failures", by_failures),
    ):
        rates = _rates(worse, tied=RECIPES)
        print(
            f"tied_8_failing {reason}: false_worse={rates['false_worse']:.4f} "
            f"[{rates['low']:.4f}, {rates['high']:.4f}] (boards={failing_boards})"
        )
    worse = by_metric | by_failures
    for b in range(CHECKED_BOARDS):
        assert (report_verdicts(values[b], trained[b]) == worse[b]).all(), f"board {b} differs"
    print(f"report_agrees_on={CHECKED_BOARDS}")
    for name, shifts, tied in (
        ("tuning_luck tied_8", np.zeros(RECIPES), RECIPES),
        ("tuning_luck tied_5_worse_3", np.r_[np.zeros(TIED), np.full(3, LUCK_SHIFT)], TIED),
    ):
        for rule, worse in tuning_luck(rng, luck_boards, shifts).items():
            rates = _rates(worse, tied=tied)
            power = f" power={rates['power']:.3f}" if tied < RECIPES else ""
            print(
                f"{name} {rule}: false_worse={rates['false_worse']:.4f} "
                f"[{rates['low']:.4f}, {rates['high']:.4f}]{power} (boards={luck_boards})"
            )


if __name__ == "__main__":
    main()
