"""The program's plan and progress in a real browser (Debian's Chromium through
Playwright; never ``playwright install``), on a phone-sized screen: onboarding on the
onboarding page, a daily check-in, a short simulated session (``/?reps=2``) with
today's plan on the home view, then the progress page with its charts, their text
summaries and keyboard reading. Screenshots go to ``test-artifacts/browser/progress-*.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser_support import (
    PHONE,
    assert_fits_the_phone,
    launch,
    needs_chromium,
    open_page,
    playwright_api,
    screenshot,
    set_slider,
)
from web_client import LiveServer, serve

from spinecoach.program.redflags import default_red_flags
from spinecoach.web.settings import Settings

expect = playwright_api.expect

SIM_SPEED = 50.0
STEP_TIMEOUT_MS = 20_000
FLAG_IDS = [f.id for f in default_red_flags()]
# One movement-range chart per technique done (issue 15 item 10): pelvic tilt here.
CHARTS = ["pain", "adherence", "range-pelvic-tilt", "quality", "medication", "psfs", "sessionPain"]

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('progress-browser')}/history.sqlite3"
    yield from serve(Settings(sim_speed=SIM_SPEED, database_url=url))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from open_page(browser, STEP_TIMEOUT_MS, timezone_id="UTC")


def shot(page: Any, name: str) -> None:
    screenshot(page, f"progress-{name}")


def onboard(page: playwright_api.Page, server: LiveServer) -> None:
    page.goto(f"{server.http_url}/onboarding")
    expect(page.locator("#redflag-list fieldset")).to_have_count(len(FLAG_IDS))
    for flag_id in FLAG_IDS:
        page.focus(f"#rf-{flag_id}-no")
        page.keyboard.press("Space")
    page.click("#redflag-next")
    expect(page.locator("#view-onboard-baseline h1")).to_be_focused()
    set_slider(page, "#baseline-vas", 40)
    page.fill("#psfs-activity-0", "Putting on socks")
    page.fill("#psfs-score-0", "4")
    page.fill("#baseline-doses", "2")
    page.fill("#morning-time", "07:30")
    page.focus("#baseline-save")
    page.keyboard.press("Enter")
    expect(page.locator("#program-saved")).to_have_text("Saved: your program has started.")
    shot(page, "1-onboarded")


def short_session(page: playwright_api.Page, server: LiveServer) -> None:
    page.goto(f"{server.http_url}/?reps=2")
    box = page.locator("#recommended")
    expect(box).to_be_visible()
    # The home page is today's plan (issue 15 item 1): one start button per prescribed
    # exercise, with its dose.
    expect(box.get_by_role("heading", name="Your plan for today")).to_be_visible()
    expect(box.locator(".today-start").first).to_contain_text("Pelvic tilt on your back")
    expect(box.locator(".decision")).to_contain_text("Last decision (day 1)")
    expect(box.locator(".decision")).to_contain_text("keep going")  # with its reason
    expect(box).to_contain_text("not a medical device")
    assert_fits_the_phone(page)
    shot(page, "2-home-recommended")
    page.click("[data-technique=pelvic-tilt]")
    expect(page.locator("#view-pain-before")).to_be_visible()
    set_slider(page, "#pain-before", 30)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#sensor-status")).to_have_text("Built-in simulator connected")
    page.click("#sensor-next")
    expect(page.locator("#view-pain-after")).to_be_visible(timeout=60_000)
    set_slider(page, "#pain-after", 35)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#saved")).to_have_text("Saved to your history")
    expect(page.locator("#summary-pain")).to_have_text("30 → 35 mm")
    shot(page, "3-session-saved")


def test_onboard_session_and_progress_charts(server: LiveServer, page: playwright_api.Page) -> None:
    onboard(page, server)
    checkin = httpx.post(
        f"{server.http_url}/api/program/checkin",
        json={"vas_mm": 38, "doses_per_day": 1},
        timeout=10.0,
    )
    assert checkin.status_code == 201
    short_session(page, server)

    page.goto(f"{server.http_url}/progress")
    expect(page.locator("#view-progress h1")).to_be_focused()
    expect(page.locator("#progress-status")).to_contain_text("Day 1 of 42")
    rec = page.locator("#progress-recommended")
    expect(rec.get_by_role("heading", name="Recommended for you")).to_be_visible()
    expect(rec.locator(".decision li").first).not_to_be_empty()
    figures = page.locator("#progress-charts figure.chart")
    expect(figures).to_have_count(len(CHARTS))
    for name in CHARTS:
        canvas = page.locator(f"#chart-{name}")
        expect(canvas).to_be_visible()
        assert "arrow keys" in (canvas.get_attribute("aria-label") or "")
        box = canvas.bounding_box()
        assert box is not None and 200 < box["width"] <= PHONE["width"]
        drawn = canvas.evaluate(
            "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n += 1; return n; }"
        )
        assert drawn > 100, f"chart {name} looks blank"
        expect(page.locator(f"#figure-{name} figcaption")).not_to_be_empty()
    expect(page.locator("#figure-pain figcaption")).to_contain_text("started at 40 mm")
    expect(page.locator("#figure-sessionPain figcaption")).to_contain_text("1 sessions rated")
    expect(page.locator("#figure-medication figcaption")).to_contain_text("1 on the latest day")
    expect(page.locator("#figure-psfs figcaption")).to_contain_text("Putting on socks: 4")
    # The keyboard reads a chart point by point.
    page.focus("#chart-sessionPain")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#figure-sessionPain .readout")).to_have_text(
        "Day 1, Pelvic tilt on your back: pain 30 → 35 mm"
    )
    page.focus("#chart-pain")
    page.keyboard.press("End")
    expect(page.locator("#figure-pain .readout")).to_contain_text("morning pain 38 mm")
    # The numbers behind a chart, as a table.
    page.locator("#figure-pain summary").click()
    expect(page.locator("#figure-pain table.data tbody tr")).to_have_count(1)
    assert_fits_the_phone(page)
    shot(page, "4-progress")
