"""Device tokens over real HTTP (issue 16 item 3): a phone pushes with a per-device token
of one person in ``Authorization: Bearer scd_…``; the token is made from the page (the
secret shown once, with the push URL and its QR code), stored hashed, revocable, bounded
per person, and pushes samples for its own person only. The shared query-string token
is gone: ``?token=`` is refused with a clear error and ``SPINECOACH_INGEST_TOKEN`` stops
the server from starting. Wrong tokens back off per address (429 with Retry-After).

These tests run the server with accounts (``auth="accounts"``); the feature tests of the
devices run in single-person mode (tests/conftest.py) and keep passing there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pytest
import segno
from sqlalchemy import inspect, text
from web_client import LiveServer, receive, send, serve
from websockets.sync.client import connect

from spinecoach.errors import ConfigurationError
from spinecoach.services import accounts, device_tokens
from spinecoach.services.history import History
from spinecoach.sources.live import SourceHub
from spinecoach.sources.sensor_logger_push import push_messages
from spinecoach.store.db import make_engine
from spinecoach.web.authz import COOKIE
from spinecoach.web.settings import Settings

INGEST = "/api/ingest/sensor-logger"
TOKENS = "/api/devices/tokens"
START_UNIX_S = 1_700_000_000.0


def _messages(device_id: str, seconds: float = 0.4) -> list[dict[str, Any]]:
    """Sensor Logger pushes (0.2 s each, 100 Hz) of a phone lying still."""
    t = np.arange(round(seconds * 100)) / 100.0
    acc = np.tile([0.0, 0.0, 9.81], (len(t), 1))
    gyr = np.zeros((len(t), 3))
    return push_messages(t, acc, gyr, start_unix_s=START_UNIX_S, batch_s=0.2, device_id=device_id)


def _push(
    http: httpx.Client, message: dict[str, Any], secret: str | None, **params: str
) -> httpx.Response:
    headers = {} if secret is None else {"authorization": f"Bearer {secret}"}
    return http.post(INGEST, content=json.dumps(message), headers=headers, params=params)


@dataclass
class Accounts:
    server: LiveServer
    engine: Any
    persons: dict[str, int]  # user name → person id
    clients: dict[str, httpx.Client]  # user name → a client signed in as them
    anonymous: httpx.Client  # no cookie: what a phone is


def _accounts_server(url: str) -> Iterator[Accounts]:
    """A server with accounts and two persons, ``a`` and ``b``, each signed in."""
    for server in serve(Settings(auth="accounts", database_url=url)):
        engine = make_engine(url)
        persons, clients = {}, {}
        for name in ("a", "b"):
            user = accounts.add_user(engine, f"person-{name}", f"{name} password 123", "person")
            assert user.person_id is not None
            persons[name] = user.person_id
            client = httpx.Client(base_url=server.http_url, timeout=10.0)
            client.cookies.set(COOKIE, accounts.start_session(engine, user.id))
            clients[name] = client
        anonymous = httpx.Client(base_url=server.http_url, timeout=10.0)
        try:
            yield Accounts(server, engine, persons, clients, anonymous)
        finally:
            for client in (*clients.values(), anonymous):
                client.close()
            engine.dispose()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Accounts]:
    yield from _accounts_server(f"sqlite:///{tmp_path_factory.mktemp('tokens')}/h.sqlite3")


def _make(world: Accounts, who: str, name: str = "my phone") -> dict[str, Any]:
    response = world.clients[who].post(TOKENS, json={"name": name})
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def _devices(world: Accounts, who: str) -> dict[str, dict[str, Any]]:
    listed = world.clients[who].get("/api/devices")
    assert listed.status_code == 200, listed.text
    return {d["id"]: d for d in listed.json()["devices"]}


# -- made, shown once, stored hashed -------------------------------------------------------------


def test_a_token_is_shown_once_and_the_database_keeps_its_hash_only(world: Accounts) -> None:
    made = _make(world, "a", "hashed phone")
    secret = made["secret"]
    assert secret.startswith("scd_") and len(secret) >= 40
    assert made["auth_header"] == f"Bearer {secret}"
    assert made["token"]["name"] == "hashed phone" and made["token"]["revoked"] is False
    listed = world.clients["a"].get(TOKENS).json()
    assert made["token"] in listed
    assert secret not in json.dumps(listed)  # never listed again
    with world.engine.connect() as db:
        stored = db.execute(
            text("SELECT token_sha256 FROM device_tokens WHERE id = :id"),
            {"id": made["token"]["id"]},
        ).scalar_one()
        assert stored == hashlib.sha256(secret.encode()).hexdigest()
        for table in inspect(db).get_table_names():  # the secret is in no table at all
            for row in db.execute(text(f'SELECT * FROM "{table}"')):
                assert not any(secret in str(value) for value in row), table


def test_the_qr_code_is_the_push_url(world: Accounts) -> None:
    """No QR decoder is installed here (no zbar, zxing or OpenCV): the SVG's dark modules
    are read back from its path and compared with the QR code of the push URL."""
    made = _make(world, "a", "qr phone")
    assert made["push_url"] == f"{world.server.http_url}{INGEST}"
    svg = made["qr_svg"]
    assert svg.startswith("<svg") and made["secret"] not in svg  # the QR holds no secret
    expected = segno.make(made["push_url"], error="m", micro=False)
    assert _svg_modules(svg, border=4) == {
        (row, col)
        for row, line in enumerate(expected.matrix)
        for col, dark in enumerate(line)
        if dark
    }
    other = segno.make(made["push_url"] + "x", error="m", micro=False)
    assert _svg_modules(svg, border=4) != {
        (r, c) for r, line in enumerate(other.matrix) for c, dark in enumerate(line) if dark
    }
    header = segno.make(f"Bearer {made['secret']}", error="m", micro=False)
    assert _svg_modules(made["auth_header_qr_svg"], border=4) == {
        (r, c) for r, line in enumerate(header.matrix) for c, dark in enumerate(line) if dark
    }


def _svg_modules(svg: str, *, border: int) -> set[tuple[int, int]]:
    """The dark modules (row, column) of a QR code drawn as one SVG path of horizontal
    lines (``M x y``, ``m dx dy``, ``h n``: what segno writes), without the quiet zone."""
    path = re.search(r' d="([^"]+)"', svg)
    assert path is not None, svg[:200]
    x = y = 0.0
    dark: set[tuple[int, int]] = set()
    for command, args in re.findall(r"([MmHh])([^MmHh]*)", path.group(1)):
        numbers = [float(n) for n in args.replace(",", " ").split()]
        if command == "M":
            x, y = numbers
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            end = numbers[0] if command == "H" else x + numbers[0]
            row = int(y - 0.5) - border
            dark.update((row, col - border) for col in range(int(x), int(end)))
            x = end
    return dark


# -- pushing with a token ------------------------------------------------------------------------


def test_a_made_token_pushes_samples_for_its_person(world: Accounts) -> None:
    made = _make(world, "a", "pushing phone")
    for message in _messages("a-pushing-phone", seconds=0.6):
        response = _push(world.anonymous, message, made["secret"])
        assert response.status_code == 200, response.text
    assert _devices(world, "a")["sensor-logger:a-pushing-phone"]["samples"] == 60
    assert "sensor-logger:a-pushing-phone" not in _devices(world, "b")
    listed = {t["id"]: t for t in world.clients["a"].get(TOKENS).json()}
    assert listed[made["token"]["id"]]["last_used_utc"] is not None


def test_the_auth_header_field_may_be_filled_in_either_way(world: Accounts) -> None:
    """Sensor Logger's "Auth Header" field may send what is typed as the whole header
    value, or after ``Bearer ``: the bare token and a doubled ``Bearer`` push too."""
    secret = _make(world, "a", "bare phone")["secret"]
    messages = _messages("a-bare-phone", seconds=0.6)
    for message, value in zip(
        messages, (secret, f"Bearer Bearer {secret}", f"Basic {secret}"), strict=True
    ):
        response = world.anonymous.post(
            INGEST, content=json.dumps(message), headers={"authorization": value}
        )
        assert response.status_code == (401 if value.startswith("Basic") else 200), value
    assert _devices(world, "a")["sensor-logger:a-bare-phone"]["samples"] == 40


def test_a_revoked_token_is_refused(world: Accounts) -> None:
    made = _make(world, "a", "lost phone")
    message = _messages("a-lost-phone")[0]
    assert _push(world.anonymous, message, made["secret"]).status_code == 200
    token_id = made["token"]["id"]
    assert world.clients["a"].delete(f"{TOKENS}/{token_id}").status_code == 204
    refused = _push(world.anonymous, _messages("a-lost-phone")[1], made["secret"])
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]["problem"]
    assert _devices(world, "a")["sensor-logger:a-lost-phone"]["samples"] == 20  # no more
    listed = {t["id"]: t for t in world.clients["a"].get(TOKENS).json()}
    assert listed[token_id]["revoked"] is True


def test_a_push_without_a_token_is_refused_naming_the_header(world: Accounts) -> None:
    refused = _push(world.anonymous, _messages("no-token-phone")[0], None)
    assert refused.status_code == 401
    detail = refused.json()["detail"]
    assert "device token" in detail["problem"]
    assert "Authorization: Bearer scd_" in detail["fix"]


def test_a_device_token_is_required_and_nothing_is_taken_without_it(tmp_path: Any) -> None:
    """What ``SPINECOACH_INGEST_TOKEN``'s test checked, for device tokens: no token, a
    wrong one and one cut short are refused with 401 naming the header; nothing of their
    pushes is kept; the right one is taken."""
    for world in _accounts_server(f"sqlite:///{tmp_path}/h.sqlite3"):
        secret = _make(world, "a", "token phone")["secret"]
        message = _messages("token-phone")[0]
        for given in (None, "scd_wrong-token-1", secret[:-1]):
            response = _push(world.anonymous, message, given)
            assert response.status_code == 401, given
            detail = response.json()["detail"]
            assert "token" in detail["problem"] and "Bearer scd_" in detail["fix"]
        assert world.clients["a"].get("/api/devices").json()["devices"] == []  # none taken
        assert _push(world.anonymous, message, secret).status_code == 200
        assert _devices(world, "a")["sensor-logger:token-phone"]["samples"] == 20
        phone = world.clients["a"].get("/api/devices").json()["phone"]
        assert phone["device_token_required"] is True and phone["token_required"] is False


# -- one person's token, one person's devices -----------------------------------------------------


def test_another_persons_token_cannot_push_into_my_devices(world: Accounts) -> None:
    a_secret = _make(world, "a", "a's phone")["secret"]
    b_secret = _make(world, "b", "b's phone")["secret"]
    same = "sensor-logger:same-phone"
    assert _push(world.anonymous, _messages("same-phone")[0], a_secret).status_code == 200
    for message in _messages("same-phone", seconds=1.0)[1:]:  # b sends a's device id
        assert _push(world.anonymous, message, b_secret).status_code == 200
    assert _devices(world, "a")[same]["samples"] == 20  # a's phone: a's samples only
    assert _devices(world, "b")[same]["samples"] == 80  # b's own device of that id
    # a's token names b: refused (a device token changes its own person's data only).
    message = _messages("same-phone")[0]
    response = _push(world.anonymous, message, a_secret, person=str(world.persons["b"]))
    assert response.status_code == 403


def test_another_persons_device_is_404_like_an_unknown_one(world: Accounts) -> None:
    b_secret = _make(world, "b", "b's hidden phone")["secret"]
    assert _push(world.anonymous, _messages("b-hidden")[0], b_secret).status_code == 200
    a = world.clients["a"]
    for device_id in ("sensor-logger:b-hidden", "sensor-logger:nobody-has-this"):
        placed = a.post(f"/api/devices/{device_id}/placement", json={"placement": "lower"})
        stopped = a.delete(f"/api/devices/{device_id}")
        assert (placed.status_code, stopped.status_code) == (404, 404), device_id
        for answer in (placed, stopped):  # the same words as for an id nobody has
            problem = answer.json()["detail"]["problem"]
            assert problem.startswith(f"no device {device_id!r}"), problem
            assert "b-hidden" not in problem.replace(device_id, ""), problem  # b's not listed
    assert _devices(world, "b")["sensor-logger:b-hidden"]["placement"] is None
    assert _devices(world, "b")["sensor-logger:b-hidden"]["state"] == "connected"


def test_a_sensor_started_by_a_person_is_theirs(world: Accounts) -> None:
    """A Bluetooth sensor (or a phyphox phone) started by a person belongs to them (this
    machine has no Bluetooth adapter: the source fails, the device stays listed)."""
    body = {"address": "A0:9E:1A:00:00:42", "placement": "lower"}
    started = world.clients["a"].post("/api/devices/ble", json=body)
    assert started.status_code == 201, started.text
    device_id = started.json()["id"]
    assert device_id in _devices(world, "a") and device_id not in _devices(world, "b")
    assert world.clients["b"].delete(f"/api/devices/{device_id}").status_code == 404
    assert world.clients["a"].delete(f"/api/devices/{device_id}").status_code == 200


def test_placements_are_per_person(world: Accounts) -> None:
    secrets = {who: _make(world, who, f"{who}'s lower phone")["secret"] for who in ("a", "b")}
    for who, secret in secrets.items():
        message = _messages(f"{who}-lower")[0]
        assert _push(world.anonymous, message, secret, placement="lower").status_code == 200
    assert _devices(world, "a")["sensor-logger:a-lower"]["placement"] == "lower"
    assert _devices(world, "b")["sensor-logger:b-lower"]["placement"] == "lower"
    assert world.clients["b"].delete("/api/devices/sensor-logger:b-lower").status_code == 200


def test_a_devices_session_uses_the_acting_persons_devices_only(world: Accounts) -> None:
    b_secret = _make(world, "b", "b's session phone")["secret"]
    for message in _messages("b-session", seconds=0.4):
        assert _push(world.anonymous, message, b_secret, placement="upper").status_code == 200
    cookie = world.clients["a"].cookies[COOKIE]
    with connect(world.server.ws_url, additional_headers={"cookie": f"{COOKIE}={cookie}"}) as ws:
        assert receive(ws)["type"] == "hello"
        send(
            ws,
            type="start",
            technique="pelvic-tilt",
            source="devices",
            devices={"upper": "sensor-logger:b-session"},
        )
        error = receive(ws)
        assert (error["type"], error["code"]) == ("error", "unknown-device"), error


def test_another_person_cannot_revoke_my_token(world: Accounts) -> None:
    made = _make(world, "a", "kept phone")
    token_id = made["token"]["id"]
    refused = world.clients["b"].delete(f"{TOKENS}/{token_id}")
    unknown = world.clients["b"].delete(f"{TOKENS}/999999999")
    assert (refused.status_code, unknown.status_code) == (404, 404)
    assert refused.json()["detail"]["problem"] == f"no device token {token_id}"
    assert _push(world.anonymous, _messages("a-kept")[0], made["secret"]).status_code == 200
    assert all(t["id"] != token_id for t in world.clients["b"].get(TOKENS).json())


# -- the query-string token is gone --------------------------------------------------------------


def test_a_query_token_is_refused_with_a_clear_error(world: Accounts) -> None:
    secret = _make(world, "a", "query phone")["secret"]
    message = _messages("a-query-phone")[0]
    only_query = world.anonymous.post(INGEST, content=json.dumps(message), params={"token": secret})
    assert only_query.status_code == 401  # the query is never read as a credential
    both = _push(world.anonymous, message, secret, token=secret)
    assert both.status_code == 400
    detail = both.json()["detail"]
    assert "?token=" in detail["problem"] and "Bearer scd_" in detail["fix"]
    assert "sensor-logger:a-query-phone" not in _devices(world, "a")  # nothing was taken


def test_the_ingest_token_setting_is_gone_with_a_clear_message() -> None:
    with pytest.raises(ConfigurationError, match="replaced by per-device tokens"):
        Settings(ingest_token="secret-token-1")  # type: ignore[call-arg]
    env = {**os.environ, "SPINECOACH_INGEST_TOKEN": "secret-token-1"}
    started = subprocess.run(
        [sys.executable, "-m", "spinecoach", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode == 2, started.stderr
    assert "SPINECOACH_INGEST_TOKEN" in started.stderr
    assert "per-device tokens" in started.stderr and "Traceback" not in started.stderr


# -- bounds --------------------------------------------------------------------------------------


def test_a_person_holds_at_most_max_tokens_in_use(tmp_path: Any) -> None:
    for world in _accounts_server(f"sqlite:///{tmp_path}/h.sqlite3"):
        made = [_make(world, "a", f"phone {i}") for i in range(device_tokens.MAX_TOKENS)]
        refused = world.clients["a"].post(TOKENS, json={"name": "one too many"})
        assert refused.status_code == 409
        assert "revoke" in refused.json()["detail"]["problem"]
        assert _make(world, "b", "b is not limited by a")["token"]["revoked"] is False
        first = made[0]["token"]["id"]
        assert world.clients["a"].delete(f"{TOKENS}/{first}").status_code == 204
        assert _make(world, "a", "in place of phone 0")["token"]["revoked"] is False
        # Names are checked on b (one token in use: the limit is not what refuses them).
        too_long = world.clients["b"].post(TOKENS, json={"name": "x" * 101})
        blank = world.clients["b"].post(TOKENS, json={"name": "   "})
        control = world.clients["b"].post(TOKENS, json={"name": "phone\u0000"})
        codes = (too_long.status_code, blank.status_code, control.status_code)
        assert codes == (422, 422, 422)


def test_revoked_tokens_kept_are_bounded(tmp_path: Any) -> None:
    """Making and revoking tokens in a loop cannot grow the table past the bounds."""
    history = History.open(f"sqlite:///{tmp_path}/h.sqlite3")
    try:
        engine, person = history.engine, history.person_id
        for i in range(device_tokens.MAX_REVOKED_KEPT + 30):
            info, _secret = device_tokens.create(engine, person, f"phone {i}")
            assert device_tokens.revoke(engine, person, info.id)
        listed = device_tokens.listed(engine, person)
        assert len(listed) <= device_tokens.MAX_REVOKED_KEPT + 1
        assert all(token.revoked for token in listed)
        assert listed[-1].name == f"phone {device_tokens.MAX_REVOKED_KEPT + 29}"
    finally:
        history.close()


def test_wrong_device_tokens_back_off_and_the_right_one_waits_too(tmp_path: Any) -> None:
    """Issue 16: 2,000 wrong tokens were tried in 2.7 s. Past five wrong device tokens an
    address is blocked (429 with Retry-After, doubling), the right token too while
    blocked; once the block has passed, the right token is taken and forgets the past."""
    for world in _accounts_server(f"sqlite:///{tmp_path}/h.sqlite3"):
        secret = _make(world, "a", "guarded phone")["secret"]
        message = _messages("guessed-phone")[0]
        answers = [_push(world.anonymous, message, f"scd_guess-{i}") for i in range(40)]
        codes = [a.status_code for a in answers]
        assert codes[:5] == [401] * 5, codes
        assert codes.count(401) <= 6 and codes[-1] == 429, codes
        refused = answers[-1]
        assert int(refused.headers["retry-after"]) >= 1
        assert "too many wrong device tokens" in refused.json()["detail"]["problem"]
        right = _push(world.anonymous, message, secret)
        assert right.status_code == 429  # blocked: guessing costs time
        time.sleep(int(right.headers["retry-after"]) + 0.2)
        assert _push(world.anonymous, message, secret).status_code == 200
        assert _push(world.anonymous, message, "scd_guess-again").status_code == 401  # forgotten
        # A signed-in person's own requests are not blocked by a phone's guesses.
        assert world.clients["b"].get("/api/devices").status_code == 200


# -- the terminal coach's own ingest server ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_terminal_ingest_beyond_loopback_needs_its_printed_token() -> None:
    """Listening beyond this computer, the terminal coach's ingest server makes a device
    token for the run, prints it, and takes pushes only with it in the header (traffic
    here goes to 127.0.0.1 only)."""
    from spinecoach.cli.terminal.devices import _ingest_server

    port = _free_port()
    said: list[str] = []
    hub = SourceHub()
    message = json.dumps(_messages("terminal-phone")[0])

    async def run() -> list[int]:
        server, task = await _ingest_server(hub, f"0.0.0.0:{port}", said.append)
        try:
            printed = next(line for line in said if "device token for this run" in line)
            secret = re.search(r"Bearer (scd_\S+)", printed)
            assert secret is not None, printed
            url = f"http://127.0.0.1:{port}{INGEST}"
            async with httpx.AsyncClient(timeout=10.0) as http:
                codes = []
                for headers in (
                    {},
                    {"authorization": "Bearer scd_wrong"},
                    {"authorization": f"Bearer {secret.group(1)}"},
                ):
                    answer = await http.post(url, content=message, headers=headers)
                    codes.append(answer.status_code)
                return codes
        finally:
            server.should_exit = True
            await task

    assert asyncio.run(run()) == [401, 401, 200]
    feed = hub.get("sensor-logger:terminal-phone")
    assert feed is not None and feed.samples == 20


# -- posture monitoring watches its own person's devices ------------------------------------------


def test_posture_monitoring_follows_its_persons_devices_only(tmp_path: Any) -> None:
    """The monitor watches the server's person (``history.person_id``): another person's
    placed devices are theirs, never followed; its own person's are."""
    from spinecoach.web.posture_monitor import PostureMonitor

    history = History.open(f"sqlite:///{tmp_path}/h.sqlite3")
    try:
        monitor = PostureMonitor(history, "devices")
        hub = SourceHub()
        other = history.person_id + 1

        async def watch(owner: int) -> tuple[str, ...] | None:
            for placement in ("lower", "upper"):
                hub.device(f"ble:{owner}-{placement}", kind="demo", name="s", owner=owner)
                hub.assign(f"ble:{owner}-{placement}", placement, owner)
            task = asyncio.create_task(monitor.run_devices(hub, poll_s=0.01))
            await asyncio.sleep(0.2)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return None if monitor.tracker is None else monitor.tracker.placements

        assert asyncio.run(watch(other)) is None  # another person's: not followed
        assert asyncio.run(watch(history.person_id)) == ("lower", "upper")
    finally:
        history.close()


def test_the_last_use_is_written_at_most_once_a_minute(tmp_path: Any) -> None:
    """A phone pushes five times a second: the token's last use is brought up to date on
    its first push and then only once ``LAST_USED_EVERY_S`` has passed (not a database
    write per push); a revoked token has no principal."""
    from datetime import UTC, datetime, timedelta

    from spinecoach.store.models import DeviceToken

    history = History.open(f"sqlite:///{tmp_path}/h.sqlite3")
    try:
        engine, person = history.engine, history.person_id
        info, secret = device_tokens.create(engine, person, "busy phone")

        def last_use() -> datetime | None:
            return device_tokens.listed(engine, person)[0].last_used_utc

        principal = device_tokens.device_principal(engine, secret)
        assert principal is not None and principal.person_id == person
        assert principal.role == "device"
        first = last_use()
        assert first is not None
        assert device_tokens.device_principal(engine, secret) is not None
        assert last_use() == first  # a push a moment later writes nothing
        long_ago = datetime.now(UTC) - timedelta(seconds=device_tokens.LAST_USED_EVERY_S + 1)
        with engine.begin() as db:
            db.execute(
                DeviceToken.__table__.update()
                .where(DeviceToken.__table__.c.id == info.id)
                .values(last_used_utc=long_ago)
            )
        assert device_tokens.device_principal(engine, secret) is not None
        renewed = last_use()
        assert renewed is not None and renewed.replace(tzinfo=None) > long_ago.replace(tzinfo=None)
        assert device_tokens.revoke(engine, person, info.id)
        assert device_tokens.device_principal(engine, secret) is None
    finally:
        history.close()


def test_one_persons_devices_cannot_fill_the_hub() -> None:
    """With accounts a person holds at most ``max_per_owner`` devices of the hub: past it
    their own idle device heard from longest ago goes (never another person's), and when
    all of theirs are in use their new one is refused, while the others still get room."""
    from spinecoach.sources.live import DeviceLimitError

    now = [0.0]
    hub = SourceHub(clock=lambda: now[0], max_devices=10, max_per_owner=3)
    hub.device("phone:a-idle", kind="demo", name="a", owner=1)
    for name in ("b-1", "b-2", "b-3"):
        now[0] += 1.0
        hub.device(f"phone:{name}", kind="demo", name=name, owner=2)
    hub.device("phone:b-4", kind="demo", name="b-4", owner=2)  # b's oldest idle one goes
    assert hub.get("phone:b-1", 2) is None and hub.get("phone:a-idle", 1) is not None
    hub.assign("phone:b-2", "lower", 2)
    hub.assign("phone:b-3", "upper", 2)
    feed = hub.get("phone:b-4", 2)
    assert feed is not None
    feed.subscribe()  # read by a session: in use
    with pytest.raises(DeviceLimitError, match="you already have 3 devices"):
        hub.device("phone:b-5", kind="demo", name="b-5", owner=2)
    assert hub.device("phone:a-2", kind="demo", name="a-2", owner=1).owner == 1
    assert len(hub.statuses(2)) == 3 and len(hub.statuses(1)) == 2
