"""What the routes depend on, given through FastAPI's ``Depends``: the settings, the
history (database and local person), the device hub, the posture monitor and the
catalogue, all made once in the app's lifespan and kept in ``app.state``.

A route names what it needs in its signature (``history: HistoryDep``) instead of reading
``request.app.state``; a test can replace any of them with ``app.dependency_overrides``.

:func:`replay_live_samples` is the server's :class:`~spinecoach.services.history.
SampleReplay`: the history service sits below the live session, so the server gives it
the replay of an interrupted session's stored samples through the live session.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Request

from spinecoach.exercises.catalogue import Catalogue
from spinecoach.exercises.model import ExerciseResult
from spinecoach.recording import Recording
from spinecoach.services.history import History
from spinecoach.sources.live import SourceHub
from spinecoach.web.posture_monitor import PostureMonitor
from spinecoach.web.settings import Settings


def replay_live_samples(
    technique: str, recording: Recording | None, live_config: Mapping[str, Any]
) -> ExerciseResult:
    """The live session's result on an interrupted session's stored ``recording`` (its
    samples and annotations fed as live), with the stored ``live_config`` (placements,
    position, auto-calibration; rates from the recording)."""
    from spinecoach.web.session import LiveSession, SimulatedSource

    session = LiveSession(
        technique,
        rates_hz=(
            {p: s.rate_hz for p, s in recording.sensors.items()} if recording is not None else None
        ),
        placements=tuple(live_config.get("placements") or ("lower", "upper")),
        position=live_config.get("position"),
        auto_calibration=bool(live_config.get("auto_calibration", False)),
    )
    if recording is not None:
        session.feed(SimulatedSource.from_recording(recording).items)
    session.finish()
    result = session.result
    assert result is not None
    return result


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_history(request: Request) -> History:
    """The history of the server's local person."""
    history: History = request.app.state.history
    return history


def get_hub(request: Request) -> SourceHub:
    """The live devices (phone push, phyphox, Bluetooth LE)."""
    hub: SourceHub = request.app.state.hub
    return hub


def get_posture(request: Request) -> PostureMonitor | None:
    """The posture monitor, None when the server does not monitor posture."""
    monitor: PostureMonitor | None = getattr(request.app.state, "posture", None)
    return monitor


def get_catalogue(request: Request) -> Catalogue:
    """The technique catalogue."""
    catalogue: Catalogue = request.app.state.catalogue
    return catalogue


SettingsDep = Annotated[Settings, Depends(get_settings)]
HistoryDep = Annotated[History, Depends(get_history)]
HubDep = Annotated[SourceHub, Depends(get_hub)]
PostureDep = Annotated[PostureMonitor | None, Depends(get_posture)]
CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
