"""The device script with a kept calibration (issue 15 item 6): the coach leads the 5-s
neutral check in the start position instead of the forward bends; a passed check goes
straight to the sets, a failed one to the whole protocol. Fed the lower and upper
sensors of simulated sessions in batches of 10 samples, as the devices' pump does."""

from __future__ import annotations

import json

import numpy as np

from spinecoach.coach.calibration_check import calibration_to_keep
from spinecoach.coach.devices import CHECK_HOLD_S, SETTLE_S, CoachScript
from spinecoach.coach.events import CalibrationCheckEvent, LiveEvent, PhaseEvent
from spinecoach.coach.session import LiveSession
from spinecoach.conventions import EVENT_CALIBRATION_CHECK, EVENT_CALIBRATION_FUNCTIONAL
from spinecoach.motion.calibration_store import PersonalCalibration
from spinecoach.recording import Recording
from spinecoach.sim import simulate
from spinecoach.sources.simulated import SimulatedSource

BATCH = 10


def _kept(seed: int) -> tuple[PersonalCalibration, dict[str, list[float]]]:
    """A full simulated session's calibration (the first session)."""
    recording = simulate("pelvic-tilt", seed=seed, reps=2)
    session = LiveSession(
        "pelvic-tilt", rates_hz={p: s.rate_hz for p, s in recording.sensors.items()}
    )
    session.feed(SimulatedSource.from_recording(recording).items)
    wear = {
        p: [float(v) for v in json.loads(recording.meta[f"{p}_mount_misalignment_deg"])]
        for p in recording.sensors
    }
    kept = calibration_to_keep(session.tracker, session.engine, session.position, wear=wear)
    assert kept is not None
    return kept, wear


def _as_devices(
    recording: Recording, kept: PersonalCalibration
) -> tuple[LiveSession, CoachScript, list[LiveEvent]]:
    """Feed ``recording``'s samples as device batches with the script, as DevicePump."""
    session = LiveSession(
        recording.meta["technique"],
        rates_hz={p: s.rate_hz for p, s in recording.sensors.items()},
        kept_calibration=kept,
    )
    script = CoachScript(session.technique, session.position, kept=True)
    out: list[LiveEvent] = []
    n = min(len(s.time_s) for s in recording.sensors.values())
    for a in range(0, n, BATCH):
        for placement in ("lower", "upper"):
            sensor = recording.sensors[placement]
            b = min(a + BATCH, len(sensor.time_s))
            t, acc, gyr = sensor.time_s[a:b], sensor.acc_mps2[a:b], sensor.gyr_dps[a:b]
            out.extend(session.add_batch(placement, sensor.rate_hz, t, acc, gyr))
            if placement == "lower":
                prompts, windows = script.update(t, acc, gyr)
                out.extend(prompts)
                if windows:
                    out.extend(session.feed(windows))
            verdict = session.neutral_check
            if script.step == "verdict" and verdict is not None:
                out.extend(script.checked(verdict.passed, float(t[-1])))
    out.extend(session.finish())
    return session, script, out


def test_the_coach_leads_the_check_and_goes_straight_to_the_sets() -> None:
    kept, wear = _kept(3)
    recording = simulate("pelvic-tilt", seed=4, calibration="check", mount_misalignment_deg=wear)
    session, script, events = _as_devices(recording, kept)
    prompts = [e for e in events if isinstance(e, PhaseEvent)]
    assert prompts[0].kind == EVENT_CALIBRATION_CHECK
    assert prompts[0].end_s - prompts[0].start_s == SETTLE_S + CHECK_HOLD_S
    window = next(
        e for e in prompts if e.kind == EVENT_CALIBRATION_CHECK and e.start_s != prompts[0].start_s
    )
    assert window.end_s - window.start_s == CHECK_HOLD_S
    assert window.end_s < 6.0  # the simulated person is still in position until 6 s
    [verdict] = [e for e in events if isinstance(e, CalibrationCheckEvent)]
    assert verdict.passed
    assert script.step == "done" and script.notes == []
    assert EVENT_CALIBRATION_FUNCTIONAL not in {e.kind for e in prompts}
    assert session.result is not None and len(session.result.reps) == 10


def test_a_failed_check_leads_the_whole_protocol() -> None:
    kept, wear = _kept(3)
    recording = simulate(
        "pelvic-tilt",
        seed=4,
        calibration="check-then-full",
        mount_misalignment_deg=wear,
        mount_rotation={"lower": [0.0, 0.0, np.sin(np.radians(10.0)), np.cos(np.radians(10.0))]},
    )
    session, _script, events = _as_devices(recording, kept)
    [verdict] = [e for e in events if isinstance(e, CalibrationCheckEvent)]
    assert not verdict.passed and "turned on the skin" in verdict.reason
    kinds = [e.kind for e in events if isinstance(e, PhaseEvent)]
    assert kinds.index(EVENT_CALIBRATION_FUNCTIONAL) > kinds.index(EVENT_CALIBRATION_CHECK)
    assert session.tracker is not None and session.tracker.calibrated
    assert session.result is not None and len(session.result.reps) == 10
