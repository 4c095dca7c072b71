"""One optical motion-capture take of the pelvis and thorax (:class:`MocapTake`): its
checks, its frames, and the filling of the thorax where the markers were hidden.

The files are read by :mod:`spinecoach.sim.mocap_files`; the virtual IMUs worn through a
take are made by :mod:`spinecoach.sim.mocap`.

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

Missing thorax frames (hidden chest markers, :func:`fill_thorax_gaps`)
    The orientation is filled so the IMU keeps moving — a slerp between the visible
    frames around the gap, turned by the swing that carries its C7−T10 direction onto the
    measured one when both markers are seen (corrected to be continuous at the gap
    edges). The reference stays NaN there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation, Slerp

from spinecoach.conventions import POSITION_NOMINAL_INCLINATION_DEG
from spinecoach.errors import ConfigurationError
from spinecoach.sim import quaternion as quat

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

# ISB segment axes in mocap segment coordinates: X = x, Y = z, Z = -y, i.e. Rx(+90°).
_Q_ISB_IN_MOCAP: Final = quat.about_axis(0, 90.0)
#: How far from 1 a quaternion's norm may be before it is refused (a shifted column).
QUAT_TOLERANCE: Final = 0.05


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
        t = _uniform_time(time_s, where)
        n = t.shape[0]
        if position not in POSITION_NOMINAL_INCLINATION_DEG:
            raise ConfigurationError(
                f"{where}: unknown position {position!r}; use one of "
                + ", ".join(POSITION_NOMINAL_INCLINATION_DEG)
            )
        pelvis, thorax = _segment_orientations(pelvis_xyzw, thorax_xyzw, t, where)
        sacrum = filled_positions(_array(sacrum_m, "sacrum_m", where, (n, 3)), "sacrum_m", where)
        upper = filled_positions(
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


def _uniform_time(time_s: Any, where: str) -> FloatArray:
    """``time_s`` checked: at least 10 frames, finite, increasing, evenly spaced (±5 %)."""
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
    return t


def _segment_orientations(
    pelvis_xyzw: Any, thorax_xyzw: Any, t: FloatArray, where: str
) -> tuple[FloatArray, FloatArray]:
    """The pelvis (seen in every frame) and thorax (NaN rows where not seen, at least 2
    seen) as continuous unit quaternions."""
    n = t.shape[0]
    pelvis = _unit_quaternions(_array(pelvis_xyzw, "pelvis_xyzw", where, (n, 4)), "pelvis", where)
    if np.isnan(pelvis).any():
        first = int(np.flatnonzero(np.isnan(pelvis).any(axis=1))[0])
        raise ConfigurationError(
            f"{where}: the pelvis orientation is missing at frame {first} "
            f"({t[first]:.3f} s); the pelvis must be seen in every frame"
        )
    thorax = _unit_quaternions(_array(thorax_xyzw, "thorax_xyzw", where, (n, 4)), "thorax", where)
    visible = np.isfinite(thorax).all(axis=1)
    if visible.sum() < 2:
        raise ConfigurationError(
            f"{where}: the thorax is seen in {int(visible.sum())} frames; at least 2 needed"
        )
    thorax[~visible] = np.nan
    return pelvis, thorax


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
    bad = np.flatnonzero(np.isfinite(norms) & (np.abs(norms - 1.0) > QUAT_TOLERANCE))
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


def filled_positions(p: FloatArray, name: str, where: str) -> FloatArray:
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
