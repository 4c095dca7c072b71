"""The lower sensor's vertical displacement (``pelvis_height_m``, :mod:`spinecoach.motion.height`).

A known vertical movement (a minimum-jerk descent of 0.3 m, held, then risen from) of a
sensor mounted at a tilt, with an accelerometer bias and noise, through the fusion and
the high-passed double integrator at 25, 50 and 100 Hz: the drop read matches the
documented attenuation of the filter, the same at every rate, and there is no drift at
rest. Batch and streaming give the same numbers; NaN without a lower sensor or without
accelerometer readings; the column is not an angle.
"""

from __future__ import annotations

import numpy as np
import pytest
from motion_analytic import stream_samples
from scipy.spatial.transform import Rotation

from spinecoach.conventions import ANGLE_COLUMNS, PELVIS_HEIGHT_M, STANDARD_GRAVITY_MPS2
from spinecoach.motion import motion_process
from spinecoach.motion.fusion import FusionSettings, fusion_process
from spinecoach.motion.height import (
    HeightEstimator,
    pelvis_height_m,
    vertical_acceleration_mps2,
)
from spinecoach.motion.stream import MotionTracker
from spinecoach.recording import Recording, SensorData
from spinecoach.sim import simulate
from spinecoach.sim.suite import protocol_free_suite

DEPTH_M = 0.3
START_S = 5.0
HOLD_S = 1.0
DURATION_S = 40.0


def _min_jerk(s: np.ndarray) -> np.ndarray:
    return np.asarray(10 * s**3 - 15 * s**4 + 6 * s**5)


def _min_jerk_acc(s: np.ndarray) -> np.ndarray:
    return np.asarray(60 * s - 180 * s**2 + 120 * s**3)


def _movement(t: np.ndarray, move_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Height (m) and vertical acceleration (m/s²) of a descent of ``DEPTH_M`` over
    ``move_s``, a hold of ``HOLD_S`` and a rise over ``move_s`` (minimum jerk)."""
    z = np.zeros_like(t)
    a = np.zeros_like(t)
    for begin, sign in ((START_S, -1.0), (START_S + move_s + HOLD_S, 1.0)):
        s = (t - begin) / move_s
        inside = (s >= 0) & (s <= 1)
        a[inside] += sign * DEPTH_M * _min_jerk_acc(s[inside]) / move_s**2
        z += sign * DEPTH_M * _min_jerk(np.clip(s, 0.0, 1.0))
    return z, a


def _sensor(rate: float, move_s: float, *, seed: int = 0) -> tuple[SensorData, np.ndarray]:
    """A sensor mounted at a tilt (sensor→earth rotation fixed), moved up and down only,
    with an accelerometer bias and white noise; and its true vertical acceleration."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(DURATION_S * rate)) / rate
    _z, a_vertical = _movement(t, move_s)
    mount = Rotation.from_euler("xyz", [25.0, -15.0, 40.0], degrees=True)
    specific_earth = np.zeros((t.shape[0], 3))
    specific_earth[:, 2] = a_vertical + STANDARD_GRAVITY_MPS2
    acc = mount.inv().apply(specific_earth)
    acc += np.array([0.05, -0.04, 0.03]) + rng.normal(0.0, 0.02, acc.shape)
    gyr = rng.normal(0.0, 0.1, acc.shape)
    return SensorData.from_arrays("lower", t, acc, gyr, rate_hz=rate), a_vertical


def _drop(t: np.ndarray, h: np.ndarray, move_s: float) -> float:
    span = (t >= START_S) & (t <= START_S + move_s + HOLD_S)
    return float(h[span][0] - h[span].min())


def _ideal(t: np.ndarray, a_vertical: np.ndarray, rate: float) -> np.ndarray:
    est = HeightEstimator(rate_hz=rate, max_gap_s=0.5)
    return np.array(
        [est.update(x, v) for x, v in zip(t.tolist(), a_vertical.tolist(), strict=True)]
    )


#: (descent time s, drop read by the 0.1 Hz filter from the true acceleration, m): the
#: attenuation documented in spinecoach.motion.height.
ATTENUATION = [(1.5, 0.149), (3.0, 0.087)]


@pytest.mark.parametrize("rate", [25.0, 50.0, 100.0])
@pytest.mark.parametrize(("move_s", "expected_m"), ATTENUATION)
def test_known_descent_reads_the_documented_share(
    rate: float, move_s: float, expected_m: float
) -> None:
    sensor, a_vertical = _sensor(rate, move_s)
    fused = fusion_process(sensor, FusionSettings())
    h = pelvis_height_m(
        sensor.time_s, sensor.acc_mps2, fused.quaternion, rate_hz=rate, max_gap_s=0.5
    )
    t = sensor.time_s
    # The filter's own reading of the true movement: the documented attenuation.
    assert _drop(t, _ideal(t, a_vertical, rate), move_s) == pytest.approx(expected_m, abs=0.004)
    # Through the fusion of a tilted, biased, noisy sensor: within 1.5 cm of it.
    assert _drop(t, h, move_s) == pytest.approx(expected_m, abs=0.015)
    # The lowest reading of the movement is in the descent (not in the hold or the rise).
    moving = (t >= START_S) & (t <= START_S + 2 * move_s + HOLD_S)
    assert START_S < t[moving][int(np.argmin(h[moving]))] <= START_S + move_s
    # No drift: the bias gives no offset, at the start or 20 s after the movement; what
    # is left is the accelerometer noise double-integrated (about 1 cm at 25 Hz with
    # 0.02 m/s² per sample), well under the squat threshold of the detector (0.07 m).
    assert np.abs(h[t > DURATION_S - 15.0]).max() < 0.03
    assert np.abs(h[t < START_S]).max() < 0.03


@pytest.mark.parametrize("move_s", [1.5, 3.0])
def test_the_rate_does_not_change_the_reading(move_s: float) -> None:
    drops = []
    for rate in (25.0, 50.0, 100.0):
        sensor, _ = _sensor(rate, move_s, seed=1)
        fused = fusion_process(sensor, FusionSettings())
        h = pelvis_height_m(
            sensor.time_s, sensor.acc_mps2, fused.quaternion, rate_hz=rate, max_gap_s=0.5
        )
        drops.append(_drop(sensor.time_s, h, move_s))
    assert max(drops) - min(drops) < 0.01, drops


def test_vertical_acceleration_of_a_tilted_still_sensor_is_zero() -> None:
    rate = 50.0
    t = np.arange(200) / rate
    mount = Rotation.from_euler("xyz", [30.0, 50.0, -20.0], degrees=True)
    acc = mount.inv().apply(np.tile([0.0, 0.0, STANDARD_GRAVITY_MPS2], (200, 1)))
    sensor = SensorData.from_arrays("lower", t, acc, np.zeros((200, 3)), rate_hz=rate)
    fused = fusion_process(sensor, FusionSettings())
    np.testing.assert_allclose(vertical_acceleration_mps2(acc, fused.quaternion), 0.0, atol=1e-6)


def test_a_gap_restarts_the_estimate_and_nan_input_gives_nan() -> None:
    est = HeightEstimator(rate_hz=50.0, max_gap_s=0.5)
    for k in range(50):
        assert est.update(k / 50.0, 0.0) == 0.0  # still: 0 m
    for k in range(50, 75):
        h = est.update(k / 50.0, -2.0)  # 0.5 s of falling
    assert h < -0.1
    fresh = HeightEstimator(rate_hz=50.0, max_gap_s=0.5)
    after = [fresh.update(10.0 + k / 50.0, 1.0) for k in range(5)]
    # After a 1.5 s hole the estimate starts again from rest, as a new one does.
    assert [est.update(3.0 + k / 50.0, 1.0) for k in range(5)] == after
    assert np.isnan(est.update(3.5, float("nan")))
    assert est.update(3.52, 1.0) == after[0]  # and after a missing reading


def _stream(rec: Recording, *, annotations: bool) -> list:  # type: ignore[type-arg]
    tracker = MotionTracker(
        rates_hz={p: s.rate_hz for p, s in rec.sensors.items()},
        annotations=rec.events if annotations else (),
    )
    return stream_samples(tracker, rec)


@pytest.mark.parametrize("which", ["coached", "protocol-free"])
def test_streaming_gives_the_batch_height(which: str) -> None:
    """The same numbers, bit for bit, with annotated windows and with the protocol-free
    calibration (frames held back until it is decided)."""
    if which == "coached":
        rec = simulate("flexion-extension", seed=3, reps=3)
    else:
        rec = next(
            c.simulate()
            for c in protocol_free_suite(12, seed=0, single_sensor_share=0.0)
            if c.technique == "flexion-extension"
        )
    frames, _ = motion_process(rec)
    out = _stream(rec, annotations=which == "coached")
    assert len(out) == len(frames)
    stream = np.array([f.angles[PELVIS_HEIGHT_M] for f in out])
    assert np.isfinite(frames[PELVIS_HEIGHT_M]).all()
    np.testing.assert_array_equal(stream, frames[PELVIS_HEIGHT_M])
    for name in ANGLE_COLUMNS:  # the angles are untouched by the extra column
        np.testing.assert_array_equal([f.angles[name] for f in out], frames[name])


def test_no_lower_sensor_or_no_accelerometer_gives_nan() -> None:
    rec = simulate("flexion-extension", seed=2, reps=2)
    upper_only = Recording.create({"upper": rec.sensors["upper"]}, events=rec.events)
    frames, _ = motion_process(upper_only)
    assert np.isnan(frames[PELVIS_HEIGHT_M]).all()
    out = _stream(upper_only, annotations=True)
    assert all(np.isnan(f.angles[PELVIS_HEIGHT_M]) for f in out)
    lower = rec.sensors["lower"]
    no_acc = SensorData.from_arrays(
        "lower",
        lower.time_s,
        np.full_like(lower.acc_mps2, np.nan),
        lower.gyr_dps,
        rate_hz=lower.rate_hz,
    )
    fused = fusion_process(no_acc, FusionSettings())
    h = pelvis_height_m(
        no_acc.time_s, no_acc.acc_mps2, fused.quaternion, rate_hz=lower.rate_hz, max_gap_s=0.5
    )
    assert np.isnan(h).all()


def test_the_height_is_not_an_angle_column() -> None:
    rec = simulate("flexion-extension", seed=2, reps=2)
    frames, _ = motion_process(rec)
    assert PELVIS_HEIGHT_M not in ANGLE_COLUMNS
    assert list(frames.angles) == [*ANGLE_COLUMNS, PELVIS_HEIGHT_M]
