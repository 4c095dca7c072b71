"""ORM models of accounts (issue 16): who may sign in, what they may see, and who saw what.

* ``users`` — an account: a unique lower-case ``username``, the ``password_hash`` (an
  Argon2id hash made by :mod:`spinecoach.services.accounts` through pwdlib; never the
  password), a ``role`` (``person``: their own data; ``clinician``: the persons assigned
  to them; ``admin``: users, settings and the audit log), the account's own ``person_id``
  (the data they exercise with; a clinician or an admin may have none), ``disabled``.
* ``care_assignments`` — a clinician and a person they follow (one row per pair).
* ``login_sessions`` — a signed-in browser: the SHA-256 of its cookie's random token
  (the token itself is never stored), when it expires.
* ``device_tokens`` — a phone's or sensor's push token for one person: its SHA-256 only,
  a name, when it was last used, when it was revoked.
* ``audit_log`` — append-only: who (user id and name, kept as text so that removing an
  account keeps the log readable) read or changed which person's data, through which
  route, when, and whether it was allowed. The migration adds triggers that refuse
  UPDATE and DELETE on it, on SQLite and PostgreSQL.

Import these models from :mod:`spinecoach.store.models`, which offers them all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from spinecoach.store.base import Base, check_in, utc_now

#: The roles of an account (see the module docstring).
ROLES: Final = ("person", "clinician", "admin")
#: Tables of accounts, not of health data: the data export (``store.export``) leaves them
#: out (they hold password and token hashes; the audit log has its own export).
ACCOUNT_TABLES: Final = frozenset(
    {"users", "care_assignments", "login_sessions", "device_tokens", "audit_log"}
)
#: What an audit entry records.
AUDIT_ACTIONS: Final = ("read", "change", "refused", "sign-in", "sign-out", "account")


class User(Base):
    """An account that signs in (table ``users``)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(check_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_utc: Mapped[datetime] = mapped_column(default=utc_now)
    password_changed_utc: Mapped[datetime] = mapped_column(default=utc_now)


class CareAssignment(Base):
    """A clinician follows a person (table ``care_assignments``)."""

    __tablename__ = "care_assignments"
    __table_args__ = (
        UniqueConstraint("clinician_id", "person_id", name="uq_care_assignments_clinician_person"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    created_utc: Mapped[datetime] = mapped_column(default=utc_now)


class LoginSession(Base):
    """A signed-in browser (table ``login_sessions``): the cookie's token hashed."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_utc: Mapped[datetime] = mapped_column(default=utc_now)
    expires_utc: Mapped[datetime] = mapped_column()


class DeviceToken(Base):
    """A phone's or sensor's push token for one person (table ``device_tokens``)."""

    __tablename__ = "device_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_utc: Mapped[datetime] = mapped_column(default=utc_now)
    last_used_utc: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_utc: Mapped[datetime | None] = mapped_column(nullable=True)


class AuditEntry(Base):
    """One access to a person's data, or an account event (table ``audit_log``; append
    only: the database refuses UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(check_in("action", AUDIT_ACTIONS), name="action"),
        Index("ix_audit_log_person_at", "person_id", "at_utc"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at_utc: Mapped[datetime] = mapped_column(default=utc_now)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    route: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(String(400), default="")


__all__ = [
    "ACCOUNT_TABLES",
    "AUDIT_ACTIONS",
    "ROLES",
    "AuditEntry",
    "CareAssignment",
    "DeviceToken",
    "LoginSession",
    "User",
]
