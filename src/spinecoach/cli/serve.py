"""``spinecoach serve``: the live coaching server (web API and the live WebSocket)."""

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
    _announce(settings)
    uvicorn.run(
        made,
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        log_level="info",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
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
