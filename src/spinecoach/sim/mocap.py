"""Virtual IMUs from real optical motion capture: the simulator's real-movement mode.

Real people move in ways our own simulator does not (no pauses, no protocol, squats and
stoops, walking with trunk sway). This module turns pelvis and thorax motion measured
with optical motion capture into the two IMUs spinecoach expects — ``"lower"`` on the
sacrum, ``"upper"`` on the thorax near T12/L1 — with the optical angles as ground truth.

The take (:class:`MocapTake`, its frames and signs and the filling of hidden thorax
frames) is in :mod:`spinecoach.sim.mocap_take`; reading the files (which columns, and where
the sensors sit) in :mod:`spinecoach.sim.mocap_files`. This module offers their public
names too, and makes the virtual IMUs and the truth.

Signal chain (:func:`virtual_imu_recording`)
    1. Missing thorax frames (hidden chest markers): the orientation is filled so the IMU
       keeps moving — a slerp between the visible frames around the gap, turned by the
       swing that carries its C7−T10 direction onto the measured one when both markers
       are seen (corrected to be continuous at the gap edges). The reference stays NaN
       there and the recording's truth is NaN there too.
    2. Positions and quaternion components are smoothed with a zero-phase Butterworth
       low-pass (2nd order run forwards and backwards, ``cutoff_hz`` = 6 Hz by default),
       because differentiating optical data twice amplifies its millimetre noise.
    3. Resampled to ``rate_hz`` (cubic spline for positions, :class:`RotationSpline` for
       orientations) — 25, 50 or 100 Hz like real devices; the 6 Hz low-pass keeps 25 Hz
       free of aliasing.
    4. :func:`spinecoach.sim.sensors.simulate_imu` — the simulator's own sensor model:
       accelerometer = R_sensorᵀ (second difference of the site + g ẑ), gyroscope from the
       orientation's central difference, then mounting misalignment (±20° per axis by
       default), bias, drift, noise, scale, jitter, dropped samples, optional extra
       ``mount_rotation``. Seeded like :func:`spinecoach.sim.simulate`.

Ground truth (:class:`~spinecoach.recording.GroundTruth`, on the sensors' uniform grid)
    From the raw (unsmoothed, unfilled) optical frames, interpolated linearly; NaN where a
    neighbouring frame has no thorax. Relative angles subtract their mean over the
    *reference neutral* window (:func:`quiet_window_s`: the first still second of the take,
    else its first second), which the truth events name as ``calibration-neutral`` with
    label ``reference`` and ``meta["reference_neutral_s"]`` repeats. No calibration
    annotation is put in ``recording.events``: real recordings have none.

    * ``lumbar_flexion_deg``: the optical thorax-on-pelvis flexion (above) from neutral;
    * ``lumbar_flexion_worn_deg``: the same angle of the orientation the upper IMU wears
      (equal where the thorax is seen, the gap fill where it is not, never NaN). In
      ``vicon_squat`` the fill goes about 12° (first bend) and 5° (second bend) deeper
      than the last visible optical frame: the sensor passes through flexion the optical
      reference never shows, so compare rep peaks with this series or at visible frames;
    * ``lumbar_flexion_inclination_deg``: thorax minus pelvis sagittal inclination from
      neutral — the project's own definition of lumbar flexion, which the motion core
      estimates; it equals the optical angle for movement in the sagittal plane;
    * ``pelvic_tilt_deg``: pelvis sagittal inclination from neutral (anterior +);
    * ``upper_inclination_deg``, ``trunk_inclination_deg``, ``lower_inclination_deg``: the
      start position's nominal inclination plus the change from neutral (as the simulator);
    * ``lateral_bend_deg``: thorax minus pelvis frontal inclination from neutral (to the
      right +; NaN where a segment is more than ~78° from upright);
    * ``axial_rotation_deg``: thorax relative to pelvis, the Y angle of the Rz·Rx·Ry
      decomposition (shoulders turned left +), from neutral;
    * ``thorax_inclination_abs_deg``, ``pelvis_inclination_abs_deg``: absolute sagittal
      inclinations of the optical segment frames (they include each frame's anatomical
      offset, e.g. the ASIS–PSIS tilt of a marker-built pelvis).

    Truth events: the reference neutral, and one ``rep`` event (label
    ``flexion-excursion``) per excursion of the optical lumbar flexion above
    :data:`EXCURSION_ENTER_DEG` (until it falls below :data:`EXCURSION_EXIT_DEG`), its
    value the largest *visible* optical flexion. In ``vicon_squat`` the two standing
    forward bends are the excursions above 50°; the squats stay below 40°.

Calibration until the protocol-free calibration lands
    :func:`with_reference_calibration` adds the two calibration annotations a coach would
    have prompted, taken from the truth: neutral = the reference neutral window,
    functional = the earliest flexion excursion reaching 60 % of the largest. It is an
    oracle for tests, never a claim about what a real recording holds.

>>> import numpy as np
>>> from spinecoach.sim.sensors import SensorErrorModel
>>> n = 200
>>> t = np.arange(n) / 100.0
>>> still = np.tile([0.0, 0.0, 0.0, 1.0], (n, 1))
>>> take = MocapTake.create(
...     "still", time_s=t, pelvis_xyzw=still, thorax_xyzw=still,
...     sacrum_m=np.tile([0.0, 0.0, 1.0], (n, 1)), upper_site_m=np.tile([0.0, 0.0, 1.3], (n, 1)))
>>> rec = virtual_imu_recording(take, seed=1, sensor_errors=SensorErrorModel.ideal())
>>> (np.round(rec.sensors["lower"].acc_mps2[100], 4) + 0.0).tolist()  # upright: +g on x
[9.8066, 0.0, 0.0]
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import CubicSpline
from scipy.signal import butter, sosfiltfilt
from scipy.spatial.transform import Rotation, RotationSpline

from spinecoach.conventions import (
    AXIAL_ROTATION,
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_REP,
    LATERAL_BEND,
    LOWER,
    LOWER_INCLINATION,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    PLACEMENTS,
    POSITION_NOMINAL_INCLINATION_DEG,
    TRUNK_INCLINATION,
    UPPER,
    UPPER_INCLINATION,
    frontal_inclination_from_up_deg,
    inclination_from_up_deg,
)
from spinecoach.errors import ConfigurationError
from spinecoach.recording import Event, GroundTruth, Recording, SensorData
from spinecoach.sim import quaternion as quat
from spinecoach.sim.assemble import (
    check_errors,
    check_flag,
    check_mount_rotation,
    check_rate,
    check_seed,
)
from spinecoach.sim.body import FRONTAL_MIN_UP_Y, BodyMotion
from spinecoach.sim.mocap_files import (
    T12L1_FRACTION_TO_C7,
    keraal_vicon_paths,
    load_keraal_take,
    load_mocap_take,
    mocap_take_paths,
)
from spinecoach.sim.mocap_take import (
    MocapTake,
    continuous,
    fill_thorax_gaps,
    mocap_to_isb,
    thorax_on_pelvis_flexion_deg,
)
from spinecoach.sim.sensors import SensorErrorModel, simulate_imu

__all__ = [
    "DEFAULT_CUTOFF_HZ",
    "EXCURSION_LABEL",
    "LUMBAR_FLEXION_WORN",
    "T12L1_FRACTION_TO_C7",
    "MocapTake",
    "angular_speed_dps",
    "continuous",
    "fill_thorax_gaps",
    "flexion_excursions",
    "keraal_recordings",
    "keraal_vicon_paths",
    "load_keraal_take",
    "load_mocap_take",
    "mocap_body",
    "mocap_recording",
    "mocap_take_paths",
    "mocap_to_isb",
    "quiet_window_s",
    "reference_series",
    "thorax_on_pelvis_flexion_deg",
    "virtual_imu_recording",
    "with_reference_calibration",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

VIRTUAL_IMU_VERSION: Final = "1"
DEVICE: Final = "spinecoach-virtual-imu"

#: Default zero-phase low-pass (Hz) applied to positions and orientations before they are
#: differentiated (trunk movement has little above 5 Hz; marker noise is broadband).
DEFAULT_CUTOFF_HZ: Final = 6.0
#: A "quiet" second: both segments turn slower than this (deg/s) throughout.
QUIET_MAX_DPS: Final = 8.0
QUIET_WINDOW_S: Final = 1.0
#: Optical flexion excursions (deg from the reference neutral) that become truth events.
EXCURSION_ENTER_DEG: Final = 20.0
EXCURSION_EXIT_DEG: Final = 10.0
#: The functional calibration window of :func:`with_reference_calibration`: the earliest
#: excursion whose peak reaches this share of the largest one.
FUNCTIONAL_SHARE: Final = 0.6

MOCAP_LUMBAR_FLEXION_INCLINATION: Final = "lumbar_flexion_inclination_deg"
LUMBAR_FLEXION_WORN: Final = "lumbar_flexion_worn_deg"
THORAX_INCLINATION_ABS: Final = "thorax_inclination_abs_deg"
PELVIS_INCLINATION_ABS: Final = "pelvis_inclination_abs_deg"
EXCURSION_LABEL: Final = "flexion-excursion"
REFERENCE_LABEL: Final = "reference"


# --- kinematics ---------------------------------------------------------------------------


def _lowpass(x: FloatArray, rate_hz: float, cutoff_hz: float | None) -> FloatArray:
    if cutoff_hz is None:
        return x.copy()
    sos = butter(2, cutoff_hz / (0.5 * rate_hz), output="sos")
    out: FloatArray = sosfiltfilt(sos, x, axis=0)
    return out


def _check_cutoff(cutoff_hz: object, rate_hz: float) -> float | None:
    if cutoff_hz is None:
        return None
    if (
        isinstance(cutoff_hz, bool)
        or not isinstance(cutoff_hz, int | float | np.integer | np.floating)
        or not math.isfinite(float(cutoff_hz))
        or not 0.0 < float(cutoff_hz) < 0.5 * rate_hz
    ):
        raise ConfigurationError(
            f"cutoff_hz must be None (no smoothing) or a frequency between 0 and half the "
            f"take's rate ({0.5 * rate_hz:g} Hz), got {cutoff_hz!r}"
        )
    return float(cutoff_hz)


def angular_speed_dps(q_xyzw: FloatArray, rate_hz: float) -> FloatArray:
    """Rotation speed (deg/s) of a quaternion sequence by central differences (NaN-aware)."""
    n = q_xyzw.shape[0]
    out = np.full(n, np.nan)
    if n < 3:
        return out
    step = quat.multiply(quat.conjugate(q_xyzw[:-2]), q_xyzw[2:])
    out[1:-1] = np.degrees(np.linalg.norm(quat.to_rotvec(step), axis=1)) * rate_hz / 2.0
    out[0], out[-1] = out[1], out[-2]
    return out


def quiet_window_s(
    take: MocapTake, *, length_s: float = QUIET_WINDOW_S, max_dps: float = QUIET_MAX_DPS
) -> tuple[float, float]:
    """The reference neutral: the first ``length_s`` window in which pelvis and thorax are
    both seen and turn slower than ``max_dps`` (deg/s, after the default low-pass), else
    the take's first ``length_s`` (or the whole take when it is shorter)."""
    cutoff = min(DEFAULT_CUTOFF_HZ, 0.45 * take.rate_hz)
    speeds = []
    for q in (take.pelvis_xyzw, take.thorax_filled_xyzw):
        smooth = _lowpass(q, take.rate_hz, cutoff)
        smooth /= np.linalg.norm(smooth, axis=1, keepdims=True)
        speeds.append(angular_speed_dps(smooth, take.rate_hz))
    ok = (np.maximum(speeds[0], speeds[1]) < max_dps) & take.thorax_visible
    need = max(2, round(length_s * take.rate_hz) + 1)
    if take.n_frames >= need:
        run = np.convolve(ok.astype(np.int64), np.ones(need, dtype=np.int64), mode="valid")
        found = np.flatnonzero(run == need)
        if found.size:
            start = float(take.time_s[int(found[0])])
            return start, float(take.time_s[int(found[0]) + need - 1])
    return 0.0, float(min(length_s, take.duration_s))


def mocap_body(
    take: MocapTake, *, rate_hz: float | None = None, cutoff_hz: float | None = DEFAULT_CUTOFF_HZ
) -> BodyMotion:
    """The take as the simulator's :class:`~spinecoach.sim.body.BodyMotion` on a uniform
    ``rate_hz`` grid from 0 s (default: the take's rate): ISB segment orientations (the
    thorax gap-filled) and the two sensor sites, low-passed at ``cutoff_hz`` (None: raw).
    """
    rate = take.rate_hz if rate_hz is None else check_rate(rate_hz)
    cutoff = _check_cutoff(cutoff_hz, take.rate_hz)
    grid = np.arange(int(np.floor(take.duration_s * rate + 1e-9)) + 1, dtype=np.float64) / rate
    t = take.time_s
    orientations = []
    for q in (take.pelvis_xyzw, take.thorax_filled_xyzw):
        smooth = _lowpass(q, take.rate_hz, cutoff)
        smooth /= np.linalg.norm(smooth, axis=1, keepdims=True)
        resampled = RotationSpline(t, Rotation.from_quat(smooth))(grid).as_quat()
        orientations.append(continuous(mocap_to_isb(resampled)))
    sites = {}
    for placement, p in ((LOWER, take.sacrum_m), (UPPER, take.upper_site_m)):
        sites[placement] = np.asarray(CubicSpline(t, _lowpass(p, take.rate_hz, cutoff))(grid))
    pelvis, thorax = orientations
    return BodyMotion(
        time_s=grid,
        rate_hz=float(rate),
        pelvis=pelvis,
        upper=thorax,
        thorax=thorax,
        lumbar_axial_deg=_axial_rotation_deg(pelvis, thorax),
        hip_m=sites[LOWER],
        site_m=sites,
        breath_volume_norm=np.zeros(grid.shape[0]),
    )


def _axial_rotation_deg(lower_isb: FloatArray, upper_isb: FloatArray) -> FloatArray:
    """Y angle (deg) of the Rz·Rx·Ry decomposition of upper relative to lower (ISB)."""
    m = quat.multiply(quat.conjugate(lower_isb), upper_isb)
    x, y, z, w = m[:, 0], m[:, 1], m[:, 2], m[:, 3]
    r20 = 2.0 * (x * z - w * y)
    r22 = 1.0 - 2.0 * (x * x + y * y)
    return np.asarray(np.degrees(np.arctan2(-r20, r22)), dtype=np.float64)


def _segment_angles(q_isb: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(sagittal, frontal inclination, up_y) of ISB segment quaternions (NaN-safe)."""
    up = quat.rotate_inverse(q_isb, np.array([0.0, 0.0, 1.0]))
    return (
        inclination_from_up_deg(up[:, 0], up[:, 1]),
        frontal_inclination_from_up_deg(up[:, 2], up[:, 1]),
        up[:, 1],
    )


def _wrap_deg(angle: FloatArray) -> FloatArray:
    out: FloatArray = (angle + 180.0) % 360.0 - 180.0
    return out


def reference_series(take: MocapTake, neutral_s: tuple[float, float]) -> dict[str, FloatArray]:
    """The truth series (module docstring) at the take's own frames, from the raw optical
    orientations; relative angles subtract their mean over ``neutral_s`` (s)."""
    pelvis = mocap_to_isb(take.pelvis_xyzw)
    thorax = mocap_to_isb(take.thorax_xyzw)
    lower_sag, lower_front, lower_up_y = _segment_angles(pelvis)
    upper_sag, upper_front, upper_up_y = _segment_angles(thorax)
    t = take.time_s
    window = (t >= neutral_s[0] - 1e-9) & (t <= neutral_s[1] + 1e-9)

    def from_neutral(x: FloatArray, like: FloatArray | None = None) -> FloatArray:
        """``x`` minus the neutral mean of ``like`` (default ``x``)."""
        ref = x if like is None else like
        base = ref[window & np.isfinite(ref)]
        if base.size == 0:
            return np.full_like(x, np.nan)
        return _wrap_deg(x - float(np.mean(base)))

    nominal = POSITION_NOMINAL_INCLINATION_DEG[take.position]
    frontal_ok = (lower_up_y >= FRONTAL_MIN_UP_Y) & (upper_up_y >= FRONTAL_MIN_UP_Y)
    lateral = np.where(frontal_ok, _wrap_deg(upper_front - lower_front), np.nan)
    upper_rel = from_neutral(upper_sag)
    return {
        LUMBAR_FLEXION: from_neutral(take.flexion_reference_deg),
        LUMBAR_FLEXION_WORN: from_neutral(
            thorax_on_pelvis_flexion_deg(take.pelvis_xyzw, take.thorax_filled_xyzw),
            like=take.flexion_reference_deg,
        ),
        MOCAP_LUMBAR_FLEXION_INCLINATION: from_neutral(_wrap_deg(upper_sag - lower_sag)),
        PELVIC_TILT_DEG: from_neutral(lower_sag),
        TRUNK_INCLINATION: nominal + upper_rel,
        UPPER_INCLINATION: nominal + upper_rel,
        LOWER_INCLINATION: nominal + from_neutral(lower_sag),
        LATERAL_BEND: from_neutral(lateral),
        AXIAL_ROTATION: from_neutral(_axial_rotation_deg(pelvis, thorax)),
        THORAX_INCLINATION_ABS: upper_sag,
        PELVIS_INCLINATION_ABS: lower_sag,
    }


def _to_grid(t: FloatArray, values: FloatArray, grid: FloatArray) -> FloatArray:
    """Linear interpolation; NaN where either bracketing frame is NaN."""
    ok = np.isfinite(values)
    if not ok.any():
        return np.full(grid.shape[0], np.nan)
    out = np.interp(grid, t[ok], values[ok])
    hi = np.clip(np.searchsorted(t, grid, side="left"), 0, t.shape[0] - 1)
    lo = np.clip(hi - 1, 0, t.shape[0] - 1)
    exact = np.isclose(t[hi], grid, rtol=0.0, atol=1e-9)
    bad = ~ok[hi] | (~ok[lo] & ~exact)
    out[bad] = np.nan
    return np.asarray(out, dtype=np.float64)


def flexion_excursions(
    time_s: FloatArray,
    flexion_deg: FloatArray,
    *,
    enter_deg: float = EXCURSION_ENTER_DEG,
    exit_deg: float = EXCURSION_EXIT_DEG,
) -> list[Event]:
    """``rep`` events (label ``flexion-excursion``) where ``flexion_deg`` (deg from neutral)
    rises above ``enter_deg`` until it falls below ``exit_deg``; value = the largest seen
    (non-NaN) flexion inside, start/end where it crossed ``exit_deg``. NaN frames do not
    end an excursion."""
    events: list[Event] = []
    n = flexion_deg.shape[0]
    k = 0
    while k < n:
        if not flexion_deg[k] >= enter_deg:
            k += 1
            continue
        start = k
        while start > 0 and not flexion_deg[start - 1] < exit_deg:
            start -= 1
        end = k
        while end + 1 < n and not flexion_deg[end + 1] < exit_deg:
            end += 1
        peak = float(np.nanmax(flexion_deg[start : end + 1]))
        events.append(
            Event(
                EVENT_REP,
                round(float(time_s[start]), 9),
                round(float(time_s[end]), 9),
                label=EXCURSION_LABEL,
                value=round(peak, 6),
            )
        )
        k = end + 1
    return events


def virtual_imu_recording(
    take: MocapTake,
    *,
    seed: int,
    rate_hz: float | None = None,
    sensor_errors: SensorErrorModel | None = None,
    mount_rotation: Rotation | Any | None = None,
    magnetometer: bool = False,
    cutoff_hz: float | None = DEFAULT_CUTOFF_HZ,
    neutral_s: tuple[float, float] | None = None,
) -> Recording:
    """Two virtual IMUs (``lower`` on the sacrum, ``upper`` on the thorax) worn through
    ``take``, with the optical angles as ground truth (see the module docstring).

    ``rate_hz`` (Hz): the sensors' rate (default: the take's); ``sensor_errors``: the
    simulator's :class:`~spinecoach.sim.SensorErrorModel` (default realistic: ±20°
    mounting misalignment, bias, drift, noise, jitter, drops); ``mount_rotation``: an
    extra turn of the sensors on the skin (a scipy ``Rotation`` or ``[x, y, z, w]`` for
    both, or ``{"lower": ..., "upper": ...}``); ``cutoff_hz``: the low-pass before
    differentiation (None: none); ``neutral_s``: the reference neutral window (s; default
    :func:`quiet_window_s`). The same arguments give a bit-identical recording.
    """
    seed = check_seed(seed)
    if not isinstance(take, MocapTake):
        raise ConfigurationError(
            f"take must be a MocapTake (use load_mocap_take or load_keraal_take), got "
            f"{type(take).__name__}"
        )
    errors = check_errors(sensor_errors)
    mounts = check_mount_rotation(mount_rotation)
    check_flag("magnetometer", magnetometer)
    window = quiet_window_s(take) if neutral_s is None else _check_window(neutral_s, take)
    body = mocap_body(take, rate_hz=rate_hz, cutoff_hz=cutoff_hz)

    _, lower_seed, upper_seed = np.random.SeedSequence(seed).spawn(3)
    sensors: dict[str, SensorData] = {}
    meta: dict[str, str] = {
        "source": "mocap",
        "virtual_imu_version": VIRTUAL_IMU_VERSION,
        "take": take.name,
        "take_source": take.source,
        "activity": take.activity,
        "position": take.position,
        "seed": str(seed),
        "take_rate_hz": f"{take.rate_hz:g}",
        "cutoff_hz": "none" if cutoff_hz is None else f"{float(cutoff_hz):g}",
        "upper_site": take.upper_site,
        "lower_site": "sacrum",
        "thorax_filled_frames": str(int((~take.thorax_visible).sum())),
        "reference_neutral_s": json.dumps([round(window[0], 6), round(window[1], 6)]),
    }
    for placement, sensor_seed in zip(PLACEMENTS, (lower_seed, upper_seed), strict=True):
        data, sensor_meta = simulate_imu(
            body,
            placement,
            errors,
            sensor_seed,
            magnetometer=magnetometer,
            mount_rotation=(mounts or {}).get(placement),
        )
        sensors[placement] = replace(data, device=DEVICE)
        meta.update(sensor_meta)

    native = reference_series(take, window)
    series = {name: _to_grid(take.time_s, values, body.time_s) for name, values in native.items()}
    events = [Event(EVENT_CALIBRATION_NEUTRAL, window[0], window[1], label=REFERENCE_LABEL)]
    events += flexion_excursions(take.time_s, native[LUMBAR_FLEXION])
    truth = GroundTruth.create(body.time_s, series, tuple(events))
    return Recording.create(sensors, events=(), meta=meta, truth=truth)


def _check_window(neutral_s: object, take: MocapTake) -> tuple[float, float]:
    try:
        start, end = (float(v) for v in neutral_s)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"neutral_s must be (start, end) in seconds, got {neutral_s!r}"
        ) from None
    if not (math.isfinite(start) and math.isfinite(end)) or not 0.0 <= start < end:
        raise ConfigurationError(
            f"neutral_s must be (start, end) seconds with 0 <= start < end, got {neutral_s!r}"
        )
    if start > take.duration_s:
        raise ConfigurationError(
            f"neutral_s starts at {start:g} s, after the take's end ({take.duration_s:g} s)"
        )
    return start, end


def mocap_recording(
    path: str | os.PathLike[str],
    *,
    seed: int,
    rate_hz: float | None = None,
    sensor_errors: SensorErrorModel | None = None,
    mount_rotation: Rotation | Any | None = None,
) -> Recording:
    """Read a take (a mocap ``.csv`` or a KERAAL Vicon ``.txt``) and wear virtual IMUs
    through it: :func:`load_mocap_take` / :func:`load_keraal_take` then
    :func:`virtual_imu_recording`.

    For the exercise tests: ``vicon_squat`` holds two standing forward bends (its truth
    ``rep`` events with value ≥ 50°) among squats; the KERAAL ``ELK`` and ``RTK`` trials
    are lateral bends and rotations (no flexion-extension rep)."""
    source = Path(path)
    take = load_keraal_take(source) if source.suffix.lower() == ".txt" else load_mocap_take(source)
    return virtual_imu_recording(
        take, seed=seed, rate_hz=rate_hz, sensor_errors=sensor_errors, mount_rotation=mount_rotation
    )


def keraal_recordings(
    data_root: str | os.PathLike[str],
    *,
    seed: int,
    exercises: Sequence[str] = ("ELK", "RTK"),
    rate_hz: float | None = None,
    sensor_errors: SensorErrorModel | None = None,
) -> dict[str, Recording]:
    """Virtual-IMU recordings of the KERAAL Vicon trials of ``exercises`` (``CTK``,
    ``ELK`` lateral bend, ``RTK`` rotation) under ``<data_root>/keraal``, by exercise.

    Raises :class:`~spinecoach.errors.ConfigurationError` when a trial is not there."""
    paths = {p.stem.split("-")[2]: p for p in keraal_vicon_paths(data_root)}
    out: dict[str, Recording] = {}
    for exercise in exercises:
        if exercise not in paths:
            raise ConfigurationError(
                f"no KERAAL Vicon file for exercise {exercise!r} under "
                f"{Path(data_root) / 'keraal'}; found {', '.join(sorted(paths)) or 'none'}"
            )
        out[exercise] = mocap_recording(
            paths[exercise], seed=seed, rate_hz=rate_hz, sensor_errors=sensor_errors
        )
    return out


def with_reference_calibration(recording: Recording) -> Recording:
    """The recording with the calibration annotations a protocol would have given, taken
    from its truth: neutral = the reference neutral window; functional = the earliest
    flexion excursion reaching :data:`FUNCTIONAL_SHARE` of the largest one.

    An interim oracle for tests until the protocol-free calibration exists; raises
    :class:`~spinecoach.errors.ConfigurationError` when the take has no excursion (static
    standing, walking) — such takes cannot be calibrated the protocol way.
    """
    truth = recording.truth
    if truth is None or recording.meta.get("source") != "mocap":
        raise ConfigurationError(
            "with_reference_calibration needs a virtual-IMU recording from "
            "virtual_imu_recording (it reads the optical truth)"
        )
    neutral = [e for e in truth.events if e.kind == EVENT_CALIBRATION_NEUTRAL]
    excursions = [e for e in truth.events if e.kind == EVENT_REP and e.label == EXCURSION_LABEL]
    if not excursions:
        raise ConfigurationError(
            f"take {recording.meta.get('take', '?')!r} has no flexion excursion above "
            f"{EXCURSION_ENTER_DEG:g}°, so no functional calibration window; use the "
            "protocol-free calibration for it"
        )
    largest = max(e.value for e in excursions)
    functional = next(e for e in excursions if e.value >= FUNCTIONAL_SHARE * largest)
    events = (
        Event(EVENT_CALIBRATION_NEUTRAL, neutral[0].start_s, neutral[0].end_s),
        Event(EVENT_CALIBRATION_FUNCTIONAL, functional.start_s, functional.end_s),
    )
    return recording.with_events(recording.events + events)
