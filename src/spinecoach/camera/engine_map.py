"""Camera angles into the exercise engine, where they mean the same thing.

The exercise engine (:mod:`spinecoach.exercises`) reads the sensor angles of
:mod:`spinecoach.conventions`: each technique's ``main_signal`` (catalogue), the trunk
inclination (is the person in the start position?), the upper inclination and the lumbar
flexion (fault rules). A camera sees other things — the trunk line, the hip angle, the
back's outline — so only some techniques can be coached from it, each with the camera
signal that stands for the engine's:

================== ===================== ============================================ ======
technique          engine main signal    camera signal (change from the neutral)      mask
================== ===================== ============================================ ======
hip-hinge          ``pelvic_tilt_deg``   hip flexion (trunk line against the thigh):   no
                                         seated, the thigh stays put, so it is the
                                         forward rotation of pelvis and trunk at the
                                         hip — what the sensor's pelvic tilt is when
                                         the back stays long
flexion-extension  ``lumbar_flexion_deg`` trunk inclination: the whole trunk's bend,   no
                                         lumbar spine *and* hips (a camera cannot
                                         separate them), so ranges are about twice a
                                         sensor's (90–110° for a full bend against
                                         45–60° lumbar); reps, holds and tempo are the
                                         same, the ``small-range`` fault is lenient
cat-cow,           ``lumbar_flexion_deg`` back curvature of the silhouette            yes
cat-cow-seated                           (:mod:`~spinecoach.camera.silhouette`,
                                         ``curvature_deg``): the trunk line hardly
                                         moves in cat-cow, the back's outline does
pelvic-tilt        —                     refused: supine, the pelvis turns 8–15° under
                                         clothes while the landmarks hardly move; use a
                                         sensor
================== ===================== ============================================ ======

The other columns: ``trunk_inclination_deg`` and ``upper_inclination_deg`` are the camera's
trunk inclination (absolute, forward positive, as the sensors'); ``lumbar_flexion_deg`` for
hip-hinge is the back curvature's change when a mask is given (so the ``lumbar-rounding``
fault can be judged), else NaN (not judged); ``pelvic_tilt_deg`` for flexion-extension is
the hip flexion's change (pelvis and lumbar together; used for position recognition); the
rest (``lower_inclination_deg``, ``lateral_bend_deg``, ``axial_rotation_deg``, the pelvic
tilt in cat-cow) are NaN: the camera cannot see them in a side view.

Neutral. The relative signals are zero at the person's neutral: the median of each camera
signal over ``neutral_window`` (seconds, on the camera's clock) or, without one, over the
first ``neutral_s`` seconds in which it is seen. Until the neutral is known those columns
are NaN and the frame is flagged ``FLAG_NOT_CALIBRATED``; frames where the camera lost
the main signal are flagged ``FLAG_GAP`` (the engine counts no rep across them).

:class:`CameraEngineMapper` is the streaming form (``update`` per frame → the engine's
angle dict); :func:`camera_session_angles` feeds whole arrays through the same object and
returns an :class:`~spinecoach.motion.AngleFrames` for :func:`~spinecoach.exercises.
detect_exercise`, so both give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.camera.angles import (
    HIP_FLEXION_DEG,
    TRUNK_INCLINATION_DEG,
    CameraAngles,
    OneEuroFilter,
    OneEuroSettings,
)
from spinecoach.camera.setup import camera_view
from spinecoach.conventions import (
    ANGLE_COLUMNS,
    CAT_COW,
    CAT_COW_SEATED,
    FLEXION_EXTENSION,
    HIP_HINGE,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    TECHNIQUES,
    TRUNK_INCLINATION,
    UPPER_INCLINATION,
)
from spinecoach.errors import ConfigurationError
from spinecoach.motion.flags import FLAG_GAP, FLAG_NOT_CALIBRATED
from spinecoach.motion.process import AngleFrames

FloatArray = NDArray[np.float64]

#: The silhouette's back curvature (deg, flexion positive), a camera signal of its own.
BACK_CURVATURE_DEG: Final = "back_curvature_deg"


@dataclass(frozen=True)
class CameraCoaching:
    """How the camera coaches one technique.

    signals: engine column → the camera signal it is made from (relative to neutral), for
    the relative columns. needs_mask: the main signal comes from the silhouette.
    note: what the camera signal means against the sensor's.
    """

    technique: str
    main_signal: str
    signals: Mapping[str, str]
    needs_mask: bool
    note: str


CAMERA_COACHING: Final[Mapping[str, CameraCoaching]] = MappingProxyType(
    {
        HIP_HINGE: CameraCoaching(
            HIP_HINGE,
            PELVIC_TILT_DEG,
            MappingProxyType(
                {PELVIC_TILT_DEG: HIP_FLEXION_DEG, LUMBAR_FLEXION: BACK_CURVATURE_DEG}
            ),
            False,
            "the forward rotation at the hip (trunk line against the thigh) stands for the "
            "pelvis' forward rotation; the back's rounding needs the silhouette",
        ),
        FLEXION_EXTENSION: CameraCoaching(
            FLEXION_EXTENSION,
            LUMBAR_FLEXION,
            MappingProxyType(
                {LUMBAR_FLEXION: TRUNK_INCLINATION_DEG, PELVIC_TILT_DEG: HIP_FLEXION_DEG}
            ),
            False,
            "the trunk's whole bend (low back and hips together) stands for the lumbar "
            "flexion, so the range is larger than a sensor's",
        ),
        CAT_COW: CameraCoaching(
            CAT_COW,
            LUMBAR_FLEXION,
            MappingProxyType({LUMBAR_FLEXION: BACK_CURVATURE_DEG}),
            True,
            "the back's curvature in the silhouette stands for the lumbar flexion",
        ),
        CAT_COW_SEATED: CameraCoaching(
            CAT_COW_SEATED,
            LUMBAR_FLEXION,
            MappingProxyType({LUMBAR_FLEXION: BACK_CURVATURE_DEG}),
            True,
            "the back's curvature in the silhouette stands for the lumbar flexion",
        ),
    }
)


def camera_coaching(technique: str) -> CameraCoaching:
    """How the camera coaches ``technique``; a clear error for one it cannot.

    >>> camera_coaching("hip-hinge").main_signal
    'pelvic_tilt_deg'
    >>> camera_coaching("pelvic-tilt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    spinecoach.errors.ConfigurationError: the camera cannot coach pelvic-tilt: A camera sees ...
    """
    if technique not in TECHNIQUES:
        raise ConfigurationError(
            f"unknown technique {technique!r}; use one of {', '.join(TECHNIQUES)}"
        )
    if technique not in CAMERA_COACHING:
        view = camera_view(technique)
        raise ConfigurationError(f"the camera cannot coach {technique}: {view.placement}")
    return CAMERA_COACHING[technique]


@dataclass(frozen=True)
class MapperSettings:
    """neutral_window: (start, end) seconds of the neutral hold, or None for the first
    ``neutral_s`` seconds each signal is seen. min_curvature_confidence: back-curvature
    frames below it are not seen. smoothing: one-euro filter of the back curvature (the
    landmark angles come smoothed by their tracker); None = raw."""

    neutral_window: tuple[float, float] | None = None
    neutral_s: float = 2.0
    min_curvature_confidence: float = 0.3
    smoothing: OneEuroSettings | None = field(default_factory=OneEuroSettings)

    def __post_init__(self) -> None:
        if self.neutral_s <= 0:
            raise ConfigurationError(f"neutral_s must be positive, got {self.neutral_s}")
        w = self.neutral_window
        if w is not None and not w[0] < w[1]:
            raise ConfigurationError(f"neutral_window must be (start, end), got {w}")


class _Neutral:
    """The neutral of one signal: the median over the neutral window."""

    def __init__(self, settings: MapperSettings) -> None:
        self.settings = settings
        self.values: list[float] = []
        self.first_s: float | None = None
        self.value: float | None = None

    def update(self, time_s: float, value: float) -> None:
        if self.value is not None:
            return
        w = self.settings.neutral_window
        if w is not None:
            if w[0] <= time_s <= w[1] and math.isfinite(value):
                self.values.append(value)
            if time_s >= w[1] and self.values:
                self.value = float(np.median(self.values))
            return
        if not math.isfinite(value):
            return
        if self.first_s is None:
            self.first_s = time_s
        self.values.append(value)
        if time_s - self.first_s >= self.settings.neutral_s:
            self.value = float(np.median(self.values))


class CameraEngineMapper:
    """Streaming: one camera frame → the exercise engine's angle dict (see the module).

    ``update(time_s, camera_angles, back_curvature_deg=nan, curvature_confidence=0)``
    takes the smoothed camera angles of one frame (a
    :class:`~spinecoach.camera.angles.CameraAngleSample`'s ``angles``) and the
    silhouette's curvature; it returns ``(angles, flags)``.
    """

    def __init__(self, technique: str, settings: MapperSettings | None = None) -> None:
        self.coaching = camera_coaching(technique)
        self.technique = technique
        self.settings = settings or MapperSettings()
        self._neutral = {
            camera: _Neutral(self.settings) for camera in self.coaching.signals.values()
        }
        smoothing = self.settings.smoothing
        self._curvature_filter = OneEuroFilter(smoothing) if smoothing is not None else None

    def neutral(self) -> dict[str, float | None]:
        """The neutral of each camera signal (deg), None until known."""
        return {name: n.value for name, n in self._neutral.items()}

    def update(
        self,
        time_s: float,
        camera_angles: Mapping[str, float],
        back_curvature_deg: float = math.nan,
        curvature_confidence: float = 0.0,
    ) -> tuple[dict[str, float], int]:
        curvature = (
            back_curvature_deg
            if curvature_confidence >= self.settings.min_curvature_confidence
            else math.nan
        )
        if self._curvature_filter is not None:
            curvature = self._curvature_filter.update(time_s, curvature)
        seen = dict(camera_angles)
        seen[BACK_CURVATURE_DEG] = curvature
        trunk = float(seen.get(TRUNK_INCLINATION_DEG, math.nan))
        out = {name: math.nan for name in ANGLE_COLUMNS}
        out[TRUNK_INCLINATION] = trunk
        out[UPPER_INCLINATION] = trunk
        flags = 0
        for column, camera in self.coaching.signals.items():
            value = float(seen.get(camera, math.nan))
            neutral = self._neutral[camera]
            neutral.update(time_s, value)
            if neutral.value is None:
                if column == self.coaching.main_signal:
                    flags |= FLAG_NOT_CALIBRATED
                continue
            out[column] = value - neutral.value
        main = out[self.coaching.main_signal]
        if not flags & FLAG_NOT_CALIBRATED and not (math.isfinite(main) and math.isfinite(trunk)):
            flags |= FLAG_GAP
        return out, flags


def camera_session_angles(
    camera: CameraAngles,
    technique: str,
    *,
    back_curvature_deg: Any | None = None,
    curvature_confidence: Any | None = None,
    settings: MapperSettings | None = None,
) -> tuple[AngleFrames, dict[str, Any]]:
    """The exercise engine's angle columns from a camera recording (batch).

    ``camera`` from :func:`~spinecoach.camera.angles.camera_angles`;
    ``back_curvature_deg``/``curvature_confidence`` (n,) from
    :func:`~spinecoach.camera.silhouette.back_curvature` per frame (required for the
    techniques whose main signal is the silhouette's). Returns ``(frames, info)``:
    ``frames`` on the camera's time stamps (NaN where the camera cannot see), ``info``
    the mapping, the neutral values and the note on what the signals mean.
    """
    coaching = camera_coaching(technique)
    n = camera.time_s.shape[0]
    if back_curvature_deg is None:
        if coaching.needs_mask:
            raise ConfigurationError(
                f"{technique} from a camera needs the back's curvature from the silhouette "
                "(back_curvature_deg): open the camera with the segmentation mask on"
            )
        curvature = np.full(n, np.nan)
        confidence = np.zeros(n)
    else:
        curvature = np.asarray(back_curvature_deg, dtype=np.float64)
        confidence = (
            np.ones(n)
            if curvature_confidence is None
            else np.asarray(curvature_confidence, dtype=np.float64)
        )
        if curvature.shape != (n,) or confidence.shape != (n,):
            raise ConfigurationError(
                f"back_curvature_deg and curvature_confidence must have shape ({n},) like "
                f"the camera's time stamps, got {curvature.shape} and {confidence.shape}"
            )
    mapper = CameraEngineMapper(technique, settings)
    columns = {name: np.full(n, np.nan) for name in ANGLE_COLUMNS}
    flags = np.zeros(n, dtype=np.uint8)
    names = list(camera.angles)
    values = [camera.angles[k].tolist() for k in names]
    times = camera.time_s.tolist()
    curv, conf = curvature.tolist(), confidence.tolist()
    for k in range(n):
        frame = {name: values[j][k] for j, name in enumerate(names)}
        out, flag = mapper.update(times[k], frame, curv[k], conf[k])
        for name, value in out.items():
            columns[name][k] = value
        flags[k] = flag
    rate = float(1.0 / np.median(np.diff(camera.time_s))) if n > 1 else math.nan
    frames = AngleFrames(
        time_s=np.array(camera.time_s, dtype=np.float64), angles=columns, flags=flags, rate_hz=rate
    )
    info: dict[str, Any] = {
        "technique": technique,
        "main_signal": coaching.main_signal,
        "signals": dict(coaching.signals),
        "neutral_deg": mapper.neutral(),
        "note": coaching.note,
        "unseen_frames": int(np.count_nonzero(flags & FLAG_GAP)),
    }
    return frames, info
