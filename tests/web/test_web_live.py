"""Whole simulated sessions over a real WebSocket: the same reps as the batch engine."""

from __future__ import annotations

import itertools
import json
import statistics

import pytest
from web_client import LiveServer, collect_until, receive, send
from websockets.sync.client import connect

from spinecoach import __version__
from spinecoach.coach.session import UI_FRAME_RATE_HZ
from spinecoach.exercises import SUPPORTED, detect_exercise
from spinecoach.motion import motion_process
from spinecoach.sim import simulate
from spinecoach.web.protocol import PROTOCOL_VERSION


def test_hello_on_connect(live_server: LiveServer) -> None:
    with connect(live_server.ws_url) as ws:
        hello = receive(ws)
    assert hello == {
        "type": "hello",
        "protocol": PROTOCOL_VERSION,
        "server_version": __version__,
        "techniques": list(SUPPORTED),
    }


def test_simulated_pelvic_tilt_session_matches_the_batch_engine(live_server: LiveServer) -> None:
    recording = simulate("pelvic-tilt", seed=1)
    frames, info = motion_process(recording)
    batch = detect_exercise(
        frames, "pelvic-tilt", annotations=recording.events, calibrated_position=info["position"]
    )
    with connect(live_server.ws_url, max_size=None) as ws:
        receive(ws)
        send(ws, type="start", technique="pelvic-tilt", source="sim", seed=1)
        messages = collect_until(ws, "summary", timeout_s=60.0)
    by_type: dict[str, list[dict[str, object]]] = {}
    for message in messages:
        by_type.setdefault(str(message["type"]), []).append(message)
    expected = json.loads(json.dumps([rep.as_dict() for rep in batch.reps]))
    assert len(expected) == 10
    assert [m["rep"] for m in by_type["rep"]] == expected
    summary = by_type["summary"][0]["result"]
    assert isinstance(summary, dict)
    assert summary["reps"] == expected
    expected_cues = [(round(c.time_s, 4), c.key) for c in batch.cues]
    assert [(c["t"], c["key"]) for c in by_type["cue"]] == expected_cues
    assert {"hold", "release"} <= {c["key"] for c in by_type["cue"]}
    # Frames: decimated to the UI rate, every angle column present, NaN sent as null.
    times = [float(str(m["t"])) for m in by_type["frame"]]
    steps = [b - a for a, b in itertools.pairwise(times)]
    assert statistics.median(steps) == pytest.approx(1.0 / UI_FRAME_RATE_HZ, abs=1e-3)
    assert times[-1] > 150.0
    first = by_type["frame"][0]
    assert first["angles"]["lumbar_flexion_deg"] is None  # type: ignore[index]
    assert "calibration not done" in first["flags"]  # type: ignore[operator]
    states = by_type["state"]
    assert states[0]["calibrated"] is False and states[-1]["calibrated"] is True
    assert states[-1]["reps"] == 10 and states[-1]["set"] == 1


def test_pause_resume_and_stop(live_server: LiveServer) -> None:
    with connect(live_server.ws_url, max_size=None) as ws:
        receive(ws)
        send(ws, type="start", technique="pelvic-tilt", seed=2)
        collect_until(ws, "frame")
        send(ws, type="pause")
        before = collect_until(ws, "state")
        while before[-1]["paused"] is not True:
            before += collect_until(ws, "state")
        with pytest.raises(TimeoutError):
            receive(ws, timeout_s=0.3)  # nothing is sent while paused
        send(ws, type="resume")
        resumed = collect_until(ws, "state")
        assert resumed[-1]["paused"] is False
        send(ws, type="stop")
        after = collect_until(ws, "summary")
        summary = after[-1]["result"]
        assert summary["technique"] == "pelvic-tilt"
        assert len(summary["reps"]) < 10  # stopped early
        # The connection is still open and a new session can start.
        send(ws, type="start", technique="hip-hinge", seed=3, reps=1)
        assert collect_until(ws, "state")[-1]["type"] == "state"
        send(ws, type="stop")
        assert collect_until(ws, "summary")[-1]["result"]["technique"] == "hip-hinge"
