"""The learning rate used in each epoch: one line per seed, one colour per schedule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from bench.report._labels import display_label, mathtext_safe
from bench.report.figures._axes import rate_scale
from bench.report.figures._base import MAX_CURVE_RECIPES, FigureInput, FigureText

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class LearningRateInfo(FigureText):
    """What the learning-rate figure shows.

    Attributes:
        rates: One row per trial and epoch: ``number``, ``epoch``, ``lr``, ``line``
            (its legend entry).
        lines: The legend entries, in order.
        scale: The y scale (``linear``, ``log`` or ``symlog``; see ``rate_scale``).
    """

    rates: pd.DataFrame
    lines: list[str]
    scale: str


def _schedule_column(included: pd.DataFrame) -> pd.Series:
    for column in ("params_schedule", "recipe_schedule"):
        if column in included.columns and included[column].notna().any():
            return included[column].fillna("(not recorded)").astype(str)
    return pd.Series("(not recorded)", index=included.index)


def _rate_legend(label: str, schedule: str, per_candidate: bool) -> str:
    recipe, schedule = mathtext_safe(display_label(label)), mathtext_safe(schedule)
    return f"{recipe}: {schedule}" if per_candidate else f"{schedule}: {recipe}"


def _scale_note(scale: str) -> str:
    if scale == "linear":
        return ""
    zero = " (linear below the smallest rate, so 0 sits at the bottom)" if scale == "symlog" else ""
    return f" The axis is logarithmic{zero}: the rates span more than a decade."


def _get_learning_rate_info(data: FigureInput) -> LearningRateInfo | None:
    """The rates of each schedule's best-ranked recipe (each candidate's, under a protocol).

    Returns ``None`` when no epoch recorded its learning rate.

    Example:
        >>> from bench.report._example import example_storage
        >>> from bench.report._report import figure_input
        >>> info = _get_learning_rate_info(figure_input("demo", storage=example_storage()))
        >>> info.lines, info.scale, len(info.rates)
        (['constant: adam'], 'linear', 6)
    """
    histories = data.results.histories
    if histories["lr"].isna().all():
        return None
    # Under a tuning protocol each candidate runs at its own tuned rate: one colour each.
    per_candidate = "candidate" in data.included.columns
    included = data.included.assign(schedule=_schedule_column(data.included))
    rank = dict(zip(data.summary["recipe_label"], data.summary["rank"], strict=True))
    included["rank"] = included["recipe_label"].map(rank)
    key = "recipe_label" if per_candidate else "schedule"
    chosen = included.sort_values("rank").drop_duplicates(key).head(MAX_CURVE_RECIPES)
    trials = included[included["recipe_label"].isin(chosen["recipe_label"])]
    frame = histories[histories["number"].isin(trials["number"])].merge(
        trials[["number", key]].rename(columns={key: "line"}),
        on="number",
    )
    frame = frame.dropna(subset=["lr"])
    if frame.empty:
        return None
    legend = {
        getattr(row, key): _rate_legend(row.recipe_label, row.schedule, per_candidate)
        for row in chosen.itertuples()
    }
    frame["line"] = frame["line"].map(legend)
    frame["epoch"] = frame["epoch"].astype(float)
    scale = rate_scale(frame["lr"], lines=frame["line"])
    which = (
        "one colour per candidate at its tuned settings"
        if per_candidate
        else "one colour per schedule, drawn from the best-ranked recipe with that schedule"
    )
    caption = (
        f"The learning rate actually used in each epoch, {which} (one line per seed). Check "
        "that warmup rises and decay falls as intended; seeds that part ways show a plateau "
        "rule (e.g. ReduceLROnPlateau) acting on their own validation curves." + _scale_note(scale)
    )
    return LearningRateInfo(
        name="learning_rate",
        title="Learning rate per epoch",
        caption=caption,
        rates=frame,
        lines=list(legend.values()),
        scale=scale,
    )


def draw_learning_rate(info: LearningRateInfo) -> Figure:
    """One line per seed, coloured by schedule (or candidate), on the rates' scale."""
    from bench.report.figures._style import plt, sns

    fig, ax = plt.subplots(figsize=(8, 4.2))
    sns.lineplot(
        data=info.rates,
        x="epoch",
        y="lr",
        hue="line",
        hue_order=info.lines,
        units="number",
        estimator=None,
        marker="o",
        markersize=3,
        ax=ax,
    )
    if info.scale == "symlog":
        # Linear only below the smallest positive rate, so a schedule's 0 sits at the bottom.
        rates = info.rates["lr"]
        ax.set_yscale("symlog", linthresh=float(rates[rates > 0].min()))
        ax.set_ylim(bottom=0)
    else:
        ax.set_yscale(info.scale)
    ax.set(xlabel="epoch", ylabel="learning rate")
    sns.move_legend(ax, "upper center", bbox_to_anchor=(0.5, -0.18), ncol=1, title=None, fontsize=7)
    return fig
