"""Per-sensor orientation with x-io Fusion (``imufusion`` 1.3), gyroscope bias estimation on.

One IMU in, one orientation per sample out: the quaternion sensor→earth (NWU, scalar
first) and the earth-up direction in the sensor frame. The batch function
:func:`fusion_process` and the streaming :class:`SensorFusion` make the *same* calls on
the *same* ``imufusion`` objects in the same order, so they give bit-identical
quaternions; a test proves it.

Timing. ``imufusion`` integrates with a fixed sample period. Timestamps jitter and
samples get dropped, so each update uses ``n / rate_hz`` where ``n`` is the interval
a whole number of nominal periods (at least 1) from each sample's nominal index (its time
since the start times the rate, rounded): a dropped sample is integrated over two
periods, and timestamp jitter averages out instead of adding a period whenever one
interval is long (:func:`sample_periods`).

Gaps. After an interval longer than ``max_gap_s`` (a sensor that dropped out) the
gyroscope is *not* integrated over the hole: one rotation rate held for seconds says
nothing about the movement in between and would leave the orientation wrong for a long
time afterwards (Fusion's gain corrects an error of tens of degrees only slowly). The
AHRS is restarted instead and re-seeded (:func:`reseed_quaternion`): the inclination of
the first accelerometer sample after the hole, reached from the orientation before it by
the smallest rotation about a horizontal axis — the heading is not re-zeroed as at
start-up. Without a magnetometer each sensor's heading is arbitrary and the axial-rotation
output relies on the heading offset between the two sensors measured at calibration;
re-zeroing one would shift that output after every gap. With a magnetometer Fusion pulls
the heading back to it as usual. The samples up to ``settle_after_gap_s`` after the hole
carry ``FLAG_SETTLING``: their inclination rests on a few accelerometer samples, which
include the movement's own acceleration. Rotation about the vertical during the hole is
lost (it cannot be seen without a magnetometer).

Start. The orientation starts from the first accelerometer sample (the smallest rotation
onto gravity) rather than Fusion's identity, and Fusion's 3 s start-up ramp is skipped:
real people move about a second after the recording starts, before the ramp has pulled an
identity start onto gravity (and its high gain follows the movement's own accelerations),
and the protocol-free calibration takes its neutral from those first tenths of a second.

Accelerometer only. A sensor without gyroscope (NaN readings) gets earth-up from a 1.5 Hz
low-pass of the accelerometer (:class:`AccelerometerUp`), flagged ``FLAG_ACCEL_ONLY``.

Units: gyroscope deg/s, accelerometer m/s² (converted to g for Fusion here, once),
magnetometer µT.

>>> import numpy as np
>>> from spinecoach.recording import SensorData
>>> t = np.arange(200) / 100.0
>>> acc = np.tile([0.0, 0.0, 9.80665], (200, 1))
>>> s = SensorData.from_arrays("lower", t, acc, np.zeros((200, 3)), rate_hz=100.0)
>>> out = fusion_process(s, FusionSettings())
>>> out.up.shape
(200, 3)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import imufusion
import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.motion.flags import (
    EARTH_FIELD_RANGE_UT,
    FLAG_ACCEL_ONLY,
    FLAG_MAG_DISTURBANCE,
    FLAG_SATURATED,
    FLAG_SETTLING,
)
from spinecoach.motion.gravity import (
    ACCEL_ONLY_CUTOFF_HZ,
    AccelerometerUp,
    quaternion_from_up,
    reseed_quaternion,
    up_from_quaternion,
)
from spinecoach.recording import SensorData

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class FusionSettings:
    """Settings of the AHRS and of the gyroscope bias estimator.

    gain
        Fusion's algorithm gain (dimensionless): how much the accelerometer corrects the
        gyroscope. 0.5 is x-io's recommended value for human motion.
    acceleration_rejection_deg
        Accelerometer samples further than this from the expected gravity are ignored
        (movement), in degrees.
    magnetic_rejection_deg
        The same for the magnetometer.
    recovery_trigger_period_s
        Fusion's rejection timeout, in seconds.
    gyroscope_range_dps
        Full-scale range of the gyroscope; samples beyond 98 % of it are flagged as
        saturated and trigger Fusion's over-range recovery.
    accelerometer_range_mps2
        Full-scale range of the accelerometer, for the saturation flag.
    bias_threshold_dps
        Bias-corrected gyroscope reading (each axis) under which the sensor counts as
        stationary for Fusion's bias tracking (deg/s). Kept low so that the slow phases of
        a mobilisation are not mistaken for bias; that needs a good first estimate:
    initial_bias_block_s
        The first estimate: the mean of the first block of this many seconds (within the
        first ``initial_bias_search_s``) in which the sensor is still (every axis' SD under
        ``initial_bias_max_sd_dps``). Fusion's tracker starts from it.
    use_magnetometer
        Use the magnetometer for heading when the recording has one. Heading only
        matters for the secondary axial-rotation output.
    max_gap_s
        Intervals longer than this are a gap (s): flagged, and the AHRS is re-seeded from
        the accelerometer after it instead of integrating the gyroscope over the hole.
    settle_after_gap_s
        Samples up to this long after a gap are flagged ``FLAG_SETTLING`` (s).
    """

    gain: float = 0.5
    acceleration_rejection_deg: float = 10.0
    magnetic_rejection_deg: float = 10.0
    recovery_trigger_period_s: float = 5.0
    gyroscope_range_dps: float = 2000.0
    accelerometer_range_mps2: float = 16.0 * STANDARD_GRAVITY_MPS2
    bias_threshold_dps: float = 0.3
    bias_period_s: float = 3.0
    initial_bias_block_s: float = 3.0
    initial_bias_max_sd_dps: float = 1.0
    initial_bias_search_s: float = 30.0
    use_magnetometer: bool = False
    max_gap_s: float = 0.25
    settle_after_gap_s: float = 0.5


@dataclass(frozen=True, eq=False)
class FusionResult:
    """Orientation of one sensor at each of its samples.

    quaternion: (n, 4) sensor→earth, scalar first (w, x, y, z), NWU earth frame.
    up: (n, 3) unit earth-up vector expressed in the sensor frame.
    flags: (n,) per-sample quality flags (``spinecoach.motion.flags``): saturation,
    magnetic disturbance, settling after a gap.
    gap_before: (n,) True for a sample that follows an interval longer than ``max_gap_s``.
    """

    quaternion: FloatArray
    up: FloatArray
    flags: NDArray[np.uint8]
    gap_before: NDArray[np.bool_]


def _make_filters(
    rate_hz: float, settings: FusionSettings
) -> tuple[imufusion.Ahrs, imufusion.Bias]:
    ahrs = imufusion.Ahrs()
    ahrs.set_settings(
        imufusion.AhrsSettings(
            sample_rate=rate_hz,
            convention=imufusion.CONVENTION_NWU,
            gain=settings.gain,
            gyroscope_range=settings.gyroscope_range_dps,
            acceleration_rejection=settings.acceleration_rejection_deg,
            magnetic_rejection=settings.magnetic_rejection_deg,
            # Seconds from imufusion 1.3.2 on (it was samples before): at 100 Hz a sample
            # count of 500 would delay the accelerometer recovery to 500 s.
            rejection_timeout=settings.recovery_trigger_period_s,
        )
    )
    ahrs.set_sample_period(1.0 / rate_hz)
    bias = imufusion.Bias()
    bias.set_settings(
        imufusion.BiasSettings(
            sample_rate=rate_hz,
            stationary_threshold=settings.bias_threshold_dps,
            stationary_period=settings.bias_period_s,
        )
    )
    return ahrs, bias


def sample_periods(
    time_s: FloatArray, rate_hz: float, max_gap_s: float = np.inf
) -> NDArray[np.int64]:
    """Whole nominal periods between consecutive samples (first sample: 1).

    Each sample's nominal index is its time since the start (or since the last gap)
    times the rate, rounded, and at least one more than the previous sample's: a dropped
    sample gives two periods, while timestamp jitter (Bluetooth arrival times jitter by a
    fifth of a period at 100 Hz) averages out instead of adding a period whenever one
    interval happens to be long. ``last_k = max(last_{k-1} + 1, idx_k)`` is computed as
    ``k + cummax(idx - k)``; the streaming :class:`SensorFusion` does the same per sample.
    """
    n = time_s.shape[0]
    periods = np.ones(n, dtype=np.int64)
    if n < 2:
        return periods
    starts = [0, *(np.flatnonzero(np.diff(time_s) > max_gap_s) + 1).tolist()]
    bounds = [*starts, n]
    for a, b in itertools.pairwise(bounds):
        if b - a < 2:
            continue
        idx = np.rint((time_s[a:b] - time_s[a]) * rate_hz).astype(np.int64)
        k = np.arange(b - a, dtype=np.int64)
        last = k + np.maximum.accumulate(idx - k)
        periods[a + 1 : b] = np.diff(last)
    return periods


def gaps_before(time_s: FloatArray, max_gap_s: float) -> NDArray[np.bool_]:
    """True for each sample that follows an interval longer than ``max_gap_s``."""
    gap = np.zeros(time_s.shape[0], dtype=np.bool_)
    if time_s.shape[0] > 1:
        gap[1:] = np.diff(time_s) > max_gap_s
    return gap


def settling_after_gaps(
    time_s: FloatArray, gap_before: NDArray[np.bool_], settle_s: float
) -> NDArray[np.bool_]:
    """True for each sample less than ``settle_s`` after the first sample after a gap."""
    index = np.where(gap_before, np.arange(time_s.shape[0]), -1)
    last_gap = np.maximum.accumulate(index) if index.size else index
    since_s = time_s - time_s[np.maximum(last_gap, 0)]
    return np.asarray((last_gap >= 0) & (since_s < settle_s), dtype=np.bool_)


def _start_from_gravity(ahrs: imufusion.Ahrs, acc: FloatArray) -> None:
    """Start at the first accelerometer sample's inclination, without Fusion's start-up
    ramp (its high gain would follow the movement's own accelerations for 3 s)."""
    if np.isfinite(acc).all() and float(np.linalg.norm(acc)) > 1e-6:
        ahrs.set_quaternion(quaternion_from_up(np.asarray(acc, dtype=np.float64)))
        ahrs.skip_startup()


def _restart_after_gap(ahrs: imufusion.Ahrs, acc_g: FloatArray) -> None:
    """Forget the orientation's history at a gap and re-seed it (see the module notes)."""
    seed = reseed_quaternion(np.asarray(ahrs.get_quaternion(), dtype=np.float64), acc_g)
    ahrs.restart()
    ahrs.set_quaternion(seed)
    ahrs.skip_startup()


def sample_flags(
    acc_mps2: FloatArray,
    gyr_dps: FloatArray,
    mag_ut: FloatArray | None,
    settings: FusionSettings,
) -> NDArray[np.uint8]:
    """Per-sample quality flags of (n, 3) arrays: saturation (any axis at ≥ 98 % of the
    accelerometer or gyroscope range) and magnetic disturbance (field strength outside
    the Earth's range)."""
    acc_hit = np.abs(acc_mps2).max(axis=-1) >= 0.98 * settings.accelerometer_range_mps2
    gyr_hit = np.abs(gyr_dps).max(axis=-1) >= 0.98 * settings.gyroscope_range_dps
    flags = np.where(acc_hit | gyr_hit, FLAG_SATURATED, 0).astype(np.uint8)
    if mag_ut is not None:
        strength = np.linalg.norm(mag_ut, axis=-1)
        low, high = EARTH_FIELD_RANGE_UT
        disturbed = ~((strength >= low) & (strength <= high))
        flags |= np.where(disturbed, FLAG_MAG_DISTURBANCE, 0).astype(np.uint8)
    return flags


def _block_bias(
    gyr_block: FloatArray, acc_block: FloatArray, rate_hz: float, settings: FusionSettings
) -> FloatArray | None:
    """Gyroscope bias from a block in which the person held (nearly) still, else None.

    A person is never perfectly still: postural sway turns the trunk at a few tenths of a
    degree per second, which a plain mean of the gyroscope would take for bias. The tilt
    change over the block is measured from the accelerometer (gravity direction at the
    block's start and end) and removed: ``bias = mean(gyr) - omega_tilt`` with
    ``omega_tilt = -(g0 × g1) / T``. Rotation about the vertical is not observable this
    way and is assumed to average to zero.
    """
    if float(gyr_block.std(axis=0).max()) >= settings.initial_bias_max_sd_dps:
        return None
    norms = np.linalg.norm(acc_block, axis=1)
    if float(np.abs(norms / STANDARD_GRAVITY_MPS2 - 1.0).max()) > 0.05:
        return None
    ends = max(1, acc_block.shape[0] // 6)
    g0 = acc_block[:ends].mean(axis=0)
    g1 = acc_block[-ends:].mean(axis=0)
    g0 = g0 / np.linalg.norm(g0)
    g1 = g1 / np.linalg.norm(g1)
    span_s = (acc_block.shape[0] - ends) / rate_hz
    omega_tilt = -np.degrees(np.cross(g0, g1)) / span_s
    return np.asarray(gyr_block.mean(axis=0) - omega_tilt, dtype=np.float64)


def initial_bias(
    gyr_dps: FloatArray, acc_mps2: FloatArray, rate_hz: float, settings: FusionSettings
) -> tuple[int, FloatArray] | None:
    """(sample index from which to use it, bias estimate) — the first still block."""
    block = max(12, round(settings.initial_bias_block_s * rate_hz))
    blocks = int(settings.initial_bias_search_s * rate_hz) // block
    for k in range(min(blocks, gyr_dps.shape[0] // block)):
        rows = slice(k * block, (k + 1) * block)
        estimate = _block_bias(gyr_dps[rows], acc_mps2[rows], rate_hz, settings)
        if estimate is not None:
            return (k + 1) * block, estimate
    return None


def fusion_process(sensor: SensorData, settings: FusionSettings) -> FusionResult:
    """Orientation of every sample of one sensor (batch).

    A sensor without gyroscope (``sensor.has_gyroscope`` False) gets its inclination from
    gravity alone (:class:`AccelerometerUp`), flagged ``FLAG_ACCEL_ONLY``.
    """
    return fusion_result(sensor, fusion_quaternions(sensor, settings), settings)


def fusion_result(
    sensor: SensorData, quaternion: FloatArray, settings: FusionSettings
) -> FusionResult:
    """Everything else :func:`fusion_process` returns, from the quaternions (vectorised)."""
    gap = gaps_before(sensor.time_s, settings.max_gap_s)
    flags = sample_flags(sensor.acc_mps2, sensor.gyr_dps, sensor.mag_ut, settings)
    if not sensor.has_gyroscope:
        flags |= np.uint8(FLAG_ACCEL_ONLY)
    settling = settling_after_gaps(sensor.time_s, gap, settings.settle_after_gap_s)
    flags |= np.where(settling, FLAG_SETTLING, 0).astype(np.uint8)
    return FusionResult(
        quaternion=quaternion, up=up_from_quaternion(quaternion), flags=flags, gap_before=gap
    )


def fusion_quaternions(sensor: SensorData, settings: FusionSettings) -> FloatArray:
    """(n, 4) sensor→earth quaternions of one sensor — the per-sample AHRS loop.

    The loop is the only per-sample Python in the batch pipeline, kept minimal: it
    dominates the run time (about 1 µs per sample on this project's reference machine).
    """
    rate = sensor.rate_hz
    n = sensor.n_samples
    if not sensor.has_gyroscope:
        lowpass = AccelerometerUp(rate_hz=rate, settings=settings)
        out = np.empty((n, 4))
        for i, (t, a) in enumerate(zip(sensor.time_s.tolist(), sensor.acc_mps2, strict=True)):
            out[i] = lowpass.update(t, a)
        return out
    ahrs, bias = _make_filters(rate, settings)
    if n:
        _start_from_gravity(ahrs, sensor.acc_mps2[0])
    periods = sample_periods(sensor.time_s, rate, settings.max_gap_s)
    irregular = set(np.flatnonzero(periods != 1).tolist())
    gaps = set(np.flatnonzero(gaps_before(sensor.time_s, settings.max_gap_s)).tolist())
    seed = initial_bias(sensor.gyr_dps, sensor.acc_mps2, rate, settings)
    seed_index = seed[0] if seed is not None else -1
    gyr_rows = list(sensor.gyr_dps)
    acc_rows = list(sensor.acc_mps2 / STANDARD_GRAVITY_MPS2)
    use_mag = settings.use_magnetometer and sensor.mag_ut is not None
    mag_rows = list(sensor.mag_ut) if use_mag and sensor.mag_ut is not None else []
    quats: list[FloatArray] = []
    append = quats.append
    get_q = ahrs.get_quaternion
    bias_update = bias.update
    # Process runs of regular samples without a per-sample branch; stop only where a
    # sample was dropped (set the period), after a gap (re-seed, one nominal period) or
    # where the initial bias estimate starts.
    bounds = [*sorted(irregular | gaps | ({seed_index} if seed_index >= 0 else set())), n]
    start = 0
    for stop in bounds:
        if use_mag:
            step = ahrs.update
            for g, a, m in zip(
                gyr_rows[start:stop], acc_rows[start:stop], mag_rows[start:stop], strict=True
            ):
                step(bias_update(g), a, m)
                append(get_q())
        else:
            step_nm = ahrs.update_no_magnetometer
            for g, a in zip(gyr_rows[start:stop], acc_rows[start:stop], strict=True):
                step_nm(bias_update(g), a)
                append(get_q())
        if stop < n:
            if stop == seed_index and seed is not None:
                bias.set_offset(seed[1])
            irregular_here = stop in irregular and stop not in gaps
            if stop in gaps:
                _restart_after_gap(ahrs, acc_rows[stop])
            if irregular_here:
                ahrs.set_sample_period(int(periods[stop]) / rate)
            if use_mag:
                ahrs.update(bias_update(gyr_rows[stop]), acc_rows[stop], mag_rows[stop])
            else:
                ahrs.update_no_magnetometer(bias_update(gyr_rows[stop]), acc_rows[stop])
            append(get_q())
            if irregular_here:
                ahrs.set_sample_period(1.0 / rate)
            start = stop + 1
    return np.array(quats, dtype=np.float64).reshape(n, 4)


class SensorFusion:
    """Streaming orientation of one sensor: ``update()`` once per sample.

    Gives the same quaternions as :func:`fusion_process` on the same samples.

    >>> import numpy as np
    >>> f = SensorFusion(rate_hz=100.0, settings=FusionSettings())
    >>> q = f.update(0.0, np.array([0.0, 0.0, 9.80665]), np.zeros(3))
    >>> q.shape
    (4,)
    """

    def __init__(self, *, rate_hz: float, settings: FusionSettings) -> None:
        self.rate_hz = rate_hz
        self.settings = settings
        self._ahrs, self._bias = _make_filters(rate_hz, settings)
        self._last_time_s: float | None = None
        self.gap_before = False
        #: True while the orientation settles after a gap (``FLAG_SETTLING``).
        self.settling = False
        self._last_gap_time_s: float | None = None
        self._block = max(12, round(settings.initial_bias_block_s * rate_hz))
        self._max_blocks = int(settings.initial_bias_search_s * rate_hz) // self._block
        self._blocks_seen = 0
        self._bias_rows: list[FloatArray] | None = []
        self._bias_acc: list[FloatArray] = []
        self.initial_bias_dps: FloatArray | None = None
        #: Set on the first sample without a gyroscope reading (NaN): from then on the
        #: orientation is the accelerometer's (:class:`AccelerometerUp`).
        self.accel_only: AccelerometerUp | None = None
        self._first_sample = True
        self._segment_t0: float | None = None
        self._segment_k = 0
        self._segment_last = 0
        self._segment_max = 0
        #: Per-sample ``gap_before`` and ``settling`` of the last :meth:`update_block`.
        self.last_gap_before: NDArray[np.bool_] = np.zeros(0, dtype=np.bool_)
        self.last_settling: NDArray[np.bool_] = np.zeros(0, dtype=np.bool_)

    def update(
        self,
        time_s: float,
        acc_mps2: FloatArray,
        gyr_dps: FloatArray,
        mag_ut: FloatArray | None = None,
    ) -> FloatArray:
        """Fuse one sample; returns the quaternion (w, x, y, z) sensor→earth."""
        periods = 1
        self.gap_before = False
        if self._last_time_s is not None:
            interval = time_s - self._last_time_s
            self.gap_before = bool(interval > self.settings.max_gap_s)
            if not self.gap_before:
                # The same nominal index as :func:`sample_periods` (jitter averages out).
                assert self._segment_t0 is not None
                idx = int(np.rint((time_s - self._segment_t0) * self.rate_hz))
                k = self._segment_k + 1
                last = k + max(self._segment_max, idx - k)
                periods = last - self._segment_last
                self._segment_k, self._segment_last = k, last
                self._segment_max = max(self._segment_max, idx - k)
        if self._last_time_s is None or self.gap_before:
            self._segment_t0 = time_s
            self._segment_k = 0
            self._segment_last = 0
            self._segment_max = 0
        self._last_time_s = time_s
        if self.gap_before:
            periods = 1
            self._last_gap_time_s = time_s
        self.settling = self._last_gap_time_s is not None and bool(
            time_s - self._last_gap_time_s < self.settings.settle_after_gap_s
        )
        raw = np.asarray(gyr_dps, dtype=np.float64)
        acc_raw = np.asarray(acc_mps2, dtype=np.float64)
        if self._first_sample:
            if not np.isfinite(raw).any():
                self.accel_only = AccelerometerUp(rate_hz=self.rate_hz, settings=self.settings)
            else:
                _start_from_gravity(self._ahrs, acc_raw)
        self._first_sample = False
        if self.accel_only is not None:
            return self.accel_only.update(time_s, acc_raw)
        rows = self._bias_rows
        if rows is not None and len(rows) == self._block:
            estimate = _block_bias(
                np.array(rows), np.array(self._bias_acc), self.rate_hz, self.settings
            )
            self._blocks_seen += 1
            rows.clear()
            self._bias_acc.clear()
            if estimate is not None:
                self._bias.set_offset(estimate)
                self.initial_bias_dps = estimate
                self._bias_rows = rows = None
            elif self._blocks_seen >= self._max_blocks:
                self._bias_rows = rows = None
        if rows is not None:
            rows.append(raw)
            self._bias_acc.append(acc_raw)
        gyr = self._bias.update(raw)
        acc = acc_raw / STANDARD_GRAVITY_MPS2
        if self.gap_before:
            _restart_after_gap(self._ahrs, acc)
        if periods != 1:
            self._ahrs.set_sample_period(periods / self.rate_hz)
        if self.settings.use_magnetometer and mag_ut is not None:
            self._ahrs.update(gyr, acc, np.asarray(mag_ut, dtype=np.float64))
        else:
            self._ahrs.update_no_magnetometer(gyr, acc)
        if periods != 1:
            self._ahrs.set_sample_period(1.0 / self.rate_hz)
        return np.asarray(self._ahrs.get_quaternion(), dtype=np.float64)

    def update_block(
        self,
        time_s: FloatArray,
        acc_mps2: FloatArray,
        gyr_dps: FloatArray,
        mag_ut: FloatArray | None = None,
    ) -> FloatArray:
        """Fuse a block of n samples; returns their (n, 4) quaternions (w, x, y, z).

        Exactly what n calls of :meth:`update` give, and leaves the object in the same
        state. Arrays: ``time_s`` (n,) s, ``acc_mps2`` (n, 3), ``gyr_dps`` (n, 3),
        ``mag_ut`` (n, 3) or None. Per-sample results are stored as attributes:
        ``last_gap_before`` (n,) bool — the sample follows an interval longer than
        ``max_gap_s``; ``last_settling`` (n,) bool — the sample is in the settling time
        after a gap (``FLAG_SETTLING``). ``gap_before`` and ``settling`` keep the last
        sample's values, as after :meth:`update`.

        >>> import numpy as np
        >>> f = SensorFusion(rate_hz=100.0, settings=FusionSettings())
        >>> q = f.update_block(np.arange(5) / 100.0, np.tile([0.0, 0.0, 9.80665], (5, 1)),
        ...                    np.zeros((5, 3)))
        >>> q.shape, f.last_gap_before.shape
        ((5, 4), (5,))
        """
        t = np.asarray(time_s, dtype=np.float64)
        n = t.shape[0]
        out = np.empty((n, 4), dtype=np.float64)
        gap = np.zeros(n, dtype=np.bool_)
        settling = np.zeros(n, dtype=np.bool_)
        for i in range(n):
            m = None if mag_ut is None else mag_ut[i]
            out[i] = self.update(float(t[i]), acc_mps2[i], gyr_dps[i], m)
            gap[i] = self.gap_before
            settling[i] = self.settling
        self.last_gap_before = gap
        self.last_settling = settling
        return out

    def flags(self) -> imufusion.AhrsFlags:
        """Fusion's own flags (startup, recovery) for a user interface to explain."""
        return self._ahrs.get_flags()

    def internal_states(self) -> imufusion.AhrsInternalStates:
        """Fusion's internal states (acceleration error, rejection) for diagnostics."""
        return self._ahrs.get_internal_states()


__all__ = [
    "ACCEL_ONLY_CUTOFF_HZ",
    "AccelerometerUp",
    "FusionResult",
    "FusionSettings",
    "SensorFusion",
    "fusion_process",
    "fusion_quaternions",
    "fusion_result",
    "gaps_before",
    "initial_bias",
    "quaternion_from_up",
    "reseed_quaternion",
    "sample_flags",
    "sample_periods",
    "settling_after_gaps",
    "up_from_quaternion",
]
