"""Issue 16: the server polls only a phyphox on the local network, and its answer never
tells an open port from a closed one (``spinecoach.web.outbound``).

The address check is tested directly (with a stand-in resolver for names, so no network
is needed) and through ``POST /api/devices/phyphox`` on a real server; every connection
goes to loopback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from web_client import LiveServer, serve

from spinecoach.errors import ConfigurationError
from spinecoach.web.outbound import answers_like_phyphox, local_address_allowed, phyphox_target
from spinecoach.web.settings import Settings

PHYPHOX = "/api/devices/phyphox"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('outbound')}/history.sqlite3"
    yield from serve(Settings(database_url=url))


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.http_url, timeout=20.0) as http:
        yield http


# --- the address check ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("10.1.2.3", True),
        ("172.16.0.9", True),
        ("172.31.255.1", True),
        ("192.168.1.20", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("169.254.10.20", True),
        ("::1", True),
        ("fd12:3456::7", True),
        ("fe80::1", True),
        ("::ffff:192.168.1.20", True),
        ("8.8.8.8", False),
        ("172.32.0.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT: not a home network
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("2001:4860:4860::8888", False),
        ("::ffff:8.8.8.8", False),
        ("169.254.169.254", False),  # cloud metadata
        ("fd00:ec2::254", False),
    ],
)
def test_only_local_addresses_are_polled(address: str, allowed: bool) -> None:
    assert local_address_allowed(ipaddress.ip_address(address)) is allowed


def test_the_allow_list_takes_addresses_and_networks() -> None:
    public = ipaddress.ip_address("203.0.113.7")
    assert not local_address_allowed(public)
    assert local_address_allowed(public, ["203.0.113.7"])
    assert local_address_allowed(public, ["phone.example.org", "203.0.113.0/28"])
    assert not local_address_allowed(public, ["203.0.113.16/28"])


def _resolver(table: dict[str, list[str]]) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


def _target(url: str, allowed: tuple[str, ...] = (), **table: list[str]) -> str | None:
    names = {k.replace("_", "."): v for k, v in table.items()}
    return asyncio.run(phyphox_target(url, allowed, resolve=_resolver(names)))


def test_a_name_is_resolved_and_polled_at_the_checked_address() -> None:
    """The poller gets the address checked, so the name cannot resolve elsewhere later."""
    assert _target("http://phone.lan:8080", phone_lan=["192.168.1.20"]) == (
        "http://192.168.1.20:8080"
    )
    assert _target("http://phone.lan:8080", phone_lan=["fd00::20"]) == "http://[fd00::20]:8080"


@pytest.mark.parametrize(
    "addresses", [["8.8.8.8"], ["192.168.1.20", "8.8.8.8"], ["169.254.169.254"]]
)
def test_a_name_resolving_to_any_public_address_is_refused(addresses: list[str]) -> None:
    with pytest.raises(ConfigurationError, match=r"phone\.lan \(.*\) is not on the local"):
        _target("http://phone.lan:8080", phone_lan=addresses)


def test_a_listed_name_is_kept_and_an_unknown_one_is_unreachable() -> None:
    assert _target("http://phone.example.org:80", ("Phone.Example.org",)) == (
        "http://phone.example.org:80"
    )
    assert _target("http://nowhere.lan:8080") is None


def test_a_public_address_in_any_spelling_is_refused() -> None:
    """134744072 is 8.8.8.8 written as one number (the system's resolver reads it without
    any network)."""
    for url in ("http://8.8.8.8:8080", "http://134744072:8080", "http://[::ffff:8.8.8.8]"):
        with pytest.raises(ConfigurationError, match="not on the local network"):
            asyncio.run(phyphox_target(url))


# --- stand-ins on loopback ---------------------------------------------------------------


class _Phyphox(BaseHTTPRequestHandler):
    """Answers ``/config`` like phyphox (an experiment with both sensors), ``/get`` with
    no new values."""

    def do_GET(self) -> None:
        if self.path.startswith("/config"):
            sensors = [
                {
                    "source": s,
                    "outputs": [{"x": f"{p}X"}, {"y": f"{p}Y"}, {"z": f"{p}Z"}, {"t": f"{p}_time"}],
                }
                for s, p in (("accelerometer", "acc"), ("gyroscope", "gyr"))
            ]
            body = json.dumps({"title": "stand-in", "inputs": sensors, "buffers": []})
        else:
            body = json.dumps({"buffer": {}, "status": {"measuring": True, "session": "s"}})
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _NotPhyphox(_Phyphox):
    """Some other web service: JSON, but not phyphox's."""

    def do_GET(self) -> None:
        data = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _http_server(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, int(httpd.server_address[1])


def _raw_listener(reply: bytes) -> tuple[socket.socket, int]:
    """A loopback port that answers every connection with ``reply`` and closes."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()

    def run() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(reply)

    threading.Thread(target=run, daemon=True).start()
    return sock, int(sock.getsockname()[1])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_only_a_phyphox_like_answer_counts() -> None:
    phone, phone_port = _http_server(_Phyphox)
    other, other_port = _http_server(_NotPhyphox)
    try:
        assert asyncio.run(answers_like_phyphox(f"http://127.0.0.1:{phone_port}"))
        assert not asyncio.run(answers_like_phyphox(f"http://127.0.0.1:{other_port}"))
        assert not asyncio.run(answers_like_phyphox(f"http://127.0.0.1:{_closed_port()}"))
    finally:
        for httpd in (phone, other):
            httpd.shutdown()
            httpd.server_close()


# --- the route ---------------------------------------------------------------------------


def _listed(client: httpx.Client) -> set[str]:
    return {d["id"] for d in client.get("/api/devices").json()["devices"]}


@pytest.mark.parametrize("url", ["8.8.8.8:8080", "134744072:8080", "169.254.169.254:80"])
def test_a_public_phyphox_address_is_422_and_never_contacted(
    client: httpx.Client, url: str
) -> None:
    response = client.post(PHYPHOX, json={"url": url})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "not on the local network" in detail["problem"]
    assert "SPINECOACH_PHYPHOX_ALLOWED_HOSTS" in detail["fix"]
    assert not any(d.startswith("phyphox:") for d in _listed(client) if "8.8" in d)


def test_a_closed_and_an_open_port_get_the_same_answer(
    client: httpx.Client, server: LiveServer
) -> None:
    """Before, the answer (and then the device's state) told them apart: a port scanner.
    Now a refused connection, a web service that is not phyphox, a service that is not
    even HTTP and this very server all get the same 502, and nothing is started."""
    other, other_port = _http_server(_NotPhyphox)
    raw, raw_port = _raw_listener(b"SSH-2.0-OpenSSH_9.6\r\n")
    own_port = httpx.URL(server.http_url).port
    try:
        ports = [_closed_port(), other_port, raw_port, own_port]
        answers = [client.post(PHYPHOX, json={"url": f"127.0.0.1:{p}"}) for p in ports]
    finally:
        other.shutdown()
        other.server_close()
        raw.close()
    for port, answer in zip(ports, answers, strict=True):
        assert answer.status_code == 502
        shown = answer.json()["detail"]
        assert shown["problem"] == f"could not reach phyphox at http://127.0.0.1:{port}"
        assert shown["fix"] == answers[0].json()["detail"]["fix"]
    assert not any(d.startswith("phyphox:") for d in _listed(client))


def test_a_phyphox_is_polled_reconnects_when_it_goes_and_stops_on_delete(
    client: httpx.Client,
) -> None:
    """(Moved here from test_web_devices_http.py, which started it on a closed port.)"""
    phone, port = _http_server(_Phyphox)
    try:
        response = client.post(PHYPHOX, json={"url": f"localhost:{port}", "placement": "upper"})
        assert response.status_code == 201, response.text
        device_id = response.json()["id"]
        assert device_id == f"phyphox:127.0.0.1:{port}"  # the checked address is polled
        assert response.json()["placement"] == "upper"
    finally:
        phone.shutdown()
        phone.server_close()
    deadline = time.monotonic() + 10.0
    device: dict[str, Any] = {}
    while time.monotonic() < deadline:
        device = {d["id"]: d for d in client.get("/api/devices").json()["devices"]}[device_id]
        if device["state"] == "reconnecting":
            break
        time.sleep(0.1)
    assert device["state"] == "reconnecting", device
    assert "remote access" in device["detail"] and f"127.0.0.1:{port}" in device["detail"]
    response = client.delete(f"/api/devices/{device_id}")
    assert response.status_code == 200
    assert response.json()["state"] == "disconnected"
    time.sleep(1.0)
    listed = {d["id"]: d for d in client.get("/api/devices").json()["devices"]}
    assert listed[device_id]["state"] == "disconnected"
