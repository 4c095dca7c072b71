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

The error sizes are a :class:`~spinecoach.sim.sensor_errors.SensorErrorModel`; two errors
of real wear (the sensor placed along the spine, the skin moving it against the bone) are
in :mod:`spinecoach.sim.real_wear`.

>>> SensorErrorModel.ideal().gyro_noise_dps
0.0
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.recording import SensorData
from spinecoach.sim import quaternion as quat
from spinecoach.sim.body import BodyMotion, sample_blocks
from spinecoach.sim.real_wear import real_wear
from spinecoach.sim.sensor_errors import SensorErrorModel

__all__ = [
    "DEVICE",
    "EARTH_FIELD_NWU_UT",
    "R_MOUNT_NOMINAL",
    "SensorErrorModel",
    "angular_velocity_dps",
    "simulate_imu",
]

FloatArray = NDArray[np.float64]

DEVICE = "spinecoach-sim"
EARTH_FIELD_NWU_UT = np.array([19.0, 0.0, -45.0])
# Columns are the sensor axes in segment coordinates: x = +Y, y = −Z, z = −X.
R_MOUNT_NOMINAL = np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


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


def _angular_velocity_into(out: FloatArray, rotation: FloatArray, dt: float) -> None:
    """:func:`angular_velocity_dps` written into ``out`` (n, 3), block by block."""
    n = rotation.shape[0]
    if n < 2:
        out[:] = 0.0
        return
    for a, b in sample_blocks(n):
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
    misalignment_deg: FloatArray | None = None,
) -> tuple[SensorData, dict[str, str]]:
    """One IMU at ``placement`` on ``body``: its :class:`SensorData` and meta entries.

    ``seed`` feeds two independent streams (IMU and magnetometer), so switching the
    magnetometer on does not change the accelerometer or gyroscope. ``mount_rotation``
    (a unit quaternion ``[x, y, z, w]``, optional) is an extra rotation of the sensor
    about its own axes after the nominal mounting and the misalignment — a sensor worn
    upside down or turned on the skin: ``R_mount = R_nominal · R_misalignment · R_extra``.
    Without it the output is exactly what it was before the option existed.
    ``misalignment_deg`` (XYZ, deg, optional) replaces the drawn misalignment: the same
    sensors worn the same way again in another session (the draw is still made, so
    everything else stays as the seed gives it).

    (Over 80 lines: the error model's steps in the order of their random draws, which
    fixes every seeded recording's bits; split, the order would be harder to see.)
    """
    imu_ss, mag_ss = seed.spawn(2)
    rng = np.random.default_rng(imu_ss)
    n = body.time_s.shape[0]
    dt = 1.0 / body.rate_hz
    noise_factor = math.sqrt(body.rate_hz / 100.0)

    misalignment = rng.uniform(-1.0, 1.0, 3) * errors.misalignment_max_deg
    if misalignment_deg is not None:
        misalignment = np.asarray(misalignment_deg, dtype=np.float64)
    mount = _sensor_mount(misalignment, mount_rotation)
    # Long recordings are processed in blocks (the same operations per sample as on the
    # whole array, so the same bits) to keep memory near the size of the outputs; the
    # random draws stay whole-array, in the same order.
    segment = body.segment(placement)
    site = body.site_m[placement]
    wear_meta: dict[str, str] = {}
    if errors.changes_placement:
        segment, site, wear_meta = real_wear(body, placement, errors, seed)
    sensor = np.empty((n, 4))
    for a, b in sample_blocks(n):
        sensor[a:b] = quat.multiply(segment[a:b], mount)

    gyro_bias = rng.uniform(-1.0, 1.0, 3) * errors.gyro_bias_dps
    gyro_scale = rng.uniform(-1.0, 1.0, 3) * errors.gyro_scale
    acc_bias = rng.uniform(-1.0, 1.0, 3) * errors.acc_bias_mps2
    acc_scale = rng.uniform(-1.0, 1.0, 3) * errors.acc_scale
    gyr = _gyroscope_dps(rng, errors, sensor, dt, noise_factor, gyro_bias, gyro_scale)
    acc = _accelerometer_mps2(rng, errors, sensor, site, dt, noise_factor, acc_bias, acc_scale)

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
        mag, offset = _magnetometer_ut(mag_ss, errors, sensor, noise_factor)
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


def _sensor_mount(misalignment_deg: FloatArray, extra: FloatArray | None) -> FloatArray:
    """Sensor → segment quaternion: nominal mounting · misalignment (XYZ, deg) · extra."""
    mount = Rotation.from_matrix(R_MOUNT_NOMINAL) * Rotation.from_euler(
        "XYZ", misalignment_deg, degrees=True
    )
    if extra is not None:
        mount = mount * Rotation.from_quat(extra)
    quaternion: FloatArray = mount.as_quat()
    return quaternion


def _gyroscope_dps(
    rng: np.random.Generator,
    errors: SensorErrorModel,
    sensor: FloatArray,
    dt: float,
    noise_factor: float,
    bias_dps: FloatArray,
    scale: FloatArray,
) -> FloatArray:
    """The gyroscope (deg/s) of sensor orientations ``sensor``: scale, bias, drift (a
    random walk), noise and range; draws the drift then the noise from ``rng``."""
    n = sensor.shape[0]
    drift = _white(rng, errors.gyro_bias_drift_dps_per_sqrt_s * math.sqrt(dt), (n, 3))
    np.cumsum(drift, axis=0, out=drift)
    gyr = np.empty((n, 3))
    _angular_velocity_into(gyr, sensor, dt)
    gyro_gain = 1.0 + scale
    for a, b in sample_blocks(n):
        gyr[a:b] = gyr[a:b] * gyro_gain + bias_dps + drift[a:b]
    del drift
    gyr += _white(rng, errors.gyro_noise_dps * noise_factor, (n, 3))
    np.clip(gyr, -errors.gyro_range_dps, errors.gyro_range_dps, out=gyr)
    return gyr


def _accelerometer_mps2(
    rng: np.random.Generator,
    errors: SensorErrorModel,
    sensor: FloatArray,
    site: FloatArray,
    dt: float,
    noise_factor: float,
    bias_mps2: FloatArray,
    scale: FloatArray,
) -> FloatArray:
    """The accelerometer (m/s²) at ``site`` (m) in sensor axes: specific force with
    gravity, scale, bias, noise (drawn from ``rng``) and range."""
    n = sensor.shape[0]
    acc = np.empty((n, 3))
    acc_gain = 1.0 + scale
    for a, b in sample_blocks(n):
        specific_force = _second_derivative_block(site, a, b, dt)
        specific_force[:, 2] += STANDARD_GRAVITY_MPS2
        acc[a:b] = quat.rotate_inverse(sensor[a:b], specific_force) * acc_gain + bias_mps2
    acc += _white(rng, errors.acc_noise_mps2 * noise_factor, (n, 3))
    np.clip(acc, -errors.acc_range_mps2, errors.acc_range_mps2, out=acc)
    return acc


def _magnetometer_ut(
    seed: np.random.SeedSequence,
    errors: SensorErrorModel,
    sensor: FloatArray,
    noise_factor: float,
) -> tuple[FloatArray, FloatArray]:
    """The magnetometer (µT) of the earth's field in sensor axes, with a hard-iron offset
    and noise from its own stream; and the offset."""
    n = sensor.shape[0]
    mag_rng = np.random.default_rng(seed)
    offset = mag_rng.uniform(-1.0, 1.0, 3) * errors.mag_offset_ut
    mag = np.empty((n, 3))
    for a, b in sample_blocks(n):
        mag[a:b] = quat.rotate_inverse(sensor[a:b], EARTH_FIELD_NWU_UT) + offset
    mag += _white(mag_rng, errors.mag_noise_ut * noise_factor, (n, 3))
    return mag, offset
