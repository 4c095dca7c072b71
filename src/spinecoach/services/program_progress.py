"""What the faces show of a program, JSON-ready: today's plan (:func:`today_data`), the
progress charts' data (:func:`progress_data`) and a stored decision
(:func:`decision_dict`). Read from the store (:mod:`spinecoach.store.program_queries`)
and the engine's state (:class:`spinecoach.services.program.ProgramState`); nothing is
written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from spinecoach.program.measures import adherence, mean_or_none, pain_outcome
from spinecoach.program.model import Prescription
from spinecoach.program.protocol import Protocol, default_protocol
from spinecoach.program.recommend import main_session_days
from spinecoach.services.program_history import (
    local_day,
    program_day,
    session_program_slot,
    zone_or_server,
)
from spinecoach.services.program_today import plan_today
from spinecoach.store import program_queries as queries
from spinecoach.store.models import ProgramDecision, ProgramEnrolment

if TYPE_CHECKING:
    from spinecoach.services.program import ProgramState

#: A program day → its local date as ``YYYY-MM-DD``.
DayDate = Callable[[int], str]


def decision_meta(row: ProgramDecision) -> dict[str, Any]:
    """What a stored decision's prescription says of the decision itself (day, light,
    review, history digest); empty for a row without it."""
    meta = (row.prescription or {}).get("decision")
    return meta if isinstance(meta, dict) else {}


def decision_dict(row: ProgramDecision) -> dict[str, Any]:
    """A stored decision as JSON: kind, week, day, light, reasons, prescription."""
    meta = decision_meta(row)
    rx = {k: v for k, v in (row.prescription or {}).items() if k != "decision"}
    return {
        "id": row.id,
        "kind": row.kind,
        "week": row.week,
        "day": meta.get("day"),
        "light": meta.get("light"),
        "review": meta.get("review", False),
        "decided_utc": row.decided_utc.isoformat(),
        "reasons": list(row.reasons),
        "prescription": rx,
    }


def today_data(
    state: ProgramState, *, db: Session | None = None, tz: tzinfo | None = None
) -> dict[str, Any]:
    """Today's plan, the "Recommended for you" suggestions (each with why) and the last
    stored decision with its reasons, JSON-ready.

    ``slots`` are today's prescribed slots (:func:`spinecoach.services.program_today.
    today_slots`: each with its techniques, their prescribed dose, whether done and by
    which sessions, and the live ``start`` payload); each item of ``plan.today`` carries
    the same ``dose``, ``done``, ``session_ids`` and ``start`` (a desk-break technique:
    those of the first desk break). Done needs ``db`` (the sessions of today, in ``tz``);
    without it nothing is counted as done."""
    plan = state.plan
    last = state.last_decision
    rx = plan.decision.prescription
    # The engine's plan is for the day after its decision; the decision is taken on
    # today's data so far, so its prescription is what today asks for.
    running = state.enrolment.status == "active" and plan.decision.kind != "stop-refer"
    main_today = running and (
        ((state.day - 1) % 7 + 1) in main_session_days(rx.main_sessions_per_week)
    )
    doses = [
        d for d in rx.exercises if running and (d.slot in ("morning", "desk-break") or main_today)
    ]
    slots = plan_today(
        db, state.enrolment, state.day, rx, running=running, main_today=main_today, tz=tz
    )
    first: dict[str, dict[str, Any]] = {}
    for slot in slots["slots"]:
        for entry in slot["techniques"]:
            first.setdefault(entry["technique"], entry)
    return {
        "enrolment_id": state.enrolment.id,
        # The one status every route reports (services.program.program_status).
        "status": state.status.status,
        "program_status": state.status.as_dict(),
        "day": state.day,
        "week": (state.day - 1) // 7 + 1,
        "plan": {
            "day": state.day,
            "level": rx.level,
            "title": rx.title,
            "phase": rx.phase,
            "today": [first.get(d.technique, d.as_dict()) for d in doses],
            "desk_breaks": rx.desk_breaks_per_day if running else 0,
            "main_session_today": main_today,
        },
        **slots,
        "suggestions": [s.as_dict() for s in plan.suggestions],
        "decision": plan.decision.as_dict(),
        "last_decision": None if last is None else decision_dict(last),
        "unrated_sessions": list(state.unrated),
        "disclaimer": plan.disclaimer,
    }


def _mean(values: Sequence[float]) -> float | None:
    """The mean to 0.1, None for none."""
    mean = mean_or_none(values)
    return None if mean is None else round(mean, 1)


def _levels_by_day(state: ProgramState, p: Protocol) -> dict[int, Prescription]:
    """The level in force on each day, from the stored decisions."""
    levels: dict[int, Prescription] = {}
    rx = Prescription.of_level(p, p.start_level, since_day=1)
    changes = sorted(
        (int(row.prescription["since_day"]), int(row.prescription["level"]))
        for row in state.decisions
    )
    for day in range(1, state.day + 1):
        for since, level in changes:
            if since == day and level != rx.level:
                rx = Prescription.of_level(p, level, since_day=since)
        levels[day] = rx
    return levels


def _adherence_days(state: ProgramState, iso: DayDate, p: Protocol) -> list[dict[str, Any]]:
    """Per day: the prescribed slots done and prescribed (the morning routine, and the
    main session on its days) at the level of that day, and per slot (``morning_done``,
    ``main_done``, ``main_prescribed``, ``desk_breaks_done``, ``desk_breaks_prescribed``):
    a slot is done when every technique of it had a session that day (a session of a
    technique the level does not name makes nothing done)."""
    levels = _levels_by_day(state, p)
    days = []
    for log in state.history:
        rx_day = levels[log.day]
        main_day = ((log.day - 1) % 7 + 1) in main_session_days(rx_day.main_sessions_per_week)
        prescribed = 1 + int(main_day)
        slots = log.slots_done
        if slots is None:
            morning = min(1, sum(s.slot == "morning" for s in log.sessions))
            main = min(int(main_day), sum(s.slot == "main" for s in log.sessions))
        else:
            morning = min(1, slots.get("morning", 0))
            main = min(int(main_day), slots.get("main", 0))
        days.append(
            {
                "day": log.day,
                "date": iso(log.day),
                "done": morning + main,
                "prescribed": prescribed,
                "level": rx_day.level,
                "morning_done": morning,
                "main_done": main,
                "main_prescribed": int(main_day),
                "desk_breaks_done": log.desk_breaks_done,
                "desk_breaks_prescribed": rx_day.desk_breaks_per_day,
            }
        )
    return days


def _session_rows(
    db: Session,
    enrolment: ProgramEnrolment,
    last_day: int,
    zone: tzinfo,
    iso: DayDate,
    p: Protocol,
) -> list[dict[str, Any]]:
    """Every counted session of days 1 … ``last_day``: slot, the slot it was started for
    (``started_for``, the live start's name; None: a free choice) and its prescribed
    ``dose`` (None: the technique's own), reps, mean quality and range, VAS before and
    after."""
    records = queries.counted_sessions(db, enrolment.person_id, enrolment.started_utc)
    pains = queries.session_pain(db, [r.id for r in records])
    sessions = []
    for record in records:
        day = program_day(enrolment.started_utc, record.started_utc, zone)
        if not 1 <= day <= last_day:
            continue
        vas = pains.get(record.id, {})
        ranges = [float(r.range_deg) for r in record.reps if r.range_deg is not None]
        sessions.append(
            {
                "id": record.id,
                "day": day,
                "date": iso(day),
                "started_utc": record.started_utc.isoformat(),
                "technique": record.technique,
                "slot": session_program_slot(record, p),
                "started_for": queries.session_slot(record),
                "dose": queries.session_dose(record),
                "reps": len(record.reps),
                "mean_quality": _mean([float(r.quality) for r in record.reps]),
                "mean_range_deg": _mean(ranges),
                "vas_before_mm": vas.get("before"),
                "vas_after_mm": vas.get("after"),
            }
        )
    return sessions


def _tracking_rows(
    db: Session, enrolment: ProgramEnrolment, last_day: int, zone: tzinfo, p: Protocol
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The medication entries of days 1 … ``last_day`` and the PSFS ratings by week (0:
    the baseline)."""
    start = enrolment.started_utc
    medication = []
    for m in queries.list_medication(db, enrolment.person_id):
        day = program_day(start, date.fromisoformat(m.taken_on), zone)
        if 1 <= day <= last_day:
            medication.append({"day": day, "date": m.taken_on, "doses_per_day": m.doses_per_day})
    psfs = [
        {
            "week": 0
            if e.context == "baseline"
            else min((program_day(start, e.recorded_utc, zone) - 1) // 7 + 1, p.weeks),
            "context": e.context,
            "activity": e.activity,
            "score": e.score,
        }
        for e in queries.list_psfs(db, enrolment.person_id, enrolment_id=enrolment.id)
    ]
    return medication, psfs


def progress_data(
    db: Session, state: ProgramState, *, tz: tzinfo | None = None, protocol: Protocol | None = None
) -> dict[str, Any]:
    """Chart data of a program (see ``GET /api/program/progress``), JSON-ready.

    Days are program days with their local date; VAS in mm; ``mcid.line_mm`` is the
    morning VAS that reaches the minimal important change: a fall of ``mcid_mm`` or of
    ``mcid_pct`` % of the baseline, whichever is smaller.
    """
    p = protocol or default_protocol()
    zone = zone_or_server(tz)
    enrolment = state.enrolment
    start_day = local_day(enrolment.started_utc, zone)

    def iso(day: int) -> str:
        return (start_day + timedelta(days=day - 1)).isoformat()

    baseline = float(enrolment.baseline_vas_mm or 0.0)
    mcid_mm = p.value("outcome.mcid_mm")
    mcid_pct = p.value("outcome.mcid_pct")
    line = round(max(0.0, baseline - min(mcid_mm, mcid_pct / 100.0 * baseline)), 1)
    medication, psfs = _tracking_rows(db, enrolment, state.day, zone, p)
    total = adherence(state.history, state.current, first_day=1, last_day=state.day)
    outcome = pain_outcome(state.history, baseline_vas_mm=baseline, protocol=p)
    return {
        "enrolment_id": enrolment.id,
        "status": state.status.status,
        "program_status": state.status.as_dict(),
        "started": start_day.isoformat(),
        "day": state.day,
        "days": 7 * p.weeks,
        "baseline_vas_mm": baseline,
        "baseline_doses_per_day": enrolment.baseline_doses_per_day,
        "mcid": {"mm": mcid_mm, "pct": mcid_pct, "line_mm": line},
        "morning_vas": [
            {"day": log.day, "date": iso(log.day), "vas_mm": log.morning_vas_mm}
            for log in state.history
            if log.morning_vas_mm is not None
        ],
        "adherence": _adherence_days(state, iso, p),
        "adherence_total": total.as_dict(),
        "sessions": _session_rows(db, enrolment, state.day, zone, iso, p),
        "medication": medication,
        "psfs": psfs,
        "pain_outcome": outcome.as_dict(),
        "decisions": [decision_dict(row) for row in state.decisions],
    }
