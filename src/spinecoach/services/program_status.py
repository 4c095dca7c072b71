"""One program status for every face (issue 15): never enrolled, ``active``, ``stopped``
(by a red flag or by the engine's ``stop-refer`` decision, a jump in pain, and whether a
clinician's clearance lifted the stop) or ``completed``, and whether a session may start.

Design choices:

* **One function.** :func:`stored_status` reads the status from the store: the person's
  *newest* program, what stopped it (the red-flag screening or the ``stop-refer``
  decision) and a recorded clearance (:func:`spinecoach.store.program.record_clearance`).
  :func:`spinecoach.services.program.program_status` first lets the engine store a stop
  that is due (a jump in pain known since the pain after a session was given), then
  reads this; the engine's own state (:class:`spinecoach.services.program.ProgramState`)
  carries the same value. So ``GET /api/program/status``, ``/api/program/today``,
  ``/api/program/progress`` and every session start agree.
* **Stops are enforced, not shown only.** While :attr:`ProgramStatus.needs_clearance`,
  every session start is refused with :class:`ProgramStoppedError` (the live WebSocket's
  ``program-stopped`` error, HTTP 409), naming the cause and what to do. A person with
  no program, an active or a completed one, or a stop a clinician cleared, may start
  sessions.
* **Words for the person.** ``problem`` says why sessions are paused (the cause and the
  numbers the stop cited), ``fix`` what to do (see a clinician, then record the
  clearance); the page shows both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from spinecoach.program import enrolment as rules
from spinecoach.program.enrolment import EnrolmentStateError
from spinecoach.program.redflags import default_red_flags
from spinecoach.store import program as store_program
from spinecoach.store.models import ProgramEnrolment

__all__ = [
    "CLEARANCE_FIX",
    "Clearance",
    "ProgramStatus",
    "ProgramStoppedError",
    "StopCause",
    "pending_stop_status",
    "stored_status",
]

#: What stopped a program: a red flag, a jump in pain, another ``stop-refer`` decision.
StopCause = Literal["red-flag", "pain-jump", "stop-refer"]

#: What to do while sessions are refused (the ``fix`` of the refusal).
CLEARANCE_FIX = (
    "Please do no exercise sessions until a doctor or physiotherapist has seen you and "
    "agreed that you can exercise; once they have, record their clearance on the Program "
    "page and your sessions start again."
)


@dataclass(frozen=True)
class Clearance:
    """A clinician's clearance of a stop: who, a note, when (ISO 8601, UTC)."""

    cleared_by: str
    note: str
    cleared_utc: str


@dataclass(frozen=True)
class ProgramStatus:
    """The person's program status (see the module docstring).

    ``status``: None (never enrolled), ``active``, ``stopped`` or ``completed``;
    ``stopped_by``: what stopped it (None when it was not stopped by a red flag or the
    engine); ``cause``: that in words ("your pain jumped"); ``reasons``: what the stop
    cited (the red flags' reasons, or the pain numbers); ``advice``: what the person was
    told when it stopped; ``urgency``: a red flag's urgency (None for a jump in pain);
    ``needs_clearance``: sessions are refused until a clinician's clearance is recorded;
    ``clearance``: the recorded clearance of this stop.
    """

    status: str | None
    enrolment_id: int | None = None
    stopped_by: StopCause | None = None
    cause: str | None = None
    reasons: tuple[str, ...] = ()
    advice: str | None = None
    urgency: str | None = None
    stopped_utc: str | None = None
    needs_clearance: bool = False
    clearance: Clearance | None = None

    @property
    def sessions_allowed(self) -> bool:
        """Whether a session may start (no stop waiting for a clinician's clearance)."""
        return not self.needs_clearance

    @property
    def problem(self) -> str | None:
        """Why sessions are refused, in words for the person (None: they are not)."""
        if not self.needs_clearance:
            return None
        cited = f" ({self.reasons[0]})" if self.stopped_by != "red-flag" and self.reasons else ""
        text = f"Your exercise program is stopped because {self.cause}{cited}."
        if self.advice:
            text += f" {self.advice}"
        return text

    @property
    def what_to_do(self) -> str | None:
        """What the person can do now (None for an active program or none at all)."""
        if self.needs_clearance:
            return CLEARANCE_FIX
        if self.clearance is not None:
            return (
                f"{self.clearance.cleared_by} cleared you to exercise: sessions are open again; "
                "start a new program from onboarding when you are ready."
            )
        if self.status == "stopped":
            return "Sessions are open; start a new program from onboarding when you are ready."
        return None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, ``sessions_allowed``, ``problem`` and ``what_to_do``."""
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        out["sessions_allowed"] = self.sessions_allowed
        out["problem"] = self.problem
        out["what_to_do"] = self.what_to_do
        return out


class ProgramStoppedError(EnrolmentStateError):
    """A session start refused while the program is stopped and not cleared:
    ``problem`` (the cause, what the stop cited) and ``fix`` (what to do); the live
    WebSocket answers the ``program-stopped`` error with them, HTTP a 409."""

    code = "program-stopped"

    def __init__(self, status: ProgramStatus) -> None:
        self.status = status
        self.problem = status.problem or "Your exercise program is stopped."
        self.fix = status.what_to_do or CLEARANCE_FIX
        super().__init__(f"{self.problem} {self.fix}")

    def detail(self) -> dict[str, Any]:
        """The 409's detail: the code, the problem, the fix, the status."""
        return {
            "code": self.code,
            "problem": self.problem,
            "fix": self.fix,
            "program_status": self.status.as_dict(),
        }


def _stop(db: Session, enrolment: ProgramEnrolment) -> dict[str, Any]:
    """What stopped a stopped ``enrolment`` (empty when neither a red flag nor the
    engine did): the fields of :class:`ProgramStatus` it fills."""
    screening = store_program.stop_screening(db, enrolment)
    if screening is not None:
        why = {f.id: f.reason for f in default_red_flags()}
        return {
            "stopped_by": "red-flag",
            "reasons": tuple(why.get(i, i) for i in screening.flagged),
            "advice": screening.advice,
            "urgency": screening.urgency,
            "stopped_utc": screening.screened_utc.isoformat(),
        }
    decision = store_program.stop_decision(db, enrolment)
    if decision is None:
        return {}
    return _decision_stop(decision.reasons, enrolment.ended_utc or decision.decided_utc)


def _decision_stop(reasons: Sequence[Mapping[str, Any]], ended: datetime) -> dict[str, Any]:
    """The stop fields of a ``stop-refer`` decision's ``reasons`` (ended at ``ended``)."""
    rows = [dict(r) for r in reasons]
    refer = [str(r.get("text", "")) for r in rows if r.get("code") == "refer"]
    cited = [r for r in rows if r.get("code") != "refer"]
    codes = {r.get("code") for r in cited}
    urgency = next((r["data"]["urgency"] for r in rows if "urgency" in (r.get("data") or {})), None)
    return {
        "stopped_by": "pain-jump" if codes == {"pain-jump"} else "stop-refer",
        "reasons": tuple(str(r.get("text", "")) for r in cited),
        "advice": refer[0] if refer else "",
        "urgency": urgency,
        "stopped_utc": ended.isoformat(),
    }


def stored_status(db: Session, person_id: int) -> ProgramStatus:
    """The person's program status as stored (see the module docstring); it does not
    run the engine (:func:`spinecoach.services.program.program_status` does first)."""
    enrolment = store_program.latest_enrolment(db, person_id)
    if enrolment is None:
        return ProgramStatus(status=None)
    if enrolment.status != "stopped" or not store_program.stopped_for_clearance(db, enrolment):
        return ProgramStatus(status=enrolment.status, enrolment_id=enrolment.id)
    row = store_program.enrolment_clearance(db, enrolment)
    clearance = None
    if row is not None:
        clearance = Clearance(row.cleared_by, row.note, row.cleared_utc.isoformat())
    return ProgramStatus(
        status=enrolment.status,
        enrolment_id=enrolment.id,
        cause=store_program.stop_cause(db, enrolment),
        needs_clearance=clearance is None,
        clearance=clearance,
        **_stop(db, enrolment),
    )


def pending_stop_status(
    enrolment: ProgramEnrolment, reasons: Sequence[Mapping[str, Any]], decided_utc: datetime
) -> ProgramStatus:
    """The status of an active ``enrolment`` whose engine decided ``stop-refer`` (its
    ``reasons``) in a call that stores nothing (the report): the stop that
    :func:`spinecoach.services.program.program_status` would store, so a read-only
    reader says the same as the routes."""
    codes = [r.get("code") for r in reasons]
    return ProgramStatus(
        status="stopped",
        enrolment_id=enrolment.id,
        cause=rules.stop_cause(stopped_by_red_flag=False, decision_codes=codes),
        needs_clearance=True,
        **_decision_stop(reasons, decided_utc),
    )
