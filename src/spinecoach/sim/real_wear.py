"""Where a simulated sensor really sits and how the skin moves it: the errors of real wear.

The measurement chain is :mod:`spinecoach.sim.sensors`; the error sizes are a
:class:`~spinecoach.sim.sensor_errors.SensorErrorModel`.

Two errors of real wear, both off (0) in :meth:`SensorErrorModel.realistic` and on in
:meth:`SensorErrorModel.real_world`, drawn from a stream of their own (so switching them
on changes nothing else):

* **Placement along the spine.** The sensor sits ``level`` vertebral levels from its
  nominal site (cranial positive; upper uniform in [−``upper_level_down_max``,
  +``upper_level_up_max``], lower in [0, ``lower_level_up_max``]). The lumbar curvature
  between the sacrum and T12/L1 is spread evenly over :data:`LUMBAR_LEVELS` motion
  segments, so a sensor ``d`` levels below T12/L1 (toward L2) turns with
  ``R_pelvis · (R_pelvis⁻¹R_upper)^(1 − d/6)`` — it sees (1 − d/6) of the lumbar motion
  (at L2, d = 1.5: 75 %) — and a lower sensor ``k`` levels above S1 (a belt at L5) sees
  k/6 of it. A sensor ``u`` levels above T12/L1 (toward T10) turns with
  ``R_upper · (R_upper⁻¹R_thorax)^(u/6)``: it adds u/6 of the thoracic curvature change
  (at T10, u = 2.5: about 40 %; in a 50° forward bend the thorax flexes a further 15°,
  so the upper sensor reads about 6° more than the T12/L1 segment). Its site moves
  :data:`LEVEL_SPACING_M` per level along the spine (the lever arm the accelerometer
  feels). The truth stays the T12/L1 and sacral segments.
* **Soft-tissue artefact.** Skin and sensor rotate against the bone by ``a(t)`` (a
  rotation vector in segment axes, deg): ``a = sat(C·m(t) + w·g·|m(t)|·n(t))`` where
  ``m`` is the tilt of the (placed) segment from its orientation at the start (deg, the
  rotation taking the start's up direction to the current one, in segment axes), ``C``
  a fixed per-sensor matrix (diagonal ±0.5–1 × ``soft_tissue_deg_per_deg``, off-diagonal
  up to ±0.3 ×), ``n`` unit-rms Gaussian noise low-passed at :data:`SOFT_TISSUE_CUTOFF_HZ`
  per axis, ``w`` = ``soft_tissue_wander`` and ``sat`` a smooth limit
  ``max·tanh(|a|/max)`` at ``soft_tissue_max_deg``. So the artefact is 0 at the start
  posture, grows smoothly with the movement and never exceeds the maximum:
  ``R_sensor→earth = R_segment · R_artefact · R_mount``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.signal import butter, sosfilt
from scipy.spatial.transform import Rotation

from spinecoach.conventions import LOWER, UPPER
from spinecoach.errors import ConfigurationError
from spinecoach.sim import quaternion as quat
from spinecoach.sim.body import BodyMotion, sample_blocks
from spinecoach.sim.sensor_errors import SensorErrorModel

FloatArray = NDArray[np.float64]

LUMBAR_LEVELS = 6.0
"""Motion segments from S1 to T12/L1 that share the lumbar curvature evenly."""
THORACIC_SHARE_LEVELS = 6.0
"""Levels above T12/L1 over which the model thorax's rotation builds up."""
LEVEL_SPACING_M = 0.03
"""Distance (m) along the skin from one vertebral level to the next (low back)."""
SOFT_TISSUE_CUTOFF_HZ = 0.3
"""Cut-off (Hz) of the low-pass random part of the soft-tissue artefact."""
SOFT_TISSUE_CROSS = 0.3
"""Largest off-diagonal coupling of the artefact, as a fraction of its gain."""
_REAL_WEAR_STREAM = 7  # spawn key of the placement/soft-tissue stream of a sensor


def _power(q: FloatArray, fraction: float) -> FloatArray:
    """``q^fraction``: the same axis, ``fraction`` of the angle (quaternions (n, 4))."""
    out: FloatArray = Rotation.from_rotvec(quat.to_rotvec(q) * fraction).as_quat()
    return out


def placed_segment(body: BodyMotion, placement: str, level: float) -> tuple[FloatArray, FloatArray]:
    """Orientation (n, 4) and site (n, 3) of the skin ``level`` vertebral levels from the
    nominal site of ``placement`` (cranial positive; see the module docstring).

    ``level = 0`` returns the segment and site of the body model unchanged.
    """
    if level == 0:
        return body.segment(placement), body.site_m[placement]
    if placement == UPPER and level < 0:  # toward L2: part of the lumbar curve is below
        base, toward, fraction = body.upper, body.pelvis, -level / LUMBAR_LEVELS
    elif placement == UPPER:  # toward T10: part of the thoracic curve is below
        base, toward, fraction = body.upper, body.thorax, level / THORACIC_SHARE_LEVELS
    elif placement == LOWER and level > 0:  # a belt at L5: part of the lumbar curve
        base, toward, fraction = body.pelvis, body.upper, level / LUMBAR_LEVELS
    else:
        raise ConfigurationError(f"no placement spread below the sacrum ({placement}, {level})")
    n = base.shape[0]
    orientation = np.empty((n, 4))
    site = np.empty((n, 3))
    lever = np.array([0.0, level * LEVEL_SPACING_M, 0.0])
    for a, b in sample_blocks(n):
        relative = quat.multiply(quat.conjugate(base[a:b]), toward[a:b])
        orientation[a:b] = quat.multiply(base[a:b], _power(relative, fraction))
        site[a:b] = body.site_m[placement][a:b] + quat.rotate(orientation[a:b], lever)
    return orientation, site


def _lowpass_unit_noise(rng: np.random.Generator, n: int, rate_hz: float) -> FloatArray:
    """(n, 3) Gaussian noise low-passed at SOFT_TISSUE_CUTOFF_HZ, unit rms per axis."""
    white = rng.standard_normal((n, 3))
    cutoff = min(SOFT_TISSUE_CUTOFF_HZ, 0.4 * rate_hz)
    sos = butter(2, cutoff, fs=rate_hz, output="sos")
    slow: FloatArray = sosfilt(sos, white, axis=0)
    rms = np.sqrt(np.mean(slow**2, axis=0))
    slow /= np.where(rms > 0, rms, 1.0)
    return slow


def soft_tissue_rotvec_deg(
    orientation: FloatArray,
    rate_hz: float,
    errors: SensorErrorModel,
    rng: np.random.Generator,
) -> FloatArray:
    """The soft-tissue artefact (n, 3): rotation vectors (deg, segment axes) of the skin
    and sensor against the segment with orientation ``orientation`` (see the module
    docstring). All zeros when ``errors.soft_tissue_max_deg`` is 0.
    """
    n = orientation.shape[0]
    if errors.soft_tissue_max_deg <= 0 or n == 0:
        return np.zeros((n, 3))
    gain = errors.soft_tissue_deg_per_deg
    signs = np.where(rng.random(3) < 0.5, -1.0, 1.0)
    coupling = rng.uniform(-1.0, 1.0, (3, 3)) * SOFT_TISSUE_CROSS * gain
    np.fill_diagonal(coupling, signs * rng.uniform(0.5, 1.0, 3) * gain)
    wander = _lowpass_unit_noise(rng, n, rate_hz) * (errors.soft_tissue_wander * gain)
    up = quat.rotate_inverse(orientation, np.array([0.0, 0.0, 1.0]))
    axis = np.cross(up[0], up)
    sin = np.linalg.norm(axis, axis=1)
    angle_deg = np.degrees(np.arctan2(sin, up @ up[0]))
    tilt = axis * (angle_deg / np.where(sin > 1e-12, sin, 1.0))[:, None]
    raw = tilt @ coupling.T + wander * angle_deg[:, None]
    size = np.linalg.norm(raw, axis=1)
    limit = errors.soft_tissue_max_deg
    scale = np.where(size > 1e-12, limit * np.tanh(size / limit) / np.where(size > 0, size, 1), 1)
    out: FloatArray = raw * scale[:, None]
    return out


def _real_wear_rng(seed: np.random.SeedSequence) -> np.random.Generator:
    stream = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, _REAL_WEAR_STREAM))
    return np.random.default_rng(stream)


def _draw_level(rng: np.random.Generator, errors: SensorErrorModel, placement: str) -> float:
    if placement == UPPER:
        return float(rng.uniform(-errors.upper_level_down_max, errors.upper_level_up_max))
    return float(rng.uniform(0.0, errors.lower_level_up_max))


def placement_level(
    errors: SensorErrorModel, placement: str, seed: np.random.SeedSequence
) -> float:
    """The level offset (vertebral levels, cranial +) :func:`simulate_imu` uses for the
    sensor at ``placement`` with seed stream ``seed`` (0 without placement spread)."""
    if not errors.changes_placement:
        return 0.0
    return _draw_level(_real_wear_rng(seed), errors, placement)


def real_wear(
    body: BodyMotion,
    placement: str,
    errors: SensorErrorModel,
    seed: np.random.SeedSequence,
) -> tuple[FloatArray, FloatArray, dict[str, str]]:
    """Segment orientation under the sensor (with the artefact) and site, plus meta."""
    rng = _real_wear_rng(seed)
    level = _draw_level(rng, errors, placement)
    orientation, site = placed_segment(body, placement, level)
    meta = {f"{placement}_level_offset": str(round(level, 6))}
    if errors.soft_tissue_max_deg > 0:
        artefact = soft_tissue_rotvec_deg(orientation, body.rate_hz, errors, rng)
        skin = Rotation.from_rotvec(artefact, degrees=True).as_quat()
        orientation = quat.multiply(orientation, skin)
        peak = float(np.linalg.norm(artefact, axis=1).max())
        meta[f"{placement}_soft_tissue_peak_deg"] = str(round(peak, 6))
    return orientation, site, meta
