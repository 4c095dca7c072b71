"""HTTP routes of the history: the person's sessions, pain after (or before) a session,
closing an interrupted session with its summary, and each session's plot as a PNG.

``GET /api/sessions``
    the sessions, newest first (:class:`SessionOut`).
``POST /api/sessions/{id}/pain``
    ``{"vas_mm": 0–100 | null, "context": "before" | "after"}`` → 201 (404 for an
    unknown session). ``vas_mm`` null or absent is "not answered": nothing is stored,
    the rating stays missing (never 0) and counts for nothing (``stored`` false). The
    answer carries the session's ``advice`` (a jump in pain: ``{"code": "pain-jump",
    "text", "data"}``, else null) and the one ``program_status`` after it (a jump in
    pain during a program stops it at once; sessions are then refused).
``POST /api/sessions/{id}/close``
    an interrupted session closed with its summary (its stored samples replayed); 409
    for a session still running or already closed, 404 for an unknown one.

Every session (the list, the close answer) carries its ``advice`` too, judged from its
own pain before and after (:func:`spinecoach.program.lights.session_advice`), so the
page shows the stop advice instead of "Saved".
``GET /api/sessions/{id}/plot.png``
    the angle trace with its reps, holds and faults (:mod:`spinecoach.web.plots`).

The work is :class:`~spinecoach.services.history.History`, run in a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.services.history import SessionStateError
from spinecoach.services.program import person_status, session_advice
from spinecoach.web.deps import HistoryDep
from spinecoach.web.plots import PlotNotFound, SessionPlots
from spinecoach.web.routes.common import Body, FiniteJsonRoute, IdPath, TzQuery, zone_of
from spinecoach.web.routes.program import ProgramStatusOut

router = APIRouter(route_class=FiniteJsonRoute)  # NaN and 1e400 are not JSON: 422


class PainIn(Body):
    """A pain rating on the 0–100 mm visual analogue scale; null or absent: not
    answered (stored as missing, never as 0)."""

    vas_mm: float | None = Field(
        None,
        ge=0.0,
        le=100.0,
        description="0 = no pain, 100 = worst imaginable pain (mm); null: not answered.",
    )
    context: Literal["before", "after"] = "after"


class AdviceOut(BaseModel):
    """What a session tells the person at once (``pain-jump``: stop, ask a clinician)."""

    code: str
    text: str
    data: dict[str, Any]


class PainOut(BaseModel):
    """The rating as stored (``vas_mm`` null and ``stored`` false: not answered), the
    session's advice and the program status after it."""

    session_id: int
    vas_mm: float | None
    context: Literal["before", "after"]
    stored: bool
    advice: AdviceOut | None
    program_status: ProgramStatusOut


class RepOut(BaseModel):
    """One stored rep (times in s of the session, range in degrees, quality 0–100)."""

    index: int
    set: int
    start_s: float | None
    peak_s: float | None
    end_s: float | None
    quality: int
    faults: list[str]
    hold_s: float | None
    range_deg: float | None


class SessionOut(BaseModel):
    """A stored session: its status (``active``, ``interrupted``, ``completed``), the
    summary of its result, how far it was stored, its reps and the pain around it."""

    id: int
    technique: str
    started_utc: str
    status: str
    source: str
    summary: dict[str, Any] | None
    recorded_until_s: float | None
    reps: list[RepOut]
    pain_before_mm: float | None
    pain_after_mm: float | None
    advice: AdviceOut | None = None


def _with_advice(session: dict[str, Any]) -> dict[str, Any]:
    """A session's summary with its ``advice`` (see the module docstring)."""
    return {**session, "advice": session_advice(session)}


def session_plots(request: Request, history: HistoryDep) -> SessionPlots:
    """The app's plot renderer (one, with its cache keyed by person and session: each
    call names the request's person)."""
    state = request.app.state
    if getattr(state, "plots", None) is None:
        state.plots = SessionPlots(history)
    plots: SessionPlots = state.plots
    return plots


@router.get("/api/sessions", response_model=list[SessionOut])
async def sessions(history: HistoryDep) -> Any:
    return [_with_advice(s) for s in await asyncio.to_thread(history.sessions)]


@router.get(
    "/api/sessions/{session_id}/plot.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 404: {"description": "No plot"}},
)
async def session_plot(
    session_id: IdPath,
    plots: Annotated[SessionPlots, Depends(session_plots)],
    history: HistoryDep,
    narrow: bool = False,
    tz: TzQuery = None,
) -> Response:
    """The session's angle trace with its reps, holds and faults (PNG; ``narrow``: the
    phone's variant, legible at 390 px wide; ``tz``: the IANA zone of the title's time,
    default UTC; 422 for an unknown zone), in the live gauge's sign and words."""
    zone = zone_of(tz)
    try:
        png = await plots.png(session_id, narrow=narrow, tz=zone, person_id=history.person_id)
    except PlotNotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    except InputFormatError as error:
        raise HTTPException(status_code=500, detail=str(error)) from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "private"})


@router.post("/api/sessions/{session_id}/pain", status_code=201)
async def pain(session_id: IdPath, body: PainIn, history: HistoryDep) -> PainOut:
    """Pain before or after a session (null: not answered, nothing stored); the answer
    says at once whether the session's pain jumped (``advice``) and the program's status
    (a jump during a program stops it)."""

    def work() -> tuple[dict[str, Any], dict[str, Any]]:
        if body.vas_mm is not None:
            history.add_pain(session_id, body.vas_mm, body.context)
        session = history.session(session_id)
        return session, person_status(history.engine, history.person_id).as_dict()

    try:
        session, status = await asyncio.to_thread(work)
    except ConfigurationError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    return PainOut.model_validate(
        {
            "session_id": session_id,
            "vas_mm": body.vas_mm,
            "context": body.context,
            "stored": body.vas_mm is not None,
            "advice": session_advice(session),
            "program_status": status,
        }
    )


@router.post("/api/sessions/{session_id}/close", response_model=SessionOut)
async def close(session_id: IdPath, history: HistoryDep) -> Any:
    """Close an interrupted session with its summary (its stored samples replayed)."""
    try:
        return _with_advice(await asyncio.to_thread(history.close_interrupted, session_id))
    except SessionStateError as error:
        raise HTTPException(status_code=409, detail=str(error)) from None
    except ConfigurationError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
