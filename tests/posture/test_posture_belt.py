"""Issue 13 item 5: one belt-worn sensor or phone in any orientation, learnt up and
forward, deep bends, and walking on real lower-back recordings (mobgap).

Simulated days: ``simulate_day(..., wear=BeltWear(turn, tilt, roll), bends=True)`` with
the calibration annotations removed (real people do not record one), turned about the
vertical by 0..330° in 30° steps, tilted on the belt and rolled in the pouch, at 25 and
50 Hz, 4 hours each (a compressed day: every posture occurs; a few seconds per day).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from spinecoach.posture import posture_process
from spinecoach.posture.validation import (
    reference_walking_bouts,
    validate_posture,
    walking_agreement,
)
from spinecoach.recording import Recording, SensorData
from spinecoach.sim.activities import BeltWear
from spinecoach.sim.day import simulate_day

TURNS_DEG = tuple(range(0, 360, 30))
CLASSES = ("sitting", "standing", "lying", "walking")
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
MOBGAP = SHARED_DATA / "mobgap"
G_MPS2 = 9.80665


def belt_day(turn_deg: int) -> Recording:
    """A 4-hour day, one belt sensor turned by ``turn_deg``, tilt and roll drawn from it,
    25 Hz for even steps and 50 Hz for odd ones; without calibration annotations."""
    rng = np.random.default_rng(turn_deg)
    wear = BeltWear(
        turn_deg=float(turn_deg),
        tilt_deg=float(rng.uniform(-20.0, 20.0)),
        roll_deg=float(rng.choice([0.0, 90.0, 180.0, 270.0]) + rng.uniform(-15.0, 15.0)),
    )
    rate = 25.0 if (turn_deg // 30) % 2 == 0 else 50.0
    rec = simulate_day(1000 + turn_deg, hours=4.0, rate_hz=rate, wear=wear, bends=True)
    return replace(rec, events=())


@pytest.mark.parametrize("turn_deg", TURNS_DEG)
def test_belt_sensor_turned_any_way(turn_deg: int) -> None:
    rec = belt_day(turn_deg)
    assert tuple(rec.sensors) == ("lower",)
    result = posture_process(rec)
    report = validate_posture(result, rec.truth)
    per_class = report["per_class_accuracy"]
    assert isinstance(per_class, dict)
    right = all(per_class[c] >= 0.95 for c in CLASSES)
    # No day marked trusted while its labels are wrong.
    assert right or not result.trust.trusted, report
    assert result.trust.calibration == "learnt"
    assert result.trust.trusted, result.trust.messages
    assert right, report
    assert "lying" not in {result.labels[int(i)] for i in _bent_seconds(rec)}


def _bent_seconds(rec: Recording) -> np.ndarray:
    assert rec.truth is not None
    seconds = [
        np.arange(np.ceil(e.start_s) + 1, np.floor(e.end_s) - 1)
        for e in rec.truth.events
        if e.kind == "activity" and e.label == "bending"
    ]
    return np.concatenate(seconds).astype(int) if seconds else np.empty(0, int)


def test_deep_bends_are_bending_never_lying_or_sitting() -> None:
    rec = belt_day(90)
    result = posture_process(rec)
    bent = _bent_seconds(rec)
    assert bent.size > 40
    labels = [result.labels[int(i)] for i in bent]
    assert labels.count("bending") >= 0.9 * len(labels)
    assert not {"lying", "sitting-upright", "sitting-slouched"} & set(labels)


def test_accelerometer_only_phone_is_learnt_too() -> None:
    wear = BeltWear(turn_deg=120.0, roll_deg=90.0, gyroscope=False)
    rec = replace(simulate_day(31, hours=3.0, rate_hz=50.0, wear=wear), events=())
    assert not rec.sensors["lower"].has_gyroscope
    result = posture_process(rec)
    assert result.trust.trusted, result.trust.messages
    assert validate_posture(result, rec.truth)["posture_accuracy"] >= 0.95


# --- mobgap: real lower-back walks -------------------------------------------------------


def _trials() -> list[Path]:
    if not MOBGAP.is_dir():
        pytest.skip(f"real recordings not found at {MOBGAP} (../shared/data/mobgap)")
    return sorted(p for p in MOBGAP.iterdir() if (p / "imu.csv").is_file())


def _read(trial: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[float, float]]]:
    data = np.genfromtxt(trial / "imu.csv", delimiter=",", names=True)
    acc = np.column_stack([data[f"acc_{a}_g"] for a in "xyz"]) * G_MPS2
    gyr = np.column_stack([data[f"gyr_{a}_dps"] for a in "xyz"])
    reference = reference_walking_bouts(trial / "labels.csv")
    return np.asarray(data["time_s"]), acc, gyr, reference


#: Turned about the vertical (the sensor's x is vertical): 90° (y→z), 180°, and
#: upside down in its own plane (x and y negated).
AXES = {
    "as worn": np.eye(3),
    "turned 90°": np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]]),
    "turned 180°": np.diag([1.0, -1.0, -1.0]),
    "upside down": np.diag([-1.0, -1.0, 1.0]),
}


def mobgap_agreement(axes: np.ndarray, rate_hz: float) -> dict[str, tuple[int, int]]:
    """Per trial: (seconds agreeing on walking or not, seconds compared)."""
    out: dict[str, tuple[int, int]] = {}
    for trial in _trials():
        t, acc, gyr, reference = _read(trial)
        step = round(100.0 / rate_hz)
        sensor = SensorData.from_arrays(
            "lower", t[::step], acc[::step] @ axes.T, gyr[::step] @ axes.T, rate_hz=rate_hz
        )
        result = posture_process(Recording.create({"lower": sensor}))
        out[trial.name] = walking_agreement(result, reference)
    return out


@pytest.mark.parametrize("rate_hz", [100.0, 50.0, 25.0])
@pytest.mark.parametrize("name", list(AXES))
def test_mobgap_walking_agreement(name: str, rate_hz: float) -> None:
    per_trial = mobgap_agreement(AXES[name], rate_hz)
    agree = sum(a for a, _ in per_trial.values())
    total = sum(n for _, n in per_trial.values())
    assert total > 500
    report = {k: round(a / n, 3) for k, (a, n) in per_trial.items()}
    # The gate is on the recordings as they are (100 Hz); resampled to 50 and
    # 25 Hz (extra checks, not the issue's) the agreement must hold what is reached.
    gate = GATE_MOBGAP_NATIVE if rate_hz == 100.0 else GATE_MOBGAP
    assert agree / total >= gate, (agree / total, report)


#: Issue 13 asks for 0.90. Measured (docs/posture.md): 0.906 at 100 Hz, 0.894 at 50 Hz,
#: 0.902 at 25 Hz, in every orientation. The gate holds what is reached, so a regression fails;
#: the 50 Hz shortfall is reported, not hidden.
GATE_MOBGAP = 0.89
GATE_MOBGAP_NATIVE = 0.90


def test_bending_minutes_are_stored_with_the_transitions() -> None:
    """The store has no bending column: its seconds go with the transitions, and a
    minute with bending saves instead of being refused as an unknown class."""
    from datetime import UTC, datetime

    from spinecoach.posture.model import MinuteSummary
    from spinecoach.store.posture import rows_from_analysis

    minute = MinuteSummary(
        0.0, {"bending": 20, "transition": 3, "standing": 37}, 0, 0, 0, 0, True, 1
    )
    rows, _ = rows_from_analysis([minute], [], datetime(2026, 1, 1, tzinfo=UTC))
    assert rows[0].seconds == {"transition": 23.0, "standing": 37.0}


@pytest.mark.parametrize("name", list(AXES))
def test_mobgap_forward_is_learnt_from_real_walking(name: str) -> None:
    """On the real daily-living trials (Test11: walks, turns, sitting) forward is learnt,
    whichever way the sensor is turned, and it is the sensor's +z: the direction the
    Mobilise-D lower-back frame calls anterior, which the sitting tilts confirm (see
    docs/posture.md)."""
    from spinecoach.posture import PostureTracker

    matrix = AXES[name]
    for trial in (t for t in _trials() if "Test11" in t.name):
        t, acc, gyr, _ = _read(trial)
        tracker = PostureTracker(("lower",))
        tracker.update("lower", t, acc @ matrix.T, gyr @ matrix.T)
        tracker.finish()
        assert tracker.trust().calibration == "learnt"
        assert tracker.trust().trusted, (trial.name, tracker.trust().messages)
        forward = tracker.alignment_axes["lower"][0]
        expected = matrix @ np.array([0.0, 0.0, 1.0])
        assert float(forward @ expected) > 0.7, (trial.name, forward)


def test_face_down_is_bending_while_brief_and_lying_once_it_lasts() -> None:
    """A supine bout mirrored front to back is lying face down (≈90° forward): its
    first prone_confirm_s seconds read as a deep stoop, the rest as lying."""
    from spinecoach.sim import SensorErrorModel
    from spinecoach.sim.activities import simulate_activities

    schedule = [
        ("standing", 60.0),
        ("walking", 120.0),
        ("sitting-upright", 300.0),
        ("standing", 60.0),
        ("bending", 120.0),
        ("lying-supine", 300.0),
        ("walking", 60.0),
    ]
    rec = simulate_activities(
        schedule, seed=3, rate_hz=25.0, sensor_errors=SensorErrorModel.ideal(), wear=BeltWear()
    )
    assert rec.truth is not None
    lying = next(e for e in rec.truth.events if e.label == "lying-supine")
    sensor = rec.sensors["lower"]
    inside = (sensor.time_s >= lying.start_s) & (sensor.time_s < lying.end_s)
    acc = sensor.acc_mps2.copy()
    acc[inside, 2] *= -1.0  # the sensor's z is the body's fore-aft axis at the back
    prone = SensorData.from_arrays(
        "lower", sensor.time_s, acc, sensor.gyr_dps, rate_hz=sensor.rate_hz
    )
    result = posture_process(replace(rec, sensors={"lower": prone}, events=()))
    assert result.trust.trusted, result.trust.messages
    first = int(np.ceil(lying.start_s)) + 3
    labels = result.labels
    assert set(labels[first : first + 50]) == {"bending"}
    assert set(labels[first + 70 : int(lying.end_s) - 3]) == {"lying"}
