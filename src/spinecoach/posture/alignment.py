"""Sensor-to-segment alignment for the posture analysis (gravity only, no AHRS).

Three ways, best first:

``calibration``
    The recording's calibration windows (a still standing hold + slow forward bends),
    through :func:`spinecoach.motion.calibration.calibrate_segment` — the same method as
    the exercise pipeline, fed with quarter-second mean accelerations instead of AHRS
    up vectors (during slow bends and still holds both are gravity). Any sensor
    orientation works: Y is the measured neutral up, Z the normal of the bend plane.
``walking``
    No calibration windows: the mean gravity direction over the first walking seconds
    (walking is found from the acceleration alone, whatever the orientation) is the
    upright neutral, and the flexion axis is the nominal mounting's, made perpendicular.
    If that neutral is far from where the nominal mounting puts "up", the sensor is
    upside down or rotated, the flexion sign cannot be known, and the day is untrusted.
``nominal``
    Neither: the nominal mounting (sensor x superior, z out of the skin), untrusted.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import inclination_from_up_deg

FloatArray = NDArray[np.float64]

#: Nominal mounting (docs/sensors): rows are the segment's X (anterior), Y (superior) and
#: Z (right) axes in sensor coordinates for a sensor with x pointing up the spine and z
#: out of the skin.
NOMINAL_AXES: Final = np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


#: Typical sacral inclination of a standing adult (deg, forward): a sensor flat on the
#: sacrum tilts with it, so its nominal "up" while standing is this far from its x axis.
SACRAL_INCLINATION_DEG: Final = 30.0


def expected_up(placement: str) -> FloatArray:
    """Earth-up in sensor coordinates for a nominally mounted sensor while upright."""
    tilt = np.radians(SACRAL_INCLINATION_DEG if placement == "lower" else 0.0)
    up_segment = np.array([-np.sin(tilt), np.cos(tilt), 0.0])  # inclination = +tilt
    return np.asarray(NOMINAL_AXES.T @ up_segment, dtype=np.float64)


def unit_rows(values: FloatArray) -> FloatArray:
    """Rows scaled to unit length (NaN rows stay NaN)."""
    norm = np.linalg.norm(values, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(values / norm, dtype=np.float64)


def axes_from_neutral(up_neutral: FloatArray, z_hint: FloatArray) -> FloatArray:
    """Segment axes with Y = ``up_neutral`` and Z = ``z_hint`` made perpendicular."""
    y = up_neutral / np.linalg.norm(up_neutral)
    z = z_hint - (z_hint @ y) * y
    z = z / np.linalg.norm(z)
    return np.vstack([np.cross(y, z), y, z])


def segment_angles(axes: FloatArray, up_sensor: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(sagittal inclination deg, tilt of the superior axis from vertical deg) per row.

    ``up_sensor``: unit up vectors (n, 3) in sensor coordinates.

    >>> inc, tilt = segment_angles(NOMINAL_AXES, np.array([[1.0, 0.0, 0.0]]))
    >>> abs(float(inc[0])), float(tilt[0])
    (0.0, 0.0)
    """
    seg = up_sensor @ axes.T
    inclination = inclination_from_up_deg(seg[:, 0], seg[:, 1])
    tilt = np.degrees(np.arccos(np.clip(seg[:, 1], -1.0, 1.0)))
    return inclination, np.asarray(tilt, dtype=np.float64)


def angle_between_deg(a: FloatArray, b: FloatArray) -> float:
    """Angle (deg) between two vectors."""
    cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
