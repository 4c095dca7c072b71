"""One quantity per technique from the gauge to the score: the gauge signal, its target
band(s) and the measured hold (issue 15 items 4 and 5).

The gauge shows ``direction × angles[angle]`` (deg): the technique's main signal
(``Technique.main_signal``) around the person's calibrated neutral, positive in the
working direction (posterior pelvic tilt, hip hinge, lumbar flexion). The target band
is in the same units and sign, and the rep's score and hold are measured on the same
value, so the needle, the trace, the band and the score never disagree.

Design choices.

* Hold techniques (``dose.hold_s > 0``): one band, ``Technique.target.band(range)``, from
  the person's own range (the calibration rep, the history, or the session's reps).
* Breath-led cat-cow has no single end: the gauge swings from cow (extension, negative)
  to cat (flexion, positive) around neutral. Its bands are the two ends of the person's own
  swing: the catalogue's swing band (``target.band(swing)``) scaled to each end's share of
  the swing of the practice rep, e.g. a practice rep of +16° / −15° (swing 31°, band
  21.7–31°) gives a cat band of 11.2–16° and a cow band of −15 to −10.5°. A good rep
  reaches both; a rep of half the swing reaches neither. ``band_deg`` is the working
  direction's end (cat); ``bands_deg`` lists both, ascending.
* :class:`HoldMeter` measures a hold instead of timing it: a hold begins when the value is
  still (less than :data:`STILL_DEG` of change over :data:`STILL_WINDOW_S`) at or past the
  band's start during a rep; ``held_s`` is the time since, and restarts at 0 when the value
  leaves the band or the return begins (a fall of :data:`RETURN_DEG` over
  :data:`RETURN_WINDOW_S`). The return's test is finer than the start's because a return
  is slower than the movement in (pelvic tilt: about 2.5 s against 1.75 s): with the
  same test the slow start of the return counted as hold (+0.3 s on the simulated pelvic
  tilts); with these values the median hold error on the engine's gate sessions is
  0.15 s (pelvic tilt), 0.04 s (hip hinge) and 0.09 s (flexion-extension). "Inside" means
  at or past the band's start, as in the score: reaching further than one's own range is
  not a miss. The rep's hold is the largest ``held_s`` of its frames, so a hold left early
  is not counted as held.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from spinecoach.conventions import CAT_COW, CAT_COW_SEATED
from spinecoach.exercises.technique import Technique

#: Window (s) over which a hold's stillness, and the start of the return, are judged.
STILL_WINDOW_S: Final = 0.3
#: Most change (deg) of the gauge over :data:`STILL_WINDOW_S` that is still.
STILL_DEG: Final = 0.3
#: A fall of the gauge (deg) over :data:`RETURN_WINDOW_S` that starts the return.
RETURN_DEG: Final = 0.07
#: Window (s) over which the start of the return is judged.
RETURN_WINDOW_S: Final = 0.15

#: Plain words for each technique's gauge (the value is positive in the working direction).
GAUGE_LABELS: Final[Mapping[str, str]] = {
    "pelvic-tilt": "Pelvic tilt: low back pressed to the mat",
    "cat-cow": "Low back: round (+) and arch (−)",
    "cat-cow-seated": "Low back: round (+) and arch (−)",
    "hip-hinge": "Forward hinge at the hips",
    "flexion-extension": "Low back bending forward",
}

Band = tuple[float, float]


@dataclass(frozen=True)
class Gauge:
    """What the live gauge shows: ``direction × angles[angle]`` (deg), in plain words."""

    angle: str
    label: str
    direction: int

    def value(self, angles: Mapping[str, float]) -> float:
        """The gauge value (deg) of one frame of angles; NaN when the angle is missing."""
        return float(angles.get(self.angle, math.nan)) * self.direction


def gauge_for(spec: Technique) -> Gauge:
    """The gauge of technique ``spec``: its main signal in its working direction."""
    label = GAUGE_LABELS.get(spec.name, spec.main_signal.removesuffix("_deg").replace("_", " "))
    return Gauge(angle=spec.main_signal, label=label, direction=spec.direction)


def is_breath_led(technique: str) -> bool:
    return technique in (CAT_COW, CAT_COW_SEATED)


def end_bands(spec: Technique, flexion_deg: float, extension_deg: float) -> tuple[Band, Band]:
    """Breath-led technique: the (cow, cat) bands (deg, gauge sign) of a person whose
    own rep reached ``flexion_deg`` (cat, ≥ 0) and ``extension_deg`` (cow, ≥ 0, as a
    magnitude); see the module notes.

    >>> from spinecoach.exercises.catalogue import default_catalogue
    >>> cow, cat = end_bands(default_catalogue().technique("cat-cow"), 16.0, 15.0)
    >>> [round(v, 1) for v in cat], [round(v, 1) for v in cow]
    ([11.2, 16.0], [-15.0, -10.5])
    """
    flexion, extension = max(0.0, flexion_deg), max(0.0, extension_deg)
    swing = flexion + extension
    low, high = spec.target.band(swing)
    if swing <= 0.0:
        return (-0.5 * high, -0.5 * low), (0.5 * low, 0.5 * high)
    cat = (low * flexion / swing, high * flexion / swing)
    cow = (-high * extension / swing, -low * extension / swing)
    return cow, cat


def rounded_band(band: Band) -> Band:
    return (round(band[0], 2), round(band[1], 2))


@dataclass(frozen=True)
class HoldReading:
    """The hold now: the gauge is ``inside`` the band (at or past its start), held
    ``held_s`` (s, measured, restarting when it leaves) of ``target_s`` (s)."""

    inside: bool
    held_s: float
    target_s: float


class HoldMeter:
    """Measured hold of a hold technique, frame by frame (see the module notes)."""

    def __init__(self, target_s: float) -> None:
        self.target_s = target_s
        self._recent: deque[tuple[float, float]] = deque()
        self._back: deque[tuple[float, float]] = deque()  # the return's shorter window
        self._start_s: float | None = None
        self._inside = False
        self._best_s: float | None = None  # the rep's longest hold so far (None: no hold)
        #: The angle left the band this frame, in a rep whose hold began but never
        #: reached ``target_s`` (the coach says "back into the band").
        self.left_early = False

    @property
    def holding(self) -> bool:
        return self._start_s is not None

    def update(
        self, time_s: float, value_deg: float, band_start_deg: float | None, *, in_rep: bool
    ) -> HoldReading | None:
        """One frame: the gauge value (deg), where the band starts (None: no band yet)
        and whether a rep is in progress. None when no hold applies now."""
        self.left_early = False
        recent = self._recent
        recent.append((time_s, value_deg))
        while recent and recent[0][0] < time_s - STILL_WINDOW_S:
            recent.popleft()
        back_window = self._back
        back_window.append((time_s, value_deg))
        while back_window[0][0] < time_s - RETURN_WINDOW_S:
            back_window.popleft()
        if band_start_deg is None or not math.isfinite(value_deg):
            self._start_s = None
            return None
        inside = value_deg >= band_start_deg
        change = recent[-1][1] - recent[0][1] if len(recent) > 2 else math.nan
        best = self._best_s
        self.left_early = (
            self._inside and not inside and in_rep and best is not None and best < self.target_s
        )
        self._inside = inside
        if self._start_s is not None:
            returning = value_deg - back_window[0][1] < -RETURN_DEG
            if not inside or returning or not in_rep:
                self._start_s = None
        elif in_rep and inside and abs(change) < STILL_DEG:
            self._start_s = time_s
        if not in_rep:
            self._best_s = None
        if self._start_s is None and not in_rep:
            return None
        held_s = 0.0 if self._start_s is None else time_s - self._start_s
        self._best_s = held_s if best is None else max(best, held_s)
        return HoldReading(inside=inside, held_s=round(held_s, 2), target_s=self.target_s)


class LiveSignal:
    """The gauge of one technique while it runs: its value, bands and measured hold.

    The engine calls :meth:`update` with every frame (before it looks for reps, so a rep
    completed by a frame has all its frames metered) and :meth:`rep_hold` for each rep.
    """

    #: How long (s) the frames' measured holds are kept for the reps that end.
    KEEP_S: Final = 120.0

    def __init__(self, spec: Technique) -> None:
        self.spec = spec
        self.gauge = gauge_for(spec)
        self.breath_led = is_breath_led(spec.name)
        hold_s = spec.dose.hold_s
        self.meter = HoldMeter(hold_s) if hold_s > 0 and not self.breath_led else None
        #: Breath-led: the person's own (flexion, extension) ends (deg, ≥ 0) from the
        #: practice rep, else None (then the session's reps or half the range each).
        self.calibration_ends: tuple[float, float] | None = None
        self.value_deg = math.nan
        self.hold: HoldReading | None = None
        self._held: deque[tuple[float, float]] = deque()
        self._band_since_s: float | None = None

    @property
    def has_hold(self) -> bool:
        return self.meter is not None

    def bands(
        self, personal_range_deg: float | None, rep_ends: list[tuple[float, float]]
    ) -> tuple[Band, ...]:
        """Every target band (deg, gauge sign) ascending; empty before the person's range
        is known. ``rep_ends``: the session's reps' (flexion, extension) ends."""
        if self.breath_led:
            ends = self.calibration_ends
            if ends is None and rep_ends:
                flex = sorted(e[0] for e in rep_ends)
                ext = sorted(e[1] for e in rep_ends)
                ends = (_median(flex), _median(ext))
            if (
                ends is None
                and personal_range_deg is not None
                and math.isfinite(personal_range_deg)
            ):
                ends = (0.5 * personal_range_deg, 0.5 * personal_range_deg)
            if ends is None:
                return ()
            cow, cat = end_bands(self.spec, *ends)
            return (rounded_band(cow), rounded_band(cat))
        if personal_range_deg is None or not math.isfinite(personal_range_deg):
            return ()
        return (rounded_band(self.spec.target.band(personal_range_deg)),)

    def working_band(self, bands: tuple[Band, ...]) -> Band | None:
        """The band of the working direction (cat for cat-cow), None without bands."""
        return bands[-1] if bands else None

    def update(
        self,
        time_s: float,
        angles: Mapping[str, float],
        band: Band | None,
        *,
        in_rep: bool,
        value_deg: float | None = None,
    ) -> None:
        """One frame of angles; ``band``: the working band now (None: not known yet);
        ``value_deg``: the gauge's value of ``angles`` when already taken (a block's)."""
        self.value_deg = self.gauge.value(angles) if value_deg is None else value_deg
        if self.meter is None:
            return
        self.hold = self.meter.update(
            time_s, self.value_deg, None if band is None else band[0], in_rep=in_rep
        )
        held = self._held
        held.append((time_s, self.hold.held_s if self.hold is not None else 0.0))
        while held and held[0][0] < time_s - self.KEEP_S:
            held.popleft()

    def rep_hold(self, start_s: float, end_s: float) -> tuple[float, float, float] | None:
        """The largest measured hold of the frames from ``start_s`` to ``end_s`` (s), as
        (hold_s, hold_start_s, hold_end_s); None when no hold was metered (no band yet)."""
        if self.meter is None:
            return None
        best: tuple[float, float] | None = None
        metered = False
        # From the newest frame back (the rep just ended): the earliest largest hold.
        for t, held in reversed(self._held):
            if t < start_s - 1e-9:
                break
            if t <= end_s + 1e-9:
                metered = True
                if best is None or held >= best[1]:
                    best = (t, held)
        if not metered or best is None or not self._band_known_at(start_s):
            return None
        t, held = best
        return held, t - held, t

    def _band_known_at(self, start_s: float) -> bool:
        return self._band_since_s is not None and self._band_since_s <= start_s

    def band_known(self, time_s: float) -> None:
        """The band became known at ``time_s`` (reps that began before keep their
        excursion hold)."""
        if self._band_since_s is None:
            self._band_since_s = time_s


def _median(values: list[float]) -> float:
    n = len(values)
    mid = n // 2
    return values[mid] if n % 2 else 0.5 * (values[mid - 1] + values[mid])


__all__ = [
    "GAUGE_LABELS",
    "RETURN_DEG",
    "RETURN_WINDOW_S",
    "STILL_DEG",
    "STILL_WINDOW_S",
    "Gauge",
    "HoldMeter",
    "HoldReading",
    "LiveSignal",
    "end_bands",
    "gauge_for",
    "is_breath_led",
    "rounded_band",
]
