"""Expected best validation score after k tuning trials, per candidate (Dodge et al. 2019).

How much of a candidate's verdict is tuning luck, and would a smaller or larger tuning
budget rank the candidates differently? Each candidate's curve is the expected best of k
of its tuning draws (:func:`~bench.report._best_of_k.expected_best_of_k`), k = 1 up to
the draws it ran; the figure's caption says whether the order changes along k.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from bench._ranking import rank_key
from bench.report._best_of_k import expected_best_of_k, tuning_draws
from bench.report._labels import display_label, mathtext_safe, objective_text
from bench.report._verdict_values import chance_score
from bench.report.figures._base import (
    MAX_CURVE_RECIPES,
    FigureInput,
    FigureText,
    objective_metric,
    objective_words,
    tuned_candidates,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: A candidate needs this many tuning draws for a curve: one draw has no choice to make.
MIN_DRAWS = 2


@dataclass(frozen=True)
class BestOfKInfo(FigureText):
    """What the best-of-k figure shows.

    Attributes:
        curves: One row per candidate and k: ``candidate`` and the columns of
            :func:`~bench.report._best_of_k.expected_best_of_k` (``k``, ``expected``, its
            spread ``sd`` and the band ``low`` to ``high``).
        candidates: The candidates drawn, leaderboard order first.
        palette_order: Every tuned candidate, in the order the colours are given (the
            same colours as the sensitivity figure).
        y_label: The y axis label, naming the objective.
    """

    curves: pd.DataFrame
    candidates: list[str]
    palette_order: list[str]
    y_label: str


def _get_best_of_k_info(data: FigureInput) -> BestOfKInfo | None:
    """Each candidate's expected best objective after k tuning trials; ``None`` without a
    tuning protocol or without a candidate of at least :data:`MIN_DRAWS` tuning draws.

    Example:
        >>> from bench.report._example import example_storage
        >>> from bench.report._report import figure_input
        >>> _get_best_of_k_info(figure_input("demo", storage=example_storage())) is None
        True
    """
    order = tuned_candidates(data)
    scores, failures = _draws(data)
    metric = objective_metric(data)
    score = chance_score(metric, majority_rate=data.results.workload.get("majority_rate") or {})
    failure_score = math.nan if score is None else score
    frames, short = [], []
    for candidate in order:
        values = scores.get(candidate, [])
        failed = failures.get(candidate, 0)
        if len(values) + failed < MIN_DRAWS:
            short.append(candidate)
            continue
        curve = expected_best_of_k(
            values, direction=data.results.direction, failed=failed, failure_score=failure_score
        )
        frames.append(curve.assign(candidate=candidate))
    if not frames:
        return None
    drawn = [c for c in order if c not in short][:MAX_CURVE_RECIPES]
    curves = pd.concat(frames, ignore_index=True)
    curves = curves[curves["candidate"].isin(drawn)].reset_index(drop=True)
    y_label = f"expected best {objective_words(data)}"
    caption = " ".join(
        part
        for part in (
            _what_words(data, y_label=y_label),
            _failure_words(failures, metric=metric, score=score),
            order_words(curves, direction=data.results.direction, candidates=drawn),
            _left_out_words(short, extra=len(order) - len(short) - len(drawn)),
        )
        if part
    )
    return BestOfKInfo(
        name="best_of_k",
        title="Expected best after k tuning trials",
        caption=caption,
        curves=curves,
        candidates=drawn,
        palette_order=order,
        y_label=y_label,
    )


def _draws(data: FigureInput) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Each candidate's draws on the tuning seed: the scores of those that count, and how
    many failed (:func:`~bench.report._best_of_k.tuning_draws`)."""
    plan = data.results.tuning
    draws = tuning_draws(
        data.tuning,
        data.tuning_failed,
        seed=plan.seed if plan is not None else None,
        direction=data.results.direction,
        failure_score=math.nan,
    )
    scores = {c: list(d.scores) for c, d in draws.items() if d.scores}
    failures = {c: d.failed for c, d in draws.items() if d.failed}
    return scores, failures


def _what_words(data: FigureInput, *, y_label: str) -> str:
    plan = data.results.tuning
    seed = f" on seed {plan.seed}" if plan is not None and plan.seed is not None else ""
    chosen = (
        f"; its final seeds rerun, of its {plan.confirm} best draws, the one whose worse "
        f"seed (the draw or its rerun on seed {plan.confirm_seed}) scored best"
        if plan is not None and plan.confirm
        else ", the one its final seeds rerun"
    )
    return (
        f"The {y_label} a candidate would reach with k tuning trials, k = 1 up to the tuning "
        f"trials it ran{seed}: the mean, over every way of taking k of its n draws (without "
        "replacement), of the best of them, computed exactly from the order statistics "
        "(Dodge et al. 2019, expected validation performance). The band is ± one standard "
        "deviation of that best over the ways of taking k draws (within the draws' range): "
        "how far luck in which settings were drawn moves it. It closes at k = n, where the "
        f"curve ends at the best draw the candidate found{chosen}. A curve still rising "
        "at its end says more tuning would likely find better settings; one flat from small "
        "k, a candidate that needs little tuning."
    )


def _failure_words(failures: Mapping[str, int], *, metric: str, score: float | None) -> str:
    if not sum(failures.values()):
        return ""
    counts = ", ".join(f"{display_label(c)} {n}" for c, n in failures.items())
    if score is None:
        scored = (
            f"{metric or 'the objective'} has no chance level, so a k at which all k draws "
            "could have failed has no expected value and is not drawn"
        )
    elif math.isnan(score):
        scored = "the majority-class rate is not stored, so such a k is not drawn"
    else:
        scored = (
            f"then scores as chance ({score:.3g}), as the leaderboard's mean scores a failed seed"
        )
    return (
        f"A pruned, diverged or crashed tuning trial ({counts}) counts as a draw that found "
        "nothing: it is never the best of k unless all k draws failed, which "
        f"{scored}."
    )


def order_words(curves: pd.DataFrame, *, direction: str, candidates: Sequence[str]) -> str:
    """Whether the candidates' order by expected best changes between k = 1 and the
    largest k every candidate reached (empty for one candidate); where their budgets
    differ, also their order at the end of each curve, the budgets they ran.

    Example:
        >>> curves = pd.DataFrame({
        ...     "candidate": ["a", "a", "a", "b", "b"], "k": [1, 2, 3, 1, 2],
        ...     "expected": [0.80, 0.84, 0.85, 0.82, 0.83]})
        >>> print(order_words(curves, direction="maximize", candidates=["a", "b"]))
        With 1 tuning trial the expected order is b > a; with 2 (the most every candidate \
ran) it is a > b: the ranking depends on the tuning budget, so the leaderboard's verdict \
holds for the budget it was tuned with. At the budgets they ran (a 3, b 2), each curve's \
end, the order is a > b.
    """
    if len(candidates) < 2:
        return ""
    table = curves.pivot(index="k", columns="candidate", values="expected")[list(candidates)]
    # The ks at which every candidate has an expected best: an equal budget for all.
    common = table.dropna()
    if common.empty:
        return ""
    orders = {int(k): _order(row, direction=direction) for k, row in common.iterrows()}
    sentence = _budget_words(orders)
    ends = {c: table[c].dropna() for c in candidates}
    if len({int(end.index.max()) for end in ends.values() if len(end)}) > 1:
        budgets = ", ".join(
            f"{display_label(c)} {int(end.index.max())}" for c, end in ends.items() if len(end)
        )
        last = pd.Series({c: end.iloc[-1] for c, end in ends.items() if len(end)})
        sentence += (
            f" At the budgets they ran ({budgets}), each curve's end, the order is "
            f"{_order(last, direction=direction)}."
        )
    return sentence


def _budget_words(orders: Mapping[int, str]) -> str:
    """What the orders at k = first..top (every candidate reached them) say, in a sentence."""
    first_k, top = min(orders), max(orders)
    final = orders[top]
    settled = min(k for k in orders if all(orders[j] == final for j in orders if j >= k))
    trial = "trial" if first_k == 1 else "trials"
    depends = (
        "the ranking depends on the tuning budget, so the leaderboard's verdict holds for "
        "the budget it was tuned with."
    )
    if first_k == top:
        return (
            f"At {top} tuning {trial}, the one budget at which every candidate has an expected "
            f"best, the order is {final}."
        )
    if settled == first_k:
        return (
            f"The expected order is the same at every budget from {first_k} to {top} tuning "
            f"trials ({final}): on the tuning seed a smaller budget would not have changed "
            "the ranking."
        )
    if orders[first_k] == final:
        between = ", ".join(str(k) for k, order in orders.items() if order != final)
        return (
            f"The expected order is the same with {first_k} tuning {trial} and with {top} "
            f"({final}), but not with {between}: {depends}"
        )
    later = f"{settled} or more (up to {top}, the most every candidate ran)"
    if settled == top:
        later = f"{top} (the most every candidate ran)"
    return (
        f"With {first_k} tuning {trial} the expected order is {orders[first_k]}; with "
        f"{later} it is {final}: {depends}"
    )


def _order(row: pd.Series, *, direction: str) -> str:
    """``a > b = c``: candidates best first, equal to the 4 decimals the report prints."""
    valued = row.dropna()
    shown = {c: objective_text(float(v)) for c, v in valued.items()}
    ranked = sorted(
        range(len(valued)),
        key=lambda i: rank_key(float(valued.iloc[i]), i, direction=direction),
    )
    words = display_label(str(valued.index[ranked[0]]))
    for before, after in zip(ranked, ranked[1:], strict=False):
        tie = shown[valued.index[before]] == shown[valued.index[after]]
        words += f" {'=' if tie else '>'} {display_label(str(valued.index[after]))}"
    return words


def _left_out_words(short: Sequence[str], *, extra: int) -> str:
    parts = []
    if short:
        names = ", ".join(display_label(c) for c in short)
        parts.append(f"Not drawn, with fewer than {MIN_DRAWS} tuning trials: {names}.")
    if extra > 0:
        parts.append(
            f"Only the {MAX_CURVE_RECIPES} best-ranked candidates are drawn ({extra} more are not)."
        )
    return " ".join(parts)


def draw_best_of_k(info: BestOfKInfo) -> Figure:
    """One line per candidate over k, its ± one standard deviation band around it."""
    import matplotlib.ticker

    from bench.report.figures._style import palette, plt, sns

    colors = palette(info.palette_order)
    labels = {c: mathtext_safe(display_label(c)) for c in info.candidates}
    hues = {labels[c]: colors[display_label(c)] for c in info.candidates}
    curves = info.curves.dropna(subset=["expected"])
    curves = curves.assign(label=curves["candidate"].map(labels))
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for candidate in info.candidates:
        curve = curves[curves["candidate"] == candidate]
        color = colors[display_label(candidate)]
        ax.fill_between(
            curve["k"],
            curve["low"],
            curve["high"],
            color=color,
            alpha=0.15,
            linewidth=0,
        )
    sns.lineplot(
        data=curves,
        x="k",
        y="expected",
        hue="label",
        hue_order=list(hues),
        palette=hues,
        marker="o",
        markersize=4,
        ax=ax,
    )
    ax.set(xlabel="tuning trials k", ylabel=info.y_label)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.legend(title="candidate", loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    return fig
