"""ORM models of posture monitoring (issue 7): per-minute posture summaries, sitting
bouts, desk-break prompts and each person's desk-break settings. Reading and writing
them: :mod:`spinecoach.store.posture`. Import them from :mod:`spinecoach.store.models`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spinecoach.store.base import Base, check_in

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
        CheckConstraint(check_in("outcome", DESK_BREAK_OUTCOMES), name="outcome"),
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
