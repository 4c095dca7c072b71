"""The foundation of the ORM models: the declarative :class:`Base` with stable constraint
names, the column types (:class:`UTCDateTime`, :data:`JSONType`) and the allowed values
the CHECK constraints name. The models themselves are in :mod:`spinecoach.store.models`
(sessions and pain), :mod:`spinecoach.store.program_models` (the 6-week program) and
:mod:`spinecoach.store.posture_models` (posture monitoring and desk breaks); import them
from :mod:`spinecoach.store.models`, which offers them all.

Importing this module only defines classes: no engine, no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from sqlalchemy import JSON, DateTime, MetaData
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so later migrations can alter them on every backend.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SESSION_STATUSES: Final = ("active", "completed", "interrupted")
PAIN_CONTEXTS: Final = ("before", "after", "morning")
EVENT_KINDS: Final = ("cue", "annotation", "discarded")
COMPRESSIONS: Final = ("zlib", "lzma")
VAS_MIN_MM: Final = 0.0
VAS_MAX_MM: Final = 100.0
ENROLMENT_STATUSES: Final = ("active", "stopped", "completed")
SCREENING_RESULTS: Final = ("clear", "stop")
SCREENING_CONTEXTS: Final = ("onboarding", "rescreen")
RED_FLAG_URGENCIES: Final = ("emergency", "urgent", "soon")
PSFS_CONTEXTS: Final = ("baseline", "weekly")
PSFS_MAX_SCORE: Final = 10
DOSES_MAX_PER_DAY: Final = 24

# JSON on SQLite, JSONB (indexable, compact) on PostgreSQL.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")


def check_in(column: str, values: tuple[str, ...]) -> str:
    """The SQL of a CHECK that ``column`` holds one of ``values``.

    >>> check_in("status", ("active", "done"))
    "status IN ('active', 'done')"
    """
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored
    as naive UTC and marked UTC again when read. Naive datetimes are refused on write,
    because their meaning depends on the machine's clock settings.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    """Now, as an aware UTC time (the default of the ``*_utc`` columns)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """The declarative base of every model: constraint names and column types."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
    }
