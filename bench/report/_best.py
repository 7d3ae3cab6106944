"""The winner, to take home: the recipe a study's top candidate trained with, as TOML.

The candidate is the first of the ranking every report uses (:func:`verdicts_of`: the
study's objective over the verdict seeds, the final seeds under a tuning protocol), or
one the user names. Its recipe is what its verdict trials stored as the recipe they ran
(read through :class:`bench._record.TrialRecord`, by :mod:`bench.results`): under a
tuning protocol that is the candidate's fixed knobs with the settings its final seeds
reran, in a grid or sampled study the recipe's knobs. Every knob is written, not only
those the study set, so the file means the same recipe whatever later defaults become;
the seed is left out (``bench train --seed`` chooses it).
"""

from __future__ import annotations

import dataclasses
import math
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from bench._schema import SEED
from bench.errors import BenchInputError
from bench.recipe import Recipe, knobs
from bench.report._compare import TOP_GROUP
from bench.report._labels import display_label
from bench.report._metrics import SUMMARY_METRICS
from bench.report._verdicts import verdicts_of
from bench.results import StudyResults, list_study_names, load_results
from bench.spec import WorkloadSpec, recipe_toml
from bench.storage import redact_url


@dataclass(frozen=True)
class BestRecipe:
    """A candidate's recipe and where it came from; :meth:`to_toml` is ``bench best``'s output.

    Attributes:
        study_name: The study it was chosen from.
        candidate: The candidate (under a tuning protocol) or recipe label.
        recipe: Every recipe knob but the seed, in declaration order: what the
            candidate's verdict trials trained with.
        chosen: The knobs the study chose for this candidate, with how (``tuned on
            seed 0``, ``searched``); the other values were fixed or defaults.
        rank: Its place on the leaderboard (1 is the highest mean).
        n_ranked: How many candidates the leaderboard ranks.
        top_group: The candidates not told apart from the highest, in rank order.
        ranked_by: The metric the leaderboard is ranked by (``val_auc``...).
        mean: The candidate's mean of ``ranked_by`` over its verdict seeds.
        n: How many seeds that mean is over (failed seeds, scored as chance, included).
        n_failed: How many of them failed.
        seeds: The seeds, as the leaderboard lists them (``"1 2 3"``).
        workload: The study's ``[workload]`` table as stored (dataset, preset...).

    Example:
        >>> from bench.report._example import example_storage
        >>> best = best_recipe(storage=example_storage())
        >>> best.candidate, best.recipe["optimizer"], best.recipe["epochs"], SEED in best.recipe
        ('adam', 'adam', 3, False)
        >>> for line in best.to_toml().splitlines()[:6]:
        ...     print(line)
        # bench best: study 'demo', candidate 'adam'
        # mean validation AUC 0.9100 over 2 seeds (0 1), rank 1 of 2
        # top group: adam
        # on the study's workload: bench train --recipe FILE --dataset digits --preset tiny ...
        optimizer = "adam"
        learning_rate = 0.001
    """

    study_name: str
    candidate: str
    recipe: dict[str, Any]
    chosen: dict[str, str]
    rank: int
    n_ranked: int
    top_group: tuple[str, ...]
    ranked_by: str
    mean: float
    n: int
    n_failed: int
    seeds: str
    workload: dict[str, Any]

    def header(self) -> list[str]:
        """The comment lines that say where the recipe came from."""
        metric = SUMMARY_METRICS.get(self.ranked_by, self.ranked_by)
        failed = f", {self.n_failed} failed and scored as chance" if self.n_failed else ""
        group = ", ".join(display_label(label) for label in self.top_group)
        unresolved = " (their order is not resolved)" if len(self.top_group) > 1 else ""
        lines = [
            f"bench best: study {self.study_name!r}, candidate {self.candidate!r}",
            f"mean {metric} {self.mean:.4f} over {self.n} seeds ({self.seeds}{failed}), "
            f"rank {self.rank} of {self.n_ranked}",
            f"top group: {group}{unresolved}",
        ]
        flags = self.train_flags()
        if flags:
            lines.append(f"on the study's workload: bench train --recipe FILE {shlex.join(flags)}")
        return lines

    def train_flags(self) -> list[str]:
        """The ``bench train`` flags of the study's workload (those the stored spec names).

        Example:
            >>> from bench.report._example import example_storage
            >>> best_recipe(storage=example_storage()).train_flags()
            ['--dataset', 'digits', '--preset', 'tiny', '--split-seed', '0']
        """
        flags = []
        for declared in dataclasses.fields(WorkloadSpec):
            value = self.workload.get(declared.name)
            if value is None or isinstance(value, (Mapping, list)):
                continue
            flags += ["--" + declared.name.replace("_", "-"), str(value)]
        return flags

    def to_toml(self) -> str:
        """The recipe as a recipe file: the :meth:`header`, then one line per knob, those
        the study chose marked. ``bench train --recipe`` reads it, and its lines are valid
        in a spec's ``[fixed]`` table."""
        return recipe_toml(self.recipe, header=self.header(), notes=self.chosen)


def best_recipe(
    *, storage: str, study: str | None = None, candidate: str | None = None
) -> BestRecipe:
    """The recipe of ``study``'s top candidate, or of ``candidate``.

    ``study`` may be left out when the storage holds one study with trials.

    Raises:
        BenchInputError: If the storage or study is unknown, no candidate ranks yet,
            ``candidate`` is not one the leaderboard ranks, or none of its trials stored
            a recipe.

    Example:
        >>> from bench.report._example import example_storage
        >>> best_recipe(storage=example_storage(), study="demo", candidate="sgd").rank
        2
        >>> best_recipe(storage=example_storage(), candidate="lbfgs")
        Traceback (most recent call last):
        ...
        bench.errors.BenchInputError: --candidate lbfgs: not a ranked candidate of study 'demo'; ...
    """
    name = study if study is not None else _only_study(storage)
    results = load_results(name, storage=storage)
    verdicts = verdicts_of(results)
    board = verdicts.summary
    if board.empty:
        raise BenchInputError(
            f"--study {name}: no candidate is ranked yet (no verdict seed has finished); "
            f"run it first (bench run --study {name})"
        )
    labels = board["recipe_label"].tolist()
    label = labels[0] if candidate is None else candidate
    if label not in labels:
        raise BenchInputError(
            f"--candidate {candidate}: not a ranked candidate of study {name!r}; expected one "
            f"of {', '.join(display_label(lab) for lab in labels)}"
        )
    row = board[board["recipe_label"] == label].iloc[0]
    trials = verdicts.selection.judged
    mine = trials[trials["recipe_label"] == label]
    return BestRecipe(
        study_name=name,
        candidate=label,
        recipe=_stored_recipe(mine, study=name, candidate=label),
        chosen=_chosen_knobs(mine, results),
        rank=int(row["rank"]),
        n_ranked=len(board),
        top_group=_top_group(board),
        ranked_by=verdicts.ranked_by,
        mean=_number(row[f"{verdicts.ranked_by}_mean"]),
        n=int(row["n"]),
        n_failed=int(row["n_failed"]),
        seeds=str(row["seeds"]),
        workload=_workload_table(results),
    )


def _only_study(storage: str) -> str:
    names = list_study_names(storage, with_trials=True)
    if len(names) == 1:
        return names[0]
    if not names:
        raise BenchInputError(
            f"--storage {redact_url(storage)}: holds no trials yet; run 'bench run' first"
        )
    raise BenchInputError(
        f"--study: {redact_url(storage)} holds {len(names)} studies; name one of {', '.join(names)}"
    )


def _stored_recipe(trials: pd.DataFrame, *, study: str, candidate: str) -> dict[str, Any]:
    """The recipe the candidate's verdict trials ran, seed apart: that of its first trial
    that counts, else of its first trial that stored one (all of them ran the same)."""
    columns = {k.name: f"recipe_{k.name}" for k in knobs() if k.name != SEED}
    present = {name: column for name, column in columns.items() if column in trials.columns}
    if present:
        stored = trials.dropna(subset=list(present.values()), how="all")
        stored = stored.sort_values(["excluded", "number"], key=_counted_first)
    if not present or stored.empty:
        raise BenchInputError(
            f"--candidate {candidate}: none of its trials in study {study!r} stored the recipe "
            "it ran (its seeds failed before training); name another candidate"
        )
    first = stored.iloc[0]
    values = {
        name: _python(first[column]) for name, column in present.items() if _known(first[column])
    }
    try:
        recipe = Recipe(**values).to_dict()
    except BenchInputError as error:
        raise BenchInputError(
            f"--candidate {candidate}: the recipe study {study!r} stored is not valid in "
            f"this version of bench ({error})"
        ) from None
    return {name: recipe[name] for name in columns}


def _counted_first(column: pd.Series) -> pd.Series:
    # Sorts the ``excluded`` column with trials that count ("") first; numbers as they are.
    return column.ne("") if column.name == "excluded" else column


def _chosen_knobs(trials: pd.DataFrame, results: StudyResults) -> dict[str, str]:
    """The knobs the study chose for the candidate: tuned ones under a tuning protocol
    (the ``tuned`` values its final seeds reran), else its searched params."""
    plan = results.tuning
    if plan is not None:
        prefix = "tuned_"
        how = "tuned" if plan.seed is None else f"tuned on seed {plan.seed}"
    else:
        prefix, how = "params_", "searched"
    chosen = {
        column.removeprefix(prefix)
        for column in trials.columns
        if column.startswith(prefix) and trials[column].notna().any()
    }
    return {k.name: how for k in knobs() if k.name in chosen and k.name != SEED}


def _top_group(board: pd.DataFrame) -> tuple[str, ...]:
    return tuple(board.loc[board["vs_best"].isin(TOP_GROUP), "recipe_label"])


def _workload_table(results: StudyResults) -> dict[str, Any]:
    table = results.spec.get("workload")
    return dict(table) if isinstance(table, Mapping) else {}


def _known(value: Any) -> bool:
    return not (pd.api.types.is_scalar(value) and pd.isna(value))


def _python(value: Any) -> Any:
    """A pandas cell as the plain Python value the knob checks expect (numpy's int64 is
    not an ``int``)."""
    return value.item() if hasattr(value, "item") else value


def _number(value: Any) -> float:
    return float(value) if _known(value) else math.nan


__all__ = ["BestRecipe", "best_recipe"]
