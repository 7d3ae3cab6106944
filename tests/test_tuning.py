"""The tuning protocol: equal budgets per candidate, verdicts from seeds that chose nothing."""

from __future__ import annotations

import math
import sys
from collections import Counter
from pathlib import Path

import optuna
import pytest
from conftest import StubReporter
from optuna.trial import TrialState

from bench.cli import main
from bench.errors import BenchInputError
from bench.spec import load_spec, parse_spec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

SPEC = """
name = "protocol"
description = "two candidates, two tuning trials each, two final seeds"
epochs = 1

[workload]
dataset = "digits"
train_size = 120

[tuning]
budget = 2
seed = 0
final_seeds = [1, 2]

[[variants]]
name = "adam"
optimizer = "adam"
[variants.search_space]
learning_rate = { low = 1e-4, high = 1e-2, log = true }

[[variants]]
name = "sgd"
optimizer = "sgd"
[variants.search_space]
learning_rate = { low = 1e-3, high = 1e-1, log = true }
momentum = { low = 0.5, high = 0.95 }
"""


def _interrupt_then_resume(tmp_path: Path, small_workload, *, stop_at: int) -> list:
    from bench.storage import open_storage
    from bench.study import open_study, run_worker

    spec_path = tmp_path / "protocol.toml"
    spec_path.write_text(SPEC)
    spec = load_spec(str(spec_path))
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    handle = open_study(spec, storage=open_storage(url))
    with pytest.raises(KeyboardInterrupt):
        run_worker(
            spec,
            storage_url=url,
            study_name=handle.name,
            budget=spec.total_trials,
            workload=small_workload,
            reporter=StubReporter(stop_at_trial=stop_at),
        )
    assert main(["run", "--study", str(spec_path), "--storage", url, "--jobs", "1"]) == 0
    return optuna.load_study(study_name="protocol", storage=url).get_trials()


def _check_protocol(trials: list) -> None:
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    tune = [t for t in complete if t.user_attrs["phase"] == "tune"]
    final = [t for t in complete if t.user_attrs["phase"] == "final"]
    assert Counter(t.user_attrs["candidate"] for t in tune) == {"adam": 2, "sgd": 2}
    assert {t.user_attrs["seed"] for t in tune} == {0}
    assert sorted((t.user_attrs["candidate"], t.user_attrs["seed"]) for t in final) == [
        ("adam", 1),
        ("adam", 2),
        ("sgd", 1),
        ("sgd", 2),
    ]
    assert all("seed" not in t.params for t in trials)
    assert {name for t in tune for name in t.params} == {
        "variant",
        "adam.learning_rate",
        "sgd.learning_rate",
        "sgd.momentum",
    }
    # The dashboard names every trial's candidate, and a final trial's settings, as params.
    assert all(t.params["variant"] == t.user_attrs["candidate"] for t in complete)
    for candidate in ("adam", "sgd"):
        best = max(
            (t for t in tune if t.user_attrs["candidate"] == candidate), key=lambda t: t.value
        )
        chosen = {k.split(".", 1)[1]: v for k, v in best.params.items() if k != "variant"}
        for trial in final:
            if trial.user_attrs["candidate"] == candidate:
                assert trial.user_attrs["tuned"] == pytest.approx(chosen)
                assert trial.params == {"variant": candidate, **best.params}
                assert trial.user_attrs["recipe"]["learning_rate"] == pytest.approx(
                    chosen["learning_rate"]
                )
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]


@pytest.mark.slow
def test_resume_in_the_tuning_phase_keeps_equal_budgets(tmp_path, small_workload):
    _check_protocol(_interrupt_then_resume(tmp_path, small_workload, stop_at=2))


@pytest.mark.slow
def test_resume_in_the_final_phase_then_report_both_phases(tmp_path, small_workload, capsys):
    # One worker runs adam's tuning and final seeds, then sgd's: the 7th trial is a final.
    trials = _interrupt_then_resume(tmp_path, small_workload, stop_at=7)
    _check_protocol(trials)
    interrupted = [t for t in trials if t.state == TrialState.FAIL]
    assert [t.user_attrs["phase"] for t in interrupted] == ["final"]
    out = tmp_path / "reports"
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    assert main(["report", "--study", "protocol", "--storage", url, "--out", str(out)]) == 0
    assert (out / "protocol" / "figures" / "sensitivity.png").is_file()


def test_the_tuning_table_is_checked():
    base = {
        "name": "t",
        "description": "d",
        "tuning": {"budget": 2, "final_seeds": [1, 2]},
        "variants": [{"name": "a", "optimizer": "adam", "search_space": {"learning_rate": [1e-3]}}],
    }
    spec = parse_spec(base, source="t.toml")
    assert spec.total_trials == 4 and spec.to_dict()["tuning"]["final_seeds"] == [1, 2]
    cases = {
        "seeds": ({"seeds": [0, 1]}, "seeds: not used with [tuning]"),
        "overlap": (
            {"tuning": {"seed": 1, "final_seeds": [1, 2]}},
            "tuning.final_seeds: got [1, 2]; expected seeds other than the tuning seed 1",
        ),
        "nothing searched": (
            {"variants": [{"name": "a", "optimizer": "adam"}]},
            "variants[0].search_space: empty",
        ),
        "searched and fixed": (
            {"fixed": {"learning_rate": 0.1}},
            "variants[0].search_space.learning_rate: also set as a fixed value",
        ),
        "n_trials": ({"budget": {"n_trials": 4}}, "budget.n_trials: not used with [tuning]"),
        "a knob the optimizer does not read": (
            {
                "variants": [
                    {
                        "name": "sgd",
                        "optimizer": "sgd",
                        "search_space": {"epsilon": {"low": 1e-9, "high": 1e-3, "log": True}},
                    }
                ]
            },
            "variants[0].search_space.epsilon: sgd does not use epsilon; searching it changes "
            "nothing (it is read by adam, adamw, nadam, adagrad, rmsprop)",
        ),
        "momentum for adam": (
            {"variants": [{"name": "a", "optimizer": "adam", "search_space": {"momentum": [0.9]}}]},
            "variants[0].search_space.momentum: adam does not use momentum",
        ),
    }
    for change, fragment in cases.values():
        with pytest.raises(BenchInputError, match=None) as error:
            parse_spec({**base, **change}, source="t.toml")
        assert fragment in str(error.value)


def test_a_candidate_search_space_needs_tuning():
    raw = {
        "name": "t",
        "description": "d",
        "variants": [{"name": "a", "optimizer": "adam", "search_space": {"learning_rate": [1e-3]}}],
    }
    with pytest.raises(BenchInputError, match="a candidate's own search space needs"):
        parse_spec(raw, source="t.toml")


def test_the_builtin_tuned_optimizers_study_gives_every_optimizer_an_equal_budget():
    spec = load_spec("optimizers")
    assert len(spec.variants) == 8
    assert len(spec.tuning.final_seeds) >= 3 and spec.tuning.seed not in spec.tuning.final_seeds
    # Equal per searched field, not merely per candidate: 1-D and 2-D spaces alike.
    per_field = {spec.candidate_budget(c) / len(spec.candidate_space(c)) for c in spec.variants}
    assert len(per_field) == 1 and min(spec.candidate_budget(c) for c in spec.variants) >= 6
    for candidate in spec.variants:
        rate = spec.candidate_space(candidate)["learning_rate"]
        assert rate.log and math.log10(rate.high / rate.low) >= 3 - 1e-9
    space = {c: spec.candidate_space(c) for c in spec.variants}
    assert {space[c]["momentum"].scale for c in ("sgd", "sgd_momentum")} == {"log1m"}
    assert all(space[c]["weight_decay"].log for c in ("adamw", "lion"))
    assert all(space[c]["epsilon"].log for c in ("adam", "nadam", "rmsprop", "adagrad"))


def _two_candidates():
    return parse_spec(tomllib.loads(SPEC), source="protocol.toml")


def test_a_slot_read_between_its_record_writes_is_all_or_nothing():
    """Workers and the progress display read trials while another worker records a slot."""
    from bench.tuning import Assignment

    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    seen = []
    write = trial.set_user_attr

    def write_then_read(key, value):
        write(key, value)
        seen.append(Assignment.of(study._storage.get_trial(trial._trial_id)))

    trial.set_user_attr = write_then_read
    slot = Assignment("final", "adam", 1, {"learning_rate": 1e-3})
    slot.record(trial)
    assert seen[:-1] == [None] * (len(seen) - 1) and seen[-1] == slot


def test_a_slot_record_cut_short_by_a_crash_holds_no_slot_and_breaks_no_count():
    from bench.tuning import count_tuning_trials

    spec = _two_candidates()
    study = optuna.create_study(direction="maximize")
    cut_short = study.ask()
    cut_short.set_user_attr("phase", "tune")  # the order versions before this one wrote
    cut_short.set_user_attr("candidate", "adam")
    counts = count_tuning_trials(study, spec)
    assert (counts.finished, counts.running, counts.to_run) == (0, 0, spec.total_trials)


def _simulate_two_workers(spec, durations: dict[str, float]) -> optuna.Study:
    """Two workers (this process and its live parent) run the whole protocol against one
    in-memory study, each starting its next trial when its last one ends; returns it."""
    import heapq
    import os

    from bench._record import RecordWriter
    from bench.recovery import TrialOwner
    from bench.tuning import next_assignment, param_name

    me = TrialOwner.this_process()
    workers = [me, TrialOwner(host=me.host, pid=os.getppid(), boot_id=me.boot_id)]
    study = optuna.create_study(direction="maximize")
    clock: list[tuple[float, int, int | None]] = [(0.0, i, None) for i in range(len(workers))]
    while clock:
        now, index, running = heapq.heappop(clock)
        if running is not None:
            study.tell(running, 0.5 + (running % 7) / 100)
        trial = study.ask()
        RecordWriter.write(trial, RecordWriter.owner(**vars(workers[index])))
        slot = next_assignment(study, spec, skip=trial.number, worker=workers[index])
        if slot is None:
            RecordWriter.write(trial, RecordWriter.stopped("duplicate"))
            study.tell(trial, state=TrialState.FAIL)
            if study.get_trials(states=(TrialState.RUNNING,)):
                heapq.heappush(clock, (now + 1.0, index, None))  # waits, then asks again
            continue
        slot.record(trial)
        if slot.phase == "tune":
            trial.suggest_float(param_name(slot.candidate, "learning_rate"), 1e-5, 1e-1, log=True)
        heapq.heappush(clock, (now + durations[slot.candidate], index, trial.number))
    return study


def test_two_workers_keep_to_their_optimizer_kinds_and_still_run_every_slot_once():
    from bench._record import TrialRecord
    from bench.tuning import candidate_kind

    spec = load_spec("optimizers")
    durations = {c: 2.0 + 0.5 * (i % 3) for i, c in enumerate(spec.variants)}
    study = _simulate_two_workers(spec, durations)
    done = [TrialRecord.read(t) for t in study.get_trials(states=(TrialState.COMPLETE,))]
    assert Counter(r.candidate for r in done if r.phase == "tune") == {
        c: spec.candidate_budget(c) + spec.tuning.confirm for c in spec.variants
    }
    finals = Counter((r.candidate, r.seed) for r in done if r.phase == "final")
    assert set(finals.values()) == {1} and len(finals) == len(spec.variants) * len(
        spec.tuning.final_seeds
    )
    traces = {(r.pid, candidate_kind(spec, r.candidate)) for r in done}
    assert len(traces) <= 10  # each of 8 kinds traced once, and at most two traced twice


def test_a_last_slot_taken_by_another_worker_between_two_reads_ends_this_one_cleanly(
    tmp_path, small_workload, monkeypatch
):
    """This worker counts one trial left and none running; before it looks for a free slot,
    another worker takes that slot and finishes it. The study is done, not stuck."""
    from run_fixtures import stand_in_trial

    import bench.study._worker as worker_module
    from bench.storage import open_storage
    from bench.study import open_study, run_worker

    spec_path = tmp_path / "protocol.toml"
    spec_path.write_text(SPEC)
    spec = load_spec(str(spec_path))
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    handle = open_study(spec, storage=open_storage(url))
    can_start = worker_module._can_start
    taken = []

    def work() -> None:
        run_worker(
            spec,
            storage_url=url,
            study_name=handle.name,
            budget=spec.total_trials,
            workload=small_workload,
            train=stand_in_trial,
        )

    def slot_taken_meanwhile(study, spec):
        counts = worker_module.study_counts(study, spec, budget=spec.total_trials)
        if counts.to_run == 1 and counts.running == 0 and not taken:
            taken.append(True)
            work()  # the other worker, in between
        return can_start(study, spec)

    monkeypatch.setattr(worker_module, "_can_start", slot_taken_meanwhile)
    work()
    assert taken
    trials = optuna.load_study(study_name="protocol", storage=url).get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * spec.total_trials


DIVERGING = """
name = "diverging"
description = "adam, and sgd at rates (with an L2 rate) that surely diverge"
epochs = 6

[workload]
dataset = "digits"
train_size = 400

[tuning]
budget = 2
seed = 0
final_seeds = [1, 2, 3, 4, 5]

[[variants]]
name = "adam"
optimizer = "adam"
[variants.search_space]
learning_rate = { low = 1e-3, high = 3e-3, log = true }

[[variants]]
name = "sgd"
optimizer = "sgd"
l2 = 1.0
[variants.search_space]
learning_rate = { low = 5.0, high = 10.0, log = true }
"""


@pytest.mark.slow
def test_a_candidate_whose_every_setting_diverges_is_worse_with_its_failures_counted(
    tmp_path, capsys
):
    from bench.report import study_leaderboard

    spec = tmp_path / "diverging.toml"
    spec.write_text(DIVERGING)
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    assert main(["run", "--study", str(spec), "--storage", url, "--jobs", "1"]) == 0
    board = study_leaderboard("diverging", storage=url).set_index("recipe_label")
    assert board.loc["sgd", "n"] == 5 and board.loc["sgd", "n_failed"] == 5
    assert board.loc["sgd", "failures"] == "5 no usable tuning trial"
    assert board.loc["sgd", "val_auc_mean"] == 0.5
    assert board.loc["sgd", "vs_best"] == "worse" and board.loc["sgd", "worse_by"] == "failures"
    assert board.loc["sgd", "seeds_missing"] == "1 2 3 4 5 (no usable tuning trial)"
    assert board.loc["adam", "n_failed"] == 0 and board.loc["adam", "vs_best"] == "best"
    out = capsys.readouterr().out
    assert "Top group by mean validation AUC: adam" in out and "Worse: sgd (failures)." in out


CONFIRMING = SPEC.replace("budget = 2", "budget = 3\nconfirm = 2\nconfirm_seed = 7")


def _run_slots(spec, values: dict[tuple[int, float], float | None]) -> optuna.Study:
    """Run the protocol's slots one by one in memory; ``values`` maps (seed, learning rate)
    to the objective a trial reports (None: it diverged). Other slots score 0.7."""
    from bench._record import RecordWriter
    from bench.study import DuplicateCell, TuningSlots, make_sampler

    study = optuna.create_study(direction="maximize", sampler=make_sampler(spec))

    def objective(trial: optuna.Trial) -> float:
        sampled, _ = TuningSlots(spec).recipe(trial)  # stops the study when none is left
        value = values.get((sampled["seed"], sampled["learning_rate"]), 0.7)
        if value is None:
            RecordWriter.write(trial, RecordWriter.stopped("diverged"))
            return float("nan")
        return value

    study.optimize(objective, catch=(DuplicateCell,))
    return study


def test_confirm_chooses_the_draw_whose_worse_seed_scores_best():
    from bench._record import TrialRecord
    from bench.tuning import best_settings

    spec = parse_spec(tomllib.loads(CONFIRMING), source="protocol.toml")
    assert spec.total_trials == 2 * (3 + 2 + 2)
    probe = _run_slots(spec, {})
    draws = {}
    for trial in probe.get_trials(states=(TrialState.COMPLETE,)):
        record = TrialRecord.read(trial)
        if record.candidate == "adam" and record.seed == 0:
            draws[record.slot_index] = trial.params["adam.learning_rate"]
    assert sorted(draws) == [0, 1, 2]
    # Draw 1 is best on the tuning seed but falls on the confirm seed; draw 0 holds.
    values = {(0, draws[0]): 0.90, (0, draws[1]): 0.95, (0, draws[2]): 0.80}
    values |= {(7, draws[1]): 0.60, (7, draws[0]): 0.88, (7, draws[2]): 0.99}
    study = _run_slots(spec, values)
    records = [TrialRecord.read(t) for t in study.get_trials(states=(TrialState.COMPLETE,))]
    reruns = sorted(r.slot_index for r in records if r.candidate == "adam" and r.seed == 7)
    assert reruns == [0, 1]  # the two best draws only
    assert best_settings(study, spec, "adam") == {"learning_rate": draws[0]}
    finals = [r for r in records if r.candidate == "adam" and r.phase == "final"]
    assert [r.seed for r in finals] == [1, 2]
    assert all(r.tuned == {"learning_rate": draws[0]} for r in finals)
    # A rerun that diverged puts its draw behind every draw that held.
    values |= {(7, draws[1]): 0.999, (7, draws[0]): None}
    study = _run_slots(spec, values)
    assert best_settings(study, spec, "adam") == {"learning_rate": draws[1]}


def test_confirm_is_checked():
    def problem(text: str) -> str:
        with pytest.raises(BenchInputError) as error:
            parse_spec(tomllib.loads(text), source="t.toml")
        return str(error.value)

    assert "tuning.confirm" in problem(SPEC.replace("budget = 2", "budget = 2\nconfirm = 3"))
    clash = SPEC.replace("budget = 2", "budget = 2\nconfirm = 1\nconfirm_seed = 2")
    assert "tuning.confirm_seed" in problem(clash)
    alone = SPEC.replace("budget = 2", "budget = 2\nconfirm_seed = 9")
    assert "tuning.confirm_seed" in problem(alone)


def _draw_momenta(scale: str, *, draws: int) -> tuple[list[float], optuna.Study]:
    """The momenta sgd's tuning slots train with (their recipes), ``draws`` of them, on a
    range 0.5 to 0.99 drawn on ``scale``; every slot of the protocol runs."""
    import tomllib

    from bench.study import DuplicateCell, TuningSlots, make_sampler

    text = SPEC.replace("budget = 2", f"budget = {draws}").replace(
        "momentum = { low = 0.5, high = 0.95 }",
        f'momentum = {{ low = 0.5, high = 0.99, scale = "{scale}" }}',
    )
    spec = parse_spec(tomllib.loads(text), source="protocol.toml")
    study = optuna.create_study(direction="maximize", sampler=make_sampler(spec))
    momenta: list[float] = []

    def objective(trial: optuna.Trial) -> float:
        sampled, _ = TuningSlots(spec).recipe(trial)
        recipe = spec.recipe(sampled)
        trial.set_user_attr("recipe", recipe.to_dict())
        if sampled["variant"] == "sgd" and sampled["seed"] == spec.tuning.seed:
            momenta.append(recipe.momentum)
        # The best sgd draw is the one with the highest momentum.
        return recipe.momentum if sampled["variant"] == "sgd" else 0.5

    study.optimize(objective, catch=(DuplicateCell,))
    return momenta, study


def test_a_log1m_range_draws_momentum_nearer_1_than_a_linear_range():
    from bench._record import TrialRecord
    from bench.results import _trial_row

    linear, _ = _draw_momenta("linear", draws=32)
    log1m, study = _draw_momenta("log1m", draws=32)
    assert len(linear) == len(log1m) == 32
    assert all(0.5 <= m <= 0.99 for m in linear + log1m)
    # Uniform in log(1 - m) puts 59% of the draws above 0.9; uniform in m, 18%.
    above = {
        name: sum(m > 0.9 for m in ms) / 32 for name, ms in (("linear", linear), ("log1m", log1m))
    }
    assert above["log1m"] > 0.5 > 0.25 > above["linear"]
    assert sum(m > 0.97 for m in log1m) >= 6 > sum(m > 0.97 for m in linear)
    # The param holds 1 - m (the dashboard's view); the record, the results and the final
    # seeds hold m.
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    tune = [
        t for t in trials if TrialRecord.read(t).phase == "tune" and "sgd.1-momentum" in t.params
    ]
    assert len(tune) == 32
    for trial in tune:
        momentum = trial.user_attrs["recipe"]["momentum"]
        assert momentum == pytest.approx(1 - trial.params["sgd.1-momentum"], abs=1e-12)
        assert _trial_row(trial, TrialRecord.read(trial))["params_momentum"] == momentum
    finals = [TrialRecord.read(t) for t in trials if TrialRecord.read(t).phase == "final"]
    sgd_finals = [r for r in finals if r.candidate == "sgd"]
    assert len(sgd_finals) == 2
    assert all(r.tuned["momentum"] == max(log1m) for r in sgd_finals)
    assert all(r.recipe["momentum"] == max(log1m) for r in sgd_finals)


class _AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return True


def test_the_final_phase_never_asks_the_pruner_and_still_reports_its_epochs():
    """A pruner that prunes everything: tuning trials are told to stop, final seeds never."""
    from run_fixtures import stand_in_trial as train_nothing

    from bench.study import DuplicateCell, TrialObjective, make_sampler

    spec = _two_candidates()
    answers: list[tuple[int, bool]] = []

    def train(workload, recipe, *, on_epoch):
        def asked(record):
            answers.append((recipe.seed, on_epoch(record)))
            return False  # trains on whatever the answer, so that final seeds run too

        return train_nothing(workload, recipe, on_epoch=asked)

    study = optuna.create_study(
        direction="maximize", sampler=make_sampler(spec), pruner=_AlwaysPrune()
    )
    study.optimize(TrialObjective(spec, object(), train=train), catch=(DuplicateCell,))
    final = [(seed, told) for seed, told in answers if seed in spec.tuning.final_seeds]
    tune = [(seed, told) for seed, told in answers if seed == spec.tuning.seed]
    assert len(tune) == 4 and all(told for _, told in tune)  # the pruner acts in phase tune
    assert len(final) == 4 and not any(told for _, told in final)
    finals = [t for t in study.get_trials() if t.user_attrs.get("phase") == "final"]
    assert {t.state for t in finals} == {TrialState.COMPLETE}
    assert all(t.intermediate_values for t in finals)  # the dashboard's curves


def test_a_chosen_value_at_an_end_of_its_range_is_flagged_in_the_report(tmp_path, capsys):
    from html import unescape

    from report_fixtures import Candidate, add_protocol_study

    from bench._scales import position

    rate = {"low": 1e-4, "high": 1e-2, "log": True}
    candidates = {
        # Its objective keeps rising past the range's high end: its best draw is the highest.
        "capped": Candidate(
            space={"learning_rate": rate},
            optimum={"learning_rate": 0.02},
            width={"learning_rate": 0.3},
            peak=0.95,
        ),
        "middle": Candidate(
            space={"learning_rate": rate},
            optimum={"learning_rate": 1e-3},
            width={"learning_rate": 1.0},
            peak=0.9,
        ),
    }
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    add_protocol_study(url, study_name="edges", candidates=candidates, budget=12)
    out = tmp_path / "reports"
    assert main(["report", "--study", "edges", "--storage", url, "--out", str(out)]) == 0
    console = capsys.readouterr().out
    chosen = {}
    for trial in optuna.load_study(study_name="edges", storage=url).get_trials():
        if trial.user_attrs.get("phase") == "final":
            chosen[trial.user_attrs["candidate"]] = trial.user_attrs["tuned"]["learning_rate"]
    at = {name: position(value, low=1e-4, high=1e-2, scale="log") for name, value in chosen.items()}
    assert at["capped"] > 0.95 and 0.25 < at["middle"] < 0.75  # what the report is to say
    markdown = (out / "edges" / "report.md").read_text()
    html = unescape((out / "edges" / "index.html").read_text())
    for text in (markdown, html, console):
        assert "capped's learning_rate (high)" in text
        assert "may be limited by its range" in text
        assert "middle's" not in text
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    capped_row = next(line for line in rows if "| capped " in line and "learning_rate=" in line)
    middle_row = next(line for line in rows if "| middle " in line and "learning_rate=" in line)
    assert "†" in capped_row and "†" not in middle_row


ARMED = SPEC.replace("final_seeds = [1, 2]", "final_seeds = [1, 2]\ndefaults_arm = true")


def test_the_defaults_arm_is_a_checked_option_counted_in_the_total(tmp_path, capsys):
    plain = _two_candidates()
    armed = parse_spec(tomllib.loads(ARMED), source="protocol.toml")
    assert armed.total_trials == plain.total_trials + 2 * 2  # candidates x final seeds
    assert armed.to_dict()["tuning"]["defaults_arm"] is True
    unarmed = ARMED.replace("defaults_arm = true", "defaults_arm = false")
    off = parse_spec(tomllib.loads(unarmed), source="protocol.toml")
    assert off.content_hash() == plain.content_hash()  # stored studies keep their hash
    spec = tmp_path / "armed.toml"
    spec.write_text(ARMED.replace("defaults_arm = true", 'defaults_arm = "yes"'))
    assert main(["run", "--study", str(spec), "--storage", f"sqlite:///{tmp_path}/b.db"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "tuning.defaults_arm: got 'yes'" in lines[0]
    assert not (tmp_path / "b.db").exists()


def test_the_defaults_arm_runs_each_seed_once_at_the_knob_defaults_after_all_tuning():
    from bench._record import TrialRecord
    from bench.recipe import knob_by_name
    from bench.study import DuplicateCell, TuningSlots, make_sampler

    spec = parse_spec(tomllib.loads(ARMED), source="protocol.toml")
    study = optuna.create_study(direction="maximize", sampler=make_sampler(spec))
    recipes = {}

    def objective(trial: optuna.Trial) -> float:
        sampled, _ = TuningSlots(spec).recipe(trial)
        recipes[trial.number] = spec.recipe(sampled)
        return 0.5 + sampled["learning_rate"]

    study.optimize(objective, catch=(DuplicateCell,))
    done = [(t, TrialRecord.read(t)) for t in study.get_trials(states=(TrialState.COMPLETE,))]
    arm = [(t, r) for t, r in done if r.phase == "defaults"]
    assert Counter((r.candidate, r.seed) for _, r in arm) == {
        (c, s): 1 for c in spec.variants for s in spec.tuning.final_seeds
    }
    # After every tuning trial: it can change nothing the tuning phase chooses.
    assert min(t.number for t, _ in arm) > max(t.number for t, r in done if r.phase == "tune")
    for trial, record in arm:
        recipe = recipes[trial.number]
        assert trial.params == {"variant": record.candidate} and record.tuned is None
        assert recipe.optimizer == record.candidate
        for field in spec.candidate_space(record.candidate):
            assert getattr(recipe, field) == knob_by_name(field).default
    finals = [r for _, r in done if r.phase == "final"]
    assert all(r.tuned["learning_rate"] != knob_by_name("learning_rate").default for r in finals)


def test_a_defaults_slot_claimed_twice_is_kept_by_the_lower_trial():
    from bench.tuning import Assignment, is_taken_before

    spec = parse_spec(tomllib.loads(ARMED), source="protocol.toml")
    study = optuna.create_study(direction="maximize")
    slot = Assignment("defaults", "adam", 1)
    first, second = study.ask(), study.ask()
    slot.record(first)
    slot.record(second)
    assert not is_taken_before(study, spec, number=first.number, slot=slot)
    assert is_taken_before(study, spec, number=second.number, slot=slot)
    other_seed = Assignment("defaults", "adam", 2)
    assert not is_taken_before(study, spec, number=second.number, slot=other_seed)


def test_two_workers_run_every_defaults_slot_once():
    from bench._record import TrialRecord

    spec = parse_spec(tomllib.loads(ARMED), source="protocol.toml")
    study = _simulate_two_workers(spec, {"adam": 2.0, "sgd": 3.0})
    done = [TrialRecord.read(t) for t in study.get_trials(states=(TrialState.COMPLETE,))]
    for phase in ("final", "defaults"):
        seeds = Counter((r.candidate, r.seed) for r in done if r.phase == phase)
        assert seeds == {(c, s): 1 for c in spec.variants for s in spec.tuning.final_seeds}


def test_the_defaults_arm_never_asks_the_pruner():
    from run_fixtures import stand_in_trial as train_nothing

    from bench.study import DuplicateCell, TrialObjective, make_sampler

    spec = parse_spec(tomllib.loads(ARMED), source="protocol.toml")
    answers: list[tuple[int, bool]] = []

    def train(workload, recipe, *, on_epoch):
        def asked(record):
            answers.append((recipe.seed, on_epoch(record)))
            return False

        return train_nothing(workload, recipe, on_epoch=asked)

    study = optuna.create_study(
        direction="maximize", sampler=make_sampler(spec), pruner=_AlwaysPrune()
    )
    study.optimize(TrialObjective(spec, object(), train=train), catch=(DuplicateCell,))
    judged = [told for seed, told in answers if seed in spec.tuning.final_seeds]
    assert len(judged) == 8 and not any(judged)  # 4 final and 4 defaults seeds
    arm = [t for t in study.get_trials() if t.user_attrs.get("phase") == "defaults"]
    assert len(arm) == 4 and {t.state for t in arm} == {TrialState.COMPLETE}


@pytest.mark.slow
def test_the_defaults_arm_runs_with_two_workers_each_seed_once_at_the_defaults(tmp_path):
    from run_fixtures import PROTOCOL, start_run, stored_trials

    from bench._record import TrialRecord
    from bench.recipe import knob_by_name

    spec = tmp_path / "protocol.toml"
    text = PROTOCOL.replace("epochs = 3", "epochs = 1")
    spec.write_text(text.replace("seeds = [1, 2]", "seeds = [1, 2]\ndefaults_arm = true"))
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    log = tmp_path / "run.log"
    # The trials train nothing: what is checked is which trials the two workers run.
    run = start_run(spec, url, "--jobs", "2", log=log, stand_in_epoch_s=0)
    assert run.wait(timeout=600) == 0, log.read_text()
    done = [
        (t, TrialRecord.read(t))
        for t in stored_trials(url, "protocol")
        if t.state == TrialState.COMPLETE
    ]
    arm = [(t, r) for t, r in done if r.phase == "defaults"]
    assert Counter((r.candidate, r.seed) for _, r in arm) == {
        (c, s): 1 for c in ("adam", "sgd") for s in (1, 2)
    }
    default_rate = knob_by_name("learning_rate").default
    assert all(t.user_attrs["recipe"]["learning_rate"] == default_rate for t, _ in arm)
    finals = [t for t, r in done if r.phase == "final"]
    assert len(finals) == 4
    assert all(t.user_attrs["recipe"]["learning_rate"] != default_rate for t in finals)
    out = tmp_path / "reports"
    assert main(["report", "--study", "protocol", "--storage", url, "--out", str(out)]) == 0
    markdown = (out / "protocol" / "report.md").read_text()
    section = markdown.split("## Defaults arm", 1)[1].split("\n## ", 1)[0]
    openings = ("Tuning changed the ranking", "Tuning kept the top group", "Tuning did not change")
    assert any(opening in section for opening in openings)
    import pandas as pd

    arm = pd.read_csv(out / "protocol" / "defaults.csv")
    assert sorted(arm["candidate"]) == ["adam", "sgd"] and set(arm["defaults_n"]) == {2}


def test_a_defaults_trial_whose_worker_died_is_run_again_in_its_own_slot():
    import subprocess

    from bench._record import RecordWriter, TrialRecord
    from bench.recovery import TrialOwner, recover_stale_trials
    from bench.tuning import Assignment, count_tuning_trials, next_assignment

    spec = parse_spec(tomllib.loads(ARMED), source="protocol.toml")
    study = _run_until(spec, phase="defaults")
    me = TrialOwner.this_process()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a worker killed with -9 mid-trial: its process is gone
    trial = study.ask()
    RecordWriter.write(trial, RecordWriter.owner(host=me.host, pid=dead.pid, boot_id=me.boot_id))
    slot = next_assignment(study, spec, skip=trial.number)
    slot.record(trial)
    assert slot.phase == "defaults"
    left = count_tuning_trials(study, spec).to_run
    assert recover_stale_trials(study) == [trial.number]
    queued = study.get_trials(states=(TrialState.WAITING,))
    assert [Assignment.of(t) for t in queued] == [slot]  # the copy keeps the slot
    assert next_assignment(study, spec) != slot  # and nobody else is given it
    assert count_tuning_trials(study, spec).to_run == left + 1  # it is to run again
    held = [
        TrialRecord.read(t)
        for t in study.get_trials()
        if Assignment.of(t) == slot and t.state != TrialState.FAIL
    ]
    assert len(held) == 1


def _run_until(spec, *, phase: str) -> optuna.Study:
    """An in-memory study of ``spec`` whose slots ran (score 0.7) until the next free one
    is of ``phase``."""
    from bench.tuning import next_assignment

    study = optuna.create_study(direction="maximize")
    while (slot := next_assignment(study, spec)) is not None and slot.phase != phase:
        trial = study.ask()
        slot.record(trial)
        study.tell(trial, 0.7 + 0.01 * trial.number)
    return study


def _pruned_tuning_draws(pruner: optuna.pruners.BasePruner) -> Counter:
    """The protocol's 4 tuning draws per candidate, each scoring above its candidate's
    earlier draws but every sgd draw below every adam draw; the pruned ones per candidate."""
    import dataclasses

    from run_fixtures import stand_in_trial as train_nothing

    from bench._schema import PRUNED
    from bench.study import DuplicateCell, TrialObjective, make_sampler

    spec = parse_spec(
        tomllib.loads(SPEC.replace("budget = 2", "budget = 4").replace("epochs = 1", "epochs = 3"))
        | {"pruner": "median"},
        source="protocol.toml",
    )
    draws: Counter = Counter()

    def train(workload, recipe, *, on_epoch):
        draws[recipe.optimizer] += 1
        base = {"adam": 0.90, "sgd": 0.60}[recipe.optimizer] + 0.01 * draws[recipe.optimizer]
        result = train_nothing(workload, recipe)
        for epoch in (1, 2, 3):
            if on_epoch({"epoch": epoch, "val_auc": base + 0.001 * epoch}):
                return dataclasses.replace(result, stop_reason=PRUNED, epochs_run=epoch)
        return result

    study = optuna.create_study(direction="maximize", sampler=make_sampler(spec), pruner=pruner)
    study.optimize(TrialObjective(spec, object(), train=train), catch=(DuplicateCell,))
    return Counter(
        t.user_attrs["candidate"]
        for t in study.get_trials(states=(TrialState.PRUNED,))
        if t.user_attrs.get("phase") == "tune"
    )


def test_a_tuning_trial_is_pruned_against_its_own_candidates_draws_only():
    from bench.study import make_pruner

    median = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2)
    spec = parse_spec(tomllib.loads(SPEC) | {"pruner": "median"}, source="protocol.toml")
    # Optuna's pruner alone compares sgd's draws with adam's, and cuts them short.
    assert _pruned_tuning_draws(median)["sgd"] > 0
    # As the runner builds it, each candidate is compared with its own draws only: every
    # draw here beats its candidate's earlier ones, so none is cut short.
    assert _pruned_tuning_draws(make_pruner(spec)) == Counter()


LOOKS = SPEC.replace(
    "final_seeds = [1, 2]", "final_seeds = [1, 2, 3]\nsecond_look_seeds = [4, 5, 6]"
)
LOOKS += """
[[variants]]
name = "nadam"
optimizer = "nadam"
[variants.search_space]
learning_rate = { low = 1e-4, high = 1e-2, log = true }
"""


def test_the_second_look_is_a_checked_option_counted_in_the_total(tmp_path, capsys):
    looks = parse_spec(tomllib.loads(LOOKS), source="looks.toml")
    one_look = LOOKS.replace("second_look_seeds = [4, 5, 6]\n", "")
    plain = parse_spec(tomllib.loads(one_look), source="looks.toml")
    assert looks.total_trials == plain.total_trials + 3 * 3  # at most: candidates x seeds
    assert looks.to_dict()["tuning"]["second_look_seeds"] == [4, 5, 6]
    assert "second_look_seeds" not in plain.to_dict()["tuning"]  # stored studies keep their hash
    spec = tmp_path / "looks.toml"
    for wrong, says in (
        ("second_look_seeds = [3, 4]", "tuning.second_look_seeds: got [3, 4]; expected seeds"),
        ("second_look_seeds = []", "tuning.second_look_seeds: got []; expected a non-empty"),
    ):
        spec.write_text(LOOKS.replace("second_look_seeds = [4, 5, 6]", wrong))
        assert main(["run", "--study", str(spec), "--storage", f"sqlite:///{tmp_path}/b.db"]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and says in lines[0], lines
        assert not (tmp_path / "b.db").exists()


#: Validation AUC per optimizer: adam and nadam level, sgd far below.
_LEVELS = {"adam": 0.95, "nadam": 0.95, "sgd": 0.6}


def _levelled_trial(workload, recipe, *, on_epoch=None, **_):
    """A stand-in trial scoring its optimizer's level, plus a seed's noise of 0.02."""
    import dataclasses

    from run_fixtures import stand_in_trial

    score = _LEVELS[recipe.optimizer] + 0.02 * math.sin(
        12.9898 * recipe.seed + len(recipe.optimizer)
    )
    result = stand_in_trial(workload, recipe, on_epoch=on_epoch)
    split = {"loss": 1 - score, "accuracy": score, "auc": score}
    return dataclasses.replace(
        result,
        metrics={name: dict(split) for name in result.metrics},
        history=[{**result.history[0], "val_auc": score}],
    )


def test_the_second_look_reruns_the_best_and_the_undecided_on_more_seeds(tmp_path):
    from html import unescape

    from bench._record import TrialRecord
    from bench.report import verdicts_of
    from bench.results import load_results
    from bench.storage import open_storage
    from bench.study import DuplicateCell, TrialObjective, make_sampler, open_study
    from bench.tuning import count_tuning_trials

    spec = parse_spec(tomllib.loads(LOOKS), source="looks.toml")
    url = f"sqlite:///{tmp_path / 'looks.db'}"
    name = open_study(spec, storage=open_storage(url)).name
    study = optuna.load_study(study_name=name, storage=url, sampler=make_sampler(spec))
    study.optimize(TrialObjective(spec, object(), train=_levelled_trial), catch=(DuplicateCell,))
    records = [(t.number, TrialRecord.read(t)) for t in study.get_trials(deepcopy=False)]
    final = [(n, r) for n, r in records if r.phase == "final"]
    seeds = {c: sorted(r.seed for _, r in final if r.candidate == c) for c in spec.variants}
    # sgd is told apart on its first three seeds; adam and nadam are not, and rerun.
    assert seeds == {"adam": [1, 2, 3, 4, 5, 6], "nadam": [1, 2, 3, 4, 5, 6], "sgd": [1, 2, 3]}
    first, second = ([n for n, r in final if (r.seed > 3) == later] for later in (False, True))
    assert max(first) < min(second)  # the second look starts once the first has ended
    counts = count_tuning_trials(study, spec)
    assert (counts.finished, counts.running, counts.to_run) == (2 * 3 + 6 + 6 + 3, 0, 0)
    board = verdicts_of(load_results(name, storage=url)).summary.set_index("recipe_label")
    assert board.loc["sgd", ["vs_best", "look", "n", "n_planned"]].tolist() == ["worse", 1, 3, 3]
    assert board.loc[["adam", "nadam"], "n_planned"].tolist() == [6, 6]
    assert set(board.loc[["adam", "nadam"], "look"]) == {2}
    assert main(["report", "--storage", url, "--study", name, "--out", str(tmp_path / "r")]) == 0
    page = unescape((tmp_path / "r" / name / "index.html").read_text(encoding="utf-8"))
    assert "The verdict looks twice: first on seeds 1, 2, 3;" in page
    assert "worse (metric, look 1)" in page
    assert "3 final seeds (1, 2, 3) and, for the best and the candidates those leave " in page
    assert "second-look seeds" in page


def test_the_progress_total_shrinks_to_what_the_second_look_runs():
    import io

    from rich.console import Console

    from bench.console import StudyDisplay
    from bench.recovery import TrialCounts

    log = io.StringIO()
    display = StudyDisplay(
        total=24, metric="val_auc", direction="maximize", console=Console(file=log, width=200)
    )
    display.trials_done(TrialCounts(finished=15, running=0, to_run=9, running_elsewhere=()))
    display.trials_done(TrialCounts(15, 1, 5, ()))  # the first look judged
    assert log.getvalue().splitlines() == [
        "15 of 24 trials done",
        "15 of 21 trials done, 1 running",
    ]
