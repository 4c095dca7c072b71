"""Simulated everyday wear: schedule, postures, transitions, walking, arguments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spinecoach.conventions import (
    EVENT_ACTIVITY,
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_SETUP,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    POSTURES,
    TRUNK_INCLINATION,
)
from spinecoach.errors import ConfigurationError
from spinecoach.recording import Event, Recording
from spinecoach.sim import SensorErrorModel, simulate_activities

DAY = [
    ("standing", 30.0),
    ("sitting-upright", 90.0),
    ("sitting-slouched", 90.0),
    ("walking", 60.0),
    ("standing", 20.0),
    ("lying-supine", 60.0),
    ("sitting-upright", 30.0),
]


@pytest.fixture(scope="module")
def day() -> Recording:
    return simulate_activities(DAY, seed=3, sensor_errors=SensorErrorModel.ideal())


def _events(rec: Recording, kind: str) -> list[Event]:
    assert rec.truth is not None
    return [e for e in rec.truth.events if e.kind == kind]


def _mean(rec: Recording, name: str, event: Event) -> float:
    assert rec.truth is not None
    t = rec.truth.time_s
    inner = (t >= event.start_s + 2.0) & (t <= event.end_s - 2.0)
    return float(rec.truth.series[name][inner].mean())


def test_calibration_windows_open_the_day(day: Recording) -> None:
    assert [e.kind for e in day.events] == [
        EVENT_CALIBRATION_NEUTRAL,
        EVENT_CALIBRATION_FUNCTIONAL,
    ]
    neutral, functional = day.events
    assert (neutral.start_s, neutral.end_s) == (0.0, 5.0)
    assert functional.start_s == pytest.approx(5.0)
    assert day.meta["position"] == "standing"
    assert day.meta["source"] == "simulator"


def test_bouts_and_transitions_follow_the_schedule(day: Recording) -> None:
    bouts = _events(day, EVENT_ACTIVITY)
    functional = day.events[1]
    # The first standing bout is split around the functional calibration.
    assert [b.label for b in bouts] == ["standing"] + [a for a, _ in DAY]
    assert bouts[0].end_s == pytest.approx(5.0) and bouts[1].start_s == functional.end_s
    assert bouts[1].end_s - bouts[1].start_s == pytest.approx(DAY[0][1] - 5.0)
    for bout, (_, duration) in zip(bouts[2:], DAY[1:], strict=True):
        assert bout.end_s - bout.start_s == pytest.approx(duration)
    setups = _events(day, EVENT_SETUP)
    assert len(setups) == len(DAY) - 1
    for setup, before, after in zip(setups, bouts[1:-1], bouts[2:], strict=True):
        assert setup.label == f"{before.label}->{after.label}"
        assert setup.start_s == pytest.approx(before.end_s)
        assert setup.end_s == pytest.approx(after.start_s)
        assert 1.5 - 1e-9 <= setup.end_s - setup.start_s <= 4.0 + 1e-9
    assert day.truth is not None
    assert float(day.truth.time_s[-1]) == pytest.approx(bouts[-1].end_s, abs=0.01)


def test_postures_have_their_angles(day: Recording) -> None:
    bouts = {b.label: b for b in _events(day, EVENT_ACTIVITY)[1:]}
    upright = _mean(day, LUMBAR_FLEXION, bouts["sitting-upright"])
    slouched = _mean(day, LUMBAR_FLEXION, bouts["sitting-slouched"])
    assert 5.0 < upright < 15.0  # ≈ 10° more flexed than standing
    assert 10.0 - 3.0 <= slouched - upright <= 20.0 + 3.0
    assert _mean(day, PELVIC_TILT_DEG, bouts["sitting-upright"]) == pytest.approx(-15.0, abs=3)
    assert _mean(day, PELVIC_TILT_DEG, bouts["sitting-slouched"]) < -18.0
    assert _mean(day, TRUNK_INCLINATION, bouts["lying-supine"]) == pytest.approx(-90.0, abs=3)
    assert _mean(day, "hip_height_m", bouts["sitting-upright"]) == pytest.approx(0.45, abs=0.01)
    assert _mean(day, "hip_height_m", bouts["lying-supine"]) == pytest.approx(0.1, abs=0.01)
    assert abs(_mean(day, LUMBAR_FLEXION, bouts["standing"])) < 3.0


def test_standing_sways_slowly_and_walking_oscillates(day: Recording) -> None:
    assert day.truth is not None
    t = day.truth.time_s
    bouts = {b.label: b for b in _events(day, EVENT_ACTIVITY)[1:]}
    stand = bouts["standing"]
    still = (t >= stand.start_s + 2) & (t <= stand.start_s + 12)
    tilt = day.truth.series[PELVIC_TILT_DEG][still]
    assert 0.1 < np.ptp(tilt) < 2.5
    walk = bouts["walking"]
    walking = (t >= walk.start_s + 3) & (t <= walk.end_s - 3)
    axial = day.truth.series["axial_rotation_deg"][walking]
    assert 12.0 < np.ptp(axial) < 18.0  # trunk counter-rotation 1.5 × ±5°
    lower = day.sensors["lower"]
    moving = (lower.time_s >= walk.start_s + 3) & (lower.time_s <= walk.end_s - 3)
    vertical = np.linalg.norm(lower.acc_mps2[moving], axis=1)
    assert 1.0 < vertical.std() < 4.0  # heel strikes and the 3 cm bob
    spectrum = np.abs(np.fft.rfft(vertical - vertical.mean()))
    freq = np.fft.rfftfreq(vertical.shape[0], 1.0 / lower.rate_hz)
    assert freq[int(np.argmax(spectrum))] == pytest.approx(1.8, abs=0.1)  # step rate


@pytest.mark.parametrize("rate_hz", [50.0, 100.0])
@pytest.mark.parametrize("activity", POSTURES)
def test_every_activity_runs_at_common_rates(activity: str, rate_hz: float) -> None:
    rec = simulate_activities(
        [("standing", 6.0), (activity, 8.0)], seed=1, rate_hz=rate_hz, magnetometer=True
    )
    assert rec.truth is not None
    assert [e.label for e in _events(rec, EVENT_ACTIVITY)][-1] == activity
    for data in rec.sensors.values():
        assert data.rate_hz == rate_hz
        assert np.all(np.isfinite(data.acc_mps2)) and np.all(np.isfinite(data.gyr_dps))
        assert np.abs(data.acc_mps2).max() < 40.0
    assert np.all(np.isfinite(rec.truth.series[LUMBAR_FLEXION]))


def test_determinism() -> None:
    schedule = [("standing", 7.0), ("walking", 10.0), ("sitting-slouched", 5.0)]
    a = simulate_activities(schedule, seed=5)
    assert a.equals(simulate_activities(schedule, seed=5))
    assert not a.equals(simulate_activities(schedule, seed=6))


def test_an_hour_of_wear() -> None:
    activities = ("sitting-upright", "walking", "sitting-slouched", "lying-supine")
    hour = [("standing", 60.0), *((activity, 590.0) for activity in activities)]
    hour.append(("standing", 1180.0))
    rec = simulate_activities(hour, seed=0)
    assert rec.truth is not None
    assert 3600.0 < rec.duration_s < 3600.0 + 60.0
    assert rec.truth.time_s.shape[0] > 360_000


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ([], "schedule must be a non-empty sequence of \\(activity, duration_s\\) pairs"),
        ("standing", "schedule must be a non-empty sequence"),
        ([("standing", 10.0, 1)], "schedule item 1 must be an \\(activity, duration_s\\) pair"),
        (
            [("standing", 10.0), ("running", 5.0)],
            "unknown activity 'running' in schedule item 2; use one of standing, "
            "sitting-upright, sitting-slouched, walking, lying-supine",
        ),
        (
            [("standing", 10.0), ("walking", -5.0)],
            "duration of schedule item 2 \\('walking'\\) must be a positive, finite number",
        ),
        ([("standing", math.inf)], "duration of schedule item 1"),
        ([("standing", 5.0)], "schedule must start with at least 6 s of 'standing'"),
        ([("walking", 60.0)], "schedule must start with at least 6 s of 'standing'"),
        ([("standing", 10.0), ("walking", 2e5)], "schedule lasts over 48 h"),
    ],
)
def test_bad_schedules_are_refused(schedule: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        simulate_activities(schedule, seed=0)  # type: ignore[arg-type]


def test_bad_arguments_name_the_argument() -> None:
    schedule = [("standing", 10.0)]
    with pytest.raises(ConfigurationError, match="seed must be a non-negative integer"):
        simulate_activities(schedule, seed=-3)
    with pytest.raises(ConfigurationError, match="rate_hz must be a positive"):
        simulate_activities(schedule, seed=0, rate_hz=0)
    with pytest.raises(ConfigurationError, match="sensor_errors must be a SensorErrorModel"):
        simulate_activities(schedule, seed=0, sensor_errors={})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="magnetometer must be True or False"):
        simulate_activities(schedule, seed=0, magnetometer="yes")  # type: ignore[arg-type]


# --- issue 13: a belt-worn sensor or phone, and deep bends -----------------------------


def test_belt_sensor_is_upright_on_the_standing_pelvis() -> None:
    """Ideal sensor at the back: while standing, gravity is on its x axis; turned 90° about
    the vertical (on the hip) it still is, and the pelvis tilt of sitting moves gravity in
    the sensor's x–z plane at the back and its x–y plane on the hip."""
    from spinecoach.sim.activities import BeltWear

    schedule = [("standing", 30.0), ("sitting-upright", 60.0)]
    means = {}
    for turn in (0.0, 90.0):
        rec = simulate_activities(
            schedule,
            seed=4,
            rate_hz=25.0,
            sensor_errors=SensorErrorModel.ideal(),
            wear=BeltWear(turn_deg=turn),
        )
        assert tuple(rec.sensors) == ("lower",) and rec.meta["wear"] == "belt"
        assert not any(key.startswith("upper_") for key in rec.meta)
        assert rec.meta["belt_turn_deg"] == f"{turn:g}"
        stand = [e for e in _events(rec, EVENT_ACTIVITY) if e.label == "standing"][-1]
        sit = next(e for e in _events(rec, EVENT_ACTIVITY) if e.label == "sitting-upright")
        sensor = rec.sensors["lower"]

        def mean_acc(event: Event, sensor=sensor) -> np.ndarray:  # type: ignore[no-untyped-def]
            inside = (sensor.time_s > event.start_s + 2) & (sensor.time_s < event.end_s - 2)
            return np.asarray(sensor.acc_mps2[inside].mean(axis=0))

        means[turn] = (mean_acc(stand), mean_acc(sit))
    for turn, (stand_acc, sit_acc) in means.items():
        assert stand_acc[0] > 9.7 and np.hypot(stand_acc[1], stand_acc[2]) < 0.7, turn
        change = sit_acc - stand_acc
        sagittal = abs(change[2]) if turn == 0.0 else abs(change[1])
        lateral = abs(change[1]) if turn == 0.0 else abs(change[2])
        assert sagittal > 1.5 and lateral < 0.5, (turn, change)


def test_belt_sensor_rolled_upside_down_and_without_gyroscope() -> None:
    from spinecoach.sim.activities import BeltWear

    rec = simulate_activities(
        [("standing", 20.0)],
        seed=1,
        rate_hz=50.0,
        sensor_errors=SensorErrorModel.ideal(),
        wear=BeltWear(roll_deg=180.0, gyroscope=False),
    )
    sensor = rec.sensors["lower"]
    assert np.median(sensor.acc_mps2[:, 0]) < -9.7
    assert not sensor.has_gyroscope and np.all(np.isnan(sensor.gyr_dps))
    assert sensor.rate_hz == 50.0


def test_bending_bouts_have_truth_and_deep_forward_pelvis() -> None:
    rec = simulate_activities(
        [("standing", 20.0), ("bending", 120.0), ("walking", 20.0)],
        seed=2,
        rate_hz=25.0,
        sensor_errors=SensorErrorModel.ideal(),
    )
    bends = [e for e in _events(rec, EVENT_ACTIVITY) if e.label == "bending"]
    assert len(bends) >= 2
    assert rec.truth is not None
    t = rec.truth.time_s
    for bend in bends:
        inner = (t > bend.start_s + 3.0) & (t < bend.end_s - 3.0)
        pelvis = rec.truth.series[PELVIC_TILT_DEG][inner]
        assert 20.0 < float(np.median(pelvis)) < 65.0
        assert float(np.median(rec.truth.series[LUMBAR_FLEXION][inner])) > 10.0
    # Standing between the bends, and the events tile the bout.
    labels = [e.label for e in _events(rec, EVENT_ACTIVITY)]
    assert "standing" in labels[labels.index("bending") :]


def test_bad_wear_is_refused() -> None:
    from spinecoach.sim.activities import BeltWear

    with pytest.raises(ConfigurationError, match="wear must be a BeltWear"):
        simulate_activities([("standing", 10.0)], seed=0, wear="belt")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"BeltWear\.turn_deg must be a finite angle"):
        BeltWear(turn_deg=math.nan)
    with pytest.raises(ConfigurationError, match=r"BeltWear\.gyroscope must be True or False"):
        BeltWear(gyroscope="no")  # type: ignore[arg-type]
