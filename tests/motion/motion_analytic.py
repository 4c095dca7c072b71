"""Analytic IMU signals with known answers: a segment turning in the sagittal plane.

The segment's inclination follows ``theta_deg(t)``; the sensor sits on it with a fixed,
arbitrary mounting rotation. Accelerometer = gravity only, gyroscope = the exact angular
velocity: no noise, so the pipeline's answer can be compared with the truth tightly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.recording import Recording, SensorData

R_UPRIGHT = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def sagittal_sensor(
    placement: str,
    time_s: NDArray[np.float64],
    theta_deg: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    mount: Rotation,
    *,
    rate_hz: float,
) -> SensorData:
    theta = theta_deg(time_s)
    dt = 1e-4
    theta_dot = (theta_deg(time_s + dt) - theta_deg(time_s - dt)) / (2 * dt)  # deg/s
    seg = Rotation.from_matrix(R_UPRIGHT) * Rotation.from_euler("z", -theta[:, None], degrees=True)
    sensor = seg * mount
    acc = sensor.inv().apply([0.0, 0.0, STANDARD_GRAVITY_MPS2])
    omega_seg = np.column_stack([np.zeros_like(theta), np.zeros_like(theta), -theta_dot])
    gyr = mount.inv().apply(omega_seg)
    return SensorData.from_arrays(placement, time_s, acc, gyr, rate_hz=rate_hz)


def bends(t: NDArray[np.float64]) -> NDArray[np.float64]:
    """Still until 5 s, two 40° bends (5-9 s, 9-13 s), then still; then a 10° lean at 20-24 s."""
    out = np.zeros_like(t)
    phase = (t - 5.0) / 4.0
    m = (t >= 5.0) & (t < 13.0)
    out[m] = 20.0 * (1 - np.cos(2 * np.pi * phase[m]))
    m2 = (t >= 20.0) & (t < 24.0)
    out[m2] = 5.0 * (1 - np.cos(2 * np.pi * (t[m2] - 20.0) / 4.0))
    return out


def stream_samples(tracker: Any, recording: Recording) -> list[Any]:
    """Feed every sample of ``recording`` to a ``MotionTracker`` in time order, one at a
    time (sensors interleaved as they would arrive live), then ``finish()``; returns all
    the frames emitted."""
    from spinecoach.motion import SensorSample

    samples = sorted(
        (float(s.time_s[i]), p, i) for p, s in recording.sensors.items() for i in range(s.n_samples)
    )
    out: list[Any] = []
    for t, p, i in samples:
        s = recording.sensors[p]
        out += tracker.update(SensorSample(p, t, s.acc_mps2[i], s.gyr_dps[i]))
    return out + tracker.finish()
