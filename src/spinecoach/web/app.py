"""The FastAPI application: ``create_app(settings)``; nothing is made at import time.

The app is its lifespan and its routers. The lifespan makes what the routes depend on
(:mod:`spinecoach.web.deps`): the settings, the catalogue, the history of the default
local person (:class:`~spinecoach.services.history.History`, given the live session's
replay of stored samples), the device hub, and the posture monitor with its task. The
routes are in :mod:`spinecoach.web.routes`, one module per area; static files come from
the package's ``web/static``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, time

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from spinecoach import __version__
from spinecoach.camera.source import CameraSource
from spinecoach.errors import ConfigurationError
from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.recording import Recording
from spinecoach.services.history import History
from spinecoach.sources.live import DeviceLimitError, SourceHub
from spinecoach.web.attempts import AttemptLimiter
from spinecoach.web.authz import authorize, check_policy_covers, is_loopback
from spinecoach.web.deps import replay_live_samples
from spinecoach.web.headers import (
    SecurityHeadersMiddleware,
    TrustedHostMiddleware,
    allowed_hosts,
    docs_urls,
)
from spinecoach.web.limits import BodyLimit, BodyLimitMiddleware
from spinecoach.web.origin import SameOriginMiddleware
from spinecoach.web.posture_monitor import PostureMonitor
from spinecoach.web.routes import (
    accounts,
    catalogue,
    devices,
    live,
    pages,
    posture,
    program,
    progress,
    report,
    sessions,
)
from spinecoach.web.settings import Settings, get_settings

log = logging.getLogger(__name__)

#: Every router of the app (the pages, then the API by area, then the live socket).
ROUTERS = (
    pages.router,
    accounts.router,  # sign-in, the first account, the admin's users and audit log
    catalogue.router,
    sessions.router,
    program.router,  # the 6-week program: onboarding, tracking, reminders
    progress.router,  # the program's plan, suggestions and charts
    report.router,  # the program report (PDF, HTML) for the Progress page
    devices.router,  # live devices: phone push, phyphox, Bluetooth LE
    posture.router,  # the working day: posture, bouts, desk breaks
    live.router,
)


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
    if settings.auth == "single-person" and not is_loopback(settings.host):
        raise ConfigurationError(
            f"single-person mode has no password, so it serves this computer only, but the "
            f"server would bind to {settings.host}: bind to 127.0.0.1, or use accounts "
            "(SPINECOACH_AUTH=accounts; make the first with spinecoach users add)"
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        history = await asyncio.to_thread(
            History.open, settings.database_url, replay_samples=replay_live_samples
        )
        state = app.state
        state.settings, state.catalogue, state.history = settings, default_catalogue(), history
        state.camera_source = camera_source
        # serve --workers N: a hub that takes no device (web.workers.WorkerHub)
        hub = getattr(state, "hub_type", SourceHub)()
        state.hub, state.push_joiners, state.device_tasks = hub, {}, {}
        state.posture = None
        state.token_attempts = AttemptLimiter()  # wrong device tokens back off (authz)
        state.login_attempts = AttemptLimiter()  # wrong passwords, per client address
        state.login_user_attempts = AttemptLimiter()  # … and per user name
        posture_task = None
        if settings.posture != "off":
            state.posture = PostureMonitor(history, settings.posture)
            posture_task = asyncio.create_task(
                _run_posture(state.posture, settings, app, posture_day)
            )
        try:
            yield
        finally:
            if posture_task is not None:
                posture_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await posture_task
            await devices.stop_all_sources(state.device_tasks)
            history.close()

    app = FastAPI(
        title="spinecoach",
        version=__version__,
        summary="Live lower-back mobility coaching (a coaching tool, not a medical device).",
        lifespan=lifespan,
        docs_url=docs_urls(settings)[0],  # off by default: their scripts come from a CDN
        redoc_url=docs_urls(settings)[1],
    )
    # Outermost last: headers on every answer, then the Host check, then the same-origin
    # check (another site's page may not change data or open the socket), then body limits.
    default_limit = BodyLimit(settings.max_body_bytes)
    app.add_middleware(BodyLimitMiddleware, default=default_limit, per_path=devices.BODY_LIMITS)
    app.add_middleware(SameOriginMiddleware)
    app.add_middleware(TrustedHostMiddleware, allowed=allowed_hosts(settings))
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(packages=[("spinecoach.web", "static")]), name="static")
    app.add_exception_handler(DeviceLimitError, _device_limit)
    # ONE authorization layer: every route runs authorize first (spinecoach.web.authz);
    # a route without an access rule stops the server from starting.
    check_policy_covers([route for router in ROUTERS for route in router.routes])
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(authorize)])
    return app


async def _device_limit(_request: Request, error: Exception) -> JSONResponse:
    """The device hub is full of devices in use (any route that adds a device): 503."""
    assert isinstance(error, DeviceLimitError)
    return JSONResponse(
        status_code=503, content={"detail": {"problem": error.problem, "fix": error.fix}}
    )


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
