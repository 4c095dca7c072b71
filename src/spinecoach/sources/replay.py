"""A recording file replayed as if live, at ``speed`` × real time: :class:`FileReplaySource`.

The items are the recording's samples and windows in time order, exactly as
:class:`~spinecoach.sources.simulated.SimulatedSource` orders them (times in seconds of
the recording), each handed out when it comes due: at ``(time_s − first time_s) / speed``
seconds after the iteration started. A hole in the recording (a sensor drop-out) is
replayed as a pause of its length / ``speed`` and passed on as the jump in the items'
times; nothing is filled in.

The file is read when the iteration starts (in a worker thread, by the reader given:
:func:`spinecoach.io.load_recording`, any format it knows): a file that cannot be read
ends the iteration with its :class:`~spinecoach.errors.InputFormatError` (naming the file,
the line and the fix), status ``failed``. :meth:`FileReplaySource.close` ends the
iteration within :data:`TICK_S`.

Design choice: the reader is given, not imported: ``sources`` does not import ``io``,
which reads camera files (``io → camera → sources``: the import would close a cycle).
The source paces the items and nothing more; the coach's
:func:`~spinecoach.coach.replay_pump.replay_simulation` (a simulated session, with pause,
resume and the cue times the page shows) keeps its own pacing of a
:class:`~spinecoach.sources.simulated.SimulatedSource`.

>>> import asyncio
>>> from spinecoach.sim import simulate
>>> source = FileReplaySource.from_recording(
...     simulate("pelvic-tilt", seed=1, reps=1), speed=1000.0)
>>> async def first_second():
...     return [item async for item in source if getattr(item, "time_s", 0.0) < 1.0]
>>> items = asyncio.run(first_second())
>>> len(items) > 100, source.status.state
(True, 'closed')
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

from spinecoach.errors import ConfigurationError, SpinecoachError
from spinecoach.recording import Recording
from spinecoach.sources.base import SourceState, SourceStatus
from spinecoach.sources.simulated import Item, SimulatedSource

#: Longest single wait (s): how soon a close is noticed while the replay waits.
TICK_S: Final = 0.05


class FileReplaySource:
    """A recording replayed at ``speed`` × real time (see the module docstring).

    ``load`` reads the recording (called once, in a worker thread, when the iteration
    starts); ``name`` says which (a file's path) in the status; ``clock`` is the
    monotonic clock (s) of the pacing (default: the event loop's).
    """

    def __init__(
        self,
        load: Callable[[], Recording],
        *,
        speed: float = 1.0,
        name: str = "recording",
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ConfigurationError(
                f"speed must be a replay speed above 0 (1 = real time), got {speed!r}"
            )
        self.load = load
        self.speed = float(speed)
        self.name = name
        self._clock = clock
        self._state: SourceState = "ready"
        self._detail = ""

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        read: Callable[..., Recording],
        *,
        speed: float = 1.0,
        **read_options: Any,
    ) -> FileReplaySource:
        """Replay the recording file at ``path``, read by ``read(path, **read_options)``
        when the iteration starts: :func:`spinecoach.io.load_recording` (any format it
        knows; ``format``, ``rate_hz``, ``placement``, ``mapping``)."""
        return cls(lambda: read(path, **read_options), speed=speed, name=os.fspath(path))

    @classmethod
    def from_recording(cls, recording: Recording, *, speed: float = 1.0) -> FileReplaySource:
        """Replay a recording already read."""
        return cls(
            lambda: recording, speed=speed, name=str(recording.meta.get("source", "recording"))
        )

    @property
    def status(self) -> SourceStatus:
        """``ready``, ``running``, ``closed`` (at the end or closed) or ``failed`` (the
        file could not be read: its error)."""
        return SourceStatus(self._state, self._detail)

    def close(self) -> None:
        """End the iteration (within :data:`TICK_S`); idempotent."""
        if self._state in ("ready", "running"):
            self._state, self._detail = "closed", "closed"

    async def __aiter__(self) -> AsyncIterator[Item]:
        if self._state != "ready":
            return
        self._state, self._detail = "running", f"replaying {self.name} at {self.speed:g}×"
        try:
            recording = await asyncio.to_thread(self.load)
        except SpinecoachError as error:
            self._state, self._detail = "failed", str(error)
            raise
        ordered = SimulatedSource.from_recording(recording)
        now = self._clock or asyncio.get_running_loop().time
        start = now()
        first_s = ordered.times_s[0] if ordered.times_s else 0.0
        for time_s, item in zip(ordered.times_s, ordered.items, strict=True):
            due = start + (time_s - first_s) / self.speed
            while self._state == "running" and (wait := due - now()) > 0:
                await asyncio.sleep(min(wait, TICK_S))
            if self._state != "running":
                return
            yield item
        if self._state == "running":
            self._state, self._detail = "closed", f"{self.name}: replayed to its end"


__all__ = ["TICK_S", "FileReplaySource"]
