"""A kept calibration in the runner (issue 15 item 6), with a real history: kept after a
full calibration, reused after a passed neutral check, and a moved sensor (the
simulator's ``sim_moved_deg``) fails the check and the whole calibration follows."""

from __future__ import annotations

import asyncio
from pathlib import Path

from spinecoach.coach.calibration_check import FAILED_TEXT
from spinecoach.coach.events import CalibrationCheckEvent, LiveEvent, PhaseEvent, SummaryEvent
from spinecoach.coach.runner import LiveRun, LiveStart, build_simulation, pump_for
from spinecoach.coach.session import LiveSession
from spinecoach.conventions import (
    EVENT_CALIBRATION_CHECK,
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_NEUTRAL,
)
from spinecoach.motion.calibration_store import STORED_METHOD
from spinecoach.services.calibration import CalibrationKey, load_calibration
from spinecoach.services.history import History


async def _run(history: object, start: LiveStart) -> tuple[LiveSession, list[LiveEvent]]:
    session, source, _recording = build_simulation(start)
    out: list[LiveEvent] = []

    async def emit(events: list[LiveEvent]) -> None:
        out.extend(events)

    pump = pump_for(session, source, emit, speed=100_000.0)
    run = LiveRun(session, start, emit=emit, history=history, pump=pump)  # type: ignore[arg-type]
    await run.begin()
    await run.finish(ended=await run.run())
    return session, out


def _kinds(events: list[LiveEvent]) -> list[str]:
    return [e.kind for e in events if isinstance(e, PhaseEvent)]


def _key(seed: int) -> CalibrationKey:
    return CalibrationKey(
        "sim", ("lower", "upper"), {p: f"spinecoach-sim:{seed}" for p in ("lower", "upper")}
    )


def test_moved_sensors_fail_the_check_and_calibrate_fully(tmp_path: Path) -> None:
    history = History.open(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    try:
        _first, events = asyncio.run(_run(history, LiveStart("pelvic-tilt", seed=5, reps=2)))
        assert EVENT_CALIBRATION_FUNCTIONAL in _kinds(events)
        kept = load_calibration(history.engine, history.person_id, _key(5))
        assert kept is not None and kept.ranges_deg["pelvic-tilt"] > 3.0

        moved = LiveStart("cat-cow-seated", seed=5, reps=2, sim_moved_deg=20.0)
        session, events = asyncio.run(_run(history, moved))
        [verdict] = [e for e in events if isinstance(e, CalibrationCheckEvent)]
        assert verdict.passed is False and verdict.message == FAILED_TEXT
        assert "lower sensor" in verdict.reason and "turned on the skin" in verdict.reason
        kinds = _kinds(events)
        assert kinds[0] == EVENT_CALIBRATION_CHECK
        assert kinds.index(EVENT_CALIBRATION_FUNCTIONAL) < kinds.index(EVENT_CALIBRATION_NEUTRAL)
        assert events.index(verdict) < next(
            i
            for i, e in enumerate(events)
            if isinstance(e, PhaseEvent) and e.kind == EVENT_CALIBRATION_FUNCTIONAL
        )
        tracker = session.tracker
        assert tracker is not None and tracker.calibrated
        assert all(
            c is not None and c.method != STORED_METHOD for c in tracker.calibrations.values()
        )
        summary = [e for e in events if isinstance(e, SummaryEvent)][-1]
        assert len(summary.result["reps"]) == 2
        # The new full calibration is kept: the next session checks against it.
        again = load_calibration(history.engine, history.person_id, _key(5))
        assert again is not None and again.position == "seated"
    finally:
        history.close()


def test_a_history_stand_in_keeps_nothing_and_another_seed_calibrates_fully(
    tmp_path: Path,
) -> None:
    history = History.open(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    try:
        asyncio.run(_run(history, LiveStart("pelvic-tilt", seed=5, reps=1)))
        _session, events = asyncio.run(_run(history, LiveStart("pelvic-tilt", seed=6, reps=1)))
        assert not any(isinstance(e, CalibrationCheckEvent) for e in events)
        assert EVENT_CALIBRATION_FUNCTIONAL in _kinds(events)  # other sensors: full protocol
    finally:
        history.close()
    _session, events = asyncio.run(_run(None, LiveStart("pelvic-tilt", seed=5, reps=1)))
    assert EVENT_CALIBRATION_FUNCTIONAL in _kinds(events)
    assert not any(isinstance(e, CalibrationCheckEvent) for e in events)


def test_an_interrupted_session_that_reused_a_calibration_is_replayed_with_it(
    tmp_path: Path,
) -> None:
    from spinecoach.coach.replay import replay_live_samples
    from spinecoach.coach.runner import live_config
    from spinecoach.sim import simulate

    history = History.open(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    try:
        asyncio.run(_run(history, LiveStart("pelvic-tilt", seed=5, reps=2)))
        kept = load_calibration(history.engine, history.person_id, _key(5))
    finally:
        history.close()
    assert kept is not None
    recording = simulate(
        "pelvic-tilt", seed=5, reps=2, calibration="check", mount_misalignment_deg=dict(kept.wear)
    )
    session, _source, _rec = build_simulation(LiveStart("pelvic-tilt", seed=5, reps=2))
    session.kept_calibration = kept
    config = live_config(session, LiveStart("pelvic-tilt", seed=5, reps=2))
    assert config["kept_calibration"]["position"] == "supine"
    assert len(replay_live_samples("pelvic-tilt", recording, config).reps) == 2
    del config["kept_calibration"]  # without it, the check's window calibrates nothing
    assert len(replay_live_samples("pelvic-tilt", recording, config).reps) == 0


def test_the_person_can_ask_for_a_full_calibration_with_a_kept_one(tmp_path: Path) -> None:
    """``recalibrate``: the sensors sit differently in a way the check cannot see (turned
    about gravity): the person says so, no check runs, the whole protocol does, and what
    it finds replaces the kept calibration."""
    history = History.open(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    try:
        asyncio.run(_run(history, LiveStart("pelvic-tilt", seed=5, reps=1)))
        first = load_calibration(history.engine, history.person_id, _key(5))
        assert first is not None and first.position == "supine"

        fresh = LiveStart("cat-cow-seated", seed=5, reps=1, recalibrate=True)
        session, events = asyncio.run(_run(history, fresh))
        assert not [e for e in events if isinstance(e, CalibrationCheckEvent)]
        kinds = _kinds(events)
        assert EVENT_CALIBRATION_CHECK not in kinds
        assert EVENT_CALIBRATION_FUNCTIONAL in kinds and EVENT_CALIBRATION_NEUTRAL in kinds
        tracker = session.tracker
        assert tracker is not None and all(
            c is not None and c.method != STORED_METHOD for c in tracker.calibrations.values()
        )
        again = load_calibration(history.engine, history.person_id, _key(5))
        assert again is not None and again.position == "seated"
    finally:
        history.close()
