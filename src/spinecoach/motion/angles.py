"""Per-sample segment values and per-frame clinical angles — the arithmetic shared by the
batch pipeline (:func:`spinecoach.motion.motion_process`) and the streaming
:class:`spinecoach.motion.MotionTracker`.

Both paths call these same functions (the streaming one on arrays of one row), written
element by element rather than with matrix products so the two give the same numbers.

Per sensor sample, six values (``VALUE_FIELDS``): the sagittal inclination relative to
neutral, the frontal inclination relative to neutral, and the segment→earth quaternion.
Per output frame: the clinical angles of :mod:`spinecoach.conventions`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import (
    AXIAL_ROTATION,
    LATERAL_BEND,
    LOWER_INCLINATION,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    TRUNK_INCLINATION,
    UPPER_INCLINATION,
    frontal_inclination_from_up_deg,
    inclination_from_up_deg,
)
from spinecoach.motion.calibration import SegmentCalibration
from spinecoach.motion.flags import FLAG_GAP
from spinecoach.motion.fusion_engine import compiled_kernels

FloatArray = NDArray[np.float64]

VALUE_FIELDS = ("sagittal_deg", "frontal_deg", "qw", "qx", "qy", "qz")
N_VALUES = len(VALUE_FIELDS)


def _matrix_to_quaternion(m: FloatArray) -> FloatArray:
    """Rotation matrix (3, 3) → unit quaternion (w, x, y, z), w ≥ 0."""
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    out = np.array(q, dtype=np.float64)
    out /= np.linalg.norm(out)
    return out if out[0] >= 0 else -out


Parts = tuple[FloatArray, FloatArray, FloatArray, FloatArray]


def _parts(q: FloatArray) -> Parts:
    """The components (w, x, y, z) of (n, 4) or (4,) quaternions, each contiguous: numpy's
    loops run several times faster on contiguous arrays than on a column's stride."""
    w, x, y, z = (np.ascontiguousarray(q[..., i]) for i in range(4))
    return w, x, y, z


def _parts_multiply(a: Parts, b: Parts) -> Parts:
    """Hamilton product on components (elementwise, so one row gives what many give)."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    )


def _quat_multiply(a: FloatArray, b: FloatArray) -> FloatArray:
    """Hamilton product of (n, 4) arrays (or (n, 4) with (4,))."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape), dtype=np.float64)
    for i, part in enumerate(_parts_multiply(_parts(a), _parts(b))):
        out[..., i] = part
    return out


def sensor_values(
    up: FloatArray, quaternion: FloatArray, calibration: SegmentCalibration | None
) -> FloatArray:
    """(n, 6) per-sample values of one sensor; NaN where there is no calibration yet."""
    n = up.shape[0]
    if calibration is None or n == 0:
        return np.full((n, N_VALUES), np.nan)
    out = np.empty((n, N_VALUES), dtype=np.float64)  # every column is written below
    a = np.asarray(calibration.axes, dtype=np.float64)
    # segment→earth = sensor→earth ⊗ segment→sensor (the transpose of ``axes``).
    c = _matrix_to_quaternion(a.T)
    kernels = compiled_kernels()
    if kernels is not None and _float64_2d(up, quaternion):
        # One compiled pass, the same arithmetic in the same order as below.
        u = np.empty((3, n), dtype=np.float64)
        kernels.segment_terms(up, quaternion, a, c, u, out)
        ux, uy, uz = u[0], u[1], u[2]
    else:
        u0, u1, u2 = (np.ascontiguousarray(up[:, i]) for i in range(3))
        ux = u0 * a[0, 0] + u1 * a[0, 1] + u2 * a[0, 2]
        uy = u0 * a[1, 0] + u1 * a[1, 1] + u2 * a[1, 2]
        uz = u0 * a[2, 0] + u1 * a[2, 1] + u2 * a[2, 2]
        for i, part in enumerate(_parts_multiply(_parts(quaternion), _parts(c))):
            out[:, 2 + i] = part
    out[:, 0] = inclination_from_up_deg(ux, uy)
    out[:, 1] = frontal_inclination_from_up_deg(uz, uy)
    return out


def _float64_2d(*arrays: FloatArray) -> bool:
    """True when every array is a 2-D float64 numpy array (what the kernels take)."""
    return all(isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype == np.float64 for x in arrays)


def interpolate_frames(
    grid_s: FloatArray,
    time_s: FloatArray,
    values: FloatArray,
    flags: NDArray[np.uint8],
    *,
    max_gap_s: float,
) -> tuple[FloatArray, NDArray[np.uint8]]:
    """Values at the grid times by linear interpolation between the bracketing samples.

    Each grid time must satisfy ``time_s[0] < t <= time_s[-1]``. The bracket is the first
    sample at or after ``t`` and the one before it. Across a gap longer than
    ``max_gap_s`` the values are NaN and the frame carries ``FLAG_GAP``. ``flags`` are
    per-sample flags, OR-ed over the bracket.
    """
    kernels = compiled_kernels()
    if kernels is not None and _float64_2d(values) and flags.dtype == np.uint8:
        # One compiled merge pass: the same brackets and arithmetic as below.
        out = np.empty((grid_s.shape[0], values.shape[1]), dtype=np.float64)
        frame_flags = np.empty(grid_s.shape[0], dtype=np.uint8)
        args = (np.asarray(grid_s, dtype=np.float64), np.asarray(time_s, dtype=np.float64))
        if kernels.interpolate_rows(*args, values, flags, max_gap_s, FLAG_GAP, out, frame_flags):
            return out, frame_flags
    hi = np.searchsorted(time_s, grid_s, side="left")
    lo = hi - 1
    t0 = time_s.take(lo)
    t1 = time_s.take(hi)
    frac = (grid_s - t0) / (t1 - t0)
    # v0 + (v1 - v0) * frac, in place on one gathered copy (take: numpy's fast gather).
    v0 = values.take(lo, axis=0)
    out = values.take(hi, axis=0)
    out -= v0
    out *= frac[:, None]
    out += v0
    frame_flags = flags.take(lo) | flags.take(hi)
    gap = (t1 - t0) > max_gap_s
    if gap.any():
        out[gap] = np.nan
        frame_flags |= np.where(gap, FLAG_GAP, 0).astype(np.uint8)
    return out, frame_flags


def _axial_rotation_deg(
    lower_q: FloatArray, upper_q: FloatArray, delta_deg: FloatArray | float
) -> FloatArray:
    """Axial rotation (deg) of upper relative to lower, both segment→earth quaternions.

    ``delta_deg`` turns the upper sensor's AHRS earth frame into the lower one's (each
    AHRS without a magnetometer has its own heading). The relative rotation
    ``M = Rl^T · Rz(Δ) · Ru`` is decomposed as Rz·Rx·Ry (flexion, lateral bend, axial
    rotation: the ISB order) and the Y angle returned.
    """
    half = np.radians(delta_deg) / 2.0
    kernels = compiled_kernels()
    if kernels is not None and np.ndim(half) == 0 and _float64_2d(lower_q, upper_q):
        # One compiled pass, the same arithmetic in the same order as below.
        r20 = np.empty(lower_q.shape[0], dtype=np.float64)
        r22 = np.empty(lower_q.shape[0], dtype=np.float64)
        cos_half, sin_half = float(np.cos(half)), float(np.sin(half))
        kernels.axial_terms(lower_q, upper_q, cos_half, 0.0, 0.0, sin_half, r20, r22)
        # degrees(arctan2(-r20, r22)) in r22 (no temporaries: the same numbers).
        np.arctan2(np.negative(r20, out=r20), r22, out=r22)
        return np.degrees(r22, out=r22)
    lw, lx, ly, lz = _parts(lower_q)
    uw, ux, uy, uz = _parts(upper_q)
    # Unit quaternions; the norm summed per axis in np.linalg.norm's order.
    norm_l = np.sqrt(lw * lw + lx * lx + ly * ly + lz * lz)
    norm_u = np.sqrt(uw * uw + ux * ux + uy * uy + uz * uz)
    qu = (uw / norm_u, ux / norm_u, uy / norm_u, uz / norm_u)
    conj_l = (lw / norm_l, -(lx / norm_l), -(ly / norm_l), -(lz / norm_l))
    zero = np.zeros_like(half)
    q_delta = (np.cos(half), zero, zero, np.sin(half))
    w, x, y, z = _parts_multiply(_parts_multiply(conj_l, q_delta), qu)
    r20 = 2.0 * (x * z - w * y)
    r22 = 1.0 - 2.0 * (x * x + y * y)
    return np.asarray(np.degrees(np.arctan2(-r20, r22)), dtype=np.float64)


def combine_frames(
    lower: FloatArray | None,
    upper: FloatArray | None,
    lower_cal: SegmentCalibration | None,
    upper_cal: SegmentCalibration | None,
    nominal_inclination_deg: float,
) -> dict[str, FloatArray]:
    """Clinical angles from interpolated per-sensor values (m, 6) at the frames."""
    m = (lower if lower is not None else upper).shape[0]  # type: ignore[union-attr]
    nan = np.full(m, np.nan)
    out: dict[str, FloatArray] = {}
    lower_rel = lower[:, 0] if lower is not None else nan
    upper_rel = upper[:, 0] if upper is not None else nan
    out[LUMBAR_FLEXION] = upper_rel - lower_rel
    out[PELVIC_TILT_DEG] = lower_rel + 0.0
    out[TRUNK_INCLINATION] = upper_rel + nominal_inclination_deg
    out[UPPER_INCLINATION] = upper_rel + nominal_inclination_deg
    out[LOWER_INCLINATION] = lower_rel + nominal_inclination_deg
    if lower is not None and upper is not None:
        out[LATERAL_BEND] = upper[:, 1] - lower[:, 1]
        if lower_cal is not None and upper_cal is not None:
            delta = lower_cal.neutral_heading_deg - upper_cal.neutral_heading_deg
            out[AXIAL_ROTATION] = _axial_rotation_deg(lower[:, 2:], upper[:, 2:], delta)
        else:
            out[AXIAL_ROTATION] = nan.copy()
    else:
        out[LATERAL_BEND] = nan.copy()
        out[AXIAL_ROTATION] = nan.copy()
    return out
