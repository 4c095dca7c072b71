"""The command line starts without the heavy stacks (issue 17 item 5): listing the
commands must not import numpy, scipy, matplotlib, SQLAlchemy, the BLE stack or asyncio —
each is imported by the command that uses it. Checked on the modules a fresh interpreter
loaded, not on a time (the time is printed by bench/startup.py)."""

from __future__ import annotations

import asyncio
import importlib
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from typer.core import TyperGroup

from spinecoach.errors import ConfigurationError

HEAVY = ("numpy", "scipy", "matplotlib", "sqlalchemy", "bleak", "asyncio", "h5py", "fastapi")


def loaded_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_the_command_line_loads_no_heavy_stack_to_list_its_commands() -> None:
    """Every command module, loaded, still imports none of the heavy stacks."""
    loaded = loaded_after(
        "from typer.main import get_command\n"
        "import spinecoach.cli\n"
        "from spinecoach.cli.root import COMMANDS\n"
        "for entry in COMMANDS.values():\n"
        "    __import__(f'spinecoach.cli.{entry.module}')\n"
        "get_command(spinecoach.cli.app).get_help\n"
    )
    assert "spinecoach.cli.users" in loaded and "spinecoach.cli.sensors" in loaded
    assert not {name for name in HEAVY if name in loaded}, sorted(n for n in HEAVY if n in loaded)


def test_help_imports_no_command_module_and_no_rich() -> None:
    """``spinecoach --help`` lists the commands from ``COMMANDS`` alone: no command module,
    no Rich (Typer's Rich help layout imports rich and markdown_it, 60 ms)."""
    loaded = loaded_after(
        "import contextlib, io\n"
        "import spinecoach.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    spinecoach.cli.app(['--help'])\n"
    )
    commands = sorted(n for n in loaded if n.startswith("spinecoach.cli."))
    assert commands == ["spinecoach.cli.root"]
    slow = [n for n in (*HEAVY, "rich", "markdown_it", "pydantic") if n in loaded]
    assert not slow


def test_the_command_table_names_every_command_with_the_start_of_its_help() -> None:
    """``COMMANDS`` (what the top-level help lists without importing) is the registered
    command line: the same names, each summary the start of the
    command's own help, each in the module that registers it."""
    from typer.main import get_command

    from spinecoach.cli.root import COMMANDS, app

    for entry in COMMANDS.values():
        importlib.import_module(f"spinecoach.cli.{entry.module}")
    group = get_command(app)
    assert isinstance(group, TyperGroup)
    assert sorted(group.commands) == sorted(COMMANDS)
    for name, entry in COMMANDS.items():
        command = group.commands[name]
        words = " ".join((command.help or "").split())
        summary = entry.summary.removesuffix(", …").rstrip(".")
        assert words.startswith(summary), (name, summary, words[:120])
        callback = command.callback
        if callback is not None and not isinstance(command, TyperGroup):
            assert callback.__module__ == f"spinecoach.cli.{entry.module}", name


def test_a_command_runs_with_only_its_own_module_imported() -> None:
    loaded = loaded_after(
        "import contextlib, io\n"
        "import spinecoach.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    spinecoach.cli.app(['formats'])\n"
    )
    commands = {n for n in loaded if n.startswith("spinecoach.cli.")}
    assert "spinecoach.cli.analyze" in commands
    assert not commands & {"spinecoach.cli.users", "spinecoach.cli.serve", "spinecoach.cli.program"}


def test_a_misspelt_command_is_named_with_the_right_one() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "spinecoach", "serv"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "No such command 'serv'" in done.stderr and "'serve'" in done.stderr


def test_help_runs_and_names_every_command_group() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "spinecoach", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    for command in ("serve", "coach", "analyze", "users", "sensors", "simulate"):
        assert command in out


def test_the_server_app_loads_no_scipy_or_plotting_until_used() -> None:
    """``serve`` starts without scipy (0.75 s of its start-up before, issue 17), the
    plotting stack or the BLE stack: the simulator and the filters import them when a
    session or a demonstration first needs them."""
    loaded = loaded_after("import spinecoach.web.app\nspinecoach.web.app.create_app()")
    assert "spinecoach.web.routes.live" in loaded
    late = ("scipy", "matplotlib", "bleak", "spinecoach.sim.techniques")
    assert not [name for name in late if name in loaded]


# serve: the port opens before the app is built ------------------------------------------
LATE_FOR_SERVE = (
    "fastapi",
    "sqlalchemy",
    "alembic",
    "numpy",
    "scipy",
    "h5py",
    "spinecoach.web.app",
    "spinecoach.store",
    "spinecoach.services",
)


def test_serve_opens_its_port_before_loading_the_app_or_the_database() -> None:
    """What ``serve`` runs before uvicorn binds the port: the settings and the starting
    app; FastAPI, SQLAlchemy, numpy and the app's modules load behind the open port."""
    loaded = loaded_after(
        "from spinecoach.cli.serve import _settings\n"
        "from spinecoach.cli.serve_start import starting_app\n"
        "starting_app(_settings({'auth': 'single-person'}))\n"
        "import uvicorn.main, uvicorn.lifespan.on\n"
    )
    assert not [name for name in LATE_FOR_SERVE if name in loaded]


def test_the_early_pages_and_loopback_check_are_the_app_s_own() -> None:
    from spinecoach.cli.serve_start import PAGE_PATHS, _is_loopback
    from spinecoach.web.authz import is_loopback
    from spinecoach.web.routes.pages import PAGES

    assert set(PAGES) == PAGE_PATHS
    for host in ("127.0.0.1", "127.5.0.1", "::1", "localhost", "0.0.0.0", "192.168.1.5", "::"):
        assert _is_loopback(host) == is_loopback(host), host


class _SlowApp:
    """A stand-in for the real app: built when ``gate`` opens, notes whether its
    start-up (lifespan) had completed when each request reached it."""

    def __init__(self) -> None:
        self.started = False
        self.seen: list[tuple[str, bool]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await asyncio.sleep(0.05)  # migrations
            self.started = True
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        self.seen.append((scope["path"], self.started))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"real"})


async def _get(
    app: Any, path: str, host: bytes = b"127.0.0.1:8000"
) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", host)],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    headers = {k.decode().lower(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


def _starting(build: Any) -> Any:
    from spinecoach.cli.serve_start import StartingApp
    from spinecoach.web.headers import allowed_hosts
    from spinecoach.web.settings import Settings

    return StartingApp(build, allowed=allowed_hosts(Settings(host="127.0.0.1")))


def test_the_starting_app_answers_pages_at_once_and_holds_data_until_started() -> None:
    """Before the real app has started: the page 200 (with the security headers), the
    health 503 "starting", a wrong Host 400; a data request waits and is answered by the
    real app only after its start-up (the migrations) completed."""
    gate = threading.Event()
    real = _SlowApp()

    def build() -> _SlowApp:
        gate.wait(10)
        return real

    starting = _starting(build)

    async def run() -> None:
        to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        lifespan = asyncio.create_task(
            starting({"type": "lifespan", "asgi": {"version": "3.0"}}, to_app.get, from_app.put)
        )
        await to_app.put({"type": "lifespan.startup"})
        assert (await asyncio.wait_for(from_app.get(), 5))["type"] == "lifespan.startup.complete"
        status, headers, body = await _get(starting, "/history")
        assert status == 200 and body.startswith(b"<!doctype html>")
        assert "default-src 'self'" in headers["content-security-policy"]
        status, headers, body = await _get(starting, "/api/health")
        assert status == 503 and json.loads(body)["status"] == "starting"
        assert headers["retry-after"] == "1" and "content-security-policy" in headers
        assert (await _get(starting, "/", host=b"evil.example"))[0] == 400
        waiting = asyncio.create_task(_get(starting, "/api/techniques"))
        await asyncio.sleep(0.2)
        assert not waiting.done() and not starting.started
        gate.set()
        assert (await asyncio.wait_for(waiting, 10))[2] == b"real"
        assert starting.started
        assert (await _get(starting, "/api/health"))[2] == b"real"  # the real health now
        await to_app.put({"type": "lifespan.shutdown"})
        assert (await asyncio.wait_for(from_app.get(), 5))["type"] == "lifespan.shutdown.complete"
        await lifespan

    asyncio.run(run())
    assert real.seen == [("/api/techniques", True), ("/api/health", True)]


def test_an_app_that_cannot_start_is_named_in_every_answer() -> None:
    def build() -> None:
        raise ConfigurationError("the database cannot be opened: unable to open database file")

    starting = _starting(build)

    async def run() -> list[tuple[int, dict[str, str], bytes]]:
        to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        lifespan = asyncio.create_task(
            starting({"type": "lifespan", "asgi": {"version": "3.0"}}, to_app.get, from_app.put)
        )
        await to_app.put({"type": "lifespan.startup"})
        await from_app.get()
        answers = [await _get(starting, path) for path in ("/api/techniques", "/", "/api/health")]
        await to_app.put({"type": "lifespan.shutdown"})
        await from_app.get()
        await lifespan
        return answers

    for status, _headers, body in asyncio.run(run()):
        assert status == 503
        problem = json.loads(body)["detail"]["problem"]
        assert problem == (
            "the server could not start: the database cannot be opened: unable to open "
            "database file"
        )


def test_serve_answers_the_page_then_its_health_once_migrated(tmp_path: Path) -> None:
    """A real ``spinecoach serve``: the page first, the health 503 "starting" or 200,
    then 200 "ok" with the schema current, and the data routes."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    database = f"sqlite:///{tmp_path}/serve.sqlite3"
    argv = [sys.executable, "-m", "spinecoach", "serve", "--port", str(port)]
    argv += ["--auth", "single-person", "--database", database]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        page = _poll(f"{base}/", process)
        assert page.text.startswith("<!doctype html>")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        health = _poll(f"{base}/api/health", process)
        assert health.json()["status"] == "ok" and health.json()["writable"] is True
        techniques = httpx.get(f"{base}/api/techniques", timeout=30)
        assert techniques.status_code == 200 and "pelvic-tilt" in techniques.text
    finally:
        process.terminate()
        process.wait(timeout=60)


def _poll(url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            answer = httpx.get(url, timeout=30)
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        if answer.status_code == 200:
            return answer
        assert answer.status_code == 503 and answer.json()["status"] == "starting"
        time.sleep(0.05)
    raise AssertionError(f"{url} did not answer 200 within 90 s")


# Packages load their modules on first use (PEP 562) -------------------------------------
def test_the_native_format_loads_no_csv_or_phone_reader() -> None:
    """The store and the server import ``spinecoach.io.native``: the package's CSV and
    phone readers load only when one of them is used."""
    loaded = loaded_after("import spinecoach.io.native\n")
    readers = ("csv_generic", "csv_table", "formats", "phyphox", "sensor_logger", "guess")
    assert not [name for name in readers if f"spinecoach.io.{name}" in loaded]


def test_the_catalogue_loads_no_engine_numpy_or_scipy() -> None:
    loaded = loaded_after("import spinecoach.exercises.catalogue\n")
    late = ("spinecoach.exercises.engine", "spinecoach.motion", "numpy", "scipy")
    assert not [name for name in late if name in loaded]


def test_the_lazy_packages_still_offer_every_name() -> None:
    import spinecoach.exercises
    import spinecoach.io

    for package in (spinecoach.io, spinecoach.exercises):
        for name in package.__all__:
            assert getattr(package, name) is not None, (package.__name__, name)
        try:
            package.no_such_name  # noqa: B018
        except AttributeError as error:
            assert "no_such_name" in str(error)
        else:
            raise AssertionError("an unknown name must raise AttributeError")
