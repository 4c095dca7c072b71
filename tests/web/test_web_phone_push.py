"""A phone as the sensor, over real HTTP: two phones (lower and upper) push a simulated
pelvic-tilt session in Sensor Logger's push format, in real time, to a running server;
the page's WebSocket starts a ``devices`` session; the coach leads the calibration from
the data, counts the reps and stores the session like a simulated one.

Real time matters: the device feed puts the phone's clock on the server's from the
arrival times, so the messages are sent when the app would send them (every 0.2 s).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from web_client import LiveServer, collect_until, receive, send, serve
from websockets.sync.client import connect

from spinecoach.sim import simulate
from spinecoach.sources.sensor_logger_push import push_messages
from spinecoach.web.settings import Settings

BATCH_S = 0.2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('push')}/history.sqlite3"
    yield from serve(Settings(database_url=url))


def _pusher(
    url: str, streams: dict[str, list[dict[str, Any]]], errors: list[str], started: threading.Event
) -> None:
    """Send each phone's k-th message at k × BATCH_S after the start, as the app does."""
    with httpx.Client(timeout=10.0) as client:
        t0 = time.monotonic()
        n = max(len(m) for m in streams.values())
        for k in range(n):
            wait = t0 + (k + 1) * BATCH_S - time.monotonic()  # a batch is sent once full
            if wait > 0:
                time.sleep(wait)
            for placement, messages in streams.items():
                if k < len(messages):
                    response = client.post(
                        f"{url}/api/ingest/sensor-logger",
                        params={"placement": placement},
                        content=json.dumps(messages[k]),
                    )
                    if response.status_code != 200:
                        errors.append(f"{response.status_code} {response.text}")
            started.set()


def test_a_session_pushed_by_two_phones_is_coached_and_stored(server: LiveServer) -> None:
    recording = simulate("pelvic-tilt", seed=2, reps=3)
    start_unix_s = time.time()
    streams = {
        placement: push_messages(
            sensor.time_s,
            sensor.acc_mps2,
            sensor.gyr_dps,
            start_unix_s=start_unix_s,
            batch_s=BATCH_S,
            device_id=f"{placement}-phone",
            session_id="push-test",
        )
        for placement, sensor in recording.sensors.items()
    }
    errors: list[str] = []
    started = threading.Event()
    pusher = threading.Thread(
        target=_pusher, args=(server.http_url, streams, errors, started), daemon=True
    )
    pusher.start()
    assert started.wait(5.0)
    # The sensor check: both phones listed, placed, with data and a quality grade.
    deadline = time.monotonic() + 5.0
    while True:
        devices = httpx.get(f"{server.http_url}/api/devices").json()["devices"]
        placed = {d["placement"]: d for d in devices if d["samples"] > 0}
        if set(placed) == {"lower", "upper"} or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert set(placed) == {"lower", "upper"}, devices
    assert placed["lower"]["id"] == "sensor-logger:lower-phone"
    assert placed["lower"]["state"] == "connected"
    assert placed["lower"]["quality"] in ("good", "fair")
    assert abs(placed["lower"]["rate_hz"] - 100.0) < 1.0

    with connect(server.ws_url) as ws:
        assert receive(ws)["type"] == "hello"
        send(ws, type="start", technique="pelvic-tilt", source="devices", pain_before_mm=20)
        messages = collect_until(ws, "state")
        assert not [m for m in messages if m["type"] == "error"], messages
        deadline_s = recording.duration_s + 10.0
        # The recording ends standing up; stop once every sample has been pushed.
        seen: list[dict[str, Any]] = []
        end = time.monotonic() + deadline_s
        while pusher.is_alive() and time.monotonic() < end:
            try:
                seen.append(receive(ws, 1.0))
            except TimeoutError:
                continue
        time.sleep(0.5)  # the last push is processed
        send(ws, type="stop")
        seen += collect_until(ws, "summary", timeout_s=30.0)
    assert not errors, errors[:3]
    assert not [m for m in seen if m["type"] == "error"], [m for m in seen if m["type"] == "error"][
        :3
    ]
    # Each step is prompted when it starts and its window given when the data show it.
    phases = list(dict.fromkeys(m["kind"] for m in seen if m["type"] == "annotation"))
    assert phases == ["calibration-functional", "calibration-neutral", "calibration-rep"]
    states = [m for m in seen if m["type"] == "state"]
    assert states[-1]["calibrated"] is True
    summary = seen[-1]
    result = summary["result"]
    truth_reps = int(recording.meta["reps"]) * int(recording.meta["sets"])
    assert len(result["reps"]) == truth_reps, [r["start_s"] for r in result["reps"]]
    assert all(r["hold_s"] is None or r["hold_s"] > 2.0 for r in result["reps"])
    session_id = summary["session_id"]
    assert session_id is not None

    listed = {s["id"]: s for s in httpx.get(f"{server.http_url}/api/sessions").json()}
    stored = listed[session_id]
    assert stored["status"] == "completed"
    assert stored["source"] == "devices"
    assert stored["summary"]["reps"] == truth_reps
    plot = httpx.get(f"{server.http_url}/api/sessions/{session_id}/plot.png")
    assert plot.status_code == 200 and plot.content[:8] == b"\x89PNG\r\n\x1a\n"
