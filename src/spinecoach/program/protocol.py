"""The 6-week protocol as data: levels, phases, safe bounds and the progression rules.

The protocol lives in a versioned TOML file shipped with the package
(``spinecoach/data/program.toml``, described in ``docs/program.md``). :func:`load_protocol`
reads it into frozen dataclasses and validates the whole file: every level must lie inside
the safe bounds, the safe bounds must contain the technique catalogue's own dose, and a
mistake fails with a :class:`~spinecoach.errors.CatalogueError` naming the file and the
field (``levels[2].exercises.hip-hinge.reps``), what was expected and what was found.
Nothing is read at import time; :func:`default_protocol` is the cached packaged protocol.

Units: VAS in mm (0–100), durations in seconds (``_s``) or minutes (``_min``), shares
0–1 (``range_share`` is the share of the person's own range the target aims for).

>>> protocol = default_protocol()
>>> protocol.weeks, protocol.start_level, protocol.top_level
(6, 1, 6)
>>> protocol.rule("pain.amber_max_rise_mm").value
20.0
>>> protocol.level(2).exercise("hip-hinge").sets
3
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, NoReturn, cast

from spinecoach.conventions import CAT_COW_SEATED, FLEXION_EXTENSION, HIP_HINGE, PELVIC_TILT
from spinecoach.errors import CatalogueError, ConfigurationError
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
_SHARE_RULES: Final = frozenset(
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
                total += _duration_s(cat, dose.technique, dose.reps, dose.sets, dose.hold_s)
        return total


def _duration_s(cat: Catalogue, technique: str, reps: int, sets: int, hold_s: float) -> float:
    d = cat.technique(technique).dose
    per_rep = d.move_s + hold_s + d.return_s + d.rest_between_reps_s
    return reps * sets * per_rep + (sets - 1) * d.rest_between_sets_s


# --- loading --------------------------------------------------------------------------


def load_protocol(
    path: Path | Traversable | None = None, *, catalogue: Catalogue | None = None
) -> Protocol:
    """Read and validate a program file; ``None`` reads the packaged one.

    ``catalogue`` (default: the packaged one) is what the safe bounds are checked against.
    Raises :class:`~spinecoach.errors.CatalogueError` naming the file, field and fix.
    """
    if path is None:
        return default_protocol()
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(
            source, "", "cannot read the program file", found=repr(exc.strerror)
        ) from exc
    except UnicodeDecodeError:
        raise CatalogueError(source, "", "expected UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(source, "", f"invalid TOML: {exc}") from None
    return parse_protocol(data, source, catalogue=catalogue)


@functools.cache
def default_protocol() -> Protocol:
    """The packaged protocol, read and validated once (cached)."""
    path = resources.files("spinecoach").joinpath("data", "program.toml")
    return load_protocol(path)


def parse_protocol(
    data: Mapping[str, Any], source: str = "program.toml", *, catalogue: Catalogue | None = None
) -> Protocol:
    """Validate the parsed TOML of a program file (see ``data/program.toml``)."""
    return _Reader(source, catalogue or default_catalogue()).protocol(data)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


_MISSING: Final = object()


class _Reader:
    def __init__(self, source: str, catalogue: Catalogue) -> None:
        self.source = source
        self.catalogue = catalogue
        self.references: Mapping[str, str] = {}

    def fail(
        self, field: str, expected: str, found: object = _MISSING, fix: str | None = None
    ) -> NoReturn:
        shown = None if found is _MISSING else _show(found)
        raise CatalogueError(self.source, field, expected, found=shown, fix=fix)

    def table(self, parent: Mapping[str, Any], path: str, key: str) -> Mapping[str, Any]:
        field = f"{path}.{key}" if path else key
        if key not in parent:
            self.fail(field, "required table is missing")
        value = parent[key]
        if not isinstance(value, dict):
            self.fail(field, "expected a table", value)
        return cast(Mapping[str, Any], value)

    def keys(
        self,
        table: Mapping[str, Any],
        path: str,
        required: Sequence[str],
        optional: Sequence[str] = (),
    ) -> None:
        for key in required:
            if key not in table:
                self.fail(f"{path}.{key}" if path else key, "required key is missing")
        for key in table:
            if key not in required and key not in optional:
                self.fail(
                    f"{path}.{key}" if path else key,
                    "unknown key",
                    fix="Allowed here: " + ", ".join([*required, *optional]),
                )

    def text(self, table: Mapping[str, Any], path: str, key: str) -> str:
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{path}.{key}", "expected non-empty text", value)
        return value.strip()

    def number(
        self, value: object, field: str, low: float, high: float, *, whole: bool = False
    ) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and whole and not isinstance(value, int):
            ok = False
        if not ok or not math.isfinite(float(cast(float, value))):
            kind = "a whole number" if whole else "a number"
            self.fail(field, f"expected {kind} from {low:g} to {high:g}", value)
        number = float(cast(float, value))
        if not low <= number <= high:
            kind = "a whole number" if whole else "a number"
            self.fail(field, f"expected {kind} from {low:g} to {high:g}", value)
        return number

    def integer(self, value: object, field: str, low: int, high: int) -> int:
        return int(self.number(value, field, low, high, whole=True))

    def pair(self, value: object, field: str, low: float, high: float, *, whole: bool) -> Any:
        if not isinstance(value, list) or len(value) != 2:
            self.fail(field, "expected [least, most]", value)
        items = cast(list[object], value)
        a = self.number(items[0], f"{field}[0]", low, high, whole=whole)
        b = self.number(items[1], f"{field}[1]", low, high, whole=whole)
        if a > b:
            self.fail(field, "expected least ≤ most", value)
        return (int(a), int(b)) if whole else (a, b)

    # the file ---------------------------------------------------------------------------
    def protocol(self, data: Mapping[str, Any]) -> Protocol:
        version = data.get("program_version")
        if isinstance(version, bool) or version != PROGRAM_VERSION:
            self.fail(
                "program_version",
                f"expected {PROGRAM_VERSION} (the only version this spinecoach reads)",
                version if version is not None else _MISSING,
            )
        self.keys(
            data,
            "",
            [
                "program_version",
                "weeks",
                "start_level",
                "review_every_days",
                "references",
                "pain",
                "outcome",
                "progression",
                "adherence",
                "posture",
                "bounds",
                "phases",
                "levels",
                "variants",
            ],
        )
        refs = self.table(data, "", "references")
        for key, value in refs.items():
            if not isinstance(value, str) or not value.strip():
                self.fail(f"references.{key}", "expected the reference as text", value)
        self.references = MappingProxyType(dict(refs))
        rules = self.rules(data)
        bounds = self.bounds(self.table(data, "", "bounds"))
        btable = self.table(data, "", "bounds")
        desk = self.bound_pair(btable, "desk_breaks_per_day", 0, 24, whole=True)
        mains = self.bound_pair(btable, "main_sessions_per_week", 0, 7, whole=True)
        morning = self.table(btable, "bounds", "morning_routine_max_s")
        self.keys(morning, "bounds.morning_routine_max_s", ["value", "reason"])
        self.text(morning, "bounds.morning_routine_max_s", "reason")
        morning_max = self.number(
            morning["value"], "bounds.morning_routine_max_s.value", 30.0, 1800.0
        )
        levels = self.levels(data.get("levels"), bounds, desk, mains)
        phases = self.phases(data.get("phases"), levels)
        by_level = {p: ph.name for ph in phases for p in ph.levels}
        levels = tuple(
            Level(
                level=lv.level,
                title=lv.title,
                phase=by_level[lv.level],
                main_sessions_per_week=lv.main_sessions_per_week,
                desk_breaks_per_day=lv.desk_breaks_per_day,
                exercises=lv.exercises,
                reason=lv.reason,
            )
            for lv in levels
        )
        numbers = [lv.level for lv in levels]
        start = self.integer(data["start_level"], "start_level", numbers[0], numbers[-1])
        weeks = self.integer(data["weeks"], "weeks", 1, 52)
        review = self.integer(data["review_every_days"], "review_every_days", 1, 28)
        protocol = Protocol(
            version=PROGRAM_VERSION,
            weeks=weeks,
            start_level=start,
            review_every_days=review,
            references=self.references,
            rules=rules,
            bounds=bounds,
            desk_breaks_per_day=desk,
            main_sessions_per_week=mains,
            morning_routine_max_s=morning_max,
            phases=phases,
            levels=levels,
            variants=self.variants(data.get("variants"), bounds),
            source=self.source,
        )
        for i, lv in enumerate(levels):
            seconds = protocol.morning_routine_s(lv, self.catalogue)
            if seconds > morning_max:
                self.fail(
                    f"levels[{i}]",
                    f"expected a morning routine of at most {morning_max:g} s "
                    "(bounds.morning_routine_max_s)",
                    f"{seconds:.0f} s",
                    fix="Fewer reps or shorter holds in the morning slot",
                )
        return protocol

    def rules(self, data: Mapping[str, Any]) -> Mapping[str, Rule]:
        rules: dict[str, Rule] = {}
        sections = sorted({name.split(".")[0] for name in RULES})
        for section in sections:
            table = self.table(data, "", section)
            names = [n.split(".")[1] for n in RULES if n.startswith(section + ".")]
            self.keys(table, section, names)
            for key in names:
                name = f"{section}.{key}"
                entry = self.table(table, section, key)
                self.keys(entry, name, ["value", "reason", "reference"])
                whole = RULES[name]
                high = 1.0 if name in _SHARE_RULES else 1440.0
                if name == "progression.min_quality":
                    high = 100.0
                if section == "pain" or name == "outcome.mcid_mm":
                    high = 100.0
                value = self.number(entry["value"], f"{name}.value", 0.0, high, whole=whole)
                reference = self.text(entry, name, "reference")
                if reference not in self.references:
                    self.fail(
                        f"{name}.reference",
                        "expected a key of [references]",
                        reference,
                        fix="Known: " + ", ".join(self.references),
                    )
                rules[name] = Rule(name, value, self.text(entry, name, "reason"), reference)
        pain = {k: v.value for k, v in rules.items() if k.startswith("pain.")}
        if (
            not pain["pain.green_max_rise_mm"]
            < pain["pain.amber_max_rise_mm"]
            < pain["pain.jump_mm"]
        ):
            self.fail(
                "pain.amber_max_rise_mm.value",
                "expected green_max_rise_mm < amber_max_rise_mm < jump_mm",
                pain["pain.amber_max_rise_mm"],
            )
        if not pain["pain.morning_tolerance_mm"] < pain["pain.morning_red_rise_mm"]:
            self.fail(
                "pain.morning_red_rise_mm.value",
                "expected more than pain.morning_tolerance_mm",
                pain["pain.morning_red_rise_mm"],
            )
        if (
            rules["adherence.lighter_below_share"].value
            > rules["adherence.progress_min_share"].value
        ):
            self.fail(
                "adherence.lighter_below_share.value",
                "expected at most adherence.progress_min_share",
                rules["adherence.lighter_below_share"].value,
            )
        return MappingProxyType(rules)

    def bound_pair(
        self, table: Mapping[str, Any], key: str, low: int, high: int, *, whole: bool
    ) -> tuple[int, int]:
        entry = self.table(table, "bounds", key)
        self.keys(entry, f"bounds.{key}", ["value", "reason"])
        self.text(entry, f"bounds.{key}", "reason")
        pair = self.pair(entry["value"], f"bounds.{key}.value", low, high, whole=whole)
        return cast(tuple[int, int], pair)

    def bounds(self, table: Mapping[str, Any]) -> Mapping[str, Bounds]:
        out: dict[str, Bounds] = {}
        extra = {"desk_breaks_per_day", "main_sessions_per_week", "morning_routine_max_s"}
        for key in table:
            if key not in PROGRAM_TECHNIQUES and key not in extra:
                self.fail(
                    f"bounds.{key}",
                    "unknown key",
                    fix="Bounds are per technique ("
                    + ", ".join(PROGRAM_TECHNIQUES)
                    + ") or "
                    + ", ".join(sorted(extra)),
                )
        for technique in PROGRAM_TECHNIQUES:
            path = f"bounds.{technique}"
            entry = self.table(table, "bounds", technique)
            self.keys(entry, path, ["reps", "sets", "hold_s", "range_share", "reason"])
            b = Bounds(
                technique=technique,
                reps=self.pair(entry["reps"], f"{path}.reps", 1, 100, whole=True),
                sets=self.pair(entry["sets"], f"{path}.sets", 1, 20, whole=True),
                hold_s=self.pair(entry["hold_s"], f"{path}.hold_s", 0.0, 60.0, whole=False),
                range_share=self.pair(
                    entry["range_share"], f"{path}.range_share", 0.1, 1.0, whole=False
                ),
                reason=self.text(entry, path, "reason"),
            )
            # The catalogue's own dose and target are what a technique is built around: the
            # safe bounds must contain them, or the two files disagree about what is safe.
            tech = self.catalogue.technique(technique)
            for name, value, (lo, hi) in (
                ("reps", tech.dose.reps, b.reps),
                ("sets", tech.dose.sets, b.sets),
                ("hold_s", tech.dose.hold_s, b.hold_s),
                ("range_share", tech.target.share_of_range, b.range_share),
            ):
                if not lo <= value <= hi:
                    self.fail(
                        f"{path}.{name}",
                        f"expected bounds that contain the catalogue's {name} {value:g} "
                        f"({self.catalogue.source}, techniques.{technique})",
                        f"[{lo:g}, {hi:g}]",
                        fix="Widen the bounds or change the catalogue dose",
                    )
            out[technique] = b
        return MappingProxyType(out)

    def dose(
        self, table: Mapping[str, Any], path: str, technique: str, bounds: Mapping[str, Bounds]
    ) -> ExerciseDose:
        self.keys(table, path, ["slot", "reps", "sets", "hold_s", "range_share", "reason"])
        slot = table["slot"]
        if slot not in SLOTS:
            self.fail(f"{path}.slot", f"expected one of {', '.join(SLOTS)}", slot)
        b = bounds[technique]
        return ExerciseDose(
            technique=technique,
            slot=cast(Slot, slot),
            reps=self.inside(table, path, "reps", b.reps, whole=True),
            sets=self.inside(table, path, "sets", b.sets, whole=True),
            hold_s=self.inside(table, path, "hold_s", b.hold_s, whole=False),
            range_share=self.inside(table, path, "range_share", b.range_share, whole=False),
            reason=self.text(table, path, "reason"),
        )

    def inside(
        self,
        table: Mapping[str, Any],
        path: str,
        key: str,
        bound: tuple[float, float],
        *,
        whole: bool,
    ) -> Any:
        value = self.number(table[key], f"{path}.{key}", -1e9, 1e9, whole=whole)
        lo, hi = bound
        if not lo <= value <= hi:
            technique = path.rsplit(".", 1)[-1]
            self.fail(
                f"{path}.{key}",
                f"expected a value inside the safe bounds [{lo:g}, {hi:g}] "
                f"(bounds.{technique}.{key})",
                table[key],
            )
        return int(value) if whole else value

    def levels(
        self,
        value: object,
        bounds: Mapping[str, Bounds],
        desk: tuple[int, int],
        mains: tuple[int, int],
    ) -> tuple[Level, ...]:
        if not isinstance(value, list) or not value:
            self.fail("levels", "expected a non-empty array of [[levels]] tables", value)
        levels: list[Level] = []
        for i, entry in enumerate(cast(list[object], value)):
            path = f"levels[{i}]"
            if not isinstance(entry, dict):
                self.fail(path, "expected a table", entry)
            table = cast(Mapping[str, Any], entry)
            self.keys(
                table,
                path,
                [
                    "level",
                    "title",
                    "main_sessions_per_week",
                    "desk_breaks_per_day",
                    "reason",
                    "exercises",
                ],
            )
            number = self.integer(table["level"], f"{path}.level", 0, 100)
            if levels and number != levels[-1].level + 1:
                self.fail(
                    f"{path}.level",
                    f"expected {levels[-1].level + 1} (levels are numbered in order)",
                    number,
                )
            exercises_table = self.table(table, path, "exercises")
            for name in exercises_table:
                if name not in PROGRAM_TECHNIQUES:
                    self.fail(
                        f"{path}.exercises.{name}",
                        "unknown technique",
                        fix="The program prescribes " + ", ".join(PROGRAM_TECHNIQUES),
                    )
            for required in (PELVIC_TILT, CAT_COW_SEATED):
                if required not in exercises_table:
                    self.fail(
                        f"{path}.exercises.{required}",
                        "required at every level (the morning routine and the desk break)",
                    )
            doses = tuple(
                self.dose(
                    self.table(exercises_table, f"{path}.exercises", name),
                    f"{path}.exercises.{name}",
                    name,
                    bounds,
                )
                for name in PROGRAM_TECHNIQUES
                if name in exercises_table
            )
            main_per_week = self.integer(
                table["main_sessions_per_week"], f"{path}.main_sessions_per_week", *mains
            )
            has_main = any(d.slot == "main" for d in doses)
            if has_main != (main_per_week > 0):
                self.fail(
                    f"{path}.main_sessions_per_week",
                    "expected 0 exactly when the level has no exercise in the main slot",
                    main_per_week,
                )
            levels.append(
                Level(
                    level=number,
                    title=self.text(table, path, "title"),
                    phase="",
                    main_sessions_per_week=main_per_week,
                    desk_breaks_per_day=self.integer(
                        table["desk_breaks_per_day"], f"{path}.desk_breaks_per_day", *desk
                    ),
                    exercises=doses,
                    reason=self.text(table, path, "reason"),
                )
            )
        return tuple(levels)

    def phases(self, value: object, levels: tuple[Level, ...]) -> tuple[Phase, ...]:
        if not isinstance(value, list) or not value:
            self.fail("phases", "expected a non-empty array of [[phases]] tables", value)
        numbers = [lv.level for lv in levels]
        phases: list[Phase] = []
        seen: list[int] = []
        for i, entry in enumerate(cast(list[object], value)):
            path = f"phases[{i}]"
            if not isinstance(entry, dict):
                self.fail(path, "expected a table", entry)
            table = cast(Mapping[str, Any], entry)
            self.keys(table, path, ["name", "title", "levels", "reason"])
            raw = table["levels"]
            if not isinstance(raw, list) or not raw:
                self.fail(f"{path}.levels", "expected a non-empty array of level numbers", raw)
            members = tuple(
                self.integer(v, f"{path}.levels[{j}]", numbers[0], numbers[-1])
                for j, v in enumerate(cast(list[object], raw))
            )
            seen.extend(members)
            phases.append(
                Phase(
                    name=self.text(table, path, "name"),
                    title=self.text(table, path, "title"),
                    levels=members,
                    reason=self.text(table, path, "reason"),
                )
            )
        if sorted(seen) != numbers:
            self.fail(
                "phases",
                "expected every level in exactly one phase",
                ", ".join(str(n) for n in sorted(seen)),
                fix="Levels: " + ", ".join(str(n) for n in numbers),
            )
        return tuple(phases)

    def variants(self, value: object, bounds: Mapping[str, Bounds]) -> tuple[Variant, ...]:
        if not isinstance(value, list):
            self.fail("variants", "expected an array of [[variants]] tables", value)
        out: list[Variant] = []
        for i, entry in enumerate(cast(list[object], value)):
            path = f"variants[{i}]"
            if not isinstance(entry, dict):
                self.fail(path, "expected a table", entry)
            table = cast(Mapping[str, Any], entry)
            self.keys(
                table,
                path,
                [
                    "name",
                    "technique",
                    "title",
                    "faults",
                    "min_fault_share",
                    "reps",
                    "sets",
                    "hold_s",
                    "range_share",
                    "reason",
                ],
            )
            technique = table["technique"]
            if technique not in PROGRAM_TECHNIQUES:
                self.fail(
                    f"{path}.technique",
                    "expected one of " + ", ".join(PROGRAM_TECHNIQUES),
                    technique,
                )
            known = self.catalogue.technique(technique).fault_names
            faults = table["faults"]
            if not isinstance(faults, list) or not faults:
                self.fail(f"{path}.faults", "expected a non-empty array of fault names", faults)
            for j, fault in enumerate(cast(list[object], faults)):
                if fault not in known:
                    self.fail(
                        f"{path}.faults[{j}]",
                        f"expected a fault of {technique}: " + ", ".join(known),
                        fault,
                    )
            b = bounds[technique]
            vpath = f"{path}"
            out.append(
                Variant(
                    name=self.text(table, path, "name"),
                    technique=technique,
                    title=self.text(table, path, "title"),
                    faults=tuple(cast(list[str], faults)),
                    min_fault_share=self.number(
                        table["min_fault_share"], f"{path}.min_fault_share", 0.0, 1.0
                    ),
                    reps=self._variant_inside(table, vpath, "reps", b.reps, technique, True),
                    sets=self._variant_inside(table, vpath, "sets", b.sets, technique, True),
                    hold_s=self._variant_inside(table, vpath, "hold_s", b.hold_s, technique, False),
                    range_share=self._variant_inside(
                        table, vpath, "range_share", b.range_share, technique, False
                    ),
                    reason=self.text(table, path, "reason"),
                )
            )
        return tuple(out)

    def _variant_inside(
        self,
        table: Mapping[str, Any],
        path: str,
        key: str,
        bound: tuple[float, float],
        technique: str,
        whole: bool,
    ) -> Any:
        value = self.number(table[key], f"{path}.{key}", -1e9, 1e9, whole=whole)
        lo, hi = bound
        if not lo <= value <= hi:
            self.fail(
                f"{path}.{key}",
                f"expected a value inside the safe bounds [{lo:g}, {hi:g}] "
                f"(bounds.{technique}.{key})",
                table[key],
            )
        return int(value) if whole else value
