"""The program engine on stored data: build a person's history from the database, decide,
recommend, and store the decision when a new one is due.

The history of a program (:func:`build_history`) has one :class:`DayLog` per program day,
day 1 being the local day the program started (``tz``; default the server's local zone):

* ``morning_vas_mm`` — the day's last ``morning`` pain entry (a daily check-in). A check-in
  for another day (``taken_on``) counts for that day: its pain entry and medication entry
  share their ``recorded_utc``;
* ``sessions`` — the completed (or interrupted) sessions started since the program began,
  grouped by the day and the slot their technique has in the protocol (``morning`` routine,
  ``main`` session; a technique the protocol does not name counts as ``main``): one
  :class:`SessionOutcome` per day and slot, VAS before from the first session of the group
  and VAS after from the last, the reps of each. Sessions without both VAS ratings cannot
  be judged by the pain rules and are left out (listed in ``ProgramState.unrated``);
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
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from spinecoach.program.engine import adherence, decide, pain_outcome
from spinecoach.program.model import (
    DayLog,
    Decision,
    ExerciseOutcome,
    PostureSummary,
    Prescription,
    Reason,
    RepOutcome,
    SessionOutcome,
)
from spinecoach.program.onboarding import server_zone
from spinecoach.program.protocol import Protocol, default_protocol
from spinecoach.program.recommend import Plan, main_session_days, recommend
from spinecoach.store import program as store_program
from spinecoach.store.models import (
    MedicationEntry,
    PainEntry,
    PostureMinute,
    ProgramDecision,
    ProgramEnrolment,
    RedFlagScreening,
    SessionRecord,
    SittingBout,
)

#: The decision that stops the program and refers to a clinician.
STOP = store_program.STOP_REFER

#: Session statuses whose reps and pain ratings count for the program.
COUNTED_STATUSES = ("completed", "interrupted")


def _zone(tz: tzinfo | None) -> tzinfo:
    # One notion of the person's calendar everywhere: the server's zone (see onboarding).
    return tz if tz is not None else server_zone()


def local_day(when: datetime, tz: tzinfo) -> date:
    """The calendar day of the aware time ``when`` in ``tz``."""
    return when.astimezone(tz).date()


def program_day(start_utc: datetime, when: datetime | date, tz: tzinfo) -> int:
    """The program day (1 = the local day the program started) of ``when``.

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
        raise store_program.EnrolmentStateError(
            f"person {person_id} has no program; complete onboarding first "
            "(the web page /onboarding or `spinecoach onboard`)"
        )
    return enrolment


def _last_day(enrolment: ProgramEnrolment, now: datetime, tz: tzinfo, p: Protocol) -> int:
    end = enrolment.ended_utc if enrolment.ended_utc is not None else now
    return max(1, min(program_day(enrolment.started_utc, end, tz), 7 * p.weeks))


@dataclass
class _Group:
    exercises: dict[str, list[RepOutcome]] = field(default_factory=dict)
    before: float | None = None
    after: float | None = None


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
    left out for lack of VAS (see the module docstring). ``current`` gives the hold asked
    for (s) of each technique, for the reps' ``hold_share``."""
    p = protocol or default_protocol()
    person_id = enrolment.person_id
    start = enrolment.started_utc

    def day_of(when: datetime | date) -> int | None:
        d = program_day(start, when, tz)
        return d if 1 <= d <= last_day else None

    # Morning VAS: a check-in's pain entry shares recorded_utc with its medication entry.
    med_day = {
        m.recorded_utc: date.fromisoformat(m.taken_on)
        for m in db.scalars(select(MedicationEntry).where(MedicationEntry.person_id == person_id))
    }
    mornings: dict[int, float] = {}
    for entry in db.scalars(
        select(PainEntry)
        .where(PainEntry.person_id == person_id, PainEntry.context == "morning")
        .order_by(PainEntry.recorded_utc, PainEntry.id)
    ):
        d = day_of(med_day.get(entry.recorded_utc, local_day(entry.recorded_utc, tz)))
        if d is not None:
            mornings[d] = float(entry.vas_mm)

    groups: dict[tuple[int, str], _Group] = {}
    breaks: dict[int, int] = {}
    unrated: list[int] = []
    query = select(SessionRecord).where(
        SessionRecord.person_id == person_id,
        SessionRecord.started_utc >= start,
        SessionRecord.status.in_(COUNTED_STATUSES),
    )
    if enrolment.ended_utc is not None:
        query = query.where(SessionRecord.started_utc <= enrolment.ended_utc)
    records = list(db.scalars(query.order_by(SessionRecord.started_utc, SessionRecord.id)))
    pains: dict[int, dict[str, float]] = {}
    if records:
        for pain in db.scalars(
            select(PainEntry)
            .where(PainEntry.session_id.in_([r.id for r in records]))
            .order_by(PainEntry.recorded_utc, PainEntry.id)
        ):
            if pain.session_id is not None:
                pains.setdefault(pain.session_id, {})[pain.context] = float(pain.vas_mm)
    for record in records:
        d = day_of(record.started_utc)
        if d is None:
            continue
        slot = slot_of(record.technique, p)
        if slot == "desk-break":
            breaks[d] = breaks.get(d, 0) + 1
            continue
        vas = pains.get(record.id, {})
        if "before" not in vas or "after" not in vas:
            unrated.append(record.id)
            continue
        group = groups.setdefault((d, slot), _Group())
        if group.before is None:
            group.before = vas["before"]
        group.after = vas["after"]
        dose = current.dose(record.technique)
        hold = dose.hold_s if dose is not None else 0.0
        reps = group.exercises.setdefault(record.technique, [])
        for rep in sorted(record.reps, key=lambda r: (r.set_index, r.rep_index)):
            share = None
            if hold > 0 and rep.hold_s is not None:
                share = round(float(rep.hold_s) / hold, 3)
            reps.append(RepOutcome(int(rep.quality), share, tuple(rep.fault_names)))

    answers: dict[int, dict[str, bool]] = {}
    screenings = select(RedFlagScreening).where(
        RedFlagScreening.person_id == person_id,
        RedFlagScreening.context == "rescreen",
        RedFlagScreening.screened_utc >= start,
    )
    for screening in db.scalars(screenings.order_by(RedFlagScreening.screened_utc)):
        d = day_of(screening.screened_utc)
        if d is None:
            continue
        merged = answers.setdefault(d, {})
        for key, value in screening.answers.items():
            merged[key] = merged.get(key, False) or bool(value)

    postures = _posture_days(db, person_id, start, enrolment.ended_utc, day_of)

    logs = []
    for d in range(1, last_day + 1):
        sessions = tuple(
            SessionOutcome(
                slot,
                g.before,
                g.after,
                tuple(ExerciseOutcome(t, tuple(r)) for t, r in g.exercises.items()),
            )
            for slot in ("morning", "main")
            if (g := groups.get((d, slot))) is not None
            and g.before is not None
            and g.after is not None
        )
        logs.append(
            DayLog(
                d,
                mornings.get(d),
                sessions,
                desk_breaks_done=breaks.get(d, 0),
                red_flag_answers=answers.get(d),
                posture=postures.get(d),
            )
        )
    return tuple(logs), tuple(unrated)


#: A program day counts as a posture day with at least this many trusted minutes.
MIN_POSTURE_MINUTES = 60


def _posture_days(
    db: Session,
    person_id: int,
    start: datetime,
    end: datetime | None,
    day_of: Callable[[datetime], int | None],
) -> dict[int, PostureSummary]:
    """Per program day, from the stored posture minutes and sitting bouts (issue 7):
    minutes sitting and slouched (trusted minutes only) and the longest sitting bout.
    Days with fewer than MIN_POSTURE_MINUTES trusted minutes are left out."""
    query = select(PostureMinute).where(
        PostureMinute.person_id == person_id,
        PostureMinute.minute_utc >= start,
        PostureMinute.trusted.is_(True),
    )
    if end is not None:
        query = query.where(PostureMinute.minute_utc <= end)
    sitting: dict[int, float] = {}
    slouched: dict[int, float] = {}
    counted: dict[int, int] = {}
    for minute in db.scalars(query):
        d = day_of(minute.minute_utc)
        if d is None:
            continue
        counted[d] = counted.get(d, 0) + 1
        sitting[d] = sitting.get(d, 0.0) + minute.sitting_upright_s + minute.sitting_slouched_s
        slouched[d] = slouched.get(d, 0.0) + minute.sitting_slouched_s
    longest: dict[int, float] = {}
    bouts = select(SittingBout).where(
        SittingBout.person_id == person_id, SittingBout.start_utc >= start
    )
    for bout in db.scalars(bouts):
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


def history_digest(history: Sequence[DayLog], baseline_vas_mm: float) -> str:
    """SHA-256 (hex) of the history and baseline: equal inputs, equal digest."""
    payload = {"baseline_vas_mm": baseline_vas_mm, "days": [log.as_dict() for log in history]}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _meta(row: ProgramDecision) -> dict[str, Any]:
    meta = (row.prescription or {}).get("decision")
    return meta if isinstance(meta, dict) else {}


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
    meta = _meta(last)
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
    """The enrolment's ``stop_reason`` for a ``stop-refer`` decision: the cause (the code
    of its first reason, ``pain jump`` or ``red flag``) and that reason's text, which cites
    the numbers; the engine's referral advice (code ``refer``) is not repeated.

    >>> stop_reason([Reason("pain-jump", "pain jumped 30 mm"), Reason("refer", "see …")])
    'pain jump: pain jumped 30 mm'
    """
    rows = [r.as_dict() if isinstance(r, Reason) else dict(r) for r in reasons]
    cited = [r for r in rows if r.get("code") != "refer"] or rows
    if not cited:
        return "stop-refer: the program advised you to see a doctor or physiotherapist"
    first = cited[0]
    cause = str(first.get("code") or "stop-refer").replace("-", " ")
    return f"{cause}: {first.get('text', '')}".strip()


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
    p = protocol or default_protocol()
    zone = _zone(tz)
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
    )


def decision_dict(row: ProgramDecision) -> dict[str, Any]:
    """A stored decision as JSON: kind, week, day, light, reasons, prescription."""
    meta = _meta(row)
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


def today_data(state: ProgramState) -> dict[str, Any]:
    """Today's plan, the "Recommended for you" suggestions (each with why) and the last
    stored decision with its reasons, JSON-ready."""
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
    return {
        "enrolment_id": state.enrolment.id,
        "status": state.enrolment.status,
        "day": state.day,
        "week": (state.day - 1) // 7 + 1,
        "plan": {
            "day": state.day,
            "level": rx.level,
            "title": rx.title,
            "phase": rx.phase,
            "today": [d.as_dict() for d in doses],
            "desk_breaks": rx.desk_breaks_per_day if running else 0,
            "main_session_today": main_today,
        },
        "suggestions": [s.as_dict() for s in plan.suggestions],
        "decision": plan.decision.as_dict(),
        "last_decision": None if last is None else decision_dict(last),
        "unrated_sessions": list(state.unrated),
        "disclaimer": plan.disclaimer,
    }


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def progress_data(
    db: Session, state: ProgramState, *, tz: tzinfo | None = None, protocol: Protocol | None = None
) -> dict[str, Any]:
    """Chart data of a program (see ``GET /api/program/progress``), JSON-ready.

    Days are program days with their local date; VAS in mm; ``mcid.line_mm`` is the
    morning VAS that reaches the minimal important change: a fall of ``mcid_mm`` or of
    ``mcid_pct`` % of the baseline, whichever is smaller.
    """
    p = protocol or default_protocol()
    zone = _zone(tz)
    enrolment = state.enrolment
    start_day = local_day(enrolment.started_utc, zone)

    def iso(day: int) -> str:
        return (start_day + timedelta(days=day - 1)).isoformat()

    baseline = float(enrolment.baseline_vas_mm or 0.0)
    mcid_mm = p.value("outcome.mcid_mm")
    mcid_pct = p.value("outcome.mcid_pct")
    line = round(max(0.0, baseline - min(mcid_mm, mcid_pct / 100.0 * baseline)), 1)

    # The level in force on each day, from the stored decisions.
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

    adherence_days = []
    for log in state.history:
        rx_day = levels[log.day]
        main_day = ((log.day - 1) % 7 + 1) in main_session_days(rx_day.main_sessions_per_week)
        prescribed = 1 + int(main_day)
        done = min(1, sum(s.slot == "morning" for s in log.sessions)) + min(
            int(main_day), sum(s.slot == "main" for s in log.sessions)
        )
        adherence_days.append(
            {
                "day": log.day,
                "date": iso(log.day),
                "done": done,
                "prescribed": prescribed,
                "level": rx_day.level,
            }
        )

    sessions = []
    counted = select(SessionRecord).where(
        SessionRecord.person_id == enrolment.person_id,
        SessionRecord.started_utc >= enrolment.started_utc,
        SessionRecord.status.in_(COUNTED_STATUSES),
    )
    for record in db.scalars(counted.order_by(SessionRecord.started_utc, SessionRecord.id)):
        day = program_day(enrolment.started_utc, record.started_utc, zone)
        if not 1 <= day <= state.day:
            continue
        vas = {
            e.context: float(e.vas_mm)
            for e in db.scalars(
                select(PainEntry)
                .where(PainEntry.session_id == record.id)
                .order_by(PainEntry.recorded_utc, PainEntry.id)
            )
        }
        ranges = [float(r.range_deg) for r in record.reps if r.range_deg is not None]
        sessions.append(
            {
                "id": record.id,
                "day": day,
                "date": iso(day),
                "started_utc": record.started_utc.isoformat(),
                "technique": record.technique,
                "slot": slot_of(record.technique, p),
                "reps": len(record.reps),
                "mean_quality": _mean([float(r.quality) for r in record.reps]),
                "mean_range_deg": _mean(ranges),
                "vas_before_mm": vas.get("before"),
                "vas_after_mm": vas.get("after"),
            }
        )

    medication = []
    for m in store_program.list_medication(db, enrolment.person_id):
        day = program_day(enrolment.started_utc, date.fromisoformat(m.taken_on), zone)
        if 1 <= day <= state.day:
            medication.append({"day": day, "date": m.taken_on, "doses_per_day": m.doses_per_day})
    psfs = [
        {
            "week": 0
            if e.context == "baseline"
            else min(
                (program_day(enrolment.started_utc, e.recorded_utc, zone) - 1) // 7 + 1, p.weeks
            ),
            "context": e.context,
            "activity": e.activity,
            "score": e.score,
        }
        for e in store_program.list_psfs(db, enrolment.person_id, enrolment_id=enrolment.id)
    ]
    total = adherence(state.history, state.current, first_day=1, last_day=state.day)
    outcome = pain_outcome(state.history, baseline_vas_mm=baseline, protocol=p)
    return {
        "enrolment_id": enrolment.id,
        "status": enrolment.status,
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
        "adherence": adherence_days,
        "adherence_total": total.as_dict(),
        "sessions": sessions,
        "medication": medication,
        "psfs": psfs,
        "pain_outcome": outcome.as_dict(),
        "decisions": [decision_dict(row) for row in state.decisions],
    }
