"""Store fixtures: every store test runs on SQLite and on a real PostgreSQL server.

The PostgreSQL server is the throwaway cluster of ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from spinecoach.store.db import make_engine, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database (no tables) on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    url: str = request.getfixturevalue("empty_postgres_url")
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
