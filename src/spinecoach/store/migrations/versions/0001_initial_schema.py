"""Initial schema: people, sessions, sets, reps, events, pain entries, recordings.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Written out in full (no imports from ``spinecoach.store.models``) so this revision
keeps building the same schema when the models change later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# JSON on SQLite, JSONB on PostgreSQL (as ``models.JSONType``).
JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("created_utc", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("technique", sa.String(length=64), nullable=False),
        sa.Column("started_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_utc", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", JSON_TYPE, nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'completed', 'interrupted')", name=op.f("ck_sessions_status")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_sessions_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_index("ix_sessions_person_id_started_utc", "sessions", ["person_id", "started_utc"])

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('cue', 'annotation', 'discarded')", name=op.f("ck_events_kind")
        ),
        sa.CheckConstraint("end_s >= start_s", name=op.f("ck_events_order")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_events_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_session_id"), "events", ["session_id"])

    op.create_table(
        "exercise_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("set_index", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("rep_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_exercise_sets_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_sets")),
    )
    op.create_index(op.f("ix_exercise_sets_session_id"), "exercise_sets", ["session_id"])

    op.create_table(
        "pain_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("recorded_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("vas_mm", sa.Float(), nullable=False),
        sa.Column("context", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "context IN ('before', 'after', 'morning')", name=op.f("ck_pain_entries_context")
        ),
        sa.CheckConstraint("vas_mm >= 0 AND vas_mm <= 100", name=op.f("ck_pain_entries_vas_mm")),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_pain_entries_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_pain_entries_session_id_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pain_entries")),
    )
    op.create_index(
        "ix_pain_entries_person_id_recorded_utc", "pain_entries", ["person_id", "recorded_utc"]
    )
    op.create_index(op.f("ix_pain_entries_session_id"), "pain_entries", ["session_id"])

    op.create_table(
        "recording_blobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("format_version", sa.Integer(), nullable=False),
        sa.Column("compression", sa.String(length=8), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_utc", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "compression IN ('zlib', 'lzma')", name=op.f("ck_recording_blobs_compression")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_recording_blobs_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_blobs")),
        sa.UniqueConstraint("session_id", name=op.f("uq_recording_blobs_session_id")),
    )
    op.create_table(
        "reps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("technique", sa.String(length=64), nullable=False),
        sa.Column("rep_index", sa.Integer(), nullable=False),
        sa.Column("set_index", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("peak_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("range_deg", sa.Float(), nullable=False),
        sa.Column("hold_s", sa.Float(), nullable=False),
        sa.Column("hold_start_s", sa.Float(), nullable=False),
        sa.Column("hold_end_s", sa.Float(), nullable=False),
        sa.Column("move_s", sa.Float(), nullable=False),
        sa.Column("return_s", sa.Float(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("reasons", JSON_TYPE, nullable=False),
        sa.Column("fault_names", JSON_TYPE, nullable=False),
        sa.Column("faults", JSON_TYPE, nullable=False),
        sa.Column("measures", JSON_TYPE, nullable=False),
        sa.Column("extension_hold_s", sa.Float(), nullable=True),
        sa.Column("extension_range_deg", sa.Float(), nullable=True),
        sa.CheckConstraint("quality >= 0 AND quality <= 100", name=op.f("ck_reps_quality")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_reps_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reps")),
    )
    op.create_index(op.f("ix_reps_session_id"), "reps", ["session_id"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_reps_session_id"), table_name="reps")

    op.drop_table("reps")
    op.drop_table("recording_blobs")
    op.drop_index(op.f("ix_pain_entries_session_id"), table_name="pain_entries")
    op.drop_index("ix_pain_entries_person_id_recorded_utc", table_name="pain_entries")

    op.drop_table("pain_entries")
    op.drop_index(op.f("ix_exercise_sets_session_id"), table_name="exercise_sets")

    op.drop_table("exercise_sets")
    op.drop_index(op.f("ix_events_session_id"), table_name="events")

    op.drop_table("events")
    op.drop_index("ix_sessions_person_id_started_utc", table_name="sessions")

    op.drop_table("sessions")
    op.drop_table("people")
