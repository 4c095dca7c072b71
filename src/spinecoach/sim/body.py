"""The body model: segment orientations, sensor positions and the ground-truth angles.

Frames (see :mod:`spinecoach.conventions`): earth NWU (z up); segments ISB (X anterior,
Y superior, Z right). A person with heading ψ standing upright has segment axes
X → (cos ψ, sin ψ, 0), Y → (0, 0, 1), Z = X × Y, i.e. at ψ = 0
``R_upright = [[1, 0, 0], [0, 0, -1], [0, 1, 0]]`` (columns X, Y, Z in earth).

Segment → earth rotations::

    R_pelvis = Rz_earth(ψ) · R_upright · Rz(−θp) · Rx(φp) · Ry(γp)
    R_upper  = R_pelvis · Rz(−λ) · Rx(β) · Ry(γ)         (T12/L1)
    R_thorax = R_upper · Rz(−τ)

Sensor sites (segment coordinates, m): lower = H + R_pelvis·[−0.10, 0.10, 0],
L5/S1 = H + R_pelvis·[−0.05, 0.12, 0], upper = L5/S1 + R_upper·[−0.08, 0.18, 0] (plus a
few millimetres of chest-wall motion with the breath). Linear accelerations are second
differences of these positions on the true uniform time grid.

Everything is vectorised over samples (numpy quaternions, :mod:`spinecoach.sim.quaternion`).

>>> from spinecoach.sim.poses import STANDING
>>> from spinecoach.sim.timeline import Timeline
>>> tl = Timeline(STANDING)
>>> _ = tl.hold(2.0)
>>> body = synthesize_body(tl.finish(np.random.default_rng(0), heading_deg=0.0), 100.0)
>>> body.time_s.shape
(201,)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from spinecoach.conventions import (
    AXIAL_ROTATION,
    LATERAL_BEND,
    LOWER,
    LOWER_INCLINATION,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    POSITION_NOMINAL_INCLINATION_DEG,
    TRUNK_INCLINATION,
    UPPER,
    UPPER_INCLINATION,
    frontal_inclination_from_up_deg,
    inclination_from_up_deg,
)
from spinecoach.sim import quaternion as quat
from spinecoach.sim.poses import POSE_CHANNELS
from spinecoach.sim.timeline import MinJerkSampler, MotionPlan

FloatArray = NDArray[np.float64]

R_UPRIGHT = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
LOWER_SITE_M = np.array([-0.10, 0.10, 0.0])
L5S1_SITE_M = np.array([-0.05, 0.12, 0.0])
UPPER_SITE_M = np.array([-0.08, 0.18, 0.0])

# Gait (everyday walking, e.g. Perry & Burnfield, Gait Analysis, 2010): cadence about
# 1.8 steps/s at 1.3 m/s; pelvic tilt ±2°, obliquity ±4°, rotation ±5°; the trunk
# counter-rotates; the hip centre bobs about 3 cm peak to peak.
STEP_RATE_HZ = 1.8
WALK_SPEED_MPS = 1.3
_GAIT_TILT_DEG = 2.0
_GAIT_OBLIQUITY_DEG = 4.0
_GAIT_ROTATION_DEG = 5.0
_GAIT_COUNTER_ROTATION = 1.5  # lumbar axial = −1.5 × pelvic rotation (thorax turns back)
_GAIT_LATERAL_COMPENSATION = 0.8  # lumbar lateral bend = −0.8 × obliquity
_GAIT_BOB_M = 0.015
_GAIT_SIDE_SWAY_M = 0.02
# Breathing: about ±0.3° of upper-segment extension on a paced inhale and up to 3 mm
# of posterior chest-wall excursion under the upper sensor.
_RESP_LUMBAR_DEG = 0.6
_RESP_WALL_M = 0.003

_CH = {name: i for i, name in enumerate(POSE_CHANNELS)}
_Q_UPRIGHT = Rotation.from_matrix(R_UPRIGHT).as_quat()


def _sagittal_frontal_axial(
    about_z: FloatArray, about_x: FloatArray, about_y: FloatArray
) -> FloatArray:
    """``Rz(about_z) · Rx(about_x) · Ry(about_y)`` in local axes (deg) → quaternions."""
    return quat.multiply(
        quat.multiply(quat.about_axis(2, about_z), quat.about_axis(0, about_x)),
        quat.about_axis(1, about_y),
    )


@dataclass(frozen=True, eq=False)
class BodyMotion:
    """The sampled body: rotations (segment → earth), sites, breath, on a uniform grid."""

    time_s: FloatArray
    rate_hz: float
    pelvis: FloatArray  # (n, 4) quaternions [x, y, z, w], segment → earth
    upper: FloatArray
    thorax: FloatArray
    lumbar_axial_deg: FloatArray
    hip_m: FloatArray  # (n, 3) earth NWU
    site_m: Mapping[str, FloatArray]  # sensor sites by placement, (n, 3) earth NWU
    breath_volume_norm: FloatArray

    def segment(self, placement: str) -> FloatArray:
        """Orientation (quaternions) of the segment carrying the sensor at ``placement``."""
        return self.upper if placement == UPPER else self.pelvis

    def linear_acceleration_mps2(self, placement: str) -> FloatArray:
        """Second time-derivative (m/s², earth frame) of the sensor site's position."""
        return second_derivative(self.site_m[placement], 1.0 / self.rate_hz)


def second_derivative(x: FloatArray, dt: float) -> FloatArray:
    """Central second difference along axis 0 (edges copy their neighbour)."""
    out = np.empty_like(x)
    if x.shape[0] < 3:
        out[:] = 0.0
        return out
    out[1:-1] = (x[2:] - 2.0 * x[1:-1] + x[:-2]) / (dt * dt)
    out[0] = out[1]
    out[-1] = out[-2]
    return out


def cumulative_trapezoid(y: FloatArray, dt: float) -> FloatArray:
    """Running integral of ``y`` (starts at 0)."""
    out = np.zeros_like(y)
    out[1:] = np.cumsum(0.5 * (y[1:] + y[:-1]) * dt, axis=0)
    return out


def sample_count(duration_s: float, rate_hz: float) -> int:
    """Samples on the uniform grid ``k / rate_hz`` covering ``[0, duration_s]``."""
    return int(np.floor(duration_s * rate_hz + 1e-9)) + 1


BLOCK_SAMPLES = 1 << 16
"""Samples per block when synthesising the body: a 16 h day at 100 Hz never holds an
(n, channels) keyframe array or (n, 3) temporaries, only its outputs."""


def sample_blocks(n: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of the blocks of :data:`BLOCK_SAMPLES` that cover ``n`` samples."""
    return [(a, min(a + BLOCK_SAMPLES, n)) for a in range(0, n, BLOCK_SAMPLES)]


def synthesize_body(plan: MotionPlan, rate_hz: float) -> BodyMotion:
    """Sample ``plan`` at ``rate_hz`` (Hz) and build the body's kinematics.

    Everything but the walking integral is computed per sample, so it runs in blocks of
    :data:`BLOCK_SAMPLES` (the same operations on each element, hence the same bits as
    on the whole array); the hip path is a running sum over the whole day.
    """
    n = sample_count(plan.duration_s, rate_hz)
    out = _BodyBuffers.empty(np.arange(n, dtype=np.float64) / rate_hz)
    blocks = sample_blocks(n)
    keys = MinJerkSampler(plan.key_time_s, plan.key_values)
    breaths = MinJerkSampler(plan.breath_time_s, plan.breath_values)
    # Pass 1: rotations, breath and the hip's walking velocity (its trapezoid steps).
    previous_velocity: FloatArray | None = None
    for a, b in blocks:
        previous_velocity = _rotations_block(
            plan, keys, breaths, out, a, b, 1.0 / rate_hz, previous_velocity
        )
    np.cumsum(out.hip[1:], axis=0, out=out.hip[1:])
    # Pass 2: the hip's posture offsets and gait, and the sensor sites.
    for a, b in blocks:
        _sites_block(plan, out, a, b)
    return BodyMotion(
        time_s=out.t,
        rate_hz=float(rate_hz),
        pelvis=out.pelvis,
        upper=out.upper,
        thorax=out.thorax,
        lumbar_axial_deg=out.gamma,
        hip_m=out.hip,
        site_m=out.sites,
        breath_volume_norm=out.volume,
    )


@dataclass(frozen=True, eq=False)
class _BodyBuffers:
    """The arrays :func:`synthesize_body` fills block by block (n samples each)."""

    t: FloatArray
    pelvis: FloatArray
    upper: FloatArray
    thorax: FloatArray
    gamma: FloatArray
    volume: FloatArray
    hip: FloatArray
    sites: dict[str, FloatArray]
    #: Channels pass 2 needs again, kept from pass 1 (sampling them twice costs more).
    later: dict[str, FloatArray]
    depth: FloatArray

    @classmethod
    def empty(cls, t: FloatArray) -> _BodyBuffers:
        n = t.shape[0]
        return cls(
            t=t,
            pelvis=np.empty((n, 4)),
            upper=np.empty((n, 4)),
            thorax=np.empty((n, 4)),
            gamma=np.empty(n),
            volume=np.empty(n),
            hip=np.zeros((n, 3)),
            sites={LOWER: np.empty((n, 3)), UPPER: np.empty((n, 3))},
            later={
                name: np.empty(n)
                for name in ("walk", "heading_deg", "hip_forward_m", "hip_height_m")
            },
            depth=np.empty(n),
        )


def _directions(psi: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Horizontal forward and left unit vectors (n, 3) for headings ``psi`` (deg)."""
    psi_rad = np.radians(psi)
    zeros = np.zeros(psi.shape[0])
    forward = np.column_stack([np.cos(psi_rad), np.sin(psi_rad), zeros])
    left = np.column_stack([-np.sin(psi_rad), np.cos(psi_rad), zeros])
    return forward, left


def _rotations_block(
    plan: MotionPlan,
    keys: MinJerkSampler,
    breaths: MinJerkSampler,
    out: _BodyBuffers,
    a: int,
    b: int,
    dt: float,
    previous_velocity: FloatArray | None,
) -> FloatArray:
    """Pass 1 on samples ``a:b``: segment rotations, breath, the hip's walking velocity
    steps (``out.hip``, summed later). Returns the block's last velocity (m/s)."""
    osc = plan.oscillators
    tb = out.t[a:b]
    values = keys.sample(tb)

    def ch(name: str, values: FloatArray = values) -> FloatArray:
        column: FloatArray = values[:, _CH[name]]
        return column

    for name, column in out.later.items():
        column[a:b] = ch(name)
    breath = breaths.sample(tb)
    out.depth[a:b] = breath[:, 1]
    vol = np.clip(breath[:, 0], 0.0, 1.0)
    out.volume[a:b] = vol
    resp = breath[:, 1] * (vol - 0.5)
    sway, walk = ch("sway"), ch("walk")
    stride = 2.0 * np.pi * (STEP_RATE_HZ / 2.0) * tb + osc.gait_phase_rad
    gait_rotation = _GAIT_ROTATION_DEG * walk * np.cos(stride)
    gait_obliquity = _GAIT_OBLIQUITY_DEG * walk * np.sin(stride)

    theta_p = ch("pelvis_deg") + sway * osc.sway_deg(tb, 0)
    theta_p += _GAIT_TILT_DEG * walk * np.sin(2.0 * stride)
    phi_p = ch("pelvis_lateral_deg") + sway * osc.sway_deg(tb, 1) + gait_obliquity
    gamma_p = ch("pelvis_axial_deg") + gait_rotation
    lam = ch("lumbar_deg") + sway * osc.sway_deg(tb, 2) - _RESP_LUMBAR_DEG * resp
    lam += ch("jerk_deg") * np.sin(2.0 * np.pi * osc.jerk_freq_hz * tb)
    beta = ch("lumbar_lateral_deg") - _GAIT_LATERAL_COMPENSATION * gait_obliquity
    out.gamma[a:b] = ch("lumbar_axial_deg") - _GAIT_COUNTER_ROTATION * gait_rotation
    psi = plan.heading_deg + ch("heading_deg")

    out.pelvis[a:b] = quat.multiply(
        quat.multiply(quat.about_axis(2, psi), _Q_UPRIGHT),
        _sagittal_frontal_axial(-theta_p, phi_p, gamma_p),
    )
    out.upper[a:b] = quat.multiply(
        out.pelvis[a:b], _sagittal_frontal_axial(-lam, beta, out.gamma[a:b])
    )
    out.thorax[a:b] = quat.multiply(out.upper[a:b], quat.about_axis(2, -ch("thoracic_deg")))

    forward, _ = _directions(psi)
    velocity = forward * (WALK_SPEED_MPS * walk)[:, None]
    hip = out.hip
    if previous_velocity is None:  # cumulative_trapezoid: hip[0] = 0
        hip[1:b] = 0.5 * (velocity[1:] + velocity[:-1]) * dt
    else:
        hip[a] = 0.5 * (velocity[0] + previous_velocity) * dt
        hip[a + 1 : b] = 0.5 * (velocity[1:] + velocity[:-1]) * dt
    last: FloatArray = velocity[-1].copy()
    return last


def _sites_block(plan: MotionPlan, out: _BodyBuffers, a: int, b: int) -> None:
    """Pass 2 on samples ``a:b``: the hip's posture offsets and gait added to its path,
    and the two sensor sites (m)."""
    osc = plan.oscillators
    tb = out.t[a:b]
    later = out.later
    walk = later["walk"][a:b]
    stride = 2.0 * np.pi * (STEP_RATE_HZ / 2.0) * tb + osc.gait_phase_rad
    forward, left = _directions(plan.heading_deg + later["heading_deg"][a:b])
    hip_b = out.hip[a:b]
    hip_b += forward * later["hip_forward_m"][a:b][:, None]
    hip_b += left * (_GAIT_SIDE_SWAY_M * walk * np.sin(stride))[:, None]
    hip_b[:, 2] = later["hip_height_m"][a:b] + _GAIT_BOB_M * walk * np.sin(2.0 * stride)

    upper_offset = np.tile(UPPER_SITE_M, (b - a, 1))
    upper_offset[:, 0] -= _RESP_WALL_M * out.depth[a:b] * out.volume[a:b]
    l5s1 = hip_b + quat.rotate(out.pelvis[a:b], L5S1_SITE_M)
    out.sites[LOWER][a:b] = hip_b + quat.rotate(out.pelvis[a:b], LOWER_SITE_M)
    out.sites[UPPER][a:b] = l5s1 + quat.rotate(out.upper[a:b], upper_offset)


def earth_up_in_segment(rotation: FloatArray) -> FloatArray:
    """Earth up expressed in segment axes, ``R^T · [0, 0, 1]`` → (n, 3)."""
    return quat.rotate_inverse(rotation, np.array([0.0, 0.0, 1.0]))


def segment_inclinations_deg(rotation: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(sagittal, frontal) inclinations (deg) with the conventions' functions."""
    u = earth_up_in_segment(rotation)
    return inclination_from_up_deg(u[:, 0], u[:, 1]), frontal_inclination_from_up_deg(
        u[:, 2], u[:, 1]
    )


def wrap_deg(angle: FloatArray) -> FloatArray:
    """Wrap to [−180, 180) degrees."""
    out: FloatArray = (angle + 180.0) % 360.0 - 180.0
    return out


def window_mean(time_s: FloatArray, values: FloatArray, window: tuple[float, float]) -> float:
    """Mean of ``values`` over ``[start, end]`` s (nearest sample if the window is empty)."""
    mask = (time_s >= window[0]) & (time_s <= window[1])
    if not mask.any():
        mask = np.zeros(time_s.shape, dtype=bool)
        mask[int(np.argmin(np.abs(time_s - 0.5 * (window[0] + window[1]))))] = True
    return float(np.mean(values[mask]))


# Below this |up_y| (segment more than ~78° from upright) the frontal inclination
# atan2(−u_z, u_y) is undefined in practice, and lateral bend is reported as NaN.
FRONTAL_MIN_UP_Y = 0.2


def truth_series(
    body: BodyMotion, *, position: str, neutral_window: tuple[float, float]
) -> dict[str, FloatArray]:
    """The ground-truth series of a simulated recording.

    Angles relative to neutral subtract their mean over ``neutral_window`` (s). Upper,
    lower and trunk inclinations follow the functional definition: the position's
    nominal inclination plus the change from neutral. ``lateral_bend_deg`` is NaN where
    a segment is more than ~78° from upright (lying, hands and knees, deep flexion),
    where the frontal inclination of the conventions is undefined.
    """
    t = body.time_s
    n = t.shape[0]
    lower_sag, lower_front, upper_sag, upper_front, thorax_sag = (np.empty(n) for _ in range(5))
    frontal_ok = np.empty(n, dtype=bool)
    for a in range(0, n, BLOCK_SAMPLES):  # per sample: blocks keep the temporaries small
        b = min(a + BLOCK_SAMPLES, n)
        up = earth_up_in_segment(body.pelvis[a:b])
        lower_sag[a:b] = inclination_from_up_deg(up[:, 0], up[:, 1])
        lower_front[a:b] = frontal_inclination_from_up_deg(up[:, 2], up[:, 1])
        ok = up[:, 1] >= FRONTAL_MIN_UP_Y
        up = earth_up_in_segment(body.upper[a:b])
        upper_sag[a:b] = inclination_from_up_deg(up[:, 0], up[:, 1])
        upper_front[a:b] = frontal_inclination_from_up_deg(up[:, 2], up[:, 1])
        frontal_ok[a:b] = ok & (up[:, 1] >= FRONTAL_MIN_UP_Y)
        up = earth_up_in_segment(body.thorax[a:b])
        thorax_sag[a:b] = inclination_from_up_deg(up[:, 0], up[:, 1])
    nominal = POSITION_NOMINAL_INCLINATION_DEG[position]

    def from_neutral(x: FloatArray) -> FloatArray:
        return wrap_deg(x - window_mean(t, x, neutral_window))

    relative = wrap_deg(upper_sag - lower_sag)
    upper_fn = nominal + from_neutral(upper_sag)
    lateral = np.where(frontal_ok, wrap_deg(upper_front - lower_front), np.nan)
    return {
        LUMBAR_FLEXION: from_neutral(relative),
        PELVIC_TILT_DEG: from_neutral(lower_sag),
        TRUNK_INCLINATION: upper_fn,
        LATERAL_BEND: lateral - window_mean(t, lateral, neutral_window),
        AXIAL_ROTATION: body.lumbar_axial_deg
        - window_mean(t, body.lumbar_axial_deg, neutral_window),
        UPPER_INCLINATION: upper_fn.copy(),
        LOWER_INCLINATION: nominal + from_neutral(lower_sag),
        "thoracic_inclination_deg": thorax_sag,
        "breath_volume_norm": body.breath_volume_norm.copy(),
        "hip_height_m": body.hip_m[:, 2].copy(),
    }
