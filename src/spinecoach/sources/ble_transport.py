"""What a Bluetooth LE device source talks through: the transport and the device protocol.

:class:`BleTransport` is the few GATT operations a source needs (:class:`BleakTransport`
over bleak, a fake in the tests); :class:`BleProtocol` is how one kind of device is
started and its notifications decoded (:class:`~spinecoach.sources.ble_pmd.PolarPmdProtocol`,
:class:`~spinecoach.sources.ble_struct.StructProtocol`). The source that keeps a device
connected is :class:`~spinecoach.sources.ble.BleDeviceSource`.

No adapter
    Without a Bluetooth adapter or the BlueZ service, bleak raises a plain
    ``FileNotFoundError`` (no D-Bus socket) or ``BleakError`` ("No Bluetooth adapters
    found"). :func:`unavailable_from` translates both into
    :class:`~spinecoach.errors.SourceUnavailableError`, whose message names the
    alternatives: a phone with Sensor Logger (HTTP push) or phyphox (remote access), the
    simulator (``--source sim``) or a recorded file (``spinecoach analyze FILE``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from spinecoach.errors import SourceUnavailableError, SpinecoachError
from spinecoach.sources.ble_decode import ImuSamples

if TYPE_CHECKING:
    from bleak import BleakClient

NotifyCallback = Callable[[bytes], None]
PacketCallback = Callable[[str, bytes], None]


class StreamRefusedError(SpinecoachError):
    """The device refused to start a stream, or does not have one spinecoach needs.

    Unrecoverable for a :class:`BleDeviceSource`: retrying would get the same answer.
    """


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
