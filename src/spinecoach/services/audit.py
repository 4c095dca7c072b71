"""The audit log (issue 16 item 9): who read or changed which person's data, when, and
every refused attempt and account event — appended by the server's authorization layer
(:mod:`spinecoach.web.authz`) and by account changes, read by admins (page, CSV export,
``spinecoach users audit``). The table is append-only: the database itself refuses to
change or delete an entry (triggers of migration 0009).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from spinecoach.store.models import AuditEntry

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from spinecoach.services.accounts import Principal

#: The most entries one listing returns.
MAX_LIST: Final = 10_000
#: The columns of the CSV export, in order.
CSV_COLUMNS: Final = ("id", "at_utc", "user_id", "username", "action", "person_id", "route")


@dataclass(frozen=True)
class AuditRow:
    """One audit entry as read."""

    id: int
    at_utc: datetime
    user_id: int | None
    username: str
    action: str
    person_id: int | None
    route: str
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "at_utc": self.at_utc.isoformat(),
            "user_id": self.user_id,
            "username": self.username,
            "action": self.action,
            "person_id": self.person_id,
            "route": self.route,
            "detail": self.detail,
        }


def record(
    engine: Engine,
    principal: Principal | None,
    action: str,
    person_id: int | None,
    route: str,
    detail: str = "",
) -> None:
    """Append one entry (``principal`` None: nobody signed in, e.g. a failed sign-in)."""
    with Session(engine) as db, db.begin():
        db.add(
            AuditEntry(
                at_utc=datetime.now(UTC),
                user_id=principal.user_id if principal else None,
                username=(principal.username if principal else "anonymous")[:64],
                action=action,
                person_id=person_id,
                route=route[:200],
                detail=detail[:400],
            )
        )


def entries(
    engine: Engine, *, person_id: int | None = None, limit: int = 500, before_id: int | None = None
) -> list[AuditRow]:
    """The newest entries first (of one person with ``person_id``), at most ``limit``
    (up to :data:`MAX_LIST`), older than ``before_id`` to page back."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(min(limit, MAX_LIST))
    if person_id is not None:
        query = query.where(AuditEntry.person_id == person_id)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    with Session(engine) as db:
        return [
            AuditRow(
                e.id, e.at_utc, e.user_id, e.username, e.action, e.person_id, e.route, e.detail
            )
            for e in db.scalars(query)
        ]


#: A spreadsheet takes a cell starting with one of these as a formula.
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """``text`` safe to open in a spreadsheet: a cell that would start a formula gets a
    leading ``'`` (OWASP "CSV injection"; the texts come partly from requests)."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def to_csv(rows: list[AuditRow]) -> str:
    """``rows`` as CSV (:data:`CSV_COLUMNS` and ``detail``; times in ISO 8601 UTC); a
    text cell that a spreadsheet would run as a formula starts with ``'``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, "detail"])
    for row in rows:
        writer.writerow(
            [
                row.id,
                row.at_utc.isoformat(),
                "" if row.user_id is None else row.user_id,
                _cell(row.username),
                _cell(row.action),
                "" if row.person_id is None else row.person_id,
                _cell(row.route),
                _cell(row.detail),
            ]
        )
    return out.getvalue()


__all__ = ["CSV_COLUMNS", "MAX_LIST", "AuditRow", "entries", "record", "to_csv"]
