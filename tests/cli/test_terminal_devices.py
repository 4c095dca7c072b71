"""The terminal coach with live devices: source specs, Bluetooth on a machine without it
(the real bleak path), and a phone pushing Sensor Logger data to the coach's own ingest
server over real HTTP while the session runs."""

from __future__ import annotations

import io
import json
import re
import socket
import threading
import time

import httpx
import pytest
from rich.console import Console

from spinecoach.cli.terminal import CoachError, CoachSettings, run_session
from spinecoach.cli.terminal.devices import DeviceSourceError, parse_device_source
from spinecoach.coach.replay_pump import ReplayControl
from spinecoach.sim import simulate
from spinecoach.sources.sensor_logger_push import push_messages

BATCH_S = 0.2


@pytest.mark.parametrize(
    ("spec", "kind", "placements"),
    [
        ("ble:A0:9E:1A:00:00:01", "ble", ("lower",)),
        ("ble:A0:9E:1A:00:00:01, A0:9E:1A:00:00:02", "ble", ("lower", "upper")),
        ("phyphox:192.168.1.20:8080", "phyphox", ("lower",)),
        ("sensor-logger", "sensor-logger", ("lower",)),
        ("sensor-logger:2", "sensor-logger", ("lower", "upper")),
    ],
)
def test_device_source_specs(spec: str, kind: str, placements: tuple[str, ...]) -> None:
    parsed = parse_device_source(spec)
    assert parsed is not None and parsed.kind == kind and parsed.placements == placements


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("phone", "use one of: sim, phyphox"),
        ("ble:", "one address (lower sensor) or two"),
        ("ble:a,b,c", "one address (lower sensor) or two"),
        ("sensor-logger:3", "1 or 2"),
    ],
)
def test_bad_device_sources_are_refused_with_the_fix(spec: str, says: str) -> None:
    with pytest.raises(DeviceSourceError, match=re.escape(says)):
        parse_device_source(spec)
    with pytest.raises(CoachError, match=re.escape(says)):
        CoachSettings("pelvic-tilt", source=spec)


def test_bluetooth_without_an_adapter_says_so_and_suggests_alternatives() -> None:
    """This machine has no Bluetooth adapter: bleak fails for real and the coach stops
    with the source's plain message instead of waiting."""
    console = Console(file=io.StringIO(), width=120)
    settings = CoachSettings("pelvic-tilt", source="ble:A0:9E:1A:00:00:01", save=False)
    started = time.monotonic()
    with pytest.raises(CoachError) as raised:
        run_session(settings, console)
    assert time.monotonic() - started < 30.0
    message = str(raised.value)
    assert "no Bluetooth adapter" in message
    assert "Sensor Logger" in message and "--source sim" in message


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_phone_pushing_to_the_terminal_coach(tmp_path: object) -> None:
    """25 s of a simulated session pushed in real time by one phone: the coach starts its
    ingest server, waits for the phone, leads the first calibration step and shows the
    phone's state and signal quality; stopping ends the session with its result."""
    port = _free_port()
    recording = simulate("hip-hinge", seed=1, reps=2, sets=1)
    sensor = recording.sensors["lower"]
    keep = sensor.time_s < 25.0
    messages = push_messages(
        sensor.time_s[keep],
        sensor.acc_mps2[keep],
        sensor.gyr_dps[keep],
        start_unix_s=time.time(),
        batch_s=BATCH_S,
        device_id="3f2a9c1e-phone",
    )
    out = io.StringIO()
    console = Console(file=out, width=200)
    control = ReplayControl()
    settings = CoachSettings(
        "hip-hinge", source="sensor-logger", save=False, listen=f"127.0.0.1:{port}"
    )
    outcome: list[object] = []
    failures: list[BaseException] = []

    def coach() -> None:
        try:
            outcome.append(run_session(settings, console, control=control))
        except BaseException as error:  # reported by the test
            failures.append(error)

    thread = threading.Thread(target=coach, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/api/ingest/sensor-logger"
    deadline = time.monotonic() + 10.0
    with httpx.Client(timeout=5.0) as client:
        while True:  # the coach's ingest server comes up
            try:
                client.post(url, content=b"")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, out.getvalue()
                time.sleep(0.05)
        t0 = time.monotonic()
        for k, message in enumerate(messages):
            wait = t0 + (k + 1) * BATCH_S - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            response = client.post(url, content=json.dumps(message))
            assert response.status_code == 200, response.text
    control.stop()
    thread.join(20.0)
    assert not thread.is_alive()
    assert not failures, failures
    text = out.getvalue()
    assert f"push to http://127.0.0.1:{port}/api/ingest/sensor-logger" in text
    assert "a phone cannot reach it" in text  # loopback only, said plainly
    assert "waiting for the sensors" in text
    assert "sensors: lower: Phone 3f2a9c1e (Sensor Logger) — connected, signal good" in text
    assert "Calibration 1 of 3: bend forward slowly three times" in text
    assert "Calibration 2 of 3" in text  # the bends were seen: the next step was prompted
    assert outcome and outcome[0].stopped_early  # type: ignore[attr-defined]
