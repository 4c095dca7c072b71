"""Accounts, roles, sign-in sessions, device tokens and the audit log (issue 16):
``users``, ``care_assignments``, ``login_sessions``, ``device_tokens`` and ``audit_log``
as described in :mod:`spinecoach.store.account_models`.

``audit_log`` is append-only: triggers refuse UPDATE and DELETE on SQLite
(``RAISE(ABORT, …)``; SQLite has no TRUNCATE) and UPDATE, DELETE and TRUNCATE on
PostgreSQL (a trigger function raising an exception). Its
``user_id`` and ``person_id`` carry no foreign key, so removing an account or a person
keeps what was done with their data readable.

Written out in full (no model imports), like every migration here.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "audit_log is append-only: entries are never changed or deleted"


def _when() -> sa.Column[object]:
    return sa.Column("created_utc", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _when(),
        sa.Column("password_changed_utc", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('person', 'clinician', 'admin')", name=op.f("ck_users_role")),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_users_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "care_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        _when(),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["users.id"],
            name=op.f("fk_care_assignments_clinician_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_care_assignments_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_assignments")),
        sa.UniqueConstraint(
            "clinician_id", "person_id", name=op.f("uq_care_assignments_clinician_person")
        ),
    )
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _when(),
        sa.Column("expires_utc", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_login_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_login_sessions_token_sha256")),
    )
    op.create_index(op.f("ix_login_sessions_user_id"), "login_sessions", ["user_id"])
    op.create_table(
        "device_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        _when(),
        sa.Column("last_used_utc", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_utc", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_device_tokens_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_device_tokens_token_sha256")),
    )
    op.create_index(op.f("ix_device_tokens_person_id"), "device_tokens", ["person_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.String(length=400), nullable=False),
        sa.CheckConstraint(
            "action IN ('read', 'change', 'refused', 'sign-in', 'sign-out', 'account')",
            name=op.f("ck_audit_log_action"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_person_at", "audit_log", ["person_id", "at_utc"])
    _append_only_triggers()


def _append_only_triggers() -> None:
    """The database itself refuses to change or delete an audit entry."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
            )
        op.execute(  # TRUNCATE fires no row trigger: a statement trigger refuses it
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )


def downgrade() -> None:
    """Downgrade schema (accounts, tokens and the audit log are dropped)."""
    if op.get_bind().dialect.name == "postgresql":
        for event in ("update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{event} ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{event}")
    op.drop_index("ix_audit_log_person_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_device_tokens_person_id"), table_name="device_tokens")
    op.drop_table("device_tokens")
    op.drop_index(op.f("ix_login_sessions_user_id"), table_name="login_sessions")
    op.drop_table("login_sessions")
    op.drop_table("care_assignments")
    op.drop_table("users")
