"""The server on a damaged history: a live session that cannot be stored goes on, and the
client is told it is not saved (the behaviour the terminal coach shares,
spinecoach.services.live). A real server process, a real WebSocket client, SQLite."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text
from web_client import receive, send, start_server_process
from websockets.sync.client import connect

from spinecoach.store.db import make_engine


def test_a_session_the_history_cannot_keep_runs_and_says_not_saved(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    server = start_server_process(url, speed=20.0, log=tmp_path / "server.log")
    try:
        engine = make_engine(url)
        with engine.begin() as db:
            db.execute(text("PRAGMA foreign_keys=OFF"))
            db.execute(text("DROP TABLE sessions"))
        engine.dispose()
        with connect(server.ws_url) as ws:
            assert receive(ws)["type"] == "hello"
            send(ws, type="start", technique="pelvic-tilt", seed=2, reps=1)
            errors, frames = [], 0
            deadline = time.monotonic() + 60.0
            while frames < 20 or not errors:
                assert time.monotonic() < deadline, (frames, errors)
                message = receive(ws, 30.0)
                if message["type"] == "error":
                    errors.append(message)
                elif message["type"] == "frame":
                    frames += 1
                assert message["type"] != "summary" or errors, "ended without saying"
        (error,) = [e for e in errors if e["code"] == "not-saved"]
        assert "could not be saved" in error["message"] and "database" in error["fix"]
        assert "storing the live session failed" in (tmp_path / "server.log").read_text()
    finally:
        server.process.kill()
        server.process.wait(timeout=10)
