"""The home page as today's plan, in a real browser (Debian's Chromium through Playwright;
never ``playwright install``), at desktop (1280 × 800) and phone (390 × 844) sizes:

* a new person is led to onboarding first (one clear button; the simulator stays open);
  the nav marks the current page; the camera choice is hidden without the camera extra;
* from onboarding to "Today": each prescribed exercise is one start button with its
  prescribed dose (the same numbers as ``/api/program/today``), and starting the first
  one sends that dose and slot in the live ``start`` message;
* the Progress page's report buttons download a PDF and an HTML file;
* the service worker registers at the app's root and shows a reminder as a notification
  while the tab is in the background (permission asked only on the person's click);
* dark mode (the system setting) keeps every text readable (WCAG AA contrast);
* phone tables never break a word inside; a stopped program shows the stop kindly with
  no start buttons.

The tests share one server and database and run in order (new person first).
Screenshots go to ``test-artifacts/browser/today-*.png``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
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
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_web_browser_a11y import assert_readable_contrast
from web_client import LiveServer, collect_until, receive, send, serve
from websockets.sync.client import connect

from spinecoach.program.redflags import default_red_flags
from spinecoach.store.db import make_engine
from spinecoach.store.models import ProgramEnrolment
from spinecoach.web.settings import Settings

expect = playwright_api.expect

SIM_SPEED = 50.0
STEP_TIMEOUT_MS = 20_000
DESKTOP = {"width": 1280, "height": 800}
SIZES = {"desktop": DESKTOP, "phone": PHONE}
FLAG_IDS = [f.id for f in default_red_flags()]

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('today-browser')}/history.sqlite3"


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[LiveServer]:
    yield from serve(Settings(sim_speed=SIM_SPEED, database_url=database_url))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from open_page(browser, STEP_TIMEOUT_MS, timezone_id="UTC", accept_downloads=True)


def shot(page: Any, name: str) -> None:
    screenshot(page, f"today-{name}")


def at_each_size(page: Any, name: str) -> None:
    """A screenshot at desktop and at phone size (the page must fit the phone)."""
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        if size == "phone":
            assert_fits_the_phone(page)
        shot(page, f"{name}-{size}")


def api(server: LiveServer, path: str) -> Any:
    response = httpx.get(f"{server.http_url}{path}", timeout=30.0)
    return response


def current_nav(page: Any) -> list[str]:
    """The nav links marked as the current page, with their visible weight and underline."""
    marked: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('header nav a')].filter(
             (a) => a.getAttribute('aria-current') === 'page').map((a) => a.textContent)"""
    )
    return marked


def nav_styles(page: Any) -> dict[str, list[str]]:
    styles: dict[str, list[str]] = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('header nav a')].map((a) => {
             const s = getComputedStyle(a);
             return [a.textContent, [s.fontWeight, s.borderBottomColor]]; }))"""
    )
    return styles


# ---------------------------------------------------------------------------------------------
# A new person


def test_new_person_is_led_to_onboarding(page: playwright_api.Page, server: LiveServer) -> None:
    page.goto(f"{server.http_url}/")
    box = page.locator("#recommended")
    expect(box.get_by_role("heading", name="Welcome: start here")).to_be_visible()
    start = box.get_by_role("link", name="Set up my program")
    expect(start).to_have_attribute("href", "/onboarding")
    expect(box).to_contain_text("Try the coach with the built-in simulator")
    expect(page.locator("[data-technique=pelvic-tilt]").first).to_be_visible()  # still open
    expect(box.locator(".today-start")).to_have_count(0)
    # The nav marks "/" and nothing else, visibly (weight and underline differ).
    assert current_nav(page) == ["Today"]
    styles = nav_styles(page)
    assert styles["Today"] != styles["History"], styles
    # The camera choice only when the server can use a camera; the note is for the server.
    camera = api(server, "/api/camera").json()
    expect(page.locator("label:has(#source-camera)")).to_be_visible(visible=camera["available"])
    expect(page.locator("#source-sim")).to_be_checked()
    assert "pip" not in (page.locator("main").inner_text())
    at_each_size(page, "01-first-run")

    start.click()
    expect(page).to_have_url(f"{server.http_url}/onboarding")
    expect(page.locator("#view-onboard-redflags h1")).to_be_focused()
    assert current_nav(page) == ["Program"]
    for path, name in [("/history", "History"), ("/progress", "Progress"), ("/day", "Day")]:
        page.goto(f"{server.http_url}{path}")
        assert current_nav(page) == [name], path


def onboard(page: playwright_api.Page, server: LiveServer) -> None:
    page.goto(f"{server.http_url}/onboarding")
    expect(page.locator("#redflag-list fieldset")).to_have_count(len(FLAG_IDS))
    for flag_id in FLAG_IDS:
        page.focus(f"#rf-{flag_id}-no")
        page.keyboard.press("Space")
    shot(page, "02-onboarding-questions")
    page.click("#redflag-next")
    expect(page.locator("#view-onboard-baseline h1")).to_be_focused()
    set_slider(page, "#baseline-vas", 40)
    page.fill("#psfs-activity-0", "Putting on socks")
    page.fill("#psfs-score-0", "4")
    page.fill("#baseline-doses", "1")
    page.fill("#morning-time", "07:30")
    shot(page, "03-onboarding-baseline")
    page.focus("#baseline-save")
    page.keyboard.press("Enter")
    expect(page.locator("#program-saved")).to_have_text("Saved: your program has started.")
    shot(page, "04-program-started")


def dose_words(item: dict[str, Any]) -> str:
    words = f"{item['sets']} × {item['reps']} reps"
    words += f", hold {item['hold_s']:g} s" if item["hold_s"] else ""
    return words + (f", moving over {item['tempo_s']:g} s" if item.get("tempo_s") else "")


def test_onboarding_to_todays_plan_and_the_first_prescribed_session(
    page: playwright_api.Page, server: LiveServer
) -> None:
    onboard(page, server)
    today = api(server, "/api/program/today?tz=UTC").json()
    plan = today["plan"]["today"]
    assert plan, today
    sent: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []

    def watch(ws: Any) -> None:
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))
        ws.on("framereceived", lambda payload: received.append(json.loads(payload)))

    page.on("websocket", watch)
    page.goto(f"{server.http_url}/")
    box = page.locator("#recommended")
    expect(page.locator("#view-choose h1")).to_have_text("Today")
    expect(box.get_by_role("heading", name="Your plan for today")).to_be_visible()
    buttons = box.locator("button.today-start")
    expect(buttons).to_have_count(len(plan))
    # Each prescribed exercise: its slot, its technique, the server's dose in words.
    for i, item in enumerate(plan):
        button = buttons.nth(i)
        expect(button).to_have_attribute("data-technique", item["technique"])
        expect(button.locator(".dose")).to_have_text(dose_words(item))
    expect(box.locator(".today-slot h3")).to_contain_text(["Morning tilts", "Main session"])
    expect(box.get_by_role("link", name="Or choose any exercise freely")).to_be_visible()
    expect(page.locator("#technique-list button[data-technique=hip-hinge]")).to_be_visible()
    at_each_size(page, "05-today")

    first = plan[0]
    buttons.first.click()
    expect(page.locator("#view-pain-before")).to_be_visible()
    shot(page, "06-first-prescribed-pain-before")
    set_slider(page, "#pain-before", 20)
    page.click("#pain-before-next")
    expect(page.locator("#sensor-status")).to_have_text("Built-in simulator connected")
    shot(page, "07-first-prescribed-sensor")
    [start] = [m for m in sent if m.get("type") == "start"]
    assert start["technique"] == first["technique"]
    # The button went through the page's startPrescribed (app.js), not the card's dose.
    assert page.evaluate("() => typeof (window.spinecoach || {}).startPrescribed") == "function"
    assert start["dose"] == {
        "reps": first["reps"],
        "sets": first["sets"],
        "hold_s": first["hold_s"] or None,
        "tempo_s": first.get("tempo_s"),
    }
    assert start["slot"] == "morning"
    # The session says it runs with that dose (the state's targets).
    targets = [m["targets"] for m in received if m["type"] == "state" and m.get("targets")]
    assert targets, "no state message with targets"
    assert targets[-1] == {
        "reps": first["reps"],
        "sets": first["sets"],
        "hold_s": first["hold_s"] or None,
    }
    # The session runs with that dose; once saved, the morning slot shows as done.
    page.click("#sensor-next")
    expect(page.locator("#view-pain-after")).to_be_visible(timeout=90_000)
    set_slider(page, "#pain-after", 20)
    page.click("#pain-after-next")
    expect(page.locator("#saved")).to_have_text("Saved to your history")
    shot(page, "07b-first-prescribed-saved")
    page.goto(f"{server.http_url}/")
    morning = page.locator("#recommended .today-slot[data-slot=morning]")
    expect(morning.locator(".slot-state")).to_have_text("Done today ✓")
    expect(morning.locator("button")).to_contain_text("Done ✓ · again")
    at_each_size(page, "07c-today-morning-done")


# ---------------------------------------------------------------------------------------------
# History: what happened, in plain words; the plot on a phone


def run_over_the_socket(server: LiveServer, *, stop: bool) -> None:
    """A pelvic-tilt session that is stopped at once (``stop``) or whose page goes away
    after its first frames (the socket closes mid-session)."""
    with connect(server.ws_url) as ws:
        assert receive(ws)["type"] == "hello"
        send(ws, type="start", technique="pelvic-tilt", source="sim", pain_before_mm=25)
        collect_until(ws, "frame", timeout_s=60.0)  # the session runs
        if stop:
            send(ws, type="stop")
            collect_until(ws, "summary", timeout_s=60.0)
            return
    deadline = time.monotonic() + 20.0  # the server finishes the session it was left with
    while api(server, "/api/sessions").json()[0]["status"] == "active":
        assert time.monotonic() < deadline, "the abandoned session was never finished"
        time.sleep(0.2)


def test_history_says_what_happened_and_its_plot_reads_on_a_phone(
    page: playwright_api.Page, server: LiveServer
) -> None:
    run_over_the_socket(server, stop=True)
    run_over_the_socket(server, stop=False)
    page.goto(f"{server.http_url}/history")
    items = page.locator(".history-item")
    expect(items).to_have_count(3)
    # Newest first: the closed page, the stop, the first prescribed session.
    expect(items.nth(0).locator(".history-meta")).to_contain_text("Abandoned: the page was closed")
    expect(items.nth(1).locator(".history-meta")).to_contain_text("Stopped early")
    expect(items.nth(2).locator(".history-meta")).to_contain_text("Completed")
    assert "Stopped early" not in items.nth(2).locator(".history-meta").inner_text()
    # Faults in plain words, never the catalogue's ids ("short-hold").
    catalogue = page.evaluate("fetch('/api/techniques').then((r) => r.json())")
    ids = {f["id"] for t in catalogue for f in t["faults"] if "-" in f["id"]}
    shown_text = " ".join(items.all_inner_texts())
    assert ids and not [i for i in ids if i in shown_text], shown_text
    image = items.nth(2).locator(".history-plot img")
    image.scroll_into_view_if_needed()
    loaded = "img => img.complete && img.naturalWidth > 0"
    page.wait_for_function(loaded, arg=image.element_handle())
    # On the phone: the narrow variant, shown at 0.8 of its drawn size or more (its
    # 10-point labels about 12 px), inside the phone's width.
    shown = image.evaluate(
        "img => [img.getBoundingClientRect().width, img.naturalWidth, img.currentSrc]"
    )
    assert "/plot.png?tz=" in shown[2] and shown[2].endswith("&narrow=true"), shown
    assert shown[1] == 396 and shown[0] >= 0.8 * shown[1], shown
    box = image.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert_fits_the_phone(page)
    shot(page, "08a-history-phone")
    # A wide screen gets the wide plot.
    page.set_viewport_size(DESKTOP)
    page.reload()
    image = page.locator(".history-item").nth(2).locator(".history-plot img")
    image.scroll_into_view_if_needed()
    page.wait_for_function(loaded, arg=image.element_handle())
    shown = image.evaluate(
        "img => [img.getBoundingClientRect().width, img.naturalWidth, img.currentSrc]"
    )
    assert "/plot.png?tz=" in shown[2] and "narrow" not in shown[2], shown
    assert shown[1] == 792, shown
    shot(page, "08a-history-desktop")


# ---------------------------------------------------------------------------------------------
# Progress: the report


def test_report_buttons_download_a_pdf_and_an_html_file(
    page: playwright_api.Page, server: LiveServer
) -> None:
    page.goto(f"{server.http_url}/progress")
    pdf_button = page.get_by_role("link", name="Download report (PDF)")
    html_button = page.get_by_role("link", name="Share with my physiotherapist (HTML)")
    expect(pdf_button).to_be_visible()
    expect(html_button).to_be_visible()
    at_each_size(page, "08-progress-report-buttons")
    with page.expect_download() as info:
        pdf_button.click()
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and info.value.suggested_filename.endswith(".pdf")
    with page.expect_download() as info:
        html_button.click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert info.value.suggested_filename.endswith(".html")
    assert text.lstrip().lower().startswith("<!doctype html") and "data:image/png;base64" in text
    reports = [("report.pdf", "application/pdf"), ("report.html", "text/html")]
    for name, kind in reports:
        path = f"/api/program/{name}"
        response = api(server, f"{path}?tz=UTC")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(kind)
        assert response.headers["content-disposition"].startswith("attachment;")


# ---------------------------------------------------------------------------------------------
# Reminders: the service worker and notifications


def test_service_worker_registers_and_a_background_reminder_notifies(
    page: playwright_api.Page, server: LiveServer
) -> None:
    # The page's clock: Monday 2 March 2026, 07:29:30 (UTC), half a minute before the
    # morning routine the person chose at onboarding.
    page.clock.install(time=datetime(2026, 3, 2, 7, 29, 30, tzinfo=UTC))
    page.goto(f"{server.http_url}/program")
    scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
    assert scope == f"{server.http_url}/"
    enable = page.get_by_role("button", name="Remind me with notifications on this device")
    expect(enable).to_be_visible()
    assert page.evaluate("() => Notification.permission") == "default"  # not asked by itself
    page.context.grant_permissions(["notifications"], origin=server.http_url)
    enable.click()
    expect(page.locator("#notify-state")).to_contain_text("Notifications are on")
    expect(enable).to_be_hidden()
    at_each_size(page, "09-notifications-on")
    # The tab goes to the background; the morning reminder comes due.
    page.evaluate(
        """() => {
             Object.defineProperty(document, 'visibilityState',
                                   {value: 'hidden', configurable: true});
             document.dispatchEvent(new Event('visibilitychange')); }"""
    )
    page.clock.run_for("01:00")
    shown = page.wait_for_function(
        """async () => {
             const reg = await navigator.serviceWorker.ready;
             const titles = (await reg.getNotifications()).map((n) => n.title + ': ' + n.body);
             return titles.some((t) => t.startsWith('Morning routine')) && titles; }"""
    ).json_value()
    assert any("07:30" in title for title in shown), shown


# ---------------------------------------------------------------------------------------------
# Dark mode, phone tables


DARK_PAGES = ["/", "/progress", "/program", "/history", "/day", "/onboarding"]


@pytest.mark.parametrize("path", DARK_PAGES)
def test_dark_mode_keeps_every_text_readable(
    page: playwright_api.Page, server: LiveServer, path: str
) -> None:
    page.emulate_media(color_scheme="dark")
    page.goto(f"{server.http_url}{path}")
    expect(page.locator("main > section:not([hidden]) h1").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    # Dark indeed: the page's background is dark and its text light.
    colours = page.evaluate(
        """() => { const s = getComputedStyle(document.body);
                   return [s.backgroundColor, s.color]; }"""
    )
    assert colours == ["rgb(18, 22, 28)", "rgb(232, 236, 241)"], colours
    shot(page, f"10-dark{path.replace('/', '-') or '-home'}")
    assert_readable_contrast(page, ("header",))


def test_dark_mode_keeps_a_session_readable(page: playwright_api.Page, server: LiveServer) -> None:
    """A free-choice session in dark mode: the pain question, the sets (paused, so the
    check sees them), the pain after and the summary keep every text readable."""
    page.emulate_media(color_scheme="dark")
    # Ten reps: at 50x the session lasts a few seconds of wall time, so the pause below
    # lands inside it (with two, a quick server had finished before the click).
    page.goto(f"{server.http_url}/?reps=10")
    page.click("#technique-list button[data-technique=pelvic-tilt]")
    expect(page.locator("#view-pain-before")).to_be_visible()
    set_slider(page, "#pain-before", 10)
    shot(page, "10b-dark-pain-before")
    assert_readable_contrast(page, ("#view-pain-before",))
    page.click("#pain-before-next")
    expect(page.locator("#sensor-next")).to_be_enabled()
    page.click("#sensor-next")
    expect(page.locator("#view-session")).to_be_visible(timeout=60_000)
    page.click("#pause")
    expect(page.locator("#resume")).to_be_enabled()
    shot(page, "10b-dark-session-paused")
    assert_readable_contrast(page, ("#view-session",))
    page.click("#resume")
    expect(page.locator("#view-pain-after")).to_be_visible(timeout=90_000)
    set_slider(page, "#pain-after", 10)
    assert_readable_contrast(page, ("#view-pain-after",))
    page.click("#pain-after-next")
    expect(page.locator("#view-summary")).to_be_visible()
    shot(page, "10b-dark-summary")
    assert_readable_contrast(page, ("#view-summary",))


#: Every word of every table cell on one line: a word broken inside ("Sittin g") spans two
#: lines, so its range has two boxes.
BROKEN_WORDS_JS = r"""
() => {
  const broken = [];
  for (const cell of document.querySelectorAll('table th, table td')) {
    if (!cell.checkVisibility()) continue;
    for (const node of cell.childNodes) {
      if (node.nodeType !== 3) continue;
      for (const match of node.textContent.matchAll(/\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (lines.size > 1) broken.push(match[0]);
      }
    }
  }
  return broken;
}
"""


def test_phone_tables_do_not_break_words(page: playwright_api.Page, server: LiveServer) -> None:
    page.goto(f"{server.http_url}/day")
    expect(page.locator("#week-table thead th")).to_have_count(5)
    cells = page.locator("table th, table td").count()
    assert cells >= 5
    assert page.evaluate(BROKEN_WORDS_JS) == []
    assert_fits_the_phone(page)
    shot(page, "11-day-table-phone")


def test_broken_word_check_sees_a_broken_word(page: playwright_api.Page) -> None:
    page.set_content(
        "<table style='width:40px'><tr><th style='overflow-wrap:anywhere;font:17px sans-serif'>"
        "Sitting</th></tr></table>"
    )
    assert page.evaluate(BROKEN_WORDS_JS) == ["Sitting"]


def test_a_finished_program_says_so(
    page: playwright_api.Page, server: LiveServer, database_url: str
) -> None:
    """A program whose six weeks are over (marked so in the database here, then set back
    to active for the next test)."""
    set_program_status(database_url, "completed")
    try:
        assert api(server, "/api/program/status").json()["status"] == "completed"
        finished_home(page, server)
    finally:
        set_program_status(database_url, "active")


def set_program_status(database_url: str, status: str) -> None:
    engine = make_engine(database_url)
    try:
        with Session(engine) as db:
            enrolment = db.scalars(
                select(ProgramEnrolment).order_by(ProgramEnrolment.id.desc())
            ).first()
            assert enrolment is not None
            enrolment.status = status
            enrolment.ended_utc = None if status == "active" else datetime.now(UTC)
            db.commit()
    finally:
        engine.dispose()


def finished_home(page: playwright_api.Page, server: LiveServer) -> None:
    page.goto(f"{server.http_url}/")
    box = page.locator("#recommended")
    expect(box.get_by_role("heading", name="Your 6-week program is complete")).to_be_visible()
    expect(box.get_by_role("link", name="Start a new program")).to_have_attribute(
        "href", "/onboarding"
    )
    expect(box.locator("button")).to_have_count(0)
    shot(page, "13-finished-phone")


# ---------------------------------------------------------------------------------------------
# A stopped program


def test_a_stopped_program_is_explained_kindly_without_start_buttons(
    page: playwright_api.Page, server: LiveServer
) -> None:
    answers = {flag_id: flag_id == FLAG_IDS[0] for flag_id in FLAG_IDS}
    response = httpx.post(
        f"{server.http_url}/api/program/screening", json={"red_flags": answers}, timeout=30.0
    )
    assert response.status_code in (200, 201), response.text
    page.goto(f"{server.http_url}/")
    box = page.locator("#recommended")
    expect(box.get_by_role("heading", name="Your program is paused")).to_be_visible()
    said = api(server, "/api/program/status").json()
    what_to_do = said.get("program_status", {}).get("what_to_do")
    if what_to_do:  # the server's words, the same as every refusal's
        expect(box.locator(".what-to-do")).to_have_text(f"What to do: {what_to_do}")
    else:
        expect(box.locator(".what-to-do")).to_contain_text("What to do: see a doctor")
    expect(box.locator(".stop-advice")).to_have_text(said["stop_advice"])
    expect(box.get_by_role("link", name="A clinician has agreed: start again")).to_have_attribute(
        "href", "/onboarding"
    )
    expect(box.locator("button")).to_have_count(0)
    expect(page.locator("#technique-list")).to_be_hidden()
    at_each_size(page, "12-stopped")
