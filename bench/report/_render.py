"""Report content -> a self-contained HTML page, a Markdown file and a dashboard note.

Each rendering is a Jinja2 template in ``bench/report/templates/`` laid out over the one
:class:`~bench.report._content.ReportView` of the content. HTML templates autoescape
everything they print; the Markdown ones pass text through the ``md`` filter.
"""

from __future__ import annotations

import base64
import functools
import html
import re

import jinja2

from bench.report._content import ReportContent, report_view

#: How many leaderboard rows the dashboard note shows; the report holds them all.
NOTE_ROWS = 20

# Cells that read as numbers ("0.812 ± 0.013", "3", "never", "2/3", "12, 19") align right.
_NUMERIC = re.compile(
    r"^(?:[-+]?[\d.]+(?:e[-+]?\d+)?(?: ± [\d.]+| \(n=\d+\)| \[[-\d.]+, [-\d.]+\])?"
    r"|–|never|\d+/\d+|[\d.]+(?:, [\d.]+)+)$"
)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]|])")
# markupsafe writes quotes as numeric references; html.escape, and so every earlier report,
# as below. The same characters: keep the spelling readers and tools already search for.
_ENTITY_SPELLING = {"&#34;": "&quot;", "&#39;": "&#x27;"}


def markdown_text(value: object) -> str:
    """``value`` as literal Markdown text on one line: HTML and Markdown syntax escaped.

    Example:
        >>> print(markdown_text("a|b *c* <i>"))
        a\\|b \\*c\\* &lt;i&gt;
    """
    text = html.escape(str(value), quote=False).replace("\n", " ")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def reads_as_number(value: object) -> bool:
    """Whether a table cell reads as a number (and is aligned right).

    Example:
        >>> reads_as_number("0.812 ± 0.013"), reads_as_number("0.91 [0.78, 1.00]")
        (True, True)
        >>> reads_as_number("12, 19"), reads_as_number("adam")
        (True, False)
    """
    return bool(_NUMERIC.match(str(value)))


def png_data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:`` URI, so the page carries its figures.

    Example:
        >>> png_data_uri(b"png")
        'data:image/png;base64,cG5n'
    """
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("bench.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["md"] = markdown_text
    environment.filters["data_uri"] = png_data_uri
    environment.tests["numeric"] = reads_as_number
    return environment


def render_html(content: ReportContent) -> str:
    """The whole report as one self-contained HTML page (figures as data URIs).

    Everything printed into the page is HTML-escaped by the template's autoescaping.

    Example:
        >>> from bench.report._example import example_report
        >>> page = render_html(example_report())
        >>> page.startswith("<!DOCTYPE html>"), "<h2>Leaderboard</h2>" in page
        (True, True)
    """
    page = _environment().get_template("report.html").render(report=report_view(content))
    for markupsafe_form, html_escape_form in _ENTITY_SPELLING.items():
        page = page.replace(markupsafe_form, html_escape_form)
    return page


def render_markdown(content: ReportContent) -> str:
    """The report as Markdown, linking the figures in ``figures/<name>.png``.

    Example:
        >>> from bench.report._example import example_report
        >>> text = render_markdown(example_report())
        >>> text.splitlines()[0]
        '# Study report: demo'
    """
    return _environment().get_template("report.md").render(report=report_view(content))


def render_note(content: ReportContent, *, report_path: str | None = None) -> str:
    """The dashboard note: the status, the top leaderboard rows, the method, the report.

    Example:
        >>> from bench.report._example import example_report
        >>> note = render_note(example_report())
        >>> note.splitlines()[0]
        '## bench report'
    """
    template = _environment().get_template("note.md")
    return template.render(report=report_view(content), rows=NOTE_ROWS, report_path=report_path)
