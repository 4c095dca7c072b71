"""A live session: one technique's motion tracker and exercise engine, fed by the
simulator, live devices, a camera or a client's samples, producing the events a face
shows (:mod:`spinecoach.coach.events`).

:class:`LiveSession` is the synchronous core (no I/O): :meth:`LiveSession.add_batch`,
:meth:`LiveSession.annotate`, :meth:`LiveSession.feed` and :meth:`LiveSession.feed_frames`
return the events to show. :func:`~spinecoach.coach.replay_pump.replay_simulation`
drives a session from a :class:`~spinecoach.sources.simulated.SimulatedSource` at
``speed`` times real time; :class:`~spinecoach.coach.replay_pump.ReplayPump` runs that
replay as a pump of the one runner (:mod:`spinecoach.coach.runner`).

Store first, then process: :meth:`LiveSession.receive_batch` / :meth:`~LiveSession.receive`
check what came and hand it to the recorder (cheap: on the event loop, as it arrives);
:meth:`~LiveSession.process` runs it through tracker and engine behind, one call at a
time: a message's worth on the loop, larger blocks in a thread (``web.live_backlog``).

Frames are emitted decimated to :data:`UI_FRAME_RATE_HZ` (every frame is still used by
the engine), each with the gauge's value and the measured hold; the last frame of a hold
is always emitted (even between two UI frames), so the largest ``held_s`` the face saw is
the rep's ``hold_s``. Every rep and every cue is emitted, a state event (with the
gauge's signal and band, the dose and what is measured) when the state changes, and a
summary at stop or at the end of a simulated session.

>>> session = LiveSession("pelvic-tilt", rates_hz={"lower": 100.0, "upper": 100.0})
>>> session.state_event().calibrated
False
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, Protocol

import numpy as np

from spinecoach.camera.live import AngleFrame
from spinecoach.coach.calibration_check import check_due
from spinecoach.coach.dose import LiveDose, dosed_catalogue
from spinecoach.coach.events import (
    CueEvent,
    LiveEvent,
    LiveInputError,
    PausedReason,
    PhaseEvent,
    RepEvent,
    StateEvent,
    SummaryEvent,
)
from spinecoach.coach.gauge_events import frame_event, gauge_state
from spinecoach.coach.limits import check_batch_span
from spinecoach.conventions import (
    ANGLE_COLUMNS,
    EVENT_CALIBRATION_CHECK,
    PLACEMENTS,
    finite_or_none,
)
from spinecoach.errors import ConfigurationError
from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.exercises.engine import ExerciseEngine
from spinecoach.exercises.gauge import HoldReading
from spinecoach.exercises.model import ExerciseResult, Rep
from spinecoach.motion.calibration_store import NeutralCheck, PersonalCalibration
from spinecoach.motion.stream import FrameBlock, MotionTracker
from spinecoach.motion.stream_blocks import (
    BlockSample,
    Piece,
    SampleBlock,
    cut_piece,
    piece_arrays,
    piece_first_time,
    piece_last_time,
    piece_no_mag,
)
from spinecoach.recording import Event
from spinecoach.sources.simulated import Item
from spinecoach.store.live import LiveRecorder

#: Rate (Hz) of the ``frame`` messages: enough for a smooth gauge and trace, a quarter of
#: the 100 Hz sensor data, so a phone on Wi-Fi is not flooded.
UI_FRAME_RATE_HZ: Final = 25.0

#: The "placement" of a camera session's frames (watchdog counts, stored config).
CAMERA_PLACEMENT: Final = "camera"


class Window(Protocol):
    """A window marked in session time (s): calibration or breathing pacer phase."""

    @property
    def kind(self) -> str: ...
    @property
    def start_s(self) -> float: ...
    @property
    def end_s(self) -> float: ...


class LiveSession:
    """One live session of ``technique``.

    rates_hz
        Sensor rates by placement when known at the start (the simulator); otherwise
        ``placements`` are declared and each rate comes with the first ``samples``
        message of that sensor. Nothing is processed until every declared sensor has
        sent its first batch (the frame grid starts when all sensors have data).
    auto_calibration
        False (default) when the calibration windows are announced (``annotate``);
        True lets the tracker calibrate from the data with the protocol-free calibration
        (it holds the frames until it has seen enough movement, then sends them all).
    """

    def __init__(
        self,
        technique: str,
        *,
        rates_hz: Mapping[str, float] | None = None,
        placements: Sequence[str] = PLACEMENTS,
        position: str | None = None,
        auto_calibration: bool = False,
        camera: bool = False,
        kept_calibration: PersonalCalibration | None = None,
    ) -> None:
        self.technique = technique
        self.position = position or default_catalogue().technique(technique).position
        self.engine = ExerciseEngine(technique, calibrated_position=self.position)
        #: Fed with angle frames from a camera (:meth:`feed_frames`), not sensor samples.
        self.camera = camera
        if camera:
            rates_hz, placements = None, (CAMERA_PLACEMENT,)
        self.placements = tuple(rates_hz) if rates_hz is not None else tuple(placements)
        self._rates: dict[str, float] = dict(rates_hz or {})
        self._last_t: dict[str, float] = {}
        self._auto_calibration = auto_calibration
        #: Reused when its neutral check passes (:mod:`spinecoach.coach.calibration_check`).
        self.kept_calibration = kept_calibration
        self.neutral_check: NeutralCheck | None = None  # its verdict, once made
        self.check_window: Event | None = None
        self.tracker: MotionTracker | None = None
        self._pending: list[Item] = []
        self._cues_sent = 0
        self._last_frame_t = -math.inf
        # The last frame not sent (time, angles, flags) and the hold shown before it.
        self._unsent: tuple[float, dict[str, float], int, float, HoldReading | None] | None = None
        self._held_before_s = 0.0
        self._state: StateEvent | None = None
        self._state_key: tuple[Any, StateEvent | None] | None = None  # _state_after_frame
        self.user_paused = False
        #: Sensors that stopped sending (set by the connection's watchdog).
        self.silent_sensors: tuple[str, ...] = ()
        #: Samples received so far by sensor (the watchdog sees whether data comes in).
        self.samples_by_placement: dict[str, int] = {}
        #: Where the session is stored while it runs (None: not stored live).
        self.recorder: LiveRecorder | None = None
        self.session_id: int | None = None
        self.finished = False
        self.result: ExerciseResult | None = None
        #: Camera sessions: the neutral is known (set by the camera pump).
        self.camera_calibrated = False
        #: Camera sessions: the person is out of the picture (the session pauses).
        self.out_of_frame = False
        #: The prescribed dose the session uses (None: the catalogue's), :meth:`apply_dose`.
        self.dose: LiveDose | None = None
        if rates_hz is not None:
            self._make_tracker()

    def apply_dose(self, dose: LiveDose) -> None:
        """Use a prescribed dose (reps, sets, hold, tempo) instead of the catalogue's:
        the engine is made again with it; only before any data came in."""
        if any(self.samples_by_placement.values()) or self.engine.reps:
            raise ConfigurationError(
                "a dose can only be applied before the session's first data; apply it right "
                "after making the session"
            )
        catalogue = dosed_catalogue(default_catalogue(), self.technique, dose)
        self.engine = ExerciseEngine(
            self.technique, catalogue=catalogue, calibrated_position=self.position
        )
        self.dose = dose

    @property
    def rates_hz(self) -> dict[str, float]:
        """Sensor rates known so far, by placement."""
        return dict(self._rates)

    def _make_tracker(self) -> None:
        self.tracker = MotionTracker(
            rates_hz=self._rates,
            position=self.position,
            auto_calibration=self._auto_calibration,
        )

    # -- inputs --------------------------------------------------------------------------
    def add_batch(
        self,
        placement: str,
        rate_hz: float,
        time_s: np.ndarray[Any, np.dtype[np.float64]],
        acc_mps2: np.ndarray[Any, np.dtype[np.float64]],
        gyr_dps: np.ndarray[Any, np.dtype[np.float64]],
        mag_ut: np.ndarray[Any, np.dtype[np.float64]] | None = None,
    ) -> list[LiveEvent]:
        """One sensor's samples in time order (session seconds, m/s², deg/s, µT): a
        client's ``samples`` message or a live device's batch. Raises
        :class:`~spinecoach.coach.events.LiveInputError` for data it cannot use."""
        return self.process(
            self.receive_batch(placement, rate_hz, time_s, acc_mps2, gyr_dps, mag_ut)
        )

    def receive_batch(
        self,
        placement: str,
        rate_hz: float,
        time_s: np.ndarray[Any, np.dtype[np.float64]],
        acc_mps2: np.ndarray[Any, np.dtype[np.float64]],
        gyr_dps: np.ndarray[Any, np.dtype[np.float64]],
        mag_ut: np.ndarray[Any, np.dtype[np.float64]] | None = None,
    ) -> list[Item]:
        """:meth:`add_batch` without processing: checked and handed to the recorder
        (:meth:`receive`); its items, for :meth:`process` in the order received."""
        if placement not in self.placements:
            raise LiveInputError(
                "unknown-placement",
                f"samples from the {placement} sensor, but the session was started with "
                + ", ".join(self.placements),
                "declare every sensor in the start message's placements",
            )
        known = self._rates.get(placement)
        if known is not None and not math.isclose(known, rate_hz, rel_tol=1e-9):
            raise LiveInputError(
                "rate-changed",
                f"the {placement} sensor's rate_hz was {known:g} and is now {rate_hz:g}",
                "keep rate_hz the same for the whole session, or start a new session",
            )
        if len(time_s) == 0:
            return []
        last = self._last_t.get(placement, -math.inf)
        if time_s[0] <= last:
            raise LiveInputError(
                "out-of-order",
                f"the {placement} batch starts at {float(time_s[0])} s, not after the previous "
                f"sample ({last} s)",
                "send each sensor's samples in time order, every time after the previous one",
            )
        check_batch_span(placement, time_s, last, max([rate_hz, *self._rates.values()]))
        self._last_t[placement] = float(time_s[-1])
        items: list[Item] = list(
            SampleBlock(
                placement,
                np.asarray(time_s, dtype=np.float64),
                np.asarray(acc_mps2, dtype=np.float64),
                np.asarray(gyr_dps, dtype=np.float64),
                None if mag_ut is None else np.asarray(mag_ut, dtype=np.float64),
            ).samples
        )
        if known is None:
            self._rates[placement] = rate_hz
            if self.recorder is not None:
                self.recorder.set_rate(placement, rate_hz)
        counts = self.samples_by_placement  # receive(items), counted at once
        counts[placement] = counts.get(placement, 0) + len(items)
        if self.recorder is not None:
            self.recorder.add_items(items)
        return items

    def annotate(self, window: Window) -> list[LiveEvent]:
        """A calibration window or pacer phase marked by the client (anything with a
        ``kind``, ``start_s`` and ``end_s``: an :class:`~spinecoach.recording.Event`, the
        web's annotation message)."""
        return self.feed([Event(window.kind, window.start_s, window.end_s)])

    def feed(self, items: Sequence[Item]) -> list[LiveEvent]:
        """Samples and annotations in time order → the messages to send; with a
        :attr:`recorder` all of it, reps and cues too, is committed within the second."""
        self.receive(items)
        return self.process(items)

    def receive(self, items: Sequence[Item]) -> None:
        """Store first: count ``items`` (the watchdog's) and hand them to the
        :attr:`recorder` before any processing (:meth:`process` follows, in order)."""
        counts = self.samples_by_placement
        for item in items:
            if not isinstance(item, Event):
                counts[item.placement] = counts.get(item.placement, 0) + 1
        recorder = self.recorder
        if recorder is not None:
            recorder.add_items(items)

    def process(self, items: Sequence[Item]) -> list[LiveEvent]:
        """Received ``items`` through tracker and engine → the messages to send (the
        tracker is made once every sensor's rate is known)."""
        if self.tracker is None and self._rates and set(self._rates) == set(self.placements):
            self._make_tracker()
        out = self._process(items)
        recorder = self.recorder
        if recorder is not None:
            recorder.add_results(self.engine.reps, self.engine.cues.cues)
        return out

    def _process(self, items: Sequence[Item]) -> list[LiveEvent]:
        if self.tracker is None:
            self._pending.extend(items)
            return []
        if self._pending:
            items = [*self._pending, *items]
            self._pending = []
        tracker = self.tracker
        out: list[LiveEvent] = []
        run: list[Piece] = []  # the samples since the last annotation (a block)
        i, n = 0, len(items)
        while i < n:
            item = items[i]
            if isinstance(item, Event):
                self._samples(run, out)
                run = []
                if item.kind == EVENT_CALIBRATION_CHECK:
                    self.check_window = item
                tracker.add_annotation(item)
                self._annotation(item, out)
                i += 1
                continue
            piece: Piece = item
            stop = i + 1
            if isinstance(item, BlockSample) and item.block is not None:
                # The rest of its message, as it came: one slice of the block's arrays.
                block, first = item.block, item.index
                end = first + 1
                for mine, given in zip(block.samples[end:], items[stop:], strict=False):
                    if mine is not given:
                        break
                    end += 1
                piece, stop = (block, first, end), i + end - first
            window = self.check_window
            if window is not None and piece_last_time(piece) > window.end_s:
                # The neutral check sees the samples up to its window's end, as one by one.
                cut = cut_piece(piece, window.end_s)
                if cut is not None:
                    run.append(cut[0])
                    piece = cut[1]
                self._samples(run, out)
                run = []
                out.extend(check_due(self, tracker, piece_first_time(piece)))
            run.append(piece)
            i = stop
        self._samples(run, out)
        return out

    def _samples(self, run: Sequence[Piece], out: list[LiveEvent]) -> None:
        """Samples in time order (no annotation between them) through the tracker, one
        block per sensor (:meth:`MotionTracker.update_block`: the same frames as one
        sample at a time), and their frames through the engine."""
        if not run:
            return
        tracker = self.tracker
        assert tracker is not None
        # Each sensor's samples in order, cut where the magnetometer comes or goes.
        groups: dict[str, list[list[Piece]]] = {}
        for piece in run:
            if isinstance(piece, tuple):
                placement, no_mag = piece[0].placement, piece[0].mag_ut is None
            else:
                placement, no_mag = piece.placement, piece.mag_ut is None
            parts = groups.setdefault(placement, [])
            if not parts or piece_no_mag(parts[-1][0]) != no_mag:
                parts.append([])
            parts[-1].append(piece)
        for part in (part for parts in groups.values() for part in parts):
            block = tracker.update_block(*piece_arrays(part))
            self._frames(block, out)

    def _frames(self, block: FrameBlock, out: list[LiveEvent]) -> None:
        """A tracker's block of frames through the engine, in time order."""
        if not len(block):
            return
        flags = iter(block.flags.tolist())

        def messages(time_s: float, angles: Mapping[str, float], reps: list[Rep]) -> None:
            self._frame_messages(time_s, angles, next(flags), reps, out)

        self.engine.update_block(block.time_s, block.angles, after_frame=messages)

    def feed_frames(self, items: Sequence[AngleFrame | Event]) -> list[LiveEvent]:
        """A camera session's angle frames and windows in time order → the messages.

        The frames go straight to the exercise engine (no motion tracker); with a
        :attr:`recorder` they are stored as the session's angle frames, the windows as
        its annotations.
        """
        frames = [item for item in items if not isinstance(item, Event)]
        counts = self.samples_by_placement
        counts[CAMERA_PLACEMENT] = counts.get(CAMERA_PLACEMENT, 0) + len(frames)
        recorder = self.recorder
        if recorder is not None:
            recorder.add_items([item for item in items if isinstance(item, Event)])
            if frames:
                recorder.add_angle_frames(
                    np.array([f.time_s for f in frames], dtype=np.float64),
                    np.array(
                        [[f.angles.get(name, math.nan) for name in ANGLE_COLUMNS] for f in frames],
                        dtype=np.float64,
                    ).reshape(len(frames), len(ANGLE_COLUMNS)),
                    np.array([f.flags for f in frames], dtype=np.uint8),
                )
        out: list[LiveEvent] = []
        for item in items:
            if isinstance(item, Event):
                self._annotation(item, out)
            else:
                self._frame(item.time_s, item.angles, item.flags, out)
        if recorder is not None:
            recorder.add_results(self.engine.reps, self.engine.cues.cues)
        return out

    def _annotation(self, event: Event, out: list[LiveEvent]) -> None:
        self.engine.add_annotation(event)
        out.append(
            PhaseEvent(
                kind=event.kind, start_s=round(event.start_s, 4), end_s=round(event.end_s, 4)
            )
        )

    def _frame(
        self, time_s: float, angles: Mapping[str, float], flags: int, out: list[LiveEvent]
    ) -> None:
        """One frame of angles through the engine; its messages appended to ``out``."""
        self._frame_messages(time_s, angles, flags, self.engine.update(time_s, angles), out)

    def _frame_messages(
        self,
        time_s: float,
        angles: Mapping[str, float],
        flags: int,
        reps: list[Rep],
        out: list[LiveEvent],
    ) -> None:
        """The messages of a frame the engine has just taken (``reps``: those it completed)."""
        engine = self.engine
        hold = engine.hold_reading
        held_s = hold.held_s if hold is not None else 0.0
        if held_s < self._held_before_s and self._unsent is not None:
            out.append(frame_event(*self._unsent))  # the hold's last (largest) held_s
        self._held_before_s = held_s
        gauge_deg = engine.signal.value_deg
        if time_s - self._last_frame_t >= 1.0 / UI_FRAME_RATE_HZ - 1e-9:
            self._last_frame_t = time_s
            self._unsent = None
            out.append(frame_event(time_s, angles, flags, gauge_deg, hold))
        elif engine.signal.has_hold:
            self._unsent = (time_s, dict(angles), flags, gauge_deg, hold)
        if reps:
            out.extend(RepEvent(rep=finite_or_none(rep.as_dict())) for rep in reps)
        cues = engine.cues.cues
        while self._cues_sent < len(cues):
            cue = cues[self._cues_sent]
            self._cues_sent += 1
            out.append(
                CueEvent(t=round(cue.time_s, 4), key=cue.key, text=cue.text, reason=cue.reason)
            )
        out.extend(self._state_after_frame())

    def _state_after_frame(self) -> list[LiveEvent]:
        """:meth:`_state_if_changed`, skipped when nothing a state event shows changed
        since the last one this made (building a state per frame cost more than the
        engine's step): the key holds everything :meth:`state_event` reads."""
        engine = self.engine
        tracker = self.tracker
        key = (
            engine,
            engine.position,
            len(engine.reps),
            engine.gauge_bands(),
            tracker is not None and tracker.calibrated,
            self.camera_calibrated,
            self.user_paused,
            self.silent_sensors,
            self.out_of_frame,
            self.session_id,
        )
        if self._state is not None and self._state_key == (key, self._state):
            return []
        events = self._state_if_changed()
        self._state_key = (key, self._state)
        return events

    # -- state ---------------------------------------------------------------------------
    def state_event(self) -> StateEvent:
        """The session's state now."""
        reps = self.engine.reps
        gauge, targets, measures = gauge_state(self.engine)
        reason: PausedReason | None = None
        if self.silent_sensors:
            reason = "sensor-silent"
        elif self.out_of_frame:
            reason = "out-of-frame"
        elif self.user_paused:
            reason = "user"
        calibrated = (
            self.camera_calibrated
            if self.camera
            else self.tracker is not None and self.tracker.calibrated
        )
        return StateEvent(
            calibrated=calibrated,
            position=self.engine.position,
            reps=len(reps),
            set=reps[-1].set_index if reps else 0,
            paused=self.paused,
            target_band_deg=gauge.band_deg,
            paused_reason=reason,
            silent_sensors=self.silent_sensors,
            session_id=self.session_id,
            gauge=gauge,
            targets=targets,
            measures=measures,
        )

    @property
    def paused(self) -> bool:
        """Paused by the person, because a sensor went silent, or (camera) because the
        person is out of the picture."""
        return self.user_paused or bool(self.silent_sensors) or self.out_of_frame

    def _state_if_changed(self) -> list[LiveEvent]:
        state = self.state_event()
        if state == self._state:
            return []
        self._state = state
        return [state]

    def set_paused(self, paused: bool) -> list[LiveEvent]:
        self.user_paused = paused
        return self._state_if_changed()

    def set_silent(self, placements: Sequence[str]) -> list[LiveEvent]:
        """Sensors that sent nothing for the timeout (empty: data flows again)."""
        self.silent_sensors = tuple(placements)
        return self._state_if_changed()

    def set_camera(self, *, calibrated: bool, out_of_frame: bool) -> list[LiveEvent]:
        """A camera session's calibration and framing state (from the camera pump)."""
        self.camera_calibrated = calibrated
        self.out_of_frame = out_of_frame
        return self._state_if_changed()

    def finish(self) -> list[LiveEvent]:
        """End the session: its summary (once)."""
        if self.finished:
            return []
        out: list[LiveEvent] = []
        if self.tracker is not None:
            # A protocol-free calibration still undecided holds its frames: decide now
            # with what came, so the reps in them are counted (motion.MotionTracker).
            for frame in self.tracker.finish():
                self._frame(frame.time_s, frame.angles, frame.flags, out)
            if self.recorder is not None and out:
                self.recorder.add_results(self.engine.reps, self.engine.cues.cues)
        self.finished = True
        self.result = self.engine.result()
        breath = self.result.info.get("breath")
        return [*out, SummaryEvent(result=self.result.as_dict(), breath=breath)]


#: How a pump hands a chunk's events to its face.
Emit = Callable[[list[LiveEvent]], Awaitable[None]]
