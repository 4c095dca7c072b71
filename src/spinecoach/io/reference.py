"""Reference angles from a CSV file, to compare estimated angles with.

A reference CSV (for example from optical motion capture) has a ``time_s`` column
(seconds on the recording's time base) and any of the angle columns of
:mod:`spinecoach.conventions` (``lumbar_flexion_deg``, ...), in degrees; other columns are
ignored, blank lines skipped. The import limits of :mod:`spinecoach.io.limits` apply
(at most 3 GiB and 20 million rows, checked before and while reading).
``spinecoach validate angles FILE --reference REF.csv`` reads it (through
:func:`spinecoach.io.formats.load_reference`, format ``csv``) and
:mod:`spinecoach.motion.agreement` compares.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import ANGLE_COLUMNS, TIME_S
from spinecoach.errors import InputFormatError
from spinecoach.io.limits import MAX_ROWS, check_file_bytes, check_rows

FloatArray = NDArray[np.float64]


def load_reference_csv(path: Path) -> tuple[FloatArray, dict[str, FloatArray]]:
    """Reference angles from a CSV with ``time_s`` and angle columns (degrees)."""
    check_file_bytes(path)
    rows: list[list[str]] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                rows.append(row)
                if len(rows) > MAX_ROWS + 1:
                    check_rows(path, len(rows) - 1)
    except OSError as error:
        raise InputFormatError(path, f"a readable reference CSV ({error.strerror})") from None
    except UnicodeDecodeError:
        raise InputFormatError(path, "a UTF-8 text CSV file", line=1) from None
    except csv.Error as error:  # e.g. a field over csv's 128 KiB limit
        raise InputFormatError(
            path, "a CSV file of short fields", line=len(rows) + 1, found=str(error)
        ) from None
    if not rows:
        raise InputFormatError(path, f"a header with {TIME_S!r} and angle columns", line=1)
    header = [h.strip() for h in rows[0]]
    if TIME_S not in header:
        raise InputFormatError(
            path,
            f"a {TIME_S!r} column in the header",
            line=1,
            found=",".join(header),
            fix="Name the time column time_s (seconds since the recording start)",
        )
    known = [h for h in header if h in ANGLE_COLUMNS]
    if not known:
        raise InputFormatError(
            path,
            "at least one angle column named like " + ", ".join(ANGLE_COLUMNS[:3]),
            line=1,
            found=",".join(header),
        )
    columns = {name: header.index(name) for name in [TIME_S, *known]}
    data: dict[str, list[float]] = {name: [] for name in columns}
    for line_no, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        for name, index in columns.items():
            cell = row[index].strip() if index < len(row) else ""
            try:
                data[name].append(float(cell))
            except ValueError:
                raise InputFormatError(
                    path, "a number in degrees or seconds", line=line_no, column=name, found=cell
                ) from None
    time_s = np.array(data.pop(TIME_S))
    if time_s.shape[0] < 2 or np.any(np.diff(time_s) <= 0):
        raise InputFormatError(path, "at least two rows with strictly increasing time_s")
    return time_s, {k: np.array(v) for k, v in data.items()}
