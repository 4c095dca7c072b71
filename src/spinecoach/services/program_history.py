"""A program's history for the engine, built from what the store read: one
:class:`~spinecoach.program.model.DayLog` per program day (see
:mod:`spinecoach.services.program` for what each field holds), and the calendar it is
counted in (program day 1 = the local day the program started).

Each stored session is one :class:`~spinecoach.program.model.SessionOutcome` with its own
pain before and after and its id, local date and technique, so a reason cites a session
that exists (issue 15); a day's ``slots_done`` (:func:`slots_done_of`) counts the
prescribed slots done, which adherence counts (a session of a technique the prescription
does not name makes no slot done).

The queries are the store's (:mod:`spinecoach.store.program_queries`, plain values in,
rows out); the grouping into days and slots is here; the rules that judge the days are
the pure :mod:`spinecoach.program` modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Final

from sqlalchemy.orm import Session

from spinecoach.program.model import (
    DayLog,
    ExerciseOutcome,
    PostureSummary,
    Prescription,
    RepOutcome,
    SessionOutcome,
)
from spinecoach.program.onboarding import server_zone
from spinecoach.program.protocol import Protocol, default_protocol
from spinecoach.store import program_queries as queries
from spinecoach.store.models import ProgramEnrolment, SessionRecord

#: Session statuses whose reps and pain ratings count for the program.
COUNTED_STATUSES = queries.COUNTED_STATUSES

#: A program day counts as a posture day with at least this many trusted minutes.
MIN_POSTURE_MINUTES = 60

#: The program day of a time or local day, None outside the days asked for.
DayOf = Callable[[datetime | date], int | None]


def zone_or_server(tz: tzinfo | None) -> tzinfo:
    """``tz``, else the server's zone: one notion of the person's calendar everywhere
    (see :mod:`spinecoach.program.onboarding`)."""
    return tz if tz is not None else server_zone()


def local_day(when: datetime, tz: tzinfo) -> date:
    """The calendar day of the aware time ``when`` in ``tz``."""
    return when.astimezone(tz).date()


def program_day(start_utc: datetime, when: datetime | date, tz: tzinfo) -> int:
    """The program day (1 = the local day the program started) of ``when``.

    >>> from datetime import UTC
    >>> program_day(datetime(2026, 3, 2, 7, tzinfo=UTC), date(2026, 3, 4), UTC)
    3
    """
    day = when if not isinstance(when, datetime) else local_day(when, tz)
    return (day - local_day(start_utc, tz)).days + 1


def slot_of(technique: str, protocol: Protocol) -> str:
    """The slot (``morning``, ``main``, ``desk-break``) of ``technique`` in the protocol's
    levels (the first level naming it); ``main`` for a technique no level names."""
    for level in protocol.levels:
        for dose in level.exercises:
            if dose.technique == technique:
                return dose.slot
    return "main"


#: The wire's slot names (the live ``start`` message) → the protocol's.
WIRE_SLOTS: Final[dict[str, str]] = {
    "morning": "morning",
    "main": "main",
    "deskbreak": "desk-break",
}


def session_program_slot(record: SessionRecord, protocol: Protocol) -> str:
    """The protocol slot a stored session counts in for the pain rules: the slot it was
    started for (:func:`~spinecoach.store.program_queries.session_slot`), else its
    technique's (:func:`slot_of`)."""
    wire = queries.session_slot(record)
    if wire in WIRE_SLOTS:
        return WIRE_SLOTS[wire]
    return slot_of(record.technique, protocol)


def slots_done_of(techniques: Iterable[str], current: Prescription) -> dict[str, int]:
    """The prescribed slots done by sessions of ``techniques`` on one day: ``morning`` and
    ``main`` 1 when every technique ``current`` puts in the slot was done (a cat-cow
    session does not make the prescribed hip-hinge done), ``desk-break`` the sessions of
    a desk-break technique.

    >>> from spinecoach.program.protocol import default_protocol
    >>> rx = Prescription.of_level(default_protocol(), 1, since_day=1)
    >>> slots_done_of(["cat-cow", "cat-cow", "hip-hinge", "pelvic-tilt"], rx)
    {'morning': 1, 'main': 0, 'desk-break': 0}
    """
    done = list(techniques)
    out: dict[str, int] = {}
    for slot in ("morning", "main"):
        asked = {d.technique for d in current.exercises if d.slot == slot}
        out[slot] = int(bool(asked) and asked <= set(done))
    breaks = {d.technique for d in current.exercises if d.slot == "desk-break"}
    out["desk-break"] = sum(t in breaks for t in done)
    return out


@dataclass
class _Sessions:
    """The counted sessions by day: the rated ones as outcomes (one per session, in the
    order they started), the techniques done, desk breaks, the unrated ids."""

    outcomes: dict[int, list[SessionOutcome]] = field(default_factory=dict)
    techniques: dict[int, list[str]] = field(default_factory=dict)
    breaks: dict[int, int] = field(default_factory=dict)
    unrated: list[int] = field(default_factory=list)


def _mornings(db: Session, person_id: int, tz: tzinfo, day_of: DayOf) -> dict[int, float]:
    """Morning VAS by program day; a check-in's pain entry shares ``recorded_utc`` with
    its medication entry, whose ``taken_on`` says the day it was for."""
    med_day = queries.checkin_days(db, person_id)
    mornings: dict[int, float] = {}
    for entry in queries.morning_pain(db, person_id):
        d = day_of(med_day.get(entry.recorded_utc, local_day(entry.recorded_utc, tz)))
        if d is not None:
            mornings[d] = float(entry.vas_mm)
    return mornings


def _exercise(record: SessionRecord, current: Prescription) -> ExerciseOutcome:
    """The session's reps, each hold as a share of the hold asked: the session's own
    prescribed dose when it was started with one, else ``current``'s."""
    own = queries.session_dose(record)
    dose = current.dose(record.technique)
    hold = dose.hold_s if dose is not None else 0.0
    if own is not None and isinstance(own.get("hold_s"), int | float):
        hold = float(own["hold_s"])
    reps = []
    for rep in sorted(record.reps, key=lambda r: (r.set_index, r.rep_index)):
        share = None
        if hold > 0 and rep.hold_s is not None:
            share = round(float(rep.hold_s) / hold, 3)
        reps.append(RepOutcome(int(rep.quality), share, tuple(rep.fault_names)))
    return ExerciseOutcome(record.technique, tuple(reps))


def _sessions(
    db: Session,
    enrolment: ProgramEnrolment,
    day_of: DayOf,
    tz: tzinfo,
    current: Prescription,
    p: Protocol,
) -> _Sessions:
    """The counted sessions by day: each rated session one outcome that names it (id,
    local date, technique, slot), techniques done, desk breaks counted, sessions without
    both VAS ratings listed."""
    out = _Sessions()
    records = queries.counted_sessions(
        db, enrolment.person_id, enrolment.started_utc, enrolment.ended_utc
    )
    pains = queries.session_pain(db, [r.id for r in records])
    for record in records:
        d = day_of(record.started_utc)
        if d is None:
            continue
        out.techniques.setdefault(d, []).append(record.technique)
        slot = session_program_slot(record, p)
        if slot == "desk-break":
            out.breaks[d] = out.breaks.get(d, 0) + 1
            continue
        vas = pains.get(record.id, {})
        if "before" not in vas or "after" not in vas:
            out.unrated.append(record.id)
            continue
        outcome = SessionOutcome(
            slot,  # type: ignore[arg-type]  # one of SLOTS (checked by SessionOutcome)
            vas["before"],
            vas["after"],
            (_exercise(record, current),),
            session_id=record.id,
            date=local_day(record.started_utc, tz).isoformat(),
            technique=record.technique,
        )
        out.outcomes.setdefault(d, []).append(outcome)
    return out


def _red_flag_answers(
    db: Session, person_id: int, start: datetime, day_of: DayOf
) -> dict[int, dict[str, bool]]:
    """The re-screenings' answers by day (a "yes" in any of the day's counts)."""
    answers: dict[int, dict[str, bool]] = {}
    for screening in queries.rescreenings(db, person_id, start):
        d = day_of(screening.screened_utc)
        if d is None:
            continue
        merged = answers.setdefault(d, {})
        for key, value in screening.answers.items():
            merged[key] = merged.get(key, False) or bool(value)
    return answers


def posture_days(
    db: Session,
    person_id: int,
    start: datetime,
    end: datetime | None,
    day_of: DayOf,
) -> dict[int, PostureSummary]:
    """Per program day, from the stored posture minutes and sitting bouts (issue 7):
    minutes sitting and slouched (trusted minutes only) and the longest sitting bout.
    Days with fewer than MIN_POSTURE_MINUTES trusted minutes are left out."""
    sitting: dict[int, float] = {}
    slouched: dict[int, float] = {}
    counted: dict[int, int] = {}
    for minute in queries.trusted_posture_minutes(db, person_id, start, end):
        d = day_of(minute.minute_utc)
        if d is None:
            continue
        counted[d] = counted.get(d, 0) + 1
        sitting[d] = sitting.get(d, 0.0) + minute.sitting_upright_s + minute.sitting_slouched_s
        slouched[d] = slouched.get(d, 0.0) + minute.sitting_slouched_s
    longest: dict[int, float] = {}
    for bout in queries.sitting_bouts_from(db, person_id, start):
        d = day_of(bout.start_utc)
        if d is not None:
            minutes = (bout.end_utc - bout.start_utc).total_seconds() / 60.0
            longest[d] = max(longest.get(d, 0.0), minutes)
    return {
        d: PostureSummary(
            round(sitting[d] / 60.0, 1), round(slouched[d] / 60.0, 1), round(longest.get(d, 0.0), 1)
        )
        for d, n in counted.items()
        if n >= MIN_POSTURE_MINUTES
    }


def build_history(
    db: Session,
    enrolment: ProgramEnrolment,
    *,
    last_day: int,
    tz: tzinfo,
    current: Prescription,
    protocol: Protocol | None = None,
) -> tuple[tuple[DayLog, ...], tuple[int, ...]]:
    """The program's :class:`DayLog` s for days 1 … ``last_day`` and the ids of the sessions
    left out for lack of VAS (see :mod:`spinecoach.services.program`). ``current`` gives
    the hold asked for (s) of each technique, for the reps' ``hold_share``."""
    p = protocol or default_protocol()
    person_id = enrolment.person_id
    start = enrolment.started_utc

    def day_of(when: datetime | date) -> int | None:
        d = program_day(start, when, tz)
        return d if 1 <= d <= last_day else None

    mornings = _mornings(db, person_id, tz, day_of)
    sessions = _sessions(db, enrolment, day_of, tz, current, p)
    answers = _red_flag_answers(db, person_id, start, day_of)
    postures = posture_days(db, person_id, start, enrolment.ended_utc, day_of)
    logs = tuple(
        DayLog(
            d,
            mornings.get(d),
            tuple(sessions.outcomes.get(d, ())),
            desk_breaks_done=sessions.breaks.get(d, 0),
            red_flag_answers=answers.get(d),
            posture=postures.get(d),
            slots_done=slots_done_of(sessions.techniques.get(d, ()), current),
        )
        for d in range(1, last_day + 1)
    )
    return logs, tuple(sessions.unrated)
