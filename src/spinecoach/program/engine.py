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

The rules live in sibling modules, all pure: the traffic light in
:mod:`spinecoach.program.lights`, adherence and the pain outcome in
:mod:`spinecoach.program.measures`, the weekly review in :mod:`spinecoach.program.review`;
this module holds the stops and :func:`decide`, and offers their public names too.

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
>>> d.reasons[0].text.endswith("above the 20 mm amber limit: back to level 2")
True
>>> d.reasons[0].sources  # where the limit comes from, apart from the plain sentence
('Silbernagel 2007',)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from spinecoach.errors import ConfigurationError
from spinecoach.program.lights import (
    SessionLight,
    by_day,
    day_lights,
    mm_text,
    morning_of,
    session_light,
    worst_light,
)
from spinecoach.program.measures import Adherence, PainOutcome, adherence, pain_outcome
from spinecoach.program.model import (
    DataValue,
    DayLog,
    Decision,
    DecisionKind,
    Light,
    Prescription,
    Reason,
)
from spinecoach.program.protocol import Protocol, default_protocol
from spinecoach.program.redflags import screen
from spinecoach.program.review import step_down, weekly_review

__all__ = [
    "Adherence",
    "PainOutcome",
    "SessionLight",
    "adherence",
    "day_lights",
    "decide",
    "next_prescription",
    "pain_outcome",
    "session_light",
]


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
    cite = (p.cite("pain.jump_mm"),)
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
                        f"pain jumped {mm_text(s.rise_mm)} mm during {s.describe(day)} "
                        f"({mm_text(s.vas_before_mm)} → {mm_text(s.vas_after_mm)} mm), "
                        f"{jump:g} mm or more: stop and ask a clinician",
                        {
                            "day": day,
                            "slot": s.slot,
                            **s.cited(),
                            "vas_before_mm": s.vas_before_mm,
                            "vas_after_mm": s.vas_after_mm,
                            "rise_mm": round(s.rise_mm, 1),
                            "limit_mm": jump,
                        },
                        cite,
                    ),
                    advice,
                )
        before = morning_of(days, day - 1)
        if before is not None and log.morning_vas_mm is not None:
            change = log.morning_vas_mm - before
            if change >= jump:
                return (
                    Reason(
                        "pain-jump",
                        f"morning pain jumped {mm_text(change)} mm from day {day - 1} to day "
                        f"{day} ({mm_text(before)} → {mm_text(log.morning_vas_mm)} mm), "
                        f"{jump:g} mm or more: stop and ask a clinician",
                        {
                            "day": day,
                            "morning_before_mm": before,
                            "morning_mm": log.morning_vas_mm,
                            "rise_mm": round(change, 1),
                            "limit_mm": jump,
                        },
                        cite,
                    ),
                    advice,
                )
    return None


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
    days = by_day(history)
    if not days:
        raise ConfigurationError("decide needs at least one DayLog in the history")
    day = max(days)

    stop = _red_flag_stop(days) or _pain_jump_stop(days, p)
    if stop is not None:
        return _decision(day, "stop-refer", stop, current, "red", p)

    # Lights judged today: today's sessions, and yesterday's now that this morning is in.
    judged = [*day_lights(days, day - 1, p), *day_lights(days, day, p)]
    light = worst_light([j.light for j in judged])
    fresh_red = [j for j in judged if j.light == "red" and j.day >= current.since_day]
    if fresh_red:
        reasons = [r for j in fresh_red for r in j.reasons]
        if current.level > p.bottom_level:
            target = p.level(current.level - 1)
            first = reasons[0]
            reasons[0] = Reason(
                first.code,
                f"{first.text}: back to level {target.level}",
                first.data,
                first.sources,
            )
            reasons.append(step_down(current, day, p))
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

    if day % p.review_every_days == 0:
        kind, reasons = weekly_review(history, days, day, current, p)
        return _decision(day, kind, reasons, current, light, p, review=True)
    if light == "red":
        # Red, but from a session before the level was last lowered: already acted on.
        text = "yesterday's red session was already answered by the lower level: keep going"
        reason = Reason("already-regressed", text, {"level": current.level})
        return _decision(day, "hold", [reason], current, light, p)
    return _decision(day, "hold", [_keep_going(day, judged, light)], current, light, p)


def _keep_going(day: int, judged: Sequence[SessionLight], light: Light | None) -> Reason:
    """The "keep going" reason of a quiet day: it names the sessions judged (their days and
    slots) and says so when there were none, never a judgement of sessions that do not
    exist."""
    data: dict[str, DataValue] = {"day": day, "sessions": len(judged)}
    if not judged:
        return Reason("keep-going", f"day {day}: no session rated yet to judge, keep going", data)
    named = ", ".join(f"day {j.day} {j.slot}" for j in judged)
    verdict = (
        "within the pain limits, keep going"
        if light == "green"
        else "an amber session: keep to this level"
    )
    text = f"day {day}: {len(judged)} session(s) judged ({named}), {verdict}"
    return Reason("keep-going", text, data)
