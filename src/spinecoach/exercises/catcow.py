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

import functools
import math
from collections import deque
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.exercises.reps import RepFrames

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CycleSettings:
    """Which frames a breath cycle may use (deg, s)."""

    position_nominal_deg: float
    position_tolerance_deg: float = 35.0
    max_cycle_s: float = 25.0


@dataclass(frozen=True)
class _Band:
    """A designed band-pass: sections, their steady-state start and the edge padding."""

    sos: FloatArray
    zi: FloatArray
    padlen: int


@functools.lru_cache(maxsize=16)
def _jerk_band(rate_hz: float) -> _Band:
    """The 1.5–5 Hz band-pass of :func:`jerk_ratio` at ``rate_hz``, designed once per rate
    (the design and its initial state cost more than the filtering, and a live rep needs
    the ratio at once)."""
    from scipy.signal import butter, sosfilt_zi

    high = min(5.0, 0.45 * rate_hz)
    sos = np.asarray(butter(4, [1.5, high], btype="bandpass", fs=rate_hz, output="sos"))
    ntaps = 2 * sos.shape[0] + 1
    ntaps -= min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return _Band(sos, np.asarray(sosfilt_zi(sos)), 3 * ntaps)


def _filtfilt(band: _Band, x: FloatArray) -> FloatArray:
    """Zero-phase filtering exactly as ``scipy.signal.sosfiltfilt`` (odd padding, steady
    state start; a test checks they agree bit for bit), with the design cached."""
    from scipy.signal import sosfilt

    n = band.padlen
    ext = np.concatenate((2.0 * x[0] - x[n:0:-1], x, 2.0 * x[-1] - x[-2 : -(n + 2) : -1]))
    y, _ = sosfilt(band.sos, ext, zi=band.zi * ext[0])
    y = y[::-1]
    y, _ = sosfilt(band.sos, y, zi=band.zi * y[0])
    out: FloatArray = y[::-1][n:-n]
    return out


def jerk_ratio(time_s: FloatArray, x: FloatArray) -> float:
    """RMS of the 1.5–5 Hz band ÷ RMS of the movement about its mean (ratio)."""
    if time_s.shape[0] < 30:
        return float("nan")
    rate = 1.0 / float(np.median(np.diff(time_s)))
    band_pass = _jerk_band(round(rate, 6))
    centred = x - x.mean()
    if centred.shape[0] <= band_pass.padlen:
        return float("nan")
    band = _filtfilt(band_pass, centred)
    total = float(np.sqrt(np.mean(centred**2)))
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


def _min_jerk_inplace(s: FloatArray) -> FloatArray:
    """:func:`_min_jerk` computed in the array ``s`` itself (Horner form, no temporaries
    but one: the fit evaluates it for every candidate lag at once)."""
    np.clip(s, 0.0, 1.0, out=s)
    poly = s * 6.0
    poly -= 15.0
    poly *= s
    poly += 10.0
    poly *= s
    poly *= s
    poly *= s
    return poly


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


#: Candidate lags (s) of the breath-locked fit: 0.02 s steps from −1 to +2.5 s.
FIT_LAGS_S: Final = np.arange(-1.0, 2.5001, 0.02)
#: The coarse pass looks at every COARSE_STEP-th candidate lag (0.1 s apart) ...
COARSE_STEP: Final = 5
#: ... and the fine pass at every candidate within COARSE_STEP − 1 steps of the
#: COARSE_KEEP best coarse lags.
COARSE_KEEP: Final = 3


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
    frames do not cover the cycle.

    It runs in the live coach when a breath ends, so it must take milliseconds: the
    default search is coarse to fine (every 0.1 s, then every 0.02 s around the three
    best coarse lags; a test checks it finds the exhaustive search's lag on simulated
    sessions), and all lags of a pass are solved at once (:func:`_fit_lags`). Given
    ``lags_s``, exactly those lags are searched.
    """
    t = np.asarray(time_s, dtype=np.float64)
    y = np.asarray(lumbar_deg, dtype=np.float64)
    if lags_s is not None:
        lags = np.asarray(lags_s, dtype=np.float64)
        mse, coef = _fit_lags(t, y, lags, inhale_s, exhale_s, end_s)
    else:
        lags = FIT_LAGS_S
        coarse = np.arange(0, lags.size, COARSE_STEP)
        coarse_mse, coarse_coef = _fit_lags(t, y, lags[coarse], inhale_s, exhale_s, end_s)
        finite = np.flatnonzero(np.isfinite(coarse_mse))
        if finite.size == 0:
            return None
        kept = coarse[finite[np.argsort(coarse_mse[finite], kind="stable")[:COARSE_KEEP]]]
        near = np.unique(
            np.clip(
                (kept[:, None] + np.arange(-COARSE_STEP + 1, COARSE_STEP)[None, :]).ravel(),
                0,
                lags.size - 1,
            )
        )
        fine = np.setdiff1d(near, coarse, assume_unique=True)
        mse = np.full(lags.size, np.inf)
        coef = np.full((lags.size, 3), np.nan)
        mse[coarse], coef[coarse] = coarse_mse, coarse_coef
        if fine.size:
            mse[fine], coef[fine] = _fit_lags(t, y, lags[fine], inhale_s, exhale_s, end_s)
    if lags.size == 0 or not np.isfinite(mse).any():
        return None
    best = int(np.argmin(mse))
    c = coef[best]
    return CycleFit(
        float(lags[best]), float(c[0]), float(c[1]), float(c[2]), float(np.sqrt(mse[best]))
    )


def _fit_lags(
    t: FloatArray, y: FloatArray, lags: FloatArray, inhale_s: float, exhale_s: float, end_s: float
) -> tuple[FloatArray, FloatArray]:
    """Mean squared residual and turning points (start, cow, cat) of the model for every
    lag at once; ``inf`` and NaN for a lag with fewer than 20 samples in its cycle.

    With the moves clipped to [0, 1], the three basis functions are 1 − up, up − down and
    down (``down`` is 0 before the cow, ``up`` is 1 after it), so every entry of the 3×3
    normal equations is a sum of up, down, their squares and their products with y; the
    minimum-norm solution (pseudo-inverse) equals ``lstsq``'s, also when a lag leaves a
    turning point without data.
    """
    mse = np.full(lags.size, np.inf)
    coef = np.full((lags.size, 3), np.nan)
    if lags.size == 0 or t.size == 0:
        return mse, coef
    usable = (t >= inhale_s + lags.min()) & (t <= end_s + lags.max())
    t, y = t[usable], y[usable]
    shifted = t[None, :] - lags[:, None]
    w = ((shifted >= inhale_s) & (shifted <= end_s)).astype(np.float64)
    up = _min_jerk_inplace((shifted - inhale_s) * (1.0 / (exhale_s - inhale_s)))
    up *= w
    down = _min_jerk_inplace((shifted - exhale_s) * (1.0 / (end_s - exhale_s)))
    down *= w
    n = w.sum(axis=1)
    s_u, s_d = up.sum(axis=1), down.sum(axis=1)
    s_uu, s_dd = np.einsum("ls,ls->l", up, up), np.einsum("ls,ls->l", down, down)
    s_y, s_uy, s_dy = w @ y, up @ y, down @ y
    s_yy = w @ (y * y)
    gram = np.empty((lags.size, 3, 3))
    gram[:, 0, 0] = n - 2.0 * s_u + s_uu
    gram[:, 0, 1] = gram[:, 1, 0] = s_u - s_uu
    gram[:, 0, 2] = gram[:, 2, 0] = 0.0
    gram[:, 1, 1] = s_uu - 2.0 * s_d + s_dd
    gram[:, 1, 2] = gram[:, 2, 1] = s_d - s_dd
    gram[:, 2, 2] = s_dd
    rhs = np.stack([s_y - s_uy, s_uy - s_dy, s_dy], axis=1)
    ok = n >= 20
    if not ok.any():
        return mse, coef
    # Solve directly where the equations are well posed; the pseudo-inverse (slower) only
    # where a turning point has (almost) no data.
    g_ok = gram[ok]
    det = np.linalg.det(g_ok)
    scale = np.prod(np.abs(np.diagonal(g_ok, axis1=1, axis2=2)), axis=1)
    regular = np.abs(det) > 1e-9 * scale
    solved = np.empty((g_ok.shape[0], 3))
    if regular.any():
        solved[regular] = np.linalg.solve(g_ok[regular], rhs[ok][regular][:, :, None])[:, :, 0]
    if not regular.all():
        solved[~regular] = (np.linalg.pinv(g_ok[~regular]) @ rhs[ok][~regular][:, :, None])[:, :, 0]
    coef[ok] = solved
    g, r, c = gram[ok], rhs[ok], coef[ok]
    sse = s_yy[ok] - 2.0 * np.einsum("li,li->l", c, r) + np.einsum("li,lij,lj->l", c, g, c)
    mse[ok] = np.maximum(sse, 0.0) / n[ok]
    return mse, coef
