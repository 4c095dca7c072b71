"""Body landmarks from a pose model (BlazePose / MediaPipe Pose topology, 33 points).

Only landmark maths lives in :mod:`spinecoach.camera`: no MediaPipe or OpenCV import.
Whatever runs the model (a live camera, a video file, a dataset file) hands over a
:class:`LandmarkSequence`.

Coordinates
-----------
``coordinates="image"`` (MediaPipe ``pose_landmarks``): x to the right of the image and
y **down** the image, both normalised to [0, 1] by the image width and height; z is depth
relative to the hips in roughly the units of x (smaller = nearer the camera). Angles need
square units, so :meth:`LandmarkSequence.planar_xy` multiplies x by the width and y by the
height (pixels) when ``image_size`` is known; otherwise it assumes a square image (a 4:3
video then shrinks horizontal distances by 3/4 — pass the size when you have it).

``coordinates="world"`` (MediaPipe ``pose_world_landmarks``): metres, origin between the
hips, x and y along the image axes (y **down**), so the same planar maths applies.

"Vertical" is therefore the image's y axis (down = +y), which assumes a level camera. On the
KERAAL sample this was checked on the data: at quiet standing the ankles have larger y than
the hips and the hips than the shoulders, and the shoulder-to-hip line is within a few
degrees of the y axis.

>>> import numpy as np
>>> seq = LandmarkSequence.from_arrays(np.arange(2) / 30.0, np.zeros((2, 33, 3)))
>>> seq.n_frames, float(seq.visibility.min())
(2, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from spinecoach.errors import ConfigurationError

FloatArray = NDArray[np.float64]
Coordinates = Literal["image", "world"]

N_LANDMARKS: Final = 33
LANDMARK_NAMES: Final[tuple[str, ...]] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
LANDMARK_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(LANDMARK_NAMES)}

NOSE: Final = 0
LEFT_EAR: Final = 7
RIGHT_EAR: Final = 8
LEFT_SHOULDER: Final = 11
RIGHT_SHOULDER: Final = 12
LEFT_ELBOW: Final = 13
RIGHT_ELBOW: Final = 14
LEFT_WRIST: Final = 15
RIGHT_WRIST: Final = 16
LEFT_HIP: Final = 23
RIGHT_HIP: Final = 24
LEFT_KNEE: Final = 25
RIGHT_KNEE: Final = 26
LEFT_ANKLE: Final = 27
RIGHT_ANKLE: Final = 28
LEFT_HEEL: Final = 29
RIGHT_HEEL: Final = 30
LEFT_FOOT_INDEX: Final = 31
RIGHT_FOOT_INDEX: Final = 32


def _array(name: str, values: Any, shape: tuple[int | None, ...]) -> FloatArray:
    array = np.array(values, dtype=np.float64, copy=True, order="C")
    if array.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(array.shape, shape, strict=True)
    ):
        wanted = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")"
        raise ConfigurationError(f"{name} must have shape {wanted}, got {array.shape}")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class LandmarkSequence:
    """Pose landmarks over time.

    ``time_s`` (n,) seconds, strictly increasing; ``landmarks`` (n, 33, 3) in the model's
    coordinates (see the module docstring); ``visibility`` (n, 33) in [0, 1] (1 where the
    source does not give one); ``image_size`` = (width, height) in pixels when known.
    Missing frames (no person found) may hold NaN landmarks. Arrays are read-only.
    """

    time_s: FloatArray
    landmarks: FloatArray
    visibility: FloatArray
    image_size: tuple[int, int] | None = None
    coordinates: Coordinates = "image"
    source: str = ""

    @classmethod
    def from_arrays(
        cls,
        time_s: Any,
        landmarks: Any,
        visibility: Any | None = None,
        *,
        image_size: tuple[int, int] | None = None,
        coordinates: Coordinates = "image",
        source: str = "",
    ) -> LandmarkSequence:
        """Validate and wrap arrays (copied); ``visibility`` defaults to 1 everywhere."""
        t = _array("time_s", time_s, (None,))
        n = t.shape[0]
        points = _array("landmarks", landmarks, (n, N_LANDMARKS, 3))
        vis = _array(
            "visibility",
            np.ones((n, N_LANDMARKS)) if visibility is None else visibility,
            (n, N_LANDMARKS),
        )
        if n > 1 and np.any(np.diff(t) <= 0):
            raise ConfigurationError("time_s must be strictly increasing")
        if coordinates not in ("image", "world"):
            raise ConfigurationError(f"coordinates must be 'image' or 'world', got {coordinates!r}")
        if image_size is not None and (image_size[0] <= 0 or image_size[1] <= 0):
            raise ConfigurationError(
                f"image_size must be positive (width, height), got {image_size}"
            )
        return cls(t, points, vis, image_size, coordinates, source)

    @property
    def n_frames(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def rate_hz(self) -> float:
        """Median frame rate (NaN with fewer than two frames)."""
        if self.n_frames < 2:
            return float("nan")
        return float(1.0 / np.median(np.diff(self.time_s)))

    def planar_xy(self) -> FloatArray:
        """(n, 33, 2) x right, y down, in square units (pixels, metres, or image-height
        units when the image size is unknown)."""
        return planar_xy(self.landmarks, image_size=self.image_size, coordinates=self.coordinates)


def planar_xy(
    landmarks: FloatArray,
    *,
    image_size: tuple[int, int] | None = None,
    coordinates: Coordinates = "image",
) -> FloatArray:
    """The image-plane part of landmarks (``(..., 33, 3)`` → ``(..., 33, 2)``), in square
    units: normalised image coordinates are scaled by (width, height) when known.

    >>> import numpy as np
    >>> p = np.zeros((33, 3)); p[0] = [0.5, 0.25, 0.0]
    >>> planar_xy(p, image_size=(640, 480))[0].tolist()
    [320.0, 120.0]
    """
    xy = np.asarray(landmarks, dtype=np.float64)[..., :2]
    if coordinates == "image" and image_size is not None:
        scale = np.array([float(image_size[0]), float(image_size[1])])
        return np.asarray(xy * scale, dtype=np.float64)
    return np.array(xy, dtype=np.float64)
