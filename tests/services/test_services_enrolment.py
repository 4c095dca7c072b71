"""The program enrolment service (spinecoach.services.enrolment) without HTTP: what the
web routes return is this service's answer (tests/web/test_web_program_http.py tests it
through the API)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from spinecoach.errors import ConfigurationError
from spinecoach.program import onboarding as ob
from spinecoach.program.redflags import default_red_flags
from spinecoach.services.enrolment import EnrolmentService, red_flag_questions
from spinecoach.services.history import History
from spinecoach.store.program import EnrolmentStateError


@pytest.fixture
def service(tmp_path: Path) -> Iterator[EnrolmentService]:
    history = History.open(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    yield EnrolmentService(history)
    history.close()


def _no_flags() -> dict[str, bool]:
    return {f.id: False for f in default_red_flags()}


def _baseline() -> ob.Baseline:
    return ob.make_baseline(
        vas_mm=40.0,
        psfs=[("walking", 5)],
        doses_per_day=1,
        schedule=ob.make_schedule("07:30"),
        sensors=["phone"],
    )


def test_the_questions_are_the_red_flags() -> None:
    questions = red_flag_questions()
    assert [q["id"] for q in questions["questions"]] == [f.id for f in default_red_flags()]
    assert questions["disclaimer"]


def test_without_a_program_the_status_says_so_and_nothing_is_tracked(
    service: EnrolmentService,
) -> None:
    assert service.status() == {"enrolled": False, "status": None}
    with pytest.raises(EnrolmentStateError):
        service.calendar(None)
    with pytest.raises(EnrolmentStateError):
        service.checkin(30.0, 0)


def test_onboarding_starts_a_program_that_is_tracked(service: EnrolmentService) -> None:
    started = service.onboard(_no_flags(), _baseline())
    assert started["enrolled"] is True and started["status"] == "active"
    assert started["week"] == 1 and started["baseline_vas_mm"] == 40.0
    assert started["psfs_activities"] == ["walking"]
    assert started["screening"]["stop"] is False and started["screening"]["recorded"] is True
    assert [r["time"] for r in started["reminders"] if r["days"] == "daily"] == ["07:30"]
    assert service.status()["id"] == started["id"]
    checkin = service.checkin(25.0, 2, "stiff", ob.server_today())
    assert checkin == {
        "vas_mm": 25.0,
        "context": "morning",
        "doses_per_day": 2,
        "day": ob.server_today().isoformat(),
        "note": "stiff",
    }
    assert service.psfs({"walking": 7}) == {"scores": [{"activity": "walking", "score": 7}]}
    ics, enrolment_id = service.calendar(date(2026, 1, 5))
    assert enrolment_id == started["id"] and "BEGIN:VCALENDAR" in ics


def test_a_red_flag_later_stops_the_program_with_its_advice(service: EnrolmentService) -> None:
    service.onboard(_no_flags(), _baseline())
    flag = default_red_flags()[0]
    answer = service.rescreen({**_no_flags(), flag.id: True})
    assert answer["stop"] is True and answer["program_stopped"] is True
    assert answer["flagged"] == [flag.id]
    status = service.status()
    assert status["status"] == "stopped" and status["stopped_by"] == "red-flag"
    assert status["needs_clearance"] is True and status["reminders"] == []
    with pytest.raises(ConfigurationError):  # a new program needs the clinician's clearance
        service.onboard(_no_flags(), _baseline())
