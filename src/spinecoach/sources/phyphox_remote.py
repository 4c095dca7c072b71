"""Live samples polled from phyphox's remote access (RWTH Aachen's phyphox app).

phyphox's "Allow remote access" (menu ⋮ of a running experiment) serves the experiment
over HTTP on the phone, at the address the app shows (``http://PHONE-IP:8080``; port 80
on iPhones). :class:`PhyphoxRemoteSource` polls it and hands the samples to a
:class:`~spinecoach.sources.live.DeviceFeed`:

1. ``GET /config`` — the experiment: its title, buffers and inputs
   (:mod:`spinecoach.sources.phyphox_config`). The accelerometer *with g* and the
   gyroscope must both be there. Otherwise the feed is ``failed`` with a sentence naming
   what is missing and how to fix it in the app (re-read every :data:`RECHECK_CONFIG_S`
   seconds, so switching experiments recovers).
2. ``GET /get?acc_time=T&accX=T|acc_time&…&gyr_time=G&gyrX=G|gyr_time&…`` every
   ``poll_interval_s``: phyphox answers only the values whose time is greater than the
   threshold (``full`` the first time; phyphox writes 8 significant digits and nudges
   the threshold up by one unit of the 8th). The threshold is the *second* newest time
   received per sensor, so the newest sample comes again (one sample per buffer per
   request): that it does, unchanged, proves the same run goes on.

Units and signs are those of the phyphox exports (:mod:`spinecoach.io.phyphox`):
experiment time in s, acceleration in m/s² with gravity (+9.81 up at rest), angular rate
in rad/s → deg/s here. ``null`` (phyphox's NaN) drops that sample.

**Pairing.** phyphox stamps every sensor separately. The accelerometer's samples are the
feed's samples; the gyroscope is linearly interpolated onto their time stamps, but only
where gyroscope samples lie on both sides (within :data:`MAX_GYRO_HOLE_S` of each
other): accelerometer samples newer than the newest gyroscope sample wait for the next
poll, and those before the first gyroscope sample or inside a gyroscope hole are dropped
and counted (``unpaired``). Nothing is extrapolated or invented.

**Trouble.**

* Connection refused, timeouts → ``reconnecting`` with back-off (``backoff`` seconds
  after the 1st, 2nd, … failure in a row, the last repeated). phyphox keeps its buffers,
  so what was measured during the outage arrives after it.
* Measurement paused → ``connected``, "phyphox is not measuring: press play in the
  app". With ``start_measurement=True`` the poller presses play itself once after
  reading the experiment.
* Measurement cleared and started again (the newest sample received does not come
  again unchanged — phyphox's ``full`` update after a clear, or a new run already past
  the old one's time — or a new ``status.session`` whose full update lacks it; another
  experiment) → counted in ``restarts``; all of the new run is asked for and its times
  are shifted to go on from the old run's, leaving the host time in between as a hole,
  so the feed marks a gap instead of dropping the samples as duplicates. A resumed pause
  is shifted the same way (phyphox's experiment time stands still during a pause; the
  host's does not).
* A response that is not JSON, lacks a buffer or holds something other than numbers →
  counted in ``malformed``, logged, said in the feed's detail; nothing of it is used and
  the same data are asked for again. After :data:`RECONFIGURE_AFTER` in a row the
  experiment is read again.

Example (in the server's event loop)::

    feed = hub.device("phyphox:192.168.0.42:8080", kind="phyphox", name="Phone (phyphox)")
    source = PhyphoxRemoteSource("http://192.168.0.42:8080", feed)
    task = asyncio.create_task(source.run())   # task.cancel() stops it

The poller is a :class:`~spinecoach.sources.base.Source` too
(:class:`~spinecoach.sources.feed_source.PulledFeedSource`): ``async for item in
source`` polls and gives the feed's samples (a restart's hole as a ``gap`` event),
``source.close()`` stops polling, and an experiment it cannot use (no gyroscope) ends the
iteration with the feed's sentence and its fix.

>>> phyphox_url("192.168.0.42:8080/")
'http://192.168.0.42:8080'
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import httpx
import numpy as np
from numpy.typing import NDArray

from spinecoach.errors import ConfigurationError
from spinecoach.sources.feed_source import PulledFeedSource
from spinecoach.sources.live import GAP_PERIODS, MIN_GAP_S, DeviceFeed
from spinecoach.sources.phyphox_config import (
    PhyphoxExperiment,
    PhyphoxExperimentError,
    SensorBuffers,
    phyphox_experiment,
    phyphox_url,
)
from spinecoach.sources.timealign import interpolate_bracketed

__all__ = [
    "DEFAULT_BACKOFF_S",
    "MAX_GYRO_HOLE_S",
    "NOT_MEASURING",
    "PhyphoxRemoteSource",
    "phyphox_url",
]

log = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]

#: Seconds to wait after the 1st, 2nd, … failed request in a row (the last repeats).
DEFAULT_BACKOFF_S: Final = (0.5, 1.0, 2.0, 5.0)
#: Seconds one request may take before it counts as a failure.
DEFAULT_TIMEOUT_S: Final = 3.0
#: Seconds between re-reads of ``/config`` while the experiment lacks a sensor.
RECHECK_CONFIG_S: Final = 2.0
#: Bad responses in a row after which ``/config`` is read again.
RECONFIGURE_AFTER: Final = 3
#: Widest hole (s) between two gyroscope samples that is still interpolated across.
MAX_GYRO_HOLE_S: Final = MIN_GAP_S
#: Seconds a bad response stays in the feed's detail.
PROBLEM_SHOWN_S: Final = 10.0


NOT_MEASURING: Final = "phyphox is not measuring: press play in the app"


class _BadResponse(Exception):
    """A response that cannot be used (its text says why)."""


class _Pairer:
    """Accelerometer and gyroscope samples waiting to be paired on the accelerometer's
    time stamps (see the module docstring)."""

    def __init__(self, max_hole_s: float) -> None:
        self.max_hole_s = max_hole_s
        self.clear()

    def clear(self) -> None:
        self.acc_t = np.empty(0)
        self.acc = np.empty((0, 3))
        self.gyr_t = np.empty(0)
        self.gyr = np.empty((0, 3))

    def add(self, acc_t: FloatArray, acc: FloatArray, gyr_t: FloatArray, gyr: FloatArray) -> None:
        self.acc_t = np.concatenate([self.acc_t, acc_t])
        self.acc = np.concatenate([self.acc, acc])
        self.gyr_t = np.concatenate([self.gyr_t, gyr_t])
        self.gyr = np.concatenate([self.gyr, gyr])

    def take(self) -> tuple[FloatArray, FloatArray, FloatArray, int]:
        """Paired samples ``(time_s, acc, gyr, dropped)``; the rest is kept for later."""
        if len(self.gyr_t) == 0 or len(self.acc_t) == 0:
            return np.empty(0), np.empty((0, 3)), np.empty((0, 3)), 0
        t = self.acc_t
        due = t <= self.gyr_t[-1]  # acc is sorted: the due samples come first
        n_due = int(due.sum())
        t_due, acc_due = t[:n_due], self.acc[:n_due]
        ok, gyr_due = interpolate_bracketed(t_due, self.gyr_t, self.gyr, max_gap_s=self.max_hole_s)
        if n_due:
            consumed = t_due[-1]
            keep_from = max(int(np.searchsorted(self.gyr_t, consumed, side="right")) - 1, 0)
            self.gyr_t, self.gyr = self.gyr_t[keep_from:], self.gyr[keep_from:]
        self.acc_t, self.acc = t[n_due:], self.acc[n_due:]
        return t_due[ok], acc_due[ok], gyr_due, int((~ok).sum())


@dataclass
class _Stream:
    """The incremental-update state of one sensor's buffers.

    Each request asks for the values after the *second* newest time received, so the
    newest sample comes again: when it does not (or with other values), the buffer was
    cleared and a new run started — however far that run has got meanwhile.
    """

    buffers: SensorBuffers
    #: The newest time received; None: ask for everything.
    last_s: float | None = None
    #: The x, y, z phyphox sent with ``last_s``.
    last_row: FloatArray | None = None
    #: The time received before ``last_s`` (the threshold of the next request).
    prev_s: float | None = None

    def params(self, *, full: bool) -> dict[str, str]:
        b = self.buffers
        if full or self.prev_s is None:
            return {b.time: "full", b.x: "full", b.y: "full", b.z: "full"}
        threshold = repr(self.prev_s)
        ref = f"{threshold}|{b.time}"
        return {b.time: threshold, b.x: ref, b.y: ref, b.z: ref}

    def continues(self, times: FloatArray, xyz: FloatArray, *, full: bool) -> bool:
        """Whether an answer holds the newest sample received, unchanged (anywhere in a
        full update, first in a partial one): the same run goes on."""
        if self.last_s is None:
            return True
        timed = np.isfinite(times)
        times, xyz = times[timed], xyz[timed]
        same = np.flatnonzero(times == self.last_s)
        if len(same) == 0 or (not full and same[0] != 0):
            return False
        return self.last_row is not None and np.array_equal(
            xyz[same[0]], self.last_row, equal_nan=True
        )

    def reset(self) -> None:
        self.last_s = self.last_row = self.prev_s = None


def _numbers(buffers: Mapping[str, object], name: str) -> tuple[FloatArray, str]:
    entry = buffers.get(name)
    if not isinstance(entry, dict) or not isinstance(entry.get("buffer"), list):
        raise _BadResponse(f"buffer {name!r} missing from phyphox's answer")
    values: list[float] = []
    for value in entry["buffer"]:
        if value is None:
            values.append(math.nan)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            values.append(float(value))
        else:
            raise _BadResponse(f"buffer {name!r} holds {value!r}, not a number")
    return np.asarray(values, dtype=np.float64), str(entry.get("updateMode", ""))


def _read_group(
    buffers: Mapping[str, object], names: SensorBuffers
) -> tuple[FloatArray, FloatArray, bool]:
    """``(time_s, xyz, full)`` of one sensor, rows cut to the shortest buffer."""
    columns = [_numbers(buffers, n) for n in (names.time, names.x, names.y, names.z)]
    n = min(len(values) for values, _ in columns)
    full = any(mode == "full" for _, mode in columns)
    time_s = columns[0][0][:n]
    xyz = np.column_stack([values[:n] for values, _ in columns[1:]]).reshape(-1, 3)
    return time_s, xyz, full


class PhyphoxRemoteSource(PulledFeedSource):
    """Poll phyphox's remote access at ``url`` and push its samples to ``feed``.

    ``poll_interval_s``: seconds between two requests (0.1 s: 10 requests/s, a few kB
    each). ``client``: an :class:`httpx.AsyncClient` to use (default: one made by
    :meth:`run`, without keep-alive, closed when it ends). ``clock``: the host clock
    (s) the receive times are read from — the feed's. ``backoff``: seconds to wait after
    the 1st, 2nd, … unreachable attempt in a row. ``start_measurement``: press play in
    phyphox when it is not measuring after the experiment was read. ``timeout_s``:
    seconds one request may take.

    Counters (read them any time): ``polls``, ``malformed``, ``restarts``,
    ``nan_dropped`` (samples with a ``null``), ``unpaired`` (accelerometer samples
    without gyroscope on both sides), ``last_problem`` (the last bad response, a
    sentence) and ``experiment`` (None until read).
    """

    def __init__(
        self,
        url: str,
        feed: DeviceFeed,
        *,
        poll_interval_s: float = 0.1,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        backoff: Sequence[float] = DEFAULT_BACKOFF_S,
        start_measurement: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if not poll_interval_s > 0:
            raise ConfigurationError(f"poll_interval_s must be > 0 s, not {poll_interval_s}")
        if not backoff or any(not d >= 0 for d in backoff):
            raise ConfigurationError(
                f"backoff must be one or more delays ≥ 0 s, not {tuple(backoff)!r}"
            )
        self.url = phyphox_url(url)
        self.feed = feed
        self.poll_interval_s = float(poll_interval_s)
        self.start_measurement = start_measurement
        self.timeout_s = float(timeout_s)
        self._client = client
        self._clock = clock
        self._backoff = tuple(float(d) for d in backoff)
        self.experiment: PhyphoxExperiment | None = None
        self.polls = 0
        self.malformed = 0
        self.restarts = 0
        self.nan_dropped = 0
        self.unpaired = 0
        self.last_problem: str | None = None
        self._problem_at = -math.inf
        self._bad_in_row = 0
        self._known: PhyphoxExperiment | None = None
        self._ask_full = False
        self._acc: _Stream | None = None
        self._gyr: _Stream | None = None
        self._pairer = _Pairer(MAX_GYRO_HOLE_S)
        self._session: str | None = None
        self._measuring: bool | None = None
        self._start_pending = False
        #: Added to phyphox's times (s) so that a restarted or resumed run goes on.
        self._offset_s = 0.0
        self._rebase = False
        self._last_pushed_s: float | None = None
        self._last_push_host_s = 0.0

    @property
    def unreachable_detail(self) -> str:
        return (
            f"phyphox at {self.url} not reachable: is remote access on and the phone on "
            "the same Wi-Fi?"
        )

    async def run(self) -> None:
        """Poll until cancelled (then the feed is ``disconnected``)."""
        client = self._client
        owned = client is None
        if client is None:
            # A new connection per request: other phyphox clients report that kept-alive
            # connections to the phone's small web server break.
            client = httpx.AsyncClient(
                timeout=self.timeout_s, limits=httpx.Limits(max_keepalive_connections=0)
            )
        try:
            await self._loop(client)
        except asyncio.CancelledError:
            self.feed.set_state("disconnected", "stopped polling phyphox")
            raise
        finally:
            if owned:
                await client.aclose()

    async def _loop(self, client: httpx.AsyncClient) -> None:
        self.feed.set_state("connecting", f"connecting to phyphox at {self.url}")
        failures = 0
        while True:
            started = self._clock()
            try:
                if self.experiment is None:
                    if not await self._configure(client):
                        await asyncio.sleep(RECHECK_CONFIG_S)
                        continue
                else:
                    await self._poll(client)
                failures = 0
                self._bad_in_row = 0
            except httpx.TransportError as exc:
                delay = self._backoff[min(failures, len(self._backoff) - 1)]
                failures += 1
                log.info("%s (%s); retrying in %.1f s", self.unreachable_detail, exc, delay)
                self.feed.set_state("reconnecting", self.unreachable_detail)
                await asyncio.sleep(delay)
                continue
            except _BadResponse as exc:
                self._bad(str(exc))
            except httpx.RequestError as exc:  # not the network: an undecodable answer
                self._bad(f"unreadable answer ({exc})")
            elapsed = self._clock() - started
            await asyncio.sleep(max(0.0, self.poll_interval_s - elapsed))

    def _bad(self, problem: str) -> None:
        self.malformed += 1
        self._bad_in_row += 1
        self.last_problem = problem
        self._problem_at = self._clock()
        log.warning("phyphox at %s: %s (bad response %d)", self.url, problem, self.malformed)
        if self._bad_in_row >= RECONFIGURE_AFTER and self.experiment is not None:
            log.info("phyphox at %s: reading the experiment again", self.url)
            self.experiment = None
        state = self.feed.status().state
        self.feed.set_state(
            "connected" if state in ("connected", "reconnecting") else state,
            self._detail(),
        )

    def _detail(self) -> str:
        if self._measuring is False:
            text = NOT_MEASURING
        elif self.experiment is not None:
            text = f"receiving data from phyphox experiment '{self.experiment.title}'"
        else:
            text = f"connected to phyphox at {self.url}"
        if self.last_problem and self._clock() - self._problem_at < PROBLEM_SHOWN_S:
            plural = "s" if self.malformed != 1 else ""
            text += (
                f"; {self.malformed} bad response{plural} from phyphox skipped "
                f"(last: {self.last_problem})"
            )
        return text

    async def _json(self, client: httpx.AsyncClient, path: str, params: dict[str, str]) -> object:
        response = await client.get(self.url + path, params=params)
        if response.status_code != 200:
            raise _BadResponse(f"{path} answered HTTP {response.status_code}")
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise _BadResponse(f"{path} answered something that is not JSON") from None

    async def _configure(self, client: httpx.AsyncClient) -> bool:
        config = await self._json(client, "/config", {})
        try:
            experiment = phyphox_experiment(config)
        except PhyphoxExperimentError as exc:
            log.warning("phyphox at %s: %s", self.url, exc)
            self.feed.set_state("failed", str(exc))
            return False
        if experiment != self._known:
            log.info("phyphox at %s: experiment '%s'", self.url, experiment.title)
            if self._known is not None:
                self._restart(f"phyphox switched to the experiment '{experiment.title}'")
            self._acc = _Stream(experiment.acc)
            self._gyr = _Stream(experiment.gyr)
            self._pairer.clear()
            self._known = experiment
            self._start_pending = self.start_measurement  # once per experiment, not per pause
        self.experiment = experiment
        self.feed.set_state("connected", self._detail())
        return True

    def _restart(self, reason: str) -> None:
        """A new run of the measurement: take all of it and go on after the old one."""
        self.restarts += 1
        log.info("phyphox at %s: %s; continuing with the new run", self.url, reason)
        for stream in (self._acc, self._gyr):
            if stream is not None:
                stream.reset()
        self._pairer.clear()
        self._rebase = self._last_pushed_s is not None

    async def _poll(self, client: httpx.AsyncClient) -> None:
        acc, gyr = self._acc, self._gyr
        if acc is None or gyr is None:  # cannot happen: set with the experiment
            self.experiment = None
            return
        asked_full = self._ask_full
        params = {**acc.params(full=asked_full), **gyr.params(full=asked_full)}
        payload = await self._json(client, "/get", params)
        host_s = self._clock()
        self.polls += 1
        if not isinstance(payload, dict) or not isinstance(payload.get("buffer"), dict):
            raise _BadResponse("/get answered without a 'buffer' object")
        status = payload.get("status")
        status = status if isinstance(status, dict) else {}
        session = status.get("session")
        session = session if isinstance(session, str) and session else None
        if session is not None and self._session is not None and session != self._session:
            # Another run, or only remote access switched off and on: the next (full)
            # update tells; the experiment itself may have changed too.
            log.info("phyphox at %s: new session %s", self.url, session)
            self._session = session
            self._ask_full = True
            self.experiment = None
            return
        self._session = session or self._session
        acc_t, acc_xyz, acc_full = _read_group(payload["buffer"], acc.buffers)
        gyr_t, gyr_xyz, gyr_full = _read_group(payload["buffer"], gyr.buffers)
        measuring = bool(status.get("measuring", True))
        if measuring and self._measuring is False and self._last_pushed_s is not None:
            self._rebase = True  # resumed: phyphox's time stood still, the host's did not
        self._measuring = measuring
        if not (
            acc.continues(acc_t, acc_xyz, full=acc_full)
            and gyr.continues(gyr_t, gyr_xyz, full=gyr_full)
        ):
            self._restart("the measurement was cleared and started again")
            if not (acc_full and gyr_full):  # only the new run's end: ask for all of it
                return
        self._ask_full = False
        if self._start_pending and not measuring:
            answer = await self._json(client, "/control", {"cmd": "start"})
            if not (isinstance(answer, dict) and answer.get("result") is True):
                log.warning("phyphox at %s refused to start measuring: %r", self.url, answer)
        self._start_pending = False
        new_acc = self._take_new(acc, acc_t, acc_xyz, scale=1.0)
        new_gyr = self._take_new(gyr, gyr_t, gyr_xyz, scale=math.degrees(1.0))
        self._pairer.add(*new_acc, *new_gyr)
        t, acc_mps2, gyr_dps, dropped = self._pairer.take()
        self.unpaired += dropped
        if len(t):
            self._push(t, acc_mps2, gyr_dps, host_s)
        self.feed.set_state("connected", self._detail())

    def _take_new(
        self, stream: _Stream, times: FloatArray, xyz: FloatArray, *, scale: float
    ) -> tuple[FloatArray, FloatArray]:
        """The rows after the stream's last time, without ``null``; moves the threshold."""
        timed = np.isfinite(times)
        times, xyz = times[timed], xyz[timed]
        floor = -math.inf if stream.last_s is None else stream.last_s
        fresh = times > np.maximum.accumulate(np.concatenate([[floor], times]))[:-1]
        times, xyz = times[fresh], xyz[fresh]
        if len(times):
            stream.prev_s = float(times[-2]) if len(times) > 1 else stream.last_s
            stream.last_s = float(times[-1])
            stream.last_row = xyz[-1].copy()
        whole = np.isfinite(xyz).all(axis=1)
        self.nan_dropped += int((~whole).sum())
        return times[whole], xyz[whole] * scale

    def _push(self, t: FloatArray, acc: FloatArray, gyr: FloatArray, host_s: float) -> None:
        if self._rebase and self._last_pushed_s is not None:
            # Keep phyphox's time in step with the host's across the break, and at least
            # a gap's length after the last sample so the feed counts it.
            rate = self.feed.rate_hz
            gap_s = 1.5 * max(MIN_GAP_S, GAP_PERIODS / rate if rate else 0.0)
            in_step = self._last_pushed_s + (host_s - self._last_push_host_s) - float(t[-1])
            self._offset_s = max(in_step, self._last_pushed_s + gap_s - float(t[0]))
        self._rebase = False
        device_s = t + self._offset_s
        self.feed.push(device_s, host_time_s=host_s, acc_mps2=acc, gyr_dps=gyr)
        self._last_pushed_s = float(device_s[-1])
        self._last_push_host_s = host_s
