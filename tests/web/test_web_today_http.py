"""Today's plan over real HTTP and its ``start`` over the live WebSocket (issue 15 item 1):
the plan gives the level's dose, a session started with that payload coaches and
simulates that dose (the ``state`` message's targets, the reps and holds done) and is
stored with its slot and dose, and the plan then counts it as done in its slot."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session
from web_client import LiveServer, collect_until, receive, send, serve
from websockets.sync.client import connect

from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.program.protocol import default_protocol
from spinecoach.program.redflags import default_red_flags
from spinecoach.store.db import make_engine
from spinecoach.store.models import SessionRecord
from spinecoach.web.settings import Settings

BASELINE: dict[str, Any] = {
    "vas_mm": 40,
    "psfs": [{"activity": "Putting on socks", "score": 4}],
    "doses_per_day": 1,
    "schedule": {"morning_time": "07:30", "work_start": "09:00", "work_end": "17:00"},
    "sensors": ["phone"],
}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'today.sqlite3'}"


@pytest.fixture
def server(db_url: str) -> Iterator[LiveServer]:
    yield from serve(Settings(sim_speed=10_000.0, database_url=db_url))


def today(server: LiveServer) -> dict[str, Any]:
    response = httpx.get(f"{server.http_url}/api/program/today?tz=UTC", timeout=30.0)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def technique_in(plan: dict[str, Any], technique: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(its slot, its entry) of the first place of ``technique`` in today's slots."""
    for slot in plan["slots"]:
        for entry in slot["techniques"]:
            if entry["technique"] == technique:
                return slot, entry
    raise AssertionError(f"{technique} is not in today's slots: {plan['slots']}")


def test_todays_start_carries_the_prescribed_dose_into_the_session(
    server: LiveServer, db_url: str
) -> None:
    flags = {f.id: False for f in default_red_flags()}
    started = httpx.post(
        f"{server.http_url}/api/program/onboarding",
        json={"red_flags": flags, "baseline": BASELINE},
        timeout=30.0,
    )
    assert started.status_code == 201, started.text
    plan = today(server)
    level = default_protocol().level(plan["plan"]["level"])
    assert plan["plan"]["main_session_today"] is True  # program day 1 has a main session
    main, entry = technique_in(plan, "flexion-extension")
    rx = level.exercise("flexion-extension")
    catalogue = default_catalogue().technique("flexion-extension").dose
    dose = {"reps": rx.reps, "sets": rx.sets, "hold_s": rx.hold_s, "tempo_s": catalogue.move_s}
    assert main["slot"] == "main" and entry["done"] is False
    assert entry["dose"] == dose
    assert entry["start"] == {
        "type": "start",
        "technique": "flexion-extension",
        "dose": dose,
        "slot": "main",
    }
    # The level's hold differs from the catalogue's, so the session shows which it uses.
    assert rx.hold_s != catalogue.hold_s

    with connect(server.ws_url, max_size=None) as ws:
        receive(ws)
        send(ws, **entry["start"], source="sim", seed=4, pain_before_mm=30)
        messages = collect_until(ws, "summary", timeout_s=120.0)
    states = [m for m in messages if m["type"] == "state"]
    assert states, "no state message"
    for state in states:
        assert state["targets"] == {"reps": rx.reps, "sets": rx.sets, "hold_s": rx.hold_s}
    summary = next(m for m in messages if m["type"] == "summary")
    reps = summary["result"]["reps"]
    # The simulated person did the prescribed reps and held the prescribed hold, not the
    # catalogue's 5 s (a held hold lasts 102-120 % of the one asked; short ones less).
    assert len(reps) == rx.reps * rx.sets
    holds = [float(r["hold_s"]) for r in reps if r.get("hold_s") is not None]
    assert holds and statistics.median(holds) < 0.5 * (rx.hold_s + catalogue.hold_s)
    assert statistics.median(holds) > 0.8 * rx.hold_s
    session_id = summary["session_id"]
    assert isinstance(session_id, int)

    engine = make_engine(db_url)
    try:
        with Session(engine) as db:
            record = db.get(SessionRecord, session_id)
            assert record is not None and record.technique == "flexion-extension"
            assert record.live_config["dose"] == dose
            assert record.live_config["slot"] == "main"
    finally:
        engine.dispose()

    after = today(server)
    main_after, entry_after = technique_in(after, "flexion-extension")
    assert entry_after["done"] is True and entry_after["session_ids"] == [session_id]
    # The main session asks for the hip-hinge too: not done by this session.
    assert main_after["done"] is False
    _, hinge = technique_in(after, "hip-hinge")
    assert hinge["done"] is False and hinge["session_ids"] == []
    assert after["slots_done"]["main"] == {"done": 0, "prescribed": 1}


def test_a_start_without_a_dose_keeps_the_techniques_own(server: LiveServer) -> None:
    catalogue = default_catalogue().technique("pelvic-tilt").dose
    with connect(server.ws_url, max_size=None) as ws:
        receive(ws)
        send(ws, type="start", technique="pelvic-tilt", source="sim", seed=1, reps=2)
        state = next(m for m in collect_until(ws, "state") if m["type"] == "state")
        send(ws, type="stop")
        collect_until(ws, "summary", timeout_s=60.0)
    assert state["targets"] == {
        "reps": catalogue.reps,
        "sets": catalogue.sets,
        "hold_s": catalogue.hold_s,
    }


def test_a_dose_out_of_range_is_refused_naming_the_field(server: LiveServer) -> None:
    with connect(server.ws_url, max_size=None) as ws:
        receive(ws)
        send(
            ws,
            type="start",
            technique="pelvic-tilt",
            source="sim",
            dose={"reps": 0, "sets": 1, "hold_s": 3.0, "tempo_s": None},
        )
        error = receive(ws)
    assert error["type"] == "error"
    assert "dose" in str(error) and "reps" in str(error)


def test_a_session_stopped_before_its_reps_keeps_its_targets(server: LiveServer) -> None:
    """History tells 'stopped early (n of m reps)' from 'completed' (issue 15 item 10):
    the stored summary keeps the dose the session was coached to next to its rep count."""
    dose = {"reps": 6, "sets": 2, "hold_s": 3.0, "tempo_s": None}
    with connect(server.ws_url, max_size=None) as ws:
        receive(ws)
        send(ws, type="start", technique="pelvic-tilt", source="sim", seed=2, dose=dose)
        collect_until(ws, "rep", timeout_s=120.0)
        send(ws, type="stop")
        messages = collect_until(ws, "summary", timeout_s=60.0)
    summary = next(m for m in messages if m["type"] == "summary")
    session_id = summary["session_id"]
    sessions = httpx.get(f"{server.http_url}/api/sessions", timeout=30.0).json()
    stored = next(s for s in sessions if s["id"] == session_id)
    assert stored["summary"]["targets"] == {"reps": 6, "sets": 2}
    assert 1 <= stored["summary"]["reps"] < 12
