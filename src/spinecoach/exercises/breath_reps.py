"""A breath-led technique's reps (cat-cow): from the pacer's cycles or, without a pacer,
from the movement; and the timing record every rep is built from.

A breath-led rep has no hold: its ``hold_s``, ``hold_start_s`` and ``hold_end_s`` are NaN
(stored as null, so the history shows no hold for it; earlier versions stored 0).

Split from :mod:`spinecoach.exercises.engine` (its size limit). Each builder returns the
rep's :class:`RepTiming` and measures (deg, s, ratios; ``cat_deg`` and ``cow_deg`` are the
ends of the cycle on the gauge's value around neutral, :mod:`spinecoach.exercises.gauge`),
or the reason the cycle is not a rep.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from spinecoach.exercises.breath import PacerTrack, in_phase_share
from spinecoach.exercises.catcow import PacedCycle, fit_cycle, jerk_ratio
from spinecoach.exercises.detect import HoldRep
from spinecoach.exercises.model import Rep

#: A breath cycle with less lumbar swing than this (deg) had no movement.
MIN_CYCLE_SWING_DEG: Final = 2.0
#: Frame spacing (s) the breath-locked cycle fit works at (see :func:`paced_rep`).
FIT_FRAME_SPACING_S: Final = 0.02


@dataclass(frozen=True)
class RepTiming:
    """When and how far one rep went (s, deg of the main signal)."""

    start_s: float
    peak_s: float
    end_s: float
    range_deg: float
    hold_s: float
    hold_start_s: float
    hold_end_s: float
    move_s: float
    return_s: float
    extension_hold_s: float
    extension_range_deg: float


def pacer_cycles(pacer: PacerTrack | None) -> list[tuple[float, float, float]]:
    """(inhale start, exhale start, end) of each logged inhale followed by its exhale."""
    if pacer is None:
        return []
    phases = pacer.phases
    return [
        (a[1], b[1], b[2])
        for a, b in itertools.pairwise(phases)
        if a[0] == "inhale" and b[0] == "exhale" and abs(a[2] - b[1]) < 1e-6
    ]


def movement_cycle_rep(cycle: HoldRep) -> tuple[RepTiming, dict[str, float]]:
    """A cat excursion with its cow half, counted without a pacer: the swing is the
    cat's flexion plus the cow's extension; the breath phase cannot be judged."""
    t, x = cycle.frames.time_s, cycle.frames.main_deg
    cow = cycle.opposite.peak_deg if cycle.opposite is not None else 0.0
    swing = cycle.main.peak_deg + max(0.0, cow)
    around_neutral = x + cycle.frames.baseline_deg  # the gauge's value
    measures = {
        "range_deg": swing,
        "jerk_ratio": jerk_ratio(t, x),
        "tempo_s": float(t[-1] - t[0]),
        "lag_s": math.nan,
        "in_phase_share": math.nan,
        "cat_deg": float(around_neutral.max()),
        "cow_deg": float(around_neutral.min()),
    }
    ex = cycle.main
    nan = float("nan")
    timing = RepTiming(
        cycle.start_s, ex.peak_s, cycle.end_s, swing, nan, nan, nan,
        ex.move_s, ex.return_s, nan, nan,
    )  # fmt: skip
    return timing, measures


def paced_rep(cycle: PacedCycle, pacer: PacerTrack) -> tuple[RepTiming, dict[str, float]] | str:
    """A pacer cycle → a rep when the person moved with it, else why not."""
    t, x = cycle.frames.time_s, cycle.frames.main_deg
    # The fit runs on frames about 50 Hz apart: a breath-led movement has nothing
    # faster, the fit's lags are in continuous time, and it halves the work at 100 Hz
    # (on simulated sessions the lags are the same, turning points within 0.003°).
    stride = max(1, round(FIT_FRAME_SPACING_S / float(np.median(np.diff(t))))) if t.size > 1 else 1
    fit = fit_cycle(
        t[::stride], x[::stride], cycle.inhale_start_s, cycle.exhale_start_s, cycle.end_s
    )
    if fit is None:
        return "no data for this breath"
    lag = fit.lag_s
    inside = (t >= cycle.inhale_start_s + lag) & (t <= cycle.end_s + lag)
    ti, xi = t[inside], x[inside]
    # How much of the cycle the spine moved with the breath (its own, unshifted time):
    # in_phase_share looks at the pacer cycle in the middle of the frames it is given.
    volume = pacer.volume(t)
    known = np.isfinite(volume)
    in_phase = math.nan
    if np.count_nonzero(known) >= 50:
        in_phase = in_phase_share(t[known], x[known], volume[known], expected_sign=-1.0)
    swing = abs(fit.cat_deg - fit.cow_deg)
    if swing < MIN_CYCLE_SWING_DEG:
        return "no movement with this breath"
    measures = {
        "range_deg": swing,
        "jerk_ratio": jerk_ratio(ti, xi),
        "tempo_s": float(ti[-1] - ti[0]),
        "lag_s": math.inf if fit.inverted else lag,
        "in_phase_share": in_phase,
        # The ends around neutral, on the gauge's value (the frames as shown): the cow
        # of this inhale, the cat of this exhale (the cycle begins at the last one's cat).
        "cow_deg": float(xi.min()),
        "cat_deg": float(xi[int(np.argmin(xi)) :].max()),
    }
    i_cat, i_cow = int(np.argmax(xi)), int(np.argmin(xi))
    nan = float("nan")
    timing = RepTiming(
        float(ti[0]), float(ti[i_cat]), float(ti[-1]), swing, nan, nan, nan,
        abs(float(ti[i_cat] - ti[i_cow])), nan, nan, nan,
    )  # fmt: skip
    return timing, measures


def breath_summary(reps: Sequence[Rep]) -> dict[str, float | None]:
    """A breath-led session's breath sync: the median ``in_phase_share`` (0–1) and the
    median ``lag_s`` (s; an inverted cycle counts as late) over its reps; None where no
    rep was judged (a recording without the pacer's log)."""

    def median(name: str) -> float | None:
        values = [r.measures.get(name, math.nan) for r in reps]
        values = [v for v in values if not math.isnan(v)]
        if not values:
            return None
        value = float(np.median(values))
        return round(value, 3) if math.isfinite(value) else None

    return {"in_phase_share": median("in_phase_share"), "lag_s": median("lag_s")}


__all__ = [
    "FIT_FRAME_SPACING_S",
    "MIN_CYCLE_SWING_DEG",
    "RepTiming",
    "breath_summary",
    "movement_cycle_rep",
    "paced_rep",
    "pacer_cycles",
]
