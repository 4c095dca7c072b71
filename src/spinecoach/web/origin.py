"""Requests from other sites' pages are refused (issue 16: cross-site WebSocket hijacking
and CSRF): :class:`SameOriginMiddleware`.

A page on another site can make the person's browser open the live WebSocket or send a
``POST`` (a ``text/plain`` form needs no permission) to this server. The browser tells
where such a request comes from, and this middleware refuses it:

* **WebSocket handshakes** whose ``Origin`` is not this server's own origin are closed
  with 1008 before they are accepted. Browsers always send ``Origin`` on a WebSocket
  handshake, so a page cannot hide it; a client that is not a browser (the terminal
  coach, a script, a test) sends none and is let through.
* **Requests that change something** (``POST``, ``PUT``, ``PATCH``, ``DELETE``) whose
  ``Origin`` is another origin (or ``null``: a sandboxed frame, a file), or which carry
  no ``Origin`` but a ``Sec-Fetch-Site`` of ``cross-site`` or ``same-site``, get 403 with
  ``{"detail": {"problem", "fix"}}`` and do nothing. A phone pushing its sensors (Sensor
  Logger's HTTP push) is not a browser page and sends neither: it is let through (the
  ingest has its own token).
* ``GET`` and ``HEAD`` change nothing and are not checked here; another site's page
  cannot read their answers (no CORS headers are sent).

"This server's own origin" is the ``Origin`` whose ``host[:port]`` is the request's
``Host`` (default ports 80 and 443 left out on both sides), so it holds behind a reverse
proxy that passes the public name on (``proxy_set_header Host $host``; Caddy does by
itself). The Host itself is checked by :class:`~spinecoach.web.headers.TrustedHostMiddleware`
first. This is the same-origin check OWASP describes as a CSRF defence ("verifying origin
with standard headers"); a CSRF token is not needed while no cookie carries a login (there
are no accounts yet: see docs/security.md).

>>> same_origin("http://127.0.0.1:8000", "127.0.0.1:8000")
True
>>> same_origin("https://coach.example.org", "coach.example.org")
True
>>> same_origin("http://evil.example", "127.0.0.1:8000"), same_origin("null", "127.0.0.1:8000")
(False, False)
"""

from __future__ import annotations

import logging
from typing import Final
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from spinecoach.web.headers import send_problem

__all__ = ["SameOriginMiddleware", "same_origin"]

log = logging.getLogger(__name__)

#: Methods that change something (checked); GET, HEAD and OPTIONS are not.
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_FOREIGN_FETCH_SITES: Final = frozenset({"cross-site", "same-site"})


def _netloc(host: str, port: int | None, default: int | None) -> str:
    host = host.lower().rstrip(".")
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None or port == default else f"{shown}:{port}"


def same_origin(origin: str, host_header: str) -> bool:
    """Whether the ``Origin`` header value ``origin`` names the server the request's
    ``Host`` (``host_header``) names (see the module docstring)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return False
    default = _DEFAULT_PORTS[parts.scheme]
    theirs = _netloc(parts.hostname, port, default)
    try:
        ours = urlsplit(f"//{host_header.strip()}")
        our_port = ours.port
    except ValueError:
        return False
    if not ours.hostname:
        return False
    # A Host without a port: the scheme's default port (behind a proxy on 443 or 80).
    return theirs == _netloc(ours.hostname, our_port, default)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class SameOriginMiddleware:
    """Refuses WebSocket handshakes and state-changing requests that another site's page
    sent (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        checked = kind == "websocket" or (kind == "http" and scope["method"] in UNSAFE_METHODS)
        if not checked:
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        host = _header(scope, b"host") or ""
        if origin is not None:
            foreign = not same_origin(origin, host)
        else:
            foreign = (_header(scope, b"sec-fetch-site") or "") in _FOREIGN_FETCH_SITES
        if not foreign:
            await self.app(scope, receive, send)
            return
        where = (origin or "another site")[:100]
        log.warning("refused a %s from %r (not this server's origin)", kind, where)
        if kind == "websocket":
            await receive()  # the handshake's websocket.connect, then refuse it
            await send({"type": "websocket.close", "code": 1008, "reason": "origin not allowed"})
            return
        detail = {
            "problem": f"a request from {where!r} may not change data on this server",
            "fix": "use spinecoach's own pages (open the server's address itself); a "
            "program that is not a browser page sends no Origin header",
        }
        await send_problem(send, 403, detail)
