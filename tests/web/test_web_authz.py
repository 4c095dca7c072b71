"""The authorization matrix (issue 16): every HTTP route of the app and the live
WebSocket, called over a real HTTP server on loopback as anonymous, person A, person B,
the clinician of A, a clinician of nobody, an admin and a device token of A; each
route's row in :data:`MATRIX` names who may call it. Allowed callers must not get 401 or
403 (a 404, 409 or 422 because the request names nothing real is fine); refused callers
get exactly 401 (nobody signed in) or 403. Routes about a person's data are also called
with ``?person=<A's id>``: only A (and for reads A's clinician) may.

The route list comes from the app itself (``ROUTERS`` through ``authz.route_keys``): a
route without a row here fails :func:`test_the_matrix_names_every_route_of_the_app`, and
a row for a route that is gone fails it too. Adding a route's row is one line of
:data:`MATRIX`; a route needing a real path value or body adds one line to
:data:`PATH_VALUES` or :data:`BODIES`.

The rows are written out, not read from ``authz.POLICY``: a wrong rule in the policy is a
failure here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from web_client import LiveServer, receive, serve
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from spinecoach.services import accounts, device_tokens
from spinecoach.store.db import make_engine
from spinecoach.web.app import ROUTERS, create_app
from spinecoach.web.authz import COOKIE, check_policy_covers, route_keys
from spinecoach.web.settings import Settings

ANON, A, B, CLIN_A, CLIN_NONE, ADMIN, DEVICE_A = (
    "anonymous",
    "person-a",
    "person-b",
    "clinician-of-a",
    "clinician-of-nobody",
    "admin",
    "device-token-of-a",
)
EVERYONE = frozenset({ANON, A, B, CLIN_A, CLIN_NONE, ADMIN, DEVICE_A})
SIGNED_IN = frozenset({A, B, CLIN_A, CLIN_NONE, ADMIN})
OWN_DATA = frozenset({A, B, ADMIN})  # the accounts with data of their own
#: Refused callers without a sign-in cookie get 401; the others 403.
NOT_SIGNED_IN = frozenset({ANON, DEVICE_A})


@dataclass(frozen=True)
class Rule:
    """Who may call a route (``allowed``); for routes about a person's data, who may
    call it with ``?person=<A's id>`` (``about_a``); ``status``: the one answer every
    allowed caller gets (the setup route, once accounts exist: 409)."""

    allowed: frozenset[str]
    about_a: frozenset[str] | None = None
    status: int | None = None


PUBLIC = Rule(EVERYONE)
SETUP = Rule(EVERYONE, status=409)  # from loopback, while there is no account only
SIGNED = Rule(SIGNED_IN)
READ = Rule(OWN_DATA, about_a=frozenset({A, CLIN_A}))
CHANGE = Rule(OWN_DATA, about_a=frozenset({A}))
DEVICE = Rule(OWN_DATA | {DEVICE_A}, about_a=frozenset({A, DEVICE_A}))
ADMINS = Rule(frozenset({ADMIN}))

#: Every route of the app: (method, path) → its rule. ``WS``: the WebSocket.
MATRIX: dict[tuple[str, str], Rule] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/history"): PUBLIC,
    ("GET", "/day"): PUBLIC,
    ("GET", "/onboarding"): PUBLIC,
    ("GET", "/checkin"): PUBLIC,
    ("GET", "/psfs"): PUBLIC,
    ("GET", "/program"): PUBLIC,
    ("GET", "/screening"): PUBLIC,
    ("GET", "/progress"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("GET", "/setup"): PUBLIC,
    ("GET", "/account"): PUBLIC,
    ("GET", "/admin"): PUBLIC,
    ("GET", "/sw.js"): PUBLIC,
    ("GET", "/api/auth/me"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/logout"): PUBLIC,
    ("POST", "/api/auth/password"): SIGNED,
    ("POST", "/api/auth/setup"): SETUP,
    ("GET", "/api/admin/users"): ADMINS,
    ("POST", "/api/admin/users"): ADMINS,
    ("POST", "/api/admin/users/{username}"): ADMINS,
    ("GET", "/api/admin/audit"): ADMINS,
    ("GET", "/api/admin/audit.csv"): ADMINS,
    ("GET", "/api/health"): PUBLIC,
    ("GET", "/api/techniques"): PUBLIC,
    ("GET", "/api/positions"): PUBLIC,
    ("GET", "/api/techniques/{name}/demo"): PUBLIC,
    ("GET", "/api/camera"): SIGNED,
    ("GET", "/api/sessions"): READ,
    ("GET", "/api/sessions/{session_id}/plot.png"): READ,
    ("POST", "/api/sessions/{session_id}/pain"): CHANGE,
    ("POST", "/api/sessions/{session_id}/close"): CHANGE,
    ("GET", "/api/program/red-flags"): PUBLIC,
    ("GET", "/api/program/status"): READ,
    ("POST", "/api/program/onboarding"): CHANGE,
    ("POST", "/api/program/screening"): CHANGE,
    ("POST", "/api/program/checkin"): CHANGE,
    ("POST", "/api/program/psfs"): CHANGE,
    ("GET", "/api/program/calendar.ics"): READ,
    ("POST", "/api/program/clearance"): CHANGE,
    ("GET", "/api/program/start-check"): READ,
    ("GET", "/api/program/today"): READ,
    ("GET", "/api/program/progress"): READ,
    ("GET", "/api/program/report.pdf"): READ,
    ("GET", "/api/program/report.html"): READ,
    ("POST", "/api/ingest/sensor-logger"): DEVICE,
    ("GET", "/api/devices"): CHANGE,
    ("POST", "/api/devices/{device_id}/placement"): CHANGE,
    ("POST", "/api/devices/phyphox"): CHANGE,
    ("POST", "/api/devices/ble"): CHANGE,
    ("DELETE", "/api/devices/{device_id}"): CHANGE,
    ("GET", "/api/devices/tokens"): CHANGE,
    ("POST", "/api/devices/tokens"): CHANGE,
    ("DELETE", "/api/devices/tokens/{token_id}"): CHANGE,
    ("GET", "/api/posture/now"): READ,
    ("POST", "/api/posture/prompt/{prompt_id}"): CHANGE,
    ("GET", "/api/posture/day"): READ,
    ("GET", "/api/posture/week"): READ,
    ("GET", "/api/posture/settings"): READ,
    ("PUT", "/api/posture/settings"): CHANGE,
    ("WS", "/ws/live"): CHANGE,
}

#: Values for path parameters (default "999999": names nothing, so a 404).
PATH_VALUES: dict[str, str] = {"username": "person-b", "name": "no-such-technique"}
#: Request bodies (default ``{}``: a 422 for an allowed caller, after authorization).
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/auth/setup"): {"username": "late-owner", "password": "a long password"},
    ("POST", "/api/admin/users"): {"username": "newbie", "password": "newbie pw 123"},
    ("POST", "/api/admin/users/{username}"): {"action": "enable"},
    ("POST", "/api/sessions/{session_id}/pain"): {"vas_mm": 20},
    ("POST", "/api/devices/tokens"): {"name": "matrix phone"},
}
#: Routes that end the caller's sign-in: called with a sign-in of their own.
ENDS_SIGN_IN = frozenset({("POST", "/api/auth/logout")})


def password(name: str) -> str:
    return f"{name} pw 123"


@dataclass
class World:
    server: LiveServer
    clients: dict[str, httpx.Client]
    tokens: dict[str, str]  # identity → sign-in cookie token (device: the bearer token)
    person_a: int
    engine: Any


@pytest.fixture(scope="module")
def world(_history_database: str) -> Iterator[World]:
    for server in serve(Settings(auth="accounts", sim_speed=10_000.0)):
        engine = make_engine(os.environ.get("SPINECOACH_DATABASE_URL", _history_database))
        accounts.add_user(engine, "the-admin", password("the-admin"), "admin")
        person_a = accounts.add_user(engine, "person-a", password("person-a"), "person")
        accounts.add_user(engine, "person-b", password("person-b"), "person")
        accounts.add_user(engine, "clin-a", password("clin-a"), "clinician")
        accounts.add_user(engine, "clin-none", password("clin-none"), "clinician")
        accounts.assign(engine, "clin-a", "person-a")
        assert person_a.person_id is not None
        _info, device_secret = device_tokens.create(engine, person_a.person_id, "a's phone")
        names = {A: "person-a", B: "person-b", CLIN_A: "clin-a", CLIN_NONE: "clin-none"}
        names[ADMIN] = "the-admin"
        clients, tokens = {}, {}
        for identity, name in names.items():  # signed in over HTTP, once each
            client = httpx.Client(base_url=server.http_url, timeout=30.0)
            answer = client.post(
                "/api/auth/login", json={"username": name, "password": password(name)}
            )
            assert answer.status_code == 200, answer.text
            clients[identity], tokens[identity] = client, answer.cookies[COOKIE]
        clients[ANON] = httpx.Client(base_url=server.http_url, timeout=30.0)
        clients[DEVICE_A] = httpx.Client(
            base_url=server.http_url,
            timeout=30.0,
            headers={"authorization": f"Bearer {device_secret}"},
        )
        tokens[DEVICE_A] = device_secret
        try:
            yield World(server, clients, tokens, person_a.person_id, engine)
        finally:
            for client in clients.values():
                client.close()
            engine.dispose()


def app_routes() -> set[tuple[str, str]]:
    return set(route_keys([route for router in ROUTERS for route in router.routes]))


def test_the_matrix_names_every_route_of_the_app() -> None:
    routes = app_routes()
    missing = sorted(routes - MATRIX.keys())
    gone = sorted(MATRIX.keys() - routes)
    assert not missing, f"routes without a row in MATRIX (add one line each): {missing}"
    assert not gone, f"rows in MATRIX for routes the app no longer has: {gone}"


def test_the_app_serves_nothing_beside_the_guarded_routers() -> None:
    """A route added to the app itself (not to one of ``ROUTERS``) would run without
    ``authorize`` and escape this matrix: only FastAPI's schema and the static files
    (the page's scripts and styles) may be there."""
    app = create_app(Settings(auth="accounts"))
    included, other = [], []
    for route in app.routes:
        router = getattr(route, "original_router", None)  # FastAPI's included router
        if router is not None:
            included.append(router)
        else:
            other.append(getattr(route, "path", repr(route)))
    assert sorted(other) == ["/openapi.json", "/static"]
    assert [id(r) for r in included] == [id(r) for r in ROUTERS]


def test_a_route_without_an_access_rule_stops_the_server() -> None:
    extra = APIRouter()

    @extra.get("/api/unruled")
    async def unruled() -> None:  # pragma: no cover - never served
        return None

    with pytest.raises(RuntimeError, match=r"\('GET', '/api/unruled'\)"):
        check_policy_covers([*ROUTERS[0].routes, *extra.routes])


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "999999"), path)


def call(world: World, identity: str, key: tuple[str, str], **params: Any) -> httpx.Response:
    method, path = key
    client = world.clients[identity]
    cookies = None
    if key in ENDS_SIGN_IN and identity in SIGNED_IN:  # a sign-in of its own to end
        principal = accounts.session_principal(world.engine, world.tokens[identity])
        assert principal is not None and principal.user_id is not None
        client = httpx.Client(base_url=world.server.http_url, timeout=30.0)
        cookies = {COOKIE: accounts.start_session(world.engine, principal.user_id)}
        client.cookies.update(cookies)
    body = BODIES.get(key, {}) if method in ("POST", "PUT") else None
    try:
        return client.request(method, concrete(path), json=body, params=params)
    finally:
        if cookies is not None:
            client.close()


def verdict(rule: Rule, allowed: frozenset[str], identity: str, status: int) -> str | None:
    """What is wrong with ``status`` for ``identity`` (None: right)."""
    if identity in allowed:
        if status in (401, 403):
            return f"allowed but refused with {status}"
        if status >= 500:
            return f"allowed but failed with {status}"
        if rule.status is not None and status != rule.status:
            return f"expected {rule.status}, got {status}"
        return None
    expected = 401 if identity in NOT_SIGNED_IN else 403
    return None if status == expected else f"refused: expected {expected}, got {status}"


HTTP_ROUTES = sorted(key for key in MATRIX if key[0] != "WS")


@pytest.mark.parametrize("key", HTTP_ROUTES, ids=[f"{m} {p}" for m, p in HTTP_ROUTES])
def test_every_route_answers_only_whom_its_rule_allows(world: World, key: tuple[str, str]) -> None:
    rule = MATRIX[key]
    wrong = []
    for identity in sorted(EVERYONE):
        answer = call(world, identity, key)
        problem = verdict(rule, rule.allowed, identity, answer.status_code)
        if problem:
            wrong.append(f"{identity}: {problem} ({answer.text[:120]})")
    if rule.about_a is not None:
        for identity in sorted(EVERYONE):
            answer = call(world, identity, key, person=world.person_a)
            problem = verdict(rule, rule.about_a, identity, answer.status_code)
            if problem:
                wrong.append(f"{identity} ?person=A: {problem} ({answer.text[:120]})")
    assert not wrong, f"{key}: " + "; ".join(wrong)


def open_socket(world: World, identity: str, query: str = "", origin: str | None = None) -> str:
    """Open /ws/live as ``identity``: the first message's type, or ``refused <status>``
    when the handshake was refused."""
    headers: dict[str, str] = {}
    if identity == DEVICE_A:
        headers["authorization"] = f"Bearer {world.tokens[DEVICE_A]}"
    elif identity != ANON:
        headers["cookie"] = f"{COOKIE}={world.tokens[identity]}"
    try:
        ws = connect(
            world.server.ws_url + query,
            additional_headers=headers,
            origin=None if origin is None else Origin(origin),
            open_timeout=10.0,
        )
    except InvalidStatus as refused:
        return f"refused {refused.response.status_code}"
    with ws:
        return str(receive(ws)["type"])


def test_the_live_socket_opens_only_for_whom_its_rule_allows(world: World) -> None:
    rule = MATRIX[("WS", "/ws/live")]
    assert rule.about_a is not None
    seen, expected = {}, {}
    for identity in sorted(EVERYONE):
        seen[identity] = open_socket(world, identity)
        expected[identity] = "hello" if identity in rule.allowed else "refused 403"
        about_a = f"{identity} ?person=A"
        seen[about_a] = open_socket(world, identity, f"?person={world.person_a}")
        expected[about_a] = "hello" if identity in rule.about_a else "refused 403"
    # A refused handshake is closed (1008) before it is accepted: the server answers
    # the upgrade with 403, so no session ever starts.
    assert seen == expected


def test_a_foreign_origin_cannot_open_the_socket_even_with_a_cookie(world: World) -> None:
    assert open_socket(world, A, origin="http://evil.example") == "refused 403"
    assert open_socket(world, A, origin=world.server.http_url) == "hello"


@pytest.mark.parametrize("given", ["²", "١", "0", "-1", "a", "", "9" * 30, "9" * 5000, "1.0"])
def test_a_person_query_that_is_no_id_is_a_422(world: World, given: str) -> None:
    """``?person=`` must be an id in ASCII digits: '²' passed ``str.isdigit`` and then
    failed ``int`` (a 500), "١" (an Arabic-Indic one) was read as person 1, 5,000 digits
    were over ``int``'s limit (a 500)."""
    answer = world.clients[CLIN_A].get("/api/sessions", params={"person": given})
    assert answer.status_code == 422, (given, answer.status_code, answer.text)
    assert "person" in answer.json()["detail"]["problem"]
