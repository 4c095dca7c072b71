"""What the routes depend on, given through FastAPI's ``Depends``: the settings, the
history (database and local person), the device hub, the posture monitor and the
catalogue, all made once in the app's lifespan and kept in ``app.state``.

A route names what it needs in its signature (``history: HistoryDep``) instead of reading
``request.app.state``; a test can replace any of them with ``app.dependency_overrides``.

:func:`~spinecoach.coach.replay.replay_live_samples` (imported here for ``create_app``)
is the server's :class:`~spinecoach.services.history.SampleReplay`: the history service
sits below the live session, so the server gives it the coach's replay of an interrupted
session's stored samples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.requests import HTTPConnection

from spinecoach.camera.source import CameraSource
from spinecoach.coach.replay import replay_live_samples as replay_live_samples
from spinecoach.exercises.catalogue import Catalogue
from spinecoach.services.history import History
from spinecoach.sources.live import SourceHub
from spinecoach.sources.sensor_logger_push import PushJoiner
from spinecoach.web.posture_monitor import PostureMonitor
from spinecoach.web.settings import Settings


def get_settings(connection: HTTPConnection) -> Settings:
    """The app's settings."""
    settings: Settings = connection.app.state.settings
    return settings


def get_server_history(connection: HTTPConnection) -> History:
    """The server's history as such (health, accounts): not about one person's data."""
    history: History = connection.app.state.history
    return history


def get_history(connection: HTTPConnection) -> History:
    """The history of the person the request is about, as the authorization layer
    (:func:`spinecoach.web.authz.authorize`) decided; a route that reaches here without
    an acting person is a bug, refused rather than served with someone's data."""
    person_id: int | None = getattr(connection.state, "person_id", None)
    if person_id is None:
        raise RuntimeError(
            f"{connection.url.path}: no acting person; its access rule in "
            "spinecoach.web.authz.POLICY must be read, change or device"
        )
    return get_server_history(connection).for_person(person_id)


def get_hub(connection: HTTPConnection) -> SourceHub:
    """The live devices (phone push, phyphox, Bluetooth LE)."""
    hub: SourceHub = connection.app.state.hub
    return hub


def get_posture(connection: HTTPConnection) -> PostureMonitor | None:
    """The posture monitor, None when the server does not monitor posture or monitors
    another person (it watches the server's first person: the local person, or the first
    account's)."""
    monitor: PostureMonitor | None = getattr(connection.app.state, "posture", None)
    person_id = getattr(connection.state, "person_id", None)
    if monitor is None or person_id != monitor.history.person_id:
        return None
    return monitor


def get_catalogue(connection: HTTPConnection) -> Catalogue:
    """The technique catalogue."""
    catalogue: Catalogue = connection.app.state.catalogue
    return catalogue


def get_push_joiners(connection: HTTPConnection) -> dict[str, PushJoiner]:
    """Device id → the joiner of its Sensor Logger pushes (iOS/Android streams joined)."""
    joiners: dict[str, PushJoiner] = connection.app.state.push_joiners
    return joiners


def get_device_tasks(connection: HTTPConnection) -> dict[str, asyncio.Task[None]]:
    """Device id → the server task running its pulled source (phyphox, BLE)."""
    tasks: dict[str, asyncio.Task[None]] = connection.app.state.device_tasks
    return tasks


def get_camera_source(connection: HTTPConnection) -> Callable[[], CameraSource]:
    """Makes the camera of a camera session (``create_app``'s ``camera_source``, else
    ``settings.camera`` through OpenCV and MediaPipe)."""
    made: Callable[[], CameraSource] | None = getattr(connection.app.state, "camera_source", None)
    if made is not None:
        return made
    spec = get_settings(connection).camera
    return lambda: CameraSource(spec)


SettingsDep = Annotated[Settings, Depends(get_settings)]
HistoryDep = Annotated[History, Depends(get_history)]
ServerHistoryDep = Annotated[History, Depends(get_server_history)]
HubDep = Annotated[SourceHub, Depends(get_hub)]
PostureDep = Annotated[PostureMonitor | None, Depends(get_posture)]
CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
PushJoinersDep = Annotated[dict[str, PushJoiner], Depends(get_push_joiners)]
DeviceTasksDep = Annotated[dict[str, asyncio.Task[None]], Depends(get_device_tasks)]
CameraSourceDep = Annotated[Callable[[], CameraSource], Depends(get_camera_source)]
