"""Builds a :class:`~spinecoach.program.protocol.Protocol` from the parsed TOML of a
program file, naming every field it rejects.

The generic checks (keys, tables, texts, numbers) are the shared
:class:`~spinecoach.exercises.datafile.DataFileReader`'s, also used for the technique
catalogue; what is particular to the program is here: the rules and their references,
the safe bounds (which must contain the catalogue's own dose), the levels inside those
bounds, the phases that cover every level once, the variants and the morning routine's
length.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, cast

from spinecoach.conventions import CAT_COW_SEATED, PELVIC_TILT
from spinecoach.exercises.catalogue import Catalogue
from spinecoach.exercises.datafile import MISSING, PROGRAM_FILE, DataFileReader
from spinecoach.program.protocol_model import (
    PROGRAM_TECHNIQUES,
    PROGRAM_VERSION,
    RULES,
    SHARE_RULES,
    SLOTS,
    Bounds,
    ExerciseDose,
    Level,
    Phase,
    Protocol,
    Rule,
    Slot,
    Variant,
)

_TOP_KEYS = (
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
)
_LEVEL_KEYS = (
    "level",
    "title",
    "main_sessions_per_week",
    "desk_breaks_per_day",
    "reason",
    "exercises",
)
_VARIANT_KEYS = (
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
)


class ProtocolReader(DataFileReader):
    """Builds a :class:`Protocol` from the file ``source``, checked against ``catalogue``."""

    def __init__(self, source: str, catalogue: Catalogue) -> None:
        super().__init__(source, PROGRAM_FILE)
        self.catalogue = catalogue
        self.references: Mapping[str, str] = {}

    def amount(self, value: object, field: str, low: float, high: float, *, whole: bool) -> float:
        """``value`` from ``low`` to ``high``; a whole number when ``whole``."""
        if whole:
            return self.integer(value, field, minimum=low, maximum=high)
        return self.number(value, field, minimum=low, maximum=high)

    def pair(self, value: object, field: str, low: float, high: float, *, whole: bool) -> Any:
        """``[least, most]``, both from ``low`` to ``high``."""
        if not isinstance(value, list) or len(value) != 2:
            self.fail(field, "expected [least, most]", value)
        items = cast(list[object], value)
        a = self.amount(items[0], f"{field}[0]", low, high, whole=whole)
        b = self.amount(items[1], f"{field}[1]", low, high, whole=whole)
        if a > b:
            self.fail(field, "expected least ≤ most", value)
        return (int(a), int(b)) if whole else (a, b)

    def entries(self, value: object, path: str, expected: str) -> list[Mapping[str, Any]]:
        """The tables of the array ``value`` at ``path`` (``expected`` when not an array)."""
        if not isinstance(value, list):
            self.fail(path, expected, value)
        for i, entry in enumerate(cast(list[object], value)):
            if not isinstance(entry, dict):
                self.fail(f"{path}[{i}]", "expected a table", entry)
        return cast(list[Mapping[str, Any]], value)

    # the file ---------------------------------------------------------------------------
    def protocol(self, data: Mapping[str, Any]) -> Protocol:
        """The whole file: sections in the order their checks need each other."""
        version = data.get("program_version")
        if isinstance(version, bool) or version != PROGRAM_VERSION:
            self.fail(
                "program_version",
                f"expected {PROGRAM_VERSION} (the only version this spinecoach reads)",
                version if version is not None else MISSING,
            )
        self.keys(data, "", _TOP_KEYS)
        self.references = self.reference_texts(self.table(data, "", "references"))
        rules = self.rules(data)
        btable = self.table(data, "", "bounds")
        bounds = self.bounds(btable)
        desk = self.bound_pair(btable, "desk_breaks_per_day", 0, 24, whole=True)
        mains = self.bound_pair(btable, "main_sessions_per_week", 0, 7, whole=True)
        morning_max = self.morning_max_s(btable)
        levels = self.levels(data.get("levels"), bounds, desk, mains)
        phases = self.phases(data.get("phases"), levels)
        levels = _with_phases(levels, phases)
        numbers = [lv.level for lv in levels]
        start = self.integer(
            data["start_level"], "start_level", minimum=numbers[0], maximum=numbers[-1]
        )
        weeks = self.integer(data["weeks"], "weeks", minimum=1, maximum=52)
        review = self.integer(data["review_every_days"], "review_every_days", minimum=1, maximum=28)
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
        self.check_morning_routines(protocol)
        return protocol

    def reference_texts(self, refs: Mapping[str, Any]) -> Mapping[str, str]:
        for key, value in refs.items():
            if not isinstance(value, str) or not value.strip():
                self.fail(f"references.{key}", "expected the reference as text", value)
        return MappingProxyType(dict(refs))

    def morning_max_s(self, btable: Mapping[str, Any]) -> float:
        morning = self.table(btable, "bounds", "morning_routine_max_s")
        self.keys(morning, "bounds.morning_routine_max_s", ["value", "reason"])
        self.text(morning, "bounds.morning_routine_max_s", "reason")
        return self.number(
            morning["value"], "bounds.morning_routine_max_s.value", minimum=30.0, maximum=1800.0
        )

    def check_morning_routines(self, protocol: Protocol) -> None:
        morning_max = protocol.morning_routine_max_s
        for i, lv in enumerate(protocol.levels):
            seconds = protocol.morning_routine_s(lv, self.catalogue)
            if seconds > morning_max:
                self.fail(
                    f"levels[{i}]",
                    f"expected a morning routine of at most {morning_max:g} s "
                    "(bounds.morning_routine_max_s)",
                    f"{seconds:.0f} s",
                    fix="Fewer reps or shorter holds in the morning slot",
                )

    def rules(self, data: Mapping[str, Any]) -> Mapping[str, Rule]:
        rules: dict[str, Rule] = {}
        sections = sorted({name.split(".")[0] for name in RULES})
        for section in sections:
            table = self.table(data, "", section)
            names = [n.split(".")[1] for n in RULES if n.startswith(section + ".")]
            self.keys(table, section, names)
            for key in names:
                name = f"{section}.{key}"
                rules[name] = self.rule(name, self.table(table, section, key))
        self.check_rule_order(rules)
        return MappingProxyType(rules)

    def rule(self, name: str, entry: Mapping[str, Any]) -> Rule:
        self.keys(entry, name, ["value", "reason", "reference"])
        high = 1.0 if name in SHARE_RULES else 1440.0
        if name == "progression.min_quality":
            high = 100.0
        if name.startswith("pain.") or name == "outcome.mcid_mm":
            high = 100.0
        value = self.amount(entry["value"], f"{name}.value", 0.0, high, whole=RULES[name])
        reference = self.text(entry, name, "reference")
        if reference not in self.references:
            self.fail(
                f"{name}.reference",
                "expected a key of [references]",
                reference,
                fix="Known: " + ", ".join(self.references),
            )
        return Rule(name, value, self.text(entry, name, "reason"), reference)

    def check_rule_order(self, rules: Mapping[str, Rule]) -> None:
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

    def bound_pair(
        self, table: Mapping[str, Any], key: str, low: int, high: int, *, whole: bool
    ) -> tuple[int, int]:
        entry = self.table(table, "bounds", key)
        self.keys(entry, f"bounds.{key}", ["value", "reason"])
        self.text(entry, f"bounds.{key}", "reason")
        pair = self.pair(entry["value"], f"bounds.{key}.value", low, high, whole=whole)
        return cast(tuple[int, int], pair)

    def bounds(self, table: Mapping[str, Any]) -> Mapping[str, Bounds]:
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
        return MappingProxyType(
            {
                technique: self.technique_bounds(technique, self.table(table, "bounds", technique))
                for technique in PROGRAM_TECHNIQUES
            }
        )

    def technique_bounds(self, technique: str, entry: Mapping[str, Any]) -> Bounds:
        path = f"bounds.{technique}"
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
        return b

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
            reps=self.inside(table, path, "reps", b.reps, technique, whole=True),
            sets=self.inside(table, path, "sets", b.sets, technique, whole=True),
            hold_s=self.inside(table, path, "hold_s", b.hold_s, technique, whole=False),
            range_share=self.inside(
                table, path, "range_share", b.range_share, technique, whole=False
            ),
            reason=self.text(table, path, "reason"),
        )

    def inside(
        self,
        table: Mapping[str, Any],
        path: str,
        key: str,
        bound: tuple[float, float],
        technique: str,
        *,
        whole: bool,
    ) -> Any:
        """``table[key]`` inside the safe ``bound`` of ``technique`` (a level's or a
        variant's dose)."""
        value = self.amount(table[key], f"{path}.{key}", -1e9, 1e9, whole=whole)
        lo, hi = bound
        if not lo <= value <= hi:
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
        for i, table in enumerate(self.entries(value, "levels", "")):
            path = f"levels[{i}]"
            self.keys(table, path, _LEVEL_KEYS)
            number = self.integer(table["level"], f"{path}.level", minimum=0, maximum=100)
            if levels and number != levels[-1].level + 1:
                self.fail(
                    f"{path}.level",
                    f"expected {levels[-1].level + 1} (levels are numbered in order)",
                    number,
                )
            doses = self.level_doses(self.table(table, path, "exercises"), path, bounds)
            main_per_week = self.integer(
                table["main_sessions_per_week"],
                f"{path}.main_sessions_per_week",
                minimum=mains[0],
                maximum=mains[1],
            )
            has_main = any(d.slot == "main" for d in doses)
            if has_main != (main_per_week > 0):
                self.fail(
                    f"{path}.main_sessions_per_week",
                    "expected 0 exactly when the level has no exercise in the main slot",
                    main_per_week,
                )
            title = self.text(table, path, "title")
            desk_per_day = self.integer(
                table["desk_breaks_per_day"],
                f"{path}.desk_breaks_per_day",
                minimum=desk[0],
                maximum=desk[1],
            )
            reason = self.text(table, path, "reason")
            levels.append(Level(number, title, "", main_per_week, desk_per_day, doses, reason))
        return tuple(levels)

    def level_doses(
        self, exercises: Mapping[str, Any], path: str, bounds: Mapping[str, Bounds]
    ) -> tuple[ExerciseDose, ...]:
        """The doses of one level's ``exercises`` table, in :data:`PROGRAM_TECHNIQUES`
        order."""
        for name in exercises:
            if name not in PROGRAM_TECHNIQUES:
                self.fail(
                    f"{path}.exercises.{name}",
                    "unknown technique",
                    fix="The program prescribes " + ", ".join(PROGRAM_TECHNIQUES),
                )
        for required in (PELVIC_TILT, CAT_COW_SEATED):
            if required not in exercises:
                self.fail(
                    f"{path}.exercises.{required}",
                    "required at every level (the morning routine and the desk break)",
                )
        return tuple(
            self.dose(
                self.table(exercises, f"{path}.exercises", name),
                f"{path}.exercises.{name}",
                name,
                bounds,
            )
            for name in PROGRAM_TECHNIQUES
            if name in exercises
        )

    def phases(self, value: object, levels: tuple[Level, ...]) -> tuple[Phase, ...]:
        if not isinstance(value, list) or not value:
            self.fail("phases", "expected a non-empty array of [[phases]] tables", value)
        numbers = [lv.level for lv in levels]
        phases: list[Phase] = []
        seen: list[int] = []
        for i, table in enumerate(self.entries(value, "phases", "")):
            path = f"phases[{i}]"
            self.keys(table, path, ["name", "title", "levels", "reason"])
            raw = table["levels"]
            if not isinstance(raw, list) or not raw:
                self.fail(f"{path}.levels", "expected a non-empty array of level numbers", raw)
            members = tuple(
                self.integer(v, f"{path}.levels[{j}]", minimum=numbers[0], maximum=numbers[-1])
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
        tables = self.entries(value, "variants", "expected an array of [[variants]] tables")
        return tuple(
            self.variant(table, f"variants[{i}]", bounds) for i, table in enumerate(tables)
        )

    def variant(self, table: Mapping[str, Any], path: str, bounds: Mapping[str, Bounds]) -> Variant:
        self.keys(table, path, _VARIANT_KEYS)
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
        return Variant(
            name=self.text(table, path, "name"),
            technique=technique,
            title=self.text(table, path, "title"),
            faults=tuple(cast(list[str], faults)),
            min_fault_share=self.number(
                table["min_fault_share"], f"{path}.min_fault_share", minimum=0.0, maximum=1.0
            ),
            reps=self.inside(table, path, "reps", b.reps, technique, whole=True),
            sets=self.inside(table, path, "sets", b.sets, technique, whole=True),
            hold_s=self.inside(table, path, "hold_s", b.hold_s, technique, whole=False),
            range_share=self.inside(
                table, path, "range_share", b.range_share, technique, whole=False
            ),
            reason=self.text(table, path, "reason"),
        )


def _with_phases(levels: tuple[Level, ...], phases: tuple[Phase, ...]) -> tuple[Level, ...]:
    """``levels`` with the name of the phase each belongs to."""
    by_level = {p: ph.name for ph in phases for p in ph.levels}
    return tuple(
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
