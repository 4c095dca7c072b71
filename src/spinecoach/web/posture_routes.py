"""HTTP routes of the working day: posture now and the desk-break prompt, the day and
week summaries from the stored minutes, and the person's desk-break settings.

``GET /api/posture/now``
    the monitor's status (source, current posture, sitting since, the open prompt with
    its text, trust); ``{"source": null}`` when the server does not monitor posture.
``POST /api/posture/prompt/{id}``
    ``{"action": "start" | "snooze" | "dismiss"}``: the person's answer to the open
    prompt (404 for a prompt that is not open).
``GET /api/posture/day?date=YYYY-MM-DD``
    the local day (default today): per-minute rows, totals per posture, sitting time and
    its slouched share, bouts, longest bout, breaks, prompts and desk breaks done.
``GET /api/posture/week?end=YYYY-MM-DD``
    the 7 local days up to ``end``: each day's totals (the weekly trend).
``GET /api/posture/settings``, ``PUT /api/posture/settings``
    ``{"sitting_limit_min", "snooze_min", "quiet_start", "quiet_end"}``; a bad value →
    422 naming the field.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError
from spinecoach.posture.deskbreak import DeskBreakSettings
from spinecoach.services.history import History
from spinecoach.store import posture as store
from spinecoach.web.posture_monitor import PostureMonitor

router = APIRouter()


def _local_day(text: str | None) -> tuple[date, datetime, datetime]:
    tz = datetime.now().astimezone().tzinfo
    try:
        day = date.fromisoformat(text) if text else datetime.now(tz).date()
    except ValueError:
        raise HTTPException(
            422, detail={"problem": f"date {text!r} is not YYYY-MM-DD", "fix": "e.g. 2026-11-25"}
        ) from None
    start = datetime.combine(day, time(0), tzinfo=tz)
    return day, start, start + timedelta(days=1)


def _monitor(request: Request) -> PostureMonitor | None:
    monitor: PostureMonitor | None = getattr(request.app.state, "posture", None)
    return monitor


@router.get("/api/posture/now")
async def posture_now(request: Request) -> dict[str, Any]:
    monitor = _monitor(request)
    if monitor is None:
        return {
            "source": None,
            "advice": "posture monitoring is off: start the server with --posture devices "
            "(your sensors) or --posture sim-day (a simulated day)",
        }
    return await asyncio.to_thread(monitor.status)


class PromptAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["start", "snooze", "dismiss"]


_OUTCOMES = {"start": "started", "snooze": "snoozed", "dismiss": "dismissed"}


@router.post("/api/posture/prompt/{prompt_id}")
async def answer_prompt(prompt_id: int, body: PromptAnswer, request: Request) -> dict[str, Any]:
    monitor = _monitor(request)
    if monitor is None:
        raise HTTPException(404, detail={"problem": "posture monitoring is off", "fix": ""})
    try:
        return await asyncio.to_thread(monitor.answer, prompt_id, _OUTCOMES[body.action])
    except LookupError as error:
        raise HTTPException(
            404, detail={"problem": str(error), "fix": "GET /api/posture/now for the open one"}
        ) from None


def _day(history: History, start: datetime, end: datetime, *, rows: bool) -> dict[str, Any]:
    with Session(history.engine) as db:
        minutes = store.minutes_between(db, history.person_id, start, end)
        bouts = store.bouts_between(db, history.person_id, start, end)
        prompts = store.prompts_between(db, history.person_id, start, end)
        summary = store.summarise(minutes, bouts, prompts, start, end).as_dict()
        if rows:
            summary["minutes_rows"] = [store.minute_as_dict(m) for m in minutes]
            summary["bouts_rows"] = [
                {
                    "start_utc": b.start_utc.isoformat(),
                    "end_utc": b.end_utc.isoformat(),
                    "slouched_s": b.slouched_s,
                }
                for b in bouts
            ]
            summary["prompts_rows"] = [
                {
                    "id": p.id,
                    "prompted_utc": p.prompted_utc.isoformat(),
                    "outcome": p.outcome,
                    "session_id": p.session_id,
                    "reps": p.reps,
                }
                for p in prompts
            ]
    return summary


@router.get("/api/posture/day")
async def posture_day(
    request: Request, date_: str | None = Query(default=None, alias="date")
) -> dict[str, Any]:
    history: History = request.app.state.history
    day, start, end = _local_day(date_)
    summary = await asyncio.to_thread(_day, history, start, end, rows=True)
    return {"date": day.isoformat(), **summary}


@router.get("/api/posture/week")
async def posture_week(request: Request, end: str | None = Query(default=None)) -> dict[str, Any]:
    history: History = request.app.state.history
    last, _, _ = _local_day(end)
    days = []
    for back in range(6, -1, -1):
        day, start, stop = _local_day((last - timedelta(days=back)).isoformat())
        summary = await asyncio.to_thread(_day, history, start, stop, rows=False)
        days.append({"date": day.isoformat(), **summary})
    return {"days": days}


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sitting_limit_min: float = Field(default=45.0, ge=5, le=240)
    snooze_min: float = Field(default=10.0, ge=1, le=120)
    quiet_start: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    quiet_end: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


@router.get("/api/posture/settings")
async def get_posture_settings(request: Request) -> dict[str, Any]:
    history: History = request.app.state.history

    def read() -> dict[str, Any]:
        with Session(history.engine) as db:
            return store.get_settings(db, history.person_id).as_dict()

    return await asyncio.to_thread(read)


@router.put("/api/posture/settings")
async def put_posture_settings(body: SettingsIn, request: Request) -> dict[str, Any]:
    history: History = request.app.state.history
    settings = DeskBreakSettings(**body.model_dump())

    def write() -> dict[str, Any]:
        with Session(history.engine) as db:
            return store.save_settings(db, history.person_id, settings).as_dict()

    try:
        return await asyncio.to_thread(write)
    except ConfigurationError as error:
        raise HTTPException(422, detail={"problem": str(error), "fix": ""}) from None
