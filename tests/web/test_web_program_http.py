"""The program API over real HTTP: onboarding with and without a red flag, 422 messages
naming the field, tracking, status and the calendar."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_client import LiveServer, serve

from spinecoach.program.redflags import default_red_flags
from spinecoach.store.db import make_engine
from spinecoach.store.models import PainEntry, ProgramEnrolment, RedFlagScreening
from spinecoach.web.settings import Settings


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'program.sqlite3'}"


@pytest.fixture
def server(db_url: str) -> Iterator[LiveServer]:
    yield from serve(Settings(sim_speed=10_000.0, database_url=db_url))


def no_flags() -> dict[str, bool]:
    return {f.id: False for f in default_red_flags()}


BASELINE: dict[str, Any] = {
    "vas_mm": 62,
    "psfs": [{"activity": "Putting on socks", "score": 4}, {"activity": "Gardening", "score": 2}],
    "doses_per_day": 2,
    "schedule": {"morning_time": "07:30", "work_start": "09:00", "work_end": "12:00"},
    "sensors": ["phone"],
}


def post(server: LiveServer, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.http_url}{path}", json=body, timeout=10.0)


def get(server: LiveServer, path: str) -> httpx.Response:
    return httpx.get(f"{server.http_url}{path}", timeout=10.0)


def test_red_flag_stops_and_is_recorded(server: LiveServer, db_url: str) -> None:
    questions = get(server, "/api/program/red-flags").json()
    assert [q["id"] for q in questions["questions"]] == list(no_flags())
    assert "not a medical device" in questions["disclaimer"]
    answers = {**no_flags(), "leg-weakness": True}
    response = post(server, "/api/program/onboarding", {"red_flags": answers})
    assert response.status_code == 201
    data = response.json()
    assert data["status"] == "stopped" and data["enrolled"] is False
    assert data["screening"]["stop"] is True and data["screening"]["recorded"] is True
    assert data["screening"]["urgency"] == "emergency"
    assert data["screening"]["advice"].startswith("Please do not start the exercise program.")
    assert data["screening"]["reasons"] == [default_red_flags()[1].reason]
    assert get(server, "/api/program/status").json()["status"] == "stopped"
    engine = make_engine(db_url)
    try:
        with Session(engine) as db:
            [screening] = db.scalars(select(RedFlagScreening)).all()
            assert screening.result == "stop" and screening.flagged == ["leg-weakness"]
            [enrolment] = db.scalars(select(ProgramEnrolment)).all()
            assert enrolment.status == "stopped" and "leg-weakness" in enrolment.stop_reason
    finally:
        engine.dispose()
    # Tracking and the calendar need an active program.
    checkin = post(server, "/api/program/checkin", {"vas_mm": 10, "doses_per_day": 0})
    assert checkin.status_code == 409 and "no active program" in checkin.json()["detail"]
    assert get(server, "/api/program/calendar.ics").status_code == 409


def test_onboarding_tracking_and_calendar(server: LiveServer, db_url: str) -> None:
    assert get(server, "/api/program/status").json() == {"enrolled": False, "status": None}
    response = post(
        server, "/api/program/onboarding", {"red_flags": no_flags(), "baseline": BASELINE}
    )
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["status"] == "active" and data["week"] == 1 and data["weeks"] == 6
    assert data["psfs_activities"] == ["Putting on socks", "Gardening"]
    assert data["reminders"] == [
        {"kind": "morning", "time": "07:30", "days": "daily"},
        {"kind": "desk-break", "time": "09:50", "days": "weekdays"},
        {"kind": "desk-break", "time": "10:40", "days": "weekdays"},
        {"kind": "desk-break", "time": "11:30", "days": "weekdays"},
    ]
    again = post(server, "/api/program/onboarding", {"red_flags": no_flags(), "baseline": BASELINE})
    assert again.status_code == 409 and "already has an active program" in again.json()["detail"]

    checkin = post(
        server,
        "/api/program/checkin",
        {"vas_mm": 55.5, "doses_per_day": 1, "note": "stiff", "day": "2026-03-03"},
    )
    assert checkin.status_code == 201
    assert checkin.json() == {
        "vas_mm": 55.5,
        "context": "morning",
        "doses_per_day": 1,
        "day": "2026-03-03",
        "note": "stiff",
    }
    psfs = post(
        server,
        "/api/program/psfs",
        {
            "scores": [
                {"activity": "Gardening", "score": 3},
                {"activity": "Putting on socks", "score": 5},
            ]
        },
    )
    assert psfs.status_code == 201
    assert psfs.json()["scores"] == [
        {"activity": "Putting on socks", "score": 5},
        {"activity": "Gardening", "score": 3},
    ]
    wrong = post(server, "/api/program/psfs", {"scores": [{"activity": "Running", "score": 3}]})
    assert (
        wrong.status_code == 422 and "not chosen at onboarding: 'Running'" in wrong.json()["detail"]
    )

    ics = get(server, "/api/program/calendar.ics?start=2026-03-02")
    assert ics.status_code == 200
    assert ics.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "attachment" in ics.headers["content-disposition"]
    assert ics.content.startswith(b"BEGIN:VCALENDAR\r\n")
    assert b"DTSTART:20260302T073000\r\n" in ics.content
    assert ics.content.count(b"BEGIN:VALARM") == 4

    rescreen = post(
        server, "/api/program/screening", {"red_flags": {**no_flags(), "night-pain": True}}
    )
    assert rescreen.status_code == 201 and rescreen.json()["urgency"] == "soon"
    assert get(server, "/api/program/status").json()["status"] == "stopped"
    engine = make_engine(db_url)
    try:
        with Session(engine) as db:
            assert db.scalars(select(PainEntry.context)).all() == ["morning"]
    finally:
        engine.dispose()


def field_errors(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(".".join(str(p) for p in e["loc"][1:]), e["msg"]) for e in response.json()["detail"]]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"vas_mm": 101}, ("baseline.vas_mm", "Input should be less than or equal to 100")),
        ({"vas_mm": -0.5}, ("baseline.vas_mm", "Input should be greater than or equal to 0")),
        (
            {"doses_per_day": 25},
            ("baseline.doses_per_day", "Input should be less than or equal to 24"),
        ),
        (
            {"psfs": [{"activity": "Socks", "score": 11}]},
            ("baseline.psfs.0.score", "Input should be less than or equal to 10"),
        ),
        (
            {"psfs": [{"activity": f"a{i}", "score": 1} for i in range(4)]},
            ("baseline.psfs", "List should have at most 3 items after validation, not 4"),
        ),
        (
            {"schedule": {"morning_time": "7.30"}},
            (
                "baseline.schedule.morning_time",
                "String should match pattern '^([01][0-9]|2[0-3]):[0-5][0-9]$'",
            ),
        ),
        (
            {"sensors": ["watch"]},
            ("baseline.sensors.0", "Input should be 'phone', 'wearable' or 'camera'"),
        ),
        ({"mood": "ok"}, ("baseline.mood", "Extra inputs are not permitted")),
    ],
)
def test_out_of_range_baseline_is_a_422_naming_the_field(
    server: LiveServer, change: dict[str, Any], expected: tuple[str, str]
) -> None:
    body = {"red_flags": no_flags(), "baseline": BASELINE | change}
    assert expected in field_errors(post(server, "/api/program/onboarding", body))
    assert get(server, "/api/program/status").json()["status"] is None  # nothing stored


def test_cross_field_and_screening_errors_are_422(server: LiveServer) -> None:
    short_day = BASELINE | {
        "schedule": {"morning_time": "07:00", "work_start": "09:00", "work_end": "09:30"}
    }
    response = post(
        server, "/api/program/onboarding", {"red_flags": no_flags(), "baseline": short_day}
    )
    assert response.status_code == 422
    assert (
        response.json()["detail"]
        == "work_end=09:30 must be at least 1 hour after work_start=09:00 on the same day"
    )
    missing = post(
        server,
        "/api/program/onboarding",
        {"red_flags": {"fever-unwell": False}, "baseline": BASELINE},
    )
    assert (
        missing.status_code == 422
        and "unanswered: saddle-bladder-bowel" in missing.json()["detail"]
    )
    no_baseline = post(server, "/api/program/onboarding", {"red_flags": no_flags()})
    assert no_baseline.status_code == 422
    assert no_baseline.json()["detail"].startswith("baseline: no red flag was reported")
    assert get(server, "/api/program/status").json()["status"] is None


def test_tracking_422_messages(server: LiveServer) -> None:
    assert (
        post(
            server, "/api/program/onboarding", {"red_flags": no_flags(), "baseline": BASELINE}
        ).status_code
        == 201
    )
    assert ("vas_mm", "Input should be less than or equal to 100") in field_errors(
        post(server, "/api/program/checkin", {"vas_mm": 150, "doses_per_day": 0})
    )
    assert ("doses_per_day", "Input should be greater than or equal to 0") in field_errors(
        post(server, "/api/program/checkin", {"vas_mm": 10, "doses_per_day": -1})
    )
    assert ("scores.0.score", "Input should be greater than or equal to 0") in field_errors(
        post(server, "/api/program/psfs", {"scores": [{"activity": "Gardening", "score": -2}]})
    )


@pytest.mark.parametrize("path", ["/onboarding", "/checkin", "/psfs", "/program"])
def test_program_pages_are_the_app(server: LiveServer, path: str) -> None:
    page = get(server, path)
    assert page.status_code == 200 and 'id="view-onboard-redflags"' in page.text
    assert '<script src="/static/program.js" defer></script>' in page.text
    assert get(server, "/static/program.js").status_code == 200
