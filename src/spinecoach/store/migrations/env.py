"""Alembic environment: runs migrations on the connection given by ``db.upgrade``.

Run through :func:`spinecoach.store.db.upgrade`, which passes an open connection in
``config.attributes["connection"]``. Run by the ``alembic`` command line, it uses
``sqlalchemy.url`` from the config or :func:`spinecoach.store.db.database_url`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from spinecoach.store.db import database_url, make_engine
from spinecoach.store.models import Base

# An arbitrary constant: the PostgreSQL advisory lock held while migrating.
MIGRATION_LOCK_ID = 0x5C0AC4


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two servers starting at once: the second waits, then finds the schema
            # already at head. (On SQLite, BEGIN IMMEDIATE already serialises them.)
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_ID}
            )
        context.run_migrations()


def run_migrations_online() -> None:
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    url = context.config.get_main_option("sqlalchemy.url") or database_url(None)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():  # pragma: no cover - offline SQL scripts are not used
    raise SystemExit("spinecoach migrations run online only: use spinecoach.store.db.upgrade")
run_migrations_online()
