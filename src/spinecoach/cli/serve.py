"""``spinecoach serve``: the live coaching server (web API and the live WebSocket).

``--workers N`` runs N server processes on one port (default: the number of cores;
``--workers 1`` is one process). A live session stays in the process that holds its
WebSocket and everything is stored in the database, so any process answers the rest
(:mod:`spinecoach.web.workers`). Some features keep state in one process and therefore
run with one process only; the default is then 1 and ``--workers`` above 1 is refused
naming them (:func:`one_process_needed`; docs/architecture.md, "Several processes").
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Final

import typer

from spinecoach.cli.common import (
    DatabaseOption,
    err_console,
    fail,
    out_console,
    reporting_errors,
)
from spinecoach.cli.root import app
from spinecoach.errors import SpinecoachError

#: Seconds ``serve`` gives open connections after SIGTERM or Ctrl+C before it stops them
#: (a session waiting for a full disk may hold its connection up to 120 s: services.live).
SHUTDOWN_GRACE_S: Final = 30
#: Compress each WebSocket message (permessage-deflate)? No: the live protocol's messages
#: are small and many (20 a second per session each way); compressing them cost more CPU
#: than processing their samples (bench/capacity.py), for little on a local network.
WS_DEFLATE: Final = False
#: Most server processes ``--workers`` takes.
MAX_WORKERS: Final = 64
#: Seconds a worker may not answer uvicorn's health ping before it is restarted (a
#: worker busy with many sessions answers late, not never).
WORKER_HEALTHCHECK_S: Final = 30


#: ``--allowed-host``, repeatable.
AllowedHostOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allowed-host",
        help="A host name the server answers besides localhost, 127.0.0.1, ::1 and the "
        "bound address (repeat for more; *.example.org allows every name under it); "
        "other names get 400, which stops DNS rebinding. Adds to "
        "SPINECOACH_ALLOWED_HOSTS.",
    ),
]

#: ``--auth``: accounts, or single-person mode (no password, loopback only).
AuthOption = Annotated[
    str | None,
    typer.Option(
        help="accounts (default): people sign in; make the first account with spinecoach "
        "users add or at /setup on this computer. single-person: no password, one local "
        "person, this computer only (make demo); refused with a --host beyond loopback. "
        "Or SPINECOACH_AUTH."
    ),
]


#: ``--workers``: server processes sharing the port.
WorkersOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=MAX_WORKERS,
        help="Server processes sharing the port (default: the number of cores, or 1 "
        "when a feature needs one process: single-person mode, --posture, --source "
        "devices). Live sessions stay in the process holding their "
        "WebSocket; all state is in the database. Or SPINECOACH_WORKERS.",
    ),
]


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to bind (default 127.0.0.1, loopback only: sessions carry health "
            "data; or SPINECOACH_HOST)."
        ),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="TCP port (default 8000, or SPINECOACH_PORT).")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            help="Default sensor source of live sessions: sim (the built-in simulator), "
            "external (samples streamed by the client) or devices (phones and Bluetooth "
            "sensors connected in the page's sensor check) or camera (see --camera); "
            "default sim, or SPINECOACH_SOURCE. The page lets the person pick any of them."
        ),
    ] = None,
    camera: Annotated[
        str | None,
        typer.Option(
            help="The camera of camera sessions: camera:N (webcam N, default camera:0) or "
            "video:PATH (a video file); or SPINECOACH_CAMERA. Needs pip install "
            '"spinecoach[camera]"; the page says so when it is missing.'
        ),
    ] = None,
    posture: Annotated[
        str | None,
        typer.Option(
            help="All-day posture monitoring and desk-break prompts: off (default), devices "
            "(the phones or sensors placed in the page) or sim-day (a simulated working day, "
            "to try it); or SPINECOACH_POSTURE."
        ),
    ] = None,
    allowed_host: AllowedHostOption = None,
    auth: AuthOption = None,
    database: DatabaseOption = None,
    workers: WorkersOption = None,
) -> None:
    """Start the live coaching server (web API and the live WebSocket protocol, see
    docs/live-protocol.md) and print its address; Ctrl+C stops it.

    Example: spinecoach serve --port 8000 --source sim
    Example: spinecoach serve --camera camera:0  (the page offers the camera)
    """
    import uvicorn

    from spinecoach.cli.serve_start import starting_app

    given = {
        "host": host,
        "port": port,
        "source": source,
        "camera": camera,
        "posture": posture,
        "database_url": database,
        "auth": auth,
    }
    if allowed_host:  # added to the environment's names (the settings split on commas)
        from_env = os.environ.get("SPINECOACH_ALLOWED_HOSTS", "")
        given["allowed_hosts"] = ",".join([from_env, *allowed_host])
    settings = _settings({k: v for k, v in given.items() if v is not None})
    with reporting_errors():  # the app is built behind the open port (cli.serve_start)
        made = starting_app(settings)
    n_workers = _workers(settings, workers)
    _announce(settings)
    if n_workers > 1:
        _serve_workers(settings, n_workers)
        return
    uvicorn.run(
        made,
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        ws_per_message_deflate=WS_DEFLATE,
        log_level="info",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )


def one_process_needed(settings: Any) -> str | None:
    """Why this server must run as one process (None: it can run several): what the
    feature keeps in one process's memory (docs/architecture.md, "Several processes")."""
    if settings.auth == "single-person":
        return "single-person mode (one person on this computer; their phones and sensors)"
    if settings.posture != "off":
        return f"--posture {settings.posture} (the posture monitor runs in one process)"
    if settings.source == "devices":
        return "--source devices (live devices connect to one process)"
    return None


def _workers(settings: Any, asked: int | None) -> int:
    """The number of server processes: ``--workers``, SPINECOACH_WORKERS, or the number
    of cores (1 when a feature needs one process; more is then refused)."""
    if asked is None and os.environ.get("SPINECOACH_WORKERS"):
        raw = os.environ["SPINECOACH_WORKERS"]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_WORKERS:
            fail(f"SPINECOACH_WORKERS={raw!r}: give a whole number from 1 to {MAX_WORKERS}")
        asked = int(raw)
    reason = one_process_needed(settings)
    if asked is None:
        return 1 if reason else max(1, min(MAX_WORKERS, os.cpu_count() or 1))
    if asked > 1 and reason:
        fail(
            f"--workers {asked}: {reason} needs one server process; use --workers 1 "
            "(see docs/architecture.md, Several processes)"
        )
    return asked


def _serve_workers(settings: Any, n_workers: int) -> None:
    """Run ``n_workers`` processes on one port (uvicorn's multi-process mode with
    :func:`spinecoach.web.workers.worker_app`); the database is prepared once first."""
    import uvicorn

    from spinecoach.services.history import History
    from spinecoach.web.workers import SETTINGS_ENV, WORKERS_ENV

    with reporting_errors():  # migrations and the local person: once, not N times at once
        History.open(settings.database_url).close()
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    os.environ[WORKERS_ENV] = str(n_workers)
    out_console.print(f"{n_workers} server processes", highlight=False)
    uvicorn.run(
        "spinecoach.web.workers:worker_app",
        factory=True,
        workers=n_workers,
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        ws_per_message_deflate=WS_DEFLATE,
        log_level="info",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )


def _announce(settings: Any) -> None:
    """Print where the server listens; warn when other machines can reach it."""
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    out_console.print(
        f"spinecoach serving on http://{shown}:{settings.port} "
        f"(live protocol ws://{shown}:{settings.port}/ws/live, source {settings.source}); "
        "Ctrl+C stops it",
        highlight=False,
        soft_wrap=True,
    )
    if settings.auth == "single-person":
        out_console.print(
            "single-person mode: no password, this computer only (SPINECOACH_AUTH=accounts "
            "for sign-in)",
            highlight=False,
            soft_wrap=True,
        )
    elif not _has_users(settings):
        out_console.print(
            f"no account yet: open http://{shown}:{settings.port}/setup on this computer, or "
            "run spinecoach users add NAME --role admin",
            highlight=False,
            soft_wrap=True,
        )
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[yellow]warning:[/] bound to {settings.host}: other machines can reach this "
            "server; people sign in, but use TLS (docs/hardening.md) so that passwords and "
            "health data are not sent in the clear",
            highlight=False,
            soft_wrap=True,
        )


def _has_users(settings: Any) -> bool:
    """Whether the server's database has an account (False also when it cannot be read
    yet: the server says so itself when it starts)."""
    from spinecoach.services.accounts import has_users
    from spinecoach.store import db as store_db

    try:
        # Read as it is: the server migrates it when it starts (a database not made yet
        # has no account).
        engine = store_db.make_engine(store_db.database_url(settings.database_url))
        try:
            return has_users(engine)
        finally:
            engine.dispose()
    except Exception:
        return False


def _settings(given: dict[str, Any]) -> Any:
    """The server's settings from the options given (and the environment), checked: a
    wrong value exits 2 naming the option."""
    from pydantic import ValidationError

    from spinecoach.web.settings import Settings

    if "camera" in given:
        from spinecoach.camera.source import parse_camera_source

        try:
            parse_camera_source(given["camera"], option="--camera")
        except SpinecoachError as error:
            fail(str(error))
    try:
        return Settings.model_validate(given)
    except SpinecoachError as error:  # a setting that is gone (SPINECOACH_INGEST_TOKEN)
        fail(str(error))
    except ValidationError as error:
        problems = "; ".join(
            f"--{'.'.join(str(p) for p in e['loc']).replace('_url', '')}: {e['msg']}"
            for e in error.errors(include_url=False)
        )
        fail(f"{problems} (see spinecoach serve --help)")
