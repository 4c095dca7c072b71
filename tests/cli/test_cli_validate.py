"""``spinecoach validate``'s subcommands (issue 14): each says what it compares, and the old
flag form is refused with the command to type instead."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import spinecoach.cli.validate
from spinecoach.cli import app

runner = CliRunner()
SUBCOMMANDS = ("angles", "exercise", "posture", "camera")


def test_validate_help_lists_each_subcommand_with_an_example() -> None:
    result = runner.invoke(app, ["validate", "--help"])
    assert result.exit_code == 0
    for name in SUBCOMMANDS:
        assert f"Example: spinecoach validate {name} " in result.output, name
        # The commands panel: the name and the start of what it compares (lines wrap).
        does = " ".join(spinecoach.cli.validate.SUBCOMMANDS[name].split()[:3])
        assert re.search(rf"\b{name}\s+Compare {does}", result.output), name


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_help_with_its_example(name: str) -> None:
    result = runner.invoke(app, ["validate", name, "--help"])
    assert result.exit_code == 0
    assert f"Example: spinecoach validate {name} " in result.output


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (["x.screc", "--posture"], "spinecoach validate posture x.screc"),
        (["x.screc", "--posture", "--json"], "spinecoach validate posture x.screc --json"),
        (
            ["x.screc", "--exercise", "hip-hinge", "--json"],
            "spinecoach validate exercise hip-hinge x.screc --json",
        ),
        (
            ["x.screc", "--exercise=hip-hinge", "--calibration", "none"],
            "spinecoach validate exercise hip-hinge x.screc --calibration none",
        ),
        (
            ["x.screc", "--reference", "m.csv"],
            "spinecoach validate angles x.screc --reference m.csv",
        ),
        (
            ["bp.json", "--format", "keraal-blazepose", "--reference", "v.txt"],
            "spinecoach validate camera bp.json --format keraal-blazepose --reference v.txt",
        ),
        # --calibration was accepted and ignored by the old --posture: not carried over.
        (
            ["day.screc", "--posture", "--calibration", "auto"],
            "spinecoach validate posture day.screc",
        ),
    ],
)
def test_the_old_flag_form_names_the_command_to_type(old: list[str], new: str) -> None:
    result = runner.invoke(app, ["validate", *old])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert f"use `{new}`" in text
    assert "takes a subcommand now (angles, exercise, posture or camera" in text


def test_the_old_flag_form_with_two_comparisons_names_both() -> None:
    result = runner.invoke(
        app, ["validate", "day.screc", "--posture", "--format", "keraal-blazepose"]
    )
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "--posture and --format keraal-blazepose ask for different comparisons" in text
    assert "`spinecoach validate posture …` or `spinecoach validate camera …`" in text


def test_the_suggested_command_runs(tmp_path: Path) -> None:
    """What the old-form message says to type is a command line the new form takes."""
    from spinecoach.io import write_recording
    from spinecoach.sim import simulate

    rec = write_recording(simulate("pelvic-tilt", seed=3, reps=2), tmp_path / "pt.screc")
    old = runner.invoke(app, ["validate", str(rec), "--json"])
    assert old.exit_code == 2
    suggested = " ".join(old.output.split()).split("use `spinecoach ")[1].split("`")[0]
    new = runner.invoke(app, suggested.split())
    assert new.exit_code == 0, new.output
    assert '"lumbar_flexion_deg"' in new.stdout


def test_validate_camera_takes_only_a_landmark_format(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["validate", "camera", str(tmp_path / "x.csv"), "--format", "csv", "--reference", "r"]
    )
    assert result.exit_code == 2
    assert "--format csv is not a pose-landmark format" in result.output
    assert "keraal-blazepose" in result.output


def test_docstring_examples() -> None:
    result = doctest.testmod(spinecoach.cli.validate, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
