"""Per-sensor orientation with x-io Fusion (1.3), gyroscope bias estimation on.

One IMU in, one orientation per sample out: the quaternion sensor→earth (NWU, scalar
first) and the earth-up direction in the sensor frame. The batch function
:func:`fusion_process` and the streaming :class:`SensorFusion` (``update`` per sample,
``update_block`` per block) make the *same* calls on the *same* engine in the same order,
so they give bit-identical quaternions; tests prove it.

Compiled loop (issue 17). Fusion's own C is fast (about 0.05 µs a sample); calling it
through ``imufusion`` once per sample from Python costs 1–2 µs (converting each numpy row
to floats, the method calls), 80 % of the batch pipeline. So the per-sample loop runs in
``spinecoach.motion._cfusion``: our small C binding around x-io's Fusion sources, vendored
unmodified from the imufusion 1.3.3 sdist (``_fusion_c/``, MIT), built by the package's
own ``setup.py``. It loops over whole arrays (any strides, no copies) and makes exactly the
calls we made through imufusion — ``FusionBiasUpdate``, the whole-period sample period,
``FusionAhrsUpdate[NoMagnetometer]``, the quaternion — with imufusion's float32
conversions and build flags, so its quaternions are imufusion's bit for bit (tested on
simulations at 25–100 Hz and real recordings with gaps, with and without magnetometer).
The rare events stay in Python between runs: the start from gravity, the initial bias
seed, the re-seed after a gap (:func:`reseed_quaternion`). Why C around Fusion's sources
rather than a JIT (numba) over a port of the algorithm: the results are Fusion's by
construction (a port must be re-verified against every Fusion release and would differ in
float32 rounding), no new run-time dependency (numba pins numpy and LLVM versions and
compiles for seconds at first use, which the server's start-up and the CLI cannot pay), and
the same engine serves streaming, where per-call overhead matters as much as the loop.
Without a C compiler the extension is skipped at install and :func:`new_engine` falls
back to :class:`ImufusionEngine` (imufusion's objects, the same numbers, about 4× slower
end to end) with one logged warning.

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

import importlib
import itertools
import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

import imufusion
import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.errors import ConfigurationError
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


class FusionEngine(Protocol):
    """One sensor's x-io Fusion AHRS (NWU) and gyroscope-bias estimator.

    Two implementations give the same numbers: the compiled loop
    ``spinecoach.motion._cfusion.Fusion`` (Fusion's own C sources, vendored) and
    :class:`ImufusionEngine` (imufusion's objects, one Python call per sample), the
    fallback for a build without a C compiler.
    """

    def run(
        self,
        gyr_dps: FloatArray,
        acc: FloatArray,
        acc_scale: float,
        mag_ut: FloatArray | None,
        periods: NDArray[np.int64] | None,
        out: FloatArray,
        start: int,
        stop: int,
    ) -> None:
        """Fuse samples ``start..stop-1`` of (n, 3) float64 arrays (accelerometer in
        ``acc_scale`` units per g; ``periods`` whole sample periods, None = all 1) and
        write their quaternions (w, x, y, z) into rows ``start..stop-1`` of ``out``."""

    def get_quaternion(self) -> tuple[float, float, float, float]: ...
    def set_quaternion(self, w: float, x: float, y: float, z: float, /) -> None: ...
    def restart(self) -> None: ...
    def skip_startup(self) -> None: ...
    def set_bias_offset(self, x: float, y: float, z: float, /) -> None: ...
    def get_bias_offset(self) -> tuple[float, float, float]: ...
    def flags(self) -> tuple[bool, bool, bool, bool]: ...
    def internal_states(self) -> tuple[float, bool, float, float, bool, float]: ...


class ImufusionEngine:
    """:class:`FusionEngine` over ``imufusion``'s objects: the per-sample Python loop.

    The fallback when the compiled ``_cfusion`` is missing, and the reference the tests
    compare it with. Settings as :func:`new_engine` documents.
    """

    def __init__(self, *, rate_hz: float, settings: FusionSettings) -> None:
        self._rate_hz = rate_hz
        self._ahrs = imufusion.Ahrs()
        self._ahrs.set_settings(
            imufusion.AhrsSettings(
                sample_rate=rate_hz,
                convention=imufusion.CONVENTION_NWU,
                gain=settings.gain,
                gyroscope_range=settings.gyroscope_range_dps,
                acceleration_rejection=settings.acceleration_rejection_deg,
                magnetic_rejection=settings.magnetic_rejection_deg,
                # Seconds from imufusion 1.3.2 on (it was samples before): at 100 Hz a
                # sample count of 500 would delay the accelerometer recovery to 500 s.
                rejection_timeout=settings.recovery_trigger_period_s,
            )
        )
        self._ahrs.set_sample_period(1.0 / rate_hz)
        self._bias = imufusion.Bias()
        self._bias.set_settings(
            imufusion.BiasSettings(
                sample_rate=rate_hz,
                stationary_threshold=settings.bias_threshold_dps,
                stationary_period=settings.bias_period_s,
            )
        )

    def run(
        self,
        gyr_dps: FloatArray,
        acc: FloatArray,
        acc_scale: float,
        mag_ut: FloatArray | None,
        periods: NDArray[np.int64] | None,
        out: FloatArray,
        start: int,
        stop: int,
    ) -> None:
        ahrs, bias_update, get_q = self._ahrs, self._bias.update, self._ahrs.get_quaternion
        rate = self._rate_hz
        acc_rows = list(acc[start:stop] / acc_scale)
        gyr_rows = list(gyr_dps[start:stop])
        steps = [1] * (stop - start) if periods is None else periods[start:stop].tolist()
        mag_rows = None if mag_ut is None else list(mag_ut[start:stop])
        quats = []
        for i, (g, a, p) in enumerate(zip(gyr_rows, acc_rows, steps, strict=True)):
            corrected = bias_update(g)
            if p != 1:
                ahrs.set_sample_period(p / rate)
            if mag_rows is None:
                ahrs.update_no_magnetometer(corrected, a)
            else:
                ahrs.update(corrected, a, mag_rows[i])
            if p != 1:
                ahrs.set_sample_period(1.0 / rate)
            quats.append(get_q())
        if quats:
            out[start:stop] = quats

    def get_quaternion(self) -> tuple[float, float, float, float]:
        w, x, y, z = self._ahrs.get_quaternion().tolist()
        return w, x, y, z

    def set_quaternion(self, w: float, x: float, y: float, z: float, /) -> None:
        self._ahrs.set_quaternion(np.array([w, x, y, z], dtype=np.float64))

    def restart(self) -> None:
        self._ahrs.restart()

    def skip_startup(self) -> None:
        self._ahrs.skip_startup()

    def set_bias_offset(self, x: float, y: float, z: float, /) -> None:
        self._bias.set_offset(np.array([x, y, z], dtype=np.float64))

    def get_bias_offset(self) -> tuple[float, float, float]:
        x, y, z = self._bias.get_offset().tolist()
        return x, y, z

    def flags(self) -> tuple[bool, bool, bool, bool]:
        f = self._ahrs.get_flags()
        return (
            bool(f.startup),
            bool(f.overrange_recovery),
            bool(f.acceleration_recovery),
            bool(f.magnetic_recovery),
        )

    def internal_states(self) -> tuple[float, bool, float, float, bool, float]:
        s = self._ahrs.get_internal_states()
        return (
            float(s.acceleration_error),
            bool(s.accelerometer_ignored),
            float(s.acceleration_recovery_trigger),
            float(s.magnetic_error),
            bool(s.magnetometer_ignored),
            float(s.magnetic_recovery_trigger),
        )


log = logging.getLogger(__name__)

_CFUSION_UNSET = object()
_cfusion_module: object = _CFUSION_UNSET


def _compiled() -> ModuleType | None:
    """The compiled ``_cfusion`` module, or None (once: a logged warning) without it."""
    global _cfusion_module
    if _cfusion_module is _CFUSION_UNSET:
        try:
            compiled = importlib.import_module("spinecoach.motion._cfusion")
        except ImportError as exc:
            log.warning(
                "spinecoach.motion._cfusion is not built (%s): fusion runs imufusion's "
                "per-sample loop, about 4x slower end to end. Install spinecoach with a C "
                "compiler (pip install -e . with gcc or clang) to build it.",
                exc,
            )
            _cfusion_module = None
        else:
            _cfusion_module = compiled
    return _cfusion_module if isinstance(_cfusion_module, ModuleType) else None


def compiled_fusion_available() -> bool:
    """True when the compiled Fusion loop (``spinecoach.motion._cfusion``) is in use."""
    return _compiled() is not None


def new_engine(rate_hz: float, settings: FusionSettings) -> FusionEngine:
    """A fresh :class:`FusionEngine`: Fusion with NWU axes, ``settings``' gain, ranges,
    rejection and rejection timeout (seconds), a unit sample period of ``1 / rate_hz``,
    and Fusion's gyroscope-bias estimator with ``settings``' threshold and period —
    compiled when ``_cfusion`` is built, else imufusion's objects."""
    compiled = _compiled()
    if compiled is None:
        return ImufusionEngine(rate_hz=rate_hz, settings=settings)
    engine: FusionEngine = compiled.Fusion(
        rate_hz=rate_hz,
        gain=settings.gain,
        gyroscope_range_dps=settings.gyroscope_range_dps,
        acceleration_rejection_deg=settings.acceleration_rejection_deg,
        magnetic_rejection_deg=settings.magnetic_rejection_deg,
        rejection_timeout_s=settings.recovery_trigger_period_s,
        bias_threshold_dps=settings.bias_threshold_dps,
        bias_period_s=settings.bias_period_s,
    )
    return engine


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


def _start_from_gravity(engine: FusionEngine, acc: FloatArray) -> None:
    """Start at the first accelerometer sample's inclination, without Fusion's start-up
    ramp (its high gain would follow the movement's own accelerations for 3 s)."""
    if np.isfinite(acc).all() and float(np.linalg.norm(acc)) > 1e-6:
        w, x, y, z = quaternion_from_up(np.asarray(acc, dtype=np.float64)).tolist()
        engine.set_quaternion(w, x, y, z)
        engine.skip_startup()


def _restart_after_gap(engine: FusionEngine, acc_g: FloatArray) -> None:
    """Forget the orientation's history at a gap and re-seed it (see the module notes)."""
    previous = np.array(engine.get_quaternion(), dtype=np.float64)
    w, x, y, z = reseed_quaternion(previous, acc_g).tolist()
    engine.restart()
    engine.set_quaternion(w, x, y, z)
    engine.skip_startup()


def _abs_max_xyz(values: FloatArray) -> FloatArray:
    """Largest absolute value of x, y, z of each row (3,) or (n, 3); NaN propagates."""
    a = np.abs(np.asarray(values, dtype=np.float64))
    return np.asarray(np.maximum(np.maximum(a[..., 0], a[..., 1]), a[..., 2]))


def sample_flags(
    acc_mps2: FloatArray,
    gyr_dps: FloatArray,
    mag_ut: FloatArray | None,
    settings: FusionSettings,
) -> NDArray[np.uint8]:
    """Per-sample quality flags of (n, 3) arrays: saturation (any axis at ≥ 98 % of the
    accelerometer or gyroscope range) and magnetic disturbance (field strength outside
    the Earth's range)."""
    acc_hit = _abs_max_xyz(acc_mps2) >= 0.98 * settings.accelerometer_range_mps2
    gyr_hit = _abs_max_xyz(gyr_dps) >= 0.98 * settings.gyroscope_range_dps
    flags = np.where(acc_hit | gyr_hit, FLAG_SATURATED, 0).astype(np.uint8)
    if mag_ut is not None:
        m = np.asarray(mag_ut, dtype=np.float64)
        # np.linalg.norm's sum, written out per axis (a reduction over a short last axis
        # is numpy's slow case); the same numbers.
        strength = np.sqrt(m[..., 0] * m[..., 0] + m[..., 1] * m[..., 1] + m[..., 2] * m[..., 2])
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
    """(n, 4) sensor→earth quaternions of one sensor — Fusion over all samples.

    The per-sample loop runs compiled (:func:`new_engine`); Python only prepares its
    inputs (whole-period sample periods, the initial bias seed, both vectorised) and steps
    in at the few samples where something happens: where the initial bias estimate starts
    and after a gap (re-seed).
    """
    rate = sensor.rate_hz
    n = sensor.n_samples
    if not sensor.has_gyroscope:
        lowpass = AccelerometerUp(rate_hz=rate, settings=settings)
        out = np.empty((n, 4))
        for i, (t, a) in enumerate(zip(sensor.time_s.tolist(), sensor.acc_mps2, strict=True)):
            out[i] = lowpass.update(t, a)
        return out
    out = np.empty((n, 4), dtype=np.float64)
    if n == 0:
        return out
    engine = new_engine(rate, settings)
    _start_from_gravity(engine, sensor.acc_mps2[0])
    periods = sample_periods(sensor.time_s, rate, settings.max_gap_s)
    gaps = set(np.flatnonzero(gaps_before(sensor.time_s, settings.max_gap_s)).tolist())
    seed = initial_bias(sensor.gyr_dps, sensor.acc_mps2, rate, settings)
    seed_index = seed[0] if seed is not None and seed[0] < n else -1
    use_mag = settings.use_magnetometer and sensor.mag_ut is not None
    mag = sensor.mag_ut if use_mag else None
    gyr = np.asarray(sensor.gyr_dps, dtype=np.float64)
    acc = np.asarray(sensor.acc_mps2, dtype=np.float64)
    start = 0
    for stop in [*sorted(gaps | ({seed_index} if seed_index >= 0 else set())), n]:
        engine.run(gyr, acc, STANDARD_GRAVITY_MPS2, mag, periods, out, start, stop)
        if stop == seed_index and seed is not None:
            x, y, z = seed[1].tolist()
            engine.set_bias_offset(x, y, z)
        if stop in gaps:
            _restart_after_gap(engine, acc[stop] / STANDARD_GRAVITY_MPS2)
        start = stop
    return out


#: Blocks up to this many samples get their clock per sample on Python numbers (numpy's
#: per-call overhead dominates below it); longer ones vectorised. Both are the same
#: arithmetic as :func:`sample_periods`; the tests run both against the batch.
_SCALAR_CLOCK_MAX = 32


@dataclass(frozen=True)
class FusionFlags:
    """Fusion's own flags (``FusionAhrsFlags``), for a user interface to explain."""

    startup: bool
    overrange_recovery: bool
    acceleration_recovery: bool
    magnetic_recovery: bool


@dataclass(frozen=True)
class FusionInternalStates:
    """Fusion's internal states (``FusionAhrsInternalStates``), for diagnostics:
    errors in degrees, recovery triggers from 0 to 1."""

    acceleration_error: float
    accelerometer_ignored: bool
    acceleration_recovery_trigger: float
    magnetic_error: float
    magnetometer_ignored: bool
    magnetic_recovery_trigger: float


class SensorFusion:
    """Streaming orientation of one sensor: ``update()`` per sample or ``update_block()``
    per block of samples (a message); both give the quaternions :func:`fusion_process`
    gives on the same samples, bit for bit, on the same compiled engine.

    >>> import numpy as np
    >>> f = SensorFusion(rate_hz=100.0, settings=FusionSettings())
    >>> q = f.update(0.0, np.array([0.0, 0.0, 9.80665]), np.zeros(3))
    >>> q.shape
    (4,)
    """

    def __init__(self, *, rate_hz: float, settings: FusionSettings) -> None:
        self.rate_hz = rate_hz
        self.settings = settings
        self._engine = new_engine(rate_hz, settings)
        self._last_time_s: float | None = None
        #: True when the last sample followed an interval longer than ``max_gap_s``.
        self.gap_before = False
        #: True while the orientation settles after a gap (``FLAG_SETTLING``).
        self.settling = False
        self._last_gap_time_s = np.nan
        self._block = max(12, round(settings.initial_bias_block_s * rate_hz))
        self._max_blocks = int(settings.initial_bias_search_s * rate_hz) // self._block
        self._blocks_seen = 0
        #: Rows of the initial-bias block being collected (None once it is decided).
        self._bias_gyr: list[FloatArray] | None = []
        self._bias_acc: list[FloatArray] = []
        self._bias_count = 0
        self.initial_bias_dps: FloatArray | None = None
        #: Set on the first sample without a gyroscope reading (NaN): from then on the
        #: orientation is the accelerometer's (:class:`AccelerometerUp`).
        self.accel_only: AccelerometerUp | None = None
        self._first_sample = True
        # The nominal sample index (:func:`sample_periods`) of the current segment (the
        # samples since the start or the last gap): its first time, the sample count, the
        # last sample's nominal index and the running max of ``index - count``.
        self._segment_t0 = 0.0
        self._segment_k = 0
        self._segment_last = 0
        self._segment_max = 0
        #: Per-sample ``gap_before`` of the last :meth:`update_block` (n,) bool: the sample
        #: follows an interval longer than ``max_gap_s`` (the AHRS was re-seeded at it).
        self.last_gap_before: NDArray[np.bool_] = np.zeros(0, dtype=np.bool_)
        #: Per-sample ``settling`` of the last :meth:`update_block` (n,) bool: the sample
        #: is less than ``settle_after_gap_s`` after a gap (``FLAG_SETTLING``).
        self.last_settling: NDArray[np.bool_] = np.zeros(0, dtype=np.bool_)

    def update(
        self,
        time_s: float,
        acc_mps2: FloatArray,
        gyr_dps: FloatArray,
        mag_ut: FloatArray | None = None,
    ) -> FloatArray:
        """Fuse one sample; returns the quaternion (w, x, y, z) sensor→earth.

        A block of one sample: see :meth:`update_block`.
        """
        acc = np.asarray(acc_mps2, dtype=np.float64).reshape(1, 3)
        gyr = np.asarray(gyr_dps, dtype=np.float64).reshape(1, 3)
        mag = None
        if mag_ut is not None and self.settings.use_magnetometer:
            mag = np.asarray(mag_ut, dtype=np.float64).reshape(1, 3)
        period, gap, settling = self._advance_clock_one(float(time_s))
        self.gap_before, self.settling = gap, settling
        self.last_gap_before = np.array([gap], dtype=np.bool_)
        self.last_settling = np.array([settling], dtype=np.bool_)
        periods = None if period == 1 else np.array([period], dtype=np.int64)
        out = self._fuse(
            np.array([time_s], dtype=np.float64), acc, gyr, mag, periods, [0] if gap else []
        )
        row: FloatArray = out[0]
        return row

    def update_block(
        self,
        time_s: FloatArray,
        acc_mps2: FloatArray,
        gyr_dps: FloatArray,
        mag_ut: FloatArray | None = None,
    ) -> FloatArray:
        """Fuse a block of n samples; returns their (n, 4) quaternions (w, x, y, z).

        Exactly what n calls of :meth:`update` give, and leaves the object in the same
        state. Arrays: ``time_s`` (n,) s, strictly increasing and after the previous
        block's; ``acc_mps2`` (n, 3) m/s²; ``gyr_dps`` (n, 3) deg/s; ``mag_ut`` (n, 3) µT
        or None (used with ``settings.use_magnetometer``). Per-sample results are stored
        as attributes: ``last_gap_before`` (n,) bool — the sample follows an interval
        longer than ``max_gap_s``; ``last_settling`` (n,) bool — the sample is in the
        settling time after a gap (``FLAG_SETTLING``). ``gap_before`` and ``settling``
        hold the last sample's values, as after :meth:`update`.

        The samples run through the compiled Fusion loop; Python steps in only where the
        initial bias block is decided (the first ``initial_bias_search_s``) and at gaps.

        >>> import numpy as np
        >>> f = SensorFusion(rate_hz=100.0, settings=FusionSettings())
        >>> q = f.update_block(np.arange(5) / 100.0, np.tile([0.0, 0.0, 9.80665], (5, 1)),
        ...                    np.zeros((5, 3)))
        >>> q.shape, f.last_gap_before.shape
        ((5, 4), (5,))
        """
        t = np.asarray(time_s, dtype=np.float64).reshape(-1)
        n = t.shape[0]
        acc = _rows(acc_mps2, n, "acc_mps2")
        gyr = _rows(gyr_dps, n, "gyr_dps")
        use_mag = mag_ut is not None and self.settings.use_magnetometer
        mag = _rows(mag_ut, n, "mag_ut") if use_mag and mag_ut is not None else None
        if n == 0:
            self.last_gap_before = np.zeros(0, dtype=np.bool_)
            self.last_settling = np.zeros(0, dtype=np.bool_)
            return np.empty((0, 4), dtype=np.float64)
        periods, gap, settling = self._advance_clock(t)
        self.last_gap_before, self.last_settling = gap, settling
        self.gap_before, self.settling = bool(gap[-1]), bool(settling[-1])
        return self._fuse(t, acc, gyr, mag, periods, np.flatnonzero(gap).tolist())

    def _fuse(
        self,
        t: FloatArray,
        acc: FloatArray,
        gyr: FloatArray,
        mag: FloatArray | None,
        periods: NDArray[np.int64] | None,
        gap_at: list[int],
    ) -> FloatArray:
        """The quaternions of a block whose clock is done (``gap_at``: gap indices)."""
        n = t.shape[0]
        out = np.empty((n, 4), dtype=np.float64)
        if self._first_sample:
            self._first_sample = False
            if not np.isfinite(gyr[0]).any():
                self.accel_only = AccelerometerUp(rate_hz=self.rate_hz, settings=self.settings)
            else:
                _start_from_gravity(self._engine, acc[0])
        if self.accel_only is not None:
            for i, ti in enumerate(t.tolist()):
                out[i] = self.accel_only.update(ti, acc[i])
            return out
        engine = self._engine
        pos = 0
        while pos < n:
            if self._bias_gyr is not None and self._bias_count == self._block:
                self._decide_bias_block()
            if gap_at and gap_at[0] == pos:
                _restart_after_gap(engine, acc[pos] / STANDARD_GRAVITY_MPS2)
                gap_at = gap_at[1:]
            stop = gap_at[0] if gap_at else n
            if self._bias_gyr is not None:
                stop = min(stop, pos + self._block - self._bias_count)
                self._bias_gyr.append(gyr[pos:stop])
                self._bias_acc.append(acc[pos:stop])
                self._bias_count += stop - pos
            engine.run(gyr, acc, STANDARD_GRAVITY_MPS2, mag, periods, out, pos, stop)
            pos = stop
        return out

    def _decide_bias_block(self) -> None:
        """A full block collected: Fusion's bias tracker starts from its estimate when
        the person held still in it (:func:`initial_bias`, block by block)."""
        assert self._bias_gyr is not None
        estimate = _block_bias(
            np.concatenate(self._bias_gyr),
            np.concatenate(self._bias_acc),
            self.rate_hz,
            self.settings,
        )
        self._blocks_seen += 1
        self._bias_gyr, self._bias_acc, self._bias_count = [], [], 0
        if estimate is not None:
            x, y, z = estimate.tolist()
            self._engine.set_bias_offset(x, y, z)
            self.initial_bias_dps = estimate
            self._bias_gyr = None
        elif self._blocks_seen >= self._max_blocks:
            self._bias_gyr = None

    def _advance_clock(
        self, t: FloatArray
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.bool_]]:
        """Per-sample whole periods, gap and settling of a block, continuing the state:
        the same numbers as :func:`sample_periods`, :func:`gaps_before` and
        :func:`settling_after_gaps` on the whole recording."""
        n = t.shape[0]
        if n <= _SCALAR_CLOCK_MAX:  # a message's block: Python numbers cost less here
            steps = [self._advance_clock_one(ti) for ti in t.tolist()]
            p, g, s = zip(*steps, strict=True)
            return (
                np.array(p, dtype=np.int64),
                np.array(g, dtype=np.bool_),
                np.array(s, dtype=np.bool_),
            )
        max_gap_s = self.settings.max_gap_s
        gap = np.zeros(n, dtype=np.bool_)
        previous_s = self._last_time_s
        first_ever = previous_s is None
        if previous_s is None:
            gap[1:] = np.diff(t) > max_gap_s
        else:
            gap[:] = np.diff(t, prepend=previous_s) > max_gap_s
        self._last_time_s = float(t[-1])
        periods = np.ones(n, dtype=np.int64)
        starts = np.flatnonzero(gap).tolist()
        if first_ever and (not starts or starts[0] != 0):
            starts.insert(0, 0)
        bounds = [0, *starts] if not starts or starts[0] != 0 else starts
        for a, b in itertools.pairwise([*bounds, n]):
            if a in starts:  # a new segment starts at a: nominal index 0
                self._segment_t0 = float(t[a])
                self._segment_k = self._segment_last = self._segment_max = 0
                a += 1
            if b <= a:
                continue
            k = self._segment_k + 1 + np.arange(b - a, dtype=np.int64)
            idx = np.rint((t[a:b] - self._segment_t0) * self.rate_hz).astype(np.int64)
            running = np.maximum(np.maximum.accumulate(idx - k), self._segment_max)
            last = k + running
            periods[a:b] = np.diff(last, prepend=self._segment_last)
            self._segment_k = int(k[-1])
            self._segment_last = int(last[-1])
            self._segment_max = int(running[-1])
        # Time of the last gap at or before each sample (NaN: none yet, not settling).
        gap_time: FloatArray | float = self._last_gap_time_s
        if gap.any():
            index = np.maximum.accumulate(np.where(gap, np.arange(n), -1))
            gap_time = np.where(index >= 0, t[np.maximum(index, 0)], self._last_gap_time_s)
            self._last_gap_time_s = float(t[index[-1]])
        settling = np.asarray(t - gap_time < self.settings.settle_after_gap_s)
        return periods, gap, settling

    def _advance_clock_one(self, time_s: float) -> tuple[int, bool, bool]:
        """:meth:`_advance_clock` of one sample, on Python numbers (cheaper)."""
        previous_s = self._last_time_s
        self._last_time_s = time_s
        gap = previous_s is not None and time_s - previous_s > self.settings.max_gap_s
        period = 1
        if previous_s is None or gap:
            self._segment_t0 = time_s
            self._segment_k = self._segment_last = self._segment_max = 0
        else:
            # round() is round-half-even like np.rint in sample_periods.
            idx = round((time_s - self._segment_t0) * self.rate_hz)
            k = self._segment_k + 1
            self._segment_max = max(self._segment_max, idx - k)
            last = k + self._segment_max
            period = last - self._segment_last
            self._segment_k, self._segment_last = k, last
        if gap:
            self._last_gap_time_s = time_s
        settling = time_s - self._last_gap_time_s < self.settings.settle_after_gap_s
        return period, gap, settling

    def flags(self) -> FusionFlags:
        """Fusion's own flags (startup, recovery) for a user interface to explain."""
        return FusionFlags(*self._engine.flags())

    def internal_states(self) -> FusionInternalStates:
        """Fusion's internal states (acceleration error, rejection) for diagnostics."""
        return FusionInternalStates(*self._engine.internal_states())


def _rows(values: FloatArray | None, n: int, name: str) -> FloatArray:
    """``values`` as an (n, 3) float64 array, or a clear error naming the argument."""
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n, 3):
        raise ConfigurationError(
            f"{name} has shape {array.shape}; update_block needs ({n}, 3): one row of "
            "x, y, z per timestamp in time_s"
        )
    return array


__all__ = [
    "ACCEL_ONLY_CUTOFF_HZ",
    "AccelerometerUp",
    "FusionEngine",
    "FusionFlags",
    "FusionInternalStates",
    "FusionResult",
    "FusionSettings",
    "ImufusionEngine",
    "SensorFusion",
    "compiled_fusion_available",
    "fusion_process",
    "fusion_quaternions",
    "fusion_result",
    "gaps_before",
    "initial_bias",
    "new_engine",
    "quaternion_from_up",
    "reseed_quaternion",
    "sample_flags",
    "sample_periods",
    "settling_after_gaps",
    "up_from_quaternion",
]
