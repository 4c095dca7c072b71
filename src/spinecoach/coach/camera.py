"""Coaching from the camera: the pump that feeds a camera
:class:`~spinecoach.coach.session.LiveSession` from a
:class:`~spinecoach.camera.source.CameraSource`.

A reader task consumes the source as a :class:`~spinecoach.sources.base.Source` (its
async iteration reads each image with OpenCV and finds the pose with MediaPipe in a worker
thread: tens of milliseconds per frame, never on the event loop) and queues each
:class:`~spinecoach.camera.source.CameraFrame`, reading ahead while the session works.
The pump takes what has arrived, runs it through the
:class:`~spinecoach.camera.live.CameraCoach` and the session in a worker thread (one call
at a time), and gives the resulting events to ``emit`` (each cue stamped with the Unix
time, ms, its frames were processed): the session's frames, reps, cues, calibration
windows and state, and a camera event (what the camera sees and what to fix) when it
changes and every :data:`STATUS_INTERVAL_S`.

A video file (``video:PATH``) plays at ``speed`` times real time (its own time stamps);
a webcam runs in real time. When the video ends :meth:`CameraPump.run` returns
``"the video ended"`` and the runner finishes the session with its summary; a webcam
that stops delivering images raises :class:`CameraEnded`. While the person pauses, frames
are read (the camera status stays live) but not given to the coach or the engine, so no
rep spans a pause. Frames are never stored; only the engine's angle frames are (by the
session's recorder).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Final

from spinecoach.camera.live import AngleFrame, CameraCoach, CameraStatus
from spinecoach.camera.source import CameraFrame, CameraSource
from spinecoach.coach.events import CameraEvent, LiveEvent, stamp_cues
from spinecoach.coach.session import CAMERA_PLACEMENT, Emit, LiveSession
from spinecoach.errors import SpinecoachError
from spinecoach.recording import Event

#: Seconds between two ``camera`` messages when nothing changes.
STATUS_INTERVAL_S: Final = 0.5
#: Most frames handed to the worker thread in one call.
MAX_BATCH: Final = 30
#: Longest single wait (s) of a video's pacing: how soon a stop is noticed.
PACE_TICK_S: Final = 0.05
#: Seconds a stopped session waits for the frame under way before leaving the camera.
READER_WAIT_S: Final = 5.0


class CameraEnded(SpinecoachError):
    """The camera stopped delivering images (or failed to open) during a session."""


_END: Final = object()


@dataclass
class CameraPump:
    """Feed ``session`` from ``source`` through ``coach`` (see the module docstring)."""

    session: LiveSession
    source: CameraSource
    coach: CameraCoach
    emit: Emit
    speed: float = 1.0
    paused: bool = False
    #: Frames read from the camera since the start (fed or not), for the watchdog.
    received: dict[str, int] = field(default_factory=lambda: {CAMERA_PLACEMENT: 0})
    _last_status: CameraEvent | None = None
    _last_status_wall: float = 0.0
    _frame_walls: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _first_wall: float = math.nan
    #: The camera reports no pause of its own: the runner says it (a state event).
    reports_pause = False

    def stop(self) -> None:
        """End the session from any thread: :meth:`run` returns after the frame under way."""
        self._stop.set()
        self.source.close()

    async def _read(self, queue: asyncio.Queue[object], stop: threading.Event) -> None:
        """The source's frames by its async iteration (each read and estimated in a
        worker thread), a video paced to ``speed`` × its own clock, into ``queue``; then
        the end, or the error the source ended with."""
        paced = self.source.spec.kind == "video"
        origin: float | None = None
        try:
            async for frame in self.source:
                if stop.is_set():  # the source is closed: its iteration ends by itself
                    continue
                if paced:
                    now = time.monotonic()
                    if origin is None:
                        origin = now - frame.time_s / self.speed
                    due = origin + frame.time_s / self.speed
                    while not stop.is_set() and (delay := due - time.monotonic()) > 0:
                        await asyncio.sleep(min(delay, PACE_TICK_S))
                queue.put_nowait(frame)
            queue.put_nowait(_END)
        except Exception as error:  # handed to the pump, raised there
            queue.put_nowait(error)

    async def run(self) -> str:
        """Until :meth:`stop` (returns "") or the video's end (returns why); raises
        :class:`CameraEnded` when a webcam stops or fails. Cancelling it stops too."""
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = self._stop
        reader = asyncio.create_task(self._read(queue, stop))
        inflight: asyncio.Future[list[LiveEvent]] | None = None
        try:
            while True:
                item = await queue.get()
                batch: list[CameraFrame] = []
                ended = False
                while True:
                    if item is _END:
                        ended = True
                        break
                    if isinstance(item, BaseException):
                        if isinstance(item, SpinecoachError):
                            raise CameraEnded(str(item)) from item
                        raise CameraEnded(f"the camera failed: {item!r}") from item
                    assert isinstance(item, CameraFrame)
                    batch.append(item)
                    if queue.empty() or len(batch) >= MAX_BATCH:
                        break
                    item = queue.get_nowait()
                if batch:
                    self.received[CAMERA_PLACEMENT] += len(batch)
                    now = time.monotonic()
                    if math.isnan(self._first_wall):
                        self._first_wall = now
                    self._frame_walls = [w for w in self._frame_walls if w > now - 1.0]
                    self._frame_walls.extend([now] * len(batch))
                    # Shielded: a stop cancels the wait, never the session call under way.
                    inflight = asyncio.ensure_future(asyncio.to_thread(self._feed, batch))
                    messages = await asyncio.shield(inflight)
                    if messages:
                        await self.emit(stamp_cues(messages, time.time() * 1e3))
                if ended:
                    if stop.is_set():
                        return ""
                    if self.source.spec.kind == "video":
                        return "the video ended"
                    raise CameraEnded(
                        f"{self.source.spec.label} stopped delivering images (unplugged, or "
                        "taken by another program?)"
                    )
        finally:
            stop.set()
            self.source.close()
            if inflight is not None and not inflight.done():
                with contextlib.suppress(Exception):
                    await inflight
            # The frame under way is read to its end (the source then stops); a camera
            # that hangs is left after READER_WAIT_S.
            done, _ = await asyncio.wait({reader}, timeout=READER_WAIT_S)
            if not done:
                reader.cancel()

    def _feed(self, batch: list[CameraFrame]) -> list[LiveEvent]:
        """Frames through the coach and the session (worker thread, one call at a time)."""
        out: list[LiveEvent] = []
        status: CameraStatus | None = None
        if self.paused:
            # Read but not coached: the camera status stays live, no rep spans the pause.
            status = self.coach.status_of(batch[-1])
        else:
            items: list[AngleFrame | Event] = []
            for frame in batch:
                update = self.coach.process(frame)
                items.append(update.frame)
                items.extend(update.windows)
                status = update.status
            out.extend(self.session.feed_frames(items))
            assert status is not None
            out.extend(
                self.session.set_camera(
                    calibrated=status.calibrated, out_of_frame=status.out_of_frame
                )
            )
        out.extend(self._status_message(status))
        return out

    def _status_message(self, status: CameraStatus) -> list[LiveEvent]:
        walls = self._frame_walls
        # Frames over the last second, once a whole second has been seen.
        fps = len(walls) if walls and walls[-1] - self._first_wall >= 1.0 else None
        message = CameraEvent(
            step=status.step,
            person=status.person,
            framed=status.framed,
            messages=tuple(status.messages),
            view=status.view,
            fps=None if fps is None else float(fps),
            source=self.source.spec.label,
        )
        now = time.monotonic()
        changed = self._last_status is None or dataclasses.replace(
            message, fps=None
        ) != dataclasses.replace(self._last_status, fps=None)
        if not changed and now - self._last_status_wall < STATUS_INTERVAL_S:
            return []
        self._last_status = message
        self._last_status_wall = now
        return [message]
