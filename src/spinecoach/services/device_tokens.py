"""Per-device push tokens (issue 16 item 3): a phone or sensor that pushes samples
carries a token of one person in the ``Authorization: Bearer …`` header. The token is
shown once when made (with the push URL, as a QR code on the page); the database keeps
its SHA-256 only. A revoked token is refused from then on; a token pushes samples for its
own person only (its principal has role ``device`` and may change nothing else).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from spinecoach.services.accounts import AccountError, Principal, token_sha256
from spinecoach.store.models import DeviceToken

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

#: A token starts with this, so that it is recognised when pasted in the wrong place.
TOKEN_PREFIX: Final = "scd_"
#: The most tokens one person may hold (revoked ones count until deleted).
MAX_TOKENS: Final = 50


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
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as db, db.begin():
        held = db.scalars(select(DeviceToken.id).where(DeviceToken.person_id == person_id)).all()
        if len(held) >= MAX_TOKENS:
            raise AccountError(
                f"you hold {MAX_TOKENS} device tokens already: revoke one you no longer use"
            )
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
        row.last_used_utc = datetime.now(UTC)
        return Principal(f"device:{row.name}"[:64], "device", row.person_id)


__all__ = [
    "MAX_TOKENS",
    "TOKEN_PREFIX",
    "DeviceTokenInfo",
    "create",
    "device_principal",
    "listed",
    "revoke",
]
