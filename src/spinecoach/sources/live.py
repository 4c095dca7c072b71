"""Live devices: the one interface every real sensor source feeds, and the hub the server
keeps them in.

A **device** is one physical stream of IMU samples: a phone pushing Sensor Logger
batches, a phone polled over phyphox's remote access, a Bluetooth LE sensor. Every
source, whatever its transport, hands its samples to the device's :class:`DeviceFeed`
with :meth:`DeviceFeed.push` — device time stamps in the device's own clock, the host
time the newest sample arrived, acceleration (m/s², gravity included, +9.81 up at rest)
and angular rate (deg/s) — and reports its connection with :meth:`DeviceFeed.set_state`.

The feed then does what every source needs, once:

* **One timeline.** Device times are mapped onto the host's monotonic clock with a
  streaming lower-envelope clock fit (:class:`~spinecoach.sources.timealign.ClockAligner`),
  so two devices with independent clocks (offset and drift) line up. While the fit
  converges (the first second) a mapped time can fall before the previous sample's; it
  is then moved just after it (counted in ``time_adjusted``), so time always increases.
* **Gaps.** A hole longer than ``max(0.1 s, 5 sample periods)`` between two samples is a
  gap: counted, its length added to ``lost_s``, and the batch after it marked
  ``gap_before``. Nothing is interpolated here; the motion pipeline flags the frames over
  the hole and the rep detector never counts a rep across one.
* **Duplicates.** A sample not after the previous one (a re-sent packet, a batch that
  arrived late) is dropped and counted in ``late``; it never reaches a session twice.
* **Buffer.** The last :data:`BUFFER_S` seconds are kept, so a session that starts (or
  a page that reconnects) a little after the data still gets it, and short drop-outs of
  a transport (a BLE reconnect) lose only what the device itself never sent.
* **Status.** State (``connecting``, ``connected``, ``reconnecting``, ``disconnected``,
  ``failed``), a sentence saying what is going on, the rate, samples, gaps, seconds
  lost and a signal-quality grade (:meth:`DeviceFeed.status`), shown by the page and the
  terminal coach.

Sessions read a feed with :meth:`DeviceFeed.subscribe`: an :class:`asyncio.Queue` of
:class:`SampleBatch` (host times), starting with the buffered data from a given time.
Everything runs on the server's event loop (sources are async); nothing here blocks.

**Owners** (issue 16). With accounts a feed belongs to a person (``owner``: who pushed or
started it); the hub's lookups take ``owner=`` and see that person's feeds only (keyed
by owner and id; a placement is unique per person). Without accounts (single-person
mode, the terminal) feeds have no owner and every lookup sees them.

>>> feed = DeviceFeed("demo:1", kind="demo", name="Demo sensor")
>>> t = np.arange(5) / 100.0
>>> batch = feed.push(t, host_time_s=100.04, acc_mps2=np.tile([0, 0, 9.81], (5, 1)),
...           gyr_dps=np.zeros((5, 3)))
>>> batch.time_s.round(2).tolist()  # on the host clock
[100.0, 100.01, 100.02, 100.03, 100.04]
>>> s = feed.status()
>>> s.state, s.samples, round(s.rate_hz or 0.0)
('connected', 5, 100)
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import PLACEMENTS
from spinecoach.errors import SpinecoachError
from spinecoach.sources.feed_arrays import check_feed_arrays
from spinecoach.sources.timealign import ClockAligner

FloatArray = NDArray[np.float64]
log = logging.getLogger(__name__)

DeviceState = Literal["connecting", "connected", "reconnecting", "disconnected", "failed"]

#: Seconds of recent samples every feed keeps.
BUFFER_S: Final = 120.0
#: Shortest hole (s) that counts as a gap; longer for slow sensors (5 sample periods).
MIN_GAP_S: Final = 0.1
GAP_PERIODS: Final = 5.0
#: Window (s) over which the signal quality is graded.
QUALITY_WINDOW_S: Final = 10.0
#: A device that sent nothing for this long (s) has "no data" as its quality.
NO_DATA_AFTER_S: Final = 2.0
#: Most samples kept queued for one subscriber that does not read (a stalled session):
#: beyond it the oldest batches are dropped and the subscriber is told (``overflowed``).
MAX_QUEUED_SAMPLES: Final = 200_000
#: Most devices the hub keeps (a clinic's phones and sensors, with room to spare): ids
#: invented by a client cannot grow the memory (issue 16: 3,000 were kept for ever).
MAX_DEVICES: Final = 64
#: Most of them one person's devices may take (one person cannot fill the hub).
MAX_DEVICES_PER_OWNER: Final = 16
#: A device that sent nothing for this long (s), is not placed and feeds no session is
#: forgotten (it comes back as new with its next data).
PRUNE_AFTER_S: Final = 600.0
#: Device kinds the server polls or connects to itself (a task runs while they are on).
PULLED_KINDS: Final = ("phyphox", "ble")

Quality = Literal["good", "fair", "poor", "no data"]


@dataclass(frozen=True)
class SampleBatch:
    """Consecutive samples of one device on the host's monotonic clock (s)."""

    device_id: str
    time_s: FloatArray
    acc_mps2: FloatArray
    gyr_dps: FloatArray
    mag_ut: FloatArray | None = None
    #: A gap (see the module docstring) lies just before the first sample.
    gap_before: bool = False

    def __len__(self) -> int:
        return len(self.time_s)

    def after(self, time_s: float) -> SampleBatch | None:
        """The samples after ``time_s`` (None when there are none)."""
        keep = self.time_s > time_s
        if keep.all():
            return self
        if not keep.any():
            return None
        return SampleBatch(
            self.device_id,
            self.time_s[keep],
            self.acc_mps2[keep],
            self.gyr_dps[keep],
            None if self.mag_ut is None else self.mag_ut[keep],
            self.gap_before,
        )


@dataclass(frozen=True)
class DeviceStatus:
    """What the page and the terminal coach show about one device."""

    id: str
    kind: str
    name: str
    state: DeviceState
    detail: str
    rate_hz: float | None
    samples: int
    gaps: int
    lost_s: float
    late: int
    time_adjusted: int
    last_data_age_s: float | None
    quality: Quality
    quality_reason: str
    #: The placement the person gave this device ("lower"/"upper"), if any.
    placement: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "state": self.state,
            "detail": self.detail,
            "rate_hz": None if self.rate_hz is None else round(self.rate_hz, 1),
            "samples": self.samples,
            "gaps": self.gaps,
            "lost_s": round(self.lost_s, 2),
            "late": self.late,
            "time_adjusted": self.time_adjusted,
            "last_data_age_s": self.last_data_age_s and round(self.last_data_age_s, 2),
            "quality": self.quality,
            "quality_reason": self.quality_reason,
            "placement": self.placement,
        }


@dataclass
class Subscription:
    """One reader of a feed: its queue of batches (read on the event loop)."""

    queue: asyncio.Queue[SampleBatch] = field(default_factory=asyncio.Queue)
    queued_samples: int = 0
    #: Batches were dropped because this reader did not keep up.
    overflowed: bool = False

    def offer(self, batch: SampleBatch) -> None:
        self.queue.put_nowait(batch)
        self.queued_samples += len(batch)
        while self.queued_samples > MAX_QUEUED_SAMPLES and self.queue.qsize() > 1:
            dropped = self.queue.get_nowait()
            self.queued_samples -= len(dropped)
            self.overflowed = True

    async def get(self) -> SampleBatch:
        batch = await self.queue.get()
        self.queued_samples -= len(batch)
        return batch


def feed_key(device_id: str, owner: int | None) -> str:
    """The hub's key of ``owner``'s device ``device_id``."""
    return device_id if owner is None else f"{owner}/{device_id}"


class DeviceFeed:
    """One device's samples on the host timeline, its buffer, gaps and status."""

    def __init__(
        self,
        device_id: str,
        *,
        kind: str,
        name: str,
        clock: Callable[[], float] = time.monotonic,
        owner: int | None = None,
    ) -> None:
        self.id = device_id
        self.kind = kind
        self.name = name
        self.owner = owner  #: the person it belongs to (None: no accounts, the terminal)
        self.key = feed_key(device_id, owner)  #: the hub's key: the id within the owner's
        self.placement: str | None = None
        #: The rate (Hz) the device was set to, when its protocol says (else estimated).
        self.declared_rate_hz: float | None = None
        self._clock = clock
        #: Host time (s) the feed was made: its age before any data came.
        self.created_s = clock()
        self._state: DeviceState = "connecting"
        self._detail = "waiting for the first data"
        self._aligner = ClockAligner()
        self._last_device_s = -math.inf
        self._last_host_s = -math.inf
        self._last_arrival_s: float | None = None
        self._rate_hz: float | None = None
        self._buffer: deque[SampleBatch] = deque()
        self._subscribers: list[Subscription] = []
        self.samples = 0
        self.gaps = 0
        self.lost_s = 0.0
        self.late = 0
        self.time_adjusted = 0
        #: (first host time, last host time, seconds lost just before) per stored batch.
        self._recent: deque[tuple[float, float, float]] = deque()
        #: Arrival intervals (s) of the last batches: how bursty the transport is.
        self._arrivals: deque[float] = deque(maxlen=20)

    # -- sources call these ----------------------------------------------------------------
    def set_state(self, state: DeviceState, detail: str) -> None:
        """The transport's state and a sentence for the person."""
        self._state = state
        self._detail = detail

    def push(
        self,
        device_times_s: FloatArray | list[float],
        *,
        host_time_s: float | None = None,
        acc_mps2: FloatArray,
        gyr_dps: FloatArray,
        mag_ut: FloatArray | None = None,
    ) -> SampleBatch | None:
        """Samples in time order: device clock times (s), the host time the newest one
        arrived (default: now), acceleration in m/s² and angular rate in deg/s.

        Returns the batch as stored (host times), or None when every sample was a
        duplicate. Raises :class:`InputFormatError` for arrays of the wrong shape or with
        non-finite values (nothing of that batch is kept).
        """
        device_t = np.asarray(device_times_s, dtype=np.float64)
        acc = np.asarray(acc_mps2, dtype=np.float64)
        gyr = np.asarray(gyr_dps, dtype=np.float64)
        mag = None if mag_ut is None else np.asarray(mag_ut, dtype=np.float64)
        check_feed_arrays(self.id, device_t, acc, gyr, mag)  # before anything is changed
        arrival = self._clock() if host_time_s is None else float(host_time_s)
        if len(device_t) == 0:
            return None
        fresh = (
            device_t > np.maximum.accumulate(np.concatenate([[self._last_device_s], device_t]))[:-1]
        )
        self.late += int((~fresh).sum())
        if not fresh.any():
            return None
        device_t, acc, gyr = device_t[fresh], acc[fresh], gyr[fresh]
        mag = None if mag is None else mag[fresh]
        host_t = self._host_times(device_t, arrival)
        self._update_rate(device_t)
        stored = self._split_at_gaps(device_t, host_t, acc, gyr, mag)
        self._last_device_s = float(device_t[-1])
        self._last_host_s = float(host_t[-1])
        self.samples += len(device_t)
        for piece in stored:
            self._buffer.append(piece)
            for subscriber in self._subscribers:
                subscriber.offer(piece)
        while self._buffer and self._buffer[0].time_s[-1] < host_t[-1] - BUFFER_S:
            self._buffer.popleft()
        if self._state != "connected":
            self.set_state("connected", "receiving data")
        if len(stored) == 1:
            return stored[0]
        return SampleBatch(self.id, host_t, acc, gyr, mag, stored[0].gap_before)

    def _host_times(self, device_t: FloatArray, arrival: float) -> FloatArray:
        """The host times (s) of fresh samples: the device clock mapped through the clock
        fit, strictly increasing (each at least 1 µs after the one before)."""
        previous = self._last_arrival_s
        if previous is not None:  # host receive times never go back (a monotonic clock)
            arrival = max(arrival, previous)
            self._arrivals.append(arrival - previous)
        self._last_arrival_s = arrival
        self._aligner.update(float(device_t[-1]), arrival)
        host_t = np.asarray(self._aligner.current_fit().to_host(device_t), dtype=np.float64)
        # Strictly increasing, each sample at least 1 µs after the one before it.
        ordered = host_t[0] >= self._last_host_s + 1e-6 and bool(np.all(np.diff(host_t) >= 1e-6))
        if not ordered:
            spread = 1e-6 * np.arange(len(host_t))
            floor = self._last_host_s + 1e-6
            adjusted = np.maximum.accumulate(np.maximum(host_t - spread, floor)) + spread
            self.time_adjusted += int(np.count_nonzero(np.abs(adjusted - host_t) > 1e-9))
            host_t = adjusted
        return host_t

    def _split_at_gaps(
        self,
        device_t: FloatArray,
        host_t: FloatArray,
        acc: FloatArray,
        gyr: FloatArray,
        mag: FloatArray | None,
    ) -> list[SampleBatch]:
        """The batch cut at every hole, counted in :attr:`gaps` and :attr:`lost_s`."""
        # Gaps: any hole between two samples, before the batch or inside it; the batch
        # is split there so the sample after each hole starts a batch marked gap_before.
        period = 1.0 / self._rate_hz if self._rate_hz else 0.0
        threshold = max(MIN_GAP_S, GAP_PERIODS * period)
        steps = np.diff(np.concatenate([[self._last_device_s], device_t]))
        holes = np.flatnonzero(np.isfinite(steps) & (steps > threshold))
        edges = [0, *holes.tolist(), len(device_t)]
        stored: list[SampleBatch] = []
        for start, end in itertools.pairwise(edges):
            if end <= start:
                continue
            gap_before = start in holes
            hole = float(steps[start]) - period if gap_before else 0.0
            if gap_before:
                self.gaps += 1
                self.lost_s += hole
            piece = SampleBatch(
                self.id,
                host_t[start:end],
                acc[start:end],
                gyr[start:end],
                None if mag is None else mag[start:end],
                gap_before,
            )
            stored.append(piece)
            self._recent.append((float(piece.time_s[0]), float(piece.time_s[-1]), hole))
        return stored

    def _update_rate(self, device_t: FloatArray) -> None:
        """The nominal rate: the median sample interval of the first batches."""
        if len(device_t) >= 2:
            median = float(np.median(np.diff(device_t)))
            if median > 0:
                estimate = 1.0 / median
                if self._rate_hz is None:
                    self._rate_hz = estimate
                elif self.samples < 500:  # refine while the first seconds come in
                    self._rate_hz = 0.8 * self._rate_hz + 0.2 * estimate

    # -- sessions call these ---------------------------------------------------------------
    @property
    def rate_hz(self) -> float | None:
        """Nominal rate (Hz): as declared by the source, else estimated (rounded to
        0.1 Hz) once two samples have arrived."""
        if self.declared_rate_hz is not None:
            return self.declared_rate_hz
        return None if self._rate_hz is None else round(self._rate_hz, 1)

    @property
    def typical_arrival_interval_s(self) -> float:
        """Median time between two batches arriving (0 before there are two)."""
        return float(np.median(self._arrivals)) if self._arrivals else 0.0

    def buffered(self, since_host_s: float = -math.inf) -> Iterator[SampleBatch]:
        """Buffered samples after ``since_host_s``."""
        for batch in self._buffer:
            part = batch.after(since_host_s)
            if part is not None:
                yield part

    def subscribe(self, since_host_s: float | None = None) -> Subscription:
        """A new reader; with ``since_host_s`` it starts with the buffered samples after
        that host time, else with the next batch."""
        subscription = Subscription()
        if since_host_s is not None:
            for batch in self.buffered(since_host_s):
                subscription.offer(batch)
        self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)

    def idle_since_s(self) -> float | None:
        """Host time (s) the feed was last heard from (made, when it never sent), when it
        could be forgotten: not placed, read by no session and not a pulled source still
        running (its task would feed a feed nobody sees); else None."""
        running = self.kind in PULLED_KINDS and self._state not in ("disconnected", "failed")
        if self.placement is not None or self._subscribers or running:
            return None
        return self.created_s if self._last_arrival_s is None else self._last_arrival_s

    def status(self) -> DeviceStatus:
        now = self._clock()
        age = None if self._last_arrival_s is None else max(0.0, now - self._last_arrival_s)
        quality, reason = self._quality(now, age)
        return DeviceStatus(
            id=self.id,
            kind=self.kind,
            name=self.name,
            state=self._state,
            detail=self._detail,
            rate_hz=self.rate_hz,
            samples=self.samples,
            gaps=self.gaps,
            lost_s=self.lost_s,
            late=self.late,
            time_adjusted=self.time_adjusted,
            last_data_age_s=age,
            quality=quality,
            quality_reason=reason,
            placement=self.placement,
        )

    def _quality(self, now: float, age: float | None) -> tuple[Quality, str]:
        """Good: data flowing, under 2 % lost in the last 10 s; fair: under 10 %;
        poor: more, or a transport that is reconnecting."""
        if age is None:
            return "no data", "no data received yet"
        if age > max(NO_DATA_AFTER_S, 2.5 * self.typical_arrival_interval_s):
            return "no data", f"nothing received for {age:.0f} s"
        recent = self._recent
        horizon = self._last_host_s - QUALITY_WINDOW_S
        while recent and recent[0][1] < horizon:
            recent.popleft()
        lost = sum(h for _, _, h in recent)
        # The span the window's batches cover (from the hole before the first one).
        first = recent[0][0] - recent[0][2] if recent else self._last_host_s
        covered = max(1e-9, min(QUALITY_WINDOW_S, self._last_host_s - first))
        share = min(1.0, lost / covered)
        if self._state == "reconnecting":
            return "poor", "the connection dropped; reconnecting"
        if share < 0.02:
            return "good", "data arriving steadily"
        text = f"{100 * share:.0f} % of the last {QUALITY_WINDOW_S:.0f} s lost in gaps"
        return ("fair" if share < 0.10 else "poor"), text


class DeviceLimitError(SpinecoachError):
    """The hub (or the owner's share) is full of devices in use: ``problem`` and ``fix``
    say so (a face answers 503 or tells the person)."""

    def __init__(self, problem: str, *, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}. {fix}")


class SourceHub:
    """Every device the server has heard of, by id (made in the app's lifespan).

    Bounded: at most ``max_devices`` feeds, ``max_per_owner`` of one person's. A feed not
    placed, read by no session and silent for ``prune_after_s`` is forgotten; a new device
    in a full hub (or owner's share) evicts the unplaced, unread, not connecting feed (of
    that owner) heard from longest ago (a flood of invented ids evicts only itself), or is
    refused with :class:`DeviceLimitError` when every one is in use.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_devices: int = MAX_DEVICES,
        prune_after_s: float = PRUNE_AFTER_S,
        max_per_owner: int = MAX_DEVICES_PER_OWNER,
    ) -> None:
        if max_devices < 1:
            raise ValueError(f"max_devices must be at least 1, not {max_devices}")
        self._feeds: dict[str, DeviceFeed] = {}
        self._clock = clock
        self.max_devices, self.max_per_owner = max_devices, max_per_owner
        self.prune_after_s = prune_after_s
        self.pruned = 0  #: feeds forgotten so far (silent or evicted)

    def device(
        self, device_id: str, *, kind: str, name: str, owner: int | None = None
    ) -> DeviceFeed:
        """The feed of ``owner``'s ``device_id``, made on first use; raises
        :class:`DeviceLimitError` when the hub is full of devices in use."""
        feed = self._feeds.get(feed_key(device_id, owner))
        if feed is None:
            self.prune()
            owned = [k for k, f in self._feeds.items() if owner is not None and f.owner == owner]
            if len(owned) >= self.max_per_owner:
                self._evict_one(device_id, owned, "you already have")
            elif len(self._feeds) >= self.max_devices:
                self._evict_one(device_id, list(self._feeds), "the server already follows")
            feed = DeviceFeed(device_id, kind=kind, name=name, clock=self._clock, owner=owner)
            self._feeds[feed.key] = feed
        return feed

    def _mine(self, owner: int | None) -> Iterator[DeviceFeed]:  # every feed for None
        return (f for f in self._feeds.values() if owner in (None, f.owner) or f.owner is None)

    def prune(self) -> int:
        """Forget the feeds silent for ``prune_after_s``, neither placed nor read: how many."""
        now = self._clock()
        idle = {key: feed.idle_since_s() for key, feed in self._feeds.items()}
        silent = [k for k, t in idle.items() if t is not None and now - t >= self.prune_after_s]
        for key in silent:
            del self._feeds[key]
        self.pruned += len(silent)
        return len(silent)

    def _evict_one(self, device_id: str, keys: list[str], whose: str) -> None:
        """Forget the idle feed heard from longest ago among ``keys`` (else refuse)."""
        idle = {k: t for k in keys if (t := self._feeds[k].idle_since_s()) is not None}
        if not idle:
            raise DeviceLimitError(
                f"cannot add device {device_id[:60]!r}: {whose} {len(keys)} devices and "
                "each is placed, feeds a session or is connecting",
                fix="remove a device you no longer use (DELETE /api/devices/<id>) or wait "
                f"{self.prune_after_s:.0f} s for silent ones to be forgotten",
            )
        oldest = min(idle, key=idle.__getitem__)
        del self._feeds[oldest]
        self.pruned += 1
        log.info("device %s forgotten: %s %d devices", oldest, whose, len(keys))

    def get(self, device_id: str, owner: int | None = None) -> DeviceFeed | None:
        return next((f for f in self._mine(owner) if f.id == device_id), None)

    def __contains__(self, key: object) -> bool:  # a DeviceFeed.key
        return key in self._feeds

    def __len__(self) -> int:
        return len(self._feeds)

    def statuses(self, owner: int | None = None) -> list[DeviceStatus]:
        self.prune()
        return [feed.status() for feed in self._mine(owner)]

    def assign(self, device_id: str, placement: str | None, owner: int | None = None) -> DeviceFeed:
        """Say where ``owner``'s device is worn (``lower``/``upper``); None clears it. A
        placement belongs to one device of the owner at a time."""
        feed = self.get(device_id, owner)
        if feed is None:
            known = ", ".join(f.id for f in self._mine(owner)) or "none yet"
            raise KeyError(f"no device {device_id!r} (known: {known})")
        if placement is not None and placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, not {placement!r}")
        if placement is not None:
            for other in self._mine(feed.owner):
                if other.placement == placement:
                    other.placement = None
        feed.placement = placement
        return feed

    def by_placement(self, owner: int | None = None) -> dict[str, DeviceFeed]:
        return {f.placement: f for f in self._mine(owner) if f.placement is not None}


def phyphox_feed(hub: SourceHub, url: str, owner: int | None = None) -> DeviceFeed:
    """The feed of ``owner``'s phone running phyphox at ``url`` (made on first use)."""
    host = url.removeprefix("http://").removeprefix("https://")
    name = f"Phone {host} (phyphox)"
    return hub.device(f"phyphox:{host}", kind="phyphox", name=name, owner=owner)


def ble_feed(
    hub: SourceHub, address: str, name: str | None = None, owner: int | None = None
) -> DeviceFeed:
    """The feed of ``owner``'s Bluetooth LE sensor at ``address`` (made on first use)."""
    named = name or f"Sensor {address} (Bluetooth)"
    return hub.device(f"ble:{address}", kind="ble", name=named, owner=owner)


async def run_supervised(feed: DeviceFeed, run: Callable[[], Awaitable[None]]) -> None:
    """Run a pulled source's ``run`` until it ends or is cancelled; its end shows in the
    feed's state (``disconnected`` when stopped, ``failed`` with the error's sentence),
    and an error is logged, never raised (the server or the coach goes on)."""
    try:
        await run()
    except asyncio.CancelledError:
        feed.set_state("disconnected", "stopped")
        raise
    except Exception as error:
        log.exception("device source %s failed", feed.id)
        feed.set_state("failed", str(error) or type(error).__name__)
