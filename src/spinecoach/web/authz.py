"""The one authorization layer (issue 16): every route's access rule in one table,
:data:`POLICY`, and one dependency, :func:`authorize`, that every route of the app runs
before its handler. No route checks rights by itself.

Who is asking (the *principal*) comes from:

* **accounts mode** (the default): the sign-in cookie :data:`COOKIE` (a random token; the
  database keeps its hash, see :mod:`spinecoach.services.accounts`), or for a route open to
  devices a device token in the ``Authorization: Bearer …`` header
  (:mod:`spinecoach.services.device_tokens`);
* **single-person mode** (``SPINECOACH_AUTH=single-person``, what ``make demo`` uses): no
  password, the one local person; the server refuses to start in this mode unless bound
  to loopback, and refuses requests from any other address.

Whose data a request is about (the *acting person*): the principal's own person, or for a
clinician ``?person=ID`` naming one of the persons assigned to them. The route's
:class:`Access` decides:

==============  =============================================================
``public``      anyone (the page shell, the technique catalogue, health)
``setup``       only while the server has no account, only from loopback
``signed-in``   any principal (who am I, sign out, change my password)
``read``        the acting person's data, read: the person, or their clinician
``change``      the acting person's data, changed: the person only
``device``      like ``change``, or a device token of that person
``admin``       admins only (users, the audit log)
==============  =============================================================

Anonymous requests to a guarded route get 401, a principal without the right 403 — the
same 403 whether the other person exists or not. A route missing from :data:`POLICY`
makes :func:`check_policy_covers` (called by ``create_app``) refuse to start the server:
a new route is closed until it is given a rule, and the test of the authorization matrix
(``tests/web/test_web_authz.py``) names it.

Audit (:mod:`spinecoach.services.audit`): every change of a person's data (a request
other than GET to a ``change`` or ``device`` route, and each opening of the live socket),
every read by someone other than the person themselves, and every refusal of a signed-in
principal (another person's data, an admin route) is written to the append-only audit
log. Not logged, so that the log is not drowned: a person reading their own data (the
pages poll every second or two), a device token's pushes (about one a second; the token
keeps when it was last used), an account without data of its own asking for its own (a
clinician's page without ``?person=``), and anonymous requests refused with 401 (anyone
could fill the log with them; failed sign-ins are logged, under the sign-in back-off).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Final

from fastapi import HTTPException, WebSocket
from fastapi.requests import HTTPConnection
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.exceptions import WebSocketException
from starlette.routing import BaseRoute

from spinecoach.services import accounts, audit, device_tokens
from spinecoach.services.accounts import Principal
from spinecoach.web.routes.common import MAX_ID

#: The sign-in cookie: HttpOnly, SameSite=Strict, Secure when the request came over TLS.
COOKIE: Final = "spinecoach_session"
#: The query parameter a clinician names one of their persons with.
PERSON_QUERY: Final = "person"
#: How often an open live socket checks that its sign-in still holds (seconds).
SIGN_IN_RECHECK_S: float = 5.0


class Access(StrEnum):
    """Who may call a route (see the module docstring)."""

    PUBLIC = "public"
    SETUP = "setup"
    SIGNED_IN = "signed-in"
    READ = "read"
    CHANGE = "change"
    DEVICE = "device"
    ADMIN = "admin"


_PAGES = ("/", "/history", "/day", "/onboarding", "/checkin", "/psfs", "/program")
_PAGES2 = ("/screening", "/progress", "/login", "/setup", "/account", "/admin")

#: Every route of the app: (method, path) → who may call it. ``WS`` is the WebSocket.
POLICY: Final[dict[tuple[str, str], Access]] = {
    **{("GET", page): Access.PUBLIC for page in (*_PAGES, *_PAGES2)},  # the shell only
    ("GET", "/sw.js"): Access.PUBLIC,
    ("GET", "/api/health"): Access.PUBLIC,
    ("GET", "/api/techniques"): Access.PUBLIC,
    ("GET", "/api/positions"): Access.PUBLIC,
    ("GET", "/api/techniques/{name}/demo"): Access.PUBLIC,
    ("GET", "/api/program/red-flags"): Access.PUBLIC,  # the questions, no answers
    ("GET", "/api/camera"): Access.SIGNED_IN,
    # Accounts.
    ("GET", "/api/auth/me"): Access.PUBLIC,  # says who is signed in, or that nobody is
    ("POST", "/api/auth/login"): Access.PUBLIC,
    ("POST", "/api/auth/logout"): Access.PUBLIC,
    ("POST", "/api/auth/password"): Access.SIGNED_IN,
    ("POST", "/api/auth/setup"): Access.SETUP,
    ("GET", "/api/admin/users"): Access.ADMIN,
    ("POST", "/api/admin/users"): Access.ADMIN,
    ("POST", "/api/admin/users/{username}"): Access.ADMIN,
    ("GET", "/api/admin/audit"): Access.ADMIN,
    ("GET", "/api/admin/audit.csv"): Access.ADMIN,
    # A person's sessions.
    ("GET", "/api/sessions"): Access.READ,
    ("GET", "/api/sessions/{session_id}/plot.png"): Access.READ,
    ("POST", "/api/sessions/{session_id}/pain"): Access.CHANGE,
    ("POST", "/api/sessions/{session_id}/close"): Access.CHANGE,
    # The program.
    ("GET", "/api/program/status"): Access.READ,
    ("POST", "/api/program/onboarding"): Access.CHANGE,
    ("POST", "/api/program/screening"): Access.CHANGE,
    ("POST", "/api/program/checkin"): Access.CHANGE,
    ("POST", "/api/program/psfs"): Access.CHANGE,
    ("GET", "/api/program/calendar.ics"): Access.READ,
    ("POST", "/api/program/clearance"): Access.CHANGE,
    ("GET", "/api/program/start-check"): Access.READ,
    ("GET", "/api/program/today"): Access.READ,
    ("GET", "/api/program/progress"): Access.READ,
    ("GET", "/api/program/report.pdf"): Access.READ,
    ("GET", "/api/program/report.html"): Access.READ,
    # Live devices and the live session: the person's own.
    ("POST", "/api/ingest/sensor-logger"): Access.DEVICE,
    ("GET", "/api/devices"): Access.CHANGE,
    ("POST", "/api/devices/{device_id}/placement"): Access.CHANGE,
    ("POST", "/api/devices/phyphox"): Access.CHANGE,
    ("POST", "/api/devices/ble"): Access.CHANGE,
    ("DELETE", "/api/devices/{device_id}"): Access.CHANGE,
    ("GET", "/api/devices/tokens"): Access.CHANGE,
    ("POST", "/api/devices/tokens"): Access.CHANGE,
    ("DELETE", "/api/devices/tokens/{token_id}"): Access.CHANGE,
    ("WS", "/ws/live"): Access.CHANGE,
    # The working day.
    ("GET", "/api/posture/now"): Access.READ,
    ("POST", "/api/posture/prompt/{prompt_id}"): Access.CHANGE,
    ("GET", "/api/posture/day"): Access.READ,
    ("GET", "/api/posture/week"): Access.READ,
    ("GET", "/api/posture/settings"): Access.READ,
    ("PUT", "/api/posture/settings"): Access.CHANGE,
}


def route_keys(routes: list[BaseRoute]) -> list[tuple[str, str]]:
    """(method, path) of every API route and WebSocket in ``routes`` (``WS`` for a
    WebSocket), in order."""
    keys: list[tuple[str, str]] = []
    for route in routes:
        if isinstance(route, APIWebSocketRoute):
            keys.append(("WS", route.path))
        elif isinstance(route, APIRoute):
            keys.extend((method, route.path) for method in sorted(route.methods or ()))
    return keys


def check_policy_covers(routes: list[BaseRoute]) -> None:
    """Refuse a route without a rule in :data:`POLICY` (the server does not start)."""
    missing = [key for key in route_keys(routes) if key not in POLICY]
    if missing:
        raise RuntimeError(
            f"routes without an access rule: {missing}; add each to "
            "spinecoach.web.authz.POLICY (and to the matrix in tests/web/test_web_authz.py)"
        )


def is_loopback(host: str | None) -> bool:
    """Whether a client address is this computer (``testclient``: Starlette's test client)."""
    if host in ("testclient", "localhost"):
        return True
    try:
        return ipaddress.ip_address((host or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(connection: HTTPConnection, status: int, problem: str, fix: str) -> Exception:
    """The refusal: an HTTP error, or for the WebSocket a policy-violation close (1008)."""
    if connection.scope["type"] == "websocket":
        return WebSocketException(code=1008, reason=f"{problem}: {fix}"[:120])
    headers = {"WWW-Authenticate": 'Cookie realm="spinecoach"'} if status == 401 else None
    return HTTPException(status, detail={"problem": problem, "fix": fix}, headers=headers)


def _route_key(connection: HTTPConnection) -> tuple[str, str]:
    route = connection.scope.get("route")
    path = getattr(route, "path", connection.url.path)
    if connection.scope["type"] == "websocket":
        return ("WS", path)
    method = connection.scope["method"]
    return ("GET" if method == "HEAD" else method, path)


async def principal_of(connection: HTTPConnection) -> Principal | None:
    """Who is asking (None: nobody signed in); cached on the connection."""
    if hasattr(connection.state, "principal"):
        cached: Principal | None = connection.state.principal
        return cached
    state = connection.app.state
    found: Principal | None = None
    if state.settings.auth == "single-person":
        found = accounts.local_principal(state.history.person_id)
    else:
        token = connection.cookies.get(COOKIE)
        if token:
            found = await asyncio.to_thread(accounts.session_principal, state.history.engine, token)
    connection.state.principal = found
    return found


def _bearer(connection: HTTPConnection) -> str | None:
    value = connection.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _acting_person(connection: HTTPConnection, principal: Principal) -> int:
    """The person a request is about: ``?person=ID`` or the principal's own."""
    given = connection.query_params.get(PERSON_QUERY)
    if given is None:
        if principal.person_id is None:
            raise _refuse(
                connection,
                403,
                "this account has no data of its own",
                f"add ?{PERSON_QUERY}=ID to name one of the persons you follow",
            )
        return principal.person_id
    # At most 19 ASCII digits: str.isdigit() also takes '²' (int() then fails: a 500)
    # and other scripts' digits ('١' would name person 1); int() refuses over 4,300 digits.
    if not (len(given) <= 19 and given.isascii() and given.isdigit()) or not (
        1 <= int(given) <= MAX_ID
    ):
        raise _refuse(
            connection,
            422,
            f"?{PERSON_QUERY}= must be a person's id",
            f"give a whole number from 1 to {MAX_ID}",
        )
    return int(given)


async def authorize(connection: HTTPConnection) -> None:
    """Apply the route's :class:`Access` rule (see the module docstring); on success the
    principal is ``connection.state.principal`` and, for a person's data, the acting
    person is ``connection.state.person_id``."""
    state = connection.app.state
    key = _route_key(connection)
    access = POLICY.get(key)
    if access is None:  # check_policy_covers makes this unreachable; closed regardless
        raise _refuse(connection, 403, "this route has no access rule", "report it as a bug")
    if state.settings.auth == "single-person" and not is_loopback(
        connection.client.host if connection.client else None
    ):
        raise _refuse(
            connection,
            403,
            "this server runs in single-person mode, which answers this computer only",
            "open it on this computer, or run it with accounts (spinecoach users add)",
        )
    if access is Access.PUBLIC:
        await principal_of(connection)
        return
    if access is Access.SETUP:
        await _check_setup(connection)
        return
    principal = await principal_of(connection)
    if principal is None and access is Access.DEVICE:
        principal = await _device_principal(connection)
    if principal is None:
        raise _refuse(connection, 401, "you are not signed in", "sign in at /login")
    if access is Access.SIGNED_IN:
        return
    if access is Access.ADMIN:
        if principal.role != "admin":
            await _audit(connection, principal, "refused", None, key)
            raise _refuse(connection, 403, "this needs an admin account", "ask an admin")
        return
    person = _acting_person(connection, principal)
    allowed = principal.may_read(person) if access is Access.READ else principal.may_change(person)
    if not allowed:
        await _audit(connection, principal, "refused", person, key)
        raise _refuse(
            connection,
            403,
            f"you may not {'read' if access is Access.READ else 'change'} this person's data",
            "sign in as that person, or ask an admin to assign them to you",
        )
    connection.state.person_id = person
    if access is not Access.READ:
        if _changes(connection, principal):
            await _audit(connection, principal, "change", person, key)
    elif person != principal.person_id:
        await _audit(connection, principal, "read", person, key)


def _changes(connection: HTTPConnection, principal: Principal) -> bool:
    """Whether a request to a ``change`` or ``device`` route is logged as a change: not a
    GET (the person reading their own devices: the page polls it every second), not a
    device token's push (one a second; the token keeps when it was last used)."""
    if connection.scope["type"] == "websocket":
        return True
    return connection.scope["method"] not in ("GET", "HEAD") and principal.role != "device"


# -- device tokens (the device-token engineer's part, issue 16 item 3) -------------------------


def _device_token(connection: HTTPConnection) -> str | None:
    """The device token of ``Authorization: Bearer scd_…``; also of a bare
    ``Authorization: scd_…`` and of ``Authorization: Bearer Bearer scd_…``: Sensor
    Logger's "Auth Header" field is not documented as sending what is typed as the whole
    header value or after ``Bearer``, so either way of filling it in works (the prefix
    tells a device token apart). None: no token (or another scheme)."""
    words = connection.headers.get("authorization", "").split()
    if len(words) == 1 and words[0].startswith(device_tokens.TOKEN_PREFIX):
        return words[0]
    if words[:2] == ["Bearer", "Bearer"] and len(words) == 3:
        return words[2]
    return _bearer(connection)


@asynccontextmanager
async def while_signed_in(websocket: WebSocket) -> AsyncIterator[None]:
    """Close ``websocket`` (1008) once the sign-in that opened it ends — signed out, the
    password changed or reset, the account disabled, the session expired: the socket is
    authorized at its handshake only, and a live session must not outlast its sign-in.
    Checked every :data:`SIGN_IN_RECHECK_S`; single-person mode has no sign-in."""
    token = websocket.cookies.get(COOKIE)
    state = websocket.app.state
    if state.settings.auth != "accounts" or not token:
        yield
        return

    async def watch() -> None:
        while True:
            await asyncio.sleep(SIGN_IN_RECHECK_S)
            found = await asyncio.to_thread(accounts.session_principal, state.history.engine, token)
            if found is None:
                with contextlib.suppress(Exception):  # the client may be gone already
                    await websocket.close(1008, "your sign-in ended: sign in again")
                return

    watcher = asyncio.create_task(watch())
    try:
        yield
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _device_principal(connection: HTTPConnection) -> Principal | None:
    """The principal of the request's device token. No token, or a wrong or revoked
    one, is a 401 naming the fix (a device token), and wrong tokens back off per address
    (``app.state.token_attempts``, :class:`~spinecoach.web.attempts.AttemptLimiter`):
    past five, every token from that address gets 429 with Retry-After, the right one
    too, so guessing costs time (issue 16: 2,000 wrong tokens in 2.7 s)."""
    token = _device_token(connection)
    if token is None:
        raise _refuse(
            connection,
            401,
            "you are not signed in and gave no device token",
            "push with the header 'Authorization: Bearer scd_…' (make a device token on "
            "the Devices page), or sign in at /login",
        )
    attempts = connection.app.state.token_attempts
    client = connection.client.host if connection.client else "unknown"
    wait_s = attempts.blocked_for_s(client)
    if wait_s > 0.0:
        raise HTTPException(
            429,
            detail={
                "problem": "too many wrong device tokens from this address",
                "fix": f"wait {math.ceil(wait_s)} s, then push with a token of yours that "
                "is not revoked (the Devices page lists them)",
            },
            headers={"Retry-After": str(math.ceil(wait_s))},
        )
    engine = connection.app.state.history.engine
    found = await asyncio.to_thread(device_tokens.device_principal, engine, token)
    if found is None:
        attempts.failed(client)
        raise _refuse(
            connection,
            401,
            "the device token is wrong or revoked",
            "make a new token on the Devices page and give it to the app as the header "
            "'Authorization: Bearer scd_…'",
        )
    attempts.succeeded(client)
    connection.state.principal = found
    return found


# -- end of the device tokens' part -------------------------------------------------------------


async def _check_setup(connection: HTTPConnection) -> None:
    """The first account may be made only while there is none, and only from loopback."""
    if not is_loopback(connection.client.host if connection.client else None):
        raise _refuse(
            connection,
            403,
            "the first account can be made only on the server's own computer",
            "open http://127.0.0.1:PORT/setup there, or run spinecoach users add",
        )
    engine = connection.app.state.history.engine
    if await asyncio.to_thread(accounts.has_users, engine):
        raise _refuse(
            connection, 409, "the server has its first account already", "sign in at /login"
        )


async def _audit(
    connection: HTTPConnection,
    principal: Principal,
    action: str,
    person: int | None,
    key: tuple[str, str],
) -> None:
    engine = connection.app.state.history.engine
    await asyncio.to_thread(audit.record, engine, principal, action, person, f"{key[0]} {key[1]}")


__all__ = [
    "COOKIE",
    "PERSON_QUERY",
    "POLICY",
    "Access",
    "authorize",
    "check_policy_covers",
    "is_loopback",
    "principal_of",
    "route_keys",
    "while_signed_in",
]
