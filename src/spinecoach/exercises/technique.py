"""The technique catalogue's values: doses, target bands, fault rules, breathing, cues.

Frozen dataclasses and the vocabulary they are checked against (:data:`MEASURES`,
the required cues, the limits on cue and instruction lengths). They are built from
``data/techniques.toml`` by :mod:`spinecoach.exercises.catalogue_reader`;
:mod:`spinecoach.exercises.catalogue` is where callers import them from.

Units: seconds (``_s``), degrees (``_deg``) of the technique's main signal, shares (0–1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from spinecoach.conventions import CAT_COW, CAT_COW_SEATED, FLEXION_EXTENSION, HIP_HINGE
from spinecoach.errors import ConfigurationError

CATALOGUE_VERSION: Final = 1
"""The ``catalogue_version`` this spinecoach reads."""
DEFAULT_CUE_MIN_INTERVAL_S: Final = 2.5
"""Least time (s) between two spoken cues when the file does not say."""
MAX_CUE_CHARS: Final = 80
"""Longest cue text (characters): a cue is read aloud mid-movement, so it stays short."""
MAX_INSTRUCTION_CHARS: Final = 120
"""Longest instruction step (characters)."""
MAX_DURATION_S: Final = 600.0
"""Longest duration (s) accepted anywhere in a dose; larger values are unit mistakes."""

Comparison = Literal["<", ">"]
Unit = Literal["s", "deg", "ratio"]
BreathingPattern = Literal["exhale-on-effort", "breath-led", "natural"]
COMPARISONS: Final[tuple[str, ...]] = ("<", ">")
UNITS: Final[tuple[str, ...]] = ("s", "deg", "ratio")
BREATHING_PATTERNS: Final[tuple[str, ...]] = ("exhale-on-effort", "breath-led", "natural")

REQUIRED_CUES: Final[tuple[str, ...]] = (
    "get_ready",
    "start",
    "hold",
    "release",
    "rest",
    "set_done",
    "well_done",
)
"""Cue keys every technique has."""
TECHNIQUE_CUES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        CAT_COW: ("inhale", "exhale"),
        CAT_COW_SEATED: ("inhale", "exhale"),
        HIP_HINGE: ("keep_long",),
        FLEXION_EXTENSION: ("extend",),
    }
)
"""Extra cue keys a technique must have (a breath-led technique also needs
``inhale`` and ``exhale``)."""
CUE_PLACEHOLDERS: Final[tuple[str, ...]] = ("seconds",)
"""Placeholders a cue text may contain (``{seconds}``: a countdown)."""


@dataclass(frozen=True)
class Measure:
    """A quantity of one rep that a fault rule compares with its threshold."""

    name: str
    unit: Unit
    definition: str


def _measures(*items: tuple[str, Unit, str]) -> Mapping[str, Measure]:
    return MappingProxyType({name: Measure(name, unit, text) for name, unit, text in items})


MEASURES: Final[Mapping[str, Measure]] = _measures(
    ("hold_s", "s", "time held still at the end of the working movement"),
    (
        "hold_share",
        "ratio",
        "hold time ÷ prescribed hold (dose.hold_s; for the extension half "
        "dose.extension_hold_s); the smaller of the rep's holds",
    ),
    (
        "return_s",
        "s",
        "duration of the movement from the end of the hold back to rest (min-jerk "
        "corrected); not judged on a movement under 4°",
    ),
    ("phase_s", "s", "the shortest movement phase of the rep (out, back; both halves)"),
    (
        "range_deg",
        "deg",
        "main-signal change from rest in the working direction, as a magnitude; "
        "cat-cow: the cow-to-cat swing of the breath cycle",
    ),
    (
        "upper_change_deg",
        "deg",
        "largest change of upper_inclination_deg from its value at rest before the rep",
    ),
    (
        "excess_tilt_deg",
        "deg",
        "the rep's range_deg minus your usual range: the median of the calibration rep "
        "(or your history) and the reps before this one: the extra rotation of a pelvis "
        "lifted off the mat",
    ),
    (
        "lumbar_change_deg",
        "deg",
        "largest increase of lumbar_flexion_deg from its value at rest during the rep",
    ),
    (
        "end_offset_deg",
        "deg",
        "absolute difference of the main signal at the rep's end from its value at rest "
        "before the rep",
    ),
    (
        "lag_s",
        "s",
        "how late the spine follows the breath: the lag of the best fit of minimum-jerk "
        "moves between turning points locked to the pacer's phase boundaries; an "
        "inverted cycle (cat on the inhale) counts as infinite",
    ),
    (
        "jerk_ratio",
        "ratio",
        "RMS of the main signal band-passed to 1.5–5 Hz (4th-order Butterworth) ÷ RMS of "
        "the main signal about its mean, over the cycle: √(band power ÷ total power)",
    ),
)
"""The measures a fault rule may name, with unit and definition (the detector computes
them; ``docs/techniques.md`` has the same table)."""


@dataclass(frozen=True)
class Dose:
    """How much of a technique: reps per set, sets, and the tempo of one rep (s).

    ``hold_s`` is the hold at the end of the working movement (flexion for
    flexion-extension, 0 for the breath-led cat-cow); ``extension_hold_s`` the hold of the
    extension half when a technique has one (``None`` otherwise).
    """

    reps: int
    sets: int
    hold_s: float
    move_s: float
    return_s: float
    rest_between_reps_s: float
    rest_between_sets_s: float
    extension_hold_s: float | None = None


@dataclass(frozen=True)
class TargetBand:
    """Where the main signal should get to, scaled to the person's own range (deg).

    >>> TargetBand(share_of_range=0.7, floor_deg=6.0, max_deg=20.0, min_width_deg=3.0,
    ...            reason="").band(30.0)
    (17.0, 20.0)
    """

    share_of_range: float
    """The band begins at this share (0–1) of the person's own range."""
    floor_deg: float
    """The band never begins below this depth (deg)."""
    max_deg: float
    """Nothing in the band is deeper than this (deg)."""
    min_width_deg: float
    """The band is always at least this wide (deg), so it can be seen and hit."""
    reason: str

    def band(self, personal_range_deg: float) -> tuple[float, float]:
        """The target band ``(lower, upper)`` in degrees of the main signal's magnitude.

        ``personal_range_deg`` is the person's own range of the main signal in the working
        direction (deg, ≥ 0; for cat-cow the cow-to-cat swing). The band begins at
        ``lower = max(floor_deg, share_of_range × range)`` and ends at the person's own
        range, ``upper = max(range, lower + min_width_deg)``: reaching further than one's
        own range is not asked for. Both are capped so that
        ``lower ≤ max_deg − min_width_deg`` and ``upper ≤ max_deg``; the band is
        therefore always ``min_width_deg`` wide or more.

        >>> TargetBand(0.7, 6.0, 20.0, 3.0, "").band(4.0)  # below the floor: 6 to 9°
        (6.0, 9.0)
        """
        r = personal_range_deg
        if isinstance(r, bool) or not isinstance(r, int | float) or not math.isfinite(r) or r < 0:
            raise ConfigurationError(
                f"personal_range_deg must be a finite number of degrees ≥ 0, got {r!r}"
            )
        lower = min(max(self.floor_deg, self.share_of_range * r), self.max_deg - self.min_width_deg)
        upper = min(max(float(r), lower + self.min_width_deg), self.max_deg)
        return float(lower), float(upper)


@dataclass(frozen=True)
class Breathing:
    """How breath and movement go together (durations in s)."""

    pattern: BreathingPattern
    inhale_s: float
    exhale_s: float
    note: str

    @property
    def cycle_s(self) -> float:
        """One breath, in and out (s)."""
        return self.inhale_s + self.exhale_s


@dataclass(frozen=True)
class FaultRule:
    """A form fault: ``measure`` (in ``unit``) compared with ``threshold``.

    >>> rule = FaultRule("small-tilt", "range_deg", "<", 5.0, "deg", "too small", "Tilt more")
    >>> rule.is_fault(3.0), rule.is_fault(5.0), rule.is_fault(float("nan"))
    (True, False, False)
    """

    name: str
    measure: str
    comparison: Comparison
    threshold: float
    unit: Unit
    reason: str
    cue: str
    label: str = ""
    """The fault in plain words, for people ("Hold too short"); :attr:`name` is its id."""

    def is_fault(self, value: float) -> bool:
        """Whether ``value`` (in :attr:`unit`) breaks the rule; strict, NaN is never a fault."""
        if self.comparison == "<":
            return bool(value < self.threshold)
        return bool(value > self.threshold)


@dataclass(frozen=True)
class Technique:
    """One technique of the catalogue (see ``docs/techniques.md`` for every field)."""

    name: str
    title: str
    position: str
    summary: str
    start_position: str
    instructions: tuple[str, ...]
    safety_note: str
    main_signal: str
    direction: int
    """Sign (+1 or −1) of the main signal in the working movement."""
    dose: Dose
    target: TargetBand
    breathing: Breathing
    faults: tuple[FaultRule, ...]
    cues: Mapping[str, str]
    cue_min_interval_s: float
    """Least time (s) between two spoken cues."""
    other_positions: tuple[str, ...] = ()
    """Further start positions the technique may be done in (``positions`` in the file
    lists them all, :attr:`position` first)."""
    position_texts: Mapping[str, tuple[str, tuple[str, ...]]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """For a further start position: its own ``(start_position, instructions)`` in plain
    words (``[techniques.<id>.in_position.<position>]`` in the file)."""

    @property
    def positions(self) -> tuple[str, ...]:
        """Every start position the technique may be done in, its usual one first."""
        return (self.position, *self.other_positions)

    def start_position_in(self, position: str) -> str:
        """How to get ready in ``position`` (the usual words where it has none of its own)."""
        return self.position_texts.get(position, (self.start_position, ()))[0]

    def instructions_in(self, position: str) -> tuple[str, ...]:
        """The steps in ``position`` (the usual steps where it has none of its own)."""
        return self.position_texts.get(position, ("", self.instructions))[1]

    @property
    def fault_names(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self.faults)

    def fault(self, name: str) -> FaultRule:
        """The rule of fault ``name``."""
        for rule in self.faults:
            if rule.name == name:
                return rule
        raise ConfigurationError(
            f"technique {self.name!r} has no fault {name!r}; "
            f"its faults are {', '.join(self.fault_names)}"
        )

    def cue(self, key: str, *, seconds: int | None = None) -> str:
        """The text of cue ``key``, with ``{seconds}`` filled in when it has one."""
        if key not in self.cues:
            raise ConfigurationError(
                f"technique {self.name!r} has no cue {key!r}; its cues are {', '.join(self.cues)}"
            )
        text = self.cues[key]
        if seconds is None:
            if "{seconds" in text:
                raise ConfigurationError(
                    f"cue {key!r} of {self.name!r} counts down; pass seconds=<whole seconds>"
                )
            return text
        return text.format(seconds=seconds)


@dataclass(frozen=True)
class Catalogue:
    """All techniques, read from one catalogue file (``source``)."""

    version: int
    techniques: Mapping[str, Technique]
    cue_min_interval_s: float
    source: str
    position_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Each position in plain words, for people (``"supine"`` → "Lying on your back")."""

    def position_name(self, position: str) -> str:
        """``position`` in plain words; a position the file does not name stays as it is."""
        return self.position_names.get(position, position)

    def technique(self, name: str) -> Technique:
        """The technique called ``name`` (one of ``conventions.TECHNIQUES``)."""
        try:
            return self.techniques[name]
        except KeyError:
            raise ConfigurationError(
                f"unknown technique {name!r}; use one of {', '.join(self.techniques)}"
            ) from None
