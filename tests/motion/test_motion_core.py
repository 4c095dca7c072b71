"""The motion core on analytic signals (known answers) and on the real Fusion recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from motion_analytic import bends, sagittal_sensor
from scipy.spatial.transform import Rotation

from spinecoach.conventions import (
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_NEUTRAL,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    TRUNK_INCLINATION,
)
from spinecoach.errors import CalibrationError, ConfigurationError
from spinecoach.motion import (
    FLAG_GAP,
    FLAG_NOT_CALIBRATED,
    MotionTracker,
    SensorSample,
    calibrate_segment,
    motion_process,
)
from spinecoach.recording import Event, Recording, SensorData

RATE = 100.0
T = np.arange(0, 30.0, 1 / RATE)
WINDOWS = (
    Event(EVENT_CALIBRATION_NEUTRAL, 3.0, 4.9),
    Event(EVENT_CALIBRATION_FUNCTIONAL, 5.0, 13.0),
)


def _recording(mount_deg: tuple[float, float, float], *, lower_scale: float = 0.5) -> Recording:
    mount = Rotation.from_euler("xyz", mount_deg, degrees=True)
    lower = sagittal_sensor("lower", T, lambda t: lower_scale * bends(t), mount, rate_hz=RATE)
    upper_mount = Rotation.from_euler("xyz", [-mount_deg[2], mount_deg[0], 90], degrees=True)
    upper = sagittal_sensor("upper", T, bends, upper_mount, rate_hz=RATE)
    return Recording.create({"lower": lower, "upper": upper}, events=WINDOWS)


@pytest.mark.parametrize("mount", [(0, 0, 0), (20, -20, 15), (-15, 18, -20), (170, 5, 90)])
def test_angles_match_analytic_truth_whatever_the_mounting(
    mount: tuple[float, float, float],
) -> None:
    frames, info = motion_process(_recording(mount))
    truth_lower = 0.5 * bends(frames.time_s)
    truth_upper = bends(frames.time_s)
    ok = ~np.isnan(frames[PELVIC_TILT_DEG])
    assert info["calibration"]["source"] == "annotations"
    # Calibrated from the first sample after the functional window (13 s) onwards.
    assert frames.time_s[ok][0] == pytest.approx(13.0, abs=0.02)
    assert np.all(frames.flags[~ok] & FLAG_NOT_CALIBRATED)
    np.testing.assert_allclose(frames[PELVIC_TILT_DEG][ok], truth_lower[ok], atol=0.35)
    np.testing.assert_allclose(
        frames[LUMBAR_FLEXION][ok], (truth_upper - truth_lower)[ok], atol=0.35
    )
    np.testing.assert_allclose(frames[TRUNK_INCLINATION][ok], truth_upper[ok], atol=0.35)
    # The late 10° lean is really seen (not a flat line passing the tolerance).
    late = (frames.time_s > 21.5) & (frames.time_s < 22.5)
    assert frames[TRUNK_INCLINATION][late].max() > 9.0


def test_position_sets_absolute_inclination() -> None:
    rec = _recording((5, 5, 5))
    frames, info = motion_process(
        Recording.create(rec.sensors, events=rec.events, meta={"position": "supine"})
    )
    ok = ~np.isnan(frames[TRUNK_INCLINATION])
    assert info["position"] == "supine"
    np.testing.assert_allclose(
        frames[TRUNK_INCLINATION][ok], bends(frames.time_s)[ok] - 90.0, atol=0.35
    )


def test_one_sensor_gives_its_segment_and_says_why_lumbar_is_missing() -> None:
    rec = _recording((0, 10, 0))
    frames, info = motion_process(
        Recording.create({"lower": rec.sensors["lower"]}, events=rec.events)
    )
    assert np.all(np.isnan(frames[LUMBAR_FLEXION]))
    assert "needs both sensors" in info["unavailable"][LUMBAR_FLEXION]
    assert "upper sensor" in info["unavailable"][TRUNK_INCLINATION]
    assert np.nanmax(frames[PELVIC_TILT_DEG]) > 4.5  # the late lean, half size on the pelvis


def test_streaming_equals_batch_on_analytic_two_sensor_recording() -> None:
    rec = _recording((12, -7, 3))
    frames, _ = motion_process(rec)
    tracker = MotionTracker(rates_hz={"lower": RATE, "upper": RATE}, annotations=rec.events)
    out = []
    lower, upper = rec.sensors["lower"], rec.sensors["upper"]
    for i in range(lower.n_samples):
        for s in (lower, upper):
            out += tracker.update(
                SensorSample(s.placement, float(s.time_s[i]), s.acc_mps2[i], s.gyr_dps[i])
            )
    assert len(out) == len(frames)
    for name in (LUMBAR_FLEXION, PELVIC_TILT_DEG, TRUNK_INCLINATION):
        stream = np.array([f.angles[name] for f in out])
        np.testing.assert_allclose(stream, frames[name], rtol=0, atol=1e-9, equal_nan=True)
    assert [f.flags for f in out] == frames.flags.tolist()


def _load_fusion_csv(path: Path) -> SensorData:
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return SensorData.from_arrays(
        "lower",
        data[:, 0],
        data[:, 4:7] * 9.80665,
        data[:, 1:4],
        rate_hz=100.0,
        mag_ut=data[:, 7:10],
    )


def test_streaming_equals_batch_on_the_real_fusion_recording(fusion_csv: Path) -> None:
    sensor = _load_fusion_csv(fusion_csv)
    frames, info = motion_process(Recording.create({"lower": sensor}))
    assert info["calibration"]["source"] == "auto"
    tracker = MotionTracker(rates_hz={"lower": 100.0})
    out = []
    for i in range(sensor.n_samples):
        out += tracker.update(
            SensorSample("lower", float(sensor.time_s[i]), sensor.acc_mps2[i], sensor.gyr_dps[i])
        )
    stream = np.array([f.angles[PELVIC_TILT_DEG] for f in out])
    assert len(stream) == len(frames)
    np.testing.assert_array_equal(stream, frames[PELVIC_TILT_DEG])
    # Real movement is seen: several degrees each way once calibrated.
    assert np.nanmax(stream) - np.nanmin(stream) > 5.0


def test_fusion_on_real_data_tracks_gravity_when_still(fusion_csv: Path) -> None:
    from spinecoach.motion import FusionSettings, fusion_process

    sensor = _load_fusion_csv(fusion_csv)
    fused = fusion_process(sensor, FusionSettings())
    acc_dir = sensor.acc_mps2 / np.linalg.norm(sensor.acc_mps2, axis=1, keepdims=True)
    still = np.linalg.norm(sensor.gyr_dps, axis=1) < 2.0
    still[:300] = False  # AHRS start-up
    angle = np.degrees(np.arccos(np.clip(np.sum(fused.up[still] * acc_dir[still], axis=1), -1, 1)))
    assert still.sum() > 500
    assert np.median(angle) < 1.0


def test_gap_is_flagged_and_not_bridged() -> None:
    rec = _recording((0, 0, 0))
    keep = (T < 20.5) | (T > 21.5)  # one second lost from both sensors
    sensors = {
        p: SensorData.from_arrays(
            p, s.time_s[keep], s.acc_mps2[keep], s.gyr_dps[keep], rate_hz=RATE
        )
        for p, s in rec.sensors.items()
    }
    frames, info = motion_process(Recording.create(sensors, events=rec.events))
    inside = (frames.time_s > 20.6) & (frames.time_s < 21.4)
    assert np.all(frames.flags[inside] & FLAG_GAP)
    assert np.all(np.isnan(frames[LUMBAR_FLEXION][inside]))
    assert info["flag_counts"]["gap in the sensor data"] >= 80


def test_calibration_errors_say_what_to_do() -> None:
    up = np.tile([0.0, 0.0, 1.0], (50, 1))
    with pytest.raises(CalibrationError, match=r"turned only 0\.0° .* bend forward further"):
        calibrate_segment("upper", up, up, nominal_inclination_deg=0.0, ready_time_s=1.0)
    with pytest.raises(CalibrationError, match="neutral window holds 0 samples; hold still"):
        calibrate_segment("upper", up[:0], up, nominal_inclination_deg=0.0, ready_time_s=1.0)


def test_functional_window_without_movement_reports_uncalibrated_sensor() -> None:
    rec = _recording((0, 0, 0))
    still_window = (
        Event(EVENT_CALIBRATION_NEUTRAL, 1.0, 2.0),
        Event(EVENT_CALIBRATION_FUNCTIONAL, 2.0, 4.5),
    )
    frames, info = motion_process(Recording.create(rec.sensors, events=still_window))
    assert "lower_error" in info["calibration"]
    assert np.all(np.isnan(frames[PELVIC_TILT_DEG]))


def test_tracker_rejects_bad_input_with_clear_messages() -> None:
    with pytest.raises(ConfigurationError, match="unknown sensor placement 'middle'"):
        MotionTracker(rates_hz={"middle": 100.0})
    tracker = MotionTracker(rates_hz={"lower": 100.0})
    sample = SensorSample("lower", 1.0, np.array([0, 0, 9.8]), np.zeros(3))
    tracker.update(sample)
    with pytest.raises(ConfigurationError, match="not after the previous one"):
        tracker.update(sample)
    with pytest.raises(ConfigurationError, match="sample from the 'upper' sensor"):
        tracker.update(SensorSample("upper", 2.0, np.array([0, 0, 9.8]), np.zeros(3)))
    with pytest.raises(ConfigurationError, match="unknown position 'kneeling'"):
        MotionTracker(rates_hz={"lower": 100.0}, position="kneeling")


def test_saturation_and_magnetic_disturbance_flags_travel_with_the_frames() -> None:
    from spinecoach.motion import FLAG_MAG_DISTURBANCE, FLAG_SATURATED, describe_flags

    rec = _recording((0, 0, 0))
    lower = rec.sensors["lower"]
    gyr = lower.gyr_dps.copy()
    gyr[2200:2210, 0] = 2000.0  # a knock that clips the gyroscope
    mag = np.tile([20.0, 0.0, -40.0], (lower.n_samples, 1))
    mag[2500:2600] *= 3.0  # a magnet near the sensor
    hit = SensorData.from_arrays(
        "lower", lower.time_s, lower.acc_mps2, gyr, rate_hz=RATE, mag_ut=mag
    )
    frames, info = motion_process(
        Recording.create({"lower": hit, "upper": rec.sensors["upper"]}, events=rec.events)
    )
    saturated = (frames.time_s > 22.0) & (frames.time_s < 22.09)
    disturbed = (frames.time_s > 25.01) & (frames.time_s < 25.99)
    assert np.all(frames.flags[saturated] & FLAG_SATURATED)
    assert np.all(frames.flags[disturbed] & FLAG_MAG_DISTURBANCE)
    assert not np.any(frames.flags[frames.time_s > 27.0] & (FLAG_SATURATED | FLAG_MAG_DISTURBANCE))
    assert info["flag_counts"]["magnetic disturbance"] >= 99
    assert describe_flags(int(frames.flags[disturbed][0])) == ["magnetic disturbance"]
    tracker = MotionTracker(rates_hz={"lower": RATE, "upper": RATE}, annotations=rec.events)
    out = []
    for i in range(hit.n_samples):
        out += tracker.update(
            SensorSample(
                "lower", float(hit.time_s[i]), hit.acc_mps2[i], hit.gyr_dps[i], hit.mag_ut[i]
            )
        )  # type: ignore[index]
        up = rec.sensors["upper"]
        out += tracker.update(
            SensorSample("upper", float(up.time_s[i]), up.acc_mps2[i], up.gyr_dps[i])
        )
    assert [f.flags for f in out] == frames.flags.tolist()


@pytest.mark.parametrize("rate_hz", [25.0, 50.0, 100.0])
def test_accelerometer_recovery_fires_after_the_timeout_in_seconds(rate_hz: float) -> None:
    """imufusion >= 1.3.2 takes ``rejection_timeout`` in seconds. The sensor is upright, then
    the accelerometer says 45° while the gyroscope says nothing turned: Fusion rejects the
    accelerometer, and its recovery must fire after ``recovery_trigger_period_s`` — not after
    that many *samples* (500 s at 100 Hz with the old sample count)."""
    from spinecoach.motion.fusion import FusionSettings, SensorFusion

    settings = FusionSettings(recovery_trigger_period_s=5.0)
    fusion = SensorFusion(rate_hz=rate_hz, settings=settings)
    upright = np.array([0.0, 0.0, 9.80665])
    tilted = 9.80665 * np.array([np.sin(np.pi / 4), 0.0, np.cos(np.pi / 4)])
    n_upright = int(5 * rate_hz)
    for i in range(n_upright):
        fusion.update(i / rate_hz, upright, np.zeros(3))
    fired_at_s = None
    for i in range(int(60 * rate_hz)):
        fusion.update((n_upright + i) / rate_hz, tilted, np.zeros(3))
        if fusion.flags().acceleration_recovery:
            fired_at_s = (i + 1) / rate_hz
            break
    assert fired_at_s is not None, "the accelerometer recovery never fired within 60 s"
    assert 4.5 <= fired_at_s <= 5.5, fired_at_s


def test_timestamp_jitter_does_not_add_periods_but_a_dropped_sample_does() -> None:
    """Bluetooth timestamps jitter by a fifth of a period at 100 Hz: an interval of 1.6
    periods after a late sample is not a dropped sample (that over-integrated the
    gyroscope by several degrees in fast bends); a real drop still counts two periods, and
    the streaming fusion counts the same."""
    from spinecoach.motion.fusion import FusionSettings, SensorFusion, sample_periods

    rng = np.random.default_rng(1)
    n = 2000
    k = np.arange(n, dtype=np.float64)
    k[1000:] += 1.0  # sample 1000 was dropped
    t = k / 100.0 + rng.normal(0.0, 0.002, n)
    t = np.maximum.accumulate(t + np.arange(n) * 1e-9)
    periods = sample_periods(t, 100.0, 0.25)
    # The total time is integrated right within a period or two (the first sample's own
    # jitter sets the reference), where rounding each interval adds a period every time
    # one interval happens to be long (4 % of them here).
    assert abs(int(periods[1:].sum()) - int(k[-1] - k[0])) <= 2
    assert (periods <= 2).all() and 1 <= (periods == 2).sum() <= 3
    assert (np.rint(np.diff(t) * 100.0) >= 2).sum() > 5  # the old per-interval rounding erred
    fusion = SensorFusion(rate_hz=100.0, settings=FusionSettings())
    acc = np.array([0.0, 0.0, 9.80665])
    seen = []
    for i in range(n):
        before = fusion._segment_last  # the nominal index, for this check
        fusion.update(float(t[i]), acc, np.zeros(3))
        seen.append(fusion._segment_last - before if i else 1)
    np.testing.assert_array_equal(seen, periods)
