"""The calibration the coach leads from a live sensor's data (CoachScript), checked on
simulated sessions whose ground truth says when the person bent, got into position,
held still and did the practice rep; then a whole devices session as the pump runs it.

The lower sensor is fed in batches of 10 samples (0.1 s), as a Bluetooth sensor's
packets or a phone's pushes arrive. The simulated person follows the simulator's
protocol (not the coach's prompts); the script must find each step in the data.

Cat-cow and seated cat-cow are left out: their reps are led by the breathing pacer, and
the simulated person breathes on the simulator's own schedule rather than the coach's
pacer, so counting their reps against the coach's pacer would not check anything real.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pytest

from spinecoach.coach.devices import NEUTRAL_HOLD_S, SETTLE_S, STEP_LIMIT_S, CoachScript
from spinecoach.coach.session import LiveSession
from spinecoach.conventions import (
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_CALIBRATION_REP,
    EVENT_SETUP,
)
from spinecoach.recording import Event, Recording
from spinecoach.sim import simulate
from spinecoach.sim.techniques import TECHNIQUE_POSITIONS

TECHNIQUES = ("pelvic-tilt", "hip-hinge", "flexion-extension")
SEEDS = range(5)
BATCH = 10
#: A smooth movement ends slowly: its last tenths of a second are already below the
#: stillness threshold, so a hold may start this much (s) before the setup's nominal end.
SETTLING_S = 0.3


@dataclass(frozen=True)
class Run:
    recording: Recording
    windows: tuple[Event, ...]
    notes: tuple[str, ...]
    step: str
    reps: int


def _truth(recording: Recording, kind: str, label: str = "") -> Event:
    found = [e for e in recording.truth.events if e.kind == kind and e.label == label]
    assert len(found) == 1, (kind, label, found)
    return found[0]


def _window(run: Run, kind: str) -> Event:
    found = [w for w in run.windows if w.kind == kind]
    assert len(found) == 1, (kind, run.windows)
    return found[0]


@functools.cache
def _recording(technique: str, seed: int) -> Recording:
    return simulate(technique, seed=seed, reps=4)


def _pump(technique: str, seed: int) -> tuple[tuple[Event, ...], tuple[str, ...], str, int]:
    """The script on the lower sensor and a LiveSession on both, fed as DevicePump does
    (the lower sensor leads; the other sensor's samples up to the same time follow):
    the windows found, the script's notes and last step, and the reps counted."""
    recording = _recording(technique, seed)
    lower, upper = recording.sensors["lower"], recording.sensors["upper"]
    script = CoachScript(technique, TECHNIQUE_POSITIONS[technique])
    session = LiveSession(technique, rates_hz={"lower": 100.0, "upper": 100.0})
    windows: list[Event] = []
    upper_done = 0
    for start in range(0, len(lower.time_s), BATCH):
        part = slice(start, start + BATCH)
        t = lower.time_s[part]
        session.add_batch("lower", 100.0, t, lower.acc_mps2[part], lower.gyr_dps[part])
        _prompts, found = script.update(t, lower.acc_mps2[part], lower.gyr_dps[part])
        if found:
            session.feed(found)
            windows.extend(found)
        until = int(np.searchsorted(upper.time_s, t[-1], side="right"))
        if until > upper_done:
            part = slice(upper_done, until)
            session.add_batch(
                "upper", 100.0, upper.time_s[part], upper.acc_mps2[part], upper.gyr_dps[part]
            )
            upper_done = until
    if upper_done < len(upper.time_s):
        part = slice(upper_done, None)
        session.add_batch(
            "upper", 100.0, upper.time_s[part], upper.acc_mps2[part], upper.gyr_dps[part]
        )
    session.finish()
    assert session.result is not None
    return tuple(windows), tuple(script.notes), script.step, len(session.result.reps)


CASES = [(technique, seed) for technique in TECHNIQUES for seed in SEEDS]


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, int], Run]:
    """Every case, run in parallel processes (the motion pipeline costs seconds a case).
    Under pytest-xdist (``make test``) the other worker already uses the second core, and
    forking a worker that runs threads invites deadlocks: the cases then run in turn."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return {case: Run(_recording(*case), *_pump(*case)) for case in CASES}
    context = multiprocessing.get_context("fork")
    workers = min(len(CASES), os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = pool.map(_pump, *zip(*CASES, strict=True))
        return {
            case: Run(_recording(*case), *result)
            for case, result in zip(CASES, results, strict=True)
        }


@pytest.mark.parametrize(("technique", "seed"), CASES)
def test_the_functional_window_matches_the_simulated_bends(
    runs: dict[tuple[str, int], Run], technique: str, seed: int
) -> None:
    run = runs[technique, seed]
    truth = _truth(run.recording, EVENT_CALIBRATION_FUNCTIONAL)
    found = _window(run, EVENT_CALIBRATION_FUNCTIONAL)
    assert abs(found.start_s - truth.start_s) <= 1.0, (found, truth)
    assert abs(found.end_s - truth.end_s) <= 1.0, (found, truth)


@pytest.mark.parametrize(("technique", "seed"), CASES)
def test_the_neutral_window_lies_in_the_start_position(
    runs: dict[tuple[str, int], Run], technique: str, seed: int
) -> None:
    run = runs[technique, seed]
    recording = run.recording
    setup = _truth(recording, EVENT_SETUP, "into-position")
    practice = _truth(recording, EVENT_CALIBRATION_REP)
    functional = _truth(recording, EVENT_CALIBRATION_FUNCTIONAL)
    found = _window(run, EVENT_CALIBRATION_NEUTRAL)
    assert found.end_s - found.start_s == pytest.approx(NEUTRAL_HOLD_S, abs=0.02)
    # The person is in the start position from the end of the setup to the practice rep.
    # Standing, the setup only moves the hips 5 cm forward without turning the trunk
    # (sim.poses.SETUP_PATHS), so the start position already holds after the bends.
    in_position_s = (
        functional.end_s if TECHNIQUE_POSITIONS[technique] == "standing" else setup.end_s
    )
    assert found.start_s >= in_position_s - SETTLING_S, (found, setup)
    assert found.end_s <= practice.start_s, (found, practice)
    # And the sensor's true inclination in the window is the one of the neutral hold the
    # simulation annotated (within 1°): the window is the start position, not a transition.
    annotated = _truth(recording, EVENT_CALIBRATION_NEUTRAL)
    time_s = recording.truth.time_s
    inclination = recording.truth.series["lower_inclination_deg"]
    reference = inclination[(time_s >= annotated.start_s) & (time_s <= annotated.end_s)].mean()
    inside = inclination[(time_s >= found.start_s) & (time_s <= found.end_s)]
    assert np.abs(inside - reference).max() < 1.0


@pytest.mark.parametrize(("technique", "seed"), CASES)
def test_the_practice_window_opens_before_the_practice_rep(
    runs: dict[tuple[str, int], Run], technique: str, seed: int
) -> None:
    run = runs[technique, seed]
    truth = _truth(run.recording, EVENT_CALIBRATION_REP)
    found = _window(run, EVENT_CALIBRATION_REP)
    neutral = _window(run, EVENT_CALIBRATION_NEUTRAL)
    assert found.start_s == pytest.approx(neutral.end_s)
    assert found.start_s < truth.start_s < found.end_s
    assert found.end_s - found.start_s == pytest.approx(STEP_LIMIT_S["practice"])


@pytest.mark.parametrize(("technique", "seed"), CASES)
def test_every_step_is_seen_in_time(
    runs: dict[tuple[str, int], Run], technique: str, seed: int
) -> None:
    run = runs[technique, seed]
    assert run.notes == ()
    assert run.step == "done"
    kinds = [w.kind for w in run.windows]
    assert kinds == [EVENT_CALIBRATION_FUNCTIONAL, EVENT_CALIBRATION_NEUTRAL, EVENT_CALIBRATION_REP]


@pytest.mark.parametrize(("technique", "seed"), CASES)
def test_a_devices_session_led_by_the_script_counts_the_true_reps(
    runs: dict[tuple[str, int], Run], technique: str, seed: int
) -> None:
    run = runs[technique, seed]
    meta = run.recording.meta
    assert run.reps == int(meta["reps"]) * int(meta["sets"])


# -- a person who does not follow ------------------------------------------------------------


def _standing_still(duration_s: float, seed: int = 0) -> tuple[np.ndarray, ...]:
    """A person standing still: gravity up plus sensor noise, a slow sway under 1 deg/s."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(duration_s * 100)) / 100.0
    acc = np.tile([0.0, 0.0, 9.81], (len(t), 1)) + rng.normal(0.0, 0.02, (len(t), 3))
    gyr = rng.normal(0.0, 0.3, (len(t), 3))
    return t, acc, gyr


def _feed(script: CoachScript, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> list[Event]:
    windows: list[Event] = []
    for start in range(0, len(t), BATCH):
        part = slice(start, start + BATCH)
        windows.extend(script.update(t[part], acc[part], gyr[part])[1])
    return windows


def test_a_person_who_never_bends_is_moved_on_after_the_step_limit() -> None:
    limit_s = STEP_LIMIT_S["functional"]
    t, acc, gyr = _standing_still(limit_s + 10.0)
    script = CoachScript("flexion-extension", "standing")
    windows = _feed(script, t, acc, gyr)
    functional = [w for w in windows if w.kind == EVENT_CALIBRATION_FUNCTIONAL]
    assert len(functional) == 1
    # Taken as it was: from the end of the settling to the limit.
    assert functional[0].start_s == pytest.approx(SETTLE_S)
    assert functional[0].end_s == pytest.approx(limit_s, abs=0.05)
    assert script.notes == [
        f"functional calibration: 0 of 3 bends seen in {limit_s:.0f} s; "
        "the window was taken as it was"
    ]
    # Standing still is the start position: the neutral hold follows 5 s later.
    neutral = [w for w in windows if w.kind == EVENT_CALIBRATION_NEUTRAL]
    assert len(neutral) == 1
    assert neutral[0].start_s == pytest.approx(functional[0].end_s, abs=0.05)
    assert script.step == "practice"


def test_no_bends_and_no_stillness_notes_both_steps() -> None:
    """A person who keeps fidgeting: every step times out and says so."""
    rng = np.random.default_rng(3)
    duration_s = STEP_LIMIT_S["functional"] + STEP_LIMIT_S["position"] + 5.0
    t = np.arange(round(duration_s * 100)) / 100.0
    acc = np.tile([0.0, 0.0, 9.81], (len(t), 1))
    gyr = np.column_stack([10.0 + rng.normal(0, 1, len(t)), np.zeros(len(t)), np.zeros(len(t))])
    script = CoachScript("flexion-extension", "standing")
    windows = _feed(script, t, acc, gyr)
    assert len(script.notes) == 2
    assert script.notes[0].startswith("functional calibration: 0 of 3 bends")
    assert script.notes[1].startswith("neutral hold: no 5 s of stillness")
    neutral = [w for w in windows if w.kind == EVENT_CALIBRATION_NEUTRAL]
    assert len(neutral) == 1
    limit_end = STEP_LIMIT_S["functional"] + STEP_LIMIT_S["position"]
    assert neutral[0].end_s == pytest.approx(limit_end, abs=0.1)


def _with_standing_pause(recording: Recording, pause_s: float) -> tuple[np.ndarray, ...]:
    """The lower sensor's data with ``pause_s`` more seconds of standing still just before
    the setup into position (copies of the 2 s the person stood still there)."""
    sensor = recording.sensors["lower"]
    t, acc, gyr = sensor.time_s, sensor.acc_mps2, sensor.gyr_dps
    setup = _truth(recording, EVENT_SETUP, "into-position")
    still = (t >= setup.start_s - 2.0) & (t < setup.start_s)
    before = t < setup.start_s
    copies = round(pause_s / 2.0)
    parts_t = [t[before]] + [t[still] + 2.0 * k for k in range(1, copies + 1)]
    parts_t.append(t[~before] + 2.0 * copies)
    parts_acc = [acc[before]] + [acc[still]] * copies + [acc[~before]]
    parts_gyr = [gyr[before]] + [gyr[still]] * copies + [gyr[~before]]
    new_t = np.concatenate(parts_t)
    assert np.all(np.diff(new_t) > 0)
    return new_t, np.concatenate(parts_acc), np.concatenate(parts_gyr)


@pytest.mark.parametrize("seed", [0, 1])
def test_lying_down_is_not_calibrated_standing(seed: int) -> None:
    """Pelvic tilt is done lying: 10 s of standing still before lying down are not the
    start position (stillness alone would have been a 5 s neutral hold)."""
    recording = simulate("pelvic-tilt", seed=seed, reps=2)
    pause_s = 10.0
    t, acc, gyr = _with_standing_pause(recording, pause_s)
    setup = _truth(recording, EVENT_SETUP, "into-position")
    lying_from_s = setup.end_s + pause_s
    script = CoachScript("pelvic-tilt", "supine")
    windows = _feed(script, t, acc, gyr)
    neutral = [w for w in windows if w.kind == EVENT_CALIBRATION_NEUTRAL]
    assert len(neutral) == 1
    assert neutral[0].start_s >= lying_from_s - SETTLING_S, (neutral[0], lying_from_s)
    assert script.notes == []
    # The standing pause alone was long enough to be taken for a hold by a standing script.
    standing = CoachScript("flexion-extension", "standing")
    hold = [w for w in _feed(standing, t, acc, gyr) if w.kind == EVENT_CALIBRATION_NEUTRAL]
    assert hold and hold[0].end_s < setup.start_s + pause_s
    assert math.isfinite(hold[0].start_s)
