"""The camera in the live coach: frames in, the exercise engine's input out, step by step.

:class:`CameraCoach` is the synchronous core (no I/O, no threads) between a
:class:`~spinecoach.camera.source.CameraSource` and a live session. Per
:class:`~spinecoach.camera.source.CameraFrame` it returns a :class:`CameraUpdate`: one
:class:`AngleFrame` for the exercise engine (the engine's angle columns, NaN where the
camera cannot see, and the motion core's quality flags), the calibration windows and
breathing phases the coach has found or announced, and a :class:`CameraStatus` for the
person (is anyone in the picture, what to fix, which step).

Steps, as the sensor coach's (:class:`spinecoach.coach.devices.CoachScript`), but what a
camera can check:

``framing``   the person gets into the picture for the technique
              (:func:`~spinecoach.camera.setup.check_framing`: in frame, side view, camera
              level). Framed for :data:`FRAMED_S` → the neutral hold.
``neutral``   hold still in the start position: the camera signal that stands for the
              technique's main angle (:mod:`~spinecoach.camera.engine_map`) moves less than
              :data:`STILL_DEG` over :data:`NEUTRAL_HOLD_S`. That window is the person's
              neutral (each relative signal is zero there). Leaving the frame restarts the
              hold. After :data:`NEUTRAL_LIMIT_S` the last seconds seen are taken and
              ``notes`` says so.
``practice``  one comfortable rep: a ``calibration-rep`` window is announced with a
              provisional end of :data:`PRACTICE_LIMIT_S`; the engine takes the first rep
              in it as the practice rep (the personal range). For the breath-led techniques
              the breathing pacer starts here (the catalogue's inhale/exhale).
``sets``      the reps are the sets'.

Until the neutral is known every frame goes to the engine flagged
``FLAG_NOT_CALIBRATED`` with NaN angles (nothing is counted); the frames before the hold
are not replayed. A frame in which the camera does not see what the technique needs (no
person, a black frame, the person left the picture, a landmark cut off or hidden) has a
NaN main signal and ``FLAG_GAP``: the engine counts no rep across it. When that lasts
:data:`UNSEEN_PAUSE_S`, :attr:`CameraStatus.out_of_frame` is set: the session pauses
with the reason and the framing check's message, and goes on by itself when the person is
seen again.

Back curvature: the techniques whose main signal is the silhouette's (cat-cow) take it
from the pose model's segmentation mask each frame
(:func:`~spinecoach.camera.silhouette.back_curvature`, the shoulder and hip midpoints in
pixels, the facing side from the framing check); hip-hinge uses it, when a mask comes,
for the lumbar-rounding fault.

>>> import numpy as np
>>> from spinecoach.camera.source import NO_PERSON, CameraFrame
>>> coach = CameraCoach("hip-hinge")
>>> update = coach.process(CameraFrame(0.0, NO_PERSON, (640, 480)))
>>> update.status.person, update.status.step, update.frame.flags
(False, 'framing', 1)
>>> update.status.messages[0]
'Nobody is in the picture: sit or stand where the camera can see all of you.'
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np

from spinecoach.camera.angles import CameraAngleSettings, CameraAngleTracker
from spinecoach.camera.engine_map import (
    BACK_CURVATURE_DEG,
    CameraEngineMapper,
    MapperSettings,
    camera_coaching,
)
from spinecoach.camera.landmarks import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER
from spinecoach.camera.setup import FramingCheck, FramingSettings, camera_view, check_framing
from spinecoach.camera.silhouette import back_curvature
from spinecoach.camera.source import CameraFrame
from spinecoach.conventions import (
    ANGLE_COLUMNS,
    EVENT_BREATH_EXHALE,
    EVENT_BREATH_INHALE,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_CALIBRATION_REP,
)
from spinecoach.exercises.breath import BreathPacer
from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.motion.flags import FLAG_NOT_CALIBRATED
from spinecoach.recording import Event

#: Framed this long (s) before the neutral hold starts.
FRAMED_S: Final = 1.0
#: The neutral hold (s) and how still it must be (deg, range of the main camera signal).
NEUTRAL_HOLD_S: Final = 3.0
STILL_DEG: Final = 4.0
#: Longest wait (s) for a still neutral hold; then the last NEUTRAL_HOLD_S seen are taken.
NEUTRAL_LIMIT_S: Final = 60.0
#: The practice rep's window (s) from the end of the neutral hold.
PRACTICE_LIMIT_S: Final = 30.0
#: Unseen this long (s): out of frame, the session pauses.
UNSEEN_PAUSE_S: Final = 0.5

#: Framed, but the back's outline (the silhouette) is not clear enough for cat-cow.
OUTLINE_UNSEEN: Final = (
    "The outline of your back is not clear: wear a fitted top, light the room evenly and "
    "keep the wall behind you plain."
)

Step = Literal["framing", "neutral", "practice", "sets"]
#: Techniques whose reps follow the breathing pacer.
PACED_TECHNIQUES: Final = frozenset({"cat-cow", "cat-cow-seated"})


@dataclass(frozen=True)
class AngleFrame:
    """One frame for the exercise engine: time (s), the engine's angle columns (deg, NaN
    where not seen) and the motion core's quality flags."""

    time_s: float
    angles: dict[str, float]
    flags: int


@dataclass(frozen=True)
class CameraStatus:
    """What the person is told about the camera.

    person: someone is in the picture. framed: framed as the technique needs.
    out_of_frame: unseen for :data:`UNSEEN_PAUSE_S` (the session pauses). calibrated: the
    neutral is known. messages: what to fix, most important first (empty when framed).
    view: the view the technique needs ("side"/"front").
    """

    step: Step
    person: bool
    framed: bool
    out_of_frame: bool
    calibrated: bool
    messages: tuple[str, ...]
    view: str


@dataclass(frozen=True)
class CameraUpdate:
    """The result of one frame: the engine's frame, the windows found or announced (in
    time order, for the engine and the page), and the status."""

    frame: AngleFrame
    windows: tuple[Event, ...]
    status: CameraStatus


@dataclass
class _Seen:
    time_s: float
    camera: dict[str, float]
    curvature: float
    confidence: float


def _pose_points(frame: CameraFrame) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """A frame's landmarks (33, 3) and visibility (33,): NaN and 0 when nobody is seen,
    visibility 1 when the model gives none."""
    pose = frame.pose
    if pose.landmarks is None:
        return np.full((33, 3), np.nan), np.zeros(33)
    visibility = pose.visibility if pose.visibility is not None else np.ones(33)
    return pose.landmarks, visibility


def _midpoint_px(
    landmarks: np.ndarray[Any, Any], a: int, b: int, size: tuple[int, int]
) -> np.ndarray[Any, Any]:
    return np.asarray((landmarks[a, :2] + landmarks[b, :2]) / 2.0 * np.asarray(size, float))


@dataclass
class CameraCoach:
    """The camera's steps for ``technique`` (see the module docstring).

    Raises :class:`~spinecoach.errors.ConfigurationError` for a technique the camera
    cannot coach (supine pelvic tilts), with the reason and what to use instead.
    """

    technique: str
    angle_settings: CameraAngleSettings = field(default_factory=CameraAngleSettings)
    framing_settings: FramingSettings = field(default_factory=FramingSettings)
    mapper_settings: MapperSettings = field(default_factory=MapperSettings)
    step: Step = "framing"
    notes: list[str] = field(default_factory=list)
    #: The framing check of the latest frame with a person (None before one).
    framing: FramingCheck | None = None

    def __post_init__(self) -> None:
        self.coaching = camera_coaching(self.technique)
        self.view = camera_view(self.technique)
        self._main_camera = self.coaching.signals[self.coaching.main_signal]
        self._tracker: CameraAngleTracker | None = None
        self._mapper: CameraEngineMapper | None = None
        self._recent: deque[_Seen] = deque()
        self._framed_since = math.nan
        self._step_start = math.nan
        self._unseen_since = math.nan
        self._last_seen_s = math.nan
        self._pacer: BreathPacer | None = None
        self._next_breath = 0

    @property
    def calibrated(self) -> bool:
        return self._mapper is not None

    def process(self, frame: CameraFrame) -> CameraUpdate:
        """One camera frame → the engine's frame, new windows and the status."""
        t = frame.time_s
        if math.isnan(self._step_start):
            self._step_start = t
        pose = frame.pose
        if self._tracker is None:
            self._tracker = CameraAngleTracker(self.angle_settings, image_size=frame.image_size)
        windows: list[Event] = []
        landmarks, visibility = _pose_points(frame)
        person = pose.landmarks is not None
        camera = dict(self._tracker.update(t, landmarks, visibility).angles)
        framing = self._check_framing(frame)
        if person:
            self.framing = framing
            curvature, confidence = self._curvature(frame, framing)
        else:
            curvature, confidence = math.nan, 0.0
        seen = _Seen(t, camera, curvature, confidence)
        main = self._main_value(seen)
        if math.isfinite(main):
            self._unseen_since = math.nan
            self._last_seen_s = t
        elif math.isnan(self._unseen_since):
            self._unseen_since = t
        out_of_frame = (
            math.isfinite(self._unseen_since) and t - self._unseen_since >= UNSEEN_PAUSE_S
        )
        self._advance(t, seen, framing, main, windows)
        angle_frame = self._engine_frame(seen)
        windows.extend(self._breaths(t))
        messages = framing.messages
        if framing.ok and not math.isfinite(main) and self.coaching.needs_mask:
            messages = (OUTLINE_UNSEEN,)
        status = CameraStatus(
            step=self.step,
            person=person,
            framed=framing.ok and not messages,
            out_of_frame=out_of_frame,
            calibrated=self.calibrated,
            messages=messages,
            view=self.view.view,
        )
        return CameraUpdate(angle_frame, tuple(windows), status)

    def status_of(self, frame: CameraFrame) -> CameraStatus:
        """The status of ``frame`` without coaching it (while the person pauses): the
        framing check only; the steps, the neutral and the smoothing are left as they are.
        """
        framing = self._check_framing(frame)
        return CameraStatus(
            step=self.step,
            person=frame.pose.landmarks is not None,
            framed=framing.ok,
            out_of_frame=False,
            calibrated=self.calibrated,
            messages=framing.messages,
            view=self.view.view,
        )

    # -- per frame -------------------------------------------------------------------------
    def _check_framing(self, frame: CameraFrame) -> FramingCheck:
        landmarks, visibility = _pose_points(frame)
        return check_framing(
            landmarks,
            visibility,
            self.technique,
            image_size=frame.image_size,
            settings=self.framing_settings,
        )

    def _curvature(self, frame: CameraFrame, framing: FramingCheck) -> tuple[float, float]:
        pose = frame.pose
        if pose.segmentation_mask is None or pose.landmarks is None:
            return math.nan, 0.0
        size = frame.image_size
        result = back_curvature(
            pose.segmentation_mask,
            shoulder_xy=_midpoint_px(pose.landmarks, LEFT_SHOULDER, RIGHT_SHOULDER, size),
            hip_xy=_midpoint_px(pose.landmarks, LEFT_HIP, RIGHT_HIP, size),
            facing=framing.facing,
        )
        return result.curvature_deg, result.confidence

    def _main_value(self, seen: _Seen) -> float:
        if self._main_camera == BACK_CURVATURE_DEG:
            ok = seen.confidence >= self.mapper_settings.min_curvature_confidence
            return seen.curvature if ok else math.nan
        return float(seen.camera.get(self._main_camera, math.nan))

    def _engine_frame(self, seen: _Seen) -> AngleFrame:
        if self._mapper is None:
            angles = dict.fromkeys(ANGLE_COLUMNS, math.nan)
            return AngleFrame(seen.time_s, angles, FLAG_NOT_CALIBRATED)
        angles, flags = self._mapper.update(
            seen.time_s, seen.camera, seen.curvature, seen.confidence
        )
        return AngleFrame(seen.time_s, angles, flags)

    # -- steps -----------------------------------------------------------------------------
    def _advance(
        self, t: float, seen: _Seen, framing: FramingCheck, main: float, windows: list[Event]
    ) -> None:
        if self.step == "framing":
            if not framing.ok or not math.isfinite(main):
                self._framed_since = math.nan
                return
            if math.isnan(self._framed_since):
                self._framed_since = t
            if t - self._framed_since >= FRAMED_S:
                self.step = "neutral"
                self._step_start = t
                self._recent.clear()
                # Announced with a provisional end (shown with a countdown).
                windows.append(Event(EVENT_CALIBRATION_NEUTRAL, t, t + NEUTRAL_HOLD_S))
        elif self.step == "neutral":
            self._neutral(t, seen, main, windows)
        elif self.step == "practice" and t - self._step_start >= PRACTICE_LIMIT_S:
            self.step = "sets"

    def _neutral(self, t: float, seen: _Seen, main: float, windows: list[Event]) -> None:
        recent = self._recent
        if not math.isfinite(main):
            recent.clear()  # left the picture: the hold starts again
            return
        recent.append(seen)
        while recent and recent[0].time_s < t - NEUTRAL_HOLD_S:
            recent.popleft()
        values = [self._main_value(s) for s in recent]
        span = recent[-1].time_s - recent[0].time_s
        held = (
            span >= NEUTRAL_HOLD_S - 0.05 and float(np.ptp(values)) <= STILL_DEG
        )  # one frame period of slack
        late = t - self._step_start >= NEUTRAL_LIMIT_S
        if not held and not late:
            if span >= NEUTRAL_HOLD_S - 0.05:
                recent.popleft()  # moving: slide on
            return
        if late and not held:
            self.notes.append(
                f"neutral hold: not {NEUTRAL_HOLD_S:.0f} s still within {NEUTRAL_LIMIT_S:.0f} s; "
                "the last seconds seen were taken"
            )
        start = recent[0].time_s
        settings = MapperSettings(
            neutral_window=(start, t),
            neutral_s=self.mapper_settings.neutral_s,
            min_curvature_confidence=self.mapper_settings.min_curvature_confidence,
            smoothing=self.mapper_settings.smoothing,
        )
        mapper = CameraEngineMapper(self.technique, settings)
        for s in list(recent)[:-1]:  # the hold sets the neutral; the last frame is mapped
            mapper.update(s.time_s, s.camera, s.curvature, s.confidence)
        self._mapper = mapper
        recent.clear()
        windows.append(Event(EVENT_CALIBRATION_NEUTRAL, start, t))
        windows.append(Event(EVENT_CALIBRATION_REP, t, t + PRACTICE_LIMIT_S))
        self.step = "practice"
        self._step_start = t
        if self.technique in PACED_TECHNIQUES:
            spec = default_catalogue().technique(self.technique)
            self._pacer = BreathPacer.for_technique(spec, start_s=t)

    def _breaths(self, t: float) -> list[Event]:
        """The pacer's phases that started by ``t`` (each once, as it starts)."""
        pacer = self._pacer
        if pacer is None:
            return []
        out: list[Event] = []
        while True:
            cycle, exhale = divmod(self._next_breath, 2)
            start = pacer.start_s + cycle * pacer.cycle_s + (pacer.inhale_s if exhale else 0.0)
            if start > t:
                return out
            kind = EVENT_BREATH_EXHALE if exhale else EVENT_BREATH_INHALE
            length = pacer.exhale_s if exhale else pacer.inhale_s
            out.append(Event(kind, start, start + length))
            self._next_breath += 1
