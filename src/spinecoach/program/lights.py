"""The pain-monitoring traffic light of the program engine: pure rules that judge each
session green, amber or red from the pain before and after it and the next morning, with
reasons that cite the numbers they used. Every threshold comes from the protocol file
(``data/program.toml``); :mod:`spinecoach.program.engine` decides on these lights.

:func:`session_advice` is the advice one session shows at once, from its own pain before
and after (a jump of ``pain.jump_mm`` or more: stop and ask a clinician), before any
decision of the engine (the engine's pain-jump stop uses the same threshold).

Also the small helpers every rule of the engine shares: the history by program day
(:func:`by_day`), a day's morning pain (:func:`morning_of`) and the worst light
(:func:`worst_light`).

>>> from spinecoach.program.model import SessionOutcome
>>> session_light(SessionOutcome("main", 40.0, 65.0), day=1, morning_before_mm=None,
...               next_morning_mm=None).reasons[0].code
'pain-rise-red'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from spinecoach.errors import ConfigurationError
from spinecoach.program.model import DataValue, DayLog, Light, Reason, SessionOutcome
from spinecoach.program.protocol import Protocol, default_protocol

_ORDER: dict[Light, int] = {"green": 0, "amber": 1, "red": 2}


def mm_text(value: float) -> str:
    """A VAS in mm as whole millimetres, for the reasons' texts.

    >>> mm_text(24.6)
    '25'
    """
    return f"{value:.0f}"


def worst_light(lights: Sequence[Light]) -> Light | None:
    """The worst of ``lights`` (red > amber > green), None for none."""
    worst: Light | None = None
    for light in lights:
        if worst is None or _ORDER[light] > _ORDER[worst]:
            worst = light
    return worst


def by_day(history: Sequence[DayLog]) -> dict[int, DayLog]:
    """The history by program day; two logs for one day are refused."""
    days: dict[int, DayLog] = {}
    for log in history:
        if log.day in days:
            raise ConfigurationError(f"the history has two logs for day {log.day}; merge them")
        days[log.day] = log
    return days


def morning_of(days: Mapping[int, DayLog], day: int) -> float | None:
    """The morning VAS (mm) of ``day``, None when not logged."""
    log = days.get(day)
    return None if log is None else log.morning_vas_mm


@dataclass(frozen=True)
class SessionLight:
    """The traffic light of one session and the reasons behind it."""

    day: int
    slot: str
    light: Light
    reasons: tuple[Reason, ...]


def _graded(
    value_mm: float, *, red: tuple[float, Reason], amber: tuple[float, Reason]
) -> list[tuple[Light, Reason]]:
    """Red with its reason when ``value_mm`` is above the red limit, else amber above the
    amber limit, else nothing (each given as (limit in mm, reason))."""
    grades: tuple[tuple[Light, tuple[float, Reason]], ...] = (("red", red), ("amber", amber))
    for light, (limit_mm, reason) in grades:
        if value_mm > limit_mm:
            return [(light, reason)]
    return []


def _rise_light(
    session: SessionOutcome, day: int, base: dict[str, DataValue], p: Protocol
) -> list[tuple[Light, Reason]]:
    """Red above the amber limit of the rise during the session, amber above the safe zone."""
    green = p.value("pain.green_max_rise_mm")
    amber = p.value("pain.amber_max_rise_mm")
    rise = session.rise_mm
    before, after = session.vas_before_mm, session.vas_after_mm
    where = f"during {session.describe(day)} ({mm_text(before)} → {mm_text(after)} mm)"
    red_text = f"pain rose {mm_text(rise)} mm {where}, above the {amber:g} mm amber limit"
    amber_text = f"pain rose {mm_text(rise)} mm {where}: amber, above the {green:g} mm safe zone"
    return _graded(
        rise,
        red=(
            amber,
            Reason(
                "pain-rise-red",
                red_text,
                {**base, "limit_mm": amber},
                (p.cite("pain.amber_max_rise_mm"),),
            ),
        ),
        amber=(
            green,
            Reason(
                "pain-rise-amber",
                amber_text,
                {**base, "limit_mm": green},
                (p.cite("pain.green_max_rise_mm"),),
            ),
        ),
    )


def _after_light(
    session: SessionOutcome, day: int, base: dict[str, DataValue], p: Protocol
) -> list[tuple[Light, Reason]]:
    """Red when the pain after the session is severe."""
    severe = p.value("pain.severe_after_mm")
    after = session.vas_after_mm
    if after < severe:
        return []
    text = f"pain after {session.describe(day)} was {mm_text(after)} mm, at or above {severe:g} mm"
    cited = (p.cite("pain.severe_after_mm"),)
    return [("red", Reason("pain-after-severe", text, {**base, "limit_mm": severe}, cited))]


def _morning_light(
    session: SessionOutcome,
    day: int,
    base: dict[str, DataValue],
    morning_before_mm: float | None,
    next_morning_mm: float | None,
    p: Protocol,
) -> list[tuple[Light, Reason]]:
    """Red when the pain had not settled by the next morning, amber above the tolerance;
    nothing without both mornings."""
    if morning_before_mm is None or next_morning_mm is None:
        return []
    tolerance = p.value("pain.morning_tolerance_mm")
    morning_red = p.value("pain.morning_red_rise_mm")
    change = next_morning_mm - morning_before_mm
    data = {
        **base,
        "morning_before_mm": morning_before_mm,
        "next_morning_mm": next_morning_mm,
        "morning_change_mm": round(change, 1),
    }
    after = (
        f"day {day}'s {session.slot} session"
        if session.technique is None
        else session.describe(day)
    )
    text = (
        f"the morning after {after} pain was {mm_text(change)} mm "
        f"higher ({mm_text(morning_before_mm)} → {mm_text(next_morning_mm)} mm)"
    )
    red_text = f"{text}: it had not settled overnight (more than {morning_red:g} mm)"
    amber_text = f"{text}: amber, above the {tolerance:g} mm allowed"
    return _graded(
        change,
        red=(
            morning_red,
            Reason(
                "morning-red",
                red_text,
                {**data, "limit_mm": morning_red},
                (p.cite("pain.morning_red_rise_mm"),),
            ),
        ),
        amber=(
            tolerance,
            Reason(
                "morning-amber",
                amber_text,
                {**data, "limit_mm": tolerance},
                (p.cite("pain.morning_tolerance_mm"),),
            ),
        ),
    )


def session_light(
    session: SessionOutcome,
    *,
    day: int,
    morning_before_mm: float | None,
    next_morning_mm: float | None,
    protocol: Protocol | None = None,
) -> SessionLight:
    """Judge one session by the pain-monitoring traffic light.

    ``morning_before_mm`` is the pain on the morning of the session's day and
    ``next_morning_mm`` on the morning after (either None when not reported; the morning
    rule is then not applied).

    >>> from spinecoach.program.model import SessionOutcome
    >>> session_light(SessionOutcome("main", 40.0, 52.0), day=3, morning_before_mm=40.0,
    ...               next_morning_mm=41.0).light
    'amber'
    """
    p = protocol or default_protocol()
    base: dict[str, DataValue] = {
        "day": day,
        "slot": session.slot,
        "vas_before_mm": session.vas_before_mm,
        "vas_after_mm": session.vas_after_mm,
        "rise_mm": round(session.rise_mm, 1),
        **session.cited(),
    }
    lights = [
        *_rise_light(session, day, base, p),
        *_after_light(session, day, base, p),
        *_morning_light(session, day, base, morning_before_mm, next_morning_mm, p),
    ]
    if not lights:
        return SessionLight(day, session.slot, "green", ())
    worst = worst_light([light for light, _ in lights])
    assert worst is not None  # lights is not empty
    return SessionLight(day, session.slot, worst, tuple(r for light, r in lights if light == worst))


def day_lights(
    days: Mapping[int, DayLog], day: int, protocol: Protocol | None = None
) -> tuple[SessionLight, ...]:
    """The lights of every session of ``day`` (using the next morning when logged)."""
    log = days.get(day)
    if log is None:
        return ()
    return tuple(
        session_light(
            s,
            day=day,
            morning_before_mm=log.morning_vas_mm,
            next_morning_mm=morning_of(days, day + 1),
            protocol=protocol,
        )
        for s in log.sessions
    )


#: What a session whose pain jumped tells the person to do (the engine's referral words).
PAIN_JUMP_ADVICE = (
    "Please pause the exercises and talk to your doctor or physiotherapist before you go "
    "on; spinecoach cannot judge what changed."
)


def session_advice(
    vas_before_mm: float | None,
    vas_after_mm: float | None,
    *,
    protocol: Protocol | None = None,
) -> Reason | None:
    """The stop advice of one session from its pain before and after (mm, 0–100 VAS):
    a ``pain-jump`` reason when the pain rose by ``pain.jump_mm`` or more, else None.
    A rating not given (None) is missing, never 0: no advice can be judged without both.

    >>> session_advice(20.0, 75.0).code
    'pain-jump'
    >>> session_advice(20.0, 75.0).text[:52]
    'Your pain rose 55 mm during this session (20 → 75 mm'
    >>> session_advice(None, 75.0) is None, session_advice(20.0, 40.0) is None
    (True, True)
    """
    if vas_before_mm is None or vas_after_mm is None:
        return None
    p = protocol or default_protocol()
    jump = p.value("pain.jump_mm")
    rise = vas_after_mm - vas_before_mm
    if rise < jump:
        return None
    text = (
        f"Your pain rose {mm_text(rise)} mm during this session ({mm_text(vas_before_mm)} → "
        f"{mm_text(vas_after_mm)} mm), {jump:g} mm or more. "
        f"{PAIN_JUMP_ADVICE}"
    )
    data: dict[str, DataValue] = {
        "vas_before_mm": vas_before_mm,
        "vas_after_mm": vas_after_mm,
        "rise_mm": round(rise, 1),
        "limit_mm": jump,
    }
    return Reason("pain-jump", text, data, (p.cite("pain.jump_mm"),))
