"""The one runner of a live session: source → session → save loop → events, for every face.

A face (the web socket, the terminal) makes a :class:`LiveSession` and its source, hands
the source to :func:`pump_for` (one path for every source: the simulator's
:class:`~spinecoach.sources.simulated.SimulatedSource`, the live devices'
:class:`~spinecoach.sources.feed_source.FeedSource` by placement, the camera's
:class:`~spinecoach.camera.source.CameraSource`; None: the face feeds the session itself,
e.g. a client's samples) and drives a :class:`LiveRun` with the pump it gets:

1. :meth:`LiveRun.begin` stores the session from its first moment (when the face keeps a
   history), emits its state and joins the process's one commit loop (every session's
   data committed together every half second: :mod:`spinecoach.coach.commit_loop`);
2. :meth:`LiveRun.run` runs the pump to its end, or until :meth:`LiveRun.stop`;
   :meth:`LiveRun.set_paused` pauses and resumes;
3. :meth:`LiveRun.finish` ends the session: the save loop stops, the last data and the
   result are saved, the summary is emitted with the stored session's id.

Everything the person should see goes through ``emit`` as
:mod:`~spinecoach.coach.events`. Saving follows :mod:`spinecoach.services.live`, one
behaviour for every face: a session that cannot be stored runs unsaved, a commit or a
completion that fails is logged and told (a ``not-saved`` notice, ``saved-again`` once the
data kept in memory is written), never swallowed.

:func:`build_simulation` and :func:`live_config` are what a face needs to start a
simulated session and to keep how to replay it; :class:`LiveStart` says what to start,
as plain values (the web maps its start message to it).

Design choice: no results passed back through shared lists; :meth:`LiveRun.run` returns
why the source ended, :meth:`LiveRun.finish` the events it emitted (the summary last).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol, TypeAlias

from spinecoach.camera.live import CameraCoach
from spinecoach.camera.source import CameraSource
from spinecoach.coach.camera import CameraEnded, CameraPump
from spinecoach.coach.commit_loop import Registration, commit_loop
from spinecoach.coach.devices import DevicePump
from spinecoach.coach.dose import LiveDose, LiveSlot
from spinecoach.coach.events import LiveEvent, NoticeEvent, SummaryEvent
from spinecoach.coach.kept import keep_calibration, use_kept_calibration
from spinecoach.coach.replay_pump import ReplayControl, ReplayPump
from spinecoach.coach.session import Emit, LiveSession
from spinecoach.conventions import PLACEMENTS
from spinecoach.errors import ConfigurationError
from spinecoach.exercises.model import ExerciseResult
from spinecoach.recording import Recording
from spinecoach.services.live import (
    StoreNotice,
    begin_storing,
    finish_when_stored,
)
from spinecoach.services.program import refuse_if_stopped
from spinecoach.sources.feed_source import FeedSource
from spinecoach.sources.simulated import SimulatedSource
from spinecoach.store.live import LiveRecorder, without_samples

SourceKind = Literal["sim", "external", "devices", "camera"]
#: The fix told with a ``camera-ended`` notice.
CAMERA_ENDED_FIX: Final = "check the camera; what was done so far is in the summary and saved"


@dataclass(frozen=True)
class LiveStart:
    """What to start: ``technique`` from ``source`` (``sim``, ``external``, ``devices``,
    ``camera``). The simulator takes ``seed``, ``profile``, ``reps`` (per set; None: the
    technique's dose) and ``sim_outage_s`` (``(start_s, duration_s)`` of sensor silence
    to rehearse a drop-out); ``placements``: the sensors an external client declares;
    ``auto_calibration``: calibrate from the data (no announced windows);
    ``recalibrate``: the sensors were put on afresh, so no kept calibration is used (the
    whole protocol runs, and what it finds is kept for the next sessions);
    ``pain_before_mm``: 0–100 mm VAS or None; ``devices``: the device id worn as each
    sensor; ``camera``: a camera session's camera (``camera:0``, ``video:PATH``);
    ``dose``: the prescribed reps, sets, hold and tempo (None: the catalogue's; the
    simulated person then does that many reps, sets and holds); ``slot``: the program's
    daily slot it was started for (``morning``, ``main``, ``deskbreak``; None: a free
    choice). Both are kept with the stored session (its ``live_config``)."""

    technique: str
    source: SourceKind = "sim"
    seed: int = 0
    profile: str = "typical"
    reps: int | None = None
    placements: tuple[str, ...] = PLACEMENTS
    auto_calibration: bool = False
    recalibrate: bool = False
    pain_before_mm: float | None = None
    sim_outage_s: tuple[float, float] | None = None
    devices: Mapping[str, str] | None = None
    camera: str | None = None
    #: Rehearse sensors that moved since the kept calibration: the simulated lower sensor
    #: turned this much (deg) on the skin (``coach.kept``; None: worn as before).
    sim_moved_deg: float | None = None
    dose: LiveDose | None = None
    slot: LiveSlot | None = None


def live_config(session: LiveSession, start: LiveStart) -> dict[str, Any]:
    """What replaying a stored live session needs (kept with the session)."""
    config: dict[str, Any] = {
        "placements": list(session.placements),
        "rates_hz": session.rates_hz,
        "position": session.position,
        "auto_calibration": start.auto_calibration,
    }
    if start.source == "devices":
        config["devices"] = dict(start.devices or {})
    if start.source == "camera":
        config["camera"] = start.camera
    if start.source == "sim":
        config["sim"] = {
            "seed": start.seed,
            "profile": start.profile,
            "reps": start.reps,
            "outage_s": start.sim_outage_s,
        }
    if session.kept_calibration is not None:  # replayed with it (coach.replay)
        config["kept_calibration"] = session.kept_calibration.to_json()
    if start.dose is not None:
        config["dose"] = start.dose.as_dict()
    if start.slot is not None:
        config["slot"] = start.slot
    return config


def build_simulation(start: LiveStart) -> tuple[LiveSession, SimulatedSource, Recording]:
    """Simulate the recording and make its session (worker thread: ~0.1 s of work)."""
    from spinecoach.sim import simulate

    dose = start.dose
    if dose is None:
        recording = simulate(
            start.technique, seed=start.seed, reps=start.reps, profile=start.profile
        )
    else:
        recording = simulate(
            start.technique,
            seed=start.seed,
            reps=start.reps if start.reps is not None else dose.reps,
            sets=dose.sets,
            hold_s=dose.hold_s,
            profile=start.profile,
        )
    if start.sim_outage_s is not None:
        begin_s, duration_s = start.sim_outage_s
        recording = without_samples(recording, begin_s, begin_s + duration_s)
    session = LiveSession(
        start.technique,
        rates_hz={p: s.rate_hz for p, s in recording.sensors.items()},
        position=recording.meta.get("position"),
        auto_calibration=start.auto_calibration,
    )
    if dose is not None:
        session.apply_dose(dose)
    return session, SimulatedSource.from_recording(recording), recording


class LiveHistory(Protocol):
    """What the runner needs of a history (``spinecoach.services.history.History``)."""

    def start_live(
        self,
        technique: str,
        *,
        source: str,
        live_config: Mapping[str, Any],
        pain_before_mm: float | None,
    ) -> LiveRecorder: ...

    def flush(self, recorder: LiveRecorder) -> None: ...

    def complete_live(
        self,
        recorder: LiveRecorder,
        result: ExerciseResult,
        *,
        summary_extra: Mapping[str, Any] | None = None,
    ) -> int: ...


class Pump(Protocol):
    """A source feeding a session in the background: runs until its end or :meth:`stop`
    (returns why it ended, "" when stopped); ``paused`` holds the data back;
    ``reports_pause``: it emits its own state on a pause; ``received``: items received
    by placement (fed or not)."""

    paused: bool
    reports_pause: bool

    @property
    def received(self) -> dict[str, int]: ...

    def stop(self) -> None: ...

    async def run(self) -> str: ...


#: A live session's source: the simulator's, the live devices' (one per placement) or
#: the camera's.
LiveSource: TypeAlias = SimulatedSource | Mapping[str, FeedSource] | CameraSource


def pump_for(
    session: LiveSession,
    source: LiveSource | None,
    emit: Emit,
    *,
    speed: float = 1.0,
    control: ReplayControl | None = None,
    camera_coach: CameraCoach | None = None,
) -> Pump | None:
    """The pump that feeds ``session`` from ``source`` and gives its events to ``emit``
    (None for no source: the face feeds the session). ``speed``: × real time of a
    simulated session or a video; ``control``: a simulated session's pause and stop,
    shared with a face that has its own keys; ``camera_coach``: a camera session's steps
    (default: made for the session's technique). Raises :class:`ConfigurationError` for
    anything else."""
    if source is None:
        return None
    if isinstance(source, SimulatedSource):
        return ReplayPump(session, source, emit, speed=speed, control=control)
    if isinstance(source, CameraSource):
        coach = camera_coach or CameraCoach(session.technique)
        return CameraPump(session, source, coach, emit, speed=speed)
    if isinstance(source, Mapping) and all(isinstance(s, FeedSource) for s in source.values()):
        return DevicePump.from_sources(session, source, emit)
    raise ConfigurationError(
        f"a live session cannot be fed from {type(source).__name__}; give a SimulatedSource, "
        "a CameraSource or the devices' FeedSource by placement"
    )


class LiveRun:
    """One live session from its start to its summary (see the module docstring).

    ``emit`` gets every event to show; ``history`` (None: nothing is saved) keeps the
    session; ``pump`` feeds it (None: the face feeds it, e.g. a client's samples);
    ``on_finished`` is told when it ends (its failure is the face's to log).
    """

    def __init__(
        self,
        session: LiveSession,
        start: LiveStart,
        *,
        emit: Emit,
        history: LiveHistory | None = None,
        pump: Pump | None = None,
    ) -> None:
        self.session = session
        self.start = start
        self.emit = emit
        self.history = history
        self.pump = pump
        self._store: Registration | None = None
        if start.dose is not None and session.dose != start.dose:
            session.apply_dose(start.dose)

    async def begin(self) -> None:
        """Store the session (when there is a history), emit its state, start saving.

        While the history's person has a stopped program (a red flag, a jump in pain)
        and no clinician's clearance is recorded, nothing is stored nor emitted: raises
        :class:`~spinecoach.services.program.ProgramStoppedError` (every face starts
        through here; the web socket also checks before it opens a source)."""
        await use_kept_calibration(self)  # a kept calibration, checked in 5 s (coach.kept)
        history, session = self.history, self.session
        if history is not None:
            await asyncio.to_thread(refuse_if_stopped, history)
            config = live_config(session, self.start)

            def start_live() -> LiveRecorder:
                return history.start_live(
                    session.technique,
                    source=self.start.source,
                    live_config=config,
                    pain_before_mm=self.start.pain_before_mm,
                )

            failed = await asyncio.to_thread(begin_storing, start_live, session)
            if failed is not None:
                await self.not_saved(failed)
        await self.emit([session.state_event()])
        recorder = session.recorder
        if history is not None and recorder is not None:  # the process's one commit loop
            self._store = commit_loop().add(recorder, history, self.tell)

    async def not_saved(self, texts: tuple[str, str]) -> None:
        """Tell the person what was not saved: (what happened, what to do)."""
        await self.emit([NoticeEvent("not-saved", *texts)])

    async def tell(self, notice: StoreNotice) -> None:
        """Tell the person how storing goes (``not-saved``, ``saved-again``)."""
        await self.emit([NoticeEvent(notice.code, notice.message, notice.fix)])

    @property
    def paused(self) -> bool:
        return self.session.user_paused if self.pump is None else self.pump.paused

    async def set_paused(self, paused: bool) -> None:
        """Pause or resume: the pump holds its data back; the state says so."""
        pump = self.pump
        if pump is not None:
            pump.paused = paused
        if pump is None or not pump.reports_pause:
            await self.emit(self.session.set_paused(paused))

    def stop(self) -> None:
        """Ask the pump to end (:meth:`run` then returns); nothing without a pump."""
        if self.pump is not None:
            self.pump.stop()

    async def run(self) -> str:
        """Run the pump to its end; why it ended ("" when stopped). A camera that stops
        delivering images ends it too: a ``camera-ended`` notice, and its reason."""
        if self.pump is None:
            return ""
        try:
            return await self.pump.run()
        except CameraEnded as error:
            await self.emit([NoticeEvent("camera-ended", str(error), CAMERA_ENDED_FIX)])
            return str(error)

    async def finish(self, *, ended: str = "") -> list[LiveEvent]:
        """End the session (once): stop saving, save its last data and result, emit its
        last events and summary (with the stored session's id). ``ended``: why it ended,
        kept with the stored summary. Returns the events emitted ([] when finished
        already)."""
        await self.stop_saving()
        session = self.session
        events = session.finish()
        if not events:
            return []
        session_id = None
        history, recorder, result = self.history, session.recorder, session.result
        if history is not None and recorder is not None and result is not None:
            dose = session.engine.spec.dose
            # The dose the session was coached to, so a history can tell a session
            # stopped before its reps ("stopped early") from a completed one; a simulator
            # session's own rep count (``reps`` per set) is what its person was asked.
            reps = dose.reps
            if self.start.source == "sim" and self.start.dose is None and self.start.reps:
                reps = self.start.reps
            extra: dict[str, Any] = {"targets": {"reps": reps, "sets": dose.sets}}
            if ended:
                extra["ended"] = ended

            def complete() -> int:
                return history.complete_live(recorder, result, summary_extra=extra)

            # A full disk: kept in memory and retried for a while (services.live)
            session_id = await finish_when_stored(complete, self.tell, status=recorder.unsaved)
        kept_failed = await keep_calibration(self, session_id)
        if kept_failed is not None:
            await self.not_saved(kept_failed)
        events = [
            dataclasses.replace(e, session_id=session_id) if isinstance(e, SummaryEvent) else e
            for e in events
        ]
        await self.emit(events)
        return events

    async def stop_saving(self) -> None:
        """Leave the shared commit loop (the last data are saved by :meth:`finish`)."""
        entry, self._store = self._store, None
        if entry is not None:
            commit_loop().remove(entry)


__all__ = [
    "CAMERA_ENDED_FIX",
    "LiveHistory",
    "LiveRun",
    "LiveSource",
    "LiveStart",
    "Pump",
    "SourceKind",
    "build_simulation",
    "live_config",
    "pump_for",
]
