"""A Bluetooth LE device with a declared packet layout: :class:`StructProtocol` and the
device description file that declares it (:func:`load_struct_protocol`).

Any device that notifies fixed-size records holding acc and gyr (a
:class:`~spinecoach.sources.ble_decode.PacketLayout`) can be used; the records are
pushed as they come.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from typing import Any

from spinecoach.errors import ConfigurationError
from spinecoach.sources.ble_decode import ImuSamples, PacketLayout, struct_decode
from spinecoach.sources.ble_transport import BleTransport, PacketCallback


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
