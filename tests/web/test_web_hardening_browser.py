"""Issue 16 in Chromium: a page of another origin cannot frame the app (CSP
``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``), can neither open the live
socket nor post to the API (web/origin.py), and every page of the app works under its
Content-Security-Policy (nothing blocked, no inline script).

The socket-and-post check runs twice: against a server in single-person mode, and against
one in accounts mode with a person signed in in the same browser. The other site's page is
on 127.0.0.1 too (another port): the same *site* (a site ignores the port), so the
SameSite=Strict rule does not hold the person's cookie back, and the server's Origin
check is what stands in the way (a page of the app itself, in the same browser, opens the
socket: the control).

The other origin is a small HTTP server on another loopback port: a different origin,
as a page on another site would be.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from browser_support import csp_violation, launch, needs_chromium, open_page, playwright_api
from web_client import LiveServer, serve

from spinecoach.services import accounts
from spinecoach.store.db import make_engine
from spinecoach.web.authz import COOKIE
from spinecoach.web.routes.pages import PAGES
from spinecoach.web.settings import Settings

pytestmark = needs_chromium

STEP_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('hardening-browser')}/history.sqlite3"
    yield from serve(Settings(database_url=url, sim_speed=10_000.0))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from open_page(browser, STEP_TIMEOUT_MS)


def another_origin(page: bytes) -> Iterator[str]:
    """The address of a small HTTP server on another loopback port (another origin, as a
    page on another site would be) that answers every GET with ``page``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def foreign_site(server: LiveServer) -> Iterator[str]:
    """Another origin whose page frames the app's home page."""
    page = (
        "<!doctype html><title>another site</title><h1>another site</h1>"
        f'<iframe id="app" src="{server.http_url}/" width="400" height="600"></iframe>'
    ).encode()

    yield from another_origin(page)


def test_a_page_of_another_origin_cannot_frame_the_app(
    browser: Any, server: LiveServer, foreign_site: str
) -> None:
    """Chromium refuses to render the app in the other site's iframe (clickjacking)."""
    context = browser.new_context()
    page = context.new_page()
    refusals: list[str] = []
    page.on("console", lambda m: refusals.append(m.text) if csp_violation(m) else None)
    try:
        with page.expect_response(lambda r: r.url == f"{server.http_url}/") as framed:
            page.goto(foreign_site)
        assert framed.value.status == 200  # the server answered; the browser refused it
        page.wait_for_timeout(500)
        frame = page.frame_locator("#app")
        # The app's page would show its heading and load its scripts; a refused frame
        # is Chromium's error page without them.
        playwright_api.expect(frame.locator("#technique-list, main")).to_have_count(0)
        app_frames = [f for f in page.frames if f.url.startswith(server.http_url)]
        assert all(f.evaluate("typeof spinecoachDevices") == "undefined" for f in app_frames)
        assert any("frame-ancestors" in text for text in refusals), refusals
    finally:
        context.close()


def test_the_app_itself_loads_in_a_top_level_window(page: Any, server: LiveServer) -> None:
    """The check above is not a page that never loads: opened directly it works."""
    page.goto(f"{server.http_url}/")
    playwright_api.expect(page.locator("main").first).to_be_visible()
    assert page.evaluate("typeof spinecoachDevices") == "object"


@pytest.mark.parametrize("path", PAGES)
def test_every_page_works_under_the_policy(page: Any, server: LiveServer, path: str) -> None:
    """Each page loads its scripts and styles with nothing blocked (``open_page`` fails
    the test on any CSP violation reported in the console)."""
    violations: list[str] = []
    page.expose_function("reportViolation", lambda text: violations.append(text))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', "
        "(e) => window.reportViolation(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.goto(f"{server.http_url}{path}")
    page.wait_for_load_state("networkidle")
    sheets = page.evaluate("document.styleSheets.length")
    assert sheets >= 5  # the five stylesheets of index.html were applied
    assert page.evaluate("typeof spinecoachDevices") == "object"  # scripts ran
    assert violations == []


@pytest.fixture(scope="module")
def accounts_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server in accounts mode with one person, ann."""
    url = f"sqlite:///{tmp_path_factory.mktemp('hardening-accounts')}/history.sqlite3"
    settings = Settings(auth="accounts", database_url=url, sim_speed=10_000.0)
    with contextlib.contextmanager(serve)(settings) as live:
        engine = make_engine(url)
        accounts.add_user(engine, "ann", ANN_PASSWORD, "person")
        engine.dispose()
        yield live


ANN_PASSWORD = "ann pw 123"


@pytest.fixture
def attacking_site(server: LiveServer) -> Iterator[str]:
    """Another origin whose page, once opened, tries to open the live socket and to
    register a phone with a text/plain POST (no CORS permission needed for either)."""
    yield from attacking_page(server)


@pytest.fixture
def attacking_site_accounts(accounts_server: LiveServer) -> Iterator[str]:
    """The same attacking page, against the server in accounts mode."""
    yield from attacking_page(accounts_server)


def attacking_page(server: LiveServer) -> Iterator[str]:
    from test_web_origin import INGEST, push

    body = push("forged-in-chromium").decode()
    script = f"""
      window.results = {{ messages: [], closed: null, posted: null }};
      const ws = new WebSocket({json.dumps(server.ws_url)});
      ws.onmessage = (e) => window.results.messages.push(e.data.slice(0, 40));
      ws.onclose = (e) => {{ window.results.closed = e.code; }};
      fetch({json.dumps(server.http_url + INGEST + "?placement=upper")}, {{
        method: "POST", mode: "no-cors", headers: {{ "Content-Type": "text/plain" }},
        body: {json.dumps(body)},
      }}).then(() => {{ window.results.posted = "sent"; }},
               () => {{ window.results.posted = "failed"; }});
    """
    page = (
        f"<!doctype html><title>another site</title><h1>another site</h1><script>{script}</script>"
    ).encode()

    yield from another_origin(page)


def test_a_page_of_another_origin_can_neither_open_the_socket_nor_post(
    browser: Any, server: LiveServer, attacking_site: str
) -> None:
    """Cross-site WebSocket hijacking and CSRF: the other site's page gets no message
    from the live socket, and its POST registers no phone."""
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(attacking_site)
        page.wait_for_function(  # refused (closed) or served (a message came)
            "() => window.results.closed !== null || window.results.messages.length > 0",
            timeout=STEP_TIMEOUT_MS,
        )
        page.wait_for_function("() => window.results.posted !== null", timeout=STEP_TIMEOUT_MS)
        results = page.evaluate("() => window.results")
    finally:
        context.close()
    assert results["messages"] == [], results  # no hello: the handshake was refused
    listed = httpx.get(f"{server.http_url}/api/devices", timeout=10.0).json()["devices"]
    assert "sensor-logger:forged-in-chromium" not in {d["id"] for d in listed}


def test_a_page_of_another_origin_can_do_neither_with_a_person_signed_in(
    browser: Any, accounts_server: LiveServer, attacking_site_accounts: str
) -> None:
    """Accounts mode, ann signed in in this browser: her cookie goes along with the other
    page's requests (same site), and still the socket says nothing and no phone is
    registered for her."""
    server = accounts_server
    context = browser.new_context()
    page = context.new_page()
    try:
        signed = context.request.post(
            f"{server.http_url}/api/auth/login", data={"username": "ann", "password": ANN_PASSWORD}
        )
        assert signed.status == 200, signed.text()
        assert COOKIE in {c["name"] for c in context.cookies()}
        # The control: the app's own page in this browser opens the socket, signed in.
        page.goto(f"{server.http_url}/history")
        first = page.evaluate(
            """(url) => new Promise((done) => {
                const ws = new WebSocket(url);
                ws.onmessage = (e) => { done(JSON.parse(e.data).type); ws.close(); };
                ws.onclose = (e) => done(`closed ${e.code}`);
            })""",
            server.ws_url,
        )
        assert first == "hello", first
        page.goto(attacking_site_accounts)
        page.wait_for_function(
            "() => window.results.closed !== null || window.results.messages.length > 0",
            timeout=STEP_TIMEOUT_MS,
        )
        page.wait_for_function("() => window.results.posted !== null", timeout=STEP_TIMEOUT_MS)
        results = page.evaluate("() => window.results")
        listed = context.request.get(f"{server.http_url}/api/devices")
        assert listed.status == 200, listed.text()  # still signed in: the list is ann's
        devices = {d["id"] for d in listed.json()["devices"]}
    finally:
        context.close()
    assert results["messages"] == [], results  # no hello: the handshake was refused
    assert "sensor-logger:forged-in-chromium" not in devices
