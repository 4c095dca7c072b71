"""Camera sessions are stored like the others: their angle frames in ``angle_blocks``.

A camera session has no motion-sensor samples: the engine is fed angle frames (per
frame a time, the angle columns, quality flags). ``angle_blocks`` holds them the way
``sample_blocks`` holds samples, one block per live commit:

* ``session_id`` (cascade with the session), ``seq`` (0, 1, …: the blocks' order; unique
  per session), ``n_frames`` (> 0), ``first_t_s``/``last_t_s`` (seconds on the
  session clock, the block's first and last frame);
* ``columns``: JSON list of the names of the row's columns — ``time_s``, the angle
  columns (degrees), ``flags`` — so a block says what it holds without this version's
  column list;
* ``data``: zlib-compressed little-endian float64 rows, ``n_frames × len(columns)``,
  bit-exact (NaN where the camera could not see).

The blocks are kept when the session completes (they are its only raw data).

Written out in full (no model imports), like every migration here.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "angle_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("n_frames", sa.Integer(), nullable=False),
        sa.Column("first_t_s", sa.Float(), nullable=False),
        sa.Column("last_t_s", sa.Float(), nullable=False),
        sa.Column("columns", JSON_TYPE, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_utc", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("n_frames > 0", name=op.f("ck_angle_blocks_frames")),
        sa.CheckConstraint("last_t_s >= first_t_s", name=op.f("ck_angle_blocks_order")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_angle_blocks_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_angle_blocks")),
        sa.UniqueConstraint("session_id", "seq", name="uq_angle_blocks_session_seq"),
    )


def downgrade() -> None:
    """Downgrade schema (the stored angle frames of camera sessions are dropped)."""
    op.drop_table("angle_blocks")
