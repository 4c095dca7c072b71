"""Fuzz over real HTTP (issue 16: "a fuzz run in CI … with no 5xx"): every operation of the
app's OpenAPI schema gets generated cases from schemathesis (fitting the schema and
breaking it), then hostile requests beyond the schema; no answer may be a 5xx (except
the designed ones, see ``bench/fuzz.py``) and every 4xx carries a JSON ``detail``.

The engine is ``bench/fuzz.py`` (``fuzz_schema``, ``send_hostile``, ``prepare``,
``offline_devices``), which runs the same fuzz with many more cases. Here: a fixed budget
per operation (:data:`CASES_PER_OPERATION`, a few hundred requests in all), Hypothesis
derandomized, so a CI failure reproduces by rerunning. The server is uvicorn on a free
loopback port in this process (``web_client.serve``), so ``offline_devices`` keeps the
phyphox and Bluetooth routes from reaching beyond this computer.

Runs: single-person mode (the feature tests' mode) and accounts mode signed in as a
person; the hostile requests in both and against PostgreSQL (which refuses what SQLite
stores: NUL characters, ids beyond 32 bits). The last two findings — the devices
router's JSON (``NaN`` gave 500) and ``?person=`` over 2^31 on PostgreSQL (500) — were
strict xfails until fixed; they are plain checks now.

Not fuzzed here, and why: the live WebSocket (not an HTTP operation:
``test_web_limits_live.py`` sends it hostile messages); the HTML pages (not in the schema:
``test_web_routes.py``); ``GET /api/program/report.pdf`` gets 2 cases per mode, not the
full budget (it renders charts with matplotlib, about a second each); the schema fuzz on
PostgreSQL (``bench/fuzz.py --database postgresql``: time).
"""

from __future__ import annotations

import importlib.util
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from web_client import LiveServer, serve

from spinecoach.web.app import create_app
from spinecoach.web.settings import Settings

BENCH_FUZZ = Path(__file__).resolve().parents[2] / "bench" / "fuzz.py"
#: Generated cases per operation (half fitting the schema, half breaking it), without
#: sign-in (single-person mode, as the other feature tests) and signed in as a person.
CASES_PER_OPERATION = 16
CASES_PER_OPERATION_SIGNED_IN = 8


def _load_engine() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_fuzz", BENCH_FUZZ)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_fuzz"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


engine = _load_engine()


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[LiveServer]:
    """A server with state to fuzz (a program, one finished session: id 1), its device
    routes kept on this computer."""
    with engine.offline_devices():
        for server in serve(Settings(sim_speed=10_000.0)):
            assert engine.prepare(server.http_url) == 1
            yield server


@pytest.fixture(scope="module")
def fuzzed_accounts(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A server in accounts mode with its own database, a person signed in (the cookie)
    with the same state as :func:`fuzzed`."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('accounts')}/fuzz.sqlite3"
    settings = Settings(sim_speed=10_000.0, auth="accounts", database_url=database_url)
    with engine.offline_devices():
        for server in serve(settings):
            cookies = engine.sign_in(server.http_url, database_url)
            assert engine.prepare(server.http_url, cookies) >= 1
            yield server, cookies


def _report(rows: list[Any]) -> str:
    return "\n".join(failure for row in rows for failure in row.failures)


def test_every_operation_of_the_schema_answers_without_a_server_error(
    fuzzed: LiveServer,
) -> None:
    start = time.monotonic()
    rows = engine.fuzz_schema(fuzzed.http_url, CASES_PER_OPERATION, deadline_s=start + 120.0)
    took_s = time.monotonic() - start
    operations = {
        f"{method.upper()} {path}"
        for path, methods in create_app(Settings()).openapi()["paths"].items()
        for method in methods
    }
    assert {row.label for row in rows} == operations  # every operation, none skipped
    assert all(row.cases >= 1 for row in rows)
    total = sum(row.cases for row in rows)
    assert total >= 300, f"only {total} cases in {took_s:.0f} s: the deadline cut the run"
    assert _report(rows) == ""
    # The fuzz reached past validation: some cases were accepted, some refused.
    statuses = {status for row in rows for status in row.statuses}
    assert {200, 201, 404, 409, 422} <= statuses


def test_signed_in_as_a_person_no_operation_answers_a_server_error(
    fuzzed_accounts: tuple[LiveServer, dict[str, str]],
) -> None:
    """Accounts mode (the default): the same fuzz as a signed-in person. The admin routes
    answer 403; everything else reaches the routes as in single-person mode."""
    server, cookies = fuzzed_accounts
    rows = engine.fuzz_schema(
        server.http_url,
        CASES_PER_OPERATION_SIGNED_IN,
        deadline_s=time.monotonic() + 120.0,
        cookies=cookies,
    )
    assert _report(rows) == ""
    by_label = {row.label: row for row in rows}
    assert "POST /api/auth/logout" not in by_label  # would end the fuzz's sign-in
    assert set(by_label["GET /api/admin/users"].statuses) == {403}
    # Signed in all along: the person's data routes answered, none said 401.
    assert by_label["GET /api/sessions"].statuses == {200: 1}
    assert 201 in by_label["POST /api/program/checkin"].statuses
    assert not any(401 in row.statuses for label, row in by_label.items() if "auth" not in label)
    assert sum(row.cases for row in rows) >= 200


def _json_body_operations() -> list[Any]:
    """(method, path with its parameters filled) of every operation taking a JSON body
    (a new router with JSON bodies fails here until it uses ``FiniteJsonRoute``)."""
    found = []
    for path, methods in create_app(Settings()).openapi()["paths"].items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            filled = re.sub(r"\{\w*_id\}", "1", path)  # a session, a prompt
            filled = re.sub(r"\{\w+\}", "nobody", filled)  # a device, a user name
            found.append(pytest.param(method.upper(), filled, id=f"{method} {path}"))
    return found


@pytest.mark.parametrize(("method", "path"), _json_body_operations())
def test_non_finite_numbers_are_not_json_and_get_422(
    fuzzed: LiveServer, method: str, path: str
) -> None:
    """Python's JSON parser takes NaN, Infinity and -Infinity (not JSON) and turns 1e400
    into infinity; the validation error then carried that value back, and rendering it
    failed: 500 "internal server error" (found by this fuzz). Now such a body is invalid
    JSON: 422 naming the number."""
    for literal in (b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e999"):
        answer = httpx.request(
            method,
            f"{fuzzed.http_url}{path}",
            content=b'{"vas_mm": ' + literal + b', "x": [1]}',
            headers={"content-type": "application/json"},
            timeout=10.0,
        )
        assert answer.status_code == 422, (literal, answer.text)
        (error,) = answer.json()["detail"]
        assert error["type"] == "json_invalid"
        assert literal.decode().lstrip("-") in error["ctx"]["error"]


def test_strict_json_examples_run() -> None:
    """The examples of ``finite_json`` in ``web/routes/common.py`` give what they show."""
    import doctest

    from spinecoach.web.routes import common

    result = doctest.testmod(common, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted >= 2


def test_hostile_requests_beyond_the_schema_get_a_4xx_with_detail(fuzzed: LiveServer) -> None:
    # Last in the module: the deeply nested bodies make the server's JSON parser hit
    # Python's recursion limit (a 400), after which CPython 3.11 can fail to compile the
    # source of a later failing test for its report (pytest INTERNALERROR).
    rows = engine.send_hostile(fuzzed.http_url)
    assert len(rows) == len(engine.HOSTILE)
    assert _report(rows) == ""
    assert all(400 <= status < 500 for row in rows for status in row.statuses)


def test_hostile_requests_on_postgresql_get_a_4xx_with_detail(empty_postgres_url: str) -> None:
    """The hostile requests against a server keeping its history in PostgreSQL, which
    refuses some text SQLite stores (a NUL character gave 500 there)."""
    settings = Settings(sim_speed=10_000.0, database_url=empty_postgres_url)
    with engine.offline_devices():
        for server in serve(settings):
            engine.prepare(server.http_url)
            rows = engine.send_hostile(server.http_url)
    assert _report(rows) == ""
    assert all(400 <= status < 500 for row in rows for status in row.statuses)


def test_a_person_id_over_2_31_is_refused_on_postgresql(empty_postgres_url: str) -> None:
    settings = Settings(sim_speed=10_000.0, database_url=empty_postgres_url)
    for server in serve(settings):
        answer = httpx.get(f"{server.http_url}/api/sessions?person=3000000000", timeout=30.0)
    assert 400 <= answer.status_code < 500, answer.text


def test_hostile_requests_signed_in_get_a_4xx_with_detail(
    fuzzed_accounts: tuple[LiveServer, dict[str, str]],
) -> None:
    server, cookies = fuzzed_accounts
    rows = engine.send_hostile(server.http_url, cookies)
    assert _report(rows) == ""
    assert all(400 <= status < 500 for row in rows for status in row.statuses)
