"""Issue 16, the HTTP side: request bodies limited while they stream in, security headers
on every response, the Host header checked, the API docs off by default (their scripts
come from a CDN). The phyphox address check is in ``test_web_outbound.py``.

Every request goes to loopback. The 1 GiB body goes to a real ``spinecoach serve``
process, whose peak resident memory (``VmHWM`` in ``/proc/<pid>/status``) is read before
and after.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, WebSocketRoute
from typer.testing import CliRunner
from web_client import LiveServer, serve, start_server_process

from spinecoach.cli.root import app as cli_app
from spinecoach.sources.sensor_logger_push import MAX_PUSH_BYTES
from spinecoach.web.app import create_app
from spinecoach.web.headers import (
    APP_CSP,
    CSP_BY_PATH,
    REPORT_CSP,
    SecurityHeadersMiddleware,
    allowed_hosts,
    host_name,
)
from spinecoach.web.limits import DEFAULT_MAX_BODY_BYTES
from spinecoach.web.settings import Settings

GIB = 1 << 30
MIB = 1 << 20
#: The issue's bound: the server's peak memory grows by less than this for a 1 GiB body.
MAX_GROWTH_BYTES = 100 * 1_000_000
INGEST = "/api/ingest/sensor-logger"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('hardening')}/history.sqlite3"
    yield from serve(Settings(database_url=url, allowed_hosts=("coach.lan", "*.home.arpa")))


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.http_url, timeout=30.0) as http:
        yield http


def _chunks(total_bytes: int, chunk_bytes: int = MIB) -> Iterator[bytes]:
    """``total_bytes`` of JSON whitespace in chunks (one buffer, sent again and again)."""
    chunk = b" " * chunk_bytes
    for _ in range(total_bytes // chunk_bytes):
        yield chunk


def _peak_rss_bytes(pid: int) -> int:
    """The process's peak resident set size so far (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


# --- request bodies ----------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_a_1_gib_body_is_refused_while_it_streams_and_the_server_stays_small(
    tmp_path: Path,
) -> None:
    """The issue's finding: a 1 GiB ingest POST was read whole first (2.25 GB peak RSS).
    Streamed in 1 MiB chunks without a length (chunked transfer), and declared with its
    Content-Length, it is refused with 413 while the server's peak memory grows by less
    than 100 MB over its idle peak."""
    process = start_server_process(
        f"sqlite:///{tmp_path}/history.sqlite3", 1.0, tmp_path / "server.log"
    )
    try:
        with httpx.Client(base_url=process.http_url, timeout=60.0) as http:
            assert http.get("/api/devices").status_code == 200  # warm: routes imported
            idle = _peak_rss_bytes(process.process.pid)
            started = time.monotonic()
            streamed = http.post(INGEST, content=_chunks(GIB))
            declared = http.post(
                "/api/program/checkin",
                content=_chunks(GIB),
                headers={"Content-Length": str(GIB), "Content-Type": "application/json"},
            )
            took_s = time.monotonic() - started
            peak = _peak_rss_bytes(process.process.pid)
            assert http.get("/api/health").status_code == 200  # and still serves
    finally:
        process.process.terminate()
        process.process.wait(timeout=20)
    assert streamed.status_code == 413, streamed.text
    detail = streamed.json()["detail"]
    assert f"limit of {MAX_PUSH_BYTES} bytes" in detail["problem"]
    assert "batch period" in detail["fix"]
    assert declared.status_code == 413, declared.text
    assert f"{GIB} bytes declared" in declared.json()["detail"]["problem"]
    assert f"limit of {DEFAULT_MAX_BODY_BYTES} bytes" in declared.json()["detail"]["problem"]
    growth = peak - idle
    assert growth < MAX_GROWTH_BYTES, f"peak RSS grew {growth / 1e6:.0f} MB over idle"
    assert took_s < 60.0


def test_a_chunked_body_over_the_default_limit_is_413_naming_the_limit_and_the_fix(
    client: httpx.Client,
) -> None:
    response = client.post(
        "/api/program/checkin",
        content=_chunks(4 * MIB, 64 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert f"limit of {DEFAULT_MAX_BODY_BYTES} bytes" in detail["problem"]
    assert "SPINECOACH_MAX_BODY_BYTES" in detail["fix"]


def test_a_body_under_the_limit_reaches_the_route(client: httpx.Client) -> None:
    """Streamed or not, a body within the limit is the route's to judge (here: a push
    of only whitespace, answered as an empty test push)."""
    response = client.post(INGEST, content=_chunks(2 * MIB, 64 * 1024))
    assert response.status_code == 200, response.text
    assert response.json()["samples"] == 0
    response = client.post(
        "/api/program/checkin", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_the_default_limit_is_a_setting(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/h.sqlite3", max_body_bytes=2048)
    for live in serve(settings):
        body = b'{"pain_mm": 10, "note": "' + b"x" * 3000 + b'"}'
        answer = httpx.post(
            f"{live.http_url}/api/program/checkin",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 413
        assert "limit of 2048 bytes" in answer.json()["detail"]["problem"]


# --- security headers --------------------------------------------------------------------


def _example_path(path: str) -> str:
    """A route's path with every ``{parameter}`` filled (nothing by that id exists)."""
    parts = [("1" if "id" in p else "x") if p.startswith("{") else p for p in path.split("/")]
    return "/".join(parts)


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every route, those of included routers too (the app includes them without a
    prefix)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _routes(included.routes) if included is not None else [route]


def _requests() -> list[tuple[str, str]]:
    """(method, path) for every HTTP route of the app, plus a static file, a missing
    one and an unknown path."""
    made: list[tuple[str, str]] = []
    for route in _routes(create_app(Settings()).routes):
        if isinstance(route, WebSocketRoute):
            continue
        if isinstance(route, Mount):
            made += [("GET", f"{route.path}/app.js"), ("GET", f"{route.path}/missing.js")]
            continue
        methods = sorted(getattr(route, "methods", None) or {"GET"})
        made += [(m, _example_path(route.path)) for m in methods if m != "HEAD"]
    return [*made, ("GET", "/no/such/page")]


def test_the_app_has_routes_to_check() -> None:
    routes = list(_routes(create_app(Settings()).routes))
    assert sum(isinstance(r, APIRoute) for r in routes) > 30
    assert any(isinstance(r, WebSocketRoute) for r in routes)


@pytest.mark.parametrize(("method", "path"), _requests())
def test_every_route_answers_with_the_security_headers(
    client: httpx.Client, method: str, path: str
) -> None:
    """Whatever the answer (a page, JSON, a 404, a 422 for the empty body sent, even a
    500)."""
    response = client.request(method, path, params={"tz": "UTC"})
    assert response.headers["content-security-policy"] == CSP_BY_PATH.get(path, APP_CSP)
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_policy_allows_no_inline_script_and_no_framing() -> None:
    directives = dict(d.strip().split(" ", 1) for d in APP_CSP.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in APP_CSP
    assert CSP_BY_PATH["/api/program/report.html"] == REPORT_CSP
    assert "script-src" not in REPORT_CSP and "default-src 'none'" in REPORT_CSP


def test_refusals_of_the_middleware_carry_the_headers_too(client: httpx.Client) -> None:
    refused = [
        client.get("/api/health", headers={"Host": "evil.example"}),
        client.post("/api/program/checkin", content=_chunks(2 * MIB)),
    ]
    assert [r.status_code for r in refused] == [400, 413]
    for response in refused:
        assert response.headers["content-security-policy"] == APP_CSP
        assert response.headers["x-frame-options"] == "DENY"


def test_an_error_before_any_answer_is_a_500_with_the_headers() -> None:
    async def failing(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "path": "/api/health", "headers": []}
    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(SecurityHeadersMiddleware(failing)(scope, receive, send))
    assert sent[0]["status"] == 500
    assert (b"x-frame-options", b"DENY") in sent[0]["headers"]


# --- trusted host ------------------------------------------------------------------------


def test_a_forged_host_is_400_with_a_clear_detail(client: httpx.Client) -> None:
    """DNS rebinding: a page at evil.example resolving its name to 127.0.0.1 sends its
    own name as Host."""
    response = client.get("/api/program/progress", headers={"Host": "evil.example"})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "'evil.example'" in detail["problem"]
    assert "--allowed-host" in detail["fix"] and "SPINECOACH_ALLOWED_HOSTS" in detail["fix"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "coach.lan", "pi.home.arpa"])
def test_the_servers_names_and_the_configured_ones_are_answered(
    client: httpx.Client, server: LiveServer, host: str
) -> None:
    port = httpx.URL(server.http_url).port
    response = client.get("/api/health", headers={"Host": f"{host}:{port}"})
    assert response.status_code == 200


def _handshake_status(server: LiveServer, host: str) -> str:
    """The status line the server answers a WebSocket handshake for ``host`` with."""
    url = httpx.URL(server.http_url)
    with socket.create_connection((url.host, url.port), timeout=10.0) as sock:
        sock.sendall(
            (
                f"GET /ws/live HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        return sock.recv(4096).split(b"\r\n", 1)[0].decode()


def test_the_websocket_handshake_checks_the_host_too(server: LiveServer) -> None:
    port = httpx.URL(server.http_url).port
    assert " 101 " in _handshake_status(server, f"127.0.0.1:{port}") + " "
    assert " 403 " in _handshake_status(server, "evil.example") + " "


def test_allowed_hosts_of_a_server_bound_to_every_interface() -> None:
    """Bound to 0.0.0.0 a phone uses the LAN address: any address literal is allowed (it
    cannot be re-bound), names only when configured."""
    everywhere = allowed_hosts(Settings(host="0.0.0.0"))
    assert everywhere.allows("192.168.1.5:8000") and everywhere.allows("[fe80::1]:8000")
    assert not everywhere.allows("evil.example:8000")
    one = allowed_hosts(Settings(host="192.168.1.5"))
    assert one.allows("192.168.1.5:8000") and one.allows("[::1]:8000")
    assert not one.allows("192.168.1.6:8000") and not one.allows("")
    assert host_name("Coach.LAN.:8000") == "coach.lan"


def test_serve_allowed_host_adds_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    calls: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(app))
    monkeypatch.setenv("SPINECOACH_ALLOWED_HOSTS", "env.lan")
    result = CliRunner().invoke(
        cli_app, ["serve", "--allowed-host", "coach.lan", "--allowed-host", "*.home.arpa"]
    )
    assert result.exit_code == 0, result.output
    trusted = calls[0].user_middleware
    options = next(m.kwargs for m in trusted if "allowed" in m.kwargs)
    allowed = options["allowed"]
    assert allowed.allows("coach.lan") and allowed.allows("env.lan")
    assert allowed.allows("x.home.arpa") and not allowed.allows("evil.example")


# --- API docs ----------------------------------------------------------------------------


def test_the_cdn_docs_are_off_by_default_and_the_schema_stays(client: httpx.Client) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    schema = client.get("/openapi.json")
    assert schema.status_code == 200 and "/api/health" in schema.json()["paths"]


def test_the_docs_can_be_turned_on_with_their_own_policy(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/h.sqlite3", api_docs=True)
    for live in serve(settings):
        page = httpx.get(f"{live.http_url}/docs")
        assert page.status_code == 200 and "swagger" in page.text.lower()
        assert page.headers["content-security-policy"] == CSP_BY_PATH["/docs"]
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
