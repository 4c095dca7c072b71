"""Virtual IMUs from real optical motion capture: the simulator's real-movement mode.

Real people move in ways our own simulator does not (no pauses, no protocol, squats and
stoops, walking with trunk sway). This module turns pelvis and thorax motion measured
with optical motion capture into the two IMUs spinecoach expects — ``"lower"`` on the
sacrum, ``"upper"`` on the thorax near T12/L1 — with the optical angles as ground truth.

Inputs
    :func:`load_mocap_take` reads the converted takes in ``shared/data/mocap/`` (columns
    ``time_s``, ``pelvis_q{w,x,y,z}``, ``thorax_q{w,x,y,z}``, positions in metres, optional
    markers ``sacrum``, ``t10``, ``c7`` and ``flex_thorax_rel_pelvis_deg``);
    :func:`load_keraal_take` reads the KERAAL Vicon rigid bodies Chest and Hips. Both give
    a :class:`MocapTake`.

Frames and signs (written once here; the project's conventions are in
:mod:`spinecoach.conventions`)
    * Mocap segment frame (the files): x anterior, y left, z superior; quaternions rotate
      segment vectors into the world frame (Z up). A :class:`MocapTake` keeps that frame
      but stores quaternions scalar-last ``[x, y, z, w]`` like the rest of ``sim``.
    * Project segment frame (ISB): X anterior, Y superior, Z right. ISB axes in mocap
      coordinates are X = x, Y = z, Z = −y, so ``R_isb = R_mocap · Rx(+90°)``
      (:func:`mocap_to_isb`). The world frame is used as the simulator's earth frame
      (z up; heading does not matter).
    * Forward flexion of a segment is a rotation about its *left* axis (mocap +y, ISB −Z):
      the body-frame angular velocity about ISB Z is negative while bending forward. With
      the simulator's nominal mounting (sensor x = segment +Y, sensor y = segment −Z,
      sensor z = segment −X) an ideal sensor reads **+9.81 m/s² on x** when upright and
      still, and a **positive gyroscope y** while its segment flexes forward.
    * Reference flexion ``flexion_reference_deg`` = forward tilt of the thorax z axis in
      the pelvis x–z plane, ``atan2(z_t·x_p, z_t·z_p)`` (flexion positive), exactly the
      ``flex_thorax_rel_pelvis_deg`` column of the files (the loader checks that).

Where the sensors sit (positions are what the accelerometer feels)
    lower: the sacrum marker (mid-PSIS) when the file has it, else the pelvis origin;
    KERAAL: the Hips rigid body's position.
    upper: the T10 marker when the file has it (two vertebrae above T12/L1, on the same
    rigid thorax); else, for the OpenSim takes whose thorax origin is the back joint centre
    (about L5/S1) and whose T10 column is empty, a point moving rigidly with the thorax
    :data:`T12L1_FRACTION_TO_C7` of the way from the thorax origin to C7 (the lumbar
    spine is about 37 % of the L5/S1–C7 length); else the thorax origin. KERAAL: the
    Chest rigid body's position. The orientation of each IMU is that of its segment (the
    upper sensor rides the thorax), so placement changes only the linear acceleration.

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

import csv
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import CubicSpline
from scipy.signal import butter, sosfiltfilt
from scipy.spatial.transform import Rotation, RotationSpline, Slerp

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
from spinecoach.errors import ConfigurationError, InputFormatError
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
from spinecoach.sim.sensors import SensorErrorModel, simulate_imu

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

VIRTUAL_IMU_VERSION: Final = "1"
DEVICE: Final = "spinecoach-virtual-imu"

#: Default zero-phase low-pass (Hz) applied to positions and orientations before they are
#: differentiated (trunk movement has little above 5 Hz; marker noise is broadband).
DEFAULT_CUTOFF_HZ: Final = 6.0
#: Where T12/L1 lies on the line from the back joint centre (≈ L5/S1) to C7: the lumbar
#: spine is about 0.16 m of the ≈ 0.43 m between them in adults.
T12L1_FRACTION_TO_C7: Final = 0.37
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

# ISB segment axes in mocap segment coordinates: X = x, Y = z, Z = -y, i.e. Rx(+90°).
_Q_ISB_IN_MOCAP: Final = quat.about_axis(0, 90.0)
_REQUIRED: Final = (
    "time_s",
    "pelvis_qw",
    "pelvis_qx",
    "pelvis_qy",
    "pelvis_qz",
    "thorax_qw",
    "thorax_qx",
    "thorax_qy",
    "thorax_qz",
)
_QUAT_TOLERANCE: Final = 0.05


@dataclass(frozen=True, eq=False)
class MocapTake:
    """One optical motion-capture take of the pelvis and thorax (see the module docstring).

    time_s: (n,) s from 0 on a uniform grid of ``rate_hz``; ``pelvis_xyzw`` and
    ``thorax_xyzw``: (n, 4) unit quaternions ``[x, y, z, w]`` rotating *mocap* segment
    vectors (x anterior, y left, z up) into the world (Z up), the thorax NaN where it was
    not seen; ``thorax_filled_xyzw``: the thorax with its gaps filled (what the virtual
    IMU wears); ``sacrum_m`` and ``upper_site_m``: (n, 3) sensor sites in metres (gaps
    interpolated); ``upper_site`` says which point the upper site is;
    ``flexion_reference_deg``: (n,) optical thorax-on-pelvis flexion, NaN where the thorax
    was not seen; ``position``: the start position (``standing`` or ``seated``).
    """

    name: str
    source: str
    activity: str
    position: str
    rate_hz: float
    time_s: FloatArray
    pelvis_xyzw: FloatArray
    thorax_xyzw: FloatArray
    thorax_filled_xyzw: FloatArray
    sacrum_m: FloatArray
    upper_site_m: FloatArray
    upper_site: str
    flexion_reference_deg: FloatArray

    @classmethod
    def create(
        cls,
        name: str,
        *,
        time_s: Any,
        pelvis_xyzw: Any,
        thorax_xyzw: Any,
        sacrum_m: Any,
        upper_site_m: Any,
        upper_site: str = "given",
        source: str = "",
        activity: str = "",
        position: str = "standing",
        c7_m: Any | None = None,
        t10_m: Any | None = None,
    ) -> MocapTake:
        """Validate arrays and build a take (thorax gaps filled, reference computed).

        ``thorax_xyzw`` may hold NaN rows (not seen); ``c7_m``/``t10_m`` (optional
        markers on the thorax) steer the gap filling. Raises
        :class:`~spinecoach.errors.ConfigurationError` naming the bad input.
        """
        where = source or name
        t = _array(time_s, "time_s", where, (None,))
        n = t.shape[0]
        if n < 10:
            raise ConfigurationError(
                f"{where}: a take needs at least 10 frames, got {n}; pass a longer recording"
            )
        steps = np.diff(t)
        if not np.all(np.isfinite(t)) or np.any(steps <= 0):
            raise ConfigurationError(
                f"{where}: time_s must be finite and strictly increasing; sort the frames and "
                "remove repeated ones"
            )
        step = float(np.median(steps))
        if float(np.max(np.abs(steps - step))) > 0.05 * step:
            raise ConfigurationError(
                f"{where}: frames must be evenly spaced (steps from {steps.min():.6f} to "
                f"{steps.max():.6f} s); resample the take to a constant rate first"
            )
        if position not in POSITION_NOMINAL_INCLINATION_DEG:
            raise ConfigurationError(
                f"{where}: unknown position {position!r}; use one of "
                + ", ".join(POSITION_NOMINAL_INCLINATION_DEG)
            )
        pelvis = _unit_quaternions(
            _array(pelvis_xyzw, "pelvis_xyzw", where, (n, 4)), "pelvis", where
        )
        if np.isnan(pelvis).any():
            first = int(np.flatnonzero(np.isnan(pelvis).any(axis=1))[0])
            raise ConfigurationError(
                f"{where}: the pelvis orientation is missing at frame {first} "
                f"({t[first]:.3f} s); the pelvis must be seen in every frame"
            )
        thorax = _unit_quaternions(
            _array(thorax_xyzw, "thorax_xyzw", where, (n, 4)), "thorax", where
        )
        visible = np.isfinite(thorax).all(axis=1)
        if visible.sum() < 2:
            raise ConfigurationError(
                f"{where}: the thorax is seen in {int(visible.sum())} frames; at least 2 needed"
            )
        thorax[~visible] = np.nan
        sacrum = _filled_positions(_array(sacrum_m, "sacrum_m", where, (n, 3)), "sacrum_m", where)
        upper = _filled_positions(
            _array(upper_site_m, "upper_site_m", where, (n, 3)), "upper_site_m", where
        )
        c7 = None if c7_m is None else _array(c7_m, "c7_m", where, (n, 3))
        t10 = None if t10_m is None else _array(t10_m, "t10_m", where, (n, 3))
        filled = fill_thorax_gaps(thorax, c7_m=c7, t10_m=t10)
        flexion = thorax_on_pelvis_flexion_deg(pelvis, thorax)
        arrays = (t - t[0], pelvis, thorax, filled, sacrum, upper, flexion)
        for array in arrays:
            array.setflags(write=False)
        return cls(
            name=name,
            source=source,
            activity=activity,
            position=position,
            rate_hz=round((n - 1) / float(t[-1] - t[0]), 3),
            time_s=arrays[0],
            pelvis_xyzw=pelvis,
            thorax_xyzw=thorax,
            thorax_filled_xyzw=filled,
            sacrum_m=sacrum,
            upper_site_m=upper,
            upper_site=upper_site,
            flexion_reference_deg=flexion,
        )

    @property
    def n_frames(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1])

    @property
    def thorax_visible(self) -> BoolArray:
        """(n,) True where the thorax orientation was measured."""
        visible: BoolArray = np.asarray(np.isfinite(self.thorax_xyzw).all(axis=1))
        return visible


# --- small helpers ----------------------------------------------------------------------


def _array(values: Any, name: str, where: str, shape: tuple[int | None, ...]) -> FloatArray:
    try:
        array = np.array(values, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{where}: {name} must be an array of numbers") from None
    expected_ndim = len(shape)
    if array.ndim != expected_ndim or any(
        want is not None and got != want for got, want in zip(array.shape, shape, strict=True)
    ):
        shown = "(n,)" if expected_ndim == 1 else f"(n, {shape[1]})"
        raise ConfigurationError(
            f"{where}: {name} must have shape {shown} with one row per frame, got {array.shape}"
        )
    return array


def _unit_quaternions(q: FloatArray, name: str, where: str) -> FloatArray:
    norms = np.linalg.norm(q, axis=1)
    bad = np.flatnonzero(np.isfinite(norms) & (np.abs(norms - 1.0) > _QUAT_TOLERANCE))
    if bad.size:
        raise ConfigurationError(
            f"{where}: the {name} quaternion of frame {int(bad[0])} has norm "
            f"{norms[bad[0]]:.3f}; quaternions must be unit (check the w, x, y, z column order)"
        )
    out: FloatArray = q / norms[:, None]
    return continuous(out)


def continuous(q: FloatArray) -> FloatArray:
    """Flip signs so consecutive quaternions (NaN rows skipped) lie in one hemisphere."""
    out = np.array(q, dtype=np.float64, copy=True)
    rows = np.flatnonzero(np.isfinite(out).all(axis=1))
    if rows.size == 0:
        return out
    dots = np.einsum("ij,ij->i", out[rows[1:]], out[rows[:-1]])
    signs = np.concatenate([[1.0], np.cumprod(np.where(dots < 0.0, -1.0, 1.0))])
    out[rows] *= signs[:, None]
    return out


def _filled_positions(p: FloatArray, name: str, where: str) -> FloatArray:
    ok = np.isfinite(p).all(axis=1)
    if ok.sum() < 2:
        raise ConfigurationError(
            f"{where}: {name} is seen in {int(ok.sum())} frames; at least 2 are needed"
        )
    if ok.all():
        return p
    index = np.arange(p.shape[0])
    out = np.empty_like(p)
    for axis in range(3):
        out[:, axis] = np.interp(index, index[ok], p[ok, axis])
    return out


def mocap_to_isb(q_xyzw: FloatArray) -> FloatArray:
    """Mocap segment→world quaternions (x anterior, y left, z up) → ISB segment→world
    (X anterior, Y superior, Z right): ``R_isb = R_mocap · Rx(+90°)``.

    >>> np.round(quat.rotate(mocap_to_isb(np.array([0.0, 0.0, 0.0, 1.0])), [0, 1, 0]), 9)
    array([0., 0., 1.])
    """
    return quat.multiply(q_xyzw, _Q_ISB_IN_MOCAP)


def thorax_on_pelvis_flexion_deg(pelvis_xyzw: FloatArray, thorax_xyzw: FloatArray) -> FloatArray:
    """Forward tilt (deg, flexion +) of the thorax z axis in the pelvis x–z plane.

    Both in mocap segment axes. NaN where the thorax is NaN.

    >>> pelvis = np.array([[0.0, 0.0, 0.0, 1.0]])
    >>> bent = quat.about_axis(1, np.array([30.0]))  # about the left axis: forward
    >>> np.round(thorax_on_pelvis_flexion_deg(pelvis, bent), 6).tolist()
    [30.0]
    """
    z_world = quat.rotate(thorax_xyzw, np.array([0.0, 0.0, 1.0]))
    z_pelvis = quat.rotate_inverse(pelvis_xyzw, z_world)
    return np.asarray(np.degrees(np.arctan2(z_pelvis[:, 0], z_pelvis[:, 2])), dtype=np.float64)


def _swing(from_v: FloatArray, to_v: FloatArray) -> FloatArray:
    """Rotation vectors (rad) of the shortest rotations taking unit ``from_v`` to ``to_v``."""
    axis = np.cross(from_v, to_v)
    sin = np.linalg.norm(axis, axis=-1, keepdims=True)
    cos = np.einsum("ij,ij->i", from_v, to_v)[:, None]
    angle = np.arctan2(sin, cos)
    out: FloatArray = np.where(sin > 1e-12, axis / np.where(sin > 1e-12, sin, 1.0) * angle, 0.0)
    return out


def fill_thorax_gaps(
    thorax_xyzw: FloatArray, *, c7_m: FloatArray | None = None, t10_m: FloatArray | None = None
) -> FloatArray:
    """Thorax orientations with NaN rows filled (see the module docstring, step 1).

    A slerp between the visible frames on either side of each gap (the edge frame is
    held before the first and after the last visible frame). Where C7 and T10 are seen
    throughout a gap, the slerp is turned by the swing that carries its C7−T10 direction
    onto the measured one, less a linear ramp that makes the correction zero at the two
    visible edge frames (so the filled orientation is continuous).
    """
    q = continuous(thorax_xyzw)
    visible: BoolArray = np.asarray(np.isfinite(q).all(axis=1))
    if visible.all():
        return q
    n = q.shape[0]
    index = np.arange(n, dtype=np.float64)
    keys = np.flatnonzero(visible)
    inner = (index >= keys[0]) & (index <= keys[-1])
    out = q.copy()
    slerp = Slerp(index[keys], Rotation.from_quat(q[keys]))
    out[inner & ~visible] = slerp(index[inner & ~visible]).as_quat()
    out[: keys[0]] = q[keys[0]]
    out[keys[-1] + 1 :] = q[keys[-1]]
    if c7_m is not None and t10_m is not None:
        _swing_correct(out, visible, c7_m - t10_m)
    return continuous(out / np.linalg.norm(out, axis=1, keepdims=True))


def _swing_correct(q: FloatArray, visible: BoolArray, spine_m: FloatArray) -> None:
    """Turn each interior gap of ``q`` (in place) so its C7−T10 line matches the markers."""
    n = q.shape[0]
    seen: BoolArray = np.asarray(np.isfinite(spine_m).all(axis=1))
    gaps = np.flatnonzero(np.diff(visible.astype(np.int8)))
    starts = [int(i) + 1 for i in gaps if not visible[i + 1]]
    for start in starts:
        end = start
        while end < n and not visible[end]:
            end += 1
        before, after = start - 1, end  # the visible edge frames
        if start == 0 or end >= n or not seen[before : after + 1].all():
            continue
        span = slice(before, after + 1)
        measured = spine_m[span] / np.linalg.norm(spine_m[span], axis=1, keepdims=True)
        edges = np.array([before, after])
        local_edges = quat.rotate_inverse(q[edges], measured[[0, -1]])
        local = local_edges.mean(axis=0)
        local /= np.linalg.norm(local)
        predicted = quat.rotate(q[span], local)
        correction = _swing(predicted, measured)
        ramp = np.linspace(0.0, 1.0, after - before + 1)[:, None]
        correction -= (1.0 - ramp) * correction[0] + ramp * correction[-1]
        turned = (Rotation.from_rotvec(correction) * Rotation.from_quat(q[span])).as_quat()
        q[start:end] = turned[1:-1]


# --- reading the files ------------------------------------------------------------------


def _read_index(folder: Path) -> dict[str, dict[str, str]]:
    index = folder / "takes_index.csv"
    if not index.exists():
        return {}
    try:
        with index.open(newline="", encoding="utf-8") as handle:
            return {row["take"]: row for row in csv.DictReader(handle) if row.get("take")}
    except (OSError, UnicodeDecodeError, KeyError, csv.Error):
        return {}


def _position_from_activity(activity: str) -> str:
    return "seated" if "sit-to-stand" in activity.lower() else "standing"


def load_mocap_take(path: str | os.PathLike[str]) -> MocapTake:
    """Read one converted take (``shared/data/mocap/<set>/<take>.csv``) into a :class:`MocapTake`.

    The activity comes from the folder's ``takes_index.csv`` when present; a take whose
    activity starts with sit-to-stand starts ``seated``. Empty cells are missing values;
    missing marker frames are interpolated, missing thorax frames filled (orientation)
    and kept NaN in the reference. Raises :class:`~spinecoach.errors.InputFormatError`
    naming the file, line and column of anything malformed.
    """
    source = Path(path)
    try:
        with source.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except OSError as error:
        raise InputFormatError(source, f"a readable mocap CSV file ({error.strerror})") from None
    except UnicodeDecodeError:
        raise InputFormatError(source, "a UTF-8 text CSV file", line=1) from None
    if not rows:
        raise InputFormatError(source, "a header line naming the columns", line=1, found="")
    header = [cell.strip() for cell in rows[0]]
    missing = [name for name in _REQUIRED if name not in header]
    if missing:
        raise InputFormatError(
            source,
            "the columns " + ", ".join(missing),
            line=1,
            found=",".join(header),
            fix="Pass a take converted to pelvis/thorax quaternions (see data/mocap/README)",
        )
    if len(rows) - 1 < 10:
        raise InputFormatError(
            source, "at least 10 frames after the header", found=f"{len(rows) - 1} rows"
        )
    data = np.full((len(rows) - 1, len(header)), np.nan)
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InputFormatError(
                source,
                f"{len(header)} comma-separated cells like the header",
                line=line_no,
                found=f"{len(row)} cells",
            )
        for col, cell in enumerate(row):
            text = cell.strip()
            if not text:
                continue
            try:
                data[line_no - 2, col] = float(text)
            except ValueError:
                raise InputFormatError(
                    source,
                    "a number or an empty cell",
                    line=line_no,
                    column=header[col],
                    found=text,
                ) from None
    column = {name: data[:, i] for i, name in enumerate(header)}

    def vector(prefix: str, suffixes: str, unit: str = "") -> FloatArray | None:
        names = [f"{prefix}{s}{unit}" for s in suffixes]
        if not all(name in column for name in names):
            return None
        out = np.column_stack([column[name] for name in names])
        return None if not np.isfinite(out).any() else out

    time_s = column["time_s"]
    bad_time = np.flatnonzero(~np.isfinite(time_s))
    if bad_time.size:
        raise InputFormatError(
            source, "a time in every row", line=int(bad_time[0]) + 2, column="time_s", found=""
        )
    pelvis_wxyz = vector("pelvis_q", "wxyz")
    thorax_wxyz = vector("thorax_q", "wxyz")
    if pelvis_wxyz is None or thorax_wxyz is None:
        raise InputFormatError(
            source, "pelvis and thorax quaternion values", column="pelvis_qw/thorax_qw", found=""
        )
    pelvis = pelvis_wxyz[:, [1, 2, 3, 0]]
    thorax = thorax_wxyz[:, [1, 2, 3, 0]]
    bad_pelvis = np.flatnonzero(~np.isfinite(pelvis).all(axis=1))
    if bad_pelvis.size:
        raise InputFormatError(
            source,
            "the pelvis orientation in every frame",
            line=int(bad_pelvis[0]) + 2,
            column="pelvis_qw",
            found="",
        )
    for name, q in (("pelvis_qw", pelvis), ("thorax_qw", thorax)):
        norms = np.linalg.norm(q, axis=1)
        bad = np.flatnonzero(np.isfinite(norms) & (np.abs(norms - 1.0) > _QUAT_TOLERANCE))
        if bad.size:
            raise InputFormatError(
                source,
                "unit quaternions (w, x, y, z)",
                line=int(bad[0]) + 2,
                column=name,
                found=f"norm {norms[bad[0]]:.3f}",
                fix="The columns are shifted or the file is not a converted mocap take",
            )
    sacrum = vector("sacrum_", "xyz", "_m")
    if sacrum is None:
        sacrum = vector("pelvis_", "xyz", "_m")
    if sacrum is None:
        raise InputFormatError(
            source, "sacrum_x_m.. or pelvis_x_m.. positions (m)", column="sacrum_x_m", found=""
        )
    t10 = vector("t10_", "xyz", "_m")
    c7 = vector("c7_", "xyz", "_m")
    origin = vector("thorax_", "xyz", "_m")
    if t10 is not None and np.isfinite(t10).all(axis=1).mean() >= 0.9:
        upper, upper_site = t10, "t10 marker (two vertebrae above T12/L1, on the thorax)"
    elif origin is not None and c7 is not None:
        upper = _rigid_thorax_point(thorax, origin, c7, T12L1_FRACTION_TO_C7)
        upper_site = (
            f"point on the thorax {T12L1_FRACTION_TO_C7:.0%} of the way from the thorax "
            "origin (back joint centre, about L5/S1) to C7"
        )
    elif origin is not None:
        upper, upper_site = origin, "thorax origin"
    else:
        raise InputFormatError(
            source, "t10_*_m, c7_*_m or thorax_*_m positions (m)", column="t10_x_m", found=""
        )
    index = _read_index(source.parent)
    activity = index.get(source.stem, {}).get("activity", "")
    try:
        take = MocapTake.create(
            source.stem,
            time_s=time_s,
            pelvis_xyzw=pelvis,
            thorax_xyzw=thorax,
            sacrum_m=sacrum,
            upper_site_m=upper,
            upper_site=upper_site,
            source=str(source),
            activity=activity,
            position=_position_from_activity(activity),
            c7_m=c7,
            t10_m=t10,
        )
    except ConfigurationError as error:
        raise InputFormatError(source, str(error).removeprefix(f"{source}: ")) from None
    if "flex_thorax_rel_pelvis_deg" in column:
        given = column["flex_thorax_rel_pelvis_deg"]
        both = np.isfinite(given) & np.isfinite(take.flexion_reference_deg)
        worst = float(np.max(np.abs(given[both] - take.flexion_reference_deg[both]), initial=0.0))
        if worst > 0.5:
            raise InputFormatError(
                source,
                "flex_thorax_rel_pelvis_deg equal to the flexion of its quaternions",
                column="flex_thorax_rel_pelvis_deg",
                found=f"differences up to {worst:.1f}°",
                fix="Check the quaternion order (w, x, y, z) and that the segment axes are "
                "x anterior, y left, z up",
            )
    return take


def _rigid_thorax_point(
    thorax_xyzw: FloatArray, origin_m: FloatArray, c7_m: FloatArray, fraction: float
) -> FloatArray:
    """A point fixed in the thorax at ``fraction`` of origin→C7 (median offset in thorax axes)."""
    ok = np.isfinite(thorax_xyzw).all(axis=1) & np.isfinite(origin_m).all(axis=1)
    ok &= np.isfinite(c7_m).all(axis=1)
    q = thorax_xyzw / np.linalg.norm(thorax_xyzw, axis=1, keepdims=True)
    local = np.median(quat.rotate_inverse(q[ok], c7_m[ok] - origin_m[ok]), axis=0) * fraction
    filled_origin = _filled_positions(origin_m, "thorax_*_m", "thorax origin")
    filled_q = fill_thorax_gaps(q)
    out: FloatArray = filled_origin + quat.rotate(filled_q, local)
    return out


def load_keraal_take(
    path: str | os.PathLike[str], *, rate_hz: float = 60.0, neutral_s: float = 1.0
) -> MocapTake:
    """A KERAAL Vicon file (``G3-Vicon-<EX>-...txt``) as a :class:`MocapTake`.

    The Chest body is the thorax and the Hips body the pelvis. Their anatomical axes are
    fixed during the first ``neutral_s`` seconds to the person's axes of
    :func:`spinecoach.camera.keraal.person_axes` (up = lab +z, right = from the Left to the
    Right Shoulder body), so the reference flexion is zero there; positions are the two
    bodies' positions (mm → m). Rows are ``k / rate_hz`` s apart (the files hold no time).
    """
    from spinecoach.camera.keraal import person_axes, read_keraal_vicon

    bodies = read_keraal_vicon(path, rate_hz=rate_hz)
    axes = person_axes(bodies, neutral_s=neutral_s)  # columns: anterior, up, right (lab)
    # Mocap segment axes (x anterior, y left, z up) in lab coordinates at neutral.
    mocap_axes = np.column_stack([axes[:, 0], -axes[:, 2], axes[:, 1]])
    window = bodies.time_s < bodies.time_s[0] + neutral_s
    segments: dict[str, FloatArray] = {}
    for name in ("Hips", "Chest"):
        raw = bodies.quaternion_xyzw[:, bodies.index(name)]
        if not np.isfinite(raw).all():
            first = int(np.flatnonzero(~np.isfinite(raw).all(axis=1))[0])
            raise InputFormatError(
                bodies.source, f"the {name} body in every frame", line=first + 1, found="nan"
            )
        body = Rotation.from_quat(raw)
        neutral = body[window].mean()
        # segment→lab = body→lab · segment→body, with segment→body fixed at neutral.
        segment_in_body = neutral.inv() * Rotation.from_matrix(mocap_axes)
        segments[name] = (body * segment_in_body).as_quat()
    positions = bodies.position_mm / 1000.0
    exercise = Path(path).stem.split("-")[2] if Path(path).stem.count("-") >= 2 else ""
    activity = {
        "CTK": "hiding face",
        "ELK": "flank stretch (lateral bend)",
        "RTK": "torso rotation",
    }
    try:
        return MocapTake.create(
            Path(path).stem,
            time_s=bodies.time_s,
            pelvis_xyzw=segments["Hips"],
            thorax_xyzw=segments["Chest"],
            sacrum_m=positions[:, bodies.index("Hips")],
            upper_site_m=positions[:, bodies.index("Chest")],
            upper_site="Chest rigid body position",
            source=str(path),
            activity=activity.get(exercise, exercise),
        )
    except ConfigurationError as error:
        raise InputFormatError(Path(path), str(error).removeprefix(f"{path}: ")) from None


def mocap_take_paths(data_root: str | os.PathLike[str]) -> list[Path]:
    """Every converted take under ``<data_root>/mocap/*/`` (sorted; indexes left out)."""
    folder = Path(data_root) / "mocap"
    return sorted(p for p in folder.glob("*/*.csv") if p.name != "takes_index.csv")


def keraal_vicon_paths(data_root: str | os.PathLike[str]) -> list[Path]:
    """Every KERAAL Vicon file under ``<data_root>/keraal/`` (sorted)."""
    return sorted((Path(data_root) / "keraal").glob("G3-Vicon-*.txt"))


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


# --- the recording --------------------------------------------------------------------


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
