"""The camera coach's steps on a synthetic person: framing, the neutral hold, the practice
rep and the sets; the person leaving the picture; the silhouette for cat-cow."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from spinecoach.camera import live as live_module
from spinecoach.camera.landmarks import LandmarkSequence
from spinecoach.camera.live import (
    NEUTRAL_HOLD_S,
    NEUTRAL_LIMIT_S,
    OUTLINE_UNSEEN,
    UNSEEN_PAUSE_S,
    CameraCoach,
    CameraUpdate,
)
from spinecoach.camera.source import NO_PERSON, CameraFrame, PoseResult
from spinecoach.camera.synthetic import FPS, SIZE, rep_profile, side_skeleton, standing_mask
from spinecoach.conventions import LUMBAR_FLEXION, PELVIC_TILT_DEG
from spinecoach.errors import ConfigurationError
from spinecoach.exercises import ExerciseEngine
from spinecoach.exercises.model import ExerciseResult
from spinecoach.motion.flags import FLAG_GAP, FLAG_NOT_CALIBRATED


def test_module_doctests() -> None:
    assert doctest.testmod(live_module).failed == 0


def run(
    coach: CameraCoach,
    seq: LandmarkSequence,
    *,
    absent: tuple[float, float] | None = None,
    masks: list[np.ndarray] | None = None,
) -> tuple[list[CameraUpdate], ExerciseResult]:
    """Every frame through the coach and an exercise engine, as the live session does."""
    engine = ExerciseEngine(coach.technique)
    updates = []
    for k in range(seq.n_frames):
        t = float(seq.time_s[k])
        mask = None if masks is None else masks[k]
        pose = PoseResult(seq.landmarks[k], None, seq.visibility[k], mask)
        if absent is not None and absent[0] <= t < absent[1]:
            pose = NO_PERSON
        update = coach.process(CameraFrame(t, pose, SIZE))
        for window in update.windows:
            engine.add_annotation(window)
        engine.update(update.frame.time_s, update.frame.angles)
        updates.append(update)
    return updates, engine.result()


def _hinges(reps: int = 5, start_s: float = 6.0) -> LandmarkSequence:
    t = np.arange(0.0, start_s + reps * 10.0 + 2.0, 1.0 / FPS)
    return side_skeleton(rep_profile(t, reps, 30.0, start_s=start_s), seated=True)


def test_steps_and_reps_of_a_hip_hinge_session() -> None:
    coach = CameraCoach("hip-hinge")
    updates, result = run(coach, _hinges())
    steps = [u.status.step for u in updates]
    first = {step: steps.index(step) / FPS for step in ("neutral", "practice", "sets")}
    assert first["neutral"] == pytest.approx(1.0, abs=0.05)  # framed for a second
    assert first["practice"] == pytest.approx(1.0 + NEUTRAL_HOLD_S, abs=0.1)
    windows = [w for u in updates for w in u.windows]
    assert [w.kind for w in windows] == [
        "calibration-neutral",  # announced
        "calibration-neutral",  # found
        "calibration-rep",
    ]
    assert windows[1].end_s - windows[1].start_s >= NEUTRAL_HOLD_S - 0.05
    # Before the neutral every frame is "not calibrated" with NaN angles, then mapped.
    before = [u.frame for u in updates if u.frame.time_s < windows[1].end_s]
    assert all(f.flags & FLAG_NOT_CALIBRATED for f in before)
    assert all(math.isnan(f.angles[PELVIC_TILT_DEG]) for f in before)
    assert max(u.frame.angles[PELVIC_TILT_DEG] for u in updates[len(before) :]) == pytest.approx(
        30.0, abs=1.0
    )
    assert result.info["calibration_reps"] == 1
    assert len(result.reps) == 4
    assert all(u.status.framed and not u.status.out_of_frame for u in updates[30:])
    assert not coach.notes


def test_leaving_the_picture_pauses_and_cuts_the_rep_under_way() -> None:
    coach = CameraCoach("hip-hinge")
    absent = (28.0, 30.0)  # inside the third rep (26-32 s)
    updates, result = run(coach, _hinges(), absent=absent)
    gone = [u for u in updates if absent[0] <= u.frame.time_s < absent[1]]
    assert all(u.frame.flags & FLAG_GAP for u in gone)
    assert all(not u.status.person for u in gone)
    paused = [u.frame.time_s for u in gone if u.status.out_of_frame]
    assert paused[0] == pytest.approx(absent[0] + UNSEEN_PAUSE_S, abs=1.5 / FPS)
    after = [u for u in updates if u.frame.time_s >= absent[1] + 0.1]
    assert not any(u.status.out_of_frame for u in after)
    assert len(result.reps) == 3
    assert all(r.end_s < absent[0] or r.start_s > absent[1] for r in result.reps)


def test_the_neutral_hold_waits_for_stillness_and_starts_again_after_leaving() -> None:
    t = np.arange(0.0, 14.0, 1.0 / FPS)
    trunk = np.where(t < 5.0, 10.0 * np.sin(2 * np.pi * 0.5 * t), 0.0)  # restless, then still
    seq = side_skeleton(trunk, seated=True)
    coach = CameraCoach("hip-hinge")
    updates, _ = run(coach, seq, absent=(6.0, 6.5))
    found = [w for u in updates for w in u.windows if w.kind == "calibration-rep"]
    assert len(found) == 1
    # Still from 5 s, gone 6-6.5 s: the hold restarts at 6.5 s and ends 3 s later.
    assert found[0].start_s == pytest.approx(6.5 + NEUTRAL_HOLD_S, abs=0.1)


def test_a_person_never_still_is_calibrated_at_the_limit_with_a_note() -> None:
    t = np.arange(0.0, NEUTRAL_LIMIT_S + 4.0, 1.0 / FPS)
    seq = side_skeleton(10.0 * np.sin(2 * np.pi * 0.5 * t), seated=True)
    coach = CameraCoach("hip-hinge")
    updates, _ = run(coach, seq)
    assert coach.calibrated
    assert coach.notes and "not 3 s still" in coach.notes[0]
    start = next(u.frame.time_s for u in updates if u.status.step == "practice")
    assert start == pytest.approx(1.0 + NEUTRAL_LIMIT_S, abs=0.1)


def _seated_cat_cow(seconds: float) -> tuple[LandmarkSequence, list[np.ndarray], np.ndarray]:
    """A seated person whose back outline rounds and arches ±12° with the pacer's 7 s
    breaths from 6 s (turn = the silhouette's curvature change)."""
    t = np.arange(0.0, seconds, 1.0 / FPS)
    seq = side_skeleton(np.zeros_like(t), seated=True)
    turn = np.where(t < 6.0, 0.0, -12.0 * np.sin(2 * np.pi * (t - 6.0) / 7.0))
    shoulder_px = seq.landmarks[0, 11, :2] * np.array(SIZE)
    hip_px = seq.landmarks[0, 23, :2] * np.array(SIZE)
    depth = 90.0
    turn = np.round(turn, 1)  # the outline to 0.1°: one mask per distinct turn
    made = {
        a: standing_mask(
            a,
            size=SIZE,
            top=float(shoulder_px[1]),
            bottom=float(hip_px[1]),
            back_x=float(hip_px[0]) - 0.4 * depth,
            depth=depth,
        )[0]
        for a in set(turn.tolist())
    }
    return seq, [made[a] for a in turn.tolist()], turn


def test_cat_cow_reads_the_back_outline_and_runs_the_breathing_pacer() -> None:
    seq, masks, turn = _seated_cat_cow(30.0)
    coach = CameraCoach("cat-cow-seated")
    updates, _ = run(coach, seq, masks=masks)
    assert coach.calibrated
    breaths = [w for u in updates for w in u.windows if w.kind.startswith("breath-")]
    assert [w.kind for w in breaths[:4]] == [
        "breath-inhale",
        "breath-exhale",
        "breath-inhale",
        "breath-exhale",
    ]
    assert breaths[1].start_s - breaths[0].start_s == pytest.approx(3.0)  # the catalogue's
    lumbar = np.array([u.frame.angles[LUMBAR_FLEXION] for u in updates])
    seen = np.isfinite(lumbar)
    assert seen[int(10 * FPS) :].all()
    # The lumbar column follows the outline's turn (smoothed: a small lag).
    error = lumbar[seen][int(FPS) :] - turn[seen][int(FPS) :]
    assert float(np.sqrt(np.mean(error**2))) < 3.0


def test_cat_cow_without_a_clear_outline_says_so_and_never_counts() -> None:
    seq, _masks, _turn = _seated_cat_cow(10.0)
    coach = CameraCoach("cat-cow-seated")
    updates, result = run(coach, seq)  # no segmentation mask at all
    assert not coach.calibrated
    assert updates[-1].status.messages == (OUTLINE_UNSEEN,)
    assert not updates[-1].status.framed
    assert len(result.reps) == 0


def test_status_of_a_paused_frame_does_not_coach() -> None:
    coach = CameraCoach("hip-hinge")
    seq = _hinges(1)
    status = coach.status_of(CameraFrame(0.0, NO_PERSON, SIZE))
    assert not status.person and status.messages
    for k in range(int(2 * FPS)):
        pose = PoseResult(seq.landmarks[k], None, seq.visibility[k], None)
        status = coach.status_of(CameraFrame(k / FPS, pose, SIZE))
    assert status.framed and coach.step == "framing"


def test_what_a_camera_cannot_coach_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="Use a motion sensor"):
        CameraCoach("pelvic-tilt")
