"""The stored trial record has one owner: keys declared once, one writer, one reader, and
the report reads what the runner's writer stores, in every ending."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial
from report_fixtures import (
    DIVERGED,
    DIVERGED_KEPT,
    FAILED,
    PRUNED,
    RUNNING,
    add_protocol_study,
)

from bench._record import (
    OWNER_ATTRS,
    RESULT_ATTRS,
    TRIAL_ATTRS,
    RecordWriter,
    TrialRecord,
    TrialResult,
)
from bench.results import load_results

PACKAGE = Path(__file__).resolve().parent.parent / "bench"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _user_attr_keys_spelled(tree: ast.AST) -> list[tuple[int, str]]:
    """String literals used as a user-attribute key: set_user_attr("k", ...),
    x.user_attrs["k"], x.user_attrs.get("k"), and keys of a ``user_attrs={...}`` dict."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            first = node.args[0] if node.args else None
            is_literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
            if func.attr == "set_user_attr" and is_literal:
                found.append((node.lineno, first.value))
            on_attrs = isinstance(func.value, ast.Attribute) and func.value.attr == "user_attrs"
            if func.attr == "get" and on_attrs and is_literal:
                found.append((node.lineno, first.value))
            for keyword in node.keywords:
                if keyword.arg == "user_attrs" and isinstance(keyword.value, ast.Dict):
                    for key in keyword.value.keys:
                        if isinstance(key, ast.Constant):
                            found.append((node.lineno, key.value))
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "user_attrs"
            and isinstance(node.slice, ast.Constant)
        ):
            found.append((node.lineno, node.slice.value))
    return found


def test_no_user_attribute_key_is_spelled_outside_its_declaration() -> None:
    spelled = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {key!r}"
        for name, path in _modules().items()
        if name != "bench._record"
        for line, key in _user_attr_keys_spelled(ast.parse(path.read_text()))
    ]
    assert spelled == []


def test_the_key_check_finds_a_spelled_key() -> None:
    tree = ast.parse(
        'trial.set_user_attr("seed", 1)\n'
        'x = trial.user_attrs.get("phase")\n'
        'y = trial.user_attrs["pid"]\n'
        'study.enqueue_trial({}, user_attrs={"seed": 2})\n'
    )
    assert [key for _, key in _user_attr_keys_spelled(tree)] == ["seed", "phase", "pid", "seed"]


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The bench modules ``name`` imports, anywhere in its source (lazy imports too), but
    not those only for type checkers (``if TYPE_CHECKING:``), which never run."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles, state = [], dict.fromkeys(graph, 0)

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for other in sorted(graph[node]):
            if state[other] == 1:
                cycles.append([*stack[stack.index(other) :], other])
            elif state[other] == 0:
                visit(other, [*stack, other])
        state[node] = 2

    for node in sorted(graph):
        if state[node] == 0:
            visit(node, [node])
    return cycles


def test_bench_imports_run_one_way() -> None:
    modules = _modules()
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        # A package re-exports its own modules; only imports between modules can cycle.
        graph[name] = {
            target
            for target in _imports(name, path, modules)
            if not (path.name == "__init__.py" and target.startswith(f"{name}."))
        }
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


def test_no_module_of_the_package_is_over_500_lines() -> None:
    lengths = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    assert {name: n for name, n in lengths.items() if n > 500} == {}


# ----------------------------------------------------------------------------- round trip


def _result(**changes: object) -> TrialResult:
    fields = dict(
        history=[{"epoch": 1, "loss": 0.5, "val_auc": 0.8}],
        kept_epoch=1,
        epochs_run=1,
        stop_reason="completed",
        metrics={"val": {"auc": 0.8, "loss": math.nan}},
        gap={"accuracy": 0.1, "loss": 0.2},
        test_predictions={"y_true": [0, 1], "y_score": [0.2, 0.7]},
        class_names=["no", "yes"],
        task="binary",
        recipe={"optimizer": "adam", "seed": 3},
        workload={"dataset": "digits"},
        wall_time_s=1.5,
        images_per_s=100.0,
        versions={"optuna": optuna.__version__},
    )
    fields.update(changes)
    return TrialResult(**fields)  # type: ignore[arg-type]


def test_what_the_writer_stores_the_reader_reads_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    study = optuna.create_study(storage=url, study_name="s", direction="maximize")
    trial = study.ask()
    RecordWriter.write(trial, RecordWriter.owner(host="h", pid=7, boot_id="b"))
    RecordWriter.write(
        trial, RecordWriter.slot(phase="final", candidate="adam", seed=3, tuned={"lr": 0.1})
    )
    RecordWriter.write(trial, RecordWriter.labelled("adam (final)", seed=3))
    RecordWriter.write(trial, RecordWriter.result(_result()))
    study.tell(trial, 0.8)
    stored = optuna.load_study(study_name="s", storage=url).trials[0]
    record = TrialRecord.read(stored)
    assert (record.host, record.pid, record.boot_id) == ("h", 7, "b")
    assert (record.phase, record.candidate, record.seed, record.tuned) == (
        "final",
        "adam",
        3,
        {"lr": 0.1},
    )
    assert record.recipe_label == "adam (final)"
    assert record.metrics == {"val": {"auc": 0.8, "loss": None}}  # NaN stored as null
    assert record.history == [{"epoch": 1, "loss": 0.5, "val_auc": 0.8}]
    # Every attribute but a tuning slot's index and those of a trial that raised or
    # was stopped by a signal.
    unused = {"slot_index", "error", "interrupted"}
    assert set(stored.user_attrs) == {a.key for a in TRIAL_ATTRS} - unused
    assert "class_names" not in stored.user_attrs and "task" not in stored.user_attrs


def test_a_record_never_fails_on_junk() -> None:
    junk = {a.key: object.__name__ for a in RESULT_ATTRS} | {"seed": True, "phase": "later"}
    record = TrialRecord.from_attrs(junk)
    assert record.seed is None and record.phase is None and record.history is None
    assert record.stop_reason == "object"  # a reason this version does not know is kept


def test_a_queued_copy_never_carries_its_dead_owner(tmp_path: Path) -> None:
    from bench.storage import retry_callback

    study = optuna.create_study()
    attrs = {
        **RecordWriter.owner(host="h", pid=1234567, boot_id="b"),
        **RecordWriter.slot(phase="tune", candidate="adam", seed=0),
    }
    study.add_trial(create_trial(state=TrialState.FAIL, user_attrs=attrs))
    retry_callback(max_retry=None)(study, study.trials[0])
    copy = TrialRecord.read(study.trials[1])
    assert study.trials[1].state == TrialState.WAITING
    assert (copy.phase, copy.candidate, copy.seed) == ("tune", "adam", 0)
    assert not {a.key for a in OWNER_ATTRS} & set(study.trials[1].user_attrs)


# ----------------------------------------------------------------------------- earlier layouts


def test_studies_stored_in_earlier_layouts_still_read(tmp_path: Path) -> None:
    """Two layouts of earlier versions: the seed as an Optuna param (no ``seed`` user
    attribute), and tuning-protocol params named by field alone (no ``<candidate>.``)."""
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    grid = optuna.create_study(storage=url, study_name="grid", direction="maximize")
    grid.add_trial(
        create_trial(
            params={"variant": "adam", "seed": 1},
            distributions={
                "variant": CategoricalDistribution(["adam", "sgd"]),
                "seed": IntDistribution(0, 2),
            },
            value=0.9,
            user_attrs={"recipe_label": "adam", "metrics": {"test": {"auc": 0.88}}},
        )
    )
    fair = optuna.create_study(storage=url, study_name="fair", direction="maximize")
    fair.add_trial(
        create_trial(
            params={"learning_rate": 0.01},
            distributions={"learning_rate": FloatDistribution(1e-4, 1.0, log=True)},
            value=0.8,
            user_attrs={"phase": "tune", "candidate": "sgd", "seed": 0, "recipe_label": "sgd"},
        )
    )
    rows = load_results("grid", storage=url).trials
    assert rows.loc[0, ["recipe_label", "seed", "test_auc"]].tolist() == ["adam", 1, 0.88]
    assert "params_seed" not in rows.columns
    rows = load_results("fair", storage=url).trials
    assert rows.loc[0, ["phase", "candidate", "params_learning_rate"]].tolist() == [
        "tune",
        "sgd",
        0.01,
    ]


# ----------------------------------------------------------------------------- every ending


@pytest.fixture(scope="module")
def every_ending(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('endings') / 'bench.db'}"
    add_protocol_study(
        url,
        study_name="endings",
        budget=6,
        final_seeds=(1, 2, 3),
        tune_outcomes={("sgd", 1): PRUNED, ("adam", 2): DIVERGED, ("rmsprop", 0): DIVERGED_KEPT},
        final_outcomes={("adam", 2): FAILED, ("sgd", 3): RUNNING, ("rmsprop", 1): DIVERGED},
    )
    return url


def test_a_protocol_study_in_every_ending_reads_as_the_runner_stored_it(every_ending: str):
    trials = load_results("endings", storage=every_ending).trials.set_index(
        ["phase", "candidate", "seed"]
    )
    stored = optuna.load_study(study_name="endings", storage=every_ending).trials
    assert set(trials["state"]) == {"COMPLETE", "PRUNED", "FAIL", "RUNNING"}
    running = trials.loc[("final", "sgd", 3)]
    assert running["state"] == "RUNNING" and pd.isna(running["stop_reason"])
    assert math.isnan(running["test_auc"])
    interrupted = trials.loc[("final", "adam", 2)]
    assert interrupted["state"] == "FAIL" and pd.isna(interrupted["stop_reason"])
    diverged = trials.loc[("final", "rmsprop", 1)]
    assert (diverged["state"], diverged["stop_reason"]) == ("FAIL", "diverged")
    assert math.isnan(diverged["test_auc"]) and diverged["epochs_run"] == 6
    assert all("seed" not in t.params for t in stored)
    tune_params = {k for t in stored for k in t.params}
    assert tune_params == {"sgd.learning_rate", "sgd.momentum", "adam.learning_rate",
                           "rmsprop.learning_rate"}  # fmt: skip


def test_the_report_of_every_ending_judges_final_seeds_and_says_why_others_are_out(
    every_ending: str, tmp_path: Path
) -> None:
    from bench.report import write_report

    report = write_report("endings", storage=every_ending, out_dir=tmp_path / "out")
    summary = pd.read_csv(report.summary_csv).set_index("recipe_label")
    assert summary.loc["adam", "n"] == 2 and summary.loc["sgd", "n"] == 2
    assert "2 (failed)" in summary.loc["adam", "seeds_missing"]
    assert "3 (running)" in summary.loc["sgd", "seeds_missing"]
    assert "1 (diverged)" in summary.loc["rmsprop", "seeds_missing"]
    drawn = {path.stem for path in report.figures if path.is_file()}
    assert {"generalization_gap", "test_auc", "learning_curves_auc"} <= drawn
