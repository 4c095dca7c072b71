"""ORM models of the 6-week program (migration ``0004``): enrolments, red-flag
screenings, PSFS and medication entries and the program engine's decisions; every row
belongs to a person (``ON DELETE CASCADE``). Reading and writing them:
:mod:`spinecoach.store.program`. Import them from :mod:`spinecoach.store.models`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from spinecoach.store.base import (
    DOSES_MAX_PER_DAY,
    ENROLMENT_STATUSES,
    PSFS_CONTEXTS,
    PSFS_MAX_SCORE,
    RED_FLAG_URGENCIES,
    SCREENING_CONTEXTS,
    SCREENING_RESULTS,
    VAS_MAX_MM,
    VAS_MIN_MM,
    Base,
    JSONType,
    check_in,
    utc_now,
)


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
        CheckConstraint(check_in("status", ENROLMENT_STATUSES), name="status"),
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
        CheckConstraint(check_in("result", SCREENING_RESULTS), name="result"),
        CheckConstraint(check_in("context", SCREENING_CONTEXTS), name="context"),
        CheckConstraint(
            "(result = 'stop' AND urgency IS NOT NULL "
            f"AND {check_in('urgency', RED_FLAG_URGENCIES)} AND advice <> '') "
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
        CheckConstraint(check_in("context", PSFS_CONTEXTS), name="context"),
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


class ProgramClearance(Base):
    """A clinician's clearance after a program stopped by a red flag or by the engine's
    ``stop-refer`` decision (a jump in pain), migration ``0007``: who cleared the person
    (``cleared_by``, in words: "Dr Lee, GP"), a ``note`` and when it was recorded. Until
    it exists, no session starts (see :mod:`spinecoach.services.program_status`). At most
    one per stopped enrolment.
    """

    __tablename__ = "program_clearances"
    __table_args__ = (
        CheckConstraint("cleared_by <> ''", name="cleared_by"),
        UniqueConstraint("enrolment_id", name="uq_program_clearances_enrolment"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("program_enrolments.id", ondelete="CASCADE")
    )
    cleared_utc: Mapped[datetime] = mapped_column(default=utc_now)
    cleared_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
