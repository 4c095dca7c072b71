"""What the server says and checks in HTTP headers: security headers on every response
(:class:`SecurityHeadersMiddleware`), the Host header checked against the server's names
(:class:`TrustedHostMiddleware`), and whether the interactive API docs are served
(:func:`docs_urls`).

**Security headers.** Every HTTP response carries

* ``Content-Security-Policy`` (:data:`APP_CSP`): scripts, styles, images and
  connections only from the server itself; no inline scripts, no inline ``style``
  attributes, no plugins, no ``<base>``, forms only to the server;
  ``frame-ancestors 'none'`` (no page may frame the app);
* ``X-Frame-Options: DENY`` (the same for browsers without CSP level 2);
* ``X-Content-Type-Options: nosniff``;
* ``Referrer-Policy: no-referrer``.

The page (``static/index.html``) loads only its own files and holds no inline script or
style, so it works under that policy (the browser tests fail on any CSP violation). Two
documents get a policy of their own (:data:`CSP_BY_PATH`): the program report
(``/api/program/report.html``), a self-contained file with an inline ``<style>`` and its
charts as ``data:`` images, gets no scripts at all and nothing from anywhere else; and
the interactive docs, when they are on, need FastAPI's CDN scripts.

An exception that reaches this middleware before any answer is answered 500 here, with
the headers (the error middleware outside it then only logs it).

**Trusted host.** A page on another site can make a browser send requests to
``127.0.0.1`` by resolving its own name there (DNS rebinding); the request then carries
that site's name in ``Host``. Requests (and WebSocket handshakes) whose Host is not a
name of this server are refused: 400 with ``{"detail": {"problem", "fix"}}``, a WebSocket
closed with 1008 before it is accepted. The names (:func:`allowed_hosts`): ``localhost``,
``127.0.0.1``, ``::1``, the address the server is bound to, and the names added with
``SPINECOACH_ALLOWED_HOSTS`` / ``spinecoach serve --allowed-host`` (``*.example.org``
allows every name under example.org). Bound to every interface (``0.0.0.0``, ``::``),
the computer's own names and *any IP address* are accepted too: phones reach the server
by its LAN address, which stdlib Python cannot list for every interface, and an address
literal cannot be re-bound by DNS.

**API docs.** FastAPI's ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from a CDN:
offline the page is blank, and no installed package ships those files. So they are off
by default (``/openapi.json`` stays); ``SPINECOACH_API_DOCS=true`` turns them on, with a
CSP that lets those two pages load the CDN's files.

>>> allowed_hosts(Settings(port=8000)).allows("localhost:8000")
True
>>> allowed_hosts(Settings(port=8000)).allows("evil.example:8000")
False
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import socket
from dataclasses import dataclass
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spinecoach.web.settings import Settings

__all__ = [
    "APP_CSP",
    "CSP_BY_PATH",
    "DOCS_CSP",
    "REPORT_CSP",
    "SECURITY_HEADERS",
    "AllowedHosts",
    "SecurityHeadersMiddleware",
    "TrustedHostMiddleware",
    "allowed_hosts",
    "docs_urls",
    "host_name",
    "send_problem",
]

log = logging.getLogger(__name__)

#: The page's policy: only the server's own files; no inline script or style.
APP_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: The program report: a self-contained document, no scripts at all.
REPORT_CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
#: FastAPI's /docs and /redoc (only when SPINECOACH_API_DOCS is on): their CDN files and
#: the small inline script that starts them.
DOCS_CSP: Final = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src https://fonts.gstatic.com; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_URL: Final = "/docs"
REDOC_URL: Final = "/redoc"
#: Paths whose documents need a policy other than :data:`APP_CSP`.
CSP_BY_PATH: Final = {
    "/api/program/report.html": REPORT_CSP,
    DOCS_URL: DOCS_CSP,
    DOCS_URL + "/oauth2-redirect": DOCS_CSP,
    REDOC_URL: DOCS_CSP,
}
#: Headers every response carries (besides the CSP).
SECURITY_HEADERS: Final = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
LOOPBACK_NAMES: Final = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS: Final = ("0.0.0.0", "::", "")


def docs_urls(settings: Settings) -> tuple[str | None, str | None]:
    """FastAPI's ``docs_url`` and ``redoc_url``: None (off) unless ``settings.api_docs``."""
    return (DOCS_URL, REDOC_URL) if settings.api_docs else (None, None)


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = CSP_BY_PATH.get(scope["path"], APP_CSP).encode()
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (k, v)
                    for k, v in message.get("headers", ())
                    if k.lower() not in _OURS  # ours win over a route's
                ]
                headers += [(b"content-security-policy", csp), *SECURITY_HEADERS]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:
                body = json.dumps({"detail": "internal server error"}).encode()
                await send_with_headers(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
            raise


_OURS: Final = frozenset({b"content-security-policy", *(k for k, _ in SECURITY_HEADERS)})


@dataclass(frozen=True)
class AllowedHosts:
    """The names a request's Host may carry: exact ``names`` (lower case, IPv6 without
    brackets), name ``suffixes`` (from ``*.example.org``: ``.example.org``), and whether
    any IP address literal is allowed (a server bound to every interface)."""

    names: frozenset[str]
    suffixes: tuple[str, ...] = ()
    any_address: bool = False

    def allows(self, host_header: str) -> bool:
        """Whether a Host header value (``name[:port]``) is allowed."""
        name = host_name(host_header)
        if not name:
            return False
        if name in self.names or any(name.endswith(s) for s in self.suffixes):
            return True
        if self.any_address:
            with contextlib.suppress(ValueError):
                ipaddress.ip_address(name)
                return True
        return False


def host_name(host_header: str) -> str:
    """The name of a Host header value, lower case, without port, brackets or final dot.

    >>> host_name("[::1]:8000"), host_name("LocalHost.:80"), host_name("10.0.0.7")
    ('::1', 'localhost', '10.0.0.7')
    """
    text = host_header.strip().lower()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text.rstrip(".")


def allowed_hosts(settings: Settings) -> AllowedHosts:
    """The Host names this server answers (see the module docstring)."""
    names = {*LOOPBACK_NAMES}
    suffixes = []
    bound = host_name(settings.host)
    wildcard = bound in WILDCARD_BINDS
    if not wildcard:
        names.add(bound)
    else:
        names.update(_own_names())
    for given in settings.allowed_hosts:
        name = given.strip().lower().rstrip(".")
        if name.startswith("*."):
            suffixes.append(name[1:])
        elif name:
            names.add(name.strip("[]"))
    return AllowedHosts(frozenset(names), tuple(suffixes), any_address=wildcard)


def _own_names() -> set[str]:
    """This computer's host names (``gethostname``, its FQDN and ``.local`` name)."""
    names = set()
    with contextlib.suppress(OSError):
        short = socket.gethostname().lower()
        names.update({short, f"{short}.local", socket.getfqdn().lower()})
    return {n for n in names if n}


class TrustedHostMiddleware:
    """Refuses HTTP requests (400) and WebSocket handshakes (close 1008) whose Host
    header is not one of ``allowed`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, allowed: AllowedHosts) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = ""
        for key, value in scope.get("headers", ()):
            if key == b"host":
                host = value.decode("latin-1")
                break
        if self.allowed.allows(host):
            await self.app(scope, receive, send)
            return
        log.warning("refused a request for host %r (not a name of this server)", host[:100])
        if scope["type"] == "websocket":
            await receive()  # the handshake's websocket.connect, then refuse it
            await send({"type": "websocket.close", "code": 1008, "reason": "host not allowed"})
            return
        detail = {
            "problem": f"the Host header {host[:100]!r} is not a name of this server",
            "fix": "open the server by its address (e.g. http://127.0.0.1:PORT), or allow the "
            "name with `spinecoach serve --allowed-host NAME` (SPINECOACH_ALLOWED_HOSTS)",
        }
        await send_problem(send, 400, detail)


async def send_problem(send: Send, status: int, detail: dict[str, str]) -> None:
    """Answer an HTTP request from a middleware: ``status`` with the JSON body
    ``{"detail": {"problem", "fix"}}`` the routes give too."""
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
