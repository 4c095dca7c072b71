"""Stops enforced by the server (issue 15 item 2), over real HTTP and a real WebSocket:
after a red flag or a jump in pain every session start is refused (the live socket's
``program-stopped`` error, ``start-check``'s 409, with the same words) and nothing is
stored, until a clinician's clearance is recorded; the status is the same from every
route in every state; a session whose pain jumped answers its advice at once; pain not
answered is stored as missing, never 0, and counts for nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_client import LiveServer, collect_until, receive, send, serve
from websockets.sync.client import connect

from spinecoach.program.redflags import default_red_flags
from spinecoach.services.program_status import CLEARANCE_FIX
from spinecoach.store.db import make_engine
from spinecoach.store.models import PainEntry, SessionRecord
from spinecoach.web.settings import Settings


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'stops.sqlite3'}"


@pytest.fixture
def server(db_url: str) -> Iterator[LiveServer]:
    yield from serve(Settings(sim_speed=10_000.0, database_url=db_url))


BASELINE: dict[str, Any] = {
    "vas_mm": 30,
    "psfs": [{"activity": "Putting on socks", "score": 4}],
    "doses_per_day": 1,
    "schedule": {"morning_time": "07:30", "work_start": "09:00", "work_end": "12:00"},
    "sensors": ["phone"],
}


def no_flags() -> dict[str, bool]:
    return {f.id: False for f in default_red_flags()}


def post(server: LiveServer, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.http_url}{path}", json=body, timeout=30.0)


def get(server: LiveServer, path: str) -> httpx.Response:
    return httpx.get(f"{server.http_url}{path}", timeout=30.0)


def onboard(server: LiveServer, flags: dict[str, bool] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"red_flags": flags or no_flags(), "baseline": BASELINE}
    response = post(server, "/api/program/onboarding", body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def stored_sessions(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with Session(engine) as db:
            return int(db.scalar(select(func.count()).select_from(SessionRecord)) or 0)
    finally:
        engine.dispose()


def after_pains(db_url: str) -> list[float]:
    engine = make_engine(db_url)
    try:
        with Session(engine) as db:
            query = select(PainEntry.vas_mm).where(PainEntry.context == "after")
            return [float(v) for v in db.scalars(query)]
    finally:
        engine.dispose()


def run_session(server: LiveServer, pain_before_mm: float | None = None) -> int:
    """A short simulated session over the live socket; its stored id."""
    with connect(server.ws_url, max_size=None) as ws:
        receive(ws)  # hello
        start: dict[str, Any] = {"technique": "pelvic-tilt", "source": "sim", "reps": 2}
        if pain_before_mm is not None:
            start["pain_before_mm"] = pain_before_mm
        send(ws, type="start", **start)
        messages = collect_until(ws, "summary", timeout_s=60.0)
    assert not [m for m in messages if m["type"] == "error"], messages
    session_id = messages[-1]["session_id"]
    assert isinstance(session_id, int)
    return session_id


def refused_start(server: LiveServer, db_url: str) -> dict[str, Any]:
    """A start on the live socket while stopped, from each kind of source (the simulator,
    the person's own sensors, the camera): the same error each time, and nothing stored."""
    before = stored_sessions(db_url)
    errors = []
    with connect(server.ws_url, max_size=None) as ws:
        receive(ws)  # hello
        for source in ("sim", "devices", "camera"):
            send(ws, type="start", technique="hip-hinge", source=source, reps=2)
            errors.append(receive(ws))
        # The connection survives, and nothing was started: a stop has no session.
        send(ws, type="stop")
        no_session = receive(ws)
    error = errors[0]
    assert error["type"] == "error" and error["code"] == "program-stopped", error
    assert all(other == error for other in errors[1:]), errors
    assert no_session["type"] == "error" and no_session["code"] == "no-session"
    assert stored_sessions(db_url) == before
    return error


def statuses(server: LiveServer) -> list[dict[str, Any]]:
    """The program status from every route that reports it."""
    status = get(server, "/api/program/status").json()
    today = get(server, "/api/program/today").json()
    progress = get(server, "/api/program/progress").json()
    for data in (status, today, progress, progress["today"]):
        assert data["status"] == data["program_status"]["status"]
    return [
        status["program_status"],
        today["program_status"],
        progress["program_status"],
        progress["today"]["program_status"],
    ]


def assert_one_status(server: LiveServer) -> dict[str, Any]:
    first, *others = statuses(server)
    assert all(other == first for other in others), (first, others)
    check = get(server, "/api/program/start-check")
    if first["sessions_allowed"]:
        assert check.status_code == 200 and check.json() == first
    else:
        assert check.status_code == 409 and check.json()["detail"]["program_status"] == first
    return first


def test_a_pain_jump_answers_its_advice_stops_every_start_until_cleared(
    server: LiveServer, db_url: str
) -> None:
    onboard(server)
    active = assert_one_status(server)
    assert active["status"] == "active" and active["sessions_allowed"] is True
    assert active["problem"] is None and active["needs_clearance"] is False

    session_id = run_session(server, pain_before_mm=20)
    pain = post(server, f"/api/sessions/{session_id}/pain", {"vas_mm": 75, "context": "after"})
    assert pain.status_code == 201, pain.text
    answer = pain.json()
    # The advice at once, in the pain route's answer (the page shows it, not "Saved").
    assert answer["stored"] is True and answer["vas_mm"] == 75
    advice = answer["advice"]
    assert advice["code"] == "pain-jump"
    assert advice["text"].startswith("Your pain rose 55 mm during this session (20 → 75 mm)")
    assert "talk to your doctor or physiotherapist" in advice["text"]
    assert advice["data"] == {
        "vas_before_mm": 20.0,
        "vas_after_mm": 75.0,
        "rise_mm": 55.0,
        "limit_mm": 30.0,
    }
    # The stop is stored at once: the status says so without asking /today first.
    stopped = answer["program_status"]
    assert stopped["status"] == "stopped" and stopped["stopped_by"] == "pain-jump"
    assert stopped["cause"] == "your pain jumped" and stopped["needs_clearance"] is True
    assert stopped["sessions_allowed"] is False
    assert "(20 → 75 mm)" in stopped["reasons"][0]
    assert stopped["problem"].startswith("Your exercise program is stopped because your pain")
    assert stopped["what_to_do"] == CLEARANCE_FIX
    assert get(server, "/api/program/status").json()["program_status"] == stopped
    assert assert_one_status(server) == stopped
    # The session itself carries the advice in the history.
    [listed] = [s for s in get(server, "/api/sessions").json() if s["id"] == session_id]
    assert listed["advice"] == advice and listed["pain_after_mm"] == 75.0

    # Every start path refuses, with the same words.
    error = refused_start(server, db_url)
    assert error["message"] == stopped["problem"] and error["fix"] == stopped["what_to_do"]
    check = get(server, "/api/program/start-check")
    assert check.status_code == 409
    assert check.json()["detail"]["code"] == "program-stopped"
    assert check.json()["detail"]["problem"] == error["message"]
    assert check.json()["detail"]["fix"] == error["fix"]

    # The clinician's clearance lifts it; starting works again.
    cleared = post(
        server, "/api/program/clearance", {"cleared_by": "Dr Lee, GP", "note": "seen today"}
    )
    assert cleared.status_code == 201, cleared.text
    after = cleared.json()
    assert after["status"] == "stopped" and after["sessions_allowed"] is True
    assert after["needs_clearance"] is False and after["problem"] is None
    assert after["clearance"]["cleared_by"] == "Dr Lee, GP"
    assert after["clearance"]["note"] == "seen today"
    assert after["what_to_do"].startswith("Dr Lee, GP cleared you to exercise")
    assert assert_one_status(server) == after
    run_session(server)
    # A second clearance of the same stop is refused; nothing to clear is a 409 too.
    again = post(server, "/api/program/clearance", {"cleared_by": "Dr Lee, GP", "note": ""})
    assert again.status_code == 409 and "already cleared by Dr Lee, GP" in again.json()["detail"]
    # A new program starts without asking for the clearance again.
    restarted = onboard(server)
    assert restarted["status"] == "active" and restarted["program_status"]["sessions_allowed"]


def test_a_red_flag_at_onboarding_refuses_every_start_until_cleared(
    server: LiveServer, db_url: str
) -> None:
    assert get(server, "/api/program/start-check").status_code == 200  # no program: free
    flagged = onboard(server, {**no_flags(), "leg-weakness": True})
    assert flagged["status"] == "stopped"
    status = get(server, "/api/program/status").json()
    stopped = status["program_status"]
    assert stopped == flagged["program_status"]
    assert stopped["stopped_by"] == "red-flag" and stopped["urgency"] == "emergency"
    assert stopped["cause"] == "of a warning sign you reported"
    assert stopped["advice"].startswith("Please do not start the exercise program.")
    assert stopped["problem"] == (
        f"Your exercise program is stopped because of a warning sign you reported. "
        f"{stopped['advice']}"
    )
    assert status["needs_clearance"] is True and status["stopped_by"] == "red-flag"
    # The program was stopped before it had a baseline: today and progress say the stop.
    for route in ("/api/program/today", "/api/program/progress"):
        response = get(server, route)
        assert response.status_code == 409
        assert response.json()["detail"] == f"{stopped['problem']} {stopped['what_to_do']}"
    error = refused_start(server, db_url)
    assert error["message"] == stopped["problem"] and error["fix"] == CLEARANCE_FIX
    assert get(server, "/api/program/start-check").json()["detail"]["problem"] == error["message"]

    cleared = post(server, "/api/program/clearance", {"cleared_by": "A&E, Dr Okafor", "note": ""})
    assert cleared.status_code == 201 and cleared.json()["sessions_allowed"] is True
    assert get(server, "/api/program/status").json()["program_status"] == cleared.json()
    assert get(server, "/api/program/start-check").status_code == 200
    run_session(server)


def test_a_red_flag_mid_program_refuses_starts_and_every_route_agrees(
    server: LiveServer, db_url: str
) -> None:
    onboard(server)
    rescreen = post(
        server, "/api/program/screening", {"red_flags": {**no_flags(), "fever-unwell": True}}
    )
    assert rescreen.status_code == 201 and rescreen.json()["program_stopped"] is True
    stopped = assert_one_status(server)
    assert stopped["status"] == "stopped" and stopped["stopped_by"] == "red-flag"
    assert stopped["advice"] == rescreen.json()["advice"]
    refused_start(server, db_url)
    post(server, "/api/program/clearance", {"cleared_by": "Dr Lee", "note": "no infection"})
    assert assert_one_status(server)["sessions_allowed"] is True
    run_session(server)


def test_clearance_without_a_stop_is_409_and_a_free_session_runs(
    server: LiveServer, db_url: str
) -> None:
    nothing = post(server, "/api/program/clearance", {"cleared_by": "Dr Lee", "note": ""})
    assert nothing.status_code == 409
    assert nothing.json()["detail"].startswith("clearance: there is no stopped program to clear")
    empty = post(server, "/api/program/clearance", {"cleared_by": "", "note": ""})
    assert empty.status_code == 422 and empty.json()["detail"][0]["loc"][-1] == "cleared_by"
    # No program at all: free sessions run, and a jump in pain still answers the advice
    # (no program to stop: sessions stay allowed).
    session_id = run_session(server, pain_before_mm=10)
    answer = post(server, f"/api/sessions/{session_id}/pain", {"vas_mm": 45}).json()
    assert answer["advice"]["code"] == "pain-jump"
    assert answer["program_status"]["status"] is None
    assert answer["program_status"]["sessions_allowed"] is True
    run_session(server)
    assert stored_sessions(db_url) == 2


def test_pain_not_answered_is_missing_never_zero_and_counts_for_nothing(
    server: LiveServer, db_url: str
) -> None:
    onboard(server)
    session_id = run_session(server, pain_before_mm=30)
    skipped = post(server, f"/api/sessions/{session_id}/pain", {"vas_mm": None, "context": "after"})
    assert skipped.status_code == 201
    assert skipped.json()["stored"] is False and skipped.json()["vas_mm"] is None
    assert skipped.json()["advice"] is None
    absent = post(server, f"/api/sessions/{session_id}/pain", {"context": "after"})
    assert absent.status_code == 201 and absent.json()["stored"] is False
    assert after_pains(db_url) == []  # nothing stored: missing, not 0
    [listed] = [s for s in get(server, "/api/sessions").json() if s["id"] == session_id]
    assert listed["pain_before_mm"] == 30.0 and listed["pain_after_mm"] is None
    # The program: the session cannot be judged by the pain rules (unrated), its pain
    # after is missing in the chart data, and no pain change is counted from it.
    today = get(server, "/api/program/today").json()
    assert session_id in today["unrated_sessions"]
    progress = get(server, "/api/program/progress").json()
    [row] = [s for s in progress["sessions"] if s["id"] == session_id]
    assert row["vas_before_mm"] == 30.0 and row["vas_after_mm"] is None
    assert progress["pain_outcome"]["change_mm"] is None
    cited = " ".join(r["text"] for r in today["decision"]["reasons"])
    assert "30 → 0" not in cited and "→ 0 mm" not in cited
    # An unknown session is a 404 with or without a rating.
    assert post(server, "/api/sessions/9999/pain", {"vas_mm": None}).status_code == 404
    assert post(server, "/api/sessions/9999/pain", {"vas_mm": 10}).status_code == 404
