"""The command line: a training summary, a JSON result, and one-line errors with status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import error_line, write_digits_npz

from bench.cli import main


@pytest.mark.slow  # about 6 s: two epochs of training
def test_train_prints_a_summary_and_writes_the_documented_json(tmp_path, capsys):
    out = tmp_path / "result.json"
    status = main(["train", "--train-size", "120", "--epochs", "2", "--json", str(out)])
    assert status == 0
    assert "kept epoch" in capsys.readouterr().out
    result = json.loads(out.read_text())
    for key in (
        "history",
        "kept_epoch",
        "epochs_run",
        "stop_reason",
        "metrics",
        "gap",
        "test_predictions",
        "class_names",
        "task",
        "recipe",
        "wall_time_s",
        "images_per_s",
    ):
        assert key in result
    assert [
        set(h) >= {"epoch", "loss", "accuracy", "auc", "val_loss", "val_accuracy", "val_auc", "lr"}
        for h in result["history"]
    ] == [True, True]
    assert set(result["metrics"]) == {"train", "val", "test"}
    assert result["recipe"]["epochs"] == 2 and result["task"] == "binary"
    assert result["stop_reason"] in ("completed", "early_stopped")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--optimizer", "adamax"], "--optimizer: got 'adamax'; expected one of adam, adamw"),
        (["--schedule", "cyclic"], "--schedule: got 'cyclic'; expected one of constant"),
        (["--preset", "huge"], "invalid choice: 'huge'"),
        (["--dataset", "imagenet"], "dataset 'imagenet'"),
        (["--learning-rate", "-1"], "--learning-rate: got '-1'; expected a number > 0"),
        (["--dropout", "1"], "--dropout: got '1'; expected a number >= 0 and < 1"),
        (["--patience", "-1"], "--patience: got '-1'; expected an integer >= 0"),
        (["--epochs", "0"], "--epochs: got '0'; expected an integer >= 1"),
        (["--restore-best-weights", "maybe"], "expected true or false"),
    ],
)
def test_bad_values_exit_2_with_one_line_naming_the_input(argv, fragment, capsys):
    assert main(["train", *argv]) == 2
    assert fragment in error_line(capsys)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"test_labels": None}, "test_labels"),
        ({"val_labels": np.zeros(3, "int64")}, "val"),
        (
            {
                "train_labels": np.zeros((120, 1), "int64"),
                "val_labels": np.zeros((60, 1), "int64"),
                "test_labels": np.zeros((60, 1), "int64"),
            },
            "class",
        ),
        ({"train_labels": np.array([{"a": 1}] * 120, dtype=object)}, "pickle"),
    ],
)
def test_bad_npz_exits_2_and_writes_nothing(tmp_path, capsys, overrides, fragment):
    npz = write_digits_npz(tmp_path / "data.npz", **overrides)
    out = tmp_path / "out.json"
    assert main(["train", "--dataset", f"npz:{npz}", "--json", str(out)]) == 2
    line = error_line(capsys)
    assert str(npz) in line and fragment in line.lower()
    assert not out.exists()


def test_bad_folders_exit_2(tmp_path, capsys):
    assert main(["train", "--dataset", f"folder:{tmp_path / 'missing'}"]) == 2
    assert "missing" in error_line(capsys)
    (tmp_path / "empty").mkdir()
    assert main(["train", "--dataset", f"folder:{tmp_path / 'empty'}"]) == 2
    assert "empty" in error_line(capsys)
    broken = tmp_path / "broken"
    for cls in ("a", "b"):
        (broken / cls).mkdir(parents=True)
        for i in range(4):
            (broken / cls / f"{i}.png").write_bytes(b"not a png")
    assert main(["train", "--dataset", f"folder:{broken}"]) == 2
    assert ".png" in error_line(capsys)


def test_json_target_in_a_missing_folder_is_refused_before_training(tmp_path, capsys):
    assert main(["train", "--json", str(tmp_path / "no" / "out.json")]) == 2
    assert "does not exist" in error_line(capsys)


@pytest.mark.slow
def test_the_installed_command_exits_2_without_a_traceback():
    run = subprocess.run(
        [sys.executable, "-m", "bench", "train", "--epochs", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "bench: error: --epochs: got '0'; expected an integer >= 1 and <= 10000"
    )
