"""The exercise engine's front door: one technique, angle frames in, an
:class:`~spinecoach.exercises.model.ExerciseResult` out.

``ExerciseEngine(technique).update(time_s, angles)`` is the streaming form (returns the
reps completed by this frame); :func:`detect_exercise` feeds a whole
:class:`~spinecoach.motion.AngleFrames` through the same object, so batch and streaming
give the same events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from spinecoach.conventions import EVENT_CALIBRATION_REP
from spinecoach.errors import ConfigurationError
from spinecoach.exercises.catalogue import Catalogue, default_catalogue
from spinecoach.exercises.detect import SPECS, HoldRepDetector
from spinecoach.exercises.faults import judge, quality, rep_measures
from spinecoach.exercises.model import Discarded, ExerciseResult, Rep, SetSummary
from spinecoach.motion.process import AngleFrames
from spinecoach.recording import Event

#: A rest at least this long (s) between two reps starts a new set.
SET_BREAK_S = 12.0

#: The techniques the engine detects (grows as detectors land).
SUPPORTED: tuple[str, ...] = tuple(sorted(SPECS))

#: The fault names the engine can raise, per technique (all of the catalogue's for the
#: techniques it covers).
FAULTS_DETECTED: dict[str, tuple[str, ...]] = {
    "pelvic-tilt": (
        "short-hold",
        "return-too-fast",
        "small-tilt",
        "trunk-compensation",
        "bridging",
    ),
    "hip-hinge": ("lumbar-rounding", "shallow-hinge", "incomplete-return"),
    "flexion-extension": ("short-hold", "too-fast", "small-range"),
}


class ExerciseEngine:
    """Streaming detection of one technique's reps from angle frames."""

    def __init__(
        self,
        technique: str,
        *,
        catalogue: Catalogue | None = None,
        annotations: Sequence[Event] = (),
        personal_range_deg: float | None = None,
    ) -> None:
        if technique not in SUPPORTED:
            raise ConfigurationError(
                f"the exercise engine does not cover {technique!r} yet; it covers "
                + ", ".join(SUPPORTED)
            )
        self.technique = technique
        self.spec = (catalogue or default_catalogue()).technique(technique)
        self._detector = HoldRepDetector(technique)
        self.reps: list[Rep] = []
        self._calibration_windows = [
            (e.start_s, e.end_s) for e in annotations if e.kind == EVENT_CALIBRATION_REP
        ]
        #: The person's usual range (deg): from the history, else the calibration rep.
        self.personal_range_deg = personal_range_deg
        self.calibration_reps: list[float] = []

    def add_annotation(self, event: Event) -> None:
        """A calibration-rep window announced live by the coach."""
        if event.kind == EVENT_CALIBRATION_REP:
            self._calibration_windows.append((event.start_s, event.end_s))

    def _usual_ranges(self) -> list[float]:
        prior = [self.personal_range_deg] if self.personal_range_deg is not None else []
        return prior + self.calibration_reps + [r.range_deg for r in self.reps]

    def update(self, time_s: float, angles: Mapping[str, float]) -> list[Rep]:
        done = self._detector.update(time_s, angles)
        if done is None:
            return []
        set_index = 1
        if self.reps:
            previous = self.reps[-1]
            set_index = previous.set_index + (done.start_s - previous.end_s >= SET_BREAK_S)
        if any(a <= done.peak_s <= b for a, b in self._calibration_windows):
            self.calibration_reps.append(done.range_deg)
            if self.personal_range_deg is None:
                self.personal_range_deg = done.range_deg
            return []
        measures = rep_measures(
            self.spec, done.frames, done.main, done.opposite, self._usual_ranges()
        )
        faults = judge(self.spec, measures)
        score, reasons = quality(faults, measures)
        rep = Rep(
            technique=self.technique,
            index=len(self.reps) + 1,
            set_index=set_index,
            start_s=done.start_s,
            peak_s=done.peak_s,
            end_s=done.end_s,
            range_deg=done.range_deg,
            hold_s=done.hold_s,
            hold_start_s=done.hold_start_s,
            hold_end_s=done.hold_end_s,
            move_s=done.move_s,
            return_s=done.return_s,
            quality=score,
            reasons=reasons,
            faults=faults,
            measures=MappingProxyType(measures),
            extension_hold_s=done.opposite.hold_s if done.opposite else float("nan"),
            extension_range_deg=done.opposite.peak_deg if done.opposite else float("nan"),
        )
        self.reps.append(rep)
        return [rep]

    def result(self) -> ExerciseResult:
        sets: list[SetSummary] = []
        for rep in self.reps:
            if not sets or sets[-1].index != rep.set_index:
                sets.append(SetSummary(rep.set_index, rep.start_s, rep.end_s, 1))
            else:
                last = sets[-1]
                sets[-1] = SetSummary(last.index, last.start_s, rep.end_s, last.reps + 1)
        info: dict[str, Any] = {
            "technique": self.technique,
            "personal_range_deg": self.personal_range_deg,
            "calibration_reps": len(self.calibration_reps),
        }
        if self.personal_range_deg is not None:
            info["target_band_deg"] = list(self.spec.target.band(self.personal_range_deg))
        return ExerciseResult(
            technique=self.technique,
            reps=tuple(self.reps),
            sets=tuple(sets),
            cues=(),
            discarded=tuple(
                Discarded(a, b, why) for a, b, why in self._detector.segmenter.discarded
            ),
            info=info,
        )


def detect_exercise(
    frames: AngleFrames,
    technique: str,
    *,
    annotations: Sequence[Event] = (),
    catalogue: Catalogue | None = None,
    personal_range_deg: float | None = None,
) -> ExerciseResult:
    """All reps, sets and cues of ``technique`` in a recording's angle frames (batch).

    ``annotations`` are the recording's events (the calibration-rep window among them).
    """
    engine = ExerciseEngine(
        technique,
        catalogue=catalogue,
        annotations=annotations,
        personal_range_deg=personal_range_deg,
    )
    names = list(frames.angles)
    columns = [frames.angles[n].tolist() for n in names]
    for k, t in enumerate(frames.time_s.tolist()):
        engine.update(t, {n: columns[j][k] for j, n in enumerate(names)})
    return engine.result()
