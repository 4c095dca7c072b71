"""Which calibration a recording gets, decided the same way in batch and streaming.

:func:`resolve_mode` picks the path from the settings and the annotations:

``annotations``
    The recording's calibration windows (the coach prompted them).
``protocol``
    A still → forward bend → still sequence found in the data
    (:class:`~.calibration.AutoCalibrationDetector`); only with ``--calibration protocol``.
``movement`` / ``stored`` / ``neutral-only``
    Scheduled decisions (:func:`check_times`, :func:`decide`) on the data up to fixed
    check times: :mod:`.autocal`'s protocol-free calibration, a stored flexion axis with a
    fresh neutral, or the neutral with the nominal mounting's flexion axis.
``none``
    No calibration (asked for): no angles, and the reason says so.

Every outcome carries ``info``: ``method``, ``confidence`` (0–1), ``windows``, ``reason``
(plus the older keys ``source`` and ``note`` that the rest of spinecoach reads).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spinecoach.errors import CalibrationError
from spinecoach.motion.autocal import (
    NOMINAL_SENSOR_AXES,
    AutoCalibrationSettings,
    MovementCalibration,
    MovementPrior,
    NeutralWindow,
    SensorStream,
    StoredCalibration,
    axes_from,
    decide_movement_calibration,
    neutral_window,
)
from spinecoach.motion.calibration import (
    CalibrationPlan,
    SegmentCalibration,
    calibrate_segment,
    rotate_by_quaternion,
)
from spinecoach.motion.gait import DEFAULT_GAIT, GaitSettings, gait_axis

FloatArray = NDArray[np.float64]

#: Below this confidence the frames carry ``FLAG_LOW_CONFIDENCE``.
LOW_CONFIDENCE = 0.5
#: The walking cue (:func:`with_gait_axes`) is used only when the walking up lies within
#: this (deg) of the neutral's up: the neutral was the upright posture walked in (seated
#: pelvis 15-25° back), not lying or on hands and knees.
GAIT_MAX_NEUTRAL_TILT_DEG = 35.0


@dataclass(frozen=True, eq=False)
class CalibrationOutcome:
    """Per-sensor calibrations (None = not calibrated) and the ``info["calibration"]``."""

    calibrations: Mapping[str, SegmentCalibration | None]
    info: dict[str, Any]


def resolve_mode(method: str, has_annotations: bool, declared_neutral: bool) -> str:
    """The calibration path: annotations, protocol, movement, neutral-only or none."""
    if method == "none":
        return "none"
    if method == "neutral-only":
        return "neutral-only"
    if has_annotations and not declared_neutral:
        return "annotations"
    if method == "protocol":
        return "protocol"
    return "movement"


def check_times(t0: float, t_last: float, settings: AutoCalibrationSettings) -> list[float]:
    """The scheduled decision times up to ``t_last`` (the last is final at the window end)."""
    out: list[float] = []
    k = 1
    while True:
        t = t0 + k * settings.check_every_s
        if t > t0 + settings.axis_window_s + 1e-9 or t > t_last:
            return out
        out.append(t)
        k += 1


def is_window_end(t0: float, t: float, settings: AutoCalibrationSettings) -> bool:
    return t >= t0 + settings.axis_window_s - 1e-9


def _heading(stream: SensorStream, neutral: NeutralWindow, z_axis: FloatArray) -> float:
    if stream.quaternion is None:
        return 0.0
    m = neutral.mask(stream.time_s)
    if not m.any():
        return 0.0
    z_earth = rotate_by_quaternion(stream.quaternion[m], z_axis).mean(axis=0)
    return float(np.degrees(np.arctan2(z_earth[1], z_earth[0])))


def _neutral_info(neutral: NeutralWindow) -> dict[str, Any]:
    if neutral.times_s:
        return {"neutral_s": [neutral.start_s, neutral.end_s], "neutral_quality": "session"}
    return {"neutral_s": [neutral.start_s, neutral.end_s], "neutral_quality": neutral.quality}


def _segments(
    axes: Mapping[str, FloatArray],
    streams: Mapping[str, SensorStream],
    neutral: NeutralWindow,
    *,
    t0: float,
    nominal: float,
    method: str,
    confidence: Mapping[str, float],
    devices: Mapping[str, str],
    rotation: Mapping[str, float] | None = None,
) -> dict[str, SegmentCalibration | None]:
    out: dict[str, SegmentCalibration | None] = {}
    for placement, a in axes.items():
        out[placement] = SegmentCalibration(
            placement=placement,
            axes=a,
            nominal_inclination_deg=float(nominal),
            functional_rotation_deg=float((rotation or {}).get(placement, 0.0)),
            axis_tilt_deg=0.0,
            ready_time_s=float(t0 - 1.0),
            neutral_heading_deg=_heading(streams[placement], neutral, a[2]),
            method=method,
            confidence=float(confidence.get(placement, 0.0)),
            device=devices.get(placement, "unknown"),
        )
    return out


def outcome_from_movement(
    result: MovementCalibration,
    streams: Mapping[str, SensorStream],
    *,
    t0: float,
    nominal: float,
    devices: Mapping[str, str],
) -> CalibrationOutcome:
    rotation = {p: float(d.get("excursion_deg", 0.0)) for p, d in result.details.items()}
    calibrations = _segments(
        result.axes,
        streams,
        result.neutral,
        t0=t0,
        nominal=nominal,
        method="movement",
        confidence=result.sensor_confidence,
        devices=devices,
        rotation=rotation,
    )
    info = {
        "method": "movement",
        "source": "declared" if result.neutral.quality == "declared" else "auto",
        "confidence": result.confidence,
        "windows": {**_neutral_info(result.neutral), "movement_s": list(result.movement_s)},
        "reason": result.reason,
        "note": f"calibrated from the movement itself: {result.reason}",
        "decided_at_s": result.decided_at_s,
        "sensors": {p: dict(d) for p, d in result.details.items()},
    }
    return CalibrationOutcome(calibrations, info)


def decide(
    mode: str,
    streams: Mapping[str, SensorStream],
    *,
    t0: float,
    t_cut: float,
    final: bool,
    nominal: float,
    prior: MovementPrior,
    settings: AutoCalibrationSettings,
    declared_neutral: tuple[float, float] | None,
    stored: StoredCalibration | None,
    devices: Mapping[str, str],
) -> CalibrationOutcome | None:
    """One scheduled decision for the movement, stored and neutral-only paths."""
    use_stored = _stored_axes(stored, streams, devices)
    if mode == "movement" and len(use_stored) < len(streams):
        return _movement(
            streams, t0, t_cut, final, nominal, prior, settings, declared_neutral, devices
        )
    data = {p: s.until(t_cut) for p, s in streams.items()}
    neutral = neutral_window(data, t0, t_cut, settings, final=final, declared=declared_neutral)
    if neutral is None:
        return None
    axes: dict[str, FloatArray] = {}
    confidence: dict[str, float] = {}
    notes: list[str] = []
    for placement, stream in data.items():
        m = neutral.mask(stream.time_s)
        if not m.any():
            if not final:
                return None
            raise CalibrationError(
                f"the neutral window {neutral.start_s:.2f}–{neutral.end_s:.2f} s holds no "
                f"samples of the {placement} sensor; declare a window inside the recording "
                "(--neutral START:END)"
            )
        y = stream.up[m].mean(axis=0)
        y = y / np.linalg.norm(y)
        z = use_stored.get(placement)
        if z is not None and abs(float(z @ y)) < np.sin(np.radians(35.0)):
            axes[placement] = axes_from(y, z)
            confidence[placement] = neutral.confidence
            notes.append(f"the {placement} sensor's flexion axis from its stored calibration")
        else:
            if z is not None:
                if mode == "movement":
                    return _movement(
                        streams,
                        t0,
                        t_cut,
                        final,
                        nominal,
                        prior,
                        settings,
                        declared_neutral,
                        devices,
                    )
                notes.append(
                    f"the {placement} sensor sits too differently from its stored calibration"
                )
            axes[placement] = axes_from(y, NOMINAL_SENSOR_AXES[2])
            confidence[placement] = min(neutral.confidence, 0.3)
            notes.append(f"the {placement} sensor's flexion axis from the nominal mounting")
    return _neutral_outcome(
        mode,
        axes,
        confidence,
        notes,
        data,
        neutral,
        t0=t0,
        t_cut=t_cut,
        nominal=nominal,
        devices=devices,
    )


def _stored_axes(
    stored: StoredCalibration | None,
    streams: Mapping[str, SensorStream],
    devices: Mapping[str, str],
) -> dict[str, FloatArray]:
    """The stored flexion axes of the sensors worn (same device, or either unknown)."""
    use_stored: dict[str, FloatArray] = {}
    if stored is not None:
        for placement in streams:
            z = stored.axis_for(placement, devices.get(placement, "unknown"))
            if z is not None:
                use_stored[placement] = z
    return use_stored


def _neutral_outcome(
    mode: str,
    axes: dict[str, FloatArray],
    confidence: dict[str, float],
    notes: list[str],
    data: Mapping[str, SensorStream],
    neutral: NeutralWindow,
    *,
    t0: float,
    t_cut: float,
    nominal: float,
    devices: Mapping[str, str],
) -> CalibrationOutcome:
    """The outcome of the stored and neutral-only paths from each sensor's ``axes``."""
    method = "stored" if mode == "movement" else "neutral-only"
    calibrations = _segments(
        axes,
        data,
        neutral,
        t0=t0,
        nominal=nominal,
        method=method,
        confidence=confidence,
        devices=devices,
    )
    overall = round(min(confidence.values()), 2)
    reason = (
        f"neutral from {neutral.quality} window {neutral.start_s:.1f}–{neutral.end_s:.1f} s; "
        + "; ".join(notes)
    )
    info = {
        "method": method,
        "source": "declared" if neutral.quality == "declared" else "auto",
        "confidence": overall,
        "windows": _neutral_info(neutral),
        "reason": reason,
        "note": reason,
        "decided_at_s": float(
            min(t_cut, max(float(s.time_s[-1]) for s in data.values() if s.time_s.size))
        ),
    }
    return CalibrationOutcome(calibrations, info)


def with_gait_axes(
    result: MovementCalibration,
    streams: Mapping[str, SensorStream],
    gait: GaitSettings = DEFAULT_GAIT,
) -> MovementCalibration:
    """``result`` with the flexion axis of every sensor it is unsure of (confidence under
    :data:`LOW_CONFIDENCE`) taken from the direction of walking where that sensor walked
    (:mod:`.gait`) in about the posture of the neutral (within
    :data:`GAIT_MAX_NEUTRAL_TILT_DEG`); the neutral stays, and so does every sensor the
    movement was clear for.
    """
    axes = dict(result.axes)
    confidence = dict(result.sensor_confidence)
    details = {p: dict(d) for p, d in result.details.items()}
    walked: list[str] = []
    for placement, stream in streams.items():
        if placement not in axes or confidence.get(placement, 0.0) >= LOW_CONFIDENCE:
            continue
        found = gait_axis(stream.time_s, stream.acc_mps2, gait)
        if found is None:
            continue
        y = axes[placement][1]
        if float(found.up @ y) < np.cos(np.radians(GAIT_MAX_NEUTRAL_TILT_DEG)):
            continue  # the neutral is not the posture walked in (lying, on hands and knees)
        axes[placement] = axes_from(y, found.z_axis)
        # The steps sign the axis well (module .gait); the neutral keeps its own quality.
        confidence[placement] = round(min(result.neutral.confidence, 0.8), 2)
        entry = details.setdefault(placement, {})
        entry["sign_from"] = f"the direction of walking ({found.walking_s:.1f} s of steps)"
        entry["confidence"] = confidence[placement]
        walked.append(placement)
    if not walked:
        return result
    whose = f"the {walked[0]} sensor's" if len(walked) == 1 else "the lower and upper sensors'"
    reason = f"{result.reason}; {whose} flexion axis from the direction of walking instead"
    return dataclasses.replace(
        result,
        axes=axes,
        sensor_confidence=confidence,
        confidence=round(min(confidence.values()), 2),
        reason=reason,
        details=details,
    )


def _movement(
    streams: Mapping[str, SensorStream],
    t0: float,
    t_cut: float,
    final: bool,
    nominal: float,
    prior: MovementPrior,
    settings: AutoCalibrationSettings,
    declared_neutral: tuple[float, float] | None,
    devices: Mapping[str, str],
) -> CalibrationOutcome | None:
    result = decide_movement_calibration(
        streams,
        t0=t0,
        t_cut=t_cut,
        prior=prior,
        settings=settings,
        final=final,
        declared_neutral=declared_neutral,
    )
    if result is None:
        return None
    data = {p: s.until(t_cut) for p, s in streams.items()}
    return outcome_from_movement(
        with_gait_axes(result, data),
        data,
        t0=t0,
        nominal=nominal,
        devices=devices,
    )


def outcome_from_plan(
    plan: CalibrationPlan,
    streams: Mapping[str, SensorStream],
    *,
    nominal: float,
    devices: Mapping[str, str],
    note: str,
) -> CalibrationOutcome:
    """Calibrate every sensor from a plan's neutral and functional windows."""
    calibrations: dict[str, SegmentCalibration | None] = {}
    errors: dict[str, str] = {}
    method = "annotations" if plan.source == "annotations" else "protocol"
    for placement, stream in streams.items():
        t = stream.time_s
        n_mask = (t >= plan.neutral[0]) & (t <= plan.neutral[1])
        f_mask = (t >= plan.functional[0]) & (t <= plan.functional[1])
        try:
            cal = calibrate_segment(
                placement,
                stream.up[n_mask],
                stream.up[f_mask],
                nominal_inclination_deg=nominal,
                ready_time_s=plan.ready_time_s,
                quat_neutral=None if stream.quaternion is None else stream.quaternion[n_mask],
            )
            calibrations[placement] = SegmentCalibration(
                placement=cal.placement,
                axes=cal.axes,
                nominal_inclination_deg=cal.nominal_inclination_deg,
                functional_rotation_deg=cal.functional_rotation_deg,
                axis_tilt_deg=cal.axis_tilt_deg,
                ready_time_s=cal.ready_time_s,
                neutral_heading_deg=cal.neutral_heading_deg,
                method=method,
                confidence=1.0,
                device=devices.get(placement, "unknown"),
            )
        except CalibrationError as exc:
            calibrations[placement] = None
            errors[placement] = str(exc)
    ok = [c for c in calibrations.values() if c is not None]
    info: dict[str, Any] = {
        "method": method,
        "source": plan.source,
        "confidence": 1.0 if len(ok) == len(calibrations) else 0.0,
        "windows": {
            "neutral_s": list(plan.neutral),
            "functional_s": list(plan.functional),
        },
        "reason": note if not errors else "; ".join(errors.values()),
        "note": note,
        "neutral_s": list(plan.neutral),
        "functional_s": list(plan.functional),
        "ready_time_s": plan.ready_time_s,
    }
    for placement, message in errors.items():
        info[f"{placement}_error"] = message
    return CalibrationOutcome(calibrations, info)


def outcome_none(placements: Sequence[str], reason: str, method: str) -> CalibrationOutcome:
    return CalibrationOutcome(
        {p: None for p in placements},
        {
            "method": method,
            "source": None,
            "confidence": 0.0,
            "windows": {},
            "reason": reason,
            "note": reason,
        },
    )


def sample_confidence_flags(
    calibration: SegmentCalibration | None, n: int, flag_low: int
) -> NDArray[np.uint8]:
    """The low-confidence flag for every sample of a sensor with a weak calibration."""
    if calibration is not None and calibration.confidence < LOW_CONFIDENCE:
        return np.full(n, flag_low, dtype=np.uint8)
    return np.zeros(n, dtype=np.uint8)
