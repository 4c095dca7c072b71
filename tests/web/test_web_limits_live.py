"""Issue 16 item 5, the live server: a gap in sample time is a gap (two ``samples``
batches 100,000 s apart are handled in bounded time and memory, and the session still
stops cleanly), the server exits on SIGTERM within seconds with a session running, and
``/ws/live`` limits message size and rate.

Everything goes to loopback. The gap and the shutdown use a real ``spinecoach serve``
process: its peak resident memory is ``VmHWM`` in ``/proc/<pid>/status``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from web_client import LiveServer, ServerProcess, collect_until, free_port, receive, send
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from spinecoach.web.live_limits import MAX_MESSAGE_BYTES, MESSAGE_BURST

#: Seconds the server may take to exit after SIGTERM ("within a few seconds").
EXIT_WITHIN_S = 10.0
#: Peak memory the 100,000 s gap may add to the server (the old tracker grew 7 MB/s).
GAP_MEMORY_BOUND_BYTES = 150 * 1024**2


def _peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


def _batch(placement: str, t0_s: float, n: int = 100) -> dict[str, Any]:
    """A still sensor's samples from ``t0_s`` at 100 Hz (m/s², deg/s)."""
    rng = np.random.default_rng(int(t0_s) % 1000 + len(placement))
    acc = np.array([0.0, 0.0, 9.81]) + 0.02 * rng.standard_normal((n, 3))
    return {
        "type": "samples",
        "placement": placement,
        "rate_hz": 100.0,
        "t": (t0_s + np.arange(n) / 100.0).tolist(),
        "acc_mps2": acc.tolist(),
        "gyr_dps": (0.1 * rng.standard_normal((n, 3))).tolist(),
    }


def _stop_server(server: ServerProcess) -> float:
    """SIGTERM, then the seconds until the process exited (killed after the bound)."""
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=EXIT_WITHIN_S)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
        return float("inf")
    return time.monotonic() - started


def _start_server(tmp_path: Path) -> ServerProcess:
    """``spinecoach serve`` on a free loopback port, the simulator in real time; returns
    once its page answers (the page, not /api/health, which checks the disk)."""
    port = free_port()
    env = {**os.environ, "SPINECOACH_SIM_SPEED": "1.0"}
    env.pop("SPINECOACH_DATABASE_URL", None)
    args = ["serve", "--port", str(port), "--database", f"sqlite:///{tmp_path}/sc.sqlite3"]
    with (tmp_path / "server.log").open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "spinecoach", *args], env=env, stdout=out, stderr=out
        )
    http_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30.0
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {(tmp_path / 'server.log').read_text()}")
        try:
            if httpx.get(f"{http_url}/", timeout=1.0).status_code == 200:
                return ServerProcess(process, http_url, f"ws://127.0.0.1:{port}/ws/live")
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the server did not start")
        time.sleep(0.1)


@pytest.fixture
def server(tmp_path: Path) -> Any:
    process = _start_server(tmp_path)
    yield process
    if process.process.poll() is None:
        process.process.kill()
        process.process.wait()


def _frames_until(ws: ClientConnection, time_s: float, timeout_s: float) -> list[dict[str, Any]]:
    """Messages until a frame at or after ``time_s`` (s of session time)."""
    deadline = time.monotonic() + timeout_s
    messages = []
    while True:
        message = receive(ws, max(deadline - time.monotonic(), 0.01))
        messages.append(message)
        assert message["type"] != "error", message
        if message["type"] == "frame" and message["t"] >= time_s:
            return messages


def test_two_batches_100000_s_apart_cost_bounded_time_and_memory(server: ServerProcess) -> None:
    with connect(server.ws_url, max_size=None) as ws:
        assert receive(ws)["type"] == "hello"
        send(ws, type="start", technique="pelvic-tilt", source="external")
        for placement in ("lower", "upper"):
            send(ws, **_batch(placement, 0.0))
        _frames_until(ws, 0.9, timeout_s=20.0)
        before = _peak_rss_bytes(server.process.pid)
        started = time.monotonic()
        for placement in ("lower", "upper"):
            send(ws, **_batch(placement, 100_000.0))
        after_gap = _frames_until(ws, 100_000.5, timeout_s=20.0)  # minutes before the fix
        spent_s = time.monotonic() - started
        gap_frames = [m for m in after_gap if m["type"] == "frame" and 0.995 < m["t"] <= 100_000.0]
        assert gap_frames and all("gap in the sensor data" in m["flags"] for m in gap_frames)
        assert len(after_gap) < 200  # the gap's own frames, not one per 40 ms of the gap
        send(ws, type="stop")
        summary = collect_until(ws, "summary", timeout_s=20.0)[-1]
        assert summary["result"]["technique"] == "pelvic-tilt"
    grown = _peak_rss_bytes(server.process.pid) - before
    assert grown < GAP_MEMORY_BOUND_BYTES, f"peak memory grew {grown / 1e6:.0f} MB"
    assert spent_s < 20.0
    took_s = _stop_server(server)
    assert took_s < EXIT_WITHIN_S
    print(
        f"gap handled in {spent_s:.2f} s, peak memory +{grown / 1e6:.1f} MB; "
        f"exited {took_s:.2f} s after SIGTERM"
    )


def test_sigterm_stops_the_server_within_seconds_with_sessions_running(
    server: ServerProcess,
) -> None:
    """A simulated session replayed in real time on one connection, a client's own
    samples on another; SIGTERM right after the client's two batches 100,000 s apart
    (the old server hung: its worker thread filled the gap for minutes)."""
    sim = connect(server.ws_url, max_size=None)
    external = connect(server.ws_url, max_size=None)
    try:
        for ws, source in ((sim, "sim"), (external, "external")):
            assert receive(ws)["type"] == "hello"
            send(ws, type="start", technique="pelvic-tilt", source=source)
        for placement in ("lower", "upper"):
            send(external, **_batch(placement, 0.0))
        for ws in (sim, external):
            _frames_until(ws, 0.5, timeout_s=20.0)  # both sessions run
        for placement in ("lower", "upper"):
            send(external, **_batch(placement, 100_000.0))
        time.sleep(0.2)  # the batches arrive
        took_s = _stop_server(server)
    finally:
        sim.close()
        external.close()
    assert took_s < EXIT_WITHIN_S, "the server did not exit on SIGTERM"
    print(f"exited {took_s:.2f} s after SIGTERM")


def test_an_oversize_message_is_refused_and_the_connection_stays(live_server: LiveServer) -> None:
    with connect(live_server.ws_url, max_size=None) as ws:
        assert receive(ws)["type"] == "hello"
        huge = json.dumps({"type": "pause", "padding": "x" * (MAX_MESSAGE_BYTES + 10)})
        ws.send(huge)
        error = receive(ws)
        assert error["type"] == "error" and error["code"] == "message-too-large"
        assert str(len(huge)) in error["message"] and "1000 samples" in error["fix"]
        send(ws, type="pause")  # still open: the next message is answered
        assert receive(ws)["code"] == "no-session"


def test_a_flood_is_told_and_closed_with_1008(live_server: LiveServer) -> None:
    ws = connect(live_server.ws_url, max_size=None, max_queue=None)
    assert receive(ws)["type"] == "hello"
    pause = json.dumps({"type": "pause"})
    sent = 0
    try:
        for _ in range(20 * MESSAGE_BURST):
            ws.send(pause)
            sent += 1
    except ConnectionClosed:  # the server closed while the flood was still going
        pass
    codes = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            codes.append(json.loads(ws.recv(timeout=20.0))["code"])
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert codes[-1] == "rate-limited"
    assert set(codes[:-1]) == {"no-session"}
    assert MESSAGE_BURST <= len(codes) - 1 < sent


def test_samples_spread_thinly_are_refused_not_filled(live_server: LiveServer) -> None:
    """1000 samples 9.9 s apart (each hole just short of a gap) asked the tracker for a
    million frames; the batch is refused with ``sparse-samples`` and the session goes on."""
    with connect(live_server.ws_url, max_size=None) as ws:
        assert receive(ws)["type"] == "hello"
        send(ws, type="start", technique="pelvic-tilt", source="external", placements=["lower"])
        sparse = _batch("lower", 0.0, n=1000)
        sparse["t"] = (np.arange(1000) * 9.9).tolist()
        started = time.monotonic()
        send(ws, **sparse)
        error = collect_until(ws, "error", timeout_s=20.0)[-1]
        assert error["code"] == "sparse-samples", error
        assert "lower" in error["message"] and "rate_hz" in error["fix"]
        assert time.monotonic() - started < 20.0
        send(ws, **_batch("lower", 0.0))  # the session is unchanged: the same times work
        frames = _frames_until(ws, 0.5, timeout_s=20.0)
        assert all(m["type"] != "error" for m in frames)
        send(ws, type="stop")
        assert collect_until(ws, "summary", timeout_s=20.0)[-1]["type"] == "summary"
