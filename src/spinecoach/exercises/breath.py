"""Breathing: the pacer, how well the movement follows it, and breath from the upper sensor.

Three pieces, each a frozen value or a pure function (times in s, angles in degrees,
volume as a normalised lung volume 0–1):

:class:`BreathPacer`
    The coach's breathing pacer: cycle ``k`` inhales over ``[start + k·T, start + k·T +
    inhale_s]`` and exhales until ``start + (k + 1)·T`` (``T = inhale_s + exhale_s``).
    The volume it asks for rises 0 → 1 over the inhale and falls 1 → 0 over the exhale
    with the minimum-jerk shape ``s(τ) = 10τ³ − 15τ⁴ + 6τ⁵`` (the shape the simulator
    breathes with, :meth:`spinecoach.sim.timeline.Timeline.paced_breath`). The coach logs
    each phase as an ``EVENT_BREATH_INHALE`` / ``EVENT_BREATH_EXHALE`` annotation
    (:meth:`BreathPacer.events`); :func:`pacer_from_events` rebuilds the schedule from
    such a log as a :class:`PacerTrack` (cycles may be irregular).

:func:`breath_sync`
    For breath-led movement (cat-cow: cow = lumbar extension, negative flexion, on the
    inhale; cat on the exhale), one breath cycle at a time: the lag of the movement
    behind the pacer, found by cross-correlating the movement's velocity with the
    (sign-corrected) breath flow shifted in time, whether the movement goes the wrong
    way, and the share of the cycle in which movement and breath go the same way.

:func:`estimate_respiration`
    The breathing rate (breaths/min) from the small respiratory oscillation of the
    upper segment when the person is still, and a volume-like signal from it.

Signs. The simulator (:mod:`spinecoach.sim.body`) extends the lumbar spine slightly on
the inhale (about 0.6° × depth × (volume − ½)), so the upper-segment inclination
*decreases* (tilts backwards) as the lungs fill, in every position; quiet breathing moves
it about ±0.1°, a deep paced breath about ±0.3°. :func:`estimate_respiration` therefore
takes the negated, band-passed upper inclination as its volume estimate.

>>> pacer = BreathPacer(inhale_s=3.0, exhale_s=4.0, start_s=10.0)
>>> pacer.phase(11.5)
('inhale', 0.5, 0)
>>> track = pacer_from_events(pacer.events(cycles=2))
>>> float(track.volume(13.0)), bool(track.covers(10.0, 24.0))
(1.0, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from spinecoach.errors import ConfigurationError
from spinecoach.exercises.pacer import (
    EXHALE,
    INHALE,
    PHASE_GAP_TOLERANCE_S,
    WAITING,
    BreathPacer,
    FloatArray,
    PacerTrack,
    pacer_from_events,
    positive_seconds,
)
from spinecoach.exercises.respiration import (
    MAX_MISSING_SHARE,
    MAX_POSTURE_SHIFT_DEG,
    MAX_STILL_RANGE_DEG,
    MIN_PEAK_TO_MEDIAN,
    MIN_RESPIRATION_CYCLES,
    REASON_MOVEMENT,
    REASON_OK,
    RESPIRATION_BAND_HZ,
    RESPIRATION_FILTER_ORDER,
    RespirationEstimate,
    estimate_respiration,
)
from spinecoach.exercises.series import as_1d, check_frames, check_time, refine_peak

__all__ = [
    "EXHALE",
    "INHALE",
    "INVERSION_SEARCH_S",
    "MAX_MISSING_SHARE",
    "MAX_POSTURE_SHIFT_DEG",
    "MAX_STILL_RANGE_DEG",
    "MIN_OVERLAP_SHARE",
    "MIN_PEAK_TO_MEDIAN",
    "MIN_RESPIRATION_CYCLES",
    "MIN_SYNC_CORRELATION",
    "PHASE_GAP_TOLERANCE_S",
    "REASON_MOVEMENT",
    "REASON_OK",
    "RESPIRATION_BAND_HZ",
    "RESPIRATION_FILTER_ORDER",
    "WAITING",
    "BreathPacer",
    "BreathSync",
    "PacerTrack",
    "RespirationEstimate",
    "breath_sync",
    "estimate_respiration",
    "in_phase_share",
    "pacer_from_events",
]

INVERSION_SEARCH_S: Final = 1.0
"""|lag| (s) within which an opposite-sign correlation counts as an inverted movement."""
MIN_SYNC_CORRELATION: Final = 0.5
"""Below this best |correlation| the movement does not follow a breath-shaped pattern at
all (no movement, or something else entirely): the lag is reported as not measurable."""
MIN_OVERLAP_SHARE: Final = 0.5
"""A lag is tried only when this share of the breath cycle, shifted, still meets movement
frames (the window's margins should hold the movement that follows the cycle)."""
_DERIVATIVE_HALF_SPAN_S: Final = 0.25  # s; see _derivative: damps noise and 2–4 Hz tremor
_STILL_DPS: Final = 1e-6  # deg/s: a movement this slow is rounding error, not movement
_STILL_SHARE: Final = 0.05  # a speed under 5 % of its typical peak counts as still
_COARSE_LAG_STEP_S: Final = 0.04  # first pass of the lag search; then frame by frame
_INTERP_BLOCK: Final = 50_000  # shifted samples per block of lags (fits in cache)
_CYCLE_PROMINENCE: Final = 0.3  # share of the volume range that makes a breath's peak
_TROUGH_TOLERANCE: Final = 1e-3  # share of a breath's amplitude that still counts as trough


# --- movement-to-breath synchronisation --------------------------------------------------


@dataclass(frozen=True)
class BreathSync:
    """How the movement of one breath cycle follows the pacer.

    lag_s
        How long (s) the movement follows the breath (positive = late); +inf when the
        movement is inverted; NaN when it cannot be measured (no movement, too little
        data, no breath-shaped pattern).
    inverted
        The movement goes the wrong way (cat on the inhale).
    in_phase_share
        Share (0–1) of the cycle's moving frames in which the movement direction matches
        the breath phase (no lag applied); NaN when nothing moves.
    correlation
        Correlation (about zero) of the movement's velocity with ``expected_sign ×`` the
        breath flow at the lag found; negative for an inverted movement.
    """

    lag_s: float
    inverted: bool
    in_phase_share: float
    correlation: float


def _lag_correlations(
    time_s: FloatArray, velocity: FloatArray, flow: FloatArray, lags_s: FloatArray
) -> FloatArray:
    """Correlation about zero of ``velocity(t)`` with ``flow(t − lag)`` for each lag.

    ``flow`` is shifted by interpolation on the given time base (all lags of a block at
    once). Samples the shifted flow does not reach, or reaches only across a gap, are left
    out; a lag at which under :data:`MIN_OVERLAP_SHARE` of the flow's samples meet
    movement gives NaN.
    """
    valid = np.isfinite(velocity)
    known = np.isfinite(flow)
    needed = max(3, int(MIN_OVERLAP_SHARE * np.count_nonzero(known)))
    t_known, f_known = time_s[known], flow[known]
    known_f = known.astype(np.float64)
    # NaN only at the ends (the smoothing's edges), not in gaps: the interpolation over
    # the known samples cannot bridge anything (the usual case; the guard is skipped).
    known_at = np.flatnonzero(known)
    all_known = known_at.size == 0 or known_at[-1] - known_at[0] + 1 == known_at.size
    moving = np.where(valid, velocity, 0.0)
    out = np.full(lags_s.shape, np.nan)
    block = max(1, _INTERP_BLOCK // time_s.shape[0])
    for first in range(0, lags_s.shape[0], block):
        lags = lags_s[first : first + block]
        at = (time_s[None, :] - lags[:, None]).ravel()
        rows = (lags.shape[0], time_s.shape[0])
        shifted = np.interp(at, t_known, f_known, left=np.nan, right=np.nan).reshape(rows)
        use = valid[None, :] & np.isfinite(shifted)
        if not all_known:
            # np.interp bridges gaps in the flow; do not trust values across a NaN gap.
            reached = np.interp(at, time_s, known_f, left=0.0, right=0.0).reshape(rows)
            use &= reached > 0.999
        b = np.where(use, shifted, 0.0)
        a = np.where(use, moving[None, :], 0.0)
        denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (a * b).sum(axis=1) / denominator
        r[(use.sum(axis=1) < needed) | ~(denominator > 1e-12)] = np.nan
        out[first : first + block] = r
    return out


def _derivative(time_s: FloatArray, values: FloatArray) -> FloatArray:
    """Smoothed rate of change (unit/s) on the given, possibly irregular, time base.

    A central difference over ±:data:`_DERIVATIVE_HALF_SPAN_S` of the signal's running
    mean over the same span — a triangular kernel 4 × that wide. It is zero-phase (so it
    cannot shift a lag), keeps the < 1 Hz breath-led movement and strongly damps sensor
    noise and the 2–4 Hz tremor of a jerky movement. NaN within the span of a window edge.
    """
    known = np.isfinite(values)
    if np.count_nonzero(known) < 2:
        return np.full(time_s.shape, np.nan)
    t, v = time_s[known], values[known]
    h = _DERIVATIVE_HALF_SPAN_S
    integral = np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * np.diff(t))])

    def running_mean(at: FloatArray) -> FloatArray:
        ahead = np.interp(at + h, t, integral, left=np.nan, right=np.nan)
        behind = np.interp(at - h, t, integral, left=np.nan, right=np.nan)
        out: FloatArray = (ahead - behind) / (2.0 * h)
        return out

    rate: FloatArray = (running_mean(time_s + h) - running_mean(time_s - h)) / (2.0 * h)
    rate[~known] = np.nan
    return rate


def _in_phase_share(velocity: FloatArray, flow: FloatArray) -> float:
    """Share of samples where both move and ``velocity`` has the sign of ``flow``."""
    both = np.isfinite(velocity) & np.isfinite(flow)
    if not np.any(both):
        return math.nan
    dm, dv = velocity[both], flow[both]
    speed_m, speed_v = np.abs(dm), np.abs(dv)
    moving = (speed_m > _STILL_SHARE * float(np.percentile(speed_m, 95))) & (
        speed_v > _STILL_SHARE * float(np.percentile(speed_v, 95))
    )
    if not np.any(moving):
        return math.nan
    return float(np.mean(np.sign(dm[moving]) == np.sign(dv[moving])))


def _central_cycle(time_s: FloatArray, volume: FloatArray) -> FloatArray:
    """``volume`` with NaN outside the breath cycle at the middle of the window.

    The cycle is the volume peak nearest the window's middle, from the last trough
    before it to the first trough after it (a trough: within 0.1 % of the amplitude of
    the lowest volume between this peak and the neighbouring one). Without a clear peak
    the volume is returned unchanged.
    """
    from scipy import signal

    known = np.isfinite(volume)
    if np.count_nonzero(known) < 3:
        return volume
    low, high = float(np.min(volume[known])), float(np.max(volume[known]))
    if high - low <= 1e-12:
        return volume
    filled = np.where(known, volume, low)
    peaks, _ = signal.find_peaks(
        np.concatenate([[low], filled, [low]]), prominence=_CYCLE_PROMINENCE * (high - low)
    )
    peaks = peaks - 1
    if peaks.size == 0:
        return volume
    middle = 0.5 * (time_s[0] + time_s[-1])
    chosen = int(np.argmin(np.abs(time_s[peaks] - middle)))
    peak = int(peaks[chosen])
    before = int(peaks[chosen - 1]) if chosen > 0 else 0
    after = int(peaks[chosen + 1]) if chosen + 1 < peaks.size else volume.shape[0] - 1
    rising = filled[before : peak + 1]
    falling = filled[peak : after + 1]
    tolerance = _TROUGH_TOLERANCE * (filled[peak] - low)
    start = before + int(np.flatnonzero(rising <= rising.min() + tolerance)[-1])
    end = peak + int(np.flatnonzero(falling <= falling.min() + tolerance)[0])
    out = np.full(volume.shape, np.nan)
    out[start : end + 1] = volume[start : end + 1]
    return out


def _sync_inputs(
    time_s: FloatArray, movement_deg: FloatArray, pacer_volume: FloatArray, expected_sign: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The checked inputs of :func:`breath_sync` and :func:`in_phase_share`."""
    t = as_1d("time_s", time_s)
    movement = as_1d("movement_deg", movement_deg)
    volume = as_1d("pacer_volume", pacer_volume)
    check_time(t)
    check_frames(t, movement_deg=movement, pacer_volume=volume)
    if isinstance(expected_sign, bool) or expected_sign not in (1, -1):
        raise ConfigurationError(
            f"expected_sign must be 1 or -1 (the movement's sign on a rising volume), got "
            f"{expected_sign!r}"
        )
    return t, movement, volume


def _rates(
    t: FloatArray, movement: FloatArray, volume: FloatArray, expected_sign: float
) -> tuple[FloatArray, FloatArray]:
    """The movement's velocity and the signed flow of the window's central breath cycle."""
    velocity = _derivative(t, movement)
    flow = expected_sign * _derivative(t, _central_cycle(t, volume))
    return velocity, flow


def in_phase_share(
    time_s: FloatArray,
    movement_deg: FloatArray,
    pacer_volume: FloatArray,
    *,
    expected_sign: float = -1.0,
) -> float:
    """:attr:`BreathSync.in_phase_share` alone, without the lag search (which is most of
    :func:`breath_sync`'s work): the live coach needs it when a breath ends. Same inputs
    and the same value as ``breath_sync(...).in_phase_share``.

    >>> t = np.arange(0.0, 12.0, 0.01)
    >>> volume = BreathPacer(3.0, 4.0, start_s=2.5).volume(t)
    >>> late = -30.0 * BreathPacer(3.0, 4.0, start_s=3.5).volume(t)
    >>> in_phase_share(t, late, volume) == breath_sync(t, late, volume).in_phase_share
    True
    """
    t, movement, volume = _sync_inputs(time_s, movement_deg, pacer_volume, expected_sign)
    velocity, flow = _rates(t, movement, volume, float(expected_sign))
    if not np.nanmax(np.abs(velocity), initial=0.0) > _STILL_DPS:
        return math.nan  # nothing moves at all
    return _in_phase_share(velocity, flow)


def breath_sync(
    time_s: FloatArray,
    movement_deg: FloatArray,
    pacer_volume: FloatArray,
    *,
    expected_sign: float = -1.0,
    max_lag_s: float = 2.5,
) -> BreathSync:
    """How one breath cycle of movement follows the breathing pacer.

    ``time_s`` (s, strictly increasing), ``movement_deg`` (deg, the technique's main
    signal) and ``pacer_volume`` (normalised 0–1, e.g. :meth:`PacerTrack.volume` or the
    ``phase_volume`` of :func:`estimate_respiration`) have one value per frame; NaN
    frames are left out. ``expected_sign`` is the sign of the movement that goes with a
    rising volume: −1 for cat-cow's lumbar flexion (cow = extension on the inhale).

    Window. Pass the frames from about ``max_lag_s`` before a cycle's inhale start to
    about ``max_lag_s`` after its exhale end. The cycle measured is the one in the middle
    of the window — the pacer volume's peak nearest the middle, from the trough before it
    to the trough after it; the pacer volume outside it is ignored, the movement of the
    whole window is used — so the neighbouring breaths in the margins do not dilute a
    cycle that goes the wrong way. Margins under 1 s cut off the movement of a late cycle.

    Lag: the shift in ``[−max_lag_s, max_lag_s]`` that maximises the correlation of the
    movement with ``expected_sign × volume(t − lag)``. The volume is shifted by
    interpolation on the given time base (no pacer object needed), first on a 0.04 s
    grid, then frame by frame around the best shift, refined below a frame by a parabola
    through the peak. The correlation is taken between rates of change — the movement's
    velocity and the breath's flow, both smoothed alike (zero-phase, under 1 Hz) — about
    zero, not between the raw signals: each inhale and each exhale then adds a term that
    peaks at the true lag whatever its size, so a cow deeper than the cat, or a first
    cycle that starts from neutral, do not bias the lag (on the raw signals they did, by
    up to 0.5 s), and the tremor of a jerky movement is damped.

    The movement is *inverted* when that best correlation is weaker than the best
    correlation with the opposite sign within ±:data:`INVERSION_SEARCH_S`; the lag is then
    +inf and ``correlation`` the (negative) value there. When neither reaches
    :data:`MIN_SYNC_CORRELATION` (no movement, or nothing breath-shaped) the lag is NaN.
    ``in_phase_share`` is the share of the cycle's frames, among those where both move
    (speed over 5 % of its typical peak), in which the movement goes the way the breath
    asks (no lag applied, so a late movement scores lower).

    Measured (tests/exercises/test_exercises_breath.py and the simulator): on
    simulator-like cycles (inhale 3 s, exhale 4 s, each ±15 %, 0.05° noise, ±0.5° sway,
    margins 2.5 s) the lag error is at most 0.07 s for lags 0–1.8 s, a clean cycle is
    never called inverted and a cycle done the wrong way between normal ones always is
    (a whole set done the wrong way, only for lags up to about 1 s: beyond that it is
    indistinguishable from moving early). On simulated cat-cow sessions through the
    motion pipeline (realistic sensor errors), cycles at a steady lag are within 0.08 s
    (jerky ones 0.12 s); when the lag changes from one cycle to the next the estimate
    lies between the two.

    >>> t = np.arange(0.0, 12.0, 0.01)
    >>> volume = BreathPacer(3.0, 4.0, start_s=2.5).volume(t)
    >>> late = -30.0 * BreathPacer(3.0, 4.0, start_s=3.5).volume(t)  # 1 s behind
    >>> sync = breath_sync(t, late, volume)
    >>> round(sync.lag_s, 2), sync.inverted, round(sync.in_phase_share, 2)
    (1.0, False, 0.85)
    >>> breath_sync(t, -late, volume).inverted
    True
    """
    t, movement, volume = _sync_inputs(time_s, movement_deg, pacer_volume, expected_sign)
    max_lag = positive_seconds("max_lag_s", max_lag_s)

    velocity, flow = _rates(t, movement, volume, float(expected_sign))
    if not np.nanmax(np.abs(velocity), initial=0.0) > _STILL_DPS:
        return BreathSync(math.nan, False, math.nan, math.nan)  # nothing moves at all
    return _lag_search(t, velocity, flow, _in_phase_share(velocity, flow), max_lag)


def _lag_search(
    t: FloatArray, velocity: FloatArray, flow: FloatArray, share: float, max_lag: float
) -> BreathSync:
    """The lag search of :func:`breath_sync` on the movement's ``velocity`` and the
    breath's ``flow``: a 0.04 s grid, then frame by frame, then a parabola; inverted when
    the opposite sign correlates better within :data:`INVERSION_SEARCH_S`."""
    step = float(np.median(np.diff(t)))
    steps = math.floor(max_lag / step + 1e-9)
    stride = max(1, round(_COARSE_LAG_STEP_S / step))
    coarse = np.unique(np.concatenate([np.arange(-steps, steps + 1, stride), [steps]]))
    r_coarse = _lag_correlations(t, velocity, flow, coarse.astype(np.float64) * step)
    if not np.any(np.isfinite(r_coarse)):
        return BreathSync(math.nan, False, share, math.nan)
    around = int(coarse[int(np.nanargmax(r_coarse))])
    fine = np.arange(max(-steps, around - stride), min(steps, around + stride) + 1)
    r_fine = _lag_correlations(t, velocity, flow, fine.astype(np.float64) * step)
    best = int(np.nanargmax(r_fine))  # the fine grid holds the coarse best: never all NaN
    best_r = float(r_fine[best])

    near = (np.abs(coarse * step) <= INVERSION_SEARCH_S + 1e-9) & np.isfinite(r_coarse)
    opposite = np.where(near, -r_coarse, -np.inf)
    worst = int(np.argmax(opposite))
    if max(best_r, float(opposite[worst])) < MIN_SYNC_CORRELATION:
        return BreathSync(math.nan, False, share, best_r)
    if opposite[worst] > best_r:
        return BreathSync(math.inf, True, share, float(r_coarse[worst]))
    lag = (fine[best] + refine_peak(r_fine, best)) * step
    return BreathSync(float(lag), False, share, best_r)
