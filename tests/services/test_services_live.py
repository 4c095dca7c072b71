"""Keeping a live session in the history (spinecoach.services.live): one behaviour for
the web socket and the terminal coach, tested here and from both faces
(tests/web/test_web_not_saved.py, tests/cli/test_coach.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from spinecoach.services.history import History
from spinecoach.services.live import NOT_SAVED_AT_START, NOT_SAVED_YET, begin_storing, store_loop


def _broken_history(tmp_path: Path) -> History:
    """A real SQLite history whose sessions table is gone (a damaged database)."""
    history = History.open(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    with history.engine.begin() as db:
        db.execute(text("PRAGMA foreign_keys=OFF"))
        db.execute(text("DROP TABLE sessions"))
    return history


def _begin(history: History) -> tuple[tuple[str, str] | None, SimpleNamespace]:
    """begin_storing a pelvic-tilt session in ``history``: (what to show, the session)."""
    session = SimpleNamespace(recorder=None, session_id=None)
    try:
        failed = begin_storing(
            lambda: history.start_live(
                "pelvic-tilt", source="sim", live_config={}, pain_before_mm=None
            ),
            session,
        )
    finally:
        history.close()
    return failed, session


def test_a_session_that_cannot_be_stored_runs_unsaved_and_says_so(tmp_path: Path) -> None:
    failed, session = _begin(_broken_history(tmp_path))
    assert failed == NOT_SAVED_AT_START
    assert session.recorder is None and session.session_id is None


def test_a_stored_session_gets_its_recorder(tmp_path: Path) -> None:
    failed, session = _begin(History.open(f"sqlite:///{tmp_path / 'history.sqlite3'}"))
    assert failed is None
    assert session.recorder is not None and session.session_id == session.recorder.session_id


def test_failed_commits_are_said_once_per_run_of_failures() -> None:
    """Commits fail, fail, succeed, fail: the face is told twice (once per run), and the
    loop keeps committing."""
    outcomes = iter([False, False, True, False, True, True])
    calls: list[bool] = []
    told: list[tuple[str, str]] = []

    def flush() -> None:
        ok = next(outcomes)
        calls.append(ok)
        if not ok:
            raise OSError("disk full")

    async def tell(texts: tuple[str, str]) -> None:
        told.append(texts)

    async def run() -> None:
        task = asyncio.create_task(store_loop(flush, tell, interval_s=0.01))
        while len(calls) < 6:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert calls[:6] == [False, False, True, False, True, True]
    assert told == [NOT_SAVED_YET, NOT_SAVED_YET]
