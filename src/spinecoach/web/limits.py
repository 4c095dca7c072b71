"""Request bodies limited while they stream in: :class:`BodyLimitMiddleware`.

Before it, a 1 GiB ``POST /api/ingest/sensor-logger`` was read whole before the route
compared its length with the limit (2.25 GB peak RSS, 1.07 GB kept). Now every HTTP
request body is counted as its chunks arrive:

* a ``Content-Length`` over the limit is answered 413 at once, before a byte of the body
  is read;
* a body without one (chunked transfer) is counted chunk by chunk; the chunk that goes
  over the limit ends the request with a 413 and the rest is never read (the server
  closes the connection after the answer, so the client stops sending).

The answer is ``{"detail": {"problem", "fix"}}`` like the routes' errors
(:func:`spinecoach.web.routes.common.problem`): the problem names the limit in bytes,
the fix says what to send instead.

Design choices:

* **One default, a few exceptions by path.** Every JSON route takes small bodies (a
  check-in, a placement), so the default is 1 MiB (``SPINECOACH_MAX_BODY_BYTES``). A
  route that needs more says so where it is defined (``devices.BODY_LIMITS``: the phone
  ingest takes :data:`~spinecoach.sources.sensor_logger_push.MAX_PUSH_BYTES`); the app
  hands those to the middleware. Paths are exact: no route with a large body has a path
  parameter.
* **Raised from ``receive``.** The route is already running when the limit is passed
  (FastAPI reads the body for it); :class:`BodyTooLarge` is an ``HTTPException``, so
  FastAPI's body parsing lets it through and the exception handler answers it like any
  route error. Should it get past them, the middleware answers it itself (if no answer
  has started yet).
* WebSocket messages are not request bodies: their limits belong to the live socket.

>>> BodyLimit(1024, "send less").max_bytes
1024
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "BodyLimit",
    "BodyLimitMiddleware",
    "BodyTooLarge",
    "too_large_detail",
]

#: Default largest request body (bytes): far above any JSON body of the API.
DEFAULT_MAX_BODY_BYTES: Final = 1_048_576
#: What to do about a body over the default limit.
DEFAULT_FIX: Final = (
    "send a smaller request body (the server's SPINECOACH_MAX_BODY_BYTES sets the limit)"
)


@dataclass(frozen=True)
class BodyLimit:
    """The largest body (bytes) a route takes, and what a client sending more should do."""

    max_bytes: int
    fix: str = DEFAULT_FIX

    def __post_init__(self) -> None:
        if self.max_bytes < 0:
            raise ValueError(f"max_bytes={self.max_bytes}: give 0 or more bytes")


def too_large_detail(limit: BodyLimit, *, sent: str) -> dict[str, str]:
    """The 413 answer's detail: ``sent`` says how much came (e.g. "1073741824 bytes")."""
    return {
        "problem": f"the request body ({sent}) is larger than this route's limit of "
        f"{limit.max_bytes} bytes",
        "fix": limit.fix,
    }


class BodyTooLarge(HTTPException):
    """A request body passed its route's limit while it was being read (a 413)."""

    def __init__(self, limit: BodyLimit, received_bytes: int) -> None:
        self.limit = limit
        self.sent = f"{received_bytes} bytes so far"
        super().__init__(status_code=413, detail=too_large_detail(limit, sent=self.sent))


class BodyLimitMiddleware:
    """ASGI middleware counting every HTTP request body while it arrives (see the module
    docstring). ``default``: the limit of every path not in ``per_path``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default: BodyLimit,
        per_path: Mapping[str, BodyLimit] | None = None,
    ) -> None:
        self.app = app
        self.default = default
        self.per_path = dict(per_path or {})

    def limit_for(self, path: str) -> BodyLimit:
        """The limit of a request path."""
        return self.per_path.get(path, self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit.max_bytes:
            await _answer_413(send, too_large_detail(limit, sent=f"{declared} bytes declared"))
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    raise BodyTooLarge(limit, received)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge as error:
            if started:
                raise
            await _answer_413(send, too_large_detail(error.limit, sent=error.sent))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server refuses a malformed one itself
    return None


async def _answer_413(send: Send, detail: dict[str, str]) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
