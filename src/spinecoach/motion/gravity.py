"""Orientation from gravity: earth-up and quaternions from the accelerometer's direction.

Used by the sensor fusion (:mod:`spinecoach.motion.fusion`) where the gyroscope cannot
help: the start of a recording, the re-seed after a gap, and a sensor without gyroscope
(:class:`AccelerometerUp`). Quaternions are sensor→earth (w, x, y, z; NWU); earth-up is
NWU z in the sensor frame.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from spinecoach.motion.fusion import FusionSettings

FloatArray = NDArray[np.float64]


def reseed_quaternion(previous: FloatArray, acc_g: FloatArray) -> FloatArray:
    """Orientation after a gap: the inclination the accelerometer measures, reached from
    the orientation before the gap by the smallest rotation about a horizontal axis.

    ``previous`` is the sensor→earth quaternion (w, x, y, z; NWU) before the gap and
    ``acc_g`` the first accelerometer sample after it (any unit: only its direction is
    used). Rotation about the vertical over the hole cannot be observed without a
    magnetometer; the smallest tilt keeps it at zero, which is exact for the sagittal
    movements of the exercises (a rotation about the person's left-right axis) and keeps
    the heading offset between the two sensors that axial rotation relies on. Without a
    usable accelerometer sample, ``previous`` is returned.

    >>> q = reseed_quaternion(np.array([1.0, 0.0, 0.0, 0.0]), np.array([0.0, 1.0, 1.0]))
    >>> np.round(up_from_quaternion(q), 4).tolist()
    [0.0, 0.7071, 0.7071]
    """
    previous = np.asarray(previous, dtype=np.float64)
    norm = float(np.linalg.norm(acc_g))
    if not np.isfinite(norm) or norm < 1e-6:
        return previous
    new_up = np.asarray(acc_g, dtype=np.float64) / norm
    old_up = up_from_quaternion(previous)
    # Sensor-frame rotation taking new_up onto old_up: axis new × old, angle between.
    w = 1.0 + float(np.dot(new_up, old_up))
    axis = np.cross(new_up, old_up)
    if w < 1e-9:  # opposite: half a turn about any axis perpendicular to them
        other = np.array([1.0, 0.0, 0.0]) if abs(new_up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        w, axis = 0.0, np.cross(new_up, other)
    turn = np.array([w, *axis])
    turn = turn / np.linalg.norm(turn)
    # previous ⊗ turn: then R_new · new_up = R_prev · old_up = earth up.
    pw, px, py, pz = previous
    tw, tx, ty, tz = turn
    return np.array(
        [
            pw * tw - px * tx - py * ty - pz * tz,
            pw * tx + px * tw + py * tz - pz * ty,
            pw * ty - px * tz + py * tw + pz * tx,
            pw * tz + px * ty - py * tx + pz * tw,
        ],
        dtype=np.float64,
    )


def up_from_quaternion(q: FloatArray) -> FloatArray:
    """Earth-up (NWU z) in the sensor frame from sensor→earth quaternions (w, x, y, z).

    Works on one quaternion (4,) or many (n, 4): the third row of the rotation matrix.
    """
    kernels = _compiled_kernels()
    if kernels is not None and isinstance(q, np.ndarray) and q.ndim == 2 and q.dtype == np.float64:
        out = np.empty((q.shape[0], 3), dtype=np.float64)
        kernels.up_rows(q, out)  # one compiled pass, the arithmetic below in its order
        return out
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    up = np.empty((*q.shape[:-1], 3), dtype=np.float64)
    ux, uy, uz = up[..., 0], up[..., 1], up[..., 2]
    np.multiply(2.0, x * z - w * y, out=ux)
    np.multiply(2.0, y * z + w * x, out=uy)
    np.add(w * w - x * x - y * y, z * z, out=uz)
    # The norm summed per axis in np.linalg.norm's order (the same numbers, without its
    # slow reduction over a short last axis or a stacked copy).
    norm = np.sqrt(ux * ux + uy * uy + uz * uz)
    up /= norm[..., None]
    return up


def _compiled_kernels() -> ModuleType | None:
    # Imported here: fusion_engine imports this module.
    from spinecoach.motion.fusion_engine import compiled_kernels

    return compiled_kernels()


def quaternion_from_up(up: FloatArray) -> FloatArray:
    """The smallest rotation (w, x, y, z; sensor→earth) that takes ``up`` (sensor frame,
    any length) onto earth-up; heading is arbitrary (zero)."""
    norm = float(np.linalg.norm(up))
    if not np.isfinite(norm) or norm < 1e-9:
        return np.array([1.0, 0.0, 0.0, 0.0])
    ux, uy, uz = up / norm
    # q = normalise(1 + u·z, u × z) with z = (0, 0, 1): u × z = (uy, -ux, 0).
    w = 1.0 + uz
    if w < 1e-9:  # upside down: half a turn about x
        return np.array([0.0, 1.0, 0.0, 0.0])
    q = np.array([w, uy, -ux, 0.0])
    return np.asarray(q / np.linalg.norm(q), dtype=np.float64)


#: Cut-off (Hz) of the low-pass that turns an accelerometer into a gravity estimate when
#: there is no gyroscope: slow trunk movements stay, steps and knocks are damped.
ACCEL_ONLY_CUTOFF_HZ = 1.5


class AccelerometerUp:
    """Earth-up from the accelerometer alone (no gyroscope): a first-order causal low-pass
    of the specific force, normalised, restarted after a gap. The same per-sample
    arithmetic serves batch and streaming, so both give the same numbers."""

    def __init__(self, *, rate_hz: float, settings: FusionSettings) -> None:
        dt = 1.0 / rate_hz
        rc = 1.0 / (2.0 * np.pi * ACCEL_ONLY_CUTOFF_HZ)
        self._alpha = dt / (rc + dt)
        self._max_gap_s = settings.max_gap_s
        self._state: list[float] | None = None
        self._last_time_s: float | None = None

    def update(self, time_s: float, acc_mps2: FloatArray) -> FloatArray:
        """One sample: the (w, x, y, z) quaternion whose earth-up is the filtered gravity."""
        ax, ay, az = (float(v) for v in acc_mps2)
        gap = self._last_time_s is not None and time_s - self._last_time_s > self._max_gap_s
        self._last_time_s = time_s
        if self._state is None or gap or not all(np.isfinite(v) for v in self._state):
            self._state = [ax, ay, az]
        else:
            a = self._alpha
            st = self._state
            st[0] += a * (ax - st[0])
            st[1] += a * (ay - st[1])
            st[2] += a * (az - st[2])
        return quaternion_from_up(np.array(self._state, dtype=np.float64))
