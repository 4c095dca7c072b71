""" "Recommended for you": today's plan from the prescription, plus extra suggestions chosen
from the person's own data, each with why.

Suggestions (thresholds from ``data/program.toml``):

* **regression variant** — when a technique's faults named by a ``[[variants]]`` entry make
  up at least its ``min_fault_share`` of the reps of the last review window (for example
  many lumbar-rounding hip-hinges → the supported hip-hinge);
* **more desk breaks** — when posture data show ``posture.slouched_min_per_day`` or more
  of slouched sitting, or an unbroken sit of ``posture.longest_sitting_min`` or more, on
  average over the window;
* **reminders** — when adherence in the window is below ``adherence.progress_min_share``;
* **see a clinician** — after a stop-refer decision (and nothing else: no exercise).

>>> from spinecoach.program.model import DayLog, Prescription, PostureSummary
>>> from spinecoach.program.protocol import default_protocol
>>> from spinecoach.program.engine import decide
>>> rx = Prescription.of_level(default_protocol(), 1, since_day=1)
>>> log = [DayLog(1, 40.0, posture=PostureSummary(400.0, 180.0, 90.0))]
>>> plan = recommend(log, decide(log, rx, baseline_vas_mm=40.0))
>>> [s.kind for s in plan.suggestions]
['desk-breaks', 'reminders']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from spinecoach.program.engine import adherence
from spinecoach.program.model import DayLog, Decision, Reason
from spinecoach.program.protocol import ExerciseDose, Protocol, default_protocol
from spinecoach.program.review import slots_text

SuggestionKind = Literal["variant", "desk-breaks", "reminders", "see-clinician"]

DISCLAIMER = (
    "spinecoach is a coaching tool, not a medical device: these suggestions are exercise "
    "coaching, not a diagnosis or a treatment."
)


@dataclass(frozen=True)
class Suggestion:
    """An extra suggestion and why it was chosen (a :class:`Reason` citing the data)."""

    kind: SuggestionKind
    title: str
    why: Reason
    technique: str | None = None
    dose: ExerciseDose | None = None
    extra_desk_breaks: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "why": self.why.as_dict(),
            "technique": self.technique,
            "dose": None if self.dose is None else self.dose.as_dict(),
            "extra_desk_breaks": self.extra_desk_breaks,
        }


@dataclass(frozen=True)
class Plan:
    """Today's plan (the prescription's exercises, empty after a stop) and suggestions."""

    day: int
    decision: Decision
    today: tuple[ExerciseDose, ...]
    desk_breaks: int
    main_session_today: bool
    suggestions: tuple[Suggestion, ...]
    disclaimer: str = DISCLAIMER

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "decision": self.decision.as_dict(),
            "today": [d.as_dict() for d in self.today],
            "desk_breaks": self.desk_breaks,
            "main_session_today": self.main_session_today,
            "suggestions": [s.as_dict() for s in self.suggestions],
            "disclaimer": self.disclaimer,
        }


def main_session_days(main_sessions_per_week: int) -> frozenset[int]:
    """Days of the week (1–7) with a main session, spread out (rest days between).

    >>> sorted(main_session_days(4))
    [1, 2, 4, 6]
    """
    if main_sessions_per_week <= 0:
        return frozenset()
    return frozenset(1 + (i * 7) // main_sessions_per_week for i in range(main_sessions_per_week))


def recommend(
    history: Sequence[DayLog],
    decision: Decision,
    *,
    protocol: Protocol | None = None,
    day_complete: bool = True,
) -> Plan:
    """The plan for the day after ``decision.day`` and suggestions from ``history``.

    ``day_complete`` False: ``decision.day`` is today and still running (the live app),
    so adherence is judged on the days before it only — nobody is told they missed a
    session they can still do today.
    """
    p = protocol or default_protocol()
    day = decision.day + 1
    rx = decision.prescription
    if decision.kind == "stop-refer":
        advice = next((r for r in decision.reasons if r.code == "refer"), decision.reasons[-1])
        stop = Suggestion(
            "see-clinician",
            "Pause the exercises and see a clinician",
            Reason("refer", advice.text, advice.data),
        )
        return Plan(day, decision, (), 0, False, (stop,))
    first = max(1, decision.day - p.review_every_days + 1)
    window = [log for log in history if first <= log.day <= decision.day]
    main_today = ((day - 1) % 7 + 1) in main_session_days(rx.main_sessions_per_week)
    today = tuple(d for d in rx.exercises if d.slot in ("morning", "desk-break") or main_today)
    suggestions: list[Suggestion] = []
    suggestions.extend(_variants(window, rx.exercises, first, decision.day, p))
    desk = _desk_breaks(window, rx.desk_breaks_per_day, first, decision.day, p)
    if desk is not None:
        suggestions.append(desk)
    judged_last = decision.day if day_complete else decision.day - 1
    adh = adherence(history, rx, first_day=first, last_day=judged_last)
    needed = p.value("adherence.progress_min_share")
    if judged_last >= first and adh.share < needed:
        suggestions.append(
            Suggestion(
                "reminders",
                "Turn on reminders: morning routine on waking, main session at a set time",
                Reason(
                    "adherence",
                    f"{adh.done} of {adh.prescribed} sessions done in days {first}–"
                    f"{judged_last} ({100 * adh.share:.0f} %, below {100 * needed:.0f} %; "
                    f"{slots_text(adh)}): a reminder at a fixed time of day makes the routine "
                    "easier to keep",
                    {**adh.as_dict(), "limit": needed},
                ),
            )
        )
    return Plan(day, decision, today, rx.desk_breaks_per_day, main_today, tuple(suggestions))


def _variants(
    window: Sequence[DayLog],
    doses: Sequence[ExerciseDose],
    first: int,
    last: int,
    p: Protocol,
) -> list[Suggestion]:
    out: list[Suggestion] = []
    prescribed = {d.technique for d in doses}
    for variant in p.variants:
        if variant.technique not in prescribed:
            continue
        reps = [
            r
            for log in window
            for s in log.sessions
            for e in s.exercises
            if e.technique == variant.technique
            for r in e.reps
        ]
        if not reps:
            continue
        faulted = sum(any(f in variant.faults for f in r.faults) for r in reps)
        share = faulted / len(reps)
        if share < variant.min_fault_share:
            continue
        counts = {f: sum(f in r.faults for r in reps) for f in variant.faults}
        shown = ", ".join(f"{f} ×{n}" for f, n in counts.items() if n)
        slot = next(d.slot for d in doses if d.technique == variant.technique)
        out.append(
            Suggestion(
                "variant",
                variant.title,
                Reason(
                    "faults",
                    f"{faulted} of {len(reps)} {variant.technique} reps in days {first}–{last} "
                    f"had {shown} ({100 * share:.0f} %, from {100 * variant.min_fault_share:.0f} "
                    f"% a variant is offered): {variant.reason}",
                    {
                        "technique": variant.technique,
                        "faulted_reps": faulted,
                        "reps": len(reps),
                        "share": round(share, 3),
                        "limit": variant.min_fault_share,
                    },
                ),
                technique=variant.technique,
                dose=ExerciseDose(
                    technique=variant.technique,
                    slot=slot,
                    reps=variant.reps,
                    sets=variant.sets,
                    hold_s=variant.hold_s,
                    range_share=variant.range_share,
                    reason=variant.reason,
                ),
            )
        )
    return out


def _desk_breaks(
    window: Sequence[DayLog], prescribed: int, first: int, last: int, p: Protocol
) -> Suggestion | None:
    postures = [log.posture for log in window if log.posture is not None]
    if not postures:
        return None
    slouched = sum(x.slouched_min for x in postures) / len(postures)
    longest = sum(x.longest_sitting_min for x in postures) / len(postures)
    slouch_limit = p.value("posture.slouched_min_per_day")
    sit_limit = p.value("posture.longest_sitting_min")
    if slouched < slouch_limit and longest < sit_limit:
        return None
    most = p.desk_breaks_per_day[1]
    extra = min(int(p.value("posture.extra_desk_breaks")), most - prescribed)
    if extra <= 0:
        return None
    because = []
    if slouched >= slouch_limit:
        because.append(f"{slouched:.0f} min of slouched sitting a day (from {slouch_limit:g})")
    if longest >= sit_limit:
        because.append(f"unbroken sitting of {longest:.0f} min on average (from {sit_limit:g})")
    return Suggestion(
        "desk-breaks",
        f"{extra} extra 2-minute desk breaks (seated cat-cow), {prescribed + extra} a day",
        Reason(
            "posture",
            f"your sensor showed {' and '.join(because)} over {len(postures)} day(s) in days "
            f"{first}–{last}: break up the sitting more often",
            {
                "slouched_min_per_day": round(slouched, 1),
                "longest_sitting_min": round(longest, 1),
                "days": len(postures),
                "limit_slouched_min": slouch_limit,
                "limit_sitting_min": sit_limit,
            },
        ),
        technique="cat-cow-seated",
        extra_desk_breaks=extra,
    )
