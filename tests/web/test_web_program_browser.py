"""The program pages in a real browser (Debian's Chromium through Playwright; never
``playwright install``): onboarding stopped by a red flag, onboarding with the baseline
saved, the daily check-in, the weekly PSFS, an in-app reminder with snooze, and a red flag
reported mid-program from the Program page (the program stops with the advice), on a
phone-sized screen. Screenshots go to ``test-artifacts/browser/program-*.png``.

The tests share one server and database and run in order (stop first, then a program).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
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
from sqlalchemy.orm import Session
from web_client import LiveServer, serve

from spinecoach.program.onboarding import server_today
from spinecoach.program.redflags import default_red_flags
from spinecoach.store import program as sp
from spinecoach.store.db import make_engine
from spinecoach.store.models import ProgramEnrolment
from spinecoach.web.settings import Settings

expect = playwright_api.expect

STEP_TIMEOUT_MS = 15_000
FLAG_IDS = [f.id for f in default_red_flags()]

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('program-browser')}/history.sqlite3"


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[LiveServer]:
    yield from serve(Settings(sim_speed=10_000.0, database_url=database_url))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from open_page(browser, STEP_TIMEOUT_MS, timezone_id="UTC", accept_downloads=True)


def shot(page: Any, name: str) -> None:
    screenshot(page, f"program-{name}")


def answer_red_flags(page: playwright_api.Page, yes: set[str]) -> None:
    """Every question answered with the keyboard: focus the radio, press Space."""
    for flag_id in FLAG_IDS:
        page.focus(f"#rf-{flag_id}-{'yes' if flag_id in yes else 'no'}")
        page.keyboard.press("Space")


def test_onboarding_red_flag_stops(
    page: playwright_api.Page, server: LiveServer, database_url: str
) -> None:
    page.goto(f"{server.http_url}/onboarding")
    expect(page.locator("#view-onboard-redflags h1")).to_be_focused()
    expect(page.locator("#redflag-list fieldset")).to_have_count(len(FLAG_IDS))
    expect(page.locator("#redflag-disclaimer")).to_contain_text("not a medical device")
    assert_fits_the_phone(page)
    shot(page, "01-red-flag-questions")

    page.click("#redflag-next")  # nothing answered yet
    expect(page.locator("#redflag-error")).to_have_text(
        f"Please answer every question with yes or no ({len(FLAG_IDS)} not answered yet)."
    )
    expect(page.locator(f"#rf-{FLAG_IDS[0]}-yes")).to_be_focused()

    answer_red_flags(page, {"saddle-bladder-bowel"})
    shot(page, "02-red-flag-answered")
    page.focus("#redflag-next")
    page.keyboard.press("Enter")
    expect(page.locator("#view-onboard-stop")).to_be_visible()
    expect(page.locator("#view-onboard-stop h1")).to_have_text(
        "Please see a doctor before starting"
    )
    expect(page.locator("#stop-advice")).to_contain_text("Seek medical care now")
    expect(page.locator("#stop-reasons li")).to_have_count(1)
    expect(page.locator("#stop-recorded")).to_contain_text("Your answers were recorded")
    expect(page.locator("#stop-disclaimer")).to_contain_text("not a medical device")
    expect(page.locator("#view-onboard-baseline")).to_be_hidden()
    assert_fits_the_phone(page)
    shot(page, "03-stop-page")

    engine = make_engine(database_url)
    try:
        with Session(engine) as db:
            [screening] = sp.list_screenings(db, 1)
            assert screening.result == "stop" and screening.flagged == ["saddle-bladder-bowel"]
            enrolment = sp.latest_enrolment(db, 1)
            assert enrolment is not None and enrolment.status == "stopped"
    finally:
        engine.dispose()


def test_onboarding_without_red_flags_saves_the_baseline(
    page: playwright_api.Page, server: LiveServer, database_url: str, tmp_path: Path
) -> None:
    page.goto(f"{server.http_url}/onboarding")
    expect(page.locator("#redflag-list fieldset")).to_have_count(len(FLAG_IDS))
    # The last program was stopped by a red flag: starting again needs a clinician's "yes".
    expect(page.locator("#clearance-box")).to_be_visible()
    expect(page.locator("#clearance-stopped")).to_contain_text("Your last program was stopped on")
    answer_red_flags(page, set())
    page.click("#redflag-next")
    expect(page.locator("#redflag-error")).to_have_text(
        "Please confirm that a doctor or physiotherapist has seen you and agreed that you can "
        "start again, and give the day they saw you."
    )
    expect(page.locator("#clearance-confirmed")).to_be_focused()
    page.keyboard.press("Space")
    page.fill("#clearance-seen-on", server_today().isoformat())
    shot(page, "04a-restart-clearance")
    page.click("#redflag-next")
    expect(page.locator("#view-onboard-baseline h1")).to_be_focused()

    set_slider(page, "#baseline-vas", 45)
    page.fill("#psfs-activity-0", "Putting on socks")
    page.fill("#psfs-score-0", "4")
    page.fill("#psfs-activity-1", "Sitting through a film")
    page.fill("#baseline-doses", "2")
    page.fill("#morning-time", "07:30")
    page.fill("#work-start", "09:00")
    page.fill("#work-end", "12:00")
    page.check("input[name=sensor][value=phone]")
    page.click("#baseline-save")
    # Activity 2 has no score: the page says so and nothing is sent.
    expect(page.locator("#baseline-error")).to_have_text(
        "Activity 2: give both the activity and its score from 0 to 10."
    )
    expect(page.locator("#psfs-score-1")).to_be_focused()
    page.fill("#psfs-score-1", "6")
    page.fill("#baseline-doses", "30")
    page.click("#baseline-save")
    expect(page.locator("#baseline-error")).to_have_text(
        "baseline.doses_per_day: Input should be less than or equal to 24"
    )
    page.fill("#baseline-doses", "2")
    expect(page.locator("#baseline-error")).to_be_hidden()  # gone once the answer changed
    assert_fits_the_phone(page)
    shot(page, "04-baseline")
    # By keyboard (a click right after a full-page screenshot can be lost in headless Chromium).
    page.focus("#baseline-save")
    page.keyboard.press("Enter")

    expect(page.locator("#view-program")).to_be_visible()
    expect(page.locator("#program-saved")).to_have_text("Saved: your program has started.")
    expect(page.locator("#program-status")).to_have_text("Week 1 of 6.")
    expect(page.locator("#program-reminders li")).to_have_text(
        [
            "Morning routine at 07:30 (every day)",
            "Desk break at 09:50 (Monday to Friday)",
            "Desk break at 10:40 (Monday to Friday)",
            "Desk break at 11:30 (Monday to Friday)",
        ]
    )
    assert_fits_the_phone(page)
    shot(page, "05-program-started")

    with page.expect_download() as info:
        page.click("#calendar-link")
    ics = Path(info.value.path()).read_bytes()
    assert ics.startswith(b"BEGIN:VCALENDAR\r\n") and ics.count(b"BEGIN:VALARM") == 4

    engine = make_engine(database_url)
    try:
        with Session(engine) as db:
            enrolment = sp.active_enrolment(db, 1)
            assert enrolment is not None
            assert enrolment.baseline_vas_mm == 45.0 and enrolment.baseline_doses_per_day == 2
            assert enrolment.sensors == ["phone"]
            assert sp.baseline_activities(db, enrolment) == [
                "Putting on socks",
                "Sitting through a film",
            ]
            assert [s.result for s in sp.list_screenings(db, 1)] == ["stop", "clear"]
            first = sp.list_screenings(db, 1)[0].enrolment_id
            stopped = db.get(ProgramEnrolment, first)
            assert stopped is not None
            assert (
                "; cleared to restart: seen by a doctor or physiotherapist on "
                f"{server_today().isoformat()} (confirmed by the person "
            ) in stopped.stop_reason
    finally:
        engine.dispose()


def test_checkin_psfs_and_reminder(
    page: playwright_api.Page, server: LiveServer, database_url: str
) -> None:
    # The page's clock: Monday 2 March 2026, 07:29:30 (the context's time zone is UTC).
    page.clock.install(time=datetime(2026, 3, 2, 7, 29, 30, tzinfo=UTC))
    page.goto(f"{server.http_url}/checkin")
    expect(page.locator("#view-checkin h1")).to_be_focused()
    expect(page.locator("#reminder")).to_be_hidden()
    set_slider(page, "#checkin-vas", 30)
    page.fill("#checkin-doses", "1")
    page.fill("#checkin-note", "Slept well")
    page.click("#checkin-save")
    expect(page.locator("#checkin-saved")).to_have_text(
        "Saved for 2026-03-02: pain 30 mm, 1 dose(s)."
    )
    shot(page, "06-checkin")

    page.clock.run_for(60_000)  # 07:30:30: the morning reminder
    expect(page.locator("#reminder")).to_be_visible()
    expect(page.locator("#reminder-text")).to_have_text(
        "It's 07:30: time for your morning routine and pain check-in."
    )
    assert_fits_the_phone(page)
    shot(page, "07-reminder")
    page.click("#reminder-snooze")
    expect(page.locator("#reminder")).to_be_hidden()
    page.clock.run_for(5 * 60_000)
    expect(page.locator("#reminder")).to_be_hidden()
    page.clock.run_for(6 * 60_000)  # past the 10-minute snooze
    expect(page.locator("#reminder")).to_be_visible()
    page.click("#reminder-dismiss")
    expect(page.locator("#reminder")).to_be_hidden()

    page.clock.run_for(130 * 60_000)  # 09:51:30: the first desk break (a Monday)
    expect(page.locator("#reminder")).to_be_visible()
    expect(page.locator("#reminder-text")).to_have_text(
        "It's 09:50: desk break. Stand up, walk a few steps, do a few gentle cat-cows."
    )

    page.goto(f"{server.http_url}/psfs")
    expect(page.locator("#psfs-weekly label")).to_have_text(
        ["Putting on socks", "Sitting through a film"]
    )
    page.fill("#psfs-week-0", "5")
    page.fill("#psfs-week-1", "11")
    page.click("#psfs-save")
    expect(page.locator("#psfs-error")).to_have_text(
        "scores.1.score: Input should be less than or equal to 10"
    )
    page.fill("#psfs-week-1", "7")
    page.click("#psfs-save")
    expect(page.locator("#psfs-saved")).to_have_text(
        "Saved: Putting on socks 5/10, Sitting through a film 7/10."
    )
    assert_fits_the_phone(page)
    shot(page, "08-weekly-psfs")

    engine = make_engine(database_url)
    try:
        with Session(engine) as db:
            [medication] = sp.list_medication(db, 1)
            assert (medication.taken_on, medication.doses_per_day) == ("2026-03-02", 1)
            weekly = [(e.activity, e.score) for e in sp.list_psfs(db, 1) if e.context == "weekly"]
            assert weekly == [("Putting on socks", 5), ("Sitting through a film", 7)]
    finally:
        engine.dispose()


def test_red_flag_mid_program_stops_from_the_program_page(
    page: playwright_api.Page, server: LiveServer, database_url: str
) -> None:
    # The check-in page links to the same questions.
    page.goto(f"{server.http_url}/checkin")
    expect(page.locator("#checkin-screening-link")).to_have_text(
        "Something new or worrying? Check the warning signs"
    )
    expect(page.locator("#checkin-screening-link")).to_have_attribute("href", "/screening")

    page.goto(f"{server.http_url}/program")
    link = page.locator("#program-screening-link")
    expect(link).to_be_visible()
    expect(link).to_have_text("Something new or worrying? Check the warning signs")
    assert_fits_the_phone(page)
    shot(page, "redflag-01-program-page")
    link.focus()  # by keyboard
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.http_url}/screening")
    expect(page.locator("#view-screening h1")).to_be_focused()
    expect(page.locator("#screening-list fieldset")).to_have_count(len(FLAG_IDS))
    expect(page.locator("#screening-disclaimer")).to_contain_text("not a medical device")

    page.click("#screening-send")  # nothing answered yet
    expect(page.locator("#screening-error")).to_have_text(
        f"Please answer every question with yes or no ({len(FLAG_IDS)} not answered yet)."
    )
    for flag_id in FLAG_IDS:
        page.focus(f"#rs-{flag_id}-{'yes' if flag_id == 'leg-weakness' else 'no'}")
        page.keyboard.press("Space")
    expect(page.locator("#screening-error")).to_be_hidden()
    assert_fits_the_phone(page)
    shot(page, "redflag-02-questions-answered")
    page.focus("#screening-send")
    page.keyboard.press("Enter")

    expect(page.locator("#view-program")).to_be_visible()
    expect(page.locator("#program-status")).to_have_text(
        "Your program is stopped. Start again only when a doctor agrees it is right for you."
    )
    expect(page.locator("#program-stop-advice")).to_have_text(
        "Please stop the exercise program for now. Seek medical care now: go to an emergency "
        "department or call your local emergency number. What you reported needs a doctor's "
        "assessment today."
    )
    expect(page.locator("#program-stop-reasons li")).to_have_count(1)
    expect(page.locator("#program-stop-recorded")).to_contain_text("Your answers were recorded")
    expect(page.locator("#program-stop-disclaimer")).to_contain_text("not a medical device")
    # No session suggestions, reminders or tracking links once stopped.
    expect(page.locator("#program-active")).to_be_hidden()
    expect(page.locator("#program-start")).to_be_hidden()
    expect(page.locator("#reminder")).to_be_hidden()
    assert_fits_the_phone(page)
    shot(page, "redflag-03-stopped")

    # A reload (or any later visit) still shows the stop and the advice.
    page.goto(f"{server.http_url}/screening")
    expect(page.locator("#view-program")).to_be_visible()
    expect(page.locator("#program-stop-advice")).to_contain_text("Seek medical care now")

    status = httpx.get(f"{server.http_url}/api/program/status", timeout=10.0).json()
    assert status["status"] == "stopped" and status["enrolled"] is False
    assert status["stop_urgency"] == "emergency"
    assert status["stop_advice"].startswith("Please stop the exercise program for now.")
    engine = make_engine(database_url)
    try:
        with Session(engine) as db:
            screenings = sp.list_screenings(db, 1)
            assert [(s.context, s.result) for s in screenings][-1] == ("rescreen", "stop")
            assert screenings[-1].flagged == ["leg-weakness"]
            enrolment = sp.latest_enrolment(db, 1)
            assert enrolment is not None and enrolment.status == "stopped"
            assert enrolment.stop_reason == "red flag (emergency): leg-weakness"
    finally:
        engine.dispose()
