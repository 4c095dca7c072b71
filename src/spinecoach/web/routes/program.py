"""HTTP routes of the 6-week program: onboarding, tracking and reminders.

Pages (the single-page app, ``static/program.js``): ``/onboarding`` (red-flag questions
first, then the baseline), ``/checkin`` (morning pain and medication), ``/psfs`` (weekly
function) and ``/program`` (status, reminders, calendar download).

API (JSON bodies with ``extra="forbid"``; an out-of-range value is a 422 whose ``loc``
names the field; a cross-field problem is a 422 with a ``detail`` text naming it). A pain
rating outside 0–100 says so in plain words (``vas_mm=150 is outside the 0–100 mm visual
analogue scale: …``), and a check-in ``day`` after today (the server's calendar,
:func:`spinecoach.program.onboarding.server_today`) is refused (``day=2099-01-01 is in the
future …``); nothing is stored then:

* ``GET /api/program/red-flags`` — the questions, the disclaimer;
* ``POST /api/program/onboarding`` — ``{"red_flags": {id: bool}, "baseline": {...}}``;
  a red flag stores the screening and a stopped program and answers
  ``{"status": "stopped", "advice", "urgency", "reasons", "disclaimer", "recorded": true}``
  (the baseline is not needed then); else 201 with the active program. After a program
  stopped by a red flag or by the engine's stop-refer decision (a jump in pain),
  starting again also needs ``"clearance": {"confirmed": true,
  "seen_on": "YYYY-MM-DD"}`` (a doctor or physiotherapist saw the person on or after the
  day of the stop and agreed; recorded with the stopped program), else 409;
* ``POST /api/program/screening`` — a later re-screening ("something new or worrying?"):
  recorded; a red flag stops the active program at once and the reply carries the
  during-program advice (``"advice"``: "Please stop the exercise program for now …",
  ``"program_stopped": true``);
* ``POST /api/program/checkin``, ``POST /api/program/psfs`` — tracking (409 without an
  active program);
* ``GET /api/program/status`` — the newest program, its week, the reminders; a program
  stopped by a red flag or by the engine's stop-refer decision (a jump in pain) also has
  ``stopped_by`` (``red-flag``, ``pain-jump`` or ``stop-refer``), ``stop_advice``,
  ``stop_urgency`` (None for a jump in pain), ``stop_reasons``, ``stopped_utc`` (the
  advice and reasons shown when it stopped) and ``stop_cause`` (in words, "your pain
  jumped"); ``needs_clearance`` tells whether a new program needs the clinician's
  clearance;
* ``GET /api/program/calendar.ics?start=YYYY-MM-DD`` — the routine as iCalendar;
* ``POST /api/program/clearance`` — ``{"cleared_by": "Dr Lee, GP", "note": "..."}``:
  record a clinician's clearance of the stopped program (201 with the program status);
  409 when there is no stopped program to clear or it was cleared already. Until it is
  recorded, every session start is refused (see below);
* ``GET /api/program/start-check`` — may a session start now? 200 with the program
  status, or 409 with ``{"detail": {"code": "program-stopped", "problem", "fix",
  "program_status"}}``: the same words as the live WebSocket's ``program-stopped``
  error.

**One status** (issue 15): ``/api/program/status``, ``/today`` and ``/progress`` all carry
``program_status`` (:class:`ProgramStatusOut`), computed by one function
(:func:`spinecoach.services.program.program_status`): ``status``, ``stopped_by``,
``cause``, ``reasons``, ``advice``, ``needs_clearance``, ``clearance``,
``sessions_allowed``, ``problem`` and ``what_to_do``. While ``needs_clearance`` every
session start is refused (the WebSocket's ``start`` with the ``program-stopped`` error,
``start-check`` with 409) until the clearance is recorded.

The routes are thin: the rules and the database work are
:class:`spinecoach.services.enrolment.EnrolmentService` (run in a worker thread); the
person is the server's local person (:class:`~spinecoach.services.history.History`).
Each answer has a response model; keys a reply does not have are left out, as before.
The pages are served by :mod:`spinecoach.web.routes.pages`.
"""

from __future__ import annotations

import asyncio
import math
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from spinecoach.program import onboarding as ob
from spinecoach.services.enrolment import EnrolmentService, red_flag_questions
from spinecoach.services.program_status import ProgramStoppedError
from spinecoach.web.deps import HistoryDep
from spinecoach.web.routes.common import Body, FiniteJsonRoute, check_day, run_service

Clock = Annotated[str, Field(pattern=ob.CLOCK_PATTERN, description="HH:MM, 24-hour clock")]


def _vas_in_range(value: float) -> float:
    # Our own message instead of pydantic's "Input should be less than or equal to 100":
    # the person sees the scale, the value they gave and what to give instead.
    if not math.isfinite(value) or not ob.VAS_MIN_MM <= value <= ob.VAS_MAX_MM:
        raise PydanticCustomError("vas_range", ob.vas_message(value))
    return value


VasMm = Annotated[
    float,
    AfterValidator(_vas_in_range),
    Field(
        description="Pain in mm on the 0–100 visual analogue scale (0 = no pain)",
        json_schema_extra={"minimum": ob.VAS_MIN_MM, "maximum": ob.VAS_MAX_MM},
    ),
]


class PsfsActivityIn(Body):
    activity: str = Field(min_length=1, max_length=ob.ACTIVITY_MAX_CHARS)
    score: int = Field(ge=ob.PSFS_MIN_SCORE, le=ob.PSFS_MAX_SCORE)


class ScheduleIn(Body):
    morning_time: Clock
    work_start: Clock | None = None
    work_end: Clock | None = None
    desk_break_every_min: int = Field(
        ob.DESK_BREAK_DEFAULT_EVERY_MIN,
        ge=ob.DESK_BREAK_MIN_EVERY_MIN,
        le=ob.DESK_BREAK_MAX_EVERY_MIN,
    )


class BaselineIn(Body):
    vas_mm: VasMm
    psfs: list[PsfsActivityIn] = Field(default_factory=list, max_length=ob.PSFS_MAX_ACTIVITIES)
    doses_per_day: int = Field(ge=0, le=ob.DOSES_MAX_PER_DAY)
    schedule: ScheduleIn
    sensors: list[Literal["phone", "wearable", "camera"]] = Field(default_factory=list)

    def baseline(self) -> ob.Baseline:
        """The program's baseline (checked by :func:`~spinecoach.program.onboarding.
        make_baseline`)."""
        s = self.schedule
        return ob.make_baseline(
            vas_mm=self.vas_mm,
            psfs=[(a.activity, a.score) for a in self.psfs],
            doses_per_day=self.doses_per_day,
            schedule=ob.make_schedule(
                s.morning_time, s.work_start, s.work_end, s.desk_break_every_min
            ),
            sensors=self.sensors,
        )


class ClearanceIn(Body):
    confirmed: bool = Field(description="A doctor or physiotherapist agreed: exercise is fine")
    seen_on: date = Field(description="The day they saw the person (the person's local day)")


class OnboardingIn(Body):
    red_flags: dict[str, bool]
    baseline: BaselineIn | None = None
    clearance: ClearanceIn | None = Field(
        None, description="Needed to start again after a program stopped by a red flag"
    )


class ClearanceRecordIn(Body):
    """A clinician's clearance after a stop: who cleared the person, and a note."""

    cleared_by: str = Field(
        min_length=1,
        max_length=200,
        description="Who cleared the person to exercise, e.g. 'Dr Lee, GP'",
    )
    note: str = Field("", max_length=ob.NOTE_MAX_CHARS)


class ScreeningIn(Body):
    red_flags: dict[str, bool]


class CheckinIn(Body):
    vas_mm: VasMm
    doses_per_day: int = Field(ge=0, le=ob.DOSES_MAX_PER_DAY)
    note: str = Field("", max_length=ob.NOTE_MAX_CHARS)
    day: date | None = Field(
        None,
        description="The person's local day, today or earlier (default: today on the "
        "server's calendar)",
    )

    @field_validator("day")
    @classmethod
    def _not_in_the_future(cls, value: date | None) -> date | None:
        today = ob.server_today()
        if value is not None and value > today:
            raise PydanticCustomError("future_day", ob.future_day_message(value, "day", today))
        return value


class PsfsIn(Body):
    # An empty list is refused by the store with the activities still to rate.
    scores: list[PsfsActivityIn] = Field(max_length=ob.PSFS_MAX_ACTIVITIES)


# Answers ---------------------------------------------------------------------------------
class RedFlagQuestionOut(BaseModel):
    id: str
    question: str


class RedFlagsOut(BaseModel):
    questions: list[RedFlagQuestionOut]
    disclaimer: str


class ScreeningOut(BaseModel):
    """A screening's outcome (``id`` once stored; a later screening also says whether it
    stopped the program and when it was made)."""

    stop: bool
    urgency: str | None
    advice: str
    reasons: list[str]
    flagged: list[str]
    disclaimer: str
    recorded: bool
    id: int | None = None
    program_stopped: bool | None = None
    screened_utc: str | None = None


class ReminderOut(BaseModel):
    kind: str
    time: str
    days: str


class ClearanceOut(BaseModel):
    cleared_by: str
    note: str
    cleared_utc: str


class ProgramStatusOut(BaseModel):
    """The one program status (:class:`spinecoach.services.program_status.ProgramStatus`):
    ``status`` None (never enrolled), ``active``, ``stopped`` or ``completed``; for a
    stop, what stopped it (``stopped_by``, ``cause`` in words, the ``reasons`` it cited,
    the ``advice`` given, ``urgency``); ``needs_clearance``: sessions are refused until a
    clinician's clearance is recorded; ``sessions_allowed``; ``problem`` and
    ``what_to_do``: the words to show."""

    status: str | None
    enrolment_id: int | None
    stopped_by: Literal["red-flag", "pain-jump", "stop-refer"] | None
    cause: str | None
    reasons: list[str]
    advice: str | None
    urgency: str | None
    stopped_utc: str | None
    needs_clearance: bool
    clearance: ClearanceOut | None
    sessions_allowed: bool
    problem: str | None
    what_to_do: str | None


class EnrolmentOut(BaseModel):
    """The newest program (``{"enrolled": false, "status": null}`` without one); the stop
    fields only for a stopped program, ``screening`` only in onboarding's answer."""

    enrolled: bool
    status: str | None
    id: int | None = None
    started_utc: str | None = None
    ended_utc: str | None = None
    stop_reason: str | None = None
    baseline_vas_mm: float | None = None
    baseline_doses_per_day: int | None = None
    schedule: dict[str, Any] | None = None
    sensors: list[str] | None = None
    psfs_activities: list[str] | None = None
    week: int | None = None
    weeks: int | None = None
    reminders: list[ReminderOut] | None = None
    needs_clearance: bool | None = None
    stopped_by: Literal["red-flag", "pain-jump", "stop-refer"] | None = None
    stop_advice: str | None = None
    stop_urgency: str | None = None
    stop_reasons: list[str] | None = None
    stopped_utc: str | None = None
    stop_cause: str | None = None
    screening: ScreeningOut | None = None
    program_status: ProgramStatusOut | None = None


class CheckinOut(BaseModel):
    vas_mm: float
    context: str
    doses_per_day: int
    day: date
    note: str


class PsfsScoreOut(BaseModel):
    activity: str
    score: int


class PsfsOut(BaseModel):
    scores: list[PsfsScoreOut]


def enrolment_service(history: HistoryDep) -> EnrolmentService:
    """The program's service for the server's local person."""
    return EnrolmentService(history)


ServiceDep = Annotated[EnrolmentService, Depends(enrolment_service)]
#: Leave out the keys a reply does not have (the answers' optional fields).
SPARSE: dict[str, Any] = {"response_model_exclude_unset": True}

router = APIRouter(route_class=FiniteJsonRoute)  # NaN and 1e400 are not JSON: 422


@router.get("/api/program/red-flags")
async def red_flags() -> RedFlagsOut:
    """The red-flag questions asked before the program (a "yes" is a red flag)."""
    return RedFlagsOut.model_validate(red_flag_questions())


@router.get("/api/program/status", response_model=EnrolmentOut, **SPARSE)
async def status(service: ServiceDep) -> Any:
    return await run_service(service.status)


@router.post("/api/program/onboarding", status_code=201, response_model=EnrolmentOut, **SPARSE)
async def onboarding(body: OnboardingIn, service: ServiceDep) -> Any:
    """Red-flag screening, then the baseline; a red flag stops (and is recorded). After a
    red-flag stop, a new program also needs ``clearance`` (409 without it)."""

    def work() -> dict[str, Any]:
        baseline = None if body.baseline is None else body.baseline.baseline()
        clearance = None
        if body.clearance is not None:
            clearance = (body.clearance.confirmed, body.clearance.seen_on)
        return service.onboard(body.red_flags, baseline, clearance)

    return await run_service(work)


@router.post("/api/program/screening", status_code=201, response_model=ScreeningOut, **SPARSE)
async def screening(body: ScreeningIn, service: ServiceDep) -> Any:
    """A later red-flag screening; a red flag stops the active program."""
    return await run_service(service.rescreen, body.red_flags)


@router.post("/api/program/checkin", status_code=201, response_model=CheckinOut)
async def checkin(body: CheckinIn, service: ServiceDep) -> Any:
    """The daily check-in: morning pain (VAS) and the day's pain-medication doses."""
    return await run_service(service.checkin, body.vas_mm, body.doses_per_day, body.note, body.day)


@router.post("/api/program/psfs", status_code=201, response_model=PsfsOut)
async def psfs(body: PsfsIn, service: ServiceDep) -> Any:
    """The weekly PSFS: a 0–10 score for each activity chosen at onboarding."""
    return await run_service(service.psfs, {s.activity: s.score for s in body.scores})


@router.get(
    "/api/program/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
async def calendar(
    service: ServiceDep,
    start: Annotated[date | None, Query(description="First day, the person's local date")] = None,
) -> Response:
    """The routine (morning session daily, desk breaks on weekdays) for 6 weeks."""
    if start is not None:
        check_day(start, "start")  # its 6 weeks stay in the calendar
    ics, enrolment_id = await run_service(service.calendar, start)
    return Response(
        ics.encode("utf-8"),
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="spinecoach-program-{enrolment_id}.ics"'
        },
    )


@router.post("/api/program/clearance", status_code=201, response_model=ProgramStatusOut)
async def clearance(body: ClearanceRecordIn, service: ServiceDep) -> Any:
    """Record a clinician's clearance of the stopped program: sessions may start again.

    Clearance is the clinician's act. Until issue 16's roles exist, anyone who can reach
    the server may record it (the server serves one local person on a trusted network);
    the record keeps who was named and when.
    """
    return await run_service(service.record_clearance, body.cleared_by, body.note)


@router.get(
    "/api/program/start-check",
    response_model=ProgramStatusOut,
    responses={409: {"description": "The program is stopped: code, problem, fix, status"}},
)
async def start_check(service: ServiceDep) -> Any:
    """May a session start now? 200 with the status, or 409 with the ``program-stopped``
    code, the problem and the fix (the live WebSocket's words)."""
    try:
        return await asyncio.to_thread(service.start_check)
    except ProgramStoppedError as error:
        raise HTTPException(status_code=409, detail=error.detail()) from None
