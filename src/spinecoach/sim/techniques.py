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

One set of each technique is in :mod:`spinecoach.sim.technique_sets`, the performer's
draws and the shared moves (calibration, setup) in :mod:`spinecoach.sim.performer`.

>>> rec = simulate("pelvic-tilt", seed=1, reps=2, sensor_errors=SensorErrorModel.ideal())
>>> sum(e.kind == "rep" for e in rec.truth.events)
2
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import numpy as np

from spinecoach.conventions import (
    CAT_COW,
    CAT_COW_SEATED,
    EVENT_CALIBRATION_CHECK,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_CALIBRATION_REP,
    EVENT_FAULT,
    EVENT_HOLD,
    EVENT_REP,
    EVENT_REST,
    FLEXION_EXTENSION,
    HIP_HINGE,
    PELVIC_TILT,
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
    check_misalignments,
    check_mount_rotation,
    check_placements,
    check_rate,
    check_seed,
)
from spinecoach.sim.performer import Performer, functional_calibration, setup_moves
from spinecoach.sim.poses import NEUTRAL_POSES, SETUP_PATHS, STANDING, setup_path_back
from spinecoach.sim.profiles import PerformerProfile, profile_json, resolve_profile
from spinecoach.sim.protocol_free import protocol_free_session
from spinecoach.sim.scenarios import Scenario, resolve_scenario
from spinecoach.sim.sensors import SensorErrorModel
from spinecoach.sim.technique_sets import (
    FLEXION_SHAPES,
    SET_BUILDERS,
    SetBuilder,
    flexion_extension_set,
)
from spinecoach.sim.timeline import Timeline

__all__ = [
    "DEFAULT_REPS",
    "DEFAULT_SETS",
    "SET_REST_S",
    "TECHNIQUE_ALLOWED_POSITIONS",
    "TECHNIQUE_FAULTS",
    "TECHNIQUE_POSITIONS",
    "set_builder",
    "simulate",
]

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
CALIBRATION_FLOWS: Final[tuple[str, ...]] = ("full", "check", "check-then-full")
"""How a coached session calibrates (``simulate(calibration=...)``): ``full``, today's
protocol; ``check``, a kept calibration confirmed by the 5-s neutral check in position,
then straight to the sets; ``check-then-full``, the check failed (sensors moved): the
whole protocol follows it."""
CHECK_S: Final = 5.0
"""Length (s) of the neutral check (as ``motion.calibration_store.NEUTRAL_CHECK_S``)."""
CHECK_SETTLE_S: Final = 0.5
"""Still time (s) before the check, between it and the first rep, and after the last:
a session with a kept calibration lasts its sets plus 6.5 s."""


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


def set_builder(technique: str, position: str) -> SetBuilder:
    """The builder of one set of ``technique`` started in ``position``."""
    if technique == FLEXION_EXTENSION and position != TECHNIQUE_POSITIONS[technique]:
        shape = FLEXION_SHAPES[position]
        return lambda tl, perf, pose, reps: flexion_extension_set(tl, perf, pose, reps, shape)
    return SET_BUILDERS[technique]


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
    calibration: str = "full",
    mount_misalignment_deg: Any = None,
    hold_s: float | None = None,
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
    ``hold_s`` (s; None: the catalogue's) is a prescribed hold of the working movement:
    the simulated person aims at it instead (a second hold keeps the catalogue's ratio;
    no effect on a technique without holds); ``meta["hold_s"]`` says it. The
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

    ``calibration`` (:data:`CALIBRATION_FLOWS`) is how a coached session calibrates:
    ``"check"`` starts in position with the 5-s neutral check (annotation
    ``calibration-check``; the truth's zero is that window) and goes straight to the sets,
    ending in position; ``"check-then-full"`` follows the check with the whole protocol.
    ``mount_misalignment_deg`` (``{placement: [x, y, z]}``, deg) wears the sensors as a
    recording's ``meta["<placement>_mount_misalignment_deg"]`` says (the same sensors,
    not moved); default: drawn from the seed. Both defaults keep the recording
    bit-identical to what it was before they existed.

    (Over 80 lines for its documentation: thirteen arguments, each described and checked
    where a user looks for them; the session itself is built by smaller functions.)
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
    misalignments = check_misalignments(mount_misalignment_deg)
    if calibration not in CALIBRATION_FLOWS or (
        calibration != "full" and not plan_scenario.protocol
    ):
        raise ConfigurationError(
            f"calibration must be one of {', '.join(CALIBRATION_FLOWS)} (and 'full' for a "
            f"protocol-free scenario), got {calibration!r}"
        )

    body_seed, lower_seed, upper_seed = np.random.SeedSequence(seed).spawn(3)
    rng = np.random.default_rng(body_seed)
    perf = Performer(rng, performer_profile)
    perf.hold_scale = _hold_scale(technique, hold_s)
    heading = float(rng.uniform(0.0, 360.0))
    builder = set_builder(technique, position)

    if calibration == "full":
        tl, neutral_window = _session_timeline(
            perf, builder, plan_scenario, technique, position, n_reps=n_reps, n_sets=n_sets
        )
    else:
        tl = _checked_session(perf, builder, position, calibration, n_reps=n_reps, n_sets=n_sets)
        neutral_window = None
    meta = _session_meta(technique, performer_profile, plan_scenario, n_reps, n_sets)
    if calibration != "full":
        meta["calibration"] = calibration
    if perf.hold_scale != 1.0:
        meta["hold_s"] = f"{hold_s:g}"
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
        misalignments_deg=misalignments,
    )


def _hold_scale(technique: str, hold_s: float | None) -> float:
    """A prescribed hold (s) ÷ the catalogue's (1.0 for None or a technique without
    holds); a hold that is not seconds from 0 to 60 is refused."""
    if hold_s is None:
        return 1.0
    if isinstance(hold_s, bool) or not isinstance(hold_s, int | float) or not 0 <= hold_s <= 60:
        raise ConfigurationError(f"hold_s is seconds from 0 to 60 or None, got {hold_s!r}")
    base = default_catalogue().technique(technique).dose.hold_s
    return 1.0 if base <= 0 else float(hold_s) / base


def _session_timeline(
    perf: Performer,
    builder: SetBuilder,
    scenario: Scenario,
    technique: str,
    position: str,
    *,
    n_reps: int,
    n_sets: int,
) -> tuple[Timeline, tuple[float, float] | None]:
    """The session's timeline, coached or protocol-free, and the still window the truth
    counts from (``None`` for a coached session: its neutral hold is annotated)."""
    if scenario.protocol:
        return _coached_session(perf, builder, position, n_reps=n_reps, n_sets=n_sets), None
    tl = Timeline(NEUTRAL_POSES[position])
    neutral_window = protocol_free_session(
        tl,
        perf,
        scenario,
        technique=technique,
        position=position,
        reps=n_reps,
        sets=n_sets,
    )
    return tl, neutral_window


def _session_meta(
    technique: str, profile: PerformerProfile, scenario: Scenario, n_reps: int, n_sets: int
) -> dict[str, str]:
    """The recording's ``meta`` for a session (the scenario only when not coached)."""
    meta = {
        "technique": technique,
        "profile": profile.name,
        "reps": str(n_reps),
        "sets": str(n_sets),
        "performer_profile": profile_json(profile),
    }
    if scenario.name != "coached" or not scenario.protocol:
        meta["scenario"] = scenario.name
    return meta


def _coached_session(
    perf: Performer, builder: SetBuilder, position: str, *, n_reps: int, n_sets: int
) -> Timeline:
    """The coached session's timeline (module docstring): the calibration protocol, the
    sets from ``position`` and back to standing."""
    tl = Timeline(STANDING)
    _protocol_and_sets(tl, perf, builder, position, n_reps=n_reps, n_sets=n_sets)
    return tl


def _checked_session(
    perf: Performer, builder: SetBuilder, position: str, flow: str, *, n_reps: int, n_sets: int
) -> Timeline:
    """A session with a kept calibration: already in position (a desk break at the desk),
    0.5 s, the 5-s neutral check (annotated; the truth's zero), 0.5 s, the sets, 0.5 s
    still in position. ``check-then-full``: after the check, back to standing
    and the whole protocol (whose neutral hold is then the truth's zero)."""
    tl = Timeline(NEUTRAL_POSES[position])
    tl.hold(CHECK_SETTLE_S)
    start = tl.now
    tl.hold(CHECK_S)
    tl.event(EVENT_CALIBRATION_CHECK, start, tl.now, annotate=True)
    if flow == "check-then-full":
        tl.hold(1.0)
        setup_moves(tl, perf, setup_path_back(position), "back-to-standing")
        _protocol_and_sets(tl, perf, builder, position, n_reps=n_reps, n_sets=n_sets)
        return tl
    tl.event(EVENT_CALIBRATION_NEUTRAL, start, tl.now)  # the truth's zero, not announced
    neutral = tl.pose
    tl.hold(CHECK_SETTLE_S)
    for set_index in range(n_sets):
        if set_index:
            start = tl.now
            tl.hold(perf.duration(SET_REST_S))
            tl.event(EVENT_REST, start, tl.now)
        builder(tl, perf, neutral, n_reps)
    tl.hold(CHECK_SETTLE_S)
    return tl


def _protocol_and_sets(
    tl: Timeline, perf: Performer, builder: SetBuilder, position: str, *, n_reps: int, n_sets: int
) -> None:
    """From standing: the calibration protocol, the sets, back to standing."""
    tl.hold(4.0)
    functional_calibration(tl, perf)
    tl.hold(2.0)
    setup_moves(tl, perf, SETUP_PATHS[position], "into-position")
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
    setup_moves(tl, perf, setup_path_back(position), "back-to-standing")
    tl.hold(2.0)
