"""The program service on SQLite and PostgreSQL: history from the database, decisions
stored once, a red session regresses, a red-flag re-screening stops."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from spinecoach.program import service
from spinecoach.program.onboarding import make_baseline, make_schedule
from spinecoach.program.protocol import default_protocol
from spinecoach.program.redflags import default_red_flags
from spinecoach.store import program as sp
from spinecoach.store.models import ProgramDecision, RepRecord
from spinecoach.store.repository import add_pain, create_person, start_session

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def no_flags() -> dict[str, bool]:
    return {f.id: False for f in default_red_flags()}


def enrol(db: Session, vas_mm: float = 40.0) -> int:
    person = create_person(db, "Ada")
    baseline = make_baseline(
        vas_mm=vas_mm,
        psfs=[("Putting on socks", 3)],
        doses_per_day=2,
        schedule=make_schedule("07:15", "08:30", "16:30", 60),
        sensors=["phone"],
    )
    sp.onboard(db, person.id, no_flags(), baseline, now=T0)
    return person.id


def session(
    db: Session,
    person_id: int,
    technique: str,
    when: datetime,
    before: float | None,
    after: float | None,
    *,
    quality: int = 90,
    range_deg: float = 30.0,
    faults: tuple[str, ...] = (),
) -> int:
    record = start_session(db, person_id, technique, started_utc=when)
    with db.begin_nested():
        for i in range(2):
            record.reps.append(
                RepRecord(
                    technique=technique,
                    rep_index=i,
                    set_index=0,
                    start_s=2.0 * i,
                    peak_s=2.0 * i + 1,
                    end_s=2.0 * i + 2,
                    range_deg=range_deg,
                    hold_s=None,
                    quality=quality,
                    reasons=[],
                    fault_names=list(faults),
                    faults=[],
                    measures={},
                )
            )
        record.status = "completed"
        record.ended_utc = when + timedelta(minutes=5)
    db.commit()
    if before is not None:
        add_pain(db, person_id, before, "before", session_id=record.id, recorded_utc=when)
    if after is not None:
        add_pain(db, person_id, after, "after", session_id=record.id, recorded_utc=when)
    return record.id


def decisions(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(ProgramDecision)) or 0)


def test_history_from_the_database(engine: Engine) -> None:
    with Session(engine) as db:
        pid = enrol(db)
        sp.daily_checkin(
            db, pid, vas_mm=38, doses_per_day=1, taken_on=date(2026, 3, 3), now=T0 + timedelta(1)
        )
        session(db, pid, "pelvic-tilt", T0 + timedelta(days=1, hours=1), 38, 36)
        session(db, pid, "hip-hinge", T0 + timedelta(days=1, hours=8), 36, 40)
        session(db, pid, "flexion-extension", T0 + timedelta(days=1, hours=9), 40, 42)
        session(db, pid, "cat-cow-seated", T0 + timedelta(days=1, hours=4), None, None)
        unrated = session(db, pid, "hip-hinge", T0 + timedelta(days=2, hours=8), 30, None)
        state = service.update_program(db, pid, now=T0 + timedelta(days=2, hours=9), tz=UTC)
    assert state.day == 3
    assert [log.day for log in state.history] == [1, 2, 3]
    day2 = state.history[1]
    assert day2.morning_vas_mm == 38.0
    assert day2.desk_breaks_done == 1
    slots = {s.slot: s for s in day2.sessions}
    assert set(slots) == {"morning", "main"}
    main = slots["main"]
    assert (main.vas_before_mm, main.vas_after_mm) == (36.0, 42.0)
    assert [e.technique for e in main.exercises] == ["hip-hinge", "flexion-extension"]
    assert [r.quality for r in main.exercises[0].reps] == [90, 90]
    assert state.unrated == (unrated,)
    assert state.history[2].sessions == ()


def test_decision_is_stored_once_for_the_same_history(engine: Engine) -> None:
    with Session(engine) as db:
        pid = enrol(db)
        now = T0 + timedelta(hours=3)
        session(db, pid, "pelvic-tilt", T0 + timedelta(hours=1), 40, 41)
        first = service.update_program(db, pid, now=now, tz=UTC)
        assert first.stored is not None and first.stored.kind == "hold"
        again = service.update_program(db, pid, now=now, tz=UTC)
        assert again.stored is None
        assert decisions(db) == 1
        # A green session later the same day: still a hold, not due again.
        session(db, pid, "hip-hinge", T0 + timedelta(hours=2), 41, 42)
        assert service.update_program(db, pid, now=now, tz=UTC).stored is None
        # The next day a new daily decision is due.
        nxt = service.update_program(db, pid, now=now + timedelta(days=1), tz=UTC)
        assert nxt.stored is not None and nxt.day == 2
        assert decisions(db) == 2
        row = service.decision_dict(nxt.stored)
        assert row["day"] == 2 and row["kind"] == "hold" and row["reasons"]


def test_red_session_stores_a_regress(engine: Engine) -> None:
    p = default_protocol()
    with Session(engine) as db:
        pid = enrol(db)
        enrolment = sp.active_enrolment(db, pid)
        assert enrolment is not None
        # Start the person on level 2 (as if progressed earlier).
        sp.add_decision(
            db,
            enrolment.id,
            week=1,
            kind="progress",
            prescription={"level": 2, "since_day": 1},
            reasons=[],
            decided_utc=T0,
        )
        session(db, pid, "hip-hinge", T0 + timedelta(hours=2), 40, 65)
        state = service.update_program(db, pid, now=T0 + timedelta(hours=3), tz=UTC)
        assert state.decision.kind == "regress"
        assert state.decision.light == "red"
        assert state.stored is not None and state.stored.kind == "regress"
        assert state.stored.prescription["level"] == 1
        assert state.stored.prescription["since_day"] == 2
        assert "pain rose 25 mm" in state.stored.reasons[0]["text"]
        # Re-deciding the same history stores nothing; the plan is the lower level.
        again = service.update_program(db, pid, now=T0 + timedelta(hours=4), tz=UTC)
        assert again.stored is None
        assert again.current.level == 1
        assert again.plan.decision.prescription.level == max(1, p.bottom_level)
        assert decisions(db) == 2
        today = service.today_data(again)
        assert today["last_decision"]["kind"] == "regress"
        assert today["plan"]["level"] == 1


def test_red_flag_rescreening_stops(engine: Engine) -> None:
    with Session(engine) as db:
        pid = enrol(db)
        service.update_program(db, pid, now=T0 + timedelta(hours=1), tz=UTC)
        answers = no_flags()
        answers[next(iter(answers))] = True
        sp.rescreen(db, pid, answers, now=T0 + timedelta(days=3))
        state = service.update_program(db, pid, now=T0 + timedelta(days=5), tz=UTC)
        assert state.enrolment.status == "stopped"
        assert state.day == 4
        assert state.decision.kind == "stop-refer"
        assert state.stored is not None and state.stored.kind == "stop-refer"
        assert any(r["code"] == "red-flag" for r in state.stored.reasons)
        assert [s.kind for s in state.plan.suggestions] == ["see-clinician"]
        assert state.plan.today == ()
        later = service.update_program(db, pid, now=T0 + timedelta(days=9), tz=UTC)
        assert later.stored is None
        assert decisions(db) == 2


def test_no_program_is_a_clear_error(engine: Engine) -> None:
    with Session(engine) as db:
        pid = create_person(db, "Bo").id
        with pytest.raises(sp.EnrolmentStateError, match="no program; complete onboarding"):
            service.update_program(db, pid, tz=UTC)


def test_progress_data(engine: Engine) -> None:
    with Session(engine) as db:
        pid = enrol(db, vas_mm=40.0)
        for d in range(3):
            sp.daily_checkin(
                db,
                pid,
                vas_mm=36 - 2 * d,
                doses_per_day=2 - min(d, 2),
                taken_on=date(2026, 3, 2) + timedelta(d),
                now=T0 + timedelta(days=d, minutes=1),
            )
        session(db, pid, "pelvic-tilt", T0 + timedelta(hours=1), 36, 34, range_deg=20.0)
        state = service.update_program(db, pid, now=T0 + timedelta(days=2, hours=2), tz=UTC)
        data = service.progress_data(db, state, tz=UTC)
    assert data["baseline_vas_mm"] == 40.0
    assert data["mcid"] == {"mm": 15.0, "pct": 30.0, "line_mm": 28.0}
    assert [m["vas_mm"] for m in data["morning_vas"]] == [36.0, 34.0, 32.0]
    assert [m["doses_per_day"] for m in data["medication"]] == [2, 1, 0]
    assert data["adherence"][0]["done"] == 1 and data["adherence"][1]["done"] == 0
    assert data["sessions"][0]["vas_before_mm"] == 36.0
    assert data["sessions"][0]["mean_range_deg"] == 20.0
    assert data["psfs"] == [
        {"week": 0, "context": "baseline", "activity": "Putting on socks", "score": 3}
    ]
    assert data["decisions"][-1]["day"] == 3


def test_stored_posture_days_feed_the_recommendations(engine: Engine) -> None:
    """A day of long slouched sitting in the stored posture minutes (issue 7) reaches the
    program's history and the "more desk breaks" suggestion cites it; a day with too
    little monitoring is left out."""
    from spinecoach.store.posture import BoutRow, MinuteRow, save_bouts, save_minutes

    with Session(engine) as db:
        pid = enrol(db)
        day2 = T0 + timedelta(days=1, hours=1)  # 08:00 on program day 2
        minutes = [
            MinuteRow(
                day2 + timedelta(minutes=k),
                {"sitting_slouched": 60.0} if k % 2 else {"sitting_upright": 60.0},
            )
            for k in range(480)
        ]
        save_minutes(db, pid, minutes, source="day.screc")
        save_bouts(db, pid, [BoutRow(day2, day2 + timedelta(minutes=150), 4500.0)], source="x")
        few = [MinuteRow(T0 + timedelta(days=2, minutes=k), {"standing": 60.0}) for k in range(30)]
        save_minutes(db, pid, few, source="live")
        state = service.update_program(db, pid, now=T0 + timedelta(days=2, hours=9), tz=UTC)
    posture = state.history[1].posture
    assert posture is not None
    assert (posture.sitting_min, posture.slouched_min) == (480.0, 240.0)
    assert posture.longest_sitting_min == 150.0
    assert state.history[2].posture is None  # 30 minutes of monitoring: not a posture day
    kinds = {s.kind: s for s in state.plan.suggestions}
    assert "desk-breaks" in kinds
    why = kinds["desk-breaks"].why
    assert why.code == "posture" and "your sensor showed" in why.text
