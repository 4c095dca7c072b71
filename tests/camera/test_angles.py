"""Angle maths on synthetic landmark sets with known angles, smoothing, visibility, view."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spinecoach.camera.angles import (
    CAMERA_ANGLES,
    HIP_FLEXION_DEG,
    KNEE_ANGLE_DEG,
    TRUNK_INCLINATION_DEG,
    TRUNK_LATERAL_BEND_DEG,
    CameraAngleSettings,
    CameraAngleTracker,
    OneEuroFilter,
    OneEuroSettings,
    camera_angles,
    hip_flexion_deg,
    knee_angle_deg,
    one_euro_filter,
    trunk_inclination_deg,
    trunk_lateral_bend_deg,
)
from spinecoach.camera.landmarks import (
    LANDMARK_INDEX,
    LEFT_HIP,
    LEFT_SHOULDER,
    NOSE,
    RIGHT_HIP,
    RIGHT_SHOULDER,
    LandmarkSequence,
)
from spinecoach.errors import ConfigurationError


def _rot(v: np.ndarray, deg: float) -> np.ndarray:
    """Rotate a y-down image vector by ``deg`` toward +x from straight up."""
    a = math.radians(deg)
    return np.array(
        [v[0] * math.cos(a) - v[1] * math.sin(a), v[0] * math.sin(a) + v[1] * math.cos(a)]
    )


def side_view(trunk_deg: float, thigh_deg: float, knee_deg: float, facing: int = 1) -> np.ndarray:
    """A person seen side on, facing +x (facing=1) or −x; angles forward positive."""
    xy = np.zeros((33, 2))
    hip = np.array([0.0, 0.0])
    trunk = np.array([math.sin(math.radians(trunk_deg)), -math.cos(math.radians(trunk_deg))]) * 50
    thigh = np.array([math.sin(math.radians(thigh_deg)), math.cos(math.radians(thigh_deg))]) * 45
    shank_dir = math.radians(thigh_deg - knee_deg)
    shank = np.array([math.sin(shank_dir), math.cos(shank_dir)]) * 42
    for left, right, p in (
        (LEFT_HIP, RIGHT_HIP, hip),
        (LEFT_SHOULDER, RIGHT_SHOULDER, hip + trunk),
        (25, 26, hip + thigh),
        (27, 28, hip + thigh + shank),
    ):
        xy[left], xy[right] = p + np.array([0.5, 0]), p - np.array([0.5, 0])
    head = hip + trunk * 1.25
    xy[NOSE] = head + np.array([6.0, 0.0])
    xy[[7, 8]] = head
    xy[:, 0] *= facing
    return xy


def front_view(bend_deg: float, mirrored: bool = False) -> np.ndarray:
    """Facing the camera: the person's right at image left (−x); bend to the right +."""
    xy = np.zeros((33, 2))
    hips = np.array([[15.0, 0.0], [-15.0, 0.0]])  # left, right hip
    up = _rot(np.array([0.0, -50.0]), -bend_deg)  # toward −x = the person's right
    xy[LEFT_HIP], xy[RIGHT_HIP] = hips
    xy[LEFT_SHOULDER] = up + np.array([20.0, 0.0])
    xy[RIGHT_SHOULDER] = up - np.array([20.0, 0.0])
    if mirrored:
        xy[:, 0] *= -1
    return xy


@pytest.mark.parametrize("deg", [-30.0, -5.0, 0.0, 12.5, 45.0, 90.0])
@pytest.mark.parametrize("facing", [1, -1])
def test_trunk_inclination_known(deg: float, facing: int) -> None:
    xy = side_view(deg, 0.0, 0.0, facing)
    assert float(trunk_inclination_deg(xy)) == pytest.approx(deg, abs=1e-9)
    fixed = "right" if facing == 1 else "left"
    assert float(trunk_inclination_deg(xy, facing=fixed)) == pytest.approx(deg, abs=1e-9)


@pytest.mark.parametrize("deg", [-25.0, 0.0, 7.0, 30.0])
def test_lateral_bend_known_and_right_positive(deg: float) -> None:
    assert float(trunk_lateral_bend_deg(front_view(deg))) == pytest.approx(deg, abs=1e-9)
    # A back view (or mirror) flips the image and the hips' order together: same angle.
    assert float(trunk_lateral_bend_deg(front_view(deg, mirrored=True))) == pytest.approx(
        deg, abs=1e-9
    )


@pytest.mark.parametrize(
    ("trunk", "thigh", "expected"),
    [
        (0.0, 0.0, 0.0),
        (0.0, 90.0, 90.0),
        (45.0, 0.0, 45.0),
        (10.0, 80.0, 90.0),
        (0.0, -15.0, -15.0),
    ],
)
def test_hip_flexion_known(trunk: float, thigh: float, expected: float) -> None:
    for facing in (1, -1):
        xy = side_view(trunk, thigh, 0.0, facing)
        assert float(hip_flexion_deg(xy)) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("knee", [0.0, 30.0, 90.0, 120.0])
def test_knee_angle_known(knee: float) -> None:
    xy = side_view(0.0, 20.0, knee)
    assert float(knee_angle_deg(xy)) == pytest.approx(knee, abs=1e-9)


def test_batch_shapes_and_bad_options() -> None:
    frames = np.stack([side_view(d, 0, 0) for d in (0.0, 10.0, 20.0)])
    np.testing.assert_allclose(trunk_inclination_deg(frames), [0.0, 10.0, 20.0], atol=1e-9)
    with pytest.raises(ConfigurationError, match="facing must be"):
        trunk_inclination_deg(frames, facing="up")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="side must be"):
        knee_angle_deg(frames, side="middle", visibility=np.ones((3, 33)))  # type: ignore[arg-type]
    assert LANDMARK_INDEX["left_shoulder"] == 11 and LANDMARK_INDEX["right_ankle"] == 28


def _sequence(xy: np.ndarray, rate_hz: float = 30.0, visibility: np.ndarray | None = None):
    n = xy.shape[0]
    points = np.concatenate([xy, np.zeros((n, 33, 1))], axis=2)
    return LandmarkSequence.from_arrays(np.arange(n) / rate_hz, points, visibility)


def test_visibility_flags_nan_and_confidence() -> None:
    xy = np.stack([front_view(10.0)] * 6)
    vis = np.ones((6, 33))
    vis[2:4, LEFT_SHOULDER] = 0.2
    result, _ = camera_angles(
        _sequence(xy, visibility=vis), settings=CameraAngleSettings(smoothing=None)
    )
    bend = result.angles[TRUNK_LATERAL_BEND_DEG]
    assert np.isnan(bend[2:4]).all() and np.allclose(bend[[0, 1, 4, 5]], 10.0)
    assert result.low_confidence[TRUNK_LATERAL_BEND_DEG].tolist() == [0, 0, 1, 1, 0, 0]
    assert result.confidence[TRUNK_LATERAL_BEND_DEG][2] == pytest.approx(0.2)
    # A frontal view cannot show the sagittal angles: NaN and flagged "wrong view".
    for name in (TRUNK_INCLINATION_DEG, HIP_FLEXION_DEG, KNEE_ANGLE_DEG):
        assert result.wrong_view[name].all() and np.isnan(result.angles[name]).all()


def test_side_view_gives_sagittal_not_lateral() -> None:
    xy = np.stack([side_view(20.0, 10.0, 5.0)] * 4)
    result, _ = camera_angles(_sequence(xy), settings=CameraAngleSettings(smoothing=None))
    assert np.allclose(result.angles[TRUNK_INCLINATION_DEG], 20.0)
    assert np.allclose(result.angles[HIP_FLEXION_DEG], 30.0)
    assert np.allclose(result.angles[KNEE_ANGLE_DEG], 5.0)
    assert np.isnan(result.angles[TRUNK_LATERAL_BEND_DEG]).all()
    any_view, _ = camera_angles(
        _sequence(xy), settings=CameraAngleSettings(smoothing=None, view="any")
    )
    assert np.isfinite(any_view.angles[TRUNK_LATERAL_BEND_DEG]).all()


def test_one_euro_latency_matches_documented() -> None:
    """A slow movement is delayed by about 1 / (2π·min_cutoff) — the documented latency."""
    settings = OneEuroSettings(min_cutoff_hz=1.5, beta=0.0)
    rate = 30.0
    t = np.arange(0, 20, 1 / rate)
    x = 10 * np.sin(2 * np.pi * 0.1 * t)
    y = one_euro_filter(x, t, settings)
    lags = np.arange(0, 0.4, 1 / 300)
    errors = [np.mean((np.interp(t[60:] - lag, t, x) - y[60:]) ** 2) for lag in lags]
    measured = lags[int(np.argmin(errors))]
    assert settings.rest_latency_s == pytest.approx(0.106, abs=0.001)
    assert measured == pytest.approx(settings.rest_latency_s, abs=0.02)
    # With the speed term the delay shrinks during fast movement.
    fast = one_euro_filter(50 * np.sin(2 * np.pi * 0.5 * t), t, OneEuroSettings())
    slow = one_euro_filter(50 * np.sin(2 * np.pi * 0.5 * t), t, settings)
    truth = 50 * np.sin(2 * np.pi * 0.5 * t)
    assert np.abs(fast - truth)[60:].max() < np.abs(slow - truth)[60:].max()


def test_one_euro_restarts_after_nan_and_validates() -> None:
    f = OneEuroFilter(OneEuroSettings())
    assert f.update(0.0, 5.0) == 5.0
    assert math.isnan(f.update(0.033, float("nan")))
    assert f.update(0.066, 9.0) == 9.0
    with pytest.raises(ConfigurationError, match="min_cutoff_hz"):
        OneEuroSettings(min_cutoff_hz=0.0)


def test_streaming_equals_batch() -> None:
    rng = np.random.default_rng(3)
    frames = np.stack([front_view(d) for d in 15 * np.sin(np.linspace(0, 6, 90))])
    frames += rng.normal(0, 0.5, frames.shape)
    vis = rng.uniform(0.3, 1.0, (90, 33))
    seq = _sequence(frames, visibility=vis)
    batch, info = camera_angles(seq)
    assert info["latency_s"] == pytest.approx(OneEuroSettings().rest_latency_s)
    tracker = CameraAngleTracker()
    for i in range(seq.n_frames):
        sample = tracker.update(float(seq.time_s[i]), seq.landmarks[i], seq.visibility[i])
        for name in CAMERA_ANGLES:
            a, b = sample.angles[name], batch.angles[name][i]
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-9)
            assert sample.low_confidence[name] == bool(batch.low_confidence[name][i])
    with pytest.raises(ConfigurationError, match=r"shape \(33, 3\)"):
        tracker.update(0.0, np.zeros((32, 3)))


def test_sequence_validation_and_image_scaling() -> None:
    with pytest.raises(ConfigurationError, match="strictly increasing"):
        LandmarkSequence.from_arrays([0.0, 0.0], np.zeros((2, 33, 3)))
    with pytest.raises(ConfigurationError, match=r"landmarks must have shape \(2, 33, 3\)"):
        LandmarkSequence.from_arrays([0.0, 1.0], np.zeros((2, 32, 3)))
    # 16:9 normalised coordinates: a 45° line in pixels is not 45° in normalised units.
    xy = front_view(0.0)
    xy[[LEFT_SHOULDER, RIGHT_SHOULDER], 0] -= 50.0  # 45° to the right in square units
    pts = np.concatenate([xy[None], np.zeros((1, 33, 1))], axis=2)
    norm = pts.copy()
    norm[..., 0] /= 1920.0
    norm[..., 1] /= 1080.0
    seq = LandmarkSequence.from_arrays([0.0], norm, image_size=(1920, 1080))
    assert float(trunk_lateral_bend_deg(seq.planar_xy())[0]) == pytest.approx(45.0)
