"""The camera as a live source: a webcam or a video file through OpenCV, pose through
MediaPipe Pose, one landmark row per frame.

``--source camera:0`` reads webcam 0, ``--source video:PATH`` a video file
(:func:`parse_camera_source`). :class:`CameraSource` yields one :class:`CameraFrame` per
image — time, landmarks, world landmarks, visibility and the segmentation mask — and
:func:`landmark_sequence` turns frames into the
:class:`~spinecoach.camera.landmarks.LandmarkSequence` the angle maths reads.

Time. A video file runs on its own clock: each frame's time stamp from the container
(``CAP_PROP_POS_MSEC``), else ``frame index / fps``, starting at 0. A webcam runs on the
host's monotonic clock (``time.monotonic()`` when the frame was read), reported as
seconds since the source's first frame; :attr:`CameraSource.start_monotonic_s` is that
first frame's host time, so a session can line the camera up with other feeds. A frame
whose time is not after the previous one's is dropped (time always increases).

Privacy. Images are processed locally, in this process, frame by frame, and are never
stored unless ``save_video`` names a file; only the landmarks (and, per frame, the mask
while it is being used) leave :class:`CameraSource`.

Optional extra. MediaPipe and OpenCV come with ``pip install "spinecoach[camera]"``
(MediaPipe 0.10.21: the newest release with the bundled pose model, complexity 1; it needs
numpy < 2, which is why the extra is optional and the core keeps numpy 2). They are
imported only when a camera source is opened; without them :class:`CameraSource` raises
:class:`~spinecoach.errors.SourceUnavailableError` saying how to install them and which
sources work instead.

As a :class:`~spinecoach.sources.base.Source`. ``async for frame in source`` gives the
same frames, each read and estimated in a worker thread; :attr:`CameraSource.status`
says ``ready``, ``running``, ``closed`` (the video's end, ``max_frames`` or
:meth:`CameraSource.close`) or ``failed`` (with the error). A pause in the images is
passed on as the jump in the frames' times.

Test seam. Pose estimation sits behind :class:`PoseEstimator` (an RGB image in, a
:class:`PoseResult` out) and images behind any iterable of :class:`VideoFrame`, so tests
run the whole source without OpenCV or MediaPipe:

>>> import numpy as np
>>> class Still:
...     def estimate(self, image):
...         return PoseResult(np.full((33, 3), 0.5), None, np.ones(33), None)
...     def close(self):
...         pass
>>> frames = [VideoFrame(k / 30.0, np.zeros((48, 64, 3), np.uint8)) for k in range(3)]
>>> source = CameraSource("video:clip.mp4", estimator=Still(), frames=frames)
>>> seq = landmark_sequence(source)
>>> seq.n_frames, seq.image_size, round(seq.rate_hz)
(3, (64, 48), 30)
"""

from __future__ import annotations

import asyncio
import importlib
import math
import time
from collections.abc import AsyncIterator, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from spinecoach.camera.landmarks import N_LANDMARKS, Coordinates, LandmarkSequence
from spinecoach.errors import ConfigurationError, SourceUnavailableError
from spinecoach.sources.base import SourceState, SourceStatus

FloatArray = NDArray[np.float64]
Image = NDArray[np.uint8]

#: What to install for the camera source (shown in every "not available" message).
INSTALL_HINT: Final = 'pip install "spinecoach[camera]"'
#: The other sources, suggested when the camera cannot be used.
ALTERNATIVES: Final = (
    "Without a camera, use motion sensors instead: a phone (Sensor Logger pushing to the "
    "server, or phyphox), Bluetooth LE sensors (--source ble:ADDRESS), or the built-in "
    "simulator (--source sim)"
)
#: The MediaPipe Pose model complexity: 1 is the "full" model that ships inside the
#: mediapipe wheel; 0 and 2 are downloaded at first use, which this project never does.
MODEL_COMPLEXITY: Final = 1

CameraKind = Literal["camera", "video"]


@dataclass(frozen=True)
class CameraSpec:
    """A parsed ``--source`` value: a webcam index or a video file path."""

    kind: CameraKind
    device_index: int | None = None
    path: Path | None = None

    @property
    def label(self) -> str:
        return f"camera:{self.device_index}" if self.kind == "camera" else f"video:{self.path}"


def parse_camera_source(spec: str, *, option: str = "--source") -> CameraSpec:
    """``camera:N`` (webcam N, default 0) or ``video:PATH`` → :class:`CameraSpec`;
    ``option`` names the option in the error messages.

    >>> parse_camera_source("camera:0")
    CameraSpec(kind='camera', device_index=0, path=None)
    >>> parse_camera_source("video:clips/hinge.mp4").path
    PosixPath('clips/hinge.mp4')
    """
    kind, _, rest = spec.partition(":")
    if kind == "camera":
        text = rest.strip() or "0"
        if not text.isdigit():
            raise ConfigurationError(
                f"{option} {spec!r}: a webcam is camera:N with N the camera's number "
                "(camera:0 is the first webcam)"
            )
        return CameraSpec("camera", device_index=int(text))
    if kind == "video":
        if not rest.strip():
            raise ConfigurationError(
                f"{option} {spec!r}: a video file is video:PATH, for example video:hinge.mp4"
            )
        return CameraSpec("video", path=Path(rest.strip()))
    raise ConfigurationError(
        f"{option} {spec!r} is not a camera source: use camera:N for a webcam or "
        "video:PATH for a video file"
    )


def _import_optional(name: str) -> ModuleType:
    """Import MediaPipe or OpenCV, or say plainly how to get them."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise SourceUnavailableError(
            f"the camera source needs MediaPipe and OpenCV ({name!r} could not be imported: "
            f"{error}). Install the camera extra: {INSTALL_HINT}. {ALTERNATIVES}"
        ) from error


@dataclass(frozen=True, eq=False)
class PoseResult:
    """What a pose model found in one image.

    ``landmarks`` (33, 3): x, y normalised to [0, 1] by the image width and height
    (y down), z relative depth (MediaPipe ``pose_landmarks``); ``world_landmarks``
    (33, 3) metres, origin between the hips (``pose_world_landmarks``); ``visibility``
    (33,) in [0, 1]; ``segmentation_mask`` (height, width), 1 = person. Each is None
    when no person was found (or the model does not give it).
    """

    landmarks: FloatArray | None
    world_landmarks: FloatArray | None
    visibility: FloatArray | None
    segmentation_mask: NDArray[np.floating[Any]] | None

    @property
    def found(self) -> bool:
        return self.landmarks is not None


NO_PERSON: Final = PoseResult(None, None, None, None)


class PoseEstimator(Protocol):
    """A pose model: an RGB image (height, width, 3; uint8) → :class:`PoseResult`."""

    def estimate(self, image: Image) -> PoseResult: ...

    def close(self) -> None: ...


class MediaPipePoseEstimator:
    """MediaPipe Pose (BlazePose, complexity 1, with the segmentation mask), in video
    mode (it tracks the person from frame to frame, so frames must come in order).

    The model is created on the first image, not at construction, and runs locally.
    """

    def __init__(
        self,
        *,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        enable_segmentation: bool = True,
    ) -> None:
        for name, value in (
            ("min_detection_confidence", min_detection_confidence),
            ("min_tracking_confidence", min_tracking_confidence),
        ):
            if not 0.0 <= value <= 1.0:
                raise ConfigurationError(f"{name} must be between 0 and 1, got {value}")
        self.min_detection_confidence = min_detection_confidence
        self.min_tracking_confidence = min_tracking_confidence
        self.enable_segmentation = enable_segmentation
        self._pose: Any = None

    def _model(self) -> Any:
        if self._pose is None:
            mp = _import_optional("mediapipe")
            self._pose = mp.solutions.pose.Pose(
                static_image_mode=False,
                model_complexity=MODEL_COMPLEXITY,
                enable_segmentation=self.enable_segmentation,
                min_detection_confidence=self.min_detection_confidence,
                min_tracking_confidence=self.min_tracking_confidence,
            )
        return self._pose

    def estimate(self, image: Image) -> PoseResult:
        results = self._model().process(image)
        if results.pose_landmarks is None:
            return NO_PERSON
        points = results.pose_landmarks.landmark
        landmarks = np.array([(p.x, p.y, p.z) for p in points], dtype=np.float64)
        visibility = np.array([p.visibility for p in points], dtype=np.float64)
        world = None
        if results.pose_world_landmarks is not None:
            world = np.array(
                [(p.x, p.y, p.z) for p in results.pose_world_landmarks.landmark],
                dtype=np.float64,
            )
        mask = results.segmentation_mask
        return PoseResult(landmarks, world, visibility, None if mask is None else np.asarray(mask))

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None


@dataclass(frozen=True, eq=False)
class VideoFrame:
    """One image: its time (s, the source's clock) and the pixels (RGB, uint8)."""

    time_s: float
    image: Image


@dataclass(frozen=True, eq=False)
class CameraFrame:
    """One processed frame: time (s since the source's first frame), the pose, and the
    image size (width, height) in pixels. The image itself is not kept."""

    time_s: float
    pose: PoseResult
    image_size: tuple[int, int]


def _video_frames(cv2: ModuleType, spec: CameraSpec, capture: Any) -> Iterator[VideoFrame]:
    """Frames from an open ``cv2.VideoCapture`` (BGR → RGB), with their times."""
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    index = 0
    while True:
        ok, bgr = capture.read()
        if not ok:
            return
        if spec.kind == "video":
            msec = float(capture.get(cv2.CAP_PROP_POS_MSEC) or 0.0)
            # The container's time stamp; some containers give none after the first frame.
            by_index = index / fps if fps > 0 else math.nan
            t = msec / 1000.0 if msec > 0.0 or index == 0 else by_index
        else:
            t = time.monotonic()
        index += 1
        yield VideoFrame(t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


class CameraSource:
    """Landmarks, frame by frame, from a webcam or a video file.

    spec
        ``camera:N`` or ``video:PATH`` (see :func:`parse_camera_source`).
    estimator
        The pose model; default :class:`MediaPipePoseEstimator`.
    frames
        Images to use instead of opening the camera or file with OpenCV (tests, or a
        caller that already has the images); times on the source's clock.
    save_video
        A file to write the images to (OpenCV, mp4v); None (default) keeps no image.
    max_frames
        Stop after this many frames (None: until the video ends or :meth:`close`).

    Iterating yields :class:`CameraFrame`; OpenCV and MediaPipe are imported when the
    iteration starts, so constructing a source never fails for a missing extra — call
    :meth:`check_available` first to fail early with the message.
    """

    def __init__(
        self,
        spec: str | CameraSpec,
        *,
        estimator: PoseEstimator | None = None,
        frames: Iterable[VideoFrame] | None = None,
        save_video: Path | None = None,
        max_frames: int | None = None,
    ) -> None:
        self.spec = parse_camera_source(spec) if isinstance(spec, str) else spec
        if max_frames is not None and max_frames < 1:
            raise ConfigurationError(f"max_frames must be at least 1, got {max_frames}")
        self._estimator = estimator
        self._frames = frames
        self.save_video = save_video
        self.max_frames = max_frames
        #: Host monotonic time (s) of the first frame (webcam); None for a video file.
        self.start_monotonic_s: float | None = None
        self.frames_read = 0
        #: Frames dropped because their time was not after the previous frame's.
        self.frames_dropped = 0
        self._closed = False
        self._state: SourceState = "ready"
        self._detail = ""

    @property
    def status(self) -> SourceStatus:
        """As :class:`~spinecoach.sources.base.Source` says: ``ready``, ``running``,
        ``closed`` (the video's end, :attr:`max_frames` or :meth:`close`), ``failed``
        (the camera, file or extra missing: its error)."""
        return SourceStatus(self._state, self._detail)

    async def __aiter__(self) -> AsyncIterator[CameraFrame]:
        """The frames of :meth:`__iter__`, each read and estimated in a worker thread (the
        event loop goes on while the camera waits and the model runs); what the source
        holds is released when the iteration ends, also when it is left early."""
        frames = iter(self)
        try:
            while (frame := await asyncio.to_thread(next, frames, None)) is not None:
                yield frame
        finally:
            frames.close()

    def check_available(self) -> None:
        """Raise :class:`SourceUnavailableError` now if OpenCV or MediaPipe is missing
        (only the ones this source will use), or if the video file does not exist."""
        if self._frames is None or self.save_video is not None:
            _import_optional("cv2")
        if self._estimator is None:
            _import_optional("mediapipe")
        if self._frames is None:
            self._video_path()

    def _video_path(self) -> Path | None:
        """The video file to open (None for a webcam); it must exist."""
        path = self.spec.path
        if self.spec.kind != "video" or path is None:
            return None
        if not path.is_file():
            raise SourceUnavailableError(
                f"--source {self.spec.label}: no such video file; give the path of a "
                "video (mp4, avi, mov) or use camera:0 for a webcam"
            )
        return path

    def close(self) -> None:
        """Stop at the next frame and release the model (idempotent)."""
        self._closed = True
        if self._state in ("ready", "running"):
            self._state, self._detail = "closed", "closed"

    def _open(self, cv2: ModuleType) -> Any:
        path = self._video_path()
        if path is not None:
            capture = cv2.VideoCapture(str(path))
        else:
            capture = cv2.VideoCapture(self.spec.device_index)
        if not capture.isOpened():
            capture.release()
            what = (
                f"the video file {self.spec.path} could not be read (is it a video OpenCV "
                "can decode?)"
                if self.spec.kind == "video"
                else f"webcam {self.spec.device_index} could not be opened (is it connected, "
                "and not in use by another program? try camera:1)"
            )
            raise SourceUnavailableError(f"--source {self.spec.label}: {what}. {ALTERNATIVES}")
        return capture

    def __iter__(self) -> Generator[CameraFrame, None, None]:
        if not self._closed:
            self._state, self._detail = "running", f"reading {self.spec.label}"
        try:
            yield from self._frames_read()
        except Exception as error:
            self._state, self._detail = "failed", str(error) or type(error).__name__
            raise
        if self._state == "running":
            self._state, self._detail = "closed", f"{self.spec.label}: ended"

    def _frames_read(self) -> Iterator[CameraFrame]:
        self.check_available()
        estimator = self._estimator or MediaPipePoseEstimator()
        capture: Any = None
        writer: Any = None
        cv2: ModuleType | None = None
        if self._frames is None or self.save_video is not None:
            cv2 = _import_optional("cv2")
        try:
            frames: Iterable[VideoFrame] = () if self._frames is None else self._frames
            if self._frames is None and cv2 is not None:
                capture = self._open(cv2)
                frames = _video_frames(cv2, self.spec, capture)
            first: float | None = None
            last = -math.inf
            for frame in frames:
                if self._closed:
                    break
                if first is None:
                    first = frame.time_s
                    if self.spec.kind == "camera":
                        self.start_monotonic_s = frame.time_s
                t = frame.time_s - first
                if not math.isfinite(t) or t <= last:
                    self.frames_dropped += 1
                    continue
                last = t
                height, width = int(frame.image.shape[0]), int(frame.image.shape[1])
                if self.save_video is not None and cv2 is not None:
                    if writer is None:
                        writer = cv2.VideoWriter(
                            str(self.save_video),
                            cv2.VideoWriter_fourcc(*"mp4v"),
                            30.0,
                            (width, height),
                        )
                    writer.write(cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
                pose = estimator.estimate(frame.image)
                self.frames_read += 1
                yield CameraFrame(t, pose, (width, height))
                if self.max_frames is not None and self.frames_read >= self.max_frames:
                    break
        finally:
            if writer is not None:
                writer.release()
            if capture is not None:
                capture.release()
            estimator.close()


def landmark_sequence(
    frames: Iterable[CameraFrame], *, coordinates: Coordinates = "image"
) -> LandmarkSequence:
    """The landmarks of every frame as one :class:`LandmarkSequence` (batch).

    Frames with no person hold NaN landmarks and visibility 0. ``coordinates="world"``
    takes the world landmarks (metres) instead of the image ones.
    """
    times: list[float] = []
    rows: list[FloatArray] = []
    visibility: list[FloatArray] = []
    size: tuple[int, int] | None = None
    missing = np.full((N_LANDMARKS, 3), np.nan)
    for frame in frames:
        size = size or frame.image_size
        points = frame.pose.landmarks if coordinates == "image" else frame.pose.world_landmarks
        times.append(frame.time_s)
        rows.append(missing if points is None else points)
        vis = frame.pose.visibility
        visibility.append(np.zeros(N_LANDMARKS) if vis is None or points is None else vis)
    return LandmarkSequence.from_arrays(
        np.array(times, dtype=np.float64),
        np.array(rows, dtype=np.float64).reshape(len(times), N_LANDMARKS, 3),
        np.array(visibility, dtype=np.float64).reshape(len(times), N_LANDMARKS),
        image_size=size,
        coordinates=coordinates,
        source=frames.spec.label if isinstance(frames, CameraSource) else "",
    )
