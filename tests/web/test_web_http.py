"""Health, the technique catalogue, the page and the history over real HTTP."""

from __future__ import annotations

import httpx
from web_client import LiveServer, collect_until, receive, send
from websockets.sync.client import connect

from spinecoach.web.protocol import PROTOCOL_VERSION


def test_health_says_ok_and_the_protocol_version(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.http_url}/api/health", timeout=5.0)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["protocol"] == PROTOCOL_VERSION


def test_techniques_come_from_the_catalogue(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.http_url}/api/techniques", timeout=5.0)
    assert response.status_code == 200
    by_name = {t["name"]: t for t in response.json()}
    tilt = by_name["pelvic-tilt"]
    assert tilt["position"] == "supine"
    assert tilt["dose"]["reps"] == 10 and tilt["dose"]["hold_s"] == 3.0
    assert tilt["title"] and tilt["live"] is True
    assert {"cat-cow", "hip-hinge", "flexion-extension"} <= set(by_name)


def test_a_finished_live_session_is_saved_and_pain_after_is_checked(
    live_server: LiveServer,
) -> None:
    with connect(live_server.ws_url, max_size=None) as ws:
        receive(ws)
        send(ws, type="start", technique="pelvic-tilt", reps=2, pain_before_mm=40)
        messages = collect_until(ws, "summary", timeout_s=60.0)
    kinds = {m["kind"] for m in messages if m["type"] == "annotation"}
    assert {"calibration-neutral", "calibration-functional", "calibration-rep"} <= kinds
    session_id = messages[-1]["session_id"]
    assert isinstance(session_id, int)
    url = f"{live_server.http_url}/api/sessions/{session_id}/pain"
    too_high = httpx.post(url, json={"vas_mm": 101, "context": "after"}, timeout=5.0)
    assert too_high.status_code == 422
    assert too_high.json()["detail"][0]["msg"] == "Input should be less than or equal to 100"
    missing = httpx.post(
        f"{live_server.http_url}/api/sessions/999999/pain", json={"vas_mm": 5}, timeout=5.0
    )
    assert missing.status_code == 404
    assert "no session with id 999999" in missing.json()["detail"]
    assert httpx.post(url, json={"vas_mm": 12.5}, timeout=5.0).status_code == 201
    saved = next(
        s
        for s in httpx.get(f"{live_server.http_url}/api/sessions", timeout=5.0).json()
        if s["id"] == session_id
    )
    assert (saved["status"], saved["summary"]["reps"]) == ("completed", 2)
    assert (saved["pain_before_mm"], saved["pain_after_mm"]) == (40.0, 12.5)


def test_the_page_and_history_are_served_without_the_network(live_server: LiveServer) -> None:
    for path in ("/", "/history"):
        page = httpx.get(f"{live_server.http_url}{path}", timeout=5.0)
        assert page.status_code == 200
        assert "spinecoach is a coaching tool, not a medical device." in page.text
        assert "http://" not in page.text and "https://" not in page.text
    script = httpx.get(f"{live_server.http_url}/static/app.js", timeout=5.0)
    assert script.status_code == 200 and "https://" not in script.text
