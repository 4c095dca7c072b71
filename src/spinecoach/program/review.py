"""The program engine's weekly review (every ``review_every_days``), pure: too few
sessions done → the lighter level below; else progress when every criterion is met (no
red session in the week, at most ``progression.max_amber_sessions`` amber ones, enough
days at the level, adherence, rep quality and held holds, morning pain not rising week on
week), otherwise hold and say what is missing. Each criterion is a :class:`Reason` that
cites its numbers; :func:`spinecoach.program.engine.decide` turns the outcome into a
decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from spinecoach.program.lights import day_lights
from spinecoach.program.measures import Adherence, adherence, mean_or_none, window_mornings
from spinecoach.program.model import DataValue, DayLog, DecisionKind, Prescription, Reason
from spinecoach.program.protocol import Protocol

#: What a review decides: the kind and the reasons, in the order shown.
ReviewOutcome = tuple[DecisionKind, list[Reason]]


def slots_text(adh: Adherence) -> str:
    """Adherence per prescribed slot in words.

    >>> slots_text(Adherence(4, 11, 0, 0, morning_done=3, main_done=1, main_prescribed=4))
    'morning routine 3 of 7, main session 1 of 4'
    """
    mornings = adh.prescribed - adh.main_prescribed
    return (
        f"morning routine {adh.morning_done} of {mornings}, "
        f"main session {adh.main_done} of {adh.main_prescribed}"
    )


def step_down(current: Prescription, day: int, p: Protocol) -> Reason:
    """The reason for going down one level from ``current`` after ``day``."""
    target = p.level(current.level - 1)
    return Reason(
        "regress",
        f"level {target.level} ({target.title}) from day {day + 1}: {target.reason}",
        {"from_level": current.level, "to_level": target.level},
    )


def _adherence_too_low(
    adh: Adherence,
    adh_text: str,
    adh_data: dict[str, DataValue],
    current: Prescription,
    day: int,
    p: Protocol,
) -> ReviewOutcome:
    lighter = p.value("adherence.lighter_below_share")
    reasons = [
        Reason(
            "adherence-low",
            f"{adh_text}, fewer than {100 * lighter:.0f} %: the plan does not fit your "
            f"days yet, so it gets lighter rather than harder",
            {**adh_data, "limit": lighter},
            (p.cite("adherence.lighter_below_share"),),
        )
    ]
    if current.level > p.bottom_level:
        return "regress", [*reasons, step_down(current, day, p)]
    reasons.append(
        Reason(
            "lightest",
            f"staying on the lightest level ({current.title}); reminders can help fit it in",
            {"level": current.level},
        )
    )
    return "hold", reasons


@dataclass
class _Week:
    """The week under review (days ``first``–``day``) and the criteria found so far:
    ``missing`` (what stops progress) and ``met``, in the order they are shown."""

    days: Mapping[int, DayLog]
    first: int
    day: int
    span: dict[str, DataValue]
    p: Protocol
    missing: list[Reason] = field(default_factory=list)
    met: list[Reason] = field(default_factory=list)


def _light_criteria(week: _Week) -> None:
    """No red session in the week, at most ``progression.max_amber_sessions`` amber ones."""
    days, first, day, span, p = week.days, week.first, week.day, week.span, week.p
    missing, met = week.missing, week.met
    lights = [sl for d in range(first, day + 1) for sl in day_lights(days, d, p)]
    reds = [sl for sl in lights if sl.light == "red"]
    ambers = [sl for sl in lights if sl.light == "amber"]
    max_amber = int(p.value("progression.max_amber_sessions"))
    if reds:
        missing.append(
            Reason(
                "red-in-week",
                f"{len(reds)} red session(s) in days {first}–{day} (first on day {reds[0].day})",
                {**span, "red_sessions": len(reds)},
            )
        )
    light_text = (
        f"days {first}–{day}: {len(lights)} sessions judged, {len(reds)} red, "
        f"{len(ambers)} amber (at most {max_amber} amber to progress)"
    )
    light_cite = (p.cite("progression.max_amber_sessions"),)
    light_data: dict[str, DataValue] = {
        **span,
        "sessions": len(lights),
        "red": len(reds),
        "amber": len(ambers),
        "limit_amber": max_amber,
    }
    if len(ambers) > max_amber:
        missing.append(Reason("amber-in-week", light_text, light_data, light_cite))
    elif not reds:
        met.append(Reason("pain-ok", light_text, light_data, light_cite))


def _sensor_criteria(week: _Week) -> None:
    """Mean rep quality and the share of holds held; without reps, judged without them."""
    days, first, day, span, p = week.days, week.first, week.day, week.span, week.p
    missing, met = week.missing, week.met
    reps = [
        r
        for d in range(first, day + 1)
        if d in days
        for s in days[d].sessions
        for e in s.exercises
        for r in e.reps
    ]
    if not reps:
        met.append(
            Reason(
                "no-sensor",
                f"no sensor data in days {first}–{day}: judged on pain and adherence only",
                span,
            )
        )
        return
    quality = sum(r.quality for r in reps) / len(reps)
    min_quality = p.value("progression.min_quality")
    q_reason = Reason(
        "quality",
        f"mean rep quality {quality:.0f}/100 over {len(reps)} reps "
        f"({min_quality:g} needed to progress)",
        {**span, "mean_quality": round(quality, 1), "reps": len(reps), "limit": min_quality},
    )
    (met if quality >= min_quality else missing).append(q_reason)
    holds = [r.hold_share for r in reps if r.hold_share is not None]
    if holds:
        ok_share = p.value("progression.hold_ok_share")
        success = sum(h >= ok_share for h in holds) / len(holds)
        min_success = p.value("progression.min_hold_success")
        h_reason = Reason(
            "holds",
            f"{100 * success:.0f} % of {len(holds)} holds held to at least "
            f"{100 * ok_share:.0f} % of the time asked ({100 * min_success:.0f} % needed)",
            {**span, "hold_success": round(success, 3), "holds": len(holds)},
        )
        (met if success >= min_success else missing).append(h_reason)


def _trend_criterion(week: _Week) -> None:
    """Mean morning pain not rising week on week by more than the tolerance."""
    days, first, day, span, p = week.days, week.first, week.day, week.span, week.p
    missing, met = week.missing, week.met
    every = p.review_every_days
    this_week = mean_or_none(window_mornings(days, first, day))
    last_week = mean_or_none(window_mornings(days, first - every, first - 1))
    if this_week is None or last_week is None:
        return
    tolerance = p.value("pain.morning_tolerance_mm")
    trend = this_week - last_week
    t_data: dict[str, DataValue] = {
        **span,
        "mean_morning_mm": round(this_week, 1),
        "previous_mean_morning_mm": round(last_week, 1),
        "limit_mm": tolerance,
    }
    t_text = f"mean morning pain {last_week:.0f} → {this_week:.0f} mm week on week"
    if trend > tolerance:
        missing.append(
            Reason(
                "pain-trend",
                f"{t_text}: rising more than {tolerance:g} mm",
                t_data,
                (p.cite("pain.morning_tolerance_mm"),),
            )
        )
    else:
        met.append(Reason("pain-trend", t_text, t_data))


def weekly_review(
    history: Sequence[DayLog],
    days: Mapping[int, DayLog],
    day: int,
    current: Prescription,
    p: Protocol,
) -> ReviewOutcome:
    """The review after ``day`` (a multiple of ``review_every_days``) of the person on
    ``current``: the decision's kind and its reasons (see the module docstring)."""
    every = p.review_every_days
    first = max(1, day - every + 1)
    span: dict[str, DataValue] = {"first_day": first, "last_day": day}
    adh = adherence(history, current, first_day=first, last_day=day)
    needed = p.value("adherence.progress_min_share")
    adh_data: dict[str, DataValue] = {
        **span,
        "done": adh.done,
        "prescribed": adh.prescribed,
        "share": round(adh.share, 3),
        "morning_done": adh.morning_done,
        "morning_prescribed": adh.prescribed - adh.main_prescribed,
        "main_done": adh.main_done,
        "main_prescribed": adh.main_prescribed,
    }
    adh_text = (
        f"days {first}–{day}: {adh.done} of {adh.prescribed} sessions done "
        f"({100 * adh.share:.0f} %) — {slots_text(adh)}"
    )
    if adh.share < p.value("adherence.lighter_below_share"):
        return _adherence_too_low(adh, adh_text, adh_data, current, day, p)

    week = _Week(days, first, day, span, p)
    missing, met = week.missing, week.met
    at_level = day - current.since_day + 1
    min_days = int(p.value("progression.min_days_at_level"))
    if at_level < min_days:
        missing.append(
            Reason(
                "too-soon",
                f"only {at_level} days at level {current.level}; at least {min_days} before "
                f"the next",
                {"days_at_level": at_level, "limit_days": min_days},
                (p.cite("progression.min_days_at_level"),),
            )
        )
    _light_criteria(week)
    adh_reason = Reason(
        "adherence",
        f"{adh_text} ({100 * needed:.0f} % needed to progress)",
        {**adh_data, "limit": needed},
    )
    (met if adh.share >= needed else missing).append(adh_reason)
    _sensor_criteria(week)
    _trend_criterion(week)

    if missing:
        return "hold", [*missing, *met]
    if current.level >= p.top_level:
        done = Reason(
            "top-level",
            f"all criteria met at the top level {current.level} ({current.title}): keep "
            "this routine up",
            {"level": current.level},
        )
        return "hold", [done, *met]
    target = p.level(current.level + 1)
    up = Reason(
        "progress",
        f"up to level {target.level} ({target.title}) from day {day + 1}: {target.reason}",
        {"from_level": current.level, "to_level": target.level},
    )
    return "progress", [*met, up]
