"""A delimited text file as a table: header, data lines, delimiter and number parsing.

What is accepted, and why:

* Comma, tab or semicolon between fields, sniffed from the header row. With tab or
  semicolon, decimal commas (``1,25``) are accepted, as spreadsheet programs in many
  locales write them. Quoted fields (``"1.5"``) are accepted.
* A header row is required; column names are matched case-insensitively and with
  surrounding spaces ignored. Unmapped columns may hold anything (text, empty cells).
* Empty lines at the end are ignored; an empty line inside the data is an error
  (it usually means two files were pasted together).
* Size: at most 3 GiB and 20 million rows per file (a day at 200 Hz; the limits and
  why are in :mod:`spinecoach.io.limits`), refused with a clear error before the text
  is split into lines, so a huge file costs bounded memory.
* Every mapped value must be a finite number; the error names the file, the line
  (1-based, as an editor shows it), the column, the text found and what was expected.

Speed: the happy path parses with :func:`numpy.loadtxt` (about a second for 360 000
rows); only when that fails is the file walked row by row with :mod:`csv` to find and
report the exact bad cell.

>>> table = table_from_text("a.csv", "t;ax\\n0;1,5\\n1;2\\n")
>>> table.header, table.delimiter, table.decimal_comma
(['t', 'ax'], ';', True)
>>> parse_table(table, [0, 1])[1].tolist()
[[0.0, 1.5], [1.0, 2.0]]
"""

from __future__ import annotations

import csv
import itertools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.errors import InputFormatError
from spinecoach.io.csv_mapping import MAPPING_EXAMPLE, CsvMapping, normalise_name
from spinecoach.io.limits import (
    FIX_SPLIT,
    MAX_TEXT_BYTES,
    check_file_bytes,
    check_text_rows,
    read_bounded,
)
from spinecoach.recording import FloatArray

DELIMITER_NAMES: Final = {",": "comma", "\t": "tab", ";": "semicolon"}


@dataclass(frozen=True)
class CsvTable:
    """The text of a delimited file split into its header and data lines."""

    source: str
    header: list[str]  # column names as in the file, stripped
    lines: list[str]  # data lines (trailing empty lines removed)
    delimiter: str
    decimal_comma: bool
    row_lines: NDArray[np.int64] | None = field(default=None)  # None: row i is line i + 2


def decode_text(data: bytes) -> str:
    """A file's bytes as text: UTF-16 with a byte-order mark, UTF-8, else Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Old spreadsheet exports; latin-1 never fails, so a binary file still ends
        # in a precise "expected a number" error instead of a decoding crash.
        return data.decode("latin-1")


def _sniff_delimiter(header: str) -> str | None:
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in ("\t", ";", ",")}
    best = max(counts, key=lambda d: counts[d])  # ties: tab, then semicolon, then comma
    return best if counts[best] else None


def _split_row(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter, quotechar='"'), [])
    except csv.Error:
        return line.split(delimiter)


def read_text_table(source: str | os.PathLike[str]) -> CsvTable:
    """Read a delimited text file into header and data lines (no number parsing).

    A file above the size or row limits of :mod:`spinecoach.io.limits` is refused
    with an :class:`~spinecoach.errors.InputFormatError` before it is split.
    """
    path = Path(source)
    check_file_bytes(path)
    try:
        with path.open("rb") as stream:
            data = read_bounded(stream, limit_bytes=MAX_TEXT_BYTES, source=path, fix=FIX_SPLIT)
    except IsADirectoryError as exc:
        raise InputFormatError(path, "expected a file", found="a folder") from exc
    except FileNotFoundError as exc:
        raise InputFormatError(
            path, "expected an existing file", found="nothing at this path", fix="Check the path"
        ) from exc
    except OSError as exc:
        raise InputFormatError(path, "expected a readable file", found=str(exc)) from exc
    return table_from_text(str(path), decode_text(data))


def table_from_text(source: str, text: str) -> CsvTable:
    """Split ``text`` (read from ``source``, named in errors) into header and data lines;
    more rows than :data:`~spinecoach.io.limits.MAX_ROWS` are refused before splitting."""
    check_text_rows(source, text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or not lines[0].strip():
        raise InputFormatError(
            source,
            "expected a header row with the column names",
            line=1,
            found="" if lines else "an empty file",
            fix="Put the column names in the first line, separated by commas, tabs or semicolons",
        )
    delimiter = _sniff_delimiter(lines[0])
    if delimiter is None:
        raise InputFormatError(
            source,
            "expected a header row with column names separated by commas, tabs or semicolons",
            line=1,
            found=lines[0],
            fix="Check that this is a CSV file with a header row",
        )
    header = [h.strip() for h in _split_row(lines[0], delimiter)]
    body = lines[1:]
    decimal_comma = delimiter != "," and any("," in line for line in body)
    return CsvTable(source, header, body, delimiter, decimal_comma)


def resolve_columns(table: CsvTable, mapping: CsvMapping) -> dict[str, int]:
    """Column name (as in the mapping) -> index in the header."""
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(table.header):
        positions.setdefault(normalise_name(name), []).append(index)
    resolved: dict[str, int] = {}
    for name in mapping.columns():
        found = positions.get(normalise_name(name), [])
        if not found:
            shown = ", ".join(repr(h) for h in table.header)
            raise InputFormatError(
                table.source,
                f"expected a column named {name!r} in the header",
                line=1,
                column=name,
                fix=f"The header has {shown}; pass a mapping that names this file's columns, "
                f"for example --mapping '{MAPPING_EXAMPLE}'",
            )
        if len(found) > 1:
            raise InputFormatError(
                table.source,
                "expected each mapped column name once in the header",
                line=1,
                column=name,
                found=f"{len(found)} columns with this name",
                fix="Rename the duplicated columns",
            )
        resolved[name] = found[0]
    return resolved


def line_of(table: CsvTable, row: int) -> int:
    """The 1-based line in the file of data row ``row`` (as an editor shows it)."""
    return int(table.row_lines[row]) if table.row_lines is not None else row + 2


def cell_text(table: CsvTable, row: int, index: int) -> str:
    """The text of column ``index`` in data row ``row``, as in the file."""
    line = table.lines[line_of(table, row) - 2]
    cells = _split_row(line, table.delimiter)
    return cells[index] if index < len(cells) else ""


def _parse_fast(table: CsvTable, used: list[int]) -> FloatArray | None:
    """All used columns as floats, or None when anything is unusual (then go slow)."""
    d = table.delimiter
    lines = table.lines
    if any('"' in line for line in lines):
        return None
    counts = np.fromiter(
        map(str.count, lines, itertools.repeat(d)), dtype=np.int64, count=len(lines)
    )
    if np.any(counts != len(table.header) - 1):
        return None
    if table.decimal_comma:
        lines = [line.replace(",", ".") for line in lines]
    try:
        values = np.loadtxt(
            lines,
            delimiter=d,
            usecols=used,
            comments=None,
            quotechar=None,
            ndmin=2,
            dtype=np.float64,
        )
    except (ValueError, OverflowError, TypeError):
        return None
    if values.shape != (len(table.lines), len(used)):
        return None
    return np.asarray(values, dtype=np.float64)


def _parse_slow(table: CsvTable, used: list[int]) -> tuple[FloatArray, NDArray[np.int64]]:
    """Row-by-row parse that reports the first bad row or cell exactly."""
    ncols = len(table.header)
    name_of = {i: table.header[i] for i in used}
    values: list[list[float]] = []
    row_lines: list[int] = []
    reader = csv.reader(table.lines, delimiter=table.delimiter, quotechar='"')
    consumed = 0
    while True:
        line = consumed + 2
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputFormatError(
                table.source,
                "expected a well-formed CSV row",
                line=line,
                found=str(exc),
                fix="Check the quotes on this line",
            ) from exc
        consumed = reader.line_num
        if not any(cell.strip() for cell in row):
            raise InputFormatError(
                table.source,
                "expected a data row, found an empty line",
                line=line,
                fix="Remove empty lines inside the data (empty lines at the end are fine)",
            )
        extra = row[ncols:]
        if len(row) < ncols or any(cell.strip() for cell in extra):
            fix = f"Every row needs {ncols} fields separated by {DELIMITER_NAMES[table.delimiter]}s"
            if table.delimiter == ",":
                fix += "; numbers with decimal commas need semicolons or tabs between fields"
            raise InputFormatError(
                table.source,
                f"expected {ncols} fields like the header",
                line=line,
                found=f"{len(row)} fields",
                fix=fix,
            )
        parsed: list[float] = []
        for index in used:
            text = row[index]
            parsed.append(_to_float(table, text, line=line, column=name_of[index]))
        values.append(parsed)
        row_lines.append(line)
    array = np.array(values, dtype=np.float64).reshape(len(values), len(used))
    return array, np.array(row_lines, dtype=np.int64)


def _to_float(table: CsvTable, text: str, *, line: int, column: str) -> float:
    cleaned = text.strip()
    if table.decimal_comma:
        cleaned = cleaned.replace(",", ".")
    try:
        if not cleaned or "_" in cleaned:
            raise ValueError(cleaned)
        return float(cleaned)
    except ValueError:
        decimal = "a decimal comma" if table.decimal_comma else "a decimal point"
        raise InputFormatError(
            table.source,
            f"expected a number (with {decimal})",
            line=line,
            column=column,
            found=text,
            fix=f"Correct or delete line {line}",
        ) from None


def parse_table(table: CsvTable, used: list[int]) -> tuple[CsvTable, FloatArray]:
    """Columns ``used`` as floats (rows × columns); the table returned knows each row's
    line when the slow path had to read it row by row."""
    fast = _parse_fast(table, used)
    if fast is not None:
        return table, fast
    values, row_lines = _parse_slow(table, used)
    return replace(table, row_lines=row_lines), values


def check_finite(table: CsvTable, values: FloatArray, used: list[int]) -> None:
    """Raise naming the first missing or infinite value's line and column."""
    finite = np.isfinite(values)
    if finite.all():
        return
    row, col = (int(i) for i in np.argwhere(~finite)[0])
    line = line_of(table, row)
    raise InputFormatError(
        table.source,
        "expected a finite number",
        line=line,
        column=table.header[used[col]],
        found=cell_text(table, row, used[col]),
        fix=f"Replace the missing or infinite value on line {line} or delete the line",
    )


def header_fields(path: str | os.PathLike[str], *, max_bytes: int = 65536) -> list[str] | None:
    """The column names of a delimited text file's first line, or None if it has none.

    Reads at most ``max_bytes``; used by format detection.
    """
    try:
        with open(path, "rb") as stream:
            head = stream.read(max_bytes)
    except OSError:
        return None
    text = decode_text(head)
    first = text.replace("\r\n", "\n").replace("\r", "\n").split("\n", 1)[0]
    delimiter = _sniff_delimiter(first)
    if delimiter is None:
        return None
    return [h.strip() for h in _split_row(first, delimiter)]


def known_columns(header: Iterable[str]) -> set[str]:
    """The normalised (trimmed, case-folded) column names of a header."""
    return {normalise_name(h) for h in header}
