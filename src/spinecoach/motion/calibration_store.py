"""A person's calibration kept between sessions, and the 5-second neutral check that
decides whether it still holds (issue 15 item 6: calibrate once, not every session).

What is kept (:class:`PersonalCalibration`): per sensor its segment axes in sensor
coordinates (rows X anterior, Y superior, Z right: :class:`~.calibration.SegmentCalibration`
``axes``) with the device it was worn as, the start position whose neutral gave Y, and the
personal range (deg) of the technique calibrated (the calibration rep's range).

The neutral check (:func:`neutral_check`). A session with a kept calibration starts with
5 s of stillness in its own start position; the mean gravity direction of each sensor in
that window (earth-up in sensor axes) is compared with what the kept axes predict:

* **off-axis tilt**: the flexion axis Z is horizontal in every sagittal position (lying,
  sitting, standing, on hands and knees), so earth-up must stay perpendicular to the kept
  Z whatever the position: ``asin(up · Z)`` beyond :data:`MAX_OFF_AXIS_DEG` means the
  sensor was turned on the skin (or is another device worn differently);
* **sagittal inclination** of up in the kept frame against the change the positions
  predict (the nominal inclinations of the two positions): beyond
  :data:`MAX_SAGITTAL_DEG` the sensor was flipped or worn elsewhere (a few degrees of
  posture between days are normal and harmless: the neutral is taken afresh);
* **between the two sensors**, only when the start position is the one the neutral was
  kept in: the angle between their up directions should be what it was (within
  :data:`MAX_RELATIVE_DEG`); in another position the lumbar curve differs, so it says
  nothing;
* the sensors must be the same placements (and the same devices where both are known),
  and still during the window (spread under :data:`MAX_SPREAD_DEG`).

What gravity cannot tell (written down, not hidden): a turn about the gravity direction
of the check's position is invisible to it — lying on the back, a sensor turned about
the skin's normal; standing or sitting, a turn about the spine's long axis. Such a
turn passes the check; it changes the flexion axis by the turn's cosine (a 10° turn:
1.5 % of the range).

When it passes, :func:`calibrations_from_check` makes the session's calibration: the
neutral (Y) afresh from the check window (a re-attached sensor sits a little
differently and the neutral is the person's posture of today), the kept flexion axis Z
made perpendicular to it, X = Y × Z. So a session calibrated from the check measures the
same angles as one calibrated with the whole protocol whenever its flexion axis would
have come out the same.

>>> import numpy as np
>>> axes = np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
>>> kept = PersonalCalibration("standing", {"lower": KeptSensor("lower", "imu-1", axes)})
>>> neutral_check(kept, {"lower": np.tile([1.0, 0.0, 0.0], (50, 1))}, position="standing").passed
True
>>> neutral_check(kept, {"lower": np.tile([0.9, 0.44, 0.0], (50, 1))}, position="standing").passed
False
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import (
    PLACEMENTS,
    POSITION_NOMINAL_INCLINATION_DEG,
    inclination_from_up_deg,
)
from spinecoach.errors import ConfigurationError
from spinecoach.motion.calibration import SegmentCalibration, rotate_by_quaternion
from spinecoach.motion.stream import MotionTracker

FloatArray = NDArray[np.float64]

#: Seconds of stillness of the neutral check (the coach's prompt and the simulator's).
NEUTRAL_CHECK_S: Final = 5.0
#: Earth-up may leave the plane perpendicular to the kept flexion axis by this much (deg)
#: before the sensor counts as turned on the skin. Simulated sessions of other days with
#: the same sensors stay within 1.2° (seeds 2-4, every position); a sensor turned 15°
#: shows 7-13° where gravity can see the turn (see the module notes).
MAX_OFF_AXIS_DEG: Final = 5.0
#: Sagittal inclination of earth-up in the kept frame beyond the positions' predicted
#: change (deg): more than posture (the pelvis rolls back ~20° sitting down), less than
#: a flipped or misplaced sensor.
MAX_SAGITTAL_DEG: Final = 40.0
#: Same start position: the angle between the two sensors' up directions may differ
#: from the kept one by this much (deg; a person's lumbar curve varies by a few degrees).
MAX_RELATIVE_DEG: Final = 12.0
#: The sensor must be still in the window: up directions within this of their mean (deg).
MAX_SPREAD_DEG: Final = 6.0
#: Method name of a calibration made from a kept one (``SegmentCalibration.method``).
STORED_METHOD: Final = "stored"
#: Version of the JSON form (:meth:`PersonalCalibration.to_json`).
JSON_VERSION: Final = 1


def _unit(v: FloatArray) -> FloatArray:
    return np.asarray(v / np.linalg.norm(v), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class KeptSensor:
    """One sensor's kept calibration: ``axes`` (3, 3), rows segment X, Y, Z in sensor
    axes (Y: earth-up in the kept neutral); ``device``: the device worn ("unknown" when
    not known)."""

    placement: str
    device: str
    axes: FloatArray

    def __post_init__(self) -> None:
        axes = np.asarray(self.axes, dtype=np.float64)
        if self.placement not in PLACEMENTS:
            raise ConfigurationError(
                f"kept calibration: unknown placement {self.placement!r}; use "
                + " or ".join(PLACEMENTS)
            )
        if axes.shape != (3, 3) or not np.isfinite(axes).all():
            raise ConfigurationError(
                f"kept calibration: the {self.placement} sensor's axes must be a 3 × 3 matrix "
                "of numbers; calibrate again with the whole protocol"
            )
        object.__setattr__(self, "axes", axes)


@dataclass(frozen=True, eq=False)
class PersonalCalibration:
    """A person's calibration kept between sessions: the start ``position`` of the kept
    neutral, the ``sensors`` by placement, personal ranges (deg) by technique and, when
    read back from the store, ``calibrated_utc`` (ISO 8601) of the session it came
    from."""

    position: str
    sensors: Mapping[str, KeptSensor]
    ranges_deg: Mapping[str, float] = field(default_factory=dict)
    calibrated_utc: str | None = None
    #: How the sensors were worn, where the source knows it (the simulator's mounting),
    #: by placement; plain JSON values, not used by the check.
    wear: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.position not in POSITION_NOMINAL_INCLINATION_DEG:
            raise ConfigurationError(
                f"kept calibration: unknown position {self.position!r}; use one of "
                + ", ".join(POSITION_NOMINAL_INCLINATION_DEG)
            )
        if not self.sensors:
            raise ConfigurationError("kept calibration: no sensor; calibrate with the protocol")

    @property
    def placements(self) -> tuple[str, ...]:
        return tuple(p for p in PLACEMENTS if p in self.sensors)

    @classmethod
    def from_segments(
        cls,
        position: str,
        calibrations: Mapping[str, SegmentCalibration | None],
        *,
        ranges_deg: Mapping[str, float] | None = None,
        wear: Mapping[str, Any] | None = None,
    ) -> PersonalCalibration:
        """From a tracker's calibrations (every sensor calibrated, else a
        :class:`ConfigurationError`)."""
        missing = [p for p, c in calibrations.items() if c is None]
        if missing or not calibrations:
            raise ConfigurationError(
                f"cannot keep the calibration: the {', '.join(missing) or 'sensors'} "
                "sensor(s) are not calibrated; finish the calibration first"
            )
        sensors = {
            p: KeptSensor(p, c.device, np.array(c.axes))
            for p, c in calibrations.items()
            if c is not None
        }
        ranges = {k: float(v) for k, v in (ranges_deg or {}).items() if math.isfinite(v)}
        return cls(position, sensors, ranges, None, dict(wear or {}))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (the store keeps this)."""
        return {
            "spinecoach_personal_calibration": JSON_VERSION,
            "position": self.position,
            "sensors": {
                p: {"device": s.device, "axes_in_sensor_frame": np.round(s.axes, 9).tolist()}
                for p, s in self.sensors.items()
            },
            "ranges_deg": dict(self.ranges_deg),
            "wear": dict(self.wear),
        }

    @classmethod
    def from_json(
        cls, payload: Mapping[str, Any], *, calibrated_utc: str | None = None
    ) -> PersonalCalibration:
        """Back from :meth:`to_json`; a :class:`ConfigurationError` names what is wrong."""
        if payload.get("spinecoach_personal_calibration") != JSON_VERSION or not isinstance(
            payload.get("sensors"), Mapping
        ):
            raise ConfigurationError(
                "not a kept spinecoach calibration (expected "
                '{"spinecoach_personal_calibration": 1, "sensors": {...}}); calibrate again'
            )
        sensors = {
            str(p): KeptSensor(
                str(p),
                str(item.get("device", "unknown")),
                np.asarray(item.get("axes_in_sensor_frame")),
            )
            for p, item in payload["sensors"].items()
        }
        ranges = {str(k): float(v) for k, v in (payload.get("ranges_deg") or {}).items()}
        return cls(
            str(payload.get("position")), sensors, ranges, calibrated_utc, payload.get("wear") or {}
        )


@dataclass(frozen=True)
class SensorCheck:
    """One sensor in the neutral check (deg): off-axis tilt of earth-up from the plane
    perpendicular to the kept flexion axis, its sagittal inclination in the kept frame
    and the inclination the positions predict, the spread of the window; ``problem``
    says what failed ("" when it passed)."""

    placement: str
    off_axis_deg: float
    sagittal_deg: float
    expected_sagittal_deg: float
    spread_deg: float
    problem: str = ""


@dataclass(frozen=True)
class NeutralCheck:
    """The verdict of the neutral check: ``passed``, each sensor's figures, the angle
    between the two sensors now and kept (deg, NaN when not compared) and ``reason``
    (plain words, "" when it passed)."""

    passed: bool
    position: str
    sensors: tuple[SensorCheck, ...]
    reason: str = ""
    relative_deg: float = math.nan
    kept_relative_deg: float = math.nan

    def describe(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "position": self.position,
            "reason": self.reason,
            "sensors": {
                s.placement: {
                    "off_axis_deg": round(s.off_axis_deg, 2),
                    "sagittal_deg": round(s.sagittal_deg, 2),
                    "expected_sagittal_deg": round(s.expected_sagittal_deg, 2),
                    "spread_deg": round(s.spread_deg, 2),
                    "problem": s.problem,
                }
                for s in self.sensors
            },
        }


def _failed(position: str, reason: str) -> NeutralCheck:
    return NeutralCheck(False, position, (), reason)


def _angle_deg(a: FloatArray, b: FloatArray) -> float:
    return math.degrees(math.acos(max(-1.0, min(1.0, float(_unit(a) @ _unit(b))))))


def _sensor_check(kept: KeptSensor, ups: FloatArray, expected_deg: float) -> SensorCheck:
    up = _unit(ups.mean(axis=0))
    spread = max(_angle_deg(u, up) for u in ups) if len(ups) else math.inf
    x_axis, y_axis, z_axis = kept.axes
    off_axis = math.degrees(math.asin(max(-1.0, min(1.0, float(up @ _unit(z_axis))))))
    sagittal = float(inclination_from_up_deg(float(up @ x_axis), float(up @ y_axis)))
    change = (sagittal - expected_deg + 180.0) % 360.0 - 180.0
    problem = ""
    if spread > MAX_SPREAD_DEG:
        problem = f"moved during the check ({spread:.0f}° of {MAX_SPREAD_DEG:.0f}° allowed)"
    elif abs(off_axis) > MAX_OFF_AXIS_DEG:
        problem = (
            f"turned on the skin: tilted {abs(off_axis):.0f}° off its flexion axis "
            f"(at most {MAX_OFF_AXIS_DEG:.0f}°)"
        )
    elif abs(change) > MAX_SAGITTAL_DEG:
        problem = (
            f"inclined {abs(change):.0f}° from what the position predicts "
            f"(at most {MAX_SAGITTAL_DEG:.0f}°)"
        )
    return SensorCheck(kept.placement, off_axis, sagittal, expected_deg, spread, problem)


def neutral_check(
    kept: PersonalCalibration,
    ups: Mapping[str, FloatArray],
    *,
    position: str,
    devices: Mapping[str, str] | None = None,
) -> NeutralCheck:
    """Does ``kept`` still hold? ``ups``: each sensor's earth-up directions in sensor axes
    (n, 3) over the check window, held still in the session's start ``position``;
    ``devices``: the devices worn now by placement (unknown ones are not compared)."""
    if position not in POSITION_NOMINAL_INCLINATION_DEG:
        raise ConfigurationError(
            f"neutral check: unknown position {position!r}; use one of "
            + ", ".join(POSITION_NOMINAL_INCLINATION_DEG)
        )
    worn = tuple(p for p in PLACEMENTS if p in ups)
    if worn != kept.placements:
        return _failed(
            position,
            f"the sensors worn now ({', '.join(worn) or 'none'}) are not the ones calibrated "
            f"({', '.join(kept.placements)})",
        )
    for placement, device in (devices or {}).items():
        before = kept.sensors[placement].device if placement in kept.sensors else "unknown"
        if "unknown" not in (device, before) and device != before:
            return _failed(
                position, f"the {placement} sensor is another device ({device}, was {before})"
            )
    empty = [p for p in worn if len(ups[p]) < 2]
    if empty:
        return _failed(position, f"no data from the {', '.join(empty)} sensor in the check")
    expected = (
        POSITION_NOMINAL_INCLINATION_DEG[position] - POSITION_NOMINAL_INCLINATION_DEG[kept.position]
    )
    checks = tuple(_sensor_check(kept.sensors[p], np.asarray(ups[p]), expected) for p in worn)
    problems = [f"the {c.placement} sensor {c.problem}" for c in checks if c.problem]
    relative = kept_relative = math.nan
    if len(worn) == 2 and position == kept.position:
        first, second = (_unit(np.asarray(ups[p]).mean(axis=0)) for p in worn)
        relative = _angle_deg(first, second)
        a, b = (kept.sensors[p].axes[1] for p in worn)
        kept_relative = _angle_deg(a, b)
        if not problems and abs(relative - kept_relative) > MAX_RELATIVE_DEG:
            problems.append(
                f"the two sensors sit {abs(relative - kept_relative):.0f}° differently to each "
                f"other than when calibrated (at most {MAX_RELATIVE_DEG:.0f}°)"
            )
    return NeutralCheck(
        not problems, position, checks, "; ".join(problems), relative, kept_relative
    )


def calibrations_from_check(
    kept: PersonalCalibration,
    ups: Mapping[str, FloatArray],
    quats: Mapping[str, FloatArray],
    *,
    nominal_inclination_deg: float,
    ready_time_s: float,
) -> dict[str, SegmentCalibration]:
    """The session's calibration from a passed check: Y = the mean up of the check window
    (sensor axes), Z = the kept flexion axis made perpendicular to Y, X = Y × Z;
    ``quats`` (n, 4) of the window give the neutral heading (as
    :func:`~.calibration.calibrate_segment`); ``nominal_inclination_deg`` is the session's
    position's."""
    out: dict[str, SegmentCalibration] = {}
    for placement, sensor in kept.sensors.items():
        y_axis = _unit(np.asarray(ups[placement]).mean(axis=0))
        z_kept = _unit(sensor.axes[2])
        z_axis = _unit(z_kept - (z_kept @ y_axis) * y_axis)
        x_axis = np.cross(y_axis, z_axis)
        axes = np.vstack([x_axis, y_axis, z_axis])
        axes.setflags(write=False)
        q = np.asarray(quats.get(placement, np.empty((0, 4))))
        heading = 0.0
        if q.shape[0]:
            z_earth = rotate_by_quaternion(q, z_axis).mean(axis=0)
            heading = float(np.degrees(np.arctan2(z_earth[1], z_earth[0])))
        tilt = math.degrees(math.asin(min(1.0, abs(float(z_kept @ y_axis)))))
        out[placement] = SegmentCalibration(
            placement=placement,
            axes=axes,
            nominal_inclination_deg=float(nominal_inclination_deg),
            functional_rotation_deg=math.nan,
            axis_tilt_deg=tilt,
            ready_time_s=float(ready_time_s),
            neutral_heading_deg=heading,
            method=STORED_METHOD,
            device=sensor.device,
        )
    return out


def check_tracker(
    tracker: MotionTracker,
    kept: PersonalCalibration,
    window_s: tuple[float, float],
    *,
    devices: Mapping[str, str] | None = None,
) -> NeutralCheck:
    """The neutral check of ``tracker``'s samples in ``window_s`` (s) in its position;
    when it passes, the tracker is calibrated from it (:func:`calibrations_from_check`,
    applying to the samples after the window). The tracker must not be calibrated yet
    and must have been made with ``auto_calibration=False``."""
    start_s, end_s = window_s
    windows = {p: tracker.window_samples(p, start_s, end_s) for p in tracker.calibrations}
    ups = {p: w[0] for p, w in windows.items()}
    result = neutral_check(kept, ups, position=tracker.position, devices=devices)
    if result.passed:
        calibrations = calibrations_from_check(
            kept,
            ups,
            {p: w[1] for p, w in windows.items()},
            nominal_inclination_deg=tracker.nominal_inclination_deg,
            ready_time_s=end_s,
        )
        info = {
            "method": STORED_METHOD,
            "note": "kept calibration reused after a neutral check "
            f"({kept.calibrated_utc or 'date unknown'})",
            "neutral_check": result.describe(),
        }
        tracker.use_calibrations(calibrations, info)
    return result


__all__ = [
    "MAX_OFF_AXIS_DEG",
    "MAX_RELATIVE_DEG",
    "MAX_SAGITTAL_DEG",
    "MAX_SPREAD_DEG",
    "NEUTRAL_CHECK_S",
    "STORED_METHOD",
    "KeptSensor",
    "NeutralCheck",
    "PersonalCalibration",
    "SensorCheck",
    "calibrations_from_check",
    "check_tracker",
    "neutral_check",
]
