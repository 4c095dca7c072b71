"""Sensor-to-segment alignment for the posture analysis (gravity only, no AHRS).

Three ways, best first:

``annotations`` (calibration)
    The recording's calibration windows (a still standing hold + slow forward bends),
    through :func:`spinecoach.motion.calibration.calibrate_segment` — the same method as
    the exercise pipeline, fed with quarter-second mean accelerations instead of AHRS
    up vectors (during slow bends and still holds both are gravity). Any sensor
    orientation works: Y is the measured neutral up, Z the normal of the bend plane.
``learnt``
    No calibration windows: up and forward learnt from the wear itself, for a sensor or
    phone in any orientation (:mod:`spinecoach.posture.forward`). Not trusted until
    forward is known.
``nominal``
    No walking at all (no "up"): the nominal mounting below (sensor x superior, z out of
    the skin), not trusted.
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


def unit_rows(values: FloatArray) -> FloatArray:
    """Rows scaled to unit length (NaN rows stay NaN)."""
    norm = np.linalg.norm(values, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(values / norm, dtype=np.float64)


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
