"""The simulator's replay into a live session: :func:`replay_simulation` feeds a
:class:`~spinecoach.sources.simulated.SimulatedSource` to a
:class:`~spinecoach.coach.session.LiveSession` as time passes (``speed`` × real time),
:class:`ReplayPump` runs it as a pump of the one runner (:mod:`spinecoach.coach.runner`),
and :class:`ReplayControl` pauses, resumes and stops it (the terminal's keys, the
browser's buttons).
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Final

import numpy as np

from spinecoach.coach.events import CueEvent, LiveEvent
from spinecoach.coach.session import UI_FRAME_RATE_HZ, Emit, LiveSession
from spinecoach.motion.stream import SensorSample
from spinecoach.sources.simulated import SimulatedSource

#: Most simulated data (s) processed in one worker-thread call.
MAX_REPLAY_CHUNK_S: Final = 0.25
#: Wall-clock tick (s) of a real-time replay: one UI frame.
REPLAY_TICK_S: Final = 1.0 / UI_FRAME_RATE_HZ
#: A hole longer than this (s) between two consecutive items of a simulated source is a
#: sensor silence (a rehearsed drop-out): the replay stops at its edge and lets it last
#: its full length in wall time, even when processing has fallen behind the clock, so a
#: backlog never compresses a silence into nothing.
REPLAY_SILENCE_S: Final = 0.2


class ReplayControl:
    """Pause, resume and stop of a running replay (used from the event loop)."""

    def __init__(self) -> None:
        self._running = asyncio.Event()
        self._running.set()
        self.stopped = False

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self.stopped = True
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    async def wait_running(self) -> None:
        await self._running.wait()


def _completing_sample_s(source: SimulatedSource, t_s: float, placements: Sequence[str]) -> float:
    """Time (s) of the sample that completed the frame at ``t_s``: the first after which
    every sensor has a sample at or after ``t_s`` (when the tracker emits that frame).
    ``t_s`` comes rounded to 0.1 ms in the message, hence the half-unit tolerance."""
    t_s -= 5e-5
    seen: set[str] = set()
    for k in range(bisect.bisect_left(source.times_s, t_s), len(source.items)):
        item = source.items[k]
        if isinstance(item, SensorSample):
            seen.add(item.placement)
            if len(seen) == len(placements):
                return item.time_s
    return t_s


async def replay_simulation(
    session: LiveSession,
    source: SimulatedSource,
    *,
    speed: float,
    control: ReplayControl,
    clock: Callable[[], float] | None = None,
) -> AsyncIterator[list[LiveEvent]]:
    """Feed ``source`` to ``session`` as time passes (``speed`` × real time).

    Yields the messages of each processed chunk; stops early when ``control`` is stopped.
    Paused time does not count. Each ``cue`` gets ``wall_ms``: the Unix time (ms) at which
    the sample that triggered it came due.
    """
    now = clock or asyncio.get_running_loop().time
    n = len(source.items)
    i = 0
    t0 = source.times_s[0] if n else 0.0
    wall_start = now()
    to_unix_s = time.time() - wall_start  # the loop clock → Unix time, read once

    def due_unix_ms(cue: CueEvent) -> float:
        time_s = _completing_sample_s(source, cue.t, session.placements)
        return round(1e3 * (to_unix_s + wall_start + (time_s - t0) / speed), 1)

    times = np.asarray(source.times_s)
    silences = (np.flatnonzero(np.diff(times) > REPLAY_SILENCE_S) + 1).tolist()
    while i < n and not control.stopped:
        if control.paused:
            paused_at = now()
            yield session.set_paused(True)
            await control.wait_running()
            wall_start += now() - paused_at
            yield session.set_paused(False)
            continue
        due_s = t0 + (now() - wall_start) * speed
        limit = source.times_s[i] + MAX_REPLAY_CHUNK_S
        j = bisect.bisect_right(source.times_s, min(due_s, limit), lo=i)
        k = bisect.bisect_right(silences, i)
        silence_next = k < len(silences) and j >= silences[k]
        if silence_next:
            j = silences[k]  # stop at the silence's edge
        if j == i:
            wait_s = (source.times_s[i] - due_s) / speed
            await asyncio.sleep(min(max(wait_s, 0.0), REPLAY_TICK_S))
            continue
        chunk = source.items[i:j]
        i = j
        messages = await asyncio.to_thread(session.feed, chunk)
        if silence_next:  # the silence starts now, whatever backlog there was
            wall_start = max(wall_start, now() - (source.times_s[j - 1] - t0) / speed)
        if messages:
            yield [
                dataclasses.replace(m, wall_ms=due_unix_ms(m)) if isinstance(m, CueEvent) else m
                for m in messages
            ]
        else:
            await asyncio.sleep(0)


class ReplayPump:
    """A simulated session as a pump of the runner: :func:`replay_simulation` of
    ``source`` into ``session`` at ``speed`` × real time, each chunk's events handed to
    ``emit``. Pause, resume and stop go through ``control`` (shared with a face that
    has its own keys)."""

    def __init__(
        self,
        session: LiveSession,
        source: SimulatedSource,
        emit: Emit,
        *,
        speed: float,
        control: ReplayControl | None = None,
    ) -> None:
        self.session = session
        self.source = source
        self.emit = emit
        self.speed = speed
        self.control = control or ReplayControl()
        #: The replay reports its own pause (state event), so the runner does not.
        self.reports_pause = True

    @property
    def paused(self) -> bool:
        return self.control.paused

    @paused.setter
    def paused(self, paused: bool) -> None:
        if paused:
            self.control.pause()
        else:
            self.control.resume()

    @property
    def received(self) -> dict[str, int]:
        """Samples fed so far by sensor (the watchdog's count)."""
        return self.session.samples_by_placement

    def stop(self) -> None:
        self.control.stop()
        self.source.close()

    async def run(self) -> str:
        """Until the recording's end or :meth:`stop`; returns "" (nothing to say)."""
        async for events in replay_simulation(
            self.session, self.source, speed=self.speed, control=self.control
        ):
            await self.emit(events)
        return ""
