"""One set of each technique, as the simulated performer does it (:func:`technique_set`).

A set appends its reps to a :class:`~spinecoach.sim.timeline.Timeline` with the truth
events (``rep``, ``hold``, ``fault``) and, for cat-cow, the breath pacer annotations.
Ranges are the typical adult values of :mod:`spinecoach.sim.techniques`, scaled by the
performer (:class:`~spinecoach.sim.performer.Performer`). The protocol-free sessions
(:mod:`spinecoach.sim.protocol_free`) reuse the rep shapes (:data:`CAT_COW_SHAPES`,
:data:`FLEXION_SHAPES`, :func:`flexion_poses`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Final

from spinecoach.conventions import (
    CAT_COW,
    CAT_COW_SEATED,
    EVENT_BREATH_EXHALE,
    EVENT_BREATH_INHALE,
    FLEXION_EXTENSION,
    HIP_HINGE,
    PELVIC_TILT,
)
from spinecoach.sim.performer import Performer, record_rep, timed_hold
from spinecoach.sim.poses import Pose
from spinecoach.sim.timeline import Timeline


def _pelvic_tilt_set(tl: Timeline, perf: Performer, neutral: Pose, reps: int) -> None:
    breath_free_s = tl.now - 1.5  # a set always follows at least 1.5 s of stillness
    for _ in range(reps):
        fault = perf.fault(PELVIC_TILT)
        tilt = max(11.5 * perf.vary(), 6.0)
        if fault == "small-tilt":
            tilt = perf.uniform(2.5, 4.0)
        extra_pelvis = extra_upper = lift = 0.0
        if fault == "trunk-compensation":  # shoulders curl up: upper moves ≥ 6.5°
            extra_upper = perf.uniform(6.5, 9.0) + 0.1 * tilt
        if fault == "bridging":
            lift = perf.uniform(0.06, 0.10)
            extra_pelvis = perf.uniform(5.0, 10.0)
        # Thorax on the mat: the upper segment follows 10 % of the tilt.
        target = neutral.moved(
            pelvis_deg=-tilt - extra_pelvis,
            lumbar_deg=0.9 * tilt + extra_pelvis + extra_upper,
            hip_height_m=lift,
            **perf.wobble(),
        )
        start = tl.now
        tilt_s = perf.duration(1.75)
        # Breathe in during the pause, breathe out while tilting.
        inhale_s = min(perf.uniform(1.5, 2.0), start - breath_free_s)
        tl.paced_breath(start - inhale_s, inhale_s, tilt_s)
        tl.move(tilt_s, target)
        breath_free_s = tl.now
        hold_s, full = perf.hold(3.0)
        timed_hold(tl, hold_s, "posterior-tilt")
        fast = fault == "return-too-fast"
        tl.move(perf.uniform(0.45, 0.8) if fast else max(1.5, perf.duration(2.5)), neutral)
        record_rep(tl, PELVIC_TILT, start, [fault, "" if full else "short-hold"])
        perf.pause(tl, 2.5)


# (cow lumbar, cat lumbar, pelvis, least non-fault range, small-range fault range) in deg
CAT_COW_SHAPES: Final = {
    CAT_COW: (15.0, 16.0, 8.0, 18.0, (8.0, 12.5)),
    CAT_COW_SEATED: (10.0, 10.0, 7.0, 10.0, (4.0, 6.5)),
}
_BREATH_LAG_FAULT_S: Final = 1.0


def cat_cow_poses(
    perf: Performer,
    neutral: Pose,
    scale: float,
    cow_deg: float,
    cat_deg: float,
    pelvis_deg: float,
) -> tuple[Pose, Pose]:
    """The cow (arched) and cat (rounded) poses of one breath cycle from ``neutral``: the
    shape's lumbar, pelvis (deg) and half as much thoracic movement times ``scale``, each
    with the performer's small wobble (drawn cow first)."""
    cow = neutral.moved(
        pelvis_deg=pelvis_deg * scale,
        lumbar_deg=-cow_deg * scale,
        thoracic_deg=-0.5 * cow_deg * scale,
        **perf.wobble(),
    )
    cat = neutral.moved(
        pelvis_deg=-pelvis_deg * scale,
        lumbar_deg=cat_deg * scale,
        thoracic_deg=0.5 * cat_deg * scale,
        **perf.wobble(),
    )
    return cow, cat


def _cat_cow_set(tl: Timeline, perf: Performer, neutral: Pose, reps: int, technique: str) -> None:
    cow_deg, cat_deg, pelvis_deg, least_range, small_range = CAT_COW_SHAPES[technique]
    profile = perf.profile
    v = 0.5 * profile.variability
    breath_start = tl.now
    tl.hold(profile.breath_lag_s)
    for _ in range(reps):
        fault = perf.fault(technique)
        inhale = profile.breath_inhale_s * (1.0 + perf.uniform(-v, v))
        exhale = profile.breath_exhale_s * (1.0 + perf.uniform(-v, v))
        max_lag = 0.5 * min(inhale, exhale)  # keeps the keyframes in time order
        # The profile's own lag stays clearly (≥ 10 %) on one side of the 1 s criterion.
        lag = min(profile.breath_lag_s * (1.0 + perf.uniform(-v, v)), max_lag)
        if profile.breath_lag_s <= _BREATH_LAG_FAULT_S:
            lag = min(lag, 0.9 * _BREATH_LAG_FAULT_S)
        elif max_lag >= 1.1 * _BREATH_LAG_FAULT_S:
            lag = max(lag, 1.1 * _BREATH_LAG_FAULT_S)
        inverted = False
        if fault == "breath-out-of-phase":
            late = min(perf.uniform(1.2, 1.8), max_lag)
            if late > _BREATH_LAG_FAULT_S + 0.1 and perf.rng.random() < 0.5:
                lag = late
            else:
                inverted = True  # cat on the inhale, cow on the exhale
        if fault == "small-range":
            scale = perf.uniform(*small_range) / (cow_deg + cat_deg)
        else:
            scale = max(perf.vary(), least_range / (cow_deg + cat_deg))
        jerk = perf.uniform(1.5, 3.0) if fault == "jerky" else 0.0
        cow, cat = cat_cow_poses(perf, neutral, scale, cow_deg, cat_deg, pelvis_deg)
        first, second = (cat, cow) if inverted else (cow, cat)
        start = tl.now
        tl.paced_breath(breath_start, inhale, exhale)
        # The pacer the person follows, as the coach logs it (annotations).
        tl.event(EVENT_BREATH_INHALE, breath_start, breath_start + inhale, annotate=True)
        tl.event(
            EVENT_BREATH_EXHALE,
            breath_start + inhale,
            breath_start + inhale + exhale,
            annotate=True,
        )
        # The jerk envelope rises to its peak mid-cycle and is back to 0 at the cycle end.
        tl.move_until(breath_start + inhale + lag, replace(first, jerk_deg=jerk))
        tl.move_until(breath_start + inhale + exhale + lag, replace(second, jerk_deg=0.0))
        faults = [fault]
        if lag > _BREATH_LAG_FAULT_S and fault != "breath-out-of-phase":
            faults.append("breath-out-of-phase")  # the profile itself lags too much
        record_rep(tl, technique, start, faults)
        breath_start += inhale + exhale
    tl.move(perf.duration(2.0), neutral)


def _hip_hinge_set(tl: Timeline, perf: Performer, neutral: Pose, reps: int) -> None:
    for _ in range(reps):
        fault = perf.fault(HIP_HINGE)
        hinge = max(32.5 * perf.vary(), 18.0)
        lumbar = perf.uniform(-4.0, 4.0)  # spine kept long: well under 10°
        if fault == "shallow-hinge":
            hinge = perf.uniform(7.0, 12.0)
        if fault == "lumbar-rounding":
            lumbar = perf.uniform(15.0, 25.0)
        target = neutral.moved(pelvis_deg=hinge, lumbar_deg=lumbar, **perf.wobble())
        start = tl.now
        tl.move(perf.duration(1.75), target)
        timed_hold(tl, perf.duration(1.0 * perf.hold_scale), "hinge")
        end = neutral
        if fault == "incomplete-return":
            end = neutral.moved(pelvis_deg=perf.uniform(6.5, 10.0), lumbar_deg=perf.uniform(0, 2))
        tl.move(perf.duration(1.75), end)
        record_rep(tl, HIP_HINGE, start, [fault])
        perf.pause(tl, 1.2)
        if end != neutral:
            tl.move(perf.duration(1.5), neutral)


@dataclass(frozen=True)
class FlexionShape:
    """Flexion-extension in one start position (deg, m; ranges before the profile)."""

    flexion_deg: float
    flexion_min_deg: float  # ≥ 20 % above the small-range criterion (25°)
    extension_deg: float
    extension_min_deg: float
    pelvis_per_flexion: float  # lumbo-pelvic rhythm
    thoracic_per_flexion: float
    hip_forward_m_per_60_deg: float  # hips shift back when standing
    extension_pelvis_deg: float  # × the range factor
    thoracic_per_extension: float
    extension_hip_forward_m: float


FLEXION_SHAPES: Final[Mapping[str, FlexionShape]] = MappingProxyType(
    {
        # Standing: lumbar 45–60° flexion, 15–25° extension (DESIGN.md); the pelvis
        # rotates half as far as the lumbar spine and tilts back in extension.
        "standing": FlexionShape(52.5, 30.0, 20.0, 8.0, 0.5, 0.3, -0.08, -5.0, -0.2, 0.02),
        # Seated (trunk flexion on a chair): a little less lumbar range, the pelvis rolls
        # forward on the seat less, extension is small and rolls the pelvis forward.
        "seated": FlexionShape(45.0, 30.0, 12.0, 6.0, 0.4, 0.3, 0.0, 4.0, -0.2, 0.0),
    }
)
"""Flexion-extension shape per start position (``position`` of :func:`simulate`)."""


def flexion_extension_set(
    tl: Timeline,
    perf: Performer,
    neutral: Pose,
    reps: int,
    shape: FlexionShape = FLEXION_SHAPES["standing"],
) -> None:
    for _ in range(reps):
        fault = perf.fault(FLEXION_EXTENSION)
        flexion = max(shape.flexion_deg * perf.vary(), shape.flexion_min_deg)
        extension = max(shape.extension_deg * perf.vary(), shape.extension_min_deg)
        if fault == "small-range":
            flexion, extension = perf.uniform(12.0, 21.0), perf.uniform(4.0, 7.0)

        too_fast = fault == "too-fast"

        def phase_s(nominal: float, too_fast: bool = too_fast) -> float:
            return perf.uniform(0.5, 0.85) if too_fast else max(1.5, perf.duration(nominal))

        bend, arch = flexion_poses(perf, neutral, shape, flexion, extension)
        start = tl.now
        tl.move(phase_s(2.75), bend)
        flex_s, flex_full = perf.hold(5.0)
        timed_hold(tl, flex_s, "flexion")
        tl.move(phase_s(2.75), neutral)
        perf.pause(tl, 1.0)
        tl.move(phase_s(2.0), arch)
        ext_s, ext_full = perf.hold(3.0)
        timed_hold(tl, ext_s, "extension")
        tl.move(phase_s(2.0), neutral)
        record_rep(
            tl, FLEXION_EXTENSION, start, [fault, "" if flex_full and ext_full else "short-hold"]
        )
        perf.pause(tl, 2.0)


def flexion_poses(
    perf: Performer, neutral: Pose, shape: FlexionShape, flexion: float, extension: float
) -> tuple[Pose, Pose]:
    """The full-flexion and full-extension poses of one rep (draws: vary, 2 × wobble)."""
    bend = neutral.moved(
        lumbar_deg=flexion,
        pelvis_deg=shape.pelvis_per_flexion * flexion,  # lumbo-pelvic rhythm
        thoracic_deg=shape.thoracic_per_flexion * flexion,
        hip_forward_m=shape.hip_forward_m_per_60_deg * flexion / 60.0,  # hips shift back
        **perf.wobble(),
    )
    arch = neutral.moved(
        lumbar_deg=-extension,
        pelvis_deg=shape.extension_pelvis_deg * perf.vary(),
        thoracic_deg=shape.thoracic_per_extension * extension,
        hip_forward_m=shape.extension_hip_forward_m,
        **perf.wobble(),
    )
    return bend, arch


SetBuilder = Callable[[Timeline, Performer, Pose, int], None]
SET_BUILDERS: Final[Mapping[str, SetBuilder]] = MappingProxyType(
    {
        PELVIC_TILT: _pelvic_tilt_set,
        CAT_COW: lambda tl, perf, pose, reps: _cat_cow_set(tl, perf, pose, reps, CAT_COW),
        CAT_COW_SEATED: lambda tl, perf, pose, reps: _cat_cow_set(
            tl, perf, pose, reps, CAT_COW_SEATED
        ),
        HIP_HINGE: _hip_hinge_set,
        FLEXION_EXTENSION: flexion_extension_set,
    }
)


def technique_set(
    tl: Timeline, performer: Performer, neutral: Pose, technique: str, reps: int
) -> None:
    """Append one set of ``reps`` reps of ``technique`` from ``neutral`` to ``tl``.

    The same set the sessions of :func:`simulate` use (truth ``rep``/``hold``/``fault``
    events, breath pacer annotations); the working-day simulator uses it for the seated
    cat-cow desk breaks.
    """
    SET_BUILDERS[technique](tl, performer, neutral, reps)
