"""Simulated working days with ground truth: :func:`simulate_day`.

A seeded, realistic day of all-day wear built from the everyday postures of
:mod:`spinecoach.sim.activities`: getting up (the day opens standing, with the same
calibration as :func:`~spinecoach.sim.simulate_activities`: 5 s of quiet standing,
annotation ``calibration-neutral``, then three slow forward bends, annotation
``calibration-functional``), the morning at home, breakfast, the commute (walking,
waiting, sitting on a train or standing in it), desk work in long bouts, meetings, short
breaks, lunch, the afternoon, the commute home, the evening (cooking, dinner, the sofa
with some lying) and bed (lying) to the end.

Sitting and slouching
    Every person has an upright and a slouched sitting posture (lumbar flexion relative
    to their standing neutral: upright ≈ 7–13°, slouched 10–20° more, DESIGN.md) and a
    personal slouch threshold ``meta["slouch_threshold_deg"]`` drawn around the midpoint
    of the two (± 1.5°). A sitting bout moves through *plateaus* (15–45 s still, then a
    1–2 s shift): a slouch level ``f`` (0 upright, 1 slouched) creeps up over tens of
    minutes at the desk (full slouch after 15–45 min), more slowly in meetings and at
    meals, quickly on the train, and sits high on the sofa; corrections bring it back
    upright every 8–25 min on average (at the desk). Plateaus keep at least 1.5° of
    lumbar flexion between them and the threshold, so the posture is on one side of it
    except while shifting.

Truth events (``rec.truth.events``, seconds since the start)
    ``activity``
        One per posture bout, labelled with ``conventions.POSTURES``. A sitting bout is
        split into ``sitting-upright`` and ``sitting-slouched`` events at the times its
        true lumbar flexion crosses the threshold (computed from the minimum-jerk shift
        between plateaus), so the label follows the true posture. The first standing
        bout is split around the functional calibration, as in ``simulate_activities``.
    ``setup``
        Transitions between bouts (1.5–4 s), labelled ``"<from>-><to>"``. Activity,
        setup and the ``calibration-functional`` window tile the day without overlap.
    ``sitting-bout``
        Each run of sitting (upright or slouched, including any desk break) between
        getting down and getting up; its label is the setting: ``desk``, ``meeting``,
        ``meal``, ``train`` or ``sofa``.
    ``desk-break``
        A seated cat-cow of about 2 minutes done at the desk (the set of
        :func:`~spinecoach.sim.technique_sets.technique_set`, label ``cat-cow-seated``) inside
        a desk sitting bout; the person first sits up, so the activity there is
        ``sitting-upright``. Its ``rep`` (and any ``fault``) truth events stay; the
        breath pacer annotations are dropped.

``rec.meta`` adds ``kind = "working-day"``, ``day_hours``, ``slouch_threshold_deg``,
``upright_sitting_flexion_deg``, ``slouched_sitting_flexion_deg`` and ``profile``.

Durations and order vary with the seed (sitting bouts of about 10–120 min; some days have
no desk break, some several). A day shorter than 16 h is the same kind of day compressed
in time (bouts, drift and corrections scale with ``hours / 16``; the 15–45 s plateaus and
the 2-minute desk break do not).

>>> rec = simulate_day(1, hours=1.0, rate_hz=5.0)
>>> rec.meta["kind"], round(rec.duration_s)
('working-day', 3600)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from spinecoach.conventions import (
    CAT_COW_SEATED,
    EVENT_ACTIVITY,
    EVENT_BREATH_EXHALE,
    EVENT_BREATH_INHALE,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_DESK_BREAK,
    EVENT_SITTING_BOUT,
)
from spinecoach.errors import ConfigurationError
from spinecoach.recording import FloatArray, Recording
from spinecoach.sim.activities import (
    NEUTRAL_S,
    BeltWear,
    belt_mount_rotation,
    bout_pose,
    bout_segment,
    check_wear,
    single_sensor,
    transition_segment,
)
from spinecoach.sim.assemble import (
    assemble_recording,
    check_errors,
    check_mount_rotation,
    check_rate,
    check_seed,
)
from spinecoach.sim.day_plan import NOMINAL_DAY_H, SITTING, DayBlock, plan_day, with_bends
from spinecoach.sim.performer import Performer, functional_calibration
from spinecoach.sim.poses import ACTIVITY_POSES, STANDING, Pose
from spinecoach.sim.profiles import PerformerProfile, resolve_profile
from spinecoach.sim.sensors import SensorErrorModel
from spinecoach.sim.technique_sets import technique_set
from spinecoach.sim.timeline import Timeline

MIN_HOURS = 1.0
MAX_HOURS = 24.0
SLOUCH_MARGIN_DEG = 1.5
"""Least distance (deg) between a sitting plateau's lumbar flexion and the threshold."""
DESK_BREAK_S = 120.0
"""Nominal length (s) of a desk-break cat-cow."""

_UPRIGHT = "sitting-upright"
_SLOUCHED = "sitting-slouched"


@dataclass(frozen=True)
class _SitMode:
    """How a sitting setting drifts (slouch level f: 0 upright, 1 slouched)."""

    start: tuple[float, float]  # f at the start
    drift_min: tuple[float, float]  # minutes from f = 0 to f = 1 (16 h day)
    top: tuple[float, float]  # highest f of the bout
    correction_min: tuple[float, float]  # mean minutes between corrections (16 h day)
    reset: tuple[float, float]  # f after a correction


_MODES: dict[str, _SitMode] = {
    "desk": _SitMode((0.0, 0.1), (15.0, 45.0), (0.9, 1.2), (8.0, 25.0), (0.0, 0.1)),
    "meeting": _SitMode((0.0, 0.1), (40.0, 90.0), (0.3, 0.6), (8.0, 15.0), (0.0, 0.1)),
    "meal": _SitMode((0.0, 0.2), (25.0, 50.0), (0.3, 0.6), (10.0, 20.0), (0.0, 0.1)),
    "train": _SitMode((0.3, 0.6), (5.0, 15.0), (1.0, 1.2), (20.0, 40.0), (0.2, 0.4)),
    "sofa": _SitMode((0.8, 1.0), (20.0, 40.0), (1.1, 1.3), (30.0, 60.0), (0.6, 0.9)),
}


@dataclass(frozen=True)
class _Person:
    """The sitting postures of one simulated person."""

    upright: Pose
    slouched: Pose
    threshold_deg: float

    @classmethod
    def draw(cls, perf: Performer) -> _Person:
        base = ACTIVITY_POSES[_UPRIGHT]
        upright = base.moved(lumbar_deg=perf.uniform(-3.0, 3.0), pelvis_deg=perf.uniform(-2, 2))
        extra = perf.uniform(10.0, 20.0) * float(np.clip(perf.profile.range_scale, 0.6, 1.3))
        slouched = upright.moved(
            lumbar_deg=extra, pelvis_deg=-perf.uniform(5.0, 9.0), thoracic_deg=10.0
        )
        midpoint = 0.5 * (_flexion(upright) + _flexion(slouched))
        threshold = midpoint + perf.uniform(-1.5, 1.5)
        return cls(upright, slouched, round(threshold, 6))

    def pose(self, level: float, heading_deg: float) -> Pose:
        """Sitting pose at slouch level ``level`` (0 upright, 1 slouched; may exceed 1)."""
        u, s = self.upright, self.slouched
        return replace(
            u,
            pelvis_deg=u.pelvis_deg + level * (s.pelvis_deg - u.pelvis_deg),
            lumbar_deg=u.lumbar_deg + level * (s.lumbar_deg - u.lumbar_deg),
            thoracic_deg=u.thoracic_deg + level * (s.thoracic_deg - u.thoracic_deg),
            heading_deg=heading_deg,
        )

    def label(self, flexion_deg: float) -> str:
        return _SLOUCHED if flexion_deg > self.threshold_deg else _UPRIGHT


def _flexion(pose: Pose) -> float:
    """Planned lumbar flexion (deg) relative to the standing neutral."""
    return pose.lumbar_deg - STANDING.lumbar_deg


def _min_jerk_inverse(fraction: float) -> float:
    """τ in [0, 1] with 10τ³ − 15τ⁴ + 6τ⁵ = ``fraction`` (bisection; monotonic)."""
    low, high = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (low + high)
        if mid**3 * (10.0 + mid * (-15.0 + 6.0 * mid)) < fraction:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


class _SittingTrack:
    """Follows the planned lumbar flexion of a sitting bout and where it crosses."""

    def __init__(self, tl: Timeline, person: _Person) -> None:
        self.tl = tl
        self.person = person
        self.flexion = _flexion(tl.pose)
        self.cuts: list[tuple[float, str]] = [(tl.now, person.label(self.flexion))]

    @property
    def label(self) -> str:
        return self.cuts[-1][1]

    def move(self, seconds: float, pose: Pose) -> None:
        start = self.tl.now
        before = self.flexion
        self.tl.move(seconds, pose)
        after = _flexion(pose)
        threshold = self.person.threshold_deg
        if (before > threshold) != (after > threshold):
            tau = _min_jerk_inverse((threshold - before) / (after - before))
            self.cuts.append((start + tau * (self.tl.now - start), self.person.label(after)))
        self.flexion = after

    def close(self) -> None:
        end = self.tl.now
        for (start, label), (stop, _) in zip(self.cuts, [*self.cuts[1:], (end, "")], strict=True):
            self.tl.event(EVENT_ACTIVITY, start, stop, label=label)


def _plateau(perf: Performer, person: _Person, level: float, heading_deg: float) -> Pose:
    """A sitting plateau at ``level`` with a small shift, kept off the threshold."""
    base = person.pose(level, heading_deg)
    slouched = _flexion(base) > person.threshold_deg
    pose = base.moved(
        pelvis_deg=perf.uniform(-1.5, 1.5),
        lumbar_deg=perf.uniform(-1.5, 1.5),
        pelvis_lateral_deg=perf.uniform(-1.5, 1.5),
        lumbar_lateral_deg=perf.uniform(-2.0, 2.0),
        lumbar_axial_deg=perf.uniform(-3.0, 3.0),
    )
    flexion = _flexion(pose)
    low, high = (
        person.threshold_deg - SLOUCH_MARGIN_DEG,
        person.threshold_deg + SLOUCH_MARGIN_DEG,
    )
    if slouched and flexion < high:
        pose = pose.moved(lumbar_deg=high - flexion)
    elif not slouched and flexion > low:
        pose = pose.moved(lumbar_deg=low - flexion)
    return pose


def _desk_break(tl: Timeline, perf: Performer, track: _SittingTrack, neutral: Pose) -> None:
    """Sit up, then a seated cat-cow of about 2 minutes (truth ``desk-break``)."""
    track.move(perf.uniform(1.5, 3.0), neutral)
    tl.hold(perf.uniform(1.0, 2.0))
    profile = perf.profile
    reps = max(6, round(DESK_BREAK_S / (profile.breath_inhale_s + profile.breath_exhale_s)))
    start = tl.now
    technique_set(tl, perf, neutral, CAT_COW_SEATED, reps)
    tl.drop_events((EVENT_BREATH_INHALE, EVENT_BREATH_EXHALE), start)
    tl.event(EVENT_DESK_BREAK, start, tl.now, label=CAT_COW_SEATED)
    track.flexion = _flexion(neutral)  # the set ends back in the neutral it started from


def _sitting_bout(
    tl: Timeline,
    perf: Performer,
    person: _Person,
    block: DayBlock,
    duration_s: float,
    level: float,
    time_scale: float,
) -> str:
    """Fill ``duration_s`` of sitting (the first plateau is already reached).

    Returns the activity label at the end of the bout.
    """
    mode = _MODES[block.mode]
    start = tl.now
    end = start + duration_s
    heading = tl.pose.heading_deg
    track = _SittingTrack(tl, person)
    drift_per_s = 1.0 / (60.0 * perf.uniform(*mode.drift_min) * time_scale)
    top = max(perf.uniform(*mode.top), level)
    correction_mean_s = 60.0 * perf.uniform(*mode.correction_min) * time_scale
    next_correction = start + float(perf.rng.exponential(correction_mean_s))
    breaks = sorted(start + duration_s * perf.uniform(0.2, 0.8) for _ in range(block.desk_breaks))
    while True:
        still_s = perf.uniform(15.0, 45.0)
        move_s = perf.uniform(1.0, 2.0)
        if tl.now + still_s + move_s >= end - 1.0:
            break
        tl.hold(still_s)
        if breaks and tl.now >= breaks[0]:
            breaks.pop(0)
            if tl.now + DESK_BREAK_S + 30.0 < end - 1.0:
                _desk_break(tl, perf, track, replace(person.upright, heading_deg=heading))
                level = 0.0
                continue
        if tl.now >= next_correction:
            level = perf.uniform(*mode.reset)
            move_s = perf.uniform(1.5, 3.0)
            next_correction = tl.now + float(perf.rng.exponential(correction_mean_s))
        else:
            level = min(level + (still_s + move_s) * drift_per_s, top)
        track.move(move_s, _plateau(perf, person, level, heading))
    tl.hold_until(end)
    track.close()
    tl.event(EVENT_SITTING_BOUT, start, tl.now, label=block.mode)
    return track.label


# --- arguments -------------------------------------------------------------------------


def _check_hours(hours: object) -> float:
    if (
        isinstance(hours, bool)
        or not isinstance(hours, int | float | np.integer | np.floating)
        or not math.isfinite(float(hours))
        or not MIN_HOURS <= float(hours) <= MAX_HOURS
    ):
        raise ConfigurationError(
            f"hours must be a number of hours from {MIN_HOURS:g} to {MAX_HOURS:g} "
            f"(e.g. 16.0), got {hours!r}"
        )
    return float(hours)


# --- the day ---------------------------------------------------------------------------


def _enter(
    tl: Timeline, perf: Performer, previous: str, target: str, pose: Pose, duration_s: float
) -> None:
    transition_segment(tl, perf, previous, target, pose)
    bout_segment(tl, perf, target, pose, duration_s)


def simulate_day(
    seed: int,
    *,
    hours: float = NOMINAL_DAY_H,
    rate_hz: float = 100.0,
    profile: str | PerformerProfile = "typical",
    sensor_errors: SensorErrorModel | None = None,
    mount_rotation: Rotation | Any | None = None,
    wear: BeltWear | None = None,
    bends: bool = False,
) -> Recording:
    """Simulate a working day of all-day wear with two IMUs and ground truth.

    ``hours`` (1–24 h) is the length of the recording, exactly; ``rate_hz`` (Hz) the
    sample rate; ``profile`` a name in :data:`~spinecoach.sim.PROFILES` or a
    :class:`PerformerProfile` (it shapes the desk-break cat-cow and scales the slouch
    depth); ``sensor_errors`` defaults to :meth:`SensorErrorModel.realistic`.
    ``mount_rotation`` turns the sensors on the skin (a sensor worn upside down or
    rotated): a scipy ``Rotation`` or quaternion ``[x, y, z, w]`` for both sensors, or a
    mapping ``{"lower": ..., "upper": ...}`` for some; it changes the sensor data, never
    the truth. ``wear`` (a :class:`~spinecoach.sim.activities.BeltWear`): one belt-worn
    sensor or phone on the pelvis, anywhere around the waist, turned and tilted (the
    recording has the ``lower`` sensor only; ``mount_rotation`` must then be None).
    ``bends``: the day also holds bouts of deep forward bends and stoops (truth activity
    ``"bending"``: in the morning, the evening and sometimes at lunch). The same
    arguments always give a bit-identical recording; the movement depends only on the
    seed, hours, profile and ``bends``. See the module docstring for the truth.

    >>> rec = simulate_day(4, hours=1.0, rate_hz=5.0)
    >>> float(rec.meta["slouch_threshold_deg"]) > 10.0
    True
    """
    seed = check_seed(seed)
    day_hours = _check_hours(hours)
    rate = check_rate(rate_hz)
    performer_profile = resolve_profile(profile)
    errors = check_errors(sensor_errors)
    mounts = check_mount_rotation(mount_rotation)
    mounts = _wear_mounts(wear, mounts)
    if not isinstance(bends, bool):
        raise ConfigurationError(f"bends must be True or False, got {bends!r}")

    body_seed, lower_seed, upper_seed = np.random.SeedSequence(seed).spawn(3)
    rng = np.random.default_rng(body_seed)
    perf = Performer(rng, performer_profile)
    heading = float(rng.uniform(0.0, 360.0))
    person = _Person.draw(perf)
    blocks = plan_day(rng, day_hours)
    if bends:
        blocks = with_bends(np.random.default_rng([seed, 7]), blocks, day_hours)
    total_s = day_hours * 3600.0
    time_scale = day_hours / NOMINAL_DAY_H

    tl = _day_timeline(perf, person, blocks, total_s, time_scale)

    meta = _day_meta(performer_profile, person, day_hours, bends=bends)
    rec = assemble_recording(
        tl.finish(rng, heading_deg=heading),
        seed=seed,
        rate_hz=rate,
        position="standing",
        sensor_errors=errors,
        magnetometer=False,
        meta=meta,
        sensor_seeds=(lower_seed, upper_seed),
        mount_rotations=mounts,
    )
    return rec if wear is None else single_sensor(rec, wear)


def _wear_mounts(
    wear: BeltWear | None, mounts: dict[str, FloatArray] | None
) -> dict[str, FloatArray] | None:
    """The sensor mount rotations: ``mounts``, or the belt's when ``wear`` is given."""
    check_wear(wear)
    if wear is not None:
        if mounts is not None:
            raise ConfigurationError(
                "give either wear (one belt-worn sensor) or mount_rotation (two sensors on "
                "the back), not both; turn a belt sensor with BeltWear(roll_deg=...)"
            )
        mounts = {"lower": belt_mount_rotation(wear)}
    return mounts


def _day_timeline(
    perf: Performer, person: _Person, blocks: list[DayBlock], total_s: float, time_scale: float
) -> Timeline:
    """The day's movement: calibration, then each planned bout and the transitions
    between them, then lying in bed until ``total_s``."""
    tl = Timeline(STANDING)
    tl.hold(NEUTRAL_S)
    tl.event(EVENT_CALIBRATION_NEUTRAL, 0.0, NEUTRAL_S, annotate=True)
    tl.event(EVENT_ACTIVITY, 0.0, NEUTRAL_S, label="standing")
    functional_calibration(tl, perf)
    first = max(blocks[0].seconds - NEUTRAL_S, 5.0)
    bout_segment(tl, perf, "standing", STANDING, first)
    previous = "standing"
    for block in blocks[1:]:
        seconds = max(block.seconds, 5.0)
        pose_heading = tl.pose.heading_deg
        if block.kind == SITTING:
            level = perf.uniform(*_MODES[block.mode].start)
            pose = _plateau(perf, person, level, pose_heading)
            target = person.label(_flexion(pose))
            transition_segment(tl, perf, previous, target, pose)
            previous = _sitting_bout(tl, perf, person, block, seconds, level, time_scale)
        else:
            pose = bout_pose(perf, block.kind, pose_heading)
            _enter(tl, perf, previous, block.kind, pose, seconds)
            previous = block.kind
    bed = bout_pose(perf, "lying-supine", tl.pose.heading_deg)
    transition_segment(tl, perf, previous, "lying-supine", bed)
    bout_segment(tl, perf, "lying-supine", bed, max(total_s - tl.now, 5.0))
    return tl


def _day_meta(
    profile: PerformerProfile, person: _Person, day_hours: float, *, bends: bool
) -> dict[str, str]:
    """The recording's ``meta`` for a day (the person's sitting flexions and threshold)."""
    meta = {
        "kind": "working-day",
        "profile": profile.name,
        "day_hours": f"{day_hours:g}",
        "slouch_threshold_deg": f"{person.threshold_deg:.6f}",
        "upright_sitting_flexion_deg": f"{_flexion(person.upright):.6f}",
        "slouched_sitting_flexion_deg": f"{_flexion(person.slouched):.6f}",
    }
    if bends:
        meta["bends"] = "true"
    return meta


def day_truth_summary(recording: Recording) -> dict[str, Any]:
    """Totals of a simulated day from its truth events (seconds unless named otherwise).

    ``posture_s`` (seconds per activity label), ``sitting_bouts``, ``longest_bout_s``,
    ``slouched_share`` (of the sitting time, 0–1), ``desk_breaks`` and ``duration_s``.

    >>> summary = day_truth_summary(simulate_day(2, hours=1.0, rate_hz=5.0))
    >>> summary["sitting_bouts"] > 0, 0.0 <= summary["slouched_share"] <= 1.0
    (True, True)
    """
    if recording.truth is None:
        raise ConfigurationError(
            "the recording has no ground truth; simulate one with simulate_day(seed)"
        )
    events = recording.truth.events
    posture_s: dict[str, float] = {}
    for event in events:
        if event.kind == EVENT_ACTIVITY:
            posture_s[event.label] = posture_s.get(event.label, 0.0) + event.end_s - event.start_s
    bouts = [e.end_s - e.start_s for e in events if e.kind == EVENT_SITTING_BOUT]
    sitting = posture_s.get(_UPRIGHT, 0.0) + posture_s.get(_SLOUCHED, 0.0)
    return {
        "duration_s": recording.duration_s,
        "posture_s": posture_s,
        "sitting_bouts": len(bouts),
        "longest_bout_s": max(bouts, default=0.0),
        "slouched_share": posture_s.get(_SLOUCHED, 0.0) / sitting if sitting else 0.0,
        "desk_breaks": sum(e.kind == EVENT_DESK_BREAK for e in events),
    }
