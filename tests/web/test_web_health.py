"""GET /api/health tells the truth (issue 16 item 8: it said "ok" with a full disk): a
real write on SQLite and PostgreSQL, the free disk against the server's threshold, 503
when the database cannot be written (another program holds SQLite's write lock)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from web_client import serve

from spinecoach.web.protocol import PROTOCOL_VERSION
from spinecoach.web.settings import Settings


def client(url: str, **settings: float) -> Iterator[httpx.Client]:
    """An HTTP client of a real server (uvicorn, loopback) on the database at ``url``."""
    for server in serve(Settings(database_url=url, **settings)):
        with httpx.Client(base_url=server.http_url, timeout=10.0) as made:
            yield made


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'history.sqlite3'}"


def test_health_is_ok_with_a_writable_database_and_room(sqlite_url: str) -> None:
    for http in client(sqlite_url, health_min_free_mb=0.0):
        response = http.get("/api/health")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok" and body["protocol"] == PROTOCOL_VERSION
        assert body["database"] == "sqlite" and body["writable"] is True
        assert body["free_disk_mb"] > 0 and body["min_free_disk_mb"] == 0.0
        assert body["problems"] == [] and body["unsaved_sessions"] == 0


def test_health_is_degraded_below_the_free_disk_threshold(sqlite_url: str) -> None:
    for http in client(sqlite_url, health_min_free_mb=9_000_000.0):  # 9 TB asked
        response = http.get("/api/health")
        assert response.status_code == 200  # still writable: degraded, not down
        body = response.json()
        assert body["status"] == "degraded" and body["writable"] is True
        (problem,) = body["problems"]
        assert (
            "MB are free on the database's disk (the server asks for 9e+06 MB)" in (problem["what"])
        )
        assert "free space on the server's disk" in problem["fix"]


def test_health_answers_503_when_the_database_cannot_be_written(
    sqlite_url: str, tmp_path: Path
) -> None:
    for http in client(sqlite_url, health_min_free_mb=0.0):
        assert http.get("/api/health").status_code == 200
        time.sleep(1.1)  # the answer is kept for 1 s (a burst shares one check)
        other = sqlite3.connect(tmp_path / "history.sqlite3", isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
            response = http.get("/api/health")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "degraded" and body["writable"] is False
        (problem,) = body["problems"]
        assert problem["what"] == (
            "the database cannot be written: the database stayed locked by another "
            "program for too long"
        )
        assert "close the program that holds it" in problem["fix"]
        time.sleep(1.1)
        assert http.get("/api/health").json()["status"] == "ok"


def test_health_on_postgresql(postgres_url: str) -> None:
    for http in client(postgres_url, health_min_free_mb=500.0):
        response = http.get("/api/health")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok" and body["database"] == "postgresql"
        assert body["writable"] is True and body["free_disk_mb"] is None
