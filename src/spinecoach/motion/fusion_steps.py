"""The per-sample bookkeeping of the sensor fusion, vectorised over a recording: whole
sample periods, gaps and the settling after them, quality flags, and the initial gyroscope
bias. :mod:`spinecoach.motion.fusion` (batch) uses them on whole recordings,
:class:`spinecoach.motion.fusion_stream.SensorFusion` continues the same arithmetic block
by block (tests prove the numbers equal).
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.motion.flags import (
    EARTH_FIELD_RANGE_UT,
    FLAG_MAG_DISTURBANCE,
    FLAG_SATURATED,
)
from spinecoach.motion.fusion_engine import FusionSettings, compiled_kernels

FloatArray = NDArray[np.float64]


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
    kernels = compiled_kernels() if time_s.dtype == np.float64 else None
    for a, b in itertools.pairwise(bounds):
        if b - a < 2:
            continue
        if kernels is not None and kernels.whole_periods(time_s, rate_hz, a, b, periods):
            continue  # one compiled pass of the arithmetic below
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
    if not gap_before.any():  # the usual case: nothing settles
        return np.zeros(time_s.shape[0], dtype=np.bool_)
    index = np.where(gap_before, np.arange(time_s.shape[0]), -1)
    last_gap = np.maximum.accumulate(index) if index.size else index
    since_s = time_s - time_s[np.maximum(last_gap, 0)]
    return np.asarray((last_gap >= 0) & (since_s < settle_s), dtype=np.bool_)


def _abs_max_xyz(values: FloatArray) -> FloatArray:
    """Largest absolute value of x, y, z of each row (3,) or (n, 3); NaN propagates."""
    v = np.asarray(values, dtype=np.float64)
    kernels = compiled_kernels()
    if kernels is not None and v.ndim == 2 and v.shape[1] == 3:
        out = np.empty(v.shape[0], dtype=np.float64)
        kernels.abs_max_rows(v, out)  # one compiled pass, numpy.maximum's NaN rule
        return out
    a = np.abs(v)
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
    flags = np.where(acc_hit | gyr_hit, np.uint8(FLAG_SATURATED), np.uint8(0))
    if mag_ut is not None:
        m = np.asarray(mag_ut, dtype=np.float64)
        # np.linalg.norm's sum, written out per axis (a reduction over a short last axis
        # is numpy's slow case); the same numbers.
        strength = np.sqrt(m[..., 0] * m[..., 0] + m[..., 1] * m[..., 1] + m[..., 2] * m[..., 2])
        low, high = EARTH_FIELD_RANGE_UT
        disturbed = ~((strength >= low) & (strength <= high))
        flags |= np.where(disturbed, np.uint8(FLAG_MAG_DISTURBANCE), np.uint8(0))
    return flags


def block_bias(
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
        estimate = block_bias(gyr_dps[rows], acc_mps2[rows], rate_hz, settings)
        if estimate is not None:
            return (k + 1) * block, estimate
    return None


__all__ = [
    "block_bias",
    "gaps_before",
    "initial_bias",
    "sample_flags",
    "sample_periods",
    "settling_after_gaps",
]
