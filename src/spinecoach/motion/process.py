"""Batch motion pipeline: a whole recording in, clinical angles on a regular grid out.

``motion_process(recording)`` chains the steps and returns ``(signals, info)`` in the
NeuroKit2 manner: ``signals`` is an :class:`AngleFrames` table (one row per output frame)
and ``info`` a small dict of sparse results (calibration, unavailable angles and why,
flag counts).

Steps: fuse each sensor (:mod:`.fusion`) → find the calibration windows (annotations,
else the automatic detector) → calibrate each sensor (:mod:`.calibration`) → per-sample
segment values → interpolate onto the output grid (the highest sensor rate, from the
latest first sample to the earliest last sample) → clinical angles (:mod:`.angles`).

Besides the angles, the frames carry the lower (sacral) sensor's vertical displacement
``pelvis_height_m`` (:mod:`.height`: earth-frame vertical acceleration, double-integrated
and high-passed at 0.1 Hz so it does not drift; NaN without a lower sensor), which the
exercise detector reads to tell a squat or a sit-down from a forward bend. It is not an
angle: it is not in ``ANGLE_COLUMNS`` and it does not depend on the calibration.

Frames before the calibration is ready are NaN and flagged ``FLAG_NOT_CALIBRATED``.
With one sensor only, the angles that need both are NaN and ``info["unavailable"]``
says why.

Speed (issue 17). No step runs Python per sample: the AHRS loop is compiled
(:mod:`.fusion`), the height filter runs as scipy's ``sosfilt`` over each stretch between
gaps (:func:`pelvis_height_batch_m`, the same arithmetic as :class:`.height.HeightEstimator`
and tested equal), and the per-sample arithmetic (earth-up, flags, segment values, the
interpolation onto the frames, the axial rotation, the vertical acceleration) runs in
one-pass compiled kernels that compute numpy's expressions in numpy's order (their numpy
code is the fallback, tested equal). For long recordings the sensors are fused in threads
(the compiled loop releases the GIL); results are identical either way.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import (
    ANGLE_COLUMNS,
    AXIAL_ROTATION,
    LATERAL_BEND,
    LOWER,
    LOWER_INCLINATION,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    PELVIS_HEIGHT_M,
    POSITION_NOMINAL_INCLINATION_DEG,
    STANDARD_GRAVITY_MPS2,
    TRUNK_INCLINATION,
    UPPER,
    UPPER_INCLINATION,
)
from spinecoach.errors import ConfigurationError
from spinecoach.motion.angles import (
    combine_frames,
    interpolate_frames,
    sensor_values,
)
from spinecoach.motion.autocal import (
    CALIBRATION_METHODS,
    AutoCalibrationSettings,
    MovementPrior,
    SensorStream,
    StoredCalibration,
    movement_prior,
)
from spinecoach.motion.calibrate import (
    CalibrationOutcome,
    check_times,
    decide,
    is_window_end,
    outcome_from_plan,
    outcome_none,
    resolve_mode,
    sample_confidence_flags,
)
from spinecoach.motion.calibration import (
    AutoCalibrationDetector,
    CalibrationPlan,
    SegmentCalibration,
    plan_from_events,
)
from spinecoach.motion.flags import (
    FLAG_LOW_CONFIDENCE,
    FLAG_NAMES,
    FLAG_NOT_CALIBRATED,
)
from spinecoach.motion.fusion import (
    FusionResult,
    FusionSettings,
    compiled_kernels,
    fusion_process,
)
from spinecoach.motion.height import height_sections, vertical_acceleration_mps2
from spinecoach.recording import Recording

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MotionSettings:
    """Everything the motion pipeline can be told.

    position
        Start position of the calibrated neutral (a key of
        ``POSITION_NOMINAL_INCLINATION_DEG``); None = the recording's ``meta["position"]``,
        else standing.
    fusion
        AHRS and bias-estimator settings.
    calibration
        ``auto`` (default): the recording's calibration annotations when it has them, else
        a stored calibration of the same sensors (``stored``) with a fresh neutral, else
        the protocol-free calibration from the movement (:mod:`.autocal`). ``protocol``:
        annotations or a still → forward bend → still sequence found in the data, nothing
        else. ``neutral-only``: the neutral window only, with the flexion axis of the
        nominal mounting (or ``stored``). ``none``: no calibration, no angles.
    neutral_s
        Declared neutral window (start, end) in seconds; replaces the annotated or found one.
    movement
        Which way the movement mostly goes (:class:`~.autocal.MovementPrior`); None = the
        position's prior.
    parallel
        Fuse the sensors in threads for long recordings (at least
        ``parallel_min_samples`` samples in all); the numbers are the same either way.
    """

    position: str | None = None
    fusion: FusionSettings = field(default_factory=FusionSettings)
    parallel: bool = True
    parallel_min_samples: int = 200_000
    calibration: str = "auto"
    neutral_s: tuple[float, float] | None = None
    movement: MovementPrior | None = None
    stored: StoredCalibration | None = None
    autocal: AutoCalibrationSettings = field(default_factory=AutoCalibrationSettings)

    def __post_init__(self) -> None:
        if self.calibration not in CALIBRATION_METHODS:
            raise ConfigurationError(
                f"unknown calibration method {self.calibration!r}; use one of "
                + ", ".join(CALIBRATION_METHODS)
            )
        if self.neutral_s is not None:
            a, b = (float(v) for v in self.neutral_s)
            if not (np.isfinite(a) and np.isfinite(b) and 0.0 <= a < b):
                raise ConfigurationError(
                    f"neutral window {self.neutral_s!r}: give START:END in seconds with "
                    "0 <= START < END (for example --neutral 0.2:0.8)"
                )

    def resolve_position(self, meta: Mapping[str, str]) -> str:
        position = self.position or meta.get("position") or "standing"
        if position not in POSITION_NOMINAL_INCLINATION_DEG:
            raise ConfigurationError(
                f"unknown position {position!r}; use one of "
                + ", ".join(POSITION_NOMINAL_INCLINATION_DEG)
            )
        return position


@dataclass(frozen=True, eq=False)
class AngleFrames:
    """Clinical angles on a regular time grid.

    time_s: (m,) seconds since the recording start; angles: name → (m,) degrees (the
    ``ANGLE_COLUMNS`` of :mod:`spinecoach.conventions`), and from the motion pipeline
    also the non-angle ``EXTRA_COLUMNS`` (``pelvis_height_m``: the lower sensor's
    vertical displacement in metres, :mod:`.height`); code that wants the angles only
    iterates ``ANGLE_COLUMNS``, and frames from elsewhere (camera, store) may lack the
    extras; flags: (m,) bit mask of ``FLAG_*`` from :mod:`spinecoach.motion.angles`.
    """

    time_s: FloatArray
    angles: Mapping[str, FloatArray]
    flags: NDArray[np.uint8]
    rate_hz: float

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    def __getitem__(self, name: str) -> FloatArray:
        return self.angles[name]


def output_grid(first_times: list[float], last_times: list[float], rate_hz: float) -> FloatArray:
    """Frame times: ``start + k / rate`` for k ≥ 1 while within every sensor's span."""
    start = max(first_times)
    stop = min(last_times)
    count = int(np.floor((stop - start) * rate_hz + 1e-9))
    k = np.arange(1, count + 1, dtype=np.float64)
    grid = start + k / rate_hz
    return np.asarray(grid[grid <= stop], dtype=np.float64)


def sensor_streams(
    recording: Recording, fused: Mapping[str, FusionResult]
) -> dict[str, SensorStream]:
    """Each sensor's samples and fused orientation, as the calibration reads them."""
    return {
        p: SensorStream(s.time_s, s.acc_mps2, s.gyr_dps, fused[p].up, fused[p].quaternion)
        for p, s in recording.sensors.items()
    }


def find_protocol_plan(
    recording: Recording, fused: Mapping[str, FusionResult]
) -> CalibrationPlan | None:
    """A still → forward bend → still sequence in the data (``--calibration protocol``).

    Detection runs on the upper sensor when there is one (it turns most in a forward
    bend), else on the lower one.
    """
    placement = UPPER if UPPER in recording.sensors else LOWER
    sensor = recording.sensors[placement]
    detector = AutoCalibrationDetector(rate_hz=sensor.rate_hz)
    up = fused[placement].up
    for i, t in enumerate(sensor.time_s.tolist()):
        found = detector.update(t, sensor.gyr_dps[i], up[i])
        if found is not None:
            return found
        if detector.done:
            break
    return None


def calibrate_recording(
    recording: Recording,
    fused: Mapping[str, FusionResult],
    settings: MotionSettings,
    position: str,
) -> CalibrationOutcome:
    """The calibration of a whole recording (see :mod:`.calibrate` for the paths)."""
    nominal = POSITION_NOMINAL_INCLINATION_DEG[position]
    placements = list(recording.sensors)
    devices = {p: s.device for p, s in recording.sensors.items()}
    streams = sensor_streams(recording, fused)
    annotated = plan_from_events(recording.events)
    mode = resolve_mode(settings.calibration, annotated is not None, settings.neutral_s is not None)
    if mode == "none":
        return outcome_none(
            placements,
            "calibration switched off (--calibration none): no clinical angles were computed",
            "none",
        )
    if mode == "annotations" and annotated is not None:
        return outcome_from_plan(
            annotated,
            streams,
            nominal=nominal,
            devices=devices,
            note="calibration windows from the recording's annotations",
        )
    if mode == "protocol":
        plan = find_protocol_plan(recording, fused)
        if plan is None:
            return outcome_none(
                placements,
                "no calibration protocol found: the recording has no calibration annotations "
                "and no still neutral followed by a forward bend and a still moment; use "
                "--calibration auto to calibrate from the movement itself",
                "protocol",
            )
        return outcome_from_plan(
            plan,
            streams,
            nominal=nominal,
            devices=devices,
            note="calibration windows (still, forward bend, still) found in the data",
        )
    t0 = max(float(s.time_s[0]) for s in recording.sensors.values())
    t_last = min(float(s.time_s[-1]) for s in recording.sensors.values())
    prior = settings.movement or movement_prior(position)
    common = dict(
        t0=t0,
        nominal=nominal,
        prior=prior,
        settings=settings.autocal,
        declared_neutral=settings.neutral_s,
        stored=settings.stored,
        devices=devices,
    )
    for t_cut in check_times(t0, t_last, settings.autocal):
        final = is_window_end(t0, t_cut, settings.autocal)
        found = decide(mode, streams, t_cut=t_cut, final=final, **common)  # type: ignore[arg-type]
        if found is not None:
            return found
    found = decide(mode, streams, t_cut=np.inf, final=True, **common)  # type: ignore[arg-type]
    if found is None:
        return outcome_none(
            placements,
            "no angles: the recording is too short or holds no usable samples to find a "
            "neutral posture in; record at least a second",
            mode,
        )
    return found


def fuse_sensors(recording: Recording, settings: MotionSettings) -> dict[str, FusionResult]:
    """Fuse every sensor; for long recordings the other sensors in worker threads (the
    compiled Fusion loop releases the GIL). Same numbers as the serial path."""
    sensors = list(recording.sensors.items())
    total = sum(s.n_samples for _, s in sensors)
    fusion = settings.fusion
    if not (
        settings.parallel
        and len(sensors) > 1
        and total >= settings.parallel_min_samples
        and (os.cpu_count() or 1) > 1
    ):
        return {p: fusion_process(s, fusion) for p, s in sensors}
    with ThreadPoolExecutor(max_workers=len(sensors) - 1) as pool:
        others = [(p, pool.submit(fusion_process, s, fusion)) for p, s in sensors[1:]]
        results = {sensors[0][0]: fusion_process(sensors[0][1], fusion)}
        results.update((p, future.result()) for p, future in others)
    return {p: results[p] for p, _ in sensors}


def motion_process(
    recording: Recording, settings: MotionSettings | None = None
) -> tuple[AngleFrames, dict[str, Any]]:
    """Clinical angles of a whole recording (batch). Returns ``(frames, info)``.

    >>> from spinecoach.sim import simulate
    >>> frames, info = motion_process(simulate("pelvic-tilt", seed=1, reps=2))
    >>> info["calibration"]["source"]
    'annotations'
    """
    settings = settings or MotionSettings()
    position = settings.resolve_position(recording.meta)
    nominal = POSITION_NOMINAL_INCLINATION_DEG[position]
    fused = fuse_sensors(recording, settings)
    outcome = calibrate_recording(recording, fused, settings, position)
    calibrations = dict(outcome.calibrations)
    info: dict[str, Any] = {
        "position": position,
        "sensors": {
            p: {
                "samples": s.n_samples,
                "rate_hz": s.rate_hz,
                "device": s.device,
                "gyroscope": s.has_gyroscope,
            }
            for p, s in recording.sensors.items()
        },
        "calibration": outcome.info,
        "unavailable": {},
    }
    info["calibration"]["segments"] = {
        p: c.describe() for p, c in calibrations.items() if c is not None
    }

    rate = max(s.rate_hz for s in recording.sensors.values())
    grid = output_grid(
        [float(s.time_s[0]) for s in recording.sensors.values()],
        [float(s.time_s[-1]) for s in recording.sensors.values()],
        rate,
    )
    per_sensor: dict[str, FloatArray] = {}
    flags = np.zeros(grid.shape[0], dtype=np.uint8)
    for placement, sensor in recording.sensors.items():
        fr = fused[placement]
        cal = calibrations[placement]
        sample_flags = fr.flags.copy()
        if cal is not None:
            ready = int(np.searchsorted(sensor.time_s, cal.ready_time_s, side="right"))
            # Elementwise, so computing the rows before ``ready`` too changes no number.
            values = sensor_values(fr.up, fr.quaternion, cal)
            values[:ready] = np.nan
        else:
            values = np.full((sensor.n_samples, 6), np.nan)
        if not sensor.has_gyroscope:
            values[:, 2:] = np.nan  # no heading without a gyroscope: no axial rotation
        sample_flags |= np.where(np.isnan(values[:, 0]), np.uint8(FLAG_NOT_CALIBRATED), np.uint8(0))
        sample_flags |= sample_confidence_flags(cal, sensor.n_samples, FLAG_LOW_CONFIDENCE)
        per_sensor[placement], frame_flags = interpolate_frames(
            grid, sensor.time_s, values, sample_flags, max_gap_s=settings.fusion.max_gap_s
        )
        flags |= frame_flags
    angles = combine_frames(
        per_sensor.get(LOWER),
        per_sensor.get(UPPER),
        calibrations.get(LOWER),
        calibrations.get(UPPER),
        nominal,
    )
    height = lower_height_frames(grid, recording, fused, settings)
    info["unavailable"] = unavailable_reasons(
        set(recording.sensors), calibrations, outcome.info, recording
    )
    info["flag_counts"] = {
        name: int(np.count_nonzero(flags & bit)) for bit, name in FLAG_NAMES.items()
    }
    columns = {k: angles[k] for k in ANGLE_COLUMNS}
    columns[PELVIS_HEIGHT_M] = height
    frames = AngleFrames(time_s=grid, angles=columns, flags=flags, rate_hz=rate)
    return frames, info


def lower_height_frames(
    grid: FloatArray,
    recording: Recording,
    fused: Mapping[str, FusionResult],
    settings: MotionSettings,
) -> FloatArray:
    """The lower sensor's vertical displacement (m, :mod:`.height`) at the frames; NaN
    without a lower sensor. Independent of the calibration (it needs only the fused
    orientation), so it is there before the angles are."""
    lower = recording.sensors.get(LOWER)
    if lower is None:
        return np.full(grid.shape[0], np.nan)
    height = pelvis_height_batch_m(
        lower.time_s,
        lower.acc_mps2,
        fused[LOWER].quaternion,
        rate_hz=lower.rate_hz,
        max_gap_s=settings.fusion.max_gap_s,
    )
    at_frames, _ = interpolate_frames(
        grid,
        lower.time_s,
        height[:, None],
        np.zeros(lower.n_samples, dtype=np.uint8),
        max_gap_s=settings.fusion.max_gap_s,
    )
    return np.asarray(at_frames[:, 0], dtype=np.float64)


def pelvis_height_batch_m(
    time_s: FloatArray,
    acc_mps2: FloatArray,
    quaternion: FloatArray,
    *,
    rate_hz: float,
    max_gap_s: float,
) -> FloatArray:
    """(n,) vertical displacement (m) of a sensor: :func:`.height.pelvis_height_m`'s
    numbers without its per-sample Python loop.

    :class:`.height.HeightEstimator` runs its second-order sections in transposed direct
    form II from rest, restarts from rest after a gap longer than ``max_gap_s``, and after
    a non-finite sample (which gives NaN). ``scipy.signal.sosfilt`` computes the same
    recurrences in the same order, so each stretch between such restarts is filtered in
    one call (tested equal, bit for bit, in tests/motion).
    """
    from scipy import signal

    kernels = compiled_kernels()
    if kernels is not None and _float64_2d(acc_mps2, quaternion):
        # One compiled pass of vertical_acceleration_mps2's arithmetic, in its order.
        vertical = np.empty(acc_mps2.shape[0], dtype=np.float64)
        kernels.vertical_rows(acc_mps2, quaternion, STANDARD_GRAVITY_MPS2, vertical)
    else:
        vertical = vertical_acceleration_mps2(acc_mps2, quaternion)
    n = vertical.shape[0]
    out = np.full(n, np.nan)
    if n == 0:
        return out
    sos = height_sections(rate_hz)
    bad = ~np.isfinite(vertical)
    restart = np.zeros(n, dtype=np.bool_)
    restart[1:] = (np.diff(time_s) > max_gap_s) | bad[:-1]
    bounds = [0, *np.flatnonzero(restart).tolist(), n]
    for a, b in itertools.pairwise(bounds):
        # Only a stretch's last sample can be non-finite (the next one restarts).
        end = b - 1 if bad[b - 1] else b
        if end > a:
            out[a:end] = signal.sosfilt(sos, vertical[a:end])
    return out


def _float64_2d(*arrays: FloatArray) -> bool:
    return all(isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype == np.float64 for x in arrays)


def unavailable_reasons(
    placements: set[str],
    calibrations: Mapping[str, SegmentCalibration | None],
    calibration_info: Mapping[str, Any] | None = None,
    recording: Recording | None = None,
) -> dict[str, str]:
    """Which angles cannot be given and why, in words that match the cause (one sensor,
    no gyroscope, calibration switched off or failed)."""
    reasons: dict[str, str] = {}
    if UPPER not in placements or LOWER not in placements:
        have = "upper" if UPPER in placements else "lower"
        for name in (LUMBAR_FLEXION, LATERAL_BEND, AXIAL_ROTATION):
            reasons[name] = (
                f"needs both sensors; only the {have} sensor is present "
                "(lumbar angles are the difference between the upper and lower segments)"
            )
        if UPPER not in placements:
            for name in (TRUNK_INCLINATION, UPPER_INCLINATION):
                reasons[name] = "needs the upper sensor (over T12/L1)"
        else:
            for name in (PELVIC_TILT_DEG, LOWER_INCLINATION):
                reasons[name] = "needs the lower sensor (over the sacrum)"
    if recording is not None:
        no_gyro = [p for p, s in recording.sensors.items() if not s.has_gyroscope]
        if no_gyro:
            reasons.setdefault(
                AXIAL_ROTATION,
                f"needs gyroscopes; the {' and '.join(no_gyro)} sensor has none "
                "(accelerometer only: inclinations come from gravity)",
            )
    why = str((calibration_info or {}).get("reason") or "")
    for placement, cal in calibrations.items():
        if cal is None:
            own = str((calibration_info or {}).get(f"{placement}_error") or "")
            reasons.setdefault(
                f"{placement}_sensor",
                "not calibrated: " + (own or why or "no usable neutral and functional windows"),
            )
    return reasons
