"""bench.report's figure data: each ``_get_*_info`` on a small frame, without drawing."""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.report._metrics import SUMMARY_METRICS
from bench.report._selection import best_trial_of
from bench.report._stats import summarize
from bench.report._time_to_target import time_to_target
from bench.report.figures._base import FigureInput
from bench.report.figures._gap import _get_gap_info
from bench.report.figures._heatmaps import _get_heatmaps_info, sweep_fields
from bench.report.figures._learning_curves import _get_learning_curves_info
from bench.report.figures._learning_rate import _get_learning_rate_info
from bench.report.figures._roc import _get_roc_info
from bench.report.figures._sensitivity import _get_sensitivity_info
from bench.report.figures._test_auc import _get_test_auc_info
from bench.report.figures._time_to_target import _get_time_to_target_info
from bench.results import StudyResults

# Two recipes, two seeds each: "a" is better on every metric, but its seed-1 trial has
# the higher test AUC and the lower objective, so "best by objective" is seed 0.
_TRIALS = [
    # number, recipe, seed, value, test_auc, gap_accuracy, x, y
    (0, "a", 0, 0.95, 0.90, 0.05, 1, "p"),
    (1, "a", 1, 0.85, 0.93, 0.07, 1, "p"),
    (2, "b", 0, 0.70, 0.70, -0.02, 2, "q"),
    (3, "b", 1, 0.72, 0.72, -0.01, 2, "q"),
]
_EPOCHS = 3


def _included() -> pd.DataFrame:
    rows = []
    for number, label, seed, value, test_auc, gap, x, y in _TRIALS:
        metrics = dict.fromkeys(SUMMARY_METRICS, test_auc)
        metrics.update(gap_accuracy=gap, gap_loss=-gap, kept_epoch=2, epochs_run=_EPOCHS)
        metrics.update(gap_clean_accuracy=None)  # no label noise: no clean-label gap
        metrics.update(val_auc=test_auc, test_accuracy=test_auc)
        rows.append(
            {
                "number": number,
                "recipe_label": label,
                "seed": seed,
                "value": value,
                "params_x": x,
                "params_y": y,
                **metrics,
            }
        )
    return pd.DataFrame(rows)


def _histories(lr: dict[str, float] | None = None) -> pd.DataFrame:
    lr = lr or {"a": 1e-3, "b": 1e-3}
    rows = []
    for number, label, _, _, test_auc, _, _, _ in _TRIALS:
        for epoch in range(1, _EPOCHS + 1):
            auc = 0.5 + (test_auc - 0.5) * epoch / _EPOCHS
            rows.append(
                {
                    "number": number,
                    "epoch": epoch,
                    "loss": 1 - auc,
                    "val_loss": 1.05 - auc,
                    "auc": auc,
                    "val_auc": auc,
                    "lr": lr[label],
                    "time_s": 2.0 * epoch,
                }
            )
    return pd.DataFrame(rows)


def _data(
    *,
    spec: dict | None = None,
    histories: pd.DataFrame | None = None,
    ranked_by: str = "test_auc",
    tuning: pd.DataFrame | None = None,
    task: str = "binary",
    predictions: dict | None = None,
) -> FigureInput:
    included = _included()
    histories = _histories() if histories is None else histories
    labels = [0, 1, 0, 1]
    raw = predictions
    if raw is None:
        raw = {
            t[0]: {"y_true": labels, "y_score": [0.2, 0.8, 0.3, 0.6 + 0.01 * t[0]]} for t in _TRIALS
        }
    results = StudyResults(
        study_name="small",
        storage="sqlite://",
        spec=spec or {},
        spec_hash=None,
        direction="maximize",
        trials=included,
        histories=histories,
        workload={"task": task},
        versions={},
        _raw_predictions=raw,
    )
    return FigureInput(
        results=results,
        included=included,
        summary=summarize(included, rank_by=ranked_by),
        ranked_by=ranked_by,
        time_to_target=time_to_target(included, histories),
        tuning=pd.DataFrame() if tuning is None else tuning,
    )


# ----------------------------------------------------------------------------- one place


def test_best_trial_of_goes_by_the_objective_ties_to_the_lower_number() -> None:
    trials = pd.DataFrame(
        {
            "number": [3, 0, 1, 2, 4],
            "recipe_label": ["a", "a", "a", "b", "b"],
            "value": [0.9, 0.9, 0.5, None, 0.1],
        }
    )
    best = best_trial_of(trials, group="recipe_label", direction="maximize")
    assert best["number"].tolist() == [0, 4]  # trial order; a NaN objective is never best
    worst = best_trial_of(trials, group="recipe_label", direction="minimize")
    assert worst["number"].tolist() == [1, 4]


# ----------------------------------------------------------------------------- figures


@pytest.mark.parametrize("metric", ["loss", "auc"])
def test_learning_curves_info(metric: str) -> None:
    info = _get_learning_curves_info(_data(), metric=metric)
    assert info is not None
    assert info.name == f"learning_curves_{metric}"
    assert info.labels == ["a", "b"]  # leaderboard order
    panel = info.panels["a"]
    assert set(panel["split"]) == {"train", "validation"}
    assert len(panel) == 2 * 2 * _EPOCHS  # two seeds, two splits
    assert panel["epoch"].dtype == float
    assert info.kept.to_dict() == {"a": 2.0, "b": 2.0}
    assert info.y_limits == ((0.0, 1.02) if metric == "auc" else None)
    assert f"validation (dashed) {info.what} per epoch" in info.caption


def test_learning_curves_info_is_none_without_the_metric() -> None:
    histories = _histories().assign(auc=math.nan, val_auc=math.nan)
    assert _get_learning_curves_info(_data(histories=histories), metric="auc") is None


def test_test_auc_info_marks_the_best_when_ranked_by_test_auc() -> None:
    info = _get_test_auc_info(_data())
    assert info is not None and info.name == "test_auc"
    # Two seeds: on the log-odds scale b's drop (1.35 and 1.64) is not told apart (p 0.06).
    assert info.order == ["★ a", "≈ b"]
    assert set(info.trials["recipe"]) == {"★ a", "≈ b"}
    assert "★ marks the best recipe" in info.caption
    plain = _get_test_auc_info(_data(ranked_by="val_auc"))
    assert plain.order == ["a", "b"] and "★" not in plain.caption


def test_gap_info_draws_the_gaps_that_were_recorded() -> None:
    info = _get_gap_info(_data())
    assert info.columns == ["gap_accuracy", "gap_loss"]
    assert info.axis_titles == ["train − validation accuracy", "validation − train loss"]
    assert info.order == ["a", "b"] and len(info.trials) == 4
    data = _data()
    none = dataclasses.replace(
        data, included=data.included.assign(gap_accuracy=None, gap_loss=None)
    )
    assert _get_gap_info(none) is None


def test_roc_info_uses_each_recipes_best_trial_by_objective() -> None:
    info = _get_roc_info(_data())
    assert info is not None and info.binary
    # "a"'s best by objective is trial 0, though trial 1 has the higher test AUC.
    assert sorted(info.curves["curve"].unique()) == ["a (#0, AUC 1.000)", "b (#3, AUC 1.000)"]
    assert "best trial, chosen by the study objective" in info.caption
    assert _get_roc_info(_data(predictions={})) is None


def test_roc_info_one_panel_per_recipe_for_multiclass() -> None:
    labels = [0, 1, 2, 0, 1, 2]
    scores = np.eye(3)[labels] * 0.8 + 0.1
    raw = {t[0]: {"y_true": labels, "y_score": scores.tolist()} for t in _TRIALS}
    info = _get_roc_info(_data(task="multiclass", predictions=raw))
    assert not info.binary
    assert info.panels == ["a (#0)", "b (#3)"]
    assert set(info.curves["class"]) == {"class 0", "class 1", "class 2"}
    assert "One-vs-rest curves, one colour per class." in info.caption


def test_roc_info_of_a_multilabel_task_draws_a_present_against_absent_curve_per_label() -> None:
    truth = [[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1]]
    scores = (np.array(truth) * 0.8 + 0.1).tolist()
    raw = {t[0]: {"y_true": truth, "y_score": scores} for t in _TRIALS}
    info = _get_roc_info(_data(task="multilabel", predictions=raw))
    assert not info.binary
    assert set(info.curves["class"]) == {"class 0", "class 1", "class 2"}
    assert "One curve per label (present against absent), one colour per label." in info.caption
    assert "one-vs-rest" not in info.caption.lower()


def test_momentum_searched_on_log1m_is_drawn_on_log1m_labelled_in_momentum() -> None:
    from bench.report.figures._sensitivity import draw_sensitivity

    momenta = [0.5, 0.9, 0.99, 0.999]
    tuning = pd.DataFrame(
        {
            "number": [0, 1, 2, 3],
            "candidate": ["sgd"] * 4,
            "seed": [0] * 4,
            "value": [0.6, 0.7, 0.8, 0.75],
            "params_momentum": momenta,
        }
    )
    space = {"momentum": {"low": 0.5, "high": 0.999, "log": False, "scale": "log1m"}}
    spec = {"objective": {"metric": "val_auc"}, "variants": {"sgd": {"search_space": space}}}
    info = _get_sensitivity_info(_data(spec=spec, tuning=tuning))
    assert info.knob_scales == {"momentum": "log1m"}
    figure = draw_sensitivity(info)
    ax = figure.axes[0]
    assert ax.get_xscale() == "function"
    # 0.9, 0.99 and 0.999 are a decade of 1 - momentum apart: equal steps on the axis.
    x = ax.transData.transform([(m, 0.7) for m in momenta])[:, 0]
    assert x[2] - x[1] == pytest.approx(x[3] - x[2], rel=1e-6)
    assert x[1] - x[0] == pytest.approx((x[2] - x[1]) * math.log10(5), rel=1e-6)
    figure.canvas.draw()
    labels = [tick.get_text() for tick in ax.get_xticklabels()]
    # 1 - momentum at 1-5 steps: the 1-2-5 steps would crowd four decades.
    assert labels == ["0.5", "0.9", "0.95", "0.99", "0.995", "0.999"]


def test_heatmaps_info_needs_exactly_two_swept_fields() -> None:
    spec = {"search_space": {"x": [1, 2], "y": ["p", "q"], "seed": [0, 1]}}
    data = _data(spec=spec)
    assert sweep_fields(data) == ["x", "y"]
    info = _get_heatmaps_info(data)
    assert info is not None and info.title == "x × y"
    assert [p.title for p in info.panels] == ["mean test AUC", "mean gap (train − val accuracy)"]
    auc = info.panels[0].table
    assert auc.loc[1, "p"] == pytest.approx(0.915) and math.isnan(auc.loc[1, "q"])
    assert (info.panels[1].cmap, info.panels[1].center) == ("vlag", 0.0)  # gaps of both signs
    assert info.shape == (2, 2) and info.annotate
    assert _get_heatmaps_info(_data(spec={"search_space": {"x": [1, 2]}})) is None


def test_learning_rate_info_scale_follows_the_rates() -> None:
    info = _get_learning_rate_info(_data())
    assert info is not None and info.scale == "linear"
    assert info.lines == ["(not recorded): a"]  # one line per schedule, its best recipe
    assert set(info.rates["number"]) == {0, 1}
    assert "logarithmic" not in info.caption
    apart = _data(histories=_histories({"a": 1e-2, "b": 1e-4}))
    # One schedule: only its best-ranked recipe is drawn, so one rate, a linear axis.
    assert _get_learning_rate_info(apart).scale == "linear"
    no_rates = _histories().assign(lr=math.nan)
    assert _get_learning_rate_info(_data(histories=no_rates)) is None


def test_learning_rate_info_per_candidate_on_a_log_axis() -> None:
    data = _data(histories=_histories({"a": 1e-2, "b": 1e-4}))
    data = dataclasses.replace(data, included=data.included.assign(candidate="c"))
    info = _get_learning_rate_info(data)
    assert info.lines == ["a: (not recorded)", "b: (not recorded)"]
    assert info.scale == "log" and "The axis is logarithmic" in info.caption


def test_sensitivity_info_stars_each_candidates_best_tuning_trial() -> None:
    tuning = pd.DataFrame(
        {
            "number": [10, 11, 12, 13],
            "candidate": ["a", "a", "b", "b"],
            "seed": [0, 0, 0, 0],
            "value": [0.6, 0.8, 0.7, None],
            "params_learning_rate": [1e-3, 1e-2, 1e-4, 1e-3],
            "params_momentum": [None, None, 0.5, 0.9],
            "params_variant": ["a", "a", "b", "b"],
        }
    )
    spec = {"objective": {"metric": "val_auc"}}
    info = _get_sensitivity_info(_data(spec=spec, tuning=tuning))
    assert info is not None and info.name == "sensitivity"
    assert info.knobs == ["learning_rate", "momentum"]  # params_variant names, not a knob
    # The rate spans a decade, momentum does not; neither has a range in the spec.
    assert info.knob_scales == {"learning_rate": "log", "momentum": "linear"}
    assert info.chosen["number"].tolist() == [11, 12]
    assert len(info.tuning) == 3  # the trial without an objective is not drawn
    assert info.candidates == ["a", "b"] and info.y_label == "objective (val_auc)"
    assert "(seed 0)" in info.caption
    assert _get_sensitivity_info(_data()) is None


def test_time_to_target_info_profiles_epochs_and_seconds() -> None:
    info = _get_time_to_target_info(_data())
    assert info is not None and info.labels == ["a", "b"]
    epochs = info.profiles["epochs"]
    assert set(epochs["recipe"]) == {"a", "b"}
    # The target is 95% of "a"'s mean final validation AUC: "b" never gets there.
    assert epochs.groupby("recipe")["fraction"].max().to_dict() == {"a": 1.0, "b": 0.0}
    assert "1 recipe(s) never reached the target on any seed" in info.caption
    data = _data()
    assert _get_time_to_target_info(dataclasses.replace(data, time_to_target=None)) is None


# ----------------------------------------------------------------------------- no matplotlib


def test_figure_data_and_labels_import_without_matplotlib() -> None:
    modules = [
        "bench.report",
        "bench.report._labels",
        "bench.report._selection",
        "bench.report._stats",
        "bench.report._content",
        "bench.report._verdicts",
        "bench.report.figures",
        *(f"bench.report.figures.{p.stem}" for p in _figure_modules()),
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'seaborn'))\n"
        "print(loaded)\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout


def _figure_modules() -> list[Path]:
    folder = Path(__file__).resolve().parents[1] / "bench" / "report" / "figures"
    # _style is the drawing's look and _draw draws them all: the two figure modules that
    # load matplotlib (the package itself, __init__, is listed by name).
    skip = ("__init__", "_style", "_draw")
    return sorted(p for p in folder.glob("_*.py") if p.stem not in skip)
