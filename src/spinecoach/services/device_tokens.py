"""Per-device push tokens (issue 16 item 3): a phone or sensor that pushes samples
carries a token of one person in the ``Authorization: Bearer …`` header. The token is
shown once when made (with the push URL, as a QR code on the page); the database keeps
its SHA-256 only. A revoked token is refused from then on; a token pushes samples for its
own person only (its principal has role ``device`` and may change nothing else).

Bounds: a person holds at most :data:`MAX_TOKENS` tokens in use (a new one past that is
refused with :class:`TokenLimitError`: revoke one first); of the revoked ones the newest
:data:`MAX_REVOKED_KEPT` stay listed (older ones are deleted when a token is made), so
making and revoking tokens in a loop cannot grow the table. ``last_used_utc`` is written
at most once a minute per token (:data:`LAST_USED_EVERY_S`), not on every push (a phone
pushes five times a second).
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from spinecoach.services.accounts import AccountError, Principal, token_sha256
from spinecoach.store.models import DeviceToken

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

#: A token starts with this, so that it is recognised when pasted in the wrong place.
TOKEN_PREFIX: Final = "scd_"
#: The most tokens in use (not revoked) one person may hold.
MAX_TOKENS: Final = 50
#: The most revoked tokens kept listed per person (older ones are deleted).
MAX_REVOKED_KEPT: Final = 50
#: ``last_used_utc`` is brought up to date at most this often (s).
LAST_USED_EVERY_S: Final = 60.0


class TokenLimitError(AccountError):
    """The person holds :data:`MAX_TOKENS` tokens in use already."""


@dataclass(frozen=True)
class DeviceTokenInfo:
    """A device token as listed (never the token)."""

    id: int
    name: str
    created_utc: datetime
    last_used_utc: datetime | None
    revoked: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "created_utc": self.created_utc.isoformat(),
            "last_used_utc": self.last_used_utc.isoformat() if self.last_used_utc else None,
            "revoked": self.revoked,
        }


def create(engine: Engine, person_id: int, name: str) -> tuple[DeviceTokenInfo, str]:
    """A new token for ``person_id``'s device ``name``: its listing and the token (shown
    once; only its hash is kept)."""
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= 100:
        raise AccountError("a device name must be 1 to 100 characters, e.g. 'my phone'")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in cleaned):  # PostgreSQL: no NUL
        raise AccountError("a device name must be text without control characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as db, db.begin():
        mine = select(DeviceToken.id).where(DeviceToken.person_id == person_id)
        held = db.scalars(mine.where(DeviceToken.revoked_utc.is_(None))).all()
        if len(held) >= MAX_TOKENS:
            raise TokenLimitError(
                f"you hold {MAX_TOKENS} device tokens already: revoke one you no longer use"
            )
        revoked = db.scalars(
            mine.where(DeviceToken.revoked_utc.is_not(None)).order_by(DeviceToken.id.desc())
        ).all()
        if len(revoked) > MAX_REVOKED_KEPT:
            db.execute(delete(DeviceToken).where(DeviceToken.id.in_(revoked[MAX_REVOKED_KEPT:])))
        row = DeviceToken(
            token_sha256=token_sha256(token),
            person_id=person_id,
            name=cleaned,
            created_utc=datetime.now(UTC),
        )
        db.add(row)
        db.flush()
        return _info(row), token


def _info(row: DeviceToken) -> DeviceTokenInfo:
    return DeviceTokenInfo(
        row.id, row.name, row.created_utc, row.last_used_utc, row.revoked_utc is not None
    )


def listed(engine: Engine, person_id: int) -> list[DeviceTokenInfo]:
    """``person_id``'s device tokens, oldest first."""
    with Session(engine) as db:
        rows = db.scalars(
            select(DeviceToken).where(DeviceToken.person_id == person_id).order_by(DeviceToken.id)
        )
        return [_info(row) for row in rows]


def revoke(engine: Engine, person_id: int, token_id: int) -> bool:
    """Revoke one of ``person_id``'s tokens (False: they have no such token)."""
    with Session(engine) as db, db.begin():
        row = db.get(DeviceToken, token_id)
        if row is None or row.person_id != person_id:
            return False
        if row.revoked_utc is None:
            row.revoked_utc = datetime.now(UTC)
        return True


def device_principal(engine: Engine, token: str) -> Principal | None:
    """The principal of a device token (None: unknown or revoked): it may push samples
    for its person only."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    with Session(engine) as db, db.begin():
        row = db.scalars(
            select(DeviceToken).where(DeviceToken.token_sha256 == token_sha256(token))
        ).first()
        if row is None or row.revoked_utc is not None:
            return None
        now = datetime.now(UTC)
        last = row.last_used_utc
        if last is not None and last.tzinfo is None:  # SQLite keeps naive UTC
            last = last.replace(tzinfo=UTC)
        if last is None or now - last >= timedelta(seconds=LAST_USED_EVERY_S):
            row.last_used_utc = now
        return Principal(f"device:{row.name}"[:64], "device", row.person_id)


__all__ = [
    "LAST_USED_EVERY_S",
    "MAX_REVOKED_KEPT",
    "MAX_TOKENS",
    "TOKEN_PREFIX",
    "DeviceTokenInfo",
    "TokenLimitError",
    "create",
    "device_principal",
    "listed",
    "revoke",
]
