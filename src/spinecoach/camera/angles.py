"""Clinical angles from pose landmarks, in the project's names and signs.

All angles are measured in the **image plane** (x right, y down; see
:mod:`spinecoach.camera.landmarks`), so a camera sees only the movement in that plane: a
side view gives the sagittal angles, a frontal view the lateral bend. "Vertical" is the
image's y axis (a level camera).

========================== ======================================================= =========
name                       definition                                              sign
========================== ======================================================= =========
``trunk_inclination_deg``  side view: trunk line (hip midpoint → shoulder midpoint)  forward +
                           from vertical
``trunk_lateral_bend_deg`` frontal view: the same line from vertical                to the
                                                                                   person's
                                                                                   right +
``hip_flexion_deg``        side view: trunk forward inclination + thigh (hip →      flexion +
                           knee) forward inclination; 0 standing, ~90 sitting
``knee_angle_deg``         180 − the hip–knee–ankle angle; 0 straight               flexion +
========================== ======================================================= =========

"Forward" is the way the face points: the sign of nose x − ear-midpoint x (``facing="auto"``,
decided per frame), or fixed with ``facing="left"``/``"right"`` (the image side the person
faces). The person's right is found per frame from the hips: facing the camera (the
normal, un-mirrored view) the right hip is at smaller x; a mirrored (selfie) image or a
back view flips it, and the hips' order follows. Lateral bend is positive to the person's
right, as ``lateral_bend_deg`` in :mod:`spinecoach.conventions`.

View: the sagittal angles (trunk inclination, hip flexion, knee) need a side view and the
lateral bend a frontal view. Per frame, the shoulder width over the trunk length (hip
midpoint to shoulder midpoint) tells them apart: at least ``FRONTAL_MIN_RATIO`` (0.4) is a
frontal view, at most ``SIDE_MAX_RATIO`` (0.3) a side view (an adult's ratio is about
0.8–1.1 facing the camera and near 0 side on). With ``view="auto"`` an angle seen in the
wrong view is NaN and flagged ``wrong_view``; ``view="any"`` turns the check off.

Confidence: each angle carries the minimum visibility of the landmarks it uses; below
``min_visibility`` the angle is NaN and flagged.

Smoothing: a one-euro filter (Casiez et al., CHI 2012) per angle — an adaptive first-order
low-pass whose cutoff is ``min_cutoff_hz`` when the angle is still and rises with its speed
(``beta``). A first-order low-pass delays slow movement by 1 / (2π·fc): with the defaults
(1.5 Hz) about 0.11 s at rest, less while moving fast (at 60 deg/s the cutoff is ~2.7 Hz,
~0.06 s). It is causal, so the live view and the batch give the same numbers.

>>> import numpy as np
>>> xy = np.zeros((33, 2))
>>> xy[[11, 12]] = [[110.0, 0.0], [90.0, 0.0]]      # shoulders, facing the camera
>>> xy[[23, 24]] = [[110.0, 100.0], [90.0, 100.0]]   # hips
>>> abs(round(float(trunk_lateral_bend_deg(xy)), 6))
0.0
>>> xy[[11, 12], 0] -= 100.0 * np.tan(np.radians(20.0))   # shoulders to the person's right
>>> round(float(trunk_lateral_bend_deg(xy)), 6)
20.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from spinecoach.camera.landmarks import (
    LEFT_ANKLE,
    LEFT_EAR,
    LEFT_HIP,
    LEFT_KNEE,
    LEFT_SHOULDER,
    NOSE,
    RIGHT_ANKLE,
    RIGHT_EAR,
    RIGHT_HIP,
    RIGHT_KNEE,
    RIGHT_SHOULDER,
    LandmarkSequence,
    planar_xy,
)
from spinecoach.conventions import TRUNK_INCLINATION
from spinecoach.errors import ConfigurationError

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Facing = Literal["auto", "left", "right"]
Side = Literal["auto", "left", "right"]
View = Literal["auto", "any"]

FRONTAL_MIN_RATIO: Final = 0.4
SIDE_MAX_RATIO: Final = 0.3

TRUNK_INCLINATION_DEG: Final = TRUNK_INCLINATION  # "trunk_inclination_deg"
TRUNK_LATERAL_BEND_DEG: Final = "trunk_lateral_bend_deg"
HIP_FLEXION_DEG: Final = "hip_flexion_deg"
KNEE_ANGLE_DEG: Final = "knee_angle_deg"
CAMERA_ANGLES: Final[tuple[str, ...]] = (
    TRUNK_INCLINATION_DEG,
    TRUNK_LATERAL_BEND_DEG,
    HIP_FLEXION_DEG,
    KNEE_ANGLE_DEG,
)

_TRUNK: Final = (LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP)
_FACE: Final = (NOSE, LEFT_EAR, RIGHT_EAR)
#: The landmarks each angle uses (its confidence is their minimum visibility). For the
#: one-sided angles the left and right sets are given; the better-seen side is used.
ANGLE_LANDMARKS: Final[dict[str, dict[str, tuple[int, ...]]]] = {
    TRUNK_INCLINATION_DEG: {"both": _TRUNK + _FACE},
    TRUNK_LATERAL_BEND_DEG: {"both": _TRUNK},
    HIP_FLEXION_DEG: {
        "left": (LEFT_SHOULDER, LEFT_HIP, LEFT_KNEE, *_FACE),
        "right": (RIGHT_SHOULDER, RIGHT_HIP, RIGHT_KNEE, *_FACE),
    },
    KNEE_ANGLE_DEG: {
        "left": (LEFT_HIP, LEFT_KNEE, LEFT_ANKLE),
        "right": (RIGHT_HIP, RIGHT_KNEE, RIGHT_ANKLE),
    },
}


def _wrap_deg(angle: FloatArray) -> FloatArray:
    return np.asarray((angle + 180.0) % 360.0 - 180.0, dtype=np.float64)


def _mid(xy: FloatArray, a: int, b: int) -> FloatArray:
    return np.asarray(0.5 * (xy[..., a, :] + xy[..., b, :]), dtype=np.float64)


def _trunk_vector(xy: FloatArray) -> FloatArray:
    """Hip midpoint → shoulder midpoint, (..., 2)."""
    return _mid(xy, LEFT_SHOULDER, RIGHT_SHOULDER) - _mid(xy, LEFT_HIP, RIGHT_HIP)


def shoulder_trunk_ratio(xy: Any) -> FloatArray:
    """Shoulder width / trunk length in the image, per frame (near 0 side on, about 1
    facing the camera)."""
    points = np.asarray(xy, dtype=np.float64)
    width = np.linalg.norm(points[..., LEFT_SHOULDER, :] - points[..., RIGHT_SHOULDER, :], axis=-1)
    length = np.linalg.norm(_trunk_vector(points), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(width / length, dtype=np.float64)


def wrong_view(xy: Any, angle: str) -> BoolArray:
    """True where ``angle`` cannot be seen in this view (see the module docstring)."""
    ratio = shoulder_trunk_ratio(xy)
    if angle == TRUNK_LATERAL_BEND_DEG:
        return np.asarray(~(ratio >= FRONTAL_MIN_RATIO), dtype=np.bool_)
    return np.asarray(~(ratio <= SIDE_MAX_RATIO), dtype=np.bool_)


def forward_sign(xy: Any, facing: Facing = "auto") -> FloatArray:
    """+1 where the person faces +x (image right), −1 where they face −x, per frame."""
    points = np.asarray(xy, dtype=np.float64)
    if facing == "right":
        return np.ones(points.shape[:-2])
    if facing == "left":
        return -np.ones(points.shape[:-2])
    if facing != "auto":
        raise ConfigurationError(f"facing must be 'auto', 'left' or 'right', got {facing!r}")
    ahead = points[..., NOSE, 0] - _mid(points, LEFT_EAR, RIGHT_EAR)[..., 0]
    return np.asarray(np.where(ahead >= 0.0, 1.0, -1.0), dtype=np.float64)


def right_sign(xy: Any) -> FloatArray:
    """+1 where the person's right is toward +x in the image, −1 otherwise, per frame."""
    points = np.asarray(xy, dtype=np.float64)
    toward = points[..., RIGHT_HIP, 0] - points[..., LEFT_HIP, 0]
    return np.asarray(np.where(toward >= 0.0, 1.0, -1.0), dtype=np.float64)


def trunk_inclination_deg(xy: Any, *, facing: Facing = "auto") -> FloatArray:
    """Sagittal trunk inclination from a side view (deg, forward positive, 0 upright).

    ``xy`` is ``(33, 2)`` or ``(n, 33, 2)`` in square units, y down.

    >>> import numpy as np
    >>> xy = np.zeros((33, 2)); xy[[23, 24]] = [0.0, 100.0]     # hips below the shoulders
    >>> xy[[11, 12]] = [100.0 * np.tan(np.radians(30.0)), 0.0]  # shoulders toward +x
    >>> round(float(trunk_inclination_deg(xy, facing="right")), 6)
    30.0
    """
    points = np.asarray(xy, dtype=np.float64)
    v = _trunk_vector(points)
    f = forward_sign(points, facing)
    return np.asarray(np.degrees(np.arctan2(f * v[..., 0], -v[..., 1])), dtype=np.float64)


def trunk_lateral_bend_deg(xy: Any) -> FloatArray:
    """Frontal trunk lateral bend from a front (or back) view: the hip-midpoint →
    shoulder-midpoint line from vertical (deg, to the person's right positive)."""
    points = np.asarray(xy, dtype=np.float64)
    v = _trunk_vector(points)
    r = right_sign(points)
    return np.asarray(np.degrees(np.arctan2(r * v[..., 0], -v[..., 1])), dtype=np.float64)


def _side_points(xy: FloatArray, side: Literal["left", "right"]) -> tuple[int, int, int, int]:
    if side == "left":
        return LEFT_SHOULDER, LEFT_HIP, LEFT_KNEE, LEFT_ANKLE
    return RIGHT_SHOULDER, RIGHT_HIP, RIGHT_KNEE, RIGHT_ANKLE


def _hip_flexion_side(
    points: FloatArray, side: Literal["left", "right"], facing: Facing
) -> FloatArray:
    shoulder, hip, knee, _ = _side_points(points, side)
    f = forward_sign(points, facing)
    trunk = points[..., shoulder, :] - points[..., hip, :]
    thigh = points[..., knee, :] - points[..., hip, :]
    trunk_deg = np.degrees(np.arctan2(f * trunk[..., 0], -trunk[..., 1]))
    thigh_deg = np.degrees(np.arctan2(f * thigh[..., 0], thigh[..., 1]))
    return _wrap_deg(np.asarray(trunk_deg + thigh_deg, dtype=np.float64))


def _knee_side(points: FloatArray, side: Literal["left", "right"]) -> FloatArray:
    _, hip, knee, ankle = _side_points(points, side)
    a = points[..., hip, :] - points[..., knee, :]
    b = points[..., ankle, :] - points[..., knee, :]
    cross = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    dot = np.sum(a * b, axis=-1)
    return np.asarray(180.0 - np.degrees(np.abs(np.arctan2(cross, dot))), dtype=np.float64)


def _pick_side(
    left: FloatArray, right: FloatArray, side: Side, visibility: Any | None, angle: str
) -> FloatArray:
    if side == "left":
        return left
    if side == "right":
        return right
    if side != "auto":
        raise ConfigurationError(f"side must be 'auto', 'left' or 'right', got {side!r}")
    if visibility is None:
        return np.asarray(np.nanmean(np.stack([left, right]), axis=0), dtype=np.float64)
    vis = np.asarray(visibility, dtype=np.float64)
    sets = ANGLE_LANDMARKS[angle]
    left_vis = vis[..., list(sets["left"])].min(axis=-1)
    right_vis = vis[..., list(sets["right"])].min(axis=-1)
    return np.asarray(np.where(left_vis >= right_vis, left, right), dtype=np.float64)


def hip_flexion_deg(
    xy: Any, *, facing: Facing = "auto", side: Side = "auto", visibility: Any | None = None
) -> FloatArray:
    """Hip flexion from a side view (deg): trunk forward inclination plus thigh forward
    inclination, 0 standing straight, about 90 sitting upright, negative in extension.

    ``side="auto"`` uses the side whose landmarks are better seen (with ``visibility``)
    or the mean of both sides (without).
    """
    points = np.asarray(xy, dtype=np.float64)
    left = _hip_flexion_side(points, "left", facing)
    right = _hip_flexion_side(points, "right", facing)
    return _pick_side(left, right, side, visibility, HIP_FLEXION_DEG)


def knee_angle_deg(xy: Any, *, side: Side = "auto", visibility: Any | None = None) -> FloatArray:
    """Knee flexion (deg): 180 − the hip–knee–ankle angle, 0 with the leg straight.

    >>> import numpy as np
    >>> xy = np.zeros((33, 2)); xy[[23, 24]] = [0.0, 0.0]
    >>> xy[[25, 26]] = [0.0, 40.0]; xy[[27, 28]] = [40.0, 40.0]    # shank horizontal
    >>> round(float(knee_angle_deg(xy)), 6)
    90.0
    """
    points = np.asarray(xy, dtype=np.float64)
    left = _knee_side(points, "left")
    right = _knee_side(points, "right")
    return _pick_side(left, right, side, visibility, KNEE_ANGLE_DEG)


def angle_confidence(visibility: Any, angle: str, *, side: Side = "auto") -> FloatArray:
    """Minimum visibility of the landmarks ``angle`` uses, per frame (the better side for
    the one-sided angles with ``side="auto"``)."""
    vis = np.asarray(visibility, dtype=np.float64)
    sets = ANGLE_LANDMARKS.get(angle)
    if sets is None:
        raise ConfigurationError(f"unknown camera angle {angle!r}; use one of {CAMERA_ANGLES}")
    if "both" in sets:
        return np.asarray(vis[..., list(sets["both"])].min(axis=-1), dtype=np.float64)
    left = vis[..., list(sets["left"])].min(axis=-1)
    right = vis[..., list(sets["right"])].min(axis=-1)
    if side == "left":
        return np.asarray(left, dtype=np.float64)
    if side == "right":
        return np.asarray(right, dtype=np.float64)
    return np.asarray(np.maximum(left, right), dtype=np.float64)


# --- smoothing ----------------------------------------------------------------------------


def _alpha(cutoff_hz: float, dt_s: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


@dataclass(frozen=True)
class OneEuroSettings:
    """One-euro filter settings: ``min_cutoff_hz`` at rest, ``beta`` (1/deg) how fast the
    cutoff rises with speed (cutoff = min_cutoff_hz + beta·|speed in deg/s|),
    ``d_cutoff_hz`` the low-pass on the speed estimate."""

    min_cutoff_hz: float = 1.5
    beta: float = 0.02
    d_cutoff_hz: float = 1.0

    def __post_init__(self) -> None:
        if self.min_cutoff_hz <= 0 or self.d_cutoff_hz <= 0 or self.beta < 0:
            raise ConfigurationError(
                "one-euro settings need min_cutoff_hz > 0, d_cutoff_hz > 0 and beta >= 0"
            )

    @property
    def rest_latency_s(self) -> float:
        """Delay of slow movement through the filter at rest: 1 / (2π·min_cutoff_hz)."""
        return 1.0 / (2.0 * math.pi * self.min_cutoff_hz)


class OneEuroFilter:
    """Streaming one-euro filter of one angle (degrees, irregular times allowed).

    ``update(time_s, value)`` returns the smoothed value; NaN input returns NaN and the
    filter restarts at the next finite value (a gap is not bridged).

    >>> f = OneEuroFilter(OneEuroSettings())
    >>> [round(f.update(t / 30.0, 10.0), 3) for t in range(3)]
    [10.0, 10.0, 10.0]
    """

    def __init__(self, settings: OneEuroSettings) -> None:
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        self.last_time_s: float | None = None
        self.value: float = float("nan")
        self.speed_dps: float = 0.0

    def update(self, time_s: float, value: float) -> float:
        if not math.isfinite(value):
            self.reset()
            return float("nan")
        if self.last_time_s is None or time_s <= self.last_time_s:
            self.last_time_s, self.value, self.speed_dps = time_s, value, 0.0
            return value
        s = self.settings
        dt = time_s - self.last_time_s
        raw_speed = (value - self.value) / dt
        self.speed_dps += _alpha(s.d_cutoff_hz, dt) * (raw_speed - self.speed_dps)
        cutoff = s.min_cutoff_hz + s.beta * abs(self.speed_dps)
        self.value += _alpha(cutoff, dt) * (value - self.value)
        self.last_time_s = time_s
        return self.value


def one_euro_filter(values: Any, time_s: Any, settings: OneEuroSettings) -> FloatArray:
    """The batch twin of :class:`OneEuroFilter` (the same numbers)."""
    f = OneEuroFilter(settings)
    v = np.asarray(values, dtype=np.float64)
    t = np.asarray(time_s, dtype=np.float64)
    return np.array([f.update(float(ti), float(vi)) for ti, vi in zip(t, v, strict=True)])


# --- all angles of a sequence -------------------------------------------------------------


@dataclass(frozen=True)
class CameraAngleSettings:
    """How angles are computed: ``min_visibility`` below which an angle is NaN and
    flagged, ``facing``/``side`` (see the module docstring), ``smoothing`` (None = raw)."""

    min_visibility: float = 0.5
    facing: Facing = "auto"
    side: Side = "auto"
    view: View = "auto"
    smoothing: OneEuroSettings | None = field(default_factory=OneEuroSettings)

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_visibility <= 1.0:
            raise ConfigurationError(f"min_visibility must be in [0, 1], got {self.min_visibility}")


def _frame_angles(
    xy: FloatArray, visibility: FloatArray, settings: CameraAngleSettings
) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, BoolArray]]:
    raw = {
        TRUNK_INCLINATION_DEG: trunk_inclination_deg(xy, facing=settings.facing),
        TRUNK_LATERAL_BEND_DEG: trunk_lateral_bend_deg(xy),
        HIP_FLEXION_DEG: hip_flexion_deg(
            xy, facing=settings.facing, side=settings.side, visibility=visibility
        ),
        KNEE_ANGLE_DEG: knee_angle_deg(xy, side=settings.side, visibility=visibility),
    }
    confidence = {
        name: angle_confidence(visibility, name, side=settings.side) for name in CAMERA_ANGLES
    }
    if settings.view == "any":
        no = np.zeros(np.shape(raw[TRUNK_LATERAL_BEND_DEG]), dtype=np.bool_)
        view = {name: no for name in CAMERA_ANGLES}
    else:
        view = {name: wrong_view(xy, name) for name in CAMERA_ANGLES}
    return raw, confidence, view


@dataclass(frozen=True, eq=False)
class CameraAngles:
    """Angles of a landmark sequence: ``angles[name]`` (n,) degrees, NaN where
    ``low_confidence[name]`` or ``wrong_view[name]``; ``confidence[name]`` the minimum
    landmark visibility."""

    time_s: FloatArray
    angles: dict[str, FloatArray]
    confidence: dict[str, FloatArray]
    low_confidence: dict[str, BoolArray]
    wrong_view: dict[str, BoolArray]


def camera_angles(
    sequence: LandmarkSequence, *, settings: CameraAngleSettings | None = None
) -> tuple[CameraAngles, dict[str, Any]]:
    """All camera angles of ``sequence`` (batch; the same numbers as
    :class:`CameraAngleTracker` fed frame by frame).

    Returns ``(angles, info)``; ``info`` holds the settings, the frame rate and the
    smoothing's rest latency in seconds.
    """
    s = settings or CameraAngleSettings()
    xy = sequence.planar_xy()
    raw, confidence, view = _frame_angles(xy, sequence.visibility, s)
    angles: dict[str, FloatArray] = {}
    low: dict[str, BoolArray] = {}
    for name in CAMERA_ANGLES:
        bad = (confidence[name] < s.min_visibility) | ~np.isfinite(raw[name])
        values = np.where(bad | view[name], np.nan, raw[name])
        if s.smoothing is not None:
            values = one_euro_filter(values, sequence.time_s, s.smoothing)
        angles[name] = values
        low[name] = np.asarray(bad, dtype=np.bool_)
    info: dict[str, Any] = {
        "settings": s,
        "rate_hz": sequence.rate_hz,
        "latency_s": 0.0 if s.smoothing is None else s.smoothing.rest_latency_s,
        "coordinates": sequence.coordinates,
    }
    return CameraAngles(sequence.time_s, angles, confidence, low, view), info


@dataclass(frozen=True)
class CameraAngleSample:
    """One frame's angles (degrees, NaN when flagged) and flags."""

    time_s: float
    angles: dict[str, float]
    confidence: dict[str, float]
    low_confidence: dict[str, bool]
    wrong_view: dict[str, bool]


class CameraAngleTracker:
    """Streaming angles: ``update(time_s, landmarks (33, 3), visibility (33,) or None)``.

    ``image_size``/``coordinates`` as in :class:`LandmarkSequence`. ``last`` holds the
    latest :class:`CameraAngleSample` (for a user interface).
    """

    def __init__(
        self,
        settings: CameraAngleSettings | None = None,
        *,
        image_size: tuple[int, int] | None = None,
        coordinates: Literal["image", "world"] = "image",
    ) -> None:
        self.settings = settings or CameraAngleSettings()
        self.image_size = image_size
        self.coordinates: Literal["image", "world"] = coordinates
        smoothing = self.settings.smoothing
        self._filters = (
            {name: OneEuroFilter(smoothing) for name in CAMERA_ANGLES} if smoothing else {}
        )
        self.last: CameraAngleSample | None = None

    def update(
        self, time_s: float, landmarks: Any, visibility: Any | None = None
    ) -> CameraAngleSample:
        points = np.asarray(landmarks, dtype=np.float64)
        if points.shape != (33, 3):
            raise ConfigurationError(f"landmarks must have shape (33, 3), got {points.shape}")
        vis = np.ones(33) if visibility is None else np.asarray(visibility, dtype=np.float64)
        xy = planar_xy(points, image_size=self.image_size, coordinates=self.coordinates)
        raw, confidence, view = _frame_angles(xy, vis, self.settings)
        angles: dict[str, float] = {}
        low: dict[str, bool] = {}
        wrong: dict[str, bool] = {}
        for name in CAMERA_ANGLES:
            value = float(raw[name])
            bad = float(confidence[name]) < self.settings.min_visibility or not math.isfinite(value)
            wrong[name] = bool(view[name])
            value = float("nan") if bad or wrong[name] else value
            if name in self._filters:
                value = self._filters[name].update(time_s, value)
            angles[name] = value
            low[name] = bad
        self.last = CameraAngleSample(
            time_s, angles, {k: float(v) for k, v in confidence.items()}, low, wrong
        )
        return self.last
