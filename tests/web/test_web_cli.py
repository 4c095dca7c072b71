"""`spinecoach serve`: options become the server settings; bad options fail clearly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner
from web_client import serve_app

from spinecoach.cli import app

runner = CliRunner()


def test_serve_prints_the_address_and_starts_uvicorn_on_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.delenv("SPINECOACH_HOST", raising=False)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    result = runner.invoke(app, ["serve", "--port", "8123", "--source", "external"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123" in result.output
    assert "ws://127.0.0.1:8123/ws/live" in result.output
    (call,) = calls
    assert call["host"] == "127.0.0.1" and call["port"] == 8123
    assert call["ws"] == "websockets-sansio"


def test_serve_rejects_an_unknown_source_naming_the_option() -> None:
    result = runner.invoke(app, ["serve", "--source", "bluetooth"])
    assert result.exit_code == 2
    assert "--source: Input should be 'sim', 'external', 'devices' or 'camera'" in result.output


def test_serve_help_has_an_example() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "Example: spinecoach serve" in result.output


def test_serve_takes_the_camera_of_camera_sessions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(app))
    database = f"sqlite:///{tmp_path}/history.sqlite3"
    result = runner.invoke(
        app, ["serve", "--camera", "video:clip.mp4", "--port", "8124", "--database", database]
    )
    assert result.exit_code == 0, result.output
    for server in serve_app(calls[0]):
        camera = httpx.get(f"{server.http_url}/api/camera", timeout=10.0).json()
    assert camera["source"] == "video:clip.mp4"
    # This venv has no camera extra: the page is told why, with the install command.
    assert camera["available"] is False
    assert 'pip install "spinecoach[camera]"' in camera["problem"]
    assert camera["techniques"]["pelvic-tilt"]["coachable"] is False
    assert camera["techniques"]["hip-hinge"]["view"] == "side"


def test_serve_rejects_a_camera_that_is_not_one() -> None:
    result = runner.invoke(app, ["serve", "--camera", "webcam0"])
    assert result.exit_code == 2
    assert "--camera 'webcam0' is not a camera source: use camera:N" in result.output
