"""The history service: stores live sessions while they run and lists them (used by the
server, the terminal coach, onboarding and the program).

A live session is stored from its first moment (:meth:`History.start_live`), committed
about every half second while it runs (:meth:`History.flush`, see
:mod:`spinecoach.store.live`) and completed with its result at the end
(:meth:`History.complete_live`). A session whose server stopped shows as
``interrupted`` with everything committed up to then; :meth:`History.close_interrupted`
replays its stored samples through the same engine and saves the summary. A camera
session (source ``camera``) has no samples: its stored angle frames are replayed through
the exercise engine directly (:func:`replay_angle_frames`), as they were fed live.

:meth:`History.health` says whether the database takes a write, how much disk is left
and which live sessions could not save their latest data (``GET /api/health``).

Every call is synchronous database work; the app runs it in a worker thread
(``asyncio.to_thread``) so the event loop stays free. The server keeps one default
local person (the schema is multi-user; sign-in is not built yet).

Design choice: services sit below the faces and the coach, so replaying an interrupted
session's stored *samples* through the live session (fusion, calibration, engine) is
not done here but by a :class:`SampleReplay` the face gives to :meth:`History.open`
(the faces give :func:`spinecoach.coach.replay.replay_live_samples`). A camera session's
angle frames need only the exercise engine and are replayed here.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     history = History.open(f"sqlite:///{folder}/demo.sqlite3")
...     history.sessions()
...     history.close()
[]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from spinecoach.errors import ConfigurationError
from spinecoach.exercises.model import ExerciseResult
from spinecoach.motion.process import AngleFrames
from spinecoach.recording import Event, Recording
from spinecoach.store import db as store_db
from spinecoach.store import live as store_live
from spinecoach.store import repository
from spinecoach.store.health import DatabaseCheck, WriteFailure, check_database, write_failure
from spinecoach.store.live import LiveRecorder
from spinecoach.store.live_buffer import UnsavedData
from spinecoach.store.models import AngleBlock, PainEntry, Person, SampleBlock, SessionRecord
from spinecoach.store.repository import LOCAL_PERSON_NAME


class SessionStateError(ConfigurationError):
    """The session exists but cannot do that now (still running, already closed)."""


#: ``sessions.source`` of a session fed with camera angle frames instead of samples.
CAMERA_SOURCE: Final = "camera"

__all__ = [
    "CAMERA_SOURCE",
    "HEALTH_CACHE_S",
    "MIN_FREE_DISK_MB",
    "UNSAVED_RECENT_S",
    "HealthProblem",
    "HealthReport",
    "History",
    "SampleReplay",
    "SessionStateError",
    "replay_angle_frames",
]


#: Default free disk (MB) in the database's folder below which the health is degraded:
#: several hours of two-sensor sessions at 100 Hz (one stores up to about 20 kB a second).
MIN_FREE_DISK_MB: Final = 500.0
#: A session whose latest commit failed less than this long ago (s) counts as unsaved in
#: the health (a running session retries every half second, a finishing one every s).
UNSAVED_RECENT_S: Final = 10.0
#: The health is checked at most once per this many seconds (s).
HEALTH_CACHE_S: Final = 1.0


@dataclass(frozen=True)
class HealthProblem:
    """One reason the health is not ``ok``: what is wrong and what to do, in plain words."""

    what: str
    fix: str


@dataclass(frozen=True)
class HealthReport:
    """The server's storage health: ``status`` ``ok`` or ``degraded`` (then
    ``problems`` says why and what to do); ``database`` the backend; ``writable`` (a
    real write was taken; False: the server cannot keep data); ``free_disk_mb`` in the
    database's folder (SQLite; None for a database server) and the ``min_free_disk_mb``
    it is held to; ``unsaved_sessions``: live sessions whose latest commit failed, the
    most one of them keeps unsaved in memory (``unsaved_s``, s) and has not kept
    (``dropped_samples``: past the bound)."""

    status: Literal["ok", "degraded"]
    database: str
    writable: bool
    free_disk_mb: float | None
    min_free_disk_mb: float
    unsaved_sessions: int
    unsaved_s: float
    dropped_samples: int
    problems: tuple[HealthProblem, ...]


def _health_report(
    check: DatabaseCheck,
    min_free_disk_mb: float,
    failing: Sequence[tuple[UnsavedData, WriteFailure]],
) -> HealthReport:
    """The report from the database check and the sessions whose commits fail."""
    problems: list[HealthProblem] = []
    if check.failure is not None:
        problems.append(
            HealthProblem(
                f"the database cannot be written: {check.failure.reason}", check.failure.fix
            )
        )
    free_mb = None if check.free_bytes is None else check.free_bytes / 1e6
    if free_mb is not None and free_mb < min_free_disk_mb:
        problems.append(
            HealthProblem(
                f"only {free_mb:.1f} MB are free on the database's disk (the server asks for "
                f"{min_free_disk_mb:g} MB)",
                "free space on the server's disk or move the database to a larger one; on a "
                "full disk live sessions keep up to 20 min of samples in memory, then newer "
                "samples are not kept",
            )
        )
    unsaved = [snapshot for snapshot, _failure in failing]
    if failing:
        longest = max(u.span_s for u in unsaved)
        problems.append(
            HealthProblem(
                f"{len(failing)} live session(s) could not save their latest data "
                f"({failing[0][1].reason}); up to {longest:.0f} s are kept in memory and "
                "written as soon as the database can be written again",
                failing[0][1].fix,
            )
        )
    return HealthReport(
        status="degraded" if problems else "ok",
        database=check.backend,
        writable=check.writable,
        free_disk_mb=None if free_mb is None else round(free_mb, 1),
        min_free_disk_mb=min_free_disk_mb,
        unsaved_sessions=len(failing),
        unsaved_s=round(max((u.span_s for u in unsaved), default=0.0), 1),
        dropped_samples=sum(u.samples_dropped for u in unsaved),
        problems=tuple(problems),
    )


class SampleReplay(Protocol):
    """Replays an interrupted session's stored samples as live: the exercise result of
    ``technique`` on ``recording`` (None: no sample was stored) with the session's
    stored ``live_config`` (placements, position, auto-calibration)."""

    def __call__(
        self, technique: str, recording: Recording | None, live_config: Mapping[str, Any]
    ) -> ExerciseResult: ...


def replay_angle_frames(
    technique: str,
    frames: AngleFrames | None,
    annotations: Sequence[Event] = (),
    *,
    position: str | None = None,
) -> ExerciseResult:
    """The exercise engine's result on stored angle frames, fed as a live camera session
    feeds them: frame by frame, each annotation announced at its start (before a frame
    at the same time), the engine calibrated in ``position`` (default: the technique's
    start position, as the live session).

    The flags are not fed: the engine reads the angles only (a frame the camera did
    not see has a NaN main signal).
    """
    from spinecoach.exercises.catalogue import start_position
    from spinecoach.exercises.engine import ExerciseEngine

    engine = ExerciseEngine(technique, calibrated_position=position or start_position(technique))
    pending = sorted(annotations, key=lambda e: e.start_s)
    i = 0
    if frames is not None:
        names = list(frames.angles)
        columns = [frames.angles[name].tolist() for name in names]
        for k, t in enumerate(frames.time_s.tolist()):
            while i < len(pending) and pending[i].start_s <= t:
                engine.add_annotation(pending[i])
                i += 1
            engine.update(t, {name: columns[j][k] for j, name in enumerate(names)})
    for event in pending[i:]:
        engine.add_annotation(event)
    return engine.result()


@dataclass
class History:
    """Sessions of the local person in the database behind ``engine``; ``replay_samples``
    closes interrupted sample sessions (see :meth:`close_interrupted`)."""

    engine: Engine
    person_id: int
    replay_samples: SampleReplay | None = field(default=None, repr=False)
    #: Session id → (what it had not saved, why its latest commit failed, when: monotonic
    #: s). A snapshot, not the recorder: a given-up session's data is not held here.
    _failing: dict[int, tuple[UnsavedData, WriteFailure, float]] = field(
        default_factory=dict, init=False, repr=False
    )
    _health_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _health_cache: tuple[float, float, HealthReport] | None = field(
        default=None, init=False, repr=False
    )

    @classmethod
    def open(cls, url: str | None, *, replay_samples: SampleReplay | None = None) -> History:
        """Migrate the database at ``url`` (default: see ``store.db.database_url``), make
        its engine and the default local person when there is none yet.
        ``replay_samples``: how :meth:`close_interrupted` replays stored samples (without
        it only camera sessions can be closed)."""
        resolved = store_db.database_url(url)
        store_db.upgrade(resolved)
        engine = store_db.make_engine(resolved)
        with Session(engine) as db:
            person = db.scalars(
                select(Person).where(Person.display_name == LOCAL_PERSON_NAME).limit(1)
            ).first()
            if person is None:
                person = repository.create_person(db, LOCAL_PERSON_NAME)
            person_id = person.id
        with Session(engine) as db:
            store_live.mark_stale_interrupted(db)
        return cls(engine, person_id, replay_samples)

    def close(self) -> None:
        self.engine.dispose()

    def for_person(self, person_id: int) -> History:
        """The same database seen as ``person_id`` (a server with accounts serves many
        persons from one History; the write-failure record that health reports is
        shared)."""
        if person_id == self.person_id:
            return self
        view = History(self.engine, person_id, self.replay_samples)
        view._failing = self._failing
        view._health_lock = self._health_lock
        return view

    # Live sessions ------------------------------------------------------------------------
    def start_live(
        self,
        technique: str,
        *,
        source: str,
        live_config: Mapping[str, Any],
        pain_before_mm: float | None,
    ) -> LiveRecorder:
        """Store a new ``active`` session (and the pain before it); its recorder."""
        with Session(self.engine) as db:
            record = store_live.start_live_session(
                db, self.person_id, technique, source=source, live_config=live_config
            )
            if pain_before_mm is not None:
                repository.add_pain(
                    db, self.person_id, pain_before_mm, "before", session_id=record.id
                )
            rates = live_config.get("rates_hz") or {}
            return LiveRecorder(record.id, rates_hz=rates)

    def flush(self, recorder: LiveRecorder) -> None:
        """Commit what the session received and produced since the last commit (and a
        heartbeat). On failure the data stays in the recorder for the next attempt, and
        :meth:`health` counts the session as unsaved."""
        with recorder.commit_lock:
            batch = recorder.take()
            try:
                with Session(self.engine) as db:
                    store_live.commit_batch(db, recorder, batch)
            except BaseException as error:
                recorder.give_back(batch)
                self._failed(recorder, error)
                raise
            self._failing.pop(recorder.session_id, None)

    def _failed(self, recorder: LiveRecorder, error: BaseException) -> None:
        """Remember that ``recorder``'s session could not be written (for :meth:`health`)."""
        now = time.monotonic()
        for session_id, (_unsaved, _failure, when) in list(self._failing.items()):
            if now - when > UNSAVED_RECENT_S:
                self._failing.pop(session_id, None)
        self._failing[recorder.session_id] = (recorder.unsaved(), write_failure(error), now)

    def complete_live(
        self,
        recorder: LiveRecorder,
        result: ExerciseResult,
        *,
        summary_extra: Mapping[str, Any] | None = None,
    ) -> int:
        """Commit the last data, then store the result and the assembled recording."""
        self.flush(recorder)
        with recorder.commit_lock, Session(self.engine) as db:
            try:
                store_live.complete_live_session(
                    db, recorder.session_id, result, summary_extra=summary_extra
                )
            except BaseException as error:
                self._failed(recorder, error)
                raise
        self._failing.pop(recorder.session_id, None)
        return recorder.session_id

    def health(self, *, min_free_disk_mb: float = MIN_FREE_DISK_MB) -> HealthReport:
        """Whether the database takes a write, the free disk of its folder (SQLite)
        against ``min_free_disk_mb``, and the live sessions whose latest commit failed
        (see :class:`HealthReport`). Checked at most once per :data:`HEALTH_CACHE_S`
        (a burst of requests shares one check)."""
        with self._health_lock:
            cached = self._health_cache
            now = time.monotonic()
            fresh = cached is not None and now - cached[1] < HEALTH_CACHE_S
            if cached is not None and fresh and cached[0] == min_free_disk_mb:
                return cached[2]
            report = _health_report(
                check_database(self.engine), min_free_disk_mb, self._recent_failures()
            )
            self._health_cache = (min_free_disk_mb, time.monotonic(), report)
            return report

    def _recent_failures(self) -> list[tuple[UnsavedData, WriteFailure]]:
        """Sessions whose latest commit failed less than :data:`UNSAVED_RECENT_S` ago."""
        now = time.monotonic()
        return [
            (unsaved, failure)
            for unsaved, failure, when in list(self._failing.values())
            if now - when <= UNSAVED_RECENT_S
        ]

    def close_interrupted(self, session_id: int) -> dict[str, Any]:
        """Close an ``interrupted`` session of this person with its summary: the stored
        samples and annotations are replayed through the same engine as live (by
        :attr:`replay_samples`; a camera session's angle frames through the exercise
        engine, see :func:`replay_angle_frames`).

        Raises :class:`~spinecoach.errors.ConfigurationError` (with the reason) for an
        unknown session, one that is still running or one already closed, or a sample
        session when this history has no :attr:`replay_samples`.
        """
        with Session(self.engine) as db:
            store_live.mark_stale_interrupted(db)
            record = db.get(SessionRecord, session_id)
            if record is None or record.person_id != self.person_id:
                raise ConfigurationError(f"no session with id {session_id}")
            if record.status == "active":
                raise SessionStateError(
                    f"session {session_id} is still running; stop it from its page first"
                )
            if record.status == "completed":
                raise SessionStateError(f"session {session_id} is already closed")
            recording = store_live.stored_recording(db, session_id)
            frames = store_live.stored_angle_frames(db, session_id)
            config = dict(record.live_config or {})
            technique = record.technique
            camera = record.source == CAMERA_SOURCE or (frames is not None and recording is None)
            annotations = [
                Event(e.label, e.start_s, e.end_s) for e in record.events if e.kind == "annotation"
            ]
        if camera:
            replayed = replay_angle_frames(
                technique, frames, annotations, position=config.get("position")
            )
            recorded_s = float(frames.time_s[-1] - frames.time_s[0]) if frames is not None else 0.0
            return self._close(session_id, replayed, recorded_s)
        if self.replay_samples is None:
            raise ConfigurationError(
                f"session {session_id} has stored samples, and this history cannot replay "
                "them: open it with History.open(url, replay_samples=...) "
                "(the faces use spinecoach.coach.replay.replay_live_samples)"
            )
        result = self.replay_samples(technique, recording, config)
        recorded_s = recording.duration_s if recording is not None else 0.0
        return self._close(session_id, result, recorded_s)

    def _close(self, session_id: int, result: ExerciseResult, recorded_s: float) -> dict[str, Any]:
        """Complete an interrupted session with its replayed ``result``; its summary."""
        with Session(self.engine) as db:
            store_live.complete_live_session(
                db,
                session_id,
                result,
                summary_extra={"interrupted": True, "recorded_s": round(recorded_s, 3)},
            )
        return self.session(session_id)

    def session(self, session_id: int) -> dict[str, Any]:
        """One of the person's sessions as a JSON-ready summary."""
        with Session(self.engine) as db:
            record = db.get(SessionRecord, session_id)
            if record is None or record.person_id != self.person_id:
                raise ConfigurationError(f"no session with id {session_id}")
            recorded = _recorded_until(db, session_id).get(session_id)
            return _summary(db, record, recorded)

    def add_pain(self, session_id: int, vas_mm: float, context: str) -> None:
        """Record pain (0–100 mm VAS) ``before`` or ``after`` one of the person's sessions.
        Another person's session is answered like one that does not exist (its existence
        is not told)."""
        with Session(self.engine) as db:
            record = db.get(SessionRecord, session_id)
            if record is None or record.person_id != self.person_id:
                raise ConfigurationError(f"no session with id {session_id}")
            repository.add_pain(db, self.person_id, vas_mm, context, session_id=session_id)

    def sessions(self) -> list[dict[str, Any]]:
        """The person's sessions, newest first, as JSON-ready summaries."""
        with Session(self.engine) as db:
            store_live.mark_stale_interrupted(db)
        with Session(self.engine) as db:
            recorded = _recorded_until(db)
            return [
                _summary(db, record, recorded.get(record.id))
                for record in repository.list_sessions(db, self.person_id)
            ]


def _recorded_until(db: Session, session_id: int | None = None) -> dict[int, float]:
    """Session id → the last stored time (s) of its live sample or angle blocks."""
    recorded: dict[int, float] = {}
    for model_session, last in (
        (SampleBlock.session_id, func.max(SampleBlock.last_t)),
        (AngleBlock.session_id, func.max(AngleBlock.last_t_s)),
    ):
        query = select(model_session, last).group_by(model_session)
        if session_id is not None:
            query = query.where(model_session == session_id)
        for sid, until in db.execute(query).all():
            if until is not None:
                recorded[sid] = max(float(until), recorded.get(sid, float("-inf")))
    return recorded


def _summary(db: Session, record: SessionRecord, recorded_until_s: float | None) -> dict[str, Any]:
    """A stored session as the JSON the API and the page use."""
    pains = db.scalars(
        select(PainEntry).where(PainEntry.session_id == record.id).order_by(PainEntry.recorded_utc)
    )
    pain = {entry.context: entry.vas_mm for entry in pains}
    reps = [
        {
            "index": r.rep_index,
            "set": r.set_index,
            "start_s": r.start_s,
            "peak_s": r.peak_s,
            "end_s": r.end_s,
            "quality": r.quality,
            "faults": list(r.fault_names),
            "hold_s": r.hold_s,
            "range_deg": r.range_deg,
        }
        for r in record.reps
    ]
    summary: dict[str, Any] = repository.json_safe(
        {
            "id": record.id,
            "technique": record.technique,
            "started_utc": record.started_utc.isoformat(),
            "status": record.status,
            "source": record.source,
            "summary": record.summary,
            "recorded_until_s": recorded_until_s,
            "reps": reps,
            "pain_before_mm": pain.get("before"),
            "pain_after_mm": pain.get("after"),
        }
    )
    return summary
