"""ORM model of the calibrations kept between sessions (issue 15 item 6): one row per
full calibration, keyed by person, source kind (``sim``, ``devices``, ``external``), the
sensor placements and the device ids where known. The calibration itself is the JSON of
:class:`spinecoach.motion.calibration_store.PersonalCalibration`. Reading and writing:
:mod:`spinecoach.services.calibration`. Import it from :mod:`spinecoach.store.models`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from spinecoach.store.base import Base, utc_now


class KeptCalibration(Base):
    """A person's calibration kept for the next sessions with the same sensors.

    ``placements``: the sensors, comma-separated in the conventions' order
    (``lower,upper``); ``device_key``: ``placement=device`` pairs in that order, ``""``
    when no device id is known (the simulator, a client's samples); ``position``: the
    start position of its neutral; ``session_id``: the session it came from (kept when
    that session is deleted: NULL)."""

    __tablename__ = "kept_calibrations"
    __table_args__ = (
        CheckConstraint("placements <> ''", name="placements"),
        Index("ix_kept_calibrations_person_key", "person_id", "source", "placements"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    placements: Mapped[str] = mapped_column(String(64))
    device_key: Mapped[str] = mapped_column(String(512), default="")
    position: Mapped[str] = mapped_column(String(32))
    calibration: Mapped[dict[str, Any]] = mapped_column()
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True
    )
    created_utc: Mapped[datetime] = mapped_column(default=utc_now)


__all__ = ["KeptCalibration"]
