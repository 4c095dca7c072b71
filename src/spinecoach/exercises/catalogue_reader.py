"""Builds a :class:`~spinecoach.exercises.catalogue.Catalogue` from the parsed TOML of a
catalogue file, naming every field it rejects.

The generic checks (keys, tables, texts, numbers, choices) are the shared
:class:`~spinecoach.exercises.datafile.DataFileReader`'s, also used for the program
file; what is particular to the catalogue (the techniques, their faults and cues, the
target band against the fault thresholds) is here.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, cast

from spinecoach.conventions import (
    ANGLE_COLUMNS,
    FLEXION_EXTENSION,
    POSITION_NOMINAL_INCLINATION_DEG,
    TECHNIQUES,
)
from spinecoach.exercises.datafile import CATALOGUE_FILE, DataFileReader, join, suggest
from spinecoach.exercises.position import POSITIONS
from spinecoach.exercises.technique import (
    BREATHING_PATTERNS,
    CATALOGUE_VERSION,
    COMPARISONS,
    CUE_PLACEHOLDERS,
    DEFAULT_CUE_MIN_INTERVAL_S,
    MAX_CUE_CHARS,
    MAX_DURATION_S,
    MAX_INSTRUCTION_CHARS,
    MEASURES,
    REQUIRED_CUES,
    TECHNIQUE_CUES,
    UNITS,
    Breathing,
    BreathingPattern,
    Catalogue,
    Comparison,
    Dose,
    FaultRule,
    TargetBand,
    Technique,
)
from spinecoach.exercises.vocabulary import TECHNIQUE_FAULTS


class CatalogueReader(DataFileReader):
    """Builds a :class:`Catalogue` from the parsed TOML of the file ``source``."""

    def __init__(self, source: str) -> None:
        super().__init__(source, CATALOGUE_FILE)

    def seconds(
        self, table: Mapping[str, Any], path: str, key: str, *, zero_ok: bool = True
    ) -> float:
        return self.number_at(
            table,
            path,
            key,
            minimum=0.0,
            maximum=MAX_DURATION_S,
            above=not zero_ok,
            what="a duration in seconds",
        )

    def degrees(self, table: Mapping[str, Any], path: str, key: str) -> float:
        return self.number_at(
            table,
            path,
            key,
            minimum=0.0,
            maximum=180.0,
            above=True,
            what="an angle in degrees",
        )

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
        self.keys(
            data, "", ["catalogue_version", "techniques", "positions"], ["cue_min_interval_s"]
        )
        interval = DEFAULT_CUE_MIN_INTERVAL_S
        if "cue_min_interval_s" in data:
            interval = self.cue_interval(data, "")
        techniques = self.table(data, "", "techniques")
        for name in techniques:
            if name not in TECHNIQUES:
                self.fail(
                    f"techniques.{name}",
                    "unknown technique",
                    fix=f"{suggest(name, TECHNIQUES)}Techniques: {', '.join(TECHNIQUES)}",
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
            position_names=self.position_names(self.table(data, "", "positions")),
        )

    def position_names(self, table: Mapping[str, Any]) -> Mapping[str, str]:
        """The ``[positions]`` table: every start position (and, optionally, the others
        the coach recognises) in plain words."""
        starts = list(POSITION_NOMINAL_INCLINATION_DEG)
        self.keys(table, "positions", starts, [p for p in POSITIONS if p not in starts])
        return MappingProxyType(
            {key: self.text(table, "positions", key, max_chars=40) for key in table}
        )

    def cue_interval(self, table: Mapping[str, Any], path: str) -> float:
        return self.number_at(
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
            ["cue_min_interval_s", "positions", "in_position"],
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
        texts = self.position_texts(table, path, others)
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
            position_texts=texts,
        )

    def position_texts(
        self, table: Mapping[str, Any], path: str, others: tuple[str, ...]
    ) -> dict[str, tuple[str, tuple[str, ...]]]:
        """``in_position``: for each further start position, its own ``start_position``
        and ``instructions`` (optional; a position without them reads the usual ones)."""
        if "in_position" not in table:
            return {}
        field = f"{path}.in_position"
        value = table["in_position"]
        if not isinstance(value, dict):
            self.fail(field, "expected a table of positions (e.g. [in_position.seated])", value)
        out: dict[str, tuple[str, tuple[str, ...]]] = {}
        for position, entry in cast(dict[str, Any], value).items():
            where = f"{field}.{position}"
            if position not in others:
                self.fail(
                    where,
                    f"expected one of the further positions ({', '.join(others) or 'none'}) "
                    "listed in positions",
                    position,
                )
            if not isinstance(entry, dict):
                self.fail(where, "expected a table with start_position and instructions", entry)
            self.keys(entry, where, ["start_position", "instructions"], [])
            out[position] = (
                self.text(entry, where, "start_position"),
                self.instructions(entry["instructions"], f"{where}.instructions"),
            )
        return out

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
            reps=self.integer(table["reps"], join(path, "reps"), minimum=1, maximum=100),
            sets=self.integer(table["sets"], join(path, "sets"), minimum=1, maximum=20),
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
            share_of_range=self.number_at(
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
            inhale_s=self.number_at(
                table,
                path,
                "inhale_s",
                minimum=0.0,
                maximum=30.0,
                above=True,
                what="a duration in seconds",
            ),
            exhale_s=self.number_at(
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
            table,
            path,
            ["name", "label", "measure", "comparison", "threshold", "unit", "reason", "cue"],
        )
        fault_name = table["name"]
        if not isinstance(fault_name, str) or fault_name not in expected_names:
            hint = suggest(fault_name, expected_names) if isinstance(fault_name, str) else ""
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
            threshold=self.number_at(
                table,
                path,
                "threshold",
                minimum=0.0,
                maximum=1e6,
                what="a number",
            ),
            unit=unit,
            reason=self.text(table, path, "reason", max_chars=160),
            cue=self.cue_text(table["cue"], f"{path}.cue"),
            label=self.text(table, path, "label", max_chars=40),
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
                    join(path, key),
                    "expected a cue key in lower case with underscores (like get_ready)",
                )
        for key in needed:
            if key not in table:
                close = difflib.get_close_matches(key, [k for k in table if k not in needed], 1)
                typo = f"Is {close[0]!r} a misspelling of it? " if close else ""
                self.fail(
                    join(path, key),
                    "required cue is missing",
                    fix=f"{typo}This technique needs: {', '.join(needed)}",
                )
        return MappingProxyType(
            {key: self.cue_text(value, join(path, key)) for key, value in table.items()}
        )
