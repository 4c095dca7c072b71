"""Calibrations kept between sessions (issue 15 item 6): the neutral check's verdicts on
analytic gravity directions, the kept calibration's JSON, and the store service's key
(person, source, placements, devices)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError
from spinecoach.motion.calibration import SegmentCalibration
from spinecoach.motion.calibration_store import (
    MAX_OFF_AXIS_DEG,
    KeptSensor,
    PersonalCalibration,
    calibrations_from_check,
    neutral_check,
)
from spinecoach.services.calibration import CalibrationKey, load_calibration, save_calibration
from spinecoach.store import db
from spinecoach.store.repository import create_person

# Nominal mounting: rows X (anterior), Y (superior), Z (right) in sensor axes.
AXES = np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def _kept(position: str = "standing", *, device: str = "imu-1") -> PersonalCalibration:
    return PersonalCalibration(
        position,
        {"lower": KeptSensor("lower", device, AXES), "upper": KeptSensor("upper", device, AXES)},
        {"pelvic-tilt": 11.0},
    )


def _ups(direction: list[float], n: int = 50) -> np.ndarray:
    v = np.asarray(direction, dtype=np.float64)
    return np.tile(v / np.linalg.norm(v), (n, 1))


def _tilted(axis: np.ndarray, angle_deg: float, up: np.ndarray) -> np.ndarray:
    """``up`` turned by ``angle_deg`` about ``axis`` (Rodrigues)."""
    k = axis / np.linalg.norm(axis)
    a = np.radians(angle_deg)
    return up * np.cos(a) + np.cross(k, up) * np.sin(a) + k * (k @ up) * (1 - np.cos(a))


def test_the_same_sensors_pass_in_the_kept_position_and_in_another() -> None:
    up_standing = AXES[1]
    result = neutral_check(
        _kept(), {"lower": _ups(up_standing), "upper": _ups(up_standing)}, position="standing"
    )
    assert result.passed and result.reason == ""
    # Lying on the back: earth-up is the segment's anterior axis X; the flexion axis Z
    # stays horizontal, so it passes; the inclination is the positions' change (−90°).
    up_supine = AXES[0]
    result = neutral_check(
        _kept(), {"lower": _ups(up_supine), "upper": _ups(up_supine)}, position="supine"
    )
    assert result.passed
    assert result.sensors[0].sagittal_deg == pytest.approx(-90.0, abs=1e-6)
    assert result.sensors[0].expected_sagittal_deg == -90.0


def test_a_sensor_turned_on_the_skin_fails_with_the_reason() -> None:
    up = AXES[1]
    turned = _tilted(AXES[0], MAX_OFF_AXIS_DEG + 4.0, up)  # about the skin's normal
    result = neutral_check(_kept(), {"lower": _ups(turned), "upper": _ups(up)}, position="standing")
    assert not result.passed
    assert "the lower sensor turned on the skin: tilted 9° off its flexion axis" in result.reason
    small = _tilted(AXES[0], MAX_OFF_AXIS_DEG - 2.0, up)
    assert neutral_check(
        _kept(), {"lower": _ups(small), "upper": _ups(up)}, position="seated"
    ).passed


def test_other_sensors_devices_flips_and_movement_fail() -> None:
    up = AXES[1]
    only_lower = neutral_check(_kept(), {"lower": _ups(up)}, position="standing")
    assert "the sensors worn now (lower) are not the ones calibrated (lower, upper)" in (
        only_lower.reason
    )
    other = neutral_check(
        _kept(),
        {"lower": _ups(up), "upper": _ups(up)},
        position="standing",
        devices={"lower": "imu-9", "upper": "unknown"},
    )
    assert other.reason == "the lower sensor is another device (imu-9, was imu-1)"
    flipped = neutral_check(_kept(), {"lower": _ups(-up), "upper": _ups(up)}, position="standing")
    assert "inclined 180° from what the position predicts" in flipped.reason
    moving = np.vstack([_ups(up, 25), _ups(_tilted(AXES[2], 20.0, up), 25)])
    result = neutral_check(_kept(), {"lower": moving, "upper": _ups(up)}, position="standing")
    assert "moved during the check" in result.reason
    with pytest.raises(ConfigurationError, match="unknown position 'sofa'"):
        neutral_check(_kept(), {"lower": _ups(up)}, position="sofa")


def test_the_calibration_from_a_check_takes_todays_neutral_and_the_kept_axis() -> None:
    up = _tilted(AXES[2], 7.0, AXES[1])  # leaning 7° today: a sagittal change only
    ups = {"lower": _ups(up), "upper": _ups(up)}
    cals = calibrations_from_check(_kept(), ups, {}, nominal_inclination_deg=0.0, ready_time_s=6.0)
    lower = cals["lower"]
    assert isinstance(lower, SegmentCalibration) and lower.method == "stored"
    np.testing.assert_allclose(lower.axes[1], up, atol=1e-12)  # neutral afresh
    np.testing.assert_allclose(lower.axes[2], AXES[2], atol=1e-12)  # the kept flexion axis
    assert lower.device == "imu-1" and lower.ready_time_s == 6.0


def test_json_round_trip_and_its_errors() -> None:
    kept = _kept("supine")
    back = PersonalCalibration.from_json(kept.to_json(), calibrated_utc="2026-12-01T08:00:00")
    assert back.position == "supine" and back.ranges_deg == {"pelvic-tilt": 11.0}
    np.testing.assert_allclose(back.sensors["upper"].axes, AXES)
    assert back.calibrated_utc == "2026-12-01T08:00:00"
    with pytest.raises(ConfigurationError, match="not a kept spinecoach calibration"):
        PersonalCalibration.from_json({"sensors": {}})
    bad = kept.to_json()
    bad["sensors"]["lower"]["axes_in_sensor_frame"] = [[1.0, 0.0]]
    with pytest.raises(ConfigurationError, match="the lower sensor's axes must be a 3 × 3"):
        PersonalCalibration.from_json(bad)
    with pytest.raises(ConfigurationError, match="not calibrated"):
        PersonalCalibration.from_segments("standing", {"lower": None})


def test_the_store_keeps_the_latest_per_person_source_placements_and_devices(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'kept.sqlite3'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        with Session(engine) as s:
            ann, bob = create_person(s, "ann").id, create_person(s, "bob").id
        devices = {"lower": "imu-1", "upper": "imu-2"}
        key = CalibrationKey("devices", ("upper", "lower"), devices)
        assert key.placements_text == "lower,upper"
        assert key.device_key == "lower=imu-1;upper=imu-2"
        save_calibration(engine, ann, key, _kept("supine"))
        save_calibration(engine, ann, key, _kept("seated"))
        latest = load_calibration(engine, ann, key)
        assert latest is not None and latest.position == "seated"
        assert latest.calibrated_utc is not None
        assert load_calibration(engine, bob, key) is None  # another person
        assert load_calibration(engine, ann, CalibrationKey("sim", ("lower", "upper"))) is None
        swapped = CalibrationKey(
            "devices", ("lower", "upper"), {"lower": "imu-3", "upper": "imu-2"}
        )
        assert load_calibration(engine, ann, swapped) is None  # another device
        with pytest.raises(ConfigurationError, match="but the key names lower;"):
            save_calibration(engine, ann, CalibrationKey("sim", ("lower",)), _kept())
        with pytest.raises(ConfigurationError, match="placements must name lower and/or upper"):
            CalibrationKey("sim", ("middle",))
    finally:
        engine.dispose()
