"""Store first, then process: the backlog of one ``/ws/live`` session fed by its client.

The connection's reader reads every ``samples`` and ``annotation`` message as it
arrives, checks it and hands its samples to the session's recorder at once
(:meth:`~spinecoach.coach.session.LiveSession.receive_batch`: queued for the shared
commit loop, :mod:`spinecoach.store.live_commits`), then puts them in this backlog. A
processing task runs behind: it takes what waits and runs it through the tracker and
the engine in a worker thread (:meth:`~spinecoach.coach.session.LiveSession.process`).
So an overloaded server never leaves samples unread in the socket and never loses a
sample it received; it only shows the person their session later.

Catching up. When more than one message waits, the task processes them together, up to
:data:`MAX_BLOCK_SAMPLES` samples in one call (fewer thread hops, larger vectorised
blocks), and sends only the newest ``frame`` of that block: frames to the client are
dropped, never samples to the store; reps, cues, phases and states are always sent.

Telling the client. When the oldest message of a block waited more than
:data:`BEHIND_NOTICE_S`, the client gets a ``behind`` message (``behind_s``: how long
it waited; ``queued_samples``: samples still waiting; ``frames_skipped``: frames not
sent so far), at most every :data:`BEHIND_REPEAT_S`; once caught up (a block that
waited less than half of :data:`BEHIND_NOTICE_S` and nothing queued) one more with
``behind_s`` 0.

Bounds. The backlog holds at most :data:`MAX_BACKLOG_SAMPLES` samples (30 s of two
sensors at 100 Hz, about 2 MB). When a new message would pass it, the reader waits for
room (TCP back-pressure: a client replaying a recording as fast as it can is slowed
down, and everything is processed), but for at most :data:`MAX_WAIT_S` over a run of
full backlogs: a client that outpaces the processing for that long has its oldest
waiting messages skipped instead, until a message finds room again. Skipped messages
are not processed (their annotations are: calibration windows stay known), the session
jumps ahead to what is recent, and ``behind`` says so (``skipped_samples``, and
``skipped_to_s``: the session time up to which it skipped). Those samples are stored
like every other (they went to the recorder when they arrived), so the stored recording
is complete; only the live coaching over that span is missing (its reps are not in the
live result; the stored samples can be analysed again). The reader never waits longer:
waiting leaves the client's messages, and its keepalive answers, unread in the socket,
and a client or server closes a connection whose pings go unanswered for 20 s. The store's
own queue (the recorder) is bounded separately (:mod:`spinecoach.store.live_buffer`:
when the database cannot be written for 20 min, the oldest unsaved samples are kept,
the newer not, and the client is told ``not-saved``).

>>> BEHIND_NOTICE_S < BEHIND_REPEAT_S
True
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from spinecoach.coach.events import FrameEvent, LiveEvent, stamp_cues
from spinecoach.coach.session import LiveSession
from spinecoach.recording import Event
from spinecoach.sources.simulated import Item
from spinecoach.web.protocol import (
    ClientMessage,
    SamplesMessage,
    check_samples,
    parse_client_message,
)

#: Most samples waiting to be processed per session; past it the oldest are skipped.
MAX_BACKLOG_SAMPLES: Final = 6000
#: Longest the reader waits for room (s) over a run of full backlogs; then it skips:
#: well within the 20 s after which unanswered pings close a socket.
MAX_WAIT_S: Final = 3.0
#: A block of at most this many items (one message of each sensor, 10 samples each) is
#: processed on the event loop: about 0.2 ms, less than handing it to the thread and
#: back (two switches of the interpreter lock, up to 5 ms each when the thread is busy).
INLINE_MAX_ITEMS: Final = 24
#: A merged block whose oldest message waited longer than this (s) is catching up: only
#: its newest frame is sent. (Both sensors' messages of one moment are merged too, and
#: keep all their frames.)
CATCH_UP_S: Final = 0.2
#: Most samples processed in one worker-thread call while catching up.
MAX_BLOCK_SAMPLES: Final = 1000
#: A block whose oldest message waited longer than this (s) makes the session "behind".
BEHIND_NOTICE_S: Final = 0.5
#: Seconds between two ``behind`` messages while the session stays behind.
BEHIND_REPEAT_S: Final = 1.0


class BehindMessage(BaseModel):
    """``behind``: the session's processing runs late (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["behind"] = "behind"
    behind_s: float
    queued_samples: int
    frames_skipped: int
    skipped_samples: int = 0
    skipped_to_s: float | None = None


_EXECUTOR: list[concurrent.futures.ThreadPoolExecutor] = []


def _processing() -> concurrent.futures.ThreadPoolExecutor:
    """The one thread of this process that processes client-fed sessions: one, not the
    default pool's six, so the event loop (reading every message, answering pings) is
    not starved of the interpreter lock by many processing threads; the work is
    Python-bound, a second thread would not make it faster."""
    if not _EXECUTOR:
        _EXECUTOR.append(
            concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="live-processing")
        )
    return _EXECUTOR[0]


@dataclass(frozen=True)
class _Work:
    items: list[Item]
    samples: int
    received_s: float  # the loop's clock
    received_ms: float  # Unix ms (cue stamps)


Report = Callable[[Exception], Awaitable[None]]


class Backlog:
    """The processing queue of one client-fed session (see the module docstring).

    ``emit`` gets the events to send, ``tell`` the ``behind`` messages, ``report`` an
    error raised while processing (the session goes on with the next message)."""

    def __init__(
        self,
        session: LiveSession,
        *,
        emit: Callable[[Sequence[LiveEvent]], Awaitable[None]],
        tell: Callable[[BehindMessage], Awaitable[None]],
        report: Report,
        max_samples: int = MAX_BACKLOG_SAMPLES,
        block_samples: int = MAX_BLOCK_SAMPLES,
    ) -> None:
        self.session = session
        self.emit = emit
        self.tell = tell
        self.report = report
        self.max_samples = max_samples
        self.block_samples = block_samples
        self._queue: collections.deque[_Work] = collections.deque()
        self.queued_samples = 0
        self.frames_skipped = 0
        #: Samples not processed (stored all the same) because the backlog was full, and
        #: the session time (s) of the newest of them.
        self.skipped_samples = 0
        self.skipped_to_s: float | None = None
        self._has_work = asyncio.Event()
        self._room = asyncio.Event()
        self._waited_s = 0.0  # waited for room in this run of full backlogs
        self._skipping = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._behind = False
        self._told_s = -float("inf")
        self._clock = asyncio.get_running_loop().time
        self._task = asyncio.create_task(self._run())

    async def put(self, items: list[Item]) -> None:
        """Queue ``items`` (received and handed to the recorder already) for processing.
        While the backlog is full the reader waits for room — until it has waited
        :data:`MAX_WAIT_S` in a row of full backlogs: from then on the oldest waiting
        messages are skipped instead, until a message finds room (see the module
        docstring)."""
        samples = sum(1 for item in items if not isinstance(item, Event))
        skipped = 0
        found_room = True
        while self._queue and self.queued_samples + samples > self.max_samples:
            found_room = False
            if self._skipping or self._waited_s >= MAX_WAIT_S:
                self._skipping = True
                skipped += self._skip_oldest()
                continue
            began = self._clock()
            self._room.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room.wait(), MAX_WAIT_S - self._waited_s)
            self._waited_s += self._clock() - began
        if found_room:  # the client does not outpace the processing (now)
            self._waited_s, self._skipping = 0.0, False
        self._queue.append(_Work(items, samples, self._clock(), time.time() * 1e3))
        self.queued_samples += samples
        self._idle.clear()
        self._has_work.set()
        if skipped:
            self.skipped_samples += skipped
            now = self._clock()
            if not self._behind or now - self._told_s >= BEHIND_REPEAT_S:
                self._behind, self._told_s = True, now
                await self.tell(self._message(now - self._queue[0].received_s))

    def _skip_oldest(self) -> int:
        """Skip the oldest waiting message's samples, keeping its annotations (they go
        with the next message); how many samples were skipped."""
        oldest = self._queue.popleft()
        self.queued_samples -= oldest.samples
        kept: list[Item] = [item for item in oldest.items if isinstance(item, Event)]
        times = [item.time_s for item in oldest.items if not isinstance(item, Event)]
        if times:
            self.skipped_to_s = max(self.skipped_to_s or times[-1], max(times))
        if kept:
            if self._queue:
                following = self._queue[0]
                self._queue[0] = _Work(
                    kept + following.items, following.samples, oldest.received_s, oldest.received_ms
                )
            else:
                self._queue.append(_Work(kept, 0, oldest.received_s, oldest.received_ms))
        return oldest.samples

    async def drain(self) -> None:
        """Wait until everything queued is processed (before the session's summary)."""
        if self._idle.is_set() or self._task.done():
            return
        idle = asyncio.ensure_future(self._idle.wait())
        try:
            await asyncio.wait({self._task, idle}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            idle.cancel()

    async def close(self) -> None:
        """Stop processing (what is queued is not processed; it is stored already)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def _take(self) -> tuple[list[_Work], list[Item]]:
        works: list[_Work] = []
        items: list[Item] = []
        n = 0
        while self._queue and (not works or n + self._queue[0].samples <= self.block_samples):
            work = self._queue.popleft()
            works.append(work)
            items.extend(work.items)
            n += work.samples
        self.queued_samples -= n
        self._room.set()
        return works, items

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                self._has_work.clear()
                await self._has_work.wait()
                continue
            await asyncio.sleep(0)  # the other sensor's message, read in the same turn
            works, items = self._take()
            waited_s = self._clock() - works[0].received_s
            try:
                if len(items) <= INLINE_MAX_ITEMS:  # a message's worth: cheaper than a hop
                    events = self.session.process(items)
                else:
                    events = await asyncio.get_running_loop().run_in_executor(
                        _processing(), self.session.process, items
                    )
            except Exception as error:  # the client is told; the next message goes on
                await self.report(error)
                continue
            if len(works) > 1 and waited_s > CATCH_UP_S:
                events = self._latest_frame_only(events)
            await self.emit(stamp_cues(events, works[-1].received_ms))
            await self._tell_behind(waited_s)

    def _latest_frame_only(self, events: list[LiveEvent]) -> list[LiveEvent]:
        """Catching up: every event but the frames, and the newest frame."""
        frames = [i for i, e in enumerate(events) if isinstance(e, FrameEvent)]
        if len(frames) < 2:
            return events
        self.frames_skipped += len(frames) - 1
        drop = set(frames[:-1])
        return [e for i, e in enumerate(events) if i not in drop]

    async def _tell_behind(self, waited_s: float) -> None:
        now = self._clock()
        if waited_s > BEHIND_NOTICE_S:
            if not self._behind or now - self._told_s >= BEHIND_REPEAT_S:
                self._behind, self._told_s = True, now
                await self.tell(self._message(waited_s))
        elif self._behind and waited_s < BEHIND_NOTICE_S / 2 and not self._queue:
            self._behind, self._told_s = False, now
            await self.tell(self._message(0.0))

    def _message(self, behind_s: float) -> BehindMessage:
        return BehindMessage(
            behind_s=round(behind_s, 3),
            queued_samples=self.queued_samples,
            frames_skipped=self.frames_skipped,
            skipped_samples=self.skipped_samples,
            skipped_to_s=None if self.skipped_to_s is None else round(self.skipped_to_s, 4),
        )


def parse_message(text: str | bytes) -> ClientMessage:
    """:func:`~spinecoach.web.protocol.parse_client_message`, with a fast path for the
    common message: a ``samples`` message is parsed and validated in one step from its
    JSON (pydantic's parser: about 12 µs for 10 samples, against 80 µs for ``json.loads``
    of full-precision floats). Anything the fast path does not take goes the usual way,
    so the errors are the same."""
    if isinstance(text, str) and '"samples"' in text[:40]:
        try:
            message = SamplesMessage.model_validate_json(text)
        except ValidationError:
            return parse_client_message(text)
        check_samples(message)
        return message
    return parse_client_message(text)


def samples_of(message: SamplesMessage) -> tuple[np.ndarray, ...]:
    """A checked ``samples`` message's arrays (s, m/s², deg/s, µT)."""
    return (
        np.asarray(message.t, dtype=np.float64),
        np.asarray(message.acc_mps2, dtype=np.float64),
        np.asarray(message.gyr_dps, dtype=np.float64),
    )


__all__ = [
    "BEHIND_NOTICE_S",
    "BEHIND_REPEAT_S",
    "CATCH_UP_S",
    "INLINE_MAX_ITEMS",
    "MAX_BACKLOG_SAMPLES",
    "MAX_BLOCK_SAMPLES",
    "MAX_WAIT_S",
    "Backlog",
    "BehindMessage",
    "parse_message",
    "samples_of",
]
