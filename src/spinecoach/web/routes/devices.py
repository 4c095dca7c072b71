"""HTTP routes of the live devices: the phone's push ingest, the device list with
connection state and signal quality, where each device is worn, and starting or
stopping the pulled sources (phyphox, Bluetooth LE).

``POST /api/ingest/sensor-logger``
    Sensor Logger's HTTP push (:mod:`spinecoach.sources.sensor_logger_push`). Query:
    ``platform=android|ios`` (iOS acceleration signs; default android), ``placement=
    lower|upper`` (where the phone is worn, for a phone not placed yet). Who pushes: a
    device token in ``Authorization: Bearer scd_…`` (or the signed-in cookie), checked by
    the authorization layer (:mod:`spinecoach.web.authz`, access ``device``); the samples
    go to a device of the token's person only. A ``?token=`` (the shared token of old) is
    refused with 400 saying what replaced it. A broken message gets a 422 whose
    ``detail`` names the field and the fix; nothing of it is used. A message without
    sensor data (the app's "Tap to Test Pushing") is answered 200. A message over
    :data:`BODY_LIMITS` is refused with 413 while it arrives (:mod:`spinecoach.web.limits`).
``GET /api/devices``
    The acting person's devices (:class:`~spinecoach.sources.live.DeviceStatus`) and
    what the page needs to tell the person how to connect a phone (the push URL; whether
    the server listens beyond this computer; whether pushes need a device token).
``GET/POST /api/devices/tokens``, ``DELETE /api/devices/tokens/{id}``
    The acting person's device tokens (:mod:`spinecoach.services.device_tokens`): listed
    (never the secret), made (201: the secret, shown once, the push URL and a QR code of
    the push URL as SVG), revoked (204; another person's token or an unknown id: 404).
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

With accounts every device belongs to the person who pushed it or started it (the acting
person the authorization layer put in ``request.state.person_id``); another person's
device answers 404 like an unknown id, so its existence is not told. Without accounts
(single-person mode, the terminal coach's own small server) devices have no owner: all
are the one person's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.services import device_tokens
from spinecoach.services.accounts import AccountError
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
from spinecoach.web.deps import DeviceTasksDep, HubDep, PushJoinersDep, SettingsDep
from spinecoach.web.limits import BodyLimit
from spinecoach.web.outbound import (
    PHYPHOX_ADDRESS_FIX,
    PHYPHOX_UNREACHABLE_FIX,
    answers_like_phyphox,
    phyphox_target,
)
from spinecoach.web.routes.common import Body, FiniteJsonRoute, IdPath, problem
from spinecoach.web.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(route_class=FiniteJsonRoute)  # NaN and 1e400 are not JSON: 422

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
    """How to connect a phone: the push URL, whether a phone can reach the server, and
    whether its pushes need a device token (the server has accounts)."""

    sensor_logger_url: str
    reachable_from_phone: bool
    advice: str
    #: Whether the push URL needs ``?token=``: never any more (the shared query token is
    #: gone, issue 16); kept so an older page shows the bare URL.
    token_required: bool
    device_token_required: bool


class DevicesOut(BaseModel):
    devices: list[DeviceStatusOut]
    phone: PhoneHintOut


def _out(feed: DeviceFeed) -> DeviceStatusOut:
    return DeviceStatusOut.model_validate(feed.status().as_dict())


def acting_person(request: Request) -> int | None:
    """The owner of the devices the request is about: the acting person the
    authorization layer decided; None without accounts (single-person mode: every device
    is the one person's; the terminal coach's own server has no persons)."""
    if request.app.state.settings.auth == "single-person":
        return None
    person: int | None = getattr(request.state, "person_id", None)
    return person


def _refuse_query_token(request: Request) -> None:
    """A push URL still carrying ``?token=`` (the shared token of old, which landed in
    access logs) is refused, never read: 400 saying what replaced it."""
    if "token" in request.query_params:
        raise problem(
            400,
            "the push URL carries ?token=, which spinecoach no longer reads (a token in a "
            "URL lands in logs)",
            "remove ?token=… from the push URL; make a device token on the Devices page and "
            "put it in the app's Auth Header as 'Bearer scd_…' (docs/phone-setup.md)",
        )


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
) -> dict[str, Any]:
    """One Sensor Logger push message → the pushing person's device feed
    (:func:`~spinecoach.sources.sensor_logger_push.ingest_push`: join, count late
    samples, say what the phone does not send, push)."""
    _refuse_query_token(request)
    owner = acting_person(request)
    arrived = time.monotonic()
    body = await request.body()  # at most BODY_LIMITS' bytes: the limit is kept while read
    if not body.strip():
        return {"status": "ok", "samples": 0, "note": "empty message (a test push?)"}
    try:
        message = parse_push(body)
    except InputFormatError as error:
        raise problem(422, str(error), error.fix or "") from None
    device_id = f"{KIND_SENSOR_LOGGER}:{message.device_id}"
    name = f"Phone {message.device_id[:8]} (Sensor Logger)"
    feed = hub.device(device_id, kind=KIND_SENSOR_LOGGER, name=name, owner=owner)
    if len(joiners) >= len(hub):  # the hub forgot devices: forget their joiners too
        for gone in [key for key in joiners if key not in hub]:
            del joiners[gone]
    joiner = joiners.get(feed.key)  # by the hub's key: two persons' equal ids never mix
    if joiner is None or joiner.platform != platform:
        joiner = joiners[feed.key] = PushJoiner(platform)
    if placement is not None and feed.placement is None:
        hub.assign(device_id, placement, owner)
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
    needs_token = settings.auth == "accounts" and hasattr(request.state, "person_id")
    header = " and a device token as its Auth Header (Bearer scd_…)" if needs_token else ""
    return {
        "sensor_logger_url": url,
        "reachable_from_phone": not loopback,
        "advice": (
            "This server only listens on this computer (127.0.0.1), so a phone cannot reach "
            "it. To use a phone, start it with `spinecoach serve --host 0.0.0.0` on a "
            "trusted home network and use this computer's address in the app."
            if loopback
            else "In Sensor Logger: Settings → Data Streaming → HTTP Push, enter this URL with "
            f"this computer's address{header}, batch period 200 ms, then start recording."
        ),
        "token_required": False,
        "device_token_required": needs_token,
    }


def push_url(request: Request, settings: Settings) -> str:
    """The URL a phone pushes to (this computer's network address when the server
    listens on every interface)."""
    url: str = _lan_hint(request, settings)["sensor_logger_url"]
    return url


@router.get("/api/devices")
async def devices(request: Request, settings: SettingsDep, hub: HubDep) -> DevicesOut:
    """The acting person's devices and how to connect a phone."""
    return DevicesOut.model_validate(
        {
            "devices": [status.as_dict() for status in hub.statuses(acting_person(request))],
            "phone": _lan_hint(request, settings),
        }
    )


class PlacementIn(Body):
    placement: Literal["lower", "upper"] | None = Field(
        description="Where the device is worn: lower (sacrum), upper (T12/L1), or null."
    )


@router.post("/api/devices/{device_id}/placement")
async def set_placement(
    request: Request, device_id: str, body: PlacementIn, hub: HubDep
) -> DeviceStatusOut:
    try:
        feed = hub.assign(device_id, body.placement, acting_person(request))
    except KeyError as error:
        raise problem(404, str(error.args[0]), "use an id listed by GET /api/devices") from None
    return _out(feed)


def _run_source(tasks: dict[str, asyncio.Task[None]], feed: DeviceFeed, runner: Any) -> None:
    """Run a pulled source's ``run()`` as a server task (replacing an earlier one), by
    the hub's key of the feed (two persons may poll the same phone)."""
    old = tasks.pop(feed.key, None)
    if old is not None:
        old.cancel()

    tasks[feed.key] = asyncio.create_task(run_supervised(feed, runner.run))


class PhyphoxIn(Body):
    url: str = Field(max_length=300, description="The address phyphox shows (remote access).")
    placement: Literal["lower", "upper"] | None = None


@router.post("/api/devices/phyphox", status_code=201)
async def start_phyphox(
    request: Request, body: PhyphoxIn, hub: HubDep, tasks: DeviceTasksDep, settings: SettingsDep
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
    feed = phyphox_feed(hub, polled, acting_person(request))
    feed.set_state("connecting", f"connecting to phyphox at {polled}")
    _run_source(tasks, feed, PhyphoxRemoteSource(polled, feed, start_measurement=True))
    if body.placement is not None:
        hub.assign(feed.id, body.placement, feed.owner)
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
async def start_ble(
    request: Request, body: BleIn, hub: HubDep, tasks: DeviceTasksDep
) -> DeviceStatusOut:
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
    feed = ble_feed(hub, body.address, body.name, acting_person(request))
    feed.set_state("connecting", f"connecting to {body.address}")
    _run_source(tasks, feed, BleDeviceSource(body.address, protocol, feed))
    if body.placement is not None:
        hub.assign(feed.id, body.placement, feed.owner)
    return _out(feed)


@router.delete("/api/devices/{device_id}")
async def stop_device(
    request: Request, device_id: str, hub: HubDep, tasks: DeviceTasksDep
) -> DeviceStatusOut:
    """Stop one of the acting person's devices: its source stops and its placement is
    cleared, so the hub may forget it once it is silent (or at once when a new device
    needs its room). Another person's device is 404, like an unknown id."""
    feed = hub.get(device_id, acting_person(request))
    if feed is None:
        raise problem(404, f"no device {device_id!r}", "use an id listed by GET /api/devices")
    task = tasks.pop(feed.key, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    feed.set_state("disconnected", "stopped")
    if feed.placement is not None:
        hub.assign(device_id, None, feed.owner)
    return _out(feed)


async def stop_all_sources(tasks: dict[str, asyncio.Task[None]]) -> None:
    """Cancel every running source (the app's shutdown)."""
    for task in tasks.values():
        task.cancel()
    for task in tasks.values():
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    tasks.clear()


# -- device tokens ----------------------------------------------------------------------------


class DeviceTokenOut(BaseModel):
    """A device token as listed (never its secret)."""

    id: int
    name: str
    created_utc: str
    last_used_utc: str | None
    revoked: bool


class NewDeviceTokenOut(BaseModel):
    """A token just made: its secret (shown this once; the server keeps its SHA-256),
    where to push, and a QR code of the push URL (SVG) for the phone to scan. The app
    takes the token in its Auth Header field: ``auth_header`` is that field's text, and
    ``auth_header_qr_svg`` its QR code (a phone's camera reads it as text to copy, so the
    token need not be typed; Sensor Logger itself reads no settings from a QR code)."""

    token: DeviceTokenOut
    secret: str
    push_url: str
    qr_svg: str
    auth_header: str
    auth_header_qr_svg: str


class DeviceTokenIn(Body):
    name: str = Field(
        min_length=1, max_length=100, description="The device's name, e.g. 'my phone'."
    )


def _token_person(request: Request) -> int:
    """The acting person of a token route (404 on a server without persons: the
    terminal coach's own ingest server has no accounts and no tokens)."""
    person = acting_person(request)
    if person is None:
        raise problem(
            404,
            "this server keeps no device tokens",
            "make device tokens on the spinecoach server (spinecoach serve)",
        )
    return person


def qr_svg(text: str, *, title: str | None = None) -> str:
    """``text`` as a QR code: an inline SVG (error correction M, at least; segno picks
    the smallest version that holds it), titled ``title`` (default: the text)."""
    import segno  # only when a token is made

    code = segno.make(text, error="m", micro=False)
    svg: str = code.svg_inline(scale=4, title=text if title is None else title)
    return svg


@router.get("/api/devices/tokens")
async def list_device_tokens(request: Request) -> list[DeviceTokenOut]:
    """The acting person's device tokens, oldest first."""
    person = _token_person(request)
    engine = request.app.state.history.engine
    listed = await asyncio.to_thread(device_tokens.listed, engine, person)
    return [DeviceTokenOut.model_validate(info.as_dict()) for info in listed]


@router.post("/api/devices/tokens", status_code=201)
async def make_device_token(
    request: Request, body: DeviceTokenIn, settings: SettingsDep
) -> NewDeviceTokenOut:
    """A new device token of the acting person (409 past
    :data:`~spinecoach.services.device_tokens.MAX_TOKENS` tokens in use)."""
    person = _token_person(request)
    engine = request.app.state.history.engine
    try:
        info, secret = await asyncio.to_thread(device_tokens.create, engine, person, body.name)
    except device_tokens.TokenLimitError as error:
        raise problem(409, str(error), "revoke a token you no longer use (DELETE …/{id})") from None
    except AccountError as error:
        raise problem(422, str(error), "name the device in 1 to 100 characters") from None
    url = push_url(request, settings)
    return NewDeviceTokenOut(
        token=DeviceTokenOut.model_validate(info.as_dict()),
        secret=secret,
        push_url=url,
        qr_svg=qr_svg(url),
        auth_header=f"Bearer {secret}",
        auth_header_qr_svg=qr_svg(f"Bearer {secret}", title="the device token"),
    )


@router.delete("/api/devices/tokens/{token_id}", status_code=204)
async def revoke_device_token(request: Request, token_id: IdPath) -> None:
    """Revoke one of the acting person's tokens: its pushes are refused from now on
    (404 for another person's token, like an unknown id)."""
    person = _token_person(request)
    engine = request.app.state.history.engine
    if not await asyncio.to_thread(device_tokens.revoke, engine, person, token_id):
        raise problem(
            404, f"no device token {token_id}", "use an id listed by GET /api/devices/tokens"
        )
