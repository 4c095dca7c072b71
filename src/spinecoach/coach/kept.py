"""The runner's side of a kept calibration (issue 15 item 6): before a session starts,
look up the person's kept calibration for these sensors and hand it to the session
(:func:`use_kept_calibration`); after a session that calibrated with the whole
protocol, keep its calibration for the next ones (:func:`keep_calibration`).

The simulator's sensors are the seed's (``spinecoach-sim:<seed>`` is their device id in
the key): a session with another seed wears other sensors and calibrates fully, one
with the same seed wears the same sensors again (and moves differently: the check's
timeline is another). A simulated session follows the coach as a person would: with a
kept calibration the simulated person starts in position with the 5-s neutral check,
wearing the sensors as when the calibration was made (its ``wear``: the simulator's
mounting), turned on the skin by ``LiveStart.sim_moved_deg`` when that rehearses moved
sensors. The simulated
person hears the check's verdict before doing anything else, so the recording is made
for it: the same check (:func:`~spinecoach.motion.calibration_store.check_tracker`) is
run on the check's data first, and when it fails the recording is the one whose check is
followed by the whole protocol (``simulate(calibration="check-then-full")``). The live
session then makes its own check on the data it is fed.

Only a history that is a :class:`~spinecoach.services.history.History` keeps
calibrations (a face's stand-in history keeps none); camera sessions and sessions that
calibrate from the data (``auto_calibration``) neither use nor keep one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from spinecoach.coach.calibration_check import calibration_to_keep
from spinecoach.coach.devices import DevicePump
from spinecoach.coach.replay_pump import ReplayPump
from spinecoach.coach.session import LiveSession
from spinecoach.conventions import EVENT_CALIBRATION_CHECK
from spinecoach.errors import SpinecoachError
from spinecoach.motion.calibration_store import PersonalCalibration, check_tracker
from spinecoach.motion.stream import MotionTracker, SensorSample
from spinecoach.recording import Recording
from spinecoach.services.calibration import CalibrationKey, load_calibration, save_calibration
from spinecoach.services.history import History
from spinecoach.sources.simulated import SimulatedSource
from spinecoach.store.live import without_samples

log = logging.getLogger(__name__)


class KeptRun(Protocol):
    """What these functions need of a :class:`~spinecoach.coach.runner.LiveRun`."""

    session: LiveSession
    start: Any
    history: Any
    pump: Any


def _key(run: KeptRun) -> CalibrationKey:
    start, placements = run.start, run.session.placements
    devices = dict(getattr(start, "devices", None) or {})
    if start.source == "sim":  # the seed picks the simulated sensors and how they sit
        from spinecoach.sim.sensors import DEVICE as SIM_DEVICE

        devices = {p: f"{SIM_DEVICE}:{start.seed}" for p in placements}
    return CalibrationKey(start.source, placements, devices)


def _keeps(run: KeptRun) -> bool:
    return (
        isinstance(run.history, History)
        and not run.session.camera
        and not run.start.auto_calibration
        and run.start.source != "camera"
    )


def sim_wear(recording_meta: Mapping[str, str]) -> dict[str, list[float]]:
    """The simulator's mounting misalignment (deg) by placement, from a recording's
    meta (``<placement>_mount_misalignment_deg``)."""
    out: dict[str, list[float]] = {}
    for placement in ("lower", "upper"):
        text = recording_meta.get(f"{placement}_mount_misalignment_deg")
        if text:
            out[placement] = [float(v) for v in json.loads(text)]
    return out


def simulated_check_passes(recording: Recording, kept: PersonalCalibration) -> bool:
    """The neutral check on a simulated recording's check window (as the live session
    will make it), run ahead so the simulated person can follow its verdict."""
    window = next((e for e in recording.events if e.kind == EVENT_CALIBRATION_CHECK), None)
    if window is None:
        return False
    tracker = MotionTracker(
        rates_hz={p: s.rate_hz for p, s in recording.sensors.items()},
        position=recording.meta.get("position"),
        auto_calibration=False,
    )
    source = SimulatedSource.from_recording(recording)
    for time_s, item in zip(source.times_s, source.items, strict=True):
        if time_s > window.end_s + 0.1:
            break
        if isinstance(item, SensorSample):
            tracker.update(item)
    return check_tracker(tracker, kept, (window.start_s, window.end_s)).passed


def simulate_with_kept(start: Any, kept: PersonalCalibration) -> Recording:
    """The simulated session of ``start`` (a ``LiveStart``) for a person with ``kept``:
    the check, then the sets or, when the check fails, the whole protocol."""
    from scipy.spatial.transform import Rotation

    from spinecoach.sim import simulate

    dose = getattr(start, "dose", None)
    moved = getattr(start, "sim_moved_deg", None)
    common: dict[str, Any] = {
        "seed": start.seed,
        "profile": start.profile,
        "reps": start.reps if start.reps is not None or dose is None else dose.reps,
        "mount_misalignment_deg": dict(kept.wear) or None,
        "mount_rotation": None
        if not moved
        else {"lower": Rotation.from_euler("z", float(moved), degrees=True)},
    }
    if dose is not None:
        common.update(sets=dose.sets, hold_s=dose.hold_s)
    recording = simulate(start.technique, calibration="check", **common)
    if not simulated_check_passes(recording, kept):
        recording = simulate(start.technique, calibration="check-then-full", **common)
    outage = getattr(start, "sim_outage_s", None)
    if outage is not None:  # the rehearsed drop-out, as build_simulation makes it
        begin_s, duration_s = outage
        recording = without_samples(recording, begin_s, begin_s + duration_s)
    return recording


async def use_kept_calibration(run: KeptRun) -> PersonalCalibration | None:
    """Give ``run``'s session the person's kept calibration for these sensors (and a
    simulated session the recording that follows it); the calibration, or None (also
    when the person said the sensors were put on afresh: ``start.recalibrate``)."""
    if not _keeps(run) or getattr(run.start, "recalibrate", False):
        return None
    history: History = run.history
    key = _key(run)
    try:
        kept = await asyncio.to_thread(load_calibration, history.engine, history.person_id, key)
    except SQLAlchemyError:
        log.exception("the kept calibration could not be read; calibrating fully")
        return None
    if kept is None:
        return None
    run.session.kept_calibration = kept
    pump = run.pump
    if isinstance(pump, DevicePump) and pump.script is not None and pump.script.step == "waiting":
        pump.script.kept = True  # the coach leads the check first
    if isinstance(pump, ReplayPump) and run.start.source == "sim":
        recording = await asyncio.to_thread(simulate_with_kept, run.start, kept)
        pump.source = SimulatedSource.from_recording(recording)
    return kept


async def keep_calibration(run: KeptRun, session_id: int | None) -> tuple[str, str] | None:
    """After the session: keep its calibration when it calibrated with the whole
    protocol. Returns (what happened, what to do) when it could not be kept."""
    if not _keeps(run):
        return None
    session = run.session
    wear: dict[str, list[float]] = {}
    pump = run.pump
    if isinstance(pump, ReplayPump):
        wear = sim_wear(pump.source.meta)
    try:
        kept = calibration_to_keep(session.tracker, session.engine, session.position, wear=wear)
        if kept is None:
            return None
        history: History = run.history
        await asyncio.to_thread(
            save_calibration,
            history.engine,
            history.person_id,
            _key(run),
            kept,
            session_id=session_id,
        )
    except (SQLAlchemyError, SpinecoachError):
        log.exception("the calibration could not be kept")
        return (
            "your calibration could not be kept for the next sessions",
            "the next session will calibrate again; nothing else is lost",
        )
    return None


__all__ = [
    "KeptRun",
    "keep_calibration",
    "sim_wear",
    "simulate_with_kept",
    "simulated_check_passes",
    "use_kept_calibration",
]
