"""HTTP routes of the program's plan and progress: "Recommended for you" and the charts.

Page: ``/progress`` (the single-page app; charts drawn by ``static/progress.js``). The
home view (technique chooser) shows the "Recommended for you" block from
``/api/program/today``.

API (both run :func:`spinecoach.services.program.update_program` first, so a decision that
is due is stored; 409 when the person has no program, 422 for an unknown ``tz``):

* ``GET /api/program/today?tz=Area/City`` — today's plan (level, exercises with their
  dose, desk breaks, whether a main session is due), the suggestions each with ``why``
  (a reason citing the data), today's decision and the last stored decision with its
  reasons, the disclaimer; and today's prescribed slots (issue 15):

  - ``slots``: one object per slot in the order of the day — the morning routine, the
    main session (on its days), each desk break — ``{"id": "morning" | "main" |
    "deskbreak-N", "slot": "morning" | "main" | "deskbreak" (the live start's),
    "protocol_slot": "morning" | "main" | "desk-break", "index": N for a desk break else
    null, "title": plain words, "done": every technique of it done today, "session_ids":
    the stored sessions that did it, "techniques": [...]}``; each technique ``{"technique",
    "slot", "reps", "sets", "hold_s", "range_share", "reason" (the level's fields),
    "tempo_s", "dose": {"reps", "sets", "hold_s" (null: no holds), "tempo_s"}, "done",
    "session_ids", "start": {"type": "start", "technique", "dose", "slot"}}`` — ``start``
    is ready to send on the live socket (add ``source``, ``pain_before_mm``);
  - ``slots_done``: per protocol slot ``{"done": n, "prescribed": n}`` of today;
  - each item of ``plan.today`` carries the same ``dose``, ``done``, ``session_ids`` and
    ``start`` as its technique's first place in ``slots``.

  The dose is the level's in force (never the catalogue's); a stored session fills the
  place of its technique (a technique the level does not name fills none); no slots
  while the program is stopped;
* ``GET /api/program/progress?tz=Area/City`` — chart data: ``morning_vas`` (day, date,
  ``vas_mm``) with ``baseline_vas_mm`` and ``mcid`` (``mm``, ``pct``, ``line_mm``),
  ``adherence`` per day (done ÷ prescribed, level), ``sessions`` (range, quality, VAS
  before/after each), ``medication`` (doses per day), ``psfs`` (by week, 0 = baseline),
  ``pain_outcome``, ``adherence_total`` and every stored ``decisions``.

Both carry ``program_status``, the one status (the same as ``/api/program/status``'s,
:class:`~spinecoach.web.routes.program.ProgramStatusOut`).

``tz`` is the person's IANA time zone (program days are their local days; default the
server's zone). The work is :class:`spinecoach.services.progress.ProgressService` (one
per app: it decides one call at a time), run in a worker thread.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from spinecoach.services.progress import ProgressService
from spinecoach.web.deps import HistoryDep
from spinecoach.web.routes.common import TzQuery, run_service, zone_of
from spinecoach.web.routes.program import ProgramStatusOut


def progress_service(request: Request, history: HistoryDep) -> ProgressService:
    """The progress service of the request's person (``history`` is theirs), sharing the
    app's one lock, which keeps deciding calls one at a time."""
    state = request.app.state
    if getattr(state, "progress_lock", None) is None:
        state.progress_lock = threading.Lock()
    return ProgressService(history, lock=state.progress_lock)


ServiceDep = Annotated[ProgressService, Depends(progress_service)]


class PlanOut(BaseModel):
    """Today's plan: the level in force, the exercises with their dose, desk breaks."""

    day: int
    level: int
    title: str
    phase: str
    today: list[dict[str, Any]]
    desk_breaks: int
    main_session_today: bool


class TodayOut(BaseModel):
    """Today's plan, the suggestions (each with ``why``), today's and the last stored
    decision (each with its reasons), the sessions not rated yet, the disclaimer."""

    enrolment_id: int
    status: str
    program_status: ProgramStatusOut
    day: int
    week: int
    plan: PlanOut
    suggestions: list[dict[str, Any]]
    decision: dict[str, Any]
    last_decision: dict[str, Any] | None
    unrated_sessions: list[int]
    disclaimer: str
    slots: list[dict[str, Any]] = []
    slots_done: dict[str, dict[str, int]] = {}


class McidOut(BaseModel):
    """The minimal important change: a fall of ``mm`` or of ``pct`` % of the baseline,
    whichever is smaller; ``line_mm`` the morning VAS that reaches it."""

    mm: float
    pct: float
    line_mm: float


class MorningVasOut(BaseModel):
    day: int
    date: str
    vas_mm: float


class ProgressOut(BaseModel):
    """The chart data of the program (see the module docstring), with ``today``."""

    enrolment_id: int
    status: str
    program_status: ProgramStatusOut
    started: str
    day: int
    days: int
    baseline_vas_mm: float
    baseline_doses_per_day: int | None
    mcid: McidOut
    morning_vas: list[MorningVasOut]
    adherence: list[dict[str, Any]]
    adherence_total: dict[str, Any]
    sessions: list[dict[str, Any]]
    medication: list[dict[str, Any]]
    psfs: list[dict[str, Any]]
    pain_outcome: dict[str, Any]
    decisions: list[dict[str, Any]]
    today: TodayOut


router = APIRouter()


@router.get("/api/program/today", response_model=TodayOut)
async def today(service: ServiceDep, tz: TzQuery = None) -> Any:
    """Today's plan, "Recommended for you" (each with why) and the last decision."""
    return await run_service(service.today, zone_of(tz))


@router.get("/api/program/progress", response_model=ProgressOut)
async def progress(service: ServiceDep, tz: TzQuery = None) -> Any:
    """Chart data of the program (pain, adherence, sessions, medication, PSFS)."""
    return await run_service(service.progress, zone_of(tz))
