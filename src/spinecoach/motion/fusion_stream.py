"""Streaming orientation of one sensor (:class:`SensorFusion`): ``update`` per sample or
``update_block`` per block, on the same engine and with the same arithmetic as the batch
:func:`spinecoach.motion.fusion.fusion_process` (see that module for the timing, gap and
start rules), so the quaternions are the batch's bit for bit.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.errors import ConfigurationError
from spinecoach.motion.fusion_engine import (
    FusionSettings,
    new_engine,
    restart_after_gap,
    start_from_gravity,
)
from spinecoach.motion.fusion_steps import block_bias
from spinecoach.motion.gravity import AccelerometerUp

FloatArray = NDArray[np.float64]


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
                start_from_gravity(self._engine, acc[0])
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
                restart_after_gap(engine, acc[pos] / STANDARD_GRAVITY_MPS2)
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
        estimate = block_bias(
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
            return self._advance_clock_scalar(t.tolist())
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

    def _advance_clock_scalar(
        self, times: list[float]
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.bool_]]:
        """:meth:`_advance_clock_one` of each of ``times`` in one loop (its state in
        locals; the same numbers)."""
        previous_s = self._last_time_s
        max_gap_s, settle_s, rate_hz = (
            self.settings.max_gap_s,
            self.settings.settle_after_gap_s,
            self.rate_hz,
        )
        t0, k, last, most = self._segment_t0, self._segment_k, self._segment_last, self._segment_max
        gap_time = self._last_gap_time_s
        periods, gaps, settling = [], [], []
        for time_s in times:
            gap = previous_s is not None and time_s - previous_s > max_gap_s
            period = 1
            if previous_s is None or gap:
                t0, k, last, most = time_s, 0, 0, 0
            else:
                k += 1
                most = max(most, round((time_s - t0) * rate_hz) - k)
                period, last = k + most - last, k + most
            if gap:
                gap_time = time_s
            previous_s = time_s
            periods.append(period)
            gaps.append(gap)
            settling.append(time_s - gap_time < settle_s)
        self._last_time_s = previous_s
        self._segment_t0, self._segment_k, self._segment_last, self._segment_max = t0, k, last, most
        self._last_gap_time_s = gap_time
        return (
            np.array(periods, dtype=np.int64),
            np.array(gaps, dtype=np.bool_),
            np.array(settling, dtype=np.bool_),
        )

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


__all__ = ["FusionFlags", "FusionInternalStates", "SensorFusion"]
