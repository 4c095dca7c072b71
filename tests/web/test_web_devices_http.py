"""The live devices' HTTP routes on a real server: the phone's push ingest, the device
list, placements, the pulled sources (phyphox, Bluetooth LE) started and stopped, and a
devices session refused when no device is placed.

The machine running the tests has no Bluetooth adapter and nothing listens on the
phyphox port used here, so those sources fail as they would for a person whose computer
has no Bluetooth or whose phone is unreachable: what matters is what the page then shows.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from web_client import LiveServer, receive, send, serve
from websockets.sync.client import connect

from spinecoach.sources.sensor_logger_push import push_messages
from spinecoach.web.settings import Settings

START_UNIX_S = 1_700_000_000.0
INGEST = "/api/ingest/sensor-logger"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('devices')}/history.sqlite3"
    yield from serve(Settings(database_url=url))


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.http_url, timeout=10.0) as http:
        yield http


def _messages(device_id: str, *, seconds: float = 2.0, session: str = "s1") -> list[dict[str, Any]]:
    """Sensor Logger pushes (0.2 s each, 100 Hz) of a person standing, swaying a little."""
    t = np.arange(round(seconds * 100)) / 100.0
    angle = np.radians(3.0) * np.sin(2 * np.pi * 0.3 * t)
    acc = np.column_stack([np.zeros_like(t), 9.81 * np.sin(angle), 9.81 * np.cos(angle)])
    gyr = np.column_stack([np.degrees(np.gradient(angle, t)), np.zeros_like(t), np.zeros_like(t)])
    return push_messages(
        t, acc, gyr, start_unix_s=START_UNIX_S, batch_s=0.2, device_id=device_id, session_id=session
    )


def _post(client: httpx.Client, message: dict[str, Any] | bytes, **params: str) -> httpx.Response:
    content = message if isinstance(message, bytes) else json.dumps(message).encode()
    return client.post(INGEST, params=params, content=content)


def _device(client: httpx.Client, device_id: str) -> dict[str, Any]:
    listed = {d["id"]: d for d in client.get("/api/devices").json()["devices"]}
    device: dict[str, Any] = listed[device_id]
    return device


def _wait_for(
    client: httpx.Client, device_id: str, done: Callable[[dict[str, Any]], bool], timeout_s: float
) -> dict[str, Any]:
    """The device's status once ``done(status)``, polling (fails after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while True:
        device = _device(client, device_id)
        if done(device) or time.monotonic() > deadline:
            return device
        time.sleep(0.05)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the push ingest ---------------------------------------------------------------------------


def test_pushed_data_make_a_listed_device_with_state_rate_and_quality(
    client: httpx.Client,
) -> None:
    messages = _messages("listed-phone")
    for message in messages:
        response = _post(client, message)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["device"] == "sensor-logger:listed-phone"
    devices = client.get("/api/devices").json()
    device = {d["id"]: d for d in devices["devices"]}["sensor-logger:listed-phone"]
    assert device["kind"] == "sensor-logger"
    assert device["state"] == "connected"
    assert device["rate_hz"] == pytest.approx(100.0, abs=0.5)
    assert device["samples"] == sum(len(m["payload"]) for m in messages) // 3  # 3 streams
    assert device["quality"] == "good"
    assert device["gaps"] == 0 and device["late"] == 0
    assert device["placement"] is None
    # How to connect a phone: the push URL of this server; loopback is not reachable.
    phone = devices["phone"]
    assert phone["sensor_logger_url"].endswith(INGEST)
    assert phone["reachable_from_phone"] is False
    assert phone["token_required"] is False


def test_a_malformed_push_is_refused_naming_the_field_and_nothing_is_used(
    client: httpx.Client,
) -> None:
    messages = _messages("careful-phone")
    for message in messages[:3]:
        assert _post(client, message).status_code == 200
    before = _device(client, "sensor-logger:careful-phone")
    broken = json.loads(json.dumps(messages[3]))
    broken["payload"][5]["values"].pop("z")
    response = _post(client, broken)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "payload[5].values.z" in detail["problem"]
    assert "deviceId" in detail["fix"] and "payload" in detail["fix"]
    nan = json.dumps(messages[3]).replace(
        json.dumps(messages[3]["payload"][2]["values"]["x"]), "NaN", 1
    )
    response = _post(client, nan.encode())
    assert response.status_code == 422
    assert "a finite number" in response.json()["detail"]["problem"]
    after = _device(client, "sensor-logger:careful-phone")
    assert after["samples"] == before["samples"]
    assert (after["gaps"], after["late"]) == (0, 0)
    # The good message then goes in as if the broken ones had never come: no gap, no loss.
    for message in messages[3:]:
        assert _post(client, message).status_code == 200
    after = _device(client, "sensor-logger:careful-phone")
    assert after["samples"] == 200
    assert (after["gaps"], after["late"], after["lost_s"]) == (0, 0, 0.0)


@pytest.mark.parametrize(
    ("body", "words"),
    [(b"not json", "invalid JSON"), (b'{"deviceId": "x"}', "'payload' list")],
)
def test_other_malformed_pushes_get_a_problem_and_a_fix(
    client: httpx.Client, body: bytes, words: str
) -> None:
    response = _post(client, body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert words in detail["problem"] and detail["fix"]


def test_an_empty_push_is_the_apps_test_and_is_answered_ok(client: httpx.Client) -> None:
    count = len(client.get("/api/devices").json()["devices"])
    response = _post(client, b"")
    assert response.status_code == 200
    assert response.json()["samples"] == 0
    # A message without sensor data is fine too.
    empty = {"messageId": 0, "sessionId": "t", "deviceId": "tester", "payload": []}
    response = _post(client, empty)
    assert response.status_code == 200 and response.json()["samples"] == 0
    devices = {d["id"]: d for d in client.get("/api/devices").json()["devices"]}
    assert len(devices) <= count + 1
    assert all(d["samples"] == 0 for i, d in devices.items() if i == "sensor-logger:tester")


def test_a_phone_without_gyroscope_shows_failed_naming_the_gyroscope(
    client: httpx.Client,
) -> None:
    message = _messages("no-gyro-phone")[0]
    message["payload"] = [p for p in message["payload"] if p["name"] != "gyroscope"]
    response = _post(client, message)
    assert response.status_code == 200, response.text
    assert response.json()["missing"] == "the gyroscope"
    device = _device(client, "sensor-logger:no-gyro-phone")
    assert device["state"] == "failed"
    assert "gyroscope" in device["detail"] and "Sensor Logger" in device["detail"]
    assert device["samples"] == 0


def test_a_phone_that_sends_everything_is_not_reported_missing_a_sensor(
    client: httpx.Client,
) -> None:
    for message in _messages("complete-phone"):
        response = _post(client, message)
        assert response.json()["missing"] is None, response.json()


def test_a_message_overtaken_by_the_next_is_counted_as_late(client: httpx.Client) -> None:
    """HTTP requests can overtake each other; the samples of the one that came too late are
    dropped and, as the module says, counted (the page's 'late')."""
    messages = _messages("racing-phone")
    order = [0, 1, 3, 2, *range(4, len(messages))]
    for k in order:
        assert _post(client, messages[k]).status_code == 200
    device = _device(client, "sensor-logger:racing-phone")
    dropped = 200 - device["samples"]
    assert dropped > 0
    assert device["late"] == dropped


def test_the_placement_query_places_a_new_phone_only(client: httpx.Client) -> None:
    messages = _messages("placed-phone")
    assert _post(client, messages[0], placement="upper").status_code == 200
    assert _device(client, "sensor-logger:placed-phone")["placement"] == "upper"
    # Later pushes do not move a phone the person has placed.
    assert _post(client, messages[1], placement="lower").status_code == 200
    assert _device(client, "sensor-logger:placed-phone")["placement"] == "upper"
    response = _post(client, messages[2], placement="middle")
    assert response.status_code == 422


def test_ios_pushes_are_taken_and_an_unknown_platform_is_422(client: httpx.Client) -> None:
    t = np.arange(100) / 100.0
    acc = np.tile([0.0, 0.0, 9.81], (100, 1))
    gyr = np.zeros((100, 3))
    kwargs: dict[str, Any] = {"start_unix_s": START_UNIX_S, "batch_s": 0.2, "platform": "ios"}
    for message in push_messages(t, acc, gyr, device_id="iphone", **kwargs):
        assert _post(client, message, platform="ios").status_code == 200
    for message in push_messages(t, acc, gyr, device_id="iphone-as-android", **kwargs):
        assert _post(client, message).status_code == 200
    assert _post(client, b"{}", platform="windows").status_code == 422
    # (The sign handling itself is checked in tests/sources/test_sensor_logger_push.py.)
    for device_id in ("sensor-logger:iphone", "sensor-logger:iphone-as-android"):
        assert _device(client, device_id)["samples"] == 100


# The shared ingest token (SPINECOACH_INGEST_TOKEN, ?token=) is gone (issue 16): its two
# tests (wrong tokens back off; a token is required and nothing is taken without it) are
# in tests/web/test_web_device_tokens.py, with the same checks for device tokens.


# -- placements --------------------------------------------------------------------------------


def test_a_placement_moves_from_one_device_to_another(client: httpx.Client) -> None:
    for name in ("left-phone", "right-phone"):
        assert _post(client, _messages(name, seconds=0.4)[0]).status_code == 200
    left, right = "sensor-logger:left-phone", "sensor-logger:right-phone"
    response = client.post(f"/api/devices/{left}/placement", json={"placement": "lower"})
    assert response.status_code == 200
    assert response.json()["placement"] == "lower" and response.json()["id"] == left
    response = client.post(f"/api/devices/{right}/placement", json={"placement": "lower"})
    assert response.status_code == 200
    assert _device(client, left)["placement"] is None
    assert _device(client, right)["placement"] == "lower"
    response = client.post(f"/api/devices/{right}/placement", json={"placement": None})
    assert response.json()["placement"] is None
    response = client.post(f"/api/devices/{left}/placement", json={"placement": "middle"})
    assert response.status_code == 422


def test_placing_an_unknown_device_is_404_with_problem_and_fix(client: httpx.Client) -> None:
    response = client.post("/api/devices/ghost:1/placement", json={"placement": "lower"})
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "ghost:1" in detail["problem"]
    assert "GET /api/devices" in detail["fix"]


# -- pulled sources ----------------------------------------------------------------------------


def test_bluetooth_without_an_adapter_fails_saying_so_and_what_else_works(
    client: httpx.Client,
) -> None:
    response = client.post("/api/devices/ble", json={"address": "AA:BB:CC:DD:EE:01"})
    assert response.status_code == 201
    assert response.json()["id"] == "ble:AA:BB:CC:DD:EE:01"
    assert response.json()["state"] in ("connecting", "failed")
    device = _wait_for(
        client, "ble:AA:BB:CC:DD:EE:01", lambda d: d["state"] == "failed", timeout_s=5.0
    )
    assert device["state"] == "failed", device
    detail = device["detail"]
    assert "no Bluetooth adapter or BlueZ" in detail
    assert "Sensor Logger" in detail and "phyphox" in detail and "simulator" in detail
    assert device["samples"] == 0 and device["quality"] == "no data"
    # It stays failed: not retried in a loop.
    time.sleep(0.5)
    assert _device(client, "ble:AA:BB:CC:DD:EE:01")["state"] == "failed"


def test_bluetooth_with_an_unknown_protocol_is_refused(client: httpx.Client) -> None:
    response = client.post(
        "/api/devices/ble", json={"address": "AA:BB:CC:DD:EE:02", "protocol": "morse"}
    )
    assert response.status_code == 422
    assert "polar-pmd" in response.json()["detail"]["fix"]
    assert "ble:AA:BB:CC:DD:EE:02" not in {
        d["id"] for d in client.get("/api/devices").json()["devices"]
    }


def test_an_unreachable_phyphox_is_refused_and_nothing_is_started(
    client: httpx.Client,
) -> None:
    """Issue 16: nothing is polled until phyphox answers (before, this started a device
    that kept reconnecting, and its state told a closed port from an open one). A
    phyphox that goes away later reconnects, then stops on delete: tests/web/
    test_web_outbound.py, with a phyphox stand-in."""
    port = _closed_port()
    response = client.post(
        "/api/devices/phyphox", json={"url": f"127.0.0.1:{port}", "placement": "upper"}
    )
    assert response.status_code == 502
    detail = response.json()["detail"]
    assert detail["problem"] == f"could not reach phyphox at http://127.0.0.1:{port}"
    assert "remote access" in detail["fix"]
    listed = {d["id"] for d in client.get("/api/devices").json()["devices"]}
    assert f"phyphox:127.0.0.1:{port}" not in listed


@pytest.mark.parametrize("url", ["", "   ", "ftp://10.0.0.7:8080", "http://"])
def test_a_bad_phyphox_address_is_422(client: httpx.Client, url: str) -> None:
    response = client.post("/api/devices/phyphox", json={"url": url})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "phyphox" in detail["problem"] and "192.168.1.20:8080" in detail["fix"]


def test_deleting_an_unknown_device_is_404(client: httpx.Client) -> None:
    response = client.delete("/api/devices/ghost:2")
    assert response.status_code == 404
    assert "ghost:2" in response.json()["detail"]["problem"]


def test_deleting_a_pushed_phone_marks_it_disconnected(client: httpx.Client) -> None:
    assert _post(client, _messages("leaving-phone", seconds=0.4)[0]).status_code == 200
    response = client.delete("/api/devices/sensor-logger:leaving-phone")
    assert response.status_code == 200
    assert response.json()["state"] == "disconnected"


# -- a devices session with no device ----------------------------------------------------------


def test_a_devices_session_without_a_device_is_refused_and_the_socket_survives(
    tmp_path: Any,
) -> None:
    url = f"sqlite:///{tmp_path}/history.sqlite3"
    for live in serve(Settings(database_url=url)):
        with connect(live.ws_url) as ws:
            assert receive(ws)["type"] == "hello"
            send(ws, type="start", technique="pelvic-tilt", source="devices")
            error = receive(ws)
            assert error["type"] == "error", error
            assert error["code"] == "no-device"
            assert "placed" in error["message"] and "sensor check" in error["fix"]
            # Still open and answering: the same request is refused the same way.
            send(ws, type="start", technique="pelvic-tilt", source="devices")
            again = receive(ws)
            assert (again["type"], again["code"]) == ("error", "no-device")


def test_a_hub_full_of_devices_in_use_answers_503_and_forgotten_phones_leave_no_joiner(
    tmp_path: Any,
) -> None:
    """Issue 16 item 5: the hub keeps a bounded number of devices; a push from a new
    phone when every kept one is in use is refused with 503 naming the fix (never a
    500), and the push joiners of phones the hub forgot are dropped with them."""
    from web_client import serve_app

    from spinecoach.sources.live import SourceHub
    from spinecoach.web.app import create_app

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'history.sqlite3'}"))
    for live in serve_app(app):
        app.state.hub = SourceHub(max_devices=2)
        with httpx.Client(base_url=live.http_url, timeout=10.0) as http:
            for name, placement in (("first", "lower"), ("second", "upper")):
                # placed: in use, never evicted
                assert _post(http, _messages(name)[0], placement=placement).status_code == 200
            refused = _post(http, _messages("third")[0])
            assert refused.status_code == 503, refused.text
            detail = refused.json()["detail"]
            assert "already follows 2 devices" in detail["problem"]
            assert "DELETE /api/devices/" in detail["fix"]
            assert set(app.state.push_joiners) == {
                "sensor-logger:first",
                "sensor-logger:second",
            }
            # One device removed: the next phone gets its place, the joiner of the
            # removed one goes.
            assert http.delete("/api/devices/sensor-logger:first").status_code in (200, 204)
            assert _post(http, _messages("third")[0]).status_code == 200
            assert set(app.state.push_joiners) == {
                "sensor-logger:second",
                "sensor-logger:third",
            }
