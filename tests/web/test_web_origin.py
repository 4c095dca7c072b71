"""Issue 16: another site's page may neither change data nor open the live socket
(cross-site request forgery and WebSocket hijacking), over real HTTP and WebSocket;
programs that are not browser pages (a phone's push, the terminal, scripts) send no
Origin and still work. The browser's side: test_web_hardening_browser.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from web_client import LiveServer, receive, serve
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from spinecoach.sources.sensor_logger_push import push_messages
from spinecoach.web.settings import Settings

INGEST = "/api/ingest/sensor-logger"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('origin')}/history.sqlite3"
    yield from serve(Settings(database_url=url))


def push(device_id: str) -> bytes:
    """A Sensor Logger push (0.2 s of a still phone) as the body a page could post."""
    t = np.arange(20) / 100.0
    acc = np.tile([0.0, 0.0, 9.81], (20, 1))
    gyr = np.zeros((20, 3))
    [message] = push_messages(t, acc, gyr, start_unix_s=1_700_000_000.0, device_id=device_id)
    return json.dumps(message).encode()


def devices(server: LiveServer) -> set[str]:
    listed = httpx.get(f"{server.http_url}/api/devices", timeout=10.0).json()["devices"]
    return {d["id"] for d in listed}


def post(server: LiveServer, device_id: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{server.http_url}{INGEST}",
        params={"placement": "upper"},
        content=push(device_id),
        headers={"content-type": "text/plain", **headers},
        timeout=10.0,
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": "null"},  # a sandboxed frame or a file
        {"origin": "http://127.0.0.1:1"},  # another port is another origin
        {"sec-fetch-site": "cross-site"},  # a browser that left Origin out
    ],
    ids=["other-site", "null", "other-port", "fetch-site"],
)
def test_a_post_from_another_origin_is_refused_and_does_nothing(
    server: LiveServer, headers: dict[str, str]
) -> None:
    device = f"forged-{sorted(headers.values())[0].replace(':', '-').replace('/', '')}"
    answer = post(server, device, **headers)
    assert answer.status_code == 403, answer.text
    detail: dict[str, Any] = answer.json()["detail"]
    assert "may not change data" in detail["problem"] and "Origin" in detail["fix"]
    assert f"sensor-logger:{device}" not in devices(server)


def test_the_same_origin_and_programs_without_origin_are_let_through(
    server: LiveServer,
) -> None:
    same = post(server, "own-page", origin=server.http_url)
    assert same.status_code == 200, same.text
    phone = post(server, "real-phone")  # Sensor Logger sends no Origin
    assert phone.status_code == 200, phone.text
    assert {"sensor-logger:own-page", "sensor-logger:real-phone"} <= devices(server)
    # Reading is not checked (another site cannot read the answer: no CORS).
    read = httpx.get(
        f"{server.http_url}/api/devices", headers={"origin": "http://evil.example"}, timeout=10.0
    )
    assert read.status_code == 200


def test_the_live_socket_refuses_another_origin_and_serves_its_own(server: LiveServer) -> None:
    foreign = "http://evil.example"
    with pytest.raises(InvalidStatus) as refused, connect(server.ws_url, origin=foreign):  # type: ignore[arg-type]
        pass
    assert refused.value.response.status_code == 403
    for origin in (server.http_url, None):  # the page itself; a program (no Origin)
        with connect(server.ws_url, origin=origin) as ws:  # type: ignore[arg-type]
            assert receive(ws)["type"] == "hello"
