"""The program service on SQLite and PostgreSQL: history from the database, decisions
stored once, a red session regresses, a red-flag re-screening stops, a jump in pain stops
the program and a restart then needs the clinician's clearance."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError
from spinecoach.program.onboarding import Clearance, make_baseline, make_schedule
from spinecoach.program.protocol import default_protocol
from spinecoach.program.redflags import default_red_flags
from spinecoach.services import program as service
from spinecoach.store import program as sp
from spinecoach.store.models import ProgramDecision, ProgramEnrolment, RepRecord
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
    # Issue 15: one outcome per stored session, with that session's own pain before →
    # after (the main slot's two sessions are no longer merged into 36 → 42).
    assert [(s.slot, s.technique) for s in day2.sessions] == [
        ("morning", "pelvic-tilt"),
        ("main", "hip-hinge"),
        ("main", "flexion-extension"),
    ]
    by_technique = {s.technique: s for s in day2.sessions}
    hinge, flexion = by_technique["hip-hinge"], by_technique["flexion-extension"]
    assert (hinge.vas_before_mm, hinge.vas_after_mm) == (36.0, 40.0)
    assert (flexion.vas_before_mm, flexion.vas_after_mm) == (40.0, 42.0)
    assert hinge.date == "2026-03-03"
    assert [e.technique for e in hinge.exercises] == ["hip-hinge"]
    assert [r.quality for r in hinge.exercises[0].reps] == [90, 90]
    assert dict(day2.slots_done or {}) == {"morning": 1, "main": 1, "desk-break": 1}
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


JUMP_REFER = (
    "Please pause the exercises and talk to your doctor or physiotherapist before you go on; "
    "spinecoach cannot judge what changed."
)


def test_pain_jump_stops_the_program_and_a_restart_needs_clearance(engine: Engine) -> None:
    when = T0 + timedelta(days=1, hours=3)
    with Session(engine) as db:
        pid = enrol(db)
        first = service.update_program(db, pid, now=T0 + timedelta(hours=1), tz=UTC)
        assert first.stored is not None and first.stored.kind == "hold"
        session(db, pid, "hip-hinge", T0 + timedelta(days=1, hours=2), 35, 70)
        state = service.update_program(db, pid, now=when, tz=UTC)
        assert state.decision.kind == "stop-refer"
        assert state.stored is not None and state.stored.kind == "stop-refer"
        assert [r["code"] for r in state.stored.reasons] == ["pain-jump", "refer"]
        assert state.stored.reasons[1]["text"] == JUMP_REFER
        enrolment_id = state.enrolment.id
        # Stopped in the same transaction as the decision, with the cause and the numbers.
        assert state.enrolment.status == "stopped"
        assert state.enrolment.stop_reason == (
            "pain jump: pain jumped 35 mm during the main hip-hinge session on day 2, "
            "2026-03-03 (35 → 70 mm), 30 mm or more: stop and ask a clinician"
        )
        # The sentence is plain words; its source is stored beside it.
        assert state.stored.reasons[0]["sources"] == ["NICE NG59"]
        assert state.enrolment.ended_utc is not None
        assert state.enrolment.ended_utc.astimezone(UTC) == when
        today = service.today_data(state)
        assert today["status"] == "stopped" and today["plan"]["today"] == []
        assert [s["kind"] for s in today["suggestions"]] == ["see-clinician"]
        # Later calls store nothing more, and the program stays stopped on its last day.
        later = service.update_program(db, pid, now=when + timedelta(days=4), tz=UTC)
        assert later.stored is None and later.day == 2
        assert later.enrolment.status == "stopped"
        assert decisions(db) == 2
        # Tracking stops with the program.
        with pytest.raises(sp.EnrolmentStateError, match="no active program"):
            sp.daily_checkin(
                db, pid, vas_mm=30, doses_per_day=0, taken_on="2026-03-04", now=when + timedelta(1)
            )
    restart = T0 + timedelta(days=6)
    baseline = make_baseline(
        vas_mm=30,
        psfs=[("Putting on socks", 5)],
        doses_per_day=0,
        schedule=make_schedule("07:15", "08:30", "16:30", 60),
        sensors=[],
    )
    with Session(engine) as db:
        stopped = sp.restart_needs_clearance(db, pid)
        assert stopped is not None and stopped.id == enrolment_id
        assert sp.stop_cause(db, stopped) == "your pain jumped"
        with pytest.raises(
            sp.EnrolmentStateError,
            match="clearance: your last program was stopped on 2026-03-03 because your pain "
            "jumped; start again only once a doctor or physiotherapist has seen you and agreed "
            "that you can exercise, and confirm it with the day you were seen",
        ):
            sp.onboard(db, pid, no_flags(), baseline, now=restart, tz=UTC)
        with pytest.raises(
            ConfigurationError,
            match=r"clearance.seen_on=2026-03-02 is before your program was stopped \(2026-03-03\)",
        ):
            sp.onboard(
                db,
                pid,
                no_flags(),
                baseline,
                clearance=Clearance(date(2026, 3, 2)),
                now=restart,
                tz=UTC,
            )
    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(ProgramEnrolment)) == 1
        again = sp.onboard(
            db,
            pid,
            no_flags(),
            baseline,
            clearance=Clearance(date(2026, 3, 5)),
            now=restart,
            tz=UTC,
        )
        assert again.enrolment.status == "active"
        old = db.get(ProgramEnrolment, enrolment_id)
        assert old is not None and old.status == "stopped"
        assert old.stop_reason.startswith("pain jump: pain jumped 35 mm")
        assert (
            "; cleared to restart: seen by a doctor or physiotherapist on 2026-03-05 "
            "(confirmed by the person 2026-03-08 07:00 UTC)"
        ) in old.stop_reason
        assert sp.restart_needs_clearance(db, pid) is None
        # The new program starts afresh: its own first decision, not the old stop.
        fresh = service.update_program(db, pid, now=restart + timedelta(hours=1), tz=UTC)
        assert fresh.enrolment.id == again.enrolment.id and fresh.decision.kind == "hold"


def test_morning_pain_jump_stops_the_program(engine: Engine) -> None:
    with Session(engine) as db:
        pid = enrol(db)
        for offset, vas in ((0, 30), (1, 62)):
            day = T0 + timedelta(days=offset, minutes=5)
            sp.daily_checkin(db, pid, vas_mm=vas, doses_per_day=1, taken_on=day.date(), now=day)
        state = service.update_program(db, pid, now=T0 + timedelta(days=1, hours=1), tz=UTC)
        assert state.stored is not None and state.stored.kind == "stop-refer"
        assert state.enrolment.status == "stopped"
        assert state.enrolment.stop_reason.startswith(
            "pain jump: morning pain jumped 32 mm from day 1 to day 2 (30 → 62 mm)"
        )


def test_a_stop_refer_stored_while_active_stops_the_program(engine: Engine) -> None:
    """A stop-refer decision stored before stops were recorded with it (the program left
    active) stops the program as of that decision on the next update."""
    decided = T0 + timedelta(days=1)
    with Session(engine) as db:
        pid = enrol(db)
        enrolment = sp.active_enrolment(db, pid)
        assert enrolment is not None
        reasons = [
            {"code": "pain-jump", "text": "pain jumped 40 mm", "data": {"rise_mm": 40.0}},
            {"code": "refer", "text": JUMP_REFER, "data": {}},
        ]
        sp.add_decision(
            db,
            enrolment.id,
            week=1,
            kind="stop-refer",
            prescription={"level": 2, "since_day": 1},
            reasons=reasons,
            decided_utc=decided,
        )
        assert sp.active_enrolment(db, pid) is not None
        state = service.update_program(db, pid, now=T0 + timedelta(days=3), tz=UTC)
        assert state.enrolment.status == "stopped"
        assert state.enrolment.stop_reason == "pain jump: pain jumped 40 mm"
        assert state.enrolment.ended_utc is not None
        assert state.enrolment.ended_utc.astimezone(UTC) == decided
        assert state.stored is None and decisions(db) == 1
        assert sp.restart_needs_clearance(db, pid) is not None


def test_only_a_stop_refer_decision_stops(engine: Engine) -> None:
    with Session(engine) as db:
        pid = enrol(db)
        enrolment = sp.active_enrolment(db, pid)
        assert enrolment is not None
        with pytest.raises(ConfigurationError, match="only a stop-refer decision stops"):
            sp.add_decision(
                db,
                enrolment.id,
                week=1,
                kind="hold",
                prescription={"level": 2, "since_day": 1},
                reasons=[],
                stop_reason="pain jump",
            )
        assert decisions(db) == 0 and sp.active_enrolment(db, pid) is not None


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
