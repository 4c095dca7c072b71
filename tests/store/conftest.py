"""Store fixtures: every store test runs on SQLite and on a real PostgreSQL server.

The PostgreSQL server is a throwaway cluster started once per test session on a free
loopback port (see :mod:`spinecoach.store.pgserver`). Missing server binaries fail the
tests with the package to install; they are never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from spinecoach.errors import ConfigurationError
from spinecoach.store.db import make_engine, upgrade
from spinecoach.store.pgserver import ThrowawayPostgres, find_postgres_bindir

PG_DATABASE = "spinecoach_test"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        bindir = find_postgres_bindir()
    except ConfigurationError as exc:
        pytest.fail(f"PostgreSQL is needed by the store tests: {exc}", pytrace=False)
    with ThrowawayPostgres(bindir) as server:
        yield server.create_database(PG_DATABASE)


def _reset_postgres(url: str) -> None:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database (no tables) on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    _reset_postgres(url)
    return url


@pytest.fixture
def url(empty_url: str) -> str:
    """The URL of a database migrated to the newest revision."""
    upgrade(empty_url)
    return empty_url


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    made = make_engine(url)
    yield made
    made.dispose()
