"""The camera source: a fake pose estimator, injected frames, fake OpenCV/MediaPipe
modules for the adapters, and the real error when the camera extra is not installed."""

from __future__ import annotations

import doctest
import importlib.util
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spinecoach.camera import source as source_module
from spinecoach.camera.source import (
    CameraSource,
    CameraSpec,
    MediaPipePoseEstimator,
    PoseResult,
    VideoFrame,
    landmark_sequence,
    parse_camera_source,
)
from spinecoach.errors import ConfigurationError, SourceUnavailableError

EXTRA_INSTALLED = all(importlib.util.find_spec(m) is not None for m in ("cv2", "mediapipe"))
needs_missing_extra = pytest.mark.skipif(
    EXTRA_INSTALLED, reason="the camera extra is installed here; this checks its absence"
)


class SkeletonEstimator:
    """Landmarks of a known skeleton: the nose moves right by one pixel-share per frame;
    every third image (a dark one) has nobody in it."""

    def __init__(self) -> None:
        self.seen = 0
        self.closed = False

    def estimate(self, image: np.ndarray) -> PoseResult:
        self.seen += 1
        if int(image.mean()) == 0:
            return PoseResult(None, None, None, None)
        points = np.full((33, 3), 0.5)
        points[0, 0] = 0.1 * self.seen
        world = np.zeros((33, 3))
        mask = np.zeros(image.shape[:2], dtype=np.float32)
        return PoseResult(points, world, np.full(33, 0.9), mask)

    def close(self) -> None:
        self.closed = True


def frames(times: list[float], *, dark: frozenset[int] = frozenset()) -> list[VideoFrame]:
    return [
        VideoFrame(t, np.full((24, 32, 3), 0 if k in dark else 100, np.uint8))
        for k, t in enumerate(times)
    ]


def test_module_doctests() -> None:
    assert doctest.testmod(source_module).failed == 0


def test_parse_camera_source() -> None:
    assert parse_camera_source("camera:2") == CameraSpec("camera", device_index=2)
    assert parse_camera_source("camera:") == CameraSpec("camera", device_index=0)
    assert parse_camera_source("video:a b.mp4").path == Path("a b.mp4")
    assert parse_camera_source("video:x.mp4").label == "video:x.mp4"
    with pytest.raises(ConfigurationError, match="a webcam is camera:N"):
        parse_camera_source("camera:front")
    with pytest.raises(ConfigurationError, match="a video file is video:PATH"):
        parse_camera_source("video:")
    with pytest.raises(ConfigurationError, match="'sim' is not a camera source"):
        parse_camera_source("sim")
    with pytest.raises(ConfigurationError, match="max_frames must be at least 1"):
        CameraSource("camera:0", max_frames=0)


def test_video_frames_become_landmark_rows_on_the_video_clock() -> None:
    estimator = SkeletonEstimator()
    source = CameraSource(
        "video:clip.mp4",
        estimator=estimator,
        frames=frames([10.0, 10.04, 10.04, 10.08, 10.12], dark={3}),
    )
    rows = list(source)
    assert [round(r.time_s, 3) for r in rows] == [0.0, 0.04, 0.08, 0.12]
    assert source.frames_dropped == 1  # the repeated time stamp
    assert source.start_monotonic_s is None  # a video keeps its own clock
    assert estimator.closed
    assert rows[0].image_size == (32, 24)
    assert rows[0].pose.segmentation_mask is not None
    assert not rows[2].pose.found
    seq = landmark_sequence(
        CameraSource(
            "video:clip.mp4",
            estimator=SkeletonEstimator(),
            frames=frames([0.0, 0.5, 1.0], dark={1}),
        )
    )
    assert seq.n_frames == 3
    assert seq.source == "video:clip.mp4"
    assert seq.image_size == (32, 24)
    assert np.all(np.isnan(seq.landmarks[1]))
    assert seq.visibility[1].max() == 0.0
    assert seq.landmarks[2, 0, 0] == pytest.approx(0.3)  # the third image seen
    world = landmark_sequence(rows, coordinates="world")
    assert world.coordinates == "world"
    assert world.source == ""


def test_webcam_times_start_at_the_first_frame_and_close_stops() -> None:
    source = CameraSource(
        "camera:0", estimator=SkeletonEstimator(), frames=frames([500.0, 500.1, 500.2, 500.3])
    )
    seen = []
    for row in source:
        seen.append(row.time_s)
        if len(seen) == 2:
            source.close()
    assert seen == pytest.approx([0.0, 0.1])
    assert source.start_monotonic_s == 500.0
    limited = CameraSource(
        "camera:0", estimator=SkeletonEstimator(), frames=frames([0.0, 0.1, 0.2]), max_frames=2
    )
    assert len(list(limited)) == 2


# --- the real error without the extra --------------------------------------------------


@needs_missing_extra
def test_without_the_extra_the_error_says_how_to_install_it() -> None:
    with pytest.raises(SourceUnavailableError) as error:
        CameraSource("camera:0").check_available()
    text = str(error.value)
    assert 'pip install "spinecoach[camera]"' in text
    assert "'cv2' could not be imported" in text
    assert "use motion sensors instead: a phone" in text
    with pytest.raises(SourceUnavailableError, match="'mediapipe' could not be imported"):
        list(CameraSource("video:x.mp4", frames=frames([0.0])))
    with pytest.raises(SourceUnavailableError, match=r'pip install "spinecoach\[camera\]"'):
        MediaPipePoseEstimator().estimate(np.zeros((4, 4, 3), np.uint8))
    saving = CameraSource(
        "video:x.mp4", estimator=SkeletonEstimator(), frames=frames([0.0]), save_video=Path("o")
    )
    with pytest.raises(SourceUnavailableError, match="'cv2' could not be imported"):
        list(saving)


def test_estimator_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="min_detection_confidence must be between"):
        MediaPipePoseEstimator(min_detection_confidence=1.5)


# --- the OpenCV and MediaPipe adapters against fakes of their APIs ----------------------


class FakeCapture:
    def __init__(self, target: Any, n: int, *, opened: bool = True, stamps: bool = True) -> None:
        self.target, self.n, self.k = target, n, 0
        self.opened, self.stamps, self.released = opened, stamps, False

    def isOpened(self) -> bool:  # OpenCV's name
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.k >= self.n:
            return False, None
        self.k += 1
        image = np.zeros((6, 8, 3), np.uint8)
        image[..., 0] = 200  # blue in BGR
        return True, image

    def get(self, prop: int) -> float:
        if prop == 5:  # fps
            return 25.0
        return 40.0 * (self.k - 1) if self.stamps else 0.0

    def release(self) -> None:
        self.released = True


def fake_cv2(captures: list[FakeCapture], **kw: Any) -> types.ModuleType:
    cv2 = types.ModuleType("cv2")
    cv2.CAP_PROP_FPS = 5  # type: ignore[attr-defined]
    cv2.CAP_PROP_POS_MSEC = 0  # type: ignore[attr-defined]
    cv2.COLOR_BGR2RGB = 4  # type: ignore[attr-defined]
    cv2.COLOR_RGB2BGR = 4  # type: ignore[attr-defined]

    def capture(target: Any) -> FakeCapture:
        made = FakeCapture(target, 3, **kw)
        captures.append(made)
        return made

    cv2.VideoCapture = capture  # type: ignore[attr-defined]
    cv2.cvtColor = lambda image, code: image[..., ::-1]  # type: ignore[attr-defined]
    return cv2


class RecordingEstimator(SkeletonEstimator):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[np.ndarray] = []

    def estimate(self, image: np.ndarray) -> PoseResult:
        self.images.append(image)
        return super().estimate(image)


@pytest.mark.parametrize("stamps", [True, False])
def test_video_file_through_opencv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stamps: bool
) -> None:
    captures: list[FakeCapture] = []
    monkeypatch.setitem(sys.modules, "cv2", fake_cv2(captures, stamps=stamps))
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not really a video")
    estimator = RecordingEstimator()
    rows = list(CameraSource(f"video:{video}", estimator=estimator))
    assert [r.time_s for r in rows] == pytest.approx([0.0, 0.04, 0.08])
    assert captures[0].target == str(video) and captures[0].released
    assert estimator.images[0][0, 0].tolist() == [0, 0, 200]  # handed over as RGB


def test_opencv_failures_are_clear(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    captures: list[FakeCapture] = []
    monkeypatch.setitem(sys.modules, "cv2", fake_cv2(captures, opened=False))
    with pytest.raises(SourceUnavailableError, match="webcam 1 could not be opened"):
        list(CameraSource("camera:1", estimator=SkeletonEstimator()))
    with pytest.raises(SourceUnavailableError, match="no such video file"):
        list(CameraSource(f"video:{tmp_path / 'missing.mp4'}", estimator=SkeletonEstimator()))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"")
    with pytest.raises(SourceUnavailableError, match="could not be read"):
        list(CameraSource(f"video:{bad}", estimator=SkeletonEstimator()))


def test_webcam_through_opencv_uses_the_host_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    captures: list[FakeCapture] = []
    monkeypatch.setitem(sys.modules, "cv2", fake_cv2(captures))
    ticks: Iterator[float] = iter([100.0, 100.05, 100.1])
    monkeypatch.setattr(source_module.time, "monotonic", lambda: next(ticks))
    source = CameraSource("camera:0", estimator=SkeletonEstimator())
    assert [r.time_s for r in source] == pytest.approx([0.0, 0.05, 0.1])
    assert source.start_monotonic_s == 100.0
    assert captures[0].target == 0


def fake_mediapipe(found: bool, calls: dict[str, Any]) -> types.ModuleType:
    """The mp.solutions.pose.Pose API as MediaPipe 0.10.21 has it."""

    class Point:
        def __init__(self, k: int) -> None:
            self.x, self.y, self.z, self.visibility = 0.01 * k, 0.02 * k, -0.1, 0.5 + 0.01 * k

    class Landmarks:
        def __init__(self) -> None:
            self.landmark = [Point(k) for k in range(33)]

    class Results:
        pose_landmarks = Landmarks() if found else None
        pose_world_landmarks = Landmarks() if found else None
        segmentation_mask = np.ones((4, 5), np.float32) if found else None

    class Pose:
        def __init__(self, **kwargs: Any) -> None:
            calls["kwargs"] = kwargs

        def process(self, image: np.ndarray) -> Results:
            calls["processed"] = calls.get("processed", 0) + 1
            return Results()

        def close(self) -> None:
            calls["closed"] = True

    mp = types.ModuleType("mediapipe")
    mp.solutions = types.SimpleNamespace(pose=types.SimpleNamespace(Pose=Pose))  # type: ignore[attr-defined]
    return mp


def test_mediapipe_results_become_a_pose_result(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, Any] = {}
    monkeypatch.setitem(sys.modules, "mediapipe", fake_mediapipe(True, calls))
    estimator = MediaPipePoseEstimator()
    assert "kwargs" not in calls  # nothing is loaded until the first image
    result = estimator.estimate(np.zeros((4, 5, 3), np.uint8))
    assert calls["kwargs"] == {
        "static_image_mode": False,
        "model_complexity": 1,
        "enable_segmentation": True,
        "min_detection_confidence": 0.5,
        "min_tracking_confidence": 0.5,
    }
    assert result.found
    assert result.landmarks is not None and result.landmarks.shape == (33, 3)
    assert result.landmarks[10].tolist() == pytest.approx([0.1, 0.2, -0.1])
    assert result.visibility is not None and result.visibility[0] == pytest.approx(0.5)
    assert result.world_landmarks is not None and result.world_landmarks.shape == (33, 3)
    assert result.segmentation_mask is not None and result.segmentation_mask.shape == (4, 5)
    estimator.close()
    assert calls["closed"]
    calls.clear()
    monkeypatch.setitem(sys.modules, "mediapipe", fake_mediapipe(False, calls))
    assert not MediaPipePoseEstimator().estimate(np.zeros((4, 5, 3), np.uint8)).found
