"""A real uvicorn server on a free loopback port, in a background thread, per module."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from web_client import LiveServer

from spinecoach.web.app import create_app
from spinecoach.web.settings import Settings


def _serve(settings: Settings) -> Iterator[LiveServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings),
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


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    """The app with the simulator replayed as fast as the CPU allows."""
    yield from _serve(Settings(sim_speed=10_000.0))
