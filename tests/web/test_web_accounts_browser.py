"""Accounts in Chromium (issue 16): the pages of static/auth.js, account.js and admin.js
over a real server in accounts mode (Playwright driving Debian's Chromium; ``playwright
install`` is never used).

* the first account made on an empty server at /setup (refused from another computer with
  the server's words; two different passwords caught before sending);
* sign in (a page asked for first comes back after it), the name in the header, sign out
  (the cookie gone, /api/auth/me signed out, back at /login);
* a session that ends while the page is open: the next API answer 401 leads to /login,
  and signing in leads back;
* six wrong passwords: the page says how long to wait, in words;
* a clinician reads their person's progress page (?person= on every call; what would
  change data hidden, with the reason);
* the password changed on /account (wrong current password and two different new ones
  refused first);
* device tokens made, shown once with their QR code, listed and revoked on /account;
* the admin's users table, adding a user, assigning a person, disabling, the audit log;
* single-person mode says so in the header;
* the login, account and admin views: every control named, text contrast (the checkers
  of test_web_browser_a11y.py), fitting a phone; screenshots in test-artifacts/browser/.

Requests that must come "from another computer" carry ``X-Forwarded-For`` (uvicorn
believes it from 127.0.0.1, as behind a reverse proxy), which also keeps the back-off of
the wrong-password test from blocking the other tests' sign-ins from 127.0.0.1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest
from browser_support import (
    assert_fits_the_phone,
    launch,
    needs_chromium,
    open_page,
    playwright_api,
    screenshot,
)
from sqlalchemy.engine import Engine
from test_web_accounts_http import ONBOARDING
from test_web_browser_a11y import assert_controls_named, assert_readable_contrast, tab_to
from test_web_origin import push
from web_client import LiveServer, serve

from spinecoach.services import accounts
from spinecoach.store.db import make_engine
from spinecoach.web.authz import COOKIE
from spinecoach.web.settings import Settings

pytestmark = needs_chromium

STEP_TIMEOUT_MS = 20_000
SECRET = re.compile(r"^scd_\S{16,}$")  # a device token's secret
expect = playwright_api.expect
expect.set_options(timeout=STEP_TIMEOUT_MS)


def password(name: str) -> str:
    return f"{name} pw 123"


def database(tmp_path_factory: pytest.TempPathFactory, name: str) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp(name)}/history.sqlite3"


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return database(tmp_path_factory, "accounts-browser")


@pytest.fixture(scope="module")
def server(db_url: str) -> Iterator[LiveServer]:
    yield from serve(Settings(auth="accounts", database_url=db_url, sim_speed=10_000.0))


@pytest.fixture(scope="module")
def engine(server: LiveServer, db_url: str) -> Iterator[Engine]:
    """The server's accounts: boss (admin), ann, carl, dora (persons), doc (ann's clinician)."""
    made = make_engine(db_url)
    accounts.add_user(made, "boss", password("boss"), "admin")
    for name in ("ann", "ben", "carl", "dora"):
        accounts.add_user(made, name, password(name), "person")
    accounts.add_user(made, "doc", password("doc"), "clinician")
    accounts.assign(made, "doc", "ann")
    yield made
    made.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from open_page(browser, STEP_TIMEOUT_MS)


def api_client(server: LiveServer, name: str) -> httpx.Client:
    client = httpx.Client(base_url=server.http_url, timeout=30.0)
    answer = client.post("/api/auth/login", json={"username": name, "password": password(name)})
    assert answer.status_code == 200, answer.text
    return client


def sign_in(page: Any, server: LiveServer, name: str, secret: str | None = None) -> None:
    """Sign in on /login as ``name`` and wait for the page that follows."""
    if not page.url.startswith(f"{server.http_url}/login"):
        page.goto(f"{server.http_url}/login")
    page.fill("#login-name", name)
    page.fill("#login-password", secret or password(name))
    page.click("#login-submit")
    expect(page.locator("#account-who")).to_contain_text(f"{name} · ")


def me(page: Any, server: LiveServer) -> dict[str, Any]:
    """GET /api/auth/me with the page's cookies."""
    answer: dict[str, Any] = page.request.get(f"{server.http_url}/api/auth/me").json()
    return answer


def views_are_accessible(page: Any, name: str) -> None:
    screenshot(page, f"accounts-{name}")
    assert_fits_the_phone(page)
    assert_readable_contrast(page)
    assert_controls_named(page)


# ---------------------------------------------------------------------------------------------


def test_first_account_on_an_empty_server(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """An empty server sends every page to /setup; from another computer the setup is
    refused with the server's words; here, it makes the admin, signed in at once."""
    url = database(tmp_path_factory, "accounts-setup")
    for live in serve(Settings(auth="accounts", database_url=url, sim_speed=10_000.0)):
        far = {"X-Forwarded-For": "192.0.2.80"}
        for far_page in open_page(browser, STEP_TIMEOUT_MS, extra_http_headers=far):
            far_page.goto(f"{live.http_url}/setup")
            far_page.fill("#setup-name", "owner")
            far_page.fill("#setup-password", password("owner"))
            far_page.fill("#setup-again", password("owner"))
            with far_page.expect_response(lambda r: r.url.endswith("/api/auth/setup")) as answer:
                far_page.click("#setup-submit")
            assert answer.value.status == 403
            detail = answer.value.json()["detail"]
            expect(far_page.locator("#setup-error")).to_be_visible()
            refused = far_page.locator("#setup-error").inner_text()
            assert refused.lower().startswith(detail["problem"].lower()), refused  # its words
            assert detail["fix"].lower() in refused.lower(), refused
        for page in open_page(browser, STEP_TIMEOUT_MS):
            page.goto(f"{live.http_url}/history")
            page.wait_for_url(f"{live.http_url}/setup")
            expect(page.locator("#view-setup h1")).to_have_text("Make the first account")
            expect(page.locator("#view-setup")).to_contain_text("admin")
            expect(page.locator("#view-setup")).to_contain_text("recorded on this server so far")
            page.fill("#setup-name", "owner")
            page.fill("#setup-password", password("owner"))
            page.fill("#setup-again", "something else")
            page.click("#setup-submit")
            expect(page.locator("#setup-error")).to_contain_text("The two passwords differ")
            assert me(page, live)["setup_needed"] is True  # nothing was sent
            views_are_accessible(page, "setup")
            page.fill("#setup-again", password("owner"))
            page.click("#setup-submit")
            page.wait_for_url(f"{live.http_url}/")
            expect(page.locator("#account-who")).to_have_text("owner · admin")
            answer = me(page, live)
            assert answer["signed_in"] and answer["role"] == "admin" and answer["person_id"]


def test_sign_in_brings_back_the_page_and_sign_out_ends_it(
    page: Any, server: LiveServer, engine: Engine
) -> None:
    page.goto(f"{server.http_url}/history")
    page.wait_for_url(f"{server.http_url}/login?next=%2Fhistory")
    expect(page.locator("#view-login h1")).to_be_focused()
    expect(page.locator("header nav")).to_be_hidden()  # nothing to go to before signing in
    page.click("#login-submit")  # empty: said on the page, nothing sent
    expect(page.locator("#login-error")).to_have_text(
        "Please type your user name and your password."
    )
    views_are_accessible(page, "login")
    sign_in(page, server, "ann")
    page.wait_for_url(f"{server.http_url}/history")
    expect(page.locator("#account-who")).to_have_text("ann · person")
    expect(page.locator("#view-history h1")).to_be_visible()
    expect(page.locator("#mode-line")).to_be_hidden()
    assert me(page, server)["username"] == "ann"
    assert COOKIE in {c["name"] for c in page.context.cookies()}

    page.click("#sign-out")
    page.wait_for_url(f"{server.http_url}/login")
    assert COOKIE not in {c["name"] for c in page.context.cookies()}
    assert me(page, server)["signed_in"] is False
    page.goto(f"{server.http_url}/progress")  # signed out: the pages are closed again
    page.wait_for_url(f"{server.http_url}/login?next=%2Fprogress")


def test_sign_in_by_keyboard_alone(page: Any, server: LiveServer, engine: Engine) -> None:
    """From the focused heading, Tab reaches the name, the password and Sign in in that
    order, each with a visible focus; Enter signs in."""
    page.goto(f"{server.http_url}/login")
    expect(page.locator("#view-login h1")).to_be_focused()
    tab_to(page, "#login-name", limit=1)
    page.keyboard.type("ben")
    tab_to(page, "#login-password", limit=1)
    page.keyboard.type("not it")
    tab_to(page, "#login-submit", limit=1)
    page.keyboard.press("Enter")
    expect(page.locator("#login-error")).to_have_text(
        "The user name or the password is wrong. Type them again."
    )
    expect(page.locator("#login-password")).to_be_focused()  # back where to type again
    page.keyboard.type(password("ben"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.http_url}/")
    expect(page.locator("#account-who")).to_have_text("ben · person")


def test_a_session_ended_on_the_server_leads_to_login_and_back(
    page: Any, server: LiveServer, engine: Engine
) -> None:
    sign_in(page, server, "ben")
    page.goto(f"{server.http_url}/day")
    expect(page.locator("#view-day h1")).to_be_visible()
    accounts.set_password(engine, "ben", password("ben"))  # ends every session of ben's
    page.evaluate("() => { fetch('/api/program/status'); }")  # the next call the page makes
    page.wait_for_url(f"{server.http_url}/login?next=%2Fday")
    sign_in(page, server, "ben")
    page.wait_for_url(f"{server.http_url}/day")


def test_wrong_passwords_make_the_page_say_how_long_to_wait(
    browser: Any, server: LiveServer, engine: Engine
) -> None:
    far = {"X-Forwarded-For": "192.0.2.81"}  # a back-off of its own
    for page in open_page(browser, STEP_TIMEOUT_MS, extra_http_headers=far):
        page.goto(f"{server.http_url}/login")
        for attempt in range(6):
            page.fill("#login-name", "carl")
            page.fill("#login-password", f"wrong {attempt}")
            expect(page.locator("#login-submit")).to_be_enabled()
            with page.expect_response(lambda r: r.url.endswith("/api/auth/login")) as answer:
                page.click("#login-submit")
            assert answer.value.status == 401, answer.value.status
            expect(page.locator("#login-error")).to_have_text(
                "The user name or the password is wrong. Type them again."
            )
        page.fill("#login-name", "carl")
        page.fill("#login-password", password("carl"))  # right, but blocked for now
        with page.expect_response(lambda r: r.url.endswith("/api/auth/login")) as answer:
            page.click("#login-submit")
        assert answer.value.status == 429
        wait_s = int(answer.value.headers["retry-after"])
        text = page.locator("#login-error").inner_text()
        words = f"{wait_s} second{'' if wait_s == 1 else 's'}"
        assert text == f"Too many wrong passwords. Please wait {words}, then sign in again.", text
        expect(page.locator("#login-error")).to_have_attribute("role", "alert")
        expect(page.locator("#login-submit")).to_be_disabled()  # until the wait is over
        screenshot(page, "accounts-login-wait")
        assert me(page, server)["signed_in"] is False


def test_a_clinician_reads_their_persons_progress(
    page: Any, server: LiveServer, engine: Engine
) -> None:
    with closing(api_client(server, "ann")) as ann:
        assert ann.post("/api/program/onboarding", json=ONBOARDING).status_code == 201
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/program/" in r.url else None)
    sign_in(page, server, "doc")
    expect(page.locator("#account-who")).to_have_text("doc · clinician")
    choice = page.locator("#person-select")
    expect(choice).to_be_visible()
    expect(choice.locator("option:checked")).to_have_text("ann")
    ann_id = me(page, server)["persons"][0]["id"]
    page.goto(f"{server.http_url}/progress")
    expect(page.locator("#progress-status")).to_contain_text("Day 1 of 42")
    expect(page.locator("#read-only-note")).to_have_text(
        "You are reading ann's data. Only ann can change it or start a session, "
        "so those buttons are hidden."
    )
    assert f"person={ann_id}" in (page.locator("#report-pdf").get_attribute("href") or "")
    mine = [u for u in asked if "/api/program/progress" in u]
    assert mine and all(f"person={ann_id}" in u for u in mine), mine
    screenshot(page, "accounts-clinician-progress")
    page.goto(f"{server.http_url}/checkin")  # a page that changes data: read-only
    expect(page.locator("#view-checkin h1")).to_be_visible()
    expect(page.locator("#checkin-save")).to_be_hidden()
    expect(page.locator("#read-only-note")).to_be_visible()
    page.goto(f"{server.http_url}/")  # the coach starts sessions: not for a reader
    expect(page.locator("#recommended")).to_have_attribute("data-ready", "true")
    expect(page.locator("#technique-list")).to_be_hidden()
    expect(page.locator(".today-start").first).to_be_hidden()
    screenshot(page, "accounts-clinician-home")


def test_password_change_on_my_account(page: Any, server: LiveServer, engine: Engine) -> None:
    sign_in(page, server, "dora")
    page.goto(f"{server.http_url}/account")
    expect(page.locator("#view-account h1")).to_have_text("My account")
    page.fill("#password-current", password("dora"))
    page.fill("#password-new", "dora's new words 42")
    page.fill("#password-again", "dora's other words 42")
    page.click("#password-submit")
    expect(page.locator("#password-error")).to_contain_text("The two new passwords differ")
    page.fill("#password-current", "not my password")
    page.fill("#password-again", "dora's new words 42")
    page.click("#password-submit")
    expect(page.locator("#password-error")).to_contain_text("current password")
    page.fill("#password-current", password("dora"))
    page.fill("#password-new", "dora's new words 42")
    page.fill("#password-again", "dora's new words 42")
    page.click("#password-submit")
    expect(page.locator("#password-saved")).to_have_text(
        "Password changed. You stay signed in here; your other sign-ins have ended."
    )
    expect(page.locator("#password-error")).to_be_hidden()
    assert me(page, server)["username"] == "dora"  # the new cookie works
    views_are_accessible(page, "account")
    page.click("#sign-out")
    page.wait_for_url(f"{server.http_url}/login")
    sign_in(page, server, "dora", "dora's new words 42")


def test_device_tokens_made_shown_once_and_revoked(
    page: Any, server: LiveServer, engine: Engine
) -> None:
    sign_in(page, server, "ben")
    page.goto(f"{server.http_url}/account")
    expect(page.locator("#tokens-box")).to_be_visible()
    expect(page.locator("#tokens-empty")).to_be_visible()
    page.fill("#token-name", "my phone")
    page.click("#token-submit")
    secret = page.locator("#token-secret")
    expect(secret).to_have_text(SECRET)
    expect(page.locator("#token-new")).to_contain_text("Shown once")
    expect(page.locator("#token-url")).to_contain_text("/api/ingest/sensor-logger")
    qr = page.locator("#token-new svg.qr")
    expect(qr).to_be_visible()
    drawn = qr.evaluate(
        "(svg) => [svg instanceof SVGSVGElement, svg.querySelector('path').getBBox().width]"
    )
    assert drawn[0] and drawn[1] > 20, drawn  # a real SVG with its modules drawn
    row = page.locator("#token-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(0)).to_have_text("my phone")
    expect(row.locator("td").nth(2)).to_have_text("never")
    header = page.locator("#token-header").inner_text()
    assert header == f"Bearer {secret.inner_text()}", header
    views_are_accessible(page, "account-token")
    # What the page showed pushes as ben, until revoked on the page.
    shown = secret.inner_text()
    listed = page.request.get(f"{server.http_url}/api/devices/tokens").json()
    assert [t["name"] for t in listed] == ["my phone"]
    assert shown not in str(listed)  # listed without it
    url = page.locator("#token-url").inner_text()
    phone = {"Authorization": header, "Content-Type": "application/json"}
    assert httpx.post(url, content=push("ben-phone"), headers=phone).status_code < 300
    page.click("#token-done")
    expect(page.locator("#token-new")).to_be_hidden()
    page.click("#token-table button.revoke")
    expect(row.locator("td").nth(3)).to_have_text("revoked")
    expect(page.locator("#tokens-status")).to_contain_text("can no longer send data")
    assert httpx.post(url, content=push("ben-phone"), headers=phone).status_code == 401


def test_admin_manages_users_and_reads_the_audit_log(
    page: Any, server: LiveServer, engine: Engine
) -> None:
    api_client(server, "ann").close()  # an entry about ann: her sign-in
    sign_in(page, server, "boss")
    expect(page.locator("#admin-link")).to_be_visible()
    page.click("#admin-link")
    page.wait_for_url(f"{server.http_url}/admin")
    users = page.locator("#users-table tbody tr")
    expect(page.locator('#users-table tr[data-user="doc"] td').nth(3)).to_have_text("ann")
    names = users.locator("th").all_inner_texts()
    assert {"boss", "ann", "doc"} <= set(names), names
    page.fill("#user-name", "fay")
    page.fill("#user-password", password("fay"))
    page.select_option("#user-role", "clinician")
    expect(page.locator("#user-own")).not_to_be_checked()
    page.click("#user-submit")
    expect(page.locator("#admin-status")).to_have_text(
        "fay (clinician) is added and can sign in now."
    )
    fay = page.locator('#users-table tr[data-user="fay"] td')
    expect(fay.nth(0)).to_have_text("clinician")
    expect(fay.nth(1)).to_have_text("no")
    page.select_option("#assign-clinician", "fay")
    page.select_option("#assign-person", "ben")
    page.click("#assign-add")
    expect(fay.nth(3)).to_have_text("ben")
    page.click('#users-table tr[data-user="carl"] button.toggle')
    expect(page.locator('#users-table tr[data-user="carl"] .state')).to_have_text("disabled")
    expect(page.locator('#users-table tr[data-user="carl"] button.toggle')).to_have_text("Enable")
    assert accounts.get_user(engine, "carl").disabled
    # The audit log, newest first: the assignment just made is near the top.
    page.click("#audit-show")
    first = page.locator("#audit-table tbody tr").first
    expect(first.locator("td").nth(5)).to_have_text("disable")
    expect(first.locator("td").nth(2)).to_have_text("account")
    details = page.locator("#audit-table tbody tr td:nth-child(6)").all_inner_texts()
    assert details.index("disable") < details.index("assign ben"), details[:5]
    page.select_option("#audit-person", label="ann")
    page.click("#audit-show")
    expect(page.locator("#audit-csv")).to_have_attribute("href", _of_person(engine, "ann"))
    people = set(page.locator("#audit-table tbody tr td:nth-child(4)").all_inner_texts())
    assert people == {"ann"}, people
    csv = page.request.get(f"{server.http_url}/api/admin/audit.csv").text()
    assert "assign ben" in csv
    page.select_option("#reset-user", "ben")
    page.fill("#reset-password", "ben's next words 7")
    page.click("#reset-submit")
    expect(page.locator("#admin-status")).to_contain_text("ben has a new password")
    with httpx.Client(base_url=server.http_url, timeout=30.0) as ben:
        new = {"username": "ben", "password": "ben's next words 7"}
        assert ben.post("/api/auth/login", json=new).status_code == 200
    accounts.set_password(engine, "ben", password("ben"))  # as the other tests know it
    views_are_accessible(page, "admin")


def _of_person(engine: Engine, name: str) -> str:
    return f"/api/admin/audit.csv?of_person={accounts.get_user(engine, name).person_id}"


def test_single_person_mode_says_so_in_the_header(
    page: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = database(tmp_path_factory, "accounts-single")
    for live in serve(Settings(auth="single-person", database_url=url, sim_speed=10_000.0)):
        page.goto(f"{live.http_url}/history")
        expect(page.locator("#mode-line")).to_have_text(
            "Single-person mode: no password, this computer only"
        )
        expect(page.locator("#account-bar")).to_be_hidden()
        expect(page.locator("#view-history h1")).to_be_visible()
        screenshot(page, "accounts-single-person")
        page.goto(f"{live.http_url}/login")
        expect(page.locator("#view-no-accounts")).to_be_visible()
