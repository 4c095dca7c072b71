"""Camera set-up: the view each technique needs and the framing check on synthetic
landmark sets."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from spinecoach.camera import setup as framing_module
from spinecoach.camera.setup import (
    CAMERA_VIEWS,
    FramingSettings,
    camera_view,
    check_framing,
)
from spinecoach.conventions import TECHNIQUES
from spinecoach.errors import ConfigurationError

SIZE = (640, 480)


def standing(
    *,
    facing: str = "right",
    scale: float = 1.0,
    shift: tuple[float, float] = (0.0, 0.0),
    frontal: bool = False,
    roll_deg: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """A person standing side-on (or facing the camera), pixels → normalised landmarks."""
    f = 1.0 if facing == "right" else -1.0
    pts = np.zeros((33, 2))
    half = 40.0 if frontal else 3.0  # half the shoulder / hip width across the image
    body = {
        "shoulder": (0.0, -150.0),
        "hip": (0.0, 0.0),
        "knee": (0.0, 90.0),
        "ankle": (0.0, 180.0),
        "ear": (0.0, -190.0),
    }
    pairs = {"shoulder": (11, 12), "hip": (23, 24), "knee": (25, 26), "ankle": (27, 28)}
    pairs["ear"] = (7, 8)
    for part, (left, right) in pairs.items():
        x, y = body[part]
        pts[left] = (x - half, y)
        pts[right] = (x + half, y)
    pts[0] = (f * 15.0, -185.0)
    for heel, toe, ankle in ((29, 31, 27), (30, 32, 28)):
        pts[heel] = pts[ankle] + (-f * 10.0, 10.0)
        pts[toe] = pts[ankle] + (f * 25.0, 10.0)
    for wrist, hip in ((15, 23), (16, 24)):
        pts[wrist] = pts[hip] + (f * 10.0, 10.0)
    c, s = math.cos(math.radians(roll_deg)), math.sin(math.radians(roll_deg))
    pts = pts @ np.array([[c, s], [-s, c]])  # rotated clockwise on screen by roll_deg
    pts = pts * scale + np.array([320.0 + shift[0], 250.0 + shift[1]])
    landmarks = np.zeros((33, 3))
    landmarks[:, 0] = pts[:, 0] / SIZE[0]
    landmarks[:, 1] = pts[:, 1] / SIZE[1]
    visibility = np.full(33, 0.95)
    return landmarks, visibility


def test_module_doctests() -> None:
    assert doctest.testmod(framing_module).failed == 0


def test_every_technique_has_a_view_and_pelvic_tilt_points_to_a_sensor() -> None:
    assert set(CAMERA_VIEWS) == set(TECHNIQUES)
    assert all(v.view == "side" for v in CAMERA_VIEWS.values())
    tilt = camera_view("pelvic-tilt")
    assert not tilt.coachable
    assert "Use a motion sensor" in tilt.placement
    assert camera_view("cat-cow").coachable
    with pytest.raises(ConfigurationError, match="unknown technique 'plank'; use one of"):
        camera_view("plank")


@pytest.mark.parametrize("facing", ["right", "left"])
def test_a_well_framed_side_view_passes(facing: str) -> None:
    landmarks, vis = standing(facing=facing)
    check = check_framing(landmarks, vis, "flexion-extension", image_size=SIZE)
    assert check.ok, check.messages
    assert check.facing == facing
    assert check.width_ratio < 0.1
    assert check.roll_deg == pytest.approx(0.0, abs=0.5)


def test_feet_cut_off_ask_to_step_back_or_tilt_down() -> None:
    landmarks, vis = standing(shift=(0.0, 60.0))
    check = check_framing(landmarks, vis, "hip-hinge", image_size=SIZE)
    assert not check.ok
    assert check.messages == (
        "Your feet are cut off at the bottom of the picture: step back, or tilt the camera "
        "down a little.",
    )


def test_head_cut_off_and_too_close() -> None:
    landmarks, vis = standing(shift=(0.0, 40.0 - 250.0 + 150.0))
    check = check_framing(landmarks, vis, "hip-hinge", image_size=SIZE)
    assert "Your head is cut off at the top of the picture" in check.messages[0]
    landmarks, vis = standing(scale=1.6)
    check = check_framing(landmarks, vis, "hip-hinge", image_size=SIZE)
    assert check.messages[0].startswith("You are too close: step back from the camera")


def test_at_the_edge_and_small() -> None:
    landmarks, vis = standing(shift=(-315.0, 0.0))
    check = check_framing(landmarks, vis, "flexion-extension", image_size=SIZE)
    assert any(m.startswith("You are at the left edge of the picture") for m in check.messages)
    landmarks, vis = standing(scale=0.3)
    check = check_framing(landmarks, vis, "flexion-extension", image_size=SIZE)
    assert check.messages == (
        "You are small in the picture: come closer to the camera (about 2–3 m away).",
    )


def test_facing_the_camera_asks_to_turn_sideways() -> None:
    landmarks, vis = standing(frontal=True)
    check = check_framing(landmarks, vis, "hip-hinge", image_size=SIZE)
    assert check.width_ratio == pytest.approx(80.0 / 150.0, abs=0.01)
    assert check.messages == (
        "Turn a little more sideways to the camera: it needs to see you from the side, so "
        "one shoulder hides the other.",
    )
    half = FramingSettings(side_max_ratio=0.2, front_min_ratio=0.3)
    check = check_framing(landmarks, vis, "hip-hinge", image_size=SIZE, settings=half)
    assert check.messages[0].startswith("Turn sideways to the camera")


@pytest.mark.parametrize(("roll", "side"), [(8.0, "right"), (-8.0, "left")])
def test_a_tilted_camera_is_seen_from_the_floor_line(roll: float, side: str) -> None:
    landmarks, vis = standing(roll_deg=roll)
    check = check_framing(landmarks, vis, "flexion-extension", image_size=SIZE)
    assert check.roll_deg == pytest.approx(roll, abs=0.5)
    assert check.messages == (
        f"The camera is tilted by about 8°: the floor runs downhill to the {side} of the "
        f"picture. Lower the camera's {side} side (as seen from behind it) until the floor "
        "looks level.",
    )
    assert check_framing(*standing(roll_deg=3.0), "hip-hinge", image_size=SIZE).ok


def test_hidden_parts_and_nobody() -> None:
    landmarks, vis = standing()
    vis[[25, 26]] = 0.1
    check = check_framing(landmarks, vis, "hip-hinge", image_size=SIZE)
    assert check.messages == (
        "The camera cannot see your knees clearly: make sure nothing is in the way and the "
        "room is well lit.",
    )
    # Without the feet the level check is skipped, not failed.
    landmarks, vis = standing()
    vis[[29, 30, 31, 32]] = 0.0
    check = check_framing(landmarks, vis, "cat-cow-seated", image_size=SIZE)
    assert check.ok
    assert math.isnan(check.roll_deg)
    nobody = check_framing(np.full((33, 3), np.nan), np.ones(33), "hip-hinge")
    assert nobody.messages == (
        "Nobody is in the picture: sit or stand where the camera can see all of you.",
    )
    with pytest.raises(ConfigurationError, match=r"landmarks must be \(33, 3\)"):
        check_framing(np.zeros((33, 2)), np.ones(33), "hip-hinge")
