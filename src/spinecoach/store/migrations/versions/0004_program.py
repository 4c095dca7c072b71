"""The 6-week program: enrolments, red-flag screenings, PSFS, medication and decisions.

* ``program_enrolments``: one person's program with its baseline (VAS, medication,
  schedule, sensors), status ``active`` / ``stopped`` / ``completed`` and stop reason; at
  most one ``active`` per person (a partial unique index).
* ``red_flag_screenings``: every screening's answers, result, urgency and advice.
* ``psfs_entries``: Patient-Specific Functional Scale ratings (baseline and weekly).
* ``medication_entries``: pain-medication doses per local day (one per person and day).
* ``program_decisions``: what the program engine decided, with its prescription and
  reasons.

Written out in full (no model imports), like every migration here.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _person_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["person_id"], ["people.id"], name=op.f(f"fk_{table}_person_id_people"), ondelete="CASCADE"
    )


def _enrolment_fk(table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["enrolment_id"],
        ["program_enrolments.id"],
        name=op.f(f"fk_{table}_enrolment_id_program_enrolments"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "program_enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_utc", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=False),
        sa.Column("baseline_vas_mm", sa.Float(), nullable=True),
        sa.Column("baseline_doses_per_day", sa.Integer(), nullable=True),
        sa.Column("schedule", JSON_TYPE, nullable=False),
        sa.Column("sensors", JSON_TYPE, nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'stopped', 'completed')",
            name=op.f("ck_program_enrolments_status"),
        ),
        sa.CheckConstraint(
            "status <> 'stopped' OR stop_reason <> ''",
            name=op.f("ck_program_enrolments_stop_reason"),
        ),
        sa.CheckConstraint(
            "status = 'active' OR ended_utc IS NOT NULL",
            name=op.f("ck_program_enrolments_ended"),
        ),
        sa.CheckConstraint(
            "status = 'stopped' OR (baseline_vas_mm IS NOT NULL "
            "AND baseline_doses_per_day IS NOT NULL)",
            name=op.f("ck_program_enrolments_baseline"),
        ),
        sa.CheckConstraint(
            "baseline_vas_mm IS NULL OR (baseline_vas_mm >= 0 AND baseline_vas_mm <= 100)",
            name=op.f("ck_program_enrolments_baseline_vas_mm"),
        ),
        sa.CheckConstraint(
            "baseline_doses_per_day IS NULL OR (baseline_doses_per_day >= 0 "
            "AND baseline_doses_per_day <= 24)",
            name=op.f("ck_program_enrolments_baseline_doses"),
        ),
        _person_fk("program_enrolments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_enrolments")),
    )
    op.create_index(op.f("ix_program_enrolments_person_id"), "program_enrolments", ["person_id"])
    op.create_index(
        "uq_program_enrolments_person_active",
        "program_enrolments",
        ["person_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )

    op.create_table(
        "red_flag_screenings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=True),
        sa.Column("screened_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("context", sa.String(length=16), nullable=False),
        sa.Column("answers", JSON_TYPE, nullable=False),
        sa.Column("flagged", JSON_TYPE, nullable=False),
        sa.Column("result", sa.String(length=8), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=True),
        sa.Column("advice", sa.Text(), nullable=False),
        sa.Column("red_flags_version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "result IN ('clear', 'stop')", name=op.f("ck_red_flag_screenings_result")
        ),
        sa.CheckConstraint(
            "context IN ('onboarding', 'rescreen')", name=op.f("ck_red_flag_screenings_context")
        ),
        sa.CheckConstraint(
            "(result = 'stop' AND urgency IS NOT NULL "
            "AND urgency IN ('emergency', 'urgent', 'soon') AND advice <> '') "
            "OR (result = 'clear' AND urgency IS NULL)",
            name=op.f("ck_red_flag_screenings_urgency"),
        ),
        _person_fk("red_flag_screenings"),
        _enrolment_fk("red_flag_screenings", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_red_flag_screenings")),
    )
    op.create_index(
        op.f("ix_red_flag_screenings_enrolment_id"), "red_flag_screenings", ["enrolment_id"]
    )
    op.create_index(
        "ix_red_flag_screenings_person_id_screened_utc",
        "red_flag_screenings",
        ["person_id", "screened_utc"],
    )

    op.create_table(
        "psfs_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("recorded_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("context", sa.String(length=16), nullable=False),
        sa.Column("activity", sa.String(length=200), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.CheckConstraint("score >= 0 AND score <= 10", name=op.f("ck_psfs_entries_score")),
        sa.CheckConstraint(
            "context IN ('baseline', 'weekly')", name=op.f("ck_psfs_entries_context")
        ),
        sa.CheckConstraint("activity <> ''", name=op.f("ck_psfs_entries_activity")),
        _person_fk("psfs_entries"),
        _enrolment_fk("psfs_entries", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_psfs_entries")),
    )
    op.create_index(op.f("ix_psfs_entries_enrolment_id"), "psfs_entries", ["enrolment_id"])
    op.create_index(
        "ix_psfs_entries_person_id_recorded_utc", "psfs_entries", ["person_id", "recorded_utc"]
    )

    op.create_table(
        "medication_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=True),
        sa.Column("taken_on", sa.String(length=10), nullable=False),
        sa.Column("doses_per_day", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_utc", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "doses_per_day >= 0 AND doses_per_day <= 24", name=op.f("ck_medication_entries_doses")
        ),
        sa.CheckConstraint(
            "taken_on LIKE '____-__-__'", name=op.f("ck_medication_entries_taken_on")
        ),
        _person_fk("medication_entries"),
        _enrolment_fk("medication_entries", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medication_entries")),
        sa.UniqueConstraint("person_id", "taken_on", name="uq_medication_entries_person_day"),
    )
    op.create_index(
        op.f("ix_medication_entries_enrolment_id"), "medication_entries", ["enrolment_id"]
    )

    op.create_table(
        "program_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("decided_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("prescription", JSON_TYPE, nullable=False),
        sa.Column("reasons", JSON_TYPE, nullable=False),
        sa.CheckConstraint("week >= 1", name=op.f("ck_program_decisions_week")),
        sa.CheckConstraint("kind <> ''", name=op.f("ck_program_decisions_kind")),
        _person_fk("program_decisions"),
        _enrolment_fk("program_decisions", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_decisions")),
    )
    op.create_index(op.f("ix_program_decisions_person_id"), "program_decisions", ["person_id"])
    op.create_index(
        "ix_program_decisions_enrolment_id_decided_utc",
        "program_decisions",
        ["enrolment_id", "decided_utc"],
    )


def downgrade() -> None:
    """Downgrade schema (every program record is dropped)."""
    op.drop_table("program_decisions")
    op.drop_table("medication_entries")
    op.drop_table("psfs_entries")
    op.drop_table("red_flag_screenings")
    op.drop_index("uq_program_enrolments_person_active", table_name="program_enrolments")
    op.drop_index(op.f("ix_program_enrolments_person_id"), table_name="program_enrolments")
    op.drop_table("program_enrolments")
