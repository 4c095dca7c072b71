"""Reading a database for an export: one read-only snapshot, and the schema revision.

``READ ONLY`` at ``REPEATABLE READ`` on PostgreSQL, ``PRAGMA query_only`` in a deferred
transaction on SQLite (a WAL snapshot that does not block a running server). A missing
SQLite file is reported, never created. The database must be at the schema revision this
version of spinecoach expects (:func:`head_revision`). Used by
:func:`spinecoach.store.export.export_database`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from spinecoach.errors import ConfigurationError
from spinecoach.store.db import SQLITE_BUSY_TIMEOUT_MS, make_engine, migrations_path


def _sqlite_read_only(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # SQLite itself refuses every write on this connection.
        cursor.execute("PRAGMA query_only=ON")
    finally:
        cursor.close()


def _sqlite_begin_deferred(connection: Connection) -> None:
    # A deferred transaction reads one WAL snapshot without taking the write lock, so a
    # running server keeps saving sessions while the export reads.
    connection.exec_driver_sql("BEGIN")


def _read_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"database URL {url!r} is not valid ({exc}); use for example "
            "'sqlite:////path/to/spinecoach.sqlite3'"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return make_engine(url, poolclass=NullPool)
    if backend != "sqlite":
        raise ConfigurationError(
            f"database URL {url!r}: export reads SQLite and PostgreSQL databases only"
        )
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise ConfigurationError(
            f"database URL {url!r}: give the path of an SQLite file, "
            "'sqlite:////path/to/spinecoach.sqlite3'"
        )
    if not Path(database).is_file():
        raise ConfigurationError(
            f"there is no database at {database} (from {url!r}); give the URL of an "
            "existing history with --database or SPINECOACH_DATABASE_URL"
        )
    from sqlalchemy import create_engine

    engine = create_engine(parsed, poolclass=NullPool)
    event.listen(engine, "connect", _sqlite_read_only)
    event.listen(engine, "begin", _sqlite_begin_deferred)
    return engine


def head_revision() -> str:
    """The schema revision this version of spinecoach writes and reads."""
    from alembic.script import ScriptDirectory

    with resources.as_file(migrations_path()) as location:
        head = ScriptDirectory(str(location)).get_current_head()
    if head is None:  # pragma: no cover - the package ships its migrations
        raise ConfigurationError("the package has no database migrations; reinstall it")
    return head


@contextmanager
def read_only_snapshot(url: str) -> Iterator[tuple[Connection, str]]:
    """One read-only transaction on the database at ``url`` (rolled back at the end), and
    the database's schema revision."""
    from alembic.runtime.migration import MigrationContext

    engine = _read_engine(url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                )
            revision = MigrationContext.configure(connection).get_current_revision()
            head = head_revision()
            if revision is None:
                raise ConfigurationError(
                    f"the database at {shown_url(url)} has no spinecoach tables; nothing to export"
                )
            if revision != head:
                raise ConfigurationError(
                    f"the database at {shown_url(url)} is at schema revision {revision}, this "
                    f"spinecoach reads {head}; start `spinecoach serve --database URL` with "
                    "this version once to upgrade it (export never changes the database)"
                )
            try:
                yield connection, revision
            finally:
                connection.rollback()
    except SQLAlchemyError as exc:
        raise ConfigurationError(
            f"could not read the database at {shown_url(url)}: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    finally:
        engine.dispose()


def shown_url(url: str) -> str:
    """``url`` without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(invalid URL)"
