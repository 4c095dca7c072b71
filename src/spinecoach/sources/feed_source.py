"""A device's feed as a :class:`~spinecoach.sources.base.Source`: :class:`FeedSource`,
and :class:`PulledFeedSource`, the mixin that makes a pulled source (BLE, phyphox) one.

Every real sensor pushes into its :class:`~spinecoach.sources.live.DeviceFeed` (clock
alignment, duplicates, gaps, buffer; see :mod:`spinecoach.sources.live`). A
:class:`FeedSource` reads that feed as the protocol says:

* items are :class:`~spinecoach.motion.stream.SensorSample` on the host's monotonic clock
  minus ``origin_host_s`` (s), placement: the one given, else the feed's, else its id;
* a gap the feed marked (``gap_before``) comes as an :class:`~spinecoach.recording.Event`
  of kind ``gap`` from the last sample before the hole to the first after it (its
  ``placement`` as the samples'), just before that sample; nothing is filled in;
* ``runner``: a pulled source (its ``run()`` is started with the iteration and cancelled
  by :meth:`FeedSource.close`); without one, whoever pushes into the feed (the server's
  Sensor Logger route, a test) feeds it;
* ``status``: ``ready``, ``running`` (its detail: the feed's sentence, e.g.
  "reconnecting in 0.5 s"), ``closed``, ``failed``;
* errors: a runner that raises ends the iteration with its error (a
  :class:`~spinecoach.errors.SpinecoachError` as it is, anything else as a
  :class:`~spinecoach.sources.base.SourceFailedError` naming the device); a runner that
  stops on an unrecoverable error (``error`` set, as
  :class:`~spinecoach.sources.ble.BleDeviceSource` does) or a feed whose state turns
  ``failed`` (a phone that does not send its gyroscope) ends it with that error, or a
  :class:`~spinecoach.sources.base.SourceFailedError` with the feed's sentence.

Design choice: the feed stays the one place a transport pushes into (the web page and the
terminal coach read its status; several sessions may subscribe); the Source is a reader
on top of it, so no transport changes behaviour for its existing callers.

>>> import asyncio, numpy as np
>>> from spinecoach.sources.live import DeviceFeed
>>> feed = DeviceFeed("demo:1", kind="demo", name="Demo sensor")
>>> source = FeedSource(feed, placement="lower", origin_host_s=100.0)
>>> async def first_two():
...     items = source.__aiter__()
...     pending = asyncio.ensure_future(anext(items))
...     await asyncio.sleep(0)  # the iteration has started: it reads the next batch
...     feed.push([0.0, 0.01], host_time_s=100.01, acc_mps2=np.tile([0, 0, 9.81], (2, 1)),
...               gyr_dps=np.zeros((2, 3)))
...     first = await pending
...     second = await anext(items)
...     source.close()
...     return [(s.placement, round(s.time_s, 2)) for s in (first, second)]
>>> asyncio.run(first_two()), source.status.state
([('lower', 0.0), ('lower', 0.01)], 'closed')
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias

from spinecoach.conventions import EVENT_GAP
from spinecoach.errors import SpinecoachError
from spinecoach.recording import Event
from spinecoach.sources.base import SourceFailedError, SourceState, SourceStatus
from spinecoach.sources.live import DeviceFeed, SampleBatch, Subscription

if TYPE_CHECKING:
    from spinecoach.motion.stream import SensorSample

#: One item of a device's source: a sample, or a gap before the next sample.
Item: TypeAlias = "SensorSample | Event"
#: How often (s) a waiting source looks at its runner and its feed's state.
POLL_S: Final = 0.05


class PulledRunner(Protocol):
    """A pulled source: ``run()`` keeps it going until cancelled (or its end)."""

    async def run(self) -> None: ...


class FeedSource:
    """The samples of ``feed`` as a Source (see the module docstring).

    ``runner``: the pulled source feeding it (started and stopped with the iteration);
    ``placement``: the samples' placement (default: the feed's, else its id);
    ``since_host_s``: start with the buffered samples after this host time (None: with
    the next batch); ``origin_host_s``: host time (s) that becomes 0 in the items.
    """

    def __init__(
        self,
        feed: DeviceFeed,
        *,
        runner: PulledRunner | None = None,
        placement: str | None = None,
        since_host_s: float | None = None,
        origin_host_s: float = 0.0,
    ) -> None:
        self.feed = feed
        self.runner = runner
        self.placement = placement
        self.since_host_s = since_host_s
        self.origin_host_s = origin_host_s
        #: The error the iteration ended with, if any.
        self.error: SpinecoachError | None = None
        self._state: SourceState = "ready"
        self._detail = ""
        self._closed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None

    @property
    def status(self) -> SourceStatus:
        """``ready``, ``running`` (detail: the feed's sentence), ``closed`` or ``failed``
        (detail: the error)."""
        if self._state == "running":
            return SourceStatus("running", self.feed.status().detail)
        return SourceStatus(self._state, self._detail)

    def close(self) -> None:
        """End the iteration (at once, also while it waits), stop the runner and leave
        the feed; idempotent."""
        if self._state in ("closed", "failed"):
            return
        self._state, self._detail = "closed", "closed"
        self._closed.set()
        self._release()

    def _release(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._subscription is not None:
            self.feed.unsubscribe(self._subscription)
            self._subscription = None

    async def __aiter__(self) -> AsyncIterator[Item]:
        # Imported here: importing spinecoach.motion costs ~0.8 s, which a pulled source's
        # module (BLE: ``spinecoach sensors scan``) should not pay when it is not iterated.
        from spinecoach.motion.stream import SensorSample

        if self._state != "ready":
            return
        self._state = "running"
        subscription = self._subscription = self.feed.subscribe(since_host_s=self.since_host_s)
        if self.runner is not None:
            self._task = asyncio.create_task(self.runner.run())
        placement = self.placement or self.feed.placement or self.feed.id
        last_s: float | None = None
        try:
            while self._state == "running":
                batch = await self._next(subscription)
                if batch is None:
                    continue
                times_s = (batch.time_s - self.origin_host_s).tolist()
                if batch.gap_before and last_s is not None:
                    yield Event(EVENT_GAP, last_s, times_s[0], placement=placement)
                for i, t in enumerate(times_s):
                    if self._state != "running":  # closed after the item in hand
                        return
                    mag = None if batch.mag_ut is None else batch.mag_ut[i]
                    yield SensorSample(placement, t, batch.acc_mps2[i], batch.gyr_dps[i], mag)
                last_s = times_s[-1]
        finally:
            self._release()
            task, self._task = self._task, None
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self._state == "running":
                self._state, self._detail = "closed", "ended"

    async def _next(self, subscription: Subscription) -> SampleBatch | None:
        """The next batch (None: closed, ended, or nothing came within :data:`POLL_S`);
        raises when the runner or the feed failed."""
        if not subscription.queue.empty():
            return await subscription.get()
        if self._check():  # the runner ended without an error: so does the source
            self._state, self._detail = "closed", "the device source ended"
            return None
        get = asyncio.ensure_future(subscription.get())
        closed = asyncio.ensure_future(self._closed.wait())
        waiting: set[asyncio.Future[Any]] = {get, closed}
        if self._task is not None:
            waiting.add(self._task)
        try:
            await asyncio.wait(waiting, timeout=POLL_S, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            if not get.done():
                get.cancel()
        if get.done() and not get.cancelled() and self._state == "running":
            return get.result()
        return None

    def _check(self) -> bool:
        """Raise the runner's or the feed's failure (status ``failed``); True when the
        runner ended without one."""
        task = self._task
        if task is not None and task.done():
            error = None if task.cancelled() else task.exception()
            stopped_on = getattr(self.runner, "error", None)
            if error is None and isinstance(stopped_on, BaseException):
                error = stopped_on
            if error is not None or self.feed.status().state == "failed":
                self._fail(error)
            return True
        if self.feed.status().state == "failed":
            self._fail(None)
        return False

    def _fail(self, error: BaseException | None) -> None:
        if isinstance(error, SpinecoachError):
            failure = error
        else:
            detail = self.feed.status().detail if error is None else str(error)
            failure = SourceFailedError(
                f"{self.feed.name}: {detail or type(error).__name__}"
                + ("" if error is None else "; check the device and start it again")
            )
        self.error = failure
        self._state, self._detail = "failed", str(failure)
        self._release()
        if failure is error:
            raise failure
        raise failure from error


class PulledFeedSource:
    """Mixin: a pulled source (with ``feed`` and ``run()``) is a Source itself — its
    ``status``, async iteration and ``close`` are those of one :class:`FeedSource` on its
    feed with it as the runner. :meth:`run` stays as it was (the server runs it under
    :func:`~spinecoach.sources.live.run_supervised`)."""

    feed: DeviceFeed

    async def run(self) -> None:
        raise NotImplementedError

    def feed_source(self) -> FeedSource:
        """The :class:`FeedSource` this source iterates through (made on first use)."""
        source = self.__dict__.get("_feed_source")
        if source is None:
            source = self.__dict__["_feed_source"] = FeedSource(self.feed, runner=self)
        return source

    @property
    def status(self) -> SourceStatus:
        return self.feed_source().status

    def __aiter__(self) -> AsyncIterator[Item]:
        return self.feed_source().__aiter__()

    def close(self) -> None:
        self.feed_source().close()


__all__ = ["POLL_S", "FeedSource", "Item", "PulledFeedSource", "PulledRunner"]
