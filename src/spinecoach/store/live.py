"""Live sessions stored while they run: at most the last second is lost if the server dies.

A live session is a ``sessions`` row with status ``active`` from its first moment. A
:class:`LiveRecorder` collects, in memory and thread-safely, what the session receives
(raw samples, annotations) and what it produces (reps, cues); every
:data:`FLUSH_INTERVAL_S` the server commits that batch in one transaction
(:func:`commit_batch`): the samples as compressed blocks (``sample_blocks``), reps and
cues and annotations as rows, and a fresh ``heartbeat_utc``. Even an empty batch is
committed, as a heartbeat. When a commit fails, the recorder keeps the batch (encoded
once, bounded: :mod:`spinecoach.store.live_buffer`) and the next commit writes its blocks
first, so the stored blocks stay bit-identical and in order.

An ``active`` session whose heartbeat is older than :data:`STALE_AFTER_S` belongs to a
server that stopped (killed, crashed, power cut): :func:`mark_stale_interrupted` marks it
``interrupted``. Everything committed up to then is kept; :func:`stored_recording`
assembles its samples and annotations into a :class:`~spinecoach.recording.Recording`,
which can be replayed through the same engine to close the session with its summary
(``spinecoach.services.history.History.close_interrupted``).

When a session ends normally, :func:`complete_live_session` assembles the blocks into the
session's compressed recording, deletes the blocks and stores the final result (which
replaces the reps and cues written live: the same engine made both), all in one
transaction.

Sample blocks are compressed (:mod:`spinecoach.store.block_codec`: shuffle + zstd; zlib
in blocks of earlier versions, still read) little-endian float64 rows ``t, acc xyz, gyr xyz``
(plus ``mag xyz`` when the sensor has a magnetometer), so the stored samples are
bit-identical to the ones received.

Camera sessions have no samples: the engine is fed angle frames
(:meth:`LiveRecorder.add_angle_frames`), and each commit writes the new ones as one
``angle_blocks`` row in the same transaction — compressed the same way, float64 rows
``time_s, <angle columns>, flags`` whose column names the block stores with it, so NaN
(not seen) and the flags come back bit-identical (:func:`stored_angle_frames`). There
is no IMU recording to assemble them into, so they stay in their blocks when the
session completes (see :class:`~spinecoach.store.models.AngleBlock`).

>>> import numpy as np, tempfile
>>> from sqlalchemy.orm import Session
>>> from spinecoach.conventions import ANGLE_COLUMNS
>>> from spinecoach.store.db import make_engine, upgrade
>>> with tempfile.TemporaryDirectory() as folder:
...     url = f"sqlite:///{folder}/demo.sqlite3"
...     upgrade(url)
...     engine = make_engine(url)
...     with Session(engine) as db:
...         person = repository.create_person(db, "Ada")
...         record = start_live_session(
...             db, person.id, "hip-hinge", source="camera", live_config={}
...         )
...         recorder = LiveRecorder(record.id)
...     angles = np.full((3, len(ANGLE_COLUMNS)), np.nan)
...     recorder.add_angle_frames(np.array([0.0, 0.1, 0.2]), angles, np.zeros(3, np.uint8))
...     with Session(engine) as db:
...         commit_batch(db, recorder, recorder.take())
...     with Session(engine) as db:
...         frames = stored_angle_frames(db, recorder.session_id)
...     engine.dispose()
>>> len(frames), round(frames.rate_hz, 3)
(3, 10.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from spinecoach.conventions import ANGLE_COLUMNS
from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.exercises.model import ExerciseResult
from spinecoach.motion.process import AngleFrames
from spinecoach.motion.stream import SensorSample
from spinecoach.recording import Event, Recording, SensorData
from spinecoach.store import repository
from spinecoach.store.block_codec import BlockCodecError, decode_rows, encode_rows
from spinecoach.store.live_buffer import LiveBatch as LiveBatch
from spinecoach.store.live_buffer import LiveRecorder as LiveRecorder
from spinecoach.store.live_buffer import PendingBlock, sample_rows
from spinecoach.store.models import (
    ANGLE_BLOCK_FLAGS,
    ANGLE_BLOCK_TIME,
    AngleBlock,
    EventRecord,
    RepRecord,
    SampleBlock,
    SessionRecord,
)

#: Seconds between two commits of a live session (the most a crash can lose, plus the
#: commit's own time, which is milliseconds).
FLUSH_INTERVAL_S: Final = 0.5
#: An active session without a heartbeat for this long (s) belongs to a stopped server.
STALE_AFTER_S: Final = 5.0
#: Column names of the rows of an angle block written by this version.
ANGLE_BLOCK_COLUMNS: Final[tuple[str, ...]] = (ANGLE_BLOCK_TIME, *ANGLE_COLUMNS, ANGLE_BLOCK_FLAGS)


# Encoding of sample blocks ---------------------------------------------------------------
def encode_block(samples: Sequence[SensorSample]) -> tuple[bytes, int]:
    """Samples of one sensor as compressed float64 rows; ``(data, n_columns)``."""
    rows = sample_rows(samples)
    return encode_rows(rows), rows.shape[1]


def decode_block(block: SampleBlock) -> np.ndarray:
    """The ``(n_samples, n_columns)`` float64 rows of a stored block (verified shape)."""
    source = (
        f"sample block {block.seq} of the {block.placement} sensor of session {block.session_id}"
    )
    fix = "the samples of this block cannot be recovered; close the session without it"
    return _float_rows(
        block.data,
        block.n_samples,
        block.n_columns,
        source=source,
        what="samples",
        unit="samples",
        fix=fix,
    )


def _float_rows(
    data: bytes, n_rows: int, n_columns: int, *, source: str, what: str, unit: str, fix: str
) -> np.ndarray:
    """The ``(n_rows, n_columns)`` float64 rows of a stored block (``store.block_codec``:
    shuffle + zstd, or the zlib of earlier versions), its size checked; for the messages,
    ``what`` the block holds and ``unit`` a row."""
    try:
        return decode_rows(data, n_rows, n_columns)
    except BlockCodecError as exc:
        raise InputFormatError(
            source,
            f"expected {n_rows} {unit} × {n_columns} float64 columns of {what}, compressed "
            "(shuffle + zstd, or zlib): the stored block is corrupt",
            found=str(exc),
            fix=fix,
        ) from exc


def encode_angle_rows(rows: np.ndarray) -> bytes:
    """Angle-frame rows ``(n, len(ANGLE_BLOCK_COLUMNS))`` as compressed float64 bytes."""
    return encode_rows(np.asarray(rows, dtype="<f8"))


def decode_angle_block(block: AngleBlock) -> np.ndarray:
    """The ``(n_frames, len(columns))`` float64 rows of a stored angle block, checked:
    its layout (``time_s`` first, ``flags`` last), its size, and flags that are uint8."""
    source = f"angle block {block.seq} of session {block.session_id}"
    fix = (
        "the frames of this block cannot be recovered; delete the block (angle_blocks row "
        f"id {block.id}) to use the rest of the session"
    )
    columns = list(block.columns) if isinstance(block.columns, list) else []
    if (
        len(columns) < 2
        or columns[0] != ANGLE_BLOCK_TIME
        or columns[-1] != ANGLE_BLOCK_FLAGS
        or not all(isinstance(c, str) for c in columns)
        or len(set(columns)) != len(columns)
    ):
        raise InputFormatError(
            source,
            f"expected a list of distinct column names from {ANGLE_BLOCK_TIME!r} to "
            f"{ANGLE_BLOCK_FLAGS!r}",
            found=repr(block.columns)[:200],
            fix=fix,
        )
    rows = _float_rows(
        block.data,
        block.n_frames,
        len(columns),
        source=source,
        what="angle frames",
        unit="frames",
        fix=fix,
    )
    marks = rows[:, -1]
    if not np.all((marks >= 0) & (marks <= 255) & (marks == np.floor(marks))):
        raise InputFormatError(
            source, "expected flags that are whole numbers 0-255", found="other values", fix=fix
        )
    return rows


# Sessions ----------------------------------------------------------------------------------
def start_live_session(
    db: Session,
    person_id: int,
    technique: str,
    *,
    source: str,
    live_config: Mapping[str, Any],
    started_utc: datetime | None = None,
) -> SessionRecord:
    """An ``active`` session with its source, live settings and a first heartbeat."""
    record = repository.start_session(db, person_id, technique, started_utc=started_utc)
    record.source = source
    record.live_config = repository.json_safe(dict(live_config))
    record.heartbeat_utc = datetime.now(UTC)
    db.commit()
    return record


def commit_batch(
    db: Session, recorder: LiveRecorder, batch: LiveBatch, *, now: datetime | None = None
) -> None:
    """Store ``batch`` and refresh the heartbeat, in one transaction.

    A session marked ``interrupted`` by another server while this one was slow becomes
    ``active`` again; a session that was closed meanwhile refuses the batch
    (:class:`~spinecoach.errors.ConfigurationError`).
    """
    refused = commit_batches(db, [(recorder, batch)], now=now)
    if refused:
        raise refused[recorder.session_id]


def commit_batches(
    db: Session,
    batches: Sequence[tuple[LiveRecorder, LiveBatch]],
    *,
    now: datetime | None = None,
) -> dict[int, ConfigurationError]:
    """Store the batches of several live sessions and refresh their heartbeats, in ONE
    transaction (the shared commit loop, :mod:`spinecoach.store.live_commits`): one
    multi-row insert per table, one update of the heartbeats.

    A session that is not in the database, was closed meanwhile, or whose batch names a
    sensor without a known rate is refused: nothing of its batch is written, the others
    are; returns the refused sessions' errors by session id (the caller gives their
    batches back to their recorders). A failure of the transaction itself (a full disk,
    a lock) raises and writes nothing; the caller gives every batch back.
    """
    stamp = now or datetime.now(UTC)
    ids = sorted({recorder.session_id for recorder, _batch in batches})
    refused: dict[int, ConfigurationError] = {}
    written: list[tuple[LiveRecorder, LiveBatch, dict[str, int], int]] = []
    with db.begin():
        if not ids:
            return refused
        found = db.execute(
            select(SessionRecord.id, SessionRecord.status)
            .where(SessionRecord.id.in_(ids))
            .order_by(SessionRecord.id)
            .with_for_update()
        )
        status: dict[int, str] = {row[0]: row[1] for row in found}
        block_rows: list[dict[str, Any]] = []
        angle_rows: list[dict[str, Any]] = []
        rows: list[RepRecord | EventRecord] = []
        for recorder, batch in batches:
            session_id = recorder.session_id
            if session_id not in status:
                refused[session_id] = ConfigurationError(
                    f"live session {session_id} is not in the database"
                )
                continue
            if status[session_id] == "completed":
                refused[session_id] = ConfigurationError(
                    f"session {session_id} was closed while it was still running; start a "
                    "new session to go on"
                )
                continue
            try:
                blocks, seqs = _sample_block_rows(recorder, batch, stamp)
            except ConfigurationError as error:
                refused[session_id] = error
                continue
            block_rows.extend(blocks)
            angle_seq = _add_session_rows(recorder, batch, stamp, angle_rows, rows)
            written.append((recorder, batch, seqs, angle_seq))
        if block_rows:
            db.execute(insert(SampleBlock), block_rows)
        if angle_rows:
            db.execute(insert(AngleBlock), angle_rows)
        db.add_all(rows)
        kept = [recorder.session_id for recorder, *_rest in written]
        if kept:
            db.execute(
                update(SessionRecord)
                .where(SessionRecord.id.in_(kept))
                .values(status="active", heartbeat_utc=stamp)
                .execution_options(synchronize_session=False)
            )
    for recorder, batch, seqs, angle_seq in written:
        recorder.next_seq = seqs
        recorder.next_angle_seq = angle_seq
        recorder.committed(batch)
    return refused


def _add_session_rows(
    recorder: LiveRecorder,
    batch: LiveBatch,
    stamp: datetime,
    angle_rows: list[dict[str, Any]],
    rows: list[RepRecord | EventRecord],
) -> int:
    """Append ``batch``'s angle block, reps, cues and annotations to the rows to write;
    returns the angle block ``seq`` after it."""
    session_id = recorder.session_id
    angle_seq = recorder.next_angle_seq
    if batch.angle_rows:
        frames = np.concatenate(batch.angle_rows)
        angle_rows.append(
            {
                "session_id": session_id,
                "seq": angle_seq,
                "n_frames": frames.shape[0],
                "first_t_s": float(frames[0, 0]),
                "last_t_s": float(frames[-1, 0]),
                "columns": list(ANGLE_BLOCK_COLUMNS),
                "data": encode_angle_rows(frames),
                "created_utc": stamp,
            }
        )
        angle_seq += 1
    for rep in batch.reps:
        rep_row = repository.rep_record(rep)
        rep_row.session_id = session_id
        rows.append(rep_row)
    for cue in batch.cues:
        cue_row = repository.cue_record(cue)
        cue_row.session_id = session_id
        rows.append(cue_row)
    rows.extend(
        EventRecord(
            session_id=session_id, kind="annotation", start_s=e.start_s, end_s=e.end_s, label=e.kind
        )
        for e in batch.annotations
    )
    return angle_seq


def _sample_block_rows(
    recorder: LiveRecorder, batch: LiveBatch, stamp: datetime
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The ``sample_blocks`` rows of ``batch`` (failed commits' blocks first) and the
    sequence numbers after them; raises ConfigurationError for a sensor without a rate."""
    seqs = dict(recorder.next_seq)
    out: list[dict[str, Any]] = []
    for placement in batch.placements():
        blocks = list(batch.pending.get(placement, []))  # failed commits' first
        if batch.samples.get(placement):
            blocks.append(PendingBlock.of(batch.samples[placement]))
        if not blocks:
            continue
        rate = batch.rates_hz.get(placement)
        if rate is None:
            raise ConfigurationError(f"no rate known for the {placement} sensor")
        for block in blocks:
            seq = seqs.get(placement, 0)
            seqs[placement] = seq + 1
            out.append(
                {
                    "session_id": recorder.session_id,
                    "placement": placement,
                    "seq": seq,
                    "rate_hz": rate,
                    "n_samples": block.n_samples,
                    "n_columns": block.n_columns,
                    "first_t": block.first_t,
                    "last_t": block.last_t,
                    "data": block.data,
                    "created_utc": stamp,
                }
            )
    return out, seqs


def mark_stale_interrupted(
    db: Session, *, stale_after_s: float = STALE_AFTER_S, now: datetime | None = None
) -> list[int]:
    """Mark ``active`` sessions without a recent heartbeat ``interrupted``; their ids."""
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=stale_after_s)
    with db.begin():
        stale = list(
            db.scalars(
                select(SessionRecord.id).where(
                    SessionRecord.status == "active",
                    (SessionRecord.heartbeat_utc < cutoff)
                    | (
                        SessionRecord.heartbeat_utc.is_(None) & (SessionRecord.started_utc < cutoff)
                    ),
                )
            )
        )
        if stale:
            db.execute(
                update(SessionRecord)
                .where(SessionRecord.id.in_(stale), SessionRecord.status == "active")
                .values(status="interrupted")
            )
    return stale


def stored_recording(db: Session, session_id: int) -> Recording | None:
    """The samples and annotations committed so far for a live session, as a recording
    (None when no sample was stored)."""
    record = db.get(SessionRecord, session_id)
    if record is None:
        raise ConfigurationError(f"no session with id {session_id}")
    blocks = list(
        db.scalars(
            select(SampleBlock)
            .where(SampleBlock.session_id == session_id)
            .order_by(SampleBlock.placement, SampleBlock.seq)
        )
    )
    by_placement: dict[str, list[SampleBlock]] = {}
    for block in blocks:
        by_placement.setdefault(block.placement, []).append(block)
    sensors: dict[str, SensorData] = {}
    for placement, group in by_placement.items():
        rows = np.concatenate([decode_block(b) for b in group])
        mag = None
        if all(b.n_columns == 10 for b in group):
            mag = rows[:, 7:10]
            if not np.isfinite(mag).all():
                mag = None
        sensors[placement] = SensorData.from_arrays(
            placement,
            rows[:, 0],
            rows[:, 1:4],
            rows[:, 4:7],
            rate_hz=group[0].rate_hz,
            mag_ut=mag,
            device=f"live ({record.source})",
        )
    if not sensors:
        return None
    annotations = tuple(
        Event(e.label, e.start_s, e.end_s) for e in record.events if e.kind == "annotation"
    )
    config = record.live_config or {}
    meta = {
        "technique": record.technique,
        "source": record.source,
        "session_id": str(record.id),
    }
    if config.get("position"):
        meta["position"] = str(config["position"])
    return Recording.create(sensors, start_utc=record.started_utc, events=annotations, meta=meta)


def stored_angle_frames(db: Session, session_id: int) -> AngleFrames | None:
    """The angle frames committed for a camera session (None when it has none).

    Bit-identical to the frames added (NaN included); ``flags`` are uint8. ``angles``
    holds every angle column the blocks name (normally ``ANGLE_COLUMNS``, in order; a
    column missing from some blocks is NaN there). ``rate_hz`` is the median frame rate
    (NaN for fewer than two frames): a camera's frames are not on an exact grid.
    Raises :class:`~spinecoach.errors.InputFormatError` naming the session and the block
    when a block is corrupt, :class:`~spinecoach.errors.ConfigurationError` for an
    unknown session.
    """
    if db.get(SessionRecord, session_id) is None:
        raise ConfigurationError(f"no session with id {session_id}")
    blocks = list(
        db.scalars(
            select(AngleBlock).where(AngleBlock.session_id == session_id).order_by(AngleBlock.seq)
        )
    )
    if not blocks:
        return None
    decoded = [(list(b.columns), decode_angle_block(b)) for b in blocks]
    names: list[str] = []
    for columns, _rows in decoded:
        names.extend(c for c in columns[1:-1] if c not in names)
    total = sum(rows.shape[0] for _columns, rows in decoded)
    time_s = np.empty(total, dtype=np.float64)
    flags = np.empty(total, dtype=np.uint8)
    angles = {name: np.full(total, math.nan, dtype=np.float64) for name in names}
    start = 0
    for columns, rows in decoded:
        stop = start + rows.shape[0]
        time_s[start:stop] = rows[:, 0]
        flags[start:stop] = rows[:, -1].astype(np.uint8)
        for j, name in enumerate(columns[1:-1], start=1):
            angles[name][start:stop] = rows[:, j]
        start = stop
    rate = float(1.0 / np.median(np.diff(time_s))) if total > 1 else math.nan
    return AngleFrames(time_s=time_s, angles=angles, flags=flags, rate_hz=rate)


def complete_live_session(
    db: Session,
    session_id: int,
    result: ExerciseResult,
    *,
    summary_extra: Mapping[str, Any] | None = None,
) -> SessionRecord:
    """Assemble the stored sample blocks into the session's recording, delete them and
    store the final ``result`` — all in one transaction.

    A session without samples (a camera session, or one that received nothing) is
    completed without a recording; a camera session's angle blocks are kept as they are
    (see :class:`~spinecoach.store.models.AngleBlock`).
    """
    with db.begin():
        recording = stored_recording(db, session_id)
        if recording is not None:
            repository.attach_recording(db, session_id, recording)
        db.execute(delete(SampleBlock).where(SampleBlock.session_id == session_id))
        db.expire_all()
        record = repository.save_result(db, session_id, result)
        if summary_extra:
            record.summary = {**record.summary, **repository.json_safe(dict(summary_extra))}
    return record


def without_samples(recording: Recording, start_s: float, end_s: float) -> Recording:
    """``recording`` with every sensor's samples in ``[start_s, end_s)`` removed: a sensor
    drop-out, to rehearse one with the simulator."""
    sensors = {}
    for placement, data in recording.sensors.items():
        keep = (data.time_s < start_s) | (data.time_s >= end_s)
        sensors[placement] = SensorData.from_arrays(
            placement,
            data.time_s[keep],
            data.acc_mps2[keep],
            data.gyr_dps[keep],
            rate_hz=data.rate_hz,
            mag_ut=None if data.mag_ut is None else data.mag_ut[keep],
            device=data.device,
        )
    meta = {**recording.meta, "outage_s": f"{start_s:g}-{end_s:g}"}
    return Recording.create(
        sensors,
        start_utc=recording.start_utc,
        events=recording.events,
        meta=meta,
        truth=recording.truth,
    )
