"""Block feeding of the exercise engine and of the live session (issue 17): a block of
frames at once (``ExerciseEngine.update_block``) and a live client's 10-sample messages
(``LiveSession.add_batch``, the tracker's blocks through the engine's) give the same reps,
cues, state and result as one frame (one sample) at a time; on simulations and on virtual
IMUs made from real motion capture.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spinecoach.coach.events import LiveEvent
from spinecoach.coach.session import LiveSession
from spinecoach.exercises.engine import ExerciseEngine
from spinecoach.exercises.model import Rep
from spinecoach.motion import AngleFrames, motion_process
from spinecoach.recording import Event, Recording
from spinecoach.sim import simulate
from spinecoach.sources.simulated import SimulatedSource

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def _per_frame(engine: ExerciseEngine, frames: AngleFrames) -> list[tuple[float, list[Rep]]]:
    names = list(frames.angles)
    out = []
    for k, t in enumerate(frames.time_s.tolist()):
        reps = engine.update(t, {n: float(frames.angles[n][k]) for n in names})
        out.append((t, reps))
    return out


def _by_blocks(
    engine: ExerciseEngine, frames: AngleFrames, seed: int
) -> list[tuple[float, list[Rep]]]:
    """Blocks of 1 to 30 frames; what each frame completed, from ``after_frame``."""
    rng = np.random.default_rng(seed)
    out: list[tuple[float, list[Rep]]] = []
    cuts = np.cumsum(rng.integers(1, 31, size=len(frames)))
    bounds = [0, *cuts[cuts < len(frames)].tolist(), len(frames)]
    for a, b in itertools.pairwise(bounds):
        block = {n: v[a:b] for n, v in frames.angles.items()}
        done = engine.update_block(
            frames.time_s[a:b], block, after_frame=lambda t, _angles, reps: out.append((t, reps))
        )
        assert done == [r for _, reps in out[-(b - a) :] for r in reps]
    return out


def _assert_same_engine(rec: Recording, technique: str, seed: int, **kwargs: Any) -> int:
    frames, info = motion_process(rec)
    engines = [
        ExerciseEngine(
            technique,
            annotations=rec.events,
            calibrated_position=info["calibration"].get("position"),
            **kwargs,
        )
        for _ in range(2)
    ]
    one = _per_frame(engines[0], frames)
    blocks = _by_blocks(engines[1], frames, seed)
    assert [t for t, _ in one] == [t for t, _ in blocks]
    # repr: NaN measures compare equal (nan != nan)
    assert [repr([r.as_dict() for r in reps]) for _, reps in one] == [
        repr([r.as_dict() for r in reps]) for _, reps in blocks
    ]
    for engine in engines:
        engine.finish()
    a, b = (e.result() for e in engines)
    assert repr(a.as_dict()) == repr(b.as_dict())
    assert a.cues == b.cues
    return len(a.reps)


@pytest.mark.parametrize(
    ("technique", "seed"),
    [("pelvic-tilt", 0), ("cat-cow", 1), ("hip-hinge", 2), ("flexion-extension", 3)],
)
def test_engine_blocks_give_the_reps_and_cues_of_frame_by_frame(technique: str, seed: int) -> None:
    rec = simulate(technique, seed=seed, reps=4)
    assert _assert_same_engine(rec, technique, seed) >= 3


def test_engine_blocks_without_the_coach_count_from_the_movement() -> None:
    """A protocol-free recording (no annotation): cat-cow from the movement, the personal
    range from the session's reps."""
    rec = simulate("flexion-extension", seed=4, reps=5, scenario="protocol-free", rate_hz=50.0)
    assert _assert_same_engine(rec, "flexion-extension", 4) >= 3
    rec = simulate("cat-cow", seed=5, reps=5, scenario="protocol-free")
    _assert_same_engine(rec, "cat-cow", 5)


def test_engine_blocks_on_virtual_imus_from_real_motion_capture() -> None:
    """Real movement (stoop lifts, standing bends, squats) read as flexion-extension."""
    from spinecoach.sim.mocap import load_mocap_take, mocap_take_paths, virtual_imu_recording

    paths = mocap_take_paths(SHARED_DATA)
    if not paths:
        pytest.skip(f"real motion capture not found at {SHARED_DATA} (../shared/data is absent)")
    reps = 0
    for k, path in enumerate(paths[:4]):
        rec = virtual_imu_recording(load_mocap_take(path), seed=13)
        reps += _assert_same_engine(rec, "flexion-extension", 40 + k)
        _assert_same_engine(rec, "hip-hinge", 50 + k)


def _live(technique: str, rec: Recording, messages: list[Any]) -> tuple[LiveSession, list[Any]]:
    rates = {p: s.rate_hz for p, s in rec.sensors.items()}
    session = LiveSession(technique, rates_hz=rates, position=rec.meta.get("position"))
    out: list[LiveEvent] = []
    for message in messages:
        if isinstance(message, Event):
            out += session.annotate(message)
        elif isinstance(message, tuple):
            placement, a, b = message
            s = rec.sensors[placement]
            out += session.add_batch(
                placement, rates[placement], s.time_s[a:b], s.acc_mps2[a:b], s.gyr_dps[a:b]
            )
        else:
            out += session.feed([message])
    out += session.finish()
    return session, out


def _client_messages(rec: Recording, size: int) -> list[Any]:
    """Each sensor's ``size``-sample messages in arrival order, the annotations when due."""
    keyed: list[tuple[float, int, Any]] = []
    for order, (placement, sensor) in enumerate(rec.sensors.items()):
        t = sensor.time_s
        bounds = {*range(0, t.shape[0], size), t.shape[0]}
        bounds |= set(np.searchsorted(t, [e.start_s for e in rec.events]).tolist())
        for a, b in itertools.pairwise(sorted(bounds)):
            keyed.append((float(t[b - 1]), 1 + order, (placement, a, b)))
    keyed += [(e.start_s, 0, e) for e in rec.events]
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [m for _, _, m in keyed]


def _kinds(events: list[Any], names: tuple[str, ...]) -> list[str]:
    """The messages of types ``names``, in order (repr: NaN equals NaN)."""
    return [repr(e) for e in events if type(e).__name__ in names]


def _without_calibrated(state: Any) -> str:
    return repr(dataclasses.replace(state, calibrated=None))


def _dedupe(values: list[str]) -> list[str]:
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


@pytest.mark.parametrize(("technique", "seed"), [("pelvic-tilt", 6), ("cat-cow", 7)])
def test_live_session_messages_equal_sample_by_sample(technique: str, seed: int) -> None:
    """Ten-sample messages per sensor (the tracker's and the engine's block paths) tell
    the person exactly what one sample at a time told them: the same reps, cues and
    phases in the same order, the same frames, the same states and the same result.
    (A state may come a few frames earlier among the frames: it reads the tracker after
    the message, so "calibrated" can show from the first frame of the message that
    calibrated the last sensor.)"""
    rec = simulate(technique, seed=seed, reps=3)
    one, one_out = _live(technique, rec, list(SimulatedSource.from_recording(rec).items))
    block, block_out = _live(technique, rec, _client_messages(rec, 10))
    assert len(one.engine.reps) >= 3
    told = ("RepEvent", "CueEvent", "PhaseEvent")
    assert _kinds(one_out, told) == _kinds(block_out, told)
    assert _kinds(one_out, ("FrameEvent",)) == _kinds(block_out, ("FrameEvent",))
    states = [[e for e in out if type(e).__name__ == "StateEvent"] for out in (one_out, block_out)]
    assert states[0][-1] == states[1][-1]
    assert _dedupe([_without_calibrated(s) for s in states[0]]) == _dedupe(
        [_without_calibrated(s) for s in states[1]]
    )
    assert [s.calibrated for s in states[0]].count(True) >= 1
    assert one.result is not None and block.result is not None
    assert repr(one.result.as_dict()) == repr(block.result.as_dict())
