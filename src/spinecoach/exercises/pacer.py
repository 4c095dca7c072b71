"""The breath pacer: a fixed in/out rhythm, and the pacer as logged by the live coach.

:class:`BreathPacer` says where in the breath a time is and gives the expected lung
volume (a minimum-jerk rise and fall); :class:`PacerTrack` is the same read back from the
breath-phase events of a recording (:func:`pacer_from_events`). Durations in seconds.
Callers import these from :mod:`spinecoach.exercises.breath`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

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


def min_jerk(tau: FloatArray) -> FloatArray:
    """``10τ³ − 15τ⁴ + 6τ⁵`` on ``τ`` clipped to [0, 1]."""
    t = np.clip(tau, 0.0, 1.0)
    out: FloatArray = t**3 * (10.0 + t * (-15.0 + 6.0 * t))
    return out


def positive_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ConfigurationError(f"{name} must be a number of seconds, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number <= 0.0:
        raise ConfigurationError(
            f"{name} must be a positive, finite number of seconds, got {number:g}"
        )
    return number


def finite_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ConfigurationError(f"{name} must be a number of seconds, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigurationError(f"{name} must be a finite number of seconds, got {number:g}")
    return number


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
        object.__setattr__(self, "inhale_s", positive_seconds("inhale_s", self.inhale_s))
        object.__setattr__(self, "exhale_s", positive_seconds("exhale_s", self.exhale_s))
        object.__setattr__(self, "start_s", finite_seconds("start_s", self.start_s))

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
        t = finite_seconds("time_s", time_s)
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
        rising = min_jerk(into / self.inhale_s)
        falling = 1.0 - min_jerk((into - self.inhale_s) / self.exhale_s)
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
            start_s = finite_seconds(f"phases[{i}] start_s", start)
            end_s = finite_seconds(f"phases[{i}] end_s", end)
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
            shape = min_jerk((t[inside] - start) / (end - start))
            out[inside] = shape if name == INHALE else 1.0 - shape
        return out

    def covers(self, start_s: float, end_s: float) -> bool:
        """True when every time in ``[start_s, end_s]`` (s) lies within logged phases."""
        start = finite_seconds("start_s", start_s)
        end = finite_seconds("end_s", end_s)
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
