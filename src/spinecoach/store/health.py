"""Can the database be written, and how much disk is left: what ``GET /api/health``
reports (through :meth:`spinecoach.services.history.History.health`), and why a write
failed, in plain words (:func:`write_failure`), for the live session's notices.

Design choices:

* **A real write, rolled back.** :func:`check_database` opens a write transaction (on
  SQLite ``BEGIN IMMEDIATE``: it takes the write lock) and updates the one row of
  ``alembic_version`` to itself, then rolls back: it fails like any write when the
  database is locked for longer than :data:`CHECK_TIMEOUT_S`, read-only (file, disk or
  a PostgreSQL standby) or unreachable, and on PostgreSQL a write needs room for the
  new row version. No table of its own, so no migration, and nothing is left behind.
  ``alembic_version`` is the one table every spinecoach database has, in the same shape.
* **SQLite: the disk itself.** SQLite keeps a rolled-back write in memory, so on SQLite
  the check also writes, syncs and deletes a probe file of :data:`PROBE_BYTES` next to
  the database (a full disk fails there) and reads the free space of the database's
  folder. A PostgreSQL server's disk cannot be seen from here (``free_bytes`` is None):
  watch it on the database server.

>>> import tempfile
>>> from spinecoach.store.db import make_engine, upgrade
>>> with tempfile.TemporaryDirectory() as folder:
...     url = f"sqlite:///{folder}/demo.sqlite3"
...     upgrade(url)
...     engine = make_engine(url)
...     check = check_database(engine)
...     engine.dispose()
>>> check.writable, check.failure, check.free_bytes > 0
(True, None, True)
>>> write_failure(OSError(28, "No space left on device")).kind
'disk-full'
"""

from __future__ import annotations

import errno
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from sqlalchemy.engine import Connection, Engine

from spinecoach.store.db import SQLITE_BUSY_TIMEOUT_MS

#: Longest wait (s) of the check for a database locked by another writer.
CHECK_TIMEOUT_S: Final = 2.0
#: Bytes written (and deleted) next to an SQLite database to prove the disk takes data.
PROBE_BYTES: Final = 64 * 1024

FailureKind = Literal["disk-full", "locked", "read-only", "io-error", "unreachable", "other"]

#: (why, what to do) by kind of write failure.
_TEXTS: Final[dict[str, tuple[str, str]]] = {
    "disk-full": (
        "the disk of the database is full",
        "free space on the server's disk (or move the database to a larger disk)",
    ),
    "locked": (
        "the database stayed locked by another program for too long",
        "close the program that holds it (a backup, a database browser) or wait for it",
    ),
    "read-only": (
        "the database cannot be written (a read-only file, folder or disk, or a read-only "
        "PostgreSQL server)",
        "make the database file and its folder writable for the server's user, or point "
        "the server at a writable PostgreSQL primary",
    ),
    "io-error": (
        "the disk of the database reported an input/output error",
        "check the disk (free space, the system log) and restore the database from a "
        "backup if it is damaged",
    ),
    "unreachable": (
        "the database server cannot be reached",
        "start the PostgreSQL server, or correct SPINECOACH_DATABASE_URL",
    ),
}
#: Failures that can pass by themselves (worth keeping the data and retrying).
TRANSIENT: Final[frozenset[str]] = frozenset({"disk-full", "locked", "io-error", "unreachable"})
_SQLSTATE_KINDS: Final[dict[str, FailureKind]] = {
    "53100": "disk-full",  # disk_full
    "53000": "disk-full",  # insufficient_resources
    "55P03": "locked",  # lock_not_available (lock_timeout)
    "57014": "locked",  # query_canceled (statement_timeout while waiting)
    "40P01": "locked",  # deadlock_detected
    "25006": "read-only",  # read_only_sql_transaction
    "58030": "io-error",  # io_error
    "08006": "unreachable",  # connection_failure
    "08001": "unreachable",  # sqlclient_unable_to_establish_sqlconnection
    "57P01": "unreachable",  # admin_shutdown
}
_ERRNO_KINDS: Final[dict[int, FailureKind]] = {
    errno.ENOSPC: "disk-full",
    errno.EDQUOT: "disk-full",
    errno.EIO: "io-error",
    errno.EROFS: "read-only",
    errno.EACCES: "read-only",
    errno.EPERM: "read-only",
}
#: Words of SQLite's (and the OS's) messages, by kind.
_MESSAGE_KINDS: Final[tuple[tuple[str, FailureKind], ...]] = (
    ("database or disk is full", "disk-full"),
    ("no space left on device", "disk-full"),
    ("database is locked", "locked"),
    ("database table is locked", "locked"),
    ("readonly database", "read-only"),
    ("read-only", "read-only"),
    ("disk i/o error", "io-error"),
    ("unable to open database file", "io-error"),
    ("connection refused", "unreachable"),
    ("could not connect", "unreachable"),
    ("server closed the connection", "unreachable"),
)


@dataclass(frozen=True)
class WriteFailure:
    """Why a write failed: ``kind``, ``reason`` and ``fix`` in plain words, ``detail``
    (the error's own text, for the log and the curious)."""

    kind: FailureKind
    reason: str
    fix: str
    detail: str

    @property
    def transient(self) -> bool:
        """It may pass by itself (space freed, lock released): keep the data, retry."""
        return self.kind in TRANSIENT


def _chain(error: BaseException) -> list[BaseException]:
    """``error``, the driver's error inside a SQLAlchemy one, its causes and contexts."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop(0)
        if current is None or any(current is s for s in seen) or len(seen) > 10:
            continue
        seen.append(current)
        todo.extend([getattr(current, "orig", None), current.__cause__, current.__context__])
    return seen


def _kind(error: BaseException) -> FailureKind:
    for item in _chain(error):
        state = getattr(item, "sqlstate", None)
        if isinstance(state, str) and state in _SQLSTATE_KINDS:
            return _SQLSTATE_KINDS[state]
        if isinstance(item, OSError) and item.errno in _ERRNO_KINDS:
            return _ERRNO_KINDS[item.errno]
        text = str(item).lower()
        for words, kind in _MESSAGE_KINDS:
            if words in text:
                return kind
    return "other"


def write_failure(error: BaseException) -> WriteFailure:
    """What ``error`` (raised by a write) means, in plain words.

    >>> failure = write_failure(RuntimeError("the sessions table is gone"))
    >>> failure.kind, failure.transient
    ('other', False)
    """
    kind = _kind(error)
    detail = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error) else ''}"
    reason, fix = _TEXTS.get(
        kind, (f"writing failed ({detail[:200]})", "see the server log and check the database")
    )
    return WriteFailure(kind, reason, fix, detail[:300])


@dataclass(frozen=True)
class DatabaseCheck:
    """The result of :func:`check_database`: the ``backend`` (``sqlite``,
    ``postgresql``), ``writable`` (else ``failure`` says why), ``free_bytes`` in the
    database's folder and the ``total_bytes`` of its disk (SQLite; None for a database
    server), ``took_s`` (s)."""

    backend: str
    writable: bool
    failure: WriteFailure | None
    free_bytes: int | None
    total_bytes: int | None
    took_s: float


def sqlite_folder(engine: Engine) -> Path | None:
    """The folder of an SQLite database file (None for another backend or in memory)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database).resolve().parent


def _sqlite_busy_timeout(connection: Connection, ms: int) -> None:
    """Set SQLite's busy timeout on the driver's connection (outside a transaction: the
    engine begins every SQLAlchemy transaction with ``BEGIN IMMEDIATE``)."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA busy_timeout={ms}")
    finally:
        cursor.close()


def _rolled_back_write(connection: Connection, timeout_s: float) -> None:
    """Update ``alembic_version``'s row to itself in a transaction that is rolled back."""
    ms = int(timeout_s * 1000)
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # the engine's busy timeout is long (30 s); the check waits less
        _sqlite_busy_timeout(connection, ms)
    try:
        with connection.begin() as transaction:
            if not sqlite:
                connection.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
                connection.exec_driver_sql(f"SET LOCAL statement_timeout = {2 * ms}")
            updated = connection.exec_driver_sql(
                "UPDATE alembic_version SET version_num = version_num"
            ).rowcount
            transaction.rollback()
        if updated != 1:
            raise RuntimeError(
                "the database has no schema version (alembic_version is empty); run the "
                "migrations (the server does at start)"
            )
    finally:
        if sqlite:
            _sqlite_busy_timeout(connection, SQLITE_BUSY_TIMEOUT_MS)


def _probe_disk(folder: Path) -> None:
    """Write, sync and delete :data:`PROBE_BYTES` in ``folder`` (raises OSError)."""
    probe = folder / f".spinecoach-health-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        with probe.open("wb") as handle:
            handle.write(b"\0" * PROBE_BYTES)
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        probe.unlink(missing_ok=True)


def check_database(engine: Engine, *, timeout_s: float = CHECK_TIMEOUT_S) -> DatabaseCheck:
    """Check that the database behind ``engine`` takes a write (see the module
    docstring) and, for SQLite, how much disk its folder has left. Never raises for a
    database problem: it is in the result."""
    started = time.monotonic()
    failure: WriteFailure | None = None
    try:
        with engine.connect() as connection:
            _rolled_back_write(connection, timeout_s)
    except Exception as error:  # the check reports every failure
        failure = write_failure(error)
    folder = sqlite_folder(engine)
    free = total = None
    if folder is not None:
        try:
            usage = shutil.disk_usage(folder)
            free, total = usage.free, usage.total
            if failure is None:
                _probe_disk(folder)
        except OSError as error:
            failure = failure or write_failure(error)
    return DatabaseCheck(
        backend=engine.dialect.name,
        writable=failure is None,
        failure=failure,
        free_bytes=free,
        total_bytes=total,
        took_s=time.monotonic() - started,
    )


__all__ = [
    "CHECK_TIMEOUT_S",
    "PROBE_BYTES",
    "TRANSIENT",
    "DatabaseCheck",
    "FailureKind",
    "WriteFailure",
    "check_database",
    "sqlite_folder",
    "write_failure",
]
