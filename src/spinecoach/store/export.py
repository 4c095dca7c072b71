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

import base64
import csv
import hashlib
import io
import json
import math
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    String,
    Table,
    event,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, NullPool
from sqlalchemy.sql import ColumnElement, Select

from spinecoach import __version__
from spinecoach.errors import ConfigurationError
from spinecoach.io.native import FORMAT_VERSION
from spinecoach.motion.process import AngleFrames
from spinecoach.store.db import SQLITE_BUSY_TIMEOUT_MS, make_engine, migrations_path
from spinecoach.store.live import stored_angle_frames, stored_recording
from spinecoach.store.models import Base
from spinecoach.store.repository import json_safe, recording_file_bytes, recording_to_bytes

#: ``formats`` values: which table files to write.
EXPORT_FORMATS: Final = ("csv", "parquet", "both")
MANIFEST_NAME: Final = "manifest.json"
RECORDINGS_FOLDER: Final = "recordings"
ANGLES_FOLDER: Final = "angles"
#: ``manifest.json`` says ``"format": MANIFEST_FORMAT``; a folder with it is an export.
MANIFEST_FORMAT: Final = "spinecoach-export"
MANIFEST_VERSION: Final = 1
_BLOB_TABLE: Final = "recording_blobs"
_BLOB_COLUMN: Final = "data"
_ANGLE_TABLE: Final = "angle_blocks"


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
        with _snapshot(url) as (connection, revision):
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


# Reading the database ------------------------------------------------------------------------
def _sqlite_read_only(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # SQLite itself refuses every write on this connection.
        cursor.execute("PRAGMA query_only=ON")
    finally:
        cursor.close()


def _sqlite_begin_deferred(connection: Connection) -> None:
    # A deferred transaction reads one WAL snapshot without taking the write lock, so a
    # running server keeps saving sessions while the export reads.
    connection.exec_driver_sql("BEGIN")


def _read_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"database URL {url!r} is not valid ({exc}); use for example "
            "'sqlite:////path/to/spinecoach.sqlite3'"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return make_engine(url, poolclass=NullPool)
    if backend != "sqlite":
        raise ConfigurationError(
            f"database URL {url!r}: export reads SQLite and PostgreSQL databases only"
        )
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise ConfigurationError(
            f"database URL {url!r}: give the path of an SQLite file, "
            "'sqlite:////path/to/spinecoach.sqlite3'"
        )
    if not Path(database).is_file():
        raise ConfigurationError(
            f"there is no database at {database} (from {url!r}); give the URL of an "
            "existing history with --database or SPINECOACH_DATABASE_URL"
        )
    from sqlalchemy import create_engine

    engine = create_engine(parsed, poolclass=NullPool)
    event.listen(engine, "connect", _sqlite_read_only)
    event.listen(engine, "begin", _sqlite_begin_deferred)
    return engine


def head_revision() -> str:
    """The schema revision this version of spinecoach writes and reads."""
    from alembic.script import ScriptDirectory

    with resources.as_file(migrations_path()) as location:
        head = ScriptDirectory(str(location)).get_current_head()
    if head is None:  # pragma: no cover - the package ships its migrations
        raise ConfigurationError("the package has no database migrations; reinstall it")
    return head


@contextmanager
def _snapshot(url: str) -> Iterator[tuple[Connection, str]]:
    """One read-only transaction on the database at ``url`` (rolled back at the end), and
    the database's schema revision."""
    from alembic.runtime.migration import MigrationContext

    engine = _read_engine(url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                )
            revision = MigrationContext.configure(connection).get_current_revision()
            head = head_revision()
            if revision is None:
                raise ConfigurationError(
                    f"the database at {_shown(url)} has no spinecoach tables; nothing to export"
                )
            if revision != head:
                raise ConfigurationError(
                    f"the database at {_shown(url)} is at schema revision {revision}, this "
                    f"spinecoach reads {head}; start `spinecoach serve --database URL` with "
                    "this version once to upgrade it (export never changes the database)"
                )
            try:
                yield connection, revision
            finally:
                connection.rollback()
    except SQLAlchemyError as exc:
        raise ConfigurationError(
            f"could not read the database at {_shown(url)}: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    finally:
        engine.dispose()


def _shown(url: str) -> str:
    """``url`` without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(invalid URL)"


# Columns ---------------------------------------------------------------------------------------
def _kind(column: Column[Any]) -> str:
    """``json``, ``datetime``, ``bytes``, ``bool``, ``int``, ``float`` or ``str``."""
    kind = column.type
    if isinstance(kind, JSON):
        return "json"
    impl = getattr(kind, "impl", kind)  # TypeDecorator (UTCDateTime) → its storage type
    for sql_type, name in (
        (DateTime, "datetime"),
        (LargeBinary, "bytes"),
        (Boolean, "bool"),
        (Integer, "int"),
        (Float, "float"),
        (String, "str"),  # Text is a String
    ):
        if isinstance(impl, sql_type):
            return name
    raise ConfigurationError(  # pragma: no cover - a new column type needs a decision here
        f"column {column.table.name}.{column.name} has type {kind!r}, which export does "
        "not know how to write; add it to spinecoach.store.export._kind"
    )


def _exported_columns(table: Table) -> list[Column[Any]]:
    return [c for c in table.columns if not (table.name == _BLOB_TABLE and c.name == _BLOB_COLUMN)]


def _csv_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "json":
        return json.dumps(json_safe(value), ensure_ascii=False, separators=(",", ":"))
    if kind == "datetime":
        return str(value.astimezone(UTC).isoformat(timespec="microseconds"))
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    if kind == "bool":
        return "true" if value else "false"
    if kind == "float":
        return repr(float(value))  # the shortest text that reads back bit-exact
    return str(value)


def _csv_bytes(columns: Sequence[Column[Any]], rows: Sequence[Sequence[Any]]) -> bytes:
    kinds = [_kind(c) for c in columns]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    for row in rows:
        writer.writerow([_csv_cell(v, k) for v, k in zip(row, kinds, strict=True)])
    return buffer.getvalue().encode("utf-8")


def _parquet_bytes(table: Table, columns: Sequence[Column[Any]], rows: Sequence[Any]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow_types = {
        "int": pa.int64(),
        "float": pa.float64(),
        "str": pa.string(),
        "json": pa.string(),
        "datetime": pa.timestamp("us", tz="UTC"),
        "bytes": pa.binary(),
        "bool": pa.bool_(),
    }
    fields = []
    arrays = []
    for i, column in enumerate(columns):
        kind = _kind(column)
        values = [row[i] for row in rows]
        if kind == "json":
            values = [None if v is None else _csv_cell(v, "json") for v in values]
        metadata = {"spinecoach.type": "json"} if kind == "json" else None
        fields.append(
            pa.field(
                column.name, arrow_types[kind], nullable=bool(column.nullable), metadata=metadata
            )
        )
        arrays.append(pa.array(values, type=arrow_types[kind]))
    schema = pa.schema(fields, metadata={"spinecoach.table": table.name, "spinecoach": __version__})
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), sink)
    return sink.getvalue()


def _angles_csv_bytes(frames: AngleFrames) -> bytes:
    """Angle frames as CSV: ``time_s``, the angle columns, ``flags``; NaN is empty."""
    names = list(frames.angles)
    columns = [frames.time_s.tolist(), *(frames.angles[n].tolist() for n in names)]
    flags = frames.flags.tolist()
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["time_s", *names, "flags"])
    for k, value in enumerate(flags):
        writer.writerow([*("" if math.isnan(c[k]) else repr(c[k]) for c in columns), str(value)])
    return buffer.getvalue().encode("utf-8")


def _angles_parquet_bytes(session_id: int, frames: AngleFrames) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = list(frames.angles)
    table = pa.table(
        {
            "time_s": pa.array(frames.time_s, type=pa.float64()),
            **{n: pa.array(frames.angles[n], type=pa.float64()) for n in names},
            "flags": pa.array(frames.flags, type=pa.uint8()),
        }
    )
    table = table.replace_schema_metadata(
        {
            "spinecoach.angles_of_session": str(session_id),
            "spinecoach.units": "time_s: s; angles: deg; flags: spinecoach.motion.flags bits",
            "spinecoach": __version__,
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


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


def _write_export(
    connection: Connection,
    revision: str,
    partial: Path,
    out: Path,
    person_id: int | None,
    formats: str,
) -> ExportSummary:
    metadata = Base.metadata
    sessions = metadata.tables["sessions"]
    people = metadata.tables["people"]
    if (
        person_id is not None
        and connection.scalar(select(people.c.id).where(people.c.id == person_id)) is None
    ):
        raise ConfigurationError(f"no person with id {person_id}; nothing to export")
    owned_sessions = select(sessions.c.id).where(sessions.c.person_id == person_id)

    folder = _Folder(partial)
    tables: dict[str, Any] = {}
    rows_by_table: dict[str, list[Any]] = {}
    for table in metadata.sorted_tables:
        columns = _exported_columns(table)
        query = select(*columns).order_by(*table.primary_key.columns)
        if person_id is not None:
            query = query.where(_person_filter(table, person_id, owned_sessions))
        rows = [tuple(row) for row in connection.execute(query)]
        rows_by_table[table.name] = rows
        written = []
        if formats in ("csv", "both"):
            folder.write(f"{table.name}.csv", _csv_bytes(columns, rows))
            written.append(f"{table.name}.csv")
        if formats in ("parquet", "both"):
            folder.write(f"{table.name}.parquet", _parquet_bytes(table, columns, rows))
            written.append(f"{table.name}.parquet")
        tables[table.name] = {
            "rows": len(rows),
            "columns": [c.name for c in columns],
            "files": written,
        }

    session_ids = [row[0] for row in rows_by_table["sessions"]]
    blocks_session = [c.name for c in _exported_columns(metadata.tables[_ANGLE_TABLE])].index(
        "session_id"
    )
    blob_columns = [c.name for c in _exported_columns(metadata.tables[_BLOB_TABLE])]
    blobs = {
        row[blob_columns.index("session_id")]: dict(zip(blob_columns, row, strict=True))
        for row in rows_by_table[_BLOB_TABLE]
    }
    recordings = []
    without = []
    with Session(bind=connection) as db:
        for session_id in session_ids:
            blob = blobs.get(session_id)
            if blob is not None:
                data = recording_file_bytes(db, session_id)  # decompressed, SHA-256 verified
                version = blob["format_version"]
            else:
                # A session still running or interrupted: its samples are in live blocks.
                from_blocks = stored_recording(db, session_id)
                if from_blocks is None:
                    without.append(session_id)
                    continue
                data = recording_to_bytes(from_blocks)
                version = FORMAT_VERSION
            name = recording_filename(session_id)
            digest = folder.write(name, data)
            recordings.append(
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

        camera_sessions = sorted(
            {row[blocks_session] for row in rows_by_table[_ANGLE_TABLE]} & set(session_ids)
        )
        angle_files = []
        for session_id in camera_sessions:
            frames = stored_angle_frames(db, session_id)  # verified while decoding
            if frames is None:  # pragma: no cover - it has blocks in this snapshot
                continue
            written = []
            if formats in ("csv", "both"):
                name = angles_filename(session_id, "csv")
                folder.write(name, _angles_csv_bytes(frames))
                written.append(name)
            if formats in ("parquet", "both"):
                name = angles_filename(session_id, "parquet")
                folder.write(name, _angles_parquet_bytes(session_id, frames))
                written.append(name)
            angle_files.append(
                {
                    "session_id": session_id,
                    "files": written,
                    "frames": len(frames),
                    "columns": ["time_s", *frames.angles, "flags"],
                }
            )
            db.expunge_all()

    manifest = {
        "format": MANIFEST_FORMAT,
        "manifest_version": MANIFEST_VERSION,
        "spinecoach_version": __version__,
        "schema_revision": revision,
        "exported_utc": datetime.now(UTC).isoformat(timespec="microseconds"),
        "database_backend": connection.dialect.name,
        "person_id": person_id,
        "formats": ["csv", "parquet"] if formats == "both" else [formats],
        "tables": tables,
        "recordings": {
            "files": recordings,
            "sessions_without_recording": without,
        },
        "angle_frames": {"files": angle_files},
        "files": dict(sorted(folder.files.items())),
    }
    (partial / MANIFEST_NAME).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return ExportSummary(
        out=out,
        rows={name: entry["rows"] for name, entry in tables.items()},
        recordings=tuple(r["session_id"] for r in recordings),
        sessions_without_recording=tuple(without),
        files=len(folder.files) + 1,
        schema_revision=revision,
        angle_frames=tuple(entry["session_id"] for entry in angle_files),
    )
