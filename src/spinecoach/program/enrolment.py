"""The rules of a program's life, pure and on plain values: when a red flag or the
engine stops a program, what the stored stop reason says, when a new program needs a
clinician's clearance and what the person is told, which advice a later screening gives,
and which check-in values are accepted (a day that has happened, a weekly PSFS that rates
every activity chosen at onboarding once).

:mod:`spinecoach.store.program` stores what these rules decide (one transaction per
request) and :mod:`spinecoach.services.program` applies the engine; neither decides
anything of its own.

>>> from datetime import date
>>> needs_clearance("stopped", stopped_by_red_flag=False, stopped_by_engine=True)
True
>>> stop_cause(stopped_by_red_flag=False, decision_codes=["pain-jump", "refer"])
'your pain jumped'
>>> check_day("2026-03-02", date(2026, 3, 5))
datetime.date(2026, 3, 2)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final

from spinecoach.errors import ConfigurationError
from spinecoach.program.model import Reason
from spinecoach.program.onboarding import check_not_future, check_psfs_score
from spinecoach.program.redflags import ScreeningResult

#: The engine's decision that stops the program and refers the person to a clinician.
STOP_REFER: Final = "stop-refer"


class EnrolmentStateError(ConfigurationError):
    """The person's program is not in a state that allows this (already enrolled, no
    active program, program stopped)."""


def screening_stop_reason(result: ScreeningResult) -> str:
    """The stop reason of a program stopped by a screening: the urgency and the flags."""
    ids = ", ".join(f.id for f in result.flagged)
    return f"red flag ({result.urgency}): {ids}"


def rescreen_advice(result: ScreeningResult, *, enrolled: bool) -> str:
    """The advice a later screening stores and shows: during a program
    :attr:`ScreeningResult.advice_during_program` ("stop the exercise program for now …"),
    else the before-the-program advice."""
    return result.advice_during_program if enrolled else result.advice


def needs_clearance(status: str, *, stopped_by_red_flag: bool, stopped_by_engine: bool) -> bool:
    """Whether a new program needs a clinician's clearance after the person's newest one
    (``status``): yes when it was stopped by a red flag or by a ``stop-refer`` decision."""
    return status == "stopped" and (stopped_by_red_flag or stopped_by_engine)


def stop_cause(*, stopped_by_red_flag: bool, decision_codes: Iterable[object]) -> str:
    """Why a program that needs clearance was stopped, in words for the person: the red
    flag they reported, else the cause of the engine's ``stop-refer`` decision (the codes
    of its reasons)."""
    codes = list(decision_codes)
    if stopped_by_red_flag or "red-flag" in codes:
        return "of a warning sign you reported"
    if "pain-jump" in codes:
        return "your pain jumped"
    return "the program advised you to see a doctor or physiotherapist"


def clearance_missing_message(stopped_on: date, cause: str) -> str:
    """What a person is told who starts again without a clearance."""
    return (
        f"clearance: your last program was stopped on {stopped_on.isoformat()} because "
        f"{cause}; start again only once a doctor or "
        "physiotherapist has seen you and agreed that you can exercise, and confirm it "
        "with the day you were seen"
    )


def cleared_stop_reason(stop_reason: str, seen_on: date, confirmed_utc: datetime) -> str:
    """The stopped program's ``stop_reason`` once the person confirmed the clearance."""
    return (
        f"{stop_reason}; cleared to restart: seen by a doctor or physiotherapist on "
        f"{seen_on.isoformat()} (confirmed by the person {confirmed_utc:%Y-%m-%d %H:%M} UTC)"
    )


def decision_stop_reason(reasons: Sequence[Reason] | Sequence[dict[str, Any]]) -> str:
    """The enrolment's ``stop_reason`` for a ``stop-refer`` decision: the cause (the code
    of its first reason, ``pain jump`` or ``red flag``) and that reason's text, which cites
    the numbers; the engine's referral advice (code ``refer``) is not repeated.

    >>> decision_stop_reason([Reason("pain-jump", "pain jumped 30 mm"), Reason("refer", "see …")])
    'pain jump: pain jumped 30 mm'
    """
    rows = [r.as_dict() if isinstance(r, Reason) else dict(r) for r in reasons]
    cited = [r for r in rows if r.get("code") != "refer"] or rows
    if not cited:
        return "stop-refer: the program advised you to see a doctor or physiotherapist"
    first = cited[0]
    cause = str(first.get("code") or "stop-refer").replace("-", " ")
    return f"{cause}: {first.get('text', '')}".strip()


def check_decision(week: object, kind: object, stop_reason: str | None) -> None:
    """A decision to store: program ``week`` ≥ 1, ``kind`` named in 1 to 32 characters,
    and a ``stop_reason`` only with a ``stop-refer`` decision (saying why)."""
    if isinstance(week, bool) or not isinstance(week, int) or week < 1:
        raise ConfigurationError(f"week={week!r}: program weeks are whole numbers from 1")
    if not isinstance(kind, str) or not 1 <= len(kind) <= 32:
        raise ConfigurationError(f"kind={kind!r}: name the decision in 1 to 32 characters")
    if stop_reason is not None and (kind != STOP_REFER or not stop_reason.strip()):
        raise ConfigurationError(
            f"stop_reason={stop_reason!r}: only a {STOP_REFER} decision stops the program, "
            "and the reason says why"
        )


def check_end(status: str, reason: str) -> None:
    """A program ends ``completed`` or ``stopped``, and a stop says why."""
    if status not in ("completed", "stopped"):
        raise ConfigurationError(f"status {status!r}: a program ends 'completed' or 'stopped'")
    if status == "stopped" and not reason.strip():
        raise ConfigurationError("reason: say why the program is stopped")


def check_day(taken_on: date | str, today: date, field: str = "taken_on") -> date:
    """``taken_on`` (a date or ``YYYY-MM-DD``) as a date; a day after ``today`` is refused
    (it has not happened yet)."""
    if isinstance(taken_on, datetime) or not isinstance(taken_on, date | str):
        raise ConfigurationError(f"{field}={taken_on!r}: give the local day as a date (YYYY-MM-DD)")
    if isinstance(taken_on, str):
        try:
            taken_on = date.fromisoformat(taken_on)
        except ValueError:
            raise ConfigurationError(
                f"{field}={taken_on!r} is not a day: use YYYY-MM-DD, for example 2026-03-02"
            ) from None
    return check_not_future(taken_on, field, today=today)


def check_weekly_scores(
    activities: Sequence[str], scores: Mapping[str, object]
) -> list[tuple[str, int]]:
    """The weekly PSFS: a 0–10 score for every activity chosen at onboarding
    (``activities``, in their order), each once and no other; (activity, score) pairs.

    >>> check_weekly_scores(["Bending"], {"Bending": 6})
    [('Bending', 6)]
    """
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
    return [(a, check_psfs_score(scores[a], f"scores[{a!r}]")) for a in activities]
