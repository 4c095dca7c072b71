"""The plan and progress API over real HTTP: 409 without a program, today's plan with
its suggestions and last decision, the chart data, a bad time zone named in the 422."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_client import LiveServer, serve

from spinecoach.program.redflags import default_red_flags
from spinecoach.store.db import make_engine
from spinecoach.store.models import ProgramEnrolment, RepRecord
from spinecoach.store.repository import add_pain, start_session
from spinecoach.web.settings import Settings

BASELINE: dict[str, Any] = {
    "vas_mm": 50,
    "psfs": [{"activity": "Putting on socks", "score": 4}],
    "doses_per_day": 2,
    "schedule": {"morning_time": "07:30"},
    "sensors": ["phone"],
}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'progress.sqlite3'}"


@pytest.fixture
def server(db_url: str) -> Iterator[LiveServer]:
    yield from serve(Settings(sim_speed=10_000.0, database_url=db_url))


def get(server: LiveServer, path: str) -> httpx.Response:
    return httpx.get(f"{server.http_url}{path}", timeout=10.0)


def post(server: LiveServer, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.http_url}{path}", json=body, timeout=10.0)


def add_session(db_url: str, before: float, after: float) -> None:
    engine = make_engine(db_url)
    try:
        with Session(engine) as db:
            when = datetime.now(UTC) + timedelta(seconds=1)
            record = start_session(db, 1, "hip-hinge", started_utc=when)
            with db.begin_nested():
                record.reps.append(
                    RepRecord(
                        technique="hip-hinge",
                        rep_index=0,
                        set_index=0,
                        start_s=0.0,
                        peak_s=1.0,
                        end_s=2.0,
                        range_deg=35.0,
                        hold_s=None,
                        quality=80,
                        reasons=[],
                        fault_names=[],
                        faults=[],
                        measures={},
                    )
                )
                record.status = "completed"
                record.ended_utc = when
            db.commit()
            add_pain(db, 1, before, "before", session_id=record.id)
            add_pain(db, 1, after, "after", session_id=record.id)
    finally:
        engine.dispose()


def test_no_program_is_409(server: LiveServer) -> None:
    for path in ("/api/program/today", "/api/program/progress"):
        response = get(server, path)
        assert response.status_code == 409
        assert "complete onboarding first" in response.json()["detail"]


def test_today_and_progress(server: LiveServer, db_url: str) -> None:
    flags = {f.id: False for f in default_red_flags()}
    assert post(server, "/api/program/onboarding", {"red_flags": flags, "baseline": BASELINE})
    assert post(server, "/api/program/checkin", {"vas_mm": 45, "doses_per_day": 1}).is_success
    today = get(server, "/api/program/today?tz=UTC").json()
    assert today["status"] == "active" and today["day"] == 1
    assert today["plan"]["level"] == 1
    assert today["plan"]["today"], "today's exercises are listed"
    assert today["last_decision"]["kind"] == "hold"
    assert today["last_decision"]["reasons"][0]["text"]
    assert "not a medical device" in today["disclaimer"]
    # Day 1 is still running: nothing has been missed, so no reminder nagging yet.
    assert "reminders" not in [s["kind"] for s in today["suggestions"]]

    add_session(db_url, 40, 48)
    data = get(server, "/api/program/progress?tz=UTC").json()
    assert data["baseline_vas_mm"] == 50.0
    assert data["mcid"]["line_mm"] == 35.0
    assert [m["vas_mm"] for m in data["morning_vas"]] == [45.0]
    assert data["medication"][0]["doses_per_day"] == 1
    assert data["adherence"][0]["day"] == 1
    [s] = data["sessions"]
    assert (s["vas_before_mm"], s["vas_after_mm"], s["mean_range_deg"]) == (40.0, 48.0, 35.0)
    assert data["psfs"][0]["week"] == 0
    assert data["today"]["plan"]["day"] == 1

    # Three days later with one session in all: the reminders suggestion, with why.
    engine = make_engine(db_url)
    try:
        with Session(engine) as db:
            enrolment = db.scalars(select(ProgramEnrolment)).one()
            enrolment.started_utc = enrolment.started_utc - timedelta(days=3)
            db.commit()
    finally:
        engine.dispose()
    later = get(server, "/api/program/today?tz=UTC").json()
    assert later["day"] == 4
    reminders = [s for s in later["suggestions"] if s["kind"] == "reminders"]
    assert reminders and "sessions done in days 1–3" in reminders[0]["why"]["text"]


def test_unknown_time_zone_is_422(server: LiveServer) -> None:
    response = get(server, "/api/program/today?tz=Mars/Olympus")
    assert response.status_code == 422
    assert "tz='Mars/Olympus' is not a known time zone" in response.json()["detail"]


def test_progress_page_and_script_are_served_without_the_network(server: LiveServer) -> None:
    page = get(server, "/progress")
    assert page.status_code == 200
    assert '<section id="view-progress" hidden>' in page.text
    assert '<script src="/static/progress.js" defer></script>' in page.text
    for asset in ("/static/progress.js", "/static/progress.css"):
        response = get(server, asset)
        assert response.status_code == 200
        assert "http://" not in response.text and "https://" not in response.text
