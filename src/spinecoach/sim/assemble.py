"""From a motion plan to a :class:`~spinecoach.recording.Recording` with ground truth.

Shared by :func:`spinecoach.sim.simulate` and :func:`spinecoach.sim.simulate_activities`;
also holds the argument checks both use, so their messages are the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy.spatial.transform import Rotation

from spinecoach.conventions import EVENT_CALIBRATION_NEUTRAL, LOWER, PLACEMENTS, UPPER
from spinecoach.errors import ConfigurationError
from spinecoach.recording import Event, GroundTruth, Recording, SensorData
from spinecoach.sim import quaternion as quat
from spinecoach.sim.body import (
    BodyMotion,
    FloatArray,
    segment_inclinations_deg,
    synthesize_body,
    truth_series,
    window_mean,
    wrap_deg,
)
from spinecoach.sim.real_wear import placed_segment, placement_level
from spinecoach.sim.sensors import SensorErrorModel, simulate_imu
from spinecoach.sim.timeline import MotionPlan, PlannedEvent

SIMULATOR_VERSION = "1"


def check_seed(seed: object) -> int:
    """``seed`` must be a non-negative int."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigurationError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_rate(rate_hz: object) -> float:
    """``rate_hz`` must be a finite number of hertz > 0."""
    if (
        isinstance(rate_hz, bool)
        or not isinstance(rate_hz, int | float | np.integer | np.floating)
        or not math.isfinite(float(rate_hz))
        or float(rate_hz) <= 0
    ):
        raise ConfigurationError(
            f"rate_hz must be a positive, finite number of hertz (e.g. 100.0), got {rate_hz!r}"
        )
    return float(rate_hz)


def check_errors(sensor_errors: object) -> SensorErrorModel:
    """``sensor_errors`` must be ``None`` (realistic) or a :class:`SensorErrorModel`."""
    if sensor_errors is None:
        return SensorErrorModel.realistic()
    if not isinstance(sensor_errors, SensorErrorModel):
        raise ConfigurationError(
            "sensor_errors must be a SensorErrorModel (e.g. SensorErrorModel.ideal()) or "
            f"None, got {type(sensor_errors).__name__}"
        )
    return sensor_errors


def _as_quaternion(value: object, what: str) -> FloatArray:
    if isinstance(value, Rotation):
        if not value.single:
            raise ConfigurationError(f"{what} must be a single rotation, not a stack")
        quat_xyzw: FloatArray = np.asarray(value.as_quat(), dtype=np.float64)
        return quat_xyzw
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = np.empty(0)
    if array.shape != (4,) or not np.all(np.isfinite(array)) or np.linalg.norm(array) < 1e-9:
        raise ConfigurationError(
            f"{what} must be a scipy Rotation or a quaternion [x, y, z, w], got {value!r}"
        )
    out: FloatArray = array / np.linalg.norm(array)
    return out


def check_mount_rotation(mount_rotation: object) -> dict[str, FloatArray] | None:
    """``None``, one rotation for both sensors, or ``{placement: rotation}`` (each a
    scipy ``Rotation`` or a quaternion ``[x, y, z, w]``) → quaternions by placement."""
    if mount_rotation is None:
        return None
    if isinstance(mount_rotation, Mapping):
        mounts: dict[str, FloatArray] = {}
        for placement, value in mount_rotation.items():
            if placement not in PLACEMENTS:
                raise ConfigurationError(
                    f"mount_rotation names an unknown placement {placement!r}; use "
                    f"{' or '.join(PLACEMENTS)}"
                )
            mounts[placement] = _as_quaternion(value, f"mount_rotation[{placement!r}]")
        return mounts
    quat_xyzw = _as_quaternion(mount_rotation, "mount_rotation")
    return {placement: quat_xyzw for placement in PLACEMENTS}


def check_misalignments(misalignments: object) -> dict[str, FloatArray] | None:
    """``None`` or ``{placement: [x, y, z]}`` (deg, each finite, at most 45°): the
    sensors' mounting misalignment, e.g. a recording's ``meta["lower_mount_misalignment_deg"]``
    to wear the same sensors the same way again."""
    if misalignments is None:
        return None
    if not isinstance(misalignments, Mapping):
        raise ConfigurationError(
            "mount_misalignment_deg must be None or {placement: [x, y, z]} in degrees, "
            f"got {misalignments!r}"
        )
    out: dict[str, FloatArray] = {}
    for placement, value in misalignments.items():
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            array = np.empty(0)
        if (
            placement not in PLACEMENTS
            or array.shape != (3,)
            or not np.all(np.isfinite(array))
            or np.abs(array).max() > 45.0
        ):
            raise ConfigurationError(
                f"mount_misalignment_deg[{placement!r}] must name lower or upper and give three "
                f"angles (deg, each within ±45), got {value!r}"
            )
        out[placement] = array
    return out


def check_placements(placements: object) -> tuple[str, ...]:
    """``placements`` must be a non-empty tuple or list of distinct names of PLACEMENTS."""
    if (
        not isinstance(placements, tuple | list)
        or not placements
        or any(not isinstance(p, str) or p not in PLACEMENTS for p in placements)
        or len(set(placements)) != len(placements)
    ):
        raise ConfigurationError(
            f"placements must name one or both sensors without repeats, e.g. {PLACEMENTS} or "
            f"('lower',) for a single belt-worn sensor; got {placements!r}"
        )
    return tuple(p for p in PLACEMENTS if p in placements)


def check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be True or False, got {value!r}")
    return value


JOINT_LATERAL_BEND = "joint_lateral_bend_deg"
"""Measure-only series (never in the truth): the lateral bend of T12/L1 on the pelvis as a
joint angle, ``asin`` of the upper segment's superior axis along the pelvis's right
axis. Defined in every position; it measures distractor lateral bends where the truth
``lateral_bend_deg`` (frontal inclinations) is undefined (lying, hands and knees)."""


def joint_lateral_bend_deg(pelvis: FloatArray, upper: FloatArray) -> FloatArray:
    """:data:`JOINT_LATERAL_BEND` (deg, bending to the right positive) from quaternions."""
    relative = quat.multiply(quat.conjugate(pelvis), upper)
    superior = quat.rotate(relative, np.array([0.0, 1.0, 0.0]))
    out: FloatArray = np.degrees(np.arcsin(np.clip(superior[:, 2], -1.0, 1.0)))
    return out


LUMBAR_FLEXION_AT_SENSORS = "lumbar_flexion_at_sensors_deg"
PELVIC_TILT_AT_SENSORS = "pelvic_tilt_at_sensors_deg"


def at_sensor_series(
    body: BodyMotion, levels: Mapping[str, float], neutral_window: tuple[float, float]
) -> dict[str, FloatArray]:
    """Truth of the spine where the sensors sit (placement spread, no skin motion).

    ``lumbar_flexion_at_sensors_deg`` = upper − lower sagittal inclination of the skin
    sites at ``levels`` (vertebral levels from T12/L1 and S1) and
    ``pelvic_tilt_at_sensors_deg`` = the lower site's inclination, both relative to
    their mean over ``neutral_window`` (s) like the truth: the best any estimator can do
    from these sensors, while the truth stays the T12/L1 and sacral segments.
    """
    lower, _ = placed_segment(body, LOWER, levels[LOWER])
    upper, _ = placed_segment(body, UPPER, levels[UPPER])
    lower_sag, _ = segment_inclinations_deg(lower)
    upper_sag, _ = segment_inclinations_deg(upper)
    t = body.time_s

    def from_neutral(x: FloatArray) -> FloatArray:
        return wrap_deg(x - window_mean(t, x, neutral_window))

    return {
        LUMBAR_FLEXION_AT_SENSORS: from_neutral(wrap_deg(upper_sag - lower_sag)),
        PELVIC_TILT_AT_SENSORS: from_neutral(lower_sag),
    }


def _measured(event: PlannedEvent, time_s: FloatArray, series: Mapping[str, FloatArray]) -> float:
    if event.measure is None:
        return float("nan")
    name, how = event.measure
    # time_s is the uniform, increasing grid: the samples in [start, end] are one slice.
    first = int(np.searchsorted(time_s, event.start_s, side="left"))
    last = int(np.searchsorted(time_s, event.end_s, side="right"))
    values = series[name][first:last]
    if values.size == 0:
        return float("nan")
    if how == "swing":
        return round(float(np.abs(values[-1] - values).max()), 6)
    change = values - values[0]
    return round(float(change[int(np.argmax(np.abs(change)))]), 6)


def assemble_recording(
    plan: MotionPlan,
    *,
    seed: int,
    rate_hz: float,
    position: str,
    sensor_errors: SensorErrorModel,
    magnetometer: bool,
    meta: Mapping[str, str],
    sensor_seeds: tuple[np.random.SeedSequence, np.random.SeedSequence],
    mount_rotations: Mapping[str, FloatArray] | None = None,
    neutral_window_s: tuple[float, float] | None = None,
    placements: tuple[str, ...] = PLACEMENTS,
    misalignments_deg: Mapping[str, FloatArray] | None = None,
) -> Recording:
    """Sample the plan, compute truth and rep values, simulate the IMUs.

    ``sensor_seeds`` are the independent seed streams of the lower and upper sensor;
    ``mount_rotations`` optionally maps a placement to an extra mounting rotation (unit
    quaternion ``[x, y, z, w]``, see :func:`~spinecoach.sim.sensors.simulate_imu`).
    ``neutral_window_s`` (s) is the window the truth angles are relative to (default:
    the plan's ``calibration-neutral`` event); ``placements`` the sensors simulated
    (each keeps its own seed stream, so a single sensor reads what it would in a pair).
    With a placement spread (:attr:`SensorErrorModel.spreads_placement`) the truth also
    holds :func:`at_sensor_series`. ``misalignments_deg`` optionally gives a placement's
    mounting misalignment (XYZ, deg) instead of the drawn one
    (:func:`check_misalignments`).
    """
    if neutral_window_s is None:
        neutral = [e for e in plan.events if e.kind == EVENT_CALIBRATION_NEUTRAL]
        window = (neutral[0].start_s, neutral[0].end_s)
    else:
        window = neutral_window_s
    body = synthesize_body(plan, rate_hz)
    series = truth_series(body, position=position, neutral_window=window)
    events = _truth_events(plan, body, series)
    annotations = tuple(
        event for event, planned in zip(events, plan.events, strict=True) if planned.annotate
    )
    sensors: dict[str, SensorData] = {}
    all_meta = dict(meta)
    all_meta.update(
        {
            "seed": str(seed),
            "source": "simulator",
            "simulator_version": SIMULATOR_VERSION,
            "position": position,
            "heading_deg": str(round(plan.heading_deg, 6)),
        }
    )
    for placement, sensor_seed in zip(PLACEMENTS, sensor_seeds, strict=True):
        if placement not in placements:
            continue
        data, sensor_meta = simulate_imu(
            body,
            placement,
            sensor_errors,
            sensor_seed,
            magnetometer=magnetometer,
            mount_rotation=(mount_rotations or {}).get(placement),
            misalignment_deg=(misalignments_deg or {}).get(placement),
        )
        sensors[placement] = data
        all_meta.update(sensor_meta)
    if sensor_errors.spreads_placement:
        levels = {
            p: placement_level(sensor_errors, p, s)
            for p, s in zip(PLACEMENTS, sensor_seeds, strict=True)
        }
        series.update(at_sensor_series(body, levels, window))
    time_s = body.time_s
    del body  # the sampled body is no longer needed: free it before the truth is copied
    truth = GroundTruth.create(time_s, series, events)
    return Recording.create(sensors, events=annotations, meta=all_meta, truth=truth)


def _truth_events(
    plan: MotionPlan, body: BodyMotion, series: Mapping[str, FloatArray]
) -> tuple[Event, ...]:
    """The plan's events with their measured values (a rep's main-signal change, deg)."""
    measured: Mapping[str, FloatArray] = series
    if any(e.measure is not None and e.measure[0] == JOINT_LATERAL_BEND for e in plan.events):
        measured = {**series, JOINT_LATERAL_BEND: joint_lateral_bend_deg(body.pelvis, body.upper)}
    return tuple(
        Event(
            kind=e.kind,
            start_s=round(e.start_s, 9),
            end_s=round(e.end_s, 9),
            label=e.label,
            value=_measured(e, body.time_s, measured),
        )
        for e in plan.events
    )
