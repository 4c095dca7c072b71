"""Finding Bluetooth LE devices nearby: :func:`scan` and which supported protocol each
looks like (:func:`looks_like`).

>>> [(d.name, d.protocol) for d in found_devices([
...     Advertisement("Polar Sense B5A43E2F", "A0:9E:1A:B5:A4:3E", -61, ()),
...     Advertisement("Kettle", "11:22:33:44:55:66", -80, ())])]
[('Polar Sense B5A43E2F', 'polar-pmd'), ('Kettle', None)]
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from spinecoach.errors import ConfigurationError
from spinecoach.sources.ble_pmd import PMD_SERVICE_UUID
from spinecoach.sources.ble_transport import unavailable_from


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
