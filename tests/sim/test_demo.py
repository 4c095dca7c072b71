"""Demonstrations (issue 15 item 8): one rep of each technique as 2-D figure keyframes,
drawn from the simulator's own body model (spinecoach.sim.demo)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spinecoach.conventions import (
    CAT_COW,
    CAT_COW_SEATED,
    EVENT_REP,
    HIP_HINGE,
    LUMBAR_FLEXION,
    PELVIC_TILT,
    PELVIC_TILT_DEG,
    TECHNIQUES,
)
from spinecoach.errors import ConfigurationError
from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.sim import SensorErrorModel, simulate
from spinecoach.sim.demo import DEMO_PROFILE, JOINTS, Demo, technique_demo

CASES = [(name, None) for name in TECHNIQUES] + [("flexion-extension", "seated")]
BREATH_LED = (CAT_COW, CAT_COW_SEATED)


def _main(demo: Demo) -> np.ndarray:
    """The technique's main signal over the rep, in its working direction (deg)."""
    spec = default_catalogue().technique(demo.technique)
    return np.array([f.angles_deg[spec.main_signal] for f in demo.frames]) * spec.direction


def _movement_deg(demo: Demo) -> float:
    """What the catalogue's band is about: the peak in the working direction, or for the
    breath-led cat-cow the swing from cow to cat."""
    main = _main(demo)
    return float(main.max() - main.min()) if demo.technique in BREATH_LED else float(main.max())


def _inclination_deg(points: np.ndarray, top: str, bottom: str) -> np.ndarray:
    """Forward inclination (deg) of the drawn segment bottom → top (x forward, y up)."""
    d = points[:, JOINTS.index(top)] - points[:, JOINTS.index(bottom)]
    return np.degrees(np.arctan2(d[:, 0], d[:, 1]))


def _points(demo: Demo) -> np.ndarray:
    return np.array([f.points for f in demo.frames])


@pytest.mark.parametrize(("technique", "position"), CASES)
def test_the_demonstrated_movement_lies_in_the_catalogues_target_range(
    technique: str, position: str | None
) -> None:
    """The figure moves as far as the catalogue asks: the rep's movement of the main
    signal lies between the target's floor and its most (not numbers written here)."""
    demo = technique_demo(technique, position=position)
    target = default_catalogue().technique(technique).target
    movement = _movement_deg(demo)
    assert target.floor_deg <= movement <= target.max_deg, (technique, movement, target)
    assert demo.frames[0].angles_deg[PELVIC_TILT_DEG] == pytest.approx(0.0, abs=0.3)
    assert demo.frames[0].angles_deg[LUMBAR_FLEXION] == pytest.approx(0.0, abs=0.3)


@pytest.mark.parametrize(("technique", "position"), CASES)
def test_the_demonstration_is_the_simulators_rep(technique: str, position: str | None) -> None:
    """The same performer in a simulated session makes the same rep: the session's truth
    rep value (its main-signal change) equals the demonstration's."""
    demo = technique_demo(technique, position=position)
    recording = simulate(
        technique,
        seed=5,
        reps=1,
        sets=1,
        profile=DEMO_PROFILE,
        position=position,
        sensor_errors=SensorErrorModel.ideal(),
    )
    reps = [e for e in recording.truth.events if e.kind == EVENT_REP]
    assert len(reps) == 1
    spec = default_catalogue().technique(technique)
    expected = abs(reps[0].value)
    assert _movement_deg(demo) == pytest.approx(expected, abs=0.1 * expected), spec.name


@pytest.mark.parametrize(("technique", "position"), CASES)
def test_the_figure_is_drawn_from_the_models_angles(technique: str, position: str | None) -> None:
    """The drawn pelvis turns by the pelvic tilt, and the drawn lumbar segment turns
    against the pelvis by the lumbar flexion, frame by frame."""
    demo = technique_demo(technique, position=position)
    points = _points(demo)
    pelvis = _inclination_deg(points, "l5s1", "hip")
    lumbar = _inclination_deg(points, "t12", "l5s1")
    tilt = np.array([f.angles_deg[PELVIC_TILT_DEG] for f in demo.frames])
    flexion = np.array([f.angles_deg[LUMBAR_FLEXION] for f in demo.frames])
    wrap = lambda a: (a + 180.0) % 360.0 - 180.0  # noqa: E731
    assert np.abs(wrap(pelvis - pelvis[0]) - tilt).max() < 1.0
    assert np.abs(wrap(lumbar - pelvis - (lumbar[0] - pelvis[0])) - flexion).max() < 1.0
    assert np.ptp(points, axis=0).max() > 0.02  # something visibly moves


def test_frames_hold_every_joint_and_stay_above_the_floor() -> None:
    for technique, position in CASES:
        demo = technique_demo(technique, position=position)
        points = _points(demo)
        assert points.shape[1:] == (len(JOINTS), 2)
        assert np.isfinite(points).all()
        assert points[:, :, 1].min() >= -0.01, technique  # nothing sinks through the floor
        times = [f.time_s for f in demo.frames]
        assert times[0] == 0.0
        assert np.allclose(np.diff(times), 1.0 / demo.frame_rate_hz, atol=2e-3)
        assert {f.breath for f in demo.frames} <= {"in", "out", "still"}


def test_the_breath_goes_with_the_movement_as_the_catalogue_says() -> None:
    """Pelvic tilt: breathe out while tilting; cat-cow: breathe in into cow (the back
    arching, lumbar extension), out into cat; hip-hinge: in while folding forward."""

    def share(demo: Demo, phase: str, breath: str) -> float:
        frames = [f for f in demo.frames if f.phase == phase]
        assert frames, phase
        return sum(f.breath == breath for f in frames) / len(frames)

    tilt = technique_demo(PELVIC_TILT)
    assert share(tilt, "start", "out") > 0.8
    hinge = technique_demo(HIP_HINGE)
    assert share(hinge, "start", "in") > 0.8
    for technique in BREATH_LED:
        demo = technique_demo(technique)
        assert share(demo, "inhale", "in") > 0.8
        assert share(demo, "exhale", "out") > 0.8
        assert share(demo, "inhale", "out") == share(demo, "exhale", "in") == 0.0
        flexion = np.array([f.angles_deg[LUMBAR_FLEXION] for f in demo.frames])
        inhale = [i for i, f in enumerate(demo.frames) if f.phase == "inhale"]
        exhale = [i for i, f in enumerate(demo.frames) if f.phase == "exhale"]
        assert flexion[inhale[-1]] < -5.0  # cow: the low back arched
        assert flexion[exhale[-1]] > 5.0  # cat: the low back rounded


def test_the_cues_are_the_catalogues_plain_words() -> None:
    for technique, position in CASES:
        spec = default_catalogue().technique(technique)
        demo = technique_demo(technique, position=position)
        for frame in demo.frames:
            if not frame.cue:
                continue
            key = frame.phase
            expected = spec.cues[key]
            if "{seconds" in expected:
                seconds = int(frame.cue.rsplit(" ", 1)[-1])
                prescribed = spec.dose.hold_s if key == "hold" else spec.dose.extension_hold_s
                assert 1 <= seconds <= math.ceil(prescribed or 0)
                expected = expected.format(seconds=seconds)
            assert frame.cue == expected


def test_key_frames_are_the_start_and_each_end_of_the_movement() -> None:
    tilt = technique_demo(PELVIC_TILT)
    main = _main(tilt)
    assert tilt.key_frames == (0, int(np.argmax(main)))
    cat_cow = technique_demo(CAT_COW)
    main = _main(cat_cow)
    assert set(cat_cow.key_frames) == {0, int(np.argmax(main)), int(np.argmin(main))}
    flexion = technique_demo("flexion-extension")
    assert len(flexion.key_frames) == 3  # standing, bent forward, leaning back


def test_the_same_arguments_give_the_same_frames() -> None:
    assert technique_demo(CAT_COW) == technique_demo(CAT_COW)
    slow = technique_demo(CAT_COW, frame_rate_hz=5.0)
    assert slow.duration_s == pytest.approx(technique_demo(CAT_COW).duration_s, abs=0.2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"technique": "cat"}, "unknown technique 'cat' for a demonstration; use one of"),
        (
            {"technique": CAT_COW, "position": "standing"},
            "position 'standing' is not a start position of cat-cow; use one of quadruped",
        ),
        ({"technique": CAT_COW, "frame_rate_hz": 500}, "frame_rate_hz must be a number of"),
    ],
)
def test_wrong_arguments_say_what_to_use(kwargs: dict[str, object], message: str) -> None:
    technique = kwargs.pop("technique")
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(")):
        technique_demo(technique, **kwargs)  # type: ignore[arg-type]


def test_the_still_pictures_are_captioned_with_the_catalogues_cues() -> None:
    for technique in BREATH_LED:
        cues = default_catalogue().technique(technique).cues
        demo = technique_demo(technique)
        assert demo.key_captions == (cues["get_ready"], cues["inhale"], cues["exhale"])
    cues = default_catalogue().technique("flexion-extension").cues
    standing = technique_demo("flexion-extension")
    assert standing.key_captions == (cues["get_ready"], cues["start"], cues["extend"])
    seated = technique_demo("flexion-extension", position="seated")
    assert seated.key_captions[0] == ""  # "Stand tall…" is not how to sit down
