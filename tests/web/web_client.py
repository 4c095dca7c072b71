"""Helpers for the web tests: read the live protocol's messages from a real client."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from websockets.sync.client import ClientConnection


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
