"""The working day: per-minute posture summaries, sitting bouts, desk-break prompts and
each person's desk-break settings.

* ``posture_minutes``: seconds per posture class in each minute, mean lumbar flexion and
  trunk inclination, trust flag, source; one row per person and minute.
* ``sitting_bouts``: start, end, seconds slouched; one row per person and start.
* ``desk_break_prompts``: when a prompt was shown for a sitting bout and its outcome
  (``pending``, ``started``, ``done`` with the session, ``snoozed``, ``dismissed``,
  ``expired``).
* ``posture_settings``: sitting limit, snooze and quiet hours per person.

Written out in full (no model imports), like every migration here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLASSES = (
    "lying",
    "sitting_upright",
    "sitting_slouched",
    "standing",
    "walking",
    "transition",
    "upright",
    "unknown",
)
OUTCOMES = ("pending", "started", "done", "snoozed", "dismissed", "expired")


def _person_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["person_id"], ["people.id"], name=op.f(f"fk_{table}_person_id_people"), ondelete="CASCADE"
    )


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "posture_minutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("minute_utc", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(f"{c}_s", sa.Float(), nullable=False) for c in CLASSES),
        sa.Column("lumbar_flexion_deg", sa.Float(), nullable=True),
        sa.Column("trunk_inclination_deg", sa.Float(), nullable=True),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            " AND ".join(f"{c}_s >= 0 AND {c}_s <= 60.5" for c in CLASSES),
            name=op.f("ck_posture_minutes_seconds"),
        ),
        _person_fk("posture_minutes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posture_minutes")),
        sa.UniqueConstraint("person_id", "minute_utc", name="uq_posture_minutes_person_minute"),
    )
    op.create_table(
        "sitting_bouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("start_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("slouched_s", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.CheckConstraint("end_utc >= start_utc", name=op.f("ck_sitting_bouts_order")),
        sa.CheckConstraint("slouched_s >= 0", name=op.f("ck_sitting_bouts_slouched")),
        _person_fk("sitting_bouts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sitting_bouts")),
        sa.UniqueConstraint("person_id", "start_utc", name="uq_sitting_bouts_person_start"),
    )
    op.create_table(
        "desk_break_prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("sitting_since_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prompted_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("outcome_utc", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("reps", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "outcome IN (" + ", ".join(f"'{o}'" for o in OUTCOMES) + ")",
            name=op.f("ck_desk_break_prompts_outcome"),
        ),
        _person_fk("desk_break_prompts"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_desk_break_prompts_session_id_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_break_prompts")),
    )
    op.create_index(
        "ix_desk_break_prompts_person_id_prompted_utc",
        "desk_break_prompts",
        ["person_id", "prompted_utc"],
    )
    op.create_index(op.f("ix_desk_break_prompts_session_id"), "desk_break_prompts", ["session_id"])
    op.create_table(
        "posture_settings",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("sitting_limit_min", sa.Float(), nullable=False),
        sa.Column("snooze_min", sa.Float(), nullable=False),
        sa.Column("quiet_start", sa.String(length=5), nullable=True),
        sa.Column("quiet_end", sa.String(length=5), nullable=True),
        sa.CheckConstraint(
            "sitting_limit_min >= 5 AND sitting_limit_min <= 240",
            name=op.f("ck_posture_settings_limit"),
        ),
        sa.CheckConstraint(
            "snooze_min >= 1 AND snooze_min <= 120", name=op.f("ck_posture_settings_snooze")
        ),
        _person_fk("posture_settings"),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_posture_settings")),
    )


def downgrade() -> None:
    """Downgrade schema (every posture record is dropped)."""
    op.drop_table("posture_settings")
    op.drop_index(op.f("ix_desk_break_prompts_session_id"), table_name="desk_break_prompts")
    op.drop_index("ix_desk_break_prompts_person_id_prompted_utc", table_name="desk_break_prompts")
    op.drop_table("desk_break_prompts")
    op.drop_table("sitting_bouts")
    op.drop_table("posture_minutes")
