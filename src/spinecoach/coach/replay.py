"""Replaying an interrupted live session's stored samples through the live session:
:func:`replay_live_samples`, the :class:`~spinecoach.services.history.SampleReplay` the
server and the terminal coach give their history.

Design choice: the history service sits below the live session (``services`` imports
nothing from ``coach``), so the face that opens a history hands it this function; the
replay itself is coach logic (the same :class:`~spinecoach.coach.session.LiveSession`
that ran the session computes its result).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spinecoach.exercises.model import ExerciseResult
from spinecoach.recording import Recording


def replay_live_samples(
    technique: str, recording: Recording | None, live_config: Mapping[str, Any]
) -> ExerciseResult:
    """The live session's result on an interrupted session's stored ``recording`` (its
    samples and annotations fed as live), with the stored ``live_config`` (placements,
    position, auto-calibration, the prescribed ``dose`` it was started with, the kept
    calibration it checked and reused; rates from the recording)."""
    from spinecoach.coach.dose import LiveDose
    from spinecoach.coach.session import LiveSession
    from spinecoach.motion.calibration_store import PersonalCalibration
    from spinecoach.sources.simulated import SimulatedSource

    session = LiveSession(
        technique,
        rates_hz=(
            {p: s.rate_hz for p, s in recording.sensors.items()} if recording is not None else None
        ),
        placements=tuple(live_config.get("placements") or ("lower", "upper")),
        position=live_config.get("position"),
        auto_calibration=bool(live_config.get("auto_calibration", False)),
        kept_calibration=(
            PersonalCalibration.from_json(live_config["kept_calibration"])
            if isinstance(live_config.get("kept_calibration"), Mapping)
            else None
        ),
    )
    dose = live_config.get("dose")
    if isinstance(dose, Mapping):
        session.apply_dose(LiveDose(**dose))
    if recording is not None:
        session.feed(SimulatedSource.from_recording(recording).items)
    session.finish()
    result = session.result
    assert result is not None
    return result


__all__ = ["replay_live_samples"]
