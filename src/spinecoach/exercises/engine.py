"""The exercise engine's front door: one technique, angle frames in, an
:class:`~spinecoach.exercises.model.ExerciseResult` out.

``ExerciseEngine(technique).update(time_s, angles)`` is the streaming form (returns the
reps completed by this frame); :func:`detect_exercise` feeds a whole
:class:`~spinecoach.motion.AngleFrames` through the same object, so batch and streaming
give the same events.

Recordings made without the coach (issue 13). Real files carry none of the coach's
annotations (:data:`COACH_EVENTS`: no practice rep, no breathing-pacer log; calibration
windows pasted in by hand do not count as the coach). Then

* the personal range comes from the session's own reps: each rep's time on target is
  judged against the median range of the reps before it, and the result reports that
  median with ``personal_range_source = "the session's reps"``;
* cat-cow is counted from the movement (one rep per cat excursion with its cow half, see
  :data:`~spinecoach.exercises.detect.CYCLE_SPECS`) instead of from the pacer's cycles;
  the breath phase is not judged (there is no breath reference). A recording *with* the
  coach's annotations but without its pacer log is still not scored (the log was lost;
  the engine says so rather than guess). ``breath_source`` chooses explicitly;
* a recording with only the sacrum sensor is read from the pelvic tilt (see
  :data:`~spinecoach.exercises.detect.LOWER_ONLY`); in a coached one a missing upper sensor
  is reported instead.

Start positions. A technique counts in every start position it allows
(``Technique.positions``: flexion-extension standing or seated); the position note names
them all when none was seen.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import (
    CAT_COW,
    CAT_COW_SEATED,
    EVENT_BREATH_EXHALE,
    EVENT_BREATH_INHALE,
    EVENT_CALIBRATION_REP,
    LOWER_INCLINATION,
    PELVIC_TILT_DEG,
    POSITION_NOMINAL_INCLINATION_DEG,
    TRUNK_INCLINATION,
    UPPER_INCLINATION,
)
from spinecoach.errors import ConfigurationError
from spinecoach.exercises.breath import (
    PacerTrack,
    estimate_respiration,
    pacer_from_events,
)
from spinecoach.exercises.breath_reps import (
    RepTiming,
    breath_summary,
    movement_cycle_rep,
    paced_rep,
    pacer_cycles,
)
from spinecoach.exercises.catalogue import Catalogue, default_catalogue
from spinecoach.exercises.catcow import (
    CycleSettings,
    PacedCycle,
    PacedCycleSegmenter,
)
from spinecoach.exercises.cues import CueScheduler
from spinecoach.exercises.detect import CYCLE_SPECS, SPECS, HoldRep, HoldRepDetector
from spinecoach.exercises.faults import band_miss_deg, hold_share, judge, quality, rep_measures
from spinecoach.exercises.gauge import Band, HoldReading, LiveSignal
from spinecoach.exercises.live_cues import LiveCueing
from spinecoach.exercises.model import Discarded, ExerciseResult, Rep, SetSummary
from spinecoach.exercises.position import classify_position
from spinecoach.motion.process import AngleFrames
from spinecoach.recording import Event

FloatArray = NDArray[np.float64]

#: A rest at least this long (s) between two reps starts a new set.
SET_BREAK_S = 12.0

#: Techniques whose reps are breath cycles rather than movements with a hold.
BREATH_LED: tuple[str, ...] = (CAT_COW, CAT_COW_SEATED)

#: The techniques the engine detects.
SUPPORTED: tuple[str, ...] = tuple(sorted((*SPECS, *BREATH_LED)))

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
    "cat-cow": ("breath-out-of-phase", "small-range", "jerky"),
    "cat-cow-seated": ("breath-out-of-phase", "small-range", "jerky"),
}


#: Annotations only the coach writes: its practice rep and its breathing pacer.
COACH_EVENTS: tuple[str, ...] = (EVENT_CALIBRATION_REP, EVENT_BREATH_INHALE, EVENT_BREATH_EXHALE)

#: Where a breath-led technique's reps come from: the pacer's log, the movement, or
#: ``auto`` (the pacer's log when the annotations hold one; the movement for a recording
#: made without the coach, i.e. without any of :data:`COACH_EVENTS`).
BREATH_SOURCES: tuple[str, ...] = ("auto", "pacer", "movement")


class ExerciseEngine:
    """Streaming detection of one technique's reps from angle frames."""

    def __init__(
        self,
        technique: str,
        *,
        catalogue: Catalogue | None = None,
        annotations: Sequence[Event] = (),
        personal_range_deg: float | None = None,
        calibrated_position: str | None = None,
        breath_source: str = "auto",
    ) -> None:
        if technique not in SUPPORTED:
            raise ConfigurationError(
                f"the exercise engine does not cover {technique!r} yet; it covers "
                + ", ".join(SUPPORTED)
            )
        if breath_source not in BREATH_SOURCES:
            raise ConfigurationError(
                f"breath_source must be one of {', '.join(BREATH_SOURCES)}, got {breath_source!r}"
            )
        self.breath_source = breath_source
        self.technique = technique
        self.spec = (catalogue or default_catalogue()).technique(technique)
        #: The gauge: its value, bands and measured hold (one quantity to the score).
        self.signal = LiveSignal(self.spec)
        self._bands_key: tuple[Any, ...] | None = None
        self._bands: tuple[Band, ...] = ()
        nominal = POSITION_NOMINAL_INCLINATION_DEG[self.spec.position]
        self._breath_led = technique in BREATH_LED
        self.position = "unknown"
        #: Where the angles' neutral was calibrated (the technique's position by default).
        self.calibrated_position = calibrated_position or self.spec.position
        self._position_s: dict[str, float] = {}
        self._last_time_s: float | None = None
        # The upper segment's inclination, for a respiration estimate (last 10 minutes).
        self._upper: deque[tuple[float, float]] = deque(maxlen=60_000)
        self._paced = PacedCycleSegmenter(CycleSettings(position_nominal_deg=nominal))
        self._pacer: PacerTrack | None = None
        self._pacer_cycles: list[tuple[float, float, float]] = []
        self._pacer_dirty = True
        self._discarded: list[tuple[float, float, str]] = []
        # Hold techniques: reps from movement; breath-led ones: from the pacer's cycles,
        # or from the movement when there is no pacer (see the module notes).
        self._detector = HoldRepDetector(technique) if technique in SPECS else None
        self._cycles = (
            HoldRepDetector(technique, spec=CYCLE_SPECS[technique])
            if technique in CYCLE_SPECS and breath_source != "pacer"
            else None
        )
        self._positions = self.spec.positions
        self._rep_position = self.spec.position
        self.cues = CueScheduler(self.spec)
        self._cueing = LiveCueing(self.spec, self.cues, breath_led=self._breath_led)
        self.reps: list[Rep] = []
        self._annotations: list[Event] = list(annotations)
        self._coach_seen = 0  # annotations looked at by _coached, and what they said
        self._is_coached = False
        self._calibration_windows = [
            (e.start_s, e.end_s) for e in annotations if e.kind == EVENT_CALIBRATION_REP
        ]
        self._calibration_done: set[int] = set()
        #: The person's usual range (deg): from the history, else the calibration rep.
        self.personal_range_deg = personal_range_deg
        self.calibration_reps: list[float] = []

    def add_annotation(self, event: Event) -> None:
        """An annotation announced live by the coach (calibration rep, pacer phases)."""
        self._annotations.append(event)
        self._pacer_dirty = True
        if event.kind == EVENT_CALIBRATION_REP:
            self._calibration_windows.append((event.start_s, event.end_s))

    def _track_position(self, time_s: float, angles: Mapping[str, float]) -> None:
        """Seconds spent in each position; a rep in progress counts as the position it
        started in (one of the technique's)."""
        dt = 0.0 if self._last_time_s is None else time_s - self._last_time_s
        self._last_time_s = time_s
        detector = self._detector or (self._cycles if self._movement_cycles else None)
        in_rep = detector is not None and detector.segmenter.in_rep
        if in_rep:
            position = self._rep_position
        else:
            trunk = angles[TRUNK_INCLINATION]
            if detector is not None and detector.mode == "lower":
                trunk = angles.get(LOWER_INCLINATION, math.nan)  # one sensor, on the sacrum
            position = classify_position(
                trunk, angles[PELVIC_TILT_DEG], calibrated=self.calibrated_position
            )
            self._rep_position = position if position in self._positions else self.spec.position
        self.position = position
        self._position_s[position] = self._position_s.get(position, 0.0) + dt

    def _respiration(self) -> dict[str, Any]:
        """Breathing from the upper sensor over the session, with whether it was usable."""
        data = np.array([v for v in self._upper if np.isfinite(v[1])])
        if data.shape[0] < 100:
            return {"usable": False, "rate_bpm": None, "reason": "too few calibrated frames"}
        rate = 1.0 / float(np.median(np.diff(data[:, 0])))
        estimate = estimate_respiration(data[:, 0], data[:, 1], sampling_rate_hz=rate)
        return {
            "usable": estimate.usable,
            "rate_bpm": round(estimate.rate_bpm, 1) if estimate.usable else None,
            "reason": estimate.reason,
        }

    @property
    def _coached(self) -> bool:
        """The recording was made with the coach: it logged a practice (calibration) rep
        or a breathing pacer. Calibration windows alone do not say so (they can be pasted
        in by hand or come from another tool)."""
        # Counted as annotations come (read every frame): the same as looking at them all.
        if self._coach_seen < len(self._annotations):
            self._is_coached = self._is_coached or any(
                e.kind in COACH_EVENTS for e in self._annotations[self._coach_seen :]
            )
            self._coach_seen = len(self._annotations)
        return self._is_coached

    @property
    def _movement_cycles(self) -> bool:
        """A breath-led technique counted from the movement (no pacer, no coach)."""
        if self._cycles is None or self._pacer is not None:
            return False
        return self.breath_source == "movement" or not self._coached

    def _personal_range(self) -> tuple[float | None, str | None]:
        """The personal range (deg) and where it came from: the history or the
        calibration rep, else the median of the session's reps so far."""
        if self.personal_range_deg is not None:
            source = "calibration rep" if self.calibration_reps else "given"
            return self.personal_range_deg, source
        if self._calibration_windows:
            return None, None  # the calibration rep is still to come
        if self.reps:
            return float(np.median([r.range_deg for r in self.reps])), "the session's reps"
        return None, None

    def _time_on_target(self, t: np.ndarray, x: np.ndarray) -> float:
        """Seconds of the rep spent in the personal target band or beyond it (going further
        than the calibration rep is not a miss); NaN without a personal range."""
        personal, _source = self._personal_range()
        if personal is None or t.shape[0] < 2:
            return math.nan
        low, _high = self.spec.target.band(personal)
        dt = np.diff(t, append=t[-1])
        return float(dt[x >= low].sum())

    def _usual_ranges(self) -> list[float]:
        prior = [self.personal_range_deg] if self.personal_range_deg is not None else []
        return prior + self.calibration_reps + [r.range_deg for r in self.reps]

    def update(self, time_s: float, angles: Mapping[str, float]) -> list[Rep]:
        """Feed one angle frame; returns the reps this frame completed (usually none).

        Cues said at this frame are appended to ``self.cues.cues``.
        """
        return self._step(time_s, angles, self.signal.gauge.value(angles))

    def update_block(
        self,
        time_s: FloatArray,
        angles: Mapping[str, FloatArray],
        after_frame: Callable[[float, Mapping[str, float], list[Rep]], None] | None = None,
    ) -> list[Rep]:
        """Feed a block of m angle frames: ``time_s`` (m,) s and ``angles`` by name, each
        (m,); returns the reps they completed. The same reps, cues and state, frame by
        frame, as m calls of :meth:`update`: the gauge's values are taken for the whole
        block at once, the rep state machine steps through the frames (scalar Python, no
        numpy per frame). ``after_frame(time_s, angles, reps)`` is called after each
        frame (a live session's messages of that frame).
        """
        names = list(angles)
        m = int(np.shape(time_s)[0])
        gauge = self.signal.gauge
        column = angles.get(gauge.angle)
        values = (
            [math.nan] * m
            if column is None
            else (np.asarray(column, dtype=np.float64) * gauge.direction).tolist()
        )
        rows = zip(*(np.asarray(angles[name]).tolist() for name in names), strict=True)
        times = np.asarray(time_s, dtype=np.float64).tolist()
        done: list[Rep] = []
        for t, row, value in zip(times, rows, values, strict=True):
            frame = dict(zip(names, row, strict=True))
            reps = self._step(t, frame, value)
            done += reps
            if after_frame is not None:
                after_frame(t, frame, reps)
        return done

    def _step(self, time_s: float, angles: Mapping[str, float], gauge_deg: float) -> list[Rep]:
        """One frame, with its gauge value (deg) already taken."""
        self._track_position(time_s, angles)
        band = self.signal.working_band(self.gauge_bands())
        if band is not None:
            self.signal.band_known(time_s)
        in_rep = self._detector is not None and self._detector.segmenter.in_rep
        self.signal.update(time_s, angles, band, in_rep=in_rep, value_deg=gauge_deg)
        reps = self._update(time_s, angles)
        self._live_cues(time_s, angles, reps)
        return reps

    def gauge_bands(self) -> tuple[Band, ...]:
        """The gauge's target bands now (deg, the gauge's sign, ascending; cat-cow: the
        cow and the cat end); empty until the person's range is known."""
        # Everything the personal range and the ends depend on (cheap to compare per frame).
        key = (
            self.personal_range_deg,
            len(self.reps),
            len(self._calibration_windows),
            self.signal.calibration_ends,
        )
        if key != self._bands_key:
            self._bands_key = key
            personal = self._personal_range()[0]
            ends = [
                (r.measures["cat_deg"], -r.measures["cow_deg"])
                for r in self.reps
                if math.isfinite(r.measures.get("cat_deg", math.nan))
                and math.isfinite(r.measures.get("cow_deg", math.nan))
            ]
            self._bands = self.signal.bands(personal, ends)
        return self._bands

    @property
    def hold_reading(self) -> HoldReading | None:
        """The measured hold at the last frame (None: no hold applies now)."""
        return self.signal.hold

    def _live_cues(self, time_s: float, angles: Mapping[str, float], reps: list[Rep]) -> None:
        pacer = self._pacer if self._breath_led else None
        meter = self.signal.meter
        self._cueing.after_frame(
            time_s,
            angles,
            reps,
            all_reps=self.reps,
            pacer=pacer,
            detector=self._detector,
            hold=self.signal.hold,
            left_band=meter is not None and meter.left_early,
        )

    def _update(self, time_s: float, angles: Mapping[str, float]) -> list[Rep]:
        if self._breath_led:
            main = angles[self.spec.main_signal] * self.spec.direction
            trunk = angles[TRUNK_INCLINATION]
            self._upper.append((time_s, angles[UPPER_INCLINATION]))
            if self._pacer_dirty:
                self._pacer = pacer_from_events(self._annotations)
                self._pacer_cycles = pacer_cycles(self._pacer)
                self._pacer_dirty = False
            if self._pacer is None:
                if self._movement_cycles and self._cycles is not None:
                    self._cycles.lower_only_allowed = not self._coached
                    moved = self._cycles.update(time_s, angles)
                    return [] if moved is None else self._movement_cycle_rep(moved)
                return []  # a coached cat-cow is scored against the pacer's log only
            reps: list[Rep] = []
            for cycle in self._paced.update(time_s, main, trunk, self._pacer_cycles):
                reps += self._paced_rep(cycle, self._pacer)
            return reps
        if self._detector is None:
            return []
        # One sensor is a mode for recordings made without the coach (see detect.py).
        self._detector.lower_only_allowed = not self._coached
        done = self._detector.update(time_s, angles)
        if done is None:
            return []
        return self._hold_rep(done)

    def finish(self) -> list[Rep]:
        """The data have ended (batch: after the last frame; live: when the session
        stops): a rep that had come back counts, one still out does not."""
        if self._detector is not None:
            done = self._detector.finish()
            return [] if done is None else self._hold_rep(done)
        if self._movement_cycles and self._cycles is not None:
            moved = self._cycles.finish()
            return [] if moved is None else self._movement_cycle_rep(moved)
        return []

    def _hold_rep(self, done: HoldRep) -> list[Rep]:
        """A detected hold-technique rep → measures, faults, quality."""
        measures = rep_measures(
            self.spec, done.frames, done.main, done.opposite, self._usual_ranges()
        )
        measures["target_hold_s"] = self._time_on_target(done.frames.time_s, done.frames.main_deg)
        ex = done.main
        hold = (ex.hold_s, ex.hold_start_s, ex.hold_end_s)
        measured = self.signal.rep_hold(done.start_s, done.end_s)
        if measured is not None:  # the hold the live gauge showed (see exercises.gauge)
            hold = measured
            measures["hold_s"] = measured[0]
            measures["hold_share"] = hold_share(self.spec, measured[0], done.opposite)
        timing = RepTiming(
            done.start_s,
            ex.peak_s,
            done.end_s,
            ex.peak_deg,
            *hold,
            ex.move_s,
            ex.return_s,
            done.opposite.hold_s if done.opposite else float("nan"),
            done.opposite.peak_deg if done.opposite else float("nan"),
        )
        return self._add(timing, measures)

    def _movement_cycle_rep(self, cycle: HoldRep) -> list[Rep]:
        """A cat excursion with its cow half, counted without a pacer."""
        return self._add(*movement_cycle_rep(cycle))

    def _paced_rep(self, cycle: PacedCycle, pacer: PacerTrack) -> list[Rep]:
        """A pacer cycle → a rep, when the person moved with it."""
        built = paced_rep(cycle, pacer)
        if isinstance(built, str):
            self._discarded.append((cycle.inhale_start_s, cycle.end_s, built))
            return []
        return self._add(*built)

    def _add(self, timing: RepTiming, measures: dict[str, float]) -> list[Rep]:
        for index, (a, b) in enumerate(self._calibration_windows):
            if a <= timing.peak_s <= b and index not in self._calibration_done:
                # The window's first rep is the practice rep; a coach leading a live
                # device announces the window before its end is known (a provisional end),
                # so later reps inside it are the sets'.
                self._calibration_done.add(index)
                self.calibration_reps.append(timing.range_deg)
                if self._breath_led and math.isfinite(measures.get("cat_deg", math.nan)):
                    self.signal.calibration_ends = (measures["cat_deg"], -measures["cow_deg"])
                if self.personal_range_deg is None:
                    self.personal_range_deg = timing.range_deg
                return []
        set_index = 1
        if self.reps:
            previous = self.reps[-1]
            set_index = previous.set_index + (timing.start_s - previous.end_s >= SET_BREAK_S)
        if self._breath_led:  # the score uses the gauge's bands (both ends)
            measures["band_miss_deg"] = band_miss_deg(self.gauge_bands(), measures)
        faults = judge(self.spec, measures)
        score, reasons = quality(faults, measures)
        rep = Rep(
            technique=self.technique,
            index=len(self.reps) + 1,
            set_index=set_index,
            start_s=timing.start_s,
            peak_s=timing.peak_s,
            end_s=timing.end_s,
            range_deg=timing.range_deg,
            hold_s=timing.hold_s,
            hold_start_s=timing.hold_start_s,
            hold_end_s=timing.hold_end_s,
            move_s=timing.move_s,
            return_s=timing.return_s,
            quality=score,
            reasons=reasons,
            faults=faults,
            measures=MappingProxyType(measures),
            extension_hold_s=timing.extension_hold_s,
            extension_range_deg=timing.extension_range_deg,
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
        personal, personal_source = self._personal_range()
        info: dict[str, Any] = {
            "technique": self.technique,
            "personal_range_deg": personal,
            "calibration_reps": len(self.calibration_reps),
        }
        if personal_source is not None:
            info["personal_range_source"] = personal_source
        info["position_s"] = {k: round(v, 1) for k, v in sorted(self._position_s.items())}
        if set(self._position_s) <= {"unknown"}:
            info["position_note"] = (
                "no trunk angle to recognise the position from: the upper sensor is "
                "missing or was never calibrated, so no rep can be counted"
            )
        elif sum(self._position_s.get(p, 0.0) for p in self._positions) < 5.0:
            where = " or ".join(self._positions)
            info["position_note"] = (
                f"the sensors never showed the {where} start position of "
                f"{self.technique}: {self.spec.start_position}"
            )
        detector = self._detector or (self._cycles if self._movement_cycles else None)
        if detector is not None and detector.mode == "lower":
            info["sensors_note"] = (
                "one sensor, on the sacrum: reps counted from the pelvic tilt and the "
                "position from the pelvis's inclination; no lumbar angle, side bend or twist "
                "to judge"
            )
        if self._breath_led:
            info["respiration_upper_sensor"] = self._respiration()
            if self._pacer is not None:
                info["breath_source"] = "the breathing pacer's log"
            elif self._movement_cycles:
                info["breath_source"] = (
                    "none: a recording made without the coach (no pacer log, no practice "
                    "rep), so each cycle was counted from the movement (a cat with its cow) "
                    "and its timing against the breath was not judged"
                )
            else:
                info["breath_source"] = (
                    "none: the recording has no breathing-pacer log, so cat-cow cycles "
                    "cannot be scored (the upper sensor's respiration signal is masked by "
                    "the movement itself)"
                )
        bands = self.gauge_bands()
        gauge = self.signal.gauge
        info["gauge"] = {
            "angle": gauge.angle,
            "label": gauge.label,
            "direction": gauge.direction,
            "band_deg": list(bands[-1]) if bands else None,
            "bands_deg": [list(b) for b in bands],
        }
        if bands:  # the gauge's band: the same quantity the score used
            info["target_band_deg"] = list(bands[-1])
        if self._breath_led:
            info["breath"] = breath_summary(self.reps)
        return ExerciseResult(
            technique=self.technique,
            reps=tuple(self.reps),
            sets=tuple(sets),
            cues=tuple(self.cues.cues),
            discarded=tuple(
                Discarded(a, b, why) for a, b, why in sorted(self._discarded + self._gone())
            ),
            info=info,
        )

    def _gone(self) -> list[tuple[float, float, str]]:
        """The detector's discarded movements."""
        if self._detector is not None:
            return self._detector.discarded
        gone = list(self._paced.discarded)
        if self._cycles is not None:
            gone += self._cycles.discarded
        return gone


def detect_exercise(
    frames: AngleFrames,
    technique: str,
    *,
    annotations: Sequence[Event] = (),
    catalogue: Catalogue | None = None,
    personal_range_deg: float | None = None,
    calibrated_position: str | None = None,
    breath_source: str = "auto",
) -> ExerciseResult:
    """All reps, sets and cues of ``technique`` in a recording's angle frames (batch).

    ``annotations`` are the recording's events (the calibration-rep window among them);
    ``breath_source`` is one of :data:`BREATH_SOURCES` (see the module notes).
    """
    engine = ExerciseEngine(
        technique,
        catalogue=catalogue,
        annotations=annotations,
        personal_range_deg=personal_range_deg,
        calibrated_position=calibrated_position,
        breath_source=breath_source,
    )
    engine.update_block(frames.time_s, frames.angles)
    engine.finish()
    return engine.result()
