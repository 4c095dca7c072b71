"""Simulated exercise sessions: :func:`simulate`.

Ranges are the typical adult starting values of DESIGN.md, scaled by the performer
profile (stiff ≈ ×0.5, hypermobile ≈ ×1.3):

================================================  =======================================
standing lumbar flexion (T12/L1 rel. sacrum)      45–60° flexion, 15–25° extension
                                                  (cf. Troke et al., Man Ther 2005)
lumbo-pelvic rhythm in forward bending            pelvis ≈ 0.5 × lumbar (cf. Esola et
                                                  al., Spine 1996)
supine posterior pelvic tilt                      8–15°
quadruped cat-cow, lumbar flexion to extension    25–40° in total
seated hip hinge                                  pelvis 20–45° forward, lumbar < 10°
================================================  =======================================

A coached session (``scenario="coached"``, the default) follows the coach's
calibration protocol: 4 s standing still → three slow
standing forward bends (annotation ``calibration-functional``; the flexion axis they give
is anatomical, so it carries over to any position) → 2 s still → setup into position
(truth ``setup``) → 1 s settle → 5 s neutral hold in position (annotation
``calibration-neutral``) → 2 s still → one clean, comfortable calibration rep (annotation
``calibration-rep``: it sets the personal range and is not a truth rep) → 2 s still → the
sets of reps (truth ``rep``, ``hold``,
``rest``, ``fault``) → setup back to standing → 2 s standing. A protocol-free session
(:mod:`spinecoach.sim.scenarios`, :mod:`spinecoach.sim.protocol_free`) starts in
position with no protocol and no annotation; its truth angles are relative to the still
start, whose window is ``meta["truth_neutral_window_s"]`` (JSON ``[start, end]``, s).
Flexion-extension can start standing or seated (``position``; seated: typically 45°
of lumbar flexion, at least 30°, the pelvis rolling 0.4 × as far, about 12° of
extension, hips on the seat).

Rep events carry ``label`` = technique and ``value`` = the rep's main-signal change
(deg) measured on the truth: pelvic-tilt → signed peak ``pelvic_tilt_deg`` change
(negative = posterior); cat-cow(-seated) → swing of ``lumbar_flexion_deg`` over the
breath cycle (largest difference from its value at the end of the exhale, i.e. the
cow-to-cat range); hip-hinge → signed peak ``pelvic_tilt_deg`` change;
flexion-extension → signed peak ``lumbar_flexion_deg`` change. Hold events are labelled
with the phase (``posterior-tilt``, ``hinge``, ``flexion``, ``extension``). Injected
faults (:data:`TECHNIQUE_FAULTS`) are ``fault`` events over the rep; reps without a fault
stay clearly (≥ 20 %) away from every fault's criterion, so the truth is unambiguous.

>>> rec = simulate("pelvic-tilt", seed=1, reps=2, sensor_errors=SensorErrorModel.ideal())
>>> sum(e.kind == "rep" for e in rec.truth.events)
2
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Final

import numpy as np

from spinecoach.conventions import (
    CAT_COW,
    CAT_COW_SEATED,
    EVENT_BREATH_EXHALE,
    EVENT_BREATH_INHALE,
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_CALIBRATION_REP,
    EVENT_FAULT,
    EVENT_HOLD,
    EVENT_REP,
    EVENT_REST,
    EVENT_SETUP,
    FLEXION_EXTENSION,
    HIP_HINGE,
    LUMBAR_FLEXION,
    PELVIC_TILT,
    PELVIC_TILT_DEG,
    PLACEMENTS,
    TECHNIQUES,
)
from spinecoach.errors import ConfigurationError
from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.exercises.vocabulary import TECHNIQUE_FAULTS
from spinecoach.recording import Recording
from spinecoach.sim.assemble import (
    assemble_recording,
    check_errors,
    check_flag,
    check_mount_rotation,
    check_placements,
    check_rate,
    check_seed,
)
from spinecoach.sim.poses import NEUTRAL_POSES, SETUP_PATHS, STANDING, Pose, setup_path_back
from spinecoach.sim.profiles import PerformerProfile, profile_json, resolve_profile
from spinecoach.sim.scenarios import Scenario, resolve_scenario
from spinecoach.sim.sensors import SensorErrorModel
from spinecoach.sim.timeline import Measure, Timeline

TECHNIQUE_POSITIONS: Final[Mapping[str, str]] = MappingProxyType(
    {name: default_catalogue().technique(name).position for name in TECHNIQUES}
)
"""Start position of each technique, from the catalogue (keys of
POSITION_NOMINAL_INCLINATION_DEG)."""

TECHNIQUE_ALLOWED_POSITIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {name: default_catalogue().technique(name).positions for name in TECHNIQUES}
)
"""Start positions each technique can be simulated in (the first is the default), from
the catalogue."""

DEFAULT_REPS: Final[Mapping[str, int]] = MappingProxyType(
    {PELVIC_TILT: 10, CAT_COW: 8, CAT_COW_SEATED: 8, HIP_HINGE: 8, FLEXION_EXTENSION: 5}
)
"""Reps (breath cycles for cat-cow) per set when ``reps`` is not given (DESIGN.md doses)."""
DEFAULT_SETS: Final[Mapping[str, int]] = MappingProxyType(
    {PELVIC_TILT: 1, CAT_COW: 1, CAT_COW_SEATED: 1, HIP_HINGE: 3, FLEXION_EXTENSION: 1}
)
"""Sets when ``sets`` is not given."""
SET_REST_S: Final = 20.0
"""Nominal rest between sets (s), still in the start position."""


_MAIN_SIGNAL: Final[Mapping[str, tuple[str, Measure]]] = MappingProxyType(
    {
        PELVIC_TILT: (PELVIC_TILT_DEG, "peak"),
        CAT_COW: (LUMBAR_FLEXION, "swing"),
        CAT_COW_SEATED: (LUMBAR_FLEXION, "swing"),
        HIP_HINGE: (PELVIC_TILT_DEG, "peak"),
        FLEXION_EXTENSION: (LUMBAR_FLEXION, "peak"),
    }
)


class Performer:
    """Seeded per-rep draws for one performer profile (ranges, durations, faults).

    >>> p = Performer(np.random.default_rng(0), PerformerProfile(variability=0.0))
    >>> p.duration(2.0), p.vary()
    (2.0, 1.0)
    """

    def __init__(self, rng: np.random.Generator, profile: PerformerProfile) -> None:
        self.rng = rng
        self.profile = profile
        self.clean = False  # the calibration rep: no faults, a full hold

    def uniform(self, low: float, high: float) -> float:
        return float(self.rng.uniform(low, high))

    def vary(self) -> float:
        """Range factor: the profile's range scale times 1 ± variability."""
        v = self.profile.variability
        return self.profile.range_scale * (1.0 + self.uniform(-v, v))

    def duration(self, nominal_s: float) -> float:
        """A duration (s): nominal × tempo × (1 ± 1.5·variability)."""
        v = 1.5 * self.profile.variability
        return nominal_s * self.profile.tempo_scale * (1.0 + self.uniform(-v, v))

    def pause(self, tl: Timeline, nominal_s: float) -> None:
        """A still pause between reps or rep phases: :meth:`duration` × the profile's
        ``rep_pause_scale`` (the same draw either way; no pause at all when it is 0)."""
        seconds = self.duration(nominal_s) * self.profile.rep_pause_scale
        if seconds > 0.0:
            tl.hold(seconds)

    def hold(self, prescribed_s: float) -> tuple[float, bool]:
        """(hold duration s, held fully?) for a prescribed hold."""
        if self.rng.random() < self.profile.hold_adherence or self.clean:
            return max(1.02 * prescribed_s, self.duration(1.06 * prescribed_s)), True
        return self.uniform(0.25, 0.7) * prescribed_s, False

    def wobble(self) -> dict[str, float]:
        """Small lateral and axial deviations (deg) of one rep's target."""
        return {
            "pelvis_lateral_deg": self.uniform(-1.0, 1.0),
            "pelvis_axial_deg": self.uniform(-1.0, 1.0),
            "lumbar_lateral_deg": self.uniform(-1.5, 1.5),
            "lumbar_axial_deg": self.uniform(-1.5, 1.5),
        }

    def fault(self, technique: str, *, exclude: tuple[str, ...] = ("short-hold",)) -> str:
        """A compensation fault name with the profile's probability, else ``""``."""
        names = [f for f in TECHNIQUE_FAULTS[technique] if f not in exclude]
        if self.rng.random() >= self.profile.compensation_tendency or self.clean:
            return ""
        return names[int(self.rng.integers(len(names)))]


def record_rep(
    tl: Timeline, technique: str, start_s: float, faults: tuple[str, ...] | list[str]
) -> None:
    tl.event(EVENT_REP, start_s, tl.now, label=technique, measure=_MAIN_SIGNAL[technique])
    for name in faults:
        if name:
            tl.event(EVENT_FAULT, start_s, tl.now, label=name)


def timed_hold(tl: Timeline, seconds: float, label: str) -> None:
    start = tl.now
    tl.hold(seconds)
    tl.event(EVENT_HOLD, start, tl.now, label=label)


# Functional calibration: three slow forward bends standing, before getting into the
# start position (the flexion axis is anatomical, so it carries over to any position), as
# stages of (change from neutral, nominal seconds); {} stays put, None returns to neutral.
_CalibrationStage = tuple[dict[str, float] | None, float]
_FUNCTIONAL_BEND: Final[tuple[_CalibrationStage, ...]] = (
    ({"pelvis_deg": 15.0, "lumbar_deg": 30.0, "thoracic_deg": 9.0}, 2.0),
    ({}, 0.5),
    (None, 2.0),
)


def functional_calibration(tl: Timeline, performer: Performer) -> None:
    """Three slow standing forward bends (≈ 4–5 s each, 1 s apart), annotated as one window."""
    neutral = tl.pose
    scale = float(np.clip(performer.profile.range_scale, 0.6, 1.2))
    start = tl.now
    for movement in range(3):
        if movement:
            tl.hold(1.0)
        target = neutral
        for change, seconds in _FUNCTIONAL_BEND:
            if change is None:
                target = neutral
            elif change:
                target = neutral.moved(**{k: v * scale for k, v in change.items()})
            tl.move(seconds * (1.0 + performer.uniform(-0.05, 0.05)), target)
    tl.event(EVENT_CALIBRATION_FUNCTIONAL, start, tl.now, annotate=True)


def _setup(
    tl: Timeline, performer: Performer, stages: tuple[tuple[Pose, float], ...], label: str
) -> None:
    start = tl.now
    for pose, seconds in stages:
        tl.move(performer.duration(seconds), pose)
    tl.event(EVENT_SETUP, start, tl.now, label=label)


# --- one set of each technique -------------------------------------------------------


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
        timed_hold(tl, perf.duration(1.0), "hinge")
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


def _flexion_extension_set(
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


_SetBuilder = Callable[[Timeline, Performer, Pose, int], None]
_SET_BUILDERS: Final[Mapping[str, _SetBuilder]] = MappingProxyType(
    {
        PELVIC_TILT: _pelvic_tilt_set,
        CAT_COW: lambda tl, perf, pose, reps: _cat_cow_set(tl, perf, pose, reps, CAT_COW),
        CAT_COW_SEATED: lambda tl, perf, pose, reps: _cat_cow_set(
            tl, perf, pose, reps, CAT_COW_SEATED
        ),
        HIP_HINGE: _hip_hinge_set,
        FLEXION_EXTENSION: _flexion_extension_set,
    }
)


def _check_count(name: str, value: object, *, limit: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not (1 <= value <= limit)
    ):
        raise ConfigurationError(f"{name} must be a whole number from 1 to {limit}, got {value!r}")
    return int(value)


def _check_position(technique: str, position: object) -> str:
    allowed = TECHNIQUE_ALLOWED_POSITIONS[technique]
    if position is None:
        return allowed[0]
    if not isinstance(position, str) or position not in allowed:
        raise ConfigurationError(
            f"position {position!r} is not a start position of {technique}; use one of "
            f"{', '.join(allowed)} (or None for {allowed[0]})"
        )
    return position


def set_builder(technique: str, position: str) -> _SetBuilder:
    """The builder of one set of ``technique`` started in ``position``."""
    if technique == FLEXION_EXTENSION and position != TECHNIQUE_POSITIONS[technique]:
        shape = FLEXION_SHAPES[position]
        return lambda tl, perf, pose, reps: _flexion_extension_set(tl, perf, pose, reps, shape)
    return _SET_BUILDERS[technique]


def simulate(
    technique: str,
    *,
    seed: int,
    reps: int | None = None,
    rate_hz: float = 100.0,
    profile: str | PerformerProfile = "typical",
    sensor_errors: SensorErrorModel | None = None,
    magnetometer: bool = False,
    sets: int | None = None,
    scenario: str | Scenario = "coached",
    position: str | None = None,
    placements: tuple[str, ...] = PLACEMENTS,
    mount_rotation: Any = None,
) -> Recording:
    """Simulate one exercise session of ``technique`` with two IMUs and ground truth.

    ``reps`` (breath cycles for cat-cow) per set and ``sets`` default to the technique's
    dose (:data:`DEFAULT_REPS`, :data:`DEFAULT_SETS`); ``rate_hz`` (Hz) is the sample
    rate of the sensors (25, 50 and 100 Hz are the rates of real devices); ``profile``
    is a name in :data:`~spinecoach.sim.PROFILES` or
    :data:`~spinecoach.sim.REAL_WORLD_PROFILES`, or a :class:`PerformerProfile`;
    ``sensor_errors`` defaults to :meth:`SensorErrorModel.realistic` (see also
    :meth:`SensorErrorModel.real_world`). ``scenario`` is a name in
    :data:`~spinecoach.sim.SCENARIOS` or a :class:`~spinecoach.sim.Scenario`: the
    default ``"coached"`` runs our calibration protocol, ``"protocol-free"`` starts in
    position with no protocol and no annotation, reps back to back, then lateral bends
    and rotations (:mod:`spinecoach.sim.scenarios`). ``position`` is the start position
    (:data:`TECHNIQUE_ALLOWED_POSITIONS`: flexion-extension ``"standing"`` or
    ``"seated"``; ``None`` = the technique's default); ``meta["position"]`` says which.
    ``placements`` are the sensors simulated, e.g. ``("lower",)`` for one belt-worn
    sensor (each sensor reads the same whether alone or in a pair). ``mount_rotation``
    turns the sensors on the skin, e.g. another brand's axes or a sensor worn upside
    down: ``None``, one scipy ``Rotation`` or quaternion ``[x, y, z, w]`` for both, or
    ``{placement: rotation}`` (sensor → segment = nominal · misalignment · this). The
    same arguments always give a bit-identical recording; the body motion depends only
    on the seed, technique, reps, sets, profile, scenario and position (not on the rate
    or the sensor errors).

    >>> rec = simulate("hip-hinge", seed=3, reps=2, sets=1)
    >>> rec.meta["position"], [e.kind for e in rec.events]
    ('seated', ['calibration-functional', 'calibration-neutral', 'calibration-rep'])
    >>> rec = simulate("flexion-extension", seed=3, reps=3, scenario="protocol-free",
    ...                position="seated", placements=("lower",))
    >>> rec.meta["position"], rec.events, list(rec.sensors)
    ('seated', (), ['lower'])
    """
    if not isinstance(technique, str) or technique not in TECHNIQUES:
        raise ConfigurationError(
            f"unknown technique {technique!r}; use one of {', '.join(TECHNIQUES)}"
        )
    seed = check_seed(seed)
    n_reps = DEFAULT_REPS[technique] if reps is None else _check_count("reps", reps, limit=500)
    n_sets = DEFAULT_SETS[technique] if sets is None else _check_count("sets", sets, limit=20)
    rate = check_rate(rate_hz)
    performer_profile = resolve_profile(profile)
    errors = check_errors(sensor_errors)
    use_mag = check_flag("magnetometer", magnetometer)
    plan_scenario = resolve_scenario(scenario)
    position = _check_position(technique, position)
    sensors = check_placements(placements)
    mounts = check_mount_rotation(mount_rotation)

    body_seed, lower_seed, upper_seed = np.random.SeedSequence(seed).spawn(3)
    rng = np.random.default_rng(body_seed)
    perf = Performer(rng, performer_profile)
    heading = float(rng.uniform(0.0, 360.0))
    builder = set_builder(technique, position)

    neutral_window: tuple[float, float] | None = None
    if plan_scenario.protocol:
        tl = Timeline(STANDING)
        tl.hold(4.0)
        functional_calibration(tl, perf)
        tl.hold(2.0)
        _setup(tl, perf, SETUP_PATHS[position], "into-position")
        neutral = tl.pose
        tl.hold(1.0)
        start = tl.now
        tl.hold(5.0)
        tl.event(EVENT_CALIBRATION_NEUTRAL, start, tl.now, annotate=True)
        tl.hold(2.0)
        # One comfortable calibration rep (annotated; it sets the personal range).
        start = tl.now
        perf.clean = True
        builder(tl, perf, neutral, 1)
        perf.clean = False
        tl.drop_events((EVENT_REP, EVENT_HOLD, EVENT_FAULT), start)  # the pacer log stays
        tl.event(EVENT_CALIBRATION_REP, start, tl.now, annotate=True)
        tl.hold(2.0)
        for set_index in range(n_sets):
            if set_index:
                start = tl.now
                tl.hold(perf.duration(SET_REST_S))
                tl.event(EVENT_REST, start, tl.now)
            builder(tl, perf, neutral, n_reps)
        tl.hold(perf.duration(1.5))
        _setup(tl, perf, setup_path_back(position), "back-to-standing")
        tl.hold(2.0)
    else:
        # Imported here: the protocol-free plans reuse this module's rep shapes.
        from spinecoach.sim.protocol_free import protocol_free_session

        tl = Timeline(NEUTRAL_POSES[position])
        neutral_window = protocol_free_session(
            tl,
            perf,
            plan_scenario,
            technique=technique,
            position=position,
            reps=n_reps,
            sets=n_sets,
        )

    meta = {
        "technique": technique,
        "profile": performer_profile.name,
        "reps": str(n_reps),
        "sets": str(n_sets),
        "performer_profile": profile_json(performer_profile),
    }
    if plan_scenario.name != "coached" or not plan_scenario.protocol:
        meta["scenario"] = plan_scenario.name
    if neutral_window is not None:  # no annotation: say where the truth's zero comes from
        meta["truth_neutral_window_s"] = json.dumps([round(v, 6) for v in neutral_window])
    return assemble_recording(
        tl.finish(rng, heading_deg=heading),
        seed=seed,
        rate_hz=rate,
        position=position,
        sensor_errors=errors,
        magnetometer=use_mag,
        meta=meta,
        sensor_seeds=(lower_seed, upper_seed),
        neutral_window_s=neutral_window,
        placements=sensors,
        mount_rotations=mounts,
    )


def technique_set(
    tl: Timeline, performer: Performer, neutral: Pose, technique: str, reps: int
) -> None:
    """Append one set of ``reps`` reps of ``technique`` from ``neutral`` to ``tl``.

    The same set the sessions of :func:`simulate` use (truth ``rep``/``hold``/``fault``
    events, breath pacer annotations); the working-day simulator uses it for the seated
    cat-cow desk breaks.
    """
    _SET_BUILDERS[technique](tl, performer, neutral, reps)
