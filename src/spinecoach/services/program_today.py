"""Today's plan as prescribed slots (issue 15 item 1): the morning routine, the main
session (on its days) and each desk break, every one with its techniques, their
prescribed dose, whether it is done today (and by which stored sessions) and the
ready-to-send live ``start`` payload that carries the dose and the slot into the session.

Design choices:

* The dose is the prescription's (the program's level in force today), never the
  catalogue's: ``reps`` and ``sets`` from the level, ``hold_s`` from the level (null for
  a technique without holds, e.g. the breath-led seated cat-cow), ``tempo_s`` the
  catalogue's time of the working movement (the protocol does not change the tempo).
* A stored session counts for the slot the prescription puts its technique in (one
  session fills one place; a technique the prescription does not name, e.g. the
  quadruped cat-cow, fills none). This is the same rule the engine's adherence counts
  (:func:`spinecoach.services.program_history.slots_done_of`): a slot is done when every
  technique in it has a session today; the desk breaks are filled one session at a time.
* Sessions that count: completed or interrupted ones of today (the person's local day),
  rated or not (a session without pain ratings was still done).
* The wire names the slots ``morning``, ``main``, ``deskbreak`` (the live ``start``
  message); the protocol's ``desk-break`` is given too as ``protocol_slot``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Final

from sqlalchemy.orm import Session

from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.program.model import Prescription
from spinecoach.program.protocol import ExerciseDose
from spinecoach.services.program_history import program_day, zone_or_server
from spinecoach.store import program_queries as queries
from spinecoach.store.models import ProgramEnrolment

#: The protocol's slots → the wire's (the live ``start`` message's ``slot``).
WIRE_SLOT: Final[dict[str, str]] = {"morning": "morning", "main": "main", "desk-break": "deskbreak"}
#: Each slot in plain words.
SLOT_TITLES: Final[dict[str, str]] = {
    "morning": "Morning routine",
    "main": "Main session",
    "desk-break": "Desk break",
}


@dataclass(frozen=True)
class TodaySession:
    """A stored session of today: its id, technique and the slot it was started for."""

    id: int
    technique: str
    slot: str | None


def today_sessions(
    db: Session, enrolment: ProgramEnrolment, day: int, tz: tzinfo | None = None
) -> list[TodaySession]:
    """The counted sessions (completed or interrupted) of program day ``day``, oldest
    first."""
    zone = zone_or_server(tz)
    records = queries.counted_sessions(db, enrolment.person_id, enrolment.started_utc)
    return [
        TodaySession(r.id, r.technique, queries.session_slot(r))
        for r in records
        if program_day(enrolment.started_utc, r.started_utc, zone) == day
    ]


def prescribed_dose(dose: ExerciseDose) -> dict[str, Any]:
    """The live ``start`` message's ``dose`` of a prescribed exercise: reps per set, sets,
    hold (s; null without holds) and tempo (s, the catalogue's working movement)."""
    tempo = default_catalogue().technique(dose.technique).dose.move_s
    return {
        "reps": dose.reps,
        "sets": dose.sets,
        "hold_s": dose.hold_s if dose.hold_s > 0 else None,
        "tempo_s": tempo,
    }


def start_payload(dose: ExerciseDose) -> dict[str, Any]:
    """The ready-to-send live ``start`` message of a prescribed exercise (the page adds
    its own ``source``, ``pain_before_mm`` and the like)."""
    return {
        "type": "start",
        "technique": dose.technique,
        "dose": prescribed_dose(dose),
        "slot": WIRE_SLOT[dose.slot],
    }


def _entry(dose: ExerciseDose, session_ids: Sequence[int]) -> dict[str, Any]:
    """One technique of a slot: the level's fields, its dose, done and start."""
    rx_dose = prescribed_dose(dose)
    return {
        **dose.as_dict(),
        "tempo_s": rx_dose["tempo_s"],
        "dose": rx_dose,
        "done": bool(session_ids),
        "session_ids": list(session_ids),
        "start": start_payload(dose),
    }


def _slot(
    slot: str, index: int | None, entries: list[dict[str, Any]], *, key: str | None = None
) -> dict[str, Any]:
    ids = [i for e in entries for i in e["session_ids"]]
    title = SLOT_TITLES[slot] + ("" if index is None else f" {index}")
    return {
        "id": key or WIRE_SLOT[slot],
        "slot": WIRE_SLOT[slot],
        "protocol_slot": slot,
        "index": index,
        "title": title,
        "techniques": entries,
        "done": bool(entries) and all(e["done"] for e in entries),
        "session_ids": ids,
    }


def today_slots(
    rx: Prescription,
    sessions: Sequence[TodaySession],
    *,
    main_today: bool,
    desk_breaks: int,
) -> list[dict[str, Any]]:
    """Today's prescribed slots (see the module docstring): the morning routine, the main
    session when ``main_today``, then ``desk_breaks`` desk breaks, each with its
    techniques (dose, done, session ids, start payload)."""
    unused = list(sessions)

    def take(technique: str) -> list[int]:
        for s in unused:
            if s.technique == technique:
                unused.remove(s)
                return [s.id]
        return []

    out = []
    for slot in ("morning", "main"):
        doses = [d for d in rx.exercises if d.slot == slot]
        if doses and (slot == "morning" or main_today):
            out.append(_slot(slot, None, [_entry(d, take(d.technique)) for d in doses]))
    breaks = [d for d in rx.exercises if d.slot == "desk-break"]
    for n in range(1, desk_breaks + 1 if breaks else 1):
        entries = [_entry(d, take(d.technique)) for d in breaks]
        out.append(_slot("desk-break", n, entries, key=f"deskbreak-{n}"))
    return out


def slots_summary(slots: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per protocol slot: how many of today's places are done and prescribed."""
    summary: dict[str, dict[str, int]] = {}
    for s in slots:
        row = summary.setdefault(s["protocol_slot"], {"done": 0, "prescribed": 0})
        row["prescribed"] += 1
        row["done"] += int(s["done"])
    return summary


def plan_today(
    db: Session | None,
    enrolment: ProgramEnrolment,
    day: int,
    rx: Prescription,
    *,
    running: bool,
    main_today: bool,
    tz: tzinfo | None = None,
) -> dict[str, Any]:
    """``slots`` (see :func:`today_slots`; none when the program is not ``running``) and
    ``slots_done`` (:func:`slots_summary`) of program day ``day`` on ``rx``; without a
    database (``db`` None) nothing is counted as done."""
    sessions = today_sessions(db, enrolment, day, tz) if db is not None else []
    slots = (
        today_slots(rx, sessions, main_today=main_today, desk_breaks=rx.desk_breaks_per_day)
        if running
        else []
    )
    return {"slots": slots, "slots_done": slots_summary(slots)}


__all__ = [
    "SLOT_TITLES",
    "WIRE_SLOT",
    "TodaySession",
    "plan_today",
    "prescribed_dose",
    "slots_summary",
    "start_payload",
    "today_sessions",
    "today_slots",
]
