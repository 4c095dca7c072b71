"""The demonstration route and the plain names of the catalogue's API (issue 15 item 8):
GET /api/techniques/{id}/demo for every technique, and no patient-facing text of
/api/techniques in jargon ("supine", "quadruped", "NG59") or raw fault ids."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from web_client import LiveServer

from spinecoach.conventions import TECHNIQUES
from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.exercises.vocabulary import TECHNIQUE_FAULTS

#: Jargon people should not read; and every fault id of the vocabulary.
JARGON = ("supine", "quadruped", "ng59", "nice ng")
FAULT_IDS = sorted({name for faults in TECHNIQUE_FAULTS.values() for name in faults})


def _get(server: LiveServer, path: str) -> httpx.Response:
    return httpx.get(server.http_url + path, timeout=30.0)


def _people_texts(technique: dict[str, Any]) -> list[str]:
    """Every text of a technique that the page shows to the person."""
    texts = [
        technique["title"],
        technique["summary"],
        technique["position_label"],
        technique["start_position"],
        technique["breathing_note"],
        technique["safety_note"],
        *technique["instructions"],
        *(p["label"] for p in technique["positions"]),
        *(f["label"] for f in technique["faults"]),
    ]
    assert all(isinstance(t, str) and t.strip() for t in texts)
    return texts


def test_no_patient_facing_catalogue_text_has_jargon_or_fault_ids(
    live_server: LiveServer,
) -> None:
    answer = _get(live_server, "/api/techniques")
    assert answer.status_code == 200
    techniques = answer.json()
    assert [t["name"] for t in techniques] == list(TECHNIQUES)  # ids unchanged
    for technique in techniques:
        for text in _people_texts(technique):
            low = text.lower()
            for word in JARGON:
                assert word not in low, (technique["name"], text)
            for fault in FAULT_IDS:
                assert not re.search(rf"\b{re.escape(fault)}\b", low), (technique["name"], text)
            assert not re.fullmatch(r"[a-z]+(-[a-z]+)+", text), text  # an id, not words


def test_techniques_name_positions_and_faults_in_plain_words(live_server: LiveServer) -> None:
    catalogue = default_catalogue()
    by_name = {t["name"]: t for t in _get(live_server, "/api/techniques").json()}
    tilt = by_name["pelvic-tilt"]
    assert (tilt["position"], tilt["position_label"]) == ("supine", "Lying on your back")
    cat_cow = by_name["cat-cow"]
    assert (cat_cow["position"], cat_cow["position_label"]) == ("quadruped", "On hands and knees")
    assert by_name["cat-cow-seated"]["title"] == "Seated cat-cow"
    flexion = by_name["flexion-extension"]
    assert [p["id"] for p in flexion["positions"]] == ["standing", "seated"]
    for name, technique in by_name.items():
        spec = catalogue.technique(name)
        assert [f["id"] for f in technique["faults"]] == list(spec.fault_names)
        assert [f["label"] for f in technique["faults"]] == [r.label for r in spec.faults]
        assert technique["demo"] == f"/api/techniques/{name}/demo"
    labels = {f["id"]: f["label"] for f in tilt["faults"]}
    assert labels["short-hold"] == "Hold too short"
    positions = _get(live_server, "/api/positions").json()["positions"]
    named = {p["id"]: p["label"] for p in positions}
    assert named["supine"] == "Lying on your back" and named["quadruped"] == "On hands and knees"
    assert set(named) >= {"standing", "seated", "supine", "quadruped"}


@pytest.mark.parametrize("name", TECHNIQUES)
def test_every_technique_has_a_demonstration_with_its_steps(
    live_server: LiveServer, name: str
) -> None:
    spec = default_catalogue().technique(name)
    answer = _get(live_server, f"/api/techniques/{name}/demo")
    assert answer.status_code == 200, answer.text
    demo = answer.json()
    assert demo["technique"] == name and demo["position"] == spec.position
    assert demo["instructions"] == list(spec.instructions)
    assert demo["start_position"] == spec.start_position
    assert demo["title"] == spec.title
    frames = demo["frames"]
    assert len(frames) > 40
    assert all(len(f["points"]) == len(demo["joints"]) for f in frames)
    assert demo["duration_s"] == frames[-1]["t_s"]
    first, key = frames[0]["points"], frames[demo["key_frames"][-1]]["points"]
    moved = [abs(a - b) for p, q in zip(first, key, strict=True) for a, b in zip(p, q, strict=True)]
    assert max(moved) > 0.02
    breaths = {f["breath"] for f in frames}
    assert {"in", "out"} <= breaths
    assert any(f["cue"] for f in frames)


def test_a_demonstration_in_another_position(live_server: LiveServer) -> None:
    seated = _get(live_server, "/api/techniques/flexion-extension/demo?position=seated")
    assert seated.status_code == 200
    assert (seated.json()["position"], seated.json()["position_label"]) == ("seated", "Sitting")
    assert "seat" in seated.json()["props"]
    # Sitting, the person reads how to sit and move, not the standing steps.
    words = [seated.json()["start_position"], *seated.json()["instructions"]]
    assert words[0].startswith("Sitting tall") and "sitting tall" in words[-1]
    assert not any("stand" in w.lower() for w in words), words
    standing = _get(live_server, "/api/techniques/flexion-extension/demo").json()
    assert standing["start_position"].startswith("Standing")
    assert len(standing["instructions"]) == len(words) - 1


def test_demonstration_errors_say_what_to_ask_for(live_server: LiveServer) -> None:
    unknown = _get(live_server, "/api/techniques/cat/demo")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == (
        "no technique 'cat'; the techniques are " + ", ".join(TECHNIQUES)
    )
    wrong = _get(live_server, "/api/techniques/cat-cow/demo?position=standing")
    assert wrong.status_code == 422
    assert wrong.json()["detail"] == (
        "position 'standing' is not a start position of cat-cow; use one of quadruped"
    )
