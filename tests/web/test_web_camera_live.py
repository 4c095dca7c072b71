"""Camera sessions through the real server and WebSocket: a video of a synthetic person
(landmarks played back by a stand-in pose model, images through the real
:class:`~spinecoach.camera.source.CameraSource`) is coached like any other source —
framing, neutral hold, practice rep, sets — stored with source ``camera`` and plotted.
The person leaving the picture and black frames pause the session with the reason and
never make reps; what a camera cannot coach or cannot open is refused with the fix."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from camera_scenario import REPS, START_S, Scenario
from web_client import LiveServer, collect_until, receive, send, serve
from websockets.sync.client import connect

from spinecoach.camera.source import CameraSource
from spinecoach.web.settings import Settings


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, scenario: Scenario) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('camera')}/history.sqlite3"
    settings = Settings(database_url=url, video_speed=20.0, source="camera")
    yield from serve(settings, camera_source=scenario.source)


def _session(server: LiveServer, **start: Any) -> list[dict[str, Any]]:
    with connect(server.ws_url) as ws:
        assert receive(ws)["type"] == "hello"
        send(ws, type="start", source="camera", pain_before_mm=20, **start)
        return collect_until(ws, "summary", timeout_s=60.0)


def _of(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == kind]


def test_a_camera_hip_hinge_session_is_coached_stored_and_plotted(
    server: LiveServer, scenario: Scenario
) -> None:
    scenario.absent = None
    messages = _session(server, technique="hip-hinge")
    steps = [m["step"] for m in _of(messages, "camera")]
    assert steps[0] == "framing" and "neutral" in steps and "practice" in steps
    kinds = [m["kind"] for m in _of(messages, "annotation")]
    assert kinds[:3] == ["calibration-neutral", "calibration-neutral", "calibration-rep"]
    assert all(m["source"] == "video:synthetic-person.mp4" for m in _of(messages, "camera"))
    frames = _of(messages, "frame")
    assert frames and max(f["angles"]["pelvic_tilt_deg"] or 0.0 for f in frames) > 25.0
    summary = messages[-1]
    # The first rep is the practice rep (the personal range); the other four are counted.
    assert len(summary["result"]["reps"]) == REPS - 1
    assert summary["result"]["info"]["calibration_reps"] == 1
    for rep in summary["result"]["reps"]:
        assert rep["range_deg"] == pytest.approx(30.0, abs=2.0)
    assert len(_of(messages, "rep")) == REPS - 1
    assert scenario.made[-1].closed  # the pose model is released at the end
    session_id = summary["session_id"]
    with httpx.Client(base_url=server.http_url, timeout=30.0) as http:
        stored = {s["id"]: s for s in http.get("/api/sessions").json()}[session_id]
        assert stored["status"] == "completed"
        assert stored["source"] == "camera"
        plot = http.get(f"/api/sessions/{session_id}/plot.png")
        assert plot.status_code == 200 and plot.content[:4] == b"\x89PNG"


def test_leaving_the_picture_pauses_and_no_rep_spans_it(
    server: LiveServer, scenario: Scenario
) -> None:
    # Rep 3 (the second counted) runs from 26 to 32 s; the person is gone 28-31 s.
    scenario.absent = (START_S + 22.0, START_S + 25.0)
    messages = _session(server, technique="hip-hinge")
    states = _of(messages, "state")
    paused = [s for s in states if s["paused_reason"] == "out-of-frame"]
    assert paused, "leaving the picture must pause the session"
    after = states[states.index(paused[0]) + 1 :]
    assert any(not s["paused"] for s in after), "the session goes on when the person is back"
    nobody = [m for m in _of(messages, "camera") if not m["person"]]
    assert nobody and nobody[0]["messages"][0].startswith("Nobody is in the picture")
    reps = messages[-1]["result"]["reps"]
    assert len(reps) == REPS - 2  # the practice rep, and the one cut by the absence
    a, b = scenario.absent
    for rep in reps:
        assert rep["end_s"] < a or rep["start_s"] > b


def test_a_video_with_nobody_in_it_never_makes_reps(server: LiveServer, scenario: Scenario) -> None:
    scenario.absent = (0.0, 1e9)
    scenario.seconds = 12.0
    try:
        messages = _session(server, technique="hip-hinge")
    finally:
        scenario.seconds = Scenario.seconds
    assert messages[-1]["result"]["reps"] == []
    assert not _of(messages, "rep")
    assert all(m["step"] == "framing" and not m["person"] for m in _of(messages, "camera"))
    assert any(s["paused_reason"] == "out-of-frame" for s in _of(messages, "state"))


def test_stop_ends_a_camera_session_with_its_summary(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    slow = Scenario()
    url = f"sqlite:///{tmp_path_factory.mktemp('camera-stop')}/history.sqlite3"
    for server in serve(Settings(database_url=url, video_speed=2.0), camera_source=slow.source):
        with connect(server.ws_url) as ws:
            receive(ws)
            send(ws, type="start", source="camera", technique="flexion-extension")
            seen = collect_until(ws, "camera", timeout_s=10.0)
            assert seen[-1]["step"] == "framing"
            send(ws, type="stop")
            summary = collect_until(ws, "summary", timeout_s=10.0)[-1]
            assert summary["result"]["reps"] == []
            assert summary["session_id"] is not None
            send(ws, type="pause")  # the connection survives, and no session runs now
            assert receive(ws)["code"] == "no-session"
        assert slow.made[-1].closed


@pytest.mark.parametrize(
    ("technique", "factory", "code", "words"),
    [
        ("pelvic-tilt", None, "not-coachable", "Use a motion sensor"),
        (
            "hip-hinge",
            lambda: CameraSource("video:/nonexistent/clip.mp4"),
            "camera-unavailable",
            r"spinecoach\[camera\]|no such video file",
        ),
    ],
)
def test_what_the_camera_cannot_do_is_refused_with_the_fix(
    tmp_path_factory: pytest.TempPathFactory,
    technique: str,
    factory: Callable[[], CameraSource] | None,
    code: str,
    words: str,
) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('camera-refused')}/history.sqlite3"
    for server in serve(Settings(database_url=url), camera_source=factory):
        with connect(server.ws_url) as ws:
            receive(ws)
            send(ws, type="start", source="camera", technique=technique)
            error = receive(ws)
            assert error["type"] == "error" and error["code"] == code
            assert re.search(words, error["message"])
            assert error["fix"]
            # The connection survives and a simulated session still starts.
            send(ws, type="start", source="sim", technique="hip-hinge", reps=1)
            assert receive(ws)["type"] == "state"
