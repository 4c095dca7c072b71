"""Live sessions are stored while they run: sample blocks, the session's source, its live
settings and a heartbeat.

A live session writes its raw samples in blocks (``sample_blocks``, about one per
second and sensor) and its reps, cues and annotations as they happen, so a server that
dies loses at most the last second. ``heartbeat_utc`` is refreshed with every commit; an
``active`` session whose heartbeat is old belongs to a server that stopped, and is marked
``interrupted``. ``live_config`` holds what is needed to replay the stored samples
through the same engine when such a session is closed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(
            sa.Column("source", sa.String(length=32), nullable=False, server_default="unknown")
        )
        batch.add_column(sa.Column("heartbeat_utc", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("live_config", JSON_TYPE, nullable=False, server_default=sa.text("'{}'"))
        )
    op.create_table(
        "sample_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("placement", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("rate_hz", sa.Float(), nullable=False),
        sa.Column("n_samples", sa.Integer(), nullable=False),
        sa.Column("n_columns", sa.Integer(), nullable=False),
        sa.Column("first_t", sa.Float(), nullable=False),
        sa.Column("last_t", sa.Float(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_utc", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("n_columns IN (7, 10)", name=op.f("ck_sample_blocks_columns")),
        sa.CheckConstraint("last_t >= first_t", name=op.f("ck_sample_blocks_order")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_sample_blocks_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sample_blocks")),
        sa.UniqueConstraint(
            "session_id", "placement", "seq", name="uq_sample_blocks_session_placement_seq"
        ),
    )


def downgrade() -> None:
    """Downgrade schema (the stored sample blocks are dropped)."""
    op.drop_table("sample_blocks")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("live_config")
        batch.drop_column("heartbeat_utc")
        batch.drop_column("source")
