"""HTTP routes of the live devices: the phone's push ingest, the device list with
connection state and signal quality, where each device is worn, and starting or
stopping the pulled sources (phyphox, Bluetooth LE).

``POST /api/ingest/sensor-logger``
    Sensor Logger's HTTP push (:mod:`spinecoach.sources.sensor_logger_push`). Query:
    ``platform=android|ios`` (iOS acceleration signs; default android), ``placement=
    lower|upper`` (where the phone is worn, for a phone not placed yet), ``token`` (when
    the server has ``SPINECOACH_INGEST_TOKEN``). A broken message gets a 422 whose
    ``detail`` names the field and the fix; nothing of it is used. A message without
    sensor data (the app's "Tap to Test Pushing") is answered 200. A message over
    :data:`BODY_LIMITS` is refused with 413 while it arrives (:mod:`spinecoach.web.limits`).
``GET /api/devices``
    Every device's status (:class:`~spinecoach.sources.live.DeviceStatus`) and what the
    page needs to tell the person how to connect a phone (the push URL; whether the
    server listens beyond this computer).
``POST /api/devices/{id}/placement``
    ``{"placement": "lower" | "upper" | null}``.
``POST /api/devices/phyphox``, ``POST /api/devices/ble``
    Start polling a phone running phyphox (``{"url", "placement"}``) or connecting a
    Bluetooth LE sensor (``{"address", "protocol", "placement"}``); the source runs in
    the server until ``DELETE /api/devices/{id}`` or shutdown. phyphox must be on the
    local network (422 otherwise) and answer like phyphox before polling starts; every
    failure to reach it is the same 502 (:mod:`spinecoach.web.outbound`).

Every device answer is a :class:`DeviceStatusOut` (the fields of
:class:`~spinecoach.sources.live.DeviceStatus`). The hub, the settings, the push joiners
and the running source tasks come from :mod:`spinecoach.web.deps`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import math
import socket
import time
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.sources.ble import (
    BleDeviceSource,
    BleProtocol,
    protocol_by_name,
    struct_protocol_from_dict,
)
from spinecoach.sources.live import (
    DeviceFeed,
    ble_feed,
    phyphox_feed,
    run_supervised,
)
from spinecoach.sources.phyphox_remote import PhyphoxRemoteSource, phyphox_url
from spinecoach.sources.sensor_logger_push import (
    MAX_PUSH_BYTES,
    PushJoiner,
    ingest_push,
    parse_push,
)
from spinecoach.web.attempts import AttemptLimiter
from spinecoach.web.deps import DeviceTasksDep, HubDep, PushJoinersDep, SettingsDep
from spinecoach.web.limits import BodyLimit
from spinecoach.web.outbound import (
    PHYPHOX_ADDRESS_FIX,
    PHYPHOX_UNREACHABLE_FIX,
    answers_like_phyphox,
    phyphox_target,
)
from spinecoach.web.routes.common import Body, problem
from spinecoach.web.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter()

KIND_SENSOR_LOGGER = "sensor-logger"

#: The routes taking larger bodies than the server's default (see
#: :mod:`spinecoach.web.limits`): the phone's push messages.
BODY_LIMITS: dict[str, BodyLimit] = {
    "/api/ingest/sensor-logger": BodyLimit(
        MAX_PUSH_BYTES, "set a shorter batch period in Sensor Logger's push settings"
    ),
}


class DeviceStatusOut(BaseModel):
    """One device: its connection state and signal quality, and where it is worn."""

    id: str
    kind: str
    name: str
    state: str
    detail: str
    rate_hz: float | None
    samples: int
    gaps: int
    lost_s: float
    late: int
    time_adjusted: int
    last_data_age_s: float | None
    quality: str
    quality_reason: str
    placement: str | None


class IngestOut(BaseModel):
    """A push taken: the device it fed, the samples stored, a sensor the phone does not
    send (``note`` instead of ``device`` and ``missing`` for an empty message)."""

    status: str
    device: str | None = None
    samples: int
    missing: str | None = None
    note: str | None = None


class PhoneHintOut(BaseModel):
    """How to connect a phone: the push URL, and whether a phone can reach the server."""

    sensor_logger_url: str
    reachable_from_phone: bool
    advice: str
    token_required: bool


class DevicesOut(BaseModel):
    devices: list[DeviceStatusOut]
    phone: PhoneHintOut


def _out(feed: DeviceFeed) -> DeviceStatusOut:
    return DeviceStatusOut.model_validate(feed.status().as_dict())


def _check_token(settings: Settings, token: str | None, request: Request) -> None:
    """The ingest token, when the server has one; wrong tokens back off per client
    (:class:`~spinecoach.web.attempts.AttemptLimiter`: 429 with Retry-After)."""
    expected: str | None = settings.ingest_token
    if expected is None:
        return
    attempts: AttemptLimiter = request.app.state.token_attempts
    client = request.client.host if request.client else "unknown"
    wait_s = attempts.blocked_for_s(client)
    if wait_s > 0.0:
        raise HTTPException(
            status_code=429,
            detail={
                "problem": "too many wrong ingest tokens from this address",
                "fix": f"wait {math.ceil(wait_s)} s, then push with the right token "
                "(the server's SPINECOACH_INGEST_TOKEN)",
            },
            headers={"Retry-After": str(math.ceil(wait_s))},
        )
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        attempts.failed(client)
        raise problem(
            401,
            "the ingest token is missing or wrong",
            "add ?token=… (the server's SPINECOACH_INGEST_TOKEN) to the push URL in the app",
        )
    attempts.succeeded(client)


@router.post(
    "/api/ingest/sensor-logger", response_model=IngestOut, response_model_exclude_unset=True
)
async def ingest_sensor_logger(
    request: Request,
    settings: SettingsDep,
    hub: HubDep,
    joiners: PushJoinersDep,
    platform: Literal["android", "ios"] = "android",
    placement: Literal["lower", "upper"] | None = None,
    token: str | None = Query(default=None, max_length=200),
) -> dict[str, Any]:
    """One Sensor Logger push message → the phone's device feed
    (:func:`~spinecoach.sources.sensor_logger_push.ingest_push`: join, count late
    samples, say what the phone does not send, push)."""
    _check_token(settings, token, request)
    arrived = time.monotonic()
    body = await request.body()  # at most BODY_LIMITS' bytes: the limit is kept while read
    if not body.strip():
        return {"status": "ok", "samples": 0, "note": "empty message (a test push?)"}
    try:
        message = parse_push(body)
    except InputFormatError as error:
        raise problem(422, str(error), error.fix or "") from None
    device_id = f"{KIND_SENSOR_LOGGER}:{message.device_id}"
    feed = hub.device(
        device_id, kind=KIND_SENSOR_LOGGER, name=f"Phone {message.device_id[:8]} (Sensor Logger)"
    )
    if len(joiners) >= len(hub):  # the hub forgot devices: forget their joiners too
        for gone in [key for key in joiners if key not in hub]:
            del joiners[gone]
    joiner = joiners.get(device_id)
    if joiner is None or joiner.platform != platform:
        joiner = joiners[device_id] = PushJoiner(platform)
    if placement is not None and feed.placement is None:
        hub.assign(device_id, placement)
    try:
        stored, missing = ingest_push(feed, joiner, message, host_time_s=arrived)
    except InputFormatError as error:
        raise problem(422, str(error), error.fix or "") from None
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


def _lan_hint(request: Request, settings: Settings) -> dict[str, Any]:
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
async def devices(request: Request, settings: SettingsDep, hub: HubDep) -> DevicesOut:
    return DevicesOut.model_validate(
        {
            "devices": [status.as_dict() for status in hub.statuses()],
            "phone": _lan_hint(request, settings),
        }
    )


class PlacementIn(Body):
    placement: Literal["lower", "upper"] | None = Field(
        description="Where the device is worn: lower (sacrum), upper (T12/L1), or null."
    )


@router.post("/api/devices/{device_id}/placement")
async def set_placement(device_id: str, body: PlacementIn, hub: HubDep) -> DeviceStatusOut:
    try:
        feed = hub.assign(device_id, body.placement)
    except KeyError as error:
        raise problem(404, str(error.args[0]), "use an id listed by GET /api/devices") from None
    return _out(feed)


def _run_source(tasks: dict[str, asyncio.Task[None]], feed: DeviceFeed, runner: Any) -> None:
    """Run a pulled source's ``run()`` as a server task (replacing an earlier one)."""
    old = tasks.pop(feed.id, None)
    if old is not None:
        old.cancel()

    tasks[feed.id] = asyncio.create_task(run_supervised(feed, runner.run))


class PhyphoxIn(Body):
    url: str = Field(max_length=300, description="The address phyphox shows (remote access).")
    placement: Literal["lower", "upper"] | None = None


@router.post("/api/devices/phyphox", status_code=201)
async def start_phyphox(
    body: PhyphoxIn, hub: HubDep, tasks: DeviceTasksDep, settings: SettingsDep
) -> DeviceStatusOut:
    """Start polling a phone running phyphox (its remote access): only a local-network
    address (or one of ``SPINECOACH_PHYPHOX_ALLOWED_HOSTS``, else 422), and only once it
    answers like phyphox (else 502, the same answer whatever went wrong)."""
    try:
        url = phyphox_url(body.url)
        polled = await phyphox_target(url, settings.phyphox_allowed_hosts)
    except ConfigurationError as error:
        raise problem(422, str(error), PHYPHOX_ADDRESS_FIX) from None
    if polled is None or not await answers_like_phyphox(polled):
        raise problem(502, f"could not reach phyphox at {url}", PHYPHOX_UNREACHABLE_FIX)
    feed = phyphox_feed(hub, polled)
    feed.set_state("connecting", f"connecting to phyphox at {polled}")
    _run_source(tasks, feed, PhyphoxRemoteSource(polled, feed, start_measurement=True))
    if body.placement is not None:
        hub.assign(feed.id, body.placement)
    return _out(feed)


class BleIn(Body):
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
async def start_ble(body: BleIn, hub: HubDep, tasks: DeviceTasksDep) -> DeviceStatusOut:
    """Connect a Bluetooth LE sensor and keep it connected (reconnecting with back-off)."""
    try:
        if body.protocol == "struct":
            if body.device is None:
                raise ConfigurationError('protocol "struct" needs "device": its description')
            protocol: BleProtocol = struct_protocol_from_dict(body.device, source="device")
        else:
            protocol = protocol_by_name(body.protocol)
    except ConfigurationError as error:
        raise problem(
            422, str(error), 'use protocol "polar-pmd", or "struct" with a device description'
        ) from None
    feed = ble_feed(hub, body.address, body.name)
    feed.set_state("connecting", f"connecting to {body.address}")
    _run_source(tasks, feed, BleDeviceSource(body.address, protocol, feed))
    if body.placement is not None:
        hub.assign(feed.id, body.placement)
    return _out(feed)


@router.delete("/api/devices/{device_id}")
async def stop_device(device_id: str, hub: HubDep, tasks: DeviceTasksDep) -> DeviceStatusOut:
    """Stop a device: its source stops and its placement is cleared, so the hub may
    forget it once it is silent (or at once when a new device needs its room)."""
    feed = hub.get(device_id)
    if feed is None:
        raise problem(404, f"no device {device_id!r}", "use an id listed by GET /api/devices")
    task = tasks.pop(device_id, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    feed.set_state("disconnected", "stopped")
    if feed.placement is not None:
        hub.assign(device_id, None)
    return _out(feed)


async def stop_all_sources(tasks: dict[str, asyncio.Task[None]]) -> None:
    """Cancel every running source (the app's shutdown)."""
    for task in tasks.values():
        task.cancel()
    for task in tasks.values():
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    tasks.clear()
