"""A synthetic person for the camera path: landmarks of someone side-on to the camera
doing reps, without a camera or a pose model.

Used by the tests and by anyone checking the camera coaching without MediaPipe: the
landmarks are what MediaPipe Pose gives (33 points, x and y normalised to the image,
visibility), for a trunk that leans ``trunk_deg`` forward about the hips, seated (thighs
horizontal) or standing. :func:`rep_profile` makes the trunk angle of minimum-jerk reps with
holds. :class:`ScriptedPoseModel` plays the landmarks back as a
:class:`~spinecoach.camera.source.PoseEstimator`, one frame per image, with frames where
nobody is seen.

>>> import numpy as np
>>> t = np.arange(0.0, 20.0, 1 / 30)
>>> seq = side_skeleton(rep_profile(t, 1, 30.0), seated=True)
>>> seq.n_frames, seq.image_size
(600, (640, 480))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spinecoach.camera.landmarks import LandmarkSequence
from spinecoach.camera.silhouette import SilhouetteSettings
from spinecoach.camera.source import NO_PERSON, PoseResult

FloatArray = NDArray[np.float64]
#: Frame rate and image size of the synthetic camera.
FPS = 30.0
SIZE = (640, 480)


def _minjerk(s: FloatArray) -> FloatArray:
    s = np.clip(s, 0.0, 1.0)
    return np.asarray(10 * s**3 - 15 * s**4 + 6 * s**5)


def rep_profile(
    t: FloatArray, reps: int, peak_deg: float, *, start_s: float = 4.0, extension_deg: float = 0.0
) -> FloatArray:
    """Trunk angle (deg) of ``reps`` reps from ``start_s``: out 2 s, hold 2 s, back 2 s,
    [extension: out 2 s, hold 3 s, back 2 s], rest 4 s."""
    angle = np.zeros_like(t)
    rep_s = 6.0 + (7.0 if extension_deg else 0.0) + 4.0
    for k in range(reps):
        a = start_s + k * rep_s
        angle += peak_deg * (_minjerk((t - a) / 2.0) - _minjerk((t - a - 4.0) / 2.0))
        if extension_deg:
            b = a + 6.0
            angle -= extension_deg * (_minjerk((t - b) / 2.0) - _minjerk((t - b - 5.0) / 2.0))
    return angle


def side_skeleton(
    trunk_deg: FloatArray, *, seated: bool, facing: str = "right", fps: float = FPS
) -> LandmarkSequence:
    """Landmarks (normalised image coordinates) of a person side-on to the camera whose
    trunk leans ``trunk_deg`` forward about the hips; thighs horizontal when seated,
    vertical when standing."""
    n = trunk_deg.shape[0]
    f = 1.0 if facing == "right" else -1.0
    w, h = SIZE
    pts = np.zeros((n, 33, 2))
    hip = np.array([320.0, 300.0 if seated else 250.0])
    th = np.radians(trunk_deg)
    trunk_len = 150.0
    shoulder = hip + trunk_len * np.stack([f * np.sin(th), -np.cos(th)], axis=1)
    head = hip + (trunk_len + 40.0) * np.stack([f * np.sin(th), -np.cos(th)], axis=1)
    knee = hip + (np.array([f * 120.0, 0.0]) if seated else np.array([0.0, 110.0]))
    ankle = knee + np.array([0.0, 110.0])
    for left, right, point in (
        (11, 12, shoulder),
        (23, 24, hip + 0 * shoulder),
        (25, 26, knee + 0 * shoulder),
        (27, 28, ankle + 0 * shoulder),
        (7, 8, head),
    ):
        pts[:, left] = point
        pts[:, right] = point
    pts[:, 0] = head + np.array([f * 15.0, 5.0])  # the nose, ahead of the ears
    pts[:, 29] = pts[:, 27] - np.array([f * 10.0, -8.0])  # heels
    pts[:, 31] = pts[:, 27] + np.array([f * 25.0, 8.0])  # toes
    landmarks = np.zeros((n, 33, 3))
    landmarks[..., 0] = pts[..., 0] / w
    landmarks[..., 1] = pts[..., 1] / h
    t = np.arange(n) / fps
    return LandmarkSequence.from_arrays(t, landmarks, image_size=SIZE)


def standing_mask(
    turn_deg: float,
    *,
    size: int | tuple[int, int] = 400,
    top: float = 60.0,
    bottom: float = 340.0,
    back_x: float = 160.0,
    depth: float = 90.0,
    facing: str = "right",
    soft: bool = False,
) -> tuple[FloatArray, tuple[float, float], tuple[float, float]]:
    """A side-on trunk between shoulder (top) and hip (bottom) whose back outline, over the
    sampled span, is a circular arc turning ``turn_deg`` (positive: rounded, bulging away
    from the face; negative: hollow). Facing image-right the back is on the left.
    ``size``: the image's side, or (width, height). Returns the mask (height, width) and
    the shoulder and hip points (pixels) that go with it."""
    width, height = (size, size) if isinstance(size, int) else size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    span = SilhouetteSettings().span
    chord = (bottom - top) * (span[1] - span[0])
    mid = 0.5 * (top + bottom)
    if abs(turn_deg) > 1e-9:
        radius = chord / (2.0 * math.sin(math.radians(abs(turn_deg)) / 2.0))
        base = math.sqrt(radius**2 - (chord / 2.0) ** 2)
        bulge = np.sqrt(np.clip(radius**2 - (yy - mid) ** 2, 0.0, None)) - base
        bulge *= math.copysign(1.0, turn_deg)
    else:
        bulge = np.zeros_like(yy)
    body = (xx >= back_x - bulge) & (xx <= back_x + depth) & (yy >= top - 20) & (yy <= bottom + 20)
    mask = body.astype(np.float64)
    if soft:
        mask = np.clip(mask * 0.6 + 0.1, 0.0, 1.0)  # a washed-out mask: every edge unsure
    shoulder = (back_x + 0.4 * depth, top)
    hip = (back_x + 0.4 * depth, bottom)
    if facing == "left":
        mask = mask[:, ::-1]
        shoulder = (width - 1 - shoulder[0], shoulder[1])
        hip = (width - 1 - hip[0], hip[1])
    return mask, shoulder, hip


class ScriptedPoseModel:
    """A :class:`~spinecoach.camera.source.PoseEstimator` that plays back ``sequence``:
    call k gives frame k's landmarks (and ``mask(k)``'s segmentation mask when given), or
    nobody for the frame indices in ``absent`` (and after the sequence's end). The image
    is not looked at."""

    def __init__(
        self,
        sequence: LandmarkSequence,
        absent: Collection[int] = (),
        mask: Callable[[int], FloatArray] | None = None,
    ) -> None:
        self.sequence = sequence
        self.absent = frozenset(absent)
        self.mask = mask
        self.calls = 0
        self.closed = False

    def estimate(self, image: Any) -> PoseResult:
        k = self.calls
        self.calls += 1
        if k in self.absent or k >= self.sequence.n_frames:
            return NO_PERSON
        mask = None if self.mask is None else self.mask(k)
        return PoseResult(self.sequence.landmarks[k], None, self.sequence.visibility[k], mask)

    def close(self) -> None:
        self.closed = True
