"""Accounts over real HTTP (issue 16): the sign-in cookie's flags, sign-out ending the
session on the server, the wrong-password back-off, a password change ending the other
sessions, a disabled account signed out, the one-time setup (no account yet, loopback
only) adopting the data kept in single-person mode, single-person mode refused beyond
loopback, the audit log (its entries, the CSV export, append-only on SQLite and
PostgreSQL) and only password hashes in the database.

A client "from another computer": the test server is uvicorn with its default proxy
headers (it believes ``X-Forwarded-For`` from 127.0.0.1, as behind a reverse proxy on the
same computer), so a request carrying ``X-Forwarded-For: 192.0.2.x`` is, to the app, a
client at 192.0.2.x — over real HTTP, no test client needed. Each test that signs in
wrongly uses an address of its own, so the per-address back-off of one test does not
block another.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from web_client import LiveServer, receive, serve
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from spinecoach.errors import ConfigurationError
from spinecoach.program.redflags import default_red_flags
from spinecoach.services import accounts, audit, device_tokens
from spinecoach.sources.sensor_logger_push import push_messages
from spinecoach.store import repository
from spinecoach.store.db import make_engine, upgrade
from spinecoach.store.models import AuditEntry, User
from spinecoach.web import authz
from spinecoach.web.app import create_app
from spinecoach.web.authz import COOKIE
from spinecoach.web.settings import Settings

BASELINE = {
    "vas_mm": 42,
    "doses_per_day": 1,
    "psfs": [{"activity": "sitting at my desk", "score": 5}],
    "schedule": {"morning_time": "07:30"},
    "sensors": [],
}
ONBOARDING = {"red_flags": {f.id: False for f in default_red_flags()}, "baseline": BASELINE}
served = contextlib.contextmanager(serve)


def password(name: str) -> str:
    return f"{name} pw 123"


@pytest.fixture(scope="module")
def server(_history_database: str) -> Iterator[LiveServer]:
    yield from serve(Settings(auth="accounts", sim_speed=10_000.0))


@pytest.fixture(scope="module")
def engine(server: LiveServer, _history_database: str) -> Iterator[Engine]:
    """The server's database, with its accounts: boss (admin), ann and ben (persons),
    doc (ann's clinician), and one account per test that changes its own."""
    made = make_engine(os.environ.get("SPINECOACH_DATABASE_URL", _history_database))
    accounts.add_user(made, "boss", password("boss"), "admin")
    for name in ("ann", "ben", "carl", "dora", "vic"):
        accounts.add_user(made, name, password(name), "person")
    accounts.add_user(made, "doc", password("doc"), "clinician")
    accounts.assign(made, "doc", "ann")
    yield made
    made.dispose()


def sign_in(server: LiveServer, name: str, secret: str | None = None) -> httpx.Client:
    client = httpx.Client(base_url=server.http_url, timeout=30.0)
    answer = client.post(
        "/api/auth/login", json={"username": name, "password": secret or password(name)}
    )
    assert answer.status_code == 200, answer.text
    return client


def anonymous(server: LiveServer, token: str | None = None, **headers: str) -> httpx.Client:
    """A client with ``token`` as its cookie (if given) and ``headers``."""
    client = httpx.Client(base_url=server.http_url, timeout=30.0, headers=headers)
    if token is not None:
        client.cookies.set(COOKIE, token)
    return client


def test_the_sign_in_cookie_is_httponly_strict_and_not_secure_over_http(
    server: LiveServer, engine: Engine
) -> None:
    with httpx.Client(base_url=server.http_url, timeout=30.0) as client:
        answer = client.post("/api/auth/login", json={"username": "ben", "password": "ben pw 123"})
        assert answer.status_code == 200, answer.text
        [cookie] = answer.headers.get_list("set-cookie")
        flags = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")}
        assert cookie.startswith(f"{COOKIE}=")
        assert "httponly" in flags
        assert flags["samesite"].strip().lower() == "samesite=strict"
        assert flags["path"].strip() == "Path=/"
        assert "secure" not in flags  # plain http: the browser would drop a Secure cookie
        assert int(flags["max-age"].split("=")[1]) == 12 * 3600
        assert answer.json()["username"] == "ben" and answer.json()["role"] == "person"


def test_sign_out_ends_the_session_on_the_server(server: LiveServer, engine: Engine) -> None:
    with closing(sign_in(server, "ben")) as client:
        token = client.cookies[COOKIE]
        assert client.get("/api/sessions").status_code == 200
        out = client.post("/api/auth/logout")
        assert out.status_code == 204
        cleared = out.headers["set-cookie"]
        assert cleared.startswith(f'{COOKIE}=""') and "Max-Age=0" in cleared, cleared
    assert accounts.session_principal(engine, token) is None
    with anonymous(server, token) as replay:  # the old cookie, kept by an attacker
        assert replay.get("/api/sessions").status_code == 401
        assert replay.get("/api/auth/me").json()["signed_in"] is False


def test_wrong_passwords_back_off_and_refuse_the_right_one_while_blocked(
    server: LiveServer, engine: Engine
) -> None:
    there = {"x-forwarded-for": "192.0.2.40"}
    wrong = {"username": "vic", "password": "not vic's password"}
    with anonymous(server, **there) as client:
        statuses = [client.post("/api/auth/login", json=wrong).status_code for _ in range(6)]
        assert statuses == [401] * 6  # five free failures, the sixth blocks
        blocked = client.post("/api/auth/login", json=wrong)
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
        right = client.post("/api/auth/login", json={**wrong, "password": password("vic")})
        assert right.status_code == 429, right.text  # the right password waits too
        assert COOKIE not in right.cookies
    # The user name is blocked from another address as well (a spread-out guess).
    with anonymous(server, **{"x-forwarded-for": "192.0.2.41"}) as elsewhere:
        assert elsewhere.post("/api/auth/login", json=wrong).status_code == 429
        time.sleep(int(blocked.headers["retry-after"]) + 0.2)
        again = elsewhere.post("/api/auth/login", json={**wrong, "password": password("vic")})
        assert again.status_code == 200, again.text


def test_a_password_change_ends_the_other_sessions(server: LiveServer, engine: Engine) -> None:
    first, second = sign_in(server, "carl"), sign_in(server, "carl")
    with closing(first), closing(second):
        old_first = first.cookies[COOKIE]
        change = {"current_password": "wrong one!", "new_password": "carl's new pw"}
        assert first.post("/api/auth/password", json=change).status_code == 422
        change["current_password"] = password("carl")
        answer = first.post("/api/auth/password", json=change)
        assert answer.status_code == 204, answer.text
        assert first.cookies[COOKIE] != old_first  # this browser got a new sign-in
        assert first.get("/api/sessions").status_code == 200
        assert second.get("/api/sessions").status_code == 401
    with anonymous(server, old_first) as replay:
        assert replay.get("/api/sessions").status_code == 401
    with anonymous(server, **{"x-forwarded-for": "192.0.2.42"}) as client:
        old = {"username": "carl", "password": password("carl")}
        assert client.post("/api/auth/login", json=old).status_code == 401
    sign_in(server, "carl", "carl's new pw").close()


def test_a_disabled_account_is_signed_out_and_cannot_sign_in(
    server: LiveServer, engine: Engine
) -> None:
    with closing(sign_in(server, "boss")) as boss, closing(sign_in(server, "dora")) as dora:
        assert dora.get("/api/sessions").status_code == 200
        off = boss.post("/api/admin/users/dora", json={"action": "disable"})
        assert off.status_code == 200 and off.json()["disabled"] is True
        assert dora.get("/api/sessions").status_code == 401
        with anonymous(server, **{"x-forwarded-for": "192.0.2.43"}) as client:
            login = {"username": "dora", "password": password("dora")}
            assert client.post("/api/auth/login", json=login).status_code == 401
            on = boss.post("/api/admin/users/dora", json={"action": "enable"})
            assert on.status_code == 200 and on.json()["disabled"] is False
            assert client.post("/api/auth/login", json=login).status_code == 200


def _stored_session(url: str, person_id: int) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            return repository.start_session(db, person_id, "pelvic-tilt").id
    finally:
        engine.dispose()


def test_setup_once_from_loopback_and_the_first_account_adopts_the_local_data(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'first.sqlite3'}"
    with served(Settings(auth="single-person", database_url=url)) as single:
        local = httpx.get(f"{single.http_url}/api/auth/me", timeout=30.0).json()
        assert local["mode"] == "single-person" and local["signed_in"] is True
        enrol = httpx.post(f"{single.http_url}/api/program/onboarding", json=ONBOARDING)
        assert enrol.status_code == 201, enrol.text
        session_id = _stored_session(url, local["person_id"])
        kept = httpx.get(f"{single.http_url}/api/sessions", timeout=30.0).json()
        assert [s["id"] for s in kept] == [session_id]
    with served(Settings(auth="accounts", database_url=url)) as server:
        with anonymous(server) as nobody:
            me = nobody.get("/api/auth/me").json()
            assert me == {**me, "signed_in": False, "mode": "accounts", "setup_needed": True}
            assert nobody.get("/api/sessions").status_code == 401
        owner = {"username": "owner", "password": "owner's long pw"}
        with anonymous(server, **{"x-forwarded-for": "192.0.2.44"}) as remote:
            refused = remote.post("/api/auth/setup", json=owner)
            assert refused.status_code == 403, refused.text
        with anonymous(server) as client:
            made = client.post("/api/auth/setup", json=owner)
            assert made.status_code == 200, made.text
            assert made.json()["role"] == "admin"
            assert made.json()["person_id"] == local["person_id"]
            assert [s["id"] for s in client.get("/api/sessions").json()] == [session_id]
            assert client.get("/api/program/status").json()["enrolled"] is True
            again = client.post("/api/auth/setup", json={**owner, "username": "second"})
            assert again.status_code == 409, again.text
            assert client.get("/api/auth/me").json()["setup_needed"] is False
        with anonymous(server) as nobody:
            assert nobody.get("/api/auth/me").json()["setup_needed"] is False


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.org"])
def test_single_person_mode_is_refused_beyond_loopback(host: str) -> None:
    with pytest.raises(ConfigurationError, match="single-person mode"):
        create_app(Settings(auth="single-person", host=host))
    create_app(Settings(auth="accounts", host=host))  # accounts may listen there


def test_single_person_mode_answers_loopback_clients_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'single.sqlite3'}"
    with served(Settings(auth="single-person", database_url=url)) as single:
        remote = {"x-forwarded-for": "192.0.2.45"}
        for path in ("/api/sessions", "/api/health", "/api/auth/me", "/"):
            answer = httpx.get(f"{single.http_url}{path}", headers=remote, timeout=30.0)
            assert answer.status_code == 403, (path, answer.status_code)
            here = httpx.get(f"{single.http_url}{path}", timeout=30.0)
            assert here.status_code == 200, (path, here.status_code)
        with pytest.raises(InvalidStatus) as refused:
            connect(single.ws_url, additional_headers=remote, open_timeout=10.0)
        assert refused.value.response.status_code == 403


def test_the_audit_log_records_reads_by_others_changes_refusals_and_failed_sign_ins(
    server: LiveServer, engine: Engine
) -> None:
    ann_id = accounts.get_user(engine, "ann").person_id
    with (
        closing(sign_in(server, "ann")) as ann,
        closing(sign_in(server, "doc")) as doc,
        closing(sign_in(server, "ben")) as ben,
    ):
        assert ann.get("/api/sessions").status_code == 200  # her own: not logged
        assert ann.post("/api/program/onboarding", json=ONBOARDING).status_code == 201
        assert doc.get("/api/sessions", params={"person": ann_id}).status_code == 200
        assert ben.get("/api/program/status", params={"person": ann_id}).status_code == 403
        assert ben.get("/api/admin/users").status_code == 403
    with anonymous(server, **{"x-forwarded-for": "192.0.2.46"}) as stranger:
        wrong = {"username": "ann", "password": "guessing!!"}
        assert stranger.post("/api/auth/login", json=wrong).status_code == 401
    with closing(sign_in(server, "boss")) as boss:
        rows = boss.get("/api/admin/audit", params={"limit": 200}).json()
        of_ann = boss.get("/api/admin/audit", params={"of_person": ann_id}).json()
        exported = boss.get("/api/admin/audit.csv")
    seen = {(r["username"], r["action"], r["person_id"], r["route"]) for r in rows}
    assert ("doc", "read", ann_id, "GET /api/sessions") in seen
    assert ("ann", "change", ann_id, "POST /api/program/onboarding") in seen
    assert ("ben", "refused", ann_id, "GET /api/program/status") in seen
    assert ("ben", "refused", None, "GET /api/admin/users") in seen
    assert ("ann", "read", ann_id, "GET /api/sessions") not in seen
    failed = [r for r in rows if r["action"] == "sign-in" and r["username"] == "anonymous"]
    assert any(r["detail"] == "failed for 'ann' from 192.0.2.46" for r in failed), failed
    assert of_ann and {r["person_id"] for r in of_ann} == {ann_id}
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    # The CSV export: every entry, the same columns.
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert list(table[0]) == [*audit.CSV_COLUMNS, "detail"]
    assert [int(r["id"]) for r in table][: len(rows)] == [r["id"] for r in rows]
    by_id = {int(r["id"]): r for r in table}
    read = next(r for r in rows if r["username"] == "doc" and r["action"] == "read")
    exported_read = by_id[read["id"]]
    assert exported_read["person_id"] == str(ann_id) and exported_read["route"] == read["route"]
    # A log longer than one export is read in pages (it had no way past 10,000 rows).
    with closing(sign_in(server, "boss")) as boss:
        first = list(csv.DictReader(io.StringIO(boss.get("/api/admin/audit.csv?limit=2").text)))
        last_id = first[-1]["id"]
        page = boss.get("/api/admin/audit.csv", params={"limit": 2, "before": last_id}).text
        whole = list(csv.DictReader(io.StringIO(boss.get("/api/admin/audit.csv").text)))
    ids = [int(r["id"]) for r in first + list(csv.DictReader(io.StringIO(page)))]
    assert ids == [int(r["id"]) for r in whole[:4]] and len(ids) == 4


def _refuses_update_and_delete(engine: Engine, *more: str) -> None:
    audit.record(engine, None, "sign-in", None, "POST /api/auth/login", "a row to protect")
    with Session(engine) as db:
        before = db.scalar(select(func.count()).select_from(AuditEntry))
        names = set(db.scalars(select(AuditEntry.username)))
    for statement in (
        "UPDATE audit_log SET username = 'mallory'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)",
        *more,
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(AuditEntry)) == before
        assert set(db.scalars(select(AuditEntry.username))) == names


def test_audit_entries_cannot_be_changed_or_deleted_in_sqlite(engine: Engine) -> None:
    _refuses_update_and_delete(engine)


def test_audit_entries_cannot_be_changed_or_deleted_in_postgresql(empty_postgres_url: str) -> None:
    upgrade(empty_postgres_url)
    engine = make_engine(empty_postgres_url)
    try:
        _refuses_update_and_delete(engine, "TRUNCATE audit_log")
    finally:
        engine.dispose()


def test_the_database_keeps_password_hashes_and_token_hashes_only(
    server: LiveServer, engine: Engine, _history_database: str
) -> None:
    with closing(sign_in(server, "ann")) as ann:
        token = ann.cookies[COOKIE]
        assert ann.get("/api/sessions").status_code == 200
    with Session(engine) as db:
        hashes = {name: h for name, h in db.execute(select(User.username, User.password_hash))}
    assert hashes and all(h.startswith("$argon2id$") for h in hashes.values()), hashes
    path = Path(_history_database.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert accounts.token_sha256(token).encode() in stored
    for secret in [password(name) for name in hashes] + [token]:
        assert secret.encode() not in stored, secret


def _push(device_id: str) -> bytes:
    """A Sensor Logger push: 0.2 s of a still phone."""
    t = np.arange(20) / 100.0
    acc, gyr = np.tile([0.0, 0.0, 9.81], (20, 1)), np.zeros((20, 3))
    [message] = push_messages(t, acc, gyr, start_unix_s=1_700_000_000.0, device_id=device_id)
    return json.dumps(message).encode()


def test_polling_and_device_pushes_do_not_flood_the_audit_log(
    server: LiveServer, engine: Engine
) -> None:
    """The devices page polls GET /api/devices every second and a phone pushes about
    every second: each wrote a 'change' entry (3,600 an hour each) although a GET changes
    nothing, and a device token's use is kept with the token (last used)."""
    ben_id = accounts.get_user(engine, "ben").person_id
    assert ben_id is not None
    _info, secret = device_tokens.create(engine, ben_id, "ben's phone")
    last = max((r.id for r in audit.entries(engine, limit=1)), default=0)
    with closing(sign_in(server, "ben")) as ben:
        for _ in range(3):
            assert ben.get("/api/devices").status_code == 200
        phone = {"authorization": f"Bearer {secret}", "content-type": "application/json"}
        with anonymous(server, **phone) as pusher:  # the phone: a token, no cookie
            for _ in range(3):
                pushed = pusher.post("/api/ingest/sensor-logger", content=_push("ben-phone"))
                assert pushed.status_code == 200, pushed.text
        placed = ben.post(
            "/api/devices/sensor-logger:ben-phone/placement", json={"placement": "upper"}
        )
        assert placed.status_code == 200, placed.text
    new = [r for r in audit.entries(engine, person_id=ben_id) if r.id > last]
    routes = [(r.username, r.action, r.route) for r in new]
    assert ("ben", "change", "POST /api/devices/{device_id}/placement") in routes, routes
    assert all(route != "GET /api/devices" for _, _, route in routes), routes
    assert not any(name.startswith("device:") for name, _, _ in routes), routes
    [token] = device_tokens.listed(engine, ben_id)
    assert token.last_used_utc is not None


def test_wrong_current_passwords_back_off_with_retry_after(
    server: LiveServer, engine: Engine
) -> None:
    there = {"x-forwarded-for": "192.0.2.47"}
    with anonymous(server, **there) as client:
        signed = client.post("/api/auth/login", json={"username": "ben", "password": "ben pw 123"})
        assert signed.status_code == 200, signed.text
        guess = {"current_password": "a wrong guess", "new_password": "ben's new pw"}
        statuses = [client.post("/api/auth/password", json=guess).status_code for _ in range(6)]
        assert statuses == [422] * 6
        blocked = client.post("/api/auth/password", json=guess)
        assert blocked.status_code == 429, blocked.text
        assert int(blocked.headers["retry-after"]) >= 1  # was missing: the page could not say


def _closed_code(ws: ClientConnection, timeout_s: float = 10.0) -> int | None:
    """Read until the server closes the socket: its close code (None: still open)."""
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=max(deadline - time.monotonic(), 0.01))
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None
    return None


def test_an_open_live_socket_closes_when_its_sign_in_ends(
    server: LiveServer, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The socket is authorized at its handshake; a live session streamed on after
    sign-out or after an admin disabled the account (found by trying it)."""
    monkeypatch.setattr(authz, "SIGN_IN_RECHECK_S", 0.2)
    with closing(sign_in(server, "boss")) as boss, closing(sign_in(server, "ann")) as ann:
        disabled = sign_in(server, "dora")
        sockets = {}
        for name, client in (("ann", ann), ("dora", disabled)):
            cookie = {"cookie": f"{COOKIE}={client.cookies[COOKIE]}"}
            sockets[name] = connect(server.ws_url, additional_headers=cookie, open_timeout=10.0)
            assert receive(sockets[name])["type"] == "hello"
        with sockets["ann"], sockets["dora"]:
            assert ann.post("/api/auth/logout").status_code == 204
            off = boss.post("/api/admin/users/dora", json={"action": "disable"})
            assert off.status_code == 200, off.text
            try:
                assert _closed_code(sockets["ann"]) == 1008
                assert _closed_code(sockets["dora"]) == 1008
            finally:
                on = boss.post("/api/admin/users/dora", json={"action": "enable"})
                assert on.status_code == 200
                disabled.close()
    # A socket whose sign-in holds stays open.
    with closing(sign_in(server, "ben")) as ben:
        cookie = {"cookie": f"{COOKIE}={ben.cookies[COOKIE]}"}
        ws = connect(server.ws_url, additional_headers=cookie, open_timeout=10.0)
        with ws:
            assert receive(ws)["type"] == "hello"
            assert _closed_code(ws, timeout_s=1.0) is None
