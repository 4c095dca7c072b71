"""Helpers of the load tests: live sessions streamed by asyncio WebSocket clients, the
server in processes of its own (``spinecoach serve``), and the stored recording read
back to compare with what was sent."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session
from web_client import free_port, wait_until_healthy
from websockets.asyncio.client import ClientConnection, connect

from spinecoach.recording import Recording
from spinecoach.store import repository
from spinecoach.store.db import make_engine
from spinecoach.web.client_messages import client_messages


def session_messages(recording: Recording) -> list[str]:
    """The JSON texts a client sends for ``recording``
    (:func:`~spinecoach.web.client_messages.client_messages`)."""
    return [json.dumps(message) for message in client_messages(recording)]


def _samples_in(text: str) -> tuple[str, int]:
    """(placement, samples) of a samples message made by :func:`session_messages`,
    read without parsing it (cheap for the load generator)."""
    if not text.startswith('{"type": "samples"'):
        return "", 0
    placement = text.split('"placement": "', 1)[1].split('"', 1)[0]
    times = text.split('"t": [', 1)[1].split("]", 1)[0]
    return placement, times.count(",") + 1


@dataclass
class StreamedSession:
    """What one client sent and got."""

    sent: dict[str, int] = field(default_factory=dict)  # samples by placement
    received: list[dict[str, Any]] = field(default_factory=list)
    session_id: int | None = None

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m["type"] == kind]


async def _reader(ws: ClientConnection, got: StreamedSession) -> None:
    async for text in ws:
        message = json.loads(text)
        got.received.append(message)
        if message["type"] == "summary":
            got.session_id = message.get("session_id")
            return


async def stream_session(
    ws_url: str,
    texts: list[str],
    *,
    speed: float,
    until_s: float,
    headers: dict[str, str] | None = None,
    technique: str = "pelvic-tilt",
    ping_interval_s: float | None = 20.0,
) -> StreamedSession:
    """One external session: ``texts`` sent at ``speed`` × real time (10 messages of
    each sensor a second at 1×) until they run out or ``until_s`` (loop clock) passes,
    then stop and wait for the summary (up to 60 s)."""
    got = StreamedSession()
    async with connect(
        ws_url, max_size=None, additional_headers=headers, ping_interval=ping_interval_s
    ) as ws:
        reader = asyncio.create_task(_reader(ws, got))
        await ws.send(json.dumps({"type": "start", "technique": technique, "source": "external"}))
        loop = asyncio.get_running_loop()
        began = loop.time()
        interval_s = 0.1 / speed / 2  # two sensors: two messages per 0.1 s of data
        for k, text in enumerate(texts):
            if loop.time() >= until_s:
                break
            due = began + k * interval_s
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            await ws.send(text)
            placement, n = _samples_in(text)
            if n:
                got.sent[placement] = got.sent.get(placement, 0) + n
        await ws.send(json.dumps({"type": "stop"}))
        await asyncio.wait_for(reader, 60.0)
    return got


def stored_counts(database_url: str, session_id: int) -> dict[str, np.ndarray]:
    """The stored recording's sample times by placement."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as db:
            recording = repository.load_recording(db, session_id)
        return {p: s.time_s for p, s in recording.sensors.items()}
    finally:
        engine.dispose()


@dataclass
class ServeProcess:
    process: subprocess.Popen[bytes]
    http_url: str
    ws_url: str

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM, then wait; the exit code (killed after ``timeout_s``)."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def start_serve(
    database_url: str, log: Path, *args: str, env: dict[str, str] | None = None
) -> ServeProcess:
    """``spinecoach serve`` with ``args`` on a free loopback port, logging to ``log``;
    returns when its health check answers."""
    port = free_port()
    full_env = {**os.environ, **(env or {})}
    full_env.pop("SPINECOACH_DATABASE_URL", None)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "spinecoach",
                "serve",
                "--port",
                str(port),
                "--database",
                database_url,
                *args,
            ],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    http_url = f"http://127.0.0.1:{port}"
    wait_until_healthy(process, http_url, log, timeout_s=60.0)
    return ServeProcess(process, http_url, f"ws://127.0.0.1:{port}/ws/live")


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return out
