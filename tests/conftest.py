"""Shared fixtures: where the real recordings live, and a real PostgreSQL server.

The PostgreSQL server is a throwaway cluster started once per test session on a free
loopback port (see :mod:`spinecoach.store.pgserver`). Missing server binaries fail the
tests with the package to install; they are never skipped.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from spinecoach.errors import ConfigurationError
from spinecoach.store.pgserver import ThrowawayPostgres, find_postgres_bindir

#: The feature tests run the server in single-person mode (no sign-in, loopback only: what
#: ``make demo`` runs); the tests of accounts and of the authorization matrix
#: (tests/web/test_web_authz*.py, test_web_accounts*.py) set ``auth="accounts"``
#: explicitly. Servers started as subprocesses inherit this.
os.environ.setdefault("SPINECOACH_AUTH", "single-person")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
FUSION_CSV = SHARED_DATA / "fusion" / "sensor_data.csv"


@pytest.fixture
def fusion_csv() -> Path:
    if not FUSION_CSV.exists():
        pytest.skip(f"real Fusion recording not found at {FUSION_CSV} (../shared/data is absent)")
    return FUSION_CSV


PG_DATABASE = "spinecoach_test"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a database on a throwaway PostgreSQL cluster (one per test session)."""
    try:
        bindir = find_postgres_bindir()
    except ConfigurationError as exc:
        pytest.fail(f"PostgreSQL is needed by the store tests: {exc}", pytrace=False)
    with ThrowawayPostgres(bindir) as server:
        yield server.create_database(PG_DATABASE)


@pytest.fixture
def empty_postgres_url(postgres_url: str) -> str:
    """The PostgreSQL test database, emptied of every table."""
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")
    return postgres_url


@contextlib.contextmanager
def _small_tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (e.g. ``"8m"``) mounted on the new folder ``folder``, for a real
    full disk (skips the test with the reason when mounting is not permitted here)."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a {size} tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.fixture
def small_tmpfs() -> object:
    """``small_tmpfs(folder, size)``: a context manager mounting a tmpfs of ``size`` on
    the new ``folder`` (see :func:`_small_tmpfs`)."""
    return _small_tmpfs
