"""A live session with a kept calibration (issue 15 item 6: calibrate once, not every
session): the neutral check that decides whether to reuse it, and what to keep after a
session that calibrated fully.

The session (:class:`~spinecoach.coach.session.LiveSession`, ``kept_calibration=``) is
told the check's window by a ``calibration-check`` annotation (the simulator's, or the
device script's :class:`~spinecoach.coach.devices.CoachScript`); once its samples are in,
:func:`check_kept` runs :func:`spinecoach.motion.calibration_store.check_tracker` and
gives the person the verdict (:class:`~spinecoach.coach.events.CalibrationCheckEvent`):
"Sensors in place — using your calibration from <date>", or "Sensors seem to have
moved — let's calibrate again" (the whole protocol follows). A passed check also gives
the engine the kept personal range of the technique, when one was kept (there is no
practice rep).

:func:`calibration_to_keep` is what a session that calibrated with the whole protocol
leaves for the next ones (None when it reused a kept one: that keeps its date).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Protocol

from spinecoach.coach.events import CalibrationCheckEvent, LiveEvent
from spinecoach.exercises.engine import ExerciseEngine
from spinecoach.motion.calibration_store import (
    STORED_METHOD,
    NeutralCheck,
    PersonalCalibration,
    check_tracker,
)
from spinecoach.motion.stream import MotionTracker
from spinecoach.recording import Event

#: What the person reads when the check passes ({date}: the kept calibration's).
PASSED_TEXT: Final = "Sensors in place — using your calibration from {date}"
#: What the person reads when it fails.
FAILED_TEXT: Final = "Sensors seem to have moved — let's calibrate again"


def _date(calibrated_utc: str | None) -> str:
    if not calibrated_utc:
        return "before"
    try:
        return datetime.fromisoformat(calibrated_utc).strftime("%d %b %Y")
    except ValueError:
        return calibrated_utc


def check_kept(
    tracker: MotionTracker,
    engine: ExerciseEngine,
    kept: PersonalCalibration,
    window: Event,
) -> tuple[NeutralCheck, CalibrationCheckEvent]:
    """The neutral check of ``window`` (s) on ``tracker``'s samples; when it passes the
    tracker is calibrated from it and ``engine`` gets the kept personal range of its
    technique (if it has none yet). Returns the verdict and the event for the person."""
    result = check_tracker(tracker, kept, (window.start_s, window.end_s))
    if not result.passed:
        return result, CalibrationCheckEvent(False, FAILED_TEXT, kept.calibrated_utc, result.reason)
    kept_range = kept.ranges_deg.get(engine.technique)
    if engine.personal_range_deg is None and kept_range is not None:
        engine.personal_range_deg = float(kept_range)
    text = PASSED_TEXT.format(date=_date(kept.calibrated_utc))
    return result, CalibrationCheckEvent(True, text, kept.calibrated_utc)


class CheckedSession(Protocol):
    """What :func:`check_due` needs of a live session."""

    engine: ExerciseEngine
    kept_calibration: PersonalCalibration | None
    neutral_check: NeutralCheck | None
    check_window: Event | None


def check_due(session: CheckedSession, tracker: MotionTracker, time_s: float) -> list[LiveEvent]:
    """The session's neutral check once a sample after its window came (at ``time_s``):
    the verdict event (none without a kept calibration or when calibrated already)."""
    window = session.check_window
    if window is None or time_s <= window.end_s:
        return []
    session.check_window = None
    kept = session.kept_calibration
    if kept is None or tracker.calibrated:
        return []
    session.neutral_check, verdict = check_kept(tracker, session.engine, kept, window)
    return [verdict]


def calibration_to_keep(
    tracker: MotionTracker | None,
    engine: ExerciseEngine,
    position: str,
    *,
    wear: Mapping[str, Any] | None = None,
) -> PersonalCalibration | None:
    """The calibration a session leaves for the next ones: every sensor calibrated with
    the whole protocol (not from a kept calibration), with the personal range of the
    technique when a practice rep set it; None otherwise."""
    if tracker is None or not tracker.calibrated:
        return None
    calibrations = tracker.calibrations
    if any(c is not None and c.method == STORED_METHOD for c in calibrations.values()):
        return None
    ranges: dict[str, float] = {}
    personal = engine.personal_range_deg
    if engine.calibration_reps and personal is not None and math.isfinite(personal):
        ranges[engine.technique] = float(personal)
    return PersonalCalibration.from_segments(position, calibrations, ranges_deg=ranges, wear=wear)


__all__ = [
    "FAILED_TEXT",
    "PASSED_TEXT",
    "CheckedSession",
    "calibration_to_keep",
    "check_due",
    "check_kept",
]
