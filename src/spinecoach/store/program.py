"""Service functions of the 6-week program: onboarding, red-flag screenings, tracking
(daily VAS, weekly PSFS, medication) and the engine's decisions.

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
``program_decisions``
    written by the program engine: ``decided_utc``, program ``week`` (≥ 1), ``kind``
    (progress, hold, regress, …), ``prescription`` and ``reasons`` (JSON). A
    ``stop-refer`` decision (a jump in pain or a red flag) stops the active program in
    the same transaction (:func:`add_decision` with ``stop_reason``).

A program stopped by a red flag or by a ``stop-refer`` decision restarts only with the
person's confirmation that a clinician has seen them and agreed (see :func:`onboard`).

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
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError
from spinecoach.program import onboarding as ob
from spinecoach.program.redflags import (
    RED_FLAGS_VERSION,
    RedFlag,
    ScreeningResult,
    screen,
)
from spinecoach.store.models import (
    MedicationEntry,
    PainEntry,
    ProgramDecision,
    ProgramEnrolment,
    PsfsEntry,
    RedFlagScreening,
)
from spinecoach.store.repository import aware_utc, in_transaction, json_safe, person_or_raise

#: The engine's decision that stops the program and refers the person to a clinician.
STOP_REFER = "stop-refer"


class EnrolmentStateError(ConfigurationError):
    """The person's program is not in a state that allows this (already enrolled, no
    active program, program stopped)."""


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


@dataclass(frozen=True)
class CheckinOutcome:
    """A daily check-in: the morning pain entry and the day's medication entry."""

    pain: PainEntry
    medication: MedicationEntry


# Reading ---------------------------------------------------------------------------------
def active_enrolment(db: Session, person_id: int) -> ProgramEnrolment | None:
    """The person's ``active`` program, if any."""
    person_or_raise(db, person_id)
    query = select(ProgramEnrolment).where(
        ProgramEnrolment.person_id == person_id, ProgramEnrolment.status == "active"
    )
    return db.scalars(query).first()


def latest_enrolment(db: Session, person_id: int) -> ProgramEnrolment | None:
    """The person's newest program, whatever its status."""
    person_or_raise(db, person_id)
    query = (
        select(ProgramEnrolment)
        .where(ProgramEnrolment.person_id == person_id)
        .order_by(ProgramEnrolment.started_utc.desc(), ProgramEnrolment.id.desc())
    )
    return db.scalars(query).first()


def list_screenings(db: Session, person_id: int) -> list[RedFlagScreening]:
    """Every red-flag screening of a person, oldest first."""
    person_or_raise(db, person_id)
    query = (
        select(RedFlagScreening)
        .where(RedFlagScreening.person_id == person_id)
        .order_by(RedFlagScreening.screened_utc, RedFlagScreening.id)
    )
    return list(db.scalars(query))


def stop_screening(db: Session, enrolment: ProgramEnrolment) -> RedFlagScreening | None:
    """The newest screening with a red flag that belongs to ``enrolment`` (the one that
    stopped it), None when it was not stopped by a red flag."""
    query = (
        select(RedFlagScreening)
        .where(RedFlagScreening.enrolment_id == enrolment.id, RedFlagScreening.result == "stop")
        .order_by(RedFlagScreening.screened_utc.desc(), RedFlagScreening.id.desc())
    )
    return db.scalars(query).first()


def stop_decision(db: Session, enrolment: ProgramEnrolment) -> ProgramDecision | None:
    """The newest ``stop-refer`` decision of ``enrolment`` (the engine's stop: a jump in
    pain or a red flag), None when the engine never stopped it."""
    query = (
        select(ProgramDecision)
        .where(ProgramDecision.enrolment_id == enrolment.id, ProgramDecision.kind == STOP_REFER)
        .order_by(ProgramDecision.decided_utc.desc(), ProgramDecision.id.desc())
    )
    return db.scalars(query).first()


def list_psfs(db: Session, person_id: int, *, enrolment_id: int | None = None) -> list[PsfsEntry]:
    """PSFS ratings of a person (optionally one enrolment's), oldest first."""
    person_or_raise(db, person_id)
    query = select(PsfsEntry).where(PsfsEntry.person_id == person_id)
    if enrolment_id is not None:
        query = query.where(PsfsEntry.enrolment_id == enrolment_id)
    return list(db.scalars(query.order_by(PsfsEntry.recorded_utc, PsfsEntry.id)))


def list_medication(db: Session, person_id: int) -> list[MedicationEntry]:
    """Medication entries of a person, by day."""
    person_or_raise(db, person_id)
    query = (
        select(MedicationEntry)
        .where(MedicationEntry.person_id == person_id)
        .order_by(MedicationEntry.taken_on)
    )
    return list(db.scalars(query))


def list_decisions(db: Session, enrolment_id: int) -> list[ProgramDecision]:
    """The program engine's decisions for one enrolment, oldest first."""
    query = (
        select(ProgramDecision)
        .where(ProgramDecision.enrolment_id == enrolment_id)
        .order_by(ProgramDecision.decided_utc, ProgramDecision.id)
    )
    return list(db.scalars(query))


def baseline_activities(db: Session, enrolment: ProgramEnrolment) -> list[str]:
    """The PSFS activities chosen at onboarding, in the order given."""
    query = (
        select(PsfsEntry.activity)
        .where(PsfsEntry.enrolment_id == enrolment.id, PsfsEntry.context == "baseline")
        .order_by(PsfsEntry.id)
    )
    return list(db.scalars(query))


def enrolment_schedule(enrolment: ProgramEnrolment) -> ob.Schedule:
    """The stored schedule of an enrolment as a validated :class:`Schedule`."""
    if not enrolment.schedule:
        raise EnrolmentStateError(
            f"program {enrolment.id} has no schedule (it was stopped at the screening)"
        )
    return ob.schedule_from_dict(enrolment.schedule)


def _require_active(db: Session, person_id: int) -> ProgramEnrolment:
    enrolment = active_enrolment(db, person_id)
    if enrolment is None:
        raise EnrolmentStateError(
            f"person {person_id} has no active program; complete onboarding first"
        )
    return enrolment


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


def _stop_reason(result: ScreeningResult) -> str:
    ids = ", ".join(f.id for f in result.flagged)
    return f"red flag ({result.urgency}): {ids}"


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
            enrolment = ProgramEnrolment(
                person_id=person_id,
                status="stopped",
                started_utc=when,
                ended_utc=when,
                stop_reason=_stop_reason(result),
                schedule={},
                sensors=[],
            )
            db.add(enrolment)
        elif baseline is None:
            raise ConfigurationError(
                "baseline: no red flag was reported, so the baseline (pain, function, "
                "medication, schedule, sensors) is needed to start the program"
            )
        else:
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
    if latest is None or latest.status != "stopped":
        return None
    if stop_screening(db, latest) is None and stop_decision(db, latest) is None:
        return None
    return latest


def stop_cause(db: Session, enrolment: ProgramEnrolment) -> str:
    """Why a program that needs clearance was stopped, in words for the person: the red
    flag they reported, else the cause of the engine's ``stop-refer`` decision."""
    if stop_screening(db, enrolment) is not None:
        return "of a warning sign you reported"
    decision = stop_decision(db, enrolment)
    codes = [] if decision is None else [r.get("code") for r in decision.reasons]
    if "red-flag" in codes:
        return "of a warning sign you reported"
    if "pain-jump" in codes:
        return "your pain jumped"
    return "the program advised you to see a doctor or physiotherapist"


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
            f"clearance: your last program was stopped on {stopped_on.isoformat()} because "
            f"{stop_cause(db, stopped)}; start again only once a doctor or "
            "physiotherapist has seen you and agreed that you can exercise, and confirm it "
            "with the day you were seen"
        )
    # Validated again here: the stop day is only known now.
    checked = ob.make_clearance(
        True, clearance.seen_on, stopped_on=stopped_on, today=ob.server_today(when, tz)
    )
    stopped.stop_reason = (
        f"{stopped.stop_reason}; cleared to restart: seen by a doctor or physiotherapist on "
        f"{checked.seen_on.isoformat()} (confirmed by the person {when:%Y-%m-%d %H:%M} UTC)"
    )


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
            enrolment.stop_reason = _stop_reason(result)
        screening = _screening_row(
            person_id,
            answers,
            result,
            context="rescreen",
            enrolment_id=None if enrolment is None else enrolment.id,
            when=when,
            advice=result.advice if enrolment is None else result.advice_during_program,
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
    if status not in ("completed", "stopped"):
        raise ConfigurationError(f"status {status!r}: a program ends 'completed' or 'stopped'")
    if status == "stopped" and not reason.strip():
        raise ConfigurationError("reason: say why the program is stopped")
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


# Tracking ------------------------------------------------------------------------------------
def _day_text(taken_on: date | str, today: date, field: str = "taken_on") -> str:
    """``taken_on`` as ``YYYY-MM-DD``; a day after ``today`` is refused (it has not
    happened yet)."""
    if isinstance(taken_on, datetime) or not isinstance(taken_on, date | str):
        raise ConfigurationError(f"{field}={taken_on!r}: give the local day as a date (YYYY-MM-DD)")
    if isinstance(taken_on, str):
        try:
            taken_on = date.fromisoformat(taken_on)
        except ValueError:
            raise ConfigurationError(
                f"{field}={taken_on!r} is not a day: use YYYY-MM-DD, for example 2026-03-02"
            ) from None
    return ob.check_not_future(taken_on, field, today=today).isoformat()


def _medication(
    db: Session,
    person_id: int,
    enrolment_id: int | None,
    doses: int,
    day: str,
    note: str,
    when: datetime,
) -> MedicationEntry:
    entry = db.scalars(
        select(MedicationEntry).where(
            MedicationEntry.person_id == person_id, MedicationEntry.taken_on == day
        )
    ).first()
    if entry is None:
        entry = MedicationEntry(person_id=person_id, taken_on=day)
        db.add(entry)
    entry.enrolment_id = enrolment_id
    entry.doses_per_day = doses
    entry.note = note
    entry.recorded_utc = when
    db.flush()
    return entry


def log_medication(
    db: Session,
    person_id: int,
    doses_per_day: int,
    *,
    taken_on: date | str,
    note: str = "",
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> MedicationEntry:
    """Record the pain-medication doses of a local day (replacing that day's entry).

    ``taken_on`` may not come after today, the day of ``now`` in ``tz`` (default: the
    server's zone, :func:`spinecoach.program.onboarding.server_today`)."""
    doses = ob.check_doses(doses_per_day)
    text = ob.check_note(note)
    when = aware_utc(now, "now")
    day = _day_text(taken_on, ob.server_today(when, tz))
    with in_transaction(db):
        person_or_raise(db, person_id)
        enrolment = active_enrolment(db, person_id)
        return _medication(
            db, person_id, None if enrolment is None else enrolment.id, doses, day, text, when
        )


def daily_checkin(
    db: Session,
    person_id: int,
    *,
    vas_mm: float,
    doses_per_day: int,
    taken_on: date | str,
    note: str = "",
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> CheckinOutcome:
    """The daily check-in of an active program: the morning VAS (a ``morning`` pain
    entry) and the day's medication, both or neither. ``taken_on`` may not come after
    today, the day of ``now`` in ``tz`` (default: the server's zone)."""
    vas = ob.check_vas_mm(vas_mm)
    doses = ob.check_doses(doses_per_day)
    text = ob.check_note(note)
    when = aware_utc(now, "now")
    day = _day_text(taken_on, ob.server_today(when, tz))
    with in_transaction(db):
        enrolment = _require_active(db, person_id)
        # Not repository.add_pain: its own transaction would commit this one early when
        # the caller's session had auto-begun (see repository.in_transaction).
        pain = PainEntry(person_id=person_id, vas_mm=vas, context="morning", recorded_utc=when)
        db.add(pain)
        medication = _medication(db, person_id, enrolment.id, doses, day, text, when)
    return CheckinOutcome(pain=pain, medication=medication)


def add_weekly_psfs(
    db: Session,
    person_id: int,
    scores: Mapping[str, object],
    *,
    now: datetime | None = None,
) -> list[PsfsEntry]:
    """The weekly PSFS of an active program: a 0–10 score for every activity chosen at
    onboarding (``scores``: activity → score), all or nothing."""
    when = aware_utc(now, "now")
    with in_transaction(db):
        enrolment = _require_active(db, person_id)
        activities = baseline_activities(db, enrolment)
        if not activities:
            raise EnrolmentStateError(
                "this program has no PSFS activities (none were given at onboarding)"
            )
        unknown = [a for a in scores if a not in activities]
        missing = [a for a in activities if a not in scores]
        if unknown or missing:
            problems = []
            if missing:
                problems.append("missing: " + ", ".join(repr(a) for a in missing))
            if unknown:
                problems.append("not chosen at onboarding: " + ", ".join(repr(a) for a in unknown))
            raise ConfigurationError(
                "scores: rate each activity chosen at onboarding once (" + "; ".join(problems) + ")"
            )
        entries = [
            PsfsEntry(
                person_id=person_id,
                enrolment_id=enrolment.id,
                recorded_utc=when,
                context="weekly",
                activity=activity,
                score=ob.check_psfs_score(scores[activity], f"scores[{activity!r}]"),
            )
            for activity in activities
        ]
        db.add_all(entries)
        db.flush()
    return entries


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
    if isinstance(week, bool) or not isinstance(week, int) or week < 1:
        raise ConfigurationError(f"week={week!r}: program weeks are whole numbers from 1")
    if not isinstance(kind, str) or not 1 <= len(kind) <= 32:
        raise ConfigurationError(f"kind={kind!r}: name the decision in 1 to 32 characters")
    if stop_reason is not None and (kind != STOP_REFER or not stop_reason.strip()):
        raise ConfigurationError(
            f"stop_reason={stop_reason!r}: only a {STOP_REFER} decision stops the program, "
            "and the reason says why"
        )
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
