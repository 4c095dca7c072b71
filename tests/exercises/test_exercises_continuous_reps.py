"""Reps as people do them (issue 13): synthetic angle frames with known answers.

Each session is built frame by frame from analytic shapes, so the right answer is known
exactly: a set-up movement into the start position (lying down, getting onto hands and
knees, sitting down, standing up), a still start of 0.3–0.8 s, then N reps back to back
(raised-cosine excursions of 1.5–4 s, ranges drawn per rep), with or without pauses,
then lateral bends and axial rotations to both sides that carry 2–5° of sagittal
cross-talk in the working direction (the worst case) — sometimes also before the set.
Sensor-like noise (0.2° white, a slow 1° wander) is added. The engine must count exactly
N reps, none overlapping a distractor or the set-up, streaming equal to batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from spinecoach.conventions import (
    ANGLE_COLUMNS,
    AXIAL_ROTATION,
    LATERAL_BEND,
    LOWER_INCLINATION,
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    TRUNK_INCLINATION,
    UPPER_INCLINATION,
)
from spinecoach.errors import CatalogueError, ConfigurationError
from spinecoach.exercises import ExerciseEngine, default_catalogue, detect_exercise
from spinecoach.exercises.catalogue import load_catalogue, packaged_catalogue_text
from spinecoach.exercises.detect import TECHNIQUE_POSITIONS
from spinecoach.exercises.reps import RepSegmenter, SegmenterSettings
from spinecoach.motion.process import AngleFrames
from spinecoach.recording import Event

NOMINAL = {"standing": 0.0, "seated": 0.0, "supine": -90.0, "quadruped": 90.0}


@dataclass
class Session:
    """Angles (deg) of a synthetic session and its known events (s)."""

    rate_hz: float
    position: str
    time: list[float] = field(default_factory=list)
    main: list[float] = field(default_factory=list)  # the working movement (deg)
    lateral: list[float] = field(default_factory=list)
    axial: list[float] = field(default_factory=list)
    trunk_extra: list[float] = field(default_factory=list)  # set-up: trunk off nominal
    pelvis_extra: list[float] = field(default_factory=list)
    lumbar_extra: list[float] = field(default_factory=list)
    reps: list[tuple[float, float]] = field(default_factory=list)
    distractors: list[tuple[float, float]] = field(default_factory=list)
    setup: list[tuple[float, float]] = field(default_factory=list)

    @property
    def now(self) -> float:
        return len(self.time) / self.rate_hz

    def add(
        self,
        seconds: float,
        main: object = 0.0,
        lateral: object = 0.0,
        axial: object = 0.0,
        trunk: object = 0.0,
        pelvis: object = 0.0,
        lumbar: object = 0.0,
    ) -> None:
        """Append ``seconds`` of frames; each value is a constant or f(s) of s in [0, 1]."""
        n = max(1, round(seconds * self.rate_hz))
        s = np.arange(n) / n
        start = self.now
        self.time += (start + np.arange(n) / self.rate_hz).tolist()
        for values, spec in (
            (self.main, main),
            (self.lateral, lateral),
            (self.axial, axial),
            (self.trunk_extra, trunk),
            (self.pelvis_extra, pelvis),
            (self.lumbar_extra, lumbar),
        ):
            out = spec(s) if callable(spec) else np.full(n, float(spec))  # type: ignore[arg-type]
            values += np.asarray(out, dtype=float).tolist()


def bump(s: np.ndarray) -> np.ndarray:
    """0 → 1 → 0, raised cosine."""
    return 0.5 * (1.0 - np.cos(2.0 * math.pi * s))


def ramp(s: np.ndarray) -> np.ndarray:
    """0 → 1, minimum jerk."""
    return s**3 * (10.0 - 15.0 * s + 6.0 * s**2)


def two_lobes(first: float, second: float, share: float):  # type: ignore[no-untyped-def]
    """``first`` over ``share`` of the time, then ``second`` (raised-cosine lobes)."""

    def f(s: np.ndarray) -> np.ndarray:
        a = first * bump(np.clip(s / share, 0, 1))
        b = second * bump(np.clip((s - share) / (1.0 - share), 0, 1))
        return np.where(s < share, a, b)

    return f


RANGES = {  # (low, high) of the working excursion, deg; (low, high) of the opposite one
    "pelvic-tilt": ((6.0, 13.0), None),
    "hip-hinge": ((18.0, 35.0), None),
    "flexion-extension/standing": ((30.0, 55.0), (5.0, 15.0)),
    "flexion-extension/seated": ((25.0, 45.0), (3.0, 10.0)),
    "cat-cow": ((8.0, 16.0), (8.0, 15.0)),
    "cat-cow-seated": ((5.0, 10.0), (5.0, 10.0)),
}


def _setup(sess: Session, rng: np.random.Generator) -> None:
    """Getting into the start position, relative to a standing neutral."""
    start = sess.now
    p = sess.position
    if p in ("supine", "quadruped"):
        # Lying down / getting onto hands and knees: the trunk turns 90°, the pelvis and
        # lumbar spine move on the way; the main signal settles where the position's is.
        sign = 1.0 if p == "quadruped" else -1.0
        sess.add(
            float(rng.uniform(3.0, 5.0)),
            main=lambda s: 15.0 * bump(s),
            trunk=lambda s: sign * 90.0 * (ramp(s) - 1.0),
            pelvis=lambda s: 20.0 * bump(s),
        )
    else:
        # Sitting down (seated) or standing up from a chair (standing): the trunk leans
        # 40–50° forward from the hips first (the pelvis tilts with it), the low back
        # rounds in the middle of the movement, then both come back.
        lean = float(rng.uniform(40.0, 50.0))
        before = 10.0 if p == "standing" else 0.0
        sess.add(
            float(rng.uniform(2.0, 3.0)),
            main=lambda s: before * (1 - ramp(s)) + 12.0 * bump(np.clip((s - 0.3) / 0.4, 0, 1)),
            trunk=lambda s: lean * bump(s),
            pelvis=lambda s: -15.0 * (1 - ramp(s)) if p == "standing" else 0.0 * s,
        )
    sess.setup.append((start, sess.now))


def _distractor(sess: Session, rng: np.random.Generator, kind: str, side: float) -> None:
    start = sess.now
    amplitude = side * float(rng.uniform(20.0, 30.0) if kind == "bend" else rng.uniform(25.0, 40.0))
    talk = float(rng.uniform(2.0, 5.0))  # sagittal cross-talk in the working direction
    sess.add(
        float(rng.uniform(2.0, 3.5)),
        main=lambda s: talk * bump(s),
        lateral=(lambda s: amplitude * bump(s)) if kind == "bend" else 0.0,
        axial=(lambda s: amplitude * bump(s)) if kind == "rotation" else 0.0,
    )
    sess.distractors.append((start, sess.now))
    sess.add(float(rng.uniform(0.0, 0.4)))


def make_session(
    technique: str,
    position: str,
    seed: int,
    *,
    reps: int,
    pauses: bool,
    rate_hz: float = 50.0,
    setup: bool | None = None,
    before: bool | None = None,
) -> Session:
    """A session (see the module docstring); ``setup`` (default: all but hip-hinge) and
    ``before`` (distractors before the set; default: odd seeds) can be forced."""
    rng = np.random.default_rng(seed)
    key = technique if technique != "flexion-extension" else f"{technique}/{position}"
    (lo, hi), opposite = RANGES[key]
    sess = Session(rate_hz, position)
    if setup is None:
        setup = technique != "hip-hinge"  # see test_a_sit_down_looks_like_a_hinge
    if before is None:
        before = seed % 2 == 1
    # Before the set-up: standing (supine, hands and knees, seated) or seated (standing).
    first_s = float(rng.uniform(0.2, 0.5))
    if position == "standing":
        sess.add(first_s, main=10.0, pelvis=-15.0)
    else:
        sess.add(first_s, trunk=-NOMINAL[position])
    if setup:
        _setup(sess, rng)
    sess.add(float(rng.uniform(0.3, 0.8)))  # people start within a second
    if before:
        for kind in ("bend", "rotation"):
            _distractor(sess, rng, kind, 1.0)
            _distractor(sess, rng, kind, -1.0)
    for _ in range(reps):
        duration = float(rng.uniform(1.5, 4.0))
        peak = float(rng.uniform(lo, hi))
        start = sess.now
        if technique.startswith("cat-cow"):
            cow = float(rng.uniform(*opposite))  # type: ignore[misc]
            sess.add(duration, main=two_lobes(-cow, peak, 0.5))
        elif opposite is not None:
            ext = float(rng.uniform(*opposite))
            sess.add(duration, main=two_lobes(peak, -ext, 0.6))
        else:
            sess.add(duration, main=lambda s, a=peak: a * bump(s))
        sess.reps.append((start, sess.now))
        if pauses:
            sess.add(float(rng.uniform(0.5, 3.0)))
    sess.add(float(rng.uniform(0.2, 1.0)))
    for kind in ("bend", "rotation"):
        for _ in range(2):
            _distractor(sess, rng, kind, 1.0)
            _distractor(sess, rng, kind, -1.0)
    sess.add(1.0)
    return sess


def to_frames(sess: Session, technique: str, seed: int) -> AngleFrames:
    """Clinical angles of the session (deg), with sensor-like noise."""
    rng = np.random.default_rng(seed + 1000)
    n = len(sess.time)
    t = np.asarray(sess.time)
    x = np.asarray(sess.main)
    nominal = NOMINAL[sess.position]
    if technique == "pelvic-tilt":
        pelvis, lumbar = -x, 0.9 * x
    elif technique == "hip-hinge":
        pelvis, lumbar = x, 0.05 * x
    elif technique.startswith("cat-cow"):
        pelvis, lumbar = -0.4 * x, x
    else:
        pelvis, lumbar = 0.4 * x, x
    trunk_extra = np.asarray(sess.trunk_extra)  # the whole trunk and pelvis tilt with it
    pelvis = pelvis + np.asarray(sess.pelvis_extra) + trunk_extra
    lumbar = lumbar + np.asarray(sess.lumbar_extra)
    wander = 1.0 * np.sin(2 * math.pi * t / 40.0 + rng.uniform(0, 6))

    def noisy(v: np.ndarray) -> np.ndarray:
        return v + rng.normal(0.0, 0.2, n)

    lower = pelvis
    upper = lower + lumbar
    angles = {
        LUMBAR_FLEXION: noisy(lumbar + 0.3 * wander),
        PELVIC_TILT_DEG: noisy(pelvis + wander),
        TRUNK_INCLINATION: noisy(nominal + upper),
        UPPER_INCLINATION: noisy(nominal + upper),
        LOWER_INCLINATION: noisy(nominal + lower),
        LATERAL_BEND: noisy(np.asarray(sess.lateral)),
        AXIAL_ROTATION: noisy(np.asarray(sess.axial)),
    }
    assert set(angles) == set(ANGLE_COLUMNS)
    return AngleFrames(t, angles, np.zeros(n, dtype=np.uint8), sess.rate_hz)


CASES = [
    ("pelvic-tilt", "supine"),
    ("hip-hinge", "seated"),
    ("flexion-extension", "standing"),
    ("flexion-extension", "seated"),
    ("cat-cow", "quadruped"),
    ("cat-cow-seated", "seated"),
]


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


@pytest.mark.parametrize("pauses", [False, True], ids=["continuous", "pauses"])
@pytest.mark.parametrize(("technique", "position"), CASES, ids=[f"{t}/{p}" for t, p in CASES])
def test_exact_counts_and_no_distractor_or_setup_reps(
    technique: str, position: str, pauses: bool
) -> None:
    for seed in range(8):
        rate = (25.0, 50.0, 100.0)[seed % 3]
        n_reps = 3 + seed % 3
        sess = make_session(technique, position, seed, reps=n_reps, pauses=pauses, rate_hz=rate)
        frames = to_frames(sess, technique, seed)
        result = detect_exercise(frames, technique)
        spans = [(r.start_s, r.end_s) for r in result.reps]
        where = f"seed {seed}: reps {[(round(a, 1), round(b, 1)) for a, b in spans]}"
        assert len(result.reps) == n_reps, where
        # No rep is mostly a distractor or the set-up (a rep may end at the local minimum
        # just inside the next movement's onset).
        for span in spans:
            for other in (*sess.distractors, *sess.setup):
                limit = 0.5 * min(span[1] - span[0], other[1] - other[0])
                assert _overlap(span, other) < limit, (where, other)
        # Each true rep is found once, where it is (its peak inside it).
        for true in sess.reps:
            assert sum(true[0] <= r.peak_s <= true[1] for r in result.reps) == 1, where
        assert "position_note" not in result.info
        # The distractors are discarded as another movement, each said why.
        planes = [d for d in result.discarded if "plane" in d.reason]
        assert all(
            any(_overlap((d.start_s, d.end_s), x) > 0 for x in sess.distractors) for d in planes
        )


@pytest.mark.xfail(strict=True, reason="known limitation: a sit-down leads with the hips")
def test_a_sit_down_looks_like_a_hinge() -> None:
    """Sitting down tilts the pelvis forward with the trunk and back, as a hip-hinge
    does; with no hip angle and no calibration protocol the engine cannot tell them apart
    once the person was still standing first (documented, not hidden)."""
    rng = np.random.default_rng(0)
    sess = Session(50.0, "seated")
    sess.add(0.5)
    _setup(sess, rng)
    sess.add(1.0)
    result = detect_exercise(to_frames(sess, "hip-hinge", 0), "hip-hinge")
    assert result.reps == ()


@pytest.mark.parametrize(("technique", "position"), CASES[1:4], ids=lambda v: str(v))
def test_streaming_equals_batch(technique: str, position: str) -> None:
    sess = make_session(technique, position, 5, reps=4, pauses=False)
    frames = to_frames(sess, technique, 5)
    batch = detect_exercise(frames, technique)
    engine = ExerciseEngine(technique)
    streamed = []
    names = list(frames.angles)
    for k, t in enumerate(frames.time_s.tolist()):
        streamed += engine.update(t, {n: float(frames.angles[n][k]) for n in names})
    streamed += engine.finish()  # the data end (detect_exercise does the same)
    assert len(batch.reps) == 4
    assert [(r.start_s, r.peak_s, r.end_s, r.range_deg, r.quality) for r in streamed] == [
        (r.start_s, r.peak_s, r.end_s, r.range_deg, r.quality) for r in batch.reps
    ]
    assert engine.result().discarded == batch.discarded


def test_a_rep_cut_by_the_end_of_the_data_counts_only_if_it_came_back() -> None:
    """The recording stops during the last rep's return (counted: it came back within 35 %
    of its range) or at its peak (not counted: it never came back)."""
    sess = make_session("flexion-extension", "standing", 3, reps=3, pauses=False)
    frames = to_frames(sess, "flexion-extension", 3)
    last = sess.reps[-1]
    peak_s = last[0] + 0.3 * (last[1] - last[0])  # the flexion lobe peaks at 30 %

    def cut(at_s: float) -> AngleFrames:
        keep = frames.time_s <= at_s
        return AngleFrames(
            frames.time_s[keep],
            {k: v[keep] for k, v in frames.angles.items()},
            frames.flags[keep],
            frames.rate_hz,
        )

    returning = cut(last[0] + 0.58 * (last[1] - last[0]))  # just before neutral
    assert len(detect_exercise(returning, "flexion-extension").reps) == 3
    at_peak = detect_exercise(cut(peak_s), "flexion-extension")
    assert len(at_peak.reps) == 2
    assert any("ended during a rep" in d.reason for d in at_peak.discarded)


def test_angles_no_spine_makes_interrupt_a_rep() -> None:
    """A rep during which the lateral bend reads 80° (a sensor handled or slipping) is not
    counted, and the result says why; the reps after it are."""
    sess = make_session("hip-hinge", "seated", 4, reps=4, pauses=True)
    frames = to_frames(sess, "hip-hinge", 4)
    second = sess.reps[1]
    lateral = frames.angles[LATERAL_BEND].copy()
    mid = (frames.time_s > second[0] + 0.3) & (frames.time_s < second[0] + 0.6)
    lateral[mid] = 80.0
    handled = AngleFrames(
        frames.time_s, {**frames.angles, LATERAL_BEND: lateral}, frames.flags, frames.rate_hz
    )
    assert len(detect_exercise(frames, "hip-hinge").reps) == 4
    result = detect_exercise(handled, "hip-hinge")
    assert len(result.reps) == 3
    assert not any(r.start_s <= second[0] + 0.45 <= r.end_s for r in result.reps)
    assert any("angles no spine makes (lateral_bend_deg 80°)" in d.reason for d in result.discarded)


def test_the_out_of_plane_check_can_fail_without_it_bends_count() -> None:
    """The same pelvic-tilt session with the lateral bend and axial rotation hidden (NaN:
    no second sensor to compare) counts the distractors' cross-talk as reps: the check is
    what rejects them."""
    sess = make_session("pelvic-tilt", "supine", 2, reps=3, pauses=False)
    frames = to_frames(sess, "pelvic-tilt", 2)
    assert len(detect_exercise(frames, "pelvic-tilt").reps) == 3
    hidden = dict(frames.angles)
    hidden[LATERAL_BEND] = np.full(len(frames), np.nan)
    hidden[AXIAL_ROTATION] = np.full(len(frames), np.nan)
    blind = AngleFrames(frames.time_s, hidden, frames.flags, frames.rate_hz)
    assert len(detect_exercise(blind, "pelvic-tilt").reps) > 3


def test_seated_flexion_extension_is_in_its_start_position() -> None:
    """Flexion-extension allows standing and seated (the catalogue's ``positions``); a
    seated trial calibrated seated is counted and never told it was not standing."""
    technique = default_catalogue().technique("flexion-extension")
    assert technique.positions == ("standing", "seated")
    assert TECHNIQUE_POSITIONS["flexion-extension"] == technique.positions
    for name, positions in TECHNIQUE_POSITIONS.items():
        assert default_catalogue().technique(name).positions == positions
    sess = make_session("flexion-extension", "seated", 4, reps=3, pauses=False)
    result = detect_exercise(
        to_frames(sess, "flexion-extension", 4), "flexion-extension", calibrated_position="seated"
    )
    assert len(result.reps) == 3
    assert "position_note" not in result.info
    assert result.info["position_s"]["seated"] > 5.0


def test_a_position_never_seen_names_every_allowed_one() -> None:
    sess = make_session("cat-cow", "quadruped", 1, reps=3, pauses=False)
    frames = to_frames(sess, "cat-cow", 1)
    on_all_fours = frames.time_s > sess.setup[0][1]  # from the end of the set-up on
    frames = AngleFrames(
        frames.time_s[on_all_fours],
        {k: v[on_all_fours] for k, v in frames.angles.items()},
        frames.flags[on_all_fours],
        frames.rate_hz,
    )
    result = detect_exercise(frames, "flexion-extension")
    assert result.reps == ()
    assert "never showed the standing or seated start position" in result.info["position_note"]


def test_personal_range_from_the_reps_themselves() -> None:
    """No calibration rep: the target band comes from the session's own reps."""
    sess = make_session("hip-hinge", "seated", 3, reps=5, pauses=True)
    result = detect_exercise(to_frames(sess, "hip-hinge", 3), "hip-hinge")
    ranges = [r.range_deg for r in result.reps]
    assert result.info["personal_range_source"] == "the session's reps"
    assert result.info["personal_range_deg"] == pytest.approx(float(np.median(ranges)))
    assert math.isnan(result.reps[0].measures["target_hold_s"])  # nothing to judge it by yet
    assert all(math.isfinite(r.measures["target_hold_s"]) for r in result.reps[1:])
    # With a calibration-rep annotation still to come, the reps do not set it.
    window = Event("calibration-rep", 1000.0, 1001.0)
    pending = detect_exercise(to_frames(sess, "hip-hinge", 3), "hip-hinge", annotations=(window,))
    assert pending.info["personal_range_deg"] is None


def test_cat_cow_from_the_movement_only_without_any_annotation() -> None:
    sess = make_session("cat-cow", "quadruped", 6, reps=4, pauses=False)
    frames = to_frames(sess, "cat-cow", 6)
    moved = detect_exercise(frames, "cat-cow")
    assert len(moved.reps) == 4
    assert "counted from the movement" in moved.info["breath_source"]
    assert all(math.isnan(r.measures["lag_s"]) for r in moved.reps)
    # A coached recording (its practice rep is logged) whose pacer log is missing: not
    # scored. Calibration windows pasted in by hand are not the coach.
    coached = detect_exercise(frames, "cat-cow", annotations=(Event("calibration-rep", 0, 1),))
    assert coached.reps == ()
    assert "no breathing-pacer log" in coached.info["breath_source"]
    pasted = (Event("calibration-neutral", 0.0, 0.5), Event("calibration-functional", 0.5, 3))
    assert len(detect_exercise(frames, "cat-cow", annotations=pasted).reps) == 4
    assert detect_exercise(frames, "cat-cow", breath_source="pacer").reps == ()
    with pytest.raises(ConfigurationError, match="breath_source must be one of auto"):
        detect_exercise(frames, "cat-cow", breath_source="camera")


def test_segmenter_settings_and_signal_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"out-of-plane signals .* name them"):
        RepSegmenter(SegmenterSettings(0.0), ("a",), out_of_plane=("b",))
    text = packaged_catalogue_text().replace(
        'positions = ["standing", "seated"]', 'positions = ["seated", "standing"]'
    )
    path = tmp_path / "techniques.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError, match="position 'standing' first"):
        load_catalogue(path)


def _sacrum_only(frames: AngleFrames) -> AngleFrames:
    """The frames a single sensor on the sacrum gives: no thorax, so no lumbar angle, no
    trunk, no side bend or twist."""
    nan = np.full(len(frames), np.nan)
    gone = (LUMBAR_FLEXION, TRUNK_INCLINATION, UPPER_INCLINATION, LATERAL_BEND, AXIAL_ROTATION)
    angles = {k: (nan if k in gone else v) for k, v in frames.angles.items()}
    return AngleFrames(frames.time_s, angles, frames.flags, frames.rate_hz)


@pytest.mark.parametrize(
    ("technique", "position"), [("hip-hinge", "seated"), ("flexion-extension", "seated")]
)
def test_one_sensor_on_the_sacrum_counts_without_the_coach(technique: str, position: str) -> None:
    """Continuous reps and the distractors after the set, from the sacrum alone. (Before
    the first rep there is no rep to compare a movement's size with, and with one sensor
    no side bend or twist: a set-up or a distractor there can count. Not asserted.)"""
    for seed in range(4):
        sess = make_session(
            technique,
            position,
            seed,
            reps=3 + seed % 2,
            pauses=seed % 2 == 0,
            setup=False,
            before=False,
        )
        frames = _sacrum_only(to_frames(sess, technique, seed))
        result = detect_exercise(frames, technique)
        assert len(result.reps) == len(sess.reps), seed
        assert "one sensor, on the sacrum" in result.info["sensors_note"]
        assert "position_note" not in result.info
        # The coach always records both sensors: there, one missing is reported instead.
        coached = detect_exercise(frames, technique, annotations=(Event("calibration-rep", 0, 1),))
        assert coached.reps == ()
        assert "upper sensor is missing" in coached.info["position_note"]


def test_a_rep_ends_when_the_person_settles_a_little_off_the_neutral_taken() -> None:
    """After a bend a person often stands a few degrees from the neutral the calibration
    took (a squat, then quiet standing slightly extended): the rep ends once they have
    settled there, instead of lasting until the next movement (vicon_squat's 14.6-s rep)."""
    from spinecoach.conventions import ANGLE_COLUMNS

    rate = 50.0
    t = np.arange(0.0, 24.0, 1.0 / rate)
    lumbar = np.zeros_like(t)
    first = (t >= 1.0) & (t < 4.0)
    lumbar[first] = 40.0 * np.sin(np.pi * (t[first] - 1.0) / 3.0) ** 2
    lumbar[(t >= 4.0) & (t < 5.0)] = -3.5 * (t[(t >= 4.0) & (t < 5.0)] - 4.0)
    lumbar[(t >= 5.0) & (t < 15.0)] = -3.5
    second = (t >= 15.0) & (t < 18.0)
    lumbar[second] = -3.5 + 43.5 * np.sin(np.pi * (t[second] - 15.0) / 3.0) ** 2
    lumbar[t >= 18.0] = -3.5
    angles = {name: np.zeros_like(t) for name in ANGLE_COLUMNS}
    angles[LUMBAR_FLEXION] = lumbar
    angles[TRUNK_INCLINATION] = 1.5 * lumbar
    angles["upper_inclination_deg"] = 1.5 * lumbar
    angles["pelvic_tilt_deg"] = 0.5 * lumbar
    angles["lower_inclination_deg"] = 0.5 * lumbar
    frames = AngleFrames(t, angles, np.zeros(t.shape[0], dtype=np.uint8), rate)
    result = detect_exercise(frames, "flexion-extension")
    assert len(result.reps) == 2, [(r.start_s, r.end_s) for r in result.reps]
    assert result.reps[0].end_s < 8.0  # settled from 5 s: ended within the settle time


def test_a_heading_drift_is_no_twist_but_a_twist_and_back_is() -> None:
    """Two sensors without a magnetometer drift apart in heading (real gyroscope biases:
    1-2°/s, most in supine): the pelvic tilts are still counted under a 2°/s drift of the
    axial rotation, while a 10° twist and back during a rep still rejects it."""
    sess = make_session("pelvic-tilt", "supine", 2, reps=3, pauses=False)
    frames = to_frames(sess, "pelvic-tilt", 2)
    assert len(detect_exercise(frames, "pelvic-tilt").reps) == 3
    t = frames.time_s
    drifting = frames.angles[AXIAL_ROTATION] - 2.0 * (t - t[0])
    drift = AngleFrames(
        t, {**frames.angles, AXIAL_ROTATION: drifting}, frames.flags, frames.rate_hz
    )
    assert len(detect_exercise(drift, "pelvic-tilt").reps) == 3
    second = sess.reps[1]
    twist = frames.angles[AXIAL_ROTATION].copy()
    middle = 0.5 * (second[0] + second[1])
    twist += 10.0 * np.exp(-(((t - middle) / 0.6) ** 2))  # a twist and back within the rep
    twisted = AngleFrames(t, {**frames.angles, AXIAL_ROTATION: twist}, frames.flags, frames.rate_hz)
    result = detect_exercise(twisted, "pelvic-tilt")
    assert len(result.reps) == 2
    assert any("out of the technique's plane" in d.reason for d in result.discarded)
