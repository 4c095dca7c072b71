"""The live screen in a real browser (Debian's Chromium through Playwright; never
``playwright install``), at desktop (1280 × 800) and phone (390 × 844, and 844 × 390 on
its side) sizes (issue 15 items 3, 4, 5, 7 and the session flow of 9):

* an untouched pain slider is "not answered" and stored as missing (read back through
  the API), never as 0; a session stopped early asks for pain after and may skip it; a
  deliberate 0 is stored as 0; Back returns to the previous step before the session starts;
* mat mode: during the sets the gauge is the largest element, at least 40 % of the
  viewport's shorter side at every size; "Rep N of M", "Set N of M", the hold ring filling
  with the measured hold, a paused state nobody can miss, the screen kept awake; every
  text readable (WCAG AA), in dark mode too;
* a cat-cow session's trace enters the green bands (both ends of the swing) on every good
  rep, and its breath sync is shown live and in the summary, with no hold;
* ``window.spinecoach.startPrescribed`` carries the prescribed dose and slot into the
  live ``start`` and the targets shown;
* a start refused with ``program-stopped`` shows the server's cause and what to do, and
  nothing is started; a session whose pain jumped shows the advice instead of "Saved".

Every WebSocket message the page sends or receives is recorded in the page (an init
script wraps ``WebSocket``) so the checks compare the screen with what the server said.
Screenshots of each step go to ``test-artifacts/browser/live-*.png``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_support import (
    PHONE,
    assert_fits_the_phone,
    launch,
    needs_chromium,
    playwright_api,
    screenshot,
    set_slider,
)
from test_web_browser_a11y import assert_readable_contrast
from web_client import LiveServer, serve

from spinecoach.program.redflags import default_red_flags
from spinecoach.web.settings import Settings

expect = playwright_api.expect

SIM_SPEED = 10.0
STEP_TIMEOUT_MS = 30_000
DESKTOP = {"width": 1280, "height": 800}
PHONE_LANDSCAPE = {"width": PHONE["height"], "height": PHONE["width"]}
SIZES = {
    "desktop": DESKTOP,
    "phone": PHONE,
    "phone-landscape": PHONE_LANDSCAPE,
    "phone-dark": PHONE,
}

expect.set_options(timeout=STEP_TIMEOUT_MS)
pytestmark = needs_chromium

#: Records every live message the page sends (``__sent``) and receives (``__received``;
#: frames reduced to their time, gauge value and hold), and stubs the wake lock so its
#: requests and releases are seen (``__wake``). For each ``rep`` received during the sets,
#: ``__repTraces`` gets what the live trace showed over that rep's span at that moment
#: (before the page shades the rep): for each green band, the trace's line pixels inside it.
RECORDER = """(() => {
  window.__sent = []; window.__received = []; window.__wake = []; window.__repTraces = [];
  let lastFrameT = null;
  Object.defineProperty(navigator, 'wakeLock', { configurable: true, value: {
    request: async (kind) => {
      const lock = new EventTarget();
      lock.release = async () => { window.__wake.push('release');
        lock.dispatchEvent(new Event('release')); };
      window.__wake.push('request:' + kind);
      return lock; } } });
  const traceOver = (startS, endS) => {
    const canvas = document.getElementById('trace');
    if (!canvas || canvas.closest('[hidden]') || lastFrameT === null) return null;
    const { width, height } = canvas;
    const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
    const alpha = (x, y) => data[(y * width + x) * 4 + 3];
    const isLine = (x, y) => { const i = (y * width + x) * 4;
      return data[i + 3] > 200 && Math.abs(data[i] - 11) < 40 && Math.abs(data[i + 1] - 92) < 40
        && Math.abs(data[i + 2] - 173) < 40; };
    // Band rows: translucent green over most of the width (rep shading alone is fainter).
    const bandRows = [];
    for (let y = 0; y < height; y++) {
      let n = 0;
      for (let x = 0; x < width; x++) { const a = alpha(x, y); if (a >= 50 && a < 200) n++; }
      bandRows.push(n > width * 0.5);
    }
    const bands = [];
    for (let y = 0; y < height; y++) {
      if (bandRows[y] && (y === 0 || !bandRows[y - 1])) bands.push([y, y]);
      if (bandRows[y]) bands[bands.length - 1][1] = y;
    }
    const t0 = lastFrameT - 15;  // the trace shows the last 15 s (its label says so)
    const x0 = Math.max(0, Math.floor((startS - t0) / 15 * width));
    const x1 = Math.min(width - 1, Math.ceil((endS - t0) / 15 * width));
    const inside = bands.map(([top, bottom]) => { let n = 0;
      for (let x = x0; x <= x1; x++) for (let y = top; y <= bottom; y++) if (isLine(x, y)) n++;
      return n; });
    let line = 0;
    for (let x = x0; x <= x1; x++) for (let y = 0; y < height; y++) if (isLine(x, y)) line++;
    return { bands, inside, line, x0, x1, known: window.spinecoachLive.bands().length };
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        const m = JSON.parse(event.data);
        if (m.type === 'frame') {
          lastFrameT = m.t;
          window.__received.push({ type: 'frame', t: m.t, gauge_deg: m.gauge_deg, hold: m.hold });
          return;
        }
        window.__received.push(m);
        if (m.type === 'rep') window.__repTraces.push({ rep: m.rep,
          trace: traceOver(m.rep.start_s, m.rep.end_s) });
      });
    }
    send(data) { window.__sent.push(JSON.parse(data)); return super.send(data); }
  };
})();"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('live-screen')}/history.sqlite3"
    yield from serve(Settings(sim_speed=SIM_SPEED, database_url=url))


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server with a history of its own (for a test that stops the program)."""
    yield from serve(Settings(sim_speed=SIM_SPEED, database_url=f"sqlite:///{tmp_path}/h.sqlite3"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch()


@contextmanager
def page_at(browser: Any, viewport: dict[str, int], scheme: str = "light") -> Iterator[Any]:
    """A fresh page of the given size (and system colour scheme) recording the live
    messages; the test fails on any JavaScript error on it."""
    context = browser.new_context(viewport=viewport, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORDER)
    try:
        yield page
    finally:
        context.close()
    assert errors == [], errors


def received(page: Any, kind: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = page.evaluate(
        "(kind) => window.__received.filter((m) => m.type === kind)", kind
    )
    return messages


def sent_starts(page: Any) -> list[dict[str, Any]]:
    starts: list[dict[str, Any]] = page.evaluate("window.__sent.filter((m) => m.type === 'start')")
    return starts


def sent_start(page: Any) -> dict[str, Any]:
    (start,) = sent_starts(page)
    return start


def card(page: Any, technique: str) -> Any:
    return page.locator(f"#technique-list button[data-technique={technique}]")


def start_sets(page: Any, url: str, technique: str) -> None:
    """From the first page to the sets, leaving the pain question unanswered."""
    page.goto(url)
    card(page, technique).click()
    expect(page.locator("#view-pain-before")).to_be_visible()
    page.click("#pain-before-next")
    expect(page.locator("#sensor-next")).to_be_enabled()
    page.click("#sensor-next")
    expect(page.locator("#view-session")).to_be_visible()


def box(page: Any, selector: str) -> dict[str, float]:
    found: dict[str, float] | None = page.locator(selector).bounding_box()
    assert found is not None, f"{selector} is not shown"
    return found


def sessions(server: LiveServer) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = httpx.get(f"{server.http_url}/api/sessions", timeout=10).json()
    return listed


def saved_session(server: LiveServer, page: Any) -> dict[str, Any]:
    """The session the page just ran, as the API lists it."""
    (summary,) = received(page, "summary")
    return next(s for s in sessions(server) if s["id"] == summary["session_id"])


# --- pain ----------------------------------------------------------------------------------
def test_untouched_pain_sliders_are_stored_as_missing_never_zero(
    server: LiveServer, browser: Any
) -> None:
    with page_at(browser, PHONE) as page:
        page.goto(f"{server.http_url}/?reps=2")
        card(page, "pelvic-tilt").click()
        before = page.locator("#pain-before")
        expect(page.locator("#pain-before-value")).to_have_text("not answered")
        expect(before).to_have_class(re.compile(r"\bunanswered\b"))
        assert before.get_attribute("aria-valuetext") == "not answered"
        screenshot(page, "live-pain-1-not-answered")
        assert_fits_the_phone(page)
        # Back before the session starts: to the previous step, and on again.
        page.click("#pain-before-back")
        expect(page.locator("#view-choose")).to_be_visible()
        card(page, "pelvic-tilt").click()
        page.click("#pain-before-next")  # Next is possible without an answer
        expect(page.locator("#sensor-next")).to_be_enabled()
        page.click("#sensor-back")
        expect(page.locator("#view-pain-before")).to_be_visible()
        expect(page.locator("#pain-before-value")).to_have_text("not answered")
        page.click("#pain-before-next")
        expect(page.locator("#sensor-next")).to_be_enabled()
        page.click("#sensor-next")
        expect(page.locator("#view-session")).to_be_visible()
        page.click("#stop")  # stopped early: pain after is still asked
        expect(page.locator("#view-pain-after")).to_be_visible()
        expect(page.locator("#pain-after-value")).to_have_text("not answered")
        screenshot(page, "live-pain-2-after-stopped-early")
        page.click("#pain-after-skip")
        expect(page.locator("#summary-pain")).to_have_text("not answered → not answered")
        expect(page.locator("#saved")).to_have_text("Saved to your history")
        screenshot(page, "live-pain-3-summary")
        starts = sent_starts(page)  # one left by Back at the sensor check, one run
        assert len(starts) == 2, starts
        assert all("pain_before_mm" in m and m["pain_before_mm"] is None for m in starts), starts
        stored = saved_session(server, page)
        assert (stored["pain_before_mm"], stored["pain_after_mm"]) == (None, None), stored


def test_a_deliberate_zero_is_an_answer(server: LiveServer, browser: Any) -> None:
    with page_at(browser, PHONE) as page:
        page.goto(f"{server.http_url}/?reps=1")
        card(page, "pelvic-tilt").click()
        set_slider(page, "#pain-before", 0)  # Home at 0: the value it had, now answered
        expect(page.locator("#pain-before")).not_to_have_class(re.compile(r"\bunanswered\b"))
        page.click("#pain-before-next")
        expect(page.locator("#sensor-next")).to_be_enabled()
        page.click("#sensor-next")
        expect(page.locator("#view-pain-after")).to_be_visible()
        page.click("#pain-after-next")  # not answered, Next still possible
        expect(page.locator("#summary-pain")).to_have_text("0 mm → not answered")
        assert sent_start(page)["pain_before_mm"] == 0
        stored = saved_session(server, page)
        assert (stored["pain_before_mm"], stored["pain_after_mm"]) == (0.0, None), stored


# --- mat mode --------------------------------------------------------------------------------
#: The visible elements of the sets view with their area (px²), largest first.
AREAS = """() => [...document.querySelectorAll('#view-session *')]
  .filter((el) => el.checkVisibility() && !el.matches('.live, .side, .gauge-box, .mat-head, '
    + '.controls, .counters, .hold-box, .hold-box *, #gauge *, .gauge-box figcaption, '
    + '.gauge-box figcaption *, .breath-box *, .pacer-box *'))
  .map((el) => { const r = el.getBoundingClientRect();
    return [el.id || el.className.baseVal || el.className || el.localName, r.width * r.height]; })
  .sort((a, b) => b[1] - a[1])"""

#: The hold ring's fill (0–1), its number and its words at every redraw that changes one.
RING_RECORDER = """() => { window.__ring = [];
  const fill = document.getElementById('hold-ring-fill');
  const observer = new MutationObserver(() => window.__ring.push({
      share: 1 - parseFloat(fill.style.strokeDashoffset) / 326.73,
      text: document.getElementById('hold-countdown').textContent,
      note: document.getElementById('hold-note').textContent }));
  observer.observe(fill, { attributes: true, attributeFilter: ['style'] });
  for (const id of ['hold-countdown', 'hold-note'])
    observer.observe(document.getElementById(id),
      { childList: true, characterData: true, subtree: true }); }"""


#: The sets view's parts drawn over one another ([a, b, width, height]) or whose text runs
#: out of their box ([a, "overflows", content height, box height]), as shown.
NO_OVERLAP = """() => {
  const view = document.getElementById("view-session");
  const name = (e) => (e.id ? "#" + e.id : e.tagName.toLowerCase() + "." + e.className);
  const shown = [...view.children, ...view.querySelectorAll(".live > *")]
    .filter((e) => !e.classList.contains("live") && e.getClientRects().length
      && getComputedStyle(e).display !== "none");
  const out = [];
  for (let i = 0; i < shown.length; i++) {
    const r = shown[i].getBoundingClientRect();
    for (let j = i + 1; j < shown.length; j++) {
      const q = shown[j].getBoundingClientRect();
      const w = Math.min(r.right, q.right) - Math.max(r.left, q.left);
      const h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
      if (w > 1 && h > 1) out.push([name(shown[i]), name(shown[j]), Math.round(w), Math.round(h)]);
    }
    const e = shown[i];
    if (e.scrollHeight > e.clientHeight + 1 && getComputedStyle(e).overflowY === "visible")
      out.push([name(e), "overflows", e.scrollHeight, e.clientHeight]);
  }
  return out;
}"""


@pytest.mark.parametrize("size", list(SIZES))
def test_mat_mode_fills_the_screen_with_a_gauge_readable_from_two_metres(
    server: LiveServer, browser: Any, size: str
) -> None:
    viewport = SIZES[size]
    shorter = min(viewport.values())
    with page_at(browser, viewport, "dark" if size.endswith("-dark") else "light") as page:
        start_sets(page, f"{server.http_url}/?reps=3", "pelvic-tilt")
        page.evaluate(RING_RECORDER)
        assert page.evaluate("window.__wake") == ["request:screen"]  # kept awake
        expect(page.locator("#rep-count")).to_have_text("1")
        expect(page.locator(".rep-line")).to_have_text(re.compile(r"^Rep 1 of 3$"))
        expect(page.locator(".set-line")).to_have_text(re.compile(r"^Set 1 of 1$"))
        screenshot(page, f"live-mat-{size}-1-sets")
        # Full screen: the page's header and footer give way to the sets.
        assert not page.locator("header.top").is_visible()
        assert not page.locator("footer").is_visible()
        gauge = box(page, "#gauge")
        assert gauge["width"] >= 0.4 * shorter and gauge["height"] >= 0.4 * shorter, (
            gauge,
            viewport,
        )
        assert gauge["x"] >= 0 and gauge["x"] + gauge["width"] <= viewport["width"] + 0.5
        assert gauge["y"] >= 0 and gauge["y"] + gauge["height"] <= viewport["height"] + 0.5
        areas = page.evaluate(AREAS)
        assert areas[0][0] == "gauge", areas[:4]  # the largest element on the screen
        # The angle and the cue in large type; the controls on the screen without scrolling.
        value_px = page.locator("#gauge-value").evaluate("t => t.getBoundingClientRect().height")
        assert value_px >= 0.07 * shorter, value_px
        assert (
            float(page.locator("#cue").evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
            >= 24
        )
        for control in ("#pause", "#stop"):
            found = box(page, control)
            assert found["y"] + found["height"] <= viewport["height"] + 0.5, (control, found)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        # Nothing drawn over anything else: a long cue pushes the ring down, never under it.
        page.evaluate(
            "document.getElementById('cue').textContent = "
            "'Breathe out and flatten your low back into the mat, then keep breathing'"
        )
        overlaps = page.evaluate(NO_OVERLAP)
        screenshot(page, f"live-mat-{size}-1b-long-cue")
        assert overlaps == [], overlaps
        assert_readable_contrast(page, ("#cue", ".counters"))
        # Paused: a banner nobody can miss, on the screen.
        page.click("#pause")
        banner = page.locator("#paused-banner")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("Paused")
        found = box(page, "#paused-banner")
        assert found["y"] >= 0 and found["y"] + found["height"] <= viewport["height"]
        assert float(banner.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 22
        assert_readable_contrast(page, ("#paused-banner",))
        screenshot(page, f"live-mat-{size}-2-paused")
        page.click("#resume")
        expect(banner).to_be_hidden()
        expect(page.locator("#view-pain-after")).to_be_visible()
        assert page.evaluate("document.body.classList.contains('mat')") is False
        assert page.evaluate("window.__wake") == ["request:screen", "release"]
        # The ring filled with the measured hold and emptied when a hold ended.
        ring = page.evaluate("window.__ring")
        assert max(r["share"] for r in ring) >= 0.9, ring[-5:]
        assert any(r["note"] == "Held" for r in ring)
        assert all(r["share"] < 0.001 for r in ring if r["text"] == "–")


def test_the_hold_shown_is_the_hold_measured(server: LiveServer, browser: Any) -> None:
    """The hold ring counts the server's measured hold (``frame.hold``) and each rep's
    recorded hold is the longest hold the ring showed during it."""
    with page_at(browser, DESKTOP) as page:
        start_sets(page, f"{server.http_url}/?reps=3", "pelvic-tilt")
        page.evaluate(RING_RECORDER)
        expect(page.locator("#view-pain-after")).to_be_visible()
        frames = received(page, "frame")
        reps = [m["rep"] for m in received(page, "rep")]
    assert len(reps) == 3
    checked = 0
    for rep in reps:
        during = [
            f["hold"]["held_s"]
            for f in frames
            if f["hold"] and rep["start_s"] <= f["t"] <= rep["end_s"]
        ]
        if not during:  # a kept calibration: no band (so no hold) until the first rep
            assert rep["index"] == 1, (rep, "no frame carried hold")
            continue
        assert max(during) == pytest.approx(rep["hold_s"], abs=0.1), (rep, max(during))
        checked += 1
    assert checked >= 2, reps


# --- cat-cow -------------------------------------------------------------------------------
def test_cat_cow_trace_enters_both_green_bands_on_every_good_rep(
    server: LiveServer, browser: Any
) -> None:
    with page_at(browser, DESKTOP) as page:
        start_sets(page, f"{server.http_url}/?reps=4", "cat-cow")
        expect(page.locator("#breath-box")).to_be_visible()
        expect(page.locator("#hold-box")).to_be_hidden()  # cat-cow has no holds
        expect(page.locator("#breath-share")).to_have_text(re.compile(r"^\d+ %$"))
        expect(page.locator("#breath-lag")).to_have_text(re.compile(r"^\d+\.\d s$|^–$"))
        expect(page.locator("#gauge-band-other")).to_have_attribute("d", re.compile("^M"))
        screenshot(page, "live-catcow-1-sets")
        expect(page.locator("#view-pain-after")).to_be_visible()
        traces = page.evaluate("window.__repTraces")
        states = [m for m in received(page, "state") if m.get("gauge")]
        frames = received(page, "frame")
        page.click("#pain-after-skip")
        expect(page.locator("#summary-in-time-with-the-breath")).to_have_text(
            re.compile(r"^\d+ %$")
        )
        expect(page.locator("#summary-lag-behind-the-breath")).to_be_visible()
        expect(page.locator("#summary-mean-hold")).to_have_count(0)
        expect(page.locator("#summary-rep-table thead")).not_to_contain_text("Hold")
        screenshot(page, "live-catcow-2-summary")
    assert states, "no state carried gauge"
    bands = states[-1]["gauge"]["bands_deg"]
    assert len(bands) == 2 and bands[0][1] < 0 < bands[1][0], bands  # cow end, cat end
    # Good reps drawn with their bands known (with a kept calibration the first rep sets
    # the person's range: no band is shown before it).
    good = [t for t in traces if not t["rep"]["faults"] and t["trace"]["known"]]
    assert len(good) >= 3 or (len(good) == 2 and not traces[0]["trace"]["known"]), traces
    for entry in good:
        rep, trace = entry["rep"], entry["trace"]
        values = [
            f["gauge_deg"]
            for f in frames
            if rep["start_s"] <= f["t"] <= rep["end_s"] and f["gauge_deg"] is not None
        ]
        # The data reached both ends of the swing ...
        assert min(values) <= bands[0][1] and max(values) >= bands[1][0], (rep, bands)
        # ... and the trace drawn on the screen entered both green bands.
        assert trace is not None and len(trace["bands"]) == 2, trace
        assert trace["line"] > 50, trace
        assert all(n > 0 for n in trace["inside"]), (rep["index"], trace)


def test_cat_cow_trace_stays_out_of_the_bands_on_a_too_small_rep(
    server: LiveServer, browser: Any
) -> None:
    """The simulator's seed 1 makes rep 5 of 8 too small (its ``small-range`` fault): the
    trace drawn over that rep misses a green band and, inside the rep (its ends touch the
    neighbouring reps' turns), the gauge reaches neither; the rep is scored down."""
    with page_at(browser, DESKTOP) as page:
        start_sets(page, f"{server.http_url}/?seed=1", "cat-cow")
        expect(page.locator("#view-pain-after")).to_be_visible(timeout=120_000)
        traces = page.evaluate("window.__repTraces")
        (start,) = [m for m in page.evaluate("window.__sent") if m["type"] == "start"]
        frames = received(page, "frame")
        states = [m for m in received(page, "state") if m.get("gauge")]
    assert start["seed"] == 1
    (cow, cat) = states[-1]["gauge"]["bands_deg"]
    small = [t for t in traces if "small-range" in t["rep"]["faults"]]
    good = [t for t in traces if not t["rep"]["faults"] and t["trace"] and t["trace"]["known"]]
    assert small and len(good) >= 5, [t["rep"]["faults"] for t in traces]
    for entry in small:
        rep, trace = entry["rep"], entry["trace"]
        assert trace is not None and trace["known"] and len(trace["bands"]) == 2, trace
        assert 0 in trace["inside"], (rep["index"], trace)  # a band the trace never entered
        span = rep["end_s"] - rep["start_s"]
        inner = [
            f["gauge_deg"]
            for f in frames
            if rep["start_s"] + 0.2 * span <= f["t"] <= rep["end_s"] - 0.2 * span
            and f["gauge_deg"] is not None
        ]
        assert inner and min(inner) > cow[1] and max(inner) < cat[0], (rep, cow, cat)
        assert rep["quality"] < 100, rep
    assert all(all(n > 0 for n in t["trace"]["inside"]) for t in good), good


# --- the program drives the session ----------------------------------------------------------
def test_start_prescribed_carries_dose_and_slot(server: LiveServer, browser: Any) -> None:
    dose = {"reps": 2, "sets": 1, "hold_s": 2.0, "tempo_s": None}
    with page_at(browser, PHONE) as page:
        page.goto(f"{server.http_url}/")
        expect(card(page, "hip-hinge")).to_be_visible()
        page.evaluate(
            "(dose) => window.spinecoach.startPrescribed("
            "{technique: 'hip-hinge', dose, slot: 'main'})",
            dose,
        )
        expect(page.locator("#view-pain-before")).to_be_visible()
        expect(page.locator("#prescribed-dose")).to_have_text("Today's dose: 1 × 2 reps, hold 2 s")
        screenshot(page, "live-prescribed-1-pain")
        page.click("#pain-before-next")
        expect(page.locator("#sensor-next")).to_be_enabled()
        start = sent_start(page)
        assert (start["technique"], start["dose"], start["slot"]) == ("hip-hinge", dose, "main")
        page.click("#sensor-next")
        expect(page.locator("#rep-count")).to_have_text("1")
        expect(page.locator(".rep-line")).to_have_text("Rep 1 of 2")
        screenshot(page, "live-prescribed-2-sets")
        page.click("#stop")
        expect(page.locator("#view-pain-after")).to_be_visible()


# --- stops -------------------------------------------------------------------------------------
def test_a_start_refused_while_the_program_is_stopped_is_explained(
    own_server: LiveServer, browser: Any
) -> None:
    flags = {f.id: False for f in default_red_flags()}
    flags[next(iter(flags))] = True
    baseline = {
        "vas_mm": 30,
        "psfs": [{"activity": "Putting on socks", "score": 4}],
        "doses_per_day": 0,
        "schedule": {"morning_time": "07:30"},
        "sensors": [],
    }
    response = httpx.post(
        f"{own_server.http_url}/api/program/onboarding",
        json={"red_flags": flags, "baseline": baseline},
        timeout=30.0,
    )
    assert response.status_code == 201, response.text
    with page_at(browser, PHONE) as page:
        page.goto(f"{own_server.http_url}/?technique=pelvic-tilt")
        expect(page.locator("#view-pain-before")).to_be_visible()
        page.click("#pain-before-next")
        refused = page.locator("#view-refused")
        expect(refused).to_be_visible()
        (error,) = received(page, "error")
        assert error["code"] == "program-stopped"
        expect(page.locator("#refused-cause")).to_contain_text(error["message"].rstrip("."))
        expect(page.locator("#refused-fix")).to_contain_text(error["fix"].rstrip("."))
        expect(refused).to_contain_text("Nothing was started")
        expect(page.locator("#view-sensor")).to_be_hidden()
        screenshot(page, "live-refused")
        assert_fits_the_phone(page)
        assert_readable_contrast(page, ("#refused-cause", "#refused-fix"))
        assert page.evaluate("window.__wake") == []
    assert sessions(own_server) == []


def test_a_pain_jump_shows_the_advice_instead_of_saved(
    own_server: LiveServer, browser: Any
) -> None:
    with page_at(browser, PHONE) as page:
        page.goto(f"{own_server.http_url}/?reps=1")
        card(page, "pelvic-tilt").click()
        set_slider(page, "#pain-before", 20)
        page.click("#pain-before-next")
        expect(page.locator("#sensor-next")).to_be_enabled()
        page.click("#sensor-next")
        expect(page.locator("#view-pain-after")).to_be_visible()
        set_slider(page, "#pain-after", 75)
        page.click("#pain-after-next")
        saved = page.locator("#saved")
        expect(saved).to_contain_text("Your pain rose 55 mm")
        expect(saved).not_to_contain_text("Saved to your history")
        assert saved.get_attribute("role") == "alert"
        expect(page.locator("#summary-pain")).to_have_text("20 → 75 mm")
        screenshot(page, "live-pain-jump-advice")
        assert_readable_contrast(page, ("#saved",))


# --- the hold ring, frame by frame -------------------------------------------------------------
def hold_frame(t: float, gauge_deg: float, hold: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "type": "frame",
        "t": t,
        "angles": {},
        "flags": [],
        "gauge_deg": gauge_deg,
        "hold": hold,
    }


def test_the_hold_ring_restarts_and_says_back_into_the_band(
    server: LiveServer, browser: Any
) -> None:
    """A scripted server (Playwright answers the page's socket): a hold of 1.6 s, the gauge
    leaving the band, then a new hold. The ring fills with held_s / target_s, empties and
    says "Back into the band" when the gauge leaves, and fills again from 0."""
    band = [8.0, 11.0]
    state = {
        "type": "state", "calibrated": True, "position": "supine", "reps": 0, "set": 0,
        "paused": False, "target_band_deg": band, "paused_reason": None, "silent_sensors": [],
        "session_id": None, "measures": ["hold"],
        "gauge": {"angle": "pelvic_tilt_deg", "label": "Pelvic tilt", "direction": -1,
                  "band_deg": band, "bands_deg": [band]},
        "targets": {"reps": 10, "sets": 1, "hold_s": 3.0},
    }  # fmt: skip
    script: list[dict[str, Any]] = [state, hold_frame(0.0, 0.0, None)]

    def hold(inside: bool, held_s: float) -> dict[str, Any]:
        return {"inside": inside, "held_s": held_s, "target_s": 3.0}

    sets: list[dict[str, Any]] = [
        {"type": "annotation", "kind": "calibration-rep", "start_s": 1.0, "end_s": 1.5}
    ]
    t = 2.0
    for held in (0.0, 0.4, 0.8, 1.2, 1.6):  # a hold of 1.6 s ...
        sets.append(hold_frame(t, 9.5, hold(True, held)))
        t += 0.4
    sets.append(hold_frame(t, 5.0, hold(False, 0.0)))  # ... left early
    for held in (0.0, 1.0, 2.0, 3.0):  # a new hold, to the target
        t += 1.0
        sets.append(hold_frame(t, 10.0, hold(True, held)))

    def route(ws: Any) -> None:
        def on_message(message: str | bytes) -> None:
            data = json.loads(message)
            if data["type"] == "start":
                for item in script:
                    ws.send(json.dumps(item))
            elif data["type"] == "resume":
                for item in sets:
                    ws.send(json.dumps(item))

        ws.on_message(on_message)
        ws.send(json.dumps({"type": "hello", "protocol": 1, "server_version": "test",
                            "techniques": ["pelvic-tilt"]}))  # fmt: skip

    with page_at(browser, PHONE) as page:
        page.route_web_socket(re.compile(r".*/ws/live$"), route)
        page.goto(f"{server.http_url}/")
        card(page, "pelvic-tilt").click()
        page.evaluate(RING_RECORDER)
        page.click("#pain-before-next")
        expect(page.locator("#sensor-next")).to_be_enabled()
        page.click("#sensor-next")
        expect(page.locator("#view-session")).to_be_visible()
        expect(page.locator("#hold-countdown")).to_have_text("3.0 s")
        expect(page.locator("#hold-note")).to_have_text("Held")
        screenshot(page, "live-hold-ring-held")
        ring = page.evaluate("window.__ring")
    shown = [(round(r["share"], 2), r["text"], r["note"]) for r in ring]
    assert shown == [
        (0.0, "–", ""),  # the first frame: no hold applies
        (0.0, "0.0 s", "In the band: hold"),
        (0.13, "0.4 s", "In the band: hold"),
        (0.27, "0.8 s", "In the band: hold"),
        (0.4, "1.2 s", "In the band: hold"),
        (0.53, "1.6 s", "In the band: hold"),
        (0.0, "–", "Back into the band"),  # left early: the ring empties
        (0.0, "0.0 s", "In the band: hold"),  # and starts again from 0
        (0.33, "1.0 s", "In the band: hold"),
        (0.67, "2.0 s", "In the band: hold"),
        (1.0, "3.0 s", "Held"),
    ], shown
