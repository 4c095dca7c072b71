"""The demonstrations in Chromium (issue 15 item 8): static/demo.js fills every
``<div class="demo" data-technique="ID">`` with the figure from the simulator's body model
(GET /api/techniques/{id}/demo) and the steps in plain words; the figure moves (its SVG
coordinates change between two moments), stands still with reduced motion (the key poses
instead), fits a 390 px phone and reads in dark mode. Screenshots in
test-artifacts/browser/ (demo-*.png)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser_support import (
    PHONE,
    assert_fits_the_phone,
    launch,
    needs_chromium,
    open_page,
    playwright_api,
    screenshot,
)
from web_client import LiveServer

from spinecoach.conventions import TECHNIQUES
from spinecoach.exercises.catalogue import default_catalogue

pytestmark = needs_chromium

STEP_TIMEOUT_MS = 20_000
DESKTOP = {"width": 1280, "height": 900}

INJECT = """([id, position]) => {
  const main = document.querySelector('main') || document.body;
  const box = document.createElement('div');
  box.className = 'demo';
  box.dataset.technique = id;
  if (position) box.dataset.position = position;
  box.id = 'injected-demo';
  main.prepend(box);
}"""
TRUNK = "#injected-demo polyline.demo-trunk"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from open_page(browser, STEP_TIMEOUT_MS)


def _inject(page: Any, server: LiveServer, technique: str, position: str = "") -> None:
    page.goto(server.http_url + "/")
    # The home page fills itself from the API; inject only after it has, so nothing it
    # adds later pushes the figure off screen (an off-screen figure rightly stops moving).
    page.wait_for_load_state("networkidle")
    page.evaluate(INJECT, [technique, position])
    figure = page.locator("#injected-demo .demo-svg").first
    playwright_api.expect(figure).to_be_visible()
    figure.scroll_into_view_if_needed()


MOVES = """([selector, before]) => {
  const trunk = document.querySelector(selector);
  return trunk !== null && trunk.getAttribute('points') !== before;
}"""


def _wait_until_it_moves(page: Any, before: str, timeout_ms: int) -> None:
    """Poll the drawn trunk until its points differ from ``before`` (fails on timeout)."""
    page.wait_for_function(MOVES, arg=[TRUNK, before], timeout=timeout_ms)


def _instructions(page: Any) -> list[str]:
    items: list[str] = page.locator("#injected-demo .demo-instructions li").all_inner_texts()
    return items


def _luminance(rgb: str) -> float:
    values = [int(v) / 255 for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in values]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_a_demo_container_shows_a_moving_figure_and_the_steps(
    live_server: LiveServer, page: Any
) -> None:
    _inject(page, live_server, "cat-cow")
    spec = default_catalogue().technique("cat-cow")
    playwright_api.expect(page.locator("#injected-demo .demo-instructions li")).to_have_count(
        len(spec.instructions)
    )
    assert _instructions(page) == list(spec.instructions)
    playwright_api.expect(page.locator("#injected-demo .demo-start")).to_contain_text(
        spec.start_position
    )
    trunk = page.locator(TRUNK)
    before = trunk.get_attribute("points")
    assert before
    # The start position is held still for 2.5 s; then the figure must move.
    _wait_until_it_moves(page, before, timeout_ms=8_000)
    playwright_api.expect(page.locator("#injected-demo .demo-cue")).not_to_be_empty()
    breath = page.locator("#injected-demo .demo-breath")
    playwright_api.expect(breath).to_have_text("Breathe in", timeout=8_000)
    screenshot(page, "demo-cat-cow-phone-inhale")
    playwright_api.expect(breath).to_have_text("Breathe out", timeout=10_000)
    screenshot(page, "demo-cat-cow-phone-exhale")
    assert_fits_the_phone(page)

    page.get_by_role("button", name="Pause").first.click()
    held = trunk.get_attribute("points")
    page.wait_for_timeout(700)
    assert trunk.get_attribute("points") == held, "a paused figure still moves"
    page.get_by_role("button", name="Play").first.click()
    _wait_until_it_moves(page, held or "", timeout_ms=5_000)


@pytest.mark.parametrize(
    ("technique", "position"), [(t, "") for t in TECHNIQUES] + [("flexion-extension", "seated")]
)
def test_every_technique_animates_through_the_mount_api(
    live_server: LiveServer, page: Any, technique: str, position: str
) -> None:
    page.set_viewport_size(DESKTOP)
    page.goto(live_server.http_url + "/")
    page.wait_for_load_state("networkidle")
    page.evaluate(
        """([id, position]) => {
          const box = document.createElement('div');
          box.id = 'injected-demo';
          if (position) box.dataset.position = position;
          (document.querySelector('main') || document.body).prepend(box);
          return window.spinecoachDemo.mount(box, id);
        }""",
        [technique, position],
    )
    playwright_api.expect(page.locator("#injected-demo .demo-svg")).to_be_visible()
    spec = default_catalogue().technique(technique)
    assert _instructions(page) == list(spec.instructions_in(position or spec.position))
    label = f"{technique}{'-' + position if position else ''}"
    first = page.locator(TRUNK).get_attribute("points")
    assert first
    _wait_until_it_moves(page, first, timeout_ms=8_000)  # past the still start (2.5 s)
    screenshot(page, f"demo-{label}-desktop")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(1500)
    screenshot(page, f"demo-{label}-phone")
    assert_fits_the_phone(page)


def test_with_reduced_motion_the_key_poses_stand_still(
    live_server: LiveServer, browser: Any
) -> None:
    pages = open_page(browser, STEP_TIMEOUT_MS, reduced_motion="reduce")
    page = next(pages)
    _inject(page, live_server, "flexion-extension")
    demo = httpx.get(f"{live_server.http_url}/api/techniques/flexion-extension/demo").json()
    stills = page.locator("#injected-demo .demo-still")
    playwright_api.expect(stills).to_have_count(len(demo["key_frames"]))
    assert page.locator("#injected-demo .demo-toggle").count() == 0
    trunks = page.locator(TRUNK)
    before = [trunks.nth(i).get_attribute("points") for i in range(trunks.count())]
    assert len(set(before)) == len(before)  # different poses: standing, bent, leaning back
    page.wait_for_timeout(1500)
    after = [trunks.nth(i).get_attribute("points") for i in range(trunks.count())]
    assert after == before, "the figure moves although the person asked for reduced motion"
    assert len(_instructions(page)) == len(
        default_catalogue().technique("flexion-extension").instructions
    )
    screenshot(page, "demo-flexion-extension-reduced-motion")
    assert_fits_the_phone(page)
    next(pages, None)


def test_the_figure_reads_in_dark_mode(live_server: LiveServer, browser: Any) -> None:
    pages = open_page(browser, STEP_TIMEOUT_MS, color_scheme="dark")
    page = next(pages)
    _inject(page, live_server, "pelvic-tilt")
    colours = page.evaluate(
        """() => {
          const fig = document.querySelector('#injected-demo .demo-figure');
          const svg = fig.querySelector('.demo-svg');
          const text = document.querySelector('#injected-demo .demo-instructions li');
          return [getComputedStyle(svg).color, getComputedStyle(fig).backgroundColor,
                  getComputedStyle(text).color, getComputedStyle(document.body).backgroundColor];
        }"""
    )
    figure, panel, text, page_bg = colours
    assert _luminance(panel) < 0.1, panel  # the panel is dark in dark mode
    assert _contrast(figure, panel) >= 4.5, colours  # the figure's lines
    assert _contrast(text, page_bg) >= 4.5, colours  # the steps
    screenshot(page, "demo-pelvic-tilt-dark")
    next(pages, None)


def test_demo_containers_the_page_itself_holds_are_filled(
    live_server: LiveServer, page: Any
) -> None:
    """Whatever demo containers the views place (cards, before the first set) are
    filled; one added later by a view is filled too (the MutationObserver). The cards
    of the home page fold their steps (a short page); the figure shows on each."""
    page.goto(live_server.http_url + "/")
    page.wait_for_load_state("networkidle")
    page.evaluate(
        """() => { const box = document.createElement('div');
          box.innerHTML = '<div class="demo" data-technique="hip-hinge" id="injected-demo"></div>';
          setTimeout(() => document.body.appendChild(box), 300); }"""
    )
    playwright_api.expect(page.locator("#injected-demo .demo-svg")).to_be_visible()
    containers = page.locator(".demo[data-technique]")
    cards = page.locator("#technique-list .demo[data-technique]")
    assert cards.count() == len(TECHNIQUES)
    for i in range(containers.count()):
        box = containers.nth(i)
        if not box.is_visible():
            continue
        playwright_api.expect(box.locator(".demo-svg").first).to_be_visible()
        if box.get_attribute("data-steps") == "folded":
            playwright_api.expect(box.locator("details.demo-steps > summary")).to_have_text(
                "Step by step"
            )
        else:
            playwright_api.expect(box.locator(".demo-instructions li").first).to_be_visible()
    assert cards.first.get_attribute("data-steps") == "folded"


def test_folded_steps_open_on_request(live_server: LiveServer, page: Any) -> None:
    """data-steps="folded" (for a list of cards) keeps the steps under a switch."""
    page.goto(live_server.http_url + "/")
    page.evaluate(
        """() => document.querySelector('main').insertAdjacentHTML('afterbegin',
          '<div class="demo" id="injected-demo" data-technique="cat-cow-seated"'
          + ' data-steps="folded"></div>')"""
    )
    playwright_api.expect(page.locator("#injected-demo .demo-svg")).to_be_visible()
    first_step = page.locator("#injected-demo .demo-instructions li").first
    playwright_api.expect(first_step).to_be_hidden()
    page.get_by_text("Step by step").first.click()
    playwright_api.expect(first_step).to_be_visible()
    steps = default_catalogue().technique("cat-cow-seated").instructions
    assert _instructions(page) == list(steps)
    screenshot(page, "demo-cat-cow-seated-folded-steps")


def test_the_page_can_ask_for_plain_names(live_server: LiveServer, page: Any) -> None:
    """window.spinecoachDemo.names(): the words views show instead of ids."""
    page.goto(live_server.http_url + "/")
    names = page.evaluate("window.spinecoachDemo.names()")
    assert names["positions"]["supine"] == "Lying on your back"
    assert names["techniques"]["cat-cow-seated"] == "Seated cat-cow"
    assert names["faults"]["pelvic-tilt"]["short-hold"] == "Hold too short"
    catalogue = default_catalogue()
    assert names["faults"]["hip-hinge"] == {
        r.name: r.label for r in catalogue.technique("hip-hinge").faults
    }
