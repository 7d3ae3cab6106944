"""The expected best objective after k tuning trials: the formula, its figure, the report."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from report_fixtures import DIVERGED, FAILED, PRUNED, add_protocol_study, build_storage

from bench.report import write_report
from bench.report._best_of_k import expected_best_of_k
from bench.report._report import figure_input
from bench.report._selection import CHANCE_AUC
from bench.report.figures._best_of_k import _get_best_of_k_info, order_words

optuna.logging.set_verbosity(optuna.logging.WARNING)

# ----------------------------------------------------------------------------- the formula


def _brute_force(
    scores: list[float], *, direction: str, failed: int, failure_score: float
) -> pd.DataFrame:
    """Mean and spread of the best of every k-subset of the draws, enumerated."""
    draws: list[float | None] = [*scores, *([None] * failed)]
    pick = max if direction == "maximize" else min
    rows = []
    for k in range(1, len(draws) + 1):
        bests = []
        for subset in itertools.combinations(draws, k):
            finished = [v for v in subset if v is not None]
            bests.append(pick(finished) if finished else failure_score)
        rows.append((k, np.mean(bests), np.std(bests)))
    return pd.DataFrame(rows, columns=["k", "expected", "sd"])


def test_expected_best_of_k_equals_the_mean_over_every_k_subset() -> None:
    rng = np.random.default_rng(20190908)
    for _ in range(200):
        n = int(rng.integers(1, 8))
        # Few distinct values, so that ties are common.
        scores = rng.choice([0.55, 0.6, 0.7, 0.71, 0.9], size=n).tolist()
        failed = int(rng.integers(0, 3))
        direction = str(rng.choice(["maximize", "minimize"]))
        failure_score = float(rng.choice([0.5, 0.95]))
        got = expected_best_of_k(
            scores, direction=direction, failed=failed, failure_score=failure_score
        )
        want = _brute_force(scores, direction=direction, failed=failed, failure_score=failure_score)
        assert got["k"].tolist() == want["k"].tolist()
        np.testing.assert_allclose(got["expected"], want["expected"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(got["sd"], want["sd"], rtol=0, atol=1e-7)
        # The band holds the mean (to rounding) and stays within the draws' scores.
        assert (got["low"] <= got["expected"] + 1e-12).all()
        assert (got["expected"] <= got["high"] + 1e-12).all()
        assert got["low"].min() >= min([*scores, *([failure_score] * failed)])
        assert got["high"].max() <= max([*scores, *([failure_score] * failed)])


def test_hand_computed_case_ends_at_the_best_draw() -> None:
    curve = expected_best_of_k([0.1, 0.3, 0.2])
    assert curve["expected"].tolist() == pytest.approx([0.2, (0.2 + 0.3 + 0.3) / 3, 0.3])
    assert curve["sd"].iloc[-1] == 0.0  # every way of taking all draws finds the same best


def test_a_failure_without_a_score_leaves_only_the_ks_it_could_be_best_at_empty() -> None:
    curve = expected_best_of_k([0.3, 0.2], direction="minimize", failed=1)
    assert math.isnan(curve["expected"].iloc[0])  # one draw: it may be the failure
    assert curve["expected"].iloc[1:].tolist() == pytest.approx([(0.2 + 0.2 + 0.3) / 3, 0.2])


def test_the_expectation_stays_finite_for_a_long_tuning_phase() -> None:
    scores = np.linspace(0.5, 0.9, 400).tolist()
    curve = expected_best_of_k(scores)
    assert curve["expected"].notna().all()
    assert curve["expected"].is_monotonic_increasing
    assert curve["expected"].iloc[-1] == pytest.approx(0.9)


# ----------------------------------------------------------------------------- the figure's data


def _tuning_values(storage: str, study_name: str, candidate: str) -> list[float]:
    study = optuna.load_study(study_name=study_name, storage=storage)
    return [
        t.value
        for t in study.get_trials(deepcopy=False)
        if t.user_attrs.get("phase") == "tune"
        and t.user_attrs.get("candidate") == candidate
        and t.state == optuna.trial.TrialState.COMPLETE
        and t.user_attrs.get("stop_reason") != "diverged"
    ]


def test_failed_tuning_trials_are_draws_that_found_nothing(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    add_protocol_study(
        storage,
        study_name="p",
        budget=5,
        tune_outcomes={("sgd", 1): PRUNED, ("sgd", 3): DIVERGED},
    )
    info = _get_best_of_k_info(figure_input("p", storage=storage))
    assert info is not None and info.name == "best_of_k"
    sgd = info.curves[info.curves["candidate"] == "sgd"].set_index("k")
    finished = _tuning_values(storage, "p", "sgd")
    assert len(finished) == 3 and sgd.index.tolist() == [1, 2, 3, 4, 5]
    # One draw: each of the five equally likely, the two failures scored as chance.
    assert sgd.loc[1, "expected"] == pytest.approx((sum(finished) + 2 * CHANCE_AUC) / 5)
    assert sgd.loc[5, "expected"] == pytest.approx(max(finished))
    assert info.y_label == "expected best objective (val_auc)"
    assert "(sgd 2)" in info.caption and "scores as chance (0.5)" in info.caption


def test_interrupted_tuning_trials_are_no_draws_and_one_draw_is_no_curve(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    # adam's two interrupted trials were never draws (their slots run again): one draw left.
    add_protocol_study(
        storage, study_name="p", budget=3, tune_outcomes={("adam", 1): FAILED, ("adam", 2): FAILED}
    )
    info = _get_best_of_k_info(figure_input("p", storage=storage))
    assert "adam" not in info.candidates and set(info.candidates) == {"sgd", "rmsprop"}
    assert "Not drawn, with fewer than 2 tuning trials: adam." in info.caption
    assert "adam" in info.palette_order


def test_the_caption_names_the_order_the_curves_give(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    add_protocol_study(storage, study_name="p", budget=8)
    info = _get_best_of_k_info(figure_input("p", storage=storage))
    curves = info.curves.pivot(index="k", columns="candidate", values="expected")
    first = " > ".join(curves.loc[1].sort_values(ascending=False).index)
    last = " > ".join(curves.loc[8].sort_values(ascending=False).index)
    assert first != last  # the fixture's robust adam leads at one draw, rmsprop at eight
    assert f"With 1 tuning trial the expected order is {first};" in info.caption
    assert f"it is {last}: the ranking depends on the tuning budget" in info.caption


def test_order_words_say_whether_the_budget_changes_the_ranking() -> None:
    def curves(a: list[float], b: list[float]) -> pd.DataFrame:
        k = list(range(1, len(a) + 1))
        return pd.DataFrame(
            {"candidate": ["a"] * len(a) + ["b"] * len(b), "k": k + k, "expected": a + b}
        )

    same = order_words(curves([0.9, 0.95], [0.8, 0.85]), direction="maximize", candidates="ab")
    assert same.startswith("The expected order is the same at every budget from 1 to 2")
    assert "(a > b)" in same
    crossed = order_words(
        curves([0.9, 0.91, 0.92], [0.8, 0.95, 0.96]), direction="maximize", candidates="ab"
    )
    assert crossed.startswith("With 1 tuning trial the expected order is a > b; with 2 or more")
    assert "it is b > a: the ranking depends on the tuning budget" in crossed
    between = order_words(
        curves([0.9, 0.91, 0.99], [0.8, 0.95, 0.96]), direction="maximize", candidates="ab"
    )
    assert "the same with 1 tuning trial and with 3 (a > b), but not with 2" in between
    lower = order_words(curves([0.3, 0.2], [0.4, 0.1]), direction="minimize", candidates="ab")
    assert "expected order is a > b; with 2 (the most every candidate ran) it is b > a" in lower
    tie = order_words(curves([0.9, 0.9], [0.9, 0.9]), direction="maximize", candidates="ab")
    assert "(a = b)" in tie
    assert order_words(curves([0.9], [0.8])[:1], direction="maximize", candidates="a") == ""


def test_order_words_compare_equal_budgets_then_each_candidates_own() -> None:
    curves = pd.DataFrame(
        {
            "candidate": ["a", "a", "b", "b", "b", "b"],
            "k": [1, 2, 1, 2, 3, 4],
            # b's one draw may be a failure without a score (a loss objective): no value.
            "expected": [0.3, 0.25, math.nan, 0.28, 0.22, 0.2],
        }
    )
    words = order_words(curves, direction="minimize", candidates=["a", "b"])
    # a's 0.25 beats b's 0.28 at the one budget both have a value at.
    assert words.startswith("At 2 tuning trials, the one budget at which every candidate")
    assert "the order is a > b." in words
    end = "At the budgets they ran (a 2, b 4), each curve's end, the order is b > a."
    assert words.endswith(end)


# ----------------------------------------------------------------------------- the report


@pytest.mark.slow
def test_a_tuning_studys_report_shows_the_best_of_k_figure(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    add_protocol_study(storage, study_name="p", budget=4, tune_outcomes={("sgd", 1): PRUNED})
    result = write_report("p", storage=storage, out_dir=tmp_path / "out", write_note=False)
    names = [p.name for p in result.figures]
    assert {"best_of_k.png", "best_of_k.svg"} <= set(names)
    # In reading order: right after the tuning trials' other figure.
    assert names.index("best_of_k.png") == names.index("sensitivity.png") + 2
    page = result.index_html.read_text(encoding="utf-8")
    assert '<h3 id="best_of_k">Expected best after k tuning trials</h3>' in page
    caption = page.split('<h3 id="best_of_k">', 1)[1].split("</figcaption>", 1)[0]
    assert "expected best objective (val_auc)" in caption and "(sgd 1)" in caption
    markdown = result.report_md.read_text(encoding="utf-8")
    assert "](figures/best_of_k.png)" in markdown
    # The same draws widen the verdict: each candidate's tuning luck is in summary.csv,
    # and the method sentence says the verdict counts it.
    summary = pd.read_csv(result.summary_csv).set_index("candidate")
    assert (summary["tuning_sd"] > 0).all()
    assert "tuning luck" in page and "tuning luck (sd)" in markdown


@pytest.mark.slow
def test_no_best_of_k_figure_without_a_tuning_protocol_or_a_choice(tmp_path: Path) -> None:
    grid = build_storage(tmp_path / "grid.db", study_name="grid", seeds=(0, 1))
    result = write_report("grid", storage=grid, out_dir=tmp_path / "out", write_note=False)
    assert result.figures and not [p for p in result.figures if p.stem == "best_of_k"]
    assert _get_best_of_k_info(figure_input("grid", storage=grid)) is None
    one = f"sqlite:///{tmp_path / 'one.db'}"
    add_protocol_study(one, study_name="one", budget=1)  # one draw each: nothing to choose
    assert _get_best_of_k_info(figure_input("one", storage=one)) is None
