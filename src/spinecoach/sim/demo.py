"""Demonstrations: one rep of a technique as 2-D keyframes of a figure, from the simulator.

:func:`technique_demo` runs the simulator's own set builder
(:func:`spinecoach.sim.techniques.set_builder`) for one clean rep of a technique in its
start position — the same timeline, keyframes, minimum-jerk moves and breath track a
simulated session has — samples the body model (:func:`spinecoach.sim.body.synthesize_body`)
and projects it onto the sagittal plane: x forward (the person's heading, m), y up (m).
The page draws the figure from these points (``static/demo.js``); nothing is drawn by hand.

Design choices:

* **The trunk is the model's.** Pelvis, T12/L1 segment and thorax are the body model's
  rotations; hip, L5/S1 and the sacral landmarks are points of the pelvis, T12/L1 sits
  :data:`LUMBAR_M` up the T12/L1 segment's superior axis from L5/S1, the neck base
  :data:`THORAX_M` up the thorax. The hip moves as the model's hip moves (its height and
  forward shift, e.g. hips back in a standing forward bend), from a start point where
  the legs fit the position.
* **Limbs are placed, not simulated.** The body model has no legs or arms, so they are
  solved as two-link chains (thigh–shank, upper arm–forearm) to contacts fixed in the
  start position: feet on the floor, knees on the mat on hands and knees, hands on the
  floor, on the mat by the sides or on the thighs; standing, the arms hang. A contact out
  of reach leaves the limb straight toward it.
* **A demonstration performer**: the ``typical`` ranges and tempo with no variability,
  no faults and full holds (the simulator's clean calibration rep), with no postural
  sway, so the figure shows the prescribed movement. The random draws are seeded, so the
  same arguments always give the same frames.
* **Phases and breath come from the plan**: the hold events, the movement toward or
  back from the start pose, the breath pacer of cat-cow, and the model's lung volume
  (``breath``: ``"in"``, ``"out"`` or ``"still"``). Each phase carries the technique's
  own cue text from the catalogue, in plain words.

>>> demo = technique_demo("pelvic-tilt")
>>> demo.position, demo.joints[:3]
('supine', ('head', 'neck', 'shoulder'))
>>> peak = min(f.angles_deg["pelvic_tilt_deg"] for f in demo.frames)
>>> 8.0 < -peak < 15.0  # a posterior tilt of the typical supine range
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import (
    CAT_COW,
    CAT_COW_SEATED,
    EVENT_BREATH_EXHALE,
    EVENT_BREATH_INHALE,
    EVENT_HOLD,
    EVENT_REP,
    FLEXION_EXTENSION,
    HIP_HINGE,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    TECHNIQUES,
)
from spinecoach.errors import ConfigurationError
from spinecoach.exercises.catalogue import Technique, default_catalogue
from spinecoach.sim import quaternion as quat
from spinecoach.sim.body import BodyMotion, synthesize_body, truth_series
from spinecoach.sim.performer import Performer
from spinecoach.sim.poses import NEUTRAL_POSES
from spinecoach.sim.profiles import PerformerProfile
from spinecoach.sim.techniques import TECHNIQUE_ALLOWED_POSITIONS, set_builder
from spinecoach.sim.timeline import MotionPlan, PlannedEvent, Timeline

__all__ = [
    "DEMO_PROFILE",
    "JOINTS",
    "Demo",
    "DemoFrame",
    "technique_demo",
]

FloatArray = NDArray[np.float64]

DEMO_PROFILE: Final = PerformerProfile(
    name="demonstration",
    variability=0.0,
    compensation_tendency=0.0,
    hold_adherence=1.0,
)
"""The performer of a demonstration: typical ranges and tempo, no variability or faults."""

JOINTS: Final[tuple[str, ...]] = (
    "head",
    "neck",
    "shoulder",
    "elbow",
    "wrist",
    "t12",
    "l5s1",
    "asis",
    "pubis",
    "coccyx",
    "hip",
    "knee",
    "ankle",
    "toe",
    "belly",
)
"""The points of every frame, in order (m): ``head`` is the head's centre, ``belly`` the
centre of the belly whose size follows the breath; the rest are joints and landmarks."""

# Body proportions (m) of an adult of about 1.75 m.
LUMBAR_M: Final = 0.18  # L5/S1 to T12/L1 (the body model's upper sensor site height)
THORAX_M: Final = 0.30  # T12/L1 to the base of the neck (C7)
SHOULDER_M: Final = 0.25  # T12/L1 to the shoulder joint, up the thorax
THIGH_M: Final = 0.45
SHANK_M: Final = 0.43
UPPER_ARM_M: Final = 0.30
FOREARM_M: Final = 0.27
ANKLE_M: Final = 0.07  # ankle joint above the floor
KNEE_PAD_M: Final = 0.05  # knee joint above the floor when kneeling
HEAD_RADIUS_M: Final = 0.10
# Points in segment axes (x anterior, y superior; m), from the body model's L5/S1 site.
_PELVIS_POINTS: Final = {
    "l5s1": (-0.05, 0.12),
    "asis": (0.07, 0.08),
    "pubis": (0.06, -0.05),
    "coccyx": (-0.09, -0.03),
}
_SETTLE_S: Final = 2.5  # still in the start position before the rep (the neutral)
_AFTER_S: Final = 1.0  # still after the rep, before the demonstration loops
_SEED: Final = 15


@dataclass(frozen=True)
class DemoFrame:
    """The figure at one moment of the rep.

    ``points`` are (x forward, y up) in metres, in :data:`JOINTS` order; ``angles_deg``
    the model's clinical angles relative to the start position (deg; ``lumbar_flexion_deg``
    flexion positive, ``pelvic_tilt_deg`` anterior positive); ``breath_volume`` the lung
    volume (0 end of a breath out, 1 end of a breath in).
    """

    time_s: float
    points: tuple[tuple[float, float], ...]
    phase: str
    cue: str
    breath: str
    breath_volume: float
    angles_deg: dict[str, float]


@dataclass(frozen=True)
class Demo:
    """One rep of ``technique`` in ``position``, frame by frame (see the module docstring).

    ``key_frames`` index the frames that show the movement as still pictures (the start,
    each end of the movement), ``key_captions`` say each in the catalogue's words (how to
    get ready, then the cue that leads into that pose); ``props`` the floor, mat or seat
    to draw (m).
    """

    technique: str
    position: str
    frame_rate_hz: float
    joints: tuple[str, ...]
    frames: tuple[DemoFrame, ...]
    key_frames: tuple[int, ...]
    key_captions: tuple[str, ...]
    props: dict[str, tuple[float, float, float, float]]
    head_radius_m: float = HEAD_RADIUS_M

    @property
    def duration_s(self) -> float:
        return self.frames[-1].time_s


def technique_demo(
    technique: str, *, position: str | None = None, frame_rate_hz: float = 10.0
) -> Demo:
    """One rep of ``technique`` (one of ``conventions.TECHNIQUES``) as figure keyframes.

    ``position`` is a start position the technique may be done in (``None``: its usual
    one; flexion-extension also ``"seated"``); ``frame_rate_hz`` (Hz, 2–50) the frames
    per second. The same arguments always give the same frames.

    >>> demo = technique_demo("flexion-extension", position="seated", frame_rate_hz=5.0)
    >>> demo.position, demo.frames[0].phase, demo.frames[0].time_s
    ('seated', 'rest', 0.0)
    """
    if not isinstance(technique, str) or technique not in TECHNIQUES:
        raise ConfigurationError(
            f"unknown technique {technique!r} for a demonstration; use one of "
            f"{', '.join(TECHNIQUES)}"
        )
    allowed = TECHNIQUE_ALLOWED_POSITIONS[technique]
    position = allowed[0] if position is None else position
    if position not in allowed:
        raise ConfigurationError(
            f"position {position!r} is not a start position of {technique}; use one of "
            f"{', '.join(allowed)}"
        )
    if (
        isinstance(frame_rate_hz, bool)
        or not isinstance(frame_rate_hz, int | float)
        or not 2.0 <= frame_rate_hz <= 50.0
    ):
        raise ConfigurationError(
            f"frame_rate_hz must be a number of frames per second from 2 to 50, "
            f"got {frame_rate_hz!r}"
        )
    plan = _one_rep_plan(technique, position)
    body = synthesize_body(plan, float(frame_rate_hz))
    truth = truth_series(body, position=position, neutral_window=(0.0, _SETTLE_S - 0.5))
    points = _figure_points(body, position)
    spec = default_catalogue().technique(technique)
    phases = _phases(plan, body.time_s, spec)
    if position != spec.position:  # the rest cue names the usual position ("Stand tall")
        phases = [(phase, "" if phase == "rest" else cue) for phase, cue in phases]
    breath = _breath_directions(body.breath_volume_norm)
    frames = tuple(
        DemoFrame(
            time_s=round(float(t), 3),
            points=tuple((round(float(x), 4), round(float(y), 4)) for x, y in points[i]),
            phase=phases[i][0],
            cue=phases[i][1],
            breath=breath[i],
            breath_volume=round(float(body.breath_volume_norm[i]), 3),
            angles_deg={
                PELVIC_TILT_DEG: round(float(truth[PELVIC_TILT_DEG][i]), 2),
                LUMBAR_FLEXION: round(float(truth[LUMBAR_FLEXION][i]), 2),
            },
        )
        for i, t in enumerate(body.time_s)
    )
    main = np.array([f.angles_deg[spec.main_signal] for f in frames]) * spec.direction
    key_frames = _key_frames(main)
    return Demo(
        technique=technique,
        position=position,
        frame_rate_hz=float(frame_rate_hz),
        joints=JOINTS,
        frames=frames,
        key_frames=key_frames,
        key_captions=_key_captions(spec, frames, key_frames, usual=position == spec.position),
        props=_props(position, points[0]),
    )


def _one_rep_plan(technique: str, position: str) -> MotionPlan:
    """The simulator's timeline of one clean rep from a still start, no sway.

    The hip-hinge's builder leaves the breath quiet; the demonstration breathes as the
    catalogue says (in while folding forward, out while pressing up): the same rep is
    planned again with that paced breath (the same seed gives the same moves).
    """
    plan = _plan(technique, position, None)
    if technique != HIP_HINGE:
        return plan
    rep = next(e for e in plan.events if e.kind == EVENT_REP)
    hold = next(e for e in plan.events if e.kind == EVENT_HOLD)
    turn_s = 0.5 * (hold.start_s + hold.end_s)  # the breath turns in the pause
    return _plan(technique, position, (rep.start_s, turn_s - rep.start_s, rep.end_s - turn_s))


def _plan(technique: str, position: str, breath: tuple[float, float, float] | None) -> MotionPlan:
    """One rep's plan; ``breath``: a paced (start, inhale, exhale) in s."""
    rng = np.random.default_rng(_SEED)
    perf = Performer(rng, DEMO_PROFILE)
    perf.clean = True
    neutral = replace(NEUTRAL_POSES[position], sway=0.0)
    tl = Timeline(neutral)
    tl.hold(_SETTLE_S)
    set_builder(technique, position)(tl, perf, neutral, 1)
    tl.hold(_AFTER_S)
    if breath is not None:
        tl.paced_breath(*breath)
    return tl.finish(rng, heading_deg=0.0)


def _sagittal(vectors: FloatArray) -> FloatArray:
    """Earth (north, west, up) → (forward, up) at heading 0."""
    out: FloatArray = vectors[..., [0, 2]]
    return out


def _segment_points(rotation: FloatArray, origin: FloatArray, x: float, y: float) -> FloatArray:
    return origin + _sagittal(quat.rotate(rotation, np.array([x, y, 0.0])))


def _figure_points(body: BodyMotion, position: str) -> FloatArray:
    """(frames, len(JOINTS), 2) points of the figure (m)."""
    hip_track = _sagittal(body.hip_m)
    hip = _start_hip(position) + hip_track - hip_track[0]
    p: dict[str, FloatArray] = {"hip": hip}
    for name, (x, y) in _PELVIS_POINTS.items():
        p[name] = _segment_points(body.pelvis, hip, x, y)
    p["t12"] = _segment_points(body.upper, p["l5s1"], 0.0, LUMBAR_M)
    p["belly"] = _segment_points(body.upper, p["l5s1"], 0.08, 0.5 * LUMBAR_M)
    p["neck"] = _segment_points(body.thorax, p["t12"], -0.02, THORAX_M)
    p["shoulder"] = _segment_points(body.thorax, p["t12"], 0.02, SHOULDER_M)
    p["head"] = _segment_points(body.thorax, p["neck"], 0.05, 0.13)
    _place_legs(p, position)
    _place_arms(p, position)
    return np.stack([p[name] for name in JOINTS], axis=1)


def _start_hip(position: str) -> FloatArray:
    """The hip centre (m) in the start position, where the legs fit it."""
    height = {
        "standing": ANKLE_M + 0.98 * (THIGH_M + SHANK_M),  # knees soft
        "seated": ANKLE_M + SHANK_M,  # thighs level, shins upright
        "supine": 0.10,
        "quadruped": KNEE_PAD_M + THIGH_M,  # knees under the hips
    }[position]
    return np.array([0.0, height])


def _two_link(
    root: FloatArray, end: FloatArray, first_m: float, second_m: float, bend: tuple[float, float]
) -> tuple[FloatArray, FloatArray]:
    """(middle joint, end point) of a chain from ``root`` to ``end`` (n, 2) whose middle
    joint bends toward ``bend``; out of reach, the chain is straight toward ``end``."""
    span = end - root
    length = np.linalg.norm(span, axis=1)
    unit = span / np.maximum(length, 1e-9)[:, None]
    reach = first_m + second_m
    d = np.clip(length, abs(first_m - second_m) + 1e-6, reach - 1e-6)
    along = (first_m**2 - second_m**2 + d**2) / (2.0 * d)
    across = np.sqrt(np.maximum(first_m**2 - along**2, 0.0))
    normal = np.column_stack([-unit[:, 1], unit[:, 0]])
    sign = np.where(normal @ np.array(bend) >= 0.0, 1.0, -1.0)
    middle = root + unit * along[:, None] + normal * (sign * across)[:, None]
    tip = np.where((length > reach)[:, None], root + unit * reach, end)
    return middle, tip


def _place_legs(p: dict[str, FloatArray], position: str) -> None:
    hip = p["hip"]
    n = hip.shape[0]
    start = hip[0]
    if position == "quadruped":  # knees on the mat under the hips, shins flat behind
        p["knee"] = np.tile([start[0], KNEE_PAD_M], (n, 1))
        p["ankle"] = np.tile([start[0] - SHANK_M, ANKLE_M], (n, 1))
        p["toe"] = np.tile([start[0] - SHANK_M - 0.12, 0.01], (n, 1))
        return
    ankle_x = {"standing": 0.03, "seated": THIGH_M + 0.04, "supine": 0.55}[position]
    ankle = np.tile([start[0] + ankle_x, ANKLE_M], (n, 1))
    bend = (0.0, 1.0) if position == "supine" else (1.0, 0.0)
    p["knee"], p["ankle"] = _two_link(hip, ankle, THIGH_M, SHANK_M, bend)
    p["toe"] = p["ankle"] + np.array([0.16, 0.01 - ANKLE_M])


def _place_arms(p: dict[str, FloatArray], position: str) -> None:
    shoulder = p["shoulder"]
    n = shoulder.shape[0]
    arm = UPPER_ARM_M + FOREARM_M
    if position == "standing":  # the arms hang
        p["elbow"] = shoulder + np.array([0.0, -UPPER_ARM_M])
        p["wrist"] = p["elbow"] + np.array([0.04, -math.sqrt(FOREARM_M**2 - 0.04**2)])
        return
    s0, hip0 = shoulder[0], p["hip"][0]
    if position == "quadruped":  # hands on the floor, just ahead of the shoulders
        drop = s0[1] - 0.03
        ahead = math.sqrt(max((0.97 * arm) ** 2 - drop**2, 0.0))
        contact = np.array([s0[0] + ahead, 0.03])
        bend = (-1.0, 0.0)
    elif position == "supine":  # resting on the mat by the sides
        toward = (hip0 - s0) / np.linalg.norm(hip0 - s0)
        contact = s0 + 0.97 * arm * toward
        bend = (0.0, 1.0)
    else:  # seated: hands resting on the thighs
        contact = hip0 + np.array([0.6 * THIGH_M, 0.07])
        bend = (-1.0, 0.0)
    p["elbow"], p["wrist"] = _two_link(
        shoulder, np.tile(contact, (n, 1)), UPPER_ARM_M, FOREARM_M, bend
    )


def _props(position: str, start: FloatArray) -> dict[str, tuple[float, float, float, float]]:
    """What the figure rests on, as (x0, y0, x1, y1) in metres: the floor (a line), the
    mat (lying, on hands and knees) and the seat (a box, its top at y1)."""
    xs = start[:, 0]
    props = {"floor": (float(xs.min()) - 0.3, 0.0, float(xs.max()) + 0.3, 0.0)}
    if position in ("supine", "quadruped"):
        props["mat"] = (float(xs.min()) - 0.15, 0.0, float(xs.max()) + 0.15, 0.015)
    if position == "seated":
        hip = start[JOINTS.index("hip")]
        props["seat"] = (float(hip[0]) - 0.2, 0.0, float(hip[0]) + 0.3, float(hip[1]) - 0.07)
    return {k: tuple(round(v, 3) for v in box) for k, box in props.items()}  # type: ignore[misc]


def _breath_directions(volume: FloatArray) -> list[str]:
    """``"in"`` while the lung volume rises, ``"out"`` while it falls, else ``"still"``."""
    change = np.gradient(volume)
    return ["in" if c > 0.002 else "out" if c < -0.002 else "still" for c in change]


def _phases(plan: MotionPlan, time_s: FloatArray, spec: Technique) -> list[tuple[str, str]]:
    """(phase, cue) of each frame: the breath pacer for cat-cow, else the hold events
    and whether the keyframes move toward or back from the start pose."""
    events = plan.events
    holds = [e for e in events if e.kind == EVENT_HOLD]
    breaths = [e for e in events if e.kind in (EVENT_BREATH_INHALE, EVENT_BREATH_EXHALE)]
    keys_t, keys = plan.key_time_s, plan.key_values
    neutral = keys[0]
    breath_led = spec.name in (CAT_COW, CAT_COW_SEATED)
    out = []
    for t in time_s:
        phase = "rest"
        hold = next((e for e in holds if e.start_s <= t < e.end_s), None)
        breath = next((e for e in breaths if e.start_s <= t < e.end_s), None)
        if breath_led and breath is not None:
            phase = "inhale" if breath.kind == EVENT_BREATH_INHALE else "exhale"
        elif hold is not None:
            phase = "extension_hold" if hold.label == "extension" else "hold"
        else:
            k = int(np.searchsorted(keys_t, t, side="right")) - 1
            if 0 <= k < len(keys_t) - 1 and not np.allclose(keys[k], keys[k + 1]):
                phase = _move_phase(spec, neutral, keys[k], keys[k + 1])
        out.append((phase, _cue(spec, phase, _seconds_left(spec, phase, hold, float(t)))))
    return out


def _seconds_left(spec: Technique, phase: str, hold: PlannedEvent | None, t: float) -> int:
    """Whole seconds of the prescribed hold still to go (the cue's countdown)."""
    if hold is None:
        return 0
    dose = spec.dose
    prescribed = dose.extension_hold_s if phase == "extension_hold" else dose.hold_s
    left = math.ceil(hold.end_s - t - 1e-9)
    return max(1, min(left, math.ceil(prescribed or left)))


def _move_phase(spec: Technique, neutral: FloatArray, start: FloatArray, end: FloatArray) -> str:
    lumbar = 1  # POSE_CHANNELS: pelvis_deg, lumbar_deg, ...
    if spec.name in (CAT_COW, CAT_COW_SEATED) and not np.allclose(end, neutral):
        return "exhale" if end[lumbar] > neutral[lumbar] else "inhale"  # into cat, cow
    if np.allclose(end, neutral):
        return "release"
    if spec.name == FLEXION_EXTENSION and end[lumbar] < neutral[lumbar]:
        return "extend"
    return "start"


def _cue(spec: Technique, phase: str, seconds_left: int | None) -> str:
    """The catalogue's cue of ``phase`` (a countdown cue with the seconds left)."""
    if phase not in spec.cues:
        return ""
    text = spec.cues[phase]
    return text.format(seconds=seconds_left or 0) if "{seconds" in text else text


def _key_captions(
    spec: Technique, frames: tuple[DemoFrame, ...], key_frames: tuple[int, ...], *, usual: bool
) -> tuple[str, ...]:
    """Words for each still picture: the start says how to get ready (in the technique's
    usual position; else nothing), a later one the cue of the movement into it (half a
    second before the pose is reached)."""
    captions = []
    step = round(0.5 / (frames[1].time_s - frames[0].time_s))
    for index in key_frames:
        if index == 0:
            captions.append(spec.cues["get_ready"] if usual else "")
            continue
        before = frames[: max(1, index - step) + 1]
        moving = [f.cue for f in before if f.cue and "hold" not in f.phase]
        captions.append(moving[-1] if moving else frames[index].cue)
    return tuple(captions)


def _key_frames(main: FloatArray) -> tuple[int, ...]:
    """The start and each end of the movement (largest and, when it goes both ways by
    over 3°, smallest main signal in the working direction), in time order."""
    picks = {0, int(np.argmax(main))}
    if main.min() < -3.0:
        picks.add(int(np.argmin(main)))
    return tuple(sorted(picks))
