"""Service functions over a SQLAlchemy :class:`~sqlalchemy.orm.Session`.

Each function that writes is one transaction: it commits when it returns, or, when the
caller opened a transaction on ``db`` (``with db.begin():``), runs in a savepoint inside
it and the caller's commit decides. On any error its work is rolled back and the database is
as it was before the call.

>>> import tempfile
>>> from sqlalchemy.orm import Session, SessionTransactionOrigin
>>> from spinecoach.store.db import make_engine, upgrade
>>> with tempfile.TemporaryDirectory() as folder:
...     url = f"sqlite:///{folder}/demo.sqlite3"
...     upgrade(url)
...     engine = make_engine(url)
...     with Session(engine) as db:
...         person = create_person(db, "Ada")
...         session = start_session(db, person.id, "pelvic-tilt")
...         entry = add_pain(db, person.id, 35, "before", session_id=session.id)
...         [s.technique for s in list_sessions(db, person.id)]
...     engine.dispose()
['pelvic-tilt']
"""

from __future__ import annotations

import hashlib
import lzma
import math
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, SessionTransactionOrigin

from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.exercises.model import Cue, Discarded, ExerciseResult, Fault, Rep, SetSummary
from spinecoach.io.native import FORMAT_VERSION, read_recording, write_recording
from spinecoach.recording import Recording
from spinecoach.store.models import (
    COMPRESSIONS,
    PAIN_CONTEXTS,
    VAS_MAX_MM,
    VAS_MIN_MM,
    EventRecord,
    ExerciseSet,
    PainEntry,
    Person,
    RecordingBlob,
    RepRecord,
    SessionRecord,
)

#: Display name of the person a local install records for (the server, the terminal
#: coach, onboarding and the report all mean this person when no other is named).
LOCAL_PERSON_NAME: Final = "Local user"

ZLIB_LEVEL: Final = 6
LZMA_PRESET: Final = 6


@contextmanager
def in_transaction(db: Session) -> Iterator[None]:
    outer = db.get_transaction()
    if outer is None:
        with db.begin():
            yield
    elif outer.origin is SessionTransactionOrigin.AUTOBEGIN:
        # Begun implicitly by an earlier read (an expired attribute, say): the caller
        # did not ask for a transaction, so this call still commits.
        with db.begin_nested():
            yield
        db.commit()
    else:
        # The caller opened a transaction: a savepoint, and the caller's commit decides.
        with db.begin_nested():
            yield


def aware_utc(value: datetime | None, name: str) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if value.tzinfo is None:
        raise ConfigurationError(f"{name} must be timezone-aware (UTC), got naive {value!r}")
    return value.astimezone(UTC)


def person_or_raise(db: Session, person_id: int) -> Person:
    person = db.get(Person, person_id)
    if person is None:
        raise ConfigurationError(f"no person with id {person_id}; create one first")
    return person


def _session(db: Session, session_id: int) -> SessionRecord:
    record = db.get(SessionRecord, session_id)
    if record is None:
        raise ConfigurationError(f"no session with id {session_id}; start one first")
    return record


def _nan_to_none(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON: NumPy scalars and arrays to numbers and lists, tuples to
    lists, mapping keys to text, and NaN or infinity to None (JSON has neither).

    >>> json_safe({"a": (1, float("nan")), 2: np.float64(0.5)})
    {'a': [1, None], '2': 0.5}
    """
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return str(value)


# People and sessions -------------------------------------------------------------------
def create_person(db: Session, display_name: str) -> Person:
    """Add a person; ``display_name`` is 1–200 characters."""
    name = display_name.strip()
    if not 1 <= len(name) <= 200:
        raise ConfigurationError(
            f"display_name must be 1 to 200 characters, got {len(name)}: {display_name!r}"
        )
    with in_transaction(db):
        person = Person(display_name=name, created_utc=datetime.now(UTC))
        db.add(person)
    return person


def local_person(db: Session) -> Person | None:
    """The local install's person (named :data:`LOCAL_PERSON_NAME`), None before the
    first use."""
    query = select(Person).where(Person.display_name == LOCAL_PERSON_NAME).limit(1)
    return db.scalars(query).first()


def start_session(
    db: Session, person_id: int, technique: str, *, started_utc: datetime | None = None
) -> SessionRecord:
    """Start an ``active`` session of ``technique`` for a person (now, unless given)."""
    if not 1 <= len(technique) <= 64:
        raise ConfigurationError(f"technique must be 1 to 64 characters, got {technique!r}")
    started = aware_utc(started_utc, "started_utc")
    with in_transaction(db):
        person_or_raise(db, person_id)
        record = SessionRecord(
            person_id=person_id,
            technique=technique,
            started_utc=started,
            status="active",
            summary={},
        )
        db.add(record)
    return record


def list_sessions(db: Session, person_id: int) -> list[SessionRecord]:
    """A person's sessions, newest first."""
    person_or_raise(db, person_id)
    query = (
        select(SessionRecord)
        .where(SessionRecord.person_id == person_id)
        .order_by(SessionRecord.started_utc.desc(), SessionRecord.id.desc())
    )
    return list(db.scalars(query))


# Results ----------------------------------------------------------------------------------
def cue_record(cue: Cue) -> EventRecord:
    """The database row of a cue (an event of kind ``cue`` at its time)."""
    return EventRecord(
        kind="cue",
        start_s=cue.time_s,
        end_s=cue.time_s,
        label=cue.key,
        text=cue.text,
        reason=cue.reason,
    )


def rep_record(rep: Rep) -> RepRecord:
    """The database row of a rep (NaN stored as NULL)."""
    return RepRecord(
        technique=rep.technique,
        rep_index=rep.index,
        set_index=rep.set_index,
        start_s=rep.start_s,
        peak_s=rep.peak_s,
        end_s=rep.end_s,
        range_deg=_nan_to_none(rep.range_deg),
        hold_s=_nan_to_none(rep.hold_s),
        hold_start_s=_nan_to_none(rep.hold_start_s),
        hold_end_s=_nan_to_none(rep.hold_end_s),
        move_s=_nan_to_none(rep.move_s),
        return_s=_nan_to_none(rep.return_s),
        quality=rep.quality,
        reasons=list(rep.reasons),
        fault_names=list(rep.fault_names),
        faults=[json_safe(vars(fault)) for fault in rep.faults],
        measures=json_safe(dict(rep.measures)),
        extension_hold_s=_nan_to_none(rep.extension_hold_s),
        extension_range_deg=_nan_to_none(rep.extension_range_deg),
    )


def _none_to_nan(value: Any) -> float:
    return float("nan") if value is None else float(value)


def rep_from_record(record: RepRecord) -> Rep:
    """The :class:`~spinecoach.exercises.model.Rep` a stored rep was made from.

    Values stored as NULL (NaN or infinite measures) come back as NaN.
    """
    return Rep(
        technique=record.technique,
        index=record.rep_index,
        set_index=record.set_index,
        start_s=record.start_s,
        peak_s=record.peak_s,
        end_s=record.end_s,
        range_deg=_none_to_nan(record.range_deg),
        hold_s=_none_to_nan(record.hold_s),
        hold_start_s=_none_to_nan(record.hold_start_s),
        hold_end_s=_none_to_nan(record.hold_end_s),
        move_s=_none_to_nan(record.move_s),
        return_s=_none_to_nan(record.return_s),
        quality=record.quality,
        reasons=tuple(record.reasons),
        faults=tuple(
            Fault(
                name=f["name"],
                value=_none_to_nan(f["value"]),
                threshold=_none_to_nan(f["threshold"]),
                unit=f["unit"],
                reason=f["reason"],
                cue=f["cue"],
            )
            for f in record.faults
        ),
        measures=MappingProxyType({k: _none_to_nan(v) for k, v in record.measures.items()}),
        extension_hold_s=_none_to_nan(record.extension_hold_s),
        extension_range_deg=_none_to_nan(record.extension_range_deg),
    )


def save_result(
    db: Session,
    session_id: int,
    result: ExerciseResult,
    *,
    ended_utc: datetime | None = None,
) -> SessionRecord:
    """Store the sets, reps, cues and discarded movements of ``result`` and complete the
    session (status ``completed``, ``ended_utc`` now unless given, JSON ``summary``).

    Reps and cues stored while the session ran live (:mod:`spinecoach.store.live`) are
    replaced by the result's; annotations are kept.

    All or nothing: if any row is refused, nothing of the result is stored and the
    session stays as it was.
    """
    ended = aware_utc(ended_utc, "ended_utc")
    with in_transaction(db):
        record = _session(db, session_id)
        if record.technique != result.technique:
            raise ConfigurationError(
                f"session {session_id} is a {record.technique!r} session but the result is "
                f"for {result.technique!r}; save it to a session of that technique"
            )
        if record.status == "completed":
            raise ConfigurationError(
                f"session {session_id} already has a saved result; start a new session"
            )
        # Reps and cues written while the session ran live are replaced by the result
        # (the same engine made both); annotations stay.
        record.sets.clear()
        record.reps.clear()
        record.events[:] = [e for e in record.events if e.kind == "annotation"]
        db.flush()
        record.sets.extend(
            ExerciseSet(set_index=s.index, start_s=s.start_s, end_s=s.end_s, rep_count=s.reps)
            for s in result.sets
        )
        record.reps.extend(rep_record(rep) for rep in result.reps)
        record.events.extend(cue_record(cue) for cue in result.cues)
        record.events.extend(
            EventRecord(kind="discarded", start_s=d.start_s, end_s=d.end_s, reason=d.reason)
            for d in result.discarded
        )
        record.summary = json_safe(
            {
                "technique": result.technique,
                "reps": len(result.reps),
                "sets": len(result.sets),
                "cues": len(result.cues),
                "discarded": len(result.discarded),
                "info": result.info,
            }
        )
        record.status = "completed"
        record.ended_utc = ended
        db.flush()
    return record


def load_result(db: Session, session_id: int) -> ExerciseResult:
    """The stored result of a session (``info`` is the JSON summary's ``info``)."""
    record = _session(db, session_id)
    cues = tuple(
        Cue(time_s=e.start_s, key=e.label, text=e.text, reason=e.reason)
        for e in record.events
        if e.kind == "cue"
    )
    discarded = tuple(
        Discarded(start_s=e.start_s, end_s=e.end_s, reason=e.reason)
        for e in record.events
        if e.kind == "discarded"
    )
    return ExerciseResult(
        technique=record.technique,
        reps=tuple(rep_from_record(r) for r in record.reps),
        sets=tuple(
            SetSummary(index=s.set_index, start_s=s.start_s, end_s=s.end_s, reps=s.rep_count)
            for s in record.sets
        ),
        cues=cues,
        discarded=discarded,
        info=MappingProxyType(dict(record.summary.get("info", {}))),
    )


# Pain ---------------------------------------------------------------------------------------
def add_pain(
    db: Session,
    person_id: int,
    vas_mm: float,
    context: str,
    *,
    session_id: int | None = None,
    recorded_utc: datetime | None = None,
) -> PainEntry:
    """Record pain on the 0–100 mm visual analogue scale (0 no pain, 100 worst).

    ``context`` is ``before`` or ``after`` a session, or ``morning``.
    """
    if (
        isinstance(vas_mm, bool)
        or not isinstance(vas_mm, int | float)
        or not VAS_MIN_MM <= vas_mm <= VAS_MAX_MM
    ):
        raise ConfigurationError(
            f"vas_mm={vas_mm!r} is outside the visual analogue scale: give a pain rating "
            f"from {VAS_MIN_MM:g} to {VAS_MAX_MM:g} mm (0 = no pain, 100 = worst imaginable)"
        )
    if context not in PAIN_CONTEXTS:
        raise ConfigurationError(
            f"pain context {context!r} is unknown; use one of {', '.join(PAIN_CONTEXTS)}"
        )
    recorded = aware_utc(recorded_utc, "recorded_utc")
    with in_transaction(db):
        person_or_raise(db, person_id)
        if session_id is not None and _session(db, session_id).person_id != person_id:
            raise ConfigurationError(
                f"session {session_id} belongs to another person than {person_id}"
            )
        entry = PainEntry(
            person_id=person_id,
            session_id=session_id,
            vas_mm=float(vas_mm),
            context=context,
            recorded_utc=recorded,
        )
        db.add(entry)
    return entry


# Recordings ---------------------------------------------------------------------------------
def recording_to_bytes(recording: Recording) -> bytes:
    """The native ``.screc`` file of ``recording`` as bytes (deterministic).

    Written with uncompressed datasets: :func:`attach_recording` compresses the whole
    file (zlib or lzma), and gzip inside it would cost the CPU twice for nothing.
    """
    with tempfile.TemporaryDirectory(prefix="spinecoach-") as folder:
        path = write_recording(recording, Path(folder) / "recording.screc", compress=False)
        return path.read_bytes()


def recording_from_bytes(data: bytes) -> Recording:
    """Read a native ``.screc`` file given as bytes."""
    with tempfile.TemporaryDirectory(prefix="spinecoach-") as folder:
        path = Path(folder) / "recording.screc"
        path.write_bytes(data)
        return read_recording(path)


def attach_recording(
    db: Session, session_id: int, recording: Recording, *, compression: str = "zlib"
) -> RecordingBlob:
    """Store ``recording`` with a session, compressed (``zlib`` or ``lzma``).

    Replaces a recording stored before for the same session. ``sha256`` and
    ``size_bytes`` are of the uncompressed native file.
    """
    if compression not in COMPRESSIONS:
        raise ConfigurationError(
            f"compression {compression!r} is unknown; use one of {', '.join(COMPRESSIONS)}"
        )
    raw = recording_to_bytes(recording)
    packed = (
        zlib.compress(raw, ZLIB_LEVEL)
        if compression == "zlib"
        else lzma.compress(raw, preset=LZMA_PRESET)
    )
    with in_transaction(db):
        record = _session(db, session_id)
        blob = RecordingBlob(
            format_version=FORMAT_VERSION,
            compression=compression,
            data=packed,
            sha256=hashlib.sha256(raw).hexdigest(),
            size_bytes=len(raw),
            created_utc=datetime.now(UTC),
        )
        if record.recording is not None:
            db.delete(record.recording)
            db.flush()
        record.recording = blob
        db.flush()
    return blob


def recording_file_bytes(db: Session, session_id: int) -> bytes:
    """The verified native file of a session's recording (for export or reading).

    Raises :class:`~spinecoach.errors.InputFormatError` when the stored bytes do not
    decompress or do not match their SHA-256.
    """
    record = _session(db, session_id)
    blob = record.recording
    if blob is None:
        raise ConfigurationError(f"session {session_id} has no stored recording")
    source = f"recording of session {session_id} in the database"
    fix = "The stored recording is corrupt; attach the recording again from its .screc file"
    try:
        raw = (
            zlib.decompress(blob.data) if blob.compression == "zlib" else lzma.decompress(blob.data)
        )
    except (zlib.error, lzma.LZMAError) as exc:
        raise InputFormatError(
            source,
            f"expected {blob.compression}-compressed data: the stored recording is corrupt",
            found=str(exc),
            fix=fix,
        ) from exc
    digest = hashlib.sha256(raw).hexdigest()
    if digest != blob.sha256 or len(raw) != blob.size_bytes:
        raise InputFormatError(
            source,
            f"expected SHA-256 {blob.sha256} ({blob.size_bytes} bytes): the stored "
            "recording is corrupt",
            found=f"SHA-256 {digest} ({len(raw)} bytes)",
            fix=fix,
        )
    return raw


def load_recording(db: Session, session_id: int) -> Recording:
    """The recording stored with a session, verified against its SHA-256."""
    return recording_from_bytes(recording_file_bytes(db, session_id))
