"""The batch pipeline's vectorised steps give the numbers of their per-sample references.

``motion_process`` computes the pelvis height with scipy's ``sosfilt`` per stretch between
restarts (:func:`spinecoach.motion.process.pelvis_height_batch_m`) instead of running the
streaming :class:`~spinecoach.motion.height.HeightEstimator` per sample
(:func:`~spinecoach.motion.height.pelvis_height_m`): the same numbers, bit for bit, also
across gaps and non-finite samples, at 25 and 100 Hz.
"""

from __future__ import annotations

import numpy as np
import pytest

from spinecoach.motion.fusion import FusionSettings, fusion_quaternions
from spinecoach.motion.height import pelvis_height_m
from spinecoach.motion.process import pelvis_height_batch_m
from spinecoach.recording import SensorData
from spinecoach.sim import simulate


@pytest.mark.parametrize("rate_hz", [25.0, 100.0])
def test_batch_height_equals_the_per_sample_estimator_across_gaps_and_nan(rate_hz: float) -> None:
    rec = simulate("flexion-extension", seed=5, reps=3, rate_hz=rate_hz)
    s = rec.sensors["lower"]
    n = s.n_samples
    keep = np.ones(n, dtype=bool)
    keep[n // 4 : n // 4 + int(rate_hz)] = False  # a 1-s gap
    keep[n // 2 : n // 2 + 2] = False  # a dropped pair: no restart (under max_gap_s)
    acc = s.acc_mps2[keep].copy()
    m = int(keep.sum())
    acc[m // 3] = np.nan  # one bad sample
    acc[2 * m // 3 : 2 * m // 3 + 3] = np.nan  # and three in a row
    acc[-1] = np.nan  # and the last one
    sensor = SensorData.from_arrays("lower", s.time_s[keep], acc, s.gyr_dps[keep], rate_hz=rate_hz)
    q = fusion_quaternions(sensor, FusionSettings())
    kwargs = {"rate_hz": rate_hz, "max_gap_s": FusionSettings().max_gap_s}
    reference = pelvis_height_m(sensor.time_s, sensor.acc_mps2, q, **kwargs)
    fast = pelvis_height_batch_m(sensor.time_s, sensor.acc_mps2, q, **kwargs)
    assert np.isnan(reference).sum() >= 5
    assert np.nanmax(np.abs(reference)) > 0.005  # the filter really moved
    np.testing.assert_array_equal(fast, reference)
    empty = np.zeros((0, 3))
    assert pelvis_height_batch_m(np.zeros(0), empty, np.zeros((0, 4)), **kwargs).shape == (0,)


def test_compiled_angle_kernels_give_numpys_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """sensor_values, interpolate_frames and combine_frames run compiled kernels when the
    extension is built; the numpy fallback computes the same, bit for bit (also on NaN)."""
    from scipy.spatial.transform import Rotation

    from spinecoach.motion import angles
    from spinecoach.motion.calibration import SegmentCalibration

    assert angles.compiled_kernels() is not None
    rng = np.random.default_rng(11)
    n = 5000
    up = rng.normal(size=(n, 3))
    up /= np.linalg.norm(up, axis=1, keepdims=True)
    q = rng.normal(size=(n, 4))
    q[7] = np.nan
    t = np.cumsum(rng.uniform(0.005, 0.015, n))
    grid = np.linspace(t[0] + 1e-4, t[-1], n - 7)
    flags = rng.integers(0, 4, n).astype(np.uint8)
    cals = []
    for placement, rotvec in (("lower", [0.3, -0.2, 0.5]), ("upper", [-0.1, 0.4, 0.2])):
        cal = SegmentCalibration(
            placement=placement,
            axes=Rotation.from_rotvec(rotvec).as_matrix(),
            nominal_inclination_deg=10.0,
            functional_rotation_deg=30.0,
            axis_tilt_deg=0.0,
            ready_time_s=0.0,
            neutral_heading_deg=30.0 * rotvec[0],
        )
        cals.append(cal)

    def run() -> list[np.ndarray]:
        values = [angles.sensor_values(up, q, c) for c in cals]
        frames = [angles.interpolate_frames(grid, t, v, flags, max_gap_s=0.0145) for v in values]
        combined = angles.combine_frames(frames[0][0], frames[1][0], cals[0], cals[1], 10.0)
        return [*values, *(f[0] for f in frames), *(f[1] for f in frames), *combined.values()]

    compiled = run()
    monkeypatch.setattr(angles, "compiled_kernels", lambda: None)
    reference = run()
    assert np.isnan(compiled[2]).any()  # gaps made NaN frames
    for a, b in zip(compiled, reference, strict=True):
        np.testing.assert_array_equal(a, b)


def test_compiled_up_and_flag_kernels_give_numpys_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    from spinecoach.motion import fusion_engine
    from spinecoach.motion.fusion import sample_flags
    from spinecoach.motion.gravity import up_from_quaternion

    rng = np.random.default_rng(12)
    n = 4000
    q = rng.normal(size=(n, 4))
    q[3] = np.nan
    acc = rng.normal(size=(n, 3)) * 80.0
    gyr = rng.normal(size=(n, 3)) * 900.0
    mag = rng.normal(size=(n, 3)) * 40.0
    acc[5, 1] = np.nan
    gyr[6] = [-2000.0, 0.0, 0.0]
    settings = FusionSettings()

    def run() -> list[np.ndarray]:
        return [up_from_quaternion(q), sample_flags(acc, gyr, mag, settings)]

    compiled = run()
    monkeypatch.setattr(fusion_engine, "_cfusion_module", None)
    reference = run()
    assert 0 < np.count_nonzero(compiled[1]) < n
    for a, b in zip(compiled, reference, strict=True):
        np.testing.assert_array_equal(a, b)


def test_compiled_sample_periods_give_numpys_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jittered timestamps, dropped samples, a gap, a time far off the grid."""
    from spinecoach.motion import fusion_engine
    from spinecoach.motion.fusion import sample_periods

    rng = np.random.default_rng(13)
    k = np.arange(20_000, dtype=np.float64)
    k[5000:] += 1.0
    k[9000:] += 3.0
    k[12_000:] += 200.0  # a 2-s gap at 100 Hz
    t = k / 100.0 + rng.normal(0.0, 0.002, k.size)
    t = np.maximum.accumulate(t + np.arange(k.size) * 1e-9)
    t[15_000:] += 0.0149  # one long interval under the gap threshold
    compiled = sample_periods(t, 100.0, 0.25)
    monkeypatch.setattr(fusion_engine, "_cfusion_module", None)
    reference = sample_periods(t, 100.0, 0.25)
    assert compiled.max() >= 4 and (compiled == 2).sum() >= 1
    np.testing.assert_array_equal(compiled, reference)
