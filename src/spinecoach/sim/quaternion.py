"""Vectorised unit-quaternion helpers (scalar-last ``[x, y, z, w]``, as scipy).

A quaternion ``q`` here stands for the rotation whose matrix maps local (segment or
sensor) coordinates to the parent frame, exactly like
``scipy.spatial.transform.Rotation.from_quat(q)``; ``multiply(p, q)`` is ``p * q`` (apply
``q`` first). scipy's ``Rotation`` is general but slow on millions of samples; these
few formulas run a 1-hour 100 Hz body in milliseconds.

>>> import numpy as np
>>> q = about_axis(2, np.array([90.0]))
>>> np.round(rotate(q, np.array([1.0, 0.0, 0.0])), 12).tolist()
[[0.0, 1.0, 0.0]]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def about_axis(axis: int, angle_deg: ArrayLike) -> FloatArray:
    """Rotations by ``angle_deg`` (deg, right-hand rule) about local axis 0, 1 or 2."""
    half = 0.5 * np.radians(np.asarray(angle_deg, dtype=np.float64))
    q = np.zeros((*half.shape, 4))
    q[..., axis] = np.sin(half)
    q[..., 3] = np.cos(half)
    return q


def multiply(p: ArrayLike, q: ArrayLike) -> FloatArray:
    """Hamilton product ``p ⊗ q`` (rotation ``q`` then ``p``); broadcasts."""
    a = np.asarray(p, dtype=np.float64)
    b = np.asarray(q, dtype=np.float64)
    ax, ay, az, aw = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bx, by, bz, bw = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def conjugate(q: ArrayLike) -> FloatArray:
    """The inverse of unit quaternions."""
    out = np.array(q, dtype=np.float64, copy=True)
    out[..., :3] *= -1.0
    return out


def rotate(q: ArrayLike, v: ArrayLike) -> FloatArray:
    """Rotate vectors ``v`` (local coordinates) into the parent frame; broadcasts."""
    qa = np.asarray(q, dtype=np.float64)
    va = np.asarray(v, dtype=np.float64)
    u = qa[..., :3]
    w = qa[..., 3:4]
    t = 2.0 * np.cross(u, va)
    out: FloatArray = va + w * t + np.cross(u, t)
    return out


def rotate_inverse(q: ArrayLike, v: ArrayLike) -> FloatArray:
    """Express parent-frame vectors ``v`` in local coordinates."""
    return rotate(conjugate(q), v)


def to_rotvec(q: ArrayLike) -> FloatArray:
    """Rotation vectors (rad) of unit quaternions, angle in [0, π]."""
    qa = np.asarray(q, dtype=np.float64)
    qa = np.where(qa[..., 3:4] < 0.0, -qa, qa)
    v = qa[..., :3]
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(norm, qa[..., 3:4])
    small = norm < 1e-12
    factor = np.where(
        small, 2.0 / np.maximum(qa[..., 3:4], 1e-12), angle / np.where(small, 1, norm)
    )
    out: FloatArray = v * factor
    return out
