"""Report content -> a self-contained HTML page, Markdown, a dashboard note, a rich table."""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from rich.table import Table
from rich.text import Text

from bench.report._figures import ReportFigure, display_label
from bench.report._stats import (
    ALPHA,
    CONFIDENCE,
    EXCLUSION_REASONS,
    SUMMARY_METRICS,
    TEST_NAME,
    TimeToTarget,
)
from bench.results import StudyResults

# Leaderboard columns: summary metric -> (header, decimals).
_BOARD: dict[str, tuple[str, int]] = {
    "test_auc": ("test AUC", 3),
    "val_auc": ("val AUC", 3),
    "test_accuracy": ("test acc", 3),
    "gap_accuracy": ("gap (acc)", 3),
    "kept_epoch": ("kept epoch", 1),
    "epochs_run": ("epochs run", 1),
    "wall_time_s": ("wall time (s)", 1),
}
_REASON_WORDS = {
    "pruned": "pruned by the study's pruner",
    "failed": "failed",
    "diverged": "diverged (non-finite loss)",
    "running": "still running",
    "incomplete": "complete but stored without metrics",
}


@dataclass(frozen=True)
class ReportContent:
    """Everything a rendered report says, computed once and rendered several ways.

    Attributes:
        results: The study as read from the storage.
        summary: One row per recipe, ranked (see ``summarize``).
        ranked_by: The metric the ranking and the best-recipe test use.
        trials: All trials with an ``excluded`` column (``""`` when the trial counts).
        excluded_counts: Excluded trials per reason.
        time_to_target: Time-to-target results, or ``None``.
        figures: The figures, in reading order.
        generated_at: When the report was built.
    """

    results: StudyResults
    summary: pd.DataFrame
    ranked_by: str
    trials: pd.DataFrame
    excluded_counts: Mapping[str, int]
    time_to_target: TimeToTarget | None
    figures: Sequence[ReportFigure]
    generated_at: datetime

    @property
    def n_included(self) -> int:
        """How many trials the numbers are computed from."""
        return int((self.trials["excluded"] == "").sum())


def format_interval(mean: float, low: float, high: float, n: int, *, decimals: int = 3) -> str:
    """``mean ± half-width`` of a 95% interval, or ``mean (n=1)`` when it is undefined.

    Example:
        >>> format_interval(0.8, 0.77, 0.83, 3)
        '0.800 ± 0.030'
        >>> format_interval(0.8, float("nan"), float("nan"), 1)
        '0.800 (n=1)'
    """
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    if low is None or math.isnan(low) or math.isnan(high):
        return f"{mean:.{decimals}f} (n={n})"
    return f"{mean:.{decimals}f} ± {(high - low) / 2:.{decimals}f}"


def _verdict(status: object, p_value: float) -> str:
    if status == "best":
        return "best"
    if status == "not testable":
        return "not testable (n<2)"
    if status in ("indistinguishable", "worse"):
        prefix = "≈ best" if status == "indistinguishable" else "worse"
        return f"{prefix} (p={p_value:.2g})" if not math.isnan(p_value) else prefix
    return "–"


def leaderboard_frame(summary: pd.DataFrame, *, limit: int | None = None) -> pd.DataFrame:
    """The leaderboard as display strings: rank, recipe, n, mean ± 95% CI, verdict.

    Example:
        >>> leaderboard_frame(result.leaderboard).head(3)  # doctest: +SKIP
    """
    rows = []
    for row in summary.head(limit).to_dict("records") if limit else summary.to_dict("records"):
        n = int(row["n"])
        cells: dict[str, Any] = {
            "#": int(row["rank"]),
            "recipe": display_label(row["recipe_label"]),
        }
        cells["n"] = n
        for metric, (header, decimals) in _BOARD.items():
            cells[header] = format_interval(
                row[f"{metric}_mean"],
                row[f"{metric}_ci_low"],
                row[f"{metric}_ci_high"],
                n,
                decimals=decimals,
            )
        cells["vs best"] = _verdict(row.get("vs_best"), float(row.get("p_value", math.nan)))
        rows.append(cells)
    columns = ["#", "recipe", "n", *(h for h, _ in _BOARD.values()), "vs best"]
    return pd.DataFrame(rows, columns=columns)


#: The leaderboard columns a terminal shows by default (the files hold them all).
TERMINAL_COLUMNS: tuple[str, ...] = (
    "#",
    "recipe",
    "n",
    "test AUC",
    "gap (acc)",
    "kept epoch",
    "wall time (s)",
    "vs best",
)


def leaderboard_table(
    summary: pd.DataFrame,
    *,
    title: str | None = None,
    limit: int | None = None,
    columns: Sequence[str] = TERMINAL_COLUMNS,
) -> Table:
    """The leaderboard as a rich table for the terminal.

    ``columns`` picks from :func:`leaderboard_frame`'s columns. Cells are passed as
    :class:`rich.text.Text`, so brackets in recipe labels print literally.

    Example:
        >>> from rich.console import Console  # doctest: +SKIP
        >>> table = leaderboard_table(result.leaderboard, title="optimizers")  # doctest: +SKIP
        >>> Console().print(table)  # doctest: +SKIP
    """
    board = leaderboard_frame(summary, limit=limit)
    board = board[[c for c in columns if c in board.columns]]
    table = Table(title=title, title_justify="left")
    for column in board.columns:
        if column == "recipe":
            table.add_column(column, overflow="fold")
        elif column in ("#", "n"):
            table.add_column(column, justify="right", no_wrap=True)
        else:  # "0.812 ± 0.013" may wrap after the ± in a narrow terminal, never inside a number
            justify = "left" if column == "vs best" else "right"
            table.add_column(column, justify=justify)
    for values in board.itertuples(index=False):
        table.add_row(*(Text(str(v)) for v in values))
    return table


def method_sentence(ranked_by: str) -> str:
    """The sentence naming the interval and the test, for every rendering."""
    metric = SUMMARY_METRICS.get(ranked_by, ranked_by)
    return (
        f"Values are the mean over seeds ± the half-width of a {CONFIDENCE:.0%} Student-t "
        f"confidence interval (n=1: no interval). Recipes are ranked by mean {metric}; "
        f"“≈ best” marks recipes statistically indistinguishable from the best by "
        f"{TEST_NAME} (two-sided, α = {ALPHA}) on per-seed {metric}, and “not testable” "
        "means a side has fewer than 2 seeds. Not rejecting is not proof of equality, and "
        "the comparisons are not corrected for multiplicity."
    )


def _status_sentence(content: ReportContent) -> str:
    total = len(content.trials)
    parts = [f"{total} trials: {content.n_included} included in the numbers"]
    for reason in EXCLUSION_REASONS:
        count = content.excluded_counts.get(reason, 0)
        if count:
            parts.append(f"{count} {reason}")
    text = ", ".join(parts) + "."
    if content.excluded_counts.get("running"):
        text += " The study is still running: this report covers the trials finished so far."
    if content.summary.empty:
        text += " No trial has finished successfully yet, so there is nothing to compare."
    return text


def _best_sentence(content: ReportContent) -> str:
    if content.summary.empty:
        return ""
    best = content.summary.iloc[0]
    metric = SUMMARY_METRICS.get(content.ranked_by, content.ranked_by)
    tied = int((content.summary["vs_best"] == "indistinguishable").sum())
    value = format_interval(
        best[f"{content.ranked_by}_mean"],
        best[f"{content.ranked_by}_ci_low"],
        best[f"{content.ranked_by}_ci_high"],
        int(best["n"]),
    )
    text = (
        f"Best by mean {metric}: {display_label(best['recipe_label'])} ({value}, "
        f"n={int(best['n'])})."
    )
    if tied:
        text += f" {tied} other recipe(s) are statistically indistinguishable from it."
    return text


def _spec_items(content: ReportContent) -> list[tuple[str, str]]:
    spec, workload = content.results.spec, content.results.workload
    items: list[tuple[str, str]] = []
    if spec.get("description"):
        items.append(("description", str(spec["description"])))
    dataset = workload.get("dataset") or (spec.get("workload") or {}).get("dataset")
    preset = workload.get("preset") or (spec.get("workload") or {}).get("preset")
    items.append(
        ("workload", f"dataset {dataset}, task {workload.get('task', '?')}, preset {preset}")
    )
    if workload.get("class_names"):
        items.append(("classes", ", ".join(str(c) for c in workload["class_names"])))
    if isinstance(workload.get("sizes"), Mapping):
        items.append(("splits", _pairs(workload["sizes"])))
    if isinstance(spec.get("objective"), Mapping):
        objective = spec["objective"]
        items.append(
            ("objective", f"{objective.get('direction', '')} {objective.get('metric', '')}")
        )
    if isinstance(spec.get("search_space"), Mapping) and spec["search_space"]:
        items.append(("search space", _pairs(spec["search_space"])))
    if isinstance(spec.get("variants"), Mapping) and spec["variants"]:
        items.append(
            (
                "variants",
                "; ".join(
                    f"{name}: {_pairs(fields)}"
                    for name, fields in spec["variants"].items()
                    if isinstance(fields, Mapping)
                ),
            )
        )
    if isinstance(spec.get("fixed"), Mapping):
        items.append(("fixed recipe", _pairs(spec["fixed"])))
    for key in ("seeds", "epochs", "sampler", "pruner"):
        if key in spec:
            items.append((key, _compact(spec[key])))
    if content.results.spec_hash:
        items.append(("spec hash", str(content.results.spec_hash)))
    return items


def _pairs(mapping: Mapping[str, Any]) -> str:
    return "; ".join(f"{k}: {_compact(v)}" for k, v in mapping.items())


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def _time_table(content: ReportContent) -> pd.DataFrame | None:
    ttt = content.time_to_target
    if ttt is None:
        return None
    table = content.summary[["rank", "recipe_label"]].merge(ttt.per_recipe, on="recipe_label")

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


def _time_sentence(ttt: TimeToTarget) -> str:
    return (
        f"Target: validation AUC ≥ {ttt.target:.4f} ({ttt.fraction:.0%} of the best recipe's "
        f"mean final validation AUC, {ttt.best_final:.4f}). Medians run over all of a recipe's "
        "seeds, counting a seed that never reached the target as never, so “never” means "
        "at least half of them missed it."
    )


def excluded_frame(trials: pd.DataFrame) -> pd.DataFrame:
    """The excluded trials, one row each, with why.

    Example:
        >>> excluded_frame(result.trials)  # doctest: +SKIP
    """
    excluded = trials[trials["excluded"] != ""]
    return pd.DataFrame(
        {
            "trial": excluded["number"],
            "state": excluded["state"],
            "why": excluded["excluded"].map(lambda r: _REASON_WORDS.get(r, r)),
            "recipe": excluded["recipe_label"].map(display_label),
            "seed": excluded["seed"].astype(object).where(excluded["seed"].notna(), "–"),
            "epochs run": excluded["epochs_run"]
            .astype(object)
            .where(excluded["epochs_run"].notna(), "–"),
            "note": excluded["fail_reason"].fillna("").astype(str).str.slice(0, 200),
        }
    )


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;
max-width:1180px;margin:2rem auto;padding:0 1.5rem;background:#fff}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{margin-top:2.4rem;border-bottom:1px solid #d0d7de;
padding-bottom:.3rem}h3{margin-top:1.8rem}.meta{color:#59636e;font-size:.9rem}
.lead{font-size:1.05rem}.note{color:#59636e;font-size:.9rem;max-width:60rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d0d7de;padding:.3rem .55rem;text-align:right;vertical-align:top}
th{background:#f6f8fa}td.t{text-align:left}
table.spec td,table.spec th{text-align:left}table.spec th{white-space:nowrap}
tr.best td{background:#dafbe1}tr.tied td{background:#f1f8ff}
figure{margin:1.2rem 0 2rem}figure img{max-width:100%;height:auto;border:1px solid #eaeef2}
figcaption{color:#30363d;max-width:60rem;margin-top:.4rem}
pre{background:#f6f8fa;padding:.8rem;overflow:auto;font-size:.8rem}
details{margin:.6rem 0}.scroll{overflow-x:auto}
"""


# Cells that read as numbers ("0.812 ± 0.013", "3", "never", "2/3") align right.
_NUMERIC = re.compile(r"^(?:[-+]?[\d.]+(?:e[-+]?\d+)?(?: ± [\d.]+| \(n=\d+\))?|–|never|\d+/\d+)$")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _html_table(frame: pd.DataFrame, *, row_classes: Sequence[str] | None = None) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = []
    for i, values in enumerate(frame.itertuples(index=False)):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        cells = "".join(
            f"<td>{_e(v)}</td>" if _NUMERIC.match(str(v)) else f'<td class="t">{_e(v)}</td>'
            for v in values
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def render_html(content: ReportContent) -> str:
    """The whole report as one self-contained HTML page (figures as data URIs).

    Everything that comes from the user (names, labels, class names, spec values) is
    HTML-escaped.

    Example:
        >>> Path("index.html").write_text(render_html(content))  # doctest: +SKIP
    """
    name = content.results.study_name
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(name)}: bench report</title><style>{_CSS}</style></head><body>",
        f"<h1>Study report: {_e(name)}</h1>",
        f'<p class="meta">Storage {_e(content.results.storage)} · generated '
        f"{_e(content.generated_at.strftime('%Y-%m-%d %H:%M:%S'))}</p>",
        f'<p class="lead">{_e(_status_sentence(content))} {_e(_best_sentence(content))}</p>',
        "<h2>Study</h2>",
        '<table class="spec"><tbody>',
        *(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in _spec_items(content)),
        "</tbody></table>",
        "<details><summary>Full study spec</summary><pre>"
        + _e(json.dumps(content.results.spec, indent=2, default=str, ensure_ascii=False))
        + "</pre></details>",
        "<h2>Leaderboard</h2>",
    ]
    if content.summary.empty:
        parts.append("<p>No included trials yet.</p>")
    else:
        board = leaderboard_frame(content.summary)
        classes = [
            {"best": "best", "indistinguishable": "tied"}.get(s, "")
            for s in content.summary["vs_best"]
        ]
        parts += [
            _html_table(board, row_classes=classes),
            f'<p class="note">{_e(method_sentence(content.ranked_by))} Every number is also in '
            "summary.csv (per recipe) and trials.csv (per trial).</p>",
        ]
    if content.figures:
        parts.append("<h2>Figures</h2>")
    for figure in content.figures:
        data = base64.b64encode(figure.png).decode("ascii")
        parts += [
            f'<h3 id="{_e(figure.name)}">{_e(figure.title)}</h3>',
            f'<figure><img alt="{_e(figure.title)}" src="data:image/png;base64,{data}">',
            f"<figcaption>{_e(figure.caption)}</figcaption></figure>",
        ]
    times = _time_table(content)
    if times is not None and content.time_to_target is not None:
        parts += [
            "<h2>Time to target per recipe</h2>",
            f'<p class="note">{_e(_time_sentence(content.time_to_target))}</p>',
            _html_table(times),
        ]
    parts += ["<h2>Excluded trials</h2>", f"<p>{_e(_excluded_sentence(content))}</p>"]
    excluded = excluded_frame(content.trials)
    if not excluded.empty:
        parts.append(_html_table(excluded))
    parts += [
        "<h2>Versions</h2>",
        f'<p class="note">{_e(_pairs(content.results.versions) or "not recorded")}</p>',
        "</body></html>",
    ]
    return "\n".join(parts)


def _excluded_sentence(content: ReportContent) -> str:
    counts = [f"{c} {r}" for r, c in content.excluded_counts.items() if c]
    if not counts:
        return "None: every trial finished and counts."
    return (
        f"{', '.join(counts)}. These trials are listed here and never averaged into the "
        "numbers or drawn in the figures."
    )


# --------------------------------------------------------------------------- Markdown


def _md(value: object) -> str:
    text = html.escape(str(value), quote=False).replace("\n", " ")
    for char in ("\\", "`", "*", "[", "]", "|"):
        text = text.replace(char, "\\" + char)
    return text


def _md_table(frame: pd.DataFrame) -> str:
    lines = [
        "| " + " | ".join(_md(c) for c in frame.columns) + " |",
        "|" + "|".join("---" for _ in frame.columns) + "|",
    ]
    lines += [
        "| " + " | ".join(_md(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join(lines)


def render_markdown(content: ReportContent, *, figure_dir: str = "figures") -> str:
    """The report as Markdown, linking ``<figure_dir>/<name>.png``.

    Example:
        >>> Path("report.md").write_text(render_markdown(content))  # doctest: +SKIP
    """
    name = content.results.study_name
    lines = [
        f"# Study report: {_md(name)}",
        "",
        f"_Storage {_md(content.results.storage)} · generated "
        f"{content.generated_at.strftime('%Y-%m-%d %H:%M:%S')}_",
        "",
        f"{_md(_status_sentence(content))} {_md(_best_sentence(content))}",
        "",
        "## Study",
        "",
        _md_table(pd.DataFrame(_spec_items(content), columns=["", "value"])),
        "",
        "## Leaderboard",
        "",
    ]
    if content.summary.empty:
        lines.append("No included trials yet.")
    else:
        lines += [
            _md_table(leaderboard_frame(content.summary)),
            "",
            _md(method_sentence(content.ranked_by)),
        ]
    if content.figures:
        lines += ["", "## Figures"]
    for figure in content.figures:
        lines += [
            "",
            f"### {_md(figure.title)}",
            "",
            f"![{_md(figure.title)}]({figure_dir}/{figure.name}.png)",
            "",
            _md(figure.caption),
        ]
    times = _time_table(content)
    if times is not None and content.time_to_target is not None:
        sentence = _md(_time_sentence(content.time_to_target))
        lines += ["", "## Time to target per recipe", "", sentence, "", _md_table(times)]
    lines += ["", "## Excluded trials", "", _md(_excluded_sentence(content))]
    excluded = excluded_frame(content.trials)
    if not excluded.empty:
        lines += ["", _md_table(excluded)]
    lines += ["", "## Versions", "", _md(_pairs(content.results.versions) or "not recorded"), ""]
    return "\n".join(lines)


def render_note(content: ReportContent, *, report_path: str | None = None, limit: int = 20) -> str:
    """The dashboard note: the status, the leaderboard (top ``limit``) and the method.

    Example:
        >>> optuna_dashboard.save_note(study, render_note(content))  # doctest: +SKIP
    """
    lines = [
        "## bench report",
        "",
        f"{_md(_status_sentence(content))} {_md(_best_sentence(content))}",
        "",
    ]
    if not content.summary.empty:
        lines += [_md_table(leaderboard_frame(content.summary, limit=limit)), ""]
        if len(content.summary) > limit:
            lines += [f"…and {len(content.summary) - limit} more recipes in the full report.", ""]
        lines += [_md(method_sentence(content.ranked_by)), ""]
    if report_path:
        lines.append(f"Full report with figures: `{report_path}`")
    return "\n".join(lines)
