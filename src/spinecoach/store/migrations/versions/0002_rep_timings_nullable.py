"""Rep timings and range may be missing: NULL where the engine measured NaN.

A breath-led cat-cow rep has no separate return phase (``return_s`` is NaN), and a rep
cut short by stop may lack a hold; SQLite stores NaN as NULL, so the NOT NULL columns
refused those reps and the whole session's result.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("range_deg", "hold_s", "hold_start_s", "hold_end_s", "move_s", "return_s")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("reps") as batch:
        for column in COLUMNS:
            batch.alter_column(column, existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    """Downgrade schema (fails while a rep has a NULL timing)."""
    with op.batch_alter_table("reps") as batch:
        for column in COLUMNS:
            batch.alter_column(column, existing_type=sa.Float(), nullable=False)
