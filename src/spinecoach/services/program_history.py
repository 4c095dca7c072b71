"""A program's history for the engine, built from what the store read: one
:class:`~spinecoach.program.model.DayLog` per program day (see
:mod:`spinecoach.services.program` for what each field holds), and the calendar it is
counted in (program day 1 = the local day the program started).

The queries are the store's (:mod:`spinecoach.store.program_queries`, plain values in,
rows out); the grouping into days and slots is here; the rules that judge the days are
the pure :mod:`spinecoach.program` modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

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


@dataclass
class _Group:
    """The sessions of one day and slot: reps by technique, the first VAS before and the
    last VAS after."""

    exercises: dict[str, list[RepOutcome]] = field(default_factory=dict)
    before: float | None = None
    after: float | None = None


@dataclass
class _Sessions:
    groups: dict[tuple[int, str], _Group] = field(default_factory=dict)
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


def _add_reps(group: _Group, record: SessionRecord, current: Prescription) -> None:
    dose = current.dose(record.technique)
    hold = dose.hold_s if dose is not None else 0.0
    reps = group.exercises.setdefault(record.technique, [])
    for rep in sorted(record.reps, key=lambda r: (r.set_index, r.rep_index)):
        share = None
        if hold > 0 and rep.hold_s is not None:
            share = round(float(rep.hold_s) / hold, 3)
        reps.append(RepOutcome(int(rep.quality), share, tuple(rep.fault_names)))


def _sessions(
    db: Session,
    enrolment: ProgramEnrolment,
    day_of: DayOf,
    current: Prescription,
    p: Protocol,
) -> _Sessions:
    """The counted sessions grouped by day and slot, desk breaks counted, sessions without
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
        slot = slot_of(record.technique, p)
        if slot == "desk-break":
            out.breaks[d] = out.breaks.get(d, 0) + 1
            continue
        vas = pains.get(record.id, {})
        if "before" not in vas or "after" not in vas:
            out.unrated.append(record.id)
            continue
        group = out.groups.setdefault((d, slot), _Group())
        if group.before is None:
            group.before = vas["before"]
        group.after = vas["after"]
        _add_reps(group, record, current)
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


def _day_sessions(groups: dict[tuple[int, str], _Group], d: int) -> tuple[SessionOutcome, ...]:
    return tuple(
        SessionOutcome(
            slot,
            g.before,
            g.after,
            tuple(ExerciseOutcome(t, tuple(r)) for t, r in g.exercises.items()),
        )
        for slot in ("morning", "main")
        if (g := groups.get((d, slot))) is not None and g.before is not None and g.after is not None
    )


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
    sessions = _sessions(db, enrolment, day_of, current, p)
    answers = _red_flag_answers(db, person_id, start, day_of)
    postures = posture_days(db, person_id, start, enrolment.ended_utc, day_of)
    logs = tuple(
        DayLog(
            d,
            mornings.get(d),
            _day_sessions(sessions.groups, d),
            desk_breaks_done=sessions.breaks.get(d, 0),
            red_flag_answers=answers.get(d),
            posture=postures.get(d),
        )
        for d in range(1, last_day + 1)
    )
    return logs, tuple(sessions.unrated)
