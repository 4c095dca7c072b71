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

The stored days and the settings are :class:`spinecoach.services.posture.PostureService`
(run in a worker thread); "now" and the prompt are the app's
:class:`~spinecoach.web.posture_monitor.PostureMonitor`.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from spinecoach.errors import ConfigurationError
from spinecoach.posture.deskbreak import DeskBreakSettings
from spinecoach.services.posture import PostureService
from spinecoach.web.deps import HistoryDep, PostureDep
from spinecoach.web.routes.common import Body, FiniteJsonRoute, IdPath, check_day

router = APIRouter(route_class=FiniteJsonRoute)  # NaN and 1e400 are not JSON: 422


def posture_service(history: HistoryDep) -> PostureService:
    """The stored working days of the server's local person."""
    return PostureService(history)


ServiceDep = Annotated[PostureService, Depends(posture_service)]


def _local_day(text: str | None) -> tuple[date, datetime, datetime]:
    tz = datetime.now().astimezone().tzinfo
    try:
        day = date.fromisoformat(text) if text else datetime.now(tz).date()
    except ValueError:
        raise HTTPException(
            422, detail={"problem": f"date {text!r} is not YYYY-MM-DD", "fix": "e.g. 2026-11-25"}
        ) from None
    check_day(day, "date")  # a week back or a day's end stays in the calendar
    start = datetime.combine(day, time(0), tzinfo=tz)
    return day, start, start + timedelta(days=1)


class OpenPromptOut(BaseModel):
    id: int
    outcome: str
    prompted_utc: str
    technique: str
    text: str


class PostureNowOut(BaseModel):
    """The monitor's status; only ``source`` (null) and ``advice`` when it is off."""

    source: str | None
    advice: str | None = None
    running: bool | None = None
    now_utc: str | None = None
    posture: str | None = None
    sitting_since_utc: str | None = None
    sitting_min: float | None = None
    prompt: OpenPromptOut | None = None
    last_prompt_outcome: str | None = None
    trust: dict[str, Any] | None = None
    minutes_stored: int | None = None


class DaySummaryOut(BaseModel):
    """One local day's totals (s per posture, sitting, bouts, breaks, prompts)."""

    date: str
    start_utc: str
    end_utc: str
    seconds: dict[str, float]
    minutes: int
    untrusted_minutes: int
    sitting_s: float
    slouched_share: float | None
    bouts: int
    longest_bout_s: float
    breaks: int
    prompts: int
    desk_breaks_done: int


class BoutRowOut(BaseModel):
    start_utc: str
    end_utc: str
    slouched_s: float


class PromptRowOut(BaseModel):
    id: int
    prompted_utc: str
    outcome: str
    session_id: int | None
    reps: int | None


class DayOut(DaySummaryOut):
    """The day's totals with every stored minute, sitting bout and prompt."""

    minutes_rows: list[dict[str, Any]]
    bouts_rows: list[BoutRowOut]
    prompts_rows: list[PromptRowOut]


class WeekOut(BaseModel):
    days: list[DaySummaryOut]


class SettingsOut(BaseModel):
    sitting_limit_min: float
    snooze_min: float
    quiet_start: str | None
    quiet_end: str | None


@router.get("/api/posture/now", response_model=PostureNowOut, response_model_exclude_unset=True)
async def posture_now(monitor: PostureDep) -> Any:
    if monitor is None:
        return {
            "source": None,
            "advice": "posture monitoring is off: start the server with --posture devices "
            "(your sensors) or --posture sim-day (a simulated day)",
        }
    return await asyncio.to_thread(monitor.status)


class PromptAnswer(Body):
    action: Literal["start", "snooze", "dismiss"]


_OUTCOMES = {"start": "started", "snooze": "snoozed", "dismiss": "dismissed"}


@router.post(
    "/api/posture/prompt/{prompt_id}",
    response_model=PostureNowOut,
    response_model_exclude_unset=True,
)
async def answer_prompt(prompt_id: IdPath, body: PromptAnswer, monitor: PostureDep) -> Any:
    if monitor is None:
        raise HTTPException(404, detail={"problem": "posture monitoring is off", "fix": ""})
    try:
        return await asyncio.to_thread(monitor.answer, prompt_id, _OUTCOMES[body.action])
    except LookupError as error:
        raise HTTPException(
            404, detail={"problem": str(error), "fix": "GET /api/posture/now for the open one"}
        ) from None


@router.get("/api/posture/day")
async def posture_day(
    service: ServiceDep, date_: str | None = Query(default=None, alias="date")
) -> DayOut:
    day, start, end = _local_day(date_)
    summary = await asyncio.to_thread(service.day, start, end, rows=True)
    return DayOut.model_validate({"date": day.isoformat(), **summary})


@router.get("/api/posture/week")
async def posture_week(service: ServiceDep, end: str | None = Query(default=None)) -> WeekOut:
    last, _, _ = _local_day(end)
    days = []
    for back in range(6, -1, -1):
        day, start, stop = _local_day((last - timedelta(days=back)).isoformat())
        summary = await asyncio.to_thread(service.day, start, stop, rows=False)
        days.append(DaySummaryOut.model_validate({"date": day.isoformat(), **summary}))
    return WeekOut(days=days)


class SettingsIn(Body):
    sitting_limit_min: float = Field(default=45.0, ge=5, le=240)
    snooze_min: float = Field(default=10.0, ge=1, le=120)
    quiet_start: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    quiet_end: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


@router.get("/api/posture/settings")
async def get_posture_settings(service: ServiceDep) -> SettingsOut:
    settings = await asyncio.to_thread(service.settings)
    return SettingsOut.model_validate(settings.as_dict())


@router.put("/api/posture/settings")
async def put_posture_settings(body: SettingsIn, service: ServiceDep) -> SettingsOut:
    settings = DeskBreakSettings(**body.model_dump())
    try:
        saved = await asyncio.to_thread(service.save_settings, settings)
    except ConfigurationError as error:
        raise HTTPException(422, detail={"problem": str(error), "fix": ""}) from None
    return SettingsOut.model_validate(saved.as_dict())
