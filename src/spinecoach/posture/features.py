"""Per-second features of one sensor, vectorised, from any batch sizes.

A :class:`SecondFeatureBuffer` takes samples in whatever batches they arrive and, once a
second ``[k, k + 1)`` (seconds since the recording start) is complete — a sample at or
after ``k + 1`` has arrived — computes that second's features from exactly its own
samples. The same samples always give the same numbers, so streaming in small batches
and reading a file in large chunks agree bit for bit. Memory: the samples of the
current, incomplete second plus whatever the caller has not consumed.

Feature columns (one row per second):

``count``
    samples in the second (0 in a gap: every other column NaN)
``acc_x/y/z``
    mean specific force (m/s², sensor frame): gravity plus the mean linear acceleration,
    which averages out over a second of walking or sitting
``acc_std``
    SD of the acceleration magnitude (m/s²): ≈0.02 still, ≈1.4 walking
``gyr_rms``
    RMS of the angular-rate magnitude (deg/s), bias included (≈1 still)
``crossings``
    crossings of the mean by the acceleration magnitude per second, after smoothing over
    ±0.06 s and with hysteresis (walking: twice the cadence)
``q<i>_x/y/z``
    mean specific force of each quarter second (the calibration and the breath-paced
    cat-cow need more than one point per second)
``gait0`` (6: xx, xy, xz, yy, yz, zz)
    Σ y yᵀ over the second's samples, y = acceleration minus the second's mean (m²/s⁴):
    with the learnt "up" u, ``P·gait0·u`` (P the horizontal projector) is the horizontal
    acceleration in phase with the vertical bounce of walking
``gaitlag`` (3)
    Σ y(t) × y(t + ≈0.12 s) over pairs of samples inside the second (m²/s⁴), the three
    numbers of the antisymmetric part of Σ y(t) y(t + L)ᵀ: a quarter step at ≈2 steps/s,
    so ``P·(that part)·u`` is the horizontal acceleration that *leads* the vertical one by
    a quarter step — forward in real walking (the inverted pendulum: the trunk speeds up
    before it rises); see :mod:`spinecoach.posture.forward` and :func:`gait_matrices`
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

COUNT: Final = 0
ACC: Final = slice(1, 4)
ACC_STD: Final = 4
GYR_RMS: Final = 5
CROSSINGS: Final = 6
QUARTERS: Final = slice(7, 19)
GAIT0: Final = slice(19, 25)
GAITLAG: Final = slice(25, 28)
N_FEATURES: Final = 28
#: Half-width (s) of the smoothing of the magnitude before its crossings are counted.
SMOOTH_S: Final = 0.06
#: Hysteresis of the crossings: this share of the smoothed SD each side of the mean.
HYSTERESIS: Final = 0.25
#: Lag (s) of the quarter-step cross moment (a quarter of a step at ≈2 steps/s).
GAIT_LAG_S: Final = 0.12


def second_features(
    time_s: FloatArray, acc_mps2: FloatArray, gyr_dps: FloatArray, *, first_second: int, n: int
) -> FloatArray:
    """Feature rows (n, N_FEATURES) of seconds ``first_second .. first_second + n - 1``.

    Every sample must lie in those seconds (``floor(time_s)``); seconds without samples
    get count 0 and NaN features.

    >>> t = np.arange(200) / 100.0
    >>> acc = np.tile([9.81, 0.0, 0.0], (200, 1))
    >>> f = second_features(t, acc, np.zeros((200, 3)), first_second=0, n=3)
    >>> f[:, COUNT].tolist(), round(float(f[0, 1]), 2), bool(np.isnan(f[2, 1]))
    ([100.0, 100.0, 0.0], 9.81, True)
    """
    out = np.full((n, N_FEATURES), np.nan)
    if n == 0:
        return out
    seconds = np.floor(time_s)
    idx = seconds.astype(np.int64) - first_second
    count = np.bincount(idx, minlength=n).astype(np.float64)
    out[:, COUNT] = count
    have = count > 0
    safe = np.where(have, count, 1.0)
    for j in range(3):
        out[have, 1 + j] = (np.bincount(idx, weights=acc_mps2[:, j], minlength=n) / safe)[have]
    mag = np.sqrt(np.einsum("ij,ij->i", acc_mps2, acc_mps2))
    mag_mean = np.bincount(idx, weights=mag, minlength=n) / safe
    dev = mag - mag_mean[idx]
    var = np.bincount(idx, weights=dev * dev, minlength=n) / safe
    out[have, ACC_STD] = np.sqrt(var[have])
    gyr2 = np.einsum("ij,ij->i", gyr_dps, gyr_dps)
    out[have, GYR_RMS] = np.sqrt(np.bincount(idx, weights=gyr2, minlength=n) / safe)[have]
    seconds_index = np.arange(n)
    first = np.searchsorted(idx, seconds_index, side="left")
    last = np.searchsorted(idx, seconds_index, side="right") - 1
    several = count > 1
    span = np.ones(n)
    span[several] = time_s[last[several]] - time_s[first[several]]
    # The second's own sample interval (s), for windows counted in samples (cheaper than a
    # search by time, and the same for evenly sampled data).
    interval = np.where(several, span / np.maximum(count - 1.0, 1.0), 1.0)
    interval = np.where(interval > 0, interval, 1.0)
    own = np.arange(time_s.shape[0])
    # Crossings of the magnitude smoothed over ±SMOOTH_S (inside the second: real sensors
    # carry impact spikes and vibration well above the step rate), with hysteresis (a
    # quarter of the smoothed SD each side of the mean), so noise is not counted.
    half = np.floor(SMOOTH_S / interval + 1e-9).astype(np.int64)[idx]
    cumulative = np.concatenate([[0.0], np.cumsum(mag)])
    lo = np.maximum(own - half, first[idx])
    hi = np.minimum(own + half + 1, last[idx] + 1)
    smooth = (cumulative[hi] - cumulative[lo]) / np.maximum(hi - lo, 1)
    smooth_mean = np.bincount(idx, weights=smooth, minlength=n) / safe
    smooth_dev = smooth - smooth_mean[idx]
    smooth_sd = np.sqrt(np.bincount(idx, weights=smooth_dev * smooth_dev, minlength=n) / safe)
    band = HYSTERESIS * smooth_sd[idx]
    level = np.where(smooth_dev > band, 1, np.where(smooth_dev < -band, -1, 0))
    decided = level != 0
    levels, owners = level[decided], idx[decided]
    crossing = (levels[1:] != levels[:-1]) & (owners[1:] == owners[:-1])
    crossings = np.bincount(owners[1:][crossing], minlength=n).astype(np.float64)
    # Per second of data: scaled by the time the second's samples span (≈1 s), so a
    # second cut short by a gap is comparable; depends on this second's samples only.
    out[have, CROSSINGS] = (crossings / np.maximum(span, 0.25))[have]
    quarter = np.minimum(((time_s - seconds) * 4.0).astype(np.int64), 3)
    qidx = idx * 4 + quarter
    qcount = np.bincount(qidx, minlength=4 * n).astype(np.float64)
    qsafe = np.where(qcount > 0, qcount, np.nan)
    for j in range(3):
        qmean = np.bincount(qidx, weights=acc_mps2[:, j], minlength=4 * n) / qsafe
        out[:, 7 + j : 19 : 3] = qmean.reshape(n, 4)
    lag = np.maximum(np.rint(GAIT_LAG_S / interval), 1).astype(np.int64)
    _gait_moments(out, acc_mps2, idx, n, lag[idx], last[idx])
    return out


def _gait_moments(
    out: FloatArray,
    acc_mps2: FloatArray,
    idx: NDArray[np.int64],
    n: int,
    lag: NDArray[np.int64],
    last: NDArray[np.int64],
) -> None:
    """Fill the GAIT0 and GAITLAG columns (see the module docstring); ``lag`` and
    ``last``: per sample, the partner offset (samples) and the second's last sample."""
    have = out[:, COUNT] > 0
    if not np.any(have):
        return
    y = acc_mps2 - out[idx, 1:4]
    y0, y1, y2 = y[:, 0], y[:, 1], y[:, 2]
    for column, weights in enumerate((y0 * y0, y0 * y1, y0 * y2, y1 * y1, y1 * y2, y2 * y2)):
        out[have, GAIT0.start + column] = np.bincount(idx, weights=weights, minlength=n)[have]
    # Partner of each sample: GAIT_LAG_S later (in samples of its second), same second.
    j = np.arange(y.shape[0]) + lag
    pair = (j <= last).astype(np.float64)
    j = np.minimum(j, last)
    z0, z1, z2 = y0[j] * pair, y1[j] * pair, y2[j] * pair
    for column, weights in enumerate((y1 * z2 - y2 * z1, y2 * z0 - y0 * z2, y0 * z1 - y1 * z0)):
        out[have, GAITLAG.start + column] = np.bincount(idx, weights=weights, minlength=n)[have]


def gait_matrices(rows: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(Σ y yᵀ, Σ y(t)y(t+L)ᵀ − its transpose) as 3×3 matrices from summed GAIT0 and
    GAITLAG columns (one row of 6 + 3 values)."""
    xx, xy, xz, yy, yz, zz = rows[GAIT0]
    c0, c1, c2 = rows[GAITLAG]
    g0 = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
    antisymmetric = np.array([[0.0, c2, -c1], [-c2, 0.0, c0], [c1, -c0, 0.0]])
    return g0, antisymmetric


class SecondFeatureBuffer:
    """Collects one sensor's samples and yields feature rows of completed seconds.

    >>> buf = SecondFeatureBuffer()
    >>> t = np.arange(150) / 100.0
    >>> buf.add(t, np.tile([9.81, 0, 0], (150, 1)), np.zeros((150, 3)))
    >>> first, rows = buf.take()
    >>> first, rows.shape
    (0, (1, 28))
    """

    def __init__(self) -> None:
        self._t: list[FloatArray] = []
        self._acc: list[FloatArray] = []
        self._gyr: list[FloatArray] = []
        self._next_second: int | None = None
        self._latest_s = -np.inf
        self._ready_first: int | None = None
        self._ready: list[FloatArray] = []

    @property
    def next_second(self) -> int | None:
        """First second not yet turned into features (None before any sample)."""
        return self._next_second

    @property
    def complete_until(self) -> int | None:
        """Seconds before this are complete (taken or ready to take)."""
        return self._next_second

    def add(self, time_s: FloatArray, acc_mps2: FloatArray, gyr_dps: FloatArray) -> None:
        """Append samples (time-ordered, after every sample given before)."""
        if time_s.shape[0] == 0:
            return
        if self._next_second is None:
            self._next_second = int(np.floor(time_s[0]))
        self._t.append(time_s)
        self._acc.append(acc_mps2)
        self._gyr.append(gyr_dps)
        self._latest_s = float(time_s[-1])
        self._compute(int(np.floor(self._latest_s)))

    def flush(self) -> None:
        """Treat the last, partial second as complete (end of the recording)."""
        if self._next_second is not None and self._t:
            self._compute(int(np.floor(self._latest_s)) + 1)

    def _push(self, first: int, rows: FloatArray) -> None:
        if self._ready_first is None:
            self._ready_first = first
        self._ready.append(rows)

    def _compute(self, until: int) -> None:
        """Features of every second before ``until`` (exclusive)."""
        assert self._next_second is not None
        if until <= self._next_second:
            return
        t = np.concatenate(self._t) if len(self._t) > 1 else self._t[0]
        acc = np.concatenate(self._acc) if len(self._acc) > 1 else self._acc[0]
        gyr = np.concatenate(self._gyr) if len(self._gyr) > 1 else self._gyr[0]
        cut = int(np.searchsorted(t, float(until), side="left"))
        n = until - self._next_second
        rows = second_features(t[:cut], acc[:cut], gyr[:cut], first_second=self._next_second, n=n)
        self._push(self._next_second, rows)
        self._next_second = until
        if cut < t.shape[0]:
            self._t, self._acc, self._gyr = [t[cut:]], [acc[cut:]], [gyr[cut:]]
        else:
            self._t, self._acc, self._gyr = [], [], []

    def take(self) -> tuple[int, FloatArray]:
        """(first second, rows) of everything completed since the last take."""
        if self._ready_first is None:
            start = self._next_second if self._next_second is not None else 0
            return start, np.empty((0, N_FEATURES))
        first = self._ready_first
        rows = np.concatenate(self._ready) if len(self._ready) > 1 else self._ready[0]
        self._ready_first = None
        self._ready = []
        return first, rows
