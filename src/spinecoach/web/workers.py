"""The app of one worker process of ``spinecoach serve --workers N``.

``serve`` checks the settings, prepares the database once (migrations, the local person,
stale sessions marked interrupted: :meth:`~spinecoach.services.history.History.open`),
writes the settings to :data:`SETTINGS_ENV` as JSON and the number of workers to
:data:`WORKERS_ENV`, and starts uvicorn's multi-process mode with :func:`worker_app` as
the app factory: uvicorn binds the port once, spawns N processes that accept on that
socket (the kernel spreads connections over them), restarts a worker that dies, and on
SIGTERM or Ctrl+C stops them all (each completes its live sessions as "connection
closed", like one process does).

A live session lives in the process that accepted its WebSocket; everything it stores
goes to the database through that process's commit loop, so any worker answers the
history, the program and the reports. What stays per process is written down in
docs/architecture.md ("Several processes").

A worker also dies with its parent (Linux ``PR_SET_PDEATHSIG``): a ``serve`` killed with
SIGKILL leaves no worker behind that would go on holding sessions and the port.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from typing import Final

from fastapi import FastAPI

from spinecoach.sources.live import DeviceFeed, DeviceLimitError, SourceHub

#: The settings of the workers, as JSON (written by ``serve``).
SETTINGS_ENV: Final = "SPINECOACH_SERVE_SETTINGS"
#: The number of worker processes (written by ``serve``).
WORKERS_ENV: Final = "SPINECOACH_SERVE_WORKERS"
#: ``prctl`` option: the signal a process gets when its parent dies (Linux).
_PR_SET_PDEATHSIG: Final = 1


def workers_of_this_server() -> int:
    """How many worker processes this server runs (1 when not started by ``serve
    --workers``)."""
    try:
        return max(1, int(os.environ.get(WORKERS_ENV, "1")))
    except ValueError:
        return 1


def die_with_parent() -> None:
    """Ask the kernel to end this process when its parent dies (Linux; elsewhere
    nothing): a killed ``serve`` leaves no worker behind."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not available: uvicorn's own supervision remains
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def worker_app() -> FastAPI:
    """The app of a worker (uvicorn's factory, ``spinecoach.web.workers:worker_app``)."""
    from spinecoach.errors import ConfigurationError
    from spinecoach.web.app import create_app
    from spinecoach.web.settings import Settings

    raw = os.environ.get(SETTINGS_ENV)
    if not raw:
        raise ConfigurationError(
            f"{SETTINGS_ENV} is not set: a worker app is made by spinecoach serve --workers N; "
            "start the server with spinecoach serve"
        )
    die_with_parent()
    app = create_app(Settings.model_validate_json(raw))
    app.state.workers = workers_of_this_server()
    if app.state.workers > 1:
        app.state.hub_type = WorkerHub
    return app


class WorkerHub(SourceHub):
    """The device hub of one of several server processes: it takes no device, because
    a device's samples stay in the process that received them (its pushes) while the
    session that reads them may run in another; a face answers 503 with the fix."""

    def device(
        self, device_id: str, *, kind: str, name: str, owner: int | None = None
    ) -> DeviceFeed:
        known = self.get(device_id, owner)
        if known is not None:
            return known
        raise DeviceLimitError(
            f"cannot add device {device_id[:60]!r}: this server runs "
            f"{workers_of_this_server()} processes, and a device's samples stay in the one "
            "that received them",
            fix="start the server with --workers 1 to connect phones and Bluetooth sensors",
        )


__all__ = [
    "SETTINGS_ENV",
    "WORKERS_ENV",
    "WorkerHub",
    "die_with_parent",
    "worker_app",
    "workers_of_this_server",
]
