"""Export the history database to a folder: tables as CSV and/or Parquet, the raw
recordings in our native format, and a manifest with checksums.

Layout of an export folder::

    manifest.json                  what was exported, from where, with SHA-256 of every file
    people.csv / people.parquet    one file per table (and per chosen format)
    sessions.csv / ...
    recordings/session-<id>.screc  the session's recording, bit-exact (verified SHA-256)
    angles/session-<id>.csv        a camera session's angle frames (and/or .parquet)

Design choices:

* **Every table of the schema** (:data:`spinecoach.store.models.Base.metadata`) is
  written, so a table added later is exported without touching this module. Rows are
  ordered by primary key. ``recording_blobs`` is written without its ``data`` column:
  those bytes are the files in ``recordings/`` (``size_bytes`` and ``sha256`` describe
  them). Any other binary column is base64 text in CSV and ``binary`` in Parquet.
* **CSV**: UTF-8, a header row, ``,`` separated, RFC 4180 quoting. Times are ISO-8601 UTC
  with microseconds (``2026-03-01T08:30:00.000000+00:00``); floats are written so they
  read back bit-exact; JSON columns are compact JSON text; an empty cell is NULL.
* **Parquet**: the column types are kept — ``int64``, ``float64``, ``string``,
  ``timestamp[us, UTC]``, ``binary`` — and JSON columns are the same JSON text as in CSV,
  marked ``spinecoach.type: json`` in the field metadata.
* **Recordings** come out exactly as stored: each is decompressed and checked against its
  stored SHA-256 (:func:`~spinecoach.store.repository.recording_file_bytes`). A session
  still running or interrupted has its samples in live blocks
  (:mod:`spinecoach.store.live`): they are assembled into the same file format
  (``from_live_blocks: true`` in the manifest). A session with neither is exported
  without a recording and listed under ``recordings.sessions_without_recording``. A corrupt
  recording stops the export with an error naming the session.
* **Camera sessions** have no recording (they are listed under
  ``sessions_without_recording``): their raw data are the angle frames the engine was
  fed, stored in ``angle_blocks`` (exported as a table like any other, ``data`` as
  compressed bytes). Because a researcher wants the frames, not compressed blocks, each
  camera session's frames are also written decoded, one file per session and format,
  ``angles/session-<id>.csv``/``.parquet``: columns ``time_s`` (s, session clock), the
  angle columns by name (degrees; in CSV an empty cell where the camera could not see,
  NaN in Parquet) and ``flags`` (the integer quality bit mask of
  :mod:`spinecoach.motion.flags`), bit-exact. The manifest lists them under
  ``angle_frames``. A corrupt block stops the export with an error naming the session
  and the block.
* **Never half-written**: everything is written into a hidden temporary sibling folder
  that is renamed to ``out`` at the end; on any error it is removed. An existing
  non-empty ``out`` is refused; ``force=True`` replaces it only after the new export is
  complete, and only when it is an earlier export (it has our ``manifest.json``), so a
  mistyped folder is never deleted.
* **Read-only, one snapshot**: the database is read in one transaction that cannot
  write — ``READ ONLY`` at ``REPEATABLE READ`` on PostgreSQL, ``PRAGMA query_only`` in a
  deferred transaction on SQLite (a WAL snapshot that does not block a running server).
  A missing SQLite file is reported, never created. The database must be at the schema
  revision this version of spinecoach expects.
* ``person_id`` keeps one person's records: tables with a ``person_id`` column by it,
  tables with a ``session_id`` column by that person's sessions, ``people`` by ``id``. A
  table that cannot be tied to a person stops a filtered export rather than leak rows.

>>> import tempfile
>>> from pathlib import Path
>>> from sqlalchemy.orm import Session
>>> from spinecoach.store import repository
>>> from spinecoach.store.db import make_engine, upgrade
>>> with tempfile.TemporaryDirectory() as folder:
...     url = f"sqlite:///{folder}/demo.sqlite3"
...     upgrade(url)
...     engine = make_engine(url)
...     with Session(engine) as db:
...         person = repository.create_person(db, "Ada")
...         _ = repository.start_session(db, person.id, "pelvic-tilt")
...     engine.dispose()
...     summary = export_database(url, Path(folder) / "export", formats="csv")
...     summary.rows["sessions"], summary.sessions_without_recording
...     names = {p.name for p in (Path(folder) / "export").iterdir()}
...     sorted(names & {"angle_blocks.csv", "sessions.csv", "posture_minutes.csv", "manifest.json"})
(1, (1,))
['angle_blocks.csv', 'manifest.json', 'posture_minutes.csv', 'sessions.csv']
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from spinecoach import __version__
from spinecoach.errors import ConfigurationError
from spinecoach.io.native import FORMAT_VERSION
from spinecoach.store.export_formats import (
    BLOB_TABLE,
    angles_csv_bytes,
    angles_parquet_bytes,
    exported_columns,
    table_csv_bytes,
    table_parquet_bytes,
)
from spinecoach.store.export_snapshot import head_revision, read_only_snapshot
from spinecoach.store.live import stored_angle_frames, stored_recording
from spinecoach.store.models import ACCOUNT_TABLES, Base
from spinecoach.store.repository import recording_file_bytes, recording_to_bytes

__all__ = [
    "ANGLES_FOLDER",
    "EXPORT_FORMATS",
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "RECORDINGS_FOLDER",
    "ExportSummary",
    "angles_filename",
    "export_database",
    "head_revision",
    "is_export",
    "recording_filename",
]

#: ``formats`` values: which table files to write.
EXPORT_FORMATS: Final = ("csv", "parquet", "both")
MANIFEST_NAME: Final = "manifest.json"
RECORDINGS_FOLDER: Final = "recordings"
ANGLES_FOLDER: Final = "angles"
#: ``manifest.json`` says ``"format": MANIFEST_FORMAT``; a folder with it is an export.
MANIFEST_FORMAT: Final = "spinecoach-export"
MANIFEST_VERSION: Final = 1
#: The table of a camera session's angle blocks (also written decoded, per session).
ANGLE_TABLE: Final = "angle_blocks"


@dataclass(frozen=True)
class ExportSummary:
    """What :func:`export_database` wrote.

    ``rows`` is the row count per table; ``recordings`` the session ids whose recording
    was written; ``angle_frames`` the (camera) session ids whose angle frames were
    written; ``files`` the number of files (the manifest included).
    """

    out: Path
    rows: Mapping[str, int]
    recordings: tuple[int, ...]
    sessions_without_recording: tuple[int, ...]
    files: int
    schema_revision: str
    angle_frames: tuple[int, ...] = ()


def recording_filename(session_id: int) -> str:
    """Path of a session's recording inside an export folder.

    >>> recording_filename(7)
    'recordings/session-7.screc'
    """
    return f"{RECORDINGS_FOLDER}/session-{session_id}.screc"


def angles_filename(session_id: int, extension: str = "csv") -> str:
    """Path of a camera session's angle frames inside an export folder.

    >>> angles_filename(7), angles_filename(7, "parquet")
    ('angles/session-7.csv', 'angles/session-7.parquet')
    """
    return f"{ANGLES_FOLDER}/session-{session_id}.{extension}"


def export_database(
    url: str,
    out: Path,
    *,
    person_id: int | None = None,
    formats: str = "both",
    force: bool = False,
) -> ExportSummary:
    """Export the database at ``url`` into the new folder ``out`` (see the module doc).

    ``formats`` is ``csv``, ``parquet`` or ``both``; ``person_id`` keeps one person's
    records; ``force`` replaces an earlier export at ``out`` once the new one is complete.
    Raises :class:`~spinecoach.errors.ConfigurationError` for a bad option, a refused
    ``out``, an unknown person or a database at another schema revision, and
    :class:`~spinecoach.errors.InputFormatError` for a corrupt stored recording or angle
    block; in every case nothing is left behind.
    """
    if formats not in EXPORT_FORMATS:
        raise ConfigurationError(
            f"format {formats!r} is unknown; use one of {', '.join(EXPORT_FORMATS)}"
        )
    out = Path(out)
    _check_target(out, force=force)
    created_parents = _make_parents(out.parent)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        with read_only_snapshot(url) as (connection, revision):
            summary = _write_export(connection, revision, partial, out, person_id, formats)
        _move_into_place(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        for folder in created_parents:
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    return summary


# The target folder ------------------------------------------------------------------------
def is_export(folder: Path) -> bool:
    """True when ``folder`` holds an export written by :func:`export_database`."""
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == MANIFEST_FORMAT


def _check_target(out: Path, *, force: bool) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigurationError(f"--out {out} is a file, not a folder; choose a new folder")
    if not any(out.iterdir()):
        return
    if not force:
        raise ConfigurationError(
            f"--out {out} is not empty; choose a new folder, or pass --force to replace "
            "an earlier export there once the new one is complete"
        )
    if not is_export(out):
        raise ConfigurationError(
            f"--out {out} is not empty and is not a spinecoach export (no {MANIFEST_NAME} "
            "of ours), so --force does not replace it; choose a new folder"
        )


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the ones created, deepest first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir()
    return missing


def _move_into_place(partial: Path, out: Path) -> None:
    if not out.exists():
        partial.rename(out)
        return
    if not any(out.iterdir()):
        out.rmdir()
        partial.rename(out)
        return
    # --force: checked in _check_target that ``out`` is an earlier export.
    old = out.with_name(f".{out.name}.old-{secrets.token_hex(4)}")
    out.rename(old)
    partial.rename(out)
    shutil.rmtree(old)


# Writing ---------------------------------------------------------------------------------------
def _person_filter(table: Table, person_id: int, session_ids: Select[Any]) -> ColumnElement[bool]:
    if table.name == "people":
        return table.c.id == person_id
    if "person_id" in table.c:
        return table.c.person_id == person_id
    if "session_id" in table.c:
        return table.c.session_id.in_(session_ids)
    raise ConfigurationError(  # pragma: no cover - every table today names its owner
        f"table {table.name} has no person_id or session_id column, so --person cannot "
        "filter it; export without --person"
    )


class _Folder:
    """Files written into the partial export folder, with their SHA-256 and size."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, dict[str, Any]] = {}

    def write(self, name: str, data: bytes) -> str:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        digest = hashlib.sha256(data).hexdigest()
        self.files[name] = {"sha256": digest, "size_bytes": len(data)}
        return digest


@dataclass
class _Written:
    """What an export wrote so far: table entries of the manifest and their rows, the
    recordings, the sessions without one, the angle-frame files."""

    tables: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, list[Any]] = field(default_factory=dict)
    recordings: list[dict[str, Any]] = field(default_factory=list)
    without: list[int] = field(default_factory=list)
    angle_files: list[dict[str, Any]] = field(default_factory=list)


def _write_tables(
    connection: Connection, folder: _Folder, person_id: int | None, formats: str, out: _Written
) -> None:
    """Every table of the schema but the accounts' (``ACCOUNT_TABLES``: password and
    token hashes are not health data), ordered by primary key (one person's rows with
    ``person_id``)."""
    metadata = Base.metadata
    sessions = metadata.tables["sessions"]
    owned_sessions = select(sessions.c.id).where(sessions.c.person_id == person_id)
    for table in metadata.sorted_tables:
        if table.name in ACCOUNT_TABLES:
            continue
        columns = exported_columns(table)
        query = select(*columns).order_by(*table.primary_key.columns)
        if person_id is not None:
            query = query.where(_person_filter(table, person_id, owned_sessions))
        rows = [tuple(row) for row in connection.execute(query)]
        out.rows[table.name] = rows
        written = []
        if formats in ("csv", "both"):
            folder.write(f"{table.name}.csv", table_csv_bytes(columns, rows))
            written.append(f"{table.name}.csv")
        if formats in ("parquet", "both"):
            folder.write(f"{table.name}.parquet", table_parquet_bytes(table, columns, rows))
            written.append(f"{table.name}.parquet")
        out.tables[table.name] = {
            "rows": len(rows),
            "columns": [c.name for c in columns],
            "files": written,
        }


def _write_recordings(db: Session, folder: _Folder, session_ids: list[int], out: _Written) -> None:
    """Each session's recording, bit-exact: the stored one, else assembled from its live
    blocks; a session with neither is listed without a recording."""
    blob_columns = [c.name for c in exported_columns(Base.metadata.tables[BLOB_TABLE])]
    blobs = {
        row[blob_columns.index("session_id")]: dict(zip(blob_columns, row, strict=True))
        for row in out.rows[BLOB_TABLE]
    }
    for session_id in session_ids:
        blob = blobs.get(session_id)
        if blob is not None:
            data = recording_file_bytes(db, session_id)  # decompressed, SHA-256 verified
            version = blob["format_version"]
        else:
            # A session still running or interrupted: its samples are in live blocks.
            from_blocks = stored_recording(db, session_id)
            if from_blocks is None:
                out.without.append(session_id)
                continue
            data = recording_to_bytes(from_blocks)
            version = FORMAT_VERSION
        name = recording_filename(session_id)
        digest = folder.write(name, data)
        out.recordings.append(
            {
                "session_id": session_id,
                "file": name,
                "sha256": digest,
                "size_bytes": len(data),
                "format_version": version,
                "from_live_blocks": blob is None,
            }
        )
        db.expunge_all()  # one recording in memory at a time


def _write_angle_frames(
    db: Session, folder: _Folder, session_ids: list[int], formats: str, out: _Written
) -> None:
    """Each camera session's angle frames, decoded, one file per format."""
    blocks_session = [c.name for c in exported_columns(Base.metadata.tables[ANGLE_TABLE])].index(
        "session_id"
    )
    camera_sessions = sorted(
        {row[blocks_session] for row in out.rows[ANGLE_TABLE]} & set(session_ids)
    )
    for session_id in camera_sessions:
        frames = stored_angle_frames(db, session_id)  # verified while decoding
        if frames is None:  # pragma: no cover - it has blocks in this snapshot
            continue
        written = []
        if formats in ("csv", "both"):
            name = angles_filename(session_id, "csv")
            folder.write(name, angles_csv_bytes(frames))
            written.append(name)
        if formats in ("parquet", "both"):
            name = angles_filename(session_id, "parquet")
            folder.write(name, angles_parquet_bytes(session_id, frames))
            written.append(name)
        out.angle_files.append(
            {
                "session_id": session_id,
                "files": written,
                "frames": len(frames),
                "columns": ["time_s", *frames.angles, "flags"],
            }
        )
        db.expunge_all()


def _write_export(
    connection: Connection,
    revision: str,
    partial: Path,
    out: Path,
    person_id: int | None,
    formats: str,
) -> ExportSummary:
    people = Base.metadata.tables["people"]
    if (
        person_id is not None
        and connection.scalar(select(people.c.id).where(people.c.id == person_id)) is None
    ):
        raise ConfigurationError(f"no person with id {person_id}; nothing to export")
    folder = _Folder(partial)
    written = _Written()
    _write_tables(connection, folder, person_id, formats, written)
    session_ids = [row[0] for row in written.rows["sessions"]]
    with Session(bind=connection) as db:
        _write_recordings(db, folder, session_ids, written)
        _write_angle_frames(db, folder, session_ids, formats, written)

    manifest = {
        "format": MANIFEST_FORMAT,
        "manifest_version": MANIFEST_VERSION,
        "spinecoach_version": __version__,
        "schema_revision": revision,
        "exported_utc": datetime.now(UTC).isoformat(timespec="microseconds"),
        "database_backend": connection.dialect.name,
        "person_id": person_id,
        "formats": ["csv", "parquet"] if formats == "both" else [formats],
        "tables": written.tables,
        "recordings": {
            "files": written.recordings,
            "sessions_without_recording": written.without,
        },
        "angle_frames": {"files": written.angle_files},
        "files": dict(sorted(folder.files.items())),
    }
    (partial / MANIFEST_NAME).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return ExportSummary(
        out=out,
        rows={name: entry["rows"] for name, entry in written.tables.items()},
        recordings=tuple(r["session_id"] for r in written.recordings),
        sessions_without_recording=tuple(written.without),
        files=len(folder.files) + 1,
        schema_revision=revision,
        angle_frames=tuple(entry["session_id"] for entry in written.angle_files),
    )
