"""Program storage on SQLite and PostgreSQL: onboarding, screenings, tracking, decisions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError
from spinecoach.program.onboarding import Baseline, Clearance, make_baseline, make_schedule
from spinecoach.program.redflags import default_red_flags
from spinecoach.store import program as sp
from spinecoach.store.models import (
    MedicationEntry,
    PainEntry,
    Person,
    ProgramDecision,
    ProgramEnrolment,
    PsfsEntry,
    RedFlagScreening,
)
from spinecoach.store.repository import create_person

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
PROGRAM_TABLES = (ProgramEnrolment, RedFlagScreening, PsfsEntry, MedicationEntry, ProgramDecision)


def no_flags() -> dict[str, bool]:
    return {f.id: False for f in default_red_flags()}


def baseline() -> Baseline:
    return make_baseline(
        vas_mm=55,
        psfs=[("Putting on socks", 3), ("Sitting for an hour", 5)],
        doses_per_day=3,
        schedule=make_schedule("07:15", "08:30", "16:30", 60),
        sensors=["phone", "camera"],
    )


def count(db: Session, model: type[object]) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def counts(db: Session) -> dict[str, int]:
    return {m.__name__: count(db, m) for m in PROGRAM_TABLES}


@pytest.fixture
def person_id(engine: Engine) -> int:
    with Session(engine) as db:
        return create_person(db, "Ada").id


def test_program_onboarding_round_trip(engine: Engine, person_id: int) -> None:
    with Session(engine) as db:
        outcome = sp.onboard(db, person_id, no_flags(), baseline(), now=T0)
        assert not outcome.stopped
    with Session(engine) as db:
        enrolment = sp.active_enrolment(db, person_id)
        assert enrolment is not None
        assert enrolment.status == "active" and enrolment.started_utc == T0
        assert enrolment.ended_utc is None and enrolment.stop_reason == ""
        assert enrolment.baseline_vas_mm == 55.0 and enrolment.baseline_doses_per_day == 3
        assert enrolment.schedule == {
            "morning_time": "07:15",
            "work_start": "08:30",
            "work_end": "16:30",
            "desk_break_every_min": 60,
        }
        assert enrolment.sensors == ["phone", "camera"]
        assert sp.enrolment_schedule(enrolment) == baseline().schedule
        assert sp.baseline_activities(db, enrolment) == ["Putting on socks", "Sitting for an hour"]
        [screening] = sp.list_screenings(db, person_id)
        assert screening.result == "clear" and screening.urgency is None
        assert screening.context == "onboarding" and screening.enrolment_id == enrolment.id
        assert screening.answers == no_flags() and screening.flagged == []
        assert [(e.context, e.score) for e in sp.list_psfs(db, person_id)] == [
            ("baseline", 3),
            ("baseline", 5),
        ]


def test_program_red_flag_is_recorded_and_stops(engine: Engine, person_id: int) -> None:
    answers = {**no_flags(), "saddle-bladder-bowel": True, "weight-loss": True}
    with Session(engine) as db:
        outcome = sp.onboard(db, person_id, answers, baseline(), now=T0)
        assert outcome.stopped and outcome.result.urgency == "emergency"
    with Session(engine) as db:
        assert sp.active_enrolment(db, person_id) is None
        enrolment = sp.latest_enrolment(db, person_id)
        assert enrolment is not None and enrolment.status == "stopped"
        assert enrolment.stop_reason == "red flag (emergency): saddle-bladder-bowel, weight-loss"
        assert enrolment.ended_utc == T0 and enrolment.baseline_vas_mm is None  # no baseline
        [screening] = sp.list_screenings(db, person_id)
        assert screening.result == "stop" and screening.urgency == "emergency"
        assert screening.flagged == ["saddle-bladder-bowel", "weight-loss"]
        assert screening.advice.startswith("Please do not start the exercise program. Seek")
        assert screening.answers["saddle-bladder-bowel"] is True
        assert count(db, PsfsEntry) == 0  # the baseline given along was not stored
        # Tracking is refused: there is no active program.
        with pytest.raises(sp.EnrolmentStateError, match="no active program; complete onboarding"):
            sp.daily_checkin(db, person_id, vas_mm=10, doses_per_day=0, taken_on="2026-03-03")
    later = T0 + timedelta(days=9)
    with Session(engine) as db:  # a later clear screening alone does not restart
        assert sp.restart_needs_clearance(db, person_id) is not None
        with pytest.raises(
            sp.EnrolmentStateError,
            match="clearance: your last program was stopped on 2026-03-02 because of a warning "
            "sign you reported; start again only once a doctor or physiotherapist has seen you "
            "and agreed that you can exercise, and confirm it with the day you were seen",
        ):
            sp.onboard(db, person_id, no_flags(), baseline(), now=later, tz=UTC)
        with pytest.raises(
            ConfigurationError,
            match=r"clearance.seen_on=2026-03-01 is before your program was stopped \(2026-03-02\)",
        ):
            sp.onboard(
                db,
                person_id,
                no_flags(),
                baseline(),
                clearance=Clearance(date(2026, 3, 1)),
                now=later,
                tz=UTC,
            )
        with pytest.raises(
            ConfigurationError, match=r"clearance\.seen_on=2026-03-12 is in the future"
        ):
            sp.onboard(
                db,
                person_id,
                no_flags(),
                baseline(),
                clearance=Clearance(date(2026, 3, 12)),
                now=later,
                tz=UTC,
            )
    with Session(engine) as db:
        assert count(db, ProgramEnrolment) == 1 and count(db, RedFlagScreening) == 1  # nothing
    with Session(engine) as db:  # a doctor agreed on 5 March: a new program starts
        again = sp.onboard(
            db,
            person_id,
            no_flags(),
            baseline(),
            clearance=Clearance(date(2026, 3, 5)),
            now=later,
            tz=UTC,
        )
        assert again.enrolment.status == "active"
        first = db.get(ProgramEnrolment, enrolment.id)
        assert first is not None and first.stop_reason == (
            "red flag (emergency): saddle-bladder-bowel, weight-loss; cleared to restart: seen "
            "by a doctor or physiotherapist on 2026-03-05 (confirmed by the person 2026-03-11 "
            "07:00 UTC)"
        )
        assert sp.restart_needs_clearance(db, person_id) is None


def test_program_rescreen_stops_the_active_program(engine: Engine, person_id: int) -> None:
    with Session(engine) as db:
        sp.onboard(db, person_id, no_flags(), baseline(), now=T0)
        screening, result = sp.rescreen(db, person_id, no_flags(), now=T0 + timedelta(days=7))
        assert not result.stop and screening.context == "rescreen"
        assert sp.active_enrolment(db, person_id) is not None
        screening, result = sp.rescreen(
            db, person_id, {**no_flags(), "fever-unwell": True}, now=T0 + timedelta(days=8)
        )
        assert result.stop and screening.urgency == "urgent"
    with Session(engine) as db:
        enrolment = sp.latest_enrolment(db, person_id)
        assert enrolment is not None and enrolment.status == "stopped"
        assert enrolment.stop_reason == "red flag (urgent): fever-unwell"
        assert [s.result for s in sp.list_screenings(db, person_id)] == ["clear", "clear", "stop"]


def test_program_rescreen_advice_during_the_program(engine: Engine, person_id: int) -> None:
    """A red flag reported mid-program stores (and so shows) the during-program advice;
    the same answers with no program keep the before-the-program advice."""
    emergency = {**no_flags(), "leg-weakness": True}
    with Session(engine) as db:
        screening, result = sp.rescreen(db, person_id, emergency, now=T0)  # no program yet
        assert screening.enrolment_id is None
        assert screening.advice == result.advice
        assert screening.advice.startswith("Please do not start the exercise program.")
        sp.onboard(db, person_id, no_flags(), baseline(), now=T0 + timedelta(days=1))
        screening, result = sp.rescreen(db, person_id, emergency, now=T0 + timedelta(days=3))
        assert screening.advice == result.advice_during_program
        assert screening.advice.startswith(
            "Please stop the exercise program for now. Seek medical care now: go to an "
            "emergency department"
        )
        enrolment = sp.latest_enrolment(db, person_id)
        assert enrolment is not None and enrolment.status == "stopped"
        assert sp.stop_screening(db, enrolment) == screening


def test_program_day_in_the_future_counts_in_the_given_zone(engine: Engine, person_id: int) -> None:
    """Today is the calendar day of `now` in the person's zone: at 23:30 UTC on 2 March it
    is already 3 March in Auckland, so 3 March is accepted there and refused in UTC."""
    from zoneinfo import ZoneInfo

    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    with Session(engine) as db:
        sp.onboard(db, person_id, no_flags(), baseline(), now=T0)
        with pytest.raises(ConfigurationError, match="taken_on=2026-03-03 is in the future"):
            sp.log_medication(db, person_id, 1, taken_on="2026-03-03", now=late, tz=UTC)
        entry = sp.log_medication(
            db, person_id, 1, taken_on="2026-03-03", now=late, tz=ZoneInfo("Pacific/Auckland")
        )
        assert entry.taken_on == "2026-03-03"


def test_program_tracking_round_trip(engine: Engine, person_id: int) -> None:
    with Session(engine) as db:
        sp.onboard(db, person_id, no_flags(), baseline(), now=T0)
        sp.daily_checkin(
            db,
            person_id,
            vas_mm=48.5,
            doses_per_day=2,
            taken_on=date(2026, 3, 3),
            now=T0 + timedelta(days=1),
            tz=UTC,
        )
        # A second check-in the same day replaces that day's medication entry.
        sp.daily_checkin(
            db, person_id, vas_mm=40, doses_per_day=1, taken_on="2026-03-03", note="better"
        )
        sp.log_medication(db, person_id, 0, taken_on="2026-03-04")
        sp.add_weekly_psfs(
            db, person_id, {"Sitting for an hour": 6, "Putting on socks": 4}, now=T0 + timedelta(7)
        )
    with Session(engine) as db:
        mornings = db.scalars(select(PainEntry.vas_mm).where(PainEntry.context == "morning"))
        assert sorted(mornings) == [40.0, 48.5]
        meds = sp.list_medication(db, person_id)
        assert [(m.taken_on, m.doses_per_day, m.note) for m in meds] == [
            ("2026-03-03", 1, "better"),
            ("2026-03-04", 0, ""),
        ]
        weekly = [
            (e.activity, e.score) for e in sp.list_psfs(db, person_id) if e.context == "weekly"
        ]
        assert weekly == [("Putting on socks", 4), ("Sitting for an hour", 6)]


def test_program_decisions_round_trip(engine: Engine, person_id: int) -> None:
    with Session(engine) as db:
        enrolment_id = sp.onboard(db, person_id, no_flags(), baseline(), now=T0).enrolment.id
        sp.add_decision(
            db,
            enrolment_id,
            week=2,
            kind="progress",
            prescription={"pelvic-tilt": {"sets": 2, "reps": 10, "hold_s": 5.0}},
            reasons=[{"rule": "traffic-light", "value": "green"}],
            decided_utc=T0 + timedelta(days=7),
        )
    with Session(engine) as db:
        [decision] = sp.list_decisions(db, enrolment_id)
        assert decision.person_id == person_id and decision.week == 2
        assert decision.prescription["pelvic-tilt"]["hold_s"] == 5.0
        assert decision.reasons == [{"rule": "traffic-light", "value": "green"}]
        with pytest.raises(ConfigurationError, match="week=0: program weeks are whole numbers"):
            sp.add_decision(db, enrolment_id, week=0, kind="hold", prescription={}, reasons=[])
        with pytest.raises(ConfigurationError, match="no program with id 999"):
            sp.add_decision(db, 999, week=1, kind="hold", prescription={}, reasons=[])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda db, p: sp.daily_checkin(
                db, p, vas_mm=101, doses_per_day=0, taken_on="2026-03-03"
            ),
            "vas_mm=101 is outside the 0–100 mm visual analogue scale",
        ),
        (
            lambda db, p: sp.daily_checkin(
                db, p, vas_mm=10, doses_per_day=25, taken_on="2026-03-03"
            ),
            "doses_per_day=25: give a whole number from 0 to 24",
        ),
        (
            lambda db, p: sp.daily_checkin(db, p, vas_mm=10, doses_per_day=1, taken_on="3/3/2026"),
            "taken_on='3/3/2026' is not a day: use YYYY-MM-DD",
        ),
        (  # a day after today (the day of `now` in the zone) has not happened yet
            lambda db, p: sp.daily_checkin(
                db,
                p,
                vas_mm=10,
                doses_per_day=1,
                taken_on="2026-03-05",
                now=T0 + timedelta(days=2),
                tz=UTC,
            ),
            r"taken_on=2026-03-05 is in the future \(today is 2026-03-04 on this server's "
            r"calendar\): give today's date or an earlier day \(YYYY-MM-DD\); nothing was saved",
        ),
        (
            lambda db, p: sp.daily_checkin(
                db, p, vas_mm=10, doses_per_day=1, taken_on=date(2099, 1, 1)
            ),
            r"taken_on=2099-01-01 is in the future",
        ),
        (
            lambda db, p: sp.log_medication(db, p, 1, taken_on="2099-01-01"),
            r"taken_on=2099-01-01 is in the future",
        ),
        (
            lambda db, p: sp.add_weekly_psfs(
                db, p, {"Putting on socks": 11, "Sitting for an hour": 1}
            ),
            r"scores\['Putting on socks'\]=11: give a whole number from 0 to 10",
        ),
        (
            lambda db, p: sp.add_weekly_psfs(db, p, {"Putting on socks": 3, "Running": 1}),
            "missing: 'Sitting for an hour'; not chosen at onboarding: 'Running'",
        ),
        (
            lambda db, p: sp.onboard(db, p, no_flags(), baseline()),
            "already has an active program",
        ),
        (
            lambda db, p: sp.onboard(db, p, {"fever-unwell": True}, None),
            "unanswered: saddle-bladder-bowel",
        ),
    ],
)
def test_program_bad_input_names_the_field_and_writes_nothing(
    engine: Engine, person_id: int, call: object, message: str
) -> None:
    with Session(engine) as db:
        sp.onboard(db, person_id, no_flags(), baseline(), now=T0)
        before = counts(db) | {"pain": count(db, PainEntry)}
    with Session(engine) as db, pytest.raises(ConfigurationError, match=message):
        call(db, person_id)  # type: ignore[operator]
    with Session(engine) as db:
        assert counts(db) | {"pain": count(db, PainEntry)} == before


def test_program_clear_screening_needs_a_baseline(engine: Engine, person_id: int) -> None:
    with Session(engine) as db, pytest.raises(ConfigurationError, match="baseline: no red flag"):
        sp.onboard(db, person_id, no_flags(), None)
    with Session(engine) as db:
        assert all(n == 0 for n in counts(db).values())


def test_program_weekly_psfs_is_all_or_nothing(engine: Engine, person_id: int) -> None:
    """The second activity's score is refused after the first row was built: nothing is kept."""
    with Session(engine) as db:
        sp.onboard(db, person_id, no_flags(), baseline(), now=T0)
    with Session(engine) as db, pytest.raises(ConfigurationError, match="Sitting for an hour"):
        sp.add_weekly_psfs(db, person_id, {"Putting on socks": 4, "Sitting for an hour": -1})
    with Session(engine) as db:
        assert count(db, PsfsEntry) == 2  # only the baseline


def test_program_check_constraints(engine: Engine, person_id: int) -> None:
    """The database refuses rows the services would never write (defence in depth)."""
    bad_rows = [
        ProgramEnrolment(person_id=person_id, status="paused", schedule={}, sensors=[]),
        ProgramEnrolment(  # active without a baseline
            person_id=person_id, status="active", schedule={}, sensors=[]
        ),
        ProgramEnrolment(  # stopped without a reason
            person_id=person_id, status="stopped", ended_utc=T0, schedule={}, sensors=[]
        ),
        ProgramEnrolment(
            person_id=person_id,
            status="active",
            baseline_vas_mm=120,
            baseline_doses_per_day=0,
            schedule={},
            sensors=[],
        ),
    ]
    for row in bad_rows:
        with Session(engine) as db, pytest.raises(IntegrityError):
            db.add(row)
            db.commit()
    with Session(engine) as db:
        enrolment_id = sp.onboard(db, person_id, no_flags(), baseline(), now=T0).enrolment.id
    more = [
        PsfsEntry(
            person_id=person_id, enrolment_id=enrolment_id, context="weekly", activity="x", score=11
        ),
        PsfsEntry(
            person_id=person_id, enrolment_id=enrolment_id, context="daily", activity="x", score=1
        ),
        MedicationEntry(person_id=person_id, taken_on="2026-03-03", doses_per_day=-1),
        MedicationEntry(person_id=person_id, taken_on="March 3", doses_per_day=1),
        RedFlagScreening(  # a stop without urgency
            person_id=person_id,
            context="onboarding",
            answers={},
            flagged=[],
            result="stop",
            advice="x",
            red_flags_version=1,
        ),
        ProgramDecision(
            person_id=person_id,
            enrolment_id=enrolment_id,
            week=0,
            kind="hold",
            prescription={},
            reasons=[],
        ),
        # A second active program for the same person (partial unique index).
        ProgramEnrolment(
            person_id=person_id,
            status="active",
            baseline_vas_mm=10,
            baseline_doses_per_day=0,
            schedule={},
            sensors=[],
        ),
    ]
    for row in more:
        with Session(engine) as db, pytest.raises(IntegrityError):
            db.add(row)
            db.commit()


def test_program_records_go_with_their_person(engine: Engine, person_id: int) -> None:
    with Session(engine) as db:
        sp.onboard(db, person_id, no_flags(), baseline(), now=T0)
        sp.daily_checkin(db, person_id, vas_mm=30, doses_per_day=1, taken_on="2026-03-03")
    with Session(engine) as db:
        db.execute(text("DELETE FROM people WHERE id = :id"), {"id": person_id})
        db.commit()
        assert count(db, Person) == 0
        assert all(n == 0 for n in counts(db).values())


def test_program_two_onboardings_at_once_leave_one_active_program(
    engine: Engine, person_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check for an active program passed in two processes at once: the partial unique
    index refuses the second, which gets a clear error and writes nothing."""
    with Session(engine) as db:
        sp.onboard(db, person_id, no_flags(), baseline(), now=T0)
        before = counts(db)
    monkeypatch.setattr(sp, "active_enrolment", lambda db, person_id: None)
    with Session(engine) as db, pytest.raises(sp.EnrolmentStateError, match="at the same time"):
        sp.onboard(db, person_id, no_flags(), baseline(), now=T0)
    with Session(engine) as db:
        assert counts(db) == before
