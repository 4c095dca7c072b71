"""The page with live devices, in Chromium: the person picks "My phone or Bluetooth
sensors", sees two phones pushing Sensor Logger data (state, signal quality, where each
is worn), tries a Bluetooth sensor on a machine without Bluetooth (told so plainly),
starts the session, is led through the calibration by prompts, sees reps counted and
the sensors' status line, stops and saves. Screenshots in test-artifacts/browser/.

The phones are a real-time pusher thread: standing still until the session starts (a
person waiting), then a simulated pelvic-tilt session.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser_support import (
    assert_fits_the_phone,
    launch,
    needs_chromium,
    open_home,
    open_page,
    playwright_api,
    screenshot,
    set_slider,
)
from web_client import LiveServer, serve

from spinecoach.sim import simulate
from spinecoach.sources.sensor_logger_push import push_messages
from spinecoach.web.settings import Settings

pytestmark = needs_chromium

STEP_TIMEOUT_MS = 20_000
BATCH_S = 0.2
STILL_S = 3.5  # the simulated person stands still for the first 4 s


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('devices-browser')}/history.sqlite3"
    yield from serve(Settings(database_url=url))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from open_page(browser, STEP_TIMEOUT_MS)


class Phones(threading.Thread):
    """Two phones pushing in real time: still standing until ``go`` is set, then the
    simulated session (its time stamps continue after the waiting)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.recording = simulate("pelvic-tilt", seed=2, reps=3)
        self.go = threading.Event()
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.start_unix_s = time.time()

    def _messages(self, base_s: float, end_s: float) -> list[dict[str, dict[str, Any]]]:
        """One message per phone per BATCH_S of the recording's [0, end_s), at base_s."""
        per_phone = {}
        for placement, sensor in self.recording.sensors.items():
            keep = sensor.time_s < end_s
            per_phone[placement] = push_messages(
                sensor.time_s[keep] + base_s,
                sensor.acc_mps2[keep],
                sensor.gyr_dps[keep],
                start_unix_s=self.start_unix_s,
                batch_s=BATCH_S,
                device_id=f"{placement}-phone",
                session_id="browser-test",
            )
        n = min(len(m) for m in per_phone.values())
        return [{p: m[k] for p, m in per_phone.items()} for k in range(n)]

    def run(self) -> None:
        t0 = time.monotonic()
        base = 0.0
        sent = 0
        with httpx.Client(timeout=10.0) as client:
            while not self.stop.is_set():
                going = self.go.is_set()
                end = float(self.recording.duration_s) if going else STILL_S
                for message in self._messages(base, end):
                    if self.stop.is_set():
                        return
                    sent += 1
                    wait = t0 + sent * BATCH_S - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    for placement, body in message.items():
                        response = client.post(
                            f"{self.url}/api/ingest/sensor-logger",
                            params={"placement": placement},
                            content=json.dumps(body),
                        )
                        if response.status_code != 200:
                            self.errors.append(response.text)
                base += len(self._messages(0.0, end)) * BATCH_S
                if going:
                    return


def test_a_session_with_two_phones_in_the_page(server: LiveServer, page: Any) -> None:
    phones = Phones(server.http_url)
    phones.start()
    try:
        open_home(page, server.http_url)
        page.check("#source-devices")
        page.click("[data-technique=pelvic-tilt]")
        set_slider(page, "#pain-before", 25)
        page.click("#pain-before-next")
        expect = playwright_api.expect
        expect(page.locator("#device-check")).to_be_visible()
        expect(page.locator("#sim-check")).to_be_hidden()
        lower = page.locator("[data-device='sensor-logger:lower-phone']")
        upper = page.locator("[data-device='sensor-logger:upper-phone']")
        expect(lower.locator(".device-state")).to_contain_text("connected")
        expect(lower.locator(".device-quality")).to_have_text("good")
        expect(upper.locator(".device-quality")).to_have_text("good")
        expect(lower.locator("select")).to_have_value("lower")
        expect(upper.locator("select")).to_have_value("upper")
        expect(page.locator("#device-summary")).to_contain_text("Ready: lower sensor (sacrum)")
        expect(page.locator("#sensor-next")).to_be_enabled()
        # A Bluetooth sensor on this machine (no adapter): told plainly, with alternatives.
        page.click("#connect-phone summary")
        expect(page.locator("#push-url")).to_contain_text("/api/ingest/sensor-logger")
        page.locator("details.connect summary", has_text="Bluetooth").click()
        page.fill("#ble-address", "A0:9E:1A:00:00:01")
        page.select_option("#ble-placement", "upper")
        page.click("#ble-connect")
        ble = page.locator("[data-device='ble:A0:9E:1A:00:00:01']")
        expect(ble.locator(".device-detail")).to_contain_text("Bluetooth", timeout=15_000)
        expect(ble.locator(".device-state")).to_contain_text("not working", timeout=15_000)
        expect(ble.locator(".device-detail")).to_contain_text("phone")
        screenshot(page, "devices-1-sensor-check")
        assert_fits_the_phone(page)
        # The Bluetooth sensor took the upper placement; give it back to the phone.
        upper.locator("select").select_option("upper")
        expect(upper.locator("select")).to_have_value("upper")
        expect(ble.locator("select")).to_have_value("")
        page.click("#sensor-next")
        phones.go.set()
        expect(page.locator("#view-calibration")).to_be_visible()
        expect(page.locator("#calibration-instruction")).to_have_text(
            "Bend forward slowly three times"
        )
        screenshot(page, "devices-2-calibration")
        expect(page.locator("#calibration-instruction")).to_have_text(
            "Get into position and hold still", timeout=40_000
        )
        expect(page.locator("#view-session")).to_be_visible(timeout=40_000)
        expect(page.locator("#device-line")).to_contain_text("Lower: Phone lower-ph")
        expect(page.locator("#device-line")).to_contain_text("signal good")
        expect(page.locator("#rep-count")).to_have_text("1", timeout=40_000)
        screenshot(page, "devices-3-session")
        assert_fits_the_phone(page)
        page.click("#stop")
        expect(page.locator("#view-pain-after")).to_be_visible()
        page.click("#pain-after-next")
        expect(page.locator("#saved")).to_have_text("Saved to your history")
        screenshot(page, "devices-4-summary")
        assert phones.errors == []
    finally:
        phones.stop.set()
        phones.join(5.0)
