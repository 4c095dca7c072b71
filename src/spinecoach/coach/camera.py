"""Coaching from the camera: the pump that feeds a camera
:class:`~spinecoach.coach.session.LiveSession` from a
:class:`~spinecoach.camera.source.CameraSource`.

A reader thread iterates the source (OpenCV reads the image, MediaPipe finds the pose:
tens of milliseconds per frame, never on the event loop) and hands each
:class:`~spinecoach.camera.source.CameraFrame` to the loop. The pump takes what has
arrived, runs it through the :class:`~spinecoach.camera.live.CameraCoach` and the session
in a worker thread (one call at a time), and gives the resulting events to ``emit`` (each
cue stamped with the Unix time, ms, its frames were processed):
the session's frames, reps, cues, calibration windows and state, and a camera event
(what the camera sees and what to fix) when it changes and every
:data:`STATUS_INTERVAL_S`.

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
from collections.abc import Iterator
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

    def _frames(self, stop: threading.Event) -> Iterator[CameraFrame]:
        """The source's frames, a video paced to ``speed`` × its own clock."""
        paced = self.source.spec.kind == "video"
        origin: float | None = None
        for frame in self.source:
            if stop.is_set():
                return
            if paced:
                now = time.monotonic()
                if origin is None:
                    origin = now - frame.time_s / self.speed
                delay = origin + frame.time_s / self.speed - now
                if delay > 0:
                    stop.wait(delay)
            yield frame

    async def run(self) -> str:
        """Until :meth:`stop` (returns "") or the video's end (returns why); raises
        :class:`CameraEnded` when a webcam stops or fails. Cancelling it stops too."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = self._stop

        def read() -> None:
            try:
                for frame in self._frames(stop):
                    loop.call_soon_threadsafe(queue.put_nowait, frame)
                loop.call_soon_threadsafe(queue.put_nowait, _END)
            except BaseException as error:  # handed to the loop, raised there
                with contextlib.suppress(RuntimeError):  # the loop is gone
                    loop.call_soon_threadsafe(queue.put_nowait, error)

        reader = threading.Thread(target=read, name="spinecoach-camera", daemon=True)
        reader.start()
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
            await asyncio.to_thread(reader.join, 5.0)

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
