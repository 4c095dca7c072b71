"""The exercise engine end to end: cat-cow with the pacer, cues, streaming = batch."""

from __future__ import annotations

import pytest

from spinecoach.conventions import EVENT_REP
from spinecoach.exercises import ExerciseEngine, detect_exercise
from spinecoach.exercises.catalogue import default_catalogue
from spinecoach.exercises.cues import TIMING_KEYS, TIMING_MIN_INTERVAL_S, CueScheduler
from spinecoach.motion import MotionTracker, SensorSample, motion_process
from spinecoach.recording import Recording
from spinecoach.sim import simulate


def _stream(rec: Recording, technique: str) -> ExerciseEngine:
    tracker = MotionTracker(
        rates_hz={p: s.rate_hz for p, s in rec.sensors.items()},
        position=rec.meta["position"],
        annotations=rec.events,
    )
    engine = ExerciseEngine(technique, annotations=rec.events)
    samples = sorted(
        (
            SensorSample(p, float(s.time_s[i]), s.acc_mps2[i], s.gyr_dps[i])
            for p, s in rec.sensors.items()
            for i in range(s.n_samples)
        ),
        key=lambda x: (x.time_s, x.placement),
    )
    for sample in samples:
        for frame in tracker.update(sample):
            engine.update(frame.time_s, frame.angles)
    return engine


@pytest.mark.parametrize("technique", ["cat-cow", "hip-hinge"])
def test_streaming_equals_batch_with_faults_and_cues(technique: str) -> None:
    rec = simulate(technique, seed=2, reps=4, sets=1, profile="novice")
    frames, _ = motion_process(rec)
    batch = detect_exercise(frames, technique, annotations=rec.events)
    live = _stream(rec, technique).result()
    assert len(batch.reps) == 4
    assert [(r.start_s, r.end_s, r.fault_names, r.quality) for r in live.reps] == [
        (r.start_s, r.end_s, r.fault_names, r.quality) for r in batch.reps
    ]
    assert [(c.time_s, c.key) for c in live.cues] == [(c.time_s, c.key) for c in batch.cues]


def test_cat_cow_counts_pacer_cycles_and_measures_the_lag() -> None:
    rec = simulate("cat-cow", seed=1, profile="typical")
    frames, _ = motion_process(rec)
    result = detect_exercise(frames, "cat-cow", annotations=rec.events)
    assert rec.truth is not None
    assert len(result.reps) == sum(e.kind == EVENT_REP for e in rec.truth.events) == 8
    assert result.info["calibration_reps"] == 1  # the calibration breath is not counted
    # The upper sensor's own respiration signal is tried, and said to be masked here.
    respiration = result.info["respiration_upper_sensor"]
    assert respiration["usable"] is False and "movement" in respiration["reason"]
    assert result.info["breath_source"] == "the breathing pacer's log"
    lags = [r.measures["lag_s"] for r in result.reps if not r.faults]
    assert all(0.0 <= lag < 1.0 for lag in lags)
    assert all(r.measures["range_deg"] > 15.0 for r in result.reps if not r.faults)


def test_cat_cow_without_the_pacer_log_is_not_scored_and_says_why() -> None:
    rec = simulate("cat-cow", seed=4, profile="expert")
    unpaced = tuple(e for e in rec.events if not e.kind.startswith("breath-"))
    frames, _ = motion_process(rec)
    result = detect_exercise(frames, "cat-cow", annotations=unpaced)
    assert result.reps == ()
    assert "no breathing-pacer log" in result.info["breath_source"]
    paced = detect_exercise(frames, "cat-cow", annotations=rec.events)
    assert paced.info["breath_source"] == "the breathing pacer's log"


@pytest.mark.parametrize("technique", ["pelvic-tilt", "cat-cow", "flexion-extension"])
def test_cues_never_flood_and_say_why(technique: str) -> None:
    rec = simulate(technique, seed=5, profile="novice")
    frames, _ = motion_process(rec)
    result = detect_exercise(frames, technique, annotations=rec.events)
    spec = default_catalogue().technique(technique)
    assert result.cues
    for before, after in zip(result.cues, result.cues[1:], strict=False):
        gap = after.time_s - before.time_s
        limit = TIMING_MIN_INTERVAL_S if after.key in TIMING_KEYS else spec.cue_min_interval_s
        assert gap >= limit - 1e-9, (before, after)
    assert all(c.text and c.reason for c in result.cues)
    keys = {c.key for c in result.cues}
    if technique == "cat-cow":
        assert {"inhale", "exhale"} <= keys
    else:
        assert {"hold", "release"} <= keys


def test_a_fault_is_said_with_its_catalogue_cue() -> None:
    rec = simulate("hip-hinge", seed=1, profile="novice")
    frames, _ = motion_process(rec)
    result = detect_exercise(frames, "hip-hinge", annotations=rec.events)
    faulty = [r for r in result.reps if r.faults]
    said = [c for c in result.cues if c.key.startswith("fault:")]
    assert faulty and said
    spec = default_catalogue().technique("hip-hinge")
    for cue in said:
        assert cue.text == spec.fault(cue.key.removeprefix("fault:")).cue


def test_cue_scheduler_rules() -> None:
    cues = CueScheduler(default_catalogue().technique("pelvic-tilt"))
    assert cues.offer(0.0, "get_ready", "settled") is not None
    assert cues.offer(1.0, "start", "rested") is None  # within 2.5 s
    assert cues.offer(1.2, "hold", "hold began", seconds=3) is not None  # timing cue
    assert cues.offer(1.5, "release", "reached") is None  # timing cues ≥ 1 s apart
    assert cues.offer(4.0, "start", "rested") is not None
    assert cues.offer(10.0, "start", "rested") is None  # no repeat within 20 s
    assert [c.text for c in cues.cues][1] == "Hold… 3"
