"""Where the server may send requests of its own: the phyphox phone it polls.

``POST /api/devices/phyphox {"url": "HOST:PORT"}`` used to make the server fetch any
address and tell, by its answer and the device's state, an open port from a closed one.
Now (:func:`phyphox_target`, :func:`answers_like_phyphox`):

* **Only local addresses.** The host must be on the local network: a private address
  (RFC 1918: 10/8, 172.16/12, 192.168/16; IPv6 unique-local fc00::/7), loopback
  (127/8, ::1) or link-local (169.254/16, fe80::/10) — except the cloud metadata
  addresses 169.254.169.254 and fd00:ec2::254, which no phone has. Anything else must be
  listed in ``SPINECOACH_PHYPHOX_ALLOWED_HOSTS`` (names, addresses or networks). A host
  name is resolved and *every* address it resolves to must pass; the poller then uses
  the checked address, so the name cannot resolve elsewhere later (DNS rebinding). A
  listed name is used as it is.
* **One answer for every failure.** Before polling starts, ``GET /config`` must answer
  200 with a JSON object shaped like phyphox's (an ``inputs`` or ``buffers`` list).
  A refused connection, a timeout, a name that does not resolve, another status, a
  body that is not such JSON or is over :data:`MAX_CONFIG_BYTES`: all give the same
  502 "could not reach phyphox at …", and nothing is started. Only a host that speaks
  phyphox becomes a device whose state the page shows.

Not hidden: how long the answer takes (a filtered port waits for the timeout, a closed
one is refused at once). The probe is bounded by :data:`PROBE_TIMEOUT_S` in all.

>>> local_address_allowed(ipaddress.ip_address("192.168.1.20"))
True
>>> local_address_allowed(ipaddress.ip_address("8.8.8.8"))
False
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

import httpx

from spinecoach.errors import ConfigurationError

__all__ = [
    "LOCAL_NETWORKS",
    "MAX_CONFIG_BYTES",
    "PHYPHOX_ADDRESS_FIX",
    "PHYPHOX_UNREACHABLE_FIX",
    "PROBE_TIMEOUT_S",
    "answers_like_phyphox",
    "local_address_allowed",
    "phyphox_target",
    "resolve_host",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: ``(host, port) -> addresses``; :func:`resolve_host` unless a test gives another.
Resolver = Callable[[str, int], Awaitable[list[str]]]

#: The networks a phyphox phone can be on without being listed.
LOCAL_NETWORKS: Final[tuple[Network, ...]] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)
#: Cloud instance metadata services: link-local or unique-local, never a phone.
METADATA_ADDRESSES: Final = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254")
)
#: Seconds the whole check of a phyphox address may take (resolving and ``/config``).
PROBE_TIMEOUT_S: Final = 4.0
#: Largest ``/config`` answer read (bytes); phyphox's are a few kB.
MAX_CONFIG_BYTES: Final = 2_000_000
PHYPHOX_ADDRESS_FIX: Final = (
    "enter the address phyphox shows on your local network, e.g. 192.168.1.20:8080 "
    "(another host must be listed in SPINECOACH_PHYPHOX_ALLOWED_HOSTS)"
)
PHYPHOX_UNREACHABLE_FIX: Final = (
    "in phyphox open an experiment with the accelerometer and gyroscope, tap ⋮ → "
    "“Allow remote access”, keep the phone on the same Wi-Fi, and enter the address it "
    "shows (docs/phone-setup-phyphox.md)"
)


def local_address_allowed(address: IPAddress, allowed: Sequence[str] = ()) -> bool:
    """Whether the server may poll ``address``: on :data:`LOCAL_NETWORKS` (not a cloud
    metadata address), or an address or network listed in ``allowed`` (names there
    are ignored here). An IPv4-mapped IPv6 address is judged as its IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for entry in allowed:
        try:
            if address in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:
            continue  # a host name: see phyphox_target
    if address in METADATA_ADDRESSES:
        return False
    return any(address in network for network in LOCAL_NETWORKS)


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system's resolver, off the event loop)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def phyphox_target(
    url: str, allowed: Sequence[str] = (), *, resolve: Resolver = resolve_host
) -> str | None:
    """The URL to poll for a phyphox base URL (from
    :func:`~spinecoach.sources.phyphox_remote.phyphox_url`): its host replaced by the
    checked address, or kept when it is a name listed in ``allowed``.

    Raises :class:`ConfigurationError` when the host is (or resolves to) an address
    the server may not poll; None when the name does not resolve (the caller answers
    as for any unreachable phone).
    """
    parsed = httpx.URL(url)
    host = parsed.host.lower().rstrip(".")
    names = {e.strip().lower().rstrip(".") for e in allowed}
    if host in names:
        return url
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            found = await asyncio.wait_for(resolve(host, port), PROBE_TIMEOUT_S)
        except (OSError, TimeoutError, UnicodeError):
            return None
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
        if not addresses:
            return None
    refused = [str(a) for a in addresses if not local_address_allowed(a, allowed)]
    if refused:
        shown = host if literal is not None else f"{host} ({', '.join(refused)})"
        raise ConfigurationError(
            f"phyphox address {shown} is not on the local network: the server polls only "
            "private, loopback and link-local addresses"
        )
    return str(parsed.copy_with(host=str(addresses[0])))


async def answers_like_phyphox(url: str, *, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Whether ``url/config`` answers 200 with a JSON object shaped like phyphox's
    experiment (an ``inputs`` or ``buffers`` list), within ``timeout_s`` in all and
    :data:`MAX_CONFIG_BYTES`. Every failure is just False (see the module docstring)."""
    try:
        body = await asyncio.wait_for(_config_body(url, timeout_s), timeout_s)
        config = json.loads(body) if body is not None else None
    except (httpx.HTTPError, TimeoutError, OSError, ValueError):
        return False
    return isinstance(config, dict) and any(
        isinstance(config.get(key), list) for key in ("inputs", "buffers")
    )


async def _config_body(url: str, timeout_s: float) -> bytes | None:
    async with (
        httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=False) as client,
        client.stream("GET", url + "/config") as response,
    ):
        if response.status_code != 200:
            return None
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_CONFIG_BYTES:
                return None
        return bytes(body)
