"""The live session's frame and state fields of the gauge (issue 15 items 4 and 5):
the angles of a frame with the gauge's value and the measured hold, and the gauge's
signal, band, dose and measures of a state (``docs/live-protocol.md``).

Split from :mod:`spinecoach.coach.session` (its size limit); the values come from the
engine's :class:`~spinecoach.exercises.gauge.LiveSignal`, so the face shows the same
quantity the score uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from spinecoach.coach.events import FrameEvent, GaugeInfo, HoldStatus, Targets
from spinecoach.conventions import ANGLE_COLUMNS
from spinecoach.exercises.engine import ExerciseEngine
from spinecoach.exercises.gauge import HoldReading
from spinecoach.motion.flags import describe_flags


def rounded(value: float) -> float | None:
    """``value`` rounded to 0.001 (deg), None when not finite (sent as null)."""
    return round(value, 3) if math.isfinite(value) else None


def frame_event(
    time_s: float,
    angles: Mapping[str, float],
    flags: int,
    gauge_deg: float,
    hold: HoldReading | None,
) -> FrameEvent:
    """The frame at ``time_s`` (s): every angle column (deg), the flags in words, the
    gauge's value (deg) and the measured hold."""
    return FrameEvent(
        t=round(time_s, 4),
        angles={name: rounded(angles.get(name, math.nan)) for name in ANGLE_COLUMNS},
        flags=tuple(describe_flags(flags)),
        gauge_deg=rounded(gauge_deg),
        hold=None
        if hold is None
        else HoldStatus(inside=hold.inside, held_s=hold.held_s, target_s=hold.target_s),
    )


def gauge_state(engine: ExerciseEngine) -> tuple[GaugeInfo, Targets, tuple[str, ...]]:
    """The state's gauge (signal, label, bands), targets (the dose; ``hold_s`` None for
    a technique without holds) and measures (``hold``, ``breath``)."""
    signal = engine.signal
    bands = engine.gauge_bands()
    gauge = GaugeInfo(
        angle=signal.gauge.angle,
        label=signal.gauge.label,
        direction=signal.gauge.direction,
        band_deg=signal.working_band(bands),
        bands_deg=bands,
    )
    dose = engine.spec.dose
    targets = Targets(
        reps=dose.reps, sets=dose.sets, hold_s=dose.hold_s if signal.has_hold else None
    )
    measures = ("hold",) if signal.has_hold else ("breath",) if signal.breath_led else ()
    return gauge, targets, measures


__all__ = ["frame_event", "gauge_state", "rounded"]
