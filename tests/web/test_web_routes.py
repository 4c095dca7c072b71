"""The routes are thin and typed (issue 14 item 3): every JSON answer of the API has a
response model (no bare ``dict``), and every page of the single-page app is served."""

from __future__ import annotations

from typing import Any

import httpx
from web_client import LiveServer

from spinecoach.web.app import create_app
from spinecoach.web.routes.pages import PAGES
from spinecoach.web.settings import Settings


def _json_answers(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``METHOD path`` → the JSON schema of its success answer."""
    found = {}
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                content = response.get("content", {}).get("application/json")
                if status.startswith("2") and content is not None:
                    found[f"{method.upper()} {path}"] = content["schema"]
    return found


def _is_model(schema: dict[str, Any]) -> bool:
    if "$ref" in schema:
        return True
    return schema.get("type") == "array" and "$ref" in schema.get("items", {})


def test_every_json_answer_has_a_response_model() -> None:
    answers = _json_answers(create_app(Settings()).openapi())
    assert len(answers) >= 25  # the API's JSON routes (PNG and iCalendar answers aside)
    untyped = sorted(route for route, schema in answers.items() if not _is_model(schema))
    assert untyped == []


def test_every_page_serves_the_single_page_app(live_server: LiveServer) -> None:
    """The pages moved from three modules into ``routes.pages``: each still answers."""
    for path in PAGES:
        answer = httpx.get(live_server.http_url + path, timeout=10.0)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith("text/html"), path
    assert set(PAGES) >= {"/", "/history", "/day", "/program", "/progress", "/onboarding"}
