"""Declared posture calibration (issue 13 item 1): ``posture --calibration
auto|protocol|neutral-only|none`` and ``--neutral START:END``, in the Python API and the
CLI. A declaration the wear contradicts is never trusted."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spinecoach.cli import app
from spinecoach.errors import CalibrationError, ConfigurationError
from spinecoach.io import write_recording
from spinecoach.posture import posture_process
from spinecoach.posture.validation import validate_posture
from spinecoach.recording import Recording
from spinecoach.sim.activities import BeltWear
from spinecoach.sim.day import simulate_day

CLASSES = ("lying", "sitting", "standing", "walking")
runner = CliRunner()


@cache
def _day(turn_deg: float) -> Recording:
    """A 3-hour day at 25 Hz, one belt sensor worn as documented or turned about the
    vertical by ``turn_deg``, without calibration annotations."""
    wear = BeltWear(turn_deg=float(turn_deg))
    return replace(simulate_day(77, hours=3.0, rate_hz=25.0, wear=wear, bends=True), events=())


def _standing_window(rec: Recording) -> tuple[float, float]:
    """Ten seconds inside the first standing bout of at least 20 s (the truth's)."""
    assert rec.truth is not None
    bout = next(
        e
        for e in rec.truth.events
        if e.kind == "activity" and e.label == "standing" and e.end_s - e.start_s > 20.0
    )
    return (round(bout.start_s + 3.0, 1), round(bout.start_s + 13.0, 1))


def _right(result: object, rec: Recording) -> bool:
    report = validate_posture(result, rec.truth)  # type: ignore[arg-type]
    per_class = report["per_class_accuracy"]
    assert isinstance(per_class, dict)
    return all(per_class[c] >= 0.95 for c in CLASSES)


def test_neutral_only_on_a_sensor_worn_as_documented_is_right_and_trusted() -> None:
    rec = _day(0.0)
    result = posture_process(rec, calibration="neutral-only", neutral_s=_standing_window(rec))
    assert result.trust.calibration == "declared"
    assert result.trust.trusted, result.trust.messages
    assert _right(result, rec)
    assert any("neutral window" in m for m in result.trust.messages)


def test_a_declared_neutral_with_auto_keeps_the_learnt_forward() -> None:
    rec = _day(90.0)
    result = posture_process(rec, neutral_s=_standing_window(rec))
    assert result.trust.calibration == "learnt"
    assert result.trust.trusted, result.trust.messages
    assert _right(result, rec)


@pytest.mark.parametrize("calibration", ["neutral-only", "none"])
def test_a_declared_mounting_the_wear_contradicts_is_not_trusted(calibration: str) -> None:
    """Turned 90° about the vertical, the documented forward is the person's side: the
    labels are wrong, and the day says so instead of being trusted."""
    rec = _day(90.0)
    window = _standing_window(rec) if calibration == "neutral-only" else None
    result = posture_process(rec, calibration=calibration, neutral_s=window)
    assert not _right(result, rec)
    assert not result.trust.trusted
    assert any("not worn as declared" in m for m in result.trust.messages), result.trust.messages


def test_none_on_a_tilted_sacrum_is_not_trusted() -> None:
    """The sacrum sensor sits tilted on the body: the documented mounting's up is off the
    walking upright, so standing reads as a lean; said, not trusted."""
    rec = _day(0.0)
    result = posture_process(rec, calibration="none")
    assert result.trust.calibration == "declared"
    assert not _right(result, rec)
    assert not result.trust.trusted
    assert any("declared up is" in m for m in result.trust.messages), result.trust.messages


def test_declarations_are_checked() -> None:
    rec = _day(0.0)
    with pytest.raises(ConfigurationError, match="needs a neutral window"):
        posture_process(rec, calibration="neutral-only")
    with pytest.raises(ConfigurationError, match="takes no neutral window"):
        posture_process(rec, calibration="none", neutral_s=(1.0, 2.0))
    with pytest.raises(ConfigurationError, match="is not a method"):
        posture_process(rec, calibration="magic")
    with pytest.raises(ConfigurationError, match="before end"):
        posture_process(rec, neutral_s=(5.0, 2.0))
    with pytest.raises(CalibrationError, match="holds no lower sensor data"):
        posture_process(rec, calibration="neutral-only", neutral_s=(99_000.0, 99_010.0))


@pytest.fixture(scope="module")
def day_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[float, float]]:
    rec = _day(0.0)
    path = tmp_path_factory.mktemp("declared") / "belt.screc"
    return write_recording(rec, path), _standing_window(rec)


def test_cli_posture_neutral_only(day_file: tuple[Path, tuple[float, float]]) -> None:
    path, (a, b) = day_file
    result = runner.invoke(
        app,
        ["posture", str(path), "--calibration", "neutral-only", "--neutral", f"{a}:{b}", "--json"],
    )
    assert result.exit_code == 0, result.output
    trust = json.loads(result.output)["trust"]
    assert trust["calibration"] == "declared" and trust["trusted"], trust


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--calibration", "neutral-only"), "needs a neutral window"),
        (("--calibration", "none", "--neutral", "1:2"), "takes no --neutral"),
        (("--neutral", "2:1"), "START must be at least 0 and before END"),
        (("--calibration", "magic"), "is not a method"),
    ],
)
def test_cli_posture_bad_declarations_name_the_fix(
    day_file: tuple[Path, tuple[float, float]], args: tuple[str, ...], message: str
) -> None:
    path, _ = day_file
    result = runner.invoke(app, ["posture", str(path), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
