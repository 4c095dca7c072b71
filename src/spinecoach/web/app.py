"""The FastAPI application: ``create_app(settings)``; nothing is made at import time.

Routes are thin: health, the technique catalogue, and ``/ws/live`` (the live protocol,
``docs/live-protocol.md``), which hands the socket to :class:`~spinecoach.web.live.LiveConnection`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, WebSocket

from spinecoach import __version__
from spinecoach.exercises.catalogue import Catalogue, default_catalogue
from spinecoach.exercises.engine import SUPPORTED
from spinecoach.web.live import LiveConnection
from spinecoach.web.protocol import PROTOCOL_VERSION
from spinecoach.web.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The spinecoach server app (``settings`` default: :func:`get_settings`)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.catalogue = default_catalogue()
        yield

    app = FastAPI(
        title="spinecoach",
        version=__version__,
        summary="Live lower-back mobility coaching (a coaching tool, not a medical device).",
        lifespan=lifespan,
    )

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "protocol": PROTOCOL_VERSION, "version": __version__}

    @app.get("/api/techniques")
    async def techniques(request: Request) -> list[dict[str, Any]]:
        catalogue: Catalogue = request.app.state.catalogue
        return [
            {
                "name": t.name,
                "title": t.title,
                "position": t.position,
                "dose": dataclasses.asdict(t.dose),
                "live": t.name in SUPPORTED,
            }
            for t in catalogue.techniques.values()
        ]

    @app.websocket("/ws/live")
    async def live(websocket: WebSocket) -> None:
        await LiveConnection(websocket, websocket.app.state.settings).run()

    return app
