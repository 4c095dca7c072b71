"""Storing the 6-week program's tracking (see :mod:`spinecoach.store.program` for the
tables): the daily check-in (the morning VAS as a ``morning`` pain entry and the day's
medication), medication on its own, and the weekly PSFS. Each function is one
transaction; the values are checked by :mod:`spinecoach.program.onboarding` and
:mod:`spinecoach.program.enrolment` before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from spinecoach.program import onboarding as ob
from spinecoach.program.enrolment import check_day, check_weekly_scores
from spinecoach.store.models import MedicationEntry, PainEntry, PsfsEntry
from spinecoach.store.program_queries import active_enrolment, baseline_activities, require_active
from spinecoach.store.repository import aware_utc, in_transaction, person_or_raise


@dataclass(frozen=True)
class CheckinOutcome:
    """A daily check-in: the morning pain entry and the day's medication entry."""

    pain: PainEntry
    medication: MedicationEntry


def _medication(
    db: Session,
    person_id: int,
    enrolment_id: int | None,
    doses: int,
    day: str,
    note: str,
    when: datetime,
) -> MedicationEntry:
    entry = db.scalars(
        select(MedicationEntry).where(
            MedicationEntry.person_id == person_id, MedicationEntry.taken_on == day
        )
    ).first()
    if entry is None:
        entry = MedicationEntry(person_id=person_id, taken_on=day)
        db.add(entry)
    entry.enrolment_id = enrolment_id
    entry.doses_per_day = doses
    entry.note = note
    entry.recorded_utc = when
    db.flush()
    return entry


def _day_text(taken_on: date | str, when: datetime, tz: tzinfo | None) -> str:
    """``taken_on`` as ``YYYY-MM-DD``, not after the day of ``when`` in ``tz``."""
    return check_day(taken_on, ob.server_today(when, tz)).isoformat()


def log_medication(
    db: Session,
    person_id: int,
    doses_per_day: int,
    *,
    taken_on: date | str,
    note: str = "",
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> MedicationEntry:
    """Record the pain-medication doses of a local day (replacing that day's entry).

    ``taken_on`` may not come after today, the day of ``now`` in ``tz`` (default: the
    server's zone, :func:`spinecoach.program.onboarding.server_today`)."""
    doses = ob.check_doses(doses_per_day)
    text = ob.check_note(note)
    when = aware_utc(now, "now")
    day = _day_text(taken_on, when, tz)
    with in_transaction(db):
        person_or_raise(db, person_id)
        enrolment = active_enrolment(db, person_id)
        return _medication(
            db, person_id, None if enrolment is None else enrolment.id, doses, day, text, when
        )


def daily_checkin(
    db: Session,
    person_id: int,
    *,
    vas_mm: float,
    doses_per_day: int,
    taken_on: date | str,
    note: str = "",
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> CheckinOutcome:
    """The daily check-in of an active program: the morning VAS (a ``morning`` pain
    entry) and the day's medication, both or neither. ``taken_on`` may not come after
    today, the day of ``now`` in ``tz`` (default: the server's zone)."""
    vas = ob.check_vas_mm(vas_mm)
    doses = ob.check_doses(doses_per_day)
    text = ob.check_note(note)
    when = aware_utc(now, "now")
    day = _day_text(taken_on, when, tz)
    with in_transaction(db):
        enrolment = require_active(db, person_id)
        # Not repository.add_pain: its own transaction would commit this one early when
        # the caller's session had auto-begun (see repository.in_transaction).
        pain = PainEntry(person_id=person_id, vas_mm=vas, context="morning", recorded_utc=when)
        db.add(pain)
        medication = _medication(db, person_id, enrolment.id, doses, day, text, when)
    return CheckinOutcome(pain=pain, medication=medication)


def add_weekly_psfs(
    db: Session,
    person_id: int,
    scores: Mapping[str, object],
    *,
    now: datetime | None = None,
) -> list[PsfsEntry]:
    """The weekly PSFS of an active program: a 0–10 score for every activity chosen at
    onboarding (``scores``: activity → score), all or nothing."""
    when = aware_utc(now, "now")
    with in_transaction(db):
        enrolment = require_active(db, person_id)
        activities = baseline_activities(db, enrolment)
        checked = check_weekly_scores(activities, scores)
        entries = [
            PsfsEntry(
                person_id=person_id,
                enrolment_id=enrolment.id,
                recorded_utc=when,
                context="weekly",
                activity=activity,
                score=score,
            )
            for activity, score in checked
        ]
        db.add_all(entries)
        db.flush()
    return entries
