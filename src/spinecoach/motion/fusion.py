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

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.motion.flags import FLAG_ACCEL_ONLY, FLAG_SETTLING
from spinecoach.motion.fusion_engine import (
    FusionEngine,
    FusionSettings,
    ImufusionEngine,
    compiled_fusion_available,
    compiled_kernels,
    new_engine,
    restart_after_gap,
    start_from_gravity,
)
from spinecoach.motion.fusion_steps import (
    gaps_before,
    initial_bias,
    sample_flags,
    sample_periods,
    settling_after_gaps,
)
from spinecoach.motion.fusion_stream import FusionFlags, FusionInternalStates, SensorFusion
from spinecoach.motion.gravity import (
    ACCEL_ONLY_CUTOFF_HZ,
    AccelerometerUp,
    quaternion_from_up,
    reseed_quaternion,
    up_from_quaternion,
)
from spinecoach.recording import SensorData

FloatArray = NDArray[np.float64]


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
    flags |= np.where(settling, np.uint8(FLAG_SETTLING), np.uint8(0))
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
    start_from_gravity(engine, sensor.acc_mps2[0])
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
            restart_after_gap(engine, acc[stop] / STANDARD_GRAVITY_MPS2)
        start = stop
    return out


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
    "compiled_kernels",
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
