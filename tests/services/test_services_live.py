"""Keeping a live session in the history (spinecoach.services.live): one behaviour for
the web socket and the terminal coach, tested here, through the one runner
(spinecoach.coach.runner) from both faces, and end to end
(tests/web/test_web_not_saved.py, tests/coach/test_terminal.py)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text

from spinecoach.services.history import History
from spinecoach.services.live import (
    NOT_SAVED_AT_END,
    NOT_SAVED_AT_START,
    StoreNotice,
    begin_storing,
    store_loop,
)


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
    """Commits fail, fail, succeed, fail, succeed: the face is told twice that data is not
    saved (once per run of failures, with the reason) and twice that it is saved again
    (issue 16 item 8), and the loop keeps committing."""
    outcomes = iter([False, False, True, False, True, True])
    calls: list[bool] = []
    told: list[StoreNotice] = []

    def flush() -> None:
        ok = next(outcomes)
        calls.append(ok)
        if not ok:
            raise OSError("disk full")

    async def tell(notice: StoreNotice) -> None:
        told.append(notice)

    async def run() -> None:
        task = asyncio.create_task(store_loop(flush, tell, interval_s=0.01))
        while len(calls) < 6:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert calls[:6] == [False, False, True, False, True, True]
    assert [n.code for n in told] == ["not-saved", "saved-again", "not-saved", "saved-again"]
    assert "could not be saved (writing failed (OSError: disk full))" in told[0].message
    assert told[0] == told[2] and told[1].message.endswith("nothing was lost")


# --- the one runner (spinecoach.coach.runner.LiveRun) from both faces -----------------------------
class _HistoryThatCannotFinish(History):
    """A real SQLite history whose completion of a live session fails (a full disk at
    the very end): the session was stored and committed while it ran."""

    def complete_live(self, recorder: Any, result: Any, **_: Any) -> int:
        raise OSError("disk full")


def _failing_history(tmp_path: Path) -> History:
    tmp_path.mkdir(parents=True, exist_ok=True)
    opened = History.open(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    return _HistoryThatCannotFinish(opened.engine, opened.person_id, opened.replay_samples)


class _Socket:
    """The web socket of one client that starts a simulated session and leaves once it
    has the summary (what starlette's WebSocket offers the live connection)."""

    def __init__(self, start: dict[str, Any]) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.incoming.put_nowait({"type": "websocket.receive", "text": json.dumps(start)})
        self.sent: list[dict[str, Any]] = []

    async def accept(self) -> None:
        pass

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send_text(self, text: str) -> None:
        message = json.loads(text)
        self.sent.append(message)
        if message["type"] == "summary":
            self.incoming.put_nowait({"type": "websocket.disconnect"})


def test_a_session_whose_end_cannot_be_saved_is_said_from_both_faces(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The one runner on a store that fails at the end, from the web socket and from the
    terminal: the person gets the summary (no session id) and is told it was not saved;
    the log says why. The terminal once swallowed nothing here but crashed instead."""
    from rich.console import Console

    from spinecoach.cli.terminal import CoachSettings, run_session
    from spinecoach.web.live import LiveConnection
    from spinecoach.web.settings import Settings

    history = _failing_history(tmp_path / "web")
    socket = _Socket({"type": "start", "technique": "pelvic-tilt", "seed": 2, "reps": 2})
    connection = LiveConnection(
        socket,  # type: ignore[arg-type]
        Settings(sim_speed=1000.0),
        history,
    )
    try:
        with caplog.at_level(logging.ERROR):
            asyncio.run(asyncio.wait_for(connection.run(), 120.0))
    finally:
        history.close()
    kinds = [m["type"] for m in socket.sent]
    errors = [m for m in socket.sent if m["type"] == "error"]
    assert [e["code"] for e in errors] == ["not-saved"]
    assert (errors[0]["message"], errors[0]["fix"]) == NOT_SAVED_AT_END
    assert kinds.index("error") < kinds.index("summary")
    (summary,) = [m for m in socket.sent if m["type"] == "summary"]
    assert summary["session_id"] is None and len(summary["result"]["reps"]) == 2
    web_log = [r for r in caplog.records if "saving the session to the history failed" in r.message]
    assert len(web_log) == 1
    caplog.clear()

    history = _failing_history(tmp_path)
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, color_system=None)
    settings = CoachSettings("pelvic-tilt", seed=2, reps=2, speed=1000.0)
    try:
        with caplog.at_level(logging.ERROR):
            outcome = run_session(settings, console, history=history)
    finally:
        history.close()
    assert f"not saved: {NOT_SAVED_AT_END[0]}; {NOT_SAVED_AT_END[1]}" in buffer.getvalue()
    assert len(outcome.result.reps) == 2 and outcome.session_id is None
    assert any("saving the session to the history failed" in r.message for r in caplog.records)
