"""SQLAlchemy 2 ORM models: the only place the database schema is described in Python.

Every record belongs to a person: ``people`` own ``sessions`` and ``pain_entries``;
sets, reps, events and the raw data (the recording, live sample blocks, a camera
session's angle blocks) belong to a session (and so to its person).
Deleting a person deletes everything of theirs (``ON DELETE CASCADE``).
The 6-week program's records (enrolments, red-flag screenings, PSFS and medication
entries, program decisions) also belong to a person directly.

Times are timezone-aware UTC :class:`~datetime.datetime` values (columns ``*_utc``);
``*_s`` columns are seconds since the session's recording start, as in
:mod:`spinecoach.exercises.model`. The schema itself is made by the Alembic migrations
in :mod:`spinecoach.store.migrations`, never by ``create_all``; a test checks that the
migrations and these models agree.

The models are in three modules along the schema's seams — sessions and pain here, the
6-week program in :mod:`spinecoach.store.program_models`, posture monitoring in
:mod:`spinecoach.store.posture_models` — on the shared base of
:mod:`spinecoach.store.base`; this module offers all of them (import models from here).
The store holds persistence only: models and repositories taking plain values; the
program's rules are in :mod:`spinecoach.program`, applied by :mod:`spinecoach.services`.

Importing this module only defines classes: no engine, no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from spinecoach.store.account_models import (
    ACCOUNT_TABLES,
    AUDIT_ACTIONS,
    ROLES,
    AuditEntry,
    CareAssignment,
    DeviceToken,
    LoginSession,
    User,
)
from spinecoach.store.base import (
    COMPRESSIONS,
    DOSES_MAX_PER_DAY,
    ENROLMENT_STATUSES,
    EVENT_KINDS,
    NAMING_CONVENTION,
    PAIN_CONTEXTS,
    PSFS_CONTEXTS,
    PSFS_MAX_SCORE,
    RED_FLAG_URGENCIES,
    SCREENING_CONTEXTS,
    SCREENING_RESULTS,
    SESSION_STATUSES,
    VAS_MAX_MM,
    VAS_MIN_MM,
    Base,
    JSONType,
    UTCDateTime,
    check_in,
    utc_now,
)
from spinecoach.store.calibration_models import KeptCalibration
from spinecoach.store.posture_models import (
    DESK_BREAK_OUTCOMES,
    POSTURE_CLASSES,
    DeskBreakPrompt,
    PostureMinute,
    PostureSettings,
    SittingBout,
)
from spinecoach.store.program_models import (
    MedicationEntry,
    ProgramDecision,
    ProgramEnrolment,
    PsfsEntry,
    RedFlagScreening,
)

__all__ = [
    "ACCOUNT_TABLES",
    "ANGLE_BLOCK_FLAGS",
    "ANGLE_BLOCK_TIME",
    "AUDIT_ACTIONS",
    "COMPRESSIONS",
    "DESK_BREAK_OUTCOMES",
    "DOSES_MAX_PER_DAY",
    "ENROLMENT_STATUSES",
    "EVENT_KINDS",
    "NAMING_CONVENTION",
    "PAIN_CONTEXTS",
    "POSTURE_CLASSES",
    "PSFS_CONTEXTS",
    "PSFS_MAX_SCORE",
    "RED_FLAG_URGENCIES",
    "ROLES",
    "SAMPLE_BLOCK_COLUMNS",
    "SCREENING_CONTEXTS",
    "SCREENING_RESULTS",
    "SESSION_STATUSES",
    "VAS_MAX_MM",
    "VAS_MIN_MM",
    "AngleBlock",
    "AuditEntry",
    "Base",
    "CareAssignment",
    "DeskBreakPrompt",
    "DeviceToken",
    "EventRecord",
    "ExerciseSet",
    "JSONType",
    "KeptCalibration",
    "LoginSession",
    "MedicationEntry",
    "PainEntry",
    "Person",
    "PostureMinute",
    "PostureSettings",
    "ProgramDecision",
    "ProgramEnrolment",
    "PsfsEntry",
    "RecordingBlob",
    "RedFlagScreening",
    "RepRecord",
    "SampleBlock",
    "SessionRecord",
    "SittingBout",
    "UTCDateTime",
    "User",
    "check_in",
    "utc_now",
]


class Person(Base):
    """Someone who exercises; owner of every other record."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    created_utc: Mapped[datetime] = mapped_column(default=utc_now)

    sessions: Mapped[list[SessionRecord]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )
    pain_entries: Mapped[list[PainEntry]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )


class SessionRecord(Base):
    """One exercise session of one technique (table ``sessions``).

    Named ``SessionRecord`` so it is never confused with SQLAlchemy's ``Session``.
    ``status`` is ``active`` while recording, ``completed`` once its result is saved,
    ``interrupted`` when the server stopped before that. ``summary`` is JSON.
    ``source`` names where the data came from (``sim``, ``external``, ``devices``,
    ``camera``: angle frames in ``angle_blocks`` instead of samples);
    ``heartbeat_utc`` is refreshed by every commit of a live session, and
    ``live_config`` keeps what replaying its stored samples needs (rates, position,
    calibration mode).
    """

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint(check_in("status", SESSION_STATUSES), name="status"),
        Index("ix_sessions_person_id_started_utc", "person_id", "started_utc"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    technique: Mapped[str] = mapped_column(String(64))
    started_utc: Mapped[datetime] = mapped_column(default=utc_now)
    ended_utc: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default="active")
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(32), default="unknown", server_default="unknown")
    heartbeat_utc: Mapped[datetime | None] = mapped_column(default=None)
    live_config: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))

    person: Mapped[Person] = relationship(back_populates="sessions")
    sets: Mapped[list[ExerciseSet]] = relationship(
        back_populates="session",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ExerciseSet.set_index",
    )
    reps: Mapped[list[RepRecord]] = relationship(
        back_populates="session",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="RepRecord.rep_index",
    )
    events: Mapped[list[EventRecord]] = relationship(
        back_populates="session",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(EventRecord.start_s, EventRecord.id)",
    )
    recording: Mapped[RecordingBlob | None] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True
    )
    sample_blocks: Mapped[list[SampleBlock]] = relationship(
        back_populates="session",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(SampleBlock.placement, SampleBlock.seq)",
    )
    angle_blocks: Mapped[list[AngleBlock]] = relationship(
        back_populates="session",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="AngleBlock.seq",
    )


class ExerciseSet(Base):
    """A set of reps (:class:`~spinecoach.exercises.model.SetSummary`)."""

    __tablename__ = "exercise_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    set_index: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    rep_count: Mapped[int] = mapped_column(Integer)

    session: Mapped[SessionRecord] = relationship(back_populates="sets")


class RepRecord(Base):
    """One rep with every field of :class:`~spinecoach.exercises.model.Rep`.

    ``faults`` is a JSON list of the full fault records (name, value, threshold, unit,
    reason, cue); ``fault_names`` repeats the names for quick filtering. NaN
    (``extension_*`` of techniques without an extension half) is stored as NULL.
    """

    __tablename__ = "reps"
    __table_args__ = (CheckConstraint("quality >= 0 AND quality <= 100", name="quality"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    technique: Mapped[str] = mapped_column(String(64))
    rep_index: Mapped[int] = mapped_column(Integer)
    set_index: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    peak_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    range_deg: Mapped[float | None] = mapped_column(Float)
    hold_s: Mapped[float | None] = mapped_column(Float)
    hold_start_s: Mapped[float | None] = mapped_column(Float)
    hold_end_s: Mapped[float | None] = mapped_column(Float)
    move_s: Mapped[float | None] = mapped_column(Float)
    return_s: Mapped[float | None] = mapped_column(Float)
    quality: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[str]] = mapped_column(JSONType)
    fault_names: Mapped[list[str]] = mapped_column(JSONType)
    faults: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    measures: Mapped[dict[str, Any]] = mapped_column()
    extension_hold_s: Mapped[float | None] = mapped_column(Float)
    extension_range_deg: Mapped[float | None] = mapped_column(Float)

    session: Mapped[SessionRecord] = relationship(back_populates="reps")


class EventRecord(Base):
    """Something that happened during a session over ``[start_s, end_s]``.

    ``kind`` is ``cue`` (``label`` is the catalogue key; ``text`` and ``reason`` what
    was said and why), ``discarded`` (a movement not counted, ``reason`` says why) or
    ``annotation``.
    """

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint(check_in("kind", EVENT_KINDS), name="kind"),
        CheckConstraint("end_s >= start_s", name="order"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")

    session: Mapped[SessionRecord] = relationship(back_populates="events")


class PainEntry(Base):
    """A pain rating on a 0–100 mm visual analogue scale (VAS), optionally in a session."""

    __tablename__ = "pain_entries"
    __table_args__ = (
        CheckConstraint(f"vas_mm >= {VAS_MIN_MM:g} AND vas_mm <= {VAS_MAX_MM:g}", name="vas_mm"),
        CheckConstraint(check_in("context", PAIN_CONTEXTS), name="context"),
        Index("ix_pain_entries_person_id_recorded_utc", "person_id", "recorded_utc"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True
    )
    recorded_utc: Mapped[datetime] = mapped_column(default=utc_now)
    vas_mm: Mapped[float] = mapped_column(Float)
    context: Mapped[str] = mapped_column(String(16))

    person: Mapped[Person] = relationship(back_populates="pain_entries")


class RecordingBlob(Base):
    """The raw recording of a session: our native ``.screc`` file, compressed.

    ``sha256`` and ``size_bytes`` describe the uncompressed file, so a check after
    decompression proves the bytes are the ones written. One per session.
    """

    __tablename__ = "recording_blobs"
    __table_args__ = (CheckConstraint(check_in("compression", COMPRESSIONS), name="compression"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), unique=True
    )
    format_version: Mapped[int] = mapped_column(Integer)
    compression: Mapped[str] = mapped_column(String(8))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_utc: Mapped[datetime] = mapped_column(default=utc_now)

    session: Mapped[SessionRecord] = relationship(back_populates="recording")


#: Columns of a sample block: time (s), acc xyz (m/s²), gyr xyz (deg/s)[, mag xyz (µT)].
SAMPLE_BLOCK_COLUMNS: Final = (7, 10)


class SampleBlock(Base):
    """Raw samples of one sensor during a live session, committed about every second.

    ``data`` is compressed little-endian float64 (:mod:`spinecoach.store.block_codec`:
    shuffle + zstd; zlib in blocks of earlier versions), ``n_samples`` rows of
    ``n_columns`` (7: ``t, acc_x..z, gyr_x..z``; 10: plus ``mag_x..z``), bit-exact.
    ``seq`` orders a sensor's blocks. When the session is completed the blocks are
    assembled into its :class:`RecordingBlob` and deleted in the same transaction.
    """

    __tablename__ = "sample_blocks"
    __table_args__ = (
        CheckConstraint("n_columns IN (7, 10)", name="columns"),
        CheckConstraint("last_t >= first_t", name="order"),
        UniqueConstraint(
            "session_id", "placement", "seq", name="uq_sample_blocks_session_placement_seq"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    placement: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)
    rate_hz: Mapped[float] = mapped_column(Float)
    n_samples: Mapped[int] = mapped_column(Integer)
    n_columns: Mapped[int] = mapped_column(Integer)
    first_t: Mapped[float] = mapped_column(Float)
    last_t: Mapped[float] = mapped_column(Float)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_utc: Mapped[datetime] = mapped_column(default=utc_now)

    session: Mapped[SessionRecord] = relationship(back_populates="sample_blocks")


#: First and last column names of an angle block's rows (the angle columns between).
ANGLE_BLOCK_TIME: Final = "time_s"
ANGLE_BLOCK_FLAGS: Final = "flags"


class AngleBlock(Base):
    """Angle frames of a camera session (no motion sensors), committed about every second.

    ``data`` is compressed little-endian float64 (as a sample block), ``n_frames`` rows of
    ``len(columns)`` values; ``columns`` (JSON) names them: ``time_s`` (session clock),
    the angle columns of :data:`spinecoach.conventions.ANGLE_COLUMNS` (degrees, NaN where
    the camera could not see) and ``flags`` (the uint8 quality flags of
    :mod:`spinecoach.motion.flags`, exact in float64). Naming the columns in every block
    keeps old blocks readable if the angle columns change. ``seq`` orders a session's
    blocks. Unlike sample blocks, they are kept when the session completes: they are the
    session's raw data (there is no IMU recording to assemble them into), and rewriting
    them at completion would only add a way for completion to fail.
    """

    __tablename__ = "angle_blocks"
    __table_args__ = (
        CheckConstraint("n_frames > 0", name="frames"),
        CheckConstraint("last_t_s >= first_t_s", name="order"),
        UniqueConstraint("session_id", "seq", name="uq_angle_blocks_session_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    n_frames: Mapped[int] = mapped_column(Integer)
    first_t_s: Mapped[float] = mapped_column(Float)
    last_t_s: Mapped[float] = mapped_column(Float)
    columns: Mapped[list[str]] = mapped_column(JSONType)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_utc: Mapped[datetime] = mapped_column(default=utc_now)

    session: Mapped[SessionRecord] = relationship(back_populates="angle_blocks")
