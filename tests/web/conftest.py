"""A real uvicorn server on a free loopback port, in a background thread, per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web_client import LiveServer, serve

from spinecoach.web.settings import Settings


@pytest.fixture(scope="module", autouse=True)
def _history_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Every server of the web tests keeps its history in a throwaway SQLite file, one per
    module: a person's history changes what a session does (a kept calibration makes the
    next session check in 5 s instead of calibrating fully), so a module's sessions do
    not depend on which modules ran before."""
    url = f"sqlite:///{tmp_path_factory.mktemp('history')}/spinecoach.sqlite3"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPINECOACH_DATABASE_URL", url)
        yield url


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    """The app with the simulator replayed as fast as the CPU allows."""
    yield from serve(Settings(sim_speed=10_000.0))
