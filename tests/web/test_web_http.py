"""Health and the technique catalogue over real HTTP."""

from __future__ import annotations

import httpx
from web_client import LiveServer

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
