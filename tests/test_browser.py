"""The HTML report and the dashboard as a reader sees them: in headless chromium.

The browser is Debian's ``chromium`` (nothing is downloaded), driven by Playwright for
Python. Without it these tests are skipped with a reason, unless ``BENCH_REQUIRE_BROWSER``
is set (``bash .ci/run`` sets it after installing chromium): then a missing browser fails.
With ``BENCH_BROWSER_SCREENSHOTS=DIR`` the pages are also saved as screenshots in ``DIR``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest
from report_fixtures import FAILED, PRUNED, add_protocol_study, build_storage
from run_fixtures import PROTOCOL, stop_process

from bench.dashboard import dashboard_url
from bench.report import ReportResult, write_report
from bench.report._labels import display_label

# The browser first: without it every test skips before building anything.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("browser")]

#: The browsers looked for on PATH, in order: Debian's package, then Ubuntu's name.
BROWSERS = ("chromium", "chromium-browser")
#: Set (to anything but 0) where a missing browser must fail rather than skip (CI).
REQUIRE_BROWSER = "BENCH_REQUIRE_BROWSER"
#: A folder to save screenshots of the pages in, when set.
SCREENSHOTS = "BENCH_BROWSER_SCREENSHOTS"
INSTALL_HINT = "install Debian's chromium (sudo apt-get install chromium; bash .ci/run installs it)"
#: How long a page may take to show what is waited for, in milliseconds.
PAGE_TIMEOUT_MS = 30_000


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_BROWSER, "").strip() not in ("", "0"):
        pytest.fail(f"{REQUIRE_BROWSER} is set, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless chromium from PATH, for every test of this file."""
    executable = next((path for path in map(shutil.which, BROWSERS) if path), None)
    if executable is None:
        _unavailable(f"no {' or '.join(BROWSERS)} on PATH: {INSTALL_HINT}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class WatchedPage:
    """A browser page, and every problem it reported since it opened: console errors,
    uncaught script errors, failed requests and HTTP error responses."""

    page: Any
    problems: list[str] = field(default_factory=list)

    def open(self, url: str) -> None:
        """Go to ``url`` and wait until it and everything it loads (images) has loaded."""
        self.page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT_MS)

    def screenshot(self, name: str) -> None:
        """Save the whole page as ``<$BENCH_BROWSER_SCREENSHOTS>/<name>.png`` when set."""
        folder = os.environ.get(SCREENSHOTS)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture
def watched(browser: Any) -> Iterator[WatchedPage]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    watched = WatchedPage(context.new_page())
    problems = watched.problems

    def console(message: Any) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    def response(answer: Any) -> None:
        if answer.status >= 400:
            problems.append(f"HTTP {answer.status}: {answer.url}")

    watched.page.on("console", console)
    watched.page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    watched.page.on(
        "requestfailed",
        lambda request: problems.append(f"request failed: {request.url} ({request.failure})"),
    )
    watched.page.on("response", response)
    try:
        yield watched
    finally:
        context.close()


# ----------------------------------------------------------------------------- the report


@pytest.fixture(scope="module", params=["grid", "protocol"])
def report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A written report of a grid study or of a tuning-protocol study (with a pruned
    tuning trial, a failed final seed and a defaults arm, so that every section has
    rows)."""
    folder = tmp_path_factory.mktemp(f"browser-{request.param}")
    if request.param == "grid":
        storage = build_storage(folder / "bench.db", study_name="grid", seeds=(0, 1, 2))
    else:
        storage = f"sqlite:///{folder / 'bench.db'}"
        add_protocol_study(
            storage,
            study_name="protocol",
            budget=5,
            tune_outcomes={("sgd", 1): PRUNED},
            final_outcomes={("adam", 2): FAILED},
            defaults_arm=True,
        )
    return write_report(request.param, storage=storage, out_dir=folder / "out", write_note=False)


def _png_size(path: Path) -> tuple[int, int]:
    """A PNG file's (width, height), read from its header."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def figure_problems(page: Any) -> list[str]:
    """Every ``<img>`` the browser could not decode, or decoded at no size."""
    images = page.evaluate(
        """() => Promise.all(Array.from(document.images, image =>
            image.decode().then(() => null, () => null).then(() => ({
                alt: image.alt,
                src: image.getAttribute("src").slice(0, 60),
                width: image.naturalWidth,
                height: image.naturalHeight,
            }))))"""
    )
    return [
        f"figure {image['alt']!r} ({image['src']}...) not decoded"
        for image in images
        if not (image["width"] > 0 and image["height"] > 0)
    ]


def figure_sizes(page: Any) -> list[tuple[int, int]]:
    """The natural (width, height) of every ``<img>``, in page order."""
    sizes = page.evaluate(
        "() => Array.from(document.images, i => [i.naturalWidth, i.naturalHeight])"
    )
    return [tuple(size) for size in sizes]


def broken_links(page: Any) -> list[str]:
    """Every in-page link (``href="#..."``) that names no element of the page."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('a[href^="#"]'))
            .map(link => link.getAttribute("href"))
            .filter(href => !document.getElementById(decodeURIComponent(href.slice(1))))"""
    )


def leaderboard_cells(page: Any) -> pd.DataFrame:
    """The leaderboard table of the page as the browser shows it, one row per recipe."""
    table = page.evaluate(
        """() => {
            const table = document.querySelector("#leaderboard table");
            const text = row => Array.from(row.cells, cell => cell.innerText.trim());
            return {head: text(table.tHead.rows[0]), rows: Array.from(table.tBodies[0].rows, text)};
        }"""
    )
    return pd.DataFrame(table["rows"], columns=table["head"])


def test_report_loads_without_errors(report: ReportResult, watched: WatchedPage) -> None:
    watched.open(report.index_html.as_uri())
    watched.screenshot(f"report-{report.study_name}")
    assert watched.page.title() == f"{report.study_name}: bench report"
    assert watched.problems == []


def test_every_figure_is_decoded_at_its_size(report: ReportResult, watched: WatchedPage) -> None:
    watched.open(report.index_html.as_uri())
    assert figure_problems(watched.page) == []
    pngs = [path for path in report.figures if path.suffix == ".png"]
    assert len(pngs) >= 5
    # One image per figure, each the very PNG the report wrote beside the page.
    assert figure_sizes(watched.page) == [_png_size(path) for path in pngs]


def test_every_in_page_link_has_a_target(report: ReportResult, watched: WatchedPage) -> None:
    watched.open(report.index_html.as_uri())
    links = watched.page.locator('a[href^="#"]').count()
    assert links >= 5  # the contents: Study, Leaderboard, Figures, Excluded trials, Versions
    assert broken_links(watched.page) == []


def test_leaderboard_shows_summary_csv(report: ReportResult, watched: WatchedPage) -> None:
    watched.open(report.index_html.as_uri())
    shown = leaderboard_cells(watched.page)
    summary = pd.read_csv(report.summary_csv)
    assert report.ranked_by == "val_auc"  # the fixtures' objective: the "val AUC" column
    assert len(shown) == len(summary) >= 3
    pairs = zip(summary.head(3).to_dict("records"), shown.head(3).to_dict("records"), strict=True)
    for row, cells in pairs:
        assert cells["#"] == str(row["rank"])
        assert cells["recipe"] == display_label(row["recipe_label"])
        assert cells["val AUC"].startswith(f"{row['val_auc_mean']:.3f} ")


def test_best_of_k_figure_shows_with_its_caption(
    report: ReportResult, watched: WatchedPage
) -> None:
    """A tuning study's report shows each candidate's expected best after k tuning trials,
    decoded, with its caption; a grid study's has no such figure (and no error)."""
    from playwright.sync_api import expect

    watched.open(report.index_html.as_uri())
    heading = watched.page.locator("h3#best_of_k")
    if report.study_name == "grid":
        assert heading.count() == 0
        assert watched.problems == []
        return
    expect(heading).to_have_text("Expected best after k tuning trials", timeout=PAGE_TIMEOUT_MS)
    figure = heading.locator("xpath=following-sibling::figure[1]")
    image = figure.locator("img")
    image.scroll_into_view_if_needed()
    expect(image).to_be_visible()
    size = image.evaluate("i => i.decode().then(() => [i.naturalWidth, i.naturalHeight])")
    assert tuple(size) == _png_size(report.out_dir / "figures" / "best_of_k.png")
    caption = figure.locator("figcaption")
    expect(caption).to_be_visible()
    text = caption.inner_text()
    assert text.startswith("The expected best objective (val_auc) a candidate would reach")
    assert "pruned, diverged or crashed tuning trial (sgd 1)" in text  # the fixture's pruned
    assert re.search(r"[Tt]he expected order is .+ > ", text), text
    watched.screenshot(f"best-of-k-{report.study_name}")
    assert watched.problems == []


def test_defaults_arm_shows_each_candidate_tuned_and_untuned(
    report: ReportResult, watched: WatchedPage
) -> None:
    """A tuning study with a defaults arm shows, under its own heading, every candidate's
    rank and mean at its defaults beside its tuned ones, as defaults.csv holds them."""
    from playwright.sync_api import expect

    watched.open(report.index_html.as_uri())
    section = watched.page.locator("section#defaults-arm")
    if report.study_name == "grid":
        assert section.count() == 0
        return
    section.scroll_into_view_if_needed()
    expect(section.locator("h2")).to_have_text("Defaults arm", timeout=PAGE_TIMEOUT_MS)
    expect(section.locator("table")).to_be_visible()
    shown = section.locator("table").evaluate(
        """table => Array.from(table.tBodies[0].rows, row =>
            Object.fromEntries(Array.from(row.cells, (cell, i) =>
                [table.tHead.rows[0].cells[i].innerText.trim(), cell.innerText.trim()])))"""
    )
    assert report.defaults_csv is not None
    stored = pd.read_csv(report.defaults_csv)
    assert sorted(row["candidate"] for row in shown) == sorted(
        display_label(c) for c in stored["candidate"]
    )
    by_candidate = {row["candidate"]: row for row in shown}
    for row in stored.to_dict("records"):
        cells = by_candidate[display_label(row["candidate"])]
        assert cells["mean at defaults (95% CI)"].startswith(f"{row['defaults_mean']:.3f}")
        assert cells["tuned − defaults"] == f"{row['tuning_gain']:+.3f}"
    assert watched.page.locator('a[href="#defaults-arm"]').count() == 1
    watched.screenshot(f"defaults-arm-{report.study_name}")
    assert watched.problems == []


def test_a_broken_or_missing_figure_is_caught(
    report: ReportResult, watched: WatchedPage, tmp_path: Path
) -> None:
    """The checks above can fail: one figure's bytes corrupted, another's file missing."""
    page = report.index_html.read_text(encoding="utf-8")
    uris = re.findall(r'src="(data:image/png;base64,[^"]+)"', page)
    assert len(uris) >= 2
    broken = uris[0][:60] + "AAAA" * 50 + uris[0][260:]  # a PNG header, then garbage
    page = page.replace(uris[0], broken).replace(uris[1], "figures/missing.png")
    copy = tmp_path / "index.html"
    copy.write_text(page, encoding="utf-8")
    watched.open(copy.as_uri())
    problems = figure_problems(watched.page)
    assert len(problems) == 2, problems
    assert [p for p in watched.problems if "missing.png" in p and "request failed" in p]


# ----------------------------------------------------------------------------- the dashboard

#: The candidates of the dashboard's grid study: variants of a grid, stored as the param
#: ``variant`` the way the study runner stores them.
CANDIDATES = ("adamw", "sgd", "rmsprop")

#: A protocol study as small as runs for real, named as the built-in one: the dashboard
#: must name the best trial's candidate and the settings it ran, which are its params too.
PROTOCOL_SPEC = (
    PROTOCOL.replace('name = "protocol"', 'name = "optimizers"')
    .replace("epochs = 3", "epochs = 1")
    .replace("train_size = 200", "train_size = 120")
    .replace("final_seeds =", "confirm = 1\nfinal_seeds =")
)


@pytest.fixture(scope="module")
def protocol_storage(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real ``bench run`` of :data:`PROTOCOL_SPEC` (10 one-epoch trials)."""
    from bench.cli import main

    folder = tmp_path_factory.mktemp("protocol")
    spec = folder / "optimizers.toml"
    spec.write_text(PROTOCOL_SPEC)
    storage = f"sqlite:///{folder / 'bench.db'}"
    assert main(["run", "--study", str(spec), "--storage", storage, "--jobs", "1"]) == 0
    return storage


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Dashboard:
    """A ``bench dashboard`` process serving one stored study."""

    storage: str
    study_name: str
    url: str
    study_id: int


def _study_id(port: int, study_name: str, server: subprocess.Popen[bytes], log: Path) -> int:
    """The study's id, once the dashboard answers its API (within 30 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, f"bench dashboard exited: {log.read_text()}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2) as r:
                studies = json.loads(r.read())["study_summaries"]
            return next(s["study_id"] for s in studies if s["study_name"] == study_name)
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"bench dashboard did not answer within 30 s: {log.read_text()}")


@pytest.fixture(params=["variants", "optimizers"])
def dashboard(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Dashboard]:
    """``bench dashboard`` on a free port, stopped after the test whatever happens: a grid
    study (``variants``) or a protocol study run for real (``optimizers``)."""
    study_name = request.param
    if study_name == "variants":
        storage = build_storage(
            tmp_path / "bench.db", study_name=study_name, space={"variant": list(CANDIDATES)}
        )
    else:
        storage = request.getfixturevalue("protocol_storage")
    port = _free_port()
    log = tmp_path / "dashboard.log"
    command = [sys.executable, "-m", "bench", "dashboard", "--storage", storage]
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*command, "--port", str(port)], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        study_id = _study_id(port, study_name, server, log)
        url = dashboard_url(host="127.0.0.1", port=port)
        yield Dashboard(storage=storage, study_name=study_name, url=url, study_id=study_id)
    finally:
        stop_process(server)


def test_dashboard_study_page_shows_the_best_trials_candidate(
    dashboard: Dashboard, watched: WatchedPage
) -> None:
    from playwright.sync_api import expect

    best = optuna.load_study(study_name=dashboard.study_name, storage=dashboard.storage).best_trial
    page = watched.page
    watched.open(f"{dashboard.url}studies/{dashboard.study_id}")
    expect(page.locator("header").get_by_text(dashboard.study_name)).to_be_visible(
        timeout=PAGE_TIMEOUT_MS
    )
    heading = page.get_by_text(re.compile(r"^Best Trial \(number=\d+\)$"))
    expect(heading).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    watched.screenshot(f"dashboard-study-{dashboard.study_name}")
    assert heading.inner_text() == f"Best Trial (number={best.number})"
    card = heading.locator("xpath=..").inner_text()
    candidate = best.params["variant"]
    assert f"variant: {candidate}" in card
    others = [name for name in best.distributions["variant"].choices if name != candidate]
    assert others and not [other for other in others if other in card]
    # Under the protocol the settings the best trial ran are its params too.
    for name in best.params:
        assert f"{name}: " in card
    assert watched.problems == []
