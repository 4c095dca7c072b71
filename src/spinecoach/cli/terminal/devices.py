"""Live devices for the terminal coach: ``spinecoach coach TECHNIQUE --source …`` with a
phone or Bluetooth sensors instead of the simulator.

Sources (``--source``):

``phyphox:ADDRESS[,ADDRESS]``
    phyphox's remote access on one phone (the lower sensor) or two (lower, upper).
``ble:ADDRESS[,ADDRESS]``
    Polar sensors with a gyroscope (Verity Sense), lower then upper (``spinecoach sensors
    scan`` lists the addresses); with ``--ble-device FILE.toml`` any sensor whose packets
    the file declares (``docs/examples/ble-device.toml``).
``sensor-logger[:N]``
    N phones (1 or 2) pushing with Sensor Logger to a small ingest server this command
    starts on ``--listen`` (default ``127.0.0.1:8000``; a phone can only reach it on an
    address of the local network, e.g. ``--listen 0.0.0.0:8000``, said when it starts).
    The first phone to push is the lower sensor, the second the upper (or as given by
    ``?placement=`` in the push URL).

    Who may push (issue 16: the same rule as the server's device tokens): on an address
    beyond this computer the ingest server makes a device token for this run (``scd_…``,
    kept in memory only, printed with the push URL) and takes pushes only with it in the
    header ``Authorization: Bearer scd_…`` (wrong tokens back off per address, 429). On
    loopback (the default) it asks for none: only this computer can reach it, the
    terminal coach is one person's own process with no accounts, and a phone cannot push
    there anyway.

The sources run in this process, feeding a :class:`~spinecoach.sources.live.SourceHub`;
the session is the live coach's own :class:`~spinecoach.coach.session.LiveSession` fed by
the same :class:`~spinecoach.coach.devices.DevicePump` (which leads the calibration), so
the terminal and the web page coach alike. Until every sensor sends, the display says
which ones it is waiting for, with each device's state; after
:data:`WAIT_FOR_DATA_S` without data the command stops and says what each device is doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import math
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

from spinecoach.conventions import PLACEMENTS
from spinecoach.errors import ConfigurationError, SpinecoachError
from spinecoach.sources.live import (
    DeviceFeed,
    SourceHub,
    ble_feed,
    phyphox_feed,
    run_supervised,
)

#: Seconds to wait for every sensor's first data before giving up.
WAIT_FOR_DATA_S: Final = 90.0
KINDS: Final = ("phyphox", "ble", "sensor-logger")
DEFAULT_LISTEN: Final = "127.0.0.1:8000"


class DeviceSourceError(SpinecoachError):
    """A device source spec that cannot be used, or devices that never sent data."""


@dataclasses.dataclass(frozen=True)
class DeviceSourceSpec:
    """A parsed ``--source`` for live devices."""

    kind: str
    targets: tuple[str, ...]  # addresses/URLs by placement order (lower, upper)
    phones: int = 1  # sensor-logger: how many phones

    @property
    def placements(self) -> tuple[str, ...]:
        n = self.phones if self.kind == "sensor-logger" else len(self.targets)
        return PLACEMENTS[:n]


def parse_device_source(spec: str) -> DeviceSourceSpec | None:
    """The device source in ``spec`` (None for ``sim``); raises
    :class:`DeviceSourceError` naming the problem.

    >>> parse_device_source("ble:A0:9E:1A:00:00:01,A0:9E:1A:00:00:02").placements
    ('lower', 'upper')
    >>> parse_device_source("sensor-logger:2").phones
    2
    """
    if spec == "sim":
        return None
    kind, _, rest = spec.partition(":")
    if kind not in KINDS:
        raise DeviceSourceError(
            f"unknown source {spec!r} for --source; use one of: sim, phyphox:ADDRESS[,ADDRESS], "
            "ble:ADDRESS[,ADDRESS], sensor-logger[:2], camera:N (webcam N) or video:PATH "
            "(a video file)"
        )
    if kind == "sensor-logger":
        if rest not in ("", "1", "2"):
            raise DeviceSourceError(
                f"sensor-logger takes the number of phones, 1 or 2 (sensor-logger:2), not {rest!r}"
            )
        return DeviceSourceSpec(kind, (), int(rest or "1"))
    # Addresses are split on commas only: a MAC address and a host:port have colons.
    targets = tuple(t.strip() for t in rest.split(",") if t.strip())
    if not 1 <= len(targets) <= 2:
        raise DeviceSourceError(
            f"{kind} needs one address (lower sensor) or two (lower,upper), e.g. "
            + ("ble:A0:9E:1A:12:34:56" if kind == "ble" else "phyphox:192.168.1.20:8080")
        )
    return DeviceSourceSpec(kind, targets)


def _listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not host or not 1 <= number <= 65535:
        raise DeviceSourceError(f"--listen is HOST:PORT, e.g. 0.0.0.0:8000, not {listen!r}")
    return host.strip("[]"), number


@contextlib.asynccontextmanager
async def running_sources(
    spec: DeviceSourceSpec,
    hub: SourceHub,
    *,
    listen: str = DEFAULT_LISTEN,
    say: Callable[[str], None],
    ble_device: str | None = None,
) -> AsyncIterator[None]:
    """Start the sources of ``spec`` feeding ``hub``; stop them on exit."""
    tasks: list[asyncio.Task[None]] = []
    server: tuple[Any, asyncio.Task[None]] | None = None
    try:
        if spec.kind == "phyphox":
            from spinecoach.sources.phyphox_remote import PhyphoxRemoteSource, phyphox_url

            for placement, target in zip(PLACEMENTS, spec.targets, strict=False):
                try:
                    url = phyphox_url(target)
                except ConfigurationError as error:
                    raise DeviceSourceError(str(error)) from None
                feed = phyphox_feed(hub, url)
                hub.assign(feed.id, placement)
                source = PhyphoxRemoteSource(url, feed, start_measurement=True)
                tasks.append(asyncio.create_task(run_supervised(feed, source.run)))
        elif spec.kind == "ble":
            from spinecoach.sources.ble import (
                BleDeviceSource,
                load_struct_protocol,
                protocol_by_name,
            )

            for placement, address in zip(PLACEMENTS, spec.targets, strict=False):
                feed = ble_feed(hub, address)
                hub.assign(feed.id, placement)
                try:
                    protocol = (
                        protocol_by_name("polar-pmd")
                        if ble_device is None
                        else load_struct_protocol(ble_device)
                    )
                except ConfigurationError as error:
                    raise DeviceSourceError(str(error)) from None
                ble = BleDeviceSource(address, protocol, feed)
                tasks.append(asyncio.create_task(run_supervised(feed, ble.run)))
        else:
            server = await _ingest_server(hub, listen, say)
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if server is not None:
            server[0].should_exit = True
            with contextlib.suppress(Exception):
                await server[1]


def is_loopback_host(host: str) -> bool:
    """Whether ``--listen``'s host is this computer only."""
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def _token_guard(secret: str | None) -> Callable[..., Any]:
    """A dependency taking requests only with ``Authorization: Bearer <secret>`` (every
    request when ``secret`` is None); wrong tokens back off per client address."""
    from fastapi import HTTPException, Request

    from spinecoach.web.attempts import AttemptLimiter

    attempts = AttemptLimiter()

    async def guard(request: Request) -> None:
        if secret is None:
            return
        client = request.client.host if request.client else "unknown"
        wait_s = attempts.blocked_for_s(client)
        if wait_s > 0.0:
            raise HTTPException(
                429,
                {"problem": "too many wrong device tokens", "fix": f"wait {math.ceil(wait_s)} s"},
                headers={"Retry-After": str(math.ceil(wait_s))},
            )
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), secret.encode()
        ):
            attempts.failed(client)
            raise HTTPException(
                401,
                {
                    "problem": "the device token is missing or wrong",
                    "fix": "use the token the terminal coach printed when it started, as "
                    "the header 'Authorization: Bearer scd_…' (Sensor Logger: Auth Header)",
                },
            )
        attempts.succeeded(client)

    guard.__annotations__["request"] = Request  # fastapi is imported here, not at the top
    return guard


async def _ingest_server(
    hub: SourceHub, listen: str, say: Callable[[str], None]
) -> tuple[Any, asyncio.Task[None]]:
    """A small server with the device routes only, sharing ``hub``; beyond loopback its
    requests need this run's device token (see the module docstring)."""
    import uvicorn
    from fastapi import Depends, FastAPI

    from spinecoach.services.device_tokens import TOKEN_PREFIX
    from spinecoach.web.routes.devices import lan_address
    from spinecoach.web.routes.devices import router as device_router
    from spinecoach.web.settings import Settings

    host, port = _listen(listen)
    secret = None if is_loopback_host(host) else TOKEN_PREFIX + secrets.token_urlsafe(32)
    app = FastAPI(title="spinecoach ingest")
    app.state.settings = Settings(host=host, port=port)
    app.state.hub = hub
    app.state.push_joiners = {}
    app.state.device_tasks = {}
    app.include_router(device_router, dependencies=[Depends(_token_guard(secret))])
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10.0
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            server.should_exit = True
            raise DeviceSourceError(
                f"could not listen on {host}:{port} for the phone's pushes (is the port in "
                "use? pick another with --listen HOST:PORT)"
            )
        await asyncio.sleep(0.05)
    shown = lan_address() if host in ("0.0.0.0", "::") else host
    say(
        f"Sensor Logger: push to http://{shown}:{port}/api/ingest/sensor-logger "
        "(Settings → Data Streaming → HTTP Push; add ?platform=ios on an iPhone)"
    )
    if secret is None:
        say(
            "note: listening on this computer only; a phone cannot reach it — use "
            "--listen 0.0.0.0:8000 on a trusted home network"
        )
    else:
        say(
            f"device token for this run (Sensor Logger: Auth Header): Bearer {secret} — "
            "pushes without it are refused"
        )
    return server, task


def device_line(hub: SourceHub) -> str:
    """One line per placed device: where, name, state, signal quality."""
    parts = []
    for placement, feed in sorted(hub.by_placement().items()):
        status = feed.status()
        parts.append(f"{placement}: {status.name} — {status.state}, signal {status.quality}")
    return " · ".join(parts) or "no sensor yet"


async def wait_for_devices(
    spec: DeviceSourceSpec, hub: SourceHub, *, say: Callable[[str], None], timeout_s: float
) -> dict[str, DeviceFeed]:
    """The feeds of every placement of ``spec`` once each has data."""
    deadline = time.monotonic() + timeout_s
    last = ""
    while True:
        if spec.kind == "sensor-logger":  # first pushing phone lower, the next upper
            for feed in [hub.get(s.id) for s in hub.statuses()]:
                if feed is not None and feed.placement is None and feed.samples:
                    free = [p for p in spec.placements if p not in hub.by_placement()]
                    if free:
                        hub.assign(feed.id, free[0])
        placed = hub.by_placement()
        ready = {p: f for p, f in placed.items() if p in spec.placements and f.rate_hz is not None}
        if set(ready) == set(spec.placements):
            return ready
        line = "waiting for the sensors: " + device_line(hub)
        if line != last:
            say(line)
            last = line
        failed = [f.status() for f in placed.values() if f.status().state == "failed"]
        if failed:
            raise DeviceSourceError("; ".join(f"{s.name}: {s.detail}" for s in failed))
        if time.monotonic() > deadline:
            missing = [p for p in spec.placements if p not in ready]
            raise DeviceSourceError(
                f"no data from the {' and '.join(missing)} sensor after {timeout_s:.0f} s ("
                + device_line(hub)
                + "); check the device is on, streaming and close by"
            )
        await asyncio.sleep(0.2)
