"""HTTP routes of the program's plan and progress: "Recommended for you" and the charts.

Page: ``/progress`` (the single-page app; charts drawn by ``static/progress.js``). The
home view (technique chooser) shows the "Recommended for you" block from
``/api/program/today``.

API (both run :func:`spinecoach.services.program.update_program` first, so a decision that
is due is stored; 409 when the person has no program, 422 for an unknown ``tz``):

* ``GET /api/program/today?tz=Area/City`` — today's plan (level, exercises with their
  dose, desk breaks, whether a main session is due), the suggestions each with ``why``
  (a reason citing the data), today's decision and the last stored decision with its
  reasons, the disclaimer;
* ``GET /api/program/progress?tz=Area/City`` — chart data: ``morning_vas`` (day, date,
  ``vas_mm``) with ``baseline_vas_mm`` and ``mcid`` (``mm``, ``pct``, ``line_mm``),
  ``adherence`` per day (done ÷ prescribed, level), ``sessions`` (range, quality, VAS
  before/after each), ``medication`` (doses per day), ``psfs`` (by week, 0 = baseline),
  ``pain_outcome``, ``adherence_total`` and every stored ``decisions``.

``tz`` is the person's IANA time zone (program days are their local days; default the
server's zone). The database work runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import tzinfo
from importlib import resources
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError
from spinecoach.services import program as service
from spinecoach.services.history import History
from spinecoach.store import program as store_program

TzQuery = Annotated[
    str | None,
    Query(max_length=64, description="The person's IANA time zone, e.g. Europe/Berlin"),
]


def _zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HTTPException(
            status_code=422,
            detail=f"tz={name!r} is not a known time zone; give an IANA name like Europe/Berlin",
        ) from None


@dataclass
class ProgressService:
    """Today's plan and the progress data for the local person (synchronous).

    One deciding call at a time: two requests at once must not both store the same due
    decision (the check and the insert are separate statements).
    """

    history: History
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def today(self, tz: tzinfo | None) -> dict[str, Any]:
        with self.lock, Session(self.history.engine) as db:
            state = service.update_program(db, self.history.person_id, tz=tz)
            return service.today_data(state)

    def progress(self, tz: tzinfo | None) -> dict[str, Any]:
        with self.lock, Session(self.history.engine) as db:
            state = service.update_program(db, self.history.person_id, tz=tz)
            return {**service.progress_data(db, state, tz=tz), "today": service.today_data(state)}


async def _run(call: Any, *args: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = await asyncio.to_thread(call, *args)
    except store_program.EnrolmentStateError as error:
        raise HTTPException(status_code=409, detail=str(error)) from None
    except ConfigurationError as error:
        raise HTTPException(status_code=422, detail=str(error)) from None
    return result


def _service(request: Request) -> ProgressService:
    state = request.app.state
    if getattr(state, "progress", None) is None:
        state.progress = ProgressService(state.history)
    made: ProgressService = state.progress
    return made


router = APIRouter()


@router.get("/progress", include_in_schema=False)
async def page() -> FileResponse:
    static = resources.files("spinecoach.web").joinpath("static")
    with resources.as_file(static.joinpath("index.html")) as path:
        return FileResponse(path, media_type="text/html")


@router.get("/api/program/today")
async def today(request: Request, tz: TzQuery = None) -> dict[str, Any]:
    """Today's plan, "Recommended for you" (each with why) and the last decision."""
    return await _run(_service(request).today, _zone(tz))


@router.get("/api/program/progress")
async def progress(request: Request, tz: TzQuery = None) -> dict[str, Any]:
    """Chart data of the program (pain, adherence, sessions, medication, PSFS)."""
    return await _run(_service(request).progress, _zone(tz))
