"""HTTP routes of the live devices: the phone's push ingest, the device list with
connection state and signal quality, where each device is worn, and starting or
stopping the pulled sources (phyphox, Bluetooth LE).

``POST /api/ingest/sensor-logger``
    Sensor Logger's HTTP push (:mod:`spinecoach.sources.sensor_logger_push`). Query:
    ``platform=android|ios`` (iOS acceleration signs; default android), ``placement=
    lower|upper`` (where the phone is worn, for a phone not placed yet), ``token`` (when
    the server has ``SPINECOACH_INGEST_TOKEN``). A broken message gets a 422 whose
    ``detail`` names the field and the fix; nothing of it is used. A message without
    sensor data (the app's "Tap to Test Pushing") is answered 200.
``GET /api/devices``
    Every device's status (:class:`~spinecoach.sources.live.DeviceStatus`) and what the
    page needs to tell the person how to connect a phone (the push URL; whether the
    server listens beyond this computer).
``POST /api/devices/{id}/placement``
    ``{"placement": "lower" | "upper" | null}``.
``POST /api/devices/phyphox``, ``POST /api/devices/ble``
    Start polling a phone running phyphox (``{"url", "placement"}``) or connecting a
    Bluetooth LE sensor (``{"address", "protocol", "placement"}``); the source runs in
    the server until ``DELETE /api/devices/{id}`` or shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import socket
import time
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.sources.ble import (
    BleDeviceSource,
    BleProtocol,
    protocol_by_name,
    struct_protocol_from_dict,
)
from spinecoach.sources.live import (
    DeviceFeed,
    SourceHub,
    ble_feed,
    phyphox_feed,
    run_supervised,
)
from spinecoach.sources.phyphox_remote import PhyphoxRemoteSource, phyphox_url
from spinecoach.sources.sensor_logger_push import (
    MAX_PUSH_BYTES,
    PushJoiner,
    parse_push,
)

log = logging.getLogger(__name__)

router = APIRouter()

KIND_SENSOR_LOGGER = "sensor-logger"


def hub_of(request: Request) -> SourceHub:
    hub: SourceHub = request.app.state.hub
    return hub


def _problem(status: int, problem: str, fix: str) -> HTTPException:
    return HTTPException(status_code=status, detail={"problem": problem, "fix": fix})


def _check_token(request: Request, token: str | None) -> None:
    expected: str | None = request.app.state.settings.ingest_token
    if expected is None:
        return
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise _problem(
            401,
            "the ingest token is missing or wrong",
            "add ?token=… (the server's SPINECOACH_INGEST_TOKEN) to the push URL in the app",
        )


@router.post("/api/ingest/sensor-logger")
async def ingest_sensor_logger(
    request: Request,
    platform: Literal["android", "ios"] = "android",
    placement: Literal["lower", "upper"] | None = None,
    token: str | None = Query(default=None, max_length=200),
) -> dict[str, Any]:
    """One Sensor Logger push message → the phone's device feed."""
    _check_token(request, token)
    arrived = time.monotonic()
    body = await request.body()
    if len(body) > MAX_PUSH_BYTES:
        raise _problem(
            413,
            f"the message has {len(body)} bytes, more than {MAX_PUSH_BYTES}",
            "set a shorter batch period in Sensor Logger's push settings",
        )
    if not body.strip():
        return {"status": "ok", "samples": 0, "note": "empty message (a test push?)"}
    try:
        message = parse_push(body)
    except InputFormatError as error:
        raise _problem(422, str(error), error.fix or "") from None
    hub = hub_of(request)
    device_id = f"{KIND_SENSOR_LOGGER}:{message.device_id}"
    feed = hub.device(
        device_id, kind=KIND_SENSOR_LOGGER, name=f"Phone {message.device_id[:8]} (Sensor Logger)"
    )
    joiners: dict[str, PushJoiner] = request.app.state.push_joiners
    joiner = joiners.get(device_id)
    if joiner is None or joiner.platform != platform:
        joiner = joiners[device_id] = PushJoiner(platform)
    late_before = joiner.late
    joined = joiner.add(message)
    feed.late += joiner.late - late_before
    if placement is not None and feed.placement is None:
        hub.assign(device_id, placement)
    missing = joiner.missing()
    if missing is not None and message.streams:
        feed.set_state(
            "failed",
            f"the phone does not send {missing}: turn it on in Sensor Logger's sensor list",
        )
    stored = None
    if len(joined.time_s):
        try:
            stored = feed.push(
                joined.time_s,
                host_time_s=arrived,
                acc_mps2=joined.acc_mps2,
                gyr_dps=joined.gyr_dps,
            )
        except InputFormatError as error:
            raise _problem(422, str(error), error.fix or "") from None
    return {
        "status": "ok",
        "device": device_id,
        "samples": 0 if stored is None else len(stored),
        "missing": missing,
    }


def lan_address() -> str | None:
    """This computer's address on the local network (the interface of the default
    route; a UDP socket is pointed at a private address, nothing is sent), or None."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 9))
        address = str(probe.getsockname()[0])
        if not ipaddress.ip_address(address).is_loopback:
            return address
    return None


def _lan_hint(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    host = settings.host
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    netloc = request.url.netloc
    if not loopback and host in ("0.0.0.0", "::"):
        address = lan_address()
        if address is not None:
            netloc = f"{address}:{request.url.port or settings.port}"
    base = f"{request.url.scheme}://{netloc}"
    url = f"{base}/api/ingest/sensor-logger"
    return {
        "sensor_logger_url": url,
        "reachable_from_phone": not loopback,
        "advice": (
            "This server only listens on this computer (127.0.0.1), so a phone cannot reach "
            "it. To use a phone, start it with `spinecoach serve --host 0.0.0.0` on a "
            "trusted home network and use this computer's address in the app."
            if loopback
            else "In Sensor Logger: Settings → Data Streaming → HTTP Push, enter this URL with "
            "this computer's address, batch period 200 ms, then start recording."
        ),
        "token_required": settings.ingest_token is not None,
    }


@router.get("/api/devices")
async def devices(request: Request) -> dict[str, Any]:
    hub = hub_of(request)
    return {
        "devices": [status.as_dict() for status in hub.statuses()],
        "phone": _lan_hint(request),
    }


class PlacementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    placement: Literal["lower", "upper"] | None = Field(
        description="Where the device is worn: lower (sacrum), upper (T12/L1), or null."
    )


@router.post("/api/devices/{device_id}/placement")
async def set_placement(device_id: str, body: PlacementIn, request: Request) -> dict[str, Any]:
    hub = hub_of(request)
    try:
        feed = hub.assign(device_id, body.placement)
    except KeyError as error:
        raise _problem(404, str(error.args[0]), "use an id listed by GET /api/devices") from None
    return feed.status().as_dict()


def _run_source(request: Request, feed: DeviceFeed, runner: Any) -> None:
    """Run a pulled source's ``run()`` as a server task (replacing an earlier one)."""
    tasks: dict[str, asyncio.Task[None]] = request.app.state.device_tasks
    old = tasks.pop(feed.id, None)
    if old is not None:
        old.cancel()

    tasks[feed.id] = asyncio.create_task(run_supervised(feed, runner.run))


class PhyphoxIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=300, description="The address phyphox shows (remote access).")
    placement: Literal["lower", "upper"] | None = None


@router.post("/api/devices/phyphox", status_code=201)
async def start_phyphox(body: PhyphoxIn, request: Request) -> dict[str, Any]:
    """Start polling a phone running phyphox (its remote access)."""
    try:
        url = phyphox_url(body.url)
    except ConfigurationError as error:
        raise _problem(
            422, str(error), "enter the URL phyphox shows, e.g. 192.168.1.20:8080"
        ) from None
    hub = hub_of(request)
    feed = phyphox_feed(hub, url)
    feed.set_state("connecting", f"connecting to phyphox at {url}")
    _run_source(request, feed, PhyphoxRemoteSource(url, feed, start_measurement=True))
    if body.placement is not None:
        hub.assign(feed.id, body.placement)
    return feed.status().as_dict()


class BleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(min_length=1, max_length=100, description="From `sensors scan`.")
    protocol: str = Field(default="polar-pmd", max_length=40)
    device: dict[str, Any] | None = Field(
        default=None,
        description='protocol "struct": the device description (data_uuid, rate_hz, '
        "layout, start_command), as in docs/examples/ble-device.toml",
    )
    placement: Literal["lower", "upper"] | None = None
    name: str | None = Field(default=None, max_length=100)


@router.post("/api/devices/ble", status_code=201)
async def start_ble(body: BleIn, request: Request) -> dict[str, Any]:
    """Connect a Bluetooth LE sensor and keep it connected (reconnecting with back-off)."""
    try:
        if body.protocol == "struct":
            if body.device is None:
                raise ConfigurationError('protocol "struct" needs "device": its description')
            protocol: BleProtocol = struct_protocol_from_dict(body.device, source="device")
        else:
            protocol = protocol_by_name(body.protocol)
    except ConfigurationError as error:
        raise _problem(
            422, str(error), 'use protocol "polar-pmd", or "struct" with a device description'
        ) from None
    hub = hub_of(request)
    feed = ble_feed(hub, body.address, body.name)
    feed.set_state("connecting", f"connecting to {body.address}")
    _run_source(request, feed, BleDeviceSource(body.address, protocol, feed))
    if body.placement is not None:
        hub.assign(feed.id, body.placement)
    return feed.status().as_dict()


@router.delete("/api/devices/{device_id}")
async def stop_device(device_id: str, request: Request) -> dict[str, Any]:
    hub = hub_of(request)
    feed = hub.get(device_id)
    if feed is None:
        raise _problem(404, f"no device {device_id!r}", "use an id listed by GET /api/devices")
    tasks: dict[str, asyncio.Task[None]] = request.app.state.device_tasks
    task = tasks.pop(device_id, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    feed.set_state("disconnected", "stopped")
    return feed.status().as_dict()


async def stop_all_sources(tasks: dict[str, asyncio.Task[None]]) -> None:
    """Cancel every running source (the app's shutdown)."""
    for task in tasks.values():
        task.cancel()
    for task in tasks.values():
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    tasks.clear()
