"""How ``spinecoach serve`` answers within a second: the server binds its port at once and
builds the app behind it (issue 17 item 5).

Importing the app (FastAPI, its route modules, SQLAlchemy and the store) and migrating the
database take 1.5-2.5 s of CPU; a bare FastAPI app answers in 0.15 s. :class:`StartingApp`
is the ASGI app uvicorn serves: when uvicorn starts it, it starts building the real app
(:func:`spinecoach.web.app.create_app`) in a worker thread and tells uvicorn it has
started, so the port is open within a few tenths of a second. Then it runs the real app's
own start-up (its lifespan: the migrations, the history, the device hub) and from then on
hands every request to it. Until then:

* ``GET`` of a page of the single-page app (``/``, ``/history`` ... :data:`PAGE_PATHS`)
  is answered at once with ``static/index.html`` — the same file, through the same
  security-header and trusted-host middlewares as the real app
  (:mod:`spinecoach.web.headers`), so the browser starts drawing;
* ``GET /api/health`` is answered at once with **503** and ``"status": "starting"`` (a
  health check never says ``ok`` before the database is migrated and writable);
* every other request and WebSocket **waits** until the real app has started, then is
  served by it; so no data route is ever served before the schema is current. A request
  waits at most :data:`WAIT_S`, then gets 503.

If the real app cannot be built or its start-up fails (a database that cannot be reached
or migrated), the error is logged and the process exits with status 3, as uvicorn does
when an app's start-up fails; under a test server (uvicorn in a thread) every request then
gets 503 naming the error instead.

The object also stands for the real app: any other attribute (``state``,
``user_middleware`` ...) is the real app's, made on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from importlib import resources
from typing import Any, Final

from spinecoach.errors import ConfigurationError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The pages the real app serves as ``static/index.html`` (``spinecoach.web.routes.pages``
#: names the same; a test keeps them equal).
PAGE_PATHS: Final = frozenset(
    {
        "/",
        "/history",
        "/day",
        "/onboarding",
        "/checkin",
        "/psfs",
        "/program",
        "/screening",
        "/progress",
        "/login",
        "/setup",
        "/account",
        "/admin",
    }
)
HEALTH_PATH: Final = "/api/health"
#: Longest a request waits for the app to start (s).
WAIT_S: Final = 120.0
#: Exit status when the app cannot start (uvicorn's own for a failed start-up).
STARTUP_FAILURE: Final = 3

log = logging.getLogger("uvicorn.error")


def starting_app(settings: Any) -> StartingApp:
    """The app ``serve`` gives uvicorn: :func:`~spinecoach.web.app.create_app` built in
    the background. The settings checks that ``create_app`` makes are made here first,
    so a wrong setting still exits before the port is bound."""
    if settings.auth == "single-person" and not _is_loopback(settings.host):
        raise ConfigurationError(
            f"single-person mode has no password, so it serves this computer only, but the "
            f"server would bind to {settings.host}: bind to 127.0.0.1, or use accounts "
            "(SPINECOACH_AUTH=accounts; make the first with spinecoach users add)"
        )

    def build() -> Any:
        from spinecoach.web.app import create_app

        return create_app(settings)

    from spinecoach.web.headers import allowed_hosts

    return StartingApp(build, allowed=allowed_hosts(settings), exit_on_failure=True)


def _is_loopback(host: str) -> bool:
    """``spinecoach.web.authz.is_loopback`` for a bind address (that module imports the
    store; a test keeps the two equal)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class StartingApp:
    """An ASGI app that answers at once and serves the app ``build`` makes once it has
    started (see the module docstring). ``allowed``: the Host names answered
    (:func:`spinecoach.web.headers.allowed_hosts`). ``exit_on_failure``: end the process
    when the app cannot start (only when uvicorn runs in the main thread)."""

    def __init__(
        self, build: Callable[[], Any], *, allowed: Any, exit_on_failure: bool = False
    ) -> None:
        from spinecoach.web.headers import SecurityHeadersMiddleware, TrustedHostMiddleware

        self._build = build
        self._lock = threading.Lock()
        self._app: Any = None
        self._started = False
        self._failure: BaseException | None = None
        self._ready: asyncio.Event | None = None
        self._starting: asyncio.Task[None] | None = None
        self._lifespan: asyncio.Task[None] | None = None
        self._to_app: asyncio.Queue[Message] | None = None
        self._from_app: asyncio.Queue[Message] | None = None
        self._exit_on_failure = exit_on_failure
        self._early: ASGIApp = SecurityHeadersMiddleware(
            TrustedHostMiddleware(self._answer_early, allowed=allowed)
        )

    # The real app --------------------------------------------------------------------
    @property
    def app(self) -> Any:
        """The real app (built now when it is not yet)."""
        with self._lock:
            if self._app is None:
                self._app = self._build()
            return self._app

    @property
    def started(self) -> bool:
        """Whether the real app has started (its lifespan's start-up completed)."""
        return self._started

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.app, name)

    # ASGI ----------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._run_lifespan(scope, receive, send)
            return
        if not self._started:
            early = scope["type"] == "http" and scope.get("method") in ("GET", "HEAD")
            if early and self._failure is None and _is_early(scope.get("path", "")):
                await self._early(scope, receive, send)
                return
            await self._wait_started(scope)
            if not self._started:
                await self._refuse(scope, receive, send)
                return
        await self._app(scope, receive, send)

    async def _run_lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        self._begin(scope)
        await send({"type": "lifespan.startup.complete"})  # the port opens now
        await receive()  # lifespan.shutdown
        await self._stop()
        await send({"type": "lifespan.shutdown.complete"})

    def _begin(self, scope: Scope | None) -> None:
        if self._starting is None:
            self._ready = asyncio.Event()
            self._starting = asyncio.create_task(self._start(scope))

    async def _start(self, scope: Scope | None) -> None:
        """Build the real app in a thread, then run its start-up (ASGI lifespan)."""
        assert self._ready is not None
        try:
            app = await asyncio.to_thread(lambda: self.app)
            lifespan_scope = dict(scope or {"type": "lifespan", "asgi": {"version": "3.0"}})
            lifespan_scope.setdefault("state", {})
            self._to_app, self._from_app = asyncio.Queue(), asyncio.Queue()
            self._lifespan = asyncio.create_task(
                app(lifespan_scope, self._to_app.get, self._from_app.put)
            )
            await self._to_app.put({"type": "lifespan.startup"})
            reply = await self._reply()
            if reply.get("type") != "lifespan.startup.complete":
                raise RuntimeError(str(reply.get("message") or "the app's start-up failed"))
            self._started = True
        except Exception as error:  # anything the app raised while it was made or started
            self._failure = error
            self._fail(error)
        finally:
            self._ready.set()

    async def _reply(self) -> Message:
        """The real app's next lifespan message, or its error when it ended instead."""
        assert self._from_app is not None and self._lifespan is not None
        getting = asyncio.ensure_future(self._from_app.get())
        await asyncio.wait({getting, self._lifespan}, return_when=asyncio.FIRST_COMPLETED)
        if getting.done():
            return getting.result()
        getting.cancel()
        error = self._lifespan.exception()
        raise error if error is not None else RuntimeError("the app's lifespan ended early")

    def _fail(self, error: BaseException) -> None:
        log.error("the server could not start: %s", error, exc_info=error)
        in_main = threading.current_thread() is threading.main_thread()
        if self._exit_on_failure and in_main:
            log.error("Application startup failed. Exiting.")
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(STARTUP_FAILURE)  # uvicorn's own exit status for a failed start-up

    async def _stop(self) -> None:
        if self._starting is not None:
            await self._starting  # a build in progress ends first (it cannot be cancelled)
        if self._started and self._to_app is not None:
            await self._to_app.put({"type": "lifespan.shutdown"})
            with contextlib.suppress(Exception):
                await self._reply()

    async def _wait_started(self, scope: Scope) -> None:
        self._begin(None)  # a server that runs no lifespan starts the app on first use
        assert self._ready is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), WAIT_S)

    # Answers before the app has started ------------------------------------------------
    async def _answer_early(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == HEALTH_PATH:
            from spinecoach import __version__

            body = {
                "status": "starting",
                "version": __version__,
                "problems": [
                    {
                        "what": "the server is starting (loading its modules, migrating "
                        "the database)",
                        "fix": "ask again in a moment",
                    }
                ],
            }
            await _send(send, scope, 503, json.dumps(body).encode(), "application/json", True)
            return
        await _send(send, scope, 200, _index_page(), "text/html; charset=utf-8", False)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._failure is not None:
            problem = f"the server could not start: {self._failure}"
            fix = "see the server's log; restart it once the cause is fixed"
        else:
            problem = f"the server did not start within {WAIT_S:.0f} s"
            fix = "ask again in a moment; see the server's log"
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1011, "reason": problem[:120]})
            return
        body = json.dumps({"detail": {"problem": problem, "fix": fix}}).encode()
        await _send(send, scope, 503, body, "application/json", True)


def _is_early(path: str) -> bool:
    return path == HEALTH_PATH or path in PAGE_PATHS


_INDEX: list[bytes] = []


def _index_page() -> bytes:
    if not _INDEX:
        static = resources.files("spinecoach.web").joinpath("static")
        _INDEX.append(static.joinpath("index.html").read_bytes())
    return _INDEX[0]


async def _send(
    send: Send, scope: Scope, status: int, body: bytes, media_type: str, retry: bool
) -> None:
    headers = [
        (b"content-type", media_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if retry:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
