"""The database health check (spinecoach.store.health; issue 16 item 8): a real write on
SQLite and PostgreSQL, nothing left behind, and real failures told in plain words — a
database locked by another writer, a read-only PostgreSQL database, a full disk (a 2 MB
tmpfs, when this machine lets the tests mount one)."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from spinecoach.store.db import make_engine
from spinecoach.store.health import check_database, sqlite_folder, write_failure


def test_the_check_writes_and_leaves_nothing_behind(engine: Engine) -> None:
    with engine.connect() as connection:
        before = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    check = check_database(engine)
    assert check.writable and check.failure is None
    assert check.backend == engine.dialect.name
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == before
    folder = sqlite_folder(engine)
    if engine.dialect.name == "sqlite":
        assert folder is not None and check.free_bytes is not None and check.free_bytes > 0
        assert check.total_bytes is not None and check.free_bytes <= check.total_bytes
        assert not [p for p in folder.iterdir() if p.name.startswith(".spinecoach-health")]
    else:  # a database server's disk cannot be seen from here
        assert folder is None and check.free_bytes is None


def test_a_database_locked_by_another_writer_is_not_writable(tmp_path: Path) -> None:
    from spinecoach.store.db import upgrade

    url = f"sqlite:///{tmp_path / 'locked.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    other = sqlite3.connect(tmp_path / "locked.sqlite3", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        check = check_database(engine, timeout_s=0.3)
        assert not check.writable and check.failure is not None
        assert check.failure.kind == "locked" and check.failure.transient
        assert "locked by another program" in check.failure.reason
        other.execute("ROLLBACK")
        assert check_database(engine, timeout_s=0.3).writable
        with engine.connect() as connection:  # the pool's connection waits 30 s again
            timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert timeout == 30_000
    finally:
        other.close()
        engine.dispose()


def test_a_read_only_postgresql_database_is_not_writable(postgres_url: str) -> None:
    from spinecoach.store.db import upgrade

    upgrade(postgres_url)
    admin = make_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = admin.url.database
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    engine = make_engine(postgres_url)
    try:
        check = check_database(engine)
        assert not check.writable and check.failure is not None
        assert check.failure.kind == "read-only" and not check.failure.transient
        assert "read-only PostgreSQL server" in check.failure.reason
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text("SET default_transaction_read_only = off"))
            connection.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
        admin.dispose()
    engine = make_engine(postgres_url)
    try:
        assert check_database(engine).writable
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "disk-full"),
        (sqlite3.OperationalError("database or disk is full"), "disk-full"),
        (sqlite3.OperationalError("database is locked"), "locked"),
        (sqlite3.OperationalError("disk I/O error"), "io-error"),
        (sqlite3.OperationalError("attempt to write a readonly database"), "read-only"),
        (OSError(errno.EIO, "Input/output error"), "io-error"),
        (RuntimeError("the sessions table is gone"), "other"),
    ],
)
def test_write_failures_in_plain_words(error: BaseException, kind: str) -> None:
    failure = write_failure(error)
    assert failure.kind == kind
    assert failure.reason and failure.fix
    if kind == "other":
        assert "the sessions table is gone" in failure.reason and not failure.transient


def test_a_postgresql_disk_full_error_is_a_full_disk() -> None:
    import psycopg.errors
    from sqlalchemy.exc import OperationalError

    wrapped = OperationalError("INSERT ...", {}, psycopg.errors.DiskFull("could not extend"))
    assert write_failure(wrapped).kind == "disk-full"


# --- a real full disk ----------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path, small_tmpfs: Any) -> Iterator[Path]:
    """A 2 MB tmpfs (skipped when mounting is not permitted here)."""
    with small_tmpfs(tmp_path / "small", "2m") as folder:
        yield folder


def fill(folder: Path) -> Path:
    """Write a file until the disk of ``folder`` is full; the file."""
    filler = folder / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\1" * 65536)
                handle.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC
    return filler


def test_a_full_disk_is_not_writable_and_free_space_is_measured(small_disk: Path) -> None:
    from spinecoach.store.db import upgrade

    url = f"sqlite:///{small_disk / 'history.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        check = check_database(engine)
        assert check.writable and check.total_bytes is not None
        assert check.total_bytes <= 2 * 1024 * 1024
        filler = fill(small_disk)
        check = check_database(engine)
        assert not check.writable and check.failure is not None
        assert check.failure.kind == "disk-full" and check.free_bytes == 0
        filler.unlink()
        check = check_database(engine)
        assert check.writable and check.free_bytes is not None and check.free_bytes > 1_000_000
    finally:
        engine.dispose()
