"""Rows the readers drop, how they are counted, and the report a recording carries.

Files as people have them hold rows a logger wrote twice (a buffer flushed again after a
radio retry, a file appended to itself) and rows that share a time stamp with the row
before them (a 25 Hz belt logger whose clock ticks in 10 ms steps writes two samples in
the same tick now and then). Refusing the whole file for one such row helps nobody, so
every reader of :mod:`spinecoach.io` applies the same rule to each time column:

* a row whose time stamp equals the previous row's is dropped (the first row of the run
  is kept). It is counted as a **duplicate row** when every value spinecoach reads from
  it equals the kept row's, and as a **repeated time stamp** otherwise (two different
  samples cannot both be right: keeping the first is the choice that never looks into
  the future);
* time going *backwards* is still an error (rows out of order, or two recordings pasted
  together): the message names the file, the line, the column and the fix;
* a file without a time column is never de-duplicated: two equal consecutive samples
  are normal for a quantised sensor at rest, and without a time stamp nothing says
  they were written twice.

The counts travel with the recording as a JSON text in ``recording.meta["cleaning"]``,
one entry per placement, written only when at least one row was dropped (a clean file's
metadata is unchanged)::

    {"lower": {"duplicate_rows": 1, "repeated_timestamps": 0, "rows_read": 2001}}

``rows_read`` counts the data rows read for that sensor (for the phone exports, the
rows of every file read for it). :func:`cleaning_report` reads it back.

>>> import numpy as np
>>> time = np.array([0.0, 1.0, 1.0, 2.0])
>>> kept = drop_repeated_times(time, np.array([[0.0], [1.0], [5.0], [2.0]]))
>>> kept.keep.tolist(), kept.counts
([True, True, False, True], RowCounts(rows_read=4, duplicate_rows=0, repeated_timestamps=1))
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.errors import InputFormatError
from spinecoach.recording import FloatArray, Recording

CLEANING_META_KEY: Final = "cleaning"
_FIELDS: Final = ("duplicate_rows", "repeated_timestamps", "rows_read")


@dataclass(frozen=True)
class RowCounts:
    """Rows read from one sensor's file(s) and rows dropped from them."""

    rows_read: int
    duplicate_rows: int = 0
    repeated_timestamps: int = 0

    @property
    def dropped(self) -> int:
        """Rows dropped in all (duplicates and repeated time stamps)."""
        return self.duplicate_rows + self.repeated_timestamps

    def __add__(self, other: RowCounts) -> RowCounts:
        return RowCounts(
            self.rows_read + other.rows_read,
            self.duplicate_rows + other.duplicate_rows,
            self.repeated_timestamps + other.repeated_timestamps,
        )

    def as_dict(self) -> dict[str, int]:
        """The report's entry for one placement."""
        return {
            "duplicate_rows": self.duplicate_rows,
            "repeated_timestamps": self.repeated_timestamps,
            "rows_read": self.rows_read,
        }


@dataclass(frozen=True)
class KeptRows:
    """Which rows to keep (``keep[i]``) and the counts; ``backwards`` is the first row
    whose time is below the previous row's (None when time never goes back)."""

    keep: NDArray[np.bool_]
    counts: RowCounts
    backwards: int | None

    @property
    def first_dropped(self) -> int | None:
        """Index of the first dropped row, or None."""
        dropped = np.flatnonzero(~self.keep)
        return int(dropped[0]) if dropped.size else None


def drop_repeated_times(time: FloatArray, values: FloatArray) -> KeptRows:
    """Apply the rule of the module docstring to one table.

    ``time`` holds the time stamps in any unit (compared as they are), ``values`` the
    rows of every column read (time included or not), shape ``(n, k)``. Runs in a
    few vectorised passes; nothing is copied when no row is dropped.
    """
    n = int(time.shape[0])
    steps = np.diff(time)
    back = np.flatnonzero(steps < 0)
    backwards = int(back[0]) + 1 if back.size else None
    keep = np.ones(n, dtype=bool)
    keep[1:] = steps != 0
    if keep.all():
        return KeptRows(keep, RowCounts(n), backwards)
    # Each dropped row is compared with the row kept before it (the first of its run).
    kept_index = np.maximum.accumulate(np.where(keep, np.arange(n), 0))
    dropped = np.flatnonzero(~keep)
    same = np.all(values[dropped] == values[kept_index[dropped]], axis=1)
    duplicates = int(np.count_nonzero(same))
    counts = RowCounts(n, duplicates, int(dropped.size) - duplicates)
    return KeptRows(keep, counts, backwards)


def cleaning_meta(counts: Mapping[str, RowCounts]) -> dict[str, str]:
    """``{"cleaning": <JSON>}`` when a row was dropped for any placement, else ``{}``."""
    if not any(c.dropped for c in counts.values()):
        return {}
    report = {placement: c.as_dict() for placement, c in counts.items()}
    return {CLEANING_META_KEY: json.dumps(report, sort_keys=True)}


def cleaning_report(recording: Recording) -> dict[str, dict[str, int]]:
    """The rows dropped while reading ``recording``, per placement.

    Returns ``{placement: {"duplicate_rows": n, "repeated_timestamps": m,
    "rows_read": k}}``, or ``{}`` when the reader dropped nothing (or the recording
    was not read from a file). Raises :class:`~spinecoach.errors.InputFormatError`
    when ``meta["cleaning"]`` is not such a JSON object (an edited file).

    >>> from spinecoach.recording import SensorData
    >>> one = SensorData.from_arrays("lower", [0.0], [[0, 0, 9.8]], [[0, 0, 0]], rate_hz=50.0)
    >>> text = '{"lower": {"duplicate_rows": 1, "repeated_timestamps": 2, "rows_read": 50}}'
    >>> cleaning_report(Recording.create({"lower": one}, meta={"cleaning": text}))
    {'lower': {'duplicate_rows': 1, 'repeated_timestamps': 2, 'rows_read': 50}}
    """
    text = recording.meta.get(CLEANING_META_KEY)
    if text is None:
        return {}
    try:
        parsed: Any = json.loads(text)
    except json.JSONDecodeError:
        parsed = None
    valid = isinstance(parsed, dict) and all(
        isinstance(entry, dict)
        and set(entry) == set(_FIELDS)
        and all(type(entry[f]) is int and entry[f] >= 0 for f in _FIELDS)
        for entry in parsed.values()
    )
    if not valid:
        raise InputFormatError(
            "recording metadata",
            f"expected meta[{CLEANING_META_KEY!r}] to be a JSON object of "
            f"{{placement: {{{', '.join(_FIELDS)}}}}} with whole numbers",
            found=text,
            fix="Read the source file again, or remove the edited entry",
        )
    return {str(p): {f: int(e[f]) for f in _FIELDS} for p, e in parsed.items()}
