"""A clinician's clearance after a stopped program: ``program_clearances`` (issue 15).

After a red flag or a jump in pain stops a program, no session starts until a clearance
is recorded (``POST /api/program/clearance``). One row per stopped enrolment:

* ``person_id`` (cascade with the person), ``enrolment_id`` (the stopped program,
  cascade; unique: one clearance per stop);
* ``cleared_by``: who cleared the person, in words (not empty), and a ``note``;
* ``cleared_utc``: when it was recorded.

Written out in full (no model imports), like every migration here.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "program_clearances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("cleared_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint("cleared_by <> ''", name=op.f("ck_program_clearances_cleared_by")),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_program_clearances_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["program_enrolments.id"],
            name=op.f("fk_program_clearances_enrolment_id_program_enrolments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_clearances")),
        sa.UniqueConstraint("enrolment_id", name="uq_program_clearances_enrolment"),
    )
    op.create_index(op.f("ix_program_clearances_person_id"), "program_clearances", ["person_id"])


def downgrade() -> None:
    """Downgrade schema (the recorded clearances are dropped)."""
    op.drop_index(op.f("ix_program_clearances_person_id"), table_name="program_clearances")
    op.drop_table("program_clearances")
