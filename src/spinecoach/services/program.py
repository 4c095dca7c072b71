"""The program engine on stored data: build a person's history from the database, decide,
recommend, and store the decision when a new one is due.

The history of a program (:func:`build_history`) has one :class:`DayLog` per program day,
day 1 being the local day the program started (``tz``; default the server's local zone):

* ``morning_vas_mm`` — the day's last ``morning`` pain entry (a daily check-in). A check-in
  for another day (``taken_on``) counts for that day: its pain entry and medication entry
  share their ``recorded_utc``;
* ``sessions`` — the completed (or interrupted) sessions started since the program began,
  one :class:`SessionOutcome` per stored session (issue 15: its own VAS before and after,
  its reps, and its id, local date and technique, which the reasons cite), in the slot it
  was started for, else the slot its technique has in the protocol (``morning`` routine,
  ``main`` session; a technique the protocol does not name counts as ``main``). Sessions
  without both VAS ratings cannot be judged by the pain rules and are left out (listed in
  ``ProgramState.unrated``);
* ``slots_done`` — the prescribed slots done that day, which adherence counts (a slot is
  done when every technique the prescription puts in it had a session, rated or not;
  :func:`spinecoach.services.program_history.slots_done_of`);
* ``desk_breaks_done`` — sessions of a ``desk-break`` technique;
* ``red_flag_answers`` — re-screenings of that day (a "yes" in any of them counts).

Medication is not an engine input (it is in :func:`progress_data` and the report).

:func:`update_program` decides on the history up to today with the prescription of the last
stored decision (the protocol's start level before the first) and stores the decision
(:func:`spinecoach.store.program.add_decision`) when one is due: the first of a program day,
or one that changes the prescription or stops the program. The stored prescription
carries the SHA-256 of the history it was decided on, so the same history never stores
twice, and an "already answered" hold after a stored regress is not stored.

A stored ``stop-refer`` decision (a jump in pain or a red flag: "a jump in pain or a newly
reported red flag always stops and refers") stops the active enrolment in the same
transaction: status ``stopped``, ``ended_utc`` the decision's time and a ``stop_reason``
naming the cause and the numbers cited (:func:`stop_reason`). A new program then needs the
person's clinician clearance, as after a red flag (see
:func:`spinecoach.store.program.onboard`).

**One status** (issue 15): :func:`program_status` is the one function every face asks
(``/api/program/status``, ``/today``, ``/progress``, every session start): it lets the
engine store a stop that is due, then reads the stored status
(:func:`spinecoach.services.program_status.stored_status`); :class:`ProgramState`
carries the same value (``status``). :func:`check_can_start` refuses a session start
while a stop waits for a clinician's clearance (:class:`ProgramStoppedError`). Deciding
calls that store run one at a time in the process (:data:`DECIDING`).

The layers: the rules (the engine, the recommendations, the stop reason) are pure
functions of :mod:`spinecoach.program`; the queries and writes are the store's
(:mod:`spinecoach.store.program`, :mod:`spinecoach.store.program_queries`). This module
joins them: :mod:`spinecoach.services.program_history` builds the history from the
store's rows, :mod:`spinecoach.services.program_progress` shapes what the faces show, and
this module decides and stores (it offers the public names of both).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from spinecoach.program.engine import decide
from spinecoach.program.enrolment import STOP_REFER, decision_stop_reason
from spinecoach.program.lights import session_advice as pain_jump_advice
from spinecoach.program.model import DayLog, Decision, Prescription, Reason
from spinecoach.program.protocol import Protocol, default_protocol
from spinecoach.program.recommend import Plan, recommend
from spinecoach.services.program_history import (
    COUNTED_STATUSES,
    MIN_POSTURE_MINUTES,
    build_history,
    local_day,
    program_day,
    slot_of,
    zone_or_server,
)
from spinecoach.services.program_progress import (
    decision_dict,
    decision_meta,
    progress_data,
    today_data,
)
from spinecoach.services.program_status import (
    ProgramStatus,
    ProgramStoppedError,
    pending_stop_status,
    stored_status,
)
from spinecoach.store import program as store_program
from spinecoach.store.models import ProgramDecision, ProgramEnrolment

__all__ = [
    "COUNTED_STATUSES",
    "DECIDING",
    "MIN_POSTURE_MINUTES",
    "STOP",
    "ProgramState",
    "ProgramStatus",
    "ProgramStoppedError",
    "build_history",
    "check_can_start",
    "current_prescription",
    "decision_dict",
    "decision_row_prescription",
    "history_digest",
    "local_day",
    "person_status",
    "program_day",
    "program_enrolment",
    "program_status",
    "progress_data",
    "refuse_if_stopped",
    "session_advice",
    "slot_of",
    "stop_reason",
    "today_data",
    "update_program",
]

log = logging.getLogger(__name__)

#: The decision that stops the program and refers to a clinician.
STOP = STOP_REFER

#: Held while a call decides and may store (re-entrant: :func:`program_status` decides
#: through :func:`update_program`): two requests at once must not both store the same
#: due decision (the check and the insert are separate statements).
DECIDING = threading.RLock()


@dataclass(frozen=True)
class ProgramState:
    """The engine's view of a program after :func:`update_program`."""

    enrolment: ProgramEnrolment
    day: int
    """Today's program day (the enrolment's last day once it ended)."""
    history: tuple[DayLog, ...]
    current: Prescription
    """The prescription in force before ``decision``."""
    decision: Decision
    plan: Plan
    digest: str
    stored: ProgramDecision | None
    """The decision row this call stored (None when none was due)."""
    decisions: tuple[ProgramDecision, ...]
    """Every stored decision of the enrolment, oldest first (including ``stored``)."""
    unrated: tuple[int, ...] = field(default=())
    """Ids of sessions left out for lack of a VAS before or after."""
    status: ProgramStatus = field(default=ProgramStatus(status=None))
    """The person's program status after this call (:func:`program_status`'s value)."""

    @property
    def last_decision(self) -> ProgramDecision | None:
        return self.decisions[-1] if self.decisions else None


def program_enrolment(db: Session, person_id: int) -> ProgramEnrolment:
    """The person's active program, else the newest one that started (has a baseline).

    Raises :class:`~spinecoach.store.program.EnrolmentStateError` when there is none.
    """
    enrolment = store_program.active_enrolment(db, person_id)
    if enrolment is None:
        latest = store_program.latest_enrolment(db, person_id)
        if latest is not None and latest.baseline_vas_mm is not None:
            enrolment = latest
    if enrolment is None:
        status = stored_status(db, person_id)
        if status.needs_clearance:  # stopped at the onboarding screening
            raise ProgramStoppedError(status)
        raise store_program.EnrolmentStateError(
            f"person {person_id} has no program; complete onboarding first "
            "(the web page /onboarding or `spinecoach onboard`)"
        )
    return enrolment


def _last_day(enrolment: ProgramEnrolment, now: datetime, tz: tzinfo, p: Protocol) -> int:
    end = enrolment.ended_utc if enrolment.ended_utc is not None else now
    return max(1, min(program_day(enrolment.started_utc, end, tz), 7 * p.weeks))


def history_digest(history: Sequence[DayLog], baseline_vas_mm: float) -> str:
    """SHA-256 (hex) of the history and baseline: equal inputs, equal digest."""
    payload = {"baseline_vas_mm": baseline_vas_mm, "days": [log.as_dict() for log in history]}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def current_prescription(
    decisions: Sequence[ProgramDecision], protocol: Protocol | None = None
) -> Prescription:
    """The prescription in force: the last stored decision's, else the start level."""
    p = protocol or default_protocol()
    if decisions:
        rx = decisions[-1].prescription
        return Prescription.of_level(p, int(rx["level"]), since_day=int(rx["since_day"]))
    return Prescription.of_level(p, p.start_level, since_day=1)


def _due(decision: Decision, digest: str, last: ProgramDecision | None) -> bool:
    if last is None:
        return True
    meta = decision_meta(last)
    if meta.get("history_sha256") == digest:
        return False
    if last.kind == "stop-refer":
        return False
    if decision.kind in ("progress", "regress", "stop-refer"):
        return True
    return decision.day > int(meta.get("day", 0))


def decision_row_prescription(decision: Decision, digest: str) -> dict[str, Any]:
    """The JSON stored as a decision's ``prescription``: the prescription and, under
    ``decision``, its day, light, review flag and the history digest."""
    return {
        **decision.prescription.as_dict(),
        "decision": {
            "day": decision.day,
            "light": decision.light,
            "review": decision.review,
            "history_sha256": digest,
        },
    }


def stop_reason(reasons: Sequence[Reason] | Sequence[dict[str, Any]]) -> str:
    """The enrolment's ``stop_reason`` for a ``stop-refer`` decision (the rule:
    :func:`spinecoach.program.enrolment.decision_stop_reason`).

    >>> stop_reason([Reason("pain-jump", "pain jumped 30 mm"), Reason("refer", "see …")])
    'pain jump: pain jumped 30 mm'
    """
    return decision_stop_reason(reasons)


def update_program(
    db: Session,
    person_id: int,
    *,
    now: datetime | None = None,
    tz: tzinfo | None = None,
    protocol: Protocol | None = None,
    store: bool = True,
) -> ProgramState:
    """Decide on the person's program (active, else the newest that started) and store
    the decision when one is due (``store=False``: decide only, write nothing); see the
    module docstring. ``now`` is an aware time (default: now), ``tz`` the person's time
    zone (default: the server's).
    """
    with DECIDING if store else contextlib.nullcontext():
        return _update_program(db, person_id, now=now, tz=tz, protocol=protocol, store=store)


def _update_program(
    db: Session,
    person_id: int,
    *,
    now: datetime | None,
    tz: tzinfo | None,
    protocol: Protocol | None,
    store: bool,
) -> ProgramState:
    """:func:`update_program`'s work (the caller holds :data:`DECIDING` when storing)."""
    p = protocol or default_protocol()
    zone = zone_or_server(tz)
    when = now if now is not None else datetime.now(UTC)
    enrolment = program_enrolment(db, person_id)
    baseline = float(enrolment.baseline_vas_mm or 0.0)
    decisions = store_program.list_decisions(db, enrolment.id)
    if store and enrolment.status == "active" and decisions and decisions[-1].kind == STOP:
        # A stop-refer stored before stops were recorded with it: stop the program now,
        # as of that decision.
        enrolment = store_program.end_enrolment(
            db,
            enrolment.id,
            "stopped",
            reason=stop_reason(list(decisions[-1].reasons)),
            now=decisions[-1].decided_utc,
        )
    current = current_prescription(decisions, p)
    last_day = _last_day(enrolment, when, zone, p)
    history, unrated = build_history(
        db, enrolment, last_day=last_day, tz=zone, current=current, protocol=p
    )
    decision = decide(history, current, baseline_vas_mm=baseline, protocol=p)
    digest = history_digest(history, baseline)
    stored = None
    if store and _due(decision, digest, decisions[-1] if decisions else None):
        stored = store_program.add_decision(
            db,
            enrolment.id,
            week=min((decision.day - 1) // 7 + 1, p.weeks),
            kind=decision.kind,
            prescription=decision_row_prescription(decision, digest),
            reasons=[r.as_dict() for r in decision.reasons],
            decided_utc=when,
            # A stop-refer stops the program in the same transaction.
            stop_reason=stop_reason(decision.reasons) if decision.kind == STOP else None,
        )
        decisions = [*decisions, stored]
    plan = recommend(history, decision, protocol=p, day_complete=False)
    return ProgramState(
        enrolment=enrolment,
        day=last_day,
        history=history,
        current=current,
        decision=decision,
        plan=plan,
        digest=digest,
        stored=stored,
        decisions=tuple(decisions),
        unrated=unrated,
        status=_status_after(db, person_id, enrolment, decision, when),
    )


def _status_after(
    db: Session, person_id: int, enrolment: ProgramEnrolment, decision: Decision, when: datetime
) -> ProgramStatus:
    """The person's status after a decision: the stored one, or, when a call that stores
    nothing decided to stop the active program, the stop it would store."""
    status = stored_status(db, person_id)
    if decision.kind == STOP and enrolment.status == "active" and status.status == "active":
        return pending_stop_status(enrolment, [r.as_dict() for r in decision.reasons], when)
    return status


def program_status(
    db: Session,
    person_id: int,
    *,
    now: datetime | None = None,
    tz: tzinfo | None = None,
    protocol: Protocol | None = None,
) -> ProgramStatus:
    """The person's program status, the one every face reports (see
    :mod:`spinecoach.services.program_status`): with an active program the engine first
    decides on the data so far and a due stop (a jump in pain, a red flag) is stored at
    once; no other decision is stored here (today's plan stores those). ``now``, ``tz``
    as for :func:`update_program`.
    """
    with DECIDING:
        enrolment = store_program.latest_enrolment(db, person_id)
        if enrolment is not None and enrolment.status == "active":
            state = update_program(db, person_id, now=now, tz=tz, protocol=protocol, store=False)
            if state.decision.kind == STOP:
                update_program(db, person_id, now=now, tz=tz, protocol=protocol)
        return stored_status(db, person_id)


def person_status(engine: Engine, person_id: int, *, tz: tzinfo | None = None) -> ProgramStatus:
    """:func:`program_status` in its own database session (for a face's worker thread)."""
    with Session(engine) as db:
        return program_status(db, person_id, tz=tz)


def session_advice(
    session: Mapping[str, Any], protocol: Protocol | None = None
) -> dict[str, Any] | None:
    """The advice a stored session shows at once (its ``pain_before_mm`` and
    ``pain_after_mm``, as :meth:`spinecoach.services.history.History.session` gives
    them): ``{"code": "pain-jump", "text", "data"}`` for a jump in pain, else None
    (:func:`spinecoach.program.lights.session_advice`; a missing rating is never 0)."""
    reason = pain_jump_advice(
        session.get("pain_before_mm"), session.get("pain_after_mm"), protocol=protocol
    )
    return None if reason is None else reason.as_dict()


def refuse_if_stopped(history: object) -> None:
    """:func:`check_can_start` for a face's history (anything with ``engine`` and
    ``person_id``, e.g. :class:`spinecoach.services.history.History`): raises
    :class:`ProgramStoppedError` while the program is stopped and not cleared.

    A history without them (a test's stand-in) is not checked. A database that cannot be
    read is logged and not checked: the session then runs unsaved as well
    (:mod:`spinecoach.services.live`), and refusing every session of a person whose
    history is damaged would lock them out of free sessions too.
    """
    engine = getattr(history, "engine", None)
    person_id = getattr(history, "person_id", None)
    if not isinstance(engine, Engine) or not isinstance(person_id, int):
        return
    try:
        check_can_start(engine, person_id)
    except SQLAlchemyError as error:
        log.warning("the program status could not be read, the session starts: %s", error)


def check_can_start(engine: Engine, person_id: int, *, tz: tzinfo | None = None) -> ProgramStatus:
    """Refuse a session start while the person's program is stopped and not cleared:
    raises :class:`ProgramStoppedError` (naming the cause and what to do); else the
    status. Every session-start path calls this (the live WebSocket, the runner)."""
    status = person_status(engine, person_id, tz=tz)
    if not status.sessions_allowed:
        raise ProgramStoppedError(status)
    return status
