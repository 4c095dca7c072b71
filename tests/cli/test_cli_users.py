"""``spinecoach users …`` (issue 16): accounts from the terminal. The first account keeps
the data recorded before accounts existed; passwords come from a hidden prompt or stdin
and are stored as Argon2id hashes only; every change is in the audit log; wrong input
exits 2 with a line naming the fix. And ``serve --auth single-person`` refuses a host
beyond loopback."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spinecoach.cli import app
from spinecoach.services import accounts
from spinecoach.services.history import History

runner = CliRunner()


def users(url: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["users", *args, "--database", url], input=stdin)
    return result.exit_code, result.output


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'users.sqlite3'}"


def test_users_first_account_keeps_the_data_recorded_before(url: str, tmp_path: Path) -> None:
    history = History.open(url)  # single-person mode's local person, with a session
    record = history.start_live("pelvic-tilt", source="sim", live_config={}, pain_before_mm=35.0)
    local = history.person_id
    history.close()

    code, out = users(url, "add", "Owner", "--role", "admin", "--password-stdin",
                      stdin="a long passphrase\n")  # fmt: skip
    assert code == 0, out
    assert "added owner (admin)" in out and "keeps the data recorded so far" in out
    code, out = users(url, "add", "alice", "--password-stdin", stdin="alice's secret\n")
    assert code == 0, out and "keeps" not in out

    history = History.open(url)
    try:
        owner, alice = (accounts.get_user(history.engine, n) for n in ("owner", "alice"))
        assert owner.person_id == local and alice.person_id not in (None, local)
        assert [s["id"] for s in history.for_person(local).sessions()] == [record.session_id]
        assert history.for_person(alice.person_id or 0).sessions() == []
        assert accounts.authenticate(history.engine, "OWNER", "a long passphrase") is not None
        assert accounts.authenticate(history.engine, "owner", "a long passphras") is None
    finally:
        history.close()
    # Only hashes are stored: the file holds no password.
    raw = Path(url.removeprefix("sqlite:///")).read_bytes()
    assert b"a long passphrase" not in raw and b"alice's secret" not in raw
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        hashes = [h for (h,) in db.execute("SELECT password_hash FROM users")]
    assert len(hashes) == 2 and all(h.startswith("$argon2id$") for h in hashes)


def test_users_list_assign_disable_reset_and_audit(url: str) -> None:
    for name, role, secret in (
        ("admin1", "admin", "admin secret"),
        ("alice", "person", "alice secret"),
        ("doc", "clinician", "doctor secret"),
    ):
        code, out = users(url, "add", name, "--role", role, "--password-stdin", stdin=secret)
        assert code == 0, out
    assert users(url, "assign", "doc", "alice")[0] == 0
    code, out = users(url, "assign", "alice", "doc")
    assert code == 2 and "'alice' is a person, not a clinician" in out
    assert users(url, "disable", "alice")[0] == 0
    code, out = users(url, "list")
    assert code == 0
    row = next(line for line in out.splitlines() if "alice" in line)
    assert "yes" in row  # disabled
    doc_row = next(line for line in out.splitlines() if "doc" in line)
    assert "clinician" in doc_row and "argon2" not in out

    history = History.open(url)
    try:
        assert accounts.authenticate(history.engine, "alice", "alice secret") is None  # disabled
        assert users(url, "enable", "alice")[0] == 0
        assert accounts.authenticate(history.engine, "alice", "alice secret") is not None
        assert (
            users(url, "reset-password", "alice", "--password-stdin", stdin="new secret!")[0] == 0
        )
        assert accounts.authenticate(history.engine, "alice", "alice secret") is None
        assert accounts.authenticate(history.engine, "alice", "new secret!") is not None
        doc = accounts.authenticate(history.engine, "doc", "doctor secret")
        alice = accounts.get_user(history.engine, "alice")
        assert doc is not None and doc.may_read(alice.person_id or 0)
        assert not doc.may_change(alice.person_id or 0)
    finally:
        history.close()

    code, out = users(url, "audit")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    details = [r["detail"] for r in rows]
    assert details[0] == "reset the password of alice"  # newest first
    assert "alice assigned to doc" in details and "disabled alice" in details
    assert all(r["username"].startswith("terminal:") for r in rows)
    assert all(r["action"] == "account" for r in rows)


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (("add", "bob", "--password-stdin"), "short\n", "a password must be 8 to 1024"),
        (("add", "bad name!", "--password-stdin"), "long enough\n", "is not allowed"),
        (("add", "bob", "--role", "god", "--password-stdin"), "long enough\n", "not one of"),
        (("add", "bob", "--password-stdin"), "", "stdin is empty"),
        (("reset-password", "nobody", "--password-stdin"), "long enough\n", "no user named"),
        (("disable", "nobody"), None, "no user named 'nobody'"),
    ],
)
def test_users_wrong_input_exits_2_naming_the_fix(
    url: str, args: tuple[str, ...], stdin: str | None, says: str
) -> None:
    code, out = users(url, *args, stdin=stdin)
    assert code == 2, out
    assert says in out


def test_users_taken_name_and_prompt_mismatch(url: str) -> None:
    assert users(url, "add", "bob", "--password-stdin", stdin="long enough\n")[0] == 0
    code, out = users(url, "add", "BOB", "--password-stdin", stdin="long enough\n")
    assert code == 2 and "user name 'bob' is taken" in out
    code, out = users(url, "add", "carol", stdin="first one\nsecond one\n")  # hidden prompt
    assert code == 2 and "the two passwords differ" in out


def test_serve_single_person_mode_refuses_a_host_beyond_loopback(url: str) -> None:
    result = runner.invoke(
        app, ["serve", "--auth", "single-person", "--host", "0.0.0.0", "--database", url]
    )
    assert result.exit_code == 2
    assert "single-person mode has no password" in result.output
    assert "bind to 127.0.0.1, or use accounts" in result.output
