"""How well the exercise engine did on a simulated session: reps, holds, faults, set-up.

:func:`validate_exercise` compares an :class:`~spinecoach.exercises.model.ExerciseResult`
with the simulator's ground truth (``recording.truth.events``); :func:`aggregate` pools
many sessions into the figures the issue's targets are about.

Matching. True reps are the truth events of kind ``rep`` labelled with the technique.
Every (true, detected) pair whose time spans overlap is a candidate; pairs are taken
greedily by largest overlap (s), each true and each detected rep at most once. Whatever
is left is an unmatched true rep (a missed rep) or an unmatched detected rep (a false
rep).

Holds. For a matched pair, the hold error (s) is the detected ``hold_s`` minus the
duration of the first truth ``hold`` event inside the true rep; for a second hold event
(flexion-extension's extension hold) also ``extension_hold_s`` minus its duration. Only
pairs where both numbers are finite count.

Faults. A truth ``fault`` event belongs to the true rep it overlaps most (the simulator
writes it over the rep's whole span; a fault event that overlaps no true rep is not
about a rep and is ignored). On a matched pair the true and detected fault names are
compared as sets (per name: in both → true positive, detected only → false positive,
true only → false negative); every fault of an unmatched detected rep is a false
positive and every fault of an unmatched true rep a false negative. Precision and recall
are None when undefined (nothing detected, nothing to find).

Set-up. ``setup_false_reps`` counts detected reps that overlap any truth ``setup`` event
(getting into or out of the start position is never a rep).

Distractors. ``distractor_false_reps`` counts detected reps whose peak lies inside a
truth ``distractor`` event (a lateral bend or an axial rotation of a protocol-free
session): the rep is that other movement. It is kept out of ``as_dict`` (whose keys the
CLI's JSON promises) and pooled by :func:`aggregate`.

>>> from spinecoach.exercises import detect_exercise
>>> from spinecoach.motion import motion_process
>>> from spinecoach.sim import simulate
>>> rec = simulate("hip-hinge", seed=2, reps=3, sets=1)
>>> frames, _ = motion_process(rec)
>>> v = validate_exercise(rec, detect_exercise(frames, "hip-hinge", annotations=rec.events))
>>> v.reps_true, len(v.matches), v.setup_false_reps
(3, 3, 0)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spinecoach.conventions import (
    ANGLE_COLUMNS,
    AXIAL_ROTATION,
    EVENT_DISTRACTOR,
    EVENT_FAULT,
    EVENT_HOLD,
    EVENT_REP,
    EVENT_SETUP,
    LATERAL_BEND,
    LOWER,
    LOWER_INCLINATION,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    TRUNK_INCLINATION,
    UPPER,
    UPPER_INCLINATION,
)
from spinecoach.errors import ConfigurationError
from spinecoach.exercises.model import ExerciseResult, Rep
from spinecoach.motion.process import AngleFrames
from spinecoach.recording import Event, GroundTruth, Recording

#: Slack (s) when deciding whether a truth hold lies inside a true rep (float rounding).
_INSIDE_TOLERANCE_S = 1e-6


@dataclass(frozen=True)
class FaultScore:
    """Counts of one fault name: true positives, false positives, false negatives."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        """Share of detected faults that were real; None when nothing was detected."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        """Share of real faults that were detected; None when there was nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def __add__(self, other: FaultScore) -> FaultScore:
        return FaultScore(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": _round(self.precision, 4),
            "recall": _round(self.recall, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass(frozen=True)
class RepMatch:
    """A true rep (index into the truth's reps, in time order) matched to a detected rep
    (index into ``result.reps``), with their overlap (s)."""

    true_index: int
    detected_index: int
    overlap_s: float


@dataclass(frozen=True)
class ExerciseValidation:
    """The engine's result on one session against the truth (see the module docstring).

    ``hold_errors_s`` are signed (detected − true, s), one per compared hold;
    ``faults`` maps every fault name of the technique (and any other name seen in the
    truth or the result) to its counts.
    """

    technique: str
    reps_true: int
    reps_detected: int
    matches: tuple[RepMatch, ...]
    hold_errors_s: tuple[float, ...]
    faults: Mapping[str, FaultScore]
    setup_false_reps: int
    distractor_false_reps: int = 0

    @property
    def exact_count(self) -> bool:
        return self.reps_true == self.reps_detected

    def as_dict(self) -> dict[str, Any]:
        """``{"reps": {"true", "detected", "matched"}, "hold_error_s": {"median", "max",
        "n"}, "faults": {name: {"precision", "recall", "tp", "fp", "fn"}},
        "setup_false_reps", "technique"}``; hold errors are absolute, in seconds, None
        when no hold was compared."""
        return {
            "technique": self.technique,
            "reps": {
                "true": self.reps_true,
                "detected": self.reps_detected,
                "matched": len(self.matches),
            },
            "hold_error_s": hold_error_summary(self.hold_errors_s),
            "faults": {name: score.as_dict() for name, score in self.faults.items()},
            "setup_false_reps": self.setup_false_reps,
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _overlap_s(a_start: float, a_end: float, b_start: float, b_end: float) -> float:
    return min(a_end, b_end) - max(a_start, b_start)


def hold_error_summary(errors_s: Sequence[float]) -> dict[str, Any]:
    """Median and max of the absolute hold errors (s) and how many; None when empty.

    >>> hold_error_summary([0.1, -0.3, 0.2])
    {'median': 0.2, 'max': 0.3, 'n': 3}
    >>> hold_error_summary([])
    {'median': None, 'max': None, 'n': 0}
    """
    if not errors_s:
        return {"median": None, "max": None, "n": 0}
    absolute = np.abs(np.asarray(errors_s, dtype=np.float64))
    return {
        "median": round(float(np.median(absolute)), 3),
        "max": round(float(absolute.max()), 3),
        "n": len(errors_s),
    }


def match_reps(true_reps: Sequence[Event], detected: Sequence[Rep]) -> tuple[RepMatch, ...]:
    """One-to-one matches by largest time overlap (greedy), sorted by true rep.

    >>> from spinecoach.recording import Event
    >>> from spinecoach.exercises.model import Rep
    >>> truth = [Event("rep", 0.0, 4.0), Event("rep", 5.0, 9.0)]
    >>> found = [Rep("x", 1, 1, 3.0, 4.0, 6.0, 5.0, 1.0, 3.5, 4.5, 1.0, 1.0)]
    >>> [(m.true_index, m.detected_index, m.overlap_s) for m in match_reps(truth, found)]
    [(0, 0, 1.0)]
    """
    candidates = [
        (overlap, i, j)
        for i, t in enumerate(true_reps)
        for j, d in enumerate(detected)
        if (overlap := _overlap_s(t.start_s, t.end_s, d.start_s, d.end_s)) > 0.0
    ]
    # Largest overlap first; ties go to the earlier true rep, then the earlier detection.
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    used_true: set[int] = set()
    used_detected: set[int] = set()
    matches: list[RepMatch] = []
    for overlap, i, j in candidates:
        if i in used_true or j in used_detected:
            continue
        used_true.add(i)
        used_detected.add(j)
        matches.append(RepMatch(i, j, overlap))
    return tuple(sorted(matches, key=lambda m: m.true_index))


def _truth(recording: Recording) -> GroundTruth:
    if recording.truth is None:
        raise ConfigurationError(
            "this recording has no ground truth; exercise validation needs a simulated "
            "recording (make one with `spinecoach simulate TECHNIQUE --out FILE`)"
        )
    return recording.truth


def _truth_events(recording: Recording) -> tuple[Event, ...]:
    return _truth(recording).events


def _true_faults(true_reps: Sequence[Event], faults: Iterable[Event]) -> list[set[str]]:
    """The fault names of each true rep: a fault event goes to the rep it overlaps most."""
    names: list[set[str]] = [set() for _ in true_reps]
    for fault in faults:
        best, best_overlap = -1, 0.0
        for i, rep in enumerate(true_reps):
            overlap = _overlap_s(rep.start_s, rep.end_s, fault.start_s, fault.end_s)
            if overlap > best_overlap:
                best, best_overlap = i, overlap
        if best >= 0:
            names[best].add(fault.label)
    return names


def _hold_errors(true_rep: Event, holds: Sequence[Event], rep: Rep) -> list[float]:
    inside = [
        h
        for h in holds
        if h.start_s >= true_rep.start_s - _INSIDE_TOLERANCE_S
        and h.end_s <= true_rep.end_s + _INSIDE_TOLERANCE_S
    ]
    errors: list[float] = []
    for detected_s, hold in zip((rep.hold_s, rep.extension_hold_s), inside[:2], strict=False):
        true_s = hold.end_s - hold.start_s
        if np.isfinite(detected_s) and np.isfinite(true_s):
            errors.append(float(detected_s - true_s))
    return errors


def _fault_names(technique: str) -> tuple[str, ...]:
    # The simulator's catalogue of injectable faults is the reference list of names.
    from spinecoach.exercises.vocabulary import TECHNIQUE_FAULTS

    return tuple(TECHNIQUE_FAULTS.get(technique, {}))


def validate_exercise(recording: Recording, result: ExerciseResult) -> ExerciseValidation:
    """Compare the engine's ``result`` with the ground truth of a simulated ``recording``.

    Raises :class:`~spinecoach.errors.ConfigurationError` when the recording has no
    ground truth (only simulated recordings carry it). Times in seconds.
    """
    events = _truth_events(recording)
    technique = result.technique
    by_time = sorted(events, key=lambda e: (e.start_s, e.end_s))
    true_reps = [e for e in by_time if e.kind == EVENT_REP and e.label == technique]
    holds = [e for e in by_time if e.kind == EVENT_HOLD]
    setups = [e for e in by_time if e.kind == EVENT_SETUP]
    detected = list(result.reps)

    matches = match_reps(true_reps, detected)
    true_faults = _true_faults(true_reps, (e for e in by_time if e.kind == EVENT_FAULT))
    detected_faults = [set(rep.fault_names) for rep in detected]

    names = list(_fault_names(technique))
    for seen in (*true_faults, *detected_faults):
        names += sorted(n for n in seen if n not in names)
    tp = dict.fromkeys(names, 0)
    fp = dict.fromkeys(names, 0)
    fn = dict.fromkeys(names, 0)

    hold_errors: list[float] = []
    for m in matches:
        hold_errors += _hold_errors(true_reps[m.true_index], holds, detected[m.detected_index])
        truth_names, found_names = true_faults[m.true_index], detected_faults[m.detected_index]
        for name in truth_names & found_names:
            tp[name] += 1
        for name in found_names - truth_names:
            fp[name] += 1
        for name in truth_names - found_names:
            fn[name] += 1
    matched_true = {m.true_index for m in matches}
    matched_detected = {m.detected_index for m in matches}
    for j, found_names in enumerate(detected_faults):
        if j not in matched_detected:
            for name in found_names:
                fp[name] += 1
    for i, truth_names in enumerate(true_faults):
        if i not in matched_true:
            for name in truth_names:
                fn[name] += 1

    setup_false = sum(
        any(_overlap_s(s.start_s, s.end_s, rep.start_s, rep.end_s) > 0.0 for s in setups)
        for rep in detected
    )
    distractors = [e for e in by_time if e.kind == EVENT_DISTRACTOR]
    distractor_false = sum(
        any(d.start_s <= rep.peak_s <= d.end_s for d in distractors) for rep in detected
    )
    return ExerciseValidation(
        technique=technique,
        reps_true=len(true_reps),
        reps_detected=len(detected),
        matches=matches,
        hold_errors_s=tuple(hold_errors),
        faults={n: FaultScore(tp[n], fp[n], fn[n]) for n in names},
        setup_false_reps=int(setup_false),
        distractor_false_reps=int(distractor_false),
    )


def truth_frames(recording: Recording) -> AngleFrames:
    """The simulator's true clinical angles (deg) as angle frames, on the truth's grid:
    the exercise engine alone, without the motion core's errors (a placement the
    recording does not carry has NaN angles, as the motion core would give).

    >>> from spinecoach.sim import simulate
    >>> frames = truth_frames(simulate("hip-hinge", seed=2, reps=2, sets=1))
    >>> sorted(frames.angles) == sorted(ANGLE_COLUMNS)
    True
    """
    truth = _truth(recording)
    time_s = np.asarray(truth.time_s, dtype=np.float64)
    nan = np.full(time_s.shape, np.nan)
    angles = {
        name: np.asarray(truth.series[name], dtype=np.float64) if name in truth.series else nan
        for name in ANGLE_COLUMNS
    }
    placements = set(recording.sensors)
    if UPPER not in placements:
        for name in (LUMBAR_FLEXION, TRUNK_INCLINATION, UPPER_INCLINATION, LATERAL_BEND):
            angles[name] = nan
        angles[AXIAL_ROTATION] = nan
    if LOWER not in placements:
        for name in (LUMBAR_FLEXION, PELVIC_TILT_DEG, LOWER_INCLINATION, LATERAL_BEND):
            angles[name] = nan
        angles[AXIAL_ROTATION] = nan
    rate = 1.0 / float(np.median(np.diff(time_s))) if time_s.size > 1 else 100.0
    return AngleFrames(time_s, angles, np.zeros(time_s.shape, dtype=np.uint8), rate)


def aggregate(validations: Iterable[ExerciseValidation]) -> dict[str, Any]:
    """Pool many sessions: ``{"sessions", "exact_count_share", "reps": {"true",
    "detected"}, "hold_error_s": {"median", "max", "n"}, "faults": {name: {...}},
    "setup_false_reps", "distractor_false_reps"}``.

    The exact-count share is the fraction (0–1) of sessions whose detected rep count
    equals the true one (None for no sessions); hold errors are pooled over every
    compared hold; fault counts are summed per name before precision and recall.

    >>> v = ExerciseValidation("x", 3, 3, (), (0.1, -0.5), {"a": FaultScore(1, 0, 1)}, 0)
    >>> w = ExerciseValidation("x", 2, 3, (), (0.2,), {"a": FaultScore(1, 1, 0)}, 1)
    >>> pooled = aggregate([v, w])
    >>> pooled["exact_count_share"], pooled["hold_error_s"], pooled["setup_false_reps"]
    (0.5, {'median': 0.2, 'max': 0.5, 'n': 3}, 1)
    >>> pooled["faults"]["a"]
    {'precision': 0.6667, 'recall': 0.6667, 'tp': 2, 'fp': 1, 'fn': 1}
    """
    items = list(validations)
    faults: dict[str, FaultScore] = {}
    errors: list[float] = []
    for v in items:
        errors += v.hold_errors_s
        for name, score in v.faults.items():
            faults[name] = faults.get(name, FaultScore()) + score
    return {
        "sessions": len(items),
        "exact_count_share": (
            round(sum(v.exact_count for v in items) / len(items), 4) if items else None
        ),
        "reps": {
            "true": sum(v.reps_true for v in items),
            "detected": sum(v.reps_detected for v in items),
        },
        "hold_error_s": hold_error_summary(errors),
        "faults": {name: score.as_dict() for name, score in faults.items()},
        "setup_false_reps": sum(v.setup_false_reps for v in items),
        "distractor_false_reps": sum(v.distractor_false_reps for v in items),
    }
