"""What a report says: the computed content, and the words and display tables drawn from it.

:class:`ReportContent` holds the numbers; :func:`report_view` turns them into the sentences
and tables every rendering (HTML page, Markdown file, dashboard note) lays out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from bench.report._compare import (
    FAILURE_TEST_NAME,
    LUCK_NAME,
    TEST_NAME,
)
from bench.report._defaults_arm import DefaultsArm, defaults_display
from bench.report._excluded import excluded_frame, excluded_sentence
from bench.report._headline import verdict_headline
from bench.report._labels import (
    ROW_MARKS,
    counts_text,
    display_label,
    missing_by_recipe,
    objective_text,
    pairs_text,
)
from bench.report._leaderboard import leaderboard_frame
from bench.report._metrics import MIN_INTERVAL_N, SUMMARY_METRICS
from bench.report._protocol import TuningProtocol, edge_sentence, protocol_sentence
from bench.report._selection import QUEUED, RUNNING, TrialCounts
from bench.report._significance import ALPHA, LOOK_ALPHA
from bench.report._stats import CONFIDENCE
from bench.report._study_facts import search_space_table, study_facts
from bench.report._time_to_target import TimeToTarget
from bench.report.figures import ReportFigure
from bench.results import StudyResults
from bench.storage import redact_url

#: Where the figure files go, relative to the report directory.
FIGURE_DIR = "figures"


@dataclass(frozen=True)
class ReportContent:
    """Everything a rendered report says, computed once and rendered several ways.

    Attributes:
        results: The study as read from the storage.
        summary: One row per recipe, ranked (the ``summary.csv`` rows).
        ranked_by: The metric the ranking and the best-recipe test use.
        trials: All trials with an ``excluded`` column (``""`` when the trial counts).
        judged: The trials verdicts come from, with ``excluded``: all of ``trials``, or
            under a tuning protocol the final-phase ones labelled by candidate.
        excluded_counts: Excluded trials per reason (all trials, tuning ones included).
        counts: Every trial counted once: tuning, in the verdict, or neither.
        missing: The spec's seeds each recipe has no counted trial for, one row each
            (``recipe_label``, ``seed``, ``why``; see ``missing_seeds``).
        time_to_target: Time-to-target results, or ``None``.
        protocol: How much tuning each candidate got, or ``None`` without phases.
        figures: The figures, in reading order.
        generated_at: When the report was built.
        defaults_arm: The defaults arm beside the tuned ranking, or ``None`` for a study
            without it.
    """

    results: StudyResults
    summary: pd.DataFrame
    ranked_by: str
    trials: pd.DataFrame
    judged: pd.DataFrame
    excluded_counts: Mapping[str, int]
    counts: TrialCounts
    missing: pd.DataFrame
    time_to_target: TimeToTarget | None
    protocol: TuningProtocol | None
    figures: Sequence[ReportFigure]
    generated_at: datetime
    defaults_arm: DefaultsArm | None = None

    @property
    def n_included(self) -> int:
        """How many trials the numbers are computed from."""
        return int((self.judged["excluded"] == "").sum())


@dataclass(frozen=True)
class ReportView:
    """A report's words and display tables; the templates only lay them out.

    Attributes:
        study_name: The study reported.
        storage: The storage URL with its password hidden.
        generated_at: When the report was built, as text.
        lead: What the study holds and which recipe is best, in sentences.
        spec: The study's facts as rows of (field, value), those of its kind only.
        search_space: Each candidate's search space, one row per knob (may be empty).
        spec_json: The whole stored spec, indented JSON.
        leaderboard: The ranked recipes as display strings (empty when none ranks).
        leaderboard_marks: Per leaderboard row: ``best``, ``tied`` or ``""``.
        method: How the intervals and the test are computed.
        figures: The figures, in reading order.
        figure_dir: Where the figure files are, relative to the report.
        tuning: What the Tuning section says (``""`` without a tuning protocol).
        tuning_table: One row per candidate: how it was tuned and what it chose, or
            ``None`` without a tuning protocol.
        defaults: What the Defaults arm section says (``""`` without the arm).
        defaults_table: One row per candidate at its defaults and tuned, or ``None``
            without the arm.
        missing: What the Missing seeds section says (``""`` when the spec names no seeds).
        missing_table: One row per recipe that lacks seeds (may be empty).
        time_to_target: How the time-to-target table reads (``""`` when there is none).
        time_to_target_table: One row per recipe, or ``None``.
        excluded: What the Excluded trials section says.
        excluded_table: One row per excluded trial (may be empty).
        versions: The library versions the trials ran with.
    """

    study_name: str
    storage: str
    generated_at: str
    lead: str
    spec: pd.DataFrame
    search_space: pd.DataFrame
    spec_json: str
    leaderboard: pd.DataFrame
    leaderboard_marks: list[str]
    method: str
    figures: Sequence[ReportFigure]
    figure_dir: str
    tuning: str
    tuning_table: pd.DataFrame | None
    defaults: str
    defaults_table: pd.DataFrame | None
    missing: str
    missing_table: pd.DataFrame
    time_to_target: str
    time_to_target_table: pd.DataFrame | None
    excluded: str
    excluded_table: pd.DataFrame
    versions: str


def report_view(content: ReportContent) -> ReportView:
    """The words and tables of ``content``, ready for a template.

    Example:
        >>> from bench.report._example import example_report
        >>> for sentence in report_view(example_report()).lead.split(". "):
        ...     print(sentence)
        4 trials: 4 in the verdict
        Top group by mean validation AUC: adam (0.910 [0.783, 1.000], n=2)
        Worse: sgd (metric).
    """
    results = content.results
    board = leaderboard_frame(content.summary) if not content.summary.empty else pd.DataFrame()
    return ReportView(
        study_name=results.study_name,
        storage=redact_url(results.storage),
        generated_at=content.generated_at.strftime("%Y-%m-%d %H:%M:%S"),
        lead=_lead(content),
        spec=study_facts(
            results.spec,
            workload=results.workload,
            spec_hash=results.spec_hash,
            backend=results.backend,
            versions=results.versions,
        ),
        search_space=search_space_table(results.spec),
        spec_json=json.dumps(results.spec, indent=2, default=str, ensure_ascii=False),
        leaderboard=board,
        leaderboard_marks=[ROW_MARKS.get(s, "") for s in content.summary["vs_best"]],
        method=method_sentence(
            content.ranked_by,
            final_only=content.protocol is not None,
            tuning_luck=bool(content.summary.get("tuning_sd", pd.Series()).notna().any()),
            looks=_looks(results),
        ),
        figures=content.figures,
        figure_dir=FIGURE_DIR,
        tuning=_tuning_sentence(content),
        tuning_table=_tuning_table(content),
        defaults=_defaults_sentence(content),
        defaults_table=(
            defaults_display(content.defaults_arm.table) if content.defaults_arm else None
        ),
        missing=_missing_sentence(content),
        missing_table=_missing_table(content),
        time_to_target=_time_sentence(content.time_to_target),
        time_to_target_table=_time_table(content),
        excluded=excluded_sentence(content.excluded_counts),
        excluded_table=excluded_frame(content.trials),
        versions=pairs_text(results.versions) or "not recorded",
    )


def _looks(results: StudyResults) -> tuple[Sequence[int], Sequence[int]] | None:
    plan = results.tuning
    if plan is None or not plan.second_look_seeds:
        return None
    return plan.final_seeds, plan.second_look_seeds


def method_sentence(
    ranked_by: str,
    *,
    final_only: bool = False,
    tuning_luck: bool = False,
    looks: tuple[Sequence[int], Sequence[int]] | None = None,
) -> str:
    """The sentence naming the interval, the test and its correction, for every rendering.

    ``final_only`` says that only final-phase seeds enter (a tuning-protocol study);
    ``tuning_luck`` that the metric test counts the candidates' tuning luck; ``looks``
    (the seeds of the first look and those the second adds) that the verdict looks twice.

    Example:
        >>> method_sentence("test_auc")[:60]
        'Values are the mean over seeds ± the half-width of a 95% Stu'
        >>> "studentized range" in method_sentence("test_auc")
        True
        >>> method_sentence("test_auc", final_only=True)[:58]
        'Only final-phase trials count: seeds that did not choose t'
        >>> "tuning luck" in method_sentence("val_auc", final_only=True, tuning_luck=True)
        True
        >>> "The verdict looks twice: first on seeds 1, 2, 3;" in method_sentence(
        ...     "val_auc", looks=((1, 2, 3), (4, 5))
        ... )
        True
    """
    metric = SUMMARY_METRICS.get(ranked_by, ranked_by)
    final = (
        "Only final-phase trials count: seeds that did not choose the settings they run, "
        "one row per candidate. "
        if final_only
        else ""
    )
    luck = (
        f" A worse recipe is then tested again with {LUCK_NAME} (p (luck)); “within tuning "
        "luck” marks one that test does not tell apart: worse on the settings tuning chose, "
        "which another tuning run could change."
        if tuning_luck
        else ""
    )
    level = ALPHA if looks is None else LOOK_ALPHA
    twice = ""
    if looks is not None:
        first, more = (", ".join(str(s) for s in seeds) for seeds in looks)
        twice = (
            f" The verdict looks twice: first on seeds {first}; the best and every recipe that "
            f"look leaves in the top group then also ran seeds {more} and are judged again on "
            f"all of theirs. A recipe is worse when either look marks it (“look” names which), "
            f"each look at level {level:g} (Bonferroni over the two)."
        )
    return (
        f"{final}Values are the mean over seeds ± the half-width of a {CONFIDENCE:.0%} Student-t "
        f"confidence interval (n=1: no interval); kept epoch and epochs run with fewer than "
        f"{MIN_INTERVAL_N} seeds list the values instead. Each recipe is compared with the one "
        f"of highest mean {metric} twice: on {metric} over the seeds that trained, by "
        f"{TEST_NAME} (p (metric); Δ to best is the difference with its simultaneous "
        f"{(1 - level) * 100:g}% interval), and on how often its seeds failed, by "
        f"{FAILURE_TEST_NAME} (p (failures)). “≈ best” marks recipes neither p tells apart "
        f"(both ≥ {level:g}), “worse” says which one did, and “not testable” means a side "
        f"has fewer than 2 seeds that trained.{luck}{twice} Recipes are ranked by mean {metric} (a "
        "failed seed counts as chance), the top group first. Not rejecting is not proof of "
        "equality."
    )


def _defaults_sentence(content: ReportContent) -> str:
    arm = content.defaults_arm
    if arm is None:
        return ""
    return (
        f"{arm.sentence} Each candidate also trained untuned on the final seeds: its fixed "
        "knobs from the spec and every searched knob at its declared default. The leaderboard "
        "above stays the tuned one; the defaults arm is ranked by the same test on its own "
        "seeds. Every number is also in defaults.csv."
    )


def _lead(content: ReportContent) -> str:
    sentences = (
        _status_sentence(content),
        protocol_sentence(content.protocol) if content.protocol else "",
        _missing_hint(content),
        _best_sentence(content),
    )
    return " ".join(s for s in sentences if s)


def _status_sentence(content: ReportContent) -> str:
    text = counts_text(content.counts) + "."
    if content.excluded_counts.get(RUNNING):
        text += " The study is still running: this report covers the trials finished so far."
    elif content.excluded_counts.get(QUEUED):
        text += (
            " Some trials are queued and not started: 'bench run' with the same study "
            "finishes them; this report covers the trials finished so far."
        )
    if content.summary.empty:
        which = "final-phase trial" if content.protocol else "trial"
        text += f" No {which} has finished successfully yet, so there is nothing to compare."
    return text


def _missing_hint(content: ReportContent) -> str:
    lacking = list(content.missing["recipe_label"].unique())
    if not lacking:
        return ""
    recipes = len(set(content.judged["recipe_label"]) | set(lacking))
    planned = len(content.results.planned_seeds)
    noun = "candidates" if content.protocol else "recipes"
    text = (
        f"{len(lacking)} of {recipes} {noun} lack some of the {planned} seeds the spec asks "
        "for (see Missing seeds)"
    )
    ranked = set(content.summary["recipe_label"]) if not content.summary.empty else set()
    unranked = [display_label(label) for label in lacking if label not in ranked]
    if unranked:
        text += f"; not ranked (no seed counts): {', '.join(unranked)}"
    return text + "."


def _best_sentence(content: ReportContent) -> str:
    return verdict_headline(content.summary, ranked_by=content.ranked_by)


def _tuning_sentence(content: ReportContent) -> str:
    if content.protocol is None:
        return ""
    edges = edge_sentence(content.protocol)
    return (
        f"{protocol_sentence(content.protocol)} The best objective is each candidate's best "
        "tuning trial by the study objective; its settings are the ones the final seeds rerun "
        "(chosen). A ranking holds for candidates under this budget, not for their best "
        "possible settings." + (f" {edges}" if edges else "")
    )


def _tuning_table(content: ReportContent) -> pd.DataFrame | None:
    if content.protocol is None:
        return None
    rows = content.protocol.per_candidate
    rank = content.summary.set_index("recipe_label")["rank"] if not content.summary.empty else {}
    order = sorted(range(len(rows)), key=lambda i: rank.get(rows["candidate"].iloc[i], math.inf))
    rows = rows.iloc[order]
    budgets = [content.protocol.budget_of(name) for name in rows["candidate"]]
    return pd.DataFrame(
        {
            "#": [rank.get(name, "–") for name in rows["candidate"]],
            "candidate": rows["candidate"].map(display_label),
            "tuning trials": [
                f"{n}" if budget is None else f"{n} of {budget}"
                for n, budget in zip(rows["tuning_trials"], budgets, strict=True)
            ],
            "not counted": rows["tuning_excluded"].replace("", "–"),
            "tuning seed": rows["tuning_seeds"].replace("", "–"),
            "best objective": [objective_text(v) for v in rows["best_objective"]],
            "chosen": rows["chosen"].replace("", "–"),
            "final seeds": rows["final_seeds"].replace("", "none"),
        }
    )


def _missing_sentence(content: ReportContent) -> str:
    seeds = content.results.planned_seeds
    if not seeds:
        return ""
    listed = ", ".join(str(s) for s in seeds)
    if content.missing.empty:
        return f"Every recipe has a trial that counts for each seed the spec asks for ({listed})."
    return (
        f"The spec asks for seeds {listed} of every recipe. These recipes lack some, so their "
        "numbers rest on fewer seeds (a recipe with none is not ranked):"
    )


def _missing_table(content: ReportContent) -> pd.DataFrame:
    words = missing_by_recipe(content.missing)
    ranked = content.summary.set_index("recipe_label")
    # Leaderboard order; recipes with no counted seed (unranked) last.
    labels = sorted(words.index, key=lambda label: ranked["rank"].get(label, math.inf))
    return pd.DataFrame(
        {
            "#": [ranked["rank"].get(label, "–") for label in labels],
            "recipe": [display_label(label) for label in labels],
            "counted seeds": [ranked["seeds"].get(label) or "none" for label in labels],
            "missing seeds": [words[label] for label in labels],
        }
    )


def _time_table(content: ReportContent) -> pd.DataFrame | None:
    target_times = content.time_to_target
    if target_times is None:
        return None
    table = content.summary[["rank", "recipe_label"]].merge(
        target_times.per_recipe, on="recipe_label"
    )

    def fmt(value: float, decimals: int) -> str:
        return "never" if math.isinf(value) else f"{value:.{decimals}f}"

    return pd.DataFrame(
        {
            "#": table["rank"],
            "recipe": table["recipe_label"].map(display_label),
            "reached": [f"{r}/{n}" for r, n in zip(table["reached"], table["n"], strict=True)],
            "median epochs": [fmt(v, 1) for v in table["epochs_median"]],
            "median seconds": [fmt(v, 1) for v in table["seconds_median"]],
        }
    )


def _time_sentence(target_times: TimeToTarget | None) -> str:
    if target_times is None:
        return ""
    return (
        f"Target: validation AUC ≥ {target_times.target:.4f} ({target_times.fraction:.0%} of "
        f"the best recipe's mean final validation AUC, {target_times.best_final:.4f}). Medians "
        "run over all of a recipe's seeds, counting a seed that never reached the target as "
        "never, so “never” means at least half of them missed it."
    )
