"""What a live session tells its face: frozen values, one per kind of news.

A :class:`~spinecoach.coach.session.LiveSession` (and the pumps and the runner around it)
emits these events; a face turns them into what it shows. The web socket maps each one to
its wire message in one function (``spinecoach.web.protocol.to_message``), the terminal
draws them. The fields are the live protocol's (``docs/live-protocol.md``): seconds,
degrees, Unix milliseconds; a value that is not known is None.

Design choice: plain frozen dataclasses, not the web's pydantic models, so the live
session knows nothing of HTTP and the terminal needs no web package. Change a field
here and in ``web/protocol.py`` together (tests/web check the wire format).

>>> cue = CueEvent(t=12.5, key="hold", text="Hold it", reason="top of the tilt")
>>> dataclasses.replace(cue, wall_ms=1.0).wall_ms
1.0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from spinecoach.errors import SpinecoachError

PausedReason = Literal["user", "sensor-silent", "out-of-frame"]


@dataclass(frozen=True)
class HoldStatus:
    """A measured hold now: the gauge is ``inside`` the band (at or past its start),
    held ``held_s`` (s, restarting when it leaves the band) of ``target_s`` (s)."""

    inside: bool
    held_s: float
    target_s: float


@dataclass(frozen=True)
class GaugeInfo:
    """What the gauge shows: ``direction × angles[angle]`` (deg), in plain words
    (``label``); ``band_deg``: the target band in the same units and sign (None until the
    person's range is known); ``bands_deg``: every band, ascending (cat-cow: the cow
    end and the cat end; ``band_deg`` is the working direction's, the cat end)."""

    angle: str
    label: str
    direction: int
    band_deg: tuple[float, float] | None = None
    bands_deg: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class Targets:
    """The session's dose: reps per set, sets, the hold (s; None: no holds)."""

    reps: int | None
    sets: int | None
    hold_s: float | None


@dataclass(frozen=True)
class FrameEvent:
    """Clinical angles (deg) at session time ``t`` (s); None where not available;
    ``flags``: the signal-quality flags in words; ``gauge_deg``: the gauge's value
    (:class:`GaugeInfo`); ``hold``: the measured hold (None when no hold applies now)."""

    t: float
    angles: Mapping[str, float | None]
    flags: Sequence[str]
    gauge_deg: float | None = None
    hold: HoldStatus | None = None


@dataclass(frozen=True)
class RepEvent:
    """A completed rep (``Rep.as_dict()``: times in s, angles in deg)."""

    rep: Mapping[str, Any]


@dataclass(frozen=True)
class CueEvent:
    """Something to say or show now, with why; ``wall_ms``: Unix time (ms) at which the
    sample that triggered it came due (a replay) or arrived (live data)."""

    t: float
    key: str
    text: str
    reason: str
    wall_ms: float | None = None


@dataclass(frozen=True)
class StateEvent:
    """The session's state; emitted when any field changes. ``paused_reason``: ``user``,
    ``sensor-silent`` or ``out-of-frame`` (None when running); ``session_id``: the
    session as stored in the history while it runs (None: not stored)."""

    calibrated: bool
    position: str
    reps: int
    set: int
    paused: bool
    target_band_deg: tuple[float, float] | None = None
    paused_reason: PausedReason | None = None
    silent_sensors: tuple[str, ...] = ()
    session_id: int | None = None
    gauge: GaugeInfo | None = None
    targets: Targets | None = None
    #: What applies to the technique: ``hold`` (measured holds), ``breath`` (breath sync).
    measures: tuple[str, ...] = ()


@dataclass(frozen=True)
class PhaseEvent:
    """A window of the session came due (calibration or breathing pacer phase), s; the
    wire calls it ``annotation``."""

    kind: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class CameraEvent:
    """A camera session: what the camera sees (``step``: framing, neutral, practice or
    sets; ``messages``: what to fix, most important first; ``fps``: images per second
    over the last second; ``source``: ``camera:0``, ``video:clip.mp4``)."""

    step: str
    person: bool
    framed: bool
    messages: Sequence[str]
    view: str
    fps: float | None = None
    source: str = ""


@dataclass(frozen=True)
class SummaryEvent:
    """The session's result (``ExerciseResult.as_dict()``); ``session_id``: the saved
    session in the history (None when not saved); ``breath``: a breath-led technique's
    breath sync over the session (``in_phase_share`` 0–1, ``lag_s``; None otherwise)."""

    result: Mapping[str, Any]
    session_id: int | None = None
    breath: Mapping[str, float | None] | None = None


@dataclass(frozen=True)
class NoticeEvent:
    """A problem to tell the person, the session going on or ended: ``code`` (a live
    protocol error code such as ``not-saved`` or ``camera-ended``), what happened and
    what to do."""

    code: str
    message: str
    fix: str


@dataclass(frozen=True)
class CalibrationCheckEvent:
    """The verdict of the 5-s neutral check of a kept calibration
    (:mod:`spinecoach.motion.calibration_store`): ``passed`` (the kept calibration is used
    and the sets follow) or not (the whole calibration follows), ``message`` in plain
    words for the person, ``calibrated_utc`` (ISO 8601) of the kept calibration and
    ``reason`` (why it failed, "" when it passed)."""

    passed: bool
    message: str
    calibrated_utc: str | None = None
    reason: str = ""


LiveEvent = (
    FrameEvent
    | RepEvent
    | CueEvent
    | StateEvent
    | PhaseEvent
    | CameraEvent
    | SummaryEvent
    | NoticeEvent
    | CalibrationCheckEvent
)


class LiveInputError(SpinecoachError):
    """Data a live session cannot use (a sensor it was not started with, a changed
    rate, samples out of order): ``code`` (a live protocol error code), ``message`` (what
    is wrong) and ``fix``. The session is unchanged; the face tells the sender."""

    def __init__(self, code: str, message: str, fix: str) -> None:
        self.code = code
        self.message = message
        self.fix = fix
        super().__init__(f"{code}: {message}. {fix}")

    def as_notice(self) -> NoticeEvent:
        return NoticeEvent(code=self.code, message=self.message, fix=self.fix)


def stamp_cues(events: Sequence[LiveEvent], wall_ms: float) -> list[LiveEvent]:
    """``events`` with ``wall_ms`` (Unix ms, rounded to 0.1) on each cue.

    >>> stamp_cues([CueEvent(t=1.0, key="k", text="t", reason="r")], 5.04)[0].wall_ms
    5.0
    """
    stamp = round(wall_ms, 1)
    return [dataclasses.replace(e, wall_ms=stamp) if isinstance(e, CueEvent) else e for e in events]


__all__ = [
    "CalibrationCheckEvent",
    "CameraEvent",
    "CueEvent",
    "FrameEvent",
    "GaugeInfo",
    "HoldStatus",
    "LiveEvent",
    "LiveInputError",
    "NoticeEvent",
    "PausedReason",
    "PhaseEvent",
    "RepEvent",
    "StateEvent",
    "SummaryEvent",
    "Targets",
    "stamp_cues",
]
