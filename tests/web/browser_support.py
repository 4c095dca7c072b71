"""Shared pieces of the browser tests: Playwright drives Debian's Chromium
(``/usr/bin/chromium``, installed by ``scripts/ensure-system-packages.sh``;
``playwright install`` is never used), on a phone-sized screen, with screenshots kept in
``test-artifacts/browser/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PHONE = {"width": 390, "height": 844}

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="run scripts/ensure-system-packages.sh (as root) first"
)


def launch() -> Iterator[Any]:
    """Headless Chromium for a module's tests."""
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def open_page(browser: Any, timeout_ms: int, **context: Any) -> Iterator[Any]:
    """A fresh phone-sized page; the test fails on any JavaScript error on it, and on
    anything the server's Content-Security-Policy blocked (issue 16)."""
    ctx = browser.new_context(viewport=PHONE, **context)
    page = ctx.new_page()
    page.set_default_timeout(timeout_ms)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if csp_violation(m) else None)
    _wait_without_eval(page)
    yield page
    ctx.close()
    assert errors == [], errors


#: The start of a JavaScript function (``function``, ``async``, ``(a, b) =>``, ``a =>``).
_FUNCTION = re.compile(r"^\s*(async\b|function\b|\(?[\w$,\s]*\)?\s*=>)")


def _wait_without_eval(page: Any) -> None:
    """Playwright polls a ``wait_for_function`` given as a plain expression with
    ``eval``, which the page's Content-Security-Policy forbids (no 'unsafe-eval'); given
    as an arrow function it needs none. So plain expressions become ``() => (…)``."""
    wait = page.wait_for_function

    def wait_for_function(expression: str, **options: Any) -> Any:
        if not _FUNCTION.match(expression):
            expression = f"() => ({expression})"
        return wait(expression, **options)

    page.wait_for_function = wait_for_function


def csp_violation(message: Any) -> bool:
    """Whether a console message says the Content-Security-Policy blocked something."""
    return bool(message.type == "error" and "Content Security Policy" in message.text)


def open_home(page: Any, base_url: str) -> None:
    """Open the coach's home page and wait until it has stopped moving: the plan box and
    the camera choice load after the page and shift the choices below them, so a click
    made before that can land on the wrong control."""
    page.goto(f"{base_url}/")
    page.wait_for_selector("body[data-home-ready=true]", state="attached")


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def assert_fits_the_phone(page: Any) -> None:
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px window"


def set_slider(page: Any, slider: str, value: int) -> None:
    """Move a 0–100 slider with the keyboard and check its shown value."""
    page.focus(slider)
    page.keyboard.press("Home")
    for _ in range(value):
        page.keyboard.press("ArrowRight")
    playwright_api.expect(page.locator(f"{slider}-value")).to_have_text(str(value))
