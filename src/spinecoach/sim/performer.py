"""The simulated performer: seeded per-rep draws (:class:`Performer`) and the moves every
session shares — the truth events of a rep and a hold, the standing functional
calibration and the setup into and out of a position.

Each draw takes the next numbers of the performer's random stream, so the order of the
calls is part of a session's definition: the same seed and calls give a bit-identical
session.

>>> p = Performer(np.random.default_rng(0), PerformerProfile(variability=0.0))
>>> p.duration(2.0), p.vary()
(2.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import numpy as np

from spinecoach.conventions import (
    CAT_COW,
    CAT_COW_SEATED,
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_FAULT,
    EVENT_HOLD,
    EVENT_REP,
    EVENT_SETUP,
    FLEXION_EXTENSION,
    HIP_HINGE,
    LUMBAR_FLEXION,
    PELVIC_TILT,
    PELVIC_TILT_DEG,
)
from spinecoach.exercises.vocabulary import TECHNIQUE_FAULTS
from spinecoach.sim.poses import Pose
from spinecoach.sim.profiles import PerformerProfile
from spinecoach.sim.timeline import Measure, Timeline

_MAIN_SIGNAL: Final[Mapping[str, tuple[str, Measure]]] = MappingProxyType(
    {
        PELVIC_TILT: (PELVIC_TILT_DEG, "peak"),
        CAT_COW: (LUMBAR_FLEXION, "swing"),
        CAT_COW_SEATED: (LUMBAR_FLEXION, "swing"),
        HIP_HINGE: (PELVIC_TILT_DEG, "peak"),
        FLEXION_EXTENSION: (LUMBAR_FLEXION, "peak"),
    }
)


class Performer:
    """Seeded per-rep draws for one performer profile (ranges, durations, faults).

    >>> p = Performer(np.random.default_rng(0), PerformerProfile(variability=0.0))
    >>> p.duration(2.0), p.vary()
    (2.0, 1.0)
    """

    def __init__(self, rng: np.random.Generator, profile: PerformerProfile) -> None:
        self.rng = rng
        self.profile = profile
        self.clean = False  # the calibration rep: no faults, a full hold
        #: Prescribed holds × this (a dose's hold ÷ the catalogue's; 1.0 keeps every
        #: draw and duration bit-identical).
        self.hold_scale = 1.0

    def uniform(self, low: float, high: float) -> float:
        return float(self.rng.uniform(low, high))

    def vary(self) -> float:
        """Range factor: the profile's range scale times 1 ± variability."""
        v = self.profile.variability
        return self.profile.range_scale * (1.0 + self.uniform(-v, v))

    def duration(self, nominal_s: float) -> float:
        """A duration (s): nominal × tempo × (1 ± 1.5·variability)."""
        v = 1.5 * self.profile.variability
        return nominal_s * self.profile.tempo_scale * (1.0 + self.uniform(-v, v))

    def pause(self, tl: Timeline, nominal_s: float) -> None:
        """A still pause between reps or rep phases: :meth:`duration` × the profile's
        ``rep_pause_scale`` (the same draw either way; no pause at all when it is 0)."""
        seconds = self.duration(nominal_s) * self.profile.rep_pause_scale
        if seconds > 0.0:
            tl.hold(seconds)

    def hold(self, prescribed_s: float) -> tuple[float, bool]:
        """(hold duration s, held fully?) for a prescribed hold (× :attr:`hold_scale`)."""
        prescribed_s = prescribed_s * self.hold_scale
        if self.rng.random() < self.profile.hold_adherence or self.clean:
            return max(1.02 * prescribed_s, self.duration(1.06 * prescribed_s)), True
        return self.uniform(0.25, 0.7) * prescribed_s, False

    def wobble(self) -> dict[str, float]:
        """Small lateral and axial deviations (deg) of one rep's target."""
        return {
            "pelvis_lateral_deg": self.uniform(-1.0, 1.0),
            "pelvis_axial_deg": self.uniform(-1.0, 1.0),
            "lumbar_lateral_deg": self.uniform(-1.5, 1.5),
            "lumbar_axial_deg": self.uniform(-1.5, 1.5),
        }

    def fault(self, technique: str, *, exclude: tuple[str, ...] = ("short-hold",)) -> str:
        """A compensation fault name with the profile's probability, else ``""``."""
        names = [f for f in TECHNIQUE_FAULTS[technique] if f not in exclude]
        if self.rng.random() >= self.profile.compensation_tendency or self.clean:
            return ""
        return names[int(self.rng.integers(len(names)))]


def record_rep(
    tl: Timeline, technique: str, start_s: float, faults: tuple[str, ...] | list[str]
) -> None:
    tl.event(EVENT_REP, start_s, tl.now, label=technique, measure=_MAIN_SIGNAL[technique])
    for name in faults:
        if name:
            tl.event(EVENT_FAULT, start_s, tl.now, label=name)


def timed_hold(tl: Timeline, seconds: float, label: str) -> None:
    start = tl.now
    tl.hold(seconds)
    tl.event(EVENT_HOLD, start, tl.now, label=label)


# Functional calibration: three slow forward bends standing, before getting into the
# start position (the flexion axis is anatomical, so it carries over to any position), as
# stages of (change from neutral, nominal seconds); {} stays put, None returns to neutral.
_CalibrationStage = tuple[dict[str, float] | None, float]
_FUNCTIONAL_BEND: Final[tuple[_CalibrationStage, ...]] = (
    ({"pelvis_deg": 15.0, "lumbar_deg": 30.0, "thoracic_deg": 9.0}, 2.0),
    ({}, 0.5),
    (None, 2.0),
)


def functional_calibration(tl: Timeline, performer: Performer) -> None:
    """Three slow standing forward bends (≈ 4–5 s each, 1 s apart), annotated as one window."""
    neutral = tl.pose
    scale = float(np.clip(performer.profile.range_scale, 0.6, 1.2))
    start = tl.now
    for movement in range(3):
        if movement:
            tl.hold(1.0)
        target = neutral
        for change, seconds in _FUNCTIONAL_BEND:
            if change is None:
                target = neutral
            elif change:
                target = neutral.moved(**{k: v * scale for k, v in change.items()})
            tl.move(seconds * (1.0 + performer.uniform(-0.05, 0.05)), target)
    tl.event(EVENT_CALIBRATION_FUNCTIONAL, start, tl.now, annotate=True)


def setup_moves(
    tl: Timeline, performer: Performer, stages: tuple[tuple[Pose, float], ...], label: str
) -> None:
    """Move through ``stages`` (pose, nominal s) and mark them as one ``setup`` event."""
    start = tl.now
    for pose, seconds in stages:
        tl.move(performer.duration(seconds), pose)
    tl.event(EVENT_SETUP, start, tl.now, label=label)
