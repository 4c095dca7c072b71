"""The real MediaPipe pose model (BlazePose "full", complexity 1, from the wheel) on real
photographs: where a person is, plausible landmarks and mask; where none is, nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from camera_photos import CANVAS, NO_PEOPLE, PEOPLE, Image, load_photo, on_canvas

from spinecoach.camera.angles import CAMERA_ANGLES, CameraAngleTracker
from spinecoach.camera.landmarks import (
    LEFT_EAR,
    LEFT_SHOULDER,
    NOSE,
    RIGHT_EAR,
    RIGHT_SHOULDER,
)
from spinecoach.camera.source import MODEL_COMPLEXITY, MediaPipePoseEstimator, PoseResult

#: Face and shoulders: what a head-and-shoulders portrait shows clearly.
UPPER_BODY = (*range(0, 11), LEFT_SHOULDER, RIGHT_SHOULDER)
LEFT_EYE, RIGHT_EYE = 2, 5


def estimate_once(image: Image) -> PoseResult:
    estimator = MediaPipePoseEstimator()
    try:
        return estimator.estimate(image)
    finally:
        estimator.close()


def test_the_model_is_the_one_in_the_wheel() -> None:
    import mediapipe

    assert mediapipe.__version__ == "0.10.21"
    assert MODEL_COMPLEXITY == 1
    # The "full" landmark model ships in the wheel; the lite and heavy ones would be
    # downloaded at first use, which must never happen.
    from pathlib import Path

    models = Path(mediapipe.__file__).parent / "modules" / "pose_landmark"
    assert (models / "pose_landmark_full.tflite").is_file()


def test_the_core_dependencies_import_beside_the_camera_extra() -> None:
    """The camera extra pins numpy < 2; every compiled core dependency must still load
    (pyarrow 26 does not: the Makefile installs pyarrow < 26 here)."""
    import importlib

    import numpy

    assert int(numpy.__version__.split(".")[0]) < 2
    for module in ("scipy.signal", "h5py", "pyarrow.parquet", "imufusion", "cv2"):
        importlib.import_module(module)


def test_the_photos_are_read_from_the_installed_packages() -> None:
    import importlib.util

    # No downloader: the images can only come from the files inside the wheels.
    assert importlib.util.find_spec("pooch") is None
    for name in (*PEOPLE, *NO_PEOPLE):
        image = load_photo(name)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert min(image.shape[:2]) >= 300


@pytest.mark.parametrize("framing", ["as shipped", "on a 640x480 canvas"])
@pytest.mark.parametrize("name", PEOPLE)
def test_a_person_facing_the_camera_gets_plausible_landmarks(name: str, framing: str) -> None:
    image = load_photo(name)
    if framing != "as shipped":
        image = on_canvas(image)
    result = estimate_once(image)
    assert result.found
    assert result.landmarks is not None and result.visibility is not None
    xy = result.landmarks[:, :2]
    vis = result.visibility
    assert result.landmarks.shape == (33, 3) and vis.shape == (33,)
    # The face and shoulders are in the picture and clearly seen.
    assert np.all((xy[list(UPPER_BODY)] > 0.0) & (xy[list(UPPER_BODY)] < 1.0))
    assert vis[list(UPPER_BODY)].min() > 0.9
    shoulders = 0.5 * (xy[LEFT_SHOULDER] + xy[RIGHT_SHOULDER])
    # y is down: the nose is above the shoulders, between them.
    assert xy[NOSE, 1] < shoulders[1] - 0.05
    assert xy[RIGHT_SHOULDER, 0] < xy[NOSE, 0] < xy[LEFT_SHOULDER, 0]
    # Facing the camera (not mirrored), the person's left is on the image's right.
    assert xy[LEFT_SHOULDER, 0] > xy[RIGHT_SHOULDER, 0]
    assert xy[LEFT_EYE, 0] > xy[RIGHT_EYE, 0]
    assert xy[LEFT_EAR, 0] > xy[RIGHT_EAR, 0]
    # Shoulders roughly level (in pixels: normalised x and y have different scales). The
    # astronaut's bulky suit puts the model's shoulders at the neck ring on the canvas,
    # about 15 deg off level; a person on their side would be near 90.
    height, width = image.shape[:2]
    dx = (xy[LEFT_SHOULDER, 0] - xy[RIGHT_SHOULDER, 0]) * width
    dy = (xy[LEFT_SHOULDER, 1] - xy[RIGHT_SHOULDER, 1]) * height
    assert abs(math.degrees(math.atan2(dy, dx))) < 20.0
    # World landmarks in metres: an adult's shoulder width, the nose above the shoulders.
    world = result.world_landmarks
    assert world is not None and np.all(np.isfinite(world))
    assert 0.25 < np.linalg.norm(world[LEFT_SHOULDER] - world[RIGHT_SHOULDER]) < 0.5
    world_shoulders = 0.5 * (world[LEFT_SHOULDER] + world[RIGHT_SHOULDER])
    assert 0.08 < world_shoulders[1] - world[NOSE, 1] < 0.3


@pytest.mark.parametrize("name", PEOPLE)
def test_the_face_is_found_at_the_same_place_whatever_the_framing(name: str) -> None:
    """Normalised coordinates are per image side: the same photograph on a wider canvas,
    padded left and right, gives the same face landmarks in the photograph's pixels."""
    image = load_photo(name)
    height, width = image.shape[:2]
    canvas_w, canvas_h = CANVAS
    scale = min(canvas_w / width, canvas_h / height)
    x0 = (canvas_w - round(width * scale)) // 2
    y0 = (canvas_h - round(height * scale)) // 2
    shipped = estimate_once(image).landmarks
    framed = estimate_once(on_canvas(image)).landmarks
    assert shipped is not None and framed is not None
    face = [NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR]
    in_photo = (framed[face, :2] * [canvas_w, canvas_h] - [x0, y0]) / scale
    np.testing.assert_allclose(in_photo, shipped[face, :2] * [width, height], atol=0.03 * width)


@pytest.mark.parametrize("name", PEOPLE)
def test_the_segmentation_mask_covers_the_person(name: str) -> None:
    image = on_canvas(load_photo(name))
    result = estimate_once(image)
    mask = result.segmentation_mask
    assert mask is not None and result.landmarks is not None
    height, width = image.shape[:2]
    assert mask.shape == (height, width)
    assert float(mask.min()) >= 0.0 and float(mask.max()) <= 1.0
    xy = result.landmarks[:, :2] * [width, height]
    shoulder_width = xy[LEFT_SHOULDER, 0] - xy[RIGHT_SHOULDER, 0]
    # The person's centre: the chest, below the shoulder midpoint; and the face.
    chest = 0.5 * (xy[LEFT_SHOULDER] + xy[RIGHT_SHOULDER]) + [0.0, 0.25 * shoulder_width]
    for x, y in (chest, xy[NOSE]):
        assert mask[int(y), int(x)] > 0.9
    # The black padding beside the photograph is background.
    assert mask[:, :20].max() < 0.5 and mask[:, -20:].max() < 0.5
    covered = float(np.mean(mask > 0.5))
    assert 0.1 < covered < 0.7


def black() -> Image:
    return np.zeros((480, 640, 3), dtype=np.uint8)


@pytest.mark.parametrize("name", ["black", *NO_PEOPLE])
def test_no_person_gives_no_landmarks_and_nan_angles(name: str) -> None:
    image = black() if name == "black" else load_photo(name)
    estimator = MediaPipePoseEstimator()
    tracker = CameraAngleTracker(image_size=(image.shape[1], image.shape[0]))
    try:
        for k in range(5):
            result = estimator.estimate(image)
            assert not result.found
            assert result.visibility is None and result.segmentation_mask is None
            # What the live source feeds the tracker for a frame without a person.
            sample = tracker.update(k / 30.0, np.full((33, 3), np.nan), np.zeros(33))
            assert all(math.isnan(sample.angles[a]) for a in CAMERA_ANGLES)
            assert all(sample.low_confidence[a] for a in CAMERA_ANGLES)
    finally:
        estimator.close()
