"""Each ``cue`` says when its triggering sample was produced (``wall_ms``, Unix ms).

What can be checked without timing anything: a cue is never received before its sample
was produced; the stamps follow the session's clock divided by the replay speed, with
paused time left out; an external client's cue carries the arrival of one of its
``samples`` messages. (How fast cues arrive is bench/latency.py's business.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from web_client import LiveServer, receive, send, serve
from websockets.sync.client import ClientConnection, connect

from spinecoach.sim import simulate
from spinecoach.web.settings import Settings

SPEED = 20.0
#: Stamps are rounded to 0.1 ms, and the triggering sample comes up to one sample period
#: (10 ms of session time, 0.5 ms at SPEED) after the cue's frame time ``t``.
STAMP_TOLERANCE_MS = 1.0


@pytest.fixture(scope="module")
def paced_server() -> Iterator[LiveServer]:
    """The simulator at 20 × real time: a 1-rep session takes about 3 s."""
    yield from serve(Settings(sim_speed=SPEED))


def now_ms() -> float:
    return time.time() * 1e3


def cues_until_summary(ws: ClientConnection, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """Every cue up to the summary, each with the time it was received (``received_ms``)."""
    cues = []
    while (message := receive(ws, timeout_s))["type"] != "summary":
        if message["type"] == "cue":
            cues.append({**message, "received_ms": now_ms()})
    return cues


def assert_received_after_produced(cues: list[dict[str, Any]]) -> None:
    for cue in cues:
        assert isinstance(cue["wall_ms"], float)
        lag_ms = cue["received_ms"] - cue["wall_ms"]
        assert -STAMP_TOLERANCE_MS <= lag_ms < 5_000.0, cue
    stamps = [c["wall_ms"] for c in cues]
    assert stamps == sorted(stamps)


def test_simulated_cues_are_stamped_on_the_replay_clock(paced_server: LiveServer) -> None:
    with connect(paced_server.ws_url, max_size=None) as ws:
        receive(ws)
        started_ms = now_ms()
        send(ws, type="start", technique="pelvic-tilt", seed=1, reps=1)
        cues = cues_until_summary(ws)
    assert len(cues) >= 3
    assert_received_after_produced(cues)
    assert cues[0]["wall_ms"] > started_ms
    first = cues[0]
    for cue in cues[1:]:
        expected_ms = (cue["t"] - first["t"]) / SPEED * 1e3
        assert cue["wall_ms"] - first["wall_ms"] == pytest.approx(
            expected_ms, abs=STAMP_TOLERANCE_MS
        )


def test_paused_time_moves_the_later_stamps(paced_server: LiveServer) -> None:
    pause_s = 1.0
    with connect(paced_server.ws_url, max_size=None) as ws:
        receive(ws)
        send(ws, type="start", technique="pelvic-tilt", seed=2, reps=1)
        while (message := receive(ws))["type"] != "cue":
            pass
        before = [{**message, "received_ms": now_ms()}]
        send(ws, type="pause")
        while not ((message := receive(ws))["type"] == "state" and message["paused"]):
            if message["type"] == "cue":  # sent before the pause took effect
                before.append({**message, "received_ms": now_ms()})
        time.sleep(pause_s)
        send(ws, type="resume")
        after = cues_until_summary(ws)
    assert after, "no cue after the pause"
    assert_received_after_produced([*before, *after])
    # After the pause the stamps run on with the session's clock, shifted by the time
    # spent paused (a little less than pause_s: the pause takes effect at the next tick).
    first = before[0]
    for cue in after:
        shift_ms = cue["wall_ms"] - first["wall_ms"] - (cue["t"] - first["t"]) / SPEED * 1e3
        assert pause_s * 1e3 - 250.0 < shift_ms < pause_s * 1e3 + 2_000.0, cue


def test_external_cues_carry_the_arrival_of_their_samples(live_server: LiveServer) -> None:
    recording = simulate("pelvic-tilt", seed=5, reps=1)
    batches = []
    for placement, sensor in recording.sensors.items():
        for i in range(0, sensor.n_samples, 10):
            sl = slice(i, i + 10)
            batches.append(
                {
                    "type": "samples",
                    "placement": placement,
                    "rate_hz": sensor.rate_hz,
                    "t": sensor.time_s[sl].tolist(),
                    "acc_mps2": sensor.acc_mps2[sl].tolist(),
                    "gyr_dps": sensor.gyr_dps[sl].tolist(),
                }
            )
    batches.sort(key=lambda b: (b["t"][0], b["placement"]))
    events = sorted(recording.events, key=lambda e: e.start_s)
    with connect(live_server.ws_url, max_size=None) as ws:
        receive(ws)
        send(ws, type="start", technique="pelvic-tilt", source="external")
        first_sent_ms = now_ms()
        for batch in batches:
            while events and events[0].start_s <= batch["t"][0]:  # announced when due
                event = events.pop(0)
                send(
                    ws, type="annotation", kind=event.kind, start_s=event.start_s, end_s=event.end_s
                )
            ws.send(json.dumps(batch))
        send(ws, type="stop")
        cues = cues_until_summary(ws)
    assert cues, "the streamed session gave no cue"
    assert_received_after_produced(cues)
    assert all(c["wall_ms"] >= first_sent_ms - STAMP_TOLERANCE_MS for c in cues)
