"""The values the program engine reads and writes (frozen, JSON-ready via ``as_dict()``).

Inputs (the history): a :class:`DayLog` per program day with the morning pain, the
sessions done (:class:`SessionOutcome`: VAS before and after, the reps of each exercise),
the desk breaks done, the posture summary when a sensor was worn, and any red-flag
answers. Outputs: the :class:`Prescription` and a :class:`Decision` with
:class:`Reason` s that cite the numbers they used.

Units: VAS in mm on the 0–100 mm visual analogue scale; durations in seconds or minutes
as named; ``hold_share`` is the hold achieved ÷ the hold asked for.

>>> rep = RepOutcome(quality=90, hold_share=1.1)
>>> s = SessionOutcome("morning", 40.0, 42.0, (ExerciseOutcome("pelvic-tilt", (rep,)),))
>>> s.rise_mm
2.0
>>> DayLog(day=1, morning_vas_mm=40.0, sessions=(s,)).as_dict()["sessions"][0]["vas_after_mm"]
42.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal

from spinecoach.errors import ConfigurationError
from spinecoach.program.protocol import SLOTS, ExerciseDose, Level, Protocol, Slot

Light = Literal["green", "amber", "red"]
DecisionKind = Literal["progress", "hold", "regress", "stop-refer"]
DECISION_KINDS: Final[tuple[str, ...]] = ("progress", "hold", "regress", "stop-refer")
LIGHTS: Final[tuple[str, ...]] = ("green", "amber", "red")
DataValue = float | int | str | None


def _vas(value: float, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0.0 <= value <= 100.0
    ):
        raise ConfigurationError(f"{name} is a VAS in mm from 0 to 100, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class RepOutcome:
    """One rep: quality 0–100, the hold achieved ÷ the hold asked for (None without a
    hold) and the names of its form faults."""

    quality: int
    hold_share: float | None = None
    faults: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.quality, bool) or not 0 <= self.quality <= 100:
            raise ConfigurationError(f"RepOutcome.quality is 0-100, got {self.quality!r}")

    def as_dict(self) -> dict[str, Any]:
        return {"quality": self.quality, "hold_share": self.hold_share, "faults": list(self.faults)}


@dataclass(frozen=True)
class ExerciseOutcome:
    """The reps of one technique in a session."""

    technique: str
    reps: tuple[RepOutcome, ...]

    @classmethod
    def from_result(cls, result: Any, prescribed_hold_s: float) -> ExerciseOutcome:
        """From an :class:`~spinecoach.exercises.model.ExerciseResult`; ``prescribed_hold_s``
        is the hold the person was asked for (s; 0 for no hold)."""
        reps = []
        for rep in result.reps:
            share = None
            if prescribed_hold_s > 0 and math.isfinite(rep.hold_s):
                share = round(float(rep.hold_s) / prescribed_hold_s, 3)
            reps.append(RepOutcome(int(rep.quality), share, tuple(rep.fault_names)))
        return cls(result.technique, tuple(reps))

    def as_dict(self) -> dict[str, Any]:
        return {"technique": self.technique, "reps": [r.as_dict() for r in self.reps]}


@dataclass(frozen=True)
class SessionOutcome:
    """One session done: its slot, VAS before and after (mm) and the exercises.

    From the store each stored session is one outcome, named so that a reason can cite
    it: ``session_id``, ``date`` (its local day, ``YYYY-MM-DD``) and ``technique`` (all
    None for an outcome that stands for a slot as a whole, e.g. the simulated
    programs'). A reason's text names the slot, technique, day and date
    (:meth:`describe`), its data also the session id (:meth:`cited`).

    >>> SessionOutcome("main", 40.0, 75.0).describe(3)
    'the main session on day 3'
    >>> SessionOutcome("morning", 40.0, 75.0, session_id=12, date="2026-03-04",
    ...                technique="pelvic-tilt").describe(3)
    'the morning pelvic-tilt session on day 3, 2026-03-04'
    """

    slot: Slot
    vas_before_mm: float
    vas_after_mm: float
    exercises: tuple[ExerciseOutcome, ...] = ()
    session_id: int | None = None
    date: str | None = None
    technique: str | None = None

    def __post_init__(self) -> None:
        if self.slot not in SLOTS:
            raise ConfigurationError(f"SessionOutcome.slot is one of {SLOTS}, got {self.slot!r}")
        _vas(self.vas_before_mm, "vas_before_mm")
        _vas(self.vas_after_mm, "vas_after_mm")

    @property
    def rise_mm(self) -> float:
        """How much pain rose during the session (mm; negative when it eased)."""
        return self.vas_after_mm - self.vas_before_mm

    def describe(self, day: int) -> str:
        """How a reason names this session on program day ``day`` (see the class)."""
        if self.technique is None:
            return f"the {self.slot} session on day {day}"
        when = f", {self.date}" if self.date else ""
        return f"the {self.slot} {self.technique} session on day {day}{when}"

    def cited(self) -> dict[str, DataValue]:
        """What a reason's data says of this session: its id, date and technique (empty
        for an outcome that stands for a whole slot)."""
        out: dict[str, DataValue] = {}
        for key, value in (
            ("session_id", self.session_id),
            ("date", self.date),
            ("technique", self.technique),
        ):
            if value is not None:
                out[key] = value
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "vas_before_mm": self.vas_before_mm,
            "vas_after_mm": self.vas_after_mm,
            "exercises": [e.as_dict() for e in self.exercises],
            **self.cited(),
        }


@dataclass(frozen=True)
class PostureSummary:
    """A day of posture monitoring (minutes)."""

    sitting_min: float
    slouched_min: float
    longest_sitting_min: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "sitting_min": self.sitting_min,
            "slouched_min": self.slouched_min,
            "longest_sitting_min": self.longest_sitting_min,
        }


@dataclass(frozen=True)
class DayLog:
    """Everything logged on program day ``day`` (1 = the first day).

    ``morning_vas_mm`` is the pain on waking (None when not reported), which is also the
    "next morning" of the day before. ``red_flag_answers`` holds a red-flag check-in
    (question id → yes) when one was asked that day. ``slots_done`` counts the
    prescribed slots done that day (``morning``, ``main``: 1 when every technique the
    prescription puts in the slot was done that day; ``desk-break``: the desk breaks
    done), which adherence counts; None (an outcome per slot, as the simulated programs
    log it): each session of ``sessions`` counts for its slot.
    """

    day: int
    morning_vas_mm: float | None
    sessions: tuple[SessionOutcome, ...] = ()
    desk_breaks_done: int = 0
    posture: PostureSummary | None = None
    red_flag_answers: Mapping[str, bool] | None = None
    slots_done: Mapping[str, int] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.day, bool) or not isinstance(self.day, int) or self.day < 1:
            raise ConfigurationError(f"DayLog.day is a whole number ≥ 1, got {self.day!r}")
        if self.morning_vas_mm is not None:
            _vas(self.morning_vas_mm, "morning_vas_mm")
        if self.red_flag_answers is not None:
            object.__setattr__(
                self, "red_flag_answers", MappingProxyType(dict(self.red_flag_answers))
            )
        if self.slots_done is not None:
            unknown = sorted(set(self.slots_done) - set(SLOTS))
            if unknown:
                raise ConfigurationError(
                    f"DayLog.slots_done names slots {unknown}; use {', '.join(SLOTS)}"
                )
            object.__setattr__(self, "slots_done", MappingProxyType(dict(self.slots_done)))

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "morning_vas_mm": self.morning_vas_mm,
            "sessions": [s.as_dict() for s in self.sessions],
            "desk_breaks_done": self.desk_breaks_done,
            "posture": None if self.posture is None else self.posture.as_dict(),
            "red_flag_answers": (
                None if self.red_flag_answers is None else dict(self.red_flag_answers)
            ),
            **({} if self.slots_done is None else {"slots_done": dict(self.slots_done)}),
        }


@dataclass(frozen=True)
class Prescription:
    """What to do from ``since_day`` on: a level of the protocol."""

    level: int
    title: str
    phase: str
    exercises: tuple[ExerciseDose, ...]
    main_sessions_per_week: int
    desk_breaks_per_day: int
    since_day: int

    @classmethod
    def of_level(cls, protocol: Protocol, level: int, since_day: int) -> Prescription:
        lv: Level = protocol.level(level)
        return cls(
            level=lv.level,
            title=lv.title,
            phase=lv.phase,
            exercises=lv.exercises,
            main_sessions_per_week=lv.main_sessions_per_week,
            desk_breaks_per_day=lv.desk_breaks_per_day,
            since_day=since_day,
        )

    def dose(self, technique: str) -> ExerciseDose | None:
        for d in self.exercises:
            if d.technique == technique:
                return d
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "title": self.title,
            "phase": self.phase,
            "exercises": [d.as_dict() for d in self.exercises],
            "main_sessions_per_week": self.main_sessions_per_week,
            "desk_breaks_per_day": self.desk_breaks_per_day,
            "since_day": self.since_day,
        }


@dataclass(frozen=True)
class Reason:
    """One reason for a decision: a sentence in plain words, the numbers it cites
    (``data``) and the sources of its thresholds (``sources``, e.g. ``("NICE NG59",)``).

    The sources stay out of the sentence, which a person reads on their page; the page
    shows them apart in small type, the clinician's report next to the sentence.
    """

    code: str
    text: str
    data: Mapping[str, DataValue] = field(default_factory=lambda: MappingProxyType({}))
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))
        object.__setattr__(self, "sources", tuple(dict.fromkeys(self.sources)))

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "text": self.text,
            "data": dict(self.data),
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class Decision:
    """The engine's decision after day ``day``: what to do next and why."""

    day: int
    kind: DecisionKind
    reasons: tuple[Reason, ...]
    prescription: Prescription
    light: Light | None
    """The worst traffic light of the sessions judged (None when none were)."""
    review: bool = False
    """Whether this was a progression review day."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "kind": self.kind,
            "light": self.light,
            "review": self.review,
            "reasons": [r.as_dict() for r in self.reasons],
            "prescription": self.prescription.as_dict(),
        }
