"""Database URL, engines and migrations.

* :func:`database_url` picks the database: an explicit URL, else the environment
  variable ``SPINECOACH_DATABASE_URL``, else an SQLite file in the user's data folder.
* :func:`make_engine` makes an engine (never at import time). SQLite engines turn on
  foreign keys, write-ahead logging and a busy timeout, and open every transaction
  with ``BEGIN IMMEDIATE``, so several processes can share one file safely.
* :func:`upgrade` brings the schema to the newest Alembic revision. The schema is only
  ever made by migrations, so SQLite and PostgreSQL databases are built the same way.

Nothing here assumes one process owns the database: migrations take a lock (an
advisory lock on PostgreSQL, the write lock on SQLite) so two servers starting at once
do not both create the tables.

>>> import tempfile
>>> from sqlalchemy import inspect
>>> with tempfile.TemporaryDirectory() as folder:
...     url = database_url(f"sqlite:///{folder}/demo.sqlite3")
...     upgrade(url)
...     engine = make_engine(url)
...     "sessions" in inspect(engine).get_table_names()
...     engine.dispose()
True
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry

from spinecoach.errors import ConfigurationError

ENV_VARIABLE: Final = "SPINECOACH_DATABASE_URL"
APP_NAME: Final = "spinecoach"
SQLITE_FILENAME: Final = "spinecoach.sqlite3"
# How long an SQLite writer waits for another process's transaction before failing.
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000


def default_sqlite_path() -> Path:
    """The SQLite file in the user's data folder (the folder is created)."""
    from platformdirs import user_data_dir

    folder = Path(user_data_dir(APP_NAME))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / SQLITE_FILENAME


def database_url(explicit: str | None = None) -> str:
    """The database URL: ``explicit``, else ``$SPINECOACH_DATABASE_URL``, else SQLite.

    The SQLite default is ``sqlite:///<user data dir>/spinecoach.sqlite3``, for example
    ``~/.local/share/spinecoach/spinecoach.sqlite3`` on Linux; its folder is created.

    >>> database_url("postgresql+psycopg://coach@db.example/spinecoach")
    'postgresql+psycopg://coach@db.example/spinecoach'
    """
    if explicit:
        return explicit
    from_env = os.environ.get(ENV_VARIABLE, "").strip()
    if from_env:
        return from_env
    return f"sqlite:///{default_sqlite_path()}"


def _set_wal(cursor: Any) -> None:
    """Switch to WAL. Switching needs a moment of exclusive access, and SQLite answers
    "database is locked" at once (without its busy handler) when another process opens
    the same new file at that instant, so retry for a while before giving up."""
    import sqlite3
    import time

    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000.0
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (the
    # module would otherwise skip BEGIN before DDL and SAVEPOINT would not work).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _set_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock at the start: a transaction that first reads and
    # then writes can otherwise fail at once (SQLITE_BUSY) when another process wrote
    # in between, instead of waiting for the busy timeout.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **engine_options: Any) -> Engine:
    """Make an engine for ``url`` (call it at start-up, never at import time).

    ``engine_options`` go to :func:`sqlalchemy.create_engine` (``echo=True``, pool
    sizes, ...). Raises :class:`~spinecoach.errors.ConfigurationError` for a malformed
    URL or a database driver that is not installed.
    """
    from sqlalchemy import create_engine

    try:
        parsed = make_url(url)
        engine = create_engine(parsed, **engine_options)
    except (ArgumentError, ValueError) as exc:
        raise ConfigurationError(
            f"database URL {url!r} is not valid ({exc}); use for example "
            "'sqlite:////path/to/spinecoach.sqlite3' or "
            "'postgresql+psycopg://user@host/spinecoach'"
        ) from exc
    except ImportError as exc:  # pragma: no cover - drivers are dependencies
        raise ConfigurationError(
            f"the database driver for {url!r} is not installed ({exc}); PostgreSQL "
            "needs 'postgresql+psycopg://' (psycopg 3)"
        ) from exc
    if engine.dialect.name == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def migrations_path() -> resources.abc.Traversable:
    """Where the Alembic environment ships inside the package."""
    return resources.files("spinecoach.store").joinpath("migrations")


def upgrade(url: str, revision: str = "head") -> None:
    """Run the Alembic migrations on ``url`` up to ``revision`` (default: the newest).

    Safe to call at every start-up and from several processes at once.
    """
    from alembic import command
    from alembic.config import Config

    engine = make_engine(url)
    try:
        with resources.as_file(migrations_path()) as script_location:
            config = Config()
            config.set_main_option("script_location", str(script_location))
            with engine.connect() as connection:
                # env.py uses this connection, so the URL is never written into an
                # ini-style config (where a '%' in a password would break it).
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                connection.commit()
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The Alembic revision the database at ``url`` is at (None before the first)."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
