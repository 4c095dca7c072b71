"""HTTP routes of what the server offers: its health, the technique catalogue (with the
plain names people read and each technique's demonstration), and the camera of camera
sessions (can it be used, how each technique is filmed)."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel

from spinecoach import __version__
from spinecoach.camera.setup import CAMERA_VIEWS
from spinecoach.errors import ConfigurationError, SpinecoachError
from spinecoach.exercises.catalogue import Catalogue, Technique
from spinecoach.exercises.engine import SUPPORTED
from spinecoach.web.deps import CameraSourceDep, CatalogueDep, ServerHistoryDep, SettingsDep
from spinecoach.web.protocol import PROTOCOL_VERSION

if TYPE_CHECKING:  # the simulator (and scipy) load with the first demonstration
    from spinecoach.sim.demo import Demo

router = APIRouter()
log = logging.getLogger(__name__)
#: Camera problems already written to the server log (each once per process).
_LOGGED_CAMERA_PROBLEMS: set[str] = set()


class HealthProblemOut(BaseModel):
    """Why the health is not ``ok`` and what to do, in plain words."""

    what: str
    fix: str


class HealthOut(BaseModel):
    """The server's health: ``status`` ``ok`` or ``degraded`` (``problems`` says why and
    what to do; HTTP 503 when the database cannot be written); ``database`` the backend
    and ``writable`` (a real write was taken, then rolled back); ``free_disk_mb`` of the
    database's folder (SQLite; null for a database server) against
    ``min_free_disk_mb``; ``unsaved_sessions`` live sessions whose latest commit failed,
    ``unsaved_s`` the most one keeps in memory (s), ``dropped_samples`` not kept past
    the bound. See ``spinecoach.services.history.HealthReport``."""

    status: Literal["ok", "degraded"]
    protocol: int
    version: str
    database: str
    writable: bool
    free_disk_mb: float | None
    min_free_disk_mb: float
    unsaved_sessions: int
    unsaved_s: float
    dropped_samples: int
    problems: list[HealthProblemOut]


class NamedOut(BaseModel):
    """An id (for the code) and its plain words (for people)."""

    id: str
    label: str


class TechniqueOut(BaseModel):
    """One technique of the catalogue; ``live``: the live coach can coach it.

    ``name``, ``position`` and the fault ids are ids; what people read is ``title``,
    ``position_label``, ``positions[].label``, ``summary``, ``start_position``,
    ``instructions``, ``breathing_note``, ``safety_note`` and ``faults[].label``.
    ``demo`` is the address of its demonstration.
    """

    name: str
    title: str
    position: str
    summary: str
    instructions: list[str]
    main_signal: str
    direction: int
    dose: dict[str, Any]
    live: bool
    position_label: str
    positions: list[NamedOut]
    start_position: str
    breathing_note: str
    safety_note: str
    faults: list[NamedOut]
    demo: str


class DemoFrameOut(BaseModel):
    """The figure at one moment: ``t_s`` (s), ``points`` ([x forward, y up] in m, in the
    order of ``joints``), the ``phase`` id and its ``cue`` in plain words, the ``breath``
    (``in``, ``out``, ``still``) and lung volume (0–1), the model's angles (deg)."""

    t_s: float
    points: list[tuple[float, float]]
    phase: str
    cue: str
    breath: str
    breath_volume: float
    angles_deg: dict[str, float]


class DemoOut(BaseModel):
    """One rep of a technique, drawn from the simulator's body model, with the steps in
    plain words (see ``spinecoach.sim.demo``)."""

    technique: str
    title: str
    position: str
    position_label: str
    main_signal: str
    direction: int
    duration_s: float
    frame_rate_hz: float
    joints: list[str]
    head_radius_m: float
    props: dict[str, tuple[float, float, float, float]]
    key_frames: list[int]
    key_captions: list[str]
    frames: list[DemoFrameOut]
    start_position: str
    instructions: list[str]
    breathing_note: str
    safety_note: str


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


@router.get("/api/health", responses={503: {"model": HealthOut}})
async def health(history: ServerHistoryDep, settings: SettingsDep, response: Response) -> HealthOut:
    """Whether the server can keep data: the database takes a real write, the free disk
    of its folder (threshold: ``settings.health_min_free_mb``), live sessions that could
    not save their latest data. 503 when the database cannot be written."""
    report = await asyncio.to_thread(history.health, min_free_disk_mb=settings.health_min_free_mb)
    if not report.writable:
        response.status_code = 503
    return HealthOut(
        status=report.status,
        protocol=PROTOCOL_VERSION,
        version=__version__,
        database=report.database,
        writable=report.writable,
        free_disk_mb=report.free_disk_mb,
        min_free_disk_mb=report.min_free_disk_mb,
        unsaved_sessions=report.unsaved_sessions,
        unsaved_s=report.unsaved_s,
        dropped_samples=report.dropped_samples,
        problems=[HealthProblemOut(what=p.what, fix=p.fix) for p in report.problems],
    )


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
            **_plain_words(catalogue, t),
        )
        for t in catalogue.techniques.values()
    ]


def _plain_words(catalogue: Catalogue, t: Technique) -> dict[str, Any]:
    """What people read of a technique besides its title, summary and steps."""
    return {
        "position_label": catalogue.position_name(t.position),
        "positions": [NamedOut(id=p, label=catalogue.position_name(p)) for p in t.positions],
        "start_position": t.start_position,
        "breathing_note": t.breathing.note,
        "safety_note": t.safety_note,
        "faults": [NamedOut(id=f.name, label=f.label or f.name) for f in t.faults],
        "demo": f"/api/techniques/{t.name}/demo",
    }


class PositionsOut(BaseModel):
    """Every position id (the start positions and what the coach recognises between
    them) with its plain words."""

    positions: list[NamedOut]


@router.get("/api/positions")
async def positions(catalogue: CatalogueDep) -> PositionsOut:
    return PositionsOut(
        positions=[NamedOut(id=k, label=v) for k, v in catalogue.position_names.items()]
    )


@router.get("/api/techniques/{name}/demo")
async def demo(name: str, catalogue: CatalogueDep, position: str | None = None) -> DemoOut:
    """One rep of technique ``name`` as figure keyframes from the simulator's body model,
    in its usual start position or ``position`` (an id of ``positions``), with its steps
    in plain words. 404 for a technique the catalogue does not have, 422 for a position
    it is not done in."""
    if name not in catalogue.techniques:
        raise HTTPException(
            status_code=404,
            detail=f"no technique {name!r}; the techniques are {', '.join(catalogue.techniques)}",
        )
    t = catalogue.technique(name)
    try:
        shown = await asyncio.to_thread(_demo, name, position)
    except ConfigurationError as error:
        raise HTTPException(status_code=422, detail=str(error)) from None
    return DemoOut(
        technique=name,
        title=t.title,
        position=shown.position,
        position_label=catalogue.position_name(shown.position),
        main_signal=t.main_signal,
        direction=t.direction,
        duration_s=shown.duration_s,
        frame_rate_hz=shown.frame_rate_hz,
        joints=list(shown.joints),
        head_radius_m=shown.head_radius_m,
        props=shown.props,
        key_frames=list(shown.key_frames),
        key_captions=list(shown.key_captions),
        frames=[
            DemoFrameOut(
                t_s=f.time_s,
                points=list(f.points),
                phase=f.phase,
                cue=f.cue,
                breath=f.breath,
                breath_volume=f.breath_volume,
                angles_deg=f.angles_deg,
            )
            for f in shown.frames
        ],
        start_position=t.start_position_in(shown.position),
        instructions=list(t.instructions_in(shown.position)),
        breathing_note=t.breathing.note,
        safety_note=t.safety_note,
    )


@functools.lru_cache(maxsize=16)
def _demo(name: str, position: str | None) -> Demo:
    """The demonstration (deterministic, so each is made once per process)."""
    from spinecoach.sim.demo import technique_demo

    return technique_demo(name, position=position)


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
