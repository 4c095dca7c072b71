"""Storing the 6-week program: onboarding, red-flag screenings, tracking (daily VAS,
weekly PSFS, medication) and the engine's decisions.

The layers: the store holds persistence only — the models and the functions that read
and write them on plain values, one transaction per request. What the records mean and
what a request decides (does a red flag stop the program, does a restart need a
clinician's clearance, what the stop reason and the advice say, which check-in values
are accepted) are pure rules of :mod:`spinecoach.program.enrolment` (and
:mod:`spinecoach.program.onboarding`, :mod:`spinecoach.program.redflags`) that these
functions apply before they write; the engine's decisions are made by
:mod:`spinecoach.services.program` and stored here. The reads are in
:mod:`spinecoach.store.program_queries`, the tracking in
:mod:`spinecoach.store.program_tracking`; this module offers all their names.

Tables (migration ``0004``; every row belongs to a person, ``ON DELETE CASCADE``):

``program_enrolments``
    one program per row: ``status`` ``active`` (at most one per person, a partial
    unique index) / ``stopped`` (``stop_reason``) / ``completed``; ``started_utc``,
    ``ended_utc``; the baseline ``baseline_vas_mm`` (0–100 mm),
    ``baseline_doses_per_day`` (0–24), ``schedule`` (JSON, see
    :func:`spinecoach.program.onboarding.schedule_to_dict`) and ``sensors`` (JSON list).
    An enrolment stopped by the onboarding screening keeps no baseline.
``red_flag_screenings``
    every screening, at ``onboarding`` or a later ``rescreen``: ``answers`` (JSON, id →
    yes/no), ``flagged`` ids, ``result`` ``clear``/``stop``, ``urgency`` and the
    ``advice`` shown, the question file's ``red_flags_version``, ``screened_utc`` and the
    enrolment it belongs to.
``psfs_entries``
    Patient-Specific Functional Scale ratings: ``activity``, ``score`` 0–10,
    ``context`` ``baseline`` or ``weekly``, ``recorded_utc``, the enrolment.
``medication_entries``
    pain-medication ``doses_per_day`` (0–24) on ``taken_on`` (the person's local day,
    ``YYYY-MM-DD``, one per person and day: a second entry that day replaces it), a
    ``note``.
``program_clearances`` (migration ``0007``)
    a clinician's clearance after a program stopped by a red flag or a ``stop-refer``
    decision: ``cleared_by``, ``note``, ``cleared_utc``, the stopped enrolment (one
    each; :func:`record_clearance`). Until it exists no session starts
    (:mod:`spinecoach.services.program_status`).
``program_decisions``
    written by the program engine: ``decided_utc``, program ``week`` (≥ 1), ``kind``
    (progress, hold, regress, …), ``prescription`` and ``reasons`` (JSON). A
    ``stop-refer`` decision (a jump in pain or a red flag) stops the active program in
    the same transaction (:func:`add_decision` with ``stop_reason``).

A program stopped by a red flag or by a ``stop-refer`` decision restarts only with the
person's confirmation that a clinician has seen them and agreed (see :func:`onboard`), or
once a clinician's clearance is recorded (:func:`record_clearance`).

The daily morning VAS is a ``pain_entries`` row with context ``morning``
(written by :func:`daily_checkin`, read like any other pain entry).

Every function that writes is one transaction (as in :mod:`spinecoach.store.repository`):
all of it is stored, or nothing. Bad input raises
:class:`~spinecoach.errors.ConfigurationError` naming the field; a request that does not
fit the enrolment's state (onboarding twice, tracking without a program) raises
:class:`EnrolmentStateError`.

>>> import tempfile
>>> from datetime import date
>>> from sqlalchemy.orm import Session
>>> from spinecoach.program.onboarding import make_baseline, make_schedule
>>> from spinecoach.program.redflags import load_red_flags
>>> from spinecoach.store.db import make_engine, upgrade
>>> from spinecoach.store.repository import create_person
>>> no = {flag.id: False for flag in load_red_flags()}
>>> baseline = make_baseline(vas_mm=40, psfs=[("Bending to tie shoes", 3)],
...     doses_per_day=2, schedule=make_schedule("07:30", "09:00", "17:00"), sensors=[])
>>> with tempfile.TemporaryDirectory() as folder:
...     url = f"sqlite:///{folder}/demo.sqlite3"
...     upgrade(url)
...     engine = make_engine(url)
...     with Session(engine) as db:
...         person = create_person(db, "Ada")
...         outcome = onboard(db, person.id, no, baseline)
...         checkin = daily_checkin(db, person.id, vas_mm=35, doses_per_day=1,
...                                 taken_on=date(2026, 3, 2))
...         outcome.enrolment.status, [e.activity for e in list_psfs(db, person.id)]
...     engine.dispose()
('active', ['Bending to tie shoes'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError
from spinecoach.program import enrolment as rules
from spinecoach.program import onboarding as ob
from spinecoach.program.enrolment import STOP_REFER, EnrolmentStateError
from spinecoach.program.redflags import (
    RED_FLAGS_VERSION,
    RedFlag,
    ScreeningResult,
    screen,
)
from spinecoach.store.models import (
    ProgramDecision,
    ProgramEnrolment,
    PsfsEntry,
    RedFlagScreening,
)
from spinecoach.store.program_models import ProgramClearance
from spinecoach.store.program_queries import (
    active_enrolment,
    baseline_activities,
    enrolment_schedule,
    latest_enrolment,
    list_decisions,
    list_medication,
    list_psfs,
    list_screenings,
    stop_decision,
    stop_screening,
)
from spinecoach.store.program_tracking import (
    CheckinOutcome,
    add_weekly_psfs,
    daily_checkin,
    log_medication,
)
from spinecoach.store.repository import aware_utc, in_transaction, json_safe, person_or_raise

__all__ = [
    "STOP_REFER",
    "CheckinOutcome",
    "EnrolmentStateError",
    "OnboardingOutcome",
    "ProgramClearance",
    "active_enrolment",
    "add_decision",
    "add_weekly_psfs",
    "baseline_activities",
    "daily_checkin",
    "end_enrolment",
    "enrolment_clearance",
    "enrolment_schedule",
    "latest_enrolment",
    "list_decisions",
    "list_medication",
    "list_psfs",
    "list_screenings",
    "log_medication",
    "onboard",
    "record_clearance",
    "rescreen",
    "restart_needs_clearance",
    "stop_cause",
    "stop_decision",
    "stop_screening",
    "stopped_for_clearance",
]


@dataclass(frozen=True)
class OnboardingOutcome:
    """What onboarding stored: the screening, its result and the enrolment (``stopped``
    when a red flag was reported, else ``active``)."""

    screening: RedFlagScreening
    result: ScreeningResult
    enrolment: ProgramEnrolment

    @property
    def stopped(self) -> bool:
        return self.result.stop


# Screening and onboarding -----------------------------------------------------------------
def _screening_row(
    person_id: int,
    answers: Mapping[str, bool],
    result: ScreeningResult,
    *,
    context: str,
    enrolment_id: int | None,
    when: datetime,
    advice: str | None = None,
) -> RedFlagScreening:
    return RedFlagScreening(
        person_id=person_id,
        enrolment_id=enrolment_id,
        screened_utc=when,
        context=context,
        answers={str(k): bool(v) for k, v in answers.items()},
        flagged=[f.id for f in result.flagged],
        result="stop" if result.stop else "clear",
        urgency=result.urgency,
        advice=result.advice if advice is None else advice,
        red_flags_version=RED_FLAGS_VERSION,
    )


def onboard(
    db: Session,
    person_id: int,
    answers: Mapping[str, bool],
    baseline: ob.Baseline | None,
    *,
    clearance: ob.Clearance | None = None,
    now: datetime | None = None,
    tz: tzinfo | None = None,
    flags: tuple[RedFlag, ...] | None = None,
) -> OnboardingOutcome:
    """Screen ``answers`` to the red-flag questions, then store the program.

    After a program stopped by a red flag or by the engine's ``stop-refer`` decision (a
    jump in pain; the person's newest enrolment), a clear screening starts a new program
    only with ``clearance``: the person confirms that a
    doctor or physiotherapist saw them on ``clearance.seen_on`` (from the day of the stop
    to today, the day of ``now`` in ``tz``) and agreed; it is recorded in the stopped
    enrolment's ``stop_reason``. Without it: :class:`EnrolmentStateError`
    (:func:`restart_needs_clearance` tells whether it is needed).

    Any red flag: the screening and a ``stopped`` enrolment (the stop reason names the
    flags) are stored and ``baseline`` is ignored. No red flag: ``baseline`` is required
    and an ``active`` enrolment with its baseline (VAS, PSFS activities as ``baseline``
    PSFS entries, medication, schedule, sensors) is stored with the screening. One
    transaction. A person with an active program gets an :class:`EnrolmentStateError`.
    """
    when = aware_utc(now, "now")
    result = screen(answers, flags)
    try:
        return _onboard(db, person_id, answers, baseline, result, when, clearance, tz)
    except IntegrityError as error:
        if "program_enrolments" not in str(error):  # SQLite names the table, PostgreSQL the index
            raise
        # Another process onboarded the same person at the same moment (the partial
        # unique index allows one active program per person).
        raise EnrolmentStateError(
            f"person {person_id} already has an active program (started at the same time elsewhere)"
        ) from None


def _stopped_enrolment(
    db: Session, person_id: int, result: ScreeningResult, when: datetime
) -> ProgramEnrolment:
    """A program stopped at the onboarding screening (it keeps no baseline)."""
    enrolment = ProgramEnrolment(
        person_id=person_id,
        status="stopped",
        started_utc=when,
        ended_utc=when,
        stop_reason=rules.screening_stop_reason(result),
        schedule={},
        sensors=[],
    )
    db.add(enrolment)
    return enrolment


def _active_enrolment(
    db: Session, person_id: int, baseline: ob.Baseline, when: datetime
) -> ProgramEnrolment:
    """An active program with its baseline: VAS, medication, schedule, sensors, and the
    PSFS activities as ``baseline`` PSFS entries."""
    enrolment = ProgramEnrolment(
        person_id=person_id,
        status="active",
        started_utc=when,
        stop_reason="",
        baseline_vas_mm=baseline.vas_mm,
        baseline_doses_per_day=baseline.doses_per_day,
        schedule=ob.schedule_to_dict(baseline.schedule),
        sensors=list(baseline.sensors),
    )
    db.add(enrolment)
    db.flush()
    db.add_all(
        PsfsEntry(
            person_id=person_id,
            enrolment_id=enrolment.id,
            recorded_utc=when,
            context="baseline",
            activity=a.activity,
            score=a.score,
        )
        for a in baseline.psfs
    )
    return enrolment


def _onboard(
    db: Session,
    person_id: int,
    answers: Mapping[str, bool],
    baseline: ob.Baseline | None,
    result: ScreeningResult,
    when: datetime,
    clearance: ob.Clearance | None,
    tz: tzinfo | None,
) -> OnboardingOutcome:
    with in_transaction(db):
        person_or_raise(db, person_id)
        if active_enrolment(db, person_id) is not None:
            raise EnrolmentStateError(
                f"person {person_id} already has an active program; finish or stop it "
                "before onboarding again"
            )
        stopped = restart_needs_clearance(db, person_id)
        if stopped is not None and not result.stop:
            _record_clearance(db, stopped, clearance, when, tz)
        if result.stop:
            enrolment = _stopped_enrolment(db, person_id, result, when)
        elif baseline is None:
            raise ConfigurationError(
                "baseline: no red flag was reported, so the baseline (pain, function, "
                "medication, schedule, sensors) is needed to start the program"
            )
        else:
            enrolment = _active_enrolment(db, person_id, baseline, when)
        db.flush()
        screening = _screening_row(
            person_id,
            answers,
            result,
            context="onboarding",
            enrolment_id=enrolment.id,
            when=when,
        )
        db.add(screening)
        db.flush()
    return OnboardingOutcome(screening=screening, result=result, enrolment=enrolment)


def restart_needs_clearance(db: Session, person_id: int) -> ProgramEnrolment | None:
    """The person's newest program when it was stopped by a red flag or by a
    ``stop-refer`` decision of the engine (a new program then needs a clinician's
    clearance, see :func:`onboard`), else None."""
    latest = latest_enrolment(db, person_id)
    if latest is None or not stopped_for_clearance(db, latest):
        return None
    if enrolment_clearance(db, latest) is not None:
        return None  # a clinician's clearance is recorded
    return latest


def stopped_for_clearance(db: Session, enrolment: ProgramEnrolment) -> bool:
    """Whether ``enrolment`` was stopped by a red flag or by the engine's ``stop-refer``
    decision (so that only a clinician's clearance lifts the stop), cleared or not."""
    return rules.needs_clearance(
        enrolment.status,
        stopped_by_red_flag=stop_screening(db, enrolment) is not None,
        stopped_by_engine=stop_decision(db, enrolment) is not None,
    )


def enrolment_clearance(db: Session, enrolment: ProgramEnrolment) -> ProgramClearance | None:
    """The clinician's clearance recorded for a stopped ``enrolment``, if any."""
    query = select(ProgramClearance).where(ProgramClearance.enrolment_id == enrolment.id)
    return db.scalars(query).first()


def record_clearance(
    db: Session,
    person_id: int,
    *,
    cleared_by: str,
    note: str = "",
    now: datetime | None = None,
) -> ProgramClearance:
    """Record a clinician's clearance of the person's newest program, stopped by a red
    flag or a ``stop-refer`` decision: sessions may start again, and a new program starts
    without asking for the clearance again (:func:`onboard`). One transaction.

    ``cleared_by`` names who cleared the person (1–200 characters); ``note`` is free
    text. Raises :class:`EnrolmentStateError` when there is no such stop to clear or it
    was cleared already, :class:`~spinecoach.errors.ConfigurationError` for an empty
    ``cleared_by``.
    """
    when = aware_utc(now, "now")
    who = cleared_by.strip()
    if not 1 <= len(who) <= 200:
        raise ConfigurationError(
            f"cleared_by={cleared_by!r}: name the doctor or physiotherapist who cleared "
            "the person, in 1 to 200 characters"
        )
    with in_transaction(db):
        person_or_raise(db, person_id)
        latest = latest_enrolment(db, person_id)
        if latest is None or not stopped_for_clearance(db, latest):
            raise EnrolmentStateError(
                "clearance: there is no stopped program to clear (a clearance is recorded "
                "after a program stopped because of a warning sign or a jump in pain)"
            )
        done = enrolment_clearance(db, latest)
        if done is not None:
            raise EnrolmentStateError(
                f"clearance: the stop of program {latest.id} was already cleared by "
                f"{done.cleared_by} on {done.cleared_utc:%Y-%m-%d %H:%M} UTC; nothing to record"
            )
        clearance = ProgramClearance(
            person_id=person_id,
            enrolment_id=latest.id,
            cleared_utc=when,
            cleared_by=who,
            note=note.strip(),
        )
        db.add(clearance)
        db.flush()
    return clearance


def stop_cause(db: Session, enrolment: ProgramEnrolment) -> str:
    """Why a program that needs clearance was stopped, in words for the person: the red
    flag they reported, else the cause of the engine's ``stop-refer`` decision."""
    if stop_screening(db, enrolment) is not None:
        return rules.stop_cause(stopped_by_red_flag=True, decision_codes=())
    decision = stop_decision(db, enrolment)
    codes = [] if decision is None else [r.get("code") for r in decision.reasons]
    return rules.stop_cause(stopped_by_red_flag=False, decision_codes=codes)


def _record_clearance(
    db: Session,
    stopped: ProgramEnrolment,
    clearance: ob.Clearance | None,
    when: datetime,
    tz: tzinfo | None,
) -> None:
    end = stopped.ended_utc or stopped.started_utc
    stopped_on = ob.server_today(end, tz)
    if clearance is None:
        raise EnrolmentStateError(
            rules.clearance_missing_message(stopped_on, stop_cause(db, stopped))
        )
    # Validated again here: the stop day is only known now.
    checked = ob.make_clearance(
        True, clearance.seen_on, stopped_on=stopped_on, today=ob.server_today(when, tz)
    )
    stopped.stop_reason = rules.cleared_stop_reason(stopped.stop_reason, checked.seen_on, when)


def rescreen(
    db: Session,
    person_id: int,
    answers: Mapping[str, bool],
    *,
    now: datetime | None = None,
    flags: tuple[RedFlag, ...] | None = None,
) -> tuple[RedFlagScreening, ScreeningResult]:
    """Record a later screening (the person reported something new). A red flag stops
    the active program, if there is one, in the same transaction; the advice stored (and
    to show) is then :attr:`ScreeningResult.advice_during_program` ("stop the exercise
    program for now …"), else the before-the-program advice."""
    when = aware_utc(now, "now")
    result = screen(answers, flags)
    with in_transaction(db):
        enrolment = active_enrolment(db, person_id)
        if enrolment is not None and result.stop:
            enrolment.status = "stopped"
            enrolment.ended_utc = when
            enrolment.stop_reason = rules.screening_stop_reason(result)
        screening = _screening_row(
            person_id,
            answers,
            result,
            context="rescreen",
            enrolment_id=None if enrolment is None else enrolment.id,
            when=when,
            advice=rules.rescreen_advice(result, enrolled=enrolment is not None),
        )
        db.add(screening)
        db.flush()
    return screening, result


def end_enrolment(
    db: Session,
    enrolment_id: int,
    status: str,
    *,
    reason: str = "",
    now: datetime | None = None,
) -> ProgramEnrolment:
    """End an active program as ``completed`` or ``stopped`` (a stop needs a reason)."""
    when = aware_utc(now, "now")
    rules.check_end(status, reason)
    with in_transaction(db):
        enrolment = db.get(ProgramEnrolment, enrolment_id)
        if enrolment is None:
            raise ConfigurationError(f"no program with id {enrolment_id}")
        if enrolment.status != "active":
            raise EnrolmentStateError(f"program {enrolment_id} is already {enrolment.status}")
        enrolment.status = status
        enrolment.ended_utc = when
        enrolment.stop_reason = reason.strip()
        db.flush()
    return enrolment


# Engine decisions -----------------------------------------------------------------------------
def add_decision(
    db: Session,
    enrolment_id: int,
    *,
    week: int,
    kind: str,
    prescription: Mapping[str, Any],
    reasons: Sequence[Any],
    decided_utc: datetime | None = None,
    stop_reason: str | None = None,
) -> ProgramDecision:
    """Store a decision of the program engine for an enrolment's ``week`` (≥ 1).

    ``stop_reason`` (a ``stop-refer`` decision only): an ``active`` enrolment is stopped
    in the same transaction, ending at ``decided_utc`` with that reason (an enrolment
    that already ended is left as it is)."""
    rules.check_decision(week, kind, stop_reason)
    when = aware_utc(decided_utc, "decided_utc")
    with in_transaction(db):
        enrolment = db.get(ProgramEnrolment, enrolment_id)
        if enrolment is None:
            raise ConfigurationError(f"no program with id {enrolment_id}")
        if stop_reason is not None and enrolment.status == "active":
            enrolment.status = "stopped"
            enrolment.ended_utc = when
            enrolment.stop_reason = stop_reason.strip()
        decision = ProgramDecision(
            person_id=enrolment.person_id,
            enrolment_id=enrolment_id,
            decided_utc=when,
            week=week,
            kind=kind,
            prescription=json_safe(dict(prescription)),
            reasons=json_safe(list(reasons)),
        )
        db.add(decision)
        db.flush()
    return decision
