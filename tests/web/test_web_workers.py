"""``spinecoach serve --workers N`` (issue 17 item 2), for real: a server of two
processes on a loopback port, over real HTTP and WebSockets, on SQLite (WAL) and on a
real PostgreSQL server. Sessions streamed at once are all stored bit for bit whichever
process holds them; any process answers the history; SIGTERM stops every process; a
worker dies with a killed parent; features that keep state in one process refuse more
than one (and the device hub of a worker takes no device, naming the fix)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from live_load import ServeProcess, children, session_messages, start_serve, stored_counts
from live_load import stream_session as stream
from typer.testing import CliRunner

from spinecoach.cli import app as cli_app
from spinecoach.services import accounts
from spinecoach.sim import simulate
from spinecoach.sources.live import DeviceLimitError
from spinecoach.store.db import make_engine
from spinecoach.web.authz import COOKIE

N_SESSIONS = 6


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'workers.sqlite3'}"
    url: str = request.getfixturevalue("empty_postgres_url")
    return url


def workers_of(server: ServeProcess) -> list[int]:
    """The worker processes of a multi-process server (uvicorn spawns them)."""
    out = []
    for pid in children(server.process.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command and b"resource_tracker" not in command:
            out.append(pid)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _cookie(database_url: str) -> str:
    engine = make_engine(database_url)
    try:
        user = accounts.add_user(engine, "ann", "ann password 123", "person")
        return accounts.start_session(engine, user.id)
    finally:
        engine.dispose()


def test_two_processes_store_every_session_and_stop_on_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    server = start_serve(
        database_url,
        tmp_path / "server.log",
        "--workers",
        "2",
        "--source",
        "external",
        env={"SPINECOACH_AUTH": "accounts"},
    )
    try:
        deadline = time.monotonic() + 30.0
        while len(workers := workers_of(server)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(workers) == 2, (workers, (tmp_path / "server.log").read_text())
        cookie = _cookie(database_url)
        recording = simulate("pelvic-tilt", seed=4, reps=3)
        texts = session_messages(recording)
        headers = {"cookie": f"{COOKIE}={cookie}"}

        async def main() -> list:  # type: ignore[type-arg]
            until = asyncio.get_running_loop().time() + 60.0
            return await asyncio.gather(
                *[
                    stream(server.ws_url, texts, speed=20.0, until_s=until, headers=headers)
                    for _ in range(N_SESSIONS)
                ]
            )

        results = asyncio.run(main())
        ids = set()
        for got in results:
            assert got.session_id is not None, got.of_type("error")
            ids.add(got.session_id)
            stored = stored_counts(database_url, got.session_id)
            assert set(stored) == {"lower", "upper"}
            for placement, times in stored.items():  # every sample, bit for bit
                np.testing.assert_array_equal(times, recording.sensors[placement].time_s)
            assert len(got.of_type("rep")) == 3
        assert len(ids) == N_SESSIONS
        # Any process answers the history: ask several times over new connections.
        for _ in range(6):
            with httpx.Client(base_url=server.http_url, cookies={COOKIE: cookie}) as http:
                listed = http.get("/api/sessions", timeout=10.0).json()
            assert {s["id"] for s in listed if s["status"] == "completed"} >= ids
    finally:
        began = time.monotonic()
        code = server.stop(timeout_s=40.0)
    assert time.monotonic() - began < 15.0
    assert code in (0, -signal.SIGTERM)
    assert not [pid for pid in workers if _alive(pid)]  # every worker stopped


def test_a_worker_dies_with_a_killed_server(tmp_path: Path) -> None:
    server = start_serve(
        f"sqlite:///{tmp_path / 'h.sqlite3'}",
        tmp_path / "server.log",
        "--workers",
        "2",
        env={"SPINECOACH_AUTH": "accounts"},
    )
    deadline = time.monotonic() + 30.0
    while len(workers := workers_of(server)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(workers) == 2
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    deadline = time.monotonic() + 20.0
    while [pid for pid in workers if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if _alive(pid)]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--auth", "single-person"], "single-person mode"),
        (["--auth", "accounts", "--posture", "sim-day"], "--posture sim-day"),
        (["--auth", "accounts", "--source", "devices"], "--source devices"),
    ],
)
def test_one_process_features_refuse_more_workers(
    args: list[str], reason: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *_a, **_k: pytest.fail("must not start"))
    database = ["--database", f"sqlite:///{tmp_path / 'h.sqlite3'}"]
    result = CliRunner().invoke(cli_app, ["serve", "--workers", "2", *args, *database])
    assert result.exit_code == 2, result.output
    assert reason in result.output
    assert "needs one server process; use --workers 1" in " ".join(result.output.split())


def test_the_default_is_the_cores_or_one_process_when_needed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    monkeypatch.delenv("SPINECOACH_WORKERS", raising=False)
    monkeypatch.setattr("spinecoach.services.history.History.open", lambda *_a, **_k: _Closed())
    runner = CliRunner()
    database = ["--database", f"sqlite:///{tmp_path / 'h.sqlite3'}"]
    assert runner.invoke(cli_app, ["serve", "--auth", "accounts", *database]).exit_code == 0
    assert runner.invoke(cli_app, ["serve", "--auth", "single-person", *database]).exit_code == 0
    many, one = calls
    assert many["app"] == "spinecoach.web.workers:worker_app" and many["workers"] == 3
    assert many["factory"] is True
    assert not isinstance(one["app"], str) and "workers" not in one


class _Closed:
    def close(self) -> None:
        return None


def test_a_workers_device_hub_takes_no_device_and_says_the_fix() -> None:
    from spinecoach.web.workers import WorkerHub

    hub = WorkerHub()
    with pytest.raises(DeviceLimitError) as caught:
        hub.device("phone-1", kind="phone", name="my phone")
    assert "a device's samples stay in the one that received them" in caught.value.problem
    assert caught.value.fix == (
        "start the server with --workers 1 to connect phones and Bluetooth sensors"
    )
