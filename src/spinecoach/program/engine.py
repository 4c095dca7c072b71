"""The progression engine: pure, deterministic rules that turn the history into the next
prescription and a decision — progress, hold, regress or stop-refer — with reasons that
cite the numbers they used. Every threshold comes from the protocol file
(``data/program.toml``, see ``docs/program.md``).

The rules, in order (the first that applies decides):

1. **Red flag** — any "yes" in a red-flag check-in (:func:`~spinecoach.program.redflags.screen`)
   stops the program and refers to a clinician, for good.
2. **Pain jump** — pain rising by ``pain.jump_mm`` or more during a session or from one
   morning to the next stops and refers, for good.
3. **Red light** — a session judged red by the pain-monitoring traffic light (a rise above
   ``pain.amber_max_rise_mm``, pain after of ``pain.severe_after_mm`` or more, or next-morning
   pain more than ``pain.morning_red_rise_mm`` above the morning before) lowers the level by
   one at once, unless the level was already lowered since that session.
4. **Review** (every ``review_every_days``): fewer than ``adherence.lighter_below_share``
   of the sessions done → the lighter level below, with reminders; else progress when
   the week had no red session, at most ``progression.max_amber_sessions`` amber ones,
   enough adherence, rep quality and held holds, and morning pain not rising week on
   week; otherwise hold and say what is missing.
5. Otherwise hold: keep going.

>>> from spinecoach.program.model import DayLog, Prescription, SessionOutcome
>>> from spinecoach.program.protocol import default_protocol
>>> p = default_protocol()
>>> rx = Prescription.of_level(p, 3, since_day=1)
>>> log = [DayLog(1, 40.0, (SessionOutcome("main", 40.0, 65.0),))]
>>> d = decide(log, rx, baseline_vas_mm=40.0)
>>> d.kind, d.prescription.level, d.light
('regress', 2, 'red')
>>> d.reasons[0].text[:61]
'pain rose 25 mm during the main session on day 1 (40 → 65 mm)'
>>> d.reasons[0].text.endswith("above the 20 mm amber limit (Silbernagel 2007): back to level 2")
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spinecoach.errors import ConfigurationError
from spinecoach.program.model import (
    DataValue,
    DayLog,
    Decision,
    DecisionKind,
    Light,
    Prescription,
    Reason,
    SessionOutcome,
)
from spinecoach.program.protocol import Protocol, default_protocol
from spinecoach.program.redflags import screen

_ORDER: dict[Light, int] = {"green": 0, "amber": 1, "red": 2}


def _mm(value: float) -> str:
    return f"{value:.0f}"


def _worst(lights: Sequence[Light]) -> Light | None:
    worst: Light | None = None
    for light in lights:
        if worst is None or _ORDER[light] > _ORDER[worst]:
            worst = light
    return worst


@dataclass(frozen=True)
class SessionLight:
    """The traffic light of one session and the reasons behind it."""

    day: int
    slot: str
    light: Light
    reasons: tuple[Reason, ...]


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
    green = p.value("pain.green_max_rise_mm")
    amber = p.value("pain.amber_max_rise_mm")
    severe = p.value("pain.severe_after_mm")
    tolerance = p.value("pain.morning_tolerance_mm")
    morning_red = p.value("pain.morning_red_rise_mm")
    rise = session.rise_mm
    before, after = session.vas_before_mm, session.vas_after_mm
    base: dict[str, DataValue] = {
        "day": day,
        "slot": session.slot,
        "vas_before_mm": before,
        "vas_after_mm": after,
        "rise_mm": round(rise, 1),
    }
    lights: list[tuple[Light, Reason]] = []
    where = f"during the {session.slot} session on day {day} ({_mm(before)} → {_mm(after)} mm)"
    if rise > amber:
        lights.append(
            (
                "red",
                Reason(
                    "pain-rise-red",
                    f"pain rose {_mm(rise)} mm {where}, above the {amber:g} mm amber limit "
                    f"({p.cite('pain.amber_max_rise_mm')})",
                    {**base, "limit_mm": amber},
                ),
            )
        )
    elif rise > green:
        lights.append(
            (
                "amber",
                Reason(
                    "pain-rise-amber",
                    f"pain rose {_mm(rise)} mm {where}: amber, above the {green:g} mm safe "
                    f"zone ({p.cite('pain.green_max_rise_mm')})",
                    {**base, "limit_mm": green},
                ),
            )
        )
    if after >= severe:
        lights.append(
            (
                "red",
                Reason(
                    "pain-after-severe",
                    f"pain after the {session.slot} session on day {day} was {_mm(after)} mm, "
                    f"at or above {severe:g} mm ({p.cite('pain.severe_after_mm')})",
                    {**base, "limit_mm": severe},
                ),
            )
        )
    if morning_before_mm is not None and next_morning_mm is not None:
        change = next_morning_mm - morning_before_mm
        data = {
            **base,
            "morning_before_mm": morning_before_mm,
            "next_morning_mm": next_morning_mm,
            "morning_change_mm": round(change, 1),
        }
        text = (
            f"the morning after day {day}'s {session.slot} session pain was {_mm(change)} mm "
            f"higher ({_mm(morning_before_mm)} → {_mm(next_morning_mm)} mm)"
        )
        if change > morning_red:
            lights.append(
                (
                    "red",
                    Reason(
                        "morning-red",
                        f"{text}: it had not settled overnight (more than {morning_red:g} mm, "
                        f"{p.cite('pain.morning_red_rise_mm')})",
                        {**data, "limit_mm": morning_red},
                    ),
                )
            )
        elif change > tolerance:
            lights.append(
                (
                    "amber",
                    Reason(
                        "morning-amber",
                        f"{text}: amber, above the {tolerance:g} mm allowed "
                        f"({p.cite('pain.morning_tolerance_mm')})",
                        {**data, "limit_mm": tolerance},
                    ),
                )
            )
    if not lights:
        return SessionLight(day, session.slot, "green", ())
    worst = _worst([light for light, _ in lights])
    assert worst is not None  # lights is not empty
    return SessionLight(day, session.slot, worst, tuple(r for light, r in lights if light == worst))


def _by_day(history: Sequence[DayLog]) -> dict[int, DayLog]:
    days: dict[int, DayLog] = {}
    for log in history:
        if log.day in days:
            raise ConfigurationError(f"the history has two logs for day {log.day}; merge them")
        days[log.day] = log
    return days


def _morning(days: Mapping[int, DayLog], day: int) -> float | None:
    log = days.get(day)
    return None if log is None else log.morning_vas_mm


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
            next_morning_mm=_morning(days, day + 1),
            protocol=protocol,
        )
        for s in log.sessions
    )


def _red_flag_stop(days: Mapping[int, DayLog]) -> tuple[Reason, ...] | None:
    for day in sorted(days):
        answers = days[day].red_flag_answers
        if answers is None:
            continue
        result = screen(answers)
        if result.stop:
            flagged = ", ".join(f.id for f in result.flagged)
            reasons = [
                Reason(
                    "red-flag",
                    f"on day {day} you reported a red flag ({flagged}): {why}",
                    {"day": day, "flags": flagged, "urgency": result.urgency},
                )
                for why in result.reasons
            ]
            reasons.append(
                Reason(
                    "refer",
                    result.advice_during_program
                    + " The program stays paused until a clinician has seen you.",
                    {"day": day, "urgency": result.urgency},
                )
            )
            return tuple(reasons)
    return None


def _pain_jump_stop(days: Mapping[int, DayLog], p: Protocol) -> tuple[Reason, ...] | None:
    jump = p.value("pain.jump_mm")
    cite = p.cite("pain.jump_mm")
    advice = Reason(
        "refer",
        "Please pause the exercises and talk to your doctor or physiotherapist before you "
        "go on; spinecoach cannot judge what changed.",
        {"limit_mm": jump},
    )
    for day in sorted(days):
        log = days[day]
        for s in log.sessions:
            if s.rise_mm >= jump:
                return (
                    Reason(
                        "pain-jump",
                        f"pain jumped {_mm(s.rise_mm)} mm during the {s.slot} session on day "
                        f"{day} ({_mm(s.vas_before_mm)} → {_mm(s.vas_after_mm)} mm), "
                        f"{jump:g} mm or more ({cite}): stop and ask a clinician",
                        {
                            "day": day,
                            "vas_before_mm": s.vas_before_mm,
                            "vas_after_mm": s.vas_after_mm,
                            "rise_mm": round(s.rise_mm, 1),
                            "limit_mm": jump,
                        },
                    ),
                    advice,
                )
        before = _morning(days, day - 1)
        if before is not None and log.morning_vas_mm is not None:
            change = log.morning_vas_mm - before
            if change >= jump:
                return (
                    Reason(
                        "pain-jump",
                        f"morning pain jumped {_mm(change)} mm from day {day - 1} to day {day} "
                        f"({_mm(before)} → {_mm(log.morning_vas_mm)} mm), {jump:g} mm or more "
                        f"({cite}): stop and ask a clinician",
                        {
                            "day": day,
                            "morning_before_mm": before,
                            "morning_mm": log.morning_vas_mm,
                            "rise_mm": round(change, 1),
                            "limit_mm": jump,
                        },
                    ),
                    advice,
                )
    return None


@dataclass(frozen=True)
class Adherence:
    """Sessions done ÷ sessions prescribed (morning routines and main sessions) over a
    window of days, and the desk breaks done ÷ prescribed."""

    done: int
    prescribed: int
    desk_breaks_done: int
    desk_breaks_prescribed: int

    @property
    def share(self) -> float:
        return self.done / self.prescribed if self.prescribed else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "prescribed": self.prescribed,
            "share": round(self.share, 3),
            "desk_breaks_done": self.desk_breaks_done,
            "desk_breaks_prescribed": self.desk_breaks_prescribed,
        }


def adherence(
    history: Sequence[DayLog], prescription: Prescription, *, first_day: int, last_day: int
) -> Adherence:
    """Adherence over days ``first_day``–``last_day`` (inclusive) against ``prescription``:
    one morning routine a day plus ``main_sessions_per_week`` main sessions a week (pro
    rata), each counted at most as often as prescribed."""
    n_days = max(0, last_day - first_day + 1)
    main_prescribed = round(prescription.main_sessions_per_week * n_days / 7)
    mornings = mains = breaks = 0
    for log in history:
        if first_day <= log.day <= last_day:
            mornings += min(1, sum(s.slot == "morning" for s in log.sessions))
            mains += sum(s.slot == "main" for s in log.sessions)
            breaks += log.desk_breaks_done
    return Adherence(
        done=mornings + min(mains, main_prescribed),
        prescribed=n_days + main_prescribed,
        desk_breaks_done=breaks,
        desk_breaks_prescribed=n_days * prescription.desk_breaks_per_day,
    )


@dataclass(frozen=True)
class PainOutcome:
    """Pain now (mean morning VAS of the last ``outcome.window_days``) against the start,
    and whether the change reaches the minimal important change (Ostelo 2008)."""

    baseline_vas_mm: float
    current_vas_mm: float | None
    change_mm: float | None
    change_pct: float | None
    mcid_reached: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "baseline_vas_mm": self.baseline_vas_mm,
            "current_vas_mm": self.current_vas_mm,
            "change_mm": self.change_mm,
            "change_pct": self.change_pct,
            "mcid_reached": self.mcid_reached,
        }


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _window_mornings(days: Mapping[int, DayLog], first: int, last: int) -> list[float]:
    return [v for d in range(first, last + 1) if (v := _morning(days, d)) is not None and d in days]


def pain_outcome(
    history: Sequence[DayLog], *, baseline_vas_mm: float, protocol: Protocol | None = None
) -> PainOutcome:
    """Pain change since the start; negative ``change_mm``/``change_pct`` is less pain.

    >>> from spinecoach.program.model import DayLog
    >>> pain_outcome([DayLog(d, 30.0) for d in range(1, 8)], baseline_vas_mm=50.0).mcid_reached
    True
    """
    p = protocol or default_protocol()
    days = _by_day(history)
    if not days:
        return PainOutcome(baseline_vas_mm, None, None, None, False)
    last = max(days)
    window = int(p.value("outcome.window_days"))
    current = _mean(_window_mornings(days, last - window + 1, last))
    if current is None:
        return PainOutcome(baseline_vas_mm, None, None, None, False)
    change = current - baseline_vas_mm
    pct = 100.0 * change / baseline_vas_mm if baseline_vas_mm > 0 else 0.0
    reached = -change >= p.value("outcome.mcid_mm") or -pct >= p.value("outcome.mcid_pct")
    return PainOutcome(
        baseline_vas_mm, round(current, 1), round(change, 1), round(pct, 1), bool(reached)
    )


def next_prescription(
    current: Prescription, kind: DecisionKind, *, day: int, protocol: Protocol | None = None
) -> Prescription:
    """The prescription after a decision of ``kind`` taken after ``day``: one level up
    (progress), one down (regress; never below the lightest), the same (hold, stop-refer)."""
    p = protocol or default_protocol()
    level = current.level
    if kind == "progress":
        level = min(level + 1, p.top_level)
    elif kind == "regress":
        level = max(level - 1, p.bottom_level)
    if level == current.level:
        return current
    return Prescription.of_level(p, level, since_day=day + 1)


def _decision(
    day: int,
    kind: DecisionKind,
    reasons: Sequence[Reason],
    current: Prescription,
    light: Light | None,
    p: Protocol,
    *,
    review: bool = False,
) -> Decision:
    nxt = current if kind == "stop-refer" else next_prescription(current, kind, day=day, protocol=p)
    return Decision(day, kind, tuple(reasons), nxt, light, review)


def decide(
    history: Sequence[DayLog],
    current: Prescription,
    *,
    baseline_vas_mm: float,
    protocol: Protocol | None = None,
) -> Decision:
    """The decision after the last day of ``history`` for a person on ``current``.

    Pure and deterministic: the same history and prescription always give the same
    decision. ``baseline_vas_mm`` is the pain (mm) at onboarding. See the module
    docstring for the rules.
    """
    p = protocol or default_protocol()
    if not math.isfinite(baseline_vas_mm) or not 0.0 <= baseline_vas_mm <= 100.0:
        raise ConfigurationError(
            f"baseline_vas_mm is a VAS in mm from 0 to 100, got {baseline_vas_mm!r}"
        )
    days = _by_day(history)
    if not days:
        raise ConfigurationError("decide needs at least one DayLog in the history")
    day = max(days)

    stop = _red_flag_stop(days) or _pain_jump_stop(days, p)
    if stop is not None:
        return _decision(day, "stop-refer", stop, current, "red", p)

    # Lights judged today: today's sessions, and yesterday's now that this morning is in.
    judged = [*day_lights(days, day - 1, p), *day_lights(days, day, p)]
    light = _worst([j.light for j in judged])
    fresh_red = [j for j in judged if j.light == "red" and j.day >= current.since_day]
    if fresh_red:
        reasons = [r for j in fresh_red for r in j.reasons]
        if current.level > p.bottom_level:
            target = p.level(current.level - 1)
            first = reasons[0]
            reasons[0] = Reason(
                first.code, f"{first.text}: back to level {target.level}", first.data
            )
            reasons.append(
                Reason(
                    "regress",
                    f"level {target.level} ({target.title}) from day {day + 1}: {target.reason}",
                    {"from_level": current.level, "to_level": target.level},
                )
            )
            return _decision(day, "regress", reasons, current, light, p)
        reasons.append(
            Reason(
                "lightest",
                "you are already on the lightest level: keep it gentle, and if the pain has "
                "not settled in a few days, talk to a doctor or physiotherapist",
                {"level": current.level},
            )
        )
        return _decision(day, "hold", reasons, current, light, p)

    every = p.review_every_days
    if day % every == 0:
        return _review(history, days, day, current, light, p)
    if light == "red":
        # Red, but from a session before the level was last lowered: already acted on.
        text = "yesterday's red session was already answered by the lower level: keep going"
        reason = Reason("already-regressed", text, {"level": current.level})
        return _decision(day, "hold", [reason], current, light, p)
    text = f"day {day}: " + (
        "sessions within the pain limits, keep going"
        if light in (None, "green")
        else "an amber session: keep to this level"
    )
    return _decision(day, "hold", [Reason("keep-going", text, {"day": day})], current, light, p)


def _review(
    history: Sequence[DayLog],
    days: Mapping[int, DayLog],
    day: int,
    current: Prescription,
    light: Light | None,
    p: Protocol,
) -> Decision:
    every = p.review_every_days
    first = max(1, day - every + 1)
    span = {"first_day": first, "last_day": day}
    adh = adherence(history, current, first_day=first, last_day=day)
    lighter = p.value("adherence.lighter_below_share")
    needed = p.value("adherence.progress_min_share")
    adh_data: dict[str, DataValue] = {
        **span,
        "done": adh.done,
        "prescribed": adh.prescribed,
        "share": round(adh.share, 3),
    }
    adh_text = (
        f"days {first}–{day}: {adh.done} of {adh.prescribed} sessions done "
        f"({100 * adh.share:.0f} %)"
    )
    if adh.share < lighter:
        reasons = [
            Reason(
                "adherence-low",
                f"{adh_text}, fewer than {100 * lighter:.0f} %: the plan does not fit your "
                f"days yet, so it gets lighter rather than harder "
                f"({p.cite('adherence.lighter_below_share')})",
                {**adh_data, "limit": lighter},
            )
        ]
        if current.level > p.bottom_level:
            target = p.level(current.level - 1)
            reasons.append(
                Reason(
                    "regress",
                    f"level {target.level} ({target.title}) from day {day + 1}: {target.reason}",
                    {"from_level": current.level, "to_level": target.level},
                )
            )
            return _decision(day, "regress", reasons, current, light, p, review=True)
        reasons.append(
            Reason(
                "lightest",
                f"staying on the lightest level ({current.title}); reminders can help fit it in",
                {"level": current.level},
            )
        )
        return _decision(day, "hold", reasons, current, light, p, review=True)

    lights = [sl for d in range(first, day + 1) for sl in day_lights(days, d, p)]
    reds = [sl for sl in lights if sl.light == "red"]
    ambers = [sl for sl in lights if sl.light == "amber"]
    max_amber = int(p.value("progression.max_amber_sessions"))
    missing: list[Reason] = []
    met: list[Reason] = []

    at_level = day - current.since_day + 1
    min_days = int(p.value("progression.min_days_at_level"))
    if at_level < min_days:
        missing.append(
            Reason(
                "too-soon",
                f"only {at_level} days at level {current.level}; at least {min_days} before "
                f"the next ({p.cite('progression.min_days_at_level')})",
                {"days_at_level": at_level, "limit_days": min_days},
            )
        )
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
        f"{len(ambers)} amber (at most {max_amber} amber to progress, "
        f"{p.cite('progression.max_amber_sessions')})"
    )
    light_data: dict[str, DataValue] = {
        **span,
        "sessions": len(lights),
        "red": len(reds),
        "amber": len(ambers),
        "limit_amber": max_amber,
    }
    if len(ambers) > max_amber:
        missing.append(Reason("amber-in-week", light_text, light_data))
    elif not reds:
        met.append(Reason("pain-ok", light_text, light_data))

    adh_reason = Reason(
        "adherence",
        f"{adh_text} ({100 * needed:.0f} % needed to progress)",
        {**adh_data, "limit": needed},
    )
    (met if adh.share >= needed else missing).append(adh_reason)

    reps = [
        r
        for d in range(first, day + 1)
        if d in days
        for s in days[d].sessions
        for e in s.exercises
        for r in e.reps
    ]
    if reps:
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
    else:
        met.append(
            Reason(
                "no-sensor",
                f"no sensor data in days {first}–{day}: judged on pain and adherence only",
                span,
            )
        )

    this_week = _mean(_window_mornings(days, first, day))
    last_week = _mean(_window_mornings(days, first - every, first - 1))
    if this_week is not None and last_week is not None:
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
                    f"{t_text}: rising more than {tolerance:g} mm "
                    f"({p.cite('pain.morning_tolerance_mm')})",
                    t_data,
                )
            )
        else:
            met.append(Reason("pain-trend", t_text, t_data))

    if missing:
        return _decision(day, "hold", [*missing, *met], current, light, p, review=True)
    if current.level >= p.top_level:
        done = Reason(
            "top-level",
            f"all criteria met at the top level {current.level} ({current.title}): keep "
            "this routine up",
            {"level": current.level},
        )
        return _decision(day, "hold", [done, *met], current, light, p, review=True)
    target = p.level(current.level + 1)
    up = Reason(
        "progress",
        f"up to level {target.level} ({target.title}) from day {day + 1}: {target.reason}",
        {"from_level": current.level, "to_level": target.level},
    )
    return _decision(day, "progress", [*met, up], current, light, p, review=True)
