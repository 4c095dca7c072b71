"""Simulated everyday wear: :func:`simulate_activities`.

A schedule of ``(activity, duration s)`` bouts from ``conventions.POSTURES``. The day
starts with 5 s of quiet standing (annotation ``calibration-neutral``) and three slow
forward bends (annotation ``calibration-functional``, time added to the schedule), then
the bouts follow with smooth transitions (1.5–4 s, truth ``setup`` events labelled
``"<from>-><to>"``, time added between bouts). Each bout is a truth ``activity`` event
labelled with the activity; the first standing bout is split around the calibration.

Everyday postures relative to standing (see :mod:`spinecoach.sim.poses`): upright
sitting has the pelvis ≈15° posterior and ≈10° more lumbar flexion; slouching adds
10–20° of lumbar flexion (DESIGN.md); walking is 1.8 steps/s at 1.3 m/s with pelvic
tilt ±2°, obliquity ±4°, rotation ±5° and trunk counter-rotation, with turns every
10–30 s; still postures sway slowly and shift a little every 15–45 s.

Bending (``"bending"``, not in ``conventions.POSTURES``: an activity of the simulator and
the posture analysis only): deep forward bends and stoops — gardening, loading a
dishwasher, picking things up. Each bend goes down in 1.2–2.5 s to the pelvis 35–60°
forward of standing with 15–40° more lumbar flexion (a stoop to the floor; McGill's
lifting data and DESIGN.md's 45–60° standing flexion), holds 6–30 s with small shifts,
and comes back up to stand for 2–6 s. Truth: an ``activity`` event ``"bending"`` from the
start of going down to the end of coming up, ``"standing"`` in between.

A single belt-worn sensor or phone (:class:`BeltWear`): one sensor on the pelvis segment,
placed anywhere around the waist (``turn_deg`` about the body's vertical axis: 0 at the
back, 90 on the left hip, 180 at the front), tilted on the belt (``tilt_deg``) and turned
in its own plane (``roll_deg``: 90 a phone held sideways, 180 upside down). See
:func:`belt_mount_rotation`.

>>> rec = simulate_activities([("standing", 10.0), ("walking", 5.0)], seed=0)
>>> [e.label for e in rec.truth.events if e.kind == "activity"]
['standing', 'standing', 'walking']
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
from scipy.spatial.transform import Rotation

from spinecoach.conventions import (
    EVENT_ACTIVITY,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_SETUP,
    POSTURES,
)
from spinecoach.errors import ConfigurationError
from spinecoach.recording import Recording, SensorData
from spinecoach.sim.assemble import (
    assemble_recording,
    check_errors,
    check_flag,
    check_rate,
    check_seed,
)
from spinecoach.sim.body import FloatArray
from spinecoach.sim.performer import Performer, functional_calibration
from spinecoach.sim.poses import ACTIVITY_POSES, SIT_DOWN_POSE, SIT_TO_LIE_POSE, STANDING, Pose
from spinecoach.sim.profiles import PROFILES
from spinecoach.sim.sensors import R_MOUNT_NOMINAL, SensorErrorModel
from spinecoach.sim.timeline import Timeline

NEUTRAL_S = 5.0
"""Quiet standing at the start used as the neutral calibration window (s)."""
MIN_FIRST_STANDING_S = 6.0
"""The schedule must open with at least this much standing (s)."""
MAX_TOTAL_S = 48.0 * 3600.0
"""Longest schedule accepted (s)."""

_SITTING = ("sitting-upright", "sitting-slouched")
_UPRIGHT = ("standing", "walking")
_LYING = "lying-supine"
BENDING = "bending"
"""Activity label of deep forward bends and stoops (simulator and posture analysis)."""
ACTIVITIES: Final[tuple[str, ...]] = (*POSTURES, BENDING)
"""Activities a schedule may hold: ``conventions.POSTURES`` and :data:`BENDING`."""
#: Sacral inclination (deg) of the pelvis segment of a standing person (the sim's poses):
#: a belt sensor sits upright on it when ``tilt_deg`` is 0.
_STANDING_PELVIS_DEG = 30.0


@dataclass(frozen=True)
class BeltWear:
    """One sensor (or a phone) on a belt or in a waist pouch, on the pelvis.

    ``turn_deg``: where around the waist, as a turn about the body's vertical axis (deg;
    0 at the back with the sensor's z out of the back, 90 on the left hip, 180 in front);
    ``tilt_deg``: tilted on the belt (deg, top of the sensor away from the body
    positive); ``roll_deg``: turned in its own plane (deg; 0 x up, 180 upside down);
    ``gyroscope``: False for an accelerometer-only logger (gyroscope columns NaN).

    >>> BeltWear(turn_deg=90.0).turn_deg
    90.0
    """

    turn_deg: float = 0.0
    tilt_deg: float = 0.0
    roll_deg: float = 0.0
    gyroscope: bool = True

    def __post_init__(self) -> None:
        for name in ("turn_deg", "tilt_deg", "roll_deg"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise ConfigurationError(f"BeltWear.{name} must be a finite angle in degrees")
        if not isinstance(self.gyroscope, bool):
            raise ConfigurationError("BeltWear.gyroscope must be True or False")


def belt_mount_rotation(wear: BeltWear) -> FloatArray:
    """The extra mounting rotation (quaternion ``[x, y, z, w]``) of
    :func:`~spinecoach.sim.sensors.simulate_imu` that puts the lower sensor where
    ``wear`` says: sensor → segment = Rz(30°)·Ry(turn)·R_nominal·Ry(tilt)·Rz(roll), i.e.
    upright on the standing pelvis (whose superior axis leans 30° forward), turned about
    the vertical, tilted on the belt, rolled in its plane (the random skin misalignment
    of the error model comes on top).

    >>> q = belt_mount_rotation(BeltWear())
    >>> q.shape
    (4,)
    """
    nominal = Rotation.from_matrix(R_MOUNT_NOMINAL)
    desired = (
        Rotation.from_euler("z", _STANDING_PELVIS_DEG, degrees=True)
        * Rotation.from_euler("y", wear.turn_deg, degrees=True)
        * nominal
        * Rotation.from_euler("y", -wear.tilt_deg, degrees=True)
        * Rotation.from_euler("z", wear.roll_deg, degrees=True)
    )
    quat: FloatArray = np.asarray((nominal.inv() * desired).as_quat(), dtype=np.float64)
    return quat


def single_sensor(rec: Recording, wear: BeltWear) -> Recording:
    """Keep only the lower (belt) sensor of ``rec`` (gyroscope NaN without one) and
    record the wear in the metadata; the truth is unchanged."""
    lower = rec.sensors["lower"]
    if not wear.gyroscope:
        lower = SensorData.from_arrays(
            "lower",
            lower.time_s,
            lower.acc_mps2,
            np.full(lower.acc_mps2.shape, np.nan),
            rate_hz=lower.rate_hz,
            mag_ut=lower.mag_ut,
            device=lower.device,
        )
    meta = {k: v for k, v in rec.meta.items() if not k.startswith("upper_")}
    meta.update(
        {
            "wear": "belt",
            "belt_turn_deg": f"{wear.turn_deg:g}",
            "belt_tilt_deg": f"{wear.tilt_deg:g}",
            "belt_roll_deg": f"{wear.roll_deg:g}",
            "belt_gyroscope": str(wear.gyroscope).lower(),
        }
    )
    return replace(rec, sensors={"lower": lower}, meta=meta)


def _check_schedule(schedule: object) -> list[tuple[str, float]]:
    if isinstance(schedule, str | bytes) or not isinstance(schedule, Sequence) or not schedule:
        raise ConfigurationError(
            "schedule must be a non-empty sequence of (activity, duration_s) pairs, e.g. "
            "[('standing', 60.0), ('sitting-upright', 600.0)]"
        )
    bouts: list[tuple[str, float]] = []
    for number, item in enumerate(schedule, start=1):
        if isinstance(item, str) or not isinstance(item, Sequence) or len(item) != 2:
            raise ConfigurationError(
                f"schedule item {number} must be an (activity, duration_s) pair, got {item!r}"
            )
        activity, duration = item
        if not isinstance(activity, str) or activity not in ACTIVITIES:
            raise ConfigurationError(
                f"unknown activity {activity!r} in schedule item {number}; use one of "
                f"{', '.join(ACTIVITIES)}"
            )
        if (
            isinstance(duration, bool)
            or not isinstance(duration, int | float | np.integer | np.floating)
            or not math.isfinite(float(duration))
            or float(duration) <= 0
        ):
            raise ConfigurationError(
                f"duration of schedule item {number} ({activity!r}) must be a positive, "
                f"finite number of seconds, got {duration!r}"
            )
        bouts.append((activity, float(duration)))
    first, first_s = bouts[0]
    if first != "standing" or first_s < MIN_FIRST_STANDING_S:
        raise ConfigurationError(
            f"schedule must start with at least {MIN_FIRST_STANDING_S:g} s of 'standing' (the "
            f"first {NEUTRAL_S:g} s are the neutral calibration), got ({first!r}, {first_s:g})"
        )
    if sum(d for _, d in bouts) > MAX_TOTAL_S:
        raise ConfigurationError(
            f"schedule lasts over {MAX_TOTAL_S / 3600:g} h; split it into several recordings"
        )
    return bouts


def bout_pose(perf: Performer, activity: str, heading_deg: float) -> Pose:
    if activity == BENDING:  # bends start and end standing
        return replace(STANDING, heading_deg=heading_deg)
    pose = ACTIVITY_POSES[activity]
    if activity == "sitting-slouched":  # 10–20° more lumbar flexion than upright
        pose = pose.moved(lumbar_deg=perf.uniform(-5.0, 5.0), pelvis_deg=perf.uniform(-2, 2))
    return replace(pose, heading_deg=heading_deg)


def _transition_stages(source: str, target: str, target_pose: Pose) -> list[tuple[Pose, float]]:
    """Stages ``(pose, nominal s)`` between two bouts, 1.5–4 s in total."""
    heading = {"heading_deg": target_pose.heading_deg}
    sit_down = replace(SIT_DOWN_POSE, **heading)
    lie = replace(SIT_TO_LIE_POSE, **heading)
    if source == target:
        return [(target_pose, 1.5)]
    if _LYING in (source, target):
        return [(lie, 2.0), (target_pose, 2.0)]
    if (source in _SITTING) != (target in _SITTING):
        return [(sit_down, 1.2), (target_pose, 1.3)]
    return [(target_pose, 2.0 if source in _SITTING else 1.5)]


def transition_segment(
    tl: Timeline, perf: Performer, source: str, target: str, target_pose: Pose
) -> None:
    stages = _transition_stages(source, target, target_pose)
    nominal = sum(seconds for _, seconds in stages)
    factor = float(np.clip(nominal * perf.uniform(0.9, 1.1), 1.5, 4.0)) / nominal
    start = tl.now
    for pose, seconds in stages:
        tl.move(seconds * factor, pose)
    tl.event(EVENT_SETUP, start, tl.now, label=f"{source}->{target}")


def _bending_bout(tl: Timeline, perf: Performer, base: Pose, duration_s: float) -> None:
    """Fill ``duration_s`` with deep bends and short stands between them (truth
    ``bending`` from going down to being back up, ``standing`` between)."""
    end = tl.now + duration_s
    stand_start = tl.now
    while True:
        down_s, up_s = perf.uniform(1.2, 2.5), perf.uniform(1.2, 2.5)
        hold_s = perf.uniform(6.0, 30.0)
        if tl.now + down_s + hold_s + up_s >= end - 1.0:
            break
        if tl.now > stand_start:
            tl.event(EVENT_ACTIVITY, stand_start, tl.now, label="standing")
        bend_start = tl.now
        bent = base.moved(
            pelvis_deg=perf.uniform(35.0, 60.0),
            lumbar_deg=perf.uniform(15.0, 40.0),
            thoracic_deg=perf.uniform(0.0, 10.0),
            hip_height_m=-perf.uniform(0.05, 0.15),
            hip_forward_m=-perf.uniform(0.05, 0.12),
            sway=-0.5,
        )
        tl.move(down_s, bent)
        left = hold_s
        while left > 0.0:  # reaching about while bent: small shifts
            step = min(left, perf.uniform(3.0, 8.0))
            tl.hold(0.6 * step)
            tl.move(
                0.4 * step,
                bent.moved(
                    pelvis_deg=perf.uniform(-4.0, 4.0),
                    lumbar_deg=perf.uniform(-5.0, 5.0),
                    lumbar_lateral_deg=perf.uniform(-5.0, 5.0),
                    lumbar_axial_deg=perf.uniform(-8.0, 8.0),
                ),
            )
            left -= step
        tl.move(up_s, base)
        tl.event(EVENT_ACTIVITY, bend_start, tl.now, label=BENDING)
        stand_start = tl.now
        tl.hold(perf.uniform(2.0, 6.0))
    tl.hold_until(end)
    if tl.now > stand_start:
        tl.event(EVENT_ACTIVITY, stand_start, tl.now, label="standing")


def bout_segment(
    tl: Timeline, perf: Performer, activity: str, base: Pose, duration_s: float
) -> None:
    """Fill ``duration_s`` with the posture: holds, small shifts, turns when walking."""
    if activity == BENDING:
        _bending_bout(tl, perf, base, duration_s)
        return
    start = tl.now
    end = start + duration_s
    walking = activity == "walking"
    while True:
        still_s = perf.uniform(10.0, 30.0) if walking else perf.uniform(15.0, 45.0)
        move_s = perf.uniform(1.5, 2.5) if walking else perf.uniform(1.0, 2.0)
        if tl.now + still_s + move_s >= end - 1.0:
            break
        tl.hold(still_s)
        if walking:  # turn by 30–180° left or right
            turn = perf.uniform(30.0, 180.0) * (1 if perf.rng.random() < 0.5 else -1)
            base = base.moved(heading_deg=turn)
            tl.move(move_s, base)
        else:  # a small posture shift around the bout's mean pose
            tl.move(
                move_s,
                base.moved(
                    pelvis_deg=perf.uniform(-2.0, 2.0),
                    lumbar_deg=perf.uniform(-3.0, 3.0),
                    pelvis_lateral_deg=perf.uniform(-1.5, 1.5),
                    lumbar_lateral_deg=perf.uniform(-2.0, 2.0),
                    lumbar_axial_deg=perf.uniform(-3.0, 3.0),
                ),
            )
    tl.hold_until(end)
    tl.event(EVENT_ACTIVITY, start, tl.now, label=activity)


def simulate_activities(
    schedule: Sequence[tuple[str, float]],
    *,
    seed: int,
    rate_hz: float = 100.0,
    sensor_errors: SensorErrorModel | None = None,
    magnetometer: bool = False,
    wear: BeltWear | None = None,
) -> Recording:
    """Simulate all-day wear following ``schedule`` of ``(activity, duration_s)`` bouts.

    ``wear``: one belt-worn sensor or phone instead of the two sensors on the back (see
    :class:`BeltWear`; the recording then has the ``lower`` sensor only). Activities are
    :data:`ACTIVITIES`; the schedule must start with at least 6 s of
    ``standing``. The recording lasts the bouts plus the calibration (about 17 s) plus
    the transitions (1.5–4 s each). ``meta["position"]`` is ``"standing"`` (truth angles
    are relative to the standing neutral). Same arguments → bit-identical recording.

    >>> rec = simulate_activities([("standing", 6.0), ("sitting-slouched", 4.0)], seed=2)
    >>> rec.meta["position"], round(rec.duration_s) > 10
    ('standing', True)
    """
    bouts = _check_schedule(schedule)
    seed = check_seed(seed)
    rate = check_rate(rate_hz)
    errors = check_errors(sensor_errors)
    use_mag = check_flag("magnetometer", magnetometer)
    check_wear(wear)

    body_seed, lower_seed, upper_seed = np.random.SeedSequence(seed).spawn(3)
    rng = np.random.default_rng(body_seed)
    perf = Performer(rng, PROFILES["typical"])
    heading = float(rng.uniform(0.0, 360.0))

    tl = Timeline(STANDING)
    tl.hold(NEUTRAL_S)
    tl.event(EVENT_CALIBRATION_NEUTRAL, 0.0, NEUTRAL_S, annotate=True)
    tl.event(EVENT_ACTIVITY, 0.0, NEUTRAL_S, label="standing")
    functional_calibration(tl, perf)
    bout_segment(tl, perf, "standing", STANDING, bouts[0][1] - NEUTRAL_S)
    previous = "standing"
    for activity, duration_s in bouts[1:]:
        pose = bout_pose(perf, activity, tl.pose.heading_deg)
        transition_segment(tl, perf, previous, activity, pose)
        bout_segment(tl, perf, activity, pose, duration_s)
        previous = activity

    meta = {
        "profile": "typical",
        "schedule": json.dumps([[a, d] for a, d in bouts]),
    }
    rec = assemble_recording(
        tl.finish(rng, heading_deg=heading),
        seed=seed,
        rate_hz=rate,
        position="standing",
        sensor_errors=errors,
        magnetometer=use_mag,
        meta=meta,
        sensor_seeds=(lower_seed, upper_seed),
        mount_rotations=None if wear is None else {"lower": belt_mount_rotation(wear)},
    )
    return rec if wear is None else single_sensor(rec, wear)


def check_wear(wear: object) -> None:
    """``wear`` must be ``None`` (two sensors on the back) or a :class:`BeltWear`."""
    if wear is not None and not isinstance(wear, BeltWear):
        raise ConfigurationError(
            "wear must be a BeltWear (e.g. BeltWear(turn_deg=90.0)) or None for the two "
            f"sensors on the back, got {type(wear).__name__}"
        )
