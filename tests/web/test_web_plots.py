"""``GET /api/sessions/{id}/plot.png``: the stored session drawn as a PNG over real HTTP,
clear 404s, and the per-session LRU cache."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_client import LiveServer, collect_until, receive, send
from websockets.sync.client import connect

from spinecoach.exercises.engine import detect_exercise
from spinecoach.motion import MotionSettings, motion_process
from spinecoach.services.history import LOCAL_PERSON_NAME, History
from spinecoach.sim import simulate
from spinecoach.store import repository
from spinecoach.store.db import make_engine
from spinecoach.store.models import Person
from spinecoach.web import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height (px) from a PNG's IHDR chunk."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def finished_session(server: LiveServer) -> int:
    with connect(server.ws_url, max_size=None) as ws:
        receive(ws)
        send(ws, type="start", technique="pelvic-tilt", reps=2, pain_before_mm=20)
        messages = collect_until(ws, "summary", timeout_s=60.0)
    session_id = messages[-1]["session_id"]
    assert isinstance(session_id, int)
    return session_id


def test_session_plot_is_a_png_of_the_stored_session(
    live_server: LiveServer, _history_database: str
) -> None:
    session_id = finished_session(live_server)
    url = f"{live_server.http_url}/api/sessions/{session_id}/plot.png"
    response = httpx.get(url, timeout=60.0)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    width, height = png_size(response.content)
    assert width > 600 and height > 200
    again = httpx.get(url, timeout=10.0)  # from the cache: the same bytes
    assert again.status_code == 200 and again.content == response.content

    unknown = httpx.get(f"{live_server.http_url}/api/sessions/999999/plot.png", timeout=10.0)
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no session with id 999999 in this history"

    # A session without a recording, and another person's session, have no plot.
    engine = make_engine(_history_database)
    try:
        with Session(engine) as db:
            local = db.scalars(select(Person).where(Person.display_name == LOCAL_PERSON_NAME))
            person_id = local.one().id
            bare = repository.start_session(db, person_id, "pelvic-tilt").id
            stranger = repository.create_person(db, "Someone else")
            theirs = repository.start_session(db, stranger.id, "pelvic-tilt").id
            recording = repository.load_recording(db, session_id)
            repository.attach_recording(db, theirs, recording)
    finally:
        engine.dispose()
    no_recording = httpx.get(f"{live_server.http_url}/api/sessions/{bare}/plot.png", timeout=10.0)
    assert no_recording.status_code == 404
    assert no_recording.json()["detail"] == (
        f"session {bare} has no stored recording to plot (it was saved without one, or has "
        "not finished)"
    )
    other = httpx.get(f"{live_server.http_url}/api/sessions/{theirs}/plot.png", timeout=10.0)
    assert other.status_code == 404
    assert other.json()["detail"] == f"no session with id {theirs} in this history"
    # Pain for another person's session is answered as for one that does not exist:
    # the answer does not tell that it exists (issue 16).
    pain = {"vas_mm": 40, "context": "after"}
    for missing in (theirs, 999999):
        answer = httpx.post(
            f"{live_server.http_url}/api/sessions/{missing}/pain", json=pain, timeout=10.0
        )
        assert answer.status_code == 404
        assert answer.json()["detail"] == f"no session with id {missing}"
    not_a_number = httpx.get(f"{live_server.http_url}/api/sessions/x/plot.png", timeout=10.0)
    assert not_a_number.status_code == 422


def test_session_plots_cache_completed_sessions_only(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[int] = []

    def fake_render(engine: Any, person_id: int, session_id: int) -> tuple[bytes, bool]:
        drawn.append(session_id)
        return PNG_SIGNATURE + bytes([session_id]), session_id != 9  # 9 is still active

    monkeypatch.setattr(plots, "render_session_plot", fake_render)
    history: Any = SimpleNamespace(engine=None, person_id=1)
    cache = plots.SessionPlots(history, cache_size=2)

    async def run() -> list[bytes]:
        got = [await cache.png(s) for s in (1, 2, 1, 3, 2, 9, 9)]
        # Requests for one session at the same time draw it once.
        got += await asyncio.gather(cache.png(4), cache.png(4), cache.png(4))
        return got

    got = asyncio.run(run())
    assert [g[-1] for g in got] == [1, 2, 1, 3, 2, 9, 9, 4, 4, 4]
    # 1 and 2 cached; 3 evicts 2 (1 was used more recently); 9 is never cached.
    assert drawn == [1, 2, 3, 2, 9, 9, 4]


def test_session_plot_renders_from_the_database(tmp_path: Path) -> None:
    """The blocking renderer on its own: the stored result over the stored recording."""
    history = History.open(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    try:
        recording = simulate("pelvic-tilt", seed=2, reps=2, sets=1)
        frames, _info = motion_process(recording, MotionSettings(position="supine"))
        result = detect_exercise(
            frames, "pelvic-tilt", annotations=recording.events, calibrated_position="supine"
        )
        with Session(history.engine) as db:
            record = repository.start_session(db, history.person_id, "pelvic-tilt")
            repository.attach_recording(db, record.id, recording)
            repository.save_result(db, record.id, result)
            session_id = record.id
        png, cacheable = plots.render_session_plot(history.engine, history.person_id, session_id)
    finally:
        history.close()
    assert png.startswith(PNG_SIGNATURE) and cacheable


def test_session_plot_in_the_gauges_sign_and_the_persons_time(
    live_server: LiveServer, _history_database: str
) -> None:
    """The history plot shows the angle as the live gauge showed it (issue 15 item 4: a
    pelvic tilt's posterior tilt upwards, the gauge's words) and the title's time in the
    person's zone (``tz``); an unknown zone is refused naming the fix."""
    session_id = finished_session(live_server)
    engine = make_engine(_history_database)
    try:
        with Session(engine) as db:
            result = repository.load_result(db, session_id)
    finally:
        engine.dispose()
    gauge = result.info["gauge"]
    options = plots.gauge_plot_options(gauge)
    assert options == {"direction": -1.0, "label": gauge["label"]}  # pelvic tilt: upwards
    assert plots.gauge_plot_options(None) == {} and plots.gauge_plot_options({"x": 1}) == {}
    url = f"{live_server.http_url}/api/sessions/{session_id}/plot.png"
    utc = httpx.get(url, params={"tz": "UTC"}, timeout=60.0)
    far = httpx.get(url, params={"tz": "Pacific/Kiritimati"}, timeout=60.0)  # UTC+14
    assert utc.status_code == far.status_code == 200
    assert utc.content != far.content  # another time in the title
    unknown = httpx.get(url, params={"tz": "Mars/Olympus"}, timeout=10.0)
    assert unknown.status_code == 422 and "IANA" in unknown.json()["detail"]
