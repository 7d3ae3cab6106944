"""bench report on a real study: files, figures, CSVs equal to the database, escaped labels."""

from __future__ import annotations

import html
import math
import shutil

import optuna
import pandas as pd
import pytest
from conftest import XSS_CLASS
from optuna.trial import TrialState, create_trial
from scipy import stats

from bench.cli import main


@pytest.fixture(scope="module")
def reported(tiny_study, tmp_path_factory):
    _, url = tiny_study
    out = tmp_path_factory.mktemp("reports")
    assert main(["report", "--study", "tiny", "--storage", url, "--out", str(out)]) == 0
    return out / "tiny", url


def test_report_files_and_figures_exist(reported):
    folder, _ = reported
    for name in ("index.html", "report.md", "trials.csv", "summary.csv"):
        assert (folder / name).stat().st_size > 0
    pngs = sorted((folder / "figures").glob("*.png"))
    assert {
        "learning_curves_loss",
        "learning_curves_auc",
        "test_auc",
        "generalization_gap",
        "roc_curves",
        "learning_rate",
        "time_to_target",
    } <= {p.stem for p in pngs}
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000


def test_trials_csv_holds_what_the_database_holds(reported):
    folder, url = reported
    rows = pd.read_csv(folder / "trials.csv").set_index("number")
    for trial in optuna.load_study(study_name="tiny", storage=url).trials:
        metrics = trial.user_attrs["metrics"]
        assert rows.loc[trial.number, "test_auc"] == pytest.approx(metrics["test"]["auc"])
        assert rows.loc[trial.number, "gap_accuracy"] == pytest.approx(
            trial.user_attrs["gap"]["accuracy"]
        )
        assert rows.loc[trial.number, "kept_epoch"] == trial.user_attrs["kept_epoch"]


def test_summary_is_the_mean_and_t_interval_over_seeds(reported):
    folder, url = reported
    summary = pd.read_csv(folder / "summary.csv").set_index("recipe_label")
    trials = optuna.load_study(study_name="tiny", storage=url).trials
    for label in ("adam", "sgd"):
        values = [
            t.user_attrs["metrics"]["test"]["auc"]
            for t in trials
            if t.user_attrs["recipe_label"] == label
        ]
        mean = sum(values) / 2
        sd = math.sqrt(sum((v - mean) ** 2 for v in values))  # n - 1 = 1
        half = stats.t.ppf(0.975, df=1) * sd / math.sqrt(2)
        row = summary.loc[label]
        assert row["n"] == 2
        assert row["test_auc_mean"] == pytest.approx(mean)
        # The t interval, clipped to an AUC's range (two seeds make it wide).
        assert row["test_auc_ci_low"] == pytest.approx(max(0.0, mean - half))
        assert row["test_auc_ci_high"] == pytest.approx(min(1.0, mean + half))


def test_a_complete_study_lacks_no_seed(reported):
    folder, _ = reported
    summary = pd.read_csv(folder / "summary.csv", keep_default_na=False)
    assert summary["n_planned"].tolist() == [2, 2]
    assert summary["seeds_missing"].tolist() == ["", ""]
    page = (folder / "index.html").read_text()
    assert "Every recipe has a trial that counts for each seed the spec asks for (0, 1)" in page


def test_class_names_are_text_in_the_html(reported):
    page = (reported[0] / "index.html").read_text()
    assert html.escape(XSS_CLASS) in page
    assert XSS_CLASS not in page


def test_pruned_and_failed_trials_are_listed_but_not_averaged(reported, tmp_path):
    folder, shared_url = reported
    copy = tmp_path / "bench.db"  # the study is shared with other tests: change a copy
    shutil.copy(shared_url.removeprefix("sqlite:///"), copy)
    url = f"sqlite:///{copy}"
    study = optuna.load_study(study_name="tiny", storage=url)
    before = pd.read_csv(folder / "summary.csv").set_index("recipe_label")
    extra = dict(params={"variant": "adam"}, distributions=study.trials[0].distributions)
    study.add_trial(
        create_trial(
            state=TrialState.PRUNED,
            intermediate_values={1: 0.1},
            user_attrs={"recipe_label": "adam", "stop_reason": "pruned", "seed": 0},
            **extra,
        )
    )
    study.add_trial(
        create_trial(state=TrialState.FAIL, user_attrs={"recipe_label": "adam", "seed": 0}, **extra)
    )
    out = tmp_path / "again"
    assert main(["report", "--study", "tiny", "--storage", url, "--out", str(out)]) == 0
    after = pd.read_csv(out / "tiny" / "summary.csv").set_index("recipe_label")
    assert after.loc["adam", "n"] == 2
    assert after.loc["adam", "test_auc_mean"] == pytest.approx(before.loc["adam", "test_auc_mean"])
    trials = pd.read_csv(out / "tiny" / "trials.csv")
    assert sorted(trials["excluded"].dropna()) == ["failed", "pruned"]
    page = (out / "tiny" / "index.html").read_text()
    assert "pruned" in page and "failed" in page


def test_unknown_study_is_one_line_and_exit_2(tiny_study, tmp_path, capsys):
    _, url = tiny_study
    assert main(["report", "--study", "nope", "--storage", url, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "study 'nope' not found" in err
    assert not any(tmp_path.iterdir())


def test_two_seed_epoch_counts_are_listed_and_tests_are_corrected(reported):
    folder, url = reported
    summary = pd.read_csv(folder / "summary.csv").set_index("recipe_label")
    assert {"p_metric", "kept_epoch_values", "epochs_run_values"} <= set(summary.columns)
    trials = optuna.load_study(study_name="tiny", storage=url).trials
    text = (folder / "report.md").read_text()
    for label in ("adam", "sgd"):
        ordered = sorted(
            (t for t in trials if t.user_attrs["recipe_label"] == label),
            key=lambda t: t.user_attrs["seed"],
        )
        kept = [str(t.user_attrs["kept_epoch"]) for t in ordered]
        assert summary.loc[label, "kept_epoch_values"] == " ".join(kept)
        assert f"| {', '.join(kept)} |" in text  # two seeds: the values, not a t interval
    assert "studentized range" in text
