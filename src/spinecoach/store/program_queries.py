"""Reading the 6-week program's records (see :mod:`spinecoach.store.program` for the
tables): a person's enrolments, screenings, PSFS and medication entries and the engine's
decisions, each query on plain values (ids, an enrolment row). Persistence only: what the
records mean is decided in :mod:`spinecoach.program.enrolment`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from spinecoach.program import onboarding as ob
from spinecoach.program.enrolment import STOP_REFER, EnrolmentStateError
from spinecoach.store.models import (
    MedicationEntry,
    PainEntry,
    PostureMinute,
    ProgramDecision,
    ProgramEnrolment,
    PsfsEntry,
    RedFlagScreening,
    SessionRecord,
    SittingBout,
)
from spinecoach.store.repository import person_or_raise


def active_enrolment(db: Session, person_id: int) -> ProgramEnrolment | None:
    """The person's ``active`` program, if any."""
    person_or_raise(db, person_id)
    query = select(ProgramEnrolment).where(
        ProgramEnrolment.person_id == person_id, ProgramEnrolment.status == "active"
    )
    return db.scalars(query).first()


def latest_enrolment(db: Session, person_id: int) -> ProgramEnrolment | None:
    """The person's newest program, whatever its status."""
    person_or_raise(db, person_id)
    query = (
        select(ProgramEnrolment)
        .where(ProgramEnrolment.person_id == person_id)
        .order_by(ProgramEnrolment.started_utc.desc(), ProgramEnrolment.id.desc())
    )
    return db.scalars(query).first()


def list_screenings(db: Session, person_id: int) -> list[RedFlagScreening]:
    """Every red-flag screening of a person, oldest first."""
    person_or_raise(db, person_id)
    query = (
        select(RedFlagScreening)
        .where(RedFlagScreening.person_id == person_id)
        .order_by(RedFlagScreening.screened_utc, RedFlagScreening.id)
    )
    return list(db.scalars(query))


def stop_screening(db: Session, enrolment: ProgramEnrolment) -> RedFlagScreening | None:
    """The newest screening with a red flag that belongs to ``enrolment`` (the one that
    stopped it), None when it was not stopped by a red flag."""
    query = (
        select(RedFlagScreening)
        .where(RedFlagScreening.enrolment_id == enrolment.id, RedFlagScreening.result == "stop")
        .order_by(RedFlagScreening.screened_utc.desc(), RedFlagScreening.id.desc())
    )
    return db.scalars(query).first()


def stop_decision(db: Session, enrolment: ProgramEnrolment) -> ProgramDecision | None:
    """The newest ``stop-refer`` decision of ``enrolment`` (the engine's stop: a jump in
    pain or a red flag), None when the engine never stopped it."""
    query = (
        select(ProgramDecision)
        .where(ProgramDecision.enrolment_id == enrolment.id, ProgramDecision.kind == STOP_REFER)
        .order_by(ProgramDecision.decided_utc.desc(), ProgramDecision.id.desc())
    )
    return db.scalars(query).first()


def list_psfs(db: Session, person_id: int, *, enrolment_id: int | None = None) -> list[PsfsEntry]:
    """PSFS ratings of a person (optionally one enrolment's), oldest first."""
    person_or_raise(db, person_id)
    query = select(PsfsEntry).where(PsfsEntry.person_id == person_id)
    if enrolment_id is not None:
        query = query.where(PsfsEntry.enrolment_id == enrolment_id)
    return list(db.scalars(query.order_by(PsfsEntry.recorded_utc, PsfsEntry.id)))


def list_medication(db: Session, person_id: int) -> list[MedicationEntry]:
    """Medication entries of a person, by day."""
    person_or_raise(db, person_id)
    query = (
        select(MedicationEntry)
        .where(MedicationEntry.person_id == person_id)
        .order_by(MedicationEntry.taken_on)
    )
    return list(db.scalars(query))


def list_decisions(db: Session, enrolment_id: int) -> list[ProgramDecision]:
    """The program engine's decisions for one enrolment, oldest first."""
    query = (
        select(ProgramDecision)
        .where(ProgramDecision.enrolment_id == enrolment_id)
        .order_by(ProgramDecision.decided_utc, ProgramDecision.id)
    )
    return list(db.scalars(query))


def baseline_activities(db: Session, enrolment: ProgramEnrolment) -> list[str]:
    """The PSFS activities chosen at onboarding, in the order given."""
    query = (
        select(PsfsEntry.activity)
        .where(PsfsEntry.enrolment_id == enrolment.id, PsfsEntry.context == "baseline")
        .order_by(PsfsEntry.id)
    )
    return list(db.scalars(query))


def enrolment_schedule(enrolment: ProgramEnrolment) -> ob.Schedule:
    """The stored schedule of an enrolment as a validated :class:`Schedule`."""
    if not enrolment.schedule:
        raise EnrolmentStateError(
            f"program {enrolment.id} has no schedule (it was stopped at the screening)"
        )
    return ob.schedule_from_dict(enrolment.schedule)


def require_active(db: Session, person_id: int) -> ProgramEnrolment:
    """The person's ``active`` program; :class:`EnrolmentStateError` when there is none."""
    enrolment = active_enrolment(db, person_id)
    if enrolment is None:
        raise EnrolmentStateError(
            f"person {person_id} has no active program; complete onboarding first"
        )
    return enrolment


# What the program engine reads of a program's days (see spinecoach.services.program) -----
#: Session statuses whose reps and pain ratings count for the program.
COUNTED_STATUSES = ("completed", "interrupted")


def checkin_days(db: Session, person_id: int) -> dict[datetime, date]:
    """The local day each medication entry was recorded for, by its ``recorded_utc`` (a
    check-in's morning pain entry shares that time)."""
    return {
        m.recorded_utc: date.fromisoformat(m.taken_on)
        for m in db.scalars(select(MedicationEntry).where(MedicationEntry.person_id == person_id))
    }


def morning_pain(db: Session, person_id: int) -> list[PainEntry]:
    """The person's ``morning`` pain entries, oldest first."""
    query = (
        select(PainEntry)
        .where(PainEntry.person_id == person_id, PainEntry.context == "morning")
        .order_by(PainEntry.recorded_utc, PainEntry.id)
    )
    return list(db.scalars(query))


def counted_sessions(
    db: Session, person_id: int, start_utc: datetime, end_utc: datetime | None = None
) -> list[SessionRecord]:
    """The person's sessions with a counted status (:data:`COUNTED_STATUSES`) started from
    ``start_utc`` (to ``end_utc`` when given), oldest first."""
    query = select(SessionRecord).where(
        SessionRecord.person_id == person_id,
        SessionRecord.started_utc >= start_utc,
        SessionRecord.status.in_(COUNTED_STATUSES),
    )
    if end_utc is not None:
        query = query.where(SessionRecord.started_utc <= end_utc)
    return list(db.scalars(query.order_by(SessionRecord.started_utc, SessionRecord.id)))


def session_slot(record: SessionRecord) -> str | None:
    """The program slot a session was started for, as the live ``start`` named it
    (``morning``, ``main``, ``deskbreak``; kept in its ``live_config``), None for a free
    choice or a session stored before slots were kept."""
    slot = (record.live_config or {}).get("slot")
    return slot if isinstance(slot, str) else None


def session_dose(record: SessionRecord) -> dict[str, Any] | None:
    """The prescribed dose a session was started with (``reps``, ``sets``, ``hold_s``,
    ``tempo_s``; kept in its ``live_config``), None when it used the technique's own."""
    dose = (record.live_config or {}).get("dose")
    return dict(dose) if isinstance(dose, dict) else None


def session_pain(db: Session, session_ids: Sequence[int]) -> dict[int, dict[str, float]]:
    """The pain ratings (mm) of each session by context (``before``, ``after``; the last
    entry of a context counts)."""
    pains: dict[int, dict[str, float]] = {}
    if not session_ids:
        return pains
    query = (
        select(PainEntry)
        .where(PainEntry.session_id.in_(list(session_ids)))
        .order_by(PainEntry.recorded_utc, PainEntry.id)
    )
    for pain in db.scalars(query):
        if pain.session_id is not None:
            pains.setdefault(pain.session_id, {})[pain.context] = float(pain.vas_mm)
    return pains


def rescreenings(db: Session, person_id: int, start_utc: datetime) -> list[RedFlagScreening]:
    """The person's later screenings (``rescreen``) from ``start_utc``, oldest first."""
    query = select(RedFlagScreening).where(
        RedFlagScreening.person_id == person_id,
        RedFlagScreening.context == "rescreen",
        RedFlagScreening.screened_utc >= start_utc,
    )
    return list(db.scalars(query.order_by(RedFlagScreening.screened_utc)))


def trusted_posture_minutes(
    db: Session, person_id: int, start_utc: datetime, end_utc: datetime | None
) -> list[PostureMinute]:
    """The person's trusted posture minutes from ``start_utc`` (to ``end_utc`` when given)."""
    query = select(PostureMinute).where(
        PostureMinute.person_id == person_id,
        PostureMinute.minute_utc >= start_utc,
        PostureMinute.trusted.is_(True),
    )
    if end_utc is not None:
        query = query.where(PostureMinute.minute_utc <= end_utc)
    return list(db.scalars(query))


def sitting_bouts_from(db: Session, person_id: int, start_utc: datetime) -> list[SittingBout]:
    """The person's sitting bouts that started from ``start_utc``."""
    query = select(SittingBout).where(
        SittingBout.person_id == person_id, SittingBout.start_utc >= start_utc
    )
    return list(db.scalars(query))
