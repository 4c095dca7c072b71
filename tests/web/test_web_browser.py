"""The page in a real browser: Playwright drives Debian's Chromium (``/usr/bin/chromium``,
installed by ``scripts/ensure-system-packages.sh``; ``playwright install`` is never used)
through whole simulated sessions. A screenshot of every step goes to ``test-artifacts/``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import statistics
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser_support import (
    ARTIFACTS,
    PHONE,
    assert_fits_the_phone,
    launch,
    needs_chromium,
    open_page,
    playwright_api,
    screenshot,
    set_slider,
)
from test_web_browser_a11y import (
    SPEECH_STUB,
    assert_controls_named,
    assert_readable_contrast,
    assert_spoken_unless_muted,
    shown_cues,
    spoken,
)
from web_client import LiveServer, serve

from spinecoach.store import repository
from spinecoach.store.db import make_engine
from spinecoach.web.settings import Settings

SIM_SPEED = 10.0
STEP_TIMEOUT_MS = 20_000

# Every expectation may take a whole step (a session's end includes saving it).
playwright_api.expect.set_options(timeout=STEP_TIMEOUT_MS)

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('browser')}/history.sqlite3"


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[LiveServer]:
    yield from serve(Settings(sim_speed=SIM_SPEED, database_url=database_url))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from open_page(browser, STEP_TIMEOUT_MS)


def shot(page: Any, name: str) -> None:
    screenshot(page, name)


assert_no_horizontal_overflow = assert_fits_the_phone
set_vas_with_keyboard = set_slider

#: Records each redraw of the gauge (the value shown, the needle's tip, the target band's
#: arc) with the hold countdown shown then, and each text of the hold countdown.
GAUGE_RECORDER = """() => { window.__gauge = []; window.__holds = [];
const needle = document.getElementById('gauge-needle');
new MutationObserver(() => window.__gauge.push({
    value: document.getElementById('gauge-value').textContent,
    x2: Number(needle.getAttribute('x2')), y2: Number(needle.getAttribute('y2')),
    band: document.getElementById('gauge-band').getAttribute('d'),
    hold: document.getElementById('hold-countdown').textContent }))
  .observe(needle, {attributes: true});
const hold = document.getElementById('hold-countdown');
new MutationObserver(() => window.__holds.push(hold.textContent))
  .observe(hold, {childList: true, characterData: true, subtree: true}); }"""

#: What a canvas shows: its opaque pixels of the trace's line colour (#0b5cad), its
#: translucent (shading) pixels, and the runs of shaded columns along its top row (each
#: rep's span is shaded the whole height; the line and the band never reach the top row).
CANVAS_PIXELS = """(canvas) => {
  const {width, height} = canvas;
  const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  let line = 0, shaded = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
    if (a > 200 && Math.abs(r - 11) < 40 && Math.abs(g - 92) < 40 && Math.abs(b - 173) < 40)
      line += 1;
    else if (a > 0 && a < 120) shaded += 1;
  }
  let runs = 0, inside = false;
  for (let x = 0; x < width; x++) {
    const on = data[x * 4 + 3] > 0;
    if (on && !inside) runs += 1;
    inside = on;
  }
  const box = canvas.getBoundingClientRect();
  return {line, shaded, runs, width: box.width, height: box.height};
}"""

ARC = re.compile(r"M([\d.]+) ([\d.]+) A80 80 0 0 1 ([\d.]+) ([\d.]+)")


def needle_angle(x: float, y: float) -> float:
    """The gauge's angle of a point, in degrees: 180 at the left end, 0 at the right."""
    return math.degrees(math.atan2(100.0 - y, x - 100.0))


def check_gauge(page: playwright_api.Page, hold_s: float) -> None:
    """The needle follows the angle shown, the target band lies away from the resting
    position and the needle reaches it in every hold, and the hold shown is measured:
    it counts up only while the angle is inside the band (issue 15 item 5: no timer)."""
    samples = page.evaluate("window.__gauge")
    assert len(samples) > 50, samples
    bands = {s["band"] for s in samples if s["band"]}
    assert len(bands) == 1, bands  # drawn once the practice rep has set it
    arc = ARC.fullmatch(bands.pop())
    assert arc is not None
    x1, y1, x2, y2 = map(float, arc.groups())
    assert math.hypot(x1 - 100, y1 - 100) == pytest.approx(80, abs=0.2)
    band_start, band_end = needle_angle(x1, y1), needle_angle(x2, y2)
    assert band_start > band_end + 5, (band_start, band_end)  # an arc, drawn left to right
    # (angle shown, needle's angle, hold shown) at each redraw
    shown = [
        (float(s["value"].rstrip("°")), needle_angle(s["x2"], s["y2"]), s["hold"])
        for s in samples
        if s["value"] != "–"
    ]
    assert all(s["value"] != "-0°" for s in samples)  # never a negative zero
    # The angle shown (rounded to 1°) and the needle: one straight line while on the scale.
    on_scale = [(v, a) for v, a, _ in shown if 1.0 < a < 179.0]
    assert len({v for v, _ in on_scale}) >= 8, on_scale  # the needle moved with the data
    slope, intercept = statistics.linear_regression(
        [v for v, _ in on_scale], [a for _, a in on_scale]
    )
    assert slope < 0  # more angle, further right
    worst = max(abs(a - (slope * v + intercept)) for v, a in on_scale)
    assert worst <= abs(slope) * 0.8, (worst, slope)  # the display's rounding, and a little
    # Two shown angles 2° or more apart are at least 1° apart: the needle says which.
    needles: dict[float, list[float]] = {}
    for v, a in on_scale:
        needles.setdefault(v, []).append(a)
    for v, at_v in needles.items():
        for w, at_w in needles.items():
            assert w < v + 2 or max(at_w) < min(at_v), (v, at_v, w, at_w)
    # The band in degrees of the angle shown: away from rest, reached in every hold.
    band_lo, band_hi = sorted((end - intercept) / slope for end in (band_start, band_end))
    resting = statistics.median(v for v, _, _ in shown)
    assert band_lo > resting + 3, (band_lo, band_hi, resting)
    holding = [(v, a) for v, a, hold in shown if hold != "–"]
    assert holding, "the hold never ran while the gauge moved"
    for value, angle in holding:  # a hold counts only at or past the band's start
        assert band_lo - 0.5 <= value <= band_hi + 3.0, (value, band_lo, band_hi)
        assert angle <= band_start + 1.0, (angle, band_start)  # at or past the band's start
    # Each hold counts the measured seconds up from 0 while inside the band.
    runs: list[list[float]] = []
    current: list[float] = []
    for text in page.evaluate("window.__holds"):
        if text == "–":
            if current:
                runs.append(current)
            current = []
            continue
        assert re.fullmatch(r"\d+\.\d s", text), text
        current.append(float(text.removesuffix(" s")))
    if current:
        runs.append(current)
    assert len(runs) >= 3, runs
    for run in runs:  # never a countdown: it only ever goes back to 0 (a new hold)
        assert run[0] <= 0.5, runs
        assert all(b >= a or b <= 0.5 for a, b in itertools.pairwise(run)), runs
    assert max(max(run) for run in runs) >= hold_s * 0.5, (runs, hold_s)


def choose_and_calibrate(page: playwright_api.Page, url: str, technique: str, prefix: str) -> None:
    page.goto(url)
    playwright_api.expect(
        page.locator(f"#technique-list button[data-technique={technique}]")
    ).to_be_visible()
    playwright_api.expect(page.locator("footer")).to_have_text(
        "spinecoach is a coaching tool, not a medical device."
    )
    shot(page, f"{prefix}-1-choose")
    assert_no_horizontal_overflow(page)
    page.click(f"#technique-list button[data-technique={technique}]")
    playwright_api.expect(page.locator("#view-pain-before")).to_be_visible()
    playwright_api.expect(page.get_by_text("worst imaginable pain").first).to_be_visible()
    set_vas_with_keyboard(page, "#pain-before", 30)
    shot(page, f"{prefix}-2-pain-before")
    page.keyboard.press("Tab")  # the Next button follows the slider
    page.keyboard.press("Enter")
    playwright_api.expect(page.locator("#sensor-status")).to_have_text(
        "Built-in simulator connected"
    )
    playwright_api.expect(page.locator("#signal-quality")).to_have_text("Good")
    playwright_api.expect(page.get_by_text("over T12/L1")).to_be_visible()
    shot(page, f"{prefix}-3-sensor")
    assert_no_horizontal_overflow(page)
    page.click("#sensor-next")
    playwright_api.expect(page.locator("#view-calibration")).to_be_visible()
    shot(page, f"{prefix}-4-calibration")


def check_history_item_plot(page: playwright_api.Page, item: playwright_api.Locator) -> None:
    """The history item names its session and shows the server's plot of it: a labelled,
    lazy-loaded image inside a link that the keyboard reaches."""
    playwright_api.expect(item.get_by_role("heading", level=2)).to_have_text(
        "Pelvic tilt on your back"
    )
    playwright_api.expect(item.locator("time")).to_be_visible()
    playwright_api.expect(item).to_contain_text("Completed")
    playwright_api.expect(item).to_contain_text("Mean quality")
    playwright_api.expect(item).to_contain_text("Faults")
    image = item.locator(".history-plot img")
    assert image.get_attribute("loading") == "lazy"
    assert "each rep shaded" in (image.get_attribute("alt") or "")
    image.scroll_into_view_if_needed()
    image.evaluate(
        "img => img.complete && img.naturalWidth > 0 ? true : new Promise((ok, fail) => {"
        " img.addEventListener('load', () => ok(true));"
        " img.addEventListener('error', () => fail(new Error('the plot did not load'))); })"
    )
    assert image.evaluate("img => img.naturalWidth") > 0
    box = image.bounding_box()
    assert box is not None and 0 < box["width"] <= PHONE["width"]
    link = item.locator(".history-plot a")
    link.focus()
    assert page.evaluate("document.activeElement.tagName") == "A"
    href = page.evaluate("document.activeElement.getAttribute('href')")
    assert href.split("?")[0].endswith("/plot.png") and "tz=" in href, href  # local time
    item.screenshot(path=str(ARTIFACTS / "pelvic-tilt-8-history-item.png"))


def test_pelvic_tilt_session_from_first_page_to_saved_history(
    server: LiveServer, page: playwright_api.Page, database_url: str
) -> None:
    started = time.monotonic()
    techniques = httpx.get(f"{server.http_url}/api/techniques", timeout=5.0).json()
    hold_s = next(t for t in techniques if t["name"] == "pelvic-tilt")["dose"]["hold_s"]
    page.add_init_script(SPEECH_STUB)
    choose_and_calibrate(page, f"{server.http_url}/?reps=3", "pelvic-tilt", "pelvic-tilt")
    page.evaluate(GAUGE_RECORDER)
    playwright_api.expect(page.locator("#view-session")).to_be_visible()
    playwright_api.expect(page.locator("#rep-count")).to_have_text("1")
    shot(page, "pelvic-tilt-5-sets")
    assert_no_horizontal_overflow(page)
    # The live trace: the line of the last 15 s over the shaded band, redrawn as data come.
    trace = page.locator("#trace")
    drawn = trace.evaluate(CANVAS_PIXELS)
    assert drawn["line"] > 600 and drawn["shaded"] > 5_000, drawn
    assert 0 < drawn["width"] <= PHONE["width"] and drawn["height"] > 0, drawn
    before = trace.evaluate("c => c.toDataURL()")
    page.wait_for_function(
        "before => document.getElementById('trace').toDataURL() !== before", arg=before
    )
    page.wait_for_function("document.getElementById('hold-countdown').textContent !== '–'")
    playwright_api.expect(page.locator("#view-pain-after")).to_be_visible()
    shot(page, "pelvic-tilt-6-pain-after")
    assert page.locator("#rep-count").text_content() == "3"
    check_gauge(page, hold_s)
    # Every cue shown was spoken (the mute switch stayed off).
    assert len(spoken(page)) >= 6 and not page.locator("#mute").is_checked()
    assert_spoken_unless_muted(page)
    set_vas_with_keyboard(page, "#pain-after", 10)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    playwright_api.expect(page.locator("#saved")).to_have_text("Saved to your history")
    playwright_api.expect(page.locator("#summary-reps")).to_have_text("3")
    playwright_api.expect(page.locator("#summary-pain")).to_have_text("30 → 10 mm")
    assert page.locator("#summary-rep-table tbody tr").count() == 3
    # The summary's plot: the whole session's line, one shaded span per rep, on the screen.
    plot = page.locator("#summary-plot")
    plot.scroll_into_view_if_needed()
    drawn = plot.evaluate(CANVAS_PIXELS)
    assert drawn["line"] > 600 and drawn["runs"] == 3, drawn
    assert 0 < drawn["width"] <= PHONE["width"] and drawn["height"] > 0, drawn
    shot(page, "pelvic-tilt-7-summary")
    assert_no_horizontal_overflow(page)
    page.get_by_role("link", name="Open history").click()
    item = page.locator(".history-item").first
    playwright_api.expect(item).to_contain_text("Pelvic tilt on your back")
    playwright_api.expect(item).to_contain_text("3 reps in 1 set(s)")
    playwright_api.expect(item).to_contain_text("30 → 10 mm")
    check_history_item_plot(page, item)
    shot(page, "pelvic-tilt-8-history")
    assert_no_horizontal_overflow(page)
    # What the page said is what the database holds, with the simulated recording.
    sessions = httpx.get(f"{server.http_url}/api/sessions", timeout=5.0).json()
    saved = sessions[0]
    assert (saved["technique"], saved["status"], saved["summary"]["reps"]) == (
        "pelvic-tilt",
        "completed",
        3,
    )
    assert (saved["pain_before_mm"], saved["pain_after_mm"]) == (30.0, 10.0)
    engine = make_engine(database_url)
    try:
        from sqlalchemy.orm import Session

        with Session(engine) as db:
            recording = repository.load_recording(db, saved["id"])
        assert set(recording.sensors) == {"lower", "upper"}
    finally:
        engine.dispose()
    assert time.monotonic() - started < 45.0


def forget_kept_calibrations(database_url: str) -> None:
    """The earlier tests' sessions kept the person's calibration, after which a session
    only checks the sensors for 5 s (issue 15 item 6, tests/web/test_web_calibration_reuse.py):
    forget it, for a test of the whole calibration or of a session's full timeline."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM kept_calibrations")
    finally:
        engine.dispose()


def test_calibration_shows_each_instruction_with_a_countdown(
    server: LiveServer, page: playwright_api.Page, database_url: str
) -> None:
    forget_kept_calibrations(database_url)  # the person's first calibration
    page.goto(f"{server.http_url}/?reps=1")
    page.click("#technique-list button[data-technique=pelvic-tilt]")
    page.click("#pain-before-next")
    playwright_api.expect(page.locator("#sensor-next")).to_be_enabled()
    page.evaluate(
        """() => { window.__seen = [];
        const record = () => window.__seen.push(
            document.getElementById('calibration-instruction').textContent + ' | ' +
            document.getElementById('calibration-countdown').textContent);
        for (const id of ['calibration-instruction', 'calibration-countdown'])
          new MutationObserver(record).observe(document.getElementById(id),
            {childList: true, characterData: true, subtree: true}); }"""
    )
    assert page.locator("#calibration-instruction").text_content() == "Stand still"
    page.click("#sensor-next")
    playwright_api.expect(page.locator("#view-session")).to_be_visible()
    seen = page.evaluate("window.__seen")
    assert any(re.fullmatch(r"Bend forward slowly three times \| \d+ s", s) for s in seen), seen
    assert any(re.fullmatch(r"Get into position and hold still \| \d+ s", s) for s in seen), seen
    page.click("#stop")
    playwright_api.expect(page.locator("#view-pain-after")).to_be_visible()


def test_cat_cow_session_animates_the_breathing_pacer(
    server: LiveServer, page: playwright_api.Page
) -> None:
    page.add_init_script(SPEECH_STUB)  # also records each cue shown (window.__cues)
    choose_and_calibrate(page, f"{server.http_url}/?reps=3", "cat-cow", "cat-cow")
    pacer = page.locator("#pacer")
    playwright_api.expect(pacer).to_be_visible()
    playwright_api.expect(page.locator("#pacer-label")).to_have_text(re.compile("Breathe (in|out)"))
    transform = "getComputedStyle(document.getElementById('pacer')).transform"
    first = page.evaluate(transform)
    shot(page, "cat-cow-5-pacer-a")
    page.wait_for_function(f"{transform} !== {first!r}", timeout=5_000)
    shot(page, "cat-cow-5-pacer-b")
    assert page.evaluate(transform) != first
    assert_readable_contrast(page, ("#cue", "#pacer-label"))
    assert_controls_named(page, at_least=4)
    page.wait_for_function(
        "window.__cues.some(([c]) => /Breathe (in|out)/.test(c))", timeout=STEP_TIMEOUT_MS
    )
    assert any(re.search("Breathe (in|out)", said) for said in spoken(page)), spoken(page)
    page.click("#mute")
    assert page.locator("#mute").is_checked()
    said = len(spoken(page))
    page.click("#pause")
    playwright_api.expect(page.locator("#resume")).to_be_enabled()
    page.click("#resume")
    playwright_api.expect(page.locator("#pause")).to_be_enabled()
    playwright_api.expect(page.locator("#view-pain-after")).to_be_visible()
    shot(page, "cat-cow-6-pain-after")
    # Muted: the breathing cues went on on the screen, and none was spoken.
    assert sum(muted for _, muted in shown_cues(page)) >= 2, shown_cues(page)
    assert len(spoken(page)) == said
    assert_spoken_unless_muted(page)
    page.click("#pain-after-next")
    playwright_api.expect(page.locator("#saved")).to_have_text("Saved to your history")
    shot(page, "cat-cow-7-summary")


#: A simulated drop-out during the sets: both sensors silent for 30 s of session time
#: (3 s of wall time at the test's replay speed).
OUTAGE_S = (52.0, 30.0)


def test_sensor_that_stops_sending_is_reported_within_two_seconds(
    server: LiveServer, page: playwright_api.Page, database_url: str
) -> None:
    """The page's own start message gets a simulated drop-out added on its way to the
    server (Playwright's WebSocket routing); the page itself is unchanged."""
    forget_kept_calibrations(database_url)  # the drop-out is timed in the full session
    last_frame_ms: list[float] = []

    def route(ws: playwright_api.WebSocketRoute) -> None:
        upstream = ws.connect_to_server()

        def to_server(message: str | bytes) -> None:
            data = json.loads(message)
            if data.get("type") == "start":
                data["sim_outage_s"] = list(OUTAGE_S)
            upstream.send(json.dumps(data))

        def to_page(message: str | bytes) -> None:
            data = json.loads(message)
            if data.get("type") == "frame" and data["t"] < OUTAGE_S[0]:
                last_frame_ms.append(time.time() * 1000.0)
            ws.send(message)

        ws.on_message(to_server)
        upstream.on_message(to_page)

    page.route_web_socket(re.compile(r".*/ws/live$"), route)
    choose_and_calibrate(page, f"{server.http_url}/?reps=6", "pelvic-tilt", "dropout")
    page.evaluate(
        """() => { window.__alertShownMs = null;
        const alert = document.getElementById('sensor-alert');
        new MutationObserver(() => { if (!alert.hidden && window.__alertShownMs === null)
            window.__alertShownMs = Date.now(); })
        .observe(alert, {attributes: true, attributeFilter: ['hidden']}); }"""
    )
    alert = page.locator("#sensor-alert")
    playwright_api.expect(alert).to_be_visible(timeout=STEP_TIMEOUT_MS * 3)
    playwright_api.expect(alert).to_contain_text("lower sensor and upper sensor stopped sending")
    playwright_api.expect(alert).to_contain_text("goes on by itself")
    playwright_api.expect(page.locator("#resume")).to_be_disabled()  # not a user pause
    assert_readable_contrast(page, ("#sensor-alert", "#cue"))
    shot(page, "dropout-5-sensor-silent")
    shown_ms = page.evaluate("window.__alertShownMs")
    assert shown_ms is not None and last_frame_ms
    assert shown_ms - last_frame_ms[-1] <= 2000.0, shown_ms - last_frame_ms[-1]
    playwright_api.expect(alert).to_be_hidden(timeout=STEP_TIMEOUT_MS)
    shot(page, "dropout-6-sensor-back")
    page.click("#stop")
    playwright_api.expect(page.locator("#view-pain-after")).to_be_visible()
    page.click("#pain-after-next")
    playwright_api.expect(page.locator("#saved")).to_have_text("Saved to your history")


def test_a_session_behind_says_so_and_the_note_goes_when_caught_up(
    server: LiveServer, page: playwright_api.Page
) -> None:
    """The server's ``behind`` message (docs/live-protocol.md: it stores every sample as
    it comes and coaches behind when busy) reaches the person as a note, and the note goes
    with the ``behind_s: 0`` that says it caught up. The messages are the server's shape,
    added on their way to the page at the first and the second rep."""
    reps: list[int] = []

    def route(ws: playwright_api.WebSocketRoute) -> None:
        upstream = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            data = json.loads(message)
            ws.send(message)
            if data.get("type") == "rep":
                reps.append(1)
                late = 2.36 if len(reps) == 1 else 0.0
                ws.send(json.dumps({"type": "behind", "behind_s": late, "queued_samples": 0}))

        ws.on_message(upstream.send)
        upstream.on_message(to_page)

    page.route_web_socket(re.compile(r".*/ws/live$"), route)
    choose_and_calibrate(page, f"{server.http_url}/?reps=4", "pelvic-tilt", "behind")
    note = page.locator("#behind-note")
    playwright_api.expect(note).to_be_visible(timeout=STEP_TIMEOUT_MS * 3)
    playwright_api.expect(note).to_have_text(
        "The coach is 2.4 s behind your movement and is catching up. "
        "Everything your sensors send is saved."
    )
    assert_readable_contrast(page, ("#behind-note",))
    shot(page, "behind-1-note")
    playwright_api.expect(note).to_be_hidden(timeout=STEP_TIMEOUT_MS * 3)
    assert len(reps) >= 2
    page.click("#stop")
    playwright_api.expect(page.locator("#view-pain-after")).to_be_visible()


def test_interrupted_session_is_closed_from_the_history_page(
    server: LiveServer, page: playwright_api.Page, database_url: str
) -> None:
    """The state a killed server leaves (tests/web/test_web_durability.py kills one): a
    session stored live up to 70 s, then no heartbeat. The page shows it as interrupted
    and closes it with its summary."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy.orm import Session

    from spinecoach.coach.runner import live_config
    from spinecoach.coach.session import LiveSession
    from spinecoach.services.history import History
    from spinecoach.sim import simulate
    from spinecoach.sources.simulated import SimulatedSource
    from spinecoach.store.live import STALE_AFTER_S, mark_stale_interrupted
    from spinecoach.web.live import live_start
    from spinecoach.web.protocol import StartMessage

    recording = simulate("pelvic-tilt", seed=6, reps=4)
    session = LiveSession(
        "pelvic-tilt",
        rates_hz={p: s.rate_hz for p, s in recording.sensors.items()},
        position=recording.meta["position"],
    )
    start = StartMessage(type="start", technique="pelvic-tilt", seed=6, reps=4)
    history = History.open(database_url)
    try:
        recorder = history.start_live(
            "pelvic-tilt",
            source="sim",
            live_config=live_config(session, live_start(start, "sim")),
            pain_before_mm=25,
        )
        session.recorder = recorder
        source = SimulatedSource.from_recording(recording)
        session.feed([i for t, i in zip(source.times_s, source.items, strict=True) if t < 70.0])
        history.flush(recorder)
        with Session(history.engine) as db:
            later = datetime.now(UTC) + timedelta(seconds=STALE_AFTER_S + 1)
            mark_stale_interrupted(db, now=later)
        live_reps = len(session.engine.reps)
    finally:
        history.close()
    assert live_reps >= 1

    page.goto(f"{server.http_url}/history")
    item = page.locator(".history-item").filter(has_text="Interrupted").first
    playwright_api.expect(item).to_contain_text("The coach stopped during this session")
    playwright_api.expect(item).to_contain_text(f"{live_reps} rep")
    playwright_api.expect(item).to_contain_text("25 → – mm")
    shot(page, "interrupted-1-history")
    assert_no_horizontal_overflow(page)
    button = item.get_by_role("button", name=re.compile("Close the interrupted"))
    button.focus()
    page.keyboard.press("Enter")
    closed = page.locator(".history-item").filter(has_text="Completed after an interruption")
    playwright_api.expect(closed.first).to_be_visible()
    playwright_api.expect(
        page.locator(".history-item").filter(has_text="Interrupted")
    ).to_have_count(0)
    image = closed.first.locator(".history-plot img")
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    shot(page, "interrupted-2-closed")
