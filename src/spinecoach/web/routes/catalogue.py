"""HTTP routes of what the server offers: its health, the technique catalogue, and the
camera of camera sessions (can it be used, how each technique is filmed)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from spinecoach import __version__
from spinecoach.camera.setup import CAMERA_VIEWS
from spinecoach.errors import SpinecoachError
from spinecoach.exercises.engine import SUPPORTED
from spinecoach.web.deps import CameraSourceDep, CatalogueDep
from spinecoach.web.protocol import PROTOCOL_VERSION

router = APIRouter()
log = logging.getLogger(__name__)
#: Camera problems already written to the server log (each once per process).
_LOGGED_CAMERA_PROBLEMS: set[str] = set()


class HealthOut(BaseModel):
    status: str
    protocol: int
    version: str


class TechniqueOut(BaseModel):
    """One technique of the catalogue; ``live``: the live coach can coach it."""

    name: str
    title: str
    position: str
    summary: str
    instructions: list[str]
    main_signal: str
    direction: int
    dose: dict[str, Any]
    live: bool


class CameraViewOut(BaseModel):
    coachable: bool
    view: str
    placement: str


class CameraOut(BaseModel):
    """The camera: its label, whether it can be used (else the problem), and how each
    technique is filmed."""

    source: str
    available: bool
    problem: str | None
    techniques: dict[str, CameraViewOut]


@router.get("/api/health")
async def health() -> HealthOut:
    return HealthOut(status="ok", protocol=PROTOCOL_VERSION, version=__version__)


@router.get("/api/techniques")
async def techniques(catalogue: CatalogueDep) -> list[TechniqueOut]:
    return [
        TechniqueOut(
            name=t.name,
            title=t.title,
            position=t.position,
            summary=t.summary,
            instructions=list(t.instructions),
            main_signal=t.main_signal,
            direction=t.direction,
            dose=dataclasses.asdict(t.dose),
            live=t.name in SUPPORTED,
        )
        for t in catalogue.techniques.values()
    ]


@router.get("/api/camera")
async def camera(make: CameraSourceDep) -> CameraOut:
    """The camera of camera sessions: can it be used, and how each technique is
    filmed (the view, where the camera goes, whether a camera can coach it)."""
    source = make()
    try:
        await asyncio.to_thread(source.check_available)
        problem = None
    except SpinecoachError as error:
        problem = str(error)
    if problem is not None and problem not in _LOGGED_CAMERA_PROBLEMS:
        # For whoever runs the server: the page hides the camera choice from the person.
        _LOGGED_CAMERA_PROBLEMS.add(problem)
        log.warning("camera sessions are off, the page hides the camera choice: %s", problem)
    return CameraOut(
        source=source.spec.label,
        available=problem is None,
        problem=problem,
        techniques={
            name: CameraViewOut(coachable=view.coachable, view=view.view, placement=view.placement)
            for name, view in CAMERA_VIEWS.items()
        },
    )
