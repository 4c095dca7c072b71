"""The simulated IMUs: mounting, measurement errors, timestamps and dropped samples.

Nominal mounting on the skin: sensor x along segment +Y (superior), sensor z out of the
skin (segment −X, posterior), sensor y = z × x (segment −Z, left). A random
misalignment ``Rx(a)·Ry(b)·Rz(c)`` about the sensor's own axes (each uniform in
±``misalignment_max_deg``) follows, so ``R_sensor→earth = R_segment · R_mount`` with
``R_mount = R_nominal · R_misalignment`` (sensor → segment coordinates).

Measurements (units of :mod:`spinecoach.conventions`):

* accelerometer (m/s², specific force) = (1 + scale) ⊙ R_sensorᵀ(a_lin + g·ẑ) + bias +
  noise, clipped to ±``acc_range_mps2``;
* gyroscope (deg/s) = (1 + scale) ⊙ ω_sensor + turn-on bias + random-walk drift + noise,
  clipped to ±``gyro_range_dps``; ω from the orientation sequence by central differences
  ``(r[k−1]⁻¹ r[k+1]).as_rotvec() / 2dt`` (one-sided at the ends);
* magnetometer (µT, optional) = R_sensorᵀ·B_earth + hard-iron offset + noise, with
  B_earth = [19, 0, −45] µT in NWU (a mid-latitude field, pointing north and down).

White-noise levels are given at 100 Hz and scale with √(rate/100) (constant density).
Timestamps carry Gaussian jitter (clipped to keep them strictly increasing), and bursts
of 1–``drop_burst_max`` samples are removed from that sensor only. Default error sizes
are typical of consumer MEMS IMUs (e.g. Bosch BMI270 / TDK ICM-42688 datasheets).

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

>>> SensorErrorModel.ideal().gyro_noise_dps
0.0
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import numpy as np
from numpy.typing import NDArray
from scipy.signal import butter, sosfilt
from scipy.spatial.transform import Rotation

from spinecoach.conventions import LOWER, STANDARD_GRAVITY_MPS2, UPPER
from spinecoach.errors import ConfigurationError
from spinecoach.recording import SensorData
from spinecoach.sim import quaternion as quat
from spinecoach.sim.body import BLOCK_SAMPLES, BodyMotion

FloatArray = NDArray[np.float64]

DEVICE = "spinecoach-sim"
EARTH_FIELD_NWU_UT = np.array([19.0, 0.0, -45.0])
# Columns are the sensor axes in segment coordinates: x = +Y, y = −Z, z = −X.
R_MOUNT_NOMINAL = np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])

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


@dataclass(frozen=True)
class SensorErrorModel:
    """Sizes of the simulated sensor errors (a frozen domain value).

    Bias, offset, scale and misalignment values are the half-widths of uniform draws per
    axis; noise values are standard deviations.

    >>> SensorErrorModel.realistic().misalignment_max_deg
    20.0
    >>> SensorErrorModel(drop_probability=0.0).jitter_s
    0.0005
    """

    gyro_bias_dps: float = 1.0
    """Turn-on gyroscope bias (deg/s), uniform in ± this per axis."""
    gyro_bias_drift_dps_per_sqrt_s: float = 0.003
    """Gyroscope bias random walk (deg/s/√s)."""
    gyro_noise_dps: float = 0.05
    """Gyroscope white noise (deg/s rms at 100 Hz)."""
    gyro_scale: float = 0.003
    """Gyroscope scale-factor error (fraction), uniform in ± this per axis."""
    acc_bias_mps2: float = 0.04
    """Accelerometer bias (m/s²), uniform in ± this per axis."""
    acc_noise_mps2: float = 0.02
    """Accelerometer white noise (m/s² rms at 100 Hz)."""
    acc_scale: float = 0.005
    """Accelerometer scale-factor error (fraction), uniform in ± this per axis."""
    mag_offset_ut: float = 5.0
    """Magnetometer hard-iron offset (µT), uniform in ± this per axis."""
    mag_noise_ut: float = 0.3
    """Magnetometer white noise (µT rms at 100 Hz)."""
    misalignment_max_deg: float = 20.0
    """Mounting misalignment (deg) about each sensor axis, uniform in ± this."""
    jitter_s: float = 0.0005
    """Timestamp jitter (s, standard deviation)."""
    drop_probability: float = 0.002
    """Expected fraction of samples dropped (0–0.5)."""
    drop_burst_max: int = 5
    """Longest burst of consecutive dropped samples (bursts are 1..this long)."""
    gyro_range_dps: float = 2000.0
    """Gyroscope full scale (deg/s); readings saturate at ± this."""
    acc_range_mps2: float = 16.0 * STANDARD_GRAVITY_MPS2
    """Accelerometer full scale (m/s²); readings saturate at ± this."""
    soft_tissue_deg_per_deg: float = 0.0
    """Soft-tissue artefact gain: sensor rotation against the bone (deg) per degree of the
    segment's tilt from its start orientation (per-sensor gains 0.5–1 × this)."""
    soft_tissue_wander: float = 0.0
    """Low-pass random part of the artefact gain, as a fraction of the gain (rms)."""
    soft_tissue_max_deg: float = 0.0
    """Largest soft-tissue artefact (deg), a smooth limit; 0 switches the artefact off."""
    upper_level_down_max: float = 0.0
    """Upper sensor placed up to this many vertebral levels below T12/L1 (toward L2)."""
    upper_level_up_max: float = 0.0
    """Upper sensor placed up to this many vertebral levels above T12/L1 (toward T10)."""
    lower_level_up_max: float = 0.0
    """Lower sensor placed up to this many vertebral levels above S1 (toward L5, a belt)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigurationError(f"SensorErrorModel.{f.name} must be a number")
            if math.isnan(value) or value < 0:
                raise ConfigurationError(
                    f"SensorErrorModel.{f.name} must be zero or positive, got {value}"
                )
            if math.isinf(value) and f.name not in ("gyro_range_dps", "acc_range_mps2"):
                raise ConfigurationError(f"SensorErrorModel.{f.name} must be finite")
        if self.drop_probability >= 0.5:
            raise ConfigurationError(
                f"SensorErrorModel.drop_probability must be below 0.5, got {self.drop_probability}"
            )
        if not isinstance(self.drop_burst_max, int) or self.drop_burst_max < 1:
            raise ConfigurationError(
                "SensorErrorModel.drop_burst_max must be a whole number of samples ≥ 1, "
                f"got {self.drop_burst_max!r}"
            )
        if self.gyro_range_dps == 0 or self.acc_range_mps2 == 0:
            raise ConfigurationError("SensorErrorModel ranges must be positive (use inf for none)")
        if self.misalignment_max_deg > 90:
            raise ConfigurationError(
                "SensorErrorModel.misalignment_max_deg must be at most 90, got "
                f"{self.misalignment_max_deg}"
            )
        if self.soft_tissue_max_deg > 15:
            raise ConfigurationError(
                "SensorErrorModel.soft_tissue_max_deg must be at most 15 (skin moves a few "
                f"degrees against the bone), got {self.soft_tissue_max_deg}"
            )
        if self.soft_tissue_deg_per_deg > 0.5 or self.soft_tissue_wander > 2:
            raise ConfigurationError(
                "SensorErrorModel.soft_tissue_deg_per_deg must be at most 0.5 and "
                "soft_tissue_wander at most 2, got "
                f"{self.soft_tissue_deg_per_deg} and {self.soft_tissue_wander}"
            )
        if (self.soft_tissue_deg_per_deg > 0) != (self.soft_tissue_max_deg > 0):
            raise ConfigurationError(
                "SensorErrorModel.soft_tissue_deg_per_deg and soft_tissue_max_deg must be "
                "both positive (artefact on) or both zero (off), got "
                f"{self.soft_tissue_deg_per_deg} and {self.soft_tissue_max_deg}"
            )
        for name in ("upper_level_down_max", "upper_level_up_max", "lower_level_up_max"):
            if getattr(self, name) > 3:
                raise ConfigurationError(
                    f"SensorErrorModel.{name} must be at most 3 vertebral levels, got "
                    f"{getattr(self, name)}"
                )

    @classmethod
    def realistic(cls) -> SensorErrorModel:
        """The default: consumer MEMS IMUs taped on the skin by a lay person."""
        return cls()

    @classmethod
    def real_world(cls, *, placement_spread: bool = True) -> SensorErrorModel:
        """Sensors as people wear them: :meth:`realistic` plus placement and skin motion.

        Upper sensor anywhere from L2 (1.5 levels below T12/L1) to T10 (2.5 above), lower
        sensor from S1 up to L5 (a belt), soft-tissue artefact of about 0.05° per degree
        of segment tilt, limited to 4°, with a ±30 % low-pass wander (skin-marker studies
        of the lumbar spine report a few degrees to a few centimetres of skin motion in
        forward bending); noisier, less tightly timed consumer sensors (other brands,
        Bluetooth timestamps: 2 ms jitter, 0.5 % of samples dropped).

        A sensor away from T12/L1 or S1 measures a different part of the spine than the
        truth (at L2 a quarter less lumbar flexion): recordings then also carry the truth
        at the sensors (``*_at_sensors_deg``, see
        :func:`~spinecoach.sim.assemble.at_sensor_series`). ``placement_spread=False``
        keeps both sensors at their nominal sites (skin motion and sensor errors only).

        >>> SensorErrorModel.real_world().soft_tissue_max_deg
        4.0
        >>> SensorErrorModel.real_world(placement_spread=False).spreads_placement
        False
        """
        spread = 1.0 if placement_spread else 0.0
        return replace(
            cls(),
            gyro_noise_dps=0.1,
            acc_noise_mps2=0.03,
            jitter_s=0.002,
            drop_probability=0.005,
            soft_tissue_deg_per_deg=0.05,
            soft_tissue_wander=0.3,
            soft_tissue_max_deg=4.0,
            upper_level_down_max=1.5 * spread,
            upper_level_up_max=2.5 * spread,
            lower_level_up_max=1.0 * spread,
        )

    @property
    def spreads_placement(self) -> bool:
        """Whether a sensor may sit away from its nominal site along the spine."""
        return (
            self.upper_level_down_max > 0
            or self.upper_level_up_max > 0
            or self.lower_level_up_max > 0
        )

    @property
    def changes_placement(self) -> bool:
        """Whether the placement spread or the soft-tissue artefact is on."""
        return self.soft_tissue_max_deg > 0 or self.spreads_placement

    @classmethod
    def ideal(cls) -> SensorErrorModel:
        """No errors at all: perfect mounting, no noise, bias, jitter, drops or saturation."""
        return cls(
            gyro_bias_dps=0.0,
            gyro_bias_drift_dps_per_sqrt_s=0.0,
            gyro_noise_dps=0.0,
            gyro_scale=0.0,
            acc_bias_mps2=0.0,
            acc_noise_mps2=0.0,
            acc_scale=0.0,
            mag_offset_ut=0.0,
            mag_noise_ut=0.0,
            misalignment_max_deg=0.0,
            jitter_s=0.0,
            drop_probability=0.0,
            drop_burst_max=1,
            gyro_range_dps=math.inf,
            acc_range_mps2=math.inf,
        )


def angular_velocity_dps(rotation: FloatArray, dt: float) -> FloatArray:
    """Body-frame angular velocity (deg/s) of quaternions (n, 4) sampled every ``dt`` s.

    Central differences ``(r[k−1]⁻¹ r[k+1]).as_rotvec() / 2dt``, one-sided at the ends.

    >>> from spinecoach.sim.quaternion import about_axis
    >>> q = about_axis(0, np.arange(5) * 0.1)  # 0.1° per 10 ms about x
    >>> np.round(angular_velocity_dps(q, 0.01)[2], 9).tolist()
    [10.0, 0.0, 0.0]
    """
    out = np.zeros((rotation.shape[0], 3))
    _angular_velocity_into(out, rotation, dt)
    return out


def _blocks(n: int) -> list[tuple[int, int]]:
    return [(a, min(a + BLOCK_SAMPLES, n)) for a in range(0, n, BLOCK_SAMPLES)]


def _angular_velocity_into(out: FloatArray, rotation: FloatArray, dt: float) -> None:
    """:func:`angular_velocity_dps` written into ``out`` (n, 3), block by block."""
    n = rotation.shape[0]
    if n < 2:
        out[:] = 0.0
        return
    for a, b in _blocks(n):
        lo, hi = max(a, 1), min(b, n - 1)  # interior rows of the block
        if hi > lo:
            step = quat.multiply(
                quat.conjugate(rotation[lo - 1 : hi - 1]), rotation[lo + 1 : hi + 1]
            )
            out[lo:hi] = quat.to_rotvec(step) / (2.0 * dt)
    out[0] = quat.to_rotvec(quat.multiply(quat.conjugate(rotation[0]), rotation[1])) / dt
    out[-1] = quat.to_rotvec(quat.multiply(quat.conjugate(rotation[-2]), rotation[-1])) / dt
    np.degrees(out, out=out)


def _second_derivative_rows(x: FloatArray, lo: int, hi: int, dt: float) -> FloatArray:
    """Rows ``lo..hi-1`` (1 ≤ lo, hi ≤ n − 1) of :func:`~spinecoach.sim.body.second_derivative`."""
    rows: FloatArray = (x[lo + 1 : hi + 1] - 2.0 * x[lo:hi] + x[lo - 1 : hi - 1]) / (dt * dt)
    return rows


def _second_derivative_block(x: FloatArray, a: int, b: int, dt: float) -> FloatArray:
    """Rows ``a..b-1`` of :func:`~spinecoach.sim.body.second_derivative` (same bits)."""
    n = x.shape[0]
    out = np.empty((b - a, x.shape[1]))
    if n < 3:
        out[:] = 0.0
        return out
    lo, hi = max(a, 1), min(b, n - 1)
    if hi > lo:
        out[lo - a : hi - a] = _second_derivative_rows(x, lo, hi, dt)
    if a == 0:  # the edges copy their neighbour
        out[0] = _second_derivative_rows(x, 1, 2, dt)[0]
    if b == n:
        out[-1] = _second_derivative_rows(x, n - 2, n - 1, dt)[0]
    return out


def _json_list(values: Sequence[float] | FloatArray) -> str:
    return json.dumps([round(float(v), 6) for v in values])


def _white(rng: np.random.Generator, sd: float, shape: tuple[int, ...]) -> FloatArray:
    noise: FloatArray = rng.standard_normal(shape) * sd
    return noise


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
    for a, b in _blocks(n):
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


def _real_wear(
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


def _kept_samples(
    rng: np.random.Generator, n: int, probability: float, burst_max: int
) -> NDArray[np.bool_]:
    """Mask of kept samples after dropping bursts (first and last sample always kept)."""
    mean_burst = 0.5 * (1 + burst_max)
    starts = np.flatnonzero(rng.random(n) < probability / mean_burst)
    lengths = rng.integers(1, burst_max + 1, size=starts.shape[0])
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    dropped = np.repeat(starts, lengths) + offsets
    keep = np.ones(n, dtype=bool)
    keep[dropped[dropped < n]] = False
    keep[0] = keep[-1] = True
    return keep


def simulate_imu(
    body: BodyMotion,
    placement: str,
    errors: SensorErrorModel,
    seed: np.random.SeedSequence,
    *,
    magnetometer: bool,
    mount_rotation: FloatArray | None = None,
) -> tuple[SensorData, dict[str, str]]:
    """One IMU at ``placement`` on ``body``: its :class:`SensorData` and meta entries.

    ``seed`` feeds two independent streams (IMU and magnetometer), so switching the
    magnetometer on does not change the accelerometer or gyroscope. ``mount_rotation``
    (a unit quaternion ``[x, y, z, w]``, optional) is an extra rotation of the sensor
    about its own axes after the nominal mounting and the misalignment — a sensor worn
    upside down or turned on the skin: ``R_mount = R_nominal · R_misalignment · R_extra``.
    Without it the output is exactly what it was before the option existed.
    """
    imu_ss, mag_ss = seed.spawn(2)
    rng = np.random.default_rng(imu_ss)
    n = body.time_s.shape[0]
    dt = 1.0 / body.rate_hz
    noise_factor = math.sqrt(body.rate_hz / 100.0)

    misalignment = rng.uniform(-1.0, 1.0, 3) * errors.misalignment_max_deg
    mount = Rotation.from_matrix(R_MOUNT_NOMINAL) * Rotation.from_euler(
        "XYZ", misalignment, degrees=True
    )
    if mount_rotation is not None:
        mount = mount * Rotation.from_quat(mount_rotation)
    mount = mount.as_quat()
    # Long recordings are processed in blocks (the same operations per sample as on the
    # whole array, so the same bits) to keep memory near the size of the outputs; the
    # random draws stay whole-array, in the same order.
    segment = body.segment(placement)
    site = body.site_m[placement]
    wear_meta: dict[str, str] = {}
    if errors.changes_placement:
        segment, site, wear_meta = _real_wear(body, placement, errors, seed)
    sensor = np.empty((n, 4))
    for a, b in _blocks(n):
        sensor[a:b] = quat.multiply(segment[a:b], mount)

    gyro_bias = rng.uniform(-1.0, 1.0, 3) * errors.gyro_bias_dps
    gyro_scale = rng.uniform(-1.0, 1.0, 3) * errors.gyro_scale
    acc_bias = rng.uniform(-1.0, 1.0, 3) * errors.acc_bias_mps2
    acc_scale = rng.uniform(-1.0, 1.0, 3) * errors.acc_scale
    drift = _white(rng, errors.gyro_bias_drift_dps_per_sqrt_s * math.sqrt(dt), (n, 3))
    np.cumsum(drift, axis=0, out=drift)
    gyr = np.empty((n, 3))
    _angular_velocity_into(gyr, sensor, dt)
    gyro_gain = 1.0 + gyro_scale
    for a, b in _blocks(n):
        gyr[a:b] = gyr[a:b] * gyro_gain + gyro_bias + drift[a:b]
    del drift
    gyr += _white(rng, errors.gyro_noise_dps * noise_factor, (n, 3))
    np.clip(gyr, -errors.gyro_range_dps, errors.gyro_range_dps, out=gyr)

    acc = np.empty((n, 3))
    acc_gain = 1.0 + acc_scale
    for a, b in _blocks(n):
        specific_force = _second_derivative_block(site, a, b, dt)
        specific_force[:, 2] += STANDARD_GRAVITY_MPS2
        acc[a:b] = quat.rotate_inverse(sensor[a:b], specific_force) * acc_gain + acc_bias
    acc += _white(rng, errors.acc_noise_mps2 * noise_factor, (n, 3))
    np.clip(acc, -errors.acc_range_mps2, errors.acc_range_mps2, out=acc)

    jitter_limit = 0.45 * dt  # keeps timestamps strictly increasing
    jitter = np.clip(_white(rng, errors.jitter_s, (n,)), -jitter_limit, jitter_limit)
    time_s = np.maximum(body.time_s + jitter, 0.0)
    keep = _kept_samples(rng, n, errors.drop_probability, errors.drop_burst_max)

    meta = {
        f"{placement}_mount_misalignment_deg": _json_list(misalignment),
        f"{placement}_mount_sensor_to_segment_xyzw": _json_list(mount),
        f"{placement}_gyro_bias_dps": _json_list(gyro_bias),
        f"{placement}_gyro_scale": _json_list(gyro_scale),
        f"{placement}_acc_bias_mps2": _json_list(acc_bias),
        f"{placement}_acc_scale": _json_list(acc_scale),
        f"{placement}_dropped_samples": str(int(n - keep.sum())),
    }
    if mount_rotation is not None:
        meta[f"{placement}_mount_extra_rotation_xyzw"] = _json_list(mount_rotation)
    meta.update(wear_meta)
    mag = None
    if magnetometer:
        mag_rng = np.random.default_rng(mag_ss)
        offset = mag_rng.uniform(-1.0, 1.0, 3) * errors.mag_offset_ut
        mag = np.empty((n, 3))
        for a, b in _blocks(n):
            mag[a:b] = quat.rotate_inverse(sensor[a:b], EARTH_FIELD_NWU_UT) + offset
        mag += _white(mag_rng, errors.mag_noise_ut * noise_factor, (n, 3))
        mag = mag[keep]
        meta[f"{placement}_mag_offset_ut"] = _json_list(offset)

    del sensor
    time_s, acc, gyr = time_s[keep], acc[keep], gyr[keep]
    data = SensorData.from_arrays(
        placement,
        time_s,
        acc,
        gyr,
        rate_hz=body.rate_hz,
        mag_ut=mag,
        device=DEVICE,
    )
    return data, meta
