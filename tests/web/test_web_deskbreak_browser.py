"""The desk-break prompt in Chromium: a simulated sitting bout passes the person's limit,
the prompt appears on the page, the person starts the 2-minute seated cat-cow, the coach
runs it (the simulator) and the exercise engine's reps mark the prompt done; the day view
shows it. Screenshots in test-artifacts/browser/.

The posture monitor replays a short simulated morning at 60 × real time (a 30-minute
sitting bout is 30 s); the limit is set to 5 minutes through the page's settings API.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser_support import (
    assert_fits_the_phone,
    launch,
    needs_chromium,
    open_page,
    playwright_api,
    screenshot,
    set_slider,
)
from web_client import LiveServer, serve

from spinecoach.sim.activities import simulate_activities
from spinecoach.web.settings import Settings

pytestmark = needs_chromium

STEP_TIMEOUT_MS = 20_000
SCHEDULE = [
    ("standing", 30.0),
    ("walking", 30.0),
    ("sitting-upright", 900.0),
    ("sitting-slouched", 900.0),
    ("standing", 120.0),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('deskbreak')}/history.sqlite3"
    day = simulate_activities(SCHEDULE, seed=3, rate_hz=25.0)
    settings = Settings(database_url=url, sim_speed=40.0, posture="sim-day", posture_sim_speed=60.0)
    yield from serve(settings, posture_day=day)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from open_page(browser, STEP_TIMEOUT_MS)


def test_a_long_sitting_bout_prompts_the_seated_cat_cow_which_is_done_and_recorded(
    server: LiveServer, page: Any
) -> None:
    response = httpx.put(
        f"{server.http_url}/api/posture/settings", json={"sitting_limit_min": 5, "snooze_min": 5}
    )
    assert response.status_code == 200, response.text
    expect = playwright_api.expect
    page.goto(server.http_url + "/day")
    expect(page.locator("#day-now")).to_contain_text("sitting for", timeout=30_000)
    banner = page.locator("#deskbreak")
    expect(banner).to_be_visible(timeout=30_000)
    expect(page.locator("#deskbreak-text")).to_contain_text("You have been sitting for")
    expect(page.locator("#deskbreak-text")).to_contain_text("2-minute seated cat-cow")
    screenshot(page, "deskbreak-1-prompt")
    assert_fits_the_phone(page)
    page.click("#deskbreak-start")
    # The coach opens on the seated cat-cow: pain, sensor check, calibration, sets.
    expect(page.locator("#view-pain-before")).to_be_visible()
    expect(page.locator("#session-title")).to_have_text("Seated cat-cow")
    set_slider(page, "#pain-before", 20)
    page.click("#pain-before-next")
    expect(page.locator("#sensor-next")).to_be_enabled()
    page.click("#sensor-next")
    expect(page.locator("#view-session")).to_be_visible(timeout=60_000)
    expect(banner).to_be_hidden()  # never over a running session
    screenshot(page, "deskbreak-2-cat-cow")
    expect(page.locator("#view-pain-after")).to_be_visible(timeout=120_000)
    page.click("#pain-after-next")
    expect(page.locator("#saved")).to_have_text("Saved to your history")
    reps = int(page.locator("#summary-stats dd").first.inner_text())
    assert reps >= 1
    day = httpx.get(f"{server.http_url}/api/posture/day").json()
    done = [p for p in day["prompts_rows"] if p["outcome"] == "done"]
    assert len(done) == 1, day["prompts_rows"]
    assert done[0]["reps"] == reps and done[0]["session_id"] is not None
    page.goto(server.http_url + "/day")
    expect(page.locator("#day-stats")).to_contain_text("1 of 1 prompted")
    expect(page.locator("#day-stats")).to_contain_text("Sitting bouts")
    screenshot(page, "deskbreak-3-day")
    assert_fits_the_phone(page)
