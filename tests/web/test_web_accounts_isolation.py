"""Two signed-in persons on one server see only their own data (issue 16), over real HTTP:
the app-wide caches are per person — a session plot drawn for A is never served to B
(the plot cache was keyed by session id alone and its renderer bound to the first
request's person), and the progress service answers for the request's person (it was
made once, for whoever asked first)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session
from web_client import LiveServer, serve

from spinecoach.exercises.engine import detect_exercise
from spinecoach.motion import MotionSettings, motion_process
from spinecoach.program.redflags import default_red_flags
from spinecoach.services import accounts
from spinecoach.sim import simulate
from spinecoach.store import repository
from spinecoach.store.db import make_engine
from spinecoach.web.settings import Settings

BASELINE = {
    "vas_mm": 42,
    "doses_per_day": 1,
    "psfs": [{"activity": "sitting at my desk", "score": 5}],
    "schedule": {"morning_time": "07:30"},
    "sensors": [],
}


@pytest.fixture(scope="module")
def server(_history_database: str) -> Iterator[LiveServer]:
    yield from serve(Settings(auth="accounts", sim_speed=10_000.0))


def client(server: LiveServer, name: str) -> httpx.Client:
    made = httpx.Client(base_url=server.http_url, timeout=30.0)
    response = made.post("/api/auth/login", json={"username": name, "password": f"{name} pw 123"})
    assert response.status_code == 200, response.text
    return made


@pytest.fixture(scope="module")
def people(
    server: LiveServer, _history_database: str
) -> Iterator[dict[str, tuple[httpx.Client, int]]]:
    engine = make_engine(os.environ.get("SPINECOACH_DATABASE_URL", _history_database))
    try:
        ids = {}
        for name in ("ann", "ben"):
            ids[name] = accounts.add_user(engine, name, f"{name} pw 123", "person").person_id
        recording = simulate("pelvic-tilt", seed=2, reps=2, sets=1)
        frames, _info = motion_process(recording, MotionSettings(position="supine"))
        result = detect_exercise(
            frames, "pelvic-tilt", annotations=recording.events, calibrated_position="supine"
        )
        with Session(engine) as db:
            record = repository.start_session(db, ids["ann"], "pelvic-tilt")
            repository.attach_recording(db, record.id, recording)
            repository.save_result(db, record.id, result)
            ids["ann_session"] = record.id
    finally:
        engine.dispose()
    made = {
        "ann": (client(server, "ann"), ids["ann_session"]),
        "ben": (client(server, "ben"), ids["ben"] or 0),
    }
    yield made
    for session, _ in made.values():
        session.close()


def test_a_plot_drawn_for_one_person_is_never_served_to_another(
    people: dict[str, tuple[httpx.Client, int]],
) -> None:
    ann, session_id = people["ann"]
    ben, _ = people["ben"]
    first = ann.get(f"/api/sessions/{session_id}/plot.png")
    assert first.status_code == 200 and first.content.startswith(b"\x89PNG")
    again = ann.get(f"/api/sessions/{session_id}/plot.png")  # now cached
    assert again.content == first.content
    stolen = ben.get(f"/api/sessions/{session_id}/plot.png")
    assert stolen.status_code == 404, stolen.status_code
    assert b"PNG" not in stolen.content
    assert [s["id"] for s in ann.get("/api/sessions").json()] == [session_id]
    assert ben.get("/api/sessions").json() == []


def test_progress_answers_for_the_person_who_asks(
    people: dict[str, tuple[httpx.Client, int]],
) -> None:
    ann, _ = people["ann"]
    ben, _ = people["ben"]
    assert ben.get("/api/program/progress").status_code == 409  # Ben has no program
    body = {"red_flags": {f.id: False for f in default_red_flags()}, "baseline": BASELINE}
    assert ann.post("/api/program/onboarding", json=body).status_code == 201
    assert ann.get("/api/program/progress").status_code == 200
    # Asked first by Ann, the service must still answer for Ben: he has no program.
    answer = ben.get("/api/program/progress")
    assert answer.status_code == 409, answer.text
    assert ben.get("/api/program/today").status_code == 409
    assert ben.get("/api/program/status").json()["enrolled"] is False
    assert ann.get("/api/program/status").json()["enrolled"] is True
