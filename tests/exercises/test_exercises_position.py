"""Position recognition from the angles, and its report in the engine's result."""

from __future__ import annotations

import doctest

import pytest

import spinecoach.exercises.position as position_module
from spinecoach.exercises import detect_exercise
from spinecoach.exercises.position import classify_position
from spinecoach.motion import motion_process
from spinecoach.recording import Recording
from spinecoach.sim import simulate


@pytest.mark.parametrize(
    ("trunk", "pelvis", "calibrated", "expected"),
    [
        (-90.0, 0.0, "supine", "supine"),
        (-60.0, 5.0, "standing", "supine"),
        (88.0, 70.0, "standing", "quadruped"),
        (88.0, 30.0, "standing", "between"),  # a deep standing forward bend
        (95.0, 0.0, "quadruped", "quadruped"),
        (3.0, -20.0, "standing", "seated"),
        (3.0, -5.0, "standing", "standing"),
        (3.0, 18.0, "seated", "standing"),
        (3.0, 4.0, "seated", "seated"),
        (3.0, 4.0, "supine", "upright"),
        (45.0, 0.0, "seated", "between"),
        (float("nan"), 0.0, "seated", "unknown"),
    ],
)
def test_known_answers(trunk: float, pelvis: float, calibrated: str, expected: str) -> None:
    assert classify_position(trunk, pelvis, calibrated=calibrated) == expected


def test_docstring_examples() -> None:
    assert doctest.testmod(position_module).failed == 0


@pytest.mark.parametrize(
    ("technique", "position"),
    [("pelvic-tilt", "supine"), ("cat-cow", "quadruped"), ("hip-hinge", "seated")],
)
def test_sessions_spend_their_time_in_the_techniques_position(
    technique: str, position: str
) -> None:
    rec = simulate(technique, seed=3, reps=3, sets=1)
    frames, _ = motion_process(rec)
    info = detect_exercise(frames, technique, annotations=rec.events).info
    seconds = info["position_s"]
    known = {k: v for k, v in seconds.items() if k != "unknown"}
    assert max(known, key=lambda k: known[k]) == position
    assert "position_note" not in info


def test_the_wrong_position_is_named() -> None:
    rec = simulate("flexion-extension", seed=3, reps=2)
    frames, _ = motion_process(rec)
    info = detect_exercise(
        frames, "pelvic-tilt", annotations=rec.events, calibrated_position=rec.meta["position"]
    ).info
    assert "never showed the supine start position of pelvic-tilt" in info["position_note"]
    assert info["position_s"].get("quadruped", 0.0) == 0.0


def test_one_sensor_says_why_nothing_is_counted() -> None:
    rec = simulate("pelvic-tilt", seed=3, reps=2)
    lower_only = Recording.create({"lower": rec.sensors["lower"]}, events=rec.events, meta=rec.meta)
    frames, _ = motion_process(lower_only)
    result = detect_exercise(frames, "pelvic-tilt", annotations=rec.events)
    assert result.reps == ()
    assert "upper sensor is missing or was never calibrated" in result.info["position_note"]
