"""Setting the camera up: which view each technique needs, and a live framing check.

:data:`CAMERA_VIEWS` says, per technique, where the camera goes and whether a camera can
coach it at all (a supine pelvic tilt: poorly — use a sensor). :func:`check_framing`
looks at one frame's landmarks and says what to fix, one plain sentence per problem:

``person``     someone is in the picture at all.
``in_frame``   the landmarks the technique needs are seen (visibility ≥ ``min_visibility``)
               and lie inside the image with a margin (``margin`` of its width/height).
               Cut off at the bottom → step back or tilt the camera down; at the top →
               step back or tilt it up; at a side → move toward the middle; both top and
               bottom → step back. Too small (trunk under ``min_trunk_share`` of the image
               height) → come closer.
``view``       side-on or facing, from the shoulder and hip widths across the image
               against the trunk length (hip midpoint → shoulder midpoint): about 0 side
               on, 0.6–0.9 facing the camera. A side view needs at most ``side_max_ratio``.
``level``      the camera's roll, from the floor line: in a side view with the feet flat
               (standing, sitting) the sole — heel → toe of the better-seen foot — lies on
               the floor; on hands and knees the shin — knee → ankle — does. Its slope in
               the image is the camera's roll (a level camera sees a level floor). Roll
               adds straight onto the trunk inclination, so more than ``max_roll_deg``
               asks to level the camera. Without the feet (or shins) in view the check
               is skipped, not failed. (The pitch — a camera looking down — cannot be
               told from one frame; the guide asks for the camera at hip height.)

Landmarks are MediaPipe ``pose_landmarks``: x, y normalised to the image (y down),
``image_size`` (width, height) in pixels makes distances square.

>>> import numpy as np
>>> check_framing(np.full((33, 3), np.nan), np.zeros(33), "hip-hinge").messages
('Nobody is in the picture: sit or stand where the camera can see all of you.',)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from spinecoach.camera.landmarks import (
    LEFT_ANKLE,
    LEFT_EAR,
    LEFT_FOOT_INDEX,
    LEFT_HEEL,
    LEFT_HIP,
    LEFT_KNEE,
    LEFT_SHOULDER,
    LEFT_WRIST,
    NOSE,
    RIGHT_ANKLE,
    RIGHT_EAR,
    RIGHT_FOOT_INDEX,
    RIGHT_HEEL,
    RIGHT_HIP,
    RIGHT_KNEE,
    RIGHT_SHOULDER,
    RIGHT_WRIST,
    planar_xy,
)
from spinecoach.conventions import (
    CAT_COW,
    CAT_COW_SEATED,
    FLEXION_EXTENSION,
    HIP_HINGE,
    PELVIC_TILT,
    TECHNIQUES,
)
from spinecoach.errors import ConfigurationError

FloatArray = NDArray[np.float64]
View = Literal["side", "front"]


@dataclass(frozen=True)
class CameraView:
    """Where the camera goes for one technique.

    view: "side" (the person side-on to the camera) or "front". coachable: whether the
    camera can coach it. placement: a sentence for the person. parts: the body parts
    (names of :data:`PARTS`) that must be in the picture. floor: which line lies on the
    floor for the level check ("sole" or "shin").
    """

    technique: str
    view: View
    coachable: bool
    placement: str
    parts: tuple[str, ...]
    floor: Literal["sole", "shin"]


#: Body parts by name, as (left, right) landmark indices; a side view needs the near side.
PARTS: Final[Mapping[str, tuple[int, int]]] = MappingProxyType(
    {
        "head": (NOSE, NOSE),
        "ear": (LEFT_EAR, RIGHT_EAR),
        "shoulder": (LEFT_SHOULDER, RIGHT_SHOULDER),
        "wrist": (LEFT_WRIST, RIGHT_WRIST),
        "hip": (LEFT_HIP, RIGHT_HIP),
        "knee": (LEFT_KNEE, RIGHT_KNEE),
        "ankle": (LEFT_ANKLE, RIGHT_ANKLE),
        "heel": (LEFT_HEEL, RIGHT_HEEL),
        "toes": (LEFT_FOOT_INDEX, RIGHT_FOOT_INDEX),
    }
)
#: How each part is named in a message.
PART_WORDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "head": "head",
        "ear": "head",
        "shoulder": "shoulders",
        "wrist": "hands",
        "hip": "hips",
        "knee": "knees",
        "ankle": "feet",
        "heel": "feet",
        "toes": "feet",
    }
)

_SIDE_PLACEMENT = (
    "Put the camera about 2–3 m away at hip height, level, with {who} side-on to it, so "
    "your whole body from head to feet is in the picture."
)

CAMERA_VIEWS: Final[Mapping[str, CameraView]] = MappingProxyType(
    {
        HIP_HINGE: CameraView(
            HIP_HINGE,
            "side",
            True,
            _SIDE_PLACEMENT.format(who="your chair and you"),
            ("head", "shoulder", "hip", "knee", "ankle"),
            "sole",
        ),
        FLEXION_EXTENSION: CameraView(
            FLEXION_EXTENSION,
            "side",
            True,
            _SIDE_PLACEMENT.format(who="you standing"),
            ("head", "shoulder", "hip", "knee", "ankle"),
            "sole",
        ),
        CAT_COW: CameraView(
            CAT_COW,
            "side",
            True,
            "Put the camera on the floor or a low stool about 2 m away, level, with you "
            "side-on on hands and knees, so your head, back, hands and feet are in the "
            "picture; wear a fitted top so your back's outline shows.",
            ("head", "shoulder", "wrist", "hip", "knee", "ankle"),
            "shin",
        ),
        CAT_COW_SEATED: CameraView(
            CAT_COW_SEATED,
            "side",
            True,
            _SIDE_PLACEMENT.format(who="you sitting")
            + " Wear a fitted top so your back's outline shows.",
            ("head", "shoulder", "hip", "knee"),
            "sole",
        ),
        PELVIC_TILT: CameraView(
            PELVIC_TILT,
            "side",
            False,
            "A camera sees a pelvic tilt lying on your back poorly: the pelvis turns only "
            "8–15° under your clothes while the hips and shoulders hardly move in the "
            "picture. Use a motion sensor (a phone or a small sensor on the sacrum) for "
            "pelvic tilts.",
            ("shoulder", "hip", "knee"),
            "shin",
        ),
    }
)


def camera_view(technique: str) -> CameraView:
    """The camera set-up for ``technique`` (any technique, coachable or not)."""
    if technique not in CAMERA_VIEWS:
        raise ConfigurationError(
            f"unknown technique {technique!r}; use one of {', '.join(TECHNIQUES)}"
        )
    return CAMERA_VIEWS[technique]


@dataclass(frozen=True)
class FramingSettings:
    """Thresholds of the framing check (shares of the image, degrees, ratios)."""

    min_visibility: float = 0.5
    margin: float = 0.03
    min_trunk_share: float = 0.12
    side_max_ratio: float = 0.35
    front_min_ratio: float = 0.55
    max_roll_deg: float = 5.0


@dataclass(frozen=True)
class FramingIssue:
    """One thing to fix: which check, and what to do."""

    check: str
    message: str


@dataclass(frozen=True)
class FramingCheck:
    """The result of :func:`check_framing`.

    ok: nothing to fix. issues: what to fix, most important first. width_ratio: shoulder
    and hip width ÷ trunk length (about 0 side-on, 0.6–0.9 facing); roll_deg: the
    camera's roll from the floor line (NaN when not measurable); side: the better-seen
    side ("left"/"right"); facing: the image side the person faces ("left"/"right").
    """

    ok: bool
    issues: tuple[FramingIssue, ...]
    width_ratio: float
    roll_deg: float
    side: Literal["left", "right"]
    facing: Literal["left", "right"]

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(issue.message for issue in self.issues)


def _listed(words: list[str] | tuple[str, ...]) -> str:
    """``["feet", "hips", "knees"]`` → ``"feet, hips and knees"``."""
    items = list(words)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _wrap_line_deg(dx: float, dy: float) -> float:
    """Slope (deg) of an undirected line, in (−90, 90]; positive = down to the right."""
    angle = math.degrees(math.atan2(dy, dx))
    if angle > 90.0:
        angle -= 180.0
    elif angle <= -90.0:
        angle += 180.0
    return angle


def check_framing(
    landmarks: Any,
    visibility: Any,
    technique: str,
    *,
    image_size: tuple[int, int] | None = None,
    settings: FramingSettings | None = None,
) -> FramingCheck:
    """Is the person framed for ``technique``? (one frame; see the module docstring)."""
    view = camera_view(technique)
    cfg = settings or FramingSettings()
    points = np.asarray(landmarks, dtype=np.float64)
    vis = np.asarray(visibility, dtype=np.float64)
    if points.shape != (33, 3) or vis.shape != (33,):
        raise ConfigurationError(
            f"landmarks must be (33, 3) and visibility (33,), got {points.shape} and {vis.shape}"
        )
    vis = np.where(np.isfinite(points).all(axis=1), vis, 0.0)
    if float(vis.max()) < cfg.min_visibility:
        return FramingCheck(
            False,
            (
                FramingIssue(
                    "person",
                    "Nobody is in the picture: sit or stand where the camera can see all of you.",
                ),
            ),
            math.nan,
            math.nan,
            "left",
            "right",
        )
    issues: list[FramingIssue] = []
    # The better-seen side: the one nearer the camera in a side view.
    left_ids = [PARTS[p][0] for p in view.parts]
    right_ids = [PARTS[p][1] for p in view.parts]
    side: Literal["left", "right"] = (
        "left" if vis[left_ids].sum() >= vis[right_ids].sum() else "right"
    )
    ids = left_ids if side == "left" else right_ids
    xy = planar_xy(points, image_size=image_size)
    span = np.array([float(image_size[0]), float(image_size[1])]) if image_size else np.ones(2)

    trunk = _trunk_length(xy)
    issues += _in_frame_issues(points, vis, ids, view, cfg, trunk=trunk, span=span)
    ratio = _width_ratio(xy, trunk)
    issues += _view_issues(view, cfg, ratio)
    roll = _floor_roll_deg(xy, vis, side, view, cfg)
    issues += _level_issues(cfg, roll)

    nose_ahead = float(xy[NOSE, 0] - 0.5 * (xy[LEFT_EAR, 0] + xy[RIGHT_EAR, 0]))
    facing: Literal["left", "right"] = "right" if nose_ahead >= 0 else "left"
    return FramingCheck(not issues, tuple(issues), ratio, roll, side, facing)


def _trunk_length(xy: FloatArray) -> float:
    """Shoulder-centre to hip-centre distance in the picture (``xy``'s units)."""
    shoulder_mid = 0.5 * (xy[LEFT_SHOULDER] + xy[RIGHT_SHOULDER])
    hip_mid = 0.5 * (xy[LEFT_HIP] + xy[RIGHT_HIP])
    trunk = float(np.linalg.norm(shoulder_mid - hip_mid))
    return trunk


def _width_ratio(xy: FloatArray, trunk: float) -> float:
    """Mean shoulder and hip width over the trunk length: small seen from the side."""
    widths = [
        float(np.linalg.norm(xy[LEFT_SHOULDER] - xy[RIGHT_SHOULDER])),
        float(np.linalg.norm(xy[LEFT_HIP] - xy[RIGHT_HIP])),
    ]
    ratio = float(np.mean(widths)) / trunk if trunk > 0 else math.nan
    return ratio


def _in_frame_issues(
    points: FloatArray,
    vis: FloatArray,
    ids: list[int],
    view: CameraView,
    cfg: FramingSettings,
    *,
    trunk: float,
    span: FloatArray,
) -> list[FramingIssue]:
    """Is the whole body (the parts ``ids`` of the better-seen side) in the picture, seen,
    and large enough?"""
    issues: list[FramingIssue] = []
    m = cfg.margin
    nx, ny = points[:, 0], points[:, 1]
    out_bottom = [i for i in ids if ny[i] > 1.0 - m]
    out_top = [i for i in ids if ny[i] < m]
    out_side = [i for i in ids if nx[i] < m or nx[i] > 1.0 - m]
    if out_bottom and out_top:
        issues.append(
            FramingIssue(
                "in_frame",
                "You are too close: step back from the camera until your whole body fits in "
                "the picture.",
            )
        )
    elif out_bottom:
        words = sorted(
            {PART_WORDS[p] for p, i in zip(view.parts, ids, strict=True) if i in out_bottom}
        )
        issues.append(
            FramingIssue(
                "in_frame",
                f"Your {_listed(words)} are cut off at the bottom of the picture: step "
                "back, or tilt the camera down a little.",
            )
        )
    elif out_top:
        issues.append(
            FramingIssue(
                "in_frame",
                "Your head is cut off at the top of the picture: step back, or tilt the "
                "camera up a little.",
            )
        )
    if out_side:
        edge = "left" if any(nx[i] < m for i in out_side) else "right"
        issues.append(
            FramingIssue(
                "in_frame",
                f"You are at the {edge} edge of the picture: move toward its middle (or turn "
                "the camera toward you).",
            )
        )
    unseen = [
        p
        for p, i in zip(view.parts, ids, strict=True)
        if vis[i] < cfg.min_visibility and i not in out_bottom + out_top + out_side
    ]
    if unseen:
        words = sorted({PART_WORDS[p] for p in unseen})
        issues.append(
            FramingIssue(
                "in_frame",
                f"The camera cannot see your {_listed(words)} clearly: make sure nothing "
                "is in the way and the room is well lit.",
            )
        )
    if not out_top and not out_bottom and trunk < cfg.min_trunk_share * float(span.max()):
        issues.append(
            FramingIssue(
                "in_frame",
                "You are small in the picture: come closer to the camera (about 2–3 m away).",
            )
        )
    return issues


def _view_issues(view: CameraView, cfg: FramingSettings, ratio: float) -> list[FramingIssue]:
    """Is the person seen from the side (or the front) the technique needs?"""
    issues: list[FramingIssue] = []
    if view.view == "side" and math.isfinite(ratio) and ratio > cfg.side_max_ratio:
        more = "a little more " if ratio < cfg.front_min_ratio else ""
        issues.append(
            FramingIssue(
                "view",
                f"Turn {more}sideways to the camera: it needs to see you from the side, "
                "so one shoulder hides the other.",
            )
        )
    elif view.view == "front" and math.isfinite(ratio) and ratio < cfg.front_min_ratio:
        issues.append(FramingIssue("view", "Turn to face the camera."))
    return issues


def _floor_roll_deg(
    xy: FloatArray,
    vis: FloatArray,
    side: Literal["left", "right"],
    view: CameraView,
    cfg: FramingSettings,
) -> float:
    """The picture's roll (deg) from the floor line of the better-seen side (NaN unseen)."""
    if view.floor == "sole":
        a, b = PARTS["heel"], PARTS["toes"]
    else:
        a, b = PARTS["knee"], PARTS["ankle"]
    k = 0 if side == "left" else 1
    roll = math.nan
    if min(vis[a[k]], vis[b[k]]) >= cfg.min_visibility:
        d = xy[b[k]] - xy[a[k]]
        if float(np.linalg.norm(d)) > 1e-9:
            roll = _wrap_line_deg(float(d[0]), float(d[1]))
    return roll


def _level_issues(cfg: FramingSettings, roll: float) -> list[FramingIssue]:
    """Is the camera level?"""
    issues: list[FramingIssue] = []
    if math.isfinite(roll) and abs(roll) > cfg.max_roll_deg:
        low = "right" if roll > 0 else "left"
        issues.append(
            FramingIssue(
                "level",
                f"The camera is tilted by about {abs(roll):.0f}°: the floor runs downhill to "
                f"the {low} of the picture. Lower the camera's {low} side (as seen from behind "
                "it) until the floor looks level.",
            )
        )
    return issues
