"""The program enrolment of a person, on stored data: onboarding (red-flag screening,
then the baseline), later screenings, the daily check-in, the weekly PSFS, the status
with its reminders and why a stopped program stopped, and the routine as iCalendar.

Moved out of the web routes (issue 14): the routes map HTTP to these calls and back;
the rules are here (with the store's reads and writes, :mod:`spinecoach.store.program`,
and the pure rules of :mod:`spinecoach.program`). Every call is synchronous database
work; the server runs it in a worker thread. Values are plain (no web models): the
results are the JSON-ready dicts the API returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from spinecoach.program import onboarding as ob
from spinecoach.program.calendar import reminder_times, routine_calendar
from spinecoach.program.redflags import DISCLAIMER, ScreeningResult, default_red_flags
from spinecoach.services.history import History
from spinecoach.services.program import check_can_start, program_status
from spinecoach.services.program_status import ProgramStatus, stored_status
from spinecoach.store import program as store_program
from spinecoach.store.models import PainEntry, ProgramEnrolment

__all__ = ["EnrolmentService", "enrolment_summary", "red_flag_questions", "screening_summary"]


def red_flag_questions() -> dict[str, Any]:
    """The red-flag questions asked before the program (a "yes" is a red flag)."""
    return {
        "questions": [{"id": f.id, "question": f.question} for f in default_red_flags()],
        "disclaimer": DISCLAIMER,
    }


def screening_summary(result: ScreeningResult, advice: str | None = None) -> dict[str, Any]:
    """A screening's outcome as the API shows it (``advice`` replaces the result's)."""
    return {
        "stop": result.stop,
        "urgency": result.urgency,
        "advice": result.advice if advice is None else advice,
        "reasons": list(result.reasons),
        "flagged": [f.id for f in result.flagged],
        "disclaimer": DISCLAIMER,
        "recorded": True,
    }


def _stop_details(status: ProgramStatus) -> dict[str, Any]:
    """Why a stopped program stopped, as shown when it stopped (empty if it did not stop
    on a red flag or on the engine's stop-refer decision), from the one status."""
    if status.status != "stopped" or status.stopped_by is None:
        return {}
    return {
        "stopped_by": status.stopped_by,
        "stop_advice": status.advice,
        "stop_urgency": status.urgency,
        "stop_reasons": list(status.reasons),
        "stopped_utc": status.stopped_utc,
        "reminders": [],
        "needs_clearance": status.needs_clearance,
        "stop_cause": status.cause,
    }


def enrolment_summary(
    db: Session, enrolment: ProgramEnrolment | None, status: ProgramStatus | None = None
) -> dict[str, Any]:
    """A program enrolment (None: never enrolled) as the API's status: its week, the
    reminders, for a stopped one why it stopped and whether it needs clearance, and the
    one ``program_status`` (``status``: the person's, default read from the store; left
    out when never enrolled: nothing stops a session then)."""
    if enrolment is None:
        return {"enrolled": False, "status": None}  # no stop, sessions allowed
    if status is None:
        status = stored_status(db, enrolment.person_id)
    now = datetime.now(UTC)
    out: dict[str, Any] = {
        "enrolled": enrolment.status == "active",
        "id": enrolment.id,
        "status": status.status,
        "started_utc": enrolment.started_utc.isoformat(),
        "ended_utc": None if enrolment.ended_utc is None else enrolment.ended_utc.isoformat(),
        "stop_reason": enrolment.stop_reason,
        "baseline_vas_mm": enrolment.baseline_vas_mm,
        "baseline_doses_per_day": enrolment.baseline_doses_per_day,
        "schedule": enrolment.schedule or None,
        "sensors": list(enrolment.sensors),
        "psfs_activities": store_program.baseline_activities(db, enrolment),
        "week": ob.program_week(enrolment.started_utc, now),
        "weeks": ob.PROGRAM_WEEKS,
        "reminders": [],
    }
    if enrolment.schedule:
        out["reminders"] = reminder_times(store_program.enrolment_schedule(enrolment))
    out["needs_clearance"] = False
    out.update(_stop_details(status))
    out["program_status"] = status.as_dict()
    return out


@dataclass
class EnrolmentService:
    """The program's database work for the person of ``history`` (synchronous)."""

    history: History

    def _session(self) -> Session:
        return Session(self.history.engine)

    def status(self) -> dict[str, Any]:
        """The newest program, its week, the reminders (see :func:`enrolment_summary`);
        the engine first stores a stop that is due
        (:func:`spinecoach.services.program.program_status`, the one status)."""
        with self._session() as db:
            status = program_status(db, self.history.person_id)
            enrolment = store_program.latest_enrolment(db, self.history.person_id)
            return enrolment_summary(db, enrolment, status)

    def record_clearance(self, cleared_by: str, note: str = "") -> dict[str, Any]:
        """Record a clinician's clearance of the stopped program (see
        :func:`spinecoach.store.program.record_clearance`); the status after it."""
        with self._session() as db:
            store_program.record_clearance(
                db, self.history.person_id, cleared_by=cleared_by, note=note
            )
            return program_status(db, self.history.person_id).as_dict()

    def start_check(self) -> dict[str, Any]:
        """The status when a session may start; raises
        :class:`~spinecoach.services.program_status.ProgramStoppedError` when not."""
        return check_can_start(self.history.engine, self.history.person_id).as_dict()

    def onboard(
        self,
        answers: Mapping[str, bool],
        baseline: ob.Baseline | None,
        clearance: tuple[bool, date] | None = None,
    ) -> dict[str, Any]:
        """Red-flag screening, then the baseline; a red flag stops (and is recorded).
        ``clearance``: (confirmed, seen on) of a clinician, needed after a stop (the
        store checks the day against the day of the stop)."""
        cleared = None
        if clearance is not None:
            cleared = ob.make_clearance(
                clearance[0], clearance[1], stopped_on=date.min, today=ob.server_today()
            )
        with self._session() as db:
            outcome = store_program.onboard(
                db, self.history.person_id, dict(answers), baseline, clearance=cleared
            )
            return {
                **enrolment_summary(db, outcome.enrolment),
                "screening": {**screening_summary(outcome.result), "id": outcome.screening.id},
            }

    def rescreen(self, answers: Mapping[str, bool]) -> dict[str, Any]:
        """A later screening; during a program a red flag stops it and the advice is
        :attr:`ScreeningResult.advice_during_program` (as stored with the screening)."""
        with self._session() as db:
            screening, result = store_program.rescreen(db, self.history.person_id, dict(answers))
            during = screening.enrolment_id is not None
            advice = result.advice_during_program if during else result.advice
            return {
                **screening_summary(result, advice),
                "id": screening.id,
                "program_stopped": during and result.stop,
                "screened_utc": screening.screened_utc.isoformat(),
            }

    def checkin(
        self, vas_mm: float, doses_per_day: int, note: str = "", day: date | None = None
    ) -> dict[str, Any]:
        """The daily check-in on ``day`` (default: today on the server's calendar)."""
        with self._session() as db:
            outcome = store_program.daily_checkin(
                db,
                self.history.person_id,
                vas_mm=vas_mm,
                doses_per_day=doses_per_day,
                taken_on=day or ob.server_today(),
                note=note,
            )
            pain: PainEntry = outcome.pain
            return {
                "vas_mm": pain.vas_mm,
                "context": pain.context,
                "doses_per_day": outcome.medication.doses_per_day,
                "day": outcome.medication.taken_on,
                "note": outcome.medication.note,
            }

    def psfs(self, scores: Mapping[str, int]) -> dict[str, Any]:
        """The weekly PSFS: activity → 0–10 score."""
        with self._session() as db:
            entries = store_program.add_weekly_psfs(db, self.history.person_id, dict(scores))
            return {"scores": [{"activity": e.activity, "score": e.score} for e in entries]}

    def calendar(self, start: date | None) -> tuple[str, int]:
        """The active program's routine as iCalendar text from ``start`` (default: the
        day it started), and the enrolment's id."""
        with self._session() as db:
            enrolment = store_program.active_enrolment(db, self.history.person_id)
            if enrolment is None:
                raise store_program.EnrolmentStateError(
                    "there is no active program, so no routine to export; complete onboarding first"
                )
            schedule = store_program.enrolment_schedule(enrolment)
            first = start or enrolment.started_utc.date()
            ics = routine_calendar(schedule, start=first, uid_prefix=f"program-{enrolment.id}")
            return ics, enrolment.id
