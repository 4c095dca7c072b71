"""Malformed messages get an error naming the problem and the fix; the socket survives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from web_client import LiveServer, collect_until, receive, send
from websockets.sync.client import connect

SAMPLES: dict[str, Any] = {
    "type": "samples",
    "placement": "lower",
    "rate_hz": 100.0,
    "t": [0.0, 0.01, 0.02],
    "acc_mps2": [[0.0, 0.0, 9.81]] * 3,
    "gyr_dps": [[0.0, 0.0, 0.0]] * 3,
}

CASES: list[tuple[str, str, str, str]] = [
    # (what is sent, the error code, words of the message, words of the fix)
    ("not json {", "invalid-json", "not JSON", "one JSON object"),
    ("[1, 2]", "invalid-message", "'type'", '"type": "start"'),
    (json.dumps({"type": "jump"}), "unknown-type", "'jump'", "start, samples"),
    (json.dumps({"type": "start"}), "invalid-field", "'technique'", "technique"),
    (
        json.dumps({"type": "start", "technique": "yoga"}),
        "invalid-field",
        "'yoga'",
        "pelvic-tilt",
    ),
    (
        json.dumps({"type": "start", "technique": "pelvic-tilt", "speed": 2}),
        "invalid-field",
        "unknown field 'speed'",
        "remove 'speed'",
    ),
    (
        json.dumps({"type": "start", "technique": "pelvic-tilt", "seed": -1}),
        "invalid-field",
        "'seed'",
        "seed",
    ),
    (
        json.dumps({**SAMPLES, "acc_mps2": [[0.0, 0.0, 1.0]] * 3}),
        "unit-mismatch",
        "looks like g",
        "multiply values in g by 9.80665",
    ),
    (
        json.dumps({**SAMPLES, "gyr_dps": [[0.0, 0.0, 0.0]] * 2}),
        "length-mismatch",
        "gyr_dps has 2 rows but t has 3",
        "one [x, y, z] row per time",
    ),
    (
        json.dumps({**SAMPLES, "t": [0.0, 0.02, 0.01]}),
        "out-of-order",
        "do not increase",
        "time order",
    ),
    (
        json.dumps({**SAMPLES, "acc_mps2": [[0.0, 9.81]] * 3}),
        "invalid-field",
        "'acc_mps2.0.2'",
        "acc_mps2",
    ),
    (
        json.dumps({"type": "annotation", "kind": "calibration-rep", "start_s": 5, "end_s": 1}),
        "invalid-field",
        "before start_s",
        "annotation",
    ),
    (json.dumps(SAMPLES), "no-session", "samples needs a running session", '"start"'),
    (json.dumps({"type": "pause"}), "no-session", "pause needs", '"start"'),
    (json.dumps({"type": "stop"}), "no-session", "stop needs", '"start"'),
]


@pytest.mark.parametrize(("text", "code", "message", "fix"), CASES)
def test_each_malformed_message_gets_its_error(
    live_server: LiveServer, text: str, code: str, message: str, fix: str
) -> None:
    with connect(live_server.ws_url) as ws:
        receive(ws)
        ws.send(text)
        error = receive(ws)
    assert error["type"] == "error"
    assert error["code"] == code
    assert message in error["message"]
    assert fix in error["fix"]


def test_binary_garbage_is_an_error_too(live_server: LiveServer) -> None:
    with connect(live_server.ws_url) as ws:
        receive(ws)
        ws.send(b"\xff\xfe")
        assert receive(ws)["code"] == "invalid-json"


def test_the_socket_survives_every_error_and_then_runs_a_session(live_server: LiveServer) -> None:
    with connect(live_server.ws_url, max_size=None) as ws:
        receive(ws)
        for text, code, _, _ in CASES:
            ws.send(text)
            assert receive(ws)["code"] == code
        send(ws, type="start", technique="hip-hinge", seed=4, reps=2)
        send(ws, type="start", technique="hip-hinge", seed=4)
        send(ws, **SAMPLES)
        messages = collect_until(ws, "summary", timeout_s=60.0)
    errors = [m["code"] for m in messages if m["type"] == "error"]
    assert errors == ["session-running", "wrong-source"]
    # 2 reps in each of the hip-hinge dose's 3 sets
    assert len([m for m in messages if m["type"] == "rep"]) == 6
    assert len(messages[-1]["result"]["reps"]) == 6
