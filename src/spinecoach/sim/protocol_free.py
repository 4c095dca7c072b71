"""Protocol-free sessions: the plan of a session without our calibration protocol.

What real people did in recordings of other labs (see :mod:`spinecoach.sim.scenarios`):
they start in position, move after about a second, do their reps back to back, then
lateral bends and rotations. :func:`protocol_free_session` appends such a session to a
:class:`~spinecoach.sim.timeline.Timeline` that starts in the position's neutral pose.

Design choices
    * Rep ranges are the coached ones (:mod:`spinecoach.sim.techniques`, scaled by the
      profile), so "what is a rep" does not change with the scenario; only timing does.
    * A rep's duration ``D`` (holds included) is drawn in ``rep_duration_s``: with the
      profile's ``tempo_scale`` t, ``D = low + (high − low)·u^(1/t)`` (u uniform), so a
      quick profile (t < 1) is skewed toward short reps and every rep stays in range.
    * Holds are made only where the technique prescribes one (pelvic tilt 3 s,
      flexion-extension 5 s in flexion and 3 s in extension); hip hinge and cat-cow have
      none.
    * Flexion-extension goes neutral → flexion → extension → neutral without stopping at
      neutral in between (continuous); pelvic tilt and hip hinge go out and back.
      Cat-cow is one breath cycle per rep (inhale 40–50 % of ``D``, cow on the inhale,
      cat on the exhale), the movement lagging the breath by the profile's lag, at most
      0.3 s; no pacer is logged (there is no coach).
    * No compensation faults are injected. Faults whose criterion the timing meets are
      still truth: ``short-hold`` whenever a prescribed hold is shorter than prescribed
      (pelvic tilt 3 s, flexion-extension 5 s / 3 s), ``too-fast`` (flexion-extension,
      a movement phase under 1 s) and ``return-too-fast`` (pelvic tilt, return under 1 s).
    * Distractors (truth ``distractor`` events, label ``lateral-bend-left|right`` or
      ``axial-rotation-left|right``) move the lumbar joint: lateral bend β (right
      positive) or axial rotation γ (left positive) by an amplitude drawn in the
      scenario's range (not scaled by the profile), with at most 3° (bend) or 2°
      (rotation) of coupled lumbar flexion and up to ±3° of coupled rotation (bend) or
      bend (rotation), as lumbar motion couples them. When rotating, the pelvis turns with the
      trunk by 25 % standing, not at all seated or on hands and knees, and supine the
      pelvis does the turning (knees rocking to the side, thorax on the mat). The event
      ``value`` is the signed peak of the truth ``lateral_bend_deg`` (upright) or of the
      joint lateral bend (supine, quadruped: the truth series is undefined there), or of
      ``axial_rotation_deg``.

>>> from spinecoach.sim.techniques import simulate
>>> rec = simulate("flexion-extension", seed=2, reps=3, scenario="protocol-free")
>>> [e.kind for e in rec.truth.events if e.kind in ("rep", "distractor")][:4]
['rep', 'rep', 'rep', 'distractor']
>>> sorted({e.label for e in rec.truth.events if e.kind == "distractor"})
['axial-rotation-left', 'axial-rotation-right', 'lateral-bend-left', 'lateral-bend-right']
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from spinecoach.conventions import (
    AXIAL_ROTATION,
    CAT_COW,
    CAT_COW_SEATED,
    EVENT_DISTRACTOR,
    EVENT_REST,
    FLEXION_EXTENSION,
    HIP_HINGE,
    LATERAL_BEND,
    PELVIC_TILT,
)
from spinecoach.sim.assemble import JOINT_LATERAL_BEND
from spinecoach.sim.performer import Performer, record_rep, timed_hold
from spinecoach.sim.poses import Pose
from spinecoach.sim.scenarios import Scenario
from spinecoach.sim.technique_sets import (
    CAT_COW_SHAPES,
    FLEXION_SHAPES,
    cat_cow_poses,
    flexion_poses,
)
from spinecoach.sim.timeline import Measure, Timeline

MAX_BREATH_LAG_S: Final = 0.3
"""Largest lag (s) of the movement behind the breath in a protocol-free cat-cow."""
COUPLED_DEG: Final = 3.0
"""Largest coupled rotation (deg) during a lateral bend, or bend during a rotation."""
FAST_PHASE_S: Final = 1.0
"""Movement phases shorter than this (s) meet the ``too-fast`` criteria."""
_ROTATION_PELVIS_SHARE: Final[Mapping[str, float]] = MappingProxyType(
    {"standing": 0.25, "seated": 0.0, "supine": -1.0, "quadruped": 0.0}
)
_UPRIGHT: Final = ("standing", "seated")
LATERAL = "lateral-bend"
AXIAL = "axial-rotation"


def rep_duration_s(perf: Performer, scenario: Scenario) -> float:
    """A rep's duration (s) in ``scenario.rep_duration_s``, skewed by the profile's tempo."""
    low, high = scenario.rep_duration_s
    u = float(perf.rng.random())
    return float(low + (high - low) * u ** (1.0 / perf.profile.tempo_scale))


def _holds(
    perf: Performer, scenario: Scenario, prescribed_s: tuple[float, ...], rep_s: float
) -> list[float]:
    """Hold durations (s, 0 = none) for the prescribed holds of one rep of ``rep_s``."""
    chance = scenario.hold_probability * perf.profile.hold_adherence
    holds = []
    for prescribed in prescribed_s:
        made = perf.rng.random() < chance
        fraction = perf.uniform(*scenario.hold_fraction)
        holds.append(prescribed * fraction if made else 0.0)
    total = sum(holds)
    cap = scenario.hold_share_max * rep_s
    if total > cap:
        holds = [h * cap / total for h in holds]
    return [h if h >= 0.05 else 0.0 for h in holds]


def _phases(perf: Performer, move_s: float, shares: tuple[float, ...]) -> list[float]:
    """``move_s`` split into phases with these nominal shares (each ±10 %)."""
    jittered = [share * (1.0 + perf.uniform(-0.1, 0.1)) for share in shares]
    total = sum(jittered)
    return [move_s * share / total for share in jittered]


def _hold_if(tl: Timeline, seconds: float, label: str) -> None:
    if seconds > 0.0:
        timed_hold(tl, seconds, label)


def _flexion_extension_rep(
    tl: Timeline, perf: Performer, neutral: Pose, scenario: Scenario, position: str
) -> None:
    shape = FLEXION_SHAPES[position]
    flexion = max(shape.flexion_deg * perf.vary(), shape.flexion_min_deg)
    extension = max(shape.extension_deg * perf.vary(), shape.extension_min_deg)
    bend, arch = flexion_poses(perf, neutral, shape, flexion, extension)
    rep_s = rep_duration_s(perf, scenario)
    hold_flexion, hold_extension = _holds(perf, scenario, (5.0, 3.0), rep_s)
    phases = _phases(perf, rep_s - hold_flexion - hold_extension, (0.35, 0.4, 0.25))
    start = tl.now
    tl.move(phases[0], bend)
    _hold_if(tl, hold_flexion, "flexion")
    tl.move(phases[1], arch)
    _hold_if(tl, hold_extension, "extension")
    tl.move(phases[2], neutral)
    faults = ["short-hold"]  # a rep of at most a few seconds never holds 5 s and 3 s
    if min(phases) < FAST_PHASE_S:
        faults.append("too-fast")
    record_rep(tl, FLEXION_EXTENSION, start, faults)


def _pelvic_tilt_rep(tl: Timeline, perf: Performer, neutral: Pose, scenario: Scenario) -> None:
    tilt = max(11.5 * perf.vary(), 6.0)
    # Thorax on the mat: the upper segment follows 10 % of the tilt.
    target = neutral.moved(pelvis_deg=-tilt, lumbar_deg=0.9 * tilt, **perf.wobble())
    rep_s = rep_duration_s(perf, scenario)
    (hold,) = _holds(perf, scenario, (3.0,), rep_s)
    tilt_s, return_s = _phases(perf, rep_s - hold, (0.45, 0.55))
    start = tl.now
    tl.move(tilt_s, target)
    _hold_if(tl, hold, "posterior-tilt")
    tl.move(return_s, neutral)
    faults = ["short-hold" if hold < 3.0 else "", "return-too-fast" if return_s < 1.0 else ""]
    record_rep(tl, PELVIC_TILT, start, faults)


def _hip_hinge_rep(tl: Timeline, perf: Performer, neutral: Pose, scenario: Scenario) -> None:
    hinge = max(32.5 * perf.vary(), 18.0)
    lumbar = perf.uniform(-4.0, 4.0)  # spine kept long: well under 10°
    target = neutral.moved(pelvis_deg=hinge, lumbar_deg=lumbar, **perf.wobble())
    rep_s = rep_duration_s(perf, scenario)
    out_s, back_s = _phases(perf, rep_s, (0.45, 0.55))  # no hold is prescribed
    start = tl.now
    tl.move(out_s, target)
    tl.move(back_s, neutral)
    record_rep(tl, HIP_HINGE, start, [])


def _pause(tl: Timeline, perf: Performer, scenario: Scenario) -> float:
    seconds = perf.uniform(*scenario.rep_pause_s)
    if seconds > 0.0:
        tl.hold(seconds)
    return seconds


def _cat_cow_set(
    tl: Timeline, perf: Performer, neutral: Pose, scenario: Scenario, technique: str, reps: int
) -> None:
    cow_deg, cat_deg, pelvis_deg, least_range, _ = CAT_COW_SHAPES[technique]
    shortest_inhale = 0.4 * scenario.rep_duration_s[0]
    lag = min(perf.profile.breath_lag_s, MAX_BREATH_LAG_S, 0.5 * shortest_inhale)
    breath_start = tl.now - lag  # the breath leads the movement
    for index in range(reps):
        rep_s = rep_duration_s(perf, scenario)
        inhale = rep_s * perf.uniform(0.4, 0.5)
        scale = max(perf.vary(), least_range / (cow_deg + cat_deg))
        cow, cat = cat_cow_poses(perf, neutral, scale, cow_deg, cat_deg, pelvis_deg)
        start = tl.now
        tl.paced_breath(breath_start, inhale, rep_s - inhale)
        tl.move_until(breath_start + inhale + lag, cow)
        tl.move_until(breath_start + rep_s + lag, cat)
        record_rep(tl, technique, start, [])
        breath_start += rep_s
        if index < reps - 1:
            breath_start += _pause(tl, perf, scenario)
    tl.move(perf.uniform(0.8, 1.5), neutral)


def _continuous_set(
    tl: Timeline,
    perf: Performer,
    neutral: Pose,
    scenario: Scenario,
    technique: str,
    position: str,
    reps: int,
) -> None:
    if technique in (CAT_COW, CAT_COW_SEATED):
        _cat_cow_set(tl, perf, neutral, scenario, technique, reps)
        return
    for index in range(reps):
        if technique == FLEXION_EXTENSION:
            _flexion_extension_rep(tl, perf, neutral, scenario, position)
        elif technique == PELVIC_TILT:
            _pelvic_tilt_rep(tl, perf, neutral, scenario)
        else:
            _hip_hinge_rep(tl, perf, neutral, scenario)
        if index < reps - 1:
            _pause(tl, perf, scenario)


def _distractor(
    tl: Timeline,
    perf: Performer,
    neutral: Pose,
    scenario: Scenario,
    position: str,
    kind: str,
    side: str,
) -> None:
    """One lateral bend or axial rotation to ``side`` and back to ``neutral``."""
    duration = perf.uniform(*scenario.distractor_duration_s)
    hold_share = perf.uniform(0.0, 0.2)
    out_s, back_s = _phases(perf, duration * (1.0 - hold_share), (0.5, 0.5))
    measure: tuple[str, Measure]
    if kind == LATERAL:
        amplitude = perf.uniform(*scenario.lateral_bend_deg) * (1.0 if side == "right" else -1.0)
        target = neutral.moved(
            lumbar_lateral_deg=amplitude,
            lumbar_deg=perf.uniform(0.0, 3.0),
            lumbar_axial_deg=perf.uniform(-COUPLED_DEG, COUPLED_DEG),  # coupled motion
        )
        series = LATERAL_BEND if position in _UPRIGHT else JOINT_LATERAL_BEND
        measure = (series, "peak")
    else:
        amplitude = perf.uniform(*scenario.axial_rotation_deg) * (1.0 if side == "left" else -1.0)
        target = neutral.moved(
            lumbar_axial_deg=amplitude,
            pelvis_axial_deg=_ROTATION_PELVIS_SHARE[position] * amplitude,
            lumbar_deg=perf.uniform(0.0, 2.0),
            lumbar_lateral_deg=perf.uniform(-COUPLED_DEG, COUPLED_DEG),  # coupled motion
        )
        measure = (AXIAL_ROTATION, "peak")
    start = tl.now
    tl.move(out_s, target)
    if hold_share * duration >= 0.05:
        tl.hold(hold_share * duration)
    tl.move(back_s, neutral)
    tl.event(EVENT_DISTRACTOR, start, tl.now, label=f"{kind}-{side}", measure=measure)


def _sides(perf: Performer, count: int) -> list[str]:
    first = "left" if perf.rng.random() < 0.5 else "right"
    other = "right" if first == "left" else "left"
    return [first, other] * count


def _between_distractors(tl: Timeline, perf: Performer) -> None:
    seconds = perf.uniform(0.0, 0.4)
    if seconds >= 0.05:
        tl.hold(seconds)


def _distractor_pair(
    tl: Timeline, perf: Performer, neutral: Pose, scenario: Scenario, position: str
) -> None:
    """A bend or a rotation to each side (before a set or after a rest)."""
    kind = LATERAL if perf.rng.random() < 0.5 else AXIAL
    for side in _sides(perf, 1):
        _distractor(tl, perf, neutral, scenario, position, kind, side)
        _between_distractors(tl, perf)
    tl.hold(perf.uniform(0.3, 1.0))


def _distractor_bout(
    tl: Timeline, perf: Performer, neutral: Pose, scenario: Scenario, position: str
) -> None:
    """Lateral bends to both sides, then axial rotations to both sides."""
    low, high = scenario.distractor_repeats
    for kind in (LATERAL, AXIAL):
        for side in _sides(perf, int(perf.rng.integers(low, high + 1))):
            _distractor(tl, perf, neutral, scenario, position, kind, side)
            _between_distractors(tl, perf)


def protocol_free_session(
    tl: Timeline,
    perf: Performer,
    scenario: Scenario,
    *,
    technique: str,
    position: str,
    reps: int,
    sets: int,
) -> tuple[float, float]:
    """Append a protocol-free session to ``tl`` (starting in the neutral pose of
    ``position``); returns the still start window (s) the truth angles are relative to.
    """
    neutral = tl.pose
    tl.hold(perf.uniform(*scenario.start_still_s))
    window = (0.0, tl.now)
    if perf.rng.random() < scenario.distractors_before_probability:
        _distractor_pair(tl, perf, neutral, scenario, position)
    for set_index in range(sets):
        if set_index:
            start = tl.now
            tl.hold(perf.uniform(*scenario.set_rest_s))
            tl.event(EVENT_REST, start, tl.now)
            if perf.rng.random() < scenario.distractors_between_probability:
                _distractor_pair(tl, perf, neutral, scenario, position)
        _continuous_set(tl, perf, neutral, scenario, technique, position, reps)
    if scenario.distractors_after:
        tl.hold(perf.uniform(0.3, 1.2))
        _distractor_bout(tl, perf, neutral, scenario, position)
    tl.hold(perf.uniform(*scenario.end_still_s))
    return window
