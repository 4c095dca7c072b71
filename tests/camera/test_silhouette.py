"""Back curvature from synthetic segmentation masks with a known back shape."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from spinecoach.camera import silhouette as silhouette_module
from spinecoach.camera.silhouette import (
    SilhouetteSettings,
    back_curvature,
    back_normal,
)
from spinecoach.camera.synthetic import standing_mask
from spinecoach.errors import ConfigurationError

SPAN = SilhouetteSettings().span


def test_module_doctests() -> None:
    assert doctest.testmod(silhouette_module).failed == 0


@pytest.mark.parametrize("turn_deg", [-30.0, -15.0, 10.0, 25.0, 40.0])
@pytest.mark.parametrize("facing", ["right", "left"])
def test_curvature_of_a_circular_back_has_its_sign_and_size(turn_deg: float, facing: str) -> None:
    mask, shoulder, hip = standing_mask(turn_deg, facing=facing)
    c = back_curvature(mask, shoulder_xy=shoulder, hip_xy=hip, facing=facing)  # type: ignore[arg-type]
    assert math.copysign(1.0, c.curvature_deg) == math.copysign(1.0, turn_deg)
    assert c.curvature_deg == pytest.approx(turn_deg, abs=2.5)
    chord = (340.0 - 60.0) * (SPAN[1] - SPAN[0])
    expected_ratio = math.tan(math.radians(turn_deg) / 4.0) / 2.0
    assert c.deviation_ratio == pytest.approx(expected_ratio, abs=0.01)
    assert c.chord_px == pytest.approx(280.0)
    assert c.confidence > 0.85
    assert c.reason == ""
    assert c.contour_xy.shape == (SilhouetteSettings().n_stations, 2)
    assert chord > 0


def test_straight_back_is_zero() -> None:
    mask, shoulder, hip = standing_mask(0.0)
    c = back_curvature(mask, shoulder_xy=shoulder, hip_xy=hip, facing="right")
    assert c.curvature_deg == pytest.approx(0.0, abs=0.5)
    assert c.confidence > 0.95


def test_wrong_facing_looks_at_the_front_not_the_back() -> None:
    # The front of this mask is straight; the back is rounded.
    mask, shoulder, hip = standing_mask(30.0)
    back = back_curvature(mask, shoulder_xy=shoulder, hip_xy=hip, facing="right")
    front = back_curvature(mask, shoulder_xy=shoulder, hip_xy=hip, facing="left")
    assert back.curvature_deg > 25.0
    assert abs(front.curvature_deg) < 1.0


def test_the_measure_does_not_depend_on_the_image_scale() -> None:
    small = _curvature(standing_mask(20.0), "right")
    mask, s, h = standing_mask(20.0)
    big_mask = np.kron(mask, np.ones((2, 2)))
    big = back_curvature(
        big_mask, shoulder_xy=(2 * s[0], 2 * s[1]), hip_xy=(2 * h[0], 2 * h[1]), facing="right"
    )
    assert big.curvature_deg == pytest.approx(small.curvature_deg, abs=1.5)
    assert big.chord_px == pytest.approx(2 * small.chord_px)


def _curvature(
    made: tuple[np.ndarray, tuple[float, float], tuple[float, float]], facing: str
) -> silhouette_module.BackCurvature:
    mask, shoulder, hip = made
    return back_curvature(mask, shoulder_xy=shoulder, hip_xy=hip, facing=facing)  # type: ignore[arg-type]


def _quadruped(kind: str) -> float:
    """Hands and knees, facing right, back up: cat rounds the back up, cow lets it sag."""
    yy, xx = np.mgrid[0:300, 0:500].astype(np.float64)
    shoulder, hip = (380.0, 150.0), (120.0, 150.0)
    sign = {"cat": 1.0, "cow": -1.0, "flat": 0.0}[kind]
    bulge = sign * 25.0 * np.sin(np.pi * (xx - 100.0) / 300.0).clip(0.0)
    body = (yy >= 110.0 - bulge) & (yy <= 200.0) & (xx >= 100.0) & (xx <= 400.0)
    c = back_curvature(body.astype(np.float64), shoulder_xy=shoulder, hip_xy=hip, facing="right")
    assert c.confidence > 0.8
    return c.curvature_deg


def test_cat_is_convex_and_cow_concave_on_hands_and_knees() -> None:
    cat, flat, cow = _quadruped("cat"), _quadruped("flat"), _quadruped("cow")
    assert cat > 15.0
    assert cow < -15.0
    assert abs(flat) < 1.0


def test_slouched_sitting_is_more_flexed_than_upright() -> None:
    # Facing left; slouched: the back rounds and the trunk leans forward.
    upright = _curvature(standing_mask(-8.0, facing="left"), "left")
    mask, s, h = standing_mask(22.0, facing="left")
    slouched = back_curvature(mask, shoulder_xy=s, hip_xy=h, facing="left")
    assert slouched.curvature_deg - upright.curvature_deg > 20.0


def test_a_blurred_mask_and_a_small_person_lower_the_confidence() -> None:
    mask, s, h = standing_mask(20.0, soft=True)
    soft = back_curvature(mask, shoulder_xy=s, hip_xy=h, facing="right")
    assert soft.confidence < 0.6
    assert soft.reason == "the mask's edge is blurred"
    tiny = _curvature(standing_mask(20.0, top=100.0, bottom=140.0, depth=15.0), "right")
    assert tiny.confidence < 0.6
    assert tiny.reason == "the person is small in the image; come closer to the camera"


def test_no_outline_gives_nan_with_a_reason() -> None:
    empty = back_curvature(
        np.zeros((100, 100)), shoulder_xy=(50, 10), hip_xy=(50, 90), facing="right"
    )
    assert math.isnan(empty.curvature_deg)
    assert empty.confidence == 0.0
    assert empty.reason == "the back's outline was not found in the mask"
    lost = back_curvature(
        np.ones((100, 100)), shoulder_xy=(math.nan, 10), hip_xy=(50, 90), facing="right"
    )
    assert lost.reason == "the shoulder or hip was not found"
    stacked = back_curvature(
        np.ones((100, 100)), shoulder_xy=(50, 50), hip_xy=(51, 51), facing="right"
    )
    assert stacked.reason == "the shoulder and hip are on top of each other (not a side view)"


def test_bad_inputs_name_the_argument() -> None:
    with pytest.raises(ConfigurationError, match="mask must be a 2-D image"):
        back_curvature(np.zeros((4, 4, 3)), shoulder_xy=(0, 0), hip_xy=(0, 3), facing="right")
    with pytest.raises(ConfigurationError, match="shoulder_xy and hip_xy must be"):
        back_curvature(np.zeros((4, 4)), shoulder_xy=(0, 0, 0), hip_xy=(0, 3), facing="right")
    with pytest.raises(ConfigurationError, match="facing must be 'left' or 'right'"):
        back_normal((0, 0), (0, 10), "up")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="span must satisfy"):
        SilhouetteSettings(span=(0.8, 0.2))
    with pytest.raises(ConfigurationError, match="n_stations must be at least 5"):
        SilhouetteSettings(n_stations=3)
    with pytest.raises(ConfigurationError, match="threshold must be between 0 and 1"):
        SilhouetteSettings(threshold=1.0)
    with pytest.raises(ConfigurationError, match="max_depth and min_chord_px must be positive"):
        SilhouetteSettings(max_depth=0.0)
