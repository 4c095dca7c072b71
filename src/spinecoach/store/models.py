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

Importing this module only defines classes: no engine, no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so later migrations can alter them on every backend.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SESSION_STATUSES: Final = ("active", "completed", "interrupted")
PAIN_CONTEXTS: Final = ("before", "after", "morning")
EVENT_KINDS: Final = ("cue", "annotation", "discarded")
COMPRESSIONS: Final = ("zlib", "lzma")
VAS_MIN_MM: Final = 0.0
VAS_MAX_MM: Final = 100.0
ENROLMENT_STATUSES: Final = ("active", "stopped", "completed")
SCREENING_RESULTS: Final = ("clear", "stop")
SCREENING_CONTEXTS: Final = ("onboarding", "rescreen")
RED_FLAG_URGENCIES: Final = ("emergency", "urgent", "soon")
PSFS_CONTEXTS: Final = ("baseline", "weekly")
PSFS_MAX_SCORE: Final = 10
DOSES_MAX_PER_DAY: Final = 24

# JSON on SQLite, JSONB (indexable, compact) on PostgreSQL.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored
    as naive UTC and marked UTC again when read. Naive datetimes are refused on write,
    because their meaning depends on the machine's clock settings.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
    }


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
        CheckConstraint(_in("status", SESSION_STATUSES), name="status"),
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
        CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
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
        CheckConstraint(_in("context", PAIN_CONTEXTS), name="context"),
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
    __table_args__ = (CheckConstraint(_in("compression", COMPRESSIONS), name="compression"),)

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

    ``data`` is zlib-compressed little-endian float64, ``n_samples`` rows of
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

    ``data`` is zlib-compressed little-endian float64, ``n_frames`` rows of
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


# The 6-week program (migration 0004; services in spinecoach.store.program) -------------
class ProgramEnrolment(Base):
    """One person's 6-week program, from onboarding to its end.

    ``status`` is ``active`` (at most one per person, a partial unique index), ``stopped``
    (``stop_reason`` says why, for example a red flag) or ``completed``. An enrolment
    stopped by the onboarding screening has no baseline; any other has one:
    ``baseline_vas_mm`` (0–100 mm), ``baseline_doses_per_day`` (0–24), ``schedule`` (JSON:
    ``morning_time``, ``work_start``, ``work_end`` as local ``HH:MM`` or null,
    ``desk_break_every_min``) and ``sensors`` (JSON list). The baseline PSFS activities
    are :class:`PsfsEntry` rows with context ``baseline``.
    """

    __tablename__ = "program_enrolments"
    __table_args__ = (
        CheckConstraint(_in("status", ENROLMENT_STATUSES), name="status"),
        CheckConstraint("status <> 'stopped' OR stop_reason <> ''", name="stop_reason"),
        CheckConstraint("status = 'active' OR ended_utc IS NOT NULL", name="ended"),
        CheckConstraint(
            "status = 'stopped' OR (baseline_vas_mm IS NOT NULL "
            "AND baseline_doses_per_day IS NOT NULL)",
            name="baseline",
        ),
        CheckConstraint(
            f"baseline_vas_mm IS NULL OR (baseline_vas_mm >= {VAS_MIN_MM:g} "
            f"AND baseline_vas_mm <= {VAS_MAX_MM:g})",
            name="baseline_vas_mm",
        ),
        CheckConstraint(
            "baseline_doses_per_day IS NULL OR (baseline_doses_per_day >= 0 "
            f"AND baseline_doses_per_day <= {DOSES_MAX_PER_DAY})",
            name="baseline_doses",
        ),
        Index(
            "uq_program_enrolments_person_active",
            "person_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    started_utc: Mapped[datetime] = mapped_column(default=utc_now)
    ended_utc: Mapped[datetime | None] = mapped_column(default=None)
    stop_reason: Mapped[str] = mapped_column(Text, default="")
    baseline_vas_mm: Mapped[float | None] = mapped_column(Float)
    baseline_doses_per_day: Mapped[int | None] = mapped_column(Integer)
    schedule: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sensors: Mapped[list[str]] = mapped_column(JSONType, default=list)


class RedFlagScreening(Base):
    """The answers to the red-flag questions and what they meant, every time they are
    asked: at onboarding and at any later re-screening (``context``).

    ``answers`` maps question id to yes (true) / no (false); ``flagged`` lists the ids
    answered yes; ``result`` is ``stop`` (with ``urgency`` and the ``advice`` shown) or
    ``clear`` (no urgency, no advice). ``red_flags_version`` is the question file's.
    """

    __tablename__ = "red_flag_screenings"
    __table_args__ = (
        CheckConstraint(_in("result", SCREENING_RESULTS), name="result"),
        CheckConstraint(_in("context", SCREENING_CONTEXTS), name="context"),
        CheckConstraint(
            "(result = 'stop' AND urgency IS NOT NULL "
            f"AND {_in('urgency', RED_FLAG_URGENCIES)} AND advice <> '') "
            "OR (result = 'clear' AND urgency IS NULL)",
            name="urgency",
        ),
        Index("ix_red_flag_screenings_person_id_screened_utc", "person_id", "screened_utc"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int | None] = mapped_column(
        ForeignKey("program_enrolments.id", ondelete="SET NULL"), index=True
    )
    screened_utc: Mapped[datetime] = mapped_column(default=utc_now)
    context: Mapped[str] = mapped_column(String(16))
    answers: Mapped[dict[str, Any]] = mapped_column()
    flagged: Mapped[list[str]] = mapped_column(JSONType)
    result: Mapped[str] = mapped_column(String(8))
    urgency: Mapped[str | None] = mapped_column(String(16))
    advice: Mapped[str] = mapped_column(Text, default="")
    red_flags_version: Mapped[int] = mapped_column(Integer)


class PsfsEntry(Base):
    """One Patient-Specific Functional Scale rating: an activity scored 0 (unable) to 10
    (as before the problem), at the ``baseline`` or in a ``weekly`` check."""

    __tablename__ = "psfs_entries"
    __table_args__ = (
        CheckConstraint(f"score >= 0 AND score <= {PSFS_MAX_SCORE}", name="score"),
        CheckConstraint(_in("context", PSFS_CONTEXTS), name="context"),
        CheckConstraint("activity <> ''", name="activity"),
        Index("ix_psfs_entries_person_id_recorded_utc", "person_id", "recorded_utc"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("program_enrolments.id", ondelete="CASCADE"), index=True
    )
    recorded_utc: Mapped[datetime] = mapped_column(default=utc_now)
    context: Mapped[str] = mapped_column(String(16))
    activity: Mapped[str] = mapped_column(String(200))
    score: Mapped[int] = mapped_column(Integer)


class MedicationEntry(Base):
    """Pain-medication use on one local calendar day: whole doses (0–24) and a note.

    ``taken_on`` is the person's local day as ISO text ``YYYY-MM-DD`` (a UTC time cannot
    say which day it was for them; the text sorts like a date and exports as-is). One
    entry per person and day (a second check-in the same day replaces it).
    """

    __tablename__ = "medication_entries"
    __table_args__ = (
        CheckConstraint(
            f"doses_per_day >= 0 AND doses_per_day <= {DOSES_MAX_PER_DAY}", name="doses"
        ),
        CheckConstraint("taken_on LIKE '____-__-__'", name="taken_on"),
        UniqueConstraint("person_id", "taken_on", name="uq_medication_entries_person_day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int | None] = mapped_column(
        ForeignKey("program_enrolments.id", ondelete="SET NULL"), index=True
    )
    taken_on: Mapped[str] = mapped_column(String(10))
    doses_per_day: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_utc: Mapped[datetime] = mapped_column(default=utc_now)


class ProgramDecision(Base):
    """A decision of the program engine (progress, hold, regress, …) for a program week,
    with the ``prescription`` it made and the ``reasons`` (the data it used), both JSON."""

    __tablename__ = "program_decisions"
    __table_args__ = (
        CheckConstraint("week >= 1", name="week"),
        CheckConstraint("kind <> ''", name="kind"),
        Index("ix_program_decisions_enrolment_id_decided_utc", "enrolment_id", "decided_utc"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("program_enrolments.id", ondelete="CASCADE")
    )
    decided_utc: Mapped[datetime] = mapped_column(default=utc_now)
    week: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    prescription: Mapped[dict[str, Any]] = mapped_column()
    reasons: Mapped[list[Any]] = mapped_column(JSONType)


#: Posture classes of the per-minute summaries (seconds of each; ``upright``: still and
#: upright but sitting and standing not told apart (upper sensor only); ``unknown``: no
#: trusted data), stored in the ``<class>_s`` columns of ``posture_minutes``.
POSTURE_CLASSES: Final[tuple[str, ...]] = (
    "lying",
    "sitting_upright",
    "sitting_slouched",
    "standing",
    "walking",
    "transition",
    "upright",
    "unknown",
)
DESK_BREAK_OUTCOMES: Final[tuple[str, ...]] = (
    "pending",
    "started",
    "done",
    "snoozed",
    "dismissed",
    "expired",
)


class PostureMinute(Base):
    """One minute of the working day: seconds in each posture class, the mean lumbar
    flexion and trunk inclination (deg; NULL without data), and whether the analysis
    trusted the sensors. One row per person and minute (a re-analysis replaces it)."""

    __tablename__ = "posture_minutes"
    __table_args__ = (
        UniqueConstraint("person_id", "minute_utc", name="uq_posture_minutes_person_minute"),
        CheckConstraint(
            " AND ".join(f"{c}_s >= 0 AND {c}_s <= 60.5" for c in POSTURE_CLASSES),
            name="seconds",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    minute_utc: Mapped[datetime] = mapped_column()
    lying_s: Mapped[float] = mapped_column(Float, default=0.0)
    sitting_upright_s: Mapped[float] = mapped_column(Float, default=0.0)
    sitting_slouched_s: Mapped[float] = mapped_column(Float, default=0.0)
    standing_s: Mapped[float] = mapped_column(Float, default=0.0)
    walking_s: Mapped[float] = mapped_column(Float, default=0.0)
    transition_s: Mapped[float] = mapped_column(Float, default=0.0)
    upright_s: Mapped[float] = mapped_column(Float, default=0.0)
    unknown_s: Mapped[float] = mapped_column(Float, default=0.0)
    lumbar_flexion_deg: Mapped[float | None] = mapped_column(Float)
    trunk_inclination_deg: Mapped[float | None] = mapped_column(Float)
    trusted: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(64), default="")


class SittingBout(Base):
    """A sitting bout: start and end (UTC), seconds slouched, where it was measured."""

    __tablename__ = "sitting_bouts"
    __table_args__ = (
        CheckConstraint("end_utc >= start_utc", name="order"),
        CheckConstraint("slouched_s >= 0", name="slouched"),
        UniqueConstraint("person_id", "start_utc", name="uq_sitting_bouts_person_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    start_utc: Mapped[datetime] = mapped_column()
    end_utc: Mapped[datetime] = mapped_column()
    slouched_s: Mapped[float] = mapped_column(Float, default=0.0)
    source: Mapped[str] = mapped_column(String(64), default="")


class DeskBreakPrompt(Base):
    """A desk-break prompt and what came of it: ``done`` (a seated cat-cow session with
    reps the exercise engine detected, ``session_id``), ``snoozed``, ``dismissed``,
    ``expired`` (the person stood up), or still ``pending``/``started``."""

    __tablename__ = "desk_break_prompts"
    __table_args__ = (
        CheckConstraint(_in("outcome", DESK_BREAK_OUTCOMES), name="outcome"),
        Index("ix_desk_break_prompts_person_id_prompted_utc", "person_id", "prompted_utc"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    sitting_since_utc: Mapped[datetime] = mapped_column()
    prompted_utc: Mapped[datetime] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    outcome_utc: Mapped[datetime | None] = mapped_column()
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True
    )
    reps: Mapped[int | None] = mapped_column(Integer)


class PostureSettings(Base):
    """A person's desk-break settings: the sitting limit before a prompt (minutes), the
    snooze length, and quiet hours (local ``HH:MM``; none: always on)."""

    __tablename__ = "posture_settings"
    __table_args__ = (
        CheckConstraint("sitting_limit_min >= 5 AND sitting_limit_min <= 240", name="limit"),
        CheckConstraint("snooze_min >= 1 AND snooze_min <= 120", name="snooze"),
    )

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    sitting_limit_min: Mapped[float] = mapped_column(Float, default=45.0)
    snooze_min: Mapped[float] = mapped_column(Float, default=10.0)
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
