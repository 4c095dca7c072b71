"""One sensor's x-io Fusion engine: the compiled loop or imufusion's objects.

:func:`new_engine` gives the AHRS (NWU) with its gyroscope-bias estimator that
:mod:`spinecoach.motion.fusion` (batch) and :mod:`spinecoach.motion.fusion_stream`
(streaming) drive: ``spinecoach.motion._cfusion.Fusion`` — our C binding around x-io's
Fusion sources, vendored unmodified in ``_fusion_c/`` (see :mod:`spinecoach.motion.fusion`
for why) — or, in a build without a C compiler, :class:`ImufusionEngine` over
``imufusion``'s objects (the same numbers, one Python call per sample), chosen once with a
logged warning. Also the settings both read (:class:`FusionSettings`) and the two rare
events that stay in Python: the start from gravity and the re-seed after a gap.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

import imufusion
import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.motion.gravity import quaternion_from_up, reseed_quaternion

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


def compiled_kernels() -> ModuleType | None:
    """The compiled ``spinecoach.motion._cfusion`` module (its Fusion engine and the array
    kernels :mod:`.angles` uses), or None in a build without it."""
    return _compiled()


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


def start_from_gravity(engine: FusionEngine, acc: FloatArray) -> None:
    """Start at the first accelerometer sample's inclination, without Fusion's start-up
    ramp (its high gain would follow the movement's own accelerations for 3 s)."""
    if np.isfinite(acc).all() and float(np.linalg.norm(acc)) > 1e-6:
        w, x, y, z = quaternion_from_up(np.asarray(acc, dtype=np.float64)).tolist()
        engine.set_quaternion(w, x, y, z)
        engine.skip_startup()


def restart_after_gap(engine: FusionEngine, acc_g: FloatArray) -> None:
    """Forget the orientation's history at a gap and re-seed it (see "Gaps" in
    :mod:`spinecoach.motion.fusion`)."""
    previous = np.array(engine.get_quaternion(), dtype=np.float64)
    w, x, y, z = reseed_quaternion(previous, acc_g).tolist()
    engine.restart()
    engine.set_quaternion(w, x, y, z)
    engine.skip_startup()


__all__ = [
    "FusionEngine",
    "FusionSettings",
    "ImufusionEngine",
    "compiled_fusion_available",
    "compiled_kernels",
    "new_engine",
    "restart_after_gap",
    "start_from_gravity",
]
