"""Accounts, the audit log and device tokens as services (issue 16), on a throwaway
SQLite database: user name and password rules, who may read and change whose data,
sign-in sessions kept as hashes, the same hashing work for an unknown name as for a
wrong password (counted, not timed), the audit log's order, paging and CSV (no cell a
spreadsheet would run), and device tokens (hashed, revocable, their own person only)."""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from spinecoach.services import accounts, audit, device_tokens
from spinecoach.services.accounts import AccountError, Principal
from spinecoach.services.history import History
from spinecoach.store.db import make_engine, upgrade
from spinecoach.store.models import DeviceToken, LoginSession, User

PW = "correct horse"


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    opened = History.open(f"sqlite:///{tmp_path / 'accounts.sqlite3'}")
    yield opened
    opened.close()


@pytest.fixture
def engine(history: History) -> Engine:
    return history.engine


@pytest.mark.parametrize("name", ["ann", "a", "ann.b_c-d@example.org", "0" + "x" * 63, " Ann "])
def test_allowed_user_names_are_kept_lower_case(name: str) -> None:
    assert accounts.check_username(name) == name.strip().lower()


@pytest.mark.parametrize(
    "name",
    [
        "",
        " ",
        "-ann",
        ".ann",
        "ann smith",
        "ånn",
        "ann/..",
        "x" * 65,
        "ann\nbob",
        "ann\x00",
        "ann;drop",
    ],
)
def test_other_user_names_are_refused_naming_the_rule(name: str) -> None:
    with pytest.raises(AccountError, match="1 to 64 letters"):
        accounts.check_username(name)


def test_a_password_is_8_to_1024_characters_with_no_other_rule() -> None:
    for allowed in ("8 chars!", "aaaaaaaa", "é" * 8, "x" * accounts.PASSWORD_MAX):
        assert accounts.check_password(allowed) == allowed
    for refused in ("", "7 chars", "x" * (accounts.PASSWORD_MAX + 1)):
        with pytest.raises(AccountError, match=r"8 to 1024 characters, got \d+"):
            accounts.check_password(refused)


def test_roles_are_person_clinician_admin() -> None:
    for role in ("person", "clinician", "admin"):
        assert accounts.check_role(role) == role
    with pytest.raises(AccountError, match="not one of"):
        accounts.check_role("root")


def test_the_first_account_adopts_the_local_person_later_ones_get_their_own(
    history: History, engine: Engine
) -> None:
    assert not accounts.has_users(engine)
    owner = accounts.add_user(engine, "owner", PW, "admin", first_only=True)
    assert accounts.has_users(engine)
    assert owner.person_id == history.person_id  # the data kept before accounts
    ann = accounts.add_user(engine, "Ann", PW, "person")
    assert ann.username == "ann" and ann.person_id not in (None, history.person_id)
    doc = accounts.add_user(engine, "doc", PW, "clinician")
    assert doc.person_id is None  # a clinician has no data of their own by default
    coach = accounts.add_user(engine, "coach", PW, "clinician", own_data=True)
    assert coach.person_id not in (None, ann.person_id, owner.person_id)
    with pytest.raises(AccountError, match="first account already"):
        accounts.add_user(engine, "late", PW, "admin", first_only=True)
    with pytest.raises(AccountError, match="is taken"):
        accounts.add_user(engine, "ANN", PW, "person")
    assert [u.username for u in accounts.list_users(engine)] == ["ann", "coach", "doc", "owner"]


class CountingHasher:
    """The real hasher, counting hash and verify calls."""

    def __init__(self, real: Any) -> None:
        self.real, self.verified, self.hashed = real, 0, 0

    def verify(self, password: str, hashed: str) -> bool:
        self.verified += 1
        result: bool = self.real.verify(password, hashed)
        return result

    def hash(self, password: str) -> str:
        self.hashed += 1
        result: str = self.real.hash(password)
        return result


def test_an_unknown_name_costs_the_same_hashing_as_a_wrong_password(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts.add_user(engine, "ann", PW, "person")
    accounts.add_user(engine, "off", PW, "person")
    accounts.set_disabled(engine, "off", True)
    counter = CountingHasher(accounts._hasher())
    monkeypatch.setattr(accounts, "_hasher", lambda: counter)
    work = {}
    for case, (name, secret) in {
        "right": ("ann", PW),
        "wrong password": ("ann", "not the password"),
        "unknown name": ("nobody", "not the password"),
        "disabled": ("off", PW),
    }.items():
        before = counter.verified
        found = accounts.authenticate(engine, name, secret)
        assert (found is not None) == (case == "right"), case
        work[case] = counter.verified - before
    assert work == {"right": 1, "wrong password": 1, "unknown name": 1, "disabled": 1}
    # ... against a hash of the same parameters (the same work per verification).
    with Session(engine) as db:
        real = db.scalars(select(User.password_hash).where(User.username == "ann")).one()
    dummy = accounts._dummy_hash()
    assert dummy.rsplit("$", 2)[0] == real.rsplit("$", 2)[0]
    assert dummy.startswith("$argon2id$")


def test_a_sign_in_session_is_kept_as_a_hash_and_ends(engine: Engine) -> None:
    ann = accounts.add_user(engine, "ann", PW, "person")
    token = accounts.start_session(engine, ann.id)
    assert len(token) >= 40
    principal = accounts.session_principal(engine, token)
    assert principal == Principal("ann", "person", ann.person_id, ann.id)
    with Session(engine) as db:
        [kept] = db.scalars(select(LoginSession.token_sha256)).all()
    assert kept == accounts.token_sha256(token) and token not in kept
    for forged in ("", "x", token[:-1] + ("A" if token[-1] != "A" else "B"), token + "x" * 80):
        assert accounts.session_principal(engine, forged) is None
    accounts.end_session(engine, token)
    assert accounts.session_principal(engine, token) is None


def test_an_expired_session_signs_nobody_in_and_is_pruned(engine: Engine) -> None:
    ann = accounts.add_user(engine, "ann", PW, "person")
    old = accounts.start_session(engine, ann.id, ttl=timedelta(seconds=-1))
    assert accounts.session_principal(engine, old) is None
    fresh = accounts.start_session(engine, ann.id)  # starting one prunes the expired
    with Session(engine) as db:
        assert db.scalars(select(LoginSession.token_sha256)).all() == [accounts.token_sha256(fresh)]


def test_password_changes_resets_and_disabling_end_every_session(engine: Engine) -> None:
    ann = accounts.add_user(engine, "ann", PW, "person")

    def sessions() -> list[str]:
        return [accounts.start_session(engine, ann.id) for _ in range(2)]

    tokens = sessions()
    with pytest.raises(AccountError, match="current password is wrong"):
        accounts.change_password(engine, ann.id, "not it at all", "a new password")
    assert all(accounts.session_principal(engine, t) for t in tokens)
    accounts.change_password(engine, ann.id, PW, "a new password")
    assert not any(accounts.session_principal(engine, t) for t in tokens)
    assert accounts.authenticate(engine, "ann", PW) is None
    assert accounts.authenticate(engine, "ann", "a new password") is not None
    tokens = sessions()
    accounts.set_password(engine, "ann", "reset by admin")
    assert not any(accounts.session_principal(engine, t) for t in tokens)
    assert accounts.authenticate(engine, "ann", "reset by admin") is not None
    tokens = sessions()
    accounts.set_disabled(engine, "ann", True)
    assert not any(accounts.session_principal(engine, t) for t in tokens)
    assert accounts.get_user(engine, "ann").disabled
    accounts.set_disabled(engine, "ann", False)
    assert accounts.authenticate(engine, "ann", "reset by admin") is not None
    with pytest.raises(AccountError, match="no user named"):
        accounts.set_password(engine, "nobody", "some password")


def test_who_may_read_and_change_whose_data(engine: Engine) -> None:
    ann = accounts.add_user(engine, "ann", PW, "person")
    ben = accounts.add_user(engine, "ben", PW, "person")
    boss = accounts.add_user(engine, "boss", PW, "admin")
    accounts.add_user(engine, "doc", PW, "clinician")
    with pytest.raises(AccountError, match="not a clinician"):
        accounts.assign(engine, "ben", "ann")
    with pytest.raises(AccountError, match="no data of their own"):
        accounts.assign(engine, "doc", "doc")
    accounts.assign(engine, "doc", "ann")
    accounts.assign(engine, "doc", "ann")  # twice: still once
    assert accounts.get_user(engine, "doc").persons == (ann.person_id,)
    assert ann.person_id is not None and ben.person_id is not None
    assert boss.person_id is not None
    a, b, admin = ann.person_id, ben.person_id, boss.person_id

    def principal(name: str) -> Principal:
        found = accounts.authenticate(engine, name, PW)
        assert found is not None
        return found

    doc = principal("doc")
    assert doc.may_read(a) and not doc.may_change(a)
    assert not doc.may_read(b)
    assert principal("ann").may_read(a) and principal("ann").may_change(a)
    assert not principal("ann").may_read(b) and not principal("ann").may_change(b)
    assert principal("boss").may_change(admin)
    assert not principal("boss").may_read(a)  # an admin does not read health data
    accounts.assign(engine, "doc", "ann", remove=True)
    assert not principal("doc").may_read(a)


def test_the_audit_log_lists_newest_first_by_person_and_pages_back(engine: Engine) -> None:
    doc = Principal("doc", "clinician", None, 7, frozenset({1}))
    for k in range(5):
        audit.record(engine, doc, "read", 1 + k % 2, f"GET /api/sessions/{k}")
    audit.record(engine, None, "sign-in", None, "POST /api/auth/login", "failed for 'x'")
    rows = audit.entries(engine)
    assert [r.id for r in rows] == sorted((r.id for r in rows), reverse=True)
    assert rows[0].username == "anonymous" and rows[0].user_id is None
    assert rows[-1].username == "doc" and rows[-1].user_id == 7
    of_one = audit.entries(engine, person_id=1)
    assert [r.route for r in of_one] == [f"GET /api/sessions/{k}" for k in (4, 2, 0)]
    page = audit.entries(engine, limit=2)
    older = audit.entries(engine, limit=2, before_id=page[-1].id)
    assert [r.id for r in page + older] == [r.id for r in rows[:4]]
    assert len(audit.entries(engine, limit=10**9)) == len(rows)  # capped, not refused


def test_the_csv_export_has_every_column_and_no_formula(engine: Engine) -> None:
    """A cell starting with = + - @ is run by a spreadsheet (CSV injection): it gets a
    leading ' (the route and detail texts come partly from requests)."""
    evil = Principal("=cmd|' /C calc'!A0", "person", 3, 9)
    audit.record(engine, evil, "change", 3, "+SUM(1,1)", '@HYPERLINK("http://x")')
    audit.record(engine, None, "sign-in", None, "POST /api/auth/login", "-2+3")
    audit.record(engine, None, "sign-in", None, "POST /api/auth/login", "plain, with a comma")
    rows = audit.entries(engine)
    table = list(csv.reader(io.StringIO(audit.to_csv(rows))))
    assert table[0] == [*audit.CSV_COLUMNS, "detail"]
    assert len(table) == 1 + len(rows)
    cells = [cell for line in table[1:] for cell in line]
    assert not [c for c in cells if c[:1] in ("=", "+", "@") or c.startswith("-2")], cells
    first = dict(zip(table[0], table[-1], strict=True))  # the oldest row
    assert first["username"] == "'=cmd|' /C calc'!A0" and first["route"] == "'+SUM(1,1)"
    assert first["detail"] == '\'@HYPERLINK("http://x")' and first["person_id"] == "3"
    assert table[1][-1] == "plain, with a comma"
    assert datetime.fromisoformat(table[1][1]).tzinfo is not None


def test_device_tokens_are_hashed_revocable_and_their_persons_only(engine: Engine) -> None:
    ann = accounts.add_user(engine, "ann", PW, "person")
    ben = accounts.add_user(engine, "ben", PW, "person")
    assert ann.person_id is not None and ben.person_id is not None
    info, secret = device_tokens.create(engine, ann.person_id, "  ann's phone ")
    assert secret.startswith(device_tokens.TOKEN_PREFIX) and info.name == "ann's phone"
    with Session(engine) as db:
        [kept] = db.scalars(select(DeviceToken.token_sha256)).all()
    assert kept == accounts.token_sha256(secret)
    assert info.last_used_utc is None
    device = device_tokens.device_principal(engine, secret)
    assert device is not None and device.role == "device"
    assert device.may_change(ann.person_id) and not device.may_change(ben.person_id)
    [used] = device_tokens.listed(engine, ann.person_id)
    assert used.last_used_utc is not None
    assert used.last_used_utc <= datetime.now(UTC)
    for forged in ("", secret[4:], "Bearer " + secret, secret + "x", "scd_" + "x" * 200):
        assert device_tokens.device_principal(engine, forged) is None
    assert not device_tokens.revoke(engine, ben.person_id, info.id)  # not ben's
    assert device_tokens.device_principal(engine, secret) is not None
    assert device_tokens.revoke(engine, ann.person_id, info.id)
    assert device_tokens.device_principal(engine, secret) is None
    assert device_tokens.listed(engine, ann.person_id)[0].revoked
    assert device_tokens.listed(engine, ben.person_id) == []
    for name in ("", "   ", "x" * 101):
        with pytest.raises(AccountError, match="1 to 100 characters"):
            device_tokens.create(engine, ann.person_id, name)


def test_two_setups_at_once_make_one_first_account_in_postgresql(
    empty_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first account is decided by counting the accounts: two setups at once both
    counted none under PostgreSQL's READ COMMITTED and both became 'the first' (SQLite's
    BEGIN IMMEDIATE already made them wait). The pause between count and insert is
    widened to make the race certain."""
    upgrade(empty_postgres_url)
    engine = make_engine(empty_postgres_url)
    real = accounts._own_person

    def slow_own_person(db: Session, name: str, *, adopt_local: bool) -> int:
        time.sleep(0.5)
        return real(db, name, adopt_local=adopt_local)

    monkeypatch.setattr(accounts, "_own_person", slow_own_person)
    outcomes: dict[str, str] = {}

    def setup(name: str) -> None:
        try:
            accounts.add_user(engine, name, PW, "admin", own_data=True, first_only=True)
            outcomes[name] = "made"
        except AccountError:
            outcomes[name] = "refused"

    try:
        threads = [threading.Thread(target=setup, args=(name,)) for name in ("one", "two")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30.0)
        assert sorted(outcomes.values()) == ["made", "refused"], outcomes
        assert len(accounts.list_users(engine)) == 1
    finally:
        engine.dispose()
