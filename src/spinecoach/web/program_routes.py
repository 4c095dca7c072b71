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
* ``GET /api/program/calendar.ics?start=YYYY-MM-DD`` — the routine as iCalendar.

The database work runs in a worker thread (``asyncio.to_thread``); the person is the
server's local person (:class:`~spinecoach.services.history.History`).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError
from spinecoach.program import onboarding as ob
from spinecoach.program.calendar import reminder_times, routine_calendar
from spinecoach.program.redflags import DISCLAIMER, ScreeningResult, default_red_flags
from spinecoach.services.history import History
from spinecoach.store import program as store_program
from spinecoach.store.models import PainEntry, ProgramEnrolment

PAGES = ("/onboarding", "/checkin", "/psfs", "/program", "/screening")
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


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PsfsActivityIn(_Body):
    activity: str = Field(min_length=1, max_length=ob.ACTIVITY_MAX_CHARS)
    score: int = Field(ge=ob.PSFS_MIN_SCORE, le=ob.PSFS_MAX_SCORE)


class ScheduleIn(_Body):
    morning_time: Clock
    work_start: Clock | None = None
    work_end: Clock | None = None
    desk_break_every_min: int = Field(
        ob.DESK_BREAK_DEFAULT_EVERY_MIN,
        ge=ob.DESK_BREAK_MIN_EVERY_MIN,
        le=ob.DESK_BREAK_MAX_EVERY_MIN,
    )


class BaselineIn(_Body):
    vas_mm: VasMm
    psfs: list[PsfsActivityIn] = Field(default_factory=list, max_length=ob.PSFS_MAX_ACTIVITIES)
    doses_per_day: int = Field(ge=0, le=ob.DOSES_MAX_PER_DAY)
    schedule: ScheduleIn
    sensors: list[Literal["phone", "wearable", "camera"]] = Field(default_factory=list)


class ClearanceIn(_Body):
    confirmed: bool = Field(description="A doctor or physiotherapist agreed: exercise is fine")
    seen_on: date = Field(description="The day they saw the person (the person's local day)")


class OnboardingIn(_Body):
    red_flags: dict[str, bool]
    baseline: BaselineIn | None = None
    clearance: ClearanceIn | None = Field(
        None, description="Needed to start again after a program stopped by a red flag"
    )


class ScreeningIn(_Body):
    red_flags: dict[str, bool]


class CheckinIn(_Body):
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


class PsfsIn(_Body):
    # An empty list is refused by the store with the activities still to rate.
    scores: list[PsfsActivityIn] = Field(max_length=ob.PSFS_MAX_ACTIVITIES)


def _baseline(body: BaselineIn) -> ob.Baseline:
    s = body.schedule
    return ob.make_baseline(
        vas_mm=body.vas_mm,
        psfs=[(a.activity, a.score) for a in body.psfs],
        doses_per_day=body.doses_per_day,
        schedule=ob.make_schedule(s.morning_time, s.work_start, s.work_end, s.desk_break_every_min),
        sensors=body.sensors,
    )


def _screening(result: ScreeningResult, advice: str | None = None) -> dict[str, Any]:
    return {
        "stop": result.stop,
        "urgency": result.urgency,
        "advice": result.advice if advice is None else advice,
        "reasons": list(result.reasons),
        "flagged": [f.id for f in result.flagged],
        "disclaimer": DISCLAIMER,
        "recorded": True,
    }


@dataclass
class ProgramService:
    """The program's database work for the local person (synchronous; run in a thread)."""

    history: History

    def _session(self) -> Session:
        return Session(self.history.engine)

    def _enrolment(self, db: Session, enrolment: ProgramEnrolment | None) -> dict[str, Any]:
        if enrolment is None:
            return {"enrolled": False, "status": None}
        now = datetime.now(UTC)
        out: dict[str, Any] = {
            "enrolled": enrolment.status == "active",
            "id": enrolment.id,
            "status": enrolment.status,
            "started_utc": enrolment.started_utc.isoformat(),
            "ended_utc": None if enrolment.ended_utc is None else enrolment.ended_utc.isoformat(),
            "stop_reason": enrolment.stop_reason,
            "baseline_vas_mm": enrolment.baseline_vas_mm,
            "baseline_doses_per_day": enrolment.baseline_doses_per_day,
            "schedule": enrolment.schedule or None,
            "sensors": list(enrolment.sensors),
            "psfs_activities": store_program.baseline_activities(db, enrolment),
            "week": ob.program_week(enrolment.started_utc, now),
            "weeks": ob.PROGRAM_WEEKS,
            "reminders": [],
        }
        if enrolment.schedule:
            out["reminders"] = reminder_times(store_program.enrolment_schedule(enrolment))
        out["needs_clearance"] = False
        stopped_by = store_program.stop_screening(db, enrolment)
        stop_decision = store_program.stop_decision(db, enrolment)
        if enrolment.status == "stopped" and stopped_by is not None:
            # What the person was told when it stopped, so every page can say it again.
            reasons = {f.id: f.reason for f in default_red_flags()}
            out["stopped_by"] = "red-flag"
            out["stop_advice"] = stopped_by.advice
            out["stop_urgency"] = stopped_by.urgency
            out["stop_reasons"] = [reasons.get(i, i) for i in stopped_by.flagged]
            out["stopped_utc"] = stopped_by.screened_utc.isoformat()
            out["reminders"] = []
        elif enrolment.status == "stopped" and stop_decision is not None:
            # Stopped by the engine (a jump in pain): its reasons, and its referral advice.
            rows = [dict(r) for r in stop_decision.reasons]
            refer = [str(r.get("text", "")) for r in rows if r.get("code") == "refer"]
            cited = [r for r in rows if r.get("code") != "refer"]
            codes = {r.get("code") for r in cited}
            out["stopped_by"] = "pain-jump" if codes == {"pain-jump"} else "stop-refer"
            out["stop_advice"] = refer[0] if refer else ""
            out["stop_urgency"] = next(
                (r["data"]["urgency"] for r in rows if "urgency" in (r.get("data") or {})), None
            )
            out["stop_reasons"] = [str(r.get("text", "")) for r in cited]
            ended = enrolment.ended_utc or stop_decision.decided_utc
            out["stopped_utc"] = ended.isoformat()
            out["reminders"] = []
        if enrolment.status == "stopped" and (stopped_by or stop_decision) is not None:
            out["needs_clearance"] = True
            out["stop_cause"] = store_program.stop_cause(db, enrolment)
        return out

    def status(self) -> dict[str, Any]:
        with self._session() as db:
            enrolment = store_program.latest_enrolment(db, self.history.person_id)
            return self._enrolment(db, enrolment)

    def onboard(
        self,
        answers: dict[str, bool],
        baseline: ob.Baseline | None,
        clearance: ob.Clearance | None = None,
    ) -> dict[str, Any]:
        with self._session() as db:
            outcome = store_program.onboard(
                db, self.history.person_id, answers, baseline, clearance=clearance
            )
            return {
                **self._enrolment(db, outcome.enrolment),
                "screening": {**_screening(outcome.result), "id": outcome.screening.id},
            }

    def rescreen(self, answers: dict[str, bool]) -> dict[str, Any]:
        """A later screening; during a program a red flag stops it and the advice is
        :attr:`ScreeningResult.advice_during_program` (as stored with the screening)."""
        with self._session() as db:
            screening, result = store_program.rescreen(db, self.history.person_id, answers)
            during = screening.enrolment_id is not None
            advice = result.advice_during_program if during else result.advice
            return {
                **_screening(result, advice),
                "id": screening.id,
                "program_stopped": during and result.stop,
                "screened_utc": screening.screened_utc.isoformat(),
            }

    def checkin(self, body: CheckinIn) -> dict[str, Any]:
        day = body.day or ob.server_today()
        with self._session() as db:
            outcome = store_program.daily_checkin(
                db,
                self.history.person_id,
                vas_mm=body.vas_mm,
                doses_per_day=body.doses_per_day,
                taken_on=day,
                note=body.note,
            )
            pain: PainEntry = outcome.pain
            return {
                "vas_mm": pain.vas_mm,
                "context": pain.context,
                "doses_per_day": outcome.medication.doses_per_day,
                "day": outcome.medication.taken_on,
                "note": outcome.medication.note,
            }

    def psfs(self, body: PsfsIn) -> dict[str, Any]:
        with self._session() as db:
            entries = store_program.add_weekly_psfs(
                db, self.history.person_id, {s.activity: s.score for s in body.scores}
            )
            return {"scores": [{"activity": e.activity, "score": e.score} for e in entries]}

    def calendar(self, start: date | None) -> tuple[str, int]:
        with self._session() as db:
            enrolment = store_program.active_enrolment(db, self.history.person_id)
            if enrolment is None:
                raise store_program.EnrolmentStateError(
                    "there is no active program, so no routine to export; complete onboarding first"
                )
            schedule = store_program.enrolment_schedule(enrolment)
            first = start or enrolment.started_utc.date()
            ics = routine_calendar(schedule, start=first, uid_prefix=f"program-{enrolment.id}")
            return ics, enrolment.id


def _service(request: Request) -> ProgramService:
    state = request.app.state
    if getattr(state, "program", None) is None:
        state.program = ProgramService(state.history)
    service: ProgramService = state.program
    return service


async def _run(call: Any, *args: Any) -> Any:
    """Run ``call`` in a worker thread; our errors become 409 (state) or 422 (input)."""
    try:
        return await asyncio.to_thread(call, *args)
    except store_program.EnrolmentStateError as error:
        raise HTTPException(status_code=409, detail=str(error)) from None
    except ConfigurationError as error:
        raise HTTPException(status_code=422, detail=str(error)) from None


router = APIRouter()


async def _page() -> FileResponse:
    static = resources.files("spinecoach.web").joinpath("static")
    with resources.as_file(static.joinpath("index.html")) as path:
        return FileResponse(path, media_type="text/html")


for _path in PAGES:
    router.add_api_route(_path, _page, methods=["GET"], include_in_schema=False)


@router.get("/api/program/red-flags")
async def red_flags() -> dict[str, Any]:
    """The red-flag questions asked before the program (a "yes" is a red flag)."""
    return {
        "questions": [{"id": f.id, "question": f.question} for f in default_red_flags()],
        "disclaimer": DISCLAIMER,
    }


@router.get("/api/program/status")
async def status(request: Request) -> dict[str, Any]:
    result: dict[str, Any] = await _run(_service(request).status)
    return result


@router.post("/api/program/onboarding", status_code=201)
async def onboarding(body: OnboardingIn, request: Request) -> dict[str, Any]:
    """Red-flag screening, then the baseline; a red flag stops (and is recorded). After a
    red-flag stop, a new program also needs ``clearance`` (409 without it)."""
    service = _service(request)

    def work() -> dict[str, Any]:
        baseline = None if body.baseline is None else _baseline(body.baseline)
        clearance = None
        if body.clearance is not None:
            # The store checks the day against the day of the stop, too.
            clearance = ob.make_clearance(
                body.clearance.confirmed,
                body.clearance.seen_on,
                stopped_on=date.min,
                today=ob.server_today(),
            )
        return service.onboard(body.red_flags, baseline, clearance)

    result: dict[str, Any] = await _run(work)
    return result


@router.post("/api/program/screening", status_code=201)
async def screening(body: ScreeningIn, request: Request) -> dict[str, Any]:
    """A later red-flag screening; a red flag stops the active program."""
    result: dict[str, Any] = await _run(_service(request).rescreen, body.red_flags)
    return result


@router.post("/api/program/checkin", status_code=201)
async def checkin(body: CheckinIn, request: Request) -> dict[str, Any]:
    """The daily check-in: morning pain (VAS) and the day's pain-medication doses."""
    result: dict[str, Any] = await _run(_service(request).checkin, body)
    return result


@router.post("/api/program/psfs", status_code=201)
async def psfs(body: PsfsIn, request: Request) -> dict[str, Any]:
    """The weekly PSFS: a 0–10 score for each activity chosen at onboarding."""
    result: dict[str, Any] = await _run(_service(request).psfs, body)
    return result


@router.get(
    "/api/program/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
async def calendar(
    request: Request,
    start: Annotated[date | None, Query(description="First day, the person's local date")] = None,
) -> Response:
    """The routine (morning session daily, desk breaks on weekdays) for 6 weeks."""
    ics, enrolment_id = await _run(_service(request).calendar, start)
    return Response(
        ics.encode("utf-8"),
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="spinecoach-program-{enrolment_id}.ics"'
        },
    )
