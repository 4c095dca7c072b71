"""The technique catalogue: doses, target bands, form-fault rules, breathing and cues.

Clinical thresholds are data. They live in a versioned TOML file shipped with the
package (``spinecoach/data/techniques.toml``, described in ``docs/techniques.md``) and
are read into frozen dataclasses by :func:`load_catalogue`, which validates the whole
file: a mistake fails with a :class:`~spinecoach.errors.CatalogueError` naming the file,
the entry and the field (``techniques.pelvic-tilt.faults[2].threshold``), what was found
and what was expected. Nothing is read at import time; :func:`default_catalogue` is the
cached packaged catalogue for callers.

Units: seconds (``_s``), degrees (``_deg``) of the technique's main signal, shares
(0–1). Every fault rule compares one of the :data:`MEASURES` of a rep with a threshold
in that measure's unit.

>>> catalogue = load_catalogue()
>>> tilt = catalogue.technique("pelvic-tilt")
>>> tilt.dose.reps, tilt.dose.hold_s, tilt.main_signal, tilt.direction
(10, 3.0, 'pelvic_tilt_deg', -1)
>>> tilt.target.band(10.0)  # a person whose posterior tilt reaches 10°
(7.0, 10.0)
>>> tilt.fault("return-too-fast").is_fault(0.6)  # a 0.6 s return
True
>>> tilt.cue("hold", seconds=3)
'Hold… 3'
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import string
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, NoReturn, cast

from spinecoach.conventions import (
    ANGLE_COLUMNS,
    CAT_COW,
    CAT_COW_SEATED,
    FLEXION_EXTENSION,
    HIP_HINGE,
    POSITION_NOMINAL_INCLINATION_DEG,
    TECHNIQUES,
)
from spinecoach.errors import CatalogueError, ConfigurationError
from spinecoach.exercises.vocabulary import TECHNIQUE_FAULTS

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

    @property
    def positions(self) -> tuple[str, ...]:
        """Every start position the technique may be done in, its usual one first."""
        return (self.position, *self.other_positions)

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

    def technique(self, name: str) -> Technique:
        """The technique called ``name`` (one of ``conventions.TECHNIQUES``)."""
        try:
            return self.techniques[name]
        except KeyError:
            raise ConfigurationError(
                f"unknown technique {name!r}; use one of {', '.join(self.techniques)}"
            ) from None


# --- loading --------------------------------------------------------------------------


def packaged_catalogue_text() -> str:
    """The text of the catalogue shipped with spinecoach (a start for an edited copy)."""
    return _packaged_file().read_text(encoding="utf-8")


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """Read and validate a catalogue file; ``None`` reads the packaged one.

    Raises :class:`~spinecoach.errors.CatalogueError` (a ``ConfigurationError``) naming
    the file, the field and the fix when anything is wrong.
    """
    if path is None:
        resource = _packaged_file()
        source = str(resource)
        try:
            raw = resource.read_bytes()
        except OSError as exc:
            raise CatalogueError(source, "", "cannot read the packaged catalogue") from exc
    else:
        source = str(path)
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise CatalogueError(
                source, "", "cannot read the catalogue file", found=repr(exc.strerror)
            ) from exc
    return _parse(raw, source)


@functools.lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The packaged catalogue, read and validated once (cached)."""
    return load_catalogue()


def start_position(technique: str) -> str | None:
    """The usual start position of ``technique`` in the packaged catalogue, or None for a
    name it does not have (the catalogue is the one place that says it)."""
    found = default_catalogue().techniques.get(technique)
    return None if found is None else found.position


def _packaged_file() -> Traversable:
    return resources.files("spinecoach") / "data" / "techniques.toml"


_TOML_WHERE: Final = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")


def _parse(raw: bytes, source: str) -> Catalogue:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogueError(
            source, "", f"expected UTF-8 text, found an undecodable byte at offset {exc.start}"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = _TOML_WHERE.match(message)
        if where:
            raise CatalogueError(
                source,
                "",
                f"invalid TOML at line {where['line']}, column {where['col']}: {where['msg']}",
                fix="Check the quotes, brackets and '=' on that line",
            ) from None
        raise CatalogueError(source, "", f"invalid TOML: {message}") from None
    return _Reader(source).catalogue(data)


_MISSING: Final = object()


def _describe(value: object) -> str:
    """How a TOML value is shown after ``found`` in a message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"an array of {len(value)} item{'s' if len(value) != 1 else ''}"
    return f"{type(value).__name__} {value}"


def _suggest(word: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(valid), n=1, cutoff=0.6)
    return f"Did you mean {close[0]!r}? " if close else ""


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Reader:
    """Builds a :class:`Catalogue` from parsed TOML, naming every field it rejects."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, expected: str, value: object = _MISSING, fix: str = "") -> NoReturn:
        found = None if value is _MISSING else _describe(value)
        raise CatalogueError(self.source, field, expected, found=found, fix=fix or None)

    # typed getters ---------------------------------------------------------------------
    def keys(
        self,
        table: Mapping[str, Any],
        path: str,
        required: Sequence[str],
        optional: Sequence[str] = (),
    ) -> None:
        valid = [*required, *optional]
        for key in table:
            if key not in valid:
                self.fail(
                    _join(path, key),
                    "unknown key",
                    fix=f"{_suggest(key, valid)}Valid keys here: {', '.join(valid)}",
                )
        for key in required:
            if key not in table:
                self.fail(
                    _join(path, key),
                    "required key is missing",
                    fix="Add it (see docs/techniques.md)",
                )

    def table(self, table: Mapping[str, Any], path: str, key: str) -> dict[str, Any]:
        value = table[key]
        if not isinstance(value, dict):
            self.fail(_join(path, key), "expected a table", value)
        return cast(dict[str, Any], value)

    def text(
        self, table: Mapping[str, Any], path: str, key: str, *, max_chars: int | None = None
    ) -> str:
        return self.text_value(table[key], _join(path, key), max_chars=max_chars)

    def text_value(self, value: object, field: str, *, max_chars: int | None = None) -> str:
        if not isinstance(value, str):
            self.fail(field, "expected a text in quotes", value)
        text = value.strip()
        if not text:
            self.fail(field, "expected a non-empty text", value)
        if max_chars is not None and len(text) > max_chars:
            self.fail(
                field,
                f"expected at most {max_chars} characters, found {len(text)}",
                fix="Say it in fewer words",
            )
        return text

    def number(
        self,
        table: Mapping[str, Any],
        path: str,
        key: str,
        *,
        minimum: float,
        maximum: float,
        above: bool = False,
        what: str = "a number",
    ) -> float:
        value = table[key]
        field = _join(path, key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(field, f"expected {what}", value)
        number = float(value)
        low = f"> {minimum:g}" if above else f"≥ {minimum:g}"
        if not math.isfinite(number):
            self.fail(field, f"expected a finite number {low}", value)
        if number < minimum or (above and number == minimum) or number > maximum:
            self.fail(field, f"expected {what} {low} and ≤ {maximum:g}", value)
        return number

    def seconds(
        self, table: Mapping[str, Any], path: str, key: str, *, zero_ok: bool = True
    ) -> float:
        return self.number(
            table,
            path,
            key,
            minimum=0.0,
            maximum=MAX_DURATION_S,
            above=not zero_ok,
            what="a duration in seconds",
        )

    def degrees(self, table: Mapping[str, Any], path: str, key: str) -> float:
        return self.number(
            table, path, key, minimum=0.0, maximum=180.0, above=True, what="an angle in degrees"
        )

    def integer(
        self, table: Mapping[str, Any], path: str, key: str, *, minimum: int, maximum: int
    ) -> int:
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            self.fail(
                _join(path, key), f"expected a whole number from {minimum} to {maximum}", value
            )
        return value

    def choice(self, table: Mapping[str, Any], path: str, key: str, choices: Sequence[str]) -> str:
        value = table[key]
        if not isinstance(value, str) or value not in choices:
            hint = _suggest(value, choices) if isinstance(value, str) else ""
            self.fail(
                _join(path, key),
                f"expected one of {', '.join(repr(c) for c in choices)}",
                value,
                fix=hint.strip(),
            )
        return value

    def cue_text(self, value: object, field: str) -> str:
        text = self.text_value(value, field, max_chars=MAX_CUE_CHARS)
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
            for name in names:
                if name not in CUE_PLACEHOLDERS:
                    self.fail(
                        field,
                        f"unknown placeholder {{{name}}}; expected only "
                        + ", ".join(f"{{{p}}}" for p in CUE_PLACEHOLDERS),
                        value,
                        fix="Write a literal brace as {{ or }}",
                    )
            text.format(seconds=3)
        except ValueError as exc:
            self.fail(field, f"expected a valid cue text ({exc})", value)
        return text

    # the file ---------------------------------------------------------------------------
    def catalogue(self, data: Mapping[str, Any]) -> Catalogue:
        if "catalogue_version" not in data:
            self.fail(
                "catalogue_version",
                "required key is missing",
                fix=f"Put 'catalogue_version = {CATALOGUE_VERSION}' at the top of the file",
            )
        version = data["catalogue_version"]
        if isinstance(version, bool) or version != CATALOGUE_VERSION:
            self.fail(
                "catalogue_version",
                f"expected {CATALOGUE_VERSION} (the only version this spinecoach reads)",
                version,
                fix="Use a catalogue written for this version of spinecoach",
            )
        self.keys(data, "", ["catalogue_version", "techniques"], ["cue_min_interval_s"])
        interval = DEFAULT_CUE_MIN_INTERVAL_S
        if "cue_min_interval_s" in data:
            interval = self.cue_interval(data, "")
        techniques = self.table(data, "", "techniques")
        for name in techniques:
            if name not in TECHNIQUES:
                self.fail(
                    f"techniques.{name}",
                    "unknown technique",
                    fix=f"{_suggest(name, TECHNIQUES)}Techniques: {', '.join(TECHNIQUES)}",
                )
        for name in TECHNIQUES:
            if name not in techniques:
                self.fail(
                    f"techniques.{name}",
                    "required technique is missing",
                    fix=f"Add a [techniques.{name}] table; every technique needs an entry",
                )
        built = {
            name: self.technique(name, self.table(techniques, "techniques", name), interval)
            for name in TECHNIQUES
        }
        return Catalogue(
            version=CATALOGUE_VERSION,
            techniques=MappingProxyType(built),
            cue_min_interval_s=interval,
            source=self.source,
        )

    def cue_interval(self, table: Mapping[str, Any], path: str) -> float:
        return self.number(
            table,
            path,
            "cue_min_interval_s",
            minimum=0.0,
            maximum=60.0,
            above=True,
            what="a duration in seconds",
        )

    def technique(self, name: str, table: Mapping[str, Any], interval: float) -> Technique:
        path = f"techniques.{name}"
        self.keys(
            table,
            path,
            [
                "title",
                "position",
                "summary",
                "start_position",
                "instructions",
                "safety_note",
                "main_signal",
                "direction",
                "dose",
                "target",
                "breathing",
                "faults",
                "cues",
            ],
            ["cue_min_interval_s", "positions"],
        )
        direction = table["direction"]
        if (
            not isinstance(direction, int)
            or isinstance(direction, bool)
            or direction not in (1, -1)
        ):
            self.fail(
                f"{path}.direction",
                "expected 1 or -1 (the sign of the main signal in the working movement)",
                direction,
            )
        dose = self.dose(name, self.table(table, path, "dose"), f"{path}.dose")
        breathing = self.breathing(self.table(table, path, "breathing"), f"{path}.breathing")
        faults = self.faults(name, table["faults"], f"{path}.faults")
        target = self.target(self.table(table, path, "target"), f"{path}.target", faults)
        cues = self.cues(name, breathing, self.table(table, path, "cues"), f"{path}.cues")
        if "cue_min_interval_s" in table:
            interval = self.cue_interval(table, path)
        position = self.choice(table, path, "position", tuple(POSITION_NOMINAL_INCLINATION_DEG))
        others = self.positions(table, path, position)
        return Technique(
            name=name,
            title=self.text(table, path, "title", max_chars=60),
            position=position,
            summary=self.text(table, path, "summary"),
            start_position=self.text(table, path, "start_position"),
            instructions=self.instructions(table["instructions"], f"{path}.instructions"),
            safety_note=self.text(table, path, "safety_note"),
            main_signal=self.choice(table, path, "main_signal", ANGLE_COLUMNS),
            direction=direction,
            dose=dose,
            target=target,
            breathing=breathing,
            faults=faults,
            cues=cues,
            cue_min_interval_s=interval,
            other_positions=others,
        )

    def positions(self, table: Mapping[str, Any], path: str, position: str) -> tuple[str, ...]:
        """The further start positions of ``positions`` (optional; ``position`` first)."""
        if "positions" not in table:
            return ()
        field = f"{path}.positions"
        value = table["positions"]
        choices = tuple(POSITION_NOMINAL_INCLINATION_DEG)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v in choices for v in value)
        ):
            self.fail(field, f"expected an array of positions out of {', '.join(choices)}", value)
        items = cast(list[str], value)
        if items[0] != position or len(set(items)) != len(items):
            self.fail(
                field,
                f"expected each position once, the technique's position {position!r} first",
                value,
            )
        return tuple(items[1:])

    def instructions(self, value: object, path: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            self.fail(path, "expected a non-empty array of texts (the steps)", value)
        return tuple(
            self.text_value(step, f"{path}[{i}]", max_chars=MAX_INSTRUCTION_CHARS)
            for i, step in enumerate(cast(list[object], value))
        )

    def dose(self, name: str, table: Mapping[str, Any], path: str) -> Dose:
        durations = ["hold_s", "move_s", "return_s", "rest_between_reps_s", "rest_between_sets_s"]
        extension = ["extension_hold_s"]
        needs_extension = name == FLEXION_EXTENSION
        self.keys(
            table,
            path,
            ["reps", "sets", *durations, *(extension if needs_extension else [])],
            [] if needs_extension else extension,
        )
        extension_hold_s = None
        if "extension_hold_s" in table:
            extension_hold_s = self.seconds(table, path, "extension_hold_s")
        return Dose(
            reps=self.integer(table, path, "reps", minimum=1, maximum=100),
            sets=self.integer(table, path, "sets", minimum=1, maximum=20),
            hold_s=self.seconds(table, path, "hold_s"),
            move_s=self.seconds(table, path, "move_s", zero_ok=False),
            return_s=self.seconds(table, path, "return_s", zero_ok=False),
            rest_between_reps_s=self.seconds(table, path, "rest_between_reps_s"),
            rest_between_sets_s=self.seconds(table, path, "rest_between_sets_s"),
            extension_hold_s=extension_hold_s,
        )

    def target(
        self, table: Mapping[str, Any], path: str, faults: tuple[FaultRule, ...]
    ) -> TargetBand:
        self.keys(
            table, path, ["share_of_range", "floor_deg", "max_deg", "min_width_deg", "reason"]
        )
        band = TargetBand(
            share_of_range=self.number(
                table,
                path,
                "share_of_range",
                minimum=0.0,
                maximum=1.0,
                above=True,
                what="a share of the range",
            ),
            floor_deg=self.degrees(table, path, "floor_deg"),
            max_deg=self.degrees(table, path, "max_deg"),
            min_width_deg=self.degrees(table, path, "min_width_deg"),
            reason=self.text(table, path, "reason"),
        )
        least_max = band.floor_deg + band.min_width_deg
        if band.max_deg < least_max:
            self.fail(
                f"{path}.max_deg",
                f"expected at least floor_deg + min_width_deg = {least_max:g}",
                band.max_deg,
            )
        for i, rule in enumerate(faults):
            small_range = rule.measure == "range_deg" and rule.comparison == "<"
            if small_range and band.floor_deg < rule.threshold:
                self.fail(
                    f"{path}.floor_deg",
                    f"expected at least the {rule.name!r} threshold {rule.threshold:g} "
                    f"(faults[{i}]), so a rep inside the target band is never a fault",
                    band.floor_deg,
                )
        return band

    def breathing(self, table: Mapping[str, Any], path: str) -> Breathing:
        self.keys(table, path, ["pattern", "inhale_s", "exhale_s", "note"])
        return Breathing(
            pattern=cast(BreathingPattern, self.choice(table, path, "pattern", BREATHING_PATTERNS)),
            inhale_s=self.number(
                table,
                path,
                "inhale_s",
                minimum=0.0,
                maximum=30.0,
                above=True,
                what="a duration in seconds",
            ),
            exhale_s=self.number(
                table,
                path,
                "exhale_s",
                minimum=0.0,
                maximum=30.0,
                above=True,
                what="a duration in seconds",
            ),
            note=self.text(table, path, "note"),
        )

    def faults(self, name: str, value: object, path: str) -> tuple[FaultRule, ...]:
        expected_names = tuple(TECHNIQUE_FAULTS[name])
        if not isinstance(value, list):
            self.fail(path, "expected an array of tables ([[...faults]])", value)
        rules: list[FaultRule] = []
        for i, entry in enumerate(cast(list[object], value)):
            rules.append(self.fault(expected_names, entry, f"{path}[{i}]", rules))
        have = {rule.name for rule in rules}
        for fault_name in expected_names:
            if fault_name not in have:
                self.fail(
                    path,
                    f"missing a rule for fault {fault_name!r}",
                    fix=f"Every fault of {name} needs a rule: {', '.join(expected_names)}",
                )
        return tuple(rules)

    def fault(
        self, expected_names: Sequence[str], entry: object, path: str, earlier: list[FaultRule]
    ) -> FaultRule:
        if not isinstance(entry, dict):
            self.fail(path, "expected a table", entry)
        table = cast(dict[str, Any], entry)
        self.keys(
            table, path, ["name", "measure", "comparison", "threshold", "unit", "reason", "cue"]
        )
        fault_name = table["name"]
        if not isinstance(fault_name, str) or fault_name not in expected_names:
            hint = _suggest(fault_name, expected_names) if isinstance(fault_name, str) else ""
            self.fail(
                f"{path}.name",
                "expected one of the faults this technique has: "
                + ", ".join(repr(n) for n in expected_names),
                fault_name,
                fix=hint.strip(),
            )
        if any(rule.name == fault_name for rule in earlier):
            self.fail(f"{path}.name", "expected each fault once, found a second", fault_name)
        measure = self.choice(table, path, "measure", tuple(MEASURES))
        comparison = self.choice(table, path, "comparison", COMPARISONS)
        unit = self.choice(table, path, "unit", UNITS)
        if unit != MEASURES[measure].unit:
            self.fail(
                f"{path}.unit",
                f"expected {MEASURES[measure].unit!r} (the unit of measure {measure!r})",
                unit,
            )
        return FaultRule(
            name=fault_name,
            measure=measure,
            comparison=cast(Comparison, comparison),
            threshold=self.number(
                table, path, "threshold", minimum=0.0, maximum=1e6, what="a number"
            ),
            unit=unit,
            reason=self.text(table, path, "reason", max_chars=160),
            cue=self.cue_text(table["cue"], f"{path}.cue"),
        )

    def cues(
        self, name: str, breathing: Breathing, table: Mapping[str, Any], path: str
    ) -> Mapping[str, str]:
        needed = [*REQUIRED_CUES, *TECHNIQUE_CUES.get(name, ())]
        if breathing.pattern == "breath-led":
            needed += [key for key in ("inhale", "exhale") if key not in needed]
        for key in table:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
                self.fail(
                    _join(path, key),
                    "expected a cue key in lower case with underscores (like get_ready)",
                )
        for key in needed:
            if key not in table:
                close = difflib.get_close_matches(key, [k for k in table if k not in needed], 1)
                typo = f"Is {close[0]!r} a misspelling of it? " if close else ""
                self.fail(
                    _join(path, key),
                    "required cue is missing",
                    fix=f"{typo}This technique needs: {', '.join(needed)}",
                )
        return MappingProxyType(
            {key: self.cue_text(value, _join(path, key)) for key, value in table.items()}
        )
