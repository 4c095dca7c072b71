"""The simulated IMUs: analytic checks with ideal sensors, then the error model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spinecoach.conventions import (
    EVENT_CALIBRATION_NEUTRAL,
    STANDARD_GRAVITY_MPS2,
    UPPER_INCLINATION,
)
from spinecoach.errors import ConfigurationError
from spinecoach.recording import Event, Recording, SensorData
from spinecoach.sim import SensorErrorModel, simulate
from spinecoach.sim.quaternion import about_axis
from spinecoach.sim.sensors import EARTH_FIELD_NWU_UT, R_MOUNT_NOMINAL, angular_velocity_dps


def _neutral_event(rec: Recording) -> Event:
    """The neutral-hold annotation (the functional bends come first in a session)."""
    return next(e for e in rec.events if e.kind == EVENT_CALIBRATION_NEUTRAL)


@pytest.fixture(scope="module")
def ideal_flexion() -> Recording:
    return simulate(
        "flexion-extension",
        seed=3,
        reps=2,
        sensor_errors=SensorErrorModel.ideal(),
        magnetometer=True,
    )


@pytest.fixture(scope="module")
def realistic_hinge() -> Recording:
    return simulate("hip-hinge", seed=11, magnetometer=True)


def _truth_events(rec: Recording, kind: str) -> list[Event]:
    assert rec.truth is not None
    return [e for e in rec.truth.events if e.kind == kind]


def _window(data: SensorData, start_s: float, end_s: float) -> np.ndarray:
    return (data.time_s >= start_s) & (data.time_s <= end_s)


def test_nominal_mount_axes() -> None:
    x, y, z = R_MOUNT_NOMINAL.T  # sensor axes in segment coordinates
    assert x.tolist() == [0.0, 1.0, 0.0]  # superior
    assert z.tolist() == [-1.0, 0.0, 0.0]  # out of the skin (posterior)
    assert np.allclose(np.cross(z, x), y)
    assert np.linalg.det(R_MOUNT_NOMINAL) == pytest.approx(1.0)


def test_angular_velocity_matches_a_constant_rotation() -> None:
    rate_dps = np.array([30.0, -10.0, 5.0])
    t = np.arange(200) / 100.0
    q = Rotation.from_rotvec(np.radians(rate_dps)[None, :] * t[:, None]).as_quat()
    assert np.allclose(angular_velocity_dps(q, 0.01), rate_dps, atol=1e-9)
    q_x = about_axis(0, 45.0 * t)
    assert np.allclose(angular_velocity_dps(q_x, 0.01), [45.0, 0.0, 0.0], atol=1e-9)


def test_ideal_accelerometer_reads_gravity_when_still(ideal_flexion: Recording) -> None:
    neutral = _neutral_event(ideal_flexion)
    for data in ideal_flexion.sensors.values():
        still = _window(data, neutral.start_s, neutral.end_s)
        norm = np.linalg.norm(data.acc_mps2[still], axis=1)
        assert np.allclose(norm, STANDARD_GRAVITY_MPS2, atol=0.01)


def test_ideal_sensor_has_no_errors(ideal_flexion: Recording) -> None:
    assert ideal_flexion.truth is not None
    for placement, data in ideal_flexion.sensors.items():
        assert np.array_equal(data.time_s, ideal_flexion.truth.time_s)  # no jitter, no drops
        assert json.loads(ideal_flexion.meta[f"{placement}_mount_misalignment_deg"]) == [0, 0, 0]
        assert data.mag_ut is not None
        assert np.allclose(np.linalg.norm(data.mag_ut, axis=1), np.linalg.norm(EARTH_FIELD_NWU_UT))
        assert data.device == "spinecoach-sim"
        assert data.rate_hz == 100.0


def test_gravity_angle_between_still_postures_is_the_inclination_change(
    ideal_flexion: Recording,
) -> None:
    assert ideal_flexion.truth is not None
    truth = ideal_flexion.truth
    upper = ideal_flexion.sensors["upper"]
    neutral = _neutral_event(ideal_flexion)
    still = _window(upper, neutral.start_s, neutral.end_s)
    g0 = upper.acc_mps2[still].mean(axis=0)
    change0 = truth.series[UPPER_INCLINATION][still].mean()
    for hold in _truth_events(ideal_flexion, "hold"):
        held = _window(upper, hold.start_s + 0.2, hold.end_s - 0.2)
        g1 = upper.acc_mps2[held].mean(axis=0)
        angle = math.degrees(
            math.acos(np.clip(g0 @ g1 / np.linalg.norm(g0) / np.linalg.norm(g1), -1, 1))
        )
        change = truth.series[UPPER_INCLINATION][held].mean() - change0
        # Lateral and axial wobble of ≤ 1.5° adds a little out-of-plane rotation.
        assert angle == pytest.approx(abs(change), abs=0.3)
        assert abs(change) > 10.0


def test_integrated_gyroscope_reproduces_the_orientation_change(
    ideal_flexion: Recording,
) -> None:
    neutral = _neutral_event(ideal_flexion)
    hold = _truth_events(ideal_flexion, "hold")[0]
    for data in ideal_flexion.sensors.values():
        k0 = int(np.searchsorted(data.time_s, 0.5 * (neutral.start_s + neutral.end_s)))
        k1 = int(np.searchsorted(data.time_s, hold.start_s + 0.5))
        dt = 1.0 / data.rate_hz
        steps = np.radians(0.5 * (data.gyr_dps[k0:k1] + data.gyr_dps[k0 + 1 : k1 + 1])) * dt
        rotation = Rotation.identity()
        for step in Rotation.from_rotvec(steps):
            rotation = rotation * step
        predicted = rotation.inv().apply(np.array(data.acc_mps2[k0]))
        measured = np.array(data.acc_mps2[k1])
        cos = predicted @ measured / np.linalg.norm(predicted) / np.linalg.norm(measured)
        assert math.degrees(math.acos(min(1.0, cos))) < 0.2


def test_misalignment_is_within_bounds_and_used() -> None:
    seen = []
    for seed in range(6):
        rec = simulate("cat-cow", seed=seed, reps=1)
        for placement in ("lower", "upper"):
            angles = json.loads(rec.meta[f"{placement}_mount_misalignment_deg"])
            assert len(angles) == 3 and all(abs(a) <= 20.0 for a in angles)
            seen.extend(angles)
            mount = Rotation.from_quat(
                json.loads(rec.meta[f"{placement}_mount_sensor_to_segment_xyzw"])
            )
            expected = Rotation.from_matrix(R_MOUNT_NOMINAL) * Rotation.from_euler(
                "XYZ", angles, degrees=True
            )
            assert (mount.inv() * expected).magnitude() < 1e-4
    assert max(abs(a) for a in seen) > 10.0  # actually spread over the range


def test_timestamps_jitter_but_stay_strictly_increasing(realistic_hinge: Recording) -> None:
    assert realistic_hinge.truth is not None
    grid = realistic_hinge.truth.time_s
    for placement, data in realistic_hinge.sensors.items():
        assert np.all(np.diff(data.time_s) > 0)
        nearest = np.round(data.time_s * 100.0) / 100.0
        jitter = data.time_s - nearest
        assert np.abs(jitter).max() <= 0.0045 + 1e-12
        assert 0.0003 < jitter.std() < 0.0007
        dropped = grid.shape[0] - data.n_samples
        assert dropped == int(realistic_hinge.meta[f"{placement}_dropped_samples"])
        assert 0.0008 < dropped / grid.shape[0] < 0.004  # ≈ 0.2 %
    lower, upper = realistic_hinge.sensors["lower"], realistic_hinge.sensors["upper"]
    assert lower.n_samples != upper.n_samples or not np.array_equal(lower.time_s, upper.time_s)


def test_realistic_errors_are_drawn_within_their_bounds(realistic_hinge: Recording) -> None:
    meta = realistic_hinge.meta
    for placement in ("lower", "upper"):
        assert all(abs(b) <= 1.0 for b in json.loads(meta[f"{placement}_gyro_bias_dps"]))
        assert all(abs(b) <= 0.04 for b in json.loads(meta[f"{placement}_acc_bias_mps2"]))
        assert all(abs(b) <= 5.0 for b in json.loads(meta[f"{placement}_mag_offset_ut"]))
        assert all(abs(s) <= 0.003 for s in json.loads(meta[f"{placement}_gyro_scale"]))
    neutral = _neutral_event(realistic_hinge)
    lower = realistic_hinge.sensors["lower"]
    still = _window(lower, neutral.start_s, neutral.end_s)
    bias = np.array(json.loads(meta["lower_gyro_bias_dps"]))
    # Still: the gyroscope reads its bias plus noise and a little sway.
    assert np.allclose(lower.gyr_dps[still].mean(axis=0), bias, atol=0.15)
    assert 0.03 < lower.gyr_dps[still].std(axis=0).min() < 0.5


def test_magnetometer_does_not_change_the_imu_data() -> None:
    with_mag = simulate("pelvic-tilt", seed=4, reps=1, magnetometer=True)
    without = simulate("pelvic-tilt", seed=4, reps=1)
    for placement, data in without.sensors.items():
        other = with_mag.sensors[placement]
        assert data.mag_ut is None and other.mag_ut is not None
        assert np.array_equal(data.acc_mps2, other.acc_mps2)
        assert np.array_equal(data.gyr_dps, other.gyr_dps)


def test_sensor_errors_do_not_change_the_body() -> None:
    ideal = simulate("cat-cow-seated", seed=5, reps=2, sensor_errors=SensorErrorModel.ideal())
    real = simulate("cat-cow-seated", seed=5, reps=2)
    assert ideal.truth is not None and real.truth is not None
    assert ideal.truth.equals(real.truth)


def test_saturation_clips_readings() -> None:
    errors = SensorErrorModel(acc_range_mps2=5.0, gyro_range_dps=10.0)
    rec = simulate("flexion-extension", seed=2, reps=1, sensor_errors=errors)
    for data in rec.sensors.values():
        assert np.abs(data.acc_mps2).max() <= 5.0
        assert np.abs(data.gyr_dps).max() <= 10.0
        assert np.isclose(np.abs(data.gyr_dps).max(), 10.0)


def test_noise_scales_with_the_square_root_of_the_rate() -> None:
    noise_only = SensorErrorModel(
        gyro_bias_dps=0.0,
        gyro_bias_drift_dps_per_sqrt_s=0.0,
        gyro_scale=0.0,
        drop_probability=0.0,
        jitter_s=0.0,
        misalignment_max_deg=0.0,
    )
    spread = {}
    for rate in (50.0, 200.0):
        rec = simulate("pelvic-tilt", seed=8, reps=1, rate_hz=rate, sensor_errors=noise_only)
        ideal = simulate(
            "pelvic-tilt", seed=8, reps=1, rate_hz=rate, sensor_errors=SensorErrorModel.ideal()
        )
        spread[rate] = np.std(rec.sensors["lower"].gyr_dps - ideal.sensors["lower"].gyr_dps)
    assert spread[200.0] / spread[50.0] == pytest.approx(2.0, rel=0.05)
    assert spread[200.0] == pytest.approx(0.05 * math.sqrt(2.0), rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gyro_noise_dps": -1.0}, "SensorErrorModel.gyro_noise_dps must be zero or positive"),
        ({"acc_bias_mps2": math.nan}, "SensorErrorModel.acc_bias_mps2 must be zero or positive"),
        ({"jitter_s": math.inf}, "SensorErrorModel.jitter_s must be finite"),
        ({"drop_probability": 0.5}, "SensorErrorModel.drop_probability must be below 0.5"),
        ({"drop_burst_max": 0}, "SensorErrorModel.drop_burst_max must be a whole number"),
        ({"drop_burst_max": 2.5}, "SensorErrorModel.drop_burst_max must be a whole number"),
        ({"gyro_range_dps": 0.0}, "ranges must be positive"),
        ({"misalignment_max_deg": 120.0}, "misalignment_max_deg must be at most 90"),
        ({"acc_scale": True}, "SensorErrorModel.acc_scale must be a number"),
    ],
)
def test_bad_sensor_error_models_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SensorErrorModel(**kwargs)  # type: ignore[arg-type]
