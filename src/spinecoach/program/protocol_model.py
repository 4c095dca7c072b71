"""The program protocol's values: levels, phases, safe bounds, variants and rules.

Frozen dataclasses built from ``data/program.toml`` by
:mod:`spinecoach.program.protocol_reader`; :mod:`spinecoach.program.protocol` is where
callers import them from. Units: VAS in mm (0–100), durations in seconds (``_s``) or
minutes (``_min``), shares 0–1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

from spinecoach.conventions import CAT_COW_SEATED, FLEXION_EXTENSION, HIP_HINGE, PELVIC_TILT
from spinecoach.errors import ConfigurationError
from spinecoach.exercises.catalogue import Catalogue, default_catalogue

PROGRAM_VERSION: Final = 1
"""The ``program_version`` this spinecoach reads."""

Slot = Literal["morning", "main", "desk-break"]
SLOTS: Final[tuple[str, ...]] = ("morning", "main", "desk-break")
PROGRAM_TECHNIQUES: Final[tuple[str, ...]] = (
    PELVIC_TILT,
    HIP_HINGE,
    FLEXION_EXTENSION,
    CAT_COW_SEATED,
)
"""The techniques the program prescribes (quadruped cat-cow is in the catalogue but not in
the daily plan: the seated one is the desk break)."""

#: Every rule the file must give, as ``section.name`` → whether it is a whole number.
RULES: Final[Mapping[str, bool]] = MappingProxyType(
    {
        "pain.green_max_rise_mm": False,
        "pain.amber_max_rise_mm": False,
        "pain.morning_tolerance_mm": False,
        "pain.morning_red_rise_mm": False,
        "pain.severe_after_mm": False,
        "pain.jump_mm": False,
        "outcome.mcid_mm": False,
        "outcome.mcid_pct": False,
        "outcome.window_days": True,
        "progression.min_days_at_level": True,
        "progression.max_amber_sessions": True,
        "progression.min_quality": False,
        "progression.hold_ok_share": False,
        "progression.min_hold_success": False,
        "adherence.progress_min_share": False,
        "adherence.lighter_below_share": False,
        "posture.slouched_min_per_day": False,
        "posture.longest_sitting_min": False,
        "posture.extra_desk_breaks": True,
    }
)
SHARE_RULES: Final = frozenset(
    {
        "progression.hold_ok_share",
        "progression.min_hold_success",
        "adherence.progress_min_share",
        "adherence.lighter_below_share",
    }
)


@dataclass(frozen=True)
class Rule:
    """One threshold of the progression rules, with why and where it comes from."""

    name: str
    value: float
    reason: str
    reference: str
    """A key of :attr:`Protocol.references`."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "reason": self.reason,
            "reference": self.reference,
        }


@dataclass(frozen=True)
class Bounds:
    """The safe bounds of one technique's prescription (inclusive)."""

    technique: str
    reps: tuple[int, int]
    sets: tuple[int, int]
    hold_s: tuple[float, float]
    range_share: tuple[float, float]
    reason: str


@dataclass(frozen=True)
class ExerciseDose:
    """What one technique of a level asks for: reps per set, sets, hold (s) and the share
    (0–1) of the person's own range the target aims for, in a daily ``slot``."""

    technique: str
    slot: Slot
    reps: int
    sets: int
    hold_s: float
    range_share: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "technique": self.technique,
            "slot": self.slot,
            "reps": self.reps,
            "sets": self.sets,
            "hold_s": self.hold_s,
            "range_share": self.range_share,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Level:
    """A whole prescription: the exercises, main sessions a week and desk breaks a day."""

    level: int
    title: str
    phase: str
    main_sessions_per_week: int
    desk_breaks_per_day: int
    exercises: tuple[ExerciseDose, ...]
    reason: str

    def exercise(self, technique: str) -> ExerciseDose:
        for dose in self.exercises:
            if dose.technique == technique:
                return dose
        raise ConfigurationError(
            f"level {self.level} has no {technique!r}; it has "
            + ", ".join(d.technique for d in self.exercises)
        )

    def has(self, technique: str) -> bool:
        return any(d.technique == technique for d in self.exercises)


@dataclass(frozen=True)
class Phase:
    name: str
    title: str
    levels: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class Variant:
    """A regression variant of a technique, offered when ``faults`` make up at least
    ``min_fault_share`` of the reps."""

    name: str
    technique: str
    title: str
    faults: tuple[str, ...]
    min_fault_share: float
    reps: int
    sets: int
    hold_s: float
    range_share: float
    reason: str


@dataclass(frozen=True)
class Protocol:
    """The whole program file (``source``), validated."""

    version: int
    weeks: int
    start_level: int
    review_every_days: int
    references: Mapping[str, str]
    rules: Mapping[str, Rule]
    bounds: Mapping[str, Bounds]
    desk_breaks_per_day: tuple[int, int]
    main_sessions_per_week: tuple[int, int]
    morning_routine_max_s: float
    phases: tuple[Phase, ...]
    levels: tuple[Level, ...]
    variants: tuple[Variant, ...]
    source: str

    @property
    def top_level(self) -> int:
        return self.levels[-1].level

    @property
    def bottom_level(self) -> int:
        return self.levels[0].level

    def level(self, number: int) -> Level:
        for level in self.levels:
            if level.level == number:
                return level
        raise ConfigurationError(
            f"no level {number}; levels run from {self.bottom_level} to {self.top_level}"
        )

    def rule(self, name: str) -> Rule:
        try:
            return self.rules[name]
        except KeyError:
            raise ConfigurationError(
                f"unknown rule {name!r}; rules are {', '.join(self.rules)}"
            ) from None

    def value(self, name: str) -> float:
        """The value of rule ``name`` (shorthand for ``rule(name).value``)."""
        return self.rule(name).value

    def cite(self, name: str) -> str:
        """A short citation of rule ``name`` for a reason text, e.g. ``Silbernagel 2007``."""
        key = self.rule(name).reference
        if key == "project":
            return "spinecoach rule"
        head = key.rstrip("0123456789")
        year = key[len(head) :]
        if head.startswith("nice_"):
            return "NICE " + head[5:].upper() + year
        return f"{head.capitalize()} {year}".strip()

    def phase_of(self, number: int) -> Phase:
        for phase in self.phases:
            if number in phase.levels:
                return phase
        raise ConfigurationError(f"level {number} belongs to no phase")

    def variant(self, name: str) -> Variant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise ConfigurationError(f"unknown variant {name!r}")

    def morning_routine_s(self, level: Level, catalogue: Catalogue | None = None) -> float:
        """Duration (s) of the morning slot of ``level`` from the catalogue's tempo."""
        cat = catalogue or default_catalogue()
        total = 0.0
        for dose in level.exercises:
            if dose.slot == "morning":
                total += dose_duration_s(cat, dose.technique, dose.reps, dose.sets, dose.hold_s)
        return total


def dose_duration_s(cat: Catalogue, technique: str, reps: int, sets: int, hold_s: float) -> float:
    """Duration (s) of ``sets`` sets of ``reps`` reps holding ``hold_s``, at the tempo of
    ``technique`` in the catalogue ``cat`` (rests between reps and sets included)."""
    d = cat.technique(technique).dose
    per_rep = d.move_s + hold_s + d.return_s + d.rest_between_reps_s
    return reps * sets * per_rep + (sets - 1) * d.rest_between_sets_s
