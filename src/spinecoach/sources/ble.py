"""Bluetooth LE sensors: find them, connect, start their streams, keep the connection and
feed the samples to a :class:`~spinecoach.sources.live.DeviceFeed`.

The pieces, one module each:

* :mod:`~spinecoach.sources.ble_transport` — the GATT operations a source needs
  (:class:`BleTransport`, over bleak: :class:`BleakTransport`), how a device is started
  and decoded (:class:`BleProtocol`), and a missing adapter turned into
  :class:`~spinecoach.errors.SourceUnavailableError` naming the alternatives;
* :mod:`~spinecoach.sources.ble_pmd` — **Polar PMD** (:class:`PolarPmdProtocol`): Polar
  Verity Sense and other Polar sensors streaming both accelerometer and gyroscope over
  the Polar Measurement Data service, started at one common rate and joined;
* :mod:`~spinecoach.sources.ble_struct` — **declared layout** (:class:`StructProtocol`):
  any device that notifies fixed-size records holding acc and gyr, described in a TOML
  file (:func:`load_struct_protocol`);
* :mod:`~spinecoach.sources.ble_scan` — :func:`scan` for devices nearby;
* this module — :class:`BleDeviceSource`, which keeps one device connected, and
  :func:`protocol_by_name`. It also offers the names above that callers use with it.

Connection, reconnect and back-off (:class:`BleDeviceSource`)
    ``run()`` connects, starts the streams and waits. When the link drops (or no data
    came for ``stall_timeout_s``) the feed says ``reconnecting`` ("… lost the connection,
    reconnecting in N s (attempt k)") and the source retries after ``backoff_s`` (0.5, 1,
    2, 4, 8 s, then 8 s for ever, each plus up to 10 % jitter so two sensors do not retry
    in lockstep). After a reconnect the streams are started again; the samples measured
    meanwhile are lost on the device, so the feed marks a gap from the device time
    stamps and nothing is invented. The feed's buffer (the last two minutes) keeps what
    came before. The state becomes ``connected`` when data flows again.
    A malformed or truncated notification is counted (``malformed_packets``), logged and
    skipped; it never stops the loop nor reaches the feed. The device refusing a stream,
    or lacking one, is unrecoverable: state ``failed`` with the reason, and ``run()``
    returns (``error`` holds the exception).

As a :class:`~spinecoach.sources.base.Source`
    :class:`BleDeviceSource` is one (:class:`~spinecoach.sources.feed_source.PulledFeedSource`):
    iterating it runs ``run()`` and gives its feed's samples (a reconnect's hole as a
    ``gap`` event); ``close()`` stops it; the unrecoverable error ends the iteration.

No adapter
    Without a Bluetooth adapter or the BlueZ service, :func:`scan` and connecting raise
    :class:`~spinecoach.errors.SourceUnavailableError`, whose message names the
    alternatives: a phone with Sensor Logger (HTTP push) or phyphox (remote access), the
    simulator (``--source sim``) or a recorded file (``spinecoach analyze FILE``).

>>> [(d.name, d.protocol) for d in found_devices([
...     Advertisement("Polar Sense B5A43E2F", "A0:9E:1A:B5:A4:3E", -61, ()),
...     Advertisement("Kettle", "11:22:33:44:55:66", -80, ())])]
[('Polar Sense B5A43E2F', 'polar-pmd'), ('Kettle', None)]
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.sources.ble_pmd import PolarPmdProtocol
from spinecoach.sources.ble_scan import Advertisement, FoundDevice, found_devices, scan
from spinecoach.sources.ble_struct import (
    StructProtocol,
    load_struct_protocol,
    struct_protocol_from_dict,
)
from spinecoach.sources.ble_transport import (
    BleakTransport,
    BleProtocol,
    BleTransport,
    PacketCallback,
    StreamRefusedError,
    TransportFactory,
    unavailable_from,
)
from spinecoach.sources.feed_source import PulledFeedSource
from spinecoach.sources.live import DeviceFeed

__all__ = [
    "BACKOFF_S",
    "PROTOCOLS",
    "Advertisement",
    "BleDeviceSource",
    "BleProtocol",
    "BleTransport",
    "BleakTransport",
    "FoundDevice",
    "PolarPmdProtocol",
    "StreamRefusedError",
    "StructProtocol",
    "found_devices",
    "load_struct_protocol",
    "protocol_by_name",
    "scan",
    "struct_protocol_from_dict",
]

log = logging.getLogger(__name__)

#: Default reconnect delays (s); the last repeats for ever.
BACKOFF_S: Final = (0.5, 1.0, 2.0, 4.0, 8.0)
#: Malformed packets logged at warning level before the rest go to debug.
MALFORMED_LOGGED: Final = 10

#: Device protocols by name (``scan`` reports these names).
PROTOCOLS: Final[dict[str, Callable[[], BleProtocol]]] = {"polar-pmd": PolarPmdProtocol}


def protocol_by_name(name: str) -> BleProtocol:
    """A fresh protocol object for ``name`` (``"polar-pmd"``); a :class:`StructProtocol`
    needs its layout, so it is built directly.

    >>> protocol_by_name("polar-pmd").label
    'Polar (PMD)'
    """
    factory = PROTOCOLS.get(name)
    if factory is None:
        raise ConfigurationError(
            f"unknown BLE protocol {name!r}; use one of {', '.join(PROTOCOLS)} (or build a "
            "StructProtocol with a PacketLayout)"
        )
    return factory()


# -- the source ------------------------------------------------------------------------------


class BleDeviceSource(PulledFeedSource):
    """One BLE device kept connected, its samples pushed into ``feed`` (module docstring).

    address
        The device's address (a MAC address on Linux and Windows, a UUID on macOS).
    protocol
        How the device is started and decoded (:class:`PolarPmdProtocol`,
        :class:`StructProtocol`, :func:`protocol_by_name`).
    transport_factory
        ``factory(address)`` → a new :class:`BleTransport` per connection attempt.
    backoff_s
        Delays (s) before reconnect attempts 1, 2, …; the last one repeats.
    jitter
        Each delay is lengthened by up to this fraction, at random.
    stall_timeout_s
        A connection that delivers no sample for this long (s) is dropped and retried
        (None: never).
    max_attempts
        Consecutive failed attempts before giving up (state ``failed``); None: never.
    clock, sleep
        The host's monotonic clock (s) and the sleep used between attempts and by the
        stall watchdog (tests pass a virtual clock).
    """

    def __init__(
        self,
        address: str,
        protocol: BleProtocol,
        feed: DeviceFeed,
        *,
        transport_factory: TransportFactory = BleakTransport,
        backoff_s: Sequence[float] = BACKOFF_S,
        jitter: float = 0.1,
        connect_timeout_s: float = 20.0,
        stall_timeout_s: float | None = 10.0,
        max_attempts: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not backoff_s or any(not (math.isfinite(d) and d >= 0) for d in backoff_s):
            raise ConfigurationError(
                f"backoff_s must list at least one delay of 0 s or more, got {backoff_s!r}"
            )
        if not (math.isfinite(jitter) and 0 <= jitter <= 1):
            raise ConfigurationError(f"jitter must be a fraction from 0 to 1, got {jitter}")
        self.address = address
        self.protocol = protocol
        self.feed = feed
        self._factory = transport_factory
        self.backoff_s = tuple(float(d) for d in backoff_s)
        self.jitter = jitter
        self.connect_timeout_s = connect_timeout_s
        self.stall_timeout_s = stall_timeout_s
        self.max_attempts = max_attempts
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        #: Notifications that could not be decoded (skipped).
        self.malformed_packets = 0
        #: Notifications decoded.
        self.packets = 0
        #: Successful connections (the first one included).
        self.connections = 0
        #: The unrecoverable error ``run()`` stopped on, if any.
        self.error: BaseException | None = None
        self._generation = 0
        self._streaming = False
        self._last_data_s = -math.inf

    @property
    def who(self) -> str:
        return f"{self.feed.name} ({self.address})"

    def backoff_delay(self, attempt: int) -> float:
        """Delay (s) before reconnect ``attempt`` (1-based), jitter included."""
        base = self.backoff_s[min(attempt, len(self.backoff_s)) - 1]
        return base * (1.0 + self.jitter * self._rng.random())

    async def run(self) -> None:
        """Keep the device connected and streaming until cancelled (or an unrecoverable
        error: state ``failed``, :attr:`error` set, and ``run`` returns)."""
        try:
            await self._keep_connected()
        except asyncio.CancelledError:
            self.feed.set_state("disconnected", f"{self.who}: stopped")
            raise

    async def _keep_connected(self) -> None:
        attempt = 0
        reason = ""
        while True:
            if attempt:
                delay = self.backoff_delay(attempt)
                self.feed.set_state(
                    "reconnecting" if self.connections else "connecting",
                    f"{self.who} {reason}, reconnecting in {delay:.1f} s (attempt {attempt})",
                )
                await self._sleep(delay)
            else:
                self.feed.set_state("connecting", f"connecting to {self.who}")
            transport = self._factory(self.address)
            lost = asyncio.Event()
            transport.set_disconnected_callback(lost.set)
            self._generation += 1
            self._streaming = False
            step = "connect"
            try:
                await transport.connect(timeout_s=self.connect_timeout_s)
                step = "start the streams"
                if attempt:
                    self.feed.set_state("reconnecting", f"{self.who}: connected, starting streams")
                await self.protocol.start(transport, self._receiver(self._generation))
                self.connections += 1
                self._last_data_s = self._clock()
                attempt = 0
                reason = await self._wait_until_lost(transport, lost)
            except asyncio.CancelledError:
                await self._close(transport, stop_streams=True)
                raise
            except Exception as error:
                await self._close(transport, stop_streams=False)
                if self._give_up(error):
                    return
                attempt += 1
                reason = f"could not {step} ({_describe(error)})"
                if self.max_attempts is not None and attempt >= self.max_attempts:
                    self._fail(
                        error, f"gave up after {attempt} failed attempts ({_describe(error)})"
                    )
                    return
                log.info("%s: %s", self.who, reason)
                continue
            self._generation += 1  # late notifications of the old link are ignored
            await self._close(transport, stop_streams=False)
            attempt = 1
            log.info("%s: %s", self.who, reason)

    async def _wait_until_lost(self, transport: BleTransport, lost: asyncio.Event) -> str:
        """Wait for the link to drop (or the data to stall); the reason in words."""
        stalled = False

        async def watchdog() -> None:
            nonlocal stalled
            limit = self.stall_timeout_s
            if limit is None:
                return
            while not lost.is_set():
                await self._sleep(min(1.0, limit / 4))
                if self._clock() - self._last_data_s > limit:
                    stalled = True
                    lost.set()

        if not transport.is_connected:
            lost.set()
        watch = asyncio.create_task(watchdog())
        try:
            await lost.wait()
        finally:
            watch.cancel()
        if stalled:
            return f"sent no data for {self.stall_timeout_s:g} s"
        return "lost the connection"

    def _give_up(self, error: Exception) -> bool:
        """Handle an unrecoverable error (True: ``run`` ends)."""
        unavailable = unavailable_from(error)
        if unavailable is not None:
            self._fail(unavailable, str(unavailable))
            return True
        if isinstance(error, StreamRefusedError):
            self._fail(error, f"{self.who}: {error}")
            return True
        return False

    def _fail(self, error: BaseException, detail: str) -> None:
        self.error = error
        log.error("%s: %s", self.who, detail)
        self.feed.set_state("failed", detail)

    async def _close(self, transport: BleTransport, *, stop_streams: bool) -> None:
        """Best effort: stop the streams and disconnect, never raising."""
        try:
            if transport.is_connected:
                if stop_streams:
                    async with asyncio.timeout(2.0):
                        await self.protocol.stop(transport)
                await transport.disconnect()
        except Exception as error:  # the link is going away anyway
            log.debug("%s: closing: %s", self.who, _describe(error))

    def _receiver(self, generation: int) -> PacketCallback:
        def receive(uuid: str, data: bytes) -> None:
            if generation == self._generation:
                self._on_packet(uuid, data)

        return receive

    def _on_packet(self, uuid: str, data: bytes) -> None:
        host_s = self._clock()
        try:
            batches = self.protocol.decode(uuid, data)
        except InputFormatError as error:
            self._malformed(error, data)
            return
        self.packets += 1
        for samples in batches:
            if samples.acc_mps2 is None or samples.gyr_dps is None or not samples.n_samples:
                continue
            if not self._streaming:
                self._streaming = True
                rate = self.protocol.rate_hz
                self.feed.declared_rate_hz = rate
                self.feed.set_state(
                    "connected",
                    f"{self.who}: streaming acc + gyro"
                    + ("" if rate is None else f" at {rate:g} Hz"),
                )
            try:
                self.feed.push(
                    samples.time_s,
                    host_time_s=host_s,
                    acc_mps2=samples.acc_mps2,
                    gyr_dps=samples.gyr_dps,
                )
            except InputFormatError as error:
                self._malformed(error, data)
                return
            self._last_data_s = host_s

    def _malformed(self, error: InputFormatError, data: bytes) -> None:
        self.malformed_packets += 1
        level = logging.WARNING if self.malformed_packets <= MALFORMED_LOGGED else logging.DEBUG
        log.log(level, "%s: skipped a malformed packet (%d bytes): %s", self.who, len(data), error)


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
