"""Bluetooth LE sensors: find them, connect, start their streams, keep the connection and
feed the samples to a :class:`~spinecoach.sources.live.DeviceFeed`.

Supported devices
    **Polar PMD** (:class:`PolarPmdProtocol`): Polar Verity Sense and other Polar sensors
    that stream both accelerometer (ACC) and gyroscope (GYRO) over the Polar Measurement
    Data service (control point ``FB005C81-…``, data ``FB005C82-…``), following the
    "Polar Measurement Data Specification for 3rd party" (polarofficial/polar-ble-sdk,
    ``technical_documentation``). Polar H10 and OH1 stream acceleration only; spinecoach
    needs both, so they are refused with a clear message.
    **Declared layout** (:class:`StructProtocol`): any device that notifies fixed-size
    records holding acc and gyr (a :class:`~spinecoach.sources.ble_decode.PacketLayout`).

Starting the Polar streams
    Read the control point (feature bits: ACC and GYRO must be there), ask each stream
    for its settings (op code 0x01), start ACC and GYRO (op code 0x02, measurement type,
    then the settings ``[type, 1, uint16 LE]``: 0x00 sample rate, 0x01 resolution,
    0x02 range). Both streams get the **same rate**, 52 Hz when the device offers it
    (Verity Sense: 26/52/104/208 Hz; fast enough for spine motion, light on the radio),
    else the common rate nearest to it; resolution 16 bit; ACC range 8 G and GYRO range
    2000 deg/s when offered (else the largest). A response with a non-zero error code
    raises :class:`StreamRefusedError` naming the code; "already started" (6) is answered
    by stopping and starting the stream once.

Joining ACC and GYRO
    They come in separate frames, at times of their own. Samples are emitted at the ACC
    time stamps where gyro samples exist on both sides (gyro linearly interpolated, only
    between gyro samples at most 1.5 gyro periods apart); ACC samples beyond the newest
    gyro sample are held back until the next gyro frame. Nothing is invented over a hole
    in either stream. Device time stamps (PMD: ns since 2000-01-01 on the sensor's clock)
    go to the feed in seconds, with the host's monotonic receive time; the feed maps them
    onto the host timeline. A frame whose time stamp does not fit its sample count at the
    stream's rate (a lost notification before it) is timed as a first frame, so a lost
    notification becomes a gap rather than stretched samples.

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

No adapter
    Without a Bluetooth adapter or the BlueZ service, bleak raises a plain
    ``FileNotFoundError`` (no D-Bus socket) or ``BleakError`` ("No Bluetooth adapters
    found"). :func:`scan` and connecting translate both into
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
import dataclasses
import logging
import math
import os
import random
import struct
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np
from numpy.typing import NDArray

from spinecoach.errors import (
    ConfigurationError,
    InputFormatError,
    SourceUnavailableError,
    SpinecoachError,
)
from spinecoach.sources.ble_decode import (
    PMD_ACC,
    PMD_GYRO,
    ImuSamples,
    PacketLayout,
    pmd_decode,
    pmd_header,
    struct_decode,
)
from spinecoach.sources.live import DeviceFeed

if TYPE_CHECKING:
    from bleak import BleakClient

FloatArray = NDArray[np.float64]

log = logging.getLogger(__name__)

PMD_SERVICE_UUID: Final = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_UUID: Final = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID: Final = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: Control point op codes (client → sensor) and the response marker.
PMD_GET_SETTINGS: Final = 0x01
PMD_START: Final = 0x02
PMD_STOP: Final = 0x03
PMD_RESPONSE: Final = 0xF0
#: First byte of the control point's read value (the feature bits follow).
PMD_FEATURES: Final = 0x0F
#: Feature bits of byte 1 of the read value.
PMD_FEATURE_ACC: Final = 0x04
PMD_FEATURE_GYRO: Final = 0x20
#: Setting types and their value sizes (bytes, little-endian).
PMD_SETTING_RATE: Final = 0x00
PMD_SETTING_RESOLUTION: Final = 0x01
PMD_SETTING_RANGE: Final = 0x02
PMD_SETTING_FACTOR: Final = 0x05
PMD_SETTING_BYTES: Final[dict[int, int]] = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4}
#: Error codes of a control point response (the SDK's PmdControlPointResponseCode).
PMD_ERRORS: Final[dict[int, str]] = {
    1: "invalid op code",
    2: "invalid measurement type",
    3: "not supported",
    4: "invalid length",
    5: "invalid parameter",
    6: "already in that state",
    7: "invalid resolution",
    8: "invalid sample rate",
    9: "invalid range",
    10: "invalid MTU",
    11: "invalid number of channels",
    12: "invalid state",
    13: "device in charger",
    14: "disk full",
}
PMD_ALREADY_IN_STATE: Final = 6
_STREAM_NAMES: Final = {PMD_ACC: "ACC", PMD_GYRO: "GYRO"}

#: Default reconnect delays (s); the last repeats for ever.
BACKOFF_S: Final = (0.5, 1.0, 2.0, 4.0, 8.0)
#: Gyro samples bracketing an ACC time may be at most this many gyro periods apart.
MAX_GYRO_BRACKET_PERIODS: Final = 1.5
#: Most ACC data (s) held back waiting for gyro before the oldest is dropped.
MAX_HELD_BACK_S: Final = 5.0
#: A frame's time stamp that spreads its samples further than this from the nominal
#: period (fraction) is timed as a first frame (a notification before it was lost).
FRAME_SPACING_TOLERANCE: Final = 0.25
#: Malformed packets logged at warning level before the rest go to debug.
MALFORMED_LOGGED: Final = 10

NotifyCallback = Callable[[bytes], None]
PacketCallback = Callable[[str, bytes], None]


class StreamRefusedError(SpinecoachError):
    """The device refused to start a stream, or does not have one spinecoach needs.

    Unrecoverable for a :class:`BleDeviceSource`: retrying would get the same answer.
    """


# -- transport ------------------------------------------------------------------------------


class BleTransport(Protocol):
    """The few GATT operations a source needs; :class:`BleakTransport` over bleak, a
    fake in the tests. UUIDs are lower-case 128-bit strings."""

    @property
    def is_connected(self) -> bool: ...

    async def connect(self, *, timeout_s: float) -> None: ...

    async def disconnect(self) -> None: ...

    async def start_notify(self, uuid: str, callback: NotifyCallback) -> None: ...

    async def write(self, uuid: str, data: bytes, *, response: bool = True) -> None: ...

    async def read(self, uuid: str) -> bytes: ...

    def set_disconnected_callback(self, callback: Callable[[], None]) -> None:
        """``callback()`` runs on the event loop when the link drops."""


TransportFactory = Callable[[str], BleTransport]


def bluetooth_unavailable(detail: str) -> SourceUnavailableError:
    """The error for a computer without a usable Bluetooth adapter, with the alternatives."""
    return SourceUnavailableError(
        f"no Bluetooth adapter or BlueZ was found on this computer ({detail}), so Bluetooth "
        "LE sensors cannot be used here. Alternatives: a phone with Sensor Logger pushing "
        "to the server over HTTP, or phyphox with remote access; the built-in simulator "
        "(--source sim); or a recorded file (spinecoach analyze FILE)"
    )


def unavailable_from(error: BaseException) -> SourceUnavailableError | None:
    """The :class:`SourceUnavailableError` that ``error`` (from bleak) stands for, if any.

    >>> unavailable_from(FileNotFoundError(2, "No such file or directory")) is not None
    True
    >>> unavailable_from(TimeoutError("device not found")) is None
    True
    """
    if isinstance(error, SourceUnavailableError):
        return error
    if isinstance(error, FileNotFoundError):
        return bluetooth_unavailable(
            "the system D-Bus socket is missing, so BlueZ is not reachable"
        )
    from bleak.exc import BleakBluetoothNotAvailableError, BleakError

    if isinstance(error, BleakBluetoothNotAvailableError):
        reason = error.reason.name.lower().replace("_", " ")
        return bluetooth_unavailable(f"{str(error.args[0]).rstrip('.')}: {reason}")
    text = str(error)
    if isinstance(error, BleakError) and (
        "No Bluetooth adapters" in text or "ServiceUnknown" in text
    ):
        return bluetooth_unavailable(text.rstrip("."))
    return None


class BleakTransport:
    """:class:`BleTransport` over :class:`bleak.BleakClient` (one client per connection).

    ``connect`` turns a missing adapter or BlueZ into
    :class:`~spinecoach.errors.SourceUnavailableError`; other bleak errors pass through
    (the source retries them).
    """

    def __init__(self, address: str) -> None:
        self.address = address
        self._client: BleakClient | None = None
        self._on_disconnect: Callable[[], None] | None = None

    def set_disconnected_callback(self, callback: Callable[[], None]) -> None:
        self._on_disconnect = callback

    def _disconnected(self, _client: object) -> None:
        if self._on_disconnect is not None:
            self._on_disconnect()

    def _bleak(self) -> BleakClient:
        if self._client is None:
            raise ConnectionError(f"{self.address}: not connected")
        return self._client

    @property
    def is_connected(self) -> bool:
        return self._client is not None and self._bleak().is_connected

    async def connect(self, *, timeout_s: float) -> None:
        from bleak import BleakClient

        client = BleakClient(self.address, self._disconnected, timeout=timeout_s)
        try:
            await client.connect()
        except Exception as error:
            unavailable = unavailable_from(error)
            if unavailable is not None:
                raise unavailable from error
            raise
        self._client = client

    async def disconnect(self) -> None:
        if self._client is not None:
            await self._bleak().disconnect()

    async def start_notify(self, uuid: str, callback: NotifyCallback) -> None:
        def relay(_sender: object, data: bytearray) -> None:
            callback(bytes(data))

        await self._bleak().start_notify(uuid, relay)

    async def write(self, uuid: str, data: bytes, *, response: bool = True) -> None:
        await self._bleak().write_gatt_char(uuid, data, response=response)

    async def read(self, uuid: str) -> bytes:
        return bytes(await self._bleak().read_gatt_char(uuid))


# -- device protocols -----------------------------------------------------------------------


class BleProtocol(Protocol):
    """How one kind of device is started and its notifications decoded.

    ``decode`` returns complete samples (acc and gyr, device times in s) ready for the
    feed, possibly none yet (held back), and raises
    :class:`~spinecoach.errors.InputFormatError` for a malformed packet.
    """

    name: str
    label: str

    @property
    def rate_hz(self) -> float | None:
        """The nominal rate (Hz) of the samples, once the streams were started."""

    def reset(self) -> None:
        """Forget per-connection state (previous time stamps, held-back samples)."""

    async def start(self, transport: BleTransport, on_packet: PacketCallback) -> None:
        """Subscribe the data notifications (``on_packet(uuid, data)``) and start streaming."""

    async def stop(self, transport: BleTransport) -> None:
        """Ask the device to stop streaming (best effort)."""

    def decode(self, uuid: str, data: bytes) -> list[ImuSamples]: ...


@dataclass(frozen=True)
class PmdResponse:
    """A PMD control point response: ``[0xF0, op code, type, error, more, parameters…]``."""

    op_code: int
    measurement_type: int
    error_code: int
    more: bool
    parameters: bytes

    @property
    def error(self) -> str:
        return PMD_ERRORS.get(self.error_code, f"unknown error {self.error_code}")


def pmd_response(data: bytes, *, source: str = "PMD control point") -> PmdResponse:
    """Parse a control point response.

    >>> r = pmd_response(bytes.fromhex("f0 02 05 00 00 05 01 00 00 80 3d"))
    >>> r.op_code, r.measurement_type, r.error_code, pmd_settings(r.parameters)
    (2, 5, 0, {5: [0.0625]})
    """
    if len(data) < 4 or data[0] != PMD_RESPONSE:
        raise InputFormatError(
            source,
            "a response of at least 4 bytes starting with f0 (op code, type, error code)",
            found=data.hex(" ") or "0 bytes",
        )
    more = len(data) > 4 and data[4] != 0
    return PmdResponse(data[1], data[2], data[3], more, bytes(data[5:]))


def pmd_settings(data: bytes, *, source: str = "PMD settings") -> dict[int, list[float]]:
    """Settings TLVs ``[type, count, count × value]`` → values by setting type.

    Values are unsigned little-endian integers, except the factor (type 5): float32.

    >>> pmd_settings(bytes.fromhex("00 02 1a00 3400 01 01 1000"))
    {0: [26.0, 52.0], 1: [16.0]}
    """
    out: dict[int, list[float]] = {}
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise InputFormatError(
                source, f"a setting type and count at byte {offset}", found=data.hex(" ")
            )
        kind, count = data[offset], data[offset + 1]
        offset += 2
        size = PMD_SETTING_BYTES.get(kind)
        if size is None:
            raise InputFormatError(
                source,
                f"a setting type 0–5 at byte {offset - 2}",
                found=f"type {kind} in {data.hex(' ')}",
            )
        if offset + count * size > len(data):
            raise InputFormatError(
                source,
                f"{count} values of {size} bytes for setting type {kind} at byte {offset}",
                found=f"{len(data) - offset} bytes",
            )
        values: list[float] = []
        for _ in range(count):
            chunk = data[offset : offset + size]
            offset += size
            if kind == PMD_SETTING_FACTOR:
                values.append(float(struct.unpack("<f", chunk)[0]))
            else:
                values.append(float(int.from_bytes(chunk, "little")))
        out[kind] = values
    return out


def _pick(available: Sequence[float], preferred: float) -> int:
    """The preferred value if offered, else the offered value nearest to it (ties: the
    larger)."""
    return int(min(available, key=lambda v: (abs(v - preferred), -v)))


@dataclass(frozen=True)
class PmdStreamSettings:
    """The settings one stream is started with (values as the device takes them)."""

    sample_rate_hz: int
    resolution_bits: int | None
    range: int | None

    def request(self) -> bytes:
        """The settings part of a start request: ``[type, 1, uint16 LE]`` each."""
        out = bytearray([PMD_SETTING_RATE, 1, *self.sample_rate_hz.to_bytes(2, "little")])
        if self.resolution_bits is not None:
            out += bytes([PMD_SETTING_RESOLUTION, 1, *self.resolution_bits.to_bytes(2, "little")])
        if self.range is not None:
            out += bytes([PMD_SETTING_RANGE, 1, *self.range.to_bytes(2, "little")])
        return bytes(out)


def choose_pmd_settings(
    acc: dict[int, list[float]],
    gyr: dict[int, list[float]],
    *,
    rate_hz: int = 52,
    acc_range_g: int = 8,
    gyr_range_dps: int = 2000,
) -> tuple[PmdStreamSettings, PmdStreamSettings]:
    """ACC and GYRO settings from what the device offers (see the module docstring).

    >>> acc = {0: [26.0, 52.0, 104.0], 1: [16.0], 2: [2.0, 4.0, 8.0, 16.0]}
    >>> gyr = {0: [26.0, 52.0, 104.0], 1: [16.0], 2: [250.0, 500.0, 1000.0, 2000.0]}
    >>> choose_pmd_settings(acc, gyr)[1]
    PmdStreamSettings(sample_rate_hz=52, resolution_bits=16, range=2000)
    """
    acc_rates, gyr_rates = acc.get(PMD_SETTING_RATE, []), gyr.get(PMD_SETTING_RATE, [])
    if not acc_rates or not gyr_rates:
        missing = "ACC" if not acc_rates else "GYRO"
        raise StreamRefusedError(f"the device lists no sample rate for its {missing} stream")
    common = sorted(set(acc_rates) & set(gyr_rates))
    acc_rate = _pick(common or acc_rates, rate_hz)
    gyr_rate = _pick(common, rate_hz) if common else _pick(gyr_rates, rate_hz)

    def one(offered: dict[int, list[float]], rate: int, range_: int) -> PmdStreamSettings:
        resolutions = offered.get(PMD_SETTING_RESOLUTION)
        ranges = offered.get(PMD_SETTING_RANGE)
        return PmdStreamSettings(
            rate,
            _pick(resolutions, 16) if resolutions else None,
            (range_ if range_ in ranges else int(max(ranges))) if ranges else None,
        )

    return one(acc, acc_rate, acc_range_g), one(gyr, gyr_rate, gyr_range_dps)


class AccGyrJoiner:
    """Pair ACC samples with gyro interpolated at their times (see the module docstring).

    >>> j = AccGyrJoiner(gyr_rate_hz=10.0)
    >>> t = np.array([0.0, 0.1, 0.2])
    >>> j.add_acc(t + 0.05, np.ones((3, 3))) is None  # no gyro yet: held back
    True
    >>> s = j.add_gyr(t, np.array([[0.0] * 3, [1.0] * 3, [2.0] * 3]))
    >>> s.time_s.round(3).tolist(), s.gyr_dps[:, 0].round(3).tolist(), j.held_back
    ([0.05, 0.15], [0.5, 1.5], 1)
    """

    def __init__(self, *, gyr_rate_hz: float) -> None:
        self.max_bracket_s = MAX_GYRO_BRACKET_PERIODS / gyr_rate_hz
        self.unpaired = 0
        self.reset()

    def reset(self) -> None:
        self._acc_t = np.empty(0)
        self._acc = np.empty((0, 3))
        self._gyr_t = np.empty(0)
        self._gyr = np.empty((0, 3))

    @property
    def held_back(self) -> int:
        """ACC samples waiting for gyro."""
        return len(self._acc_t)

    def add_acc(self, time_s: FloatArray, acc_mps2: FloatArray) -> ImuSamples | None:
        self._acc_t = np.concatenate([self._acc_t, time_s])
        self._acc = np.vstack([self._acc, acc_mps2])
        return self._emit()

    def add_gyr(self, time_s: FloatArray, gyr_dps: FloatArray) -> ImuSamples | None:
        self._gyr_t = np.concatenate([self._gyr_t, time_s])
        self._gyr = np.vstack([self._gyr, gyr_dps])
        return self._emit()

    def _emit(self) -> ImuSamples | None:
        acc_t, gyr_t = self._acc_t, self._gyr_t
        if len(acc_t) and acc_t[-1] - acc_t[0] > MAX_HELD_BACK_S:  # gyro stalled
            keep = acc_t >= acc_t[-1] - MAX_HELD_BACK_S
            self.unpaired += int((~keep).sum())
            self._acc_t, self._acc = acc_t[keep], self._acc[keep]
            acc_t = self._acc_t
        if not len(acc_t) or not len(gyr_t):
            return None
        early = acc_t < gyr_t[0]  # before the first gyro sample: never pairable
        ready = ~early & (acc_t <= gyr_t[-1])
        self.unpaired += int(early.sum())
        t = acc_t[ready]
        out = None
        if len(t):
            hi = np.searchsorted(gyr_t, t, side="left")
            lo = np.maximum(hi - 1, 0)
            exact = gyr_t[hi] == t
            usable = exact | (gyr_t[hi] - gyr_t[lo] <= self.max_bracket_s)
            self.unpaired += int((~usable).sum())
            t_ok = t[usable]
            if len(t_ok):
                gyr = np.column_stack([np.interp(t_ok, gyr_t, self._gyr[:, c]) for c in range(3)])
                out = ImuSamples(time_s=t_ok, acc_mps2=self._acc[ready][usable], gyr_dps=gyr)
        waiting = ~early & ~ready
        self._acc_t, self._acc = acc_t[waiting], self._acc[waiting]
        # Keep the gyro from the last sample at or before the next ACC time to pair.
        horizon = self._acc_t[0] if len(self._acc_t) else (t[-1] if len(t) else gyr_t[-1])
        first = max(int(np.searchsorted(gyr_t, horizon, side="right")) - 1, 0)
        self._gyr_t, self._gyr = gyr_t[first:], self._gyr[first:]
        return out


class PolarPmdProtocol:
    """Polar sensors over PMD: ACC + GYRO at one rate, joined (module docstring).

    rate_hz
        Preferred rate of both streams (Hz); the device's nearest common rate is used.
    acc_range_g, gyr_range_dps
        Preferred ranges; the largest offered when these are not.
    response_timeout_s
        How long to wait for a control point response before the connection is retried.
    """

    name = "polar-pmd"
    label = "Polar (PMD)"

    def __init__(
        self,
        *,
        rate_hz: int = 52,
        acc_range_g: int = 8,
        gyr_range_dps: int = 2000,
        response_timeout_s: float = 5.0,
    ) -> None:
        if not (isinstance(rate_hz, int) and 1 <= rate_hz <= 0xFFFF):
            raise ConfigurationError(f"rate_hz must be a whole number of hertz, got {rate_hz!r}")
        self.preferred_rate_hz = rate_hz
        self.acc_range_g = acc_range_g
        self.gyr_range_dps = gyr_range_dps
        self.response_timeout_s = response_timeout_s
        self.settings: dict[int, PmdStreamSettings] = {}
        self.factors: dict[int, float] = {}
        self._responses: asyncio.Queue[bytes] = asyncio.Queue()
        self._joiner: AccGyrJoiner | None = None
        self._previous_ns: dict[int, int] = {}

    @property
    def rate_hz(self) -> float | None:
        acc = self.settings.get(PMD_ACC)
        return None if acc is None else float(acc.sample_rate_hz)

    @property
    def unpaired_samples(self) -> int:
        """ACC samples dropped for want of gyro on both sides (stream starts, holes)."""
        return 0 if self._joiner is None else self._joiner.unpaired

    def reset(self) -> None:
        self._previous_ns = {}
        self._responses = asyncio.Queue()
        if self._joiner is not None:
            self._joiner.reset()

    async def start(self, transport: BleTransport, on_packet: PacketCallback) -> None:
        self.reset()
        await transport.start_notify(PMD_CONTROL_UUID, self._responses.put_nowait)
        features = await transport.read(PMD_CONTROL_UUID)
        if len(features) >= 2 and features[0] == PMD_FEATURES:
            if not features[1] & PMD_FEATURE_ACC:
                raise StreamRefusedError("the device has no accelerometer (ACC) stream")
            if not features[1] & PMD_FEATURE_GYRO:
                raise StreamRefusedError(
                    "the device streams no gyroscope (GYRO) data (Polar H10 and OH1 stream "
                    "acceleration only); spinecoach needs both: use a Polar Verity Sense"
                )
        offered = {kind: await self._offered(transport, kind) for kind in (PMD_ACC, PMD_GYRO)}
        acc, gyr = choose_pmd_settings(
            offered[PMD_ACC],
            offered[PMD_GYRO],
            rate_hz=self.preferred_rate_hz,
            acc_range_g=self.acc_range_g,
            gyr_range_dps=self.gyr_range_dps,
        )
        self.settings = {PMD_ACC: acc, PMD_GYRO: gyr}
        if self._joiner is None or not math.isclose(
            self._joiner.max_bracket_s, MAX_GYRO_BRACKET_PERIODS / gyr.sample_rate_hz
        ):
            self._joiner = AccGyrJoiner(gyr_rate_hz=gyr.sample_rate_hz)

        def data(payload: bytes) -> None:
            on_packet(PMD_DATA_UUID, payload)

        await transport.start_notify(PMD_DATA_UUID, data)
        for kind, setting in self.settings.items():
            self.factors[kind] = await self._start_stream(transport, kind, setting)

    async def stop(self, transport: BleTransport) -> None:
        for kind in self.settings:
            await transport.write(PMD_CONTROL_UUID, bytes([PMD_STOP, kind]), response=True)

    async def _request(
        self, transport: BleTransport, op: int, kind: int, rest: bytes
    ) -> PmdResponse:
        while not self._responses.empty():  # stale answers of an earlier request
            self._responses.get_nowait()
        await transport.write(PMD_CONTROL_UUID, bytes([op, kind, *rest]), response=True)
        async with asyncio.timeout(self.response_timeout_s):
            while True:
                try:
                    response = pmd_response(await self._responses.get())
                except InputFormatError as error:
                    log.debug("ignoring a control point notification: %s", error)
                    continue
                if response.op_code == op and response.measurement_type == kind:
                    break
            parameters = response.parameters
            more = response.more
            while more:  # continuation packets: [more, parameters…]
                packet = await self._responses.get()
                more = bool(packet[:1]) and packet[0] != 0
                parameters += packet[1:]
        return PmdResponse(op, kind, response.error_code, False, parameters)

    async def _offered(self, transport: BleTransport, kind: int) -> dict[int, list[float]]:
        response = await self._request(transport, PMD_GET_SETTINGS, kind, b"")
        if response.error_code:
            raise StreamRefusedError(
                f"the device has no usable {_STREAM_NAMES[kind]} stream: its settings query "
                f"answered error {response.error_code} ({response.error})"
            )
        return pmd_settings(response.parameters)

    async def _start_stream(
        self, transport: BleTransport, kind: int, setting: PmdStreamSettings
    ) -> float:
        response = await self._request(transport, PMD_START, kind, setting.request())
        if response.error_code == PMD_ALREADY_IN_STATE:  # left running: restart it
            await self._request(transport, PMD_STOP, kind, b"")
            response = await self._request(transport, PMD_START, kind, setting.request())
        if response.error_code:
            raise StreamRefusedError(
                f"the device refused to start its {_STREAM_NAMES[kind]} stream at "
                f"{setting.sample_rate_hz} Hz: error {response.error_code} ({response.error})"
            )
        factors = pmd_settings(response.parameters).get(PMD_SETTING_FACTOR) or [1.0]
        return factors[0]

    def decode(self, uuid: str, data: bytes) -> list[ImuSamples]:
        if uuid != PMD_DATA_UUID or self._joiner is None:
            return []
        header = pmd_header(data)
        kind = header.measurement_type
        setting = self.settings.get(kind)
        if setting is None:
            raise InputFormatError(
                "PMD frame",
                "an ACC or GYRO frame (the streams started)",
                found=f"measurement type {kind}",
            )
        rate = float(setting.sample_rate_hz)
        factor = self.factors.get(kind, 1.0)
        previous = self._previous_ns.get(kind)
        samples = pmd_decode(
            data, sampling_rate_hz=rate, factor=factor, previous_timestamp_ns=previous
        )
        if previous is not None:
            spacing_s = (header.timestamp_ns - previous) * 1e-9 / samples.n_samples
            if abs(spacing_s * rate - 1.0) > FRAME_SPACING_TOLERANCE:
                samples = pmd_decode(data, sampling_rate_hz=rate, factor=factor)
        self._previous_ns[kind] = header.timestamp_ns
        if samples.acc_mps2 is not None:
            joined = self._joiner.add_acc(samples.time_s, samples.acc_mps2)
        elif samples.gyr_dps is not None:
            joined = self._joiner.add_gyr(samples.time_s, samples.gyr_dps)
        else:
            joined = None
        return [] if joined is None else [joined]


class StructProtocol:
    """A device that notifies fixed-size records holding acc and gyr (a declared
    :class:`~spinecoach.sources.ble_decode.PacketLayout`), pushed as they come.

    data_uuid
        The notify characteristic.
    rate_hz
        The device's nominal rate (Hz).
    start_command
        ``(characteristic uuid, bytes)`` written after subscribing, if the device needs
        a command to start streaming.
    """

    name = "struct"
    label = "declared packet layout"

    def __init__(
        self,
        layout: PacketLayout,
        *,
        data_uuid: str,
        rate_hz: float,
        start_command: tuple[str, bytes] | None = None,
    ) -> None:
        if not (layout.acc_fields and layout.gyr_fields):
            raise ConfigurationError(
                "a BLE source needs acc and gyr in each record: name both acc_fields and "
                "gyr_fields in the PacketLayout"
            )
        if not (math.isfinite(rate_hz) and rate_hz > 0):
            raise ConfigurationError(f"rate_hz must be a positive number of hertz, got {rate_hz}")
        self.layout = layout
        self.data_uuid = data_uuid.lower()
        self._rate_hz = float(rate_hz)
        self.start_command = start_command

    @property
    def rate_hz(self) -> float | None:
        return self._rate_hz

    def reset(self) -> None:
        """Nothing is kept between packets."""

    async def start(self, transport: BleTransport, on_packet: PacketCallback) -> None:
        def data(payload: bytes) -> None:
            on_packet(self.data_uuid, payload)

        await transport.start_notify(self.data_uuid, data)
        if self.start_command is not None:
            uuid, command = self.start_command
            await transport.write(uuid, command, response=True)

    async def stop(self, transport: BleTransport) -> None:
        """No stop command is declared: disconnecting stops the notifications."""

    def decode(self, uuid: str, data: bytes) -> list[ImuSamples]:
        if uuid != self.data_uuid:
            return []
        return [struct_decode(data, self.layout)]


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


class BleDeviceSource:
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


# -- scanning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Advertisement:
    """What a scan heard from one device."""

    name: str | None
    address: str
    rssi: int | None
    service_uuids: tuple[str, ...]


@dataclass(frozen=True)
class FoundDevice:
    """A nearby device: name, address, signal strength (dBm) and which supported protocol
    it looks like (``"polar-pmd"``, or None)."""

    name: str | None
    address: str
    rssi: int | None
    protocol: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "address": self.address,
            "rssi": self.rssi,
            "protocol": self.protocol,
        }


Scanner = Callable[[float], Awaitable[Sequence[Advertisement]]]


def looks_like(name: str | None, service_uuids: Sequence[str]) -> str | None:
    """The supported protocol a device looks like from its advertisement, or None."""
    if (name or "").startswith("Polar") or PMD_SERVICE_UUID in (u.lower() for u in service_uuids):
        return "polar-pmd"
    return None


def found_devices(adverts: Sequence[Advertisement]) -> list[FoundDevice]:
    """Advertisements → devices, supported ones first, then by signal strength."""
    found = [
        FoundDevice(a.name, a.address, a.rssi, looks_like(a.name, a.service_uuids)) for a in adverts
    ]
    return sorted(
        found, key=lambda d: (d.protocol is None, -(d.rssi if d.rssi is not None else -999))
    )


async def bleak_scanner(timeout_s: float) -> list[Advertisement]:
    """Scan with bleak for ``timeout_s`` seconds."""
    from bleak import BleakScanner

    seen = await BleakScanner.discover(timeout_s, return_adv=True)
    return [
        Advertisement(
            adv.local_name or device.name,
            device.address,
            adv.rssi,
            tuple(adv.service_uuids),
        )
        for device, adv in seen.values()
    ]


async def scan(timeout_s: float = 5.0, *, scanner: Scanner = bleak_scanner) -> list[FoundDevice]:
    """Nearby BLE devices heard within ``timeout_s`` seconds, supported ones first.

    Raises :class:`~spinecoach.errors.SourceUnavailableError` when there is no Bluetooth
    adapter or no BlueZ (the message lists the other sources).
    """
    if not (math.isfinite(timeout_s) and 0 < timeout_s <= 120):
        raise ConfigurationError(f"timeout_s must be 0–120 seconds, got {timeout_s}")
    try:
        adverts = await scanner(timeout_s)
    except Exception as error:
        unavailable = unavailable_from(error)
        if unavailable is not None:
            raise unavailable from error
        raise
    return found_devices(adverts)


# -- a declared device from a description file ------------------------------------------------


def struct_protocol_from_dict(data: Mapping[str, Any], *, source: str = "device") -> StructProtocol:
    """A :class:`StructProtocol` from a device description (a TOML file's content, or
    the JSON of ``POST /api/devices/ble``)::

        data_uuid = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"   # the notify characteristic
        rate_hz = 100
        start_command = {uuid = "6e400002-…", hex = "01"}    # optional
        [layout]                                             # PacketLayout's fields
        struct_format = "<I hhh hhh"
        fields = ["t", "ax", "ay", "az", "gx", "gy", "gz"]
        time_field = "t"
        time_unit = "ms"
        acc_fields = ["ax", "ay", "az"]
        acc_unit = "g"
        acc_scale = 0.000244140625
        gyr_fields = ["gx", "gy", "gz"]
        gyr_unit = "dps"
        gyr_scale = 0.0609756

    Raises :class:`ConfigurationError` naming the key that is missing or wrong.
    """

    def need(
        mapping: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str
    ) -> Any:
        if key not in mapping:
            raise ConfigurationError(f"{source}: {where}{key} is missing")
        value = mapping[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ConfigurationError(f"{source}: {where}{key} has the wrong type ({value!r})")
        return value

    data_uuid = need(data, "data_uuid", str, "")
    rate_hz = float(need(data, "rate_hz", (int, float), ""))
    layout_data = need(data, "layout", dict, "")
    known = {f.name for f in dataclasses.fields(PacketLayout)}
    unknown = sorted(set(layout_data) - known)
    if unknown:
        raise ConfigurationError(
            f"{source}: layout has unknown keys {', '.join(unknown)}; known: "
            + ", ".join(sorted(known))
        )
    kwargs: dict[str, Any] = {}
    for key, value in layout_data.items():
        kwargs[key] = tuple(value) if isinstance(value, list) else value
    for key in ("struct_format", "fields", "time_field", "time_unit"):
        need(layout_data, key, (str, list), "layout.")
    try:
        layout = PacketLayout(**kwargs)
    except TypeError as error:
        raise ConfigurationError(f"{source}: layout: {error}") from None
    start_command = None
    if "start_command" in data:
        command = need(data, "start_command", dict, "")
        uuid = need(command, "uuid", str, "start_command.")
        text = need(command, "hex", str, "start_command.")
        try:
            start_command = (uuid, bytes.fromhex(text))
        except ValueError:
            raise ConfigurationError(
                f"{source}: start_command.hex must be hexadecimal bytes, e.g. '0102', not {text!r}"
            ) from None
    return StructProtocol(layout, data_uuid=data_uuid, rate_hz=rate_hz, start_command=start_command)


def load_struct_protocol(path: str | os.PathLike[str]) -> StructProtocol:
    """:func:`struct_protocol_from_dict` of a TOML device description file."""
    import tomllib

    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as error:
        raise ConfigurationError(f"cannot read the device description {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{path} is not valid TOML: {error}") from None
    return struct_protocol_from_dict(data, source=str(path))
