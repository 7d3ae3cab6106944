"""The report's seaborn figures, each drawn once, saved as PNG and SVG bytes, and closed.

Every figure is a function of the study's included trials (never pruned, failed or
diverged ones) and returns a :class:`ReportFigure`, or ``None`` when it does not apply
(no predictions, not a two-dimensional sweep, ...).
"""

from __future__ import annotations

import io
import math
import textwrap
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import matplotlib

matplotlib.use("Agg")  # reports are files; never open a window or need a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

from bench._schema import TASKS, Task  # noqa: E402
from bench.report._protocol import best_tuning_trials, searched_knobs  # noqa: E402
from bench.report._stats import (  # noqa: E402
    ALPHA,
    TEST_NAME,
    TimeToTarget,
    performance_profile,
    t_interval,
)
from bench.results import StudyResults, spec_search_spaces  # noqa: E402

#: Figures with one panel or line per recipe show at most this many (the best-ranked).
MAX_CURVE_RECIPES = 10
#: Figures with one row per recipe show at most this many.
MAX_ROW_RECIPES = 40
MAX_ROC_CLASSES = 10
_DPI = 110
_MARKS = {"best": "★ ", "indistinguishable": "≈ "}
_BINARY, _MULTICLASS, _MULTILABEL = TASKS  # the task names, as bench._schema declares them


@dataclass(frozen=True)
class ReportFigure:
    """One rendered figure.

    Attributes:
        name: File stem (``figures/<name>.png``).
        title: A short heading.
        caption: What the figure shows and what to read from it (plain text).
        png: The PNG bytes.
        svg: The SVG bytes.
    """

    name: str
    title: str
    caption: str
    png: bytes
    svg: bytes


@dataclass(frozen=True)
class FigureInput:
    """What the figures are drawn from.

    Attributes:
        results: The study as read from the storage.
        included: The trials that count, one row each.
        summary: One row per recipe, ranked best first (see ``summarize``).
        ranked_by: The summary column the ranking uses (e.g. ``test_auc``).
        time_to_target: Time-to-target per trial, or ``None`` without validation AUC.
        tuning: The tune-phase trials that count, with ``candidate`` (empty without a
            tuning protocol).
    """

    results: StudyResults
    included: pd.DataFrame
    summary: pd.DataFrame
    ranked_by: str
    time_to_target: TimeToTarget | None
    tuning: pd.DataFrame = field(default_factory=pd.DataFrame)


def display_label(label: str) -> str:
    """A recipe label as readers see it: the empty label of an unswept study is named.

    Example:
        >>> display_label("")
        '(fixed recipe)'
    """
    return label if label else "(fixed recipe)"


def draw_figures(data: FigureInput) -> list[ReportFigure]:
    """Every figure that applies to the study, in reading order.

    Example:
        >>> from bench.report._example import example_report  # drawn by draw_figures
        >>> for figure in example_report().figures:
        ...     print(figure.name)
        learning_curves_loss
        learning_curves_auc
        test_auc
        generalization_gap
        roc_curves
        learning_rate
        time_to_target
    """
    drawers: Sequence[Callable[[FigureInput], ReportFigure | None]] = (
        _learning_curves_loss,
        _learning_curves_auc,
        _test_auc,
        _sensitivity,
        _generalization_gap,
        _roc_curves,
        _heatmaps,
        _learning_rates,
        _time_to_target,
    )
    if data.summary.empty:
        # Nothing judged yet; a protocol study still tuning can show its tuning.
        drawers = (_sensitivity,)
    figures = []
    with _style():
        for draw in drawers:
            figure = draw(data)
            if figure is not None:
                figures.append(figure)
    return figures


@contextmanager
def _style() -> Iterator[None]:
    rc = {
        **sns.axes_style("whitegrid"),
        **sns.plotting_context("notebook", font_scale=0.85),
        "svg.fonttype": "none",  # text stays text: smaller, faster, searchable
        "svg.hashsalt": "bench-report",
        "figure.max_open_warning": 0,
    }
    with plt.rc_context(rc):
        yield


def _save(fig: Figure, *, name: str, title: str, caption: str) -> ReportFigure:
    try:
        png, svg = io.BytesIO(), io.BytesIO()
        fig.savefig(png, format="png", dpi=_DPI, bbox_inches="tight")
        fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
        return ReportFigure(name, title, caption, png.getvalue(), svg.getvalue())
    finally:
        plt.close(fig)


def _text(value: object) -> str:
    """User text for matplotlib: a literal ``$`` would start mathtext."""
    return str(value).replace("$", r"\$")


def _wrap(label: str, width: int = 34) -> str:
    return textwrap.fill(_text(display_label(label)), width=width)


def _band(values: pd.Series) -> tuple[float, float]:
    """The 95% t interval as seaborn's errorbar; n = 1 draws no band rather than a fake one."""
    low, high = t_interval(values)
    if math.isnan(low):
        mean = float(np.nanmean(values)) if len(values) else math.nan
        return mean, mean
    return low, high


def _top(data: FigureInput, limit: int) -> list[str]:
    return data.summary["recipe_label"].head(limit).tolist()


def _shown_note(data: FigureInput, limit: int) -> str:
    total = len(data.summary)
    if total <= limit:
        return ""
    return f" Only the {limit} best-ranked of {total} recipes are drawn; all are in summary.csv."


def _palette(labels: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    colors = sns.color_palette("tab10" if len(labels) <= 10 else "husl", len(labels))
    return dict(zip((display_label(x) for x in labels), colors, strict=True))


def _curves(
    data: FigureInput, metric: str, *, name: str, title: str, what: str
) -> ReportFigure | None:
    labels = _top(data, MAX_CURVE_RECIPES)
    # Labels from the included trials: under a tuning protocol they name the candidate.
    label_of = data.included.set_index("number")["recipe_label"]
    histories = data.results.histories
    histories = histories[histories["number"].isin(label_of.index)]
    histories = histories.assign(recipe_label=histories["number"].map(label_of))
    histories = histories[histories["recipe_label"].isin(labels)]
    train, val = metric, f"val_{metric}"
    if histories.empty or histories[[train, val]].isna().all().all():
        return None
    frame = pd.concat(
        [
            histories[["recipe_label", "epoch", column]]
            .rename(columns={column: "value"})
            .assign(split=split)
            for column, split in ((train, "train"), (val, "validation"))
        ],
        ignore_index=True,
    )
    frame["epoch"] = frame["epoch"].astype(float)
    # Small multiples drawn axis by axis: seaborn's FacetGrid re-lays out the whole
    # figure several times, which costs seconds at 10 panels.
    nrows = math.ceil(len(labels) / 5)
    ncols = math.ceil(len(labels) / nrows)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(3.1 * ncols, 2.6 * nrows + 0.4),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    kept = data.included.groupby("recipe_label")["kept_epoch"].median()
    by_label = dict(tuple(frame.groupby("recipe_label", sort=False)))
    for ax, label in zip(axes.flat, labels, strict=False):  # spare axes are hidden
        sns.lineplot(
            data=by_label.get(label, frame.iloc[:0]),
            x="epoch",
            y="value",
            hue="split",
            style="split",
            hue_order=["train", "validation"],
            style_order=["train", "validation"],
            # The seeds' range, not a t interval: with two or three seeds a t band is
            # wider than the metric's whole scale and hides the curves it should frame.
            errorbar=("pi", 100),
            legend=ax is axes.flat[0],
            ax=ax,
        )
        ax.set_title(_wrap(label), fontsize=8)
        ax.set(xlabel="epoch", ylabel=what)
        if metric == "auc":
            ax.set_ylim(0.0, 1.02)
        if not pd.isna(kept.get(label)):
            ax.axvline(float(kept[label]), color="0.55", linestyle=":", linewidth=1)
    for index in range(len(labels), nrows * ncols):
        axes.flat[index].set_visible(False)
        axes.flat[index - ncols].xaxis.set_tick_params(labelbottom=True)
    handles, names = axes.flat[0].get_legend_handles_labels()
    axes.flat[0].get_legend().remove()
    fig.legend(handles, names, loc="lower center", ncol=2, bbox_to_anchor=(0.5, 0.98))
    fig.subplots_adjust(hspace=0.45, wspace=0.08)  # fixed spacing: tight_layout costs a draw
    caption = (
        f"Train (solid) and validation (dashed) {what} per epoch, one panel per recipe in "
        "leaderboard order: the line is the mean over seeds and the band spans the lowest "
        "to the highest seed (no band where only one seed ran that far); the dotted line is "
        "the median kept epoch. Read the distance between the two lines as the generalization gap "
        "growing or shrinking over training, and a validation curve that turns while the "
        "train curve keeps improving as overfitting. After early stops fewer seeds "
        "contribute to the late epochs." + _shown_note(data, MAX_CURVE_RECIPES)
    )
    return _save(fig, name=name, title=title, caption=caption)


def _learning_curves_loss(data: FigureInput) -> ReportFigure | None:
    return _curves(
        data, "loss", name="learning_curves_loss", title="Learning curves: loss", what="loss"
    )


def _learning_curves_auc(data: FigureInput) -> ReportFigure | None:
    return _curves(
        data, "auc", name="learning_curves_auc", title="Learning curves: AUC", what="AUC"
    )


def _rows_frame(
    data: FigureInput, labels: Sequence[str], *, marks: bool
) -> tuple[pd.DataFrame, list[str]]:
    status = dict(zip(data.summary["recipe_label"], data.summary["vs_best"], strict=True))
    frame = data.included[data.included["recipe_label"].isin(labels)].copy()

    def name(label: str) -> str:
        mark = _MARKS.get(status.get(label, ""), "") if marks else ""
        return mark + _text(display_label(label))

    frame["recipe"] = frame["recipe_label"].map(name)
    return frame, [name(x) for x in labels]


def _row_height(count: int) -> float:
    return 1.2 + 0.32 * count


def _test_auc(data: FigureInput) -> ReportFigure | None:
    if data.included["test_auc"].isna().all():
        return None
    ranked = data.summary.sort_values("test_auc_mean", ascending=False, na_position="last")
    labels = ranked["recipe_label"].head(MAX_ROW_RECIPES).tolist()
    frame, order = _rows_frame(data, labels, marks=data.ranked_by == "test_auc")
    fig, ax = plt.subplots(figsize=(8, _row_height(len(order))))
    sns.stripplot(
        data=frame, x="test_auc", y="recipe", order=order, color="0.45", alpha=0.55, size=4, ax=ax
    )
    sns.pointplot(
        data=frame,
        x="test_auc",
        y="recipe",
        order=order,
        errorbar=_band,
        color="C0",
        markers="D",
        linestyle="none",
        capsize=0.25,
        ax=ax,
    )
    ax.set(xlabel="test AUC", ylabel="")
    marked = ""
    if data.ranked_by == "test_auc":
        marked = (
            " ★ marks the best recipe and ≈ those statistically indistinguishable from it "
            f"({TEST_NAME} on per-seed test AUC, Holm-corrected p ≥ {ALPHA})."
        )
    caption = (
        "Test AUC per recipe, ordered by its mean: grey dots are single seeds, the diamond is "
        "the mean and the bar its 95% Student-t interval (no bar with one seed). Read "
        "overlapping bars as recipes the seeds cannot tell apart, and a wide spread of dots "
        "as a recipe whose result depends on luck." + marked + _shown_note(data, MAX_ROW_RECIPES)
    )
    return _save(fig, name="test_auc", title="Test AUC per recipe", caption=caption)


def _generalization_gap(data: FigureInput) -> ReportFigure | None:
    columns = [c for c in ("gap_accuracy", "gap_loss") if data.included[c].notna().any()]
    if not columns:
        return None
    labels = _top(data, MAX_ROW_RECIPES)
    frame, order = _rows_frame(data, labels, marks=False)
    fig, axes = plt.subplots(
        1, len(columns), figsize=(5 * len(columns) + 3, _row_height(len(order))), sharey=True
    )
    axes = np.atleast_1d(axes)
    titles = {
        "gap_accuracy": "train − validation accuracy",
        "gap_loss": "validation − train loss",
    }
    for ax, column in zip(axes, columns, strict=True):
        sns.stripplot(
            data=frame, x=column, y="recipe", order=order, color="0.45", alpha=0.5, size=4, ax=ax
        )
        sns.pointplot(
            data=frame,
            x=column,
            y="recipe",
            order=order,
            errorbar=_band,
            color="C3",
            markers="D",
            linestyle="none",
            capsize=0.25,
            ax=ax,
        )
        ax.axvline(0, color="0.3", linewidth=0.8)
        ax.set(xlabel=titles[column], ylabel="")
    caption = (
        "Generalization gap at the kept epoch, per recipe in leaderboard order: train minus "
        "validation accuracy and validation minus train loss; dots are seeds, the diamond "
        "the mean and the bar its 95% Student-t interval. Closer to zero means the recipe "
        "generalizes what it learned; a small gap with a low AUC is underfitting, not "
        "success, so read it next to the AUC figure." + _shown_note(data, MAX_ROW_RECIPES)
    )
    return _save(fig, name="generalization_gap", title="Generalization gap", caption=caption)


def best_trials(included: pd.DataFrame, *, direction: str) -> pd.DataFrame:
    """Each recipe's best trial by the study objective (not by test AUC: no peeking).

    Example:
        >>> included = pd.DataFrame(
        ...     {"number": [0, 1, 2], "recipe_label": ["adam", "adam", "sgd"],
        ...      "value": [0.80, 0.90, 0.70]}
        ... )
        >>> best_trials(included, direction="maximize")
           number recipe_label  value
        1       1         adam    0.9
        2       2          sgd    0.7
    """
    ordered = included.sort_values(
        ["value", "number"], ascending=[direction == "minimize", True], na_position="last"
    )
    return ordered.drop_duplicates("recipe_label")


def _roc_rows(
    y_true: np.ndarray, y_score: np.ndarray, task: Task, class_names: Sequence[str]
) -> list[tuple[str, float, np.ndarray, np.ndarray]]:
    if task == _BINARY or y_score.ndim == 1:
        score = y_score if y_score.ndim == 1 else y_score[:, -1]
        truth = y_true if y_true.ndim == 1 else y_true[:, -1]
        if len(np.unique(truth)) < 2:
            return []
        fpr, tpr, _ = roc_curve(truth, score)
        return [("positive", float(roc_auc_score(truth, score)), fpr, tpr)]
    k = y_score.shape[1]
    onehot = y_true if y_true.ndim == 2 else (y_true[:, None] == np.arange(k)[None, :])
    names = list(class_names) if len(class_names) == k else [f"class {i}" for i in range(k)]
    rows = []
    for i in range(min(k, MAX_ROC_CLASSES)):
        truth = onehot[:, i].astype(int)
        if len(np.unique(truth)) < 2:
            continue
        fpr, tpr, _ = roc_curve(truth, y_score[:, i])
        rows.append((names[i], float(roc_auc_score(truth, y_score[:, i])), fpr, tpr))
    return rows


def _roc_curves(data: FigureInput) -> ReportFigure | None:
    labels = _top(data, MAX_CURVE_RECIPES)
    best = best_trials(data.included, direction=data.results.direction)
    best = best.set_index("recipe_label")
    task = data.results.workload.get("task", _BINARY)
    class_names = [str(c) for c in data.results.workload.get("class_names", [])]
    parts = []
    for label in labels:
        if label not in best.index:
            continue
        number = int(best.loc[label, "number"])
        predictions = data.results.predictions(number)
        if predictions is None:
            continue
        for cls, auc, fpr, tpr in _roc_rows(
            predictions.y_true, predictions.y_score, task, class_names
        ):
            parts.append(
                pd.DataFrame(
                    {
                        "recipe": _wrap(f"{display_label(label)} (#{number})"),
                        "curve": f"{_wrap(label, 60)} (#{number}, AUC {auc:.3f})",
                        "class": _text(cls),
                        "fpr": fpr,
                        "tpr": tpr,
                    }
                )
            )
    if not parts:
        return None
    frame = pd.concat(parts, ignore_index=True)
    if task == _BINARY:
        fig, ax = plt.subplots(figsize=(7.5, 6.5))
        sns.lineplot(data=frame, x="fpr", y="tpr", hue="curve", estimator=None, sort=False, ax=ax)
        ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=0.8)
        ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1))
        ax.set_aspect("equal")
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1.0), title=None, fontsize=7)
        figure = fig
        per_class = ""
    else:
        order = list(dict.fromkeys(frame["recipe"]))
        grid = sns.relplot(
            data=frame,
            x="fpr",
            y="tpr",
            hue="class",
            col="recipe",
            col_order=order,
            col_wrap=min(3, len(order)),
            kind="line",
            estimator=None,
            sort=False,
            height=3.0,
            facet_kws={"sharex": True, "sharey": True},
        )
        for title, ax in grid.axes_dict.items():
            ax.set_title(title, fontsize=8)
            ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=0.8)
        grid.set_axis_labels("false positive rate", "true positive rate")
        figure = grid.figure
        per_class = (
            " One-vs-rest curves, one colour per class"
            + (f" (the first {MAX_ROC_CLASSES})" if len(class_names) > MAX_ROC_CLASSES else "")
            + "."
        )
    caption = (
        "ROC curves on the test set of each recipe's best trial, chosen by the study "
        "objective on validation data (not by test AUC, which would flatter it)."
        + per_class
        + " A curve hugging the top-left corner separates the classes well; the dashed "
        "diagonal is chance. One trial per recipe shows a shape, not an uncertainty: compare "
        "recipes by the test AUC figure." + _shown_note(data, MAX_CURVE_RECIPES)
    )
    return _save(figure, name="roc_curves", title="ROC curves (test set)", caption=caption)


def sweep_fields(data: FigureInput) -> list[str]:
    """The swept recipe fields (seed excluded) that the trials hold as ``params_*``."""
    space = data.results.spec.get("search_space")
    fields = [f for f in space if f != "seed"] if isinstance(space, dict) else []
    if not fields:
        fields = [
            c.removeprefix("params_") for c in data.summary.columns if c.startswith("params_")
        ]
    return [f for f in fields if f"params_{f}" in data.summary.columns]


def _gap_colors(summary: pd.DataFrame) -> tuple[str, float | None]:
    """Diverging around 0 when gaps have both signs; else sequential, darker = larger."""
    gaps = summary["gap_accuracy_mean"]
    return ("vlag", 0.0) if gaps.min() < 0 < gaps.max() else ("rocket_r", None)


def _heatmaps(data: FigureInput) -> ReportFigure | None:
    fields = sweep_fields(data)
    if len(fields) != 2:
        return None
    rows, cols = (f"params_{f}" for f in fields)
    metrics = [
        (column, title, cmap, center)
        for column, title, cmap, center in (
            ("test_auc_mean", "mean test AUC", "viridis", None),
            ("gap_accuracy_mean", "mean gap (train − val accuracy)", *_gap_colors(data.summary)),
        )
        if data.summary[column].notna().any()
    ]
    if not metrics:
        return None
    shape = (data.summary[rows].nunique(), data.summary[cols].nunique())
    width = max(4.5, 0.75 * shape[1] + 2.5)
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(width * len(metrics), max(3.5, 0.5 * shape[0] + 1.8))
    )
    fig.subplots_adjust(wspace=0.2)
    for ax, (column, title, cmap, center) in zip(np.atleast_1d(axes), metrics, strict=True):
        table = data.summary.pivot_table(index=rows, columns=cols, values=column, aggfunc="mean")
        with warnings.catch_warnings():  # seaborn 0.13 calls a colormap method matplotlib retires
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            sns.heatmap(
                table,
                ax=ax,
                cmap=cmap,
                center=center,
                annot=max(shape) <= 12,
                fmt=".3f",
                annot_kws={"fontsize": 7},
                linewidths=0.5,
            )
        ax.set(xlabel=_text(fields[1]), ylabel=_text(fields[0]), title=title)
    caption = (
        f"The two swept fields, {fields[0]} (rows) by {fields[1]} (columns): mean test AUC "
        "and mean generalization gap over seeds, one cell per recipe. Look for a region, not "
        "a single cell: a good setting whose neighbours are also good is robust, a lone "
        "bright cell is more likely seed noise (check its interval in the leaderboard). Blank "
        "cells were not run or had no included trial."
    )
    return _save(fig, name="heatmaps", title=f"{fields[0]} × {fields[1]}", caption=caption)


def _schedule_column(included: pd.DataFrame) -> pd.Series:
    for column in ("params_schedule", "recipe_schedule"):
        if column in included.columns and included[column].notna().any():
            return included[column].fillna("(not recorded)").astype(str)
    return pd.Series("(not recorded)", index=included.index)


def _learning_rates(data: FigureInput) -> ReportFigure | None:
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
    fig, ax = plt.subplots(figsize=(8, 4.2))
    sns.lineplot(
        data=frame,
        x="epoch",
        y="lr",
        hue="line",
        hue_order=list(legend.values()),
        units="number",
        estimator=None,
        marker="o",
        markersize=3,
        ax=ax,
    )
    scale = rate_scale(frame["lr"], lines=frame["line"])
    _set_rate_scale(ax, frame["lr"], scale)
    ax.set(xlabel="epoch", ylabel="learning rate")
    sns.move_legend(ax, "upper center", bbox_to_anchor=(0.5, -0.18), ncol=1, title=None, fontsize=7)
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
    return _save(fig, name="learning_rate", title="Learning rate per epoch", caption=caption)


def _rate_legend(label: str, schedule: str, per_candidate: bool) -> str:
    recipe, schedule = _text(display_label(label)), _text(schedule)
    return f"{recipe}: {schedule}" if per_candidate else f"{schedule}: {recipe}"


def rate_scale(rates: pd.Series, *, lines: pd.Series | None = None) -> str:
    """The y scale for learning rates: ``log`` when they span more than a decade.

    Rates of 0 (a schedule's end) have no logarithm. With a 0 among them the axis is
    ``symlog`` (linear near 0) only when the ``lines``' peak rates span more than a
    decade, a 1e-4 rate next to 0.01; one schedule decaying to 0 stays linear.

    Example:
        >>> rate_scale(pd.Series([1e-4, 1e-2])), rate_scale(pd.Series([1e-3, 5e-4]))
        ('log', 'linear')
        >>> cosine = pd.Series([1e-3, 5e-4, 0.0])
        >>> rate_scale(cosine, lines=pd.Series(["a", "a", "a"]))
        'linear'
        >>> rate_scale(pd.Series([1e-2, 0.0, 1e-4, 0.0]), lines=pd.Series(["a", "a", "b", "b"]))
        'symlog'
    """
    positive = rates[rates > 0]
    if positive.empty or positive.max() <= 10 * positive.min():
        return "linear"
    if len(positive) == len(rates):
        return "log"
    peaks = rates.groupby(lines if lines is not None else pd.Series(0, index=rates.index)).max()
    peaks = peaks[peaks > 0]
    return "symlog" if peaks.max() > 10 * peaks.min() else "linear"


def _set_rate_scale(ax: plt.Axes, rates: pd.Series, scale: str) -> None:
    if scale == "symlog":
        # Linear only below the smallest positive rate, so a schedule's 0 sits at the bottom.
        ax.set_yscale("symlog", linthresh=float(rates[rates > 0].min()))
        ax.set_ylim(bottom=0)
    else:
        ax.set_yscale(scale)


def _scale_note(scale: str) -> str:
    if scale == "linear":
        return ""
    zero = " (linear below the smallest rate, so 0 sits at the bottom)" if scale == "symlog" else ""
    return f" The axis is logarithmic{zero}: the rates span more than a decade."


def knob_is_log(knob: str, values: pd.Series, spaces: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether to draw a searched knob on a log axis.

    A range in the stored spec decides (``log`` true or false, for any candidate that
    searched the knob); a list of values or no range in the spec: when the values are
    positive and span more than a decade.

    Example:
        >>> spaces = {"sgd": {"learning_rate": {"low": 1e-3, "high": 1.0, "log": True}}}
        >>> knob_is_log("learning_rate", pd.Series([0.01, 0.02]), spaces)
        True
        >>> knob_is_log("momentum", pd.Series([0.05, 0.9]), spaces)
        True
        >>> knob_is_log("momentum", pd.Series([0.5, 0.9]), spaces)
        False
    """
    ranges = [s[knob] for s in spaces.values() if isinstance(s.get(knob), Mapping)]
    if ranges:
        return any(bool(r.get("log")) for r in ranges)
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    return bool(len(numbers) and (numbers > 0).all() and numbers.max() > 10 * numbers.min())


def _numeric_knobs(tuning: pd.DataFrame) -> list[str]:
    knobs = searched_knobs(tuning)
    return [
        k
        for k in knobs
        if pd.api.types.is_numeric_dtype(tuning[f"params_{k}"].dropna().infer_objects())
        and not pd.api.types.is_bool_dtype(tuning[f"params_{k}"].dropna().infer_objects())
    ]


def _objective_words(data: FigureInput) -> str:
    objective = data.results.spec.get("objective")
    metric = objective.get("metric") if isinstance(objective, Mapping) else None
    return f"objective ({metric})" if metric else "objective"


def _sensitivity(data: FigureInput) -> ReportFigure | None:
    tuning = data.tuning.dropna(subset=["value"]) if not data.tuning.empty else data.tuning
    knobs = _numeric_knobs(tuning) if not tuning.empty else []
    if not knobs:
        return None
    ranked = [c for c in data.summary["recipe_label"] if c in set(tuning["candidate"])]
    candidates = list(dict.fromkeys([*ranked, *tuning["candidate"]]))
    palette = _palette(candidates)
    chosen = best_tuning_trials(tuning, direction=data.results.direction)
    spaces = spec_search_spaces(data.results.spec)
    ncols = min(3, len(knobs))
    nrows = math.ceil(len(knobs) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.3 * ncols, 3.5 * nrows), sharey=True, squeeze=False
    )
    y_label = _objective_words(data)
    for index, (ax, knob) in enumerate(zip(axes.flat, knobs, strict=False)):
        _sensitivity_panel(ax, tuning, chosen, knob=knob, palette=palette, spaces=spaces)
        ax.set(xlabel=_text(knob), ylabel=y_label if index % ncols == 0 else "")
    for ax in axes.flat[len(knobs) :]:
        ax.set_visible(False)
    handles = [
        plt.Line2D([], [], marker="o", linestyle="", color=palette[display_label(c)], label=c)
        for c in candidates
    ]
    handles.append(
        plt.Line2D(
            [],
            [],
            marker="*",
            linestyle="",
            markersize=12,
            color="0.5",
            markeredgecolor="black",
            label="chosen (best tuning trial)",
        )
    )
    axes.flat[len(knobs) - 1].legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8
    )
    fig.subplots_adjust(wspace=0.08, hspace=0.4)
    seeds = ", ".join(str(int(s)) for s in sorted(tuning["seed"].dropna().unique()))
    caption = (
        f"Sensitivity: the study {y_label} of every tuning trial (seed {seeds}) against each "
        "searched knob, one colour per candidate; the star is the value each candidate "
        "chose (its best tuning trial), which its final seeds then rerun. Knobs searched on "
        "a log scale, or whose values span more than a decade, are drawn on a log axis. Read "
        "the shape around the star: a flat, wide optimum is a robust optimizer, one that "
        "does well without a lucky setting; a narrow peak means its result hangs on the "
        "tuning, and a star at the edge of the range says the range may be too narrow. "
        "Each point is one seed, so differences smaller than the final seeds' spread in the "
        "leaderboard are noise."
    )
    return _save(fig, name="sensitivity", title="Sensitivity to the tuned knobs", caption=caption)


def _sensitivity_panel(
    ax: plt.Axes,
    tuning: pd.DataFrame,
    chosen: pd.DataFrame,
    *,
    knob: str,
    palette: Mapping[str, tuple[float, float, float]],
    spaces: Mapping[str, Mapping[str, Any]],
) -> None:
    column = f"params_{knob}"
    points = tuning[tuning[column].notna()]
    stars = chosen[chosen[column].notna()]
    for frame, style in (
        (points, {"s": 22, "alpha": 0.65, "edgecolor": "none"}),
        (stars, {"s": 240, "marker": "*", "edgecolor": "black", "linewidth": 0.8, "zorder": 3}),
    ):
        for candidate, group in frame.groupby("candidate", sort=False):
            ax.scatter(
                group[column].astype(float),
                group["value"],
                color=palette[display_label(candidate)],
                **style,
            )
    if knob_is_log(knob, points[column], spaces):
        ax.set_xscale("log")
        # Minor-tick labels of a narrow log range overlap; the decades are enough.
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _time_to_target(data: FigureInput) -> ReportFigure | None:
    target_times = data.time_to_target
    if target_times is None:
        return None
    labels = _top(data, MAX_CURVE_RECIPES)
    per_trial = target_times.per_trial[target_times.per_trial["recipe_label"].isin(labels)]
    if not np.isfinite(per_trial["epochs"]).any():
        return None
    palette = _palette(labels)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
    for ax, unit in zip(axes, ("epochs", "seconds"), strict=True):
        profile = performance_profile(per_trial, column=f"{unit}_ratio")
        profile["recipe"] = profile["recipe_label"].map(display_label)
        sns.lineplot(
            data=profile,
            x="tau",
            y="fraction",
            hue="recipe",
            hue_order=[display_label(x) for x in labels],
            palette=palette,
            drawstyle="steps-post",
            estimator=None,
            legend=unit == "seconds",
            ax=ax,
        )
        ax.set(
            xlabel=f"τ: {unit} to target ÷ fastest trial's {unit}",
            ylabel="fraction of the recipe's seeds",
            ylim=(-0.02, 1.02),
        )
    sns.move_legend(axes[1], "upper left", bbox_to_anchor=(1.02, 1.0), title=None, fontsize=7)
    never = target_times.per_recipe.loc[target_times.per_recipe["reached"] == 0, "recipe_label"]
    missing = ""
    if len(never):
        missing = f" {len(never)} recipe(s) never reached the target on any seed (flat at 0)."
    caption = (
        f"Time to target as a performance profile (as in MLCommons AlgoPerf): the target is "
        f"validation AUC {target_times.target:.4f} ({target_times.fraction:.0%} of the best "
        f"recipe's mean final {target_times.best_final:.4f}); each step curve is the fraction "
        "of a recipe's seeds that "
        "reached it within τ times the fastest trial's epochs (left) or seconds (right). "
        "Higher and further left is faster and more reliable; a curve that stays below 1 "
        "has seeds that never got there (counted as infinitely slow)."
        + missing
        + _shown_note(data, MAX_CURVE_RECIPES)
    )
    return _save(fig, name="time_to_target", title="Time to target", caption=caption)
