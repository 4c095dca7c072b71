"""Helpers for the web tests: a real server in a thread, and a client that reads the live
protocol's messages."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from websockets.sync.client import ClientConnection

from spinecoach.camera.source import CameraSource
from spinecoach.recording import Recording
from spinecoach.web.app import create_app
from spinecoach.web.settings import Settings


@dataclass(frozen=True)
class LiveServer:
    """Where the test server listens."""

    http_url: str
    ws_url: str


def receive(ws: ClientConnection, timeout_s: float = 10.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=timeout_s))
    return message


def collect_until(ws: ClientConnection, kind: str, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """Every message up to and including the first of type ``kind``."""
    deadline = time.monotonic() + timeout_s
    messages: list[dict[str, Any]] = []
    while True:
        message = receive(ws, max(deadline - time.monotonic(), 0.01))
        messages.append(message)
        if message["type"] == kind:
            return messages


def send(ws: ClientConnection, **message: Any) -> None:
    ws.send(json.dumps(message))


def serve(
    settings: Settings,
    *,
    posture_day: Recording | None = None,
    camera_source: Callable[[], CameraSource] | None = None,
) -> Iterator[LiveServer]:
    """A real uvicorn server on a free loopback port, in a background thread
    (``posture_day``: the simulated day a ``sim-day`` posture monitor replays;
    ``camera_source``: makes the camera of camera sessions)."""
    yield from serve_app(create_app(settings, posture_day=posture_day, camera_source=camera_source))


def serve_app(asgi_app: Any) -> Iterator[LiveServer]:
    """:func:`serve` for an app already made (for example by ``spinecoach serve``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        asgi_app,
        ws="websockets-sansio",  # the websockets implementation without deprecated APIs
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws/live")
    finally:
        server.should_exit = True
        thread.join(timeout=10.0)
        sock.close()


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    http_url: str
    ws_url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(
    process: subprocess.Popen[bytes], http_url: str, log: Path, *, timeout_s: float
) -> None:
    """Wait until a ``spinecoach serve`` child answers ``/api/health`` with 200 (its log
    in the error when it exits or does not start within ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()}")
        try:
            if httpx.get(f"{http_url}/api/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the server did not start: {log.read_text()}")
        time.sleep(0.1)


def start_server_process(database_url: str, speed: float, log: Path) -> ServerProcess:
    """``spinecoach serve`` in its own process (so it can be killed), on a free loopback
    port, logging to ``log``; returns when its health check answers."""
    port = free_port()
    env = {**os.environ, "SPINECOACH_SIM_SPEED": str(speed)}
    env.pop("SPINECOACH_DATABASE_URL", None)
    with log.open("ab") as out:
        args = ["serve", "--port", str(port), "--database", database_url]
        process = subprocess.Popen(
            [sys.executable, "-m", "spinecoach", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    http_url = f"http://127.0.0.1:{port}"
    wait_until_healthy(process, http_url, log, timeout_s=30.0)
    return ServerProcess(process, http_url, f"ws://127.0.0.1:{port}/ws/live")
