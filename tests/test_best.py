"""Taking the winner home: ``bench best`` prints the top candidate's recipe as TOML,
``bench train --recipe FILE`` reads it (flags win), and ``bench train --save`` writes a
model that Keras loads and that predicts the test scores ``bench train`` stored."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from conftest import error_line
from report_fixtures import add_protocol_study, add_study

from bench._record import TrialRecord
from bench._schema import SEED, VARIANT
from bench.cli import _recipe_from_args, build_parser, main
from bench.recipe import Recipe, knobs
from bench.report import study_leaderboard
from bench.spec import load_spec, recipe_toml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

KNOBS_BUT_SEED = [k.name for k in knobs() if k.name != SEED]


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A stored protocol study (three candidates, two final seeds) and a grid study."""
    url = f"sqlite:///{tmp_path_factory.mktemp('best') / 'bench.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    add_protocol_study(url, study_name="protocol", budget=3, final_seeds=(1, 2))
    add_study(
        url,
        study_name="grid",
        space={"optimizer": ["adamw", "sgd"], "l2": [0.0, 0.01]},
        seeds=(0, 1),
        epochs=3,
    )
    return url


def _best(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, dict]:
    assert main(["best", *argv]) == 0
    text = capsys.readouterr().out
    return text, tomllib.loads(text)


def _tuned(url: str, candidate: str) -> dict:
    """What the candidate's final trials stored as the settings they reran."""
    trials = optuna.load_study(study_name="protocol", storage=url).get_trials(deepcopy=False)
    records = [TrialRecord.read(t) for t in trials]
    tuned = {
        json.dumps(r.tuned, sort_keys=True)
        for r in records
        if r.phase == "final" and r.candidate == candidate
    }
    assert len(tuned) == 1
    return json.loads(tuned.pop())


def test_best_prints_the_top_candidates_recipe_as_toml(storage, capsys):
    text, recipe = _best(capsys, "--study", "protocol", "--storage", storage)
    board = study_leaderboard("protocol", storage=storage)
    top = board["recipe_label"].iloc[0]
    assert list(recipe) == KNOBS_BUT_SEED  # every knob, in declaration order; no seed
    assert recipe["optimizer"] == top
    assert recipe["learning_rate"] == _tuned(storage, top)["learning_rate"]
    assert recipe["epochs"] == 6  # the study's own, not the default
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert header[0] == f"# bench best: study 'protocol', candidate '{top}'"
    mean = board["val_auc_mean"].iloc[0]
    assert header[1].startswith(f"# mean validation AUC {mean:.4f} over 2 seeds (1 2), rank 1")
    assert "learning_rate = " in text and "# tuned on seed 0" in text
    workload = header[-1].split("bench train --recipe FILE ")[1]
    assert workload == "--dataset synthetic --preset tiny"
    build_parser().parse_args(["train", "--recipe", "best.toml", *workload.split()])


def test_candidate_picks_another_and_its_own_settings(storage, capsys):
    board = study_leaderboard("protocol", storage=storage)
    last = board["recipe_label"].iloc[-1]
    text, recipe = _best(capsys, "--study", "protocol", "--candidate", last, "--storage", storage)
    assert recipe["optimizer"] == last
    for knob, value in _tuned(storage, last).items():
        assert recipe[knob] == value
    assert f"rank {len(board)} of {len(board)}" in text


def test_the_only_study_need_not_be_named(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'one.db'}"
    add_protocol_study(url, study_name="alone", budget=2, final_seeds=(1, 2))
    _, recipe = _best(capsys, "--storage", url)
    assert recipe["optimizer"] == study_leaderboard("alone", storage=url)["recipe_label"][0]


def test_a_grid_study_gives_its_top_recipes_knobs(storage, capsys):
    text, recipe = _best(capsys, "--study", "grid", "--storage", storage)
    top = study_leaderboard("grid", storage=storage)["recipe_label"].iloc[0]
    assert set(top.split()) == {f"optimizer={recipe['optimizer']}", f"l2={recipe['l2']:.3g}"}
    assert recipe["schedule"] == "warmup_cosine"  # the study's fixed value, not the default
    assert "  # searched" in text.split("optimizer = ")[1].splitlines()[0]


def test_the_toml_is_a_specs_fixed_table_and_the_same_recipe(storage, capsys, tmp_path):
    text, recipe = _best(capsys, "--study", "protocol", "--storage", storage)
    spec = tmp_path / "again.toml"
    spec.write_text(
        'name = "again"\ndescription = "the winner, on more seeds"\nseeds = [5, 6]\n'
        f'[fixed]\n{text}\n[[variants]]\nname = "winner"\n'
    )
    again = load_spec(str(spec))
    assert again.recipe({VARIANT: "winner"}) == Recipe(**recipe)


def test_the_written_toml_reads_back_every_knob_exactly():
    values = {k: v for k, v in Recipe(learning_rate=1.23e-5, weight_decay=3).to_dict().items()}
    del values[SEED]
    assert tomllib.loads(recipe_toml(values, header=["a 'quoted'\nheader"])) == values


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--study", "nope"], "study 'nope' not found"),
        (["--study", "protocol", "--candidate", "lbfgs"], "--candidate lbfgs: not a ranked"),
        ([], "--study: sqlite:///"),  # two studies there: which one?
    ],
)
def test_bad_best_input_is_one_line_and_leaves_the_storage_as_it_was(
    storage, capsys, argv, fragment
):
    db = Path(storage.removeprefix("sqlite:///"))
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    assert main(["best", *argv, "--storage", storage]) == 2
    line = error_line(capsys)
    assert fragment in line
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert capsys.readouterr().out == ""


def test_recipe_flags_override_the_recipe_file(tmp_path):
    path = tmp_path / "best.toml"
    path.write_text('optimizer = "sgd"\nlearning_rate = 0.05\nepochs = 7\n')
    args = build_parser().parse_args(
        ["train", "--recipe", str(path), "--learning-rate", "0.2", "--l2", "0.01"]
    )
    recipe = _recipe_from_args(args)
    assert (recipe.optimizer, recipe.learning_rate, recipe.epochs, recipe.l2) == (
        "sgd",
        0.2,
        7,
        0.01,
    )


@pytest.fixture
def no_training(monkeypatch):
    """Loading the data fails the test: bad input must be refused before training."""
    import bench.workload

    def refuse(*args, **kwargs):
        raise AssertionError("bad input reached training")

    monkeypatch.setattr(bench.workload, "load_workload", refuse)


RECIPE_FILES = {
    "missing file": (None, "no such file"),
    "unknown knob": ("learning_rate = 0.01\ncolour = 3\n", "unknown recipe field 'colour'"),
    "out of range": ("dropout = 1.5\n", "dropout: got 1.5; expected a number >= 0 and < 1"),
    "wrong type": ('epochs = "20"\n', "epochs: got '20'; expected an integer"),
    "not TOML": ("learning_rate = [0.01\n", "not valid TOML"),
    "seed": ("seed = 3\n", "give the seed with --seed"),
}


@pytest.mark.parametrize("case", list(RECIPE_FILES))
def test_a_bad_recipe_file_is_one_line_before_training(case, tmp_path, capsys, no_training):
    body, fragment = RECIPE_FILES[case]
    path = tmp_path / "best.toml"
    if body is not None:
        path.write_text(body)
    out = tmp_path / "out.json"
    saved = tmp_path / "m.keras"
    argv = ["train", "--recipe", str(path), "--json", str(out), "--save", str(saved)]
    assert main(argv) == 2
    line = error_line(capsys)
    assert f"--recipe {path}: " in line and fragment in line
    assert sorted(p.name for p in tmp_path.iterdir()) == (["best.toml"] if body else [])


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("model.h5", "expected a path ending in .keras"),
        ("no/such/model.keras", "does not exist"),
        ("folder.keras", "is a folder"),
    ],
)
def test_a_bad_save_path_is_one_line_before_training(
    target, fragment, tmp_path, capsys, no_training
):
    (tmp_path / "folder.keras").mkdir()
    assert main(["train", "--save", str(tmp_path / target)]) == 2
    line = error_line(capsys)
    assert f"--save {tmp_path / target}: " in line and fragment in line


@pytest.fixture(scope="module")
def winner(storage: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``bench best`` of the protocol study into best.toml, then ``bench train --recipe``
    of it, two epochs, saved (two subprocesses, as a user runs them): the folder, the
    recipe file's values, the model's path, the run's JSON summary and its stderr."""
    folder = tmp_path_factory.mktemp("winner")
    best = folder / "best.toml"
    with best.open("w") as out:
        subprocess.run(
            [sys.executable, "-m", "bench", "best", "--study", "protocol", "--storage", storage],
            stdout=out,
            check=True,
            timeout=300,
        )
    model, summary = folder / "m.keras", folder / "out.json"
    train = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "train",
            "--recipe",
            str(best),
            "--train-size",
            "120",
            "--epochs",
            "2",
            "--l2",
            "0.01",
            "--save",
            str(model),
            "--json",
            str(summary),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert train.returncode == 0, train.stderr
    return {
        "folder": folder,
        "recipe": tomllib.loads(best.read_text()),
        "model": model,
        "result": json.loads(summary.read_text()),
        "stderr": train.stderr,
    }


@pytest.mark.slow
def test_the_winner_trains_saves_and_loads_with_keras_alone(winner):
    model, recipe, result = winner["model"], winner["recipe"], winner["result"]
    assert f"wrote {model} (the model, with the weights of epoch" in winner["stderr"]
    assert result["saved_model"] == str(model)
    trained = result["recipe"]
    assert trained["learning_rate"] == recipe["learning_rate"]  # from the file
    assert (trained["epochs"], trained["l2"]) == (2, 0.01)  # the flags win
    assert [p.name for p in winner["folder"].iterdir() if p.name.startswith(".")] == []

    import keras
    from sklearn.metrics import roc_auc_score

    from bench.workload import load_workload, register_layers

    register_layers()
    loaded = keras.saving.load_model(model)  # no custom_objects
    test = load_workload("digits", train_size=120).dataset.test
    scores = loaded.predict(test.x, verbose=0)[:, 0]
    np.testing.assert_allclose(scores, result["test_predictions"]["y_score"], atol=1e-6)
    # Keras's predict batches by 32 and bench by 256 (the last one filled up): under JAX
    # the same weights give scores equal to within 1e-6, not to the bit, and near-ties may
    # swap ranks. Predicted as bench predicts, the loaded model's AUC is the stored one.
    from bench.evaluation import predict_scores

    scores = predict_scores(loaded, test.x)[:, 0]
    auc = roc_auc_score(result["test_predictions"]["y_true"], scores)
    assert auc == pytest.approx(result["metrics"]["test"]["auc"], abs=1e-6)


# What a user writes in a fresh interpreter: nothing of bench but ``import bench``.
LOAD_AND_SCORE = """
import json, sys
import bench
model = bench.load_model(sys.argv[1])
from bench.evaluation import predict_scores
from bench.workload import load_workload
test = load_workload("digits", train_size=120).dataset.test
print(json.dumps(predict_scores(model, test.x)[:, 0].tolist()))
"""


@pytest.mark.slow  # a subprocess that loads the winner's model
def test_a_saved_model_loads_after_a_plain_import_bench(winner):
    load = subprocess.run(
        [sys.executable, "-c", LOAD_AND_SCORE, str(winner["model"])],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert load.returncode == 0, load.stderr
    scores = json.loads(load.stdout.splitlines()[-1])
    stored = winner["result"]["test_predictions"]["y_score"]
    np.testing.assert_allclose(scores, stored, atol=1e-6)
