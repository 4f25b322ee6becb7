"""The HTML report in a real headless Chromium (Debian's, driven by playwright; no browser download).
Slow (four real episodes and a browser): run with -m slow."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from embodied.bench.report import write
from embodied.bench.runner import RunSpec, run
from embodied.bench.suites import get_suite

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("report")
    for agent in ("oracle", "random"):
        run(RunSpec([get_suite("MANIP")], agent, d / agent, tiers=["1", "2"], episodes=1, size=64))
    return write([str(d / "oracle"), str(d / "random")], d / "report.html")


def test_report_is_one_self_contained_file(report):
    text = report.read_text()
    assert "src='http" not in text and "href='http" not in text and "<script" not in text
    replays = text.count("data:image/webp;base64,") + text.count("data:image/gif;base64,")
    assert text.count("data:image/png;base64,") == 1 and replays == 4
    assert "Leaderboard" in text and "Paired difference" in text and "Cost" in text


@pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (apt-get install chromium)"
)
def test_report_renders_in_headless_chromium(report):
    playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "request", lambda r: None if r.url.startswith(("file:", "data:")) else errors.append(r.url)
            )
            page.goto(report.as_uri())
            page.wait_for_load_state("load")
            assert page.locator("#leaderboard-table").is_visible()
            rows = page.locator("#leaderboard-table tr").count()
            assert rows == 1 + 2 * 3  # header + 2 runs x (all + 2 tiers)
            assert "100.0 ± 0.0" in page.locator("#leaderboard-table").inner_text()
            for sel in ("img.plot", "img.replay"):
                img = page.locator(sel).first
                img.scroll_into_view_if_needed()
                assert img.is_visible() and img.evaluate("i => i.complete && i.naturalWidth > 0"), sel
            shots = Path(os.environ.get("EMBODIED_SHOTS", report.parent))
            shots.mkdir(parents=True, exist_ok=True)
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(shots / "report_top.png"))
            page.locator("img.plot").first.scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "report_plot.png"))
            page.locator("img.replay").first.scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "report_replay.png"))
        finally:
            browser.close()
    assert errors == []
    assert all(
        (shots / f).stat().st_size > 10_000
        for f in ("report_top.png", "report_plot.png", "report_replay.png")
    )
    shutil.rmtree(report.parent / "unused", ignore_errors=True)
