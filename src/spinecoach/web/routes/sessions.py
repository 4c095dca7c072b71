"""HTTP routes of the history: the person's sessions, pain after (or before) a session,
closing an interrupted session with its summary, and each session's plot as a PNG.

``GET /api/sessions``
    the sessions, newest first (:class:`SessionOut`).
``POST /api/sessions/{id}/pain``
    ``{"vas_mm": 0–100, "context": "before" | "after"}`` → 201 (404 for an unknown
    session).
``POST /api/sessions/{id}/close``
    an interrupted session closed with its summary (its stored samples replayed); 409
    for a session still running or already closed, 404 for an unknown one.
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
from spinecoach.web.deps import HistoryDep
from spinecoach.web.plots import PlotNotFound, SessionPlots
from spinecoach.web.routes.common import Body

router = APIRouter()


class PainIn(Body):
    """A pain rating on the 0–100 mm visual analogue scale."""

    vas_mm: float = Field(
        ge=0.0, le=100.0, description="0 = no pain, 100 = worst imaginable pain (mm)."
    )
    context: Literal["before", "after"] = "after"


class PainOut(BaseModel):
    session_id: int
    vas_mm: float
    context: Literal["before", "after"]


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


def session_plots(request: Request, history: HistoryDep) -> SessionPlots:
    """The app's plot renderer (one, with its cache)."""
    state = request.app.state
    if getattr(state, "plots", None) is None:
        state.plots = SessionPlots(history)
    plots: SessionPlots = state.plots
    return plots


@router.get("/api/sessions", response_model=list[SessionOut])
async def sessions(history: HistoryDep) -> Any:
    return await asyncio.to_thread(history.sessions)


@router.get(
    "/api/sessions/{session_id}/plot.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 404: {"description": "No plot"}},
)
async def session_plot(
    session_id: int, plots: Annotated[SessionPlots, Depends(session_plots)]
) -> Response:
    """The session's angle trace with its reps, holds and faults (PNG)."""
    try:
        png = await plots.png(session_id)
    except PlotNotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    except InputFormatError as error:
        raise HTTPException(status_code=500, detail=str(error)) from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "private"})


@router.post("/api/sessions/{session_id}/pain", status_code=201)
async def pain(session_id: int, body: PainIn, history: HistoryDep) -> PainOut:
    try:
        await asyncio.to_thread(history.add_pain, session_id, body.vas_mm, body.context)
    except ConfigurationError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    return PainOut(session_id=session_id, vas_mm=body.vas_mm, context=body.context)


@router.post("/api/sessions/{session_id}/close", response_model=SessionOut)
async def close(session_id: int, history: HistoryDep) -> Any:
    """Close an interrupted session with its summary (its stored samples replayed)."""
    try:
        return await asyncio.to_thread(history.close_interrupted, session_id)
    except SessionStateError as error:
        raise HTTPException(status_code=409, detail=str(error)) from None
    except ConfigurationError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
