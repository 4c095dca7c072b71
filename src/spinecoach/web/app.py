"""The FastAPI application: ``create_app(settings)``; nothing is made at import time.

Routes are thin: the page (``/`` and ``/history``, static files from the package's
``web/static``), health, the technique catalogue, the history (``/api/sessions``, pain
after a session, each session's plot as a PNG, :mod:`spinecoach.web.plots`) and
``/ws/live`` (the live protocol, ``docs/live-protocol.md``), which hands the socket to
:class:`~spinecoach.web.live.LiveConnection`. The database engine and the default local
person are made in the lifespan (:class:`~spinecoach.services.history.History`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, time
from importlib import resources
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from spinecoach import __version__
from spinecoach.camera.setup import CAMERA_VIEWS
from spinecoach.camera.source import CameraSource
from spinecoach.errors import ConfigurationError, InputFormatError, SpinecoachError
from spinecoach.exercises.catalogue import Catalogue, default_catalogue
from spinecoach.exercises.engine import SUPPORTED
from spinecoach.recording import Recording
from spinecoach.services.history import History, SessionStateError
from spinecoach.sources.live import SourceHub
from spinecoach.web.deps import replay_live_samples
from spinecoach.web.device_routes import router as device_router
from spinecoach.web.device_routes import stop_all_sources
from spinecoach.web.live import LiveConnection
from spinecoach.web.plots import PlotNotFound, SessionPlots
from spinecoach.web.posture_monitor import PostureMonitor
from spinecoach.web.posture_routes import router as posture_router
from spinecoach.web.program_routes import router as program_router
from spinecoach.web.progress_routes import router as progress_router
from spinecoach.web.protocol import PROTOCOL_VERSION
from spinecoach.web.settings import Settings, get_settings


class PainIn(BaseModel):
    """A pain rating on the 0–100 mm visual analogue scale."""

    model_config = ConfigDict(extra="forbid")

    vas_mm: float = Field(
        ge=0.0, le=100.0, description="0 = no pain, 100 = worst imaginable pain (mm)."
    )
    context: Literal["before", "after"] = "after"


def create_app(
    settings: Settings | None = None,
    *,
    posture_day: Recording | None = None,
    camera_source: Callable[[], CameraSource] | None = None,
) -> FastAPI:
    """The spinecoach server app (``settings`` default: :func:`get_settings`).

    ``posture_day``: the recording a ``sim-day`` posture monitor replays (default: a
    simulated 16-hour working day from ``settings.posture_sim_seed``). ``camera_source``:
    makes the camera of each camera session (default: ``settings.camera`` through OpenCV
    and MediaPipe; tests give a stand-in pose model and images)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.catalogue = default_catalogue()
        history = await asyncio.to_thread(
            History.open, settings.database_url, replay_samples=replay_live_samples
        )
        app.state.history = history
        app.state.hub = SourceHub()
        app.state.push_joiners = {}
        app.state.device_tasks = {}
        app.state.posture = None
        posture_task = None
        if settings.posture != "off":
            monitor = PostureMonitor(history, settings.posture)
            app.state.posture = monitor
            posture_task = asyncio.create_task(_run_posture(monitor, settings, app, posture_day))
        try:
            yield
        finally:
            if posture_task is not None:
                posture_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await posture_task
            await stop_all_sources(app.state.device_tasks)
            history.close()

    app = FastAPI(
        title="spinecoach",
        version=__version__,
        summary="Live lower-back mobility coaching (a coaching tool, not a medical device).",
        lifespan=lifespan,
    )

    static = resources.files("spinecoach.web").joinpath("static")
    app.mount("/static", StaticFiles(packages=[("spinecoach.web", "static")]), name="static")

    async def page() -> FileResponse:
        with resources.as_file(static.joinpath("index.html")) as path:
            return FileResponse(path, media_type="text/html")

    app.add_api_route("/", page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/history", page, methods=["GET"], include_in_schema=False)
    app.include_router(program_router)  # the 6-week program: onboarding, tracking, reminders
    app.include_router(progress_router)  # the program's plan, suggestions and charts
    app.include_router(device_router)  # live devices: phone push, phyphox, Bluetooth LE
    app.include_router(posture_router)  # the working day: posture, bouts, desk breaks
    app.add_api_route("/day", page, methods=["GET"], include_in_schema=False)

    @app.get("/api/sessions")
    async def sessions(request: Request) -> list[dict[str, Any]]:
        history: History = request.app.state.history
        return await asyncio.to_thread(history.sessions)

    @app.get(
        "/api/sessions/{session_id}/plot.png",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}, 404: {"description": "No plot"}},
    )
    async def session_plot(session_id: int, request: Request) -> Response:
        """The session's angle trace with its reps, holds and faults (PNG)."""
        state = request.app.state
        if getattr(state, "plots", None) is None:
            state.plots = SessionPlots(state.history)
        try:
            png = await state.plots.png(session_id)
        except PlotNotFound as error:
            raise HTTPException(status_code=404, detail=str(error)) from None
        except InputFormatError as error:
            raise HTTPException(status_code=500, detail=str(error)) from None
        return Response(png, media_type="image/png", headers={"Cache-Control": "private"})

    @app.post("/api/sessions/{session_id}/pain", status_code=201)
    async def pain(session_id: int, body: PainIn, request: Request) -> dict[str, Any]:
        history: History = request.app.state.history
        try:
            await asyncio.to_thread(history.add_pain, session_id, body.vas_mm, body.context)
        except ConfigurationError as error:
            raise HTTPException(status_code=404, detail=str(error)) from None
        return {"session_id": session_id, "vas_mm": body.vas_mm, "context": body.context}

    @app.post("/api/sessions/{session_id}/close")
    async def close(session_id: int, request: Request) -> dict[str, Any]:
        """Close an interrupted session with its summary (its stored samples replayed)."""
        history: History = request.app.state.history
        try:
            return await asyncio.to_thread(history.close_interrupted, session_id)
        except SessionStateError as error:
            raise HTTPException(status_code=409, detail=str(error)) from None
        except ConfigurationError as error:
            raise HTTPException(status_code=404, detail=str(error)) from None

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
                "summary": t.summary,
                "instructions": list(t.instructions),
                "main_signal": t.main_signal,
                "direction": t.direction,
                "dose": dataclasses.asdict(t.dose),
                "live": t.name in SUPPORTED,
            }
            for t in catalogue.techniques.values()
        ]

    @app.get("/api/camera")
    async def camera(request: Request) -> dict[str, Any]:
        """The camera of camera sessions: can it be used, and how each technique is
        filmed (the view, where the camera goes, whether a camera can coach it)."""
        make = camera_source or (lambda: CameraSource(settings.camera))
        source = make()
        try:
            await asyncio.to_thread(source.check_available)
            problem = None
        except SpinecoachError as error:
            problem = str(error)
        return {
            "source": source.spec.label,
            "available": problem is None,
            "problem": problem,
            "techniques": {
                name: {
                    "coachable": view.coachable,
                    "view": view.view,
                    "placement": view.placement,
                }
                for name, view in CAMERA_VIEWS.items()
            },
        }

    @app.websocket("/ws/live")
    async def live(websocket: WebSocket) -> None:
        state = websocket.app.state
        monitor: PostureMonitor | None = state.posture
        await LiveConnection(
            websocket,
            state.settings,
            state.history,
            state.hub,
            on_finished=None if monitor is None else monitor.session_finished,
            camera_source=camera_source,
        ).run()

    return app


log = logging.getLogger(__name__)


async def _run_posture(
    monitor: PostureMonitor, settings: Settings, app: FastAPI, day: Recording | None
) -> None:
    """The posture monitor's source, until shutdown (a failure is logged, not fatal)."""
    try:
        if settings.posture == "devices":
            await monitor.run_devices(app.state.hub)
            return
        if day is None:
            from spinecoach.sim.day import simulate_day

            day = await asyncio.to_thread(
                simulate_day, settings.posture_sim_seed, hours=16.0, rate_hz=25.0
            )
        tz = datetime.now().astimezone().tzinfo
        start = datetime.combine(datetime.now(tz).date(), time(7, 0), tzinfo=tz)
        await monitor.run_sim_day(day, speed=settings.posture_sim_speed, day_start=start)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("posture monitoring stopped")
