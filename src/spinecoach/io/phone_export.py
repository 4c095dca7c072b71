"""Shared parts of the phone-app readers: export containers, per-sensor tables, alignment.

Phone apps (Sensor Logger, phyphox) export a *zip* or a *folder* holding one CSV file
per sensor, each with its own time column: the sensors are sampled independently. The
readers in :mod:`~spinecoach.io.sensor_logger` and :mod:`~spinecoach.io.phyphox` use:

* :class:`ExportFiles` — the CSV files of a zip or folder, found by base name
  (case-insensitive, at any depth: the app or the operating system may add a top
  folder). A truncated or damaged zip is an
  :class:`~spinecoach.errors.InputFormatError` naming the file and the fix, and so is
  one above the size limits of :mod:`spinecoach.io.limits` (entry count, declared
  sizes and compression ratio checked on opening, before anything is inflated; each
  file's size bounded again while it is read).
* :func:`read_columns` — one file's columns as floats, with the generic CSV reader's
  parsing (comma, tab or semicolon; decimal commas with tab or semicolon) and its
  messages naming file, line and column.
* :meth:`Columns.without_repeated_times` — the rows repeating a time stamp dropped and
  counted, as in every reader (:mod:`spinecoach.io.cleaning`).
* :func:`align_streams` — every stream linearly interpolated onto the base stream's
  timestamps, keeping only the base samples inside the time span all streams cover
  (no extrapolation).

>>> import numpy as np
>>> t, out = align_streams("x", ("a", np.array([0.0, 1.0, 2.0])),
...                        {"b": (np.array([0.5, 2.5]), np.array([[0.0], [2.0]]))})
>>> t.tolist(), out["b"].ravel().tolist()
([1.0, 2.0], [0.5, 1.5])
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

import numpy as np

from spinecoach.errors import InputFormatError, UnitError
from spinecoach.io.cleaning import RowCounts
from spinecoach.io.csv_table import (
    CsvTable,
    check_finite,
    decode_text,
    parse_table,
    table_from_text,
)
from spinecoach.io.csv_time import check_time, drop_repeated_rows
from spinecoach.io.csv_units import GYRO_FULL_SCALE_RADPS
from spinecoach.io.limits import (
    FIX_SPLIT,
    MAX_TEXT_BYTES,
    check_archive,
    check_archive_member,
    check_file_bytes,
    read_bounded,
)
from spinecoach.recording import FloatArray

ZIP_SIGNATURES: Final = (b"PK\x03\x04", b"PK\x05\x06")
HEADER_BYTES: Final = 65536


def is_zip_file(path: str | os.PathLike[str]) -> bool:
    """True when the file starts with a zip signature (reads 4 bytes)."""
    try:
        with open(path, "rb") as stream:
            return stream.read(4) in ZIP_SIGNATURES
    except OSError:
        return False


def _damaged(path: Path | str, detail: str) -> InputFormatError:
    return InputFormatError(
        path,
        "expected a complete zip archive (the app's export)",
        found=f"a damaged or truncated zip ({detail})",
        fix="Copy or download the export again: the file is incomplete. Unzipping it "
        "and passing the folder also works",
    )


class ExportFiles:
    """The CSV files of a phone export, a zip file or a folder.

    Files are looked up by base name, case-insensitively; when several files share a
    name, the one nearest the top wins. Hidden files and ``__MACOSX`` are skipped.
    Nothing is read until :meth:`text` or :meth:`head` is called.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        members: list[str] = []
        if self.path.is_dir():
            for entry in self.path.rglob("*"):
                relative = entry.relative_to(self.path).as_posix()
                if entry.is_file():
                    members.append(relative)
        elif self.path.is_file():
            if not is_zip_file(self.path):
                raise InputFormatError(
                    self.path,
                    "expected the app's export: a zip file or a folder of CSV files",
                    found="a file that is not a zip",
                    fix="Pass the zip the app exported, or the folder it unzips to",
                )
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise _damaged(self.path, str(exc)) from exc
            try:
                check_archive(self.path, self._zip)
            except InputFormatError:
                self._zip.close()
                raise
            members = [info.filename for info in self._zip.infolist() if not info.is_dir()]
        else:
            raise InputFormatError(
                self.path,
                "expected an existing zip file or folder",
                found="nothing at this path",
                fix="Check the path",
            )
        usable = [
            m
            for m in members
            if not any(p.startswith(".") or p == "__MACOSX" for p in PurePosixPath(m).parts)
        ]
        self.members: tuple[str, ...] = tuple(
            sorted(usable, key=lambda m: (len(PurePosixPath(m).parts), m))
        )

    def find(self, name: str) -> str | None:
        """The member whose path ends with ``name`` (e.g. ``"Gyroscope.csv"`` or
        ``"meta/time.csv"``), compared case-insensitively; None when absent."""
        wanted = PurePosixPath(name.casefold()).parts
        for member in self.members:
            parts = PurePosixPath(member.casefold()).parts
            if parts[-len(wanted) :] == wanted:
                return member
        return None

    def csv_members(self) -> list[str]:
        """Every ``.csv`` member, nearest the top first."""
        return [m for m in self.members if m.casefold().endswith(".csv")]

    def source(self, member: str) -> str:
        """How messages name a member: ``export.zip/Accelerometer.csv``."""
        return f"{self.path}/{member}"

    def _read(self, member: str, limit: int | None) -> bytes:
        """The member's bytes: all of them (within the import limits) when ``limit`` is
        None, else at most ``limit`` bytes."""
        source = self.source(member)
        if self._zip is None:
            if limit is None:
                check_file_bytes(self.path / member)
            with open(self.path / member, "rb") as stream:
                if limit is not None:
                    return stream.read(limit)
                return read_bounded(
                    stream, limit_bytes=MAX_TEXT_BYTES, source=source, fix=FIX_SPLIT
                )
        try:
            info = self._zip.getinfo(member)
            if limit is None:
                check_archive_member(source, info)
            with self._zip.open(info) as stream:
                if limit is not None:
                    return stream.read(limit)
                return read_bounded(
                    stream, limit_bytes=MAX_TEXT_BYTES, source=source, fix=FIX_SPLIT
                )
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise _damaged(source, str(exc)) from exc

    def text(self, member: str) -> str:
        """The member's whole text (UTF-8, UTF-16 with BOM or Latin-1)."""
        return decode_text(self._read(member, None))

    def head(self, member: str) -> list[str]:
        """The member's column names from its first line (empty when it has none)."""
        text = decode_text(self._read(member, HEADER_BYTES))
        first = text.replace("\r\n", "\n").replace("\r", "\n").split("\n", 1)[0]
        if not first.strip():
            return []
        try:
            return list(table_from_text("header", first).header)
        except InputFormatError:
            return []

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> ExportFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Columns:
    """One file's parsed columns: ``values[k]`` is the column at ``indices[k]``."""

    source: str
    table: CsvTable
    indices: tuple[int, ...]
    values: FloatArray

    def column(self, index: int) -> FloatArray:
        """The values of header column ``index`` (one of :attr:`indices`)."""
        return np.ascontiguousarray(self.values[:, self.indices.index(index)])

    def without_repeated_times(self, index: int) -> tuple[Columns, RowCounts]:
        """These columns without the rows whose time (header column ``index``) repeats
        the row above, and the counts (see :mod:`spinecoach.io.cleaning`); time going
        backwards raises :class:`~spinecoach.errors.InputFormatError`."""
        table, values, _, counts = drop_repeated_rows(
            self.table, self.values, self.column(index), index
        )
        if not counts.dropped:
            return self, counts
        return Columns(self.source, table, self.indices, values), counts

    def time_s(self, index: int, *, divide: float, unit: str) -> FloatArray:
        """Header column ``index`` as time, checked to increase strictly at a plausible
        rate, divided by ``divide`` (1e9 for nanoseconds)."""
        raw = self.column(index)
        check_time(self.table, raw, divide, index, unit)
        return raw


def find_column(header: Sequence[str], name: str) -> int | None:
    """Index of the column called ``name`` (trimmed, case-insensitive), or None."""
    key = name.strip().casefold()
    for index, column in enumerate(header):
        if column.strip().casefold() == key:
            return index
    return None


def read_columns(export: ExportFiles, member: str, indices: Sequence[int], *, fix: str) -> Columns:
    """Parse the columns at ``indices`` of one member as finite floats.

    An empty file, a file with fewer than 2 data rows, a bad cell or a non-finite value
    raise :class:`~spinecoach.errors.InputFormatError` naming the file (and line and
    column); ``fix`` is the advice given for an empty or too short file.
    """
    source = export.source(member)
    text = export.text(member)
    if not text.strip():
        raise InputFormatError(
            source,
            "expected the app's CSV with a header row and data",
            found="an empty file",
            fix=fix,
        )
    table = table_from_text(source, text)
    if len(table.lines) < 2:
        raise InputFormatError(
            source,
            "expected at least 2 data rows below the header",
            found=f"{len(table.lines)} rows",
            fix=fix,
        )
    used = sorted(set(indices))
    table, values = parse_table(table, used)
    check_finite(table, values, used)
    return Columns(source, table, tuple(used), values)


def missing_column(source: str, header: Sequence[str], name: str, fix: str) -> InputFormatError:
    """The error for a column the app always writes but the file lacks."""
    return InputFormatError(
        source,
        f"expected a column named {name!r}",
        line=1,
        column=name,
        found=", ".join(header) or "no columns",
        fix=fix,
    )


def align_streams(
    label: str,
    base: tuple[str, FloatArray],
    others: Mapping[str, tuple[FloatArray, FloatArray]],
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """Interpolate every stream of ``others`` onto the base timestamps.

    ``base`` is ``(name, time_s)``; ``others`` maps a name to ``(time_s, values)`` with
    ``values`` of shape ``(n, k)``. Returns the base times inside the span every stream
    covers and, per name, the linearly interpolated values at those times. Raises
    :class:`~spinecoach.errors.InputFormatError` naming ``label`` when fewer than two
    base samples fall inside that span.
    """
    base_name, base_t = base
    start = max([float(base_t[0]), *(float(t[0]) for t, _ in others.values())])
    end = min([float(base_t[-1]), *(float(t[-1]) for t, _ in others.values())])
    keep = (base_t >= start) & (base_t <= end)
    if int(keep.sum()) < 2:
        spans = [f"{base_name} {base_t[0]:.3f}-{base_t[-1]:.3f} s"]
        spans += [f"{name} {t[0]:.3f}-{t[-1]:.3f} s" for name, (t, _) in others.items()]
        raise InputFormatError(
            label,
            "expected the sensors' recordings to overlap in time",
            found="; ".join(spans),
            fix="Export all sensors of the same recording session",
        )
    times = np.ascontiguousarray(base_t[keep])
    out: dict[str, FloatArray] = {}
    for name, (t, values) in others.items():
        columns = [np.interp(times, t, values[:, k]) for k in range(values.shape[1])]
        out[name] = np.column_stack(columns)
    return times, out


def check_acc_mps2(source: str, acc_mps2: FloatArray, *, fix: str) -> None:
    """Refuse acceleration (with gravity) whose median magnitude looks like g, not m/s²."""
    median = float(np.median(np.linalg.norm(acc_mps2, axis=1)))
    if 0.5 <= median <= 2.0:
        raise UnitError(
            f"{source}: the acceleration should be in m/s² (the app's documented unit) but "
            f"its median magnitude is {median:.3g}, which looks like g (at rest a phone "
            f"reads 1 g = 9.81 m/s²). {fix}"
        )


def check_gyr_radps(source: str, gyr_radps: FloatArray, *, fix: str) -> None:
    """Refuse a rotation rate in rad/s whose 99th-percentile speed looks like deg/s."""
    speed = float(np.percentile(np.linalg.norm(gyr_radps, axis=1), 99))
    if speed > GYRO_FULL_SCALE_RADPS:
        raise UnitError(
            f"{source}: the rotation rate should be in rad/s (the app's documented unit) but "
            f"its 99th-percentile speed is {speed:.3g}, above the 35 rad/s (2000 deg/s) full "
            f"scale of phone gyroscopes; it looks like deg/s. {fix}"
        )
