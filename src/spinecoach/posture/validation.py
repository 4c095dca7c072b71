"""Posture analysis vs a simulated day's ground truth (``spinecoach validate posture``).

* ``posture_accuracy``: per minute, the majority coarse class detected (lying, sitting,
  standing, walking, bending; transition and unknown seconds do not vote) vs the truth's majority
  over the minute's seconds inside true activity bouts; minutes with under 30 such
  seconds (mostly transitions) are skipped. ``per_class_accuracy``: the same per true
  class (the share of the minutes of that class that are right);
  ``wrong_trusted_minutes``: minutes wrong although every second of them was trusted.
* ``bout_error_s``: for each true sitting bout (``sitting-bout`` truth events, else runs
  of sitting activity bouts joined across their transitions), the detected bout that
  overlaps it most; the error is the larger of the start and end differences. A true
  bout without any detected one counts its whole duration as the error.
* ``slouch_share_error_pp``: detected slouched share of sitting minus the truth's
  (sitting-slouched activity time / sitting time), in percentage points.

Against real reference walking bouts (``../shared/data/mobgap``: ``labels.csv`` from a
second, independent system): :func:`reference_walking_bouts` reads them and
:func:`walking_agreement` counts the seconds whose walking / not walking agrees.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Final

import numpy as np

from spinecoach.conventions import EVENT_ACTIVITY, EVENT_DESK_BREAK, EVENT_SITTING_BOUT
from spinecoach.errors import ConfigurationError
from spinecoach.posture.batch import PostureResult
from spinecoach.posture.model import COARSE_CLASS, POSTURE_CLASSES
from spinecoach.recording import GroundTruth

TRUTH_COARSE: Final[dict[str, str]] = {
    "standing": "standing",
    "walking": "walking",
    "sitting-upright": "sitting",
    "sitting-slouched": "sitting",
    "lying-supine": "lying",
    "bending": "bending",
}
VOTING: Final = ("lying", "sitting", "standing", "walking", "bending")
#: True sitting bouts separated by less than this (s) are one bout (a transition).
JOIN_S: Final = 8.0


def _truth_seconds(truth: GroundTruth, start_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-second truth coarse class ('' outside bouts) and slouched flags."""
    coarse = np.full(start_s.shape[0], "", dtype=object)
    slouched = np.zeros(start_s.shape[0], dtype=np.bool_)
    for event in truth.events:
        if event.kind != EVENT_ACTIVITY or event.label not in TRUTH_COARSE:
            continue
        inside = (start_s >= event.start_s - 0.5) & (start_s + 0.5 < event.end_s)
        coarse[inside] = TRUTH_COARSE[event.label]
        if event.label == "sitting-slouched":
            slouched[inside] = True
    return coarse, slouched


def truth_sitting_bouts(truth: GroundTruth) -> list[tuple[float, float]]:
    """The true sitting bouts (start_s, end_s)."""
    given = [(e.start_s, e.end_s) for e in truth.events if e.kind == EVENT_SITTING_BOUT]
    if given:
        return sorted(given)
    sits = sorted(
        (e.start_s, e.end_s)
        for e in truth.events
        if e.kind == EVENT_ACTIVITY and TRUTH_COARSE.get(e.label) == "sitting"
    )
    bouts: list[tuple[float, float]] = []
    for start, end in sits:
        if bouts and start - bouts[-1][1] < JOIN_S:
            bouts[-1] = (bouts[-1][0], end)
        else:
            bouts.append((start, end))
    return bouts


def validate_posture(result: PostureResult, truth: GroundTruth | None) -> dict[str, object]:
    """The three figures of the posture gates plus detail (see the module docstring)."""
    if truth is None:
        raise ConfigurationError(
            "posture validation needs a simulated day with ground truth "
            "(spinecoach.sim.day.simulate_day or simulate_activities)"
        )
    start_s = result.timeline.start_s
    coarse_truth, slouched_truth = _truth_seconds(truth, start_s)
    detected = np.array([COARSE_CLASS[POSTURE_CLASSES[int(c)]] for c in result.timeline.code])
    minute = np.floor(start_s / 60.0).astype(np.int64)
    agree = total = 0
    per_class: dict[str, list[int]] = {c: [0, 0] for c in VOTING}
    wrong_trusted = 0
    for m in np.unique(minute):
        sel = minute == m
        t_votes = {c: int(np.count_nonzero(coarse_truth[sel] == c)) for c in VOTING}
        if sum(t_votes.values()) < 30:
            continue
        d_votes = {c: int(np.count_nonzero(detected[sel] == c)) for c in VOTING}
        t_major = max(VOTING, key=lambda c: t_votes[c])
        d_major = max(VOTING, key=lambda c: d_votes[c]) if sum(d_votes.values()) else ""
        total += 1
        agree += t_major == d_major
        per_class[t_major][0] += t_major == d_major
        per_class[t_major][1] += 1
        # A minute the analysis trusts must be right.
        wrong_trusted += (t_major != d_major) and bool(np.all(result.timeline.trusted[sel]))
    errors: list[float] = []
    for t_start, t_end in truth_sitting_bouts(truth):
        overlaps = [
            (min(b.end_s, t_end) - max(b.start_s, t_start), b)
            for b in result.bouts
            if min(b.end_s, t_end) > max(b.start_s, t_start)
        ]
        if not overlaps:
            errors.append(t_end - t_start)
            continue
        best = max(overlaps, key=lambda o: o[0])[1]
        errors.append(max(abs(best.start_s - t_start), abs(best.end_s - t_end)))
    sitting_truth = coarse_truth == "sitting"
    true_share = (
        float(np.count_nonzero(slouched_truth & sitting_truth)) / np.count_nonzero(sitting_truth)
        if np.any(sitting_truth)
        else math.nan
    )
    counts = np.bincount(result.timeline.code, minlength=len(POSTURE_CLASSES))
    sit = (
        counts[POSTURE_CLASSES.index("sitting-upright")]
        + counts[POSTURE_CLASSES.index("sitting-slouched")]
    )
    share = float(counts[POSTURE_CLASSES.index("sitting-slouched")]) / sit if sit else math.nan
    desk_truth = [(e.start_s, e.end_s) for e in truth.events if e.kind == EVENT_DESK_BREAK]
    found = sum(
        any(min(d.end_s, e) > max(d.start_s, s) for d in result.desk_breaks) for s, e in desk_truth
    )
    return {
        "posture_accuracy": agree / total if total else math.nan,
        "minutes_compared": total,
        "per_class_accuracy": {c: (a / n if n else math.nan) for c, (a, n) in per_class.items()},
        "per_class_minutes": {c: n for c, (_, n) in per_class.items()},
        "wrong_trusted_minutes": wrong_trusted,
        "bout_error_s": {
            "median": float(np.median(errors)) if errors else math.nan,
            "max": float(np.max(errors)) if errors else math.nan,
            "n": len(errors),
        },
        "bouts": {"true": len(errors), "detected": len(result.bouts)},
        "slouch_share_error_pp": 100.0 * (share - true_share),
        "slouch_share": {"true": true_share, "detected": share},
        "desk_breaks": {
            "true": len(desk_truth),
            "found": found,
            "detected": len(result.desk_breaks),
        },
        "trusted": result.trust.trusted,
    }


def reference_walking_bouts(labels_csv: Path) -> list[tuple[float, float]]:
    """The walking bouts (start_s, end_s) of a Mobilise-D ``labels.csv``: the INDIP
    system's where the trial has them, else the stereophotogrammetry ones."""
    bouts: dict[str, list[tuple[float, float]]] = {}
    with Path(labels_csv).open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["kind"] == "walking_bout":
                bouts.setdefault(row["system"], []).append(
                    (float(row["start_s"]), float(row["end_s"]))
                )
    return bouts.get("INDIP") or bouts.get("Stereophoto") or []


def walking_agreement(result: PostureResult, bouts: list[tuple[float, float]]) -> tuple[int, int]:
    """(seconds agreeing on walking or not, seconds compared): a second is walking in the
    reference when its middle falls inside a bout."""
    start = result.timeline.start_s
    truth = np.zeros(start.shape[0], dtype=bool)
    for a, b in bouts:
        truth |= (start + 0.5 >= a) & (start + 0.5 < b)
    walking = np.array(result.labels) == "walking"
    return int(np.count_nonzero(walking == truth)), int(start.shape[0])
