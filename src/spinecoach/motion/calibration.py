"""Sensor-to-segment calibration: which sensor axes are the segment's X, Y and Z.

A sensor sits on the skin at any angle (the simulator rotates it up to ±20° about each
axis; a phone in a belt may be anywhere). Two windows, prompted by the coach or found
automatically, fix the segment frame in sensor coordinates:

neutral (a still posture of a few seconds, in the exercise's start position)
    The mean earth-up direction in the sensor frame becomes the segment's *functional*
    superior axis Y. Relative angles are zero here; the absolute inclination of the
    position is its nominal value (``POSITION_NOMINAL_INCLINATION_DEG``).
functional (a few slow forward bends, standing or seated)
    During a sagittal movement the up vector sweeps a great circle whose normal is the
    flexion axis. The normal of the best-fitting plane through the origin (smallest
    singular vector) is the mediolateral axis Z, made perpendicular to Y. Its sign is
    chosen so that the bends come out as flexion (positive). X = Y × Z.

Only gravity is used, never heading, so a sensor without a magnetometer calibrates the
same as one with. Because the flexion axis is anatomical, the functional window need not
be in the same position as the neutral one: the coach asks for forward bends while
standing, then for a still hold on the mat.

>>> import numpy as np
>>> a = np.radians(np.linspace(0, 40, 50))
>>> sweep = np.stack([np.sin(a), np.zeros(50), np.cos(a)], axis=1)  # rotation about y
>>> cal = calibrate_segment(
...     "lower", np.tile([0.0, 0.0, 1.0], (20, 1)), sweep, nominal_inclination_deg=0.0,
...     ready_time_s=10.0)
>>> np.round(cal.axes, 6).tolist()  # rows X, Y, Z of the segment in sensor axes
[[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import (
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_NEUTRAL,
    inclination_from_up_deg,
)
from spinecoach.errors import CalibrationError
from spinecoach.recording import Event

FloatArray = NDArray[np.float64]

#: A functional window in which the sensor turned less than this (deg) gives no axis.
MIN_FUNCTIONAL_ROTATION_DEG = 4.0
#: The flexion axis should be horizontal in the neutral posture; beyond this tilt (deg)
#: the calibration is kept but flagged as asymmetric.
MAX_AXIS_TILT_DEG = 25.0


@dataclass(frozen=True, eq=False)
class SegmentCalibration:
    """The segment frame of one sensor.

    axes: (3, 3), rows = segment X (anterior), Y (superior), Z (right) in sensor axes.
    nominal_inclination_deg: absolute inclination of the segment in the neutral posture.
    functional_rotation_deg: how far the sensor turned during the functional window.
    axis_tilt_deg: how far the flexion axis was from horizontal in the neutral posture.
    ready_time_s: the calibration applies to samples strictly after this time.
    neutral_heading_deg: heading of the segment's Z axis in this sensor's AHRS earth
    frame during the neutral window (aligns two sensors' headings for axial rotation).
    """

    placement: str
    axes: FloatArray
    nominal_inclination_deg: float
    functional_rotation_deg: float
    axis_tilt_deg: float
    ready_time_s: float
    neutral_heading_deg: float = 0.0
    method: str = "annotations"
    confidence: float = 1.0
    device: str = "unknown"

    def describe(self) -> dict[str, object]:
        return {
            "placement": self.placement,
            "axes_in_sensor_frame": np.round(self.axes, 6).tolist(),
            "nominal_inclination_deg": self.nominal_inclination_deg,
            "functional_rotation_deg": round(self.functional_rotation_deg, 2),
            "axis_tilt_deg": round(self.axis_tilt_deg, 2),
            "ready_time_s": self.ready_time_s,
            "asymmetric_neutral": self.axis_tilt_deg > MAX_AXIS_TILT_DEG,
            "method": self.method,
            "confidence": round(self.confidence, 2),
            "device": self.device,
        }


@dataclass(frozen=True)
class CalibrationPlan:
    """The neutral and functional windows (seconds since the recording start)."""

    neutral: tuple[float, float]
    functional: tuple[float, float]
    source: str  # "annotations" or "auto"
    ready_time_s: float  # applies to samples strictly after this time


def rotate_by_quaternion(q: FloatArray, v: FloatArray) -> FloatArray:
    """Rotate the fixed vector ``v`` (3,) by each quaternion of ``q`` (n, 4), (w, x, y, z)."""
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    vx, vy, vz = float(v[0]), float(v[1]), float(v[2])
    out = np.empty((q.shape[0], 3))
    out[:, 0] = (1 - 2 * (y * y + z * z)) * vx + 2 * (x * y - w * z) * vy + 2 * (x * z + w * y) * vz
    out[:, 1] = 2 * (x * y + w * z) * vx + (1 - 2 * (x * x + z * z)) * vy + 2 * (y * z - w * x) * vz
    out[:, 2] = 2 * (x * z - w * y) * vx + 2 * (y * z + w * x) * vy + (1 - 2 * (x * x + y * y)) * vz
    return out


def _unit(v: FloatArray) -> FloatArray:
    return np.asarray(v / np.linalg.norm(v), dtype=np.float64)


def calibrate_segment(
    placement: str,
    up_neutral: FloatArray,
    up_functional: FloatArray,
    *,
    nominal_inclination_deg: float,
    ready_time_s: float,
    quat_neutral: FloatArray | None = None,
) -> SegmentCalibration:
    """Segment axes from the up vectors (sensor frame) of the two windows.

    Raises :class:`CalibrationError` when a window is empty or the sensor did not turn
    enough during the functional movement.
    """
    if up_neutral.shape[0] < 2:
        raise CalibrationError(
            f"{placement} sensor: the neutral window holds {up_neutral.shape[0]} samples; "
            "hold still in the start position for a few seconds"
        )
    if up_functional.shape[0] < 10:
        raise CalibrationError(
            f"{placement} sensor: the functional window holds {up_functional.shape[0]} "
            "samples; do a few slow forward bends"
        )
    y_axis = _unit(up_neutral.mean(axis=0))
    first = _unit(up_functional[: max(1, up_functional.shape[0] // 20)].mean(axis=0))
    spread = np.degrees(np.arccos(np.clip(up_functional @ first, -1.0, 1.0)))
    rotation_deg = float(spread.max())
    if rotation_deg < MIN_FUNCTIONAL_ROTATION_DEG:
        raise CalibrationError(
            f"{placement} sensor turned only {rotation_deg:.1f}° during the functional "
            f"movement (at least {MIN_FUNCTIONAL_ROTATION_DEG:.0f}° needed); bend forward "
            "further and check that the sensor is attached firmly"
        )
    # The normal of the plane (through the origin) the up vector swept.
    _, _, vt = np.linalg.svd(up_functional, full_matrices=False)
    normal = vt[2]
    axis_tilt = float(np.degrees(np.arcsin(min(1.0, abs(float(normal @ y_axis))))))
    z_axis = _unit(normal - (normal @ y_axis) * y_axis)
    # Sign: the bends are flexion. Measure the sweep with the tentative frame of the
    # functional window's own start and flip Z if its largest excursion is negative.
    x_tentative = np.cross(first, z_axis)
    sweep = inclination_from_up_deg(up_functional @ x_tentative, up_functional @ first)
    if sweep[int(np.argmax(np.abs(sweep)))] < 0:
        z_axis = -z_axis
    x_axis = np.cross(y_axis, z_axis)
    axes = np.vstack([x_axis, y_axis, z_axis])
    axes.setflags(write=False)
    heading = 0.0
    if quat_neutral is not None and quat_neutral.shape[0]:
        z_earth = rotate_by_quaternion(quat_neutral, z_axis).mean(axis=0)
        heading = float(np.degrees(np.arctan2(z_earth[1], z_earth[0])))
    return SegmentCalibration(
        placement=placement,
        axes=axes,
        nominal_inclination_deg=float(nominal_inclination_deg),
        functional_rotation_deg=rotation_deg,
        axis_tilt_deg=axis_tilt,
        ready_time_s=float(ready_time_s),
        neutral_heading_deg=heading,
    )


def plan_from_events(events: Sequence[Event]) -> CalibrationPlan | None:
    """The first calibration: the earliest neutral and the earliest functional window.

    A later re-calibration is done by starting a new tracker (one calibration per run
    keeps batch and streaming identical).
    """
    neutral = [e for e in events if e.kind == EVENT_CALIBRATION_NEUTRAL]
    functional = [e for e in events if e.kind == EVENT_CALIBRATION_FUNCTIONAL]
    if not neutral or not functional:
        return None
    n = min(neutral, key=lambda e: e.end_s)
    f = min(functional, key=lambda e: e.end_s)
    ready = max(n.end_s, f.end_s)
    return CalibrationPlan((n.start_s, n.end_s), (f.start_s, f.end_s), "annotations", ready)


class AutoCalibrationDetector:
    """Find the calibration windows in a recording without annotations (causal).

    neutral
        the first ``neutral_s`` of stillness (gyroscope magnitude under
        ``still_threshold_dps``) that starts after ``settle_s`` (the AHRS start-up).
    functional
        from the end of the neutral window until the sensor, having turned at least
        ``min_rotation_deg`` away from neutral, has been still again for ``still_again_s``.

    Feed one sensor's samples to :meth:`update`; it returns the plan at the sample that
    completes it (``ready_time_s`` is that sample's time) and None before. The search
    stops after ``search_limit_s`` so a long recording without calibration costs little.
    The batch pipeline feeds the same samples through the same object, so batch and
    streaming find the same windows.
    """

    def __init__(
        self,
        *,
        rate_hz: float,
        still_threshold_dps: float = 4.0,
        neutral_s: float = 2.0,
        settle_s: float = 3.0,
        min_rotation_deg: float = 15.0,
        still_again_s: float = 1.0,
        search_limit_s: float = 600.0,
    ) -> None:
        self._threshold = still_threshold_dps
        self._need = max(2, round(neutral_s * rate_hz))
        self._settle_s = settle_s
        self._cos_min = float(np.cos(np.radians(min_rotation_deg)))
        self._still_need = max(2, round(still_again_s * rate_hz))
        self._limit_s = search_limit_s
        self._t0: float | None = None
        self._phase = "neutral"
        self._run = 0
        self._times: list[float] = []
        self._ups: list[FloatArray] = []
        self._neutral: tuple[float, float] | None = None
        self._y_axis: FloatArray | None = None
        self.done = False

    def update(self, time_s: float, gyr_dps: FloatArray, up: FloatArray) -> CalibrationPlan | None:
        if self.done:
            return None
        if self._t0 is None:
            self._t0 = time_s
        if time_s - self._t0 > self._limit_s:
            self.done = True
            return None
        still = float(np.linalg.norm(gyr_dps)) < self._threshold
        if self._phase == "neutral":
            if time_s < self._t0 + self._settle_s:
                return None
            self._run = self._run + 1 if still else 0
            self._times.append(time_s)
            self._ups.append(up)
            if self._run >= self._need:
                window = np.array(self._ups[-self._need :])
                self._y_axis = _unit(window.mean(axis=0))
                self._neutral = (self._times[-self._need], time_s)
                self._phase = "moving"
                self._times.clear()
                self._ups.clear()
            return None
        if self._phase == "moving":
            if self._y_axis is not None and float(up @ self._y_axis) <= self._cos_min:
                self._phase = "settling"
                self._run = 0
            return None
        self._run = self._run + 1 if still else 0
        self._times.append(time_s)
        if self._run >= self._still_need and self._neutral is not None:
            self.done = True
            end = self._times[-self._still_need]
            return CalibrationPlan(self._neutral, (self._neutral[1], end), "auto", time_s)
        return None
