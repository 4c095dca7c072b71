"""The report routes and the service worker's route over real HTTP: the report refused
(409, naming onboarding) without a program, a PDF and an HTML file of the person's own
program after onboarding (their check-in in it), a bad time zone named in the 422; the
service worker served from the root as JavaScript; the camera problem logged once for
whoever runs the server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_client import LiveServer, serve

from spinecoach.program.redflags import default_red_flags
from spinecoach.web.routes import catalogue
from spinecoach.web.settings import Settings

BASELINE: dict[str, Any] = {
    "vas_mm": 50,
    "psfs": [{"activity": "Putting on socks", "score": 4}],
    "doses_per_day": 2,
    "schedule": {"morning_time": "07:30"},
    "sensors": [],
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path / 'report.sqlite3'}"
    yield from serve(Settings(sim_speed=10_000.0, database_url=url))


def get(server: LiveServer, path: str) -> httpx.Response:
    return httpx.get(f"{server.http_url}{path}", timeout=60.0)


def onboard(server: LiveServer) -> None:
    body = {"red_flags": {f.id: False for f in default_red_flags()}, "baseline": BASELINE}
    response = httpx.post(f"{server.http_url}/api/program/onboarding", json=body, timeout=10.0)
    assert response.status_code == 201, response.text


def test_report_needs_a_program(server: LiveServer) -> None:
    for name in ("report.pdf", "report.html"):
        response = get(server, f"/api/program/{name}")
        assert response.status_code == 409, response.text
        assert "onboarding" in response.json()["detail"]


def test_report_pdf_and_html_of_the_program(server: LiveServer) -> None:
    onboard(server)
    checkin = {"vas_mm": 37, "doses_per_day": 1}
    response = httpx.post(f"{server.http_url}/api/program/checkin", json=checkin, timeout=10.0)
    assert response.status_code == 201
    pdf = get(server, "/api/program/report.pdf?tz=UTC")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and pdf.content.rstrip().endswith(b"%%EOF")
    assert 'filename="spinecoach-report-' in pdf.headers["content-disposition"]
    html = get(server, "/api/program/report.html?tz=UTC")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert html.headers["content-disposition"].startswith("attachment;")
    assert "data:image/png;base64," in html.text
    assert "37" in html.text and "Putting on socks" in html.text


def test_report_names_a_bad_time_zone(server: LiveServer) -> None:
    response = get(server, "/api/program/report.pdf?tz=Mars/Olympus")
    assert response.status_code == 422
    assert "Mars/Olympus" in response.json()["detail"]


def test_service_worker_is_served_from_the_root(server: LiveServer) -> None:
    response = get(server, "/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "notificationclick" in response.text and "showNotification" in response.text


def test_camera_problem_is_logged_once_for_the_server(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    catalogue._LOGGED_CAMERA_PROBLEMS.clear()  # as in a fresh server process
    with caplog.at_level(logging.WARNING, logger="spinecoach.web.routes.catalogue"):
        answers = [get(server, "/api/camera").json() for _ in range(2)]
    if answers[0]["available"]:
        pytest.skip("the camera extra is installed here: nothing to hide")
    logged = [r.getMessage() for r in caplog.records if "camera choice" in r.getMessage()]
    assert len(logged) == 1, logged  # once, not at every page load
    assert answers[0]["problem"] in logged[0]
