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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage, signal

from spinecoach.conventions import EVENT_BREATH_EXHALE, EVENT_BREATH_INHALE
from spinecoach.errors import ConfigurationError
from spinecoach.recording import Event

if TYPE_CHECKING:
    from spinecoach.exercises.catalogue import Technique

FloatArray = NDArray[np.float64]

INHALE: Final = "inhale"
EXHALE: Final = "exhale"
WAITING: Final = "waiting"
_PHASE_OF_EVENT: Final = {EVENT_BREATH_INHALE: INHALE, EVENT_BREATH_EXHALE: EXHALE}

PHASE_GAP_TOLERANCE_S: Final = 0.05
"""Logged phases this close (s) count as contiguous (timestamps of a live log jitter)."""

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
_POSTURE_MEDIAN_S: Final = 5.0  # s: longer than a quiet breath, shorter than a rest
_INTERP_BLOCK: Final = 50_000  # shifted samples per block of lags (fits in cache)
_CROSSING_HYSTERESIS: Final = 0.5  # × robust spread (1.4826·MAD): a breath, not noise
_CYCLE_PROMINENCE: Final = 0.3  # share of the volume range that makes a breath's peak
_TROUGH_TOLERANCE: Final = 1e-3  # share of a breath's amplitude that still counts as trough

RESPIRATION_BAND_HZ: Final = (0.1, 0.7)
"""Band-pass (Hz) of the respiration estimate: 6–42 breaths/min."""
RESPIRATION_FILTER_ORDER: Final = 2
"""Butterworth order (per band edge, before filtfilt doubles it)."""
MIN_RESPIRATION_CYCLES: Final = 3.0
"""A rate needs at least this many breaths in the window."""
MIN_PEAK_TO_MEDIAN: Final = 20.0
"""The spectral peak must carry this many times the median power in the band. 4× is not
enough: the highest bin of a noise periodogram over 15–60 s is 4–7× its median in half of
pure-noise windows (p99 ≈ 18×), while simulated quiet breathing gives 25–350×."""
MAX_STILL_RANGE_DEG: Final = 3.0
"""Upper-inclination range (deg) above which movement, not breath, dominates the signal."""
MAX_POSTURE_SHIFT_DEG: Final = 1.5
"""Range (deg) of the posture — the upper inclination's running median, breath averaged
out — above which a posture shift, not breath, would drive the estimate (a shift of
1.7–2° cost up to 3 breaths/min on simulated lying; smaller ones can still hide a
breath)."""
MAX_MISSING_SHARE: Final = 0.1
"""Share of missing (NaN) frames inside the window the estimate tolerates."""

REASON_OK: Final = "ok"
REASON_MOVEMENT: Final = "movement dominates the upper sensor; the pacer is the breath reference"


def _min_jerk(tau: FloatArray) -> FloatArray:
    """``10τ³ − 15τ⁴ + 6τ⁵`` on ``τ`` clipped to [0, 1]."""
    t = np.clip(tau, 0.0, 1.0)
    out: FloatArray = t**3 * (10.0 + t * (-15.0 + 6.0 * t))
    return out


def _positive_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ConfigurationError(f"{name} must be a number of seconds, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number <= 0.0:
        raise ConfigurationError(
            f"{name} must be a positive, finite number of seconds, got {number:g}"
        )
    return number


def _finite_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ConfigurationError(f"{name} must be a number of seconds, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigurationError(f"{name} must be a finite number of seconds, got {number:g}")
    return number


# --- the pacer -------------------------------------------------------------------------


@dataclass(frozen=True)
class BreathPacer:
    """Paces inhale/exhale from start_s: cycle k inhales over [start + k·T, start + k·T +
    inhale_s], then exhales (``T`` = :attr:`cycle_s`). Durations and times in seconds.

    >>> pacer = BreathPacer(inhale_s=3.0, exhale_s=4.0)
    >>> pacer.cycle_s, pacer.phase(-1.0), pacer.phase(5.0), pacer.phase(8.5)
    (7.0, ('waiting', 0.0, 0), ('exhale', 0.5, 0), ('inhale', 0.5, 1))
    >>> pacer.volume([0.0, 1.5, 3.0, 5.0, 7.0]).tolist()
    [0.0, 0.5, 1.0, 0.5, 0.0]
    >>> [(e.kind, e.start_s, e.end_s) for e in pacer.events(1)]
    [('breath-inhale', 0.0, 3.0), ('breath-exhale', 3.0, 7.0)]
    """

    inhale_s: float
    exhale_s: float
    start_s: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "inhale_s", _positive_seconds("inhale_s", self.inhale_s))
        object.__setattr__(self, "exhale_s", _positive_seconds("exhale_s", self.exhale_s))
        object.__setattr__(self, "start_s", _finite_seconds("start_s", self.start_s))

    @classmethod
    def for_technique(
        cls, technique: Technique, *, start_s: float = 0.0, tempo: float = 1.0
    ) -> BreathPacer:
        """The pacer of ``technique.breathing``, both durations multiplied by ``tempo``.

        ``tempo`` > 1 slows the pacer down (1.2 → 20 % longer breaths), < 1 speeds it up;
        it must be positive.

        >>> from spinecoach.exercises.catalogue import default_catalogue
        >>> cat_cow = default_catalogue().technique("cat-cow")
        >>> BreathPacer.for_technique(cat_cow, start_s=5.0, tempo=1.5)
        BreathPacer(inhale_s=4.5, exhale_s=6.0, start_s=5.0)
        """
        if isinstance(tempo, bool) or not isinstance(tempo, int | float | np.floating):
            raise ConfigurationError(f"tempo must be a number, got {tempo!r}")
        if not math.isfinite(tempo) or tempo <= 0.0:
            raise ConfigurationError(
                f"tempo must be a positive multiplier of the breath durations, got {tempo:g}; "
                "use 1.0 for the catalogue's pace, more than 1 to breathe slower"
            )
        breathing = technique.breathing
        return cls(
            inhale_s=breathing.inhale_s * float(tempo),
            exhale_s=breathing.exhale_s * float(tempo),
            start_s=start_s,
        )

    @property
    def cycle_s(self) -> float:
        """One breath, in and out (s)."""
        return self.inhale_s + self.exhale_s

    def cycle_start_s(self, cycle: int) -> float:
        """Time (s) at which cycle ``cycle`` (0-based) starts its inhale."""
        return self.start_s + cycle * self.cycle_s

    def phase(self, time_s: float) -> tuple[str, float, int]:
        """``(phase, progress, cycle)`` at ``time_s`` (s).

        ``phase`` is ``"inhale"``, ``"exhale"`` or ``"waiting"`` before ``start_s``;
        ``progress`` is the share (0–1) of the phase that has passed (0 while waiting);
        ``cycle`` is the 0-based breath cycle (0, the one about to start, while waiting).
        """
        t = _finite_seconds("time_s", time_s)
        if t < self.start_s:
            return WAITING, 0.0, 0
        cycle, into = divmod(t - self.start_s, self.cycle_s)
        if into < self.inhale_s:
            return INHALE, into / self.inhale_s, int(cycle)
        return EXHALE, min((into - self.inhale_s) / self.exhale_s, 1.0), int(cycle)

    def volume(self, time_s: ArrayLike) -> FloatArray:
        """Normalised lung volume (0–1) the pacer asks for at ``time_s`` (s); 0 before start.

        Minimum-jerk 0 → 1 over each inhale and 1 → 0 over each exhale; the output has the
        shape of ``time_s`` (a scalar gives a 0-d array).
        """
        t = np.asarray(time_s, dtype=np.float64)
        elapsed = t - self.start_s
        into = np.mod(np.maximum(elapsed, 0.0), self.cycle_s)
        rising = _min_jerk(into / self.inhale_s)
        falling = 1.0 - _min_jerk((into - self.inhale_s) / self.exhale_s)
        out: FloatArray = np.where(
            elapsed < 0.0, 0.0, np.where(into < self.inhale_s, rising, falling)
        )
        return np.where(np.isnan(t), np.nan, out)

    def events(self, cycles: int) -> tuple[Event, ...]:
        """The annotations a coach logs for ``cycles`` breaths: inhale, exhale, inhale, …"""
        if isinstance(cycles, bool) or not isinstance(cycles, int | np.integer) or cycles < 0:
            raise ConfigurationError(
                f"cycles must be a whole number of breaths (0 or more), got {cycles!r}"
            )
        out: list[Event] = []
        for k in range(int(cycles)):
            start = self.cycle_start_s(k)
            turn = start + self.inhale_s
            out.append(Event(EVENT_BREATH_INHALE, start, turn))
            out.append(Event(EVENT_BREATH_EXHALE, turn, self.cycle_start_s(k + 1)))
        return tuple(out)


# --- the pacer as logged ---------------------------------------------------------------


@dataclass(frozen=True)
class PacerTrack:
    """The pacer's schedule reconstructed from logged annotations (possibly irregular
    cycles): ``phases`` are ``("inhale" | "exhale", start_s, end_s)``, time-ordered.

    The volume has the pacer's minimum-jerk shape within each logged phase (0 → 1 over an
    inhale, 1 → 0 over an exhale) and is NaN wherever no phase was logged: before the
    first, after the last, and in gaps longer than :data:`PHASE_GAP_TOLERANCE_S` (the
    pacer was not running, say between sets).

    >>> track = PacerTrack((("inhale", 0.0, 2.0), ("exhale", 2.0, 5.0)))
    >>> track.volume([-1.0, 1.0, 2.0, 3.5, 5.0, 6.0]).tolist()
    [nan, 0.5, 1.0, 0.5, 0.0, nan]
    >>> track.covers(0.5, 4.0), track.covers(4.0, 6.0)
    (True, False)
    """

    phases: tuple[tuple[str, float, float], ...]

    def __post_init__(self) -> None:
        checked: list[tuple[str, float, float]] = []
        for i, entry in enumerate(self.phases):
            if not isinstance(entry, tuple) or len(entry) != 3:
                raise ConfigurationError(
                    f"phases[{i}] must be a (phase, start_s, end_s) tuple, got {entry!r}"
                )
            name, start, end = entry
            if name not in (INHALE, EXHALE):
                raise ConfigurationError(
                    f"phases[{i}] names phase {name!r}; use 'inhale' or 'exhale'"
                )
            start_s = _finite_seconds(f"phases[{i}] start_s", start)
            end_s = _finite_seconds(f"phases[{i}] end_s", end)
            if end_s <= start_s:
                raise ConfigurationError(
                    f"phases[{i}] ({name}) must end after it starts, got {start_s:g}–{end_s:g} s"
                )
            if checked and start_s < checked[-1][2] - PHASE_GAP_TOLERANCE_S:
                raise ConfigurationError(
                    f"phases[{i}] ({name}, from {start_s:g} s) starts before phases[{i - 1}] "
                    f"ends ({checked[-1][2]:g} s); pass the phases in time order without "
                    "overlaps"
                )
            checked.append((str(name), start_s, end_s))
        object.__setattr__(self, "phases", tuple(checked))

    def _spans(self) -> list[tuple[str, float, float, float]]:
        """(phase, start, end, covered-until): tiny gaps are held at the phase's end value."""
        spans = []
        for i, (name, start, end) in enumerate(self.phases):
            until = end
            if i + 1 < len(self.phases):
                following = self.phases[i + 1][1]
                if following - end <= PHASE_GAP_TOLERANCE_S:
                    until = max(end, following)
            spans.append((name, start, end, until))
        return spans

    def volume(self, time_s: ArrayLike) -> FloatArray:
        """Normalised lung volume (0–1) asked for at ``time_s`` (s); NaN where not logged."""
        t = np.asarray(time_s, dtype=np.float64)
        out = np.full(t.shape, np.nan)
        for name, start, end, until in self._spans():
            inside = (t >= start) & (t <= until)
            if not np.any(inside):
                continue
            shape = _min_jerk((t[inside] - start) / (end - start))
            out[inside] = shape if name == INHALE else 1.0 - shape
        return out

    def covers(self, start_s: float, end_s: float) -> bool:
        """True when every time in ``[start_s, end_s]`` (s) lies within logged phases."""
        start = _finite_seconds("start_s", start_s)
        end = _finite_seconds("end_s", end_s)
        if end < start:
            raise ConfigurationError(
                f"end_s ({end:g} s) is before start_s ({start:g} s); pass the window in order"
            )
        reached = start
        for _, phase_start, _, until in self._spans():
            if phase_start > reached:
                if phase_start > end:
                    break
                return False
            reached = max(reached, until)
            if reached >= end:
                return True
        return False


def pacer_from_events(events: Sequence[Event]) -> PacerTrack | None:
    """The pacer schedule from logged ``breath-inhale`` / ``breath-exhale`` annotations.

    Other events are ignored; None when there are no breath annotations. Overlapping
    breath annotations raise :class:`~spinecoach.errors.ConfigurationError`.

    >>> from spinecoach.recording import Event
    >>> track = pacer_from_events([Event("rep", 0.0, 9.0), Event("breath-exhale", 3.0, 7.0),
    ...                            Event("breath-inhale", 0.0, 3.0)])
    >>> track.phases
    (('inhale', 0.0, 3.0), ('exhale', 3.0, 7.0))
    >>> pacer_from_events([Event("rep", 0.0, 9.0)]) is None
    True
    """
    breath = sorted(
        (e for e in events if e.kind in _PHASE_OF_EVENT), key=lambda e: (e.start_s, e.end_s)
    )
    if not breath:
        return None
    for e in breath:
        if e.end_s <= e.start_s:
            raise ConfigurationError(
                f"breath annotation {e.kind!r} at {e.start_s:g} s has no duration; log each "
                "breath phase from its start to its end"
            )
    return PacerTrack(tuple((_PHASE_OF_EVENT[e.kind], e.start_s, e.end_s) for e in breath))


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


def _as_1d(name: str, values: object) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ConfigurationError(f"{name} must be an array of numbers ({error})") from None
    if array.ndim != 1:
        raise ConfigurationError(
            f"{name} must be one-dimensional (one value per frame), got shape {array.shape}"
        )
    return array


def _check_time(time_s: FloatArray) -> None:
    if time_s.shape[0] < 3:
        raise ConfigurationError(
            f"time_s has {time_s.shape[0]} frames; pass a window of at least 3 frames"
        )
    if not np.all(np.isfinite(time_s)):
        raise ConfigurationError("time_s must be finite; drop frames without a timestamp")
    if np.any(np.diff(time_s) <= 0.0):
        raise ConfigurationError(
            "time_s must be strictly increasing (seconds); sort the frames and drop duplicates"
        )


def _check_frames(time_s: FloatArray, **arrays: FloatArray) -> None:
    for name, array in arrays.items():
        if array.shape[0] != time_s.shape[0]:
            raise ConfigurationError(
                f"{name} has {array.shape[0]} values but time_s has {time_s.shape[0]}; pass "
                "one value per frame"
            )
        if not np.any(np.isfinite(array)):
            raise ConfigurationError(
                f"{name} holds no finite value (all NaN); pass a window with data, for "
                "example frames after the calibration is ready"
            )


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


def _refine_peak(values: FloatArray, index: int) -> float:
    """Sub-sample offset of a peak at ``index`` from the parabola through its neighbours."""
    if index <= 0 or index >= values.shape[0] - 1:
        return 0.0
    left, mid, right = values[index - 1], values[index], values[index + 1]
    if not (np.isfinite(left) and np.isfinite(right)):
        return 0.0
    curvature = left - 2.0 * mid + right
    if curvature >= 0.0:
        return 0.0
    return float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))


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
    t = _as_1d("time_s", time_s)
    movement = _as_1d("movement_deg", movement_deg)
    volume = _as_1d("pacer_volume", pacer_volume)
    _check_time(t)
    _check_frames(t, movement_deg=movement, pacer_volume=volume)
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
    max_lag = _positive_seconds("max_lag_s", max_lag_s)

    velocity, flow = _rates(t, movement, volume, float(expected_sign))
    if not np.nanmax(np.abs(velocity), initial=0.0) > _STILL_DPS:
        return BreathSync(math.nan, False, math.nan, math.nan)  # nothing moves at all
    share = _in_phase_share(velocity, flow)
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
    lag = (fine[best] + _refine_peak(r_fine, best)) * step
    return BreathSync(float(lag), False, share, best_r)


# --- respiration from the upper sensor -------------------------------------------------


@dataclass(frozen=True)
class RespirationEstimate:
    """Breathing seen by the upper sensor over one window.

    rate_bpm
        Breaths per minute; NaN unless ``usable``.
    usable
        The window gave a trustworthy rate.
    reason
        ``"ok"``, or why the window is not usable, in plain words.
    phase_volume
        Estimated normalised lung volume (0–1, one value per input frame, NaN where the
        input was), from the negated band-passed upper inclination rescaled per breath
        cycle; None unless ``usable``. Its timing is good enough for :func:`breath_sync`,
        its amplitude is only a shape.
    """

    rate_bpm: float
    usable: bool
    reason: str
    phase_volume: FloatArray | None


def _unusable(reason: str) -> RespirationEstimate:
    return RespirationEstimate(math.nan, False, reason, None)


def _per_cycle_volume(x: FloatArray, rate_hz: float, period_s: float) -> FloatArray:
    """Rescale an oscillation to 0–1 between envelopes through its troughs and peaks."""
    distance = max(1, int(0.6 * period_s * rate_hz))
    n = x.shape[0]
    index = np.arange(n, dtype=np.float64)
    peaks, _ = signal.find_peaks(x, distance=distance)
    troughs, _ = signal.find_peaks(-x, distance=distance)
    if peaks.size == 0 or troughs.size == 0:
        low, high = float(np.min(x)), float(np.max(x))
        return np.clip((x - low) / max(high - low, 1e-12), 0.0, 1.0)
    upper = np.interp(index, peaks.astype(np.float64), x[peaks])
    lower = np.interp(index, troughs.astype(np.float64), x[troughs])
    span = upper - lower
    scaled = np.where(span > 1e-12, (x - lower) / np.where(span > 1e-12, span, 1.0), 0.5)
    out: FloatArray = np.clip(scaled, 0.0, 1.0)
    return out


def _inhale_crossings(x: FloatArray, hysteresis: float) -> FloatArray:
    """Sub-sample indices where ``x`` rises through 0 on its way from −h to +h.

    Only a swing from below ``−hysteresis`` to above ``+hysteresis`` counts, so noise
    around zero is not a breath; the crossing is the last one before the swing ends,
    linearly interpolated between samples.
    """
    state = np.where(x > hysteresis, 1, np.where(x < -hysteresis, -1, 0))
    extreme = np.flatnonzero(state)
    if extreme.size < 2:
        return np.empty(0)
    swings = np.flatnonzero((state[extreme[:-1]] == -1) & (state[extreme[1:]] == 1))
    rising = np.flatnonzero((x[:-1] < 0.0) & (x[1:] >= 0.0))  # between i and i + 1
    out = []
    for j in swings:
        inside = rising[(rising >= extreme[j]) & (rising < extreme[j + 1])]
        i = int(inside[-1])
        out.append(i + x[i] / (x[i] - x[i + 1]))
    return np.asarray(out, dtype=np.float64)


def estimate_respiration(
    time_s: FloatArray,
    upper_inclination_deg: FloatArray,
    *,
    sampling_rate_hz: float,
) -> RespirationEstimate:
    """Breathing rate (breaths/min) from the upper-segment inclination of a still window.

    The lungs filling tilt the upper segment slightly backwards (the inclination falls by
    roughly 0.1–0.5° on an inhale), a slow oscillation at 6–30 breaths/min. The window
    (``time_s`` in s, ``upper_inclination_deg`` in deg, both one value per frame, frames
    at ``sampling_rate_hz`` Hz) is resampled onto a uniform grid, detrended, band-passed
    :data:`RESPIRATION_BAND_HZ` (Butterworth, forward-backward, so no delay: this is an
    offline analysis of a whole window) and negated, which gives a volume-like signal.

    Rate: the spectrum (zero-padded periodogram, Hann window) must show a clear peak;
    the rate is then counted like breaths are: the mid-inhale rising crossings of the
    volume-like signal (with hysteresis), ``60 × (crossings − 1) / their span``, so a
    pause between breaths lowers it as it should. With fewer than three crossings it is
    the spectral peak frequency.

    The window is *not usable* (``usable=False``, ``rate_bpm`` NaN, ``reason`` says why)
    when the signal's range reaches :data:`MAX_STILL_RANGE_DEG` (movement, not breath),
    the posture (its 5 s running median) shifts by :data:`MAX_POSTURE_SHIFT_DEG` or more,
    more than :data:`MAX_MISSING_SHARE` of its frames are missing, it holds fewer than
    :data:`MIN_RESPIRATION_CYCLES` breaths at the rate found, or the spectral peak has
    under :data:`MIN_PEAK_TO_MEDIAN` × the median power in the band.

    Measured on the simulator (pelvic-tilt, the ≈ 20 s rest between two sets, lying
    still, through the motion pipeline; 40 seeds with ideal and 40 with realistic sensor
    errors): rate error within ±0.8 breaths/min of the counted true breaths (two windows
    of 2.99 breaths reported too short). Posture shifts under
    :data:`MAX_POSTURE_SHIFT_DEG` can still hide a breath (rate low by up to 2.6/min on
    simulated lying with a shift every 15–45 s).

    >>> rate_hz = 50.0
    >>> t = np.arange(0.0, 30.0, 1.0 / rate_hz)
    >>> inhale = 0.5 - 0.5 * np.cos(2.0 * np.pi * 0.25 * t)  # 15 breaths/min
    >>> estimate = estimate_respiration(t, -90.0 - 0.2 * inhale, sampling_rate_hz=rate_hz)
    >>> estimate.usable, round(estimate.rate_bpm, 1)
    (True, 15.0)
    >>> moving = -90.0 + 10.0 * np.sin(2.0 * np.pi * 0.1 * t)
    >>> estimate_respiration(t, moving, sampling_rate_hz=rate_hz).reason
    'movement dominates the upper sensor; the pacer is the breath reference'
    """
    t = _as_1d("time_s", time_s)
    upper = _as_1d("upper_inclination_deg", upper_inclination_deg)
    _check_time(t)
    _check_frames(t, upper_inclination_deg=upper)
    if (
        isinstance(sampling_rate_hz, bool)
        or not isinstance(sampling_rate_hz, int | float | np.floating | np.integer)
        or not math.isfinite(sampling_rate_hz)
        or sampling_rate_hz <= 0.0
    ):
        raise ConfigurationError(
            f"sampling_rate_hz must be a positive number of hertz (the frame rate), got "
            f"{sampling_rate_hz!r}"
        )
    rate_hz = float(sampling_rate_hz)
    low_hz, high_hz = RESPIRATION_BAND_HZ
    if high_hz >= 0.5 * rate_hz:
        raise ConfigurationError(
            f"sampling_rate_hz ({rate_hz:g} Hz) is too low for breathing up to {high_hz:g} Hz; "
            f"pass frames at {4.0 * high_hz:g} Hz or faster"
        )

    known = np.isfinite(upper)
    first, last = np.flatnonzero(known)[[0, -1]]
    missing = 1.0 - float(np.mean(known[int(first) : int(last) + 1]))
    if missing > MAX_MISSING_SHARE:
        return _unusable(
            f"{100.0 * missing:.0f} % of the frames are missing (at most "
            f"{100.0 * MAX_MISSING_SHARE:.0f} % allowed); choose a window without gaps"
        )
    values = upper[known]
    if float(np.ptp(values)) >= MAX_STILL_RANGE_DEG:
        return _unusable(REASON_MOVEMENT)
    t_known = t[known]
    duration = float(t_known[-1] - t_known[0])
    least_s = MIN_RESPIRATION_CYCLES / high_hz
    if duration < least_s:
        return _unusable(
            f"window too short ({duration:.1f} s) to count {MIN_RESPIRATION_CYCLES:g} "
            f"breaths; pass at least {least_s:.0f} s of stillness"
        )
    grid = t_known[0] + np.arange(math.floor(duration * rate_hz) + 1) / rate_hz
    uniform = np.interp(grid, t_known, values)
    # A running median over about a breath keeps the posture and drops the breath; its
    # range shows a posture shift that the band-pass would turn into a false breath.
    size = 2 * int(0.5 * _POSTURE_MEDIAN_S * rate_hz) + 1
    shift = float(np.ptp(ndimage.median_filter(uniform, size=size, mode="nearest")))
    if shift >= MAX_POSTURE_SHIFT_DEG:
        return _unusable(
            f"the posture shifted by {shift:.1f}° during the window (at most "
            f"{MAX_POSTURE_SHIFT_DEG:g}° allowed); breathing is read from still windows, so "
            "choose one without a shift"
        )
    uniform = signal.detrend(uniform)
    sos = signal.butter(
        RESPIRATION_FILTER_ORDER, RESPIRATION_BAND_HZ, btype="bandpass", fs=rate_hz, output="sos"
    )
    padlen = min(grid.shape[0] - 1, int(3.0 * rate_hz / low_hz))
    volume_like = -signal.sosfiltfilt(sos, uniform, padtype="even", padlen=padlen)

    n_fft = max(1 << 16, 1 << math.ceil(math.log2(8 * grid.shape[0])))
    power = np.abs(np.fft.rfft(volume_like * signal.windows.hann(grid.shape[0]), n=n_fft)) ** 2
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / rate_hz)
    in_band = (freqs >= low_hz) & (freqs <= high_hz)
    band_power, band_freqs = power[in_band], freqs[in_band]
    peak = int(np.argmax(band_power))
    peak_hz = float(band_freqs[peak]) + _refine_peak(band_power, peak) * float(freqs[1])
    breaths_hz = peak_hz
    spread = 1.4826 * float(np.median(np.abs(volume_like - np.median(volume_like))))
    crossings = _inhale_crossings(volume_like, _CROSSING_HYSTERESIS * spread)
    if crossings.size >= 3:
        breaths_hz = (crossings.size - 1) * rate_hz / float(crossings[-1] - crossings[0])
    # Duration first: a window of two breaths also has a broad, unclear peak.
    if duration * breaths_hz < MIN_RESPIRATION_CYCLES:
        need = MIN_RESPIRATION_CYCLES / breaths_hz
        held = math.floor(10.0 * duration * breaths_hz) / 10.0  # 2.98 is not "3.0"
        return _unusable(
            f"window too short: {duration:.1f} s holds {held:.1f} breaths at "
            f"{60.0 * breaths_hz:.0f}/min; pass at least {need:.0f} s of stillness "
            f"({MIN_RESPIRATION_CYCLES:g} breaths)"
        )
    median = float(np.median(band_power))
    ratio = float(band_power[peak]) / median if median > 0.0 else math.inf
    if not ratio >= MIN_PEAK_TO_MEDIAN:
        return _unusable(
            f"no clear breathing rhythm: the strongest peak has {ratio:.1f}× the median "
            f"power in {low_hz:g}–{high_hz:g} Hz (need {MIN_PEAK_TO_MEDIAN:g}×)"
        )
    volume = _per_cycle_volume(volume_like, rate_hz, 1.0 / breaths_hz)
    phase_volume = np.full(t.shape, np.nan)
    phase_volume[known] = np.interp(t_known, grid, volume)
    return RespirationEstimate(60.0 * breaths_hz, True, REASON_OK, phase_volume)
