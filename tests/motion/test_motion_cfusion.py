"""Fusion's compiled batch loop and the block streaming API: the same numbers as imufusion.

``SensorFusion.update_block`` must give exactly what n calls of ``update`` give, on
simulated and real recordings, with gaps, dropped samples and different rates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spinecoach.motion.fusion import FusionSettings, SensorFusion
from spinecoach.recording import SensorData
from spinecoach.sim import simulate


def _fusion_csv_sensor(path: Path) -> SensorData:
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return SensorData.from_arrays(
        "lower",
        data[:, 0],
        data[:, 4:7] * 9.80665,
        data[:, 1:4],
        rate_hz=100.0,
        mag_ut=data[:, 7:10],
    )


def _with_holes(sensor: SensorData, seed: int) -> SensorData:
    """Drop single samples here and there and cut two gaps of about a second."""
    rng = np.random.default_rng(seed)
    n = sensor.n_samples
    keep = rng.random(n) > 0.01
    keep[n // 3 : n // 3 + int(sensor.rate_hz)] = False
    keep[2 * n // 3 : 2 * n // 3 + int(0.4 * sensor.rate_hz)] = False
    keep[0] = True
    return SensorData.from_arrays(
        sensor.placement,
        sensor.time_s[keep],
        sensor.acc_mps2[keep],
        sensor.gyr_dps[keep],
        rate_hz=sensor.rate_hz,
        mag_ut=None if sensor.mag_ut is None else sensor.mag_ut[keep],
    )


def _per_sample(
    sensor: SensorData, settings: FusionSettings
) -> tuple[SensorFusion, np.ndarray, np.ndarray, np.ndarray]:
    fusion = SensorFusion(rate_hz=sensor.rate_hz, settings=settings)
    n = sensor.n_samples
    q = np.empty((n, 4))
    gap = np.zeros(n, dtype=bool)
    settling = np.zeros(n, dtype=bool)
    for i in range(n):
        mag = None if sensor.mag_ut is None else sensor.mag_ut[i]
        q[i] = fusion.update(float(sensor.time_s[i]), sensor.acc_mps2[i], sensor.gyr_dps[i], mag)
        gap[i], settling[i] = fusion.gap_before, fusion.settling
    return fusion, q, gap, settling


def _blocks(sensor: SensorData, settings: FusionSettings, size: int) -> tuple[SensorFusion, ...]:
    fusion = SensorFusion(rate_hz=sensor.rate_hz, settings=settings)
    qs, gaps, settles = [], [], []
    for a in range(0, sensor.n_samples, size):
        b = min(a + size, sensor.n_samples)
        mag = None if sensor.mag_ut is None else sensor.mag_ut[a:b]
        qs.append(
            fusion.update_block(sensor.time_s[a:b], sensor.acc_mps2[a:b], sensor.gyr_dps[a:b], mag)
        )
        gaps.append(fusion.last_gap_before)
        settles.append(fusion.last_settling)
    return fusion, np.concatenate(qs), np.concatenate(gaps), np.concatenate(settles)


@pytest.mark.parametrize("rate_hz", [25.0, 100.0])
@pytest.mark.parametrize("size", [1, 10, 997])
def test_update_block_equals_update_per_sample_on_a_simulation_with_holes(
    rate_hz: float, size: int
) -> None:
    rec = simulate("cat-cow", seed=3, reps=3, rate_hz=rate_hz)
    sensor = _with_holes(rec.sensors["upper"], seed=int(rate_hz) + size)
    settings = FusionSettings()
    ref, q_ref, gap_ref, settle_ref = _per_sample(sensor, settings)
    blk, q, gap, settle = _blocks(sensor, settings, size)
    assert gap_ref.sum() == 2 and settle_ref.sum() > 2
    np.testing.assert_array_equal(q, q_ref)
    np.testing.assert_array_equal(gap, gap_ref)
    np.testing.assert_array_equal(settle, settle_ref)
    # The object is left in the same state: the next sample gives the same answer.
    t_next = float(sensor.time_s[-1]) + 1.0 / rate_hz
    a, g = sensor.acc_mps2[-1], sensor.gyr_dps[-1]
    np.testing.assert_array_equal(blk.update(t_next, a, g), ref.update(t_next, a, g))
    assert blk.settling == ref.settling and blk.gap_before == ref.gap_before


def test_update_block_equals_update_on_the_real_recording_with_magnetometer(
    fusion_csv: Path,
) -> None:
    sensor = _with_holes(_fusion_csv_sensor(fusion_csv), seed=5)
    settings = FusionSettings(use_magnetometer=True)
    _, q_ref, gap_ref, _ = _per_sample(sensor, settings)
    _, q, gap, _ = _blocks(sensor, settings, 64)
    np.testing.assert_array_equal(q, q_ref)
    np.testing.assert_array_equal(gap, gap_ref)
