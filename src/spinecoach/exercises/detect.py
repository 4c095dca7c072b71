"""Rep detection for the hold techniques: pelvic tilt, hip-hinge, flexion-extension.

:class:`HoldRepDetector` is the streaming object (``update(time_s, angles)`` per angle
frame); the exercise engine (:mod:`spinecoach.exercises.engine`) wraps it for streaming
and batch alike, so both give the same reps.

It gives each rep's frames and excursions (start, peak and end, the hold, move and
return phases, range); the engine turns them into measures, faults and quality.

Start positions. A technique may be done in more than one position (flexion-extension
standing or seated, :data:`TECHNIQUE_POSITIONS`); the detector counts in any of them.
Reps last from about 1.5 s (a brisk seated flexion-extension) to over 20 s (one with
5 s holds), so the shortest rep kept is 1 s for every technique.

Squats and sit-downs. In lumbar flexion and pelvic tilt a squat looks like a
flexion-extension or a hip hinge (20-50° of lumbar flexion, 10-40° of pelvic tilt), but
the pelvis goes down 0.2-0.5 m; in a standing or seated forward bend, and in a seated
hinge, it turns about the hips and stays at its height. The motion core's
``pelvis_height_m`` (the sacral sensor's vertical displacement,
:mod:`spinecoach.motion.height`) is kept with each rep, and a flexion-extension or
hip-hinge rep whose pelvis went down more than :data:`SQUAT_DROP_M` from its start to its
deepest point is discarded with the reason, as an out-of-plane movement is (the
segmenter's ``discarded``). Frames without the column (camera, stored sessions, older
callers) are counted exactly as before.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from spinecoach.conventions import (
    AXIAL_ROTATION,
    CAT_COW,
    CAT_COW_SEATED,
    FLEXION_EXTENSION,
    HIP_HINGE,
    LATERAL_BEND,
    LOWER_INCLINATION,
    LUMBAR_FLEXION,
    PELVIC_TILT,
    PELVIC_TILT_DEG,
    PELVIS_HEIGHT_M,
    POSITION_NOMINAL_INCLINATION_DEG,
    TRUNK_INCLINATION,
    UPPER_INCLINATION,
)
from spinecoach.errors import ConfigurationError
from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.exercises.reps import (
    Excursion,
    RepFrames,
    RepSegmenter,
    SegmenterSettings,
    excursion,
)


@dataclass(frozen=True)
class TechniqueSpec:
    """What the detector needs to know of a technique (deg)."""

    name: str
    position: str
    main_signal: str
    direction: float  # sign of the main signal in the working movement
    on_deg: float
    opposite: bool = False
    max_forward_deg: float = 110.0
    max_backward_deg: float = 35.0
    min_rep_s: float = 1.0
    other_positions: tuple[str, ...] = ()
    min_range_share: float = 0.15
    max_drop_m: float = math.inf

    @property
    def positions(self) -> tuple[str, ...]:
        """Every start position the technique may be done in, its usual one first."""
        return (self.position, *self.other_positions)


#: Pelvis drop (m, ``pelvis_height_m`` from a rep's start to its deepest point) above
#: which a flexion-extension or hip-hinge "rep" was a squat or a sit-down. Chosen from
#: the data (virtual IMUs from motion capture, 50 and 100 Hz, two seeds; simulated
#: sessions at 25-100 Hz with real-world sensor errors): squats read 0.12-0.35 m (true
#: drop 0.22-0.33 m; the high-pass of :mod:`spinecoach.motion.height` halves a fast
#: squat), standing forward bends at most 0.02 m, simulated standing and seated
#: flexion-extension and seated hip hinges at most 0.03 m. 0.07 m sits between them
#: with a margin of about 1.7x each way; it still catches a 0.3 m squat or sit-down
#: lowered over 3 s (read 0.09 m), not one lowered over 5 s (0.05 m).
SQUAT_DROP_M = 0.07


def _position(name: str) -> str:
    """The technique's usual start position: the catalogue says it (the one place)."""
    return default_catalogue().technique(name).position


def _other_positions(name: str) -> tuple[str, ...]:
    """The technique's further start positions, from the catalogue."""
    return default_catalogue().technique(name).other_positions


SPECS: Mapping[str, TechniqueSpec] = {
    PELVIC_TILT: TechniqueSpec(
        PELVIC_TILT,
        _position(PELVIC_TILT),
        PELVIC_TILT_DEG,
        -1.0,
        on_deg=1.8,
        max_forward_deg=35.0,
        other_positions=_other_positions(PELVIC_TILT),
    ),
    HIP_HINGE: TechniqueSpec(
        HIP_HINGE,
        _position(HIP_HINGE),
        PELVIC_TILT_DEG,
        1.0,
        on_deg=4.0,
        max_drop_m=SQUAT_DROP_M,
        other_positions=_other_positions(HIP_HINGE),
    ),
    FLEXION_EXTENSION: TechniqueSpec(
        FLEXION_EXTENSION,
        _position(FLEXION_EXTENSION),
        LUMBAR_FLEXION,
        1.0,
        on_deg=6.0,
        opposite=True,
        max_forward_deg=150.0,
        max_backward_deg=70.0,
        other_positions=_other_positions(FLEXION_EXTENSION),
        max_drop_m=SQUAT_DROP_M,
    ),
}

#: Breath-led techniques counted from the movement when there is no pacer log (a
#: recording made without the coach): one rep per cat (flexion) excursion with its cow
#: (extension) half, as flexion-extension. Ranges: quadruped cat 8-16° and seated 5-10°
#: from neutral (stiff to typical), so 4° and 3° start a rep. The last cat of a set has no
#: cow after it: half of a 1.5 s cycle, so 0.5 s is the shortest kept.
CYCLE_SPECS: Mapping[str, TechniqueSpec] = {
    CAT_COW: TechniqueSpec(
        CAT_COW,
        _position(CAT_COW),
        LUMBAR_FLEXION,
        1.0,
        on_deg=4.0,
        opposite=True,
        max_forward_deg=35.0,
        max_backward_deg=35.0,
        min_rep_s=0.5,
    ),
    CAT_COW_SEATED: TechniqueSpec(
        CAT_COW_SEATED,
        _position(CAT_COW_SEATED),
        LUMBAR_FLEXION,
        1.0,
        on_deg=3.0,
        opposite=True,
        max_forward_deg=35.0,
        max_backward_deg=35.0,
        min_rep_s=0.5,
    ),
}

#: One sensor on the sacrum (a belt-worn sensor): no lumbar angle, no trunk. The position
#: is read from the pelvis's own inclination, and flexion-extension and cat-cow from the
#: pelvic tilt: (sign of the pelvic tilt in the working movement, change that starts a
#: rep, deg). The pelvis turns 0.4-0.5x the lumbar flexion forward in a trunk flexion
#: (a seated extension rolls it forward a little too, 2-4°, under the 5° that starts a
#: rep) and 7-8° back in a cat. Pelvic tilt's own signal is the pelvis (its faults that
#: need the thorax, trunk compensation and bridging, cannot be judged). The engine allows
#: this mode only for recordings made without the coach (no annotations): a coached
#: session always has both sensors, so one missing there is reported, not worked around.
LOWER_ONLY: Mapping[str, tuple[float, float]] = {
    PELVIC_TILT: (-1.0, 3.0),
    HIP_HINGE: (1.0, 4.0),
    FLEXION_EXTENSION: (1.0, 5.0),
    CAT_COW: (-1.0, 3.0),
    CAT_COW_SEATED: (-1.0, 2.5),
}


def lower_only_spec(spec: TechniqueSpec) -> TechniqueSpec | None:
    """The technique read from the lower sensor alone, or None when it cannot be."""
    if spec.name not in LOWER_ONLY:
        return None
    direction, on_deg = LOWER_ONLY[spec.name]
    # The pelvis's part of a brisk rep (without the lumbar extension half) is shorter.
    # With no side bend or twist to compare, a rep's size against the others is the only
    # guard against another movement's cross-talk (2-3° of pelvic tilt in a supine knee
    # rock): 40 % of the median range, and 3° to start a supine tilt.
    return dataclasses.replace(
        spec,
        main_signal=PELVIC_TILT_DEG,
        direction=direction,
        on_deg=on_deg,
        min_rep_s=min(spec.min_rep_s, 0.6),
        min_range_share=0.4,
    )


#: Angles (deg from the calibrated neutral) beyond what a lumbar spine does, with margin:
#: flexion 60-85° and extension 20-35° (a deep standing bend in motion capture reaches
#: 84°), lateral bend 25-35° and axial rotation 30-45° each way between thorax and pelvis.
#: Frames beyond them are a sensor handled or slipping, or a calibration gone wrong, never
#: a rep: the rep in progress is discarded and the segmenter starts again. The lateral
#: bend and axial rotation are only read near the position's neutral (trunk within 35°):
#: in a deep bend a frontal inclination from gravity is meaningless (see reps.py).
HUMAN_LIMITS_DEG: Mapping[str, tuple[float, float]] = {
    LUMBAR_FLEXION: (-60.0, 110.0),
    LATERAL_BEND: (-60.0, 60.0),
    AXIAL_ROTATION: (-75.0, 75.0),
}


def beyond_human_range(angles: Mapping[str, float], *, near_neutral: bool) -> str | None:
    """The first angle out of :data:`HUMAN_LIMITS_DEG` and its value, or None
    (``near_neutral``: the trunk is near the position's neutral, so the lateral bend and
    axial rotation can be read)."""
    for name, (low, high) in HUMAN_LIMITS_DEG.items():
        if name != LUMBAR_FLEXION and not near_neutral:
            continue
        value = angles.get(name, math.nan)
        if math.isfinite(value) and not low <= value <= high:
            return f"{name} {value:.0f}°"
    return None


#: The start positions each hold technique may be done in (read from the catalogue,
#: the one place that says them; tests/exercises checks they agree).
TECHNIQUE_POSITIONS: Mapping[str, tuple[str, ...]] = {n: s.positions for n, s in SPECS.items()}

#: Signals kept with each rep: for the fault rules, the out-of-plane check and the
#: squat check (the pelvis height, m: NaN or absent in frames without it).
REP_SIGNALS: tuple[str, ...] = (
    UPPER_INCLINATION,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    LATERAL_BEND,
    AXIAL_ROTATION,
    PELVIS_HEIGHT_M,
)


@dataclass(frozen=True)
class HoldRep:
    """One detected rep: its frames, the main excursion (hold, phases, peak) and, for
    flexion-extension, the opposite (extension) one. Times in seconds since the
    recording start, angles in degrees of the main signal from the rest baseline."""

    technique: str
    index: int
    main: Excursion
    frames: RepFrames
    opposite: Excursion | None = None

    @property
    def start_s(self) -> float:
        return float(self.frames.time_s[0])

    @property
    def end_s(self) -> float:
        return float(self.frames.time_s[-1])

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def analyse_rep(spec: TechniqueSpec, frames: RepFrames, index: int) -> HoldRep:
    """Describe one rep from its frames (pure; used by batch and streaming alike)."""
    t, x = frames.time_s, frames.main_deg
    opposite: Excursion | None = None
    main_t, main_x = t, x
    opposite_on = 0.5 * spec.on_deg
    if spec.opposite and np.any(x < -opposite_on):
        # Flexion first, then the extension: split where the flexion came back.
        i_neg = int(np.flatnonzero(x < -opposite_on)[0])
        i_split = int(np.flatnonzero(x[:i_neg] > 0.5)[-1]) + 1 if np.any(x[:i_neg] > 0.5) else 0
        main_t, main_x = t[: max(i_split, 3)], x[: max(i_split, 3)]
        opp_t, opp_x = t[i_split:], -x[i_split:]
        if opp_t.shape[0] >= 3:
            opposite = excursion(opp_t, opp_x, 0.08)
    ex = excursion(main_t, main_x, 0.08)
    return HoldRep(technique=spec.name, index=index, main=ex, frames=frames, opposite=opposite)


@functools.cache
def _nominals(positions: tuple[str, ...]) -> tuple[float, ...]:
    """The nominal trunk inclinations (deg) of ``positions`` (looked up once)."""
    return tuple(POSITION_NOMINAL_INCLINATION_DEG[p] for p in positions)


class HoldRepDetector:
    """Streaming reps of one hold technique from angle frames.

    ``spec`` overrides the technique's :data:`SPECS` entry (the breath-led techniques
    counted from the movement use :data:`CYCLE_SPECS`). A recording whose upper sensor
    has not been seen is read from the lower one alone (:data:`LOWER_ONLY`).
    """

    def __init__(self, technique: str, *, spec: TechniqueSpec | None = None) -> None:
        if spec is None:
            if technique not in SPECS:
                raise ConfigurationError(
                    f"no hold-rep detector for {technique!r}; this one covers {', '.join(SPECS)}"
                )
            spec = SPECS[technique]
        self.spec = spec
        self._both = self._segmenter(spec)
        self._lower_spec = lower_only_spec(spec)
        self._lower: RepSegmenter | None = None
        #: "both" sensors, or the "lower" one alone (decided by the data: the upper
        #: sensor never seen so far).
        self.mode = "both"
        self._seen_upper = False
        #: Whether the lower sensor alone may be used (set by the engine).
        self.lower_only_allowed = True
        self.reps: list[HoldRep] = []

    @staticmethod
    def _segmenter(spec: TechniqueSpec) -> RepSegmenter:
        nominal = POSITION_NOMINAL_INCLINATION_DEG[spec.position]
        others = {POSITION_NOMINAL_INCLINATION_DEG[p] for p in spec.other_positions}
        return RepSegmenter(
            SegmenterSettings(
                position_nominal_deg=nominal,
                other_positions_deg=tuple(sorted(others - {nominal})),
                on_deg=spec.on_deg,
                opposite=spec.opposite,
                max_forward_deg=spec.max_forward_deg,
                max_backward_deg=spec.max_backward_deg,
                min_rep_s=spec.min_rep_s,
                min_range_share=spec.min_range_share,
                max_drop_m=spec.max_drop_m,
            ),
            other_names=REP_SIGNALS,
            out_of_plane=(LATERAL_BEND, AXIAL_ROTATION),
            lateral=(LATERAL_BEND,),
            vertical=PELVIS_HEIGHT_M,
        )

    @property
    def segmenter(self) -> RepSegmenter:
        """The segmenter in use (two sensors, or the lower one alone)."""
        return self._lower if self.mode == "lower" and self._lower is not None else self._both

    @property
    def discarded(self) -> list[tuple[float, float, str]]:
        """Movements not counted, and why (both segmenters)."""
        gone = list(self._both.discarded)
        if self._lower is not None:
            gone += self._lower.discarded
        return sorted(gone)

    def update(self, time_s: float, angles: Mapping[str, float]) -> HoldRep | None:
        nan = float("nan")
        trunk = angles[TRUNK_INCLINATION]
        if math.isfinite(trunk):
            self._seen_upper = True
            self.mode = "both"
        elif not self._seen_upper and self._lower_spec is not None and self.lower_only_allowed:
            self.mode = "lower"
        spec = self.spec
        if self.mode == "lower" and self._lower_spec is not None:
            spec = self._lower_spec
            trunk = angles.get(LOWER_INCLINATION, nan)
            if self._lower is None:
                self._lower = self._segmenter(spec)
        nominals = _nominals(spec.positions)
        near = math.isfinite(trunk) and min([abs(trunk - n) for n in nominals]) <= 35.0
        strange = beyond_human_range(angles, near_neutral=near)
        if strange is not None:
            self.segmenter.interrupt(
                f"angles no spine makes ({strange}): a sensor handled or slipping, or a "
                "calibration gone wrong"
            )
            return None
        main = spec.direction * angles[spec.main_signal]
        get = angles.get
        done = self.segmenter.update(time_s, main, trunk, tuple([get(n, nan) for n in REP_SIGNALS]))
        return self._done(done, spec)

    def finish(self) -> HoldRep | None:
        """The data have ended: the rep in progress, if it had come back."""
        spec = self._lower_spec if self.mode == "lower" and self._lower_spec else self.spec
        return self._done(self.segmenter.finish(), spec)

    def _done(self, done: RepFrames | None, spec: TechniqueSpec) -> HoldRep | None:
        if done is None or done.time_s.shape[0] < 3:
            return None
        rep = analyse_rep(spec, done, len(self.reps) + 1)
        self.reps.append(rep)
        return rep
