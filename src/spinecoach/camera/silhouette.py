"""Back curvature from the person's silhouette (the pose model's segmentation mask) in a
side view.

The trunk line of the landmarks (shoulder → hip) is straight whatever the back does, so it
cannot tell a rounded back from a hollow one. The silhouette can: its boundary on the back
side, between the shoulder and the hip, bulges outward when the back rounds (flexion:
cat, a slouched sitting) and dips inward when it arches (extension: cow, sitting tall).

Method (image coordinates: x right, y down, pixels):

1. The chord runs from the shoulder point to the hip point (landmarks, or their
   left/right midpoints). The *back side* is the side of the chord away from where the
   person faces: facing image-right, the back normal is ``(−u_y, u_x)`` for the chord
   direction ``u``; facing left the opposite. (Standing facing right the back is toward
   −x; on hands and knees facing right it is up.)
2. At ``n_stations`` points along the chord, from ``span[0]`` to ``span[1]`` of its length
   (the ends are left out: the neck and the buttocks are not the back), a ray goes from
   the chord toward the back; the back contour is where it leaves the mask (mask ≥
   ``threshold``). A ray that starts outside the person, or never leaves the mask within
   ``max_depth`` chord lengths, gives no point.
3. The depths ``d(s)`` along the chord are fitted with a parabola; the **sagitta** ``h`` is
   the fitted depth at the middle minus the mean of the fitted depths at the two ends
   (pixels, positive = the middle bulges out to the back = convex). From it:

   ``deviation_ratio``  ``h`` ÷ the contour's chord length: a shape measure independent of
                        the image scale (a circular arc turning θ has h/c = tan(θ/4)/2);
   ``curvature_deg``    the angle the back contour turns between its ends, of the circular
                        arc with that chord and sagitta: ``θ = 4·atan(2h/c)``.

   Both are positive for a rounded (flexed, convex) back and negative for an arched
   (extended, concave) one. The absolute value includes the person's shape (a standing
   back is normally a little hollow at the waist, the buttocks and shoulder blades make
   the ends stand out), so a coach compares a frame with the person's own neutral.
4. ``confidence`` (0–1): the share of stations that found the contour × how crisp the
   mask edge is (share of the boundary samples that are clearly in or out, not in the
   soft 0.2–0.8 band) × the fit (1 − residual RMS ÷ (0.05 × chord), not below 0) × size
   (chord length ÷ ``min_chord_px``, at most 1). ``reason`` says what lowered it most.

What it cannot do: a loose jumper or a long-haired head over the shoulders changes the
contour; an arm held behind the back is taken for the back. It measures the whole back
between shoulder and hip (thoracic and lumbar together), not the lumbar spine alone.

>>> import numpy as np
>>> yy, xx = np.mgrid[0:200, 0:200]
>>> bulge = 12.0 * np.sin(np.pi * (yy - 40) / 120.0).clip(0)   # back rounds toward −x
>>> mask = ((xx >= 80 - bulge) & (xx <= 140) & (yy >= 30) & (yy <= 170)).astype(float)
>>> c = back_curvature(mask, shoulder_xy=(110, 40), hip_xy=(110, 160), facing="right")
>>> c.curvature_deg > 20, c.deviation_ratio > 0.08, c.confidence > 0.8
(True, True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from spinecoach.errors import ConfigurationError

FloatArray = NDArray[np.float64]
Facing = Literal["left", "right"]

#: Soft mask values in this band are an unsure edge.
SOFT_BAND: Final = (0.2, 0.8)
#: A fit residual of this share of the chord (RMS) gives zero fit confidence.
RESIDUAL_SCALE: Final = 0.05


@dataclass(frozen=True)
class SilhouetteSettings:
    """How the back contour is found.

    threshold: mask value at or above which a pixel is the person. span: the part of
    the shoulder→hip chord (shares of its length) where the contour is sampled.
    n_stations: how many rays. max_depth: longest ray, in chord lengths. min_chord_px:
    chord length (pixels) below which the confidence falls (a person too small in the
    image to see the back's shape).
    """

    threshold: float = 0.5
    span: tuple[float, float] = (0.12, 0.88)
    n_stations: int = 25
    max_depth: float = 0.8
    min_chord_px: float = 80.0

    def __post_init__(self) -> None:
        a, b = self.span
        if not 0.0 <= a < b <= 1.0:
            raise ConfigurationError(f"span must satisfy 0 <= start < end <= 1, got {self.span}")
        if self.n_stations < 5:
            raise ConfigurationError(f"n_stations must be at least 5, got {self.n_stations}")
        if not 0.0 < self.threshold < 1.0:
            raise ConfigurationError(f"threshold must be between 0 and 1, got {self.threshold}")
        if self.max_depth <= 0 or self.min_chord_px <= 0:
            raise ConfigurationError("max_depth and min_chord_px must be positive")


@dataclass(frozen=True, eq=False)
class BackCurvature:
    """The back's curvature in one frame (see the module docstring).

    curvature_deg: turn of the fitted arc, flexion (convex) positive; deviation_ratio:
    sagitta ÷ chord, flexion positive; sagitta_px and chord_px in pixels; confidence 0–1;
    contour_xy: (m, 2) the back contour points found (pixels); reason: "" or what
    lowered the confidence most.
    """

    curvature_deg: float
    deviation_ratio: float
    sagitta_px: float
    chord_px: float
    confidence: float
    contour_xy: FloatArray
    reason: str = ""


def _nothing(reason: str, chord_px: float = math.nan) -> BackCurvature:
    return BackCurvature(
        math.nan, math.nan, math.nan, chord_px, 0.0, np.empty((0, 2), dtype=np.float64), reason
    )


def back_normal(shoulder_xy: Any, hip_xy: Any, facing: Facing) -> FloatArray:
    """Unit vector perpendicular to the shoulder→hip chord, pointing to the back.

    >>> back_normal((0, 0), (0, 10), "right").tolist()   # standing, facing image-right
    [-1.0, 0.0]
    >>> (back_normal((10, 0), (0, 0), "right") + 0.0).tolist()   # on all fours: back up
    [0.0, -1.0]
    """
    s = np.asarray(shoulder_xy, dtype=np.float64)
    h = np.asarray(hip_xy, dtype=np.float64)
    u = (h - s) / float(np.linalg.norm(h - s))
    if facing == "right":
        n = np.array([-u[1], u[0]])
    elif facing == "left":
        n = np.array([u[1], -u[0]])
    else:
        raise ConfigurationError(f"facing must be 'left' or 'right', got {facing!r}")
    return np.asarray(n, dtype=np.float64)


def back_curvature(
    mask: Any,
    *,
    shoulder_xy: Any,
    hip_xy: Any,
    facing: Facing,
    settings: SilhouetteSettings | None = None,
) -> BackCurvature:
    """The back's curvature from a segmentation mask (height, width; 1 = person) and the
    shoulder and hip points (pixels, x right, y down) of a side view. ``facing`` is the
    image side the person faces. Never raises for poor data: a NaN curvature with
    confidence 0 and a ``reason``.
    """
    cfg = settings or SilhouetteSettings()
    m = np.asarray(mask, dtype=np.float64)
    if m.ndim != 2:
        raise ConfigurationError(f"mask must be a 2-D image (height, width), got {m.shape}")
    s = np.asarray(shoulder_xy, dtype=np.float64)
    h = np.asarray(hip_xy, dtype=np.float64)
    if s.shape != (2,) or h.shape != (2,):
        raise ConfigurationError("shoulder_xy and hip_xy must be (x, y) points in pixels")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(h))):
        return _nothing("the shoulder or hip was not found")
    chord = float(np.linalg.norm(h - s))
    if chord < 5.0:
        return _nothing("the shoulder and hip are on top of each other (not a side view)", chord)
    u = (h - s) / chord
    n = back_normal(s, h, facing)
    stations = np.linspace(cfg.span[0], cfg.span[1], cfg.n_stations) * chord
    depth = np.arange(0.0, cfg.max_depth * chord, 1.0)
    values = _ray_samples(m, s + stations[:, None] * u, n, depth)
    person = values >= cfg.threshold
    starts_inside = person[:, 0]
    left_person = ~person
    has_exit = left_person.any(axis=1)
    exit_index = np.argmax(left_person, axis=1)
    valid = starts_inside & has_exit
    if np.count_nonzero(valid) < 5:
        return _nothing("the back's outline was not found in the mask", chord)
    # The edge lies between the last person sample and the first background one.
    d = depth[exit_index[valid]] - 0.5
    along = stations[valid]
    contour = s + along[:, None] * u + d[:, None] * n
    sagitta, residual, contour_chord = _parabola_fit(stations, along, d)
    ratio = sagitta / contour_chord
    curvature = math.degrees(4.0 * math.atan(2.0 * ratio))
    confidence, reason = _confidence(
        values, valid, exit_index, cfg, residual=residual, contour_chord=contour_chord, chord=chord
    )
    return BackCurvature(
        curvature_deg=curvature,
        deviation_ratio=ratio,
        sagitta_px=sagitta,
        chord_px=chord,
        confidence=confidence,
        contour_xy=np.asarray(contour, dtype=np.float64),
        reason=reason,
    )


def _ray_samples(m: FloatArray, base: FloatArray, n: FloatArray, depth: FloatArray) -> FloatArray:
    """The mask's nearest-pixel values (stations, depth) along rays from the points
    ``base`` in direction ``n``; 0 outside the image."""
    height, width = m.shape
    points = base[:, None, :] + depth[None, :, None] * n
    col = np.rint(points[..., 0]).astype(np.int64)
    row = np.rint(points[..., 1]).astype(np.int64)
    inside_image = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    values: FloatArray = np.where(
        inside_image, m[row.clip(0, height - 1), col.clip(0, width - 1)], 0.0
    )
    return values


def _parabola_fit(
    stations: FloatArray, along: FloatArray, d: FloatArray
) -> tuple[float, float, float]:
    """A parabola through the edge depths ``d`` (px) at ``along``: its sagitta (middle −
    mean of the ends), rms residual and end-to-end chord (px)."""
    # Parabola in a centred, scaled coordinate; sagitta = middle − mean of the ends.
    a_len = stations[-1] - stations[0]
    q = (along - 0.5 * (stations[0] + stations[-1])) / (0.5 * a_len)
    coef = np.polyfit(q, d, 2)
    sagitta = -float(coef[0])
    residual = float(np.sqrt(np.mean((np.polyval(coef, q) - d) ** 2)))
    end_a = float(np.polyval(coef, -1.0))
    end_b = float(np.polyval(coef, 1.0))
    contour_chord = math.hypot(a_len, end_b - end_a)
    return sagitta, residual, contour_chord


def _confidence(
    values: FloatArray,
    valid: NDArray[np.bool_],
    exit_index: NDArray[np.int64],
    cfg: SilhouetteSettings,
    *,
    residual: float,
    contour_chord: float,
    chord: float,
) -> tuple[float, str]:
    """Confidence (0–1: coverage × crispness × fit × size) and the reason of the worst
    factor when it is below 0.9 (else "")."""
    coverage = float(np.count_nonzero(valid)) / cfg.n_stations
    idx = np.flatnonzero(valid)
    around = np.concatenate(
        [values[idx, np.maximum(exit_index[idx] - 1, 0)], values[idx, exit_index[idx]]]
    )
    soft = (around > SOFT_BAND[0]) & (around < SOFT_BAND[1])
    crisp = 1.0 - float(np.count_nonzero(soft)) / around.size
    fit = max(0.0, 1.0 - residual / (RESIDUAL_SCALE * contour_chord))
    size = min(1.0, chord / cfg.min_chord_px)
    parts = {
        "the back's outline was found along only part of the trunk": coverage,
        "the mask's edge is blurred": crisp,
        "the outline is not a smooth curve (clothing, an arm behind the back?)": fit,
        "the person is small in the image; come closer to the camera": size,
    }
    confidence = coverage * crisp * fit * size
    worst = min(parts, key=lambda k: parts[k])
    return confidence, (worst if parts[worst] < 0.9 else "")
