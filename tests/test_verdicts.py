"""Verdicts against the best: failures judged apart from the metric, direction respected,
the best's being the sample maximum accounted for, and a top group that is a prefix of the
ranking. Pure pandas: no study runs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.report._best_of_k import TuningDraws
from bench.report._compare import BY_FAILURES, BY_METRIC, TOP_GROUP, WORSE, compare_to_best
from bench.report._headline import verdict_headline
from bench.report._labels import verdict_text
from bench.report._leaderboard import (
    DIFF_COLUMN,
    LUCK_COLUMN,
    leaderboard_frame,
    leaderboard_table,
)
from bench.report._metrics import SUMMARY_METRICS
from bench.report._significance import (
    failure_p_value,
    power_vs_best,
    range_critical_t,
    range_p_value,
)
from bench.report._stats import summarize

FAILED = "diverged"


def _board(values: dict[str, list[float | None]]) -> pd.DataFrame:
    """Seeds 0.. per recipe; ``None`` is a failed seed, scored as chance (AUC 0.5)."""
    rows = [
        {
            "recipe_label": label,
            "seed": seed,
            "failure": FAILED if v is None else "",
            **dict.fromkeys(SUMMARY_METRICS, 0.5 if v is None else v),
        }
        for label, vs in values.items()
        for seed, v in enumerate(vs)
    ]
    return pd.DataFrame(rows)


def _verdicts(values: dict[str, list[float | None]]) -> pd.DataFrame:
    return summarize(_board(values)).set_index("recipe_label")


BEST = [0.960, 0.955, 0.970, 0.965, 0.962]


def test_a_failed_seed_does_not_shield_a_drop_on_the_other_seeds() -> None:
    # 0.015 below the best on every seed that trained: worse, with or without a failure.
    below = [v - 0.015 for v in BEST]
    flawless = _verdicts({"best": BEST, "b": below})
    one_failed = _verdicts({"best": BEST, "b": [*below[:4], None]})
    assert flawless.loc["b", "vs_best"] == WORSE
    assert one_failed.loc["b", "vs_best"] == WORSE
    assert one_failed.loc["b", "worse_by"] == BY_METRIC
    assert one_failed.loc["b", "n_failed"] == 1


def test_failures_are_left_out_of_the_metric_test() -> None:
    # Equal to the best on the seeds that trained: the metric does not tell b apart, and
    # one or two failures of five are no evidence against it either.
    for failed in (1, 2):
        board = _verdicts({"best": BEST, "b": [*BEST[: 5 - failed], *[None] * failed]})
        assert board.loc["b", "p_metric"] == 1.0
        assert board.loc["b", "vs_best"] == "indistinguishable"


def test_failures_alone_make_a_recipe_worse_and_the_reason_says_so() -> None:
    # Above the best on the one seed that trained, failed on four: the metric is not
    # testable, the failure rate (4 of 5 against 0 of 5) is worse.
    board = _verdicts({"best": BEST, "b": [0.99, None, None, None, None]})
    assert board.loc["b", "vs_best"] == WORSE
    assert board.loc["b", "worse_by"] == BY_FAILURES
    assert math.isnan(board.loc["b", "p_metric"])
    row = leaderboard_frame(board.reset_index()).set_index("recipe").loc["b"]
    assert row["vs best"] == "worse (failures)"
    assert "b (failures)" in verdict_headline(board.reset_index(), ranked_by="test_auc")
    assert verdict_text(WORSE, BY_METRIC) == "worse (metric)"


def test_a_recipe_above_the_best_on_every_shared_seed_is_never_worse() -> None:
    # b beats the best on seeds 0-2 it shares; the best's extra seeds lift its mean above
    # b's. A two-sided test would mark b "worse"; only "below the best" counts.
    values = {"best": [0.90, 0.91, 0.92, 0.99, 0.99, 0.99], "b": [0.93, 0.94, 0.95]}
    compared = compare_to_best(_board(values), ["best", "b"]).set_index("recipe_label")
    assert compared.loc["b", "diff_to_best"] > 0
    assert compared.loc["b", "p_metric"] == 1.0
    assert compared.loc["b", "vs_best"] == "indistinguishable"


def test_a_drop_within_tuning_luck_is_worse_on_its_settings_and_says_so() -> None:
    # b is 0.01 below the best on every final seed: its chosen settings are worse. But b's
    # tuning draws spread from 0.80 to 0.97: another set of draws could have chosen a
    # setting as good as the best's, so the verdict says the drop is within tuning luck.
    board = _board({"best": BEST, "b": [v - 0.01 for v in BEST]})
    steady = TuningDraws(scores=(0.96, 0.96, 0.95, 0.96))
    spread = TuningDraws(scores=(0.80, 0.97, 0.88, 0.93))
    without = compare_to_best(board, ["best", "b"]).set_index("recipe_label")
    with_luck = compare_to_best(
        board, ["best", "b"], tuning={"best": steady, "b": spread}
    ).set_index("recipe_label")
    assert without.loc["b", "vs_best"] == with_luck.loc["b", "vs_best"] == WORSE
    assert with_luck.loc["b", "p_metric"] == without.loc["b", "p_metric"]  # the seeds judge
    assert with_luck.loc["b", "p_luck"] > 0.05 and with_luck.loc["b", "within_luck"]
    assert not without.loc["b", "within_luck"] and math.isnan(without.loc["b", "p_luck"])
    assert with_luck.loc["b", "tuning_sd"] == pytest.approx(spread.resampled_best_sd())
    assert math.isnan(without.loc["b", "tuning_sd"])
    words = leaderboard_frame(summarize(board, tuning={"best": steady, "b": spread}))
    assert words["vs best"].tolist() == ["best", "worse (metric), within tuning luck"]
    assert "Within tuning luck: b (worse on the settings tuning chose, but" in verdict_headline(
        summarize(board, tuning={"best": steady, "b": spread})
    )


def test_tuning_luck_does_not_hide_a_drop_far_beyond_it() -> None:
    # 0.15 below on every seed, with draws that spread by a few thousandths: worse beyond it.
    board = _board({"best": BEST, "b": [v - 0.15 for v in BEST]})
    draws = {
        "best": TuningDraws(scores=(0.95, 0.96, 0.955)),
        "b": TuningDraws(scores=(0.80, 0.81, 0.805)),
    }
    compared = compare_to_best(board, ["best", "b"], tuning=draws).set_index("recipe_label")
    assert compared.loc["b", "vs_best"] == WORSE and compared.loc["b", "p_luck"] < 0.05
    assert not compared.loc["b", "within_luck"]


def test_the_resampled_best_sd_is_the_bootstrap_of_the_best_draw() -> None:
    draws = TuningDraws(scores=(0.70, 0.90, 0.85, 0.60), failed=1, failure_score=0.5)
    pool = np.array([0.70, 0.90, 0.85, 0.60, 0.5])
    rng = np.random.default_rng(0)
    bests = rng.choice(pool, size=(200_000, pool.size), replace=True).max(axis=1)
    assert draws.resampled_best_sd() == pytest.approx(bests.std(), abs=2e-3)
    assert math.isnan(TuningDraws(scores=(0.9,)).resampled_best_sd())


def test_the_leaderboard_shows_tuning_luck_only_when_the_verdict_counts_it() -> None:
    board = _board({"best": BEST, "b": [v - 0.01 for v in BEST]})
    draws = {"best": TuningDraws(scores=(0.95, 0.97)), "b": TuningDraws(scores=(0.9, 0.96))}
    assert LUCK_COLUMN not in leaderboard_frame(summarize(board)).columns
    shown = leaderboard_frame(summarize(board, tuning=draws)).set_index("recipe")
    assert shown.loc["b", LUCK_COLUMN] == f"{draws['b'].resampled_best_sd():.3f}"
    # The terminal's table shows it too: the headline names it as a reason.
    table = leaderboard_table(summarize(board, tuning=draws))
    assert LUCK_COLUMN in [column.header for column in table.columns]
    assert LUCK_COLUMN not in [c.header for c in leaderboard_table(summarize(board)).columns]


def test_the_metric_test_matches_scipy_on_small_inputs() -> None:
    best, other = [0.90, 0.92, 0.94, 0.91], [0.88, 0.91, 0.90, 0.89]
    compared = compare_to_best(_board({"a": best, "b": other}), ["a", "b"])
    row = compared.set_index("recipe_label").loc["b"]
    logit = stats.logistic.ppf
    paired = stats.ttest_rel(logit(other), logit(best), alternative="less")
    assert row["p_value"] == pytest.approx(paired.pvalue)
    # Two recipes: the best is the larger of two, so the corrected p is the two-sided one.
    assert row["p_metric"] == pytest.approx(2 * paired.pvalue)
    # And with k recipes, the studentized range of k means (Tukey's HSD quantile).
    t = -paired.statistic
    assert range_p_value(t, candidates=5, df=3) == pytest.approx(
        stats.studentized_range.sf(t * math.sqrt(2), 5, 3)
    )
    assert range_critical_t(candidates=2, df=3) == pytest.approx(stats.t.isf(0.025, 3))
    assert range_p_value(-t, candidates=5, df=3) == 1.0


def test_the_failure_test_matches_scipy_on_small_inputs() -> None:
    one_sided = stats.boschloo_exact([[3, 2], [0, 5]], alternative="greater").pvalue
    assert failure_p_value(3, 5, 0, 5, candidates=2) == pytest.approx(one_sided)
    assert failure_p_value(3, 5, 0, 5, candidates=4) == pytest.approx(min(1.0, 6 * one_sided))
    assert failure_p_value(0, 5, 3, 5, candidates=4) == 1.0  # fewer failures than the best
    assert math.isnan(failure_p_value(0, 0, 0, 5, candidates=2))


def test_the_interval_of_the_difference_contains_the_observed_difference() -> None:
    values = {
        "best": BEST,
        "b": [0.95, 0.94, 0.96, 0.93, 0.955],
        "c": [0.90, 0.97, 0.93, 0.95, 0.94],
    }
    board = _verdicts(values)
    logit, expit = stats.logistic.ppf, stats.logistic.cdf
    for label in ("b", "c"):
        row = board.loc[label]
        assert row["diff_to_best_low"] <= row["diff_to_best"] <= row["diff_to_best_high"]
        # The observed mean difference on the test's scale, shown on the metric's.
        anchor = logit(BEST).mean()
        gap = (logit(values[label]) - logit(BEST)).mean()
        assert row["diff_to_best"] == pytest.approx(expit(anchor + gap) - expit(anchor))
        assert np.sign(row["diff_to_best"]) == np.sign(np.mean(values[label]) - np.mean(BEST))
    shown = leaderboard_frame(board.reset_index()).set_index("recipe").loc["b", DIFF_COLUMN]
    assert shown.startswith(f"{board.loc['b', 'diff_to_best']:+.3f} [")


def test_the_top_group_is_a_prefix_of_the_ranking() -> None:
    # c (one failure) has a lower mean than b, which is worse on every seed; c is in the
    # top group, so it ranks above b, and the headline says why.
    values = {
        "best": BEST,
        "b": [v - 0.015 for v in BEST],
        "c": [*BEST[:4], None],
    }
    board = summarize(_board(values))
    assert board["recipe_label"].tolist() == ["best", "c", "b"]
    assert board["rank"].tolist() == [1, 2, 3]
    assert board.loc[1, "test_auc_mean"] < board.loc[2, "test_auc_mean"]
    headline = verdict_headline(board, ranked_by="test_auc")
    assert "Ranked above worse recipes of higher mean: c (1 of 5 seeds failed; " in headline
    assert "failed seeds, scored as chance in a mean, are judged apart" in headline


def test_a_lower_mean_whose_seeds_vary_ranks_above_a_steady_worse_one_for_its_interval():
    # c trails the best by more than b on average, but by 0.01-0.25 from seed to seed: its
    # interval reaches 0. b trails by 0.05 on every seed: worse. No seed failed, and the
    # headline gives c's interval as the reason, not failures.
    values = {
        "best": BEST,
        "b": [v - 0.05 for v in BEST],
        "c": [v - d for v, d in zip(BEST, [0.25, 0.01, 0.2, 0.02, 0.01], strict=True)],
    }
    board = summarize(_board(values))
    assert board["recipe_label"].tolist() == ["best", "c", "b"]
    assert board.loc[1, "test_auc_mean"] < board.loc[2, "test_auc_mean"]
    assert board.loc[1, "diff_to_best_high"] > 0 > board.loc[2, "diff_to_best_high"]
    headline = verdict_headline(board, ranked_by="test_auc")
    lifted = headline.split("Ranked above worse recipes of higher mean: ")[1]
    assert lifted.startswith("c (-0.")
    assert "] to the best). A verdict asks whether the interval" in lifted
    assert "failed" not in headline


def _random_board(rng: np.random.Generator) -> dict[str, list[float | None]]:
    values: dict[str, list[float | None]] = {}
    for i in range(int(rng.integers(2, 8))):
        level = rng.uniform(0.75, 0.97)
        spread = rng.uniform(0.002, 0.05)
        fail = rng.uniform(0, 0.5)
        values[f"r{i}"] = [
            None if rng.random() < fail else float(np.clip(level + rng.normal(0, spread), 0, 1))
            for _ in range(int(rng.integers(2, 7)))
        ]
    return values


def test_the_top_group_is_a_prefix_of_the_ranking_on_random_boards() -> None:
    rng = np.random.default_rng(20240601)
    worse_seen = 0
    for _ in range(60):
        board = summarize(_board(_random_board(rng)))
        top = board["vs_best"].isin(TOP_GROUP).to_numpy()
        assert top[0] and board["vs_best"].iloc[0] == "best"
        assert not np.any(top[1:] & ~top[:-1]), board[["recipe_label", "vs_best"]]
        assert board["rank"].tolist() == list(range(1, len(board) + 1))
        worse_seen += int((board["vs_best"] == WORSE).sum())
        tested = board.dropna(subset=["diff_to_best"])
        assert (tested["diff_to_best_low"] <= tested["diff_to_best"]).all()
        assert (tested["diff_to_best"] <= tested["diff_to_best_high"]).all()
    assert worse_seen > 0  # the boards do exercise both sides of the verdict


def test_power_of_the_verdict_comes_from_the_noncentral_t() -> None:
    # The README's example: 2 seeds, a 0.05 difference, sd 0.017 of the per-seed
    # difference, 7 comparisons at Holm's first step (two-sided 0.05 / 7): about 3.7%.
    delta = 0.05 / 0.017 * math.sqrt(2)
    critical = stats.t.isf(0.05 / 7 / 2, 1)
    holm_power = stats.nct.sf(critical, 1, delta) + stats.nct.cdf(-critical, 1, delta)
    assert holm_power == pytest.approx(0.037, abs=0.001)
    # The rule the verdicts use, against a simulation of the paired test it describes.
    rng = np.random.default_rng(7)
    n, sd = 5, 0.017
    d = rng.normal(0.05, sd, size=(20000, n))
    t = d.mean(1) / (d.std(1, ddof=1) / math.sqrt(n))
    simulated = (t > range_critical_t(candidates=8, df=n - 1)).mean()
    assert power_vs_best(0.05, sd=sd, n=n, candidates=8) == pytest.approx(simulated, abs=0.01)


def _two_look_board(rng: np.random.Generator, below: float) -> pd.DataFrame:
    """Ten seeds of a best recipe, one ``below`` it on log-odds with noise, and one far
    below; the first five seeds are the first look."""
    best = 3.0 + rng.normal(0, 0.3, 10)
    logits = {"a": best, "b": best - below + rng.normal(0, 0.35, 10), "c": best - 2.5}
    return _board({k: (1 / (1 + np.exp(-v))).tolist() for k, v in logits.items()})


def test_a_second_look_on_more_seeds_tells_apart_what_the_first_look_could_not() -> None:
    from bench.report._significance import LOOK_ALPHA

    board = _two_look_board(np.random.default_rng(4), below=0.6)
    first = summarize(board[board["seed"] < 5]).set_index("recipe_label")
    assert first.loc["b", "vs_best"] in TOP_GROUP  # 5 seeds do not tell b apart
    judged = summarize(board, first_look=range(5)).set_index("recipe_label")
    assert judged.loc["b", "vs_best"] == WORSE and judged.loc["b", "look"] == 2
    assert judged.loc["b", "p_metric"] < LOOK_ALPHA
    # c was told apart at the first look, on its first five seeds, and stays worse.
    assert judged.loc["c", "vs_best"] == WORSE and judged.loc["c", "look"] == 1
    assert judged.loc["a", "vs_best"] == "best" and judged.loc["a", "look"] == 2


def test_each_look_is_judged_at_half_the_level() -> None:
    """Two chances to mark a recipe worse: each must clear ``ALPHA / 2`` (Bonferroni)."""
    rng = np.random.default_rng(0)
    for _ in range(30):
        board = _two_look_board(rng, below=rng.uniform(0.0, 0.8))
        judged = summarize(board, first_look=range(5)).set_index("recipe_label")
        by_look = judged.dropna(subset=["p_metric"])
        worse = by_look["vs_best"] == WORSE
        assert ((by_look["p_metric"] < 0.025) | (by_look["p_failures"] < 0.025))[worse].all()
        assert not ((by_look["p_metric"] < 0.025) | (by_look["p_failures"] < 0.025))[~worse].any()


def test_a_recipe_worse_at_the_first_look_is_not_the_second_looks_best() -> None:
    # c trails a on every first-look seed, then scores higher on later seeds, so that its
    # mean over all of them is the highest: it stays worse, and the second look's best is
    # the best of those the first look kept.
    a = [0.96, 0.955, 0.97, 0.965, 0.962] + [0.93] * 5
    c = [0.90, 0.89, 0.91, 0.905, 0.895] + [0.999] * 5
    judged = summarize(_board({"a": a, "c": c}), first_look=range(5))
    assert judged["test_auc_mean"].iloc[1] > judged["test_auc_mean"].iloc[0]
    assert judged["recipe_label"].tolist() == ["a", "c"]
    assert judged["vs_best"].tolist() == ["best", WORSE]
    assert judged["look"].tolist() == [2, 1]
