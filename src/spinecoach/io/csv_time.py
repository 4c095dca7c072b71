"""The time column of a CSV file: checks, repeated rows, rates and date-times.

* With a time column the rate is the median sample interval (rounded to 4 significant
  digits, or to the whole hertz when within 0.01 %: :func:`rate_from_interval`) unless
  the caller gives one; a median step giving a rate below 1 Hz or above 20 kHz is a
  unit error (:func:`check_time`).
* Rows whose time repeats the row above are dropped and counted (exact duplicates and
  repeated time stamps, the first row kept; see :mod:`spinecoach.io.cleaning`); time
  going backwards is an error (:func:`drop_repeated_rows`).
* A time column holding ISO-8601 date-times (recognised by its first cell,
  :func:`is_datetime_text`, or the unit ``datetime``) counts seconds from its first row
  (:func:`parse_datetimes`): numpy parses them in one pass (0.8-1.5 s for 360 000 rows)
  when every row has the first row's layout and zone, else they are read row by row to
  name the bad one.

>>> rate_from_interval(0.01), rate_from_interval(1 / 60.0001)
(100.0, 60.0)
"""

from __future__ import annotations

import csv
import re
import warnings
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final

import numpy as np

from spinecoach.errors import InputFormatError, UnitError
from spinecoach.io.cleaning import RowCounts, drop_repeated_times
from spinecoach.io.csv_table import CsvTable, cell_text, line_of
from spinecoach.recording import FloatArray

RATE_PLAUSIBLE_HZ: Final = (1.0, 20_000.0)


def rate_from_interval(interval_s: float) -> float:
    """The rate (Hz) of a median sample interval: a whole hertz within 0.01 %, else 4 digits."""
    rate = 1.0 / interval_s
    nearest = round(rate)
    if nearest > 0 and abs(rate - nearest) <= 1e-4 * rate:
        return float(nearest)
    return float(f"{rate:.4g}")


def _time_backwards(table: CsvTable, row: int, index: int) -> InputFormatError:
    line, before = line_of(table, row), line_of(table, row - 1)
    return InputFormatError(
        table.source,
        f"expected time to increase strictly, to more than "
        f"{cell_text(table, row - 1, index).strip()!r} on line {before}",
        line=line,
        column=table.header[index],
        found=cell_text(table, row, index),
        fix="Sort the rows by time and remove repeated rows",
    )


def check_time(
    table: CsvTable, raw_time: FloatArray, divide: float, index: int, unit: str
) -> float:
    """Check time increases strictly at a plausible rate; return the median step (s)."""
    steps = np.diff(raw_time)
    bad = np.flatnonzero(~(steps > 0))
    if bad.size:
        raise _time_backwards(table, int(bad[0]) + 1, index)
    interval = float(np.median(steps)) / divide
    rate = 1.0 / interval
    low, high = RATE_PLAUSIBLE_HZ
    if not low <= rate <= high:
        other = "ms" if rate < low else "s"
        raise UnitError(
            f"{table.source}, column {table.header[index]!r}: with time in {unit} the median "
            f"step is {interval:.6g} s ({rate:.6g} Hz), not a rate a body-worn sensor records "
            f"at ({low:g} to {high:g} Hz). If the column is in other units, say so in the "
            f"mapping, for example 'time={table.header[index]}:{other}'"
        )
    return interval


def drop_repeated_rows(
    table: CsvTable, values: FloatArray, raw_time: FloatArray, index: int
) -> tuple[CsvTable, FloatArray, FloatArray, RowCounts]:
    """Drop the rows whose time repeats the row above (see :mod:`spinecoach.io.cleaning`).

    ``values`` are the parsed rows, ``raw_time`` their time stamps in the file's unit
    and ``index`` the time column's index in the header (for messages). Returns the
    table (with the line numbers of the kept rows), the kept values and times, and
    the counts. Time going backwards raises :class:`InputFormatError`.
    """
    kept = drop_repeated_times(raw_time, values)
    if kept.backwards is not None:
        raise _time_backwards(table, kept.backwards, index)
    if not kept.counts.dropped:
        return table, values, raw_time, kept.counts
    n = int(raw_time.shape[0])
    lines = table.row_lines if table.row_lines is not None else np.arange(2, n + 2)
    if int(np.count_nonzero(kept.keep)) < 2:
        first = kept.first_dropped
        raise InputFormatError(
            table.source,
            "expected at least 2 data rows with different time stamps",
            line=None if first is None else line_of(table, first),
            column=table.header[index],
            found=f"{n} rows, {kept.counts.dropped} of them repeating the time of the row above",
            fix="Record for longer or pick another file",
        )
    table = replace(table, row_lines=np.ascontiguousarray(lines[kept.keep], dtype=np.int64))
    return table, values[kept.keep], raw_time[kept.keep], kept.counts


_DATE_RE: Final = re.compile(r"^\d{4}[-/]\d{2}[-/]\d{2}(?:[T ]|$)")


def is_datetime_text(text: str) -> bool:
    """Whether a cell holds a date (``2024-03-01``, ``2024/03/01``), maybe with a time."""
    return bool(_DATE_RE.match(text.strip().strip('"').strip()))


def _column_texts(table: CsvTable, index: int) -> list[str]:
    """The text of column ``index`` in every data row, in the order :func:`parse_table` reads."""
    lines = table.lines
    if not any('"' in line for line in lines):
        d, cut = table.delimiter, index + 1
        return [
            (cells[index] if len(cells) > index else "")
            for cells in (line.split(d, cut) for line in lines)
        ]
    reader = csv.reader(lines, delimiter=table.delimiter, quotechar='"')
    return [row[index] if len(row) > index else "" for row in reader]


_ZONE_RE: Final = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def _parse_datetimes_fast(texts: list[str]) -> tuple[FloatArray, datetime] | None:
    """Date-times parsed by numpy in one pass when every row has the first row's layout
    and zone (the usual file, about 20 times faster); None sends them row by row."""
    first_text = texts[0].strip()
    if not _DATE_RE.match(first_text) or '"' in first_text or first_text[4] != "-":
        return None
    try:
        first = datetime.fromisoformat(first_text)
    except ValueError:
        return None
    zone = _ZONE_RE.search(first_text)
    suffix = zone.group(1) if zone and first.tzinfo is not None else ""
    if suffix:
        if not all(t.endswith(suffix) for t in texts):
            return None
        cut = -len(suffix)
        texts = [t[:cut] for t in texts]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            stamps = np.array(texts, dtype="datetime64[us]")
    except (ValueError, TypeError, Warning):
        return None
    if np.isnat(stamps).any():
        return None
    micro = (stamps - stamps[0]).astype(np.int64)
    return micro / 1e6, first


def parse_datetimes(table: CsvTable, index: int) -> tuple[FloatArray, datetime]:
    """A date-time column as seconds since its first row, and that first date-time.

    ISO-8601 (``2024-03-01 10:15:02.120``, ``2024-03-01T10:15:02.120Z``,
    ``...+01:00``; ``2024/03/01`` also accepted). Every row must have a time zone if
    the first has one, and none if it has none (mixed clocks cannot be ordered).
    """
    texts = _column_texts(table, index)
    fast = _parse_datetimes_fast(texts)
    if fast is not None:
        return fast
    column = table.header[index]
    one_s = timedelta(seconds=1)
    first: datetime | None = None
    out = np.empty(len(texts), dtype=np.float64)
    for row, text in enumerate(texts):
        cleaned = text.strip().strip('"').strip()
        if len(cleaned) > 10 and cleaned[4:5] == "/" and cleaned[7:8] == "/":
            cleaned = cleaned[:10].replace("/", "-") + cleaned[10:]
        try:
            stamp = datetime.fromisoformat(cleaned)
            if first is None:
                first = stamp
            out[row] = (stamp - first) / one_s
        except ValueError:
            line = line_of(table, row)
            raise InputFormatError(
                table.source,
                "expected a date and time like '2024-03-01 10:15:02.120' (ISO-8601, as in "
                "the first row)",
                line=line,
                column=column,
                found=text,
                fix=f"Correct or delete line {line}",
            ) from None
        except TypeError:
            line = line_of(table, row)
            zone = "with" if first is not None and first.tzinfo is not None else "without"
            raise InputFormatError(
                table.source,
                f"expected every time {zone} a time zone, as in the first row",
                line=line,
                column=column,
                found=text,
                fix="Write every time in the same clock (all with a zone such as +01:00 or Z, "
                "or all without)",
            ) from None
    if first is None:  # pragma: no cover - callers check for 2 rows first
        raise InputFormatError(table.source, "expected data rows below the header", found="none")
    return out, first
