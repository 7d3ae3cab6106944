"""The defaults arm beside the tuned verdict: would the ranking differ without tuning?

Under ``[tuning] defaults_arm`` each candidate also trained untuned (its searched knobs at
their declared defaults) on the final seeds. Its trials are ranked by the same
:func:`bench.report._stats.summarize` (so the same ``compare_to_best`` top group) as the
leaderboard; this module sets that ranking beside the tuned one and says in one sentence
whether tuning changed the top group and the order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from bench.report._compare import TOP_GROUP
from bench.report._labels import display_label, format_interval, verdict_text
from bench.report._metrics import SUMMARY_METRICS

#: The arms of the table, each with its column prefix in ``defaults.csv``.
ARMS: tuple[str, ...] = ("defaults", "tuned")


@dataclass(frozen=True)
class DefaultsArm:
    """The defaults arm's ranking and how it compares with the tuned one.

    Attributes:
        summary: The defaults trials' ranked summary (``summarize``'s columns; empty
            when no defaults seed has finished yet).
        table: One row per candidate in the defaults arm's order (``defaults.csv``):
            ``candidate``, then per arm (``defaults_``, ``tuned_``) its ``rank``, ``n``,
            ``mean``, ``ci_low``, ``ci_high`` and ``vs_best`` on the ranked metric, and
            ``tuning_gain`` (tuned mean minus defaults mean).
        sentence: Whether tuning changed the top group and the order, in words.
    """

    summary: pd.DataFrame
    table: pd.DataFrame
    sentence: str


def defaults_arm(defaults: pd.DataFrame, tuned: pd.DataFrame, *, ranked_by: str) -> DefaultsArm:
    """The defaults arm (``defaults``: its ranked summary) beside the ``tuned`` leaderboard.

    Example:
        >>> def board(order, top):
        ...     return pd.DataFrame({
        ...         "rank": range(1, len(order) + 1), "recipe_label": order, "n": 3,
        ...         "val_auc_mean": [0.9, 0.8, 0.7][: len(order)], "val_auc_ci_low": 0.6,
        ...         "val_auc_ci_high": 0.95,
        ...         "vs_best": ["best", *["indistinguishable"] * (top - 1),
        ...                     *["worse"] * (len(order) - top)],
        ...     })
        >>> arm = defaults_arm(board(["sgd", "adam"], 1), board(["adam", "sgd"], 1),
        ...                    ranked_by="val_auc")
        >>> arm.table[["candidate", "defaults_rank", "tuned_rank", "tuning_gain"]]
          candidate  defaults_rank  tuned_rank  tuning_gain
        0       sgd              1           2         -0.1
        1      adam              2           1          0.1
        >>> print(arm.sentence)
        Tuning changed the ranking: at library defaults the top group by mean validation
        AUC is sgd; tuned it is adam. The order by mean changed too: sgd, adam at defaults;
        adam, sgd tuned.
    """
    table = _table(defaults, tuned, ranked_by=ranked_by)
    return DefaultsArm(
        summary=defaults,
        table=table,
        sentence=ranking_sentence(defaults, tuned, ranked_by=ranked_by),
    )


def _arm_columns(summary: pd.DataFrame, arm: str, *, ranked_by: str) -> pd.DataFrame:
    columns = {
        "recipe_label": "candidate",
        "rank": f"{arm}_rank",
        "n": f"{arm}_n",
        f"{ranked_by}_mean": f"{arm}_mean",
        f"{ranked_by}_ci_low": f"{arm}_ci_low",
        f"{ranked_by}_ci_high": f"{arm}_ci_high",
        "vs_best": f"{arm}_vs_best",
    }
    if summary.empty:
        return pd.DataFrame(columns=list(columns.values()))
    return summary.reindex(columns=list(columns)).rename(columns=columns)


def _table(defaults: pd.DataFrame, tuned: pd.DataFrame, *, ranked_by: str) -> pd.DataFrame:
    left = _arm_columns(defaults, "defaults", ranked_by=ranked_by)
    right = _arm_columns(tuned, "tuned", ranked_by=ranked_by)
    table = left.merge(right, on="candidate", how="outer", sort=False)
    # The defaults arm's order, then candidates it has not ranked yet in the tuned order.
    ranked = set(left["candidate"])
    order = [*left["candidate"], *(c for c in right["candidate"] if c not in ranked)]
    table = table.set_index("candidate").loc[order].reset_index()
    for arm in ARMS:
        table[f"{arm}_rank"] = table[f"{arm}_rank"].astype("Int64")
        table[f"{arm}_n"] = table[f"{arm}_n"].astype("Int64")
    means = table[["tuned_mean", "defaults_mean"]].astype(float)
    table["tuning_gain"] = means["tuned_mean"] - means["defaults_mean"]
    return table


def _top_group(summary: pd.DataFrame) -> list[str]:
    if summary.empty:
        return []
    return summary.loc[summary["vs_best"].isin(TOP_GROUP), "recipe_label"].tolist()


def _order(summary: pd.DataFrame, among: set[str]) -> list[str]:
    if summary.empty:
        return []
    return [label for label in summary["recipe_label"] if label in among]


def _names(labels: Sequence[str]) -> str:
    return ", ".join(display_label(label) for label in labels) or "none"


def ranking_sentence(defaults: pd.DataFrame, tuned: pd.DataFrame, *, ranked_by: str) -> str:
    """Whether tuning changed the top group and the order of the candidates ranked in
    both arms, computed from the two ranked summaries.

    Example:
        >>> board = pd.DataFrame({"recipe_label": ["adam", "sgd"],
        ...                       "vs_best": ["best", "indistinguishable"]})
        >>> print(ranking_sentence(board, board, ranked_by="val_auc"))
        Tuning did not change the ranking: the top group by mean validation AUC is adam,
        sgd both at library defaults and tuned, and the order by mean is the same (adam,
        sgd).
    """
    if defaults.empty:
        return "No defaults-arm seed has finished yet: nothing to set beside the tuned ranking."
    metric = SUMMARY_METRICS.get(ranked_by, ranked_by)
    at_defaults, when_tuned = _top_group(defaults), _top_group(tuned)
    both = set(defaults["recipe_label"]) & set(tuned.get("recipe_label", ()))
    order_defaults, order_tuned = _order(defaults, both), _order(tuned, both)
    same_order = order_defaults == order_tuned
    if set(at_defaults) != set(when_tuned):
        text = (
            f"Tuning changed the ranking: at library defaults the top group by mean {metric} "
            f"is {_names(at_defaults)}; tuned it is {_names(when_tuned)}."
        )
        if not same_order:
            text += (
                f" The order by mean changed too: {_names(order_defaults)} at defaults; "
                f"{_names(order_tuned)} tuned."
            )
        return text
    if not same_order:
        return (
            f"Tuning kept the top group by mean {metric} ({_names(at_defaults)}) but changed "
            f"the order by mean: {_names(order_defaults)} at library defaults; "
            f"{_names(order_tuned)} tuned."
        )
    return (
        f"Tuning did not change the ranking: the top group by mean {metric} is "
        f"{_names(at_defaults)} both at library defaults and tuned, and the order by mean is "
        f"the same ({_names(order_defaults)})."
    )


def defaults_display(table: pd.DataFrame) -> pd.DataFrame:
    """The arm's table as a report shows it: each arm's rank, mean with its interval and
    verdict, and the gain from tuning.

    Example:
        >>> table = pd.DataFrame({
        ...     "candidate": ["sgd"], "defaults_rank": [1], "defaults_n": [3],
        ...     "defaults_mean": [0.8], "defaults_ci_low": [0.77], "defaults_ci_high": [0.83],
        ...     "defaults_vs_best": ["best"], "tuned_rank": [2], "tuned_n": [3],
        ...     "tuned_mean": [0.9], "tuned_ci_low": [0.87], "tuned_ci_high": [0.93],
        ...     "tuned_vs_best": ["worse"], "tuning_gain": [0.1]})
        >>> defaults_display(table).iloc[0].tolist()
        ['sgd', '1', '0.800 ± 0.030', 'best', '2', '0.900 ± 0.030', 'worse', '+0.100']
    """
    rows = []
    for _, row in table.iterrows():
        shown = {"candidate": display_label(row["candidate"])}
        for arm, words in (("defaults", "at defaults"), ("tuned", "tuned")):
            rank = row[f"{arm}_rank"]
            shown[f"rank {words}"] = "–" if pd.isna(rank) else str(int(rank))
            n = row[f"{arm}_n"]
            shown[f"mean {words} (95% CI)"] = format_interval(
                row[f"{arm}_mean"],
                row[f"{arm}_ci_low"],
                row[f"{arm}_ci_high"],
                0 if pd.isna(n) else int(n),
            )
            verdict = row[f"{arm}_vs_best"]
            shown[f"vs best {words}"] = verdict_text(None if pd.isna(verdict) else verdict)
        gain = row["tuning_gain"]
        shown["tuned − defaults"] = "–" if pd.isna(gain) else f"{gain:+.3f}"
        rows.append(shown)
    return pd.DataFrame(rows)
