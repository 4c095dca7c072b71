"""The one program status (spinecoach.services.program_status, services.program.
program_status) without HTTP: what each state says, a due pain-jump stop stored at once,
the engine's state carrying the same value, the clearance's errors, and the runner's
refusal (the terminal coach's path) storing nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from spinecoach.coach.runner import LiveRun, LiveStart, build_simulation
from spinecoach.errors import ConfigurationError
from spinecoach.program import onboarding as ob
from spinecoach.program.lights import session_advice
from spinecoach.program.redflags import default_red_flags
from spinecoach.services.history import History
from spinecoach.services.program import (
    ProgramStoppedError,
    check_can_start,
    program_status,
    refuse_if_stopped,
    update_program,
)
from spinecoach.services.program_status import CLEARANCE_FIX, stored_status
from spinecoach.store import program as store_program
from spinecoach.store.models import ProgramDecision, SessionRecord
from spinecoach.store.repository import add_pain, start_session


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    opened = History.open(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    yield opened
    opened.close()


def no_flags() -> dict[str, bool]:
    return {f.id: False for f in default_red_flags()}


BASELINE = ob.make_baseline(
    vas_mm=30.0,
    psfs=[("walking", 5)],
    doses_per_day=1,
    schedule=ob.make_schedule("07:30"),
    sensors=["phone"],
)


def enrol(history: History) -> None:
    with Session(history.engine) as db:
        store_program.onboard(db, history.person_id, no_flags(), BASELINE)


def rated_session(history: History, before: float, after: float | None) -> int:
    """A completed main session (hip-hinge) with its pain ratings, a second from now."""
    with Session(history.engine) as db:
        when = datetime.now(UTC) + timedelta(seconds=1)
        record = start_session(db, history.person_id, "hip-hinge", started_utc=when)
        record.status = "completed"
        record.ended_utc = when
        db.commit()
        add_pain(db, history.person_id, before, "before", session_id=record.id)
        if after is not None:
            add_pain(db, history.person_id, after, "after", session_id=record.id)
        return record.id


def decisions(history: History) -> list[str]:
    with Session(history.engine) as db:
        return list(db.scalars(select(ProgramDecision.kind).order_by(ProgramDecision.id)))


def test_no_program_allows_sessions_and_says_nothing_to_do(history: History) -> None:
    status = check_can_start(history.engine, history.person_id)
    assert status.status is None and status.sessions_allowed
    assert status.problem is None and status.what_to_do is None
    assert status.as_dict()["sessions_allowed"] is True


def test_a_pain_jump_is_stored_at_once_and_every_reader_agrees(history: History) -> None:
    enrol(history)
    rated_session(history, 30.0, 40.0)
    with Session(history.engine) as db:
        active = program_status(db, history.person_id)
    assert active.status == "active" and active.sessions_allowed
    assert decisions(history) == []  # only a stop is stored by the status
    rated_session(history, 20.0, 75.0)
    with Session(history.engine) as db:
        assert stored_status(db, history.person_id).status == "active"  # not decided yet
        # A reader that stores nothing (the report) says the stop it would store.
        pending = update_program(db, history.person_id, store=False).status
    assert decisions(history) == []
    with Session(history.engine) as db:
        stopped = program_status(db, history.person_id)
    assert pending.status == "stopped" and pending.needs_clearance
    assert {**pending.as_dict(), "stopped_utc": None} == {**stopped.as_dict(), "stopped_utc": None}
    assert decisions(history) == ["stop-refer"]
    assert stopped.status == "stopped" and stopped.stopped_by == "pain-jump"
    assert stopped.needs_clearance and not stopped.sessions_allowed
    assert stopped.cause == "your pain jumped" and stopped.urgency is None
    assert "(20 → 75 mm)" in stopped.reasons[0]
    assert stopped.what_to_do == CLEARANCE_FIX
    assert stopped.problem is not None and stopped.reasons[0] in stopped.problem
    with Session(history.engine) as db:
        # The engine's state (what /today and /progress show) carries the same status.
        state = update_program(db, history.person_id)
        assert state.status == stopped == program_status(db, history.person_id)
    assert decisions(history) == ["stop-refer"]  # nothing stored twice
    with pytest.raises(ProgramStoppedError) as refused:
        check_can_start(history.engine, history.person_id)
    assert refused.value.problem == stopped.problem and refused.value.fix == CLEARANCE_FIX
    assert refused.value.detail()["code"] == "program-stopped"


def test_clearance_lifts_the_stop_once(history: History) -> None:
    with Session(history.engine) as db:
        with pytest.raises(store_program.EnrolmentStateError, match="no stopped program"):
            store_program.record_clearance(db, history.person_id, cleared_by="Dr Lee")
        store_program.onboard(db, history.person_id, {**no_flags(), "fever-unwell": True}, None)
        with pytest.raises(ConfigurationError, match="cleared_by='  '"):
            store_program.record_clearance(db, history.person_id, cleared_by="  ")
        assert stored_status(db, history.person_id).needs_clearance
        assert store_program.restart_needs_clearance(db, history.person_id) is not None
        row = store_program.record_clearance(
            db, history.person_id, cleared_by=" Dr Lee ", note="seen"
        )
        assert (row.cleared_by, row.note) == ("Dr Lee", "seen")
        status = stored_status(db, history.person_id)
        assert status.status == "stopped" and status.stopped_by == "red-flag"
        assert status.sessions_allowed and status.clearance is not None
        assert status.clearance.cleared_by == "Dr Lee"
        assert store_program.restart_needs_clearance(db, history.person_id) is None
        with pytest.raises(store_program.EnrolmentStateError, match="already cleared by Dr Lee"):
            store_program.record_clearance(db, history.person_id, cleared_by="Dr Lee")
    check_can_start(history.engine, history.person_id)


def test_the_runner_refuses_a_stopped_person_and_stores_nothing(history: History) -> None:
    with Session(history.engine) as db:
        store_program.onboard(db, history.person_id, {**no_flags(), "leg-weakness": True}, None)
    start = LiveStart("pelvic-tilt", reps=1)
    session, _source, _recording = build_simulation(start)
    emitted: list[object] = []

    async def emit(events: object) -> None:
        emitted.append(events)

    run = LiveRun(session, start, emit=emit, history=history)
    with pytest.raises(ProgramStoppedError, match="because of a warning sign you reported"):
        asyncio.run(run.begin())
    assert emitted == [] and session.recorder is None
    with Session(history.engine) as db:
        assert db.scalar(select(func.count()).select_from(SessionRecord)) == 0


def test_refuse_if_stopped_skips_what_it_cannot_read(history: History) -> None:
    refuse_if_stopped(object())  # a stand-in history without a database: not checked
    with history.engine.begin() as db:
        db.execute(text("DROP TABLE program_enrolments"))
    refuse_if_stopped(history)  # a damaged database: logged, the session may start


def test_session_advice_needs_both_ratings_and_a_jump() -> None:
    jump = session_advice(20.0, 50.0)
    assert jump is not None and jump.code == "pain-jump" and jump.data["rise_mm"] == 30.0
    assert session_advice(20.0, 49.0) is None  # 29 mm: below the 30 mm jump
    assert session_advice(None, 90.0) is None and session_advice(20.0, None) is None
    assert session_advice(70.0, 20.0) is None  # less pain is no jump
