"""Breath-led cycles: cat-cow on hands and knees and its seated desk variant.

The breathing pacer drives cat-cow, so a rep is one of the pacer's breath cycles in
which the person moved: cow (lumbar extension) on the inhale, cat (lumbar flexion) on the
exhale. Counting by the pacer's log, not by turning points, keeps a cycle done the wrong
way round a cycle (its turning points would merge with the neighbours'), and keeps hand
fidgets or shifting weight from counting. A recording without the pacer's log (no
``breath-inhale`` / ``breath-exhale`` annotations) is not scored for cat-cow: the engine
says so rather than guess.

:func:`fit_cycle` explains a cycle's lumbar angle with minimum-jerk moves between turning
points locked to the pacer's boundaries plus a lag; the best lag is how late the spine
follows the breath, and the fitted turning points give the cow-to-cat range.
:func:`jerk_ratio` measures jerkiness (share of the 1.5–5 Hz band). Both work on a
finished cycle's buffered frames, so batch and streaming agree.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.signal import butter, sosfiltfilt

from spinecoach.exercises.reps import RepFrames

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CycleSettings:
    """Which frames a breath cycle may use (deg, s)."""

    position_nominal_deg: float
    position_tolerance_deg: float = 35.0
    max_cycle_s: float = 25.0


def jerk_ratio(time_s: FloatArray, x: FloatArray) -> float:
    """RMS of the 1.5–5 Hz band ÷ RMS of the movement about its mean (ratio)."""
    if time_s.shape[0] < 30:
        return float("nan")
    rate = 1.0 / float(np.median(np.diff(time_s)))
    high = min(5.0, 0.45 * rate)
    sos = butter(4, [1.5, high], btype="bandpass", fs=rate, output="sos")
    band = sosfiltfilt(sos, x - x.mean())
    total = float(np.sqrt(np.mean((x - x.mean()) ** 2)))
    return float(np.sqrt(np.mean(band**2))) / total if total > 0 else float("nan")


@dataclass(frozen=True)
class PacedCycle:
    """One pacer breath cycle and the frames that may hold its movement."""

    inhale_start_s: float
    exhale_start_s: float
    end_s: float
    frames: RepFrames


class PacedCycleSegmenter:
    """Breath cycles as the pacer logged them: a rep is a pacer cycle in which the person
    moved, in position, with the data present.

    Counting by the pacer, not by turning points, keeps a cycle done the wrong way round
    (cat on the inhale) a cycle: its turning points merge with its neighbours'. The frames
    of a cycle are released ``lag_allowance_s`` after the cycle's end, so a movement that
    lags the breath is still inside.
    """

    def __init__(self, settings: CycleSettings, *, lag_allowance_s: float = 2.5) -> None:
        self.settings = settings
        self.lag_allowance_s = lag_allowance_s
        self.discarded: list[tuple[float, float, str]] = []
        self._frames: deque[tuple[float, float, float]] = deque()
        self._done_until = -math.inf

    def update(
        self,
        time_s: float,
        lumbar_deg: float,
        trunk_deg: float,
        cycles: list[tuple[float, float, float]],
    ) -> list[PacedCycle]:
        """Feed a frame; ``cycles`` are the pacer's (inhale start, exhale start, end) so far.
        Returns the cycles whose frames are now complete."""
        self._frames.append((time_s, lumbar_deg, trunk_deg))
        keep = 3.0 * self.settings.max_cycle_s
        while self._frames and self._frames[0][0] < time_s - keep:
            self._frames.popleft()
        ready = []
        for inhale_s, exhale_s, end_s in cycles:
            if end_s <= self._done_until or end_s + self.lag_allowance_s > time_s:
                continue
            self._done_until = end_s
            lo, hi = inhale_s - 1.0, end_s + self.lag_allowance_s
            window = [f for f in self._frames if lo <= f[0] <= hi]
            if len(window) < 10:
                self.discarded.append((inhale_s, end_s, "no data for this breath"))
                continue
            data = np.array(window)
            if not np.all(np.isfinite(data[:, 1:])):
                self.discarded.append((inhale_s, end_s, "no data (not calibrated or a gap)"))
                continue
            lean = np.abs(data[:, 2] - self.settings.position_nominal_deg)
            if float(lean.max()) > self.settings.position_tolerance_deg:
                self.discarded.append((inhale_s, end_s, "not in the start position"))
                continue
            ready.append(
                PacedCycle(
                    inhale_s,
                    exhale_s,
                    end_s,
                    RepFrames(time_s=data[:, 0], main_deg=data[:, 1], signals={}, baseline_deg=0.0),
                )
            )
        return ready


def _min_jerk(s: FloatArray) -> FloatArray:
    s = np.clip(s, 0.0, 1.0)
    return np.asarray(s**3 * (10.0 - 15.0 * s + 6.0 * s**2), dtype=np.float64)


@dataclass(frozen=True)
class CycleFit:
    """The breath-locked movement model that best explains one cycle.

    The spine is modelled as moving, minimum-jerk, between three turning points placed at
    the pacer's boundaries shifted by ``lag_s``: the start of the inhale, its end (the cow),
    the end of the exhale (the cat). ``cow_deg`` / ``cat_deg`` are the fitted turning
    points; ``inverted`` when the "cow" came out above the "cat" (cat on the inhale).
    """

    lag_s: float
    start_deg: float
    cow_deg: float
    cat_deg: float
    rms_deg: float

    @property
    def inverted(self) -> bool:
        return self.cow_deg > self.cat_deg


def fit_cycle(
    time_s: FloatArray,
    lumbar_deg: FloatArray,
    inhale_s: float,
    exhale_s: float,
    end_s: float,
    *,
    lags_s: FloatArray | None = None,
) -> CycleFit | None:
    """Least-squares fit of the breath-locked model over candidate lags (0.02 s steps from
    −1 to +2.5 s); the lag with the smallest mean squared residual wins. None when the
    frames do not cover the cycle."""
    lags = np.arange(-1.0, 2.5001, 0.02) if lags_s is None else lags_s
    best: CycleFit | None = None
    best_mse = np.inf
    for lag in lags:
        k0, k1, k2 = inhale_s + lag, exhale_s + lag, end_s + lag
        inside = (time_s >= k0) & (time_s <= k2)
        if np.count_nonzero(inside) < 20:
            continue
        t = time_s[inside]
        up = _min_jerk((t - k0) / (k1 - k0))  # start → cow
        down = _min_jerk((t - k1) / (k2 - k1))  # cow → cat
        first = t < k1
        b0 = np.where(first, 1.0 - up, 0.0)
        b1 = np.where(first, up, 1.0 - down)
        b2 = np.where(first, 0.0, down)
        basis = np.column_stack([b0, b1, b2])
        coef, *_ = np.linalg.lstsq(basis, lumbar_deg[inside], rcond=None)
        residual = lumbar_deg[inside] - basis @ coef
        mse = float(np.mean(residual**2))
        if mse < best_mse:
            best_mse = mse
            best = CycleFit(
                float(lag), float(coef[0]), float(coef[1]), float(coef[2]), float(np.sqrt(mse))
            )
    return best
