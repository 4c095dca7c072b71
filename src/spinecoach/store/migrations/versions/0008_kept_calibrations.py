"""Calibrations kept between sessions (issue 15 item 6: calibrate once, not every
session): ``kept_calibrations``, one row per full calibration —

* ``person_id`` (cascade with the person), ``source`` (``sim``, ``devices``,
  ``external``), ``placements`` (``lower,upper``; not empty), ``device_key``
  (``placement=device`` pairs, ``""`` when unknown), indexed together as the key a
  session looks its calibration up by;
* ``position`` (the start position of its neutral), ``calibration`` (JSON of
  ``motion.calibration_store.PersonalCalibration``: per sensor its segment axes in sensor
  axes, the personal ranges by technique), ``session_id`` (the session it came from;
  NULL when that session is deleted), ``created_utc``.

Written out in full (no model imports), like every migration here.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "kept_calibrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("placements", sa.String(length=64), nullable=False),
        sa.Column("device_key", sa.String(length=512), nullable=False),
        sa.Column("position", sa.String(length=32), nullable=False),
        sa.Column("calibration", JSON_TYPE, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("created_utc", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("placements <> ''", name=op.f("ck_kept_calibrations_placements")),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_kept_calibrations_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_kept_calibrations_session_id_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kept_calibrations")),
    )
    op.create_index(
        "ix_kept_calibrations_person_key",
        "kept_calibrations",
        ["person_id", "source", "placements"],
    )


def downgrade() -> None:
    """Downgrade schema (the kept calibrations are dropped: the next sessions calibrate
    fully)."""
    op.drop_index("ix_kept_calibrations_person_key", table_name="kept_calibrations")
    op.drop_table("kept_calibrations")
