"""The protocol file: the packaged one loads and is consistent with the catalogue, every
level lies inside the safe bounds, and a mistake names the field."""

from __future__ import annotations

import copy
import doctest
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import spinecoach.program.engine as engine_module
import spinecoach.program.model as model_module
import spinecoach.program.painmodel as painmodel_module
import spinecoach.program.protocol as protocol_module
import spinecoach.program.recommend as recommend_module
import spinecoach.program.simulate as simulate_module
from spinecoach.errors import CatalogueError
from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.program.protocol import (
    PROGRAM_TECHNIQUES,
    default_protocol,
    load_protocol,
    parse_protocol,
)


def _data() -> dict[str, Any]:
    text = resources.files("spinecoach").joinpath("data", "program.toml").read_text("utf-8")
    return tomllib.loads(text)


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(CatalogueError) as info:
        parse_protocol(data, "program.toml")
    return str(info.value)


def test_packaged_protocol_has_six_weeks_of_levels_in_phases() -> None:
    p = default_protocol()
    assert p.weeks == 6
    assert [lv.level for lv in p.levels] == list(range(0, 7))
    assert p.start_level == 1
    assert {ph.name for ph in p.phases} == {"settle", "build", "consolidate"}
    assert p.level(3).phase == "build"
    # the four techniques of the issue are all in the full program
    assert {d.technique for d in p.level(p.top_level).exercises} == set(PROGRAM_TECHNIQUES)


def test_every_rule_has_a_reason_and_a_known_reference() -> None:
    p = default_protocol()
    for rule in p.rules.values():
        assert rule.reason
        assert rule.reference in p.references
    assert p.value("outcome.mcid_mm") == 15.0
    assert p.value("outcome.mcid_pct") == 30.0
    assert "Silbernagel" in p.references[p.rule("pain.amber_max_rise_mm").reference]
    assert "Ostelo" in p.references[p.rule("outcome.mcid_mm").reference]


def test_levels_grow_monotonically_and_stay_inside_the_bounds() -> None:
    p = default_protocol()
    for lower, upper in zip(p.levels, p.levels[1:], strict=False):
        assert upper.desk_breaks_per_day >= lower.desk_breaks_per_day
        assert upper.main_sessions_per_week >= lower.main_sessions_per_week
        for dose in lower.exercises:
            up = upper.exercise(dose.technique)
            assert up.reps * up.sets >= dose.reps * dose.sets
            assert up.hold_s >= dose.hold_s
            assert up.range_share >= dose.range_share
    for lv in p.levels:
        for dose in lv.exercises:
            b = p.bounds[dose.technique]
            assert b.reps[0] <= dose.reps <= b.reps[1]
            assert b.sets[0] <= dose.sets <= b.sets[1]
            assert b.hold_s[0] <= dose.hold_s <= b.hold_s[1]
            assert b.range_share[0] <= dose.range_share <= b.range_share[1]
        assert p.morning_routine_s(lv) <= p.morning_routine_max_s


def test_the_morning_routine_is_about_five_minutes_at_most() -> None:
    p = default_protocol()
    longest = max(p.morning_routine_s(lv) for lv in p.levels)
    assert 240.0 <= longest <= 420.0


def test_safe_bounds_contain_the_catalogue_dose() -> None:
    p = default_protocol()
    cat = default_catalogue()
    for technique in PROGRAM_TECHNIQUES:
        dose = cat.technique(technique).dose
        b = p.bounds[technique]
        assert b.reps[0] <= dose.reps <= b.reps[1]
        assert b.hold_s[0] <= dose.hold_s <= b.hold_s[1]


def test_a_level_outside_the_bounds_names_the_field() -> None:
    data = _data()
    data["levels"][2]["exercises"]["hip-hinge"]["reps"] = 40
    message = _error(data)
    assert "program.toml: levels[2].exercises.hip-hinge.reps" in message
    assert "safe bounds [4, 12] (bounds.hip-hinge.reps)" in message
    assert "found 40" in message


def test_bounds_that_exclude_the_catalogue_dose_are_refused() -> None:
    data = _data()
    data["bounds"]["flexion-extension"]["hold_s"] = [6.0, 10.0]
    message = _error(data)
    assert "bounds.flexion-extension.hold_s" in message
    assert "contain the catalogue's hold_s 5" in message


@pytest.mark.parametrize(
    ("edit", "field", "expected"),
    [
        (lambda d: d.pop("weeks"), "weeks", "required key is missing"),
        (lambda d: d.update(program_version=2), "program_version", "expected 1"),
        (
            lambda d: d["pain"]["amber_max_rise_mm"].update(value=40.0),
            "pain.amber_max_rise_mm.value",
            "green_max_rise_mm < amber_max_rise_mm < jump_mm",
        ),
        (
            lambda d: d["pain"]["jump_mm"].update(reference="nobody2020"),
            "pain.jump_mm.reference",
            "expected a key of [references]",
        ),
        (
            lambda d: d["outcome"]["mcid_mm"].pop("reason"),
            "outcome.mcid_mm.reason",
            "required key is missing",
        ),
        (
            lambda d: d["adherence"]["progress_min_share"].update(value=1.5),
            "adherence.progress_min_share.value",
            "from 0 to 1",
        ),
        (
            lambda d: d["levels"][1]["exercises"]["pelvic-tilt"].update(slot="evening"),
            "levels[1].exercises.pelvic-tilt.slot",
            "expected one of morning, main, desk-break",
        ),
        (
            lambda d: d["levels"][3].update(level=7),
            "levels[3].level",
            "expected 3",
        ),
        (
            lambda d: d["levels"][0].update(main_sessions_per_week=3),
            "levels[0].main_sessions_per_week",
            "no exercise in the main slot",
        ),
        (
            lambda d: d["variants"][0].update(faults=["rounding"]),
            "variants[0].faults[0]",
            "expected a fault of hip-hinge",
        ),
        (
            lambda d: d["phases"][0].update(levels=[0, 1]),
            "phases",
            "every level in exactly one phase",
        ),
        (
            lambda d: d["levels"][6]["exercises"]["pelvic-tilt"].update(reps=15, hold_s=10.0),
            "levels[6]",
            "morning routine of at most 420 s",
        ),
        (lambda d: d["bounds"].update(spine={}), "bounds.spine", "unknown key"),
        (lambda d: d["pain"].update(extra={}), "pain.extra", "unknown key"),
    ],
)
def test_mistakes_name_the_field(edit: Any, field: str, expected: str) -> None:
    data = copy.deepcopy(_data())
    edit(data)
    message = _error(data)
    assert f"program.toml: {field}: " in message
    assert expected in message


def test_load_protocol_reads_a_file_and_reports_bad_toml(tmp_path: Path) -> None:
    good = tmp_path / "program.toml"
    good.write_text(
        resources.files("spinecoach").joinpath("data", "program.toml").read_text("utf-8"),
        encoding="utf-8",
    )
    assert load_protocol(good).weeks == 6
    bad = tmp_path / "bad.toml"
    bad.write_text("weeks = = 6\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"bad\.toml: invalid TOML"):
        load_protocol(bad)
    with pytest.raises(CatalogueError, match="cannot read the program file"):
        load_protocol(tmp_path / "missing.toml")


def test_default_protocol_is_cached() -> None:
    assert default_protocol() is default_protocol()


@pytest.mark.parametrize(
    "module",
    [
        protocol_module,
        model_module,
        engine_module,
        recommend_module,
        painmodel_module,
        simulate_module,
    ],
)
def test_docstring_examples_run(module: Any) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
