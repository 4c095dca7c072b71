"""`spinecoach serve`: options become the server settings; bad options fail clearly."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

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
