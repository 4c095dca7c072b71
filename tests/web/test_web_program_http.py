"""The program API over real HTTP: onboarding with and without a red flag, 422 messages
naming the field, tracking, status and the calendar; a jump in pain stops the program and
a restart then needs the clinician's clearance."""

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

from spinecoach.program.onboarding import server_today
from spinecoach.program.redflags import default_red_flags
from spinecoach.store.db import make_engine
from spinecoach.store.models import (
    MedicationEntry,
    PainEntry,
    ProgramDecision,
    ProgramEnrolment,
    PsfsEntry,
    RedFlagScreening,
)
from spinecoach.store.repository import add_pain, start_session
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
    # Mid-program, the reply says to stop the program (not "do not start").
    assert rescreen.json()["advice"].startswith(
        "Please stop the exercise program for now. Book an appointment with your doctor"
    )
    assert rescreen.json()["program_stopped"] is True
    status = get(server, "/api/program/status").json()
    assert status["status"] == "stopped" and status["reminders"] == []
    assert status["stop_advice"] == rescreen.json()["advice"]
    assert status["stop_urgency"] == "soon" and status["stop_reasons"] == rescreen.json()["reasons"]
    engine = make_engine(db_url)
    try:
        with Session(engine) as db:
            assert db.scalars(select(PainEntry.context)).all() == ["morning"]
    finally:
        engine.dispose()


VAS_FIX = (
    "is outside the 0–100 mm visual analogue scale: give a pain rating from 0 (no pain) to "
    "100 (worst imaginable pain)"
)


def field_errors(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(".".join(str(p) for p in e["loc"][1:]), e["msg"]) for e in response.json()["detail"]]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"vas_mm": 101}, ("baseline.vas_mm", "vas_mm=101 " + VAS_FIX)),
        ({"vas_mm": -0.5}, ("baseline.vas_mm", "vas_mm=-0.5 " + VAS_FIX)),
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
    assert ("vas_mm", "vas_mm=150 " + VAS_FIX) in field_errors(
        post(server, "/api/program/checkin", {"vas_mm": 150, "doses_per_day": 0})
    )
    assert ("doses_per_day", "Input should be greater than or equal to 0") in field_errors(
        post(server, "/api/program/checkin", {"vas_mm": 10, "doses_per_day": -1})
    )
    assert ("scores.0.score", "Input should be greater than or equal to 0") in field_errors(
        post(server, "/api/program/psfs", {"scores": [{"activity": "Gardening", "score": -2}]})
    )


def tracking_rows(db_url: str) -> dict[str, int]:
    """How many tracking rows are stored: morning pain, medication, weekly PSFS."""
    engine = make_engine(db_url)
    try:
        with Session(engine) as db:
            return {
                "morning": len(
                    db.scalars(select(PainEntry).where(PainEntry.context == "morning")).all()
                ),
                "medication": len(db.scalars(select(MedicationEntry)).all()),
                "weekly": len(
                    db.scalars(select(PsfsEntry).where(PsfsEntry.context == "weekly")).all()
                ),
            }
    finally:
        engine.dispose()


def test_bad_tracking_input_is_refused_and_nothing_is_stored(
    server: LiveServer, db_url: str
) -> None:
    assert (
        post(
            server, "/api/program/onboarding", {"red_flags": no_flags(), "baseline": BASELINE}
        ).status_code
        == 201
    )
    nothing = {"morning": 0, "medication": 0, "weekly": 0}
    today = server_today()
    tomorrow = today + timedelta(days=1)
    for day in ("2099-01-01", tomorrow.isoformat()):
        response = post(
            server, "/api/program/checkin", {"vas_mm": 20, "doses_per_day": 1, "day": day}
        )
        assert (
            "day",
            f"day={day} is in the future (today is {today.isoformat()} on this "
            "server's calendar): give today's date or an earlier day (YYYY-MM-DD); "
            "nothing was saved",
        ) in field_errors(response)
    assert tracking_rows(db_url) == nothing
    # The weekly PSFS takes no day (it is recorded now): a day is refused, as is an empty list.
    dated = post(
        server,
        "/api/program/psfs",
        {"day": "2099-01-01", "scores": [{"activity": "Gardening", "score": 3}]},
    )
    assert ("day", "Extra inputs are not permitted") in field_errors(dated)
    empty = post(server, "/api/program/psfs", {"scores": []})
    assert empty.status_code == 422
    assert empty.json()["detail"] == (
        "scores: rate each activity chosen at onboarding once (missing: 'Putting on socks', "
        "'Gardening')"
    )
    # VAS 150 on the check-in.
    assert ("vas_mm", "vas_mm=150 " + VAS_FIX) in field_errors(
        post(
            server,
            "/api/program/checkin",
            {"vas_mm": 150, "doses_per_day": 0, "day": today.isoformat()},
        )
    )
    assert tracking_rows(db_url) == nothing
    # Today is accepted (the default day is today too).
    ok = post(
        server, "/api/program/checkin", {"vas_mm": 20, "doses_per_day": 1, "day": today.isoformat()}
    )
    assert ok.status_code == 201 and ok.json()["day"] == today.isoformat()
    assert (
        post(server, "/api/program/checkin", {"vas_mm": 25, "doses_per_day": 0}).json()["day"]
        == today.isoformat()
    )
    assert tracking_rows(db_url) == {"morning": 2, "medication": 1, "weekly": 0}


def test_rescreen_mid_program_emergency_stops_with_urgent_advice(
    server: LiveServer, db_url: str
) -> None:
    post(server, "/api/program/onboarding", {"red_flags": no_flags(), "baseline": BASELINE})
    clear = post(server, "/api/program/screening", {"red_flags": no_flags()})
    assert clear.status_code == 201
    assert clear.json()["stop"] is False and clear.json()["program_stopped"] is False
    assert get(server, "/api/program/status").json()["status"] == "active"
    answers = {**no_flags(), "saddle-bladder-bowel": True}
    response = post(server, "/api/program/screening", {"red_flags": answers})
    assert response.status_code == 201
    data = response.json()
    assert data["urgency"] == "emergency" and data["program_stopped"] is True
    assert data["advice"] == (
        "Please stop the exercise program for now. Seek medical care now: go to an emergency "
        "department or call your local emergency number. What you reported needs a doctor's "
        "assessment today."
    )
    assert data["recorded"] is True and "not a medical device" in data["disclaimer"]
    status = get(server, "/api/program/status").json()
    assert status["status"] == "stopped" and status["enrolled"] is False
    assert status["stop_advice"] == data["advice"]
    engine = make_engine(db_url)
    try:
        with Session(engine) as db:
            rows = db.scalars(select(RedFlagScreening).order_by(RedFlagScreening.id)).all()
            assert [(r.context, r.result) for r in rows] == [
                ("onboarding", "clear"),
                ("rescreen", "clear"),
                ("rescreen", "stop"),
            ]
            assert rows[-1].advice == data["advice"] and rows[-1].flagged == [
                "saddle-bladder-bowel"
            ]
    finally:
        engine.dispose()
    # Tracking stops with the program.
    assert (
        post(server, "/api/program/checkin", {"vas_mm": 10, "doses_per_day": 0}).status_code == 409
    )


def test_restart_after_a_red_flag_stop_needs_clearance(server: LiveServer, db_url: str) -> None:
    post(server, "/api/program/onboarding", {"red_flags": no_flags(), "baseline": BASELINE})
    post(server, "/api/program/screening", {"red_flags": {**no_flags(), "fever-unwell": True}})
    today = server_today()
    status = get(server, "/api/program/status").json()
    assert status["status"] == "stopped" and status["stop_urgency"] == "urgent"
    body: dict[str, Any] = {"red_flags": no_flags(), "baseline": BASELINE}
    refused = post(server, "/api/program/onboarding", body)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"clearance: your last program was stopped on {today.isoformat()} because of a "
        "warning sign you reported; start again only once a doctor or physiotherapist has "
        "seen you and agreed that you can exercise, and confirm it with the day you were seen"
    )
    not_confirmed = post(
        server,
        "/api/program/onboarding",
        body | {"clearance": {"confirmed": False, "seen_on": today.isoformat()}},
    )
    assert not_confirmed.status_code == 422
    assert not_confirmed.json()["detail"].startswith("clearance.confirmed: start again only once")
    future = (today + timedelta(days=1)).isoformat()
    too_late = post(
        server,
        "/api/program/onboarding",
        body | {"clearance": {"confirmed": True, "seen_on": future}},
    )
    assert too_late.status_code == 422
    assert too_late.json()["detail"].startswith(f"clearance.seen_on={future} is in the future")
    too_early = (today - timedelta(days=1)).isoformat()
    before = post(
        server,
        "/api/program/onboarding",
        body | {"clearance": {"confirmed": True, "seen_on": too_early}},
    )
    assert before.status_code == 422
    assert before.json()["detail"].startswith(
        f"clearance.seen_on={too_early} is before your program was stopped ({today.isoformat()})"
    )
    assert get(server, "/api/program/status").json()["status"] == "stopped"  # nothing started
    # A new red flag needs no clearance: it is recorded and stops again.
    again = post(
        server, "/api/program/onboarding", {"red_flags": {**no_flags(), "fever-unwell": True}}
    )
    assert again.status_code == 201 and again.json()["status"] == "stopped"
    cleared = post(
        server,
        "/api/program/onboarding",
        body | {"clearance": {"confirmed": True, "seen_on": today.isoformat()}},
    )
    assert cleared.status_code == 201, cleared.text
    assert cleared.json()["status"] == "active"
    engine = make_engine(db_url)
    try:
        with Session(engine) as db:
            rows = db.scalars(select(ProgramEnrolment).order_by(ProgramEnrolment.id)).all()
            assert [r.status for r in rows] == ["stopped", "stopped", "active"]
            assert "cleared to restart" not in rows[0].stop_reason
            assert (
                "; cleared to restart: seen by a doctor or physiotherapist on "
                f"{today.isoformat()} (confirmed by the person "
            ) in rows[1].stop_reason
    finally:
        engine.dispose()


def test_pain_jump_stops_the_program_and_restart_needs_clearance(
    server: LiveServer, db_url: str
) -> None:
    started = post(
        server, "/api/program/onboarding", {"red_flags": no_flags(), "baseline": BASELINE}
    )
    assert started.status_code == 201
    person_id: int
    engine = make_engine(db_url)
    try:
        with Session(engine) as db:  # a main session during which pain jumped 40 mm
            enrolment = db.scalars(select(ProgramEnrolment)).one()
            person_id = enrolment.person_id
            when = max(enrolment.started_utc, datetime.now(UTC)) + timedelta(seconds=1)
            record = start_session(db, person_id, "hip-hinge", started_utc=when)
            record.status = "completed"
            record.ended_utc = when + timedelta(seconds=1)
            db.commit()
            add_pain(db, person_id, 30, "before", session_id=record.id, recorded_utc=when)
            add_pain(db, person_id, 70, "after", session_id=record.id, recorded_utc=when)
    finally:
        engine.dispose()
    today = get(server, "/api/program/today?tz=UTC").json()
    assert today["status"] == "stopped" and today["decision"]["kind"] == "stop-refer"
    assert today["plan"]["today"] == []
    status = get(server, "/api/program/status").json()
    assert status["status"] == "stopped" and status["enrolled"] is False
    assert status["stopped_by"] == "pain-jump" and status["needs_clearance"] is True
    # Issue 15: the reason cites that very session (slot, technique, day, local date).
    assert status["stop_reason"].startswith(
        "pain jump: pain jumped 40 mm during the main hip-hinge session on day 1, "
        f"{when.astimezone(UTC).date().isoformat()} (30 → 70 mm), 30 mm or more"
    )
    assert status["stop_advice"] == (
        "Please pause the exercises and talk to your doctor or physiotherapist before you go "
        "on; spinecoach cannot judge what changed."
    )
    assert status["stop_reasons"] == [status["stop_reason"].removeprefix("pain jump: ")]
    assert status["stop_urgency"] is None and status["reminders"] == []
    assert status["stop_cause"] == "your pain jumped"
    assert status["stopped_utc"] == status["ended_utc"]
    # The program stopped for good: no more check-ins, the decision stored once.
    checkin = post(server, "/api/program/checkin", {"vas_mm": 10, "doses_per_day": 0})
    assert checkin.status_code == 409 and "no active program" in checkin.json()["detail"]
    assert get(server, "/api/program/progress?tz=UTC").json()["status"] == "stopped"
    # A restart needs the clinician's clearance, as after a red flag.
    stopped_on = datetime.fromisoformat(status["stopped_utc"])
    day = server_today(stopped_on)
    body: dict[str, Any] = {"red_flags": no_flags(), "baseline": BASELINE}
    refused = post(server, "/api/program/onboarding", body)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"clearance: your last program was stopped on {day.isoformat()} because your pain "
        "jumped; start again only once a doctor or physiotherapist has seen you and agreed "
        "that you can exercise, and confirm it with the day you were seen"
    )
    assert get(server, "/api/program/status").json()["status"] == "stopped"
    cleared = post(
        server,
        "/api/program/onboarding",
        body | {"clearance": {"confirmed": True, "seen_on": server_today().isoformat()}},
    )
    assert cleared.status_code == 201, cleared.text
    assert cleared.json()["status"] == "active" and cleared.json()["needs_clearance"] is False
    engine = make_engine(db_url)
    try:
        with Session(engine) as db:
            rows = db.scalars(select(ProgramEnrolment).order_by(ProgramEnrolment.id)).all()
            assert [r.status for r in rows] == ["stopped", "active"]
            assert rows[0].stop_reason.startswith("pain jump: pain jumped 40 mm")
            assert "; cleared to restart: seen by a doctor or physiotherapist on " in (
                rows[0].stop_reason
            )
            kinds = db.scalars(
                select(ProgramDecision.kind).where(ProgramDecision.enrolment_id == rows[0].id)
            ).all()
            assert kinds.count("stop-refer") == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("path", ["/onboarding", "/checkin", "/psfs", "/program", "/screening"])
def test_program_pages_are_the_app(server: LiveServer, path: str) -> None:
    page = get(server, path)
    assert page.status_code == 200 and 'id="view-onboard-redflags"' in page.text
    assert '<script src="/static/program.js" defer></script>' in page.text
    assert get(server, "/static/program.js").status_code == 200
