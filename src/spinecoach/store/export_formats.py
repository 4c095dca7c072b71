"""The files of an export, as bytes: a table as CSV or Parquet, a camera session's angle
frames as CSV or Parquet (the formats are described in :mod:`spinecoach.store.export`).

Each column is written by its kind (:func:`column_kind`): ``json``, ``datetime``,
``bytes``, ``bool``, ``int``, ``float`` or ``str``. CSV: UTF-8, a header row, RFC 4180
quoting, ISO-8601 UTC times with microseconds, floats that read back bit-exact, compact
JSON text, an empty cell for NULL. Parquet keeps the types; JSON columns are the same text
as in CSV, marked ``spinecoach.type: json``.

>>> csv_cell(0.1, "float"), csv_cell(None, "str"), csv_cell(True, "bool")
('0.1', '', 'true')
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from collections.abc import Sequence
from datetime import UTC
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
)

from spinecoach import __version__
from spinecoach.errors import ConfigurationError
from spinecoach.motion.process import AngleFrames
from spinecoach.store.repository import json_safe

#: The table of the stored recordings, and its column of compressed bytes: not written
#: (the recordings are files of their own).
BLOB_TABLE: Final = "recording_blobs"
BLOB_COLUMN: Final = "data"


def column_kind(column: Column[Any]) -> str:
    """How ``column`` is written: ``json``, ``datetime``, ``bytes``, ``bool``, ``int``,
    ``float`` or ``str``."""
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
        "not know how to write; add it to spinecoach.store.export_formats.column_kind"
    )


def exported_columns(table: Table) -> list[Column[Any]]:
    """The columns of ``table`` an export writes (all but the recordings' bytes)."""
    return [c for c in table.columns if not (table.name == BLOB_TABLE and c.name == BLOB_COLUMN)]


def csv_cell(value: Any, kind: str) -> str:
    """One CSV cell of a value of ``kind`` (empty for NULL)."""
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


def table_csv_bytes(columns: Sequence[Column[Any]], rows: Sequence[Sequence[Any]]) -> bytes:
    """A table's rows as CSV with a header row."""
    kinds = [column_kind(c) for c in columns]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    for row in rows:
        writer.writerow([csv_cell(v, k) for v, k in zip(row, kinds, strict=True)])
    return buffer.getvalue().encode("utf-8")


def table_parquet_bytes(table: Table, columns: Sequence[Column[Any]], rows: Sequence[Any]) -> bytes:
    """A table's rows as Parquet, the column types kept."""
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
        kind = column_kind(column)
        values = [row[i] for row in rows]
        if kind == "json":
            values = [None if v is None else csv_cell(v, "json") for v in values]
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


def angles_csv_bytes(frames: AngleFrames) -> bytes:
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


def angles_parquet_bytes(session_id: int, frames: AngleFrames) -> bytes:
    """Angle frames as Parquet: ``time_s``, the angle columns (NaN kept), ``flags``."""
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
