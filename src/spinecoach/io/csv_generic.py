"""Generic CSV reader: any delimited text file with a header row and a column mapping.

A :class:`CsvMapping` says which column holds the time (and in which unit) and, per
sensor placement, which three columns hold the accelerometer, gyroscope and optional
magnetometer axes and in which unit. Values are converted to the project's units
(seconds, m/s², deg/s, µT) once, here.

What is accepted, and why:

* One file per sensor, one wide file holding both sensors (a mapping with ``lower``
  and ``upper``), or a folder holding one file per sensor whose names contain
  ``lower`` / ``upper``.
* Comma, tab or semicolon between fields, sniffed from the header row. With tab or
  semicolon, decimal commas (``1,25``) are accepted, as spreadsheet programs in many
  locales write them. Quoted fields (``"1.5"``) are accepted.
* A header row is required; column names are matched case-insensitively and with
  surrounding spaces ignored. Unmapped columns may hold anything (text, empty cells).
* Empty lines at the end are ignored; an empty line inside the data is an error
  (it usually means two files were pasted together).
* Without a time column, ``rate_hz`` gives ``time_s = arange(n) / rate_hz``. With a
  time column the rate is the median sample interval (rounded to 4 significant
  digits, or to the whole hertz when within 0.01 %) unless ``rate_hz`` is given.
  A time column whose first value is above 1e8 s (more than three years) is taken as
  Unix time: ``start_utc`` becomes that instant and ``time_s`` counts from it.
  A time column holding ISO-8601 date-times (recognised by its first cell, or the
  unit ``datetime``) counts seconds from its first row; with a zone, that row is
  ``start_utc``, without one ``meta["start_local_time"]`` keeps the wall-clock time.
* Rows whose time repeats the row above are dropped and counted (exact duplicates and
  repeated time stamps, the first row kept; see :mod:`spinecoach.io.cleaning`); time
  going backwards is an error. Without a time column nothing is dropped.
* Every mapped value must be a finite number; the error names the file, the line
  (1-based, as an editor shows it), the column, the text found and what was expected.
* No gyroscope (``gyr=none``, :class:`SensorColumns` ``gyr=None``): ``gyr_dps`` is
  all NaN. Without a mapping, spinecoach's own names, the Fusion header, or common
  names recognised by :mod:`spinecoach.io.guess` (``AccX``, ``acc_x`` ...) are used.
* Unit sanity checks (only where the answer is unambiguous): an accelerometer whose
  median magnitude is about 1 while declared in m/s² (or about 9.8 while declared in
  g) raises :class:`~spinecoach.errors.UnitError`; so does a gyroscope declared in
  rad/s whose 99th-percentile speed exceeds 35 rad/s (2000 deg/s, the full scale of
  body-worn gyroscopes), and a time column whose median step gives a rate below
  1 Hz or above 20 kHz.

Speed: the happy path parses with :func:`numpy.loadtxt` (about a second for 360 000
rows; dropping repeated rows works on the parsed arrays, and date-times are parsed by
numpy in one pass, 0.8-1.5 s for 360 000 rows); only when that fails is the file
walked row by row with :mod:`csv` to find and report the exact bad cell.

The mapping also has a one-line text form for the command line (see
:func:`parse_mapping`)::

    time=Time (s):s,acc=ax,ay,az:g,gyr=gx,gy,gz:dps,mag=mx,my,mz:uT

>>> mapping = parse_mapping("time=t:ms,acc=ax,ay,az:g,gyr=gx,gy,gz:rad/s")
>>> mapping.time, mapping.time_unit, mapping.lower.acc_unit, mapping.lower.gyr_unit
('t', 'ms', 'g', 'rad/s')
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import (
    ACC_COLUMNS,
    GYR_COLUMNS,
    LOWER,
    MAG_COLUMNS,
    PLACEMENTS,
    STANDARD_GRAVITY_MPS2,
    TIME_S,
)
from spinecoach.errors import ConfigurationError, InputFormatError, UnitError
from spinecoach.io.cleaning import RowCounts, cleaning_meta, drop_repeated_times
from spinecoach.recording import FloatArray, Recording, SensorData

# Units: canonical name -> accepted spellings (compared lower-cased) ---------------------
TIME_UNITS: Final[dict[str, tuple[str, ...]]] = {
    "s": ("s", "sec", "second", "seconds"),
    "ms": ("ms", "msec", "millisecond", "milliseconds"),
    "us": ("us", "µs", "μs", "usec", "microsecond", "microseconds"),
    "ns": ("ns", "nsec", "nanosecond", "nanoseconds"),
    "datetime": ("datetime", "iso", "iso8601", "iso-8601", "date"),
}
ACC_UNITS: Final[dict[str, tuple[str, ...]]] = {
    "m/s2": ("m/s2", "m/s^2", "m/s²", "mps2"),
    "g": ("g",),
    "mg": ("mg", "milli-g", "millig"),
}
GYR_UNITS: Final[dict[str, tuple[str, ...]]] = {
    "deg/s": ("deg/s", "dps", "°/s", "degps"),
    "rad/s": ("rad/s", "rads", "radps"),
}
MAG_UNITS: Final[dict[str, tuple[str, ...]]] = {
    "uT": ("ut", "µt", "μt", "microtesla"),
    "mT": ("mt", "millitesla"),
    "gauss": ("gauss", "gs"),
    "nT": ("nt", "nanotesla"),
}
# value_in_project_unit = value * multiply / divide (dividing keeps 1/1000 exact-ish).
TIME_DIVIDE: Final = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
ACC_MULTIPLY: Final = {"m/s2": 1.0, "g": STANDARD_GRAVITY_MPS2, "mg": STANDARD_GRAVITY_MPS2 / 1e3}
MAG_SCALE: Final = {"uT": (1.0, 1.0), "mT": (1e3, 1.0), "gauss": (100.0, 1.0), "nT": (1.0, 1e3)}

DELIMITER_NAMES: Final = {",": "comma", "\t": "tab", ";": "semicolon"}
EPOCH_THRESHOLD_S: Final = 1e8  # a "relative" time above this is Unix time (> 3 years)
GYRO_FULL_SCALE_RADPS: Final = 35.0  # 2000 deg/s: no body-worn gyroscope reads more
RATE_PLAUSIBLE_HZ: Final = (1.0, 20_000.0)
_MAPPING_EXAMPLE: Final = "time=t:ms,acc=ax,ay,az:g,gyr=gx,gy,gz:dps"
NO_GYROSCOPE: Final = "none"  # mapping text for an accelerometer-only file: "gyr=none"


def canonical_column(unit: str, table: Mapping[str, tuple[str, ...]], what: str) -> str:
    key = unit.strip().lower()
    for name, spellings in table.items():
        if key == name.lower() or key in spellings:
            return name
    raise ConfigurationError(f"unknown {what} unit {unit!r}; use one of {', '.join(table)}")


def _three_columns(columns: Sequence[str], what: str) -> tuple[str, str, str]:
    names = tuple(str(c).strip() for c in columns)
    if len(names) != 3 or not all(names):
        raise ConfigurationError(
            f"{what} needs three non-empty column names (x, y, z), got {list(columns)!r}"
        )
    return names[0], names[1], names[2]


@dataclass(frozen=True, kw_only=True)
class SensorColumns:
    """Where one sensor's axes are in a CSV file and in which units.

    ``gyr`` is ``None`` for an accelerometer-only file (the sensor is then read with
    ``gyr_dps`` full of NaN; :attr:`SensorData.has_gyroscope` is False).
    ``acc_unit``: ``"m/s2"``, ``"g"`` or ``"mg"``; ``gyr_unit``: ``"deg/s"`` or ``"rad/s"``;
    ``mag_unit``: ``"uT"``, ``"mT"``, ``"gauss"`` or ``"nT"``. Common spellings
    (``"dps"``, ``"m/s^2"``, ``"µT"``...) are accepted and normalised.

    >>> SensorColumns(acc=("ax", "ay", "az"), acc_unit="G", gyr=("gx", "gy", "gz")).acc_unit
    'g'
    """

    acc: tuple[str, str, str]
    gyr: tuple[str, str, str] | None
    acc_unit: str = "m/s2"
    gyr_unit: str = "deg/s"
    mag: tuple[str, str, str] | None = None
    mag_unit: str = "uT"

    def __post_init__(self) -> None:
        # Normalise in place: the instance is still being built, so this is not mutation.
        object.__setattr__(self, "acc", _three_columns(self.acc, "acc"))
        if self.gyr is not None:
            object.__setattr__(self, "gyr", _three_columns(self.gyr, "gyr"))
        if self.mag is not None:
            object.__setattr__(self, "mag", _three_columns(self.mag, "mag"))
        object.__setattr__(
            self, "acc_unit", canonical_column(self.acc_unit, ACC_UNITS, "accelerometer")
        )
        object.__setattr__(
            self, "gyr_unit", canonical_column(self.gyr_unit, GYR_UNITS, "gyroscope")
        )
        object.__setattr__(
            self, "mag_unit", canonical_column(self.mag_unit, MAG_UNITS, "magnetometer")
        )


@dataclass(frozen=True, kw_only=True)
class CsvMapping:
    """Column/unit mapping of a CSV file: a time column and one or two sensors.

    ``time`` is the time column's name, or ``None`` when the file has none (then pass
    ``rate_hz`` when reading). ``time_unit`` is ``"s"``, ``"ms"``, ``"us"`` or ``"ns"``.
    ``lower`` / ``upper`` give the sensor columns per placement; a one-sensor mapping
    may be stored under another placement when read (``placement=`` argument).

    >>> m = CsvMapping(time="t", time_unit="ms",
    ...                lower=SensorColumns(acc=("ax", "ay", "az"), gyr=("gx", "gy", "gz")))
    >>> m.to_text()
    'time=t:ms,acc=ax,ay,az:m/s2,gyr=gx,gy,gz:deg/s'
    """

    time: str | None
    time_unit: str = "s"
    lower: SensorColumns | None = None
    upper: SensorColumns | None = None

    def __post_init__(self) -> None:
        if self.lower is None and self.upper is None:
            raise ConfigurationError(
                "a CSV mapping needs at least one sensor (lower or upper); "
                f"for example {_MAPPING_EXAMPLE!r}"
            )
        if self.time is not None:
            name = str(self.time).strip()
            if not name:
                raise ConfigurationError("the time column name is empty; pass None for no time")
            object.__setattr__(self, "time", name)
        object.__setattr__(self, "time_unit", canonical_column(self.time_unit, TIME_UNITS, "time"))

    @classmethod
    def of(
        cls, placement: str, columns: SensorColumns, *, time: str | None, time_unit: str = "s"
    ) -> CsvMapping:
        """A one-sensor mapping with the sensor under ``placement`` (lower or upper)."""
        if placement not in PLACEMENTS:
            raise ConfigurationError(
                f"unknown sensor placement {placement!r}; use one of {', '.join(PLACEMENTS)}"
            )
        if placement == LOWER:
            return cls(time=time, time_unit=time_unit, lower=columns)
        return cls(time=time, time_unit=time_unit, upper=columns)

    @property
    def sensors(self) -> dict[str, SensorColumns]:
        """The sensors by placement, lower first."""
        found = {LOWER: self.lower, "upper": self.upper}
        return {p: c for p, c in found.items() if c is not None}

    def relabeled(self, placement: str) -> CsvMapping:
        """This one-sensor mapping with its sensor stored under ``placement``."""
        sensors = list(self.sensors.values())
        if len(sensors) != 1:
            raise ConfigurationError(
                "the mapping names both sensors (lower and upper), so a placement cannot be "
                "chosen; drop the placement option"
            )
        return CsvMapping.of(placement, sensors[0], time=self.time, time_unit=self.time_unit)

    def columns(self) -> list[str]:
        """Every column name the mapping uses (time first)."""
        names = [] if self.time is None else [self.time]
        for columns in self.sensors.values():
            names += [*columns.acc, *(columns.gyr or ()), *(columns.mag or ())]
        return names

    def to_text(self) -> str:
        """The one-line text form read by :func:`parse_mapping` (see there)."""
        for name in self.columns():
            if any(c in name for c in ",;:=") or name != name.strip():
                raise ConfigurationError(
                    f"column name {name!r} cannot be written in the mapping text form "
                    "(it holds , ; : = or surrounding spaces); use CsvMapping in Python"
                )
        items = [] if self.time is None else [f"time={self.time}:{self.time_unit}"]
        sensors = self.sensors
        for placement, columns in sensors.items():
            prefix = "" if list(sensors) == [LOWER] else f"{placement}."
            items.append(f"{prefix}acc={','.join(columns.acc)}:{columns.acc_unit}")
            if columns.gyr is None:
                items.append(f"{prefix}gyr={NO_GYROSCOPE}")
            else:
                items.append(f"{prefix}gyr={','.join(columns.gyr)}:{columns.gyr_unit}")
            if columns.mag is not None:
                items.append(f"{prefix}mag={','.join(columns.mag)}:{columns.mag_unit}")
        return ",".join(items)


_ITEM_RE: Final = re.compile(
    r"^\s*(?:(lower|upper)\s*\.\s*)?(time|acc|gyr|mag)\s*=(.*)$", re.IGNORECASE | re.DOTALL
)


def parse_mapping(text: str, *, placement: str = LOWER) -> CsvMapping:
    """Parse the one-line mapping form used on the command line.

    Syntax: items ``key=value`` separated by ``,`` or ``;``::

        time=<column>[:<unit>]                 unit s (default), ms, us, ns, or datetime
                                               (ISO-8601 date-times, also found by content)
        acc=<x>,<y>,<z>[:<unit>]               unit m/s2 (default; mps2, m/s^2), g or mg
        gyr=<x>,<y>,<z>[:<unit>]               unit deg/s (default; dps) or rad/s (rads);
        gyr=none                               the file has no gyroscope columns
        mag=<x>,<y>,<z>[:<unit>]               optional; unit uT (default), mT, gauss, nT

    ``acc``/``gyr``/``mag`` may be prefixed with a placement, ``lower.acc=...`` and
    ``upper.acc=...``, for a wide file holding both sensors; unprefixed items belong
    to ``placement``. Without a ``time`` item the file has no time column (then pass
    ``rate_hz``). Units are case-insensitive. Column names cannot contain
    ``, ; : =``; use :class:`CsvMapping` in Python for those.

    >>> m = parse_mapping("time=Time (s):s,acc=ax,ay,az:g,gyr=gx,gy,gz:dps")
    >>> m.lower.acc, m.lower.acc_unit, m.time
    (('ax', 'ay', 'az'), 'g', 'Time (s)')
    >>> parse_mapping("lower.acc=a,b,c;lower.gyr=d,e,f;upper.acc=g,h,i;upper.gyr=j,k,l").upper.acc
    ('g', 'h', 'i')
    """
    tokens = re.split(r"[,;]", text)
    while tokens and not tokens[-1].strip():
        tokens.pop()
    items: list[tuple[str, str, list[str]]] = []  # (placement or "", key, value parts)
    for token in tokens:
        match = _ITEM_RE.match(token)
        if match:
            prefix, key, first = match.groups()
            items.append(((prefix or "").lower(), key.lower(), [first]))
        elif items:
            items[-1][2].append(token)
        else:
            raise ConfigurationError(
                f"mapping {text!r} must start with an item such as 'time=<column>' or "
                f"'acc=<x>,<y>,<z>:<unit>', found {token.strip()!r}; for example "
                f"{_MAPPING_EXAMPLE!r}"
            )
    if not items:
        raise ConfigurationError(f"the mapping is empty; for example {_MAPPING_EXAMPLE!r}")
    prefixes = {prefix for prefix, key, _ in items if key != "time"}
    if "" in prefixes and len(prefixes) > 1:
        raise ConfigurationError(
            f"mapping {text!r} mixes items with and without a placement prefix; prefix "
            "every acc/gyr/mag item with lower. or upper., or none of them"
        )
    seen: set[tuple[str, str]] = set()
    time: str | None = None
    time_unit = "s"
    parts: dict[str, dict[str, tuple[tuple[str, ...] | None, str | None]]] = {}
    for prefix, key, values in items:
        label = f"{prefix + '.' if prefix else ''}{key}"
        if (prefix, key) in seen:
            raise ConfigurationError(f"mapping {text!r} gives {label!r} twice; keep one")
        seen.add((prefix, key))
        *columns, last = values
        unit: str | None = None
        if ":" in last:
            last, unit = last.rsplit(":", 1)
        columns.append(last)
        names = tuple(c.strip() for c in columns)
        if key == "gyr" and len(names) == 1 and names[0].casefold() == NO_GYROSCOPE:
            parts.setdefault(prefix or placement, {})[key] = (None, None)
            continue
        if key == "time":
            if prefix:
                raise ConfigurationError(
                    f"mapping item {label!r}: the time column is shared, write 'time=<column>'"
                )
            if len(names) != 1 or not names[0]:
                raise ConfigurationError(
                    f"mapping item {label!r} needs one column name, e.g. 'time=t:ms'"
                )
            time, time_unit = names[0], unit if unit is not None else "s"
            continue
        if len(names) != 3 or not all(names):
            raise ConfigurationError(
                f"mapping item {label!r} needs three column names x,y,z, e.g. "
                f"'{key}=x,y,z', found {','.join(columns)!r}"
            )
        parts.setdefault(prefix or placement, {})[key] = (names, unit)
    sensors: dict[str, SensorColumns] = {}
    for where, given in parts.items():
        if where not in PLACEMENTS:
            raise ConfigurationError(
                f"unknown sensor placement {where!r}; use one of {', '.join(PLACEMENTS)}"
            )
        missing = [k for k in ("acc", "gyr") if k not in given]
        if missing:
            raise ConfigurationError(
                f"mapping {text!r} has no {' and '.join(missing)} item for the {where} sensor; "
                f"for example {_MAPPING_EXAMPLE!r} ('gyr=none' for a file without gyroscope)"
            )
        acc, acc_unit = given["acc"]
        gyr, gyr_unit = given["gyr"]
        mag, mag_unit = given.get("mag", (None, None))
        if acc is None:  # pragma: no cover - only gyr takes "none"
            raise ConfigurationError(f"mapping {text!r} needs accelerometer columns")
        sensors[where] = SensorColumns(
            acc=_three_columns(acc, "acc"),
            acc_unit=acc_unit or "m/s2",
            gyr=None if gyr is None else _three_columns(gyr, "gyr"),
            gyr_unit=gyr_unit or "deg/s",
            mag=None if mag is None else _three_columns(mag, "mag"),
            mag_unit=mag_unit or "uT",
        )
    if not sensors:
        raise ConfigurationError(
            f"mapping {text!r} names no sensor columns; for example {_MAPPING_EXAMPLE!r}"
        )
    return CsvMapping(
        time=time, time_unit=time_unit, lower=sensors.get(LOWER), upper=sensors.get("upper")
    )


def default_mapping(header: Sequence[str], *, placement: str = LOWER) -> CsvMapping | None:
    """The mapping for spinecoach's own column names, or ``None`` if the header has none.

    One sensor: ``time_s, acc_x_mps2, acc_y_mps2, acc_z_mps2, gyr_x_dps, gyr_y_dps,
    gyr_z_dps`` and optionally ``mag_x_ut, mag_y_ut, mag_z_ut`` (the names of
    :mod:`spinecoach.conventions`). Both sensors in one file: the same names prefixed
    with the placement, ``lower_acc_x_mps2`` ... ``upper_gyr_z_dps``. ``time_s`` may be
    missing (then pass ``rate_hz``). Names are matched case-insensitively.

    >>> default_mapping(["time_s", *ACC_COLUMNS, *GYR_COLUMNS]).lower.gyr
    ('gyr_x_dps', 'gyr_y_dps', 'gyr_z_dps')
    """
    names = {_normalise(h) for h in header}

    def sensor(prefix: str) -> SensorColumns | None:
        acc = tuple(prefix + c for c in ACC_COLUMNS)
        gyr = tuple(prefix + c for c in GYR_COLUMNS)
        mag = tuple(prefix + c for c in MAG_COLUMNS)
        if not all(c in names for c in (*acc, *gyr)):
            return None
        return SensorColumns(
            acc=_three_columns(acc, "acc"),
            gyr=_three_columns(gyr, "gyr"),
            mag=_three_columns(mag, "mag") if all(c in names for c in mag) else None,
        )

    time = TIME_S if TIME_S in names else None
    wide = {p: sensor(f"{p}_") for p in PLACEMENTS}
    if any(wide.values()):
        return CsvMapping(time=time, lower=wide[LOWER], upper=wide["upper"])
    single = sensor("")
    if single is None:
        return None
    return CsvMapping.of(placement, single, time=time)


# Reading ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _RawSensor:
    """One sensor read from a table in project units, except time: ``time_raw /
    time_divide`` is seconds (kept apart so Unix times can be shifted without losing
    digits)."""

    time_raw: FloatArray
    time_divide: float
    acc_mps2: FloatArray
    gyr_dps: FloatArray
    mag_ut: FloatArray | None
    rate_hz: float
    counts: RowCounts
    clock: datetime | None = None  # date-time of time_raw == 0 (from a date-time column)


@dataclass(frozen=True)
class CsvTable:
    """The text of a delimited file split into its header and data lines."""

    source: str
    header: list[str]  # column names as in the file, stripped
    lines: list[str]  # data lines (trailing empty lines removed)
    delimiter: str
    decimal_comma: bool
    row_lines: NDArray[np.int64] | None = field(default=None)  # None: row i is line i + 2


def _normalise(name: str) -> str:
    return name.strip().casefold()


def decode_text(data: bytes) -> str:
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


def _read_text_table(source: str | os.PathLike[str]) -> CsvTable:
    """Read a delimited text file into header and data lines (no number parsing)."""
    path = Path(source)
    try:
        data = path.read_bytes()
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


def _resolve(table: CsvTable, mapping: CsvMapping) -> dict[str, int]:
    """Column name (as in the mapping) -> index in the header."""
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(table.header):
        positions.setdefault(_normalise(name), []).append(index)
    resolved: dict[str, int] = {}
    for name in mapping.columns():
        found = positions.get(_normalise(name), [])
        if not found:
            shown = ", ".join(repr(h) for h in table.header)
            raise InputFormatError(
                table.source,
                f"expected a column named {name!r} in the header",
                line=1,
                column=name,
                fix=f"The header has {shown}; pass a mapping that names this file's columns, "
                f"for example --mapping '{_MAPPING_EXAMPLE}'",
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


def _line_of(table: CsvTable, row: int) -> int:
    return int(table.row_lines[row]) if table.row_lines is not None else row + 2


def _cell_text(table: CsvTable, row: int, index: int) -> str:
    line = table.lines[_line_of(table, row) - 2]
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
    fast = _parse_fast(table, used)
    if fast is not None:
        return table, fast
    values, row_lines = _parse_slow(table, used)
    return replace(table, row_lines=row_lines), values


def check_finite(table: CsvTable, values: FloatArray, used: list[int]) -> None:
    finite = np.isfinite(values)
    if finite.all():
        return
    row, col = (int(i) for i in np.argwhere(~finite)[0])
    line = _line_of(table, row)
    raise InputFormatError(
        table.source,
        "expected a finite number",
        line=line,
        column=table.header[used[col]],
        found=_cell_text(table, row, used[col]),
        fix=f"Replace the missing or infinite value on line {line} or delete the line",
    )


def rate_from_interval(interval_s: float) -> float:
    rate = 1.0 / interval_s
    nearest = round(rate)
    if nearest > 0 and abs(rate - nearest) <= 1e-4 * rate:
        return float(nearest)
    return float(f"{rate:.4g}")


def _time_backwards(table: CsvTable, row: int, index: int) -> InputFormatError:
    line, before = _line_of(table, row), _line_of(table, row - 1)
    return InputFormatError(
        table.source,
        f"expected time to increase strictly, to more than "
        f"{_cell_text(table, row - 1, index).strip()!r} on line {before}",
        line=line,
        column=table.header[index],
        found=_cell_text(table, row, index),
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
            line=None if first is None else _line_of(table, first),
            column=table.header[index],
            found=f"{n} rows, {kept.counts.dropped} of them repeating the time of the row above",
            fix="Record for longer or pick another file",
        )
    table = replace(table, row_lines=np.ascontiguousarray(lines[kept.keep], dtype=np.int64))
    return table, values[kept.keep], raw_time[kept.keep], kept.counts


_DATE_RE: Final = re.compile(r"^\d{4}[-/]\d{2}[-/]\d{2}(?:[T ]|$)")


def _is_datetime_text(text: str) -> bool:
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


def _parse_datetimes(table: CsvTable, index: int) -> tuple[FloatArray, datetime]:
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
            line = _line_of(table, row)
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
            line = _line_of(table, row)
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


def _check_acc_unit(table: CsvTable, raw: FloatArray, columns: SensorColumns) -> None:
    median = float(np.median(np.linalg.norm(raw, axis=1)))
    names = ",".join(columns.acc)
    if columns.acc_unit == "m/s2" and 0.5 <= median <= 2.0:
        raise UnitError(
            f"{table.source}, columns {names}: the accelerometer is declared in m/s² but its "
            f"median magnitude is {median:.3g}, which looks like g (at rest a sensor reads "
            f"1 g = 9.81 m/s²). If the file is in g, pass the unit g: 'acc={names}:g'. "
            "spinecoach needs acceleration including gravity"
        )
    if columns.acc_unit == "g" and 4.9 <= median <= 19.6:
        raise UnitError(
            f"{table.source}, columns {names}: the accelerometer is declared in g but its "
            f"median magnitude is {median:.3g}, which looks like m/s² (at rest a sensor reads "
            f"9.81 m/s² = 1 g). If the file is in m/s², pass the unit m/s2: "
            f"'acc={names}:m/s2'"
        )


def _check_gyr_unit(table: CsvTable, raw: FloatArray, columns: SensorColumns) -> None:
    if columns.gyr_unit != "rad/s" or columns.gyr is None:
        return  # small deg/s values are plausible (slow movement): no guess
    speed = float(np.percentile(np.linalg.norm(raw, axis=1), 99))
    if speed > GYRO_FULL_SCALE_RADPS:
        names = ",".join(columns.gyr)
        raise UnitError(
            f"{table.source}, columns {names}: the gyroscope is declared in rad/s but its "
            f"99th-percentile speed is {speed:.3g}, above the 35 rad/s (2000 deg/s) full "
            f"scale of body-worn gyroscopes; it looks like deg/s. Pass the unit dps: "
            f"'gyr={names}:dps'"
        )


def _read_sensors(
    table: CsvTable,
    mapping: CsvMapping,
    rate_hz: float | None,
    *,
    undecided: frozenset[str] = frozenset(),
) -> tuple[dict[str, _RawSensor], CsvMapping]:
    """Parse, clean and convert the mapped columns; returns the sensors and the mapping
    with every unit in ``undecided`` (``time``, ``acc``, ``gyr``, ``mag``: units a
    guessed mapping could not read from the header) decided from the data."""
    positions = _resolve(table, mapping)
    if len(table.lines) < 2:
        raise InputFormatError(
            table.source,
            "expected at least 2 data rows below the header",
            found=f"{len(table.lines)} rows",
            fix="Record for longer or pick another file",
        )
    time_index = None if mapping.time is None else positions[mapping.time]
    dated = time_index is not None and (
        mapping.time_unit == "datetime" or _is_datetime_text(_cell_text(table, 0, time_index))
    )
    used = sorted(set(positions.values()) - ({time_index} if dated else set()))
    column_of = {index: k for k, index in enumerate(used)}
    table, values = parse_table(table, used)
    if values.shape[0] < 2:  # pragma: no cover - slow path keeps every non-empty line
        raise InputFormatError(
            table.source,
            "expected at least 2 data rows below the header",
            found=f"{values.shape[0]} rows",
        )
    check_finite(table, values, used)

    n = values.shape[0]
    clock: datetime | None = None
    time_unit = mapping.time_unit
    if time_index is None:
        if rate_hz is None:
            raise ConfigurationError(
                f"{table.source} has no time column in the mapping; pass rate_hz (--rate) "
                "with the sampling rate in hertz, or name the time column"
            )
        raw_time, divide, rate = np.arange(n, dtype=np.float64), rate_hz, rate_hz
        counts = RowCounts(n)
    else:
        if dated:
            raw_time, clock = _parse_datetimes(table, time_index)
            time_unit = "datetime"
        else:
            raw_time = np.ascontiguousarray(values[:, column_of[time_index]])
        table, values, raw_time, counts = drop_repeated_rows(table, values, raw_time, time_index)
        if "time" in undecided and not dated:
            from spinecoach.io.guess import time_unit_from_steps  # local: guess builds on us

            found_unit = time_unit_from_steps(raw_time, rate_hz=rate_hz)
            if found_unit is None and rate_hz is not None:
                name = table.header[time_index]
                step = float(np.median(np.diff(raw_time)))
                rates = ", ".join(f"{u}: {d / step:.4g} Hz" for u, d in TIME_DIVIDE.items())
                raise UnitError(
                    f"{table.source}, column {name!r}: the header does not say the time unit "
                    f"and no unit makes its median step {step:.6g} fit the declared "
                    f"{rate_hz:g} Hz ({rates}). Name the unit in a mapping, for example "
                    f"'time={name}:ms,...', or leave the time column out of the mapping and "
                    "keep --rate"
                )
            time_unit = found_unit or "s"
        divide = 1.0 if dated else TIME_DIVIDE[time_unit]
        interval = check_time(table, raw_time, divide, time_index, time_unit)
        rate = rate_hz if rate_hz is not None else rate_from_interval(interval)

    def take(names: Sequence[str]) -> FloatArray:
        return np.ascontiguousarray(values[:, [column_of[positions[n]] for n in names]])

    sensors: dict[str, _RawSensor] = {}
    decided: dict[str, SensorColumns] = {}
    for placement, columns in mapping.sensors.items():
        acc_raw = take(columns.acc)
        gyr_raw = None if columns.gyr is None else take(columns.gyr)
        mag_raw = None if columns.mag is None else take(columns.mag)
        if undecided & {"acc", "gyr", "mag"}:
            from spinecoach.io.guess import decide_units  # local: guess builds on us

            columns = decide_units(
                table.source, columns, undecided, acc_raw, gyr_raw, mag_raw, rate_hz=float(rate)
            )
            if columns.mag is None:
                mag_raw = None
        decided[placement] = columns
        _check_acc_unit(table, acc_raw, columns)
        acc = acc_raw * ACC_MULTIPLY[columns.acc_unit] if columns.acc_unit != "m/s2" else acc_raw
        if gyr_raw is None:
            gyr = np.full((acc.shape[0], 3), np.nan)
        else:
            _check_gyr_unit(table, gyr_raw, columns)
            gyr = np.degrees(gyr_raw) if columns.gyr_unit == "rad/s" else gyr_raw
        mag = None
        if mag_raw is not None:
            multiply, divide_by = MAG_SCALE[columns.mag_unit]
            mag = mag_raw
            if multiply != 1.0:
                mag = mag * multiply
            if divide_by != 1.0:
                mag = mag / divide_by
        sensors[placement] = _RawSensor(raw_time, divide, acc, gyr, mag, float(rate), counts, clock)
    final = CsvMapping(
        time=mapping.time,
        time_unit=time_unit,
        lower=decided.get(LOWER),
        upper=decided.get("upper"),
    )
    return sensors, final


def _check_rate(rate_hz: float | None) -> None:
    if rate_hz is not None and not (math.isfinite(rate_hz) and rate_hz > 0):
        raise ConfigurationError(f"rate_hz must be a positive number of hertz, got {rate_hz}")


def _as_mapping(mapping: CsvMapping | str | None, placement: str | None) -> CsvMapping | None:
    if isinstance(mapping, str):
        return parse_mapping(mapping, placement=placement or LOWER)
    return mapping


def _mapping_for(
    table: CsvTable, mapping: CsvMapping | None, placement: str | None, rate_hz: float | None
) -> tuple[CsvMapping, frozenset[str], bool]:
    """The mapping to read ``table`` with: the one given, or one recognised from the header.

    Also returns the units a mapping guessed from the header could not read from it
    (decided from the data by :func:`_read_sensors`) and whether it was guessed."""
    undecided: frozenset[str] = frozenset()
    guessed = False
    if mapping is None:
        mapping = default_mapping(table.header, placement=placement or LOWER)
        if mapping is None:
            from spinecoach.io.fusion_csv import fusion_mapping  # local: fusion builds on us

            mapping = fusion_mapping(table.header, placement=placement or LOWER)
        reason = ""
        if mapping is None:
            from spinecoach.io.guess import guess_mapping  # local: guess builds on us

            guess = guess_mapping(table.header, placement=placement or LOWER)
            mapping, undecided, reason = guess.mapping, guess.undecided, guess.reason
            guessed = mapping is not None
        if mapping is None:
            raise InputFormatError(
                table.source,
                f"expected spinecoach's column names ({TIME_S}, {', '.join(ACC_COLUMNS)}, "
                f"{', '.join(GYR_COLUMNS)}) or a mapping",
                line=1,
                found=", ".join(table.header),
                fix=f"Pass a mapping that names this file's columns and units, for example "
                f"--mapping '{_MAPPING_EXAMPLE}'" + (f" ({reason})" if reason else ""),
            )
        if mapping.time is None and rate_hz is None and not guessed:
            # Own sensor names with another time column (``timestamp``, ``datetime``...).
            from spinecoach.io.guess import guess_mapping  # local: guess builds on us

            other = guess_mapping(table.header)
            if other.mapping is not None and other.mapping.time is not None:
                time, unit = other.mapping.time, other.mapping.time_unit
                mapping = replace(mapping, time=time, time_unit=unit)
                undecided = undecided | (other.undecided & {"time"})
                guessed = True
        if mapping.time is None and rate_hz is None:
            # The file, not an argument, lacks something: say so as a format error.
            raise InputFormatError(
                table.source,
                f"expected a column named {TIME_S!r} with the time in seconds",
                line=1,
                column=TIME_S,
                fix="Add the column, or pass rate_hz (--rate) with the sampling rate in hertz",
            )
    if placement is not None and list(mapping.sensors) != [placement]:
        mapping = mapping.relabeled(placement)
    return mapping, undecided, guessed


def _finish(
    source: str,
    raw: Mapping[str, _RawSensor],
    *,
    device: str,
    meta: Mapping[str, str],
) -> Recording:
    extra: dict[str, str] = {}
    clocks = {p: s.clock for p, s in raw.items() if s.clock is not None}
    first_s = {p: float(s.time_raw[0]) / s.time_divide for p, s in raw.items()}
    epoch = [p for p, first in first_s.items() if first >= EPOCH_THRESHOLD_S and p not in clocks]
    start_utc: datetime | None = None
    kinds = [bool(epoch), bool(clocks), len(epoch) + len(clocks) < len(raw)]
    if sum(kinds) > 1:
        described = [f"Unix time for {', '.join(epoch)}"] if epoch else []
        described += [f"dates and times for {', '.join(clocks)}"] if clocks else []
        raise InputFormatError(
            source,
            "expected every sensor's time in the same kind of clock",
            found="; ".join(described) + " only",
            fix="Use the same clock in every file",
        )
    shift_s = dict.fromkeys(raw, 0.0)
    if clocks:
        zoned = {c.utcoffset() is not None for c in clocks.values()}
        if len(zoned) > 1:
            raise InputFormatError(
                source,
                "expected every sensor's date-times with a time zone, or every one without",
                found=", ".join(f"{p} {c.isoformat(sep=' ')}" for p, c in clocks.items()),
                fix="Write the times of every file in the same clock",
            )
        origin = min(clocks.values())
        shift_s = {p: (c - origin) / timedelta(seconds=1) for p, c in clocks.items()}
        if zoned == {True}:
            start_utc = origin.astimezone(UTC)
        else:
            # A local time without zone: the instant is unknown, the wall clock is kept.
            extra["start_local_time"] = origin.isoformat(sep=" ")
    start_s = min(first_s.values()) if epoch else 0.0
    if epoch:
        start_utc = datetime.fromtimestamp(start_s, UTC)
    sensors = {}
    for placement, s in raw.items():
        if epoch:
            # Subtract in the file's own unit first: Unix milliseconds are exact in
            # float64, Unix seconds after division are not.
            time_s = (s.time_raw - s.time_raw[0]) / s.time_divide
            if first_s[placement] != start_s:
                time_s += first_s[placement] - start_s
        elif s.time_divide != 1.0:
            time_s = s.time_raw / s.time_divide
        else:
            time_s = s.time_raw
        if shift_s[placement]:
            time_s = time_s + shift_s[placement]
        sensors[placement] = SensorData.from_arrays(
            placement,
            time_s,
            s.acc_mps2,
            s.gyr_dps,
            rate_hz=s.rate_hz,
            mag_ut=s.mag_ut,
            device=device,
        )
    extra.update(cleaning_meta({p: s.counts for p, s in raw.items()}))
    return Recording.create(sensors, start_utc=start_utc, meta={**meta, **extra})


def read_csv(
    path: str | os.PathLike[str],
    *,
    mapping: CsvMapping | str | None = None,
    rate_hz: float | None = None,
    placement: str | None = None,
) -> Recording:
    """Read a CSV file (or a folder of per-sensor CSV files) into a :class:`Recording`.

    ``mapping`` is a :class:`CsvMapping` or its text form (see :func:`parse_mapping`);
    without one, spinecoach's own column names (``time_s``, ``acc_x_mps2`` ...,
    see :func:`default_mapping`) or the x-io Fusion header are recognised.
    ``rate_hz`` (Hz) is the nominal rate: required when there is no time column,
    otherwise it overrides the rate derived from the median time step. ``placement``
    stores a one-sensor file under ``"lower"`` (the default) or ``"upper"``.

    A folder is read as one file per sensor; a file's name must contain ``lower`` or
    ``upper`` (for example ``session_lower.csv``), and the mapping must be a
    one-sensor mapping (it is applied to each file).

    Raises :class:`~spinecoach.errors.InputFormatError` for a malformed file (naming
    file, line, column, the text found and what was expected),
    :class:`~spinecoach.errors.UnitError` when the values only make sense in another
    unit, and :class:`~spinecoach.errors.ConfigurationError` for bad arguments.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder, "a.csv")
    ...     _ = path.write_text("t;ax;ay;az;gx;gy;gz\\n0;0;0;1,0;0;0;0\\n10;0;0;1,0;0;0;0\\n")
    ...     rec = read_csv(path, mapping="time=t:ms;acc=ax,ay,az:g;gyr=gx,gy,gz:dps")
    >>> rec.sensors["lower"].rate_hz, float(rec.sensors["lower"].acc_mps2[0, 2])
    (100.0, 9.80665)
    """
    _check_rate(rate_hz)
    if placement is not None and placement not in PLACEMENTS:
        raise ConfigurationError(
            f"unknown sensor placement {placement!r}; use one of {', '.join(PLACEMENTS)}"
        )
    parsed = _as_mapping(mapping, placement)
    source = Path(path)
    if source.is_dir():
        return _read_folder(source, parsed, rate_hz, placement)
    table = _read_text_table(source)
    resolved, undecided, guessed = _mapping_for(table, parsed, placement, rate_hz)
    raw, final = _read_sensors(table, resolved, rate_hz, undecided=undecided)
    meta = {"source_format": "csv", "source_file": source.name}
    if guessed:
        meta.update(_mapping_meta(final))
    return _finish(table.source, raw, device="csv", meta=meta)


def _mapping_meta(mapping: CsvMapping) -> dict[str, str]:
    """``{"mapping": <text>}``: the mapping recognised from a header, so a user can see
    (and pass, corrected) what was read; empty when the names cannot be written."""
    try:
        return {"mapping": mapping.to_text()}
    except ConfigurationError:
        return {}


def read_csv_preset(
    path: str | os.PathLike[str],
    choose_mapping: Callable[[list[str]], CsvMapping | None],
    *,
    rate_hz: float | None,
    device: str,
    source_format: str,
    expected_header: str,
    fix: str,
) -> Recording:
    """Read one file with a mapping chosen from its header: the building block of presets.

    ``choose_mapping`` gets the header's column names and returns the mapping, or
    ``None`` when the header is not the preset's; then an
    :class:`~spinecoach.errors.InputFormatError` says ``expected_header`` and ``fix``.
    """
    _check_rate(rate_hz)
    table = _read_text_table(path)
    mapping = choose_mapping(list(table.header))
    if mapping is None:
        raise InputFormatError(
            table.source,
            f"expected {expected_header}",
            line=1,
            found=", ".join(table.header),
            fix=fix,
        )
    raw, _ = _read_sensors(table, mapping, rate_hz)
    meta = {"source_format": source_format, "source_file": Path(path).name}
    return _finish(table.source, raw, device=device, meta=meta)


def _read_folder(
    folder: Path, mapping: CsvMapping | None, rate_hz: float | None, placement: str | None
) -> Recording:
    if placement is not None:
        raise ConfigurationError(
            f"{folder} is a folder: each file's placement comes from its name "
            "(containing 'lower' or 'upper'); drop the placement option"
        )
    if mapping is not None and len(mapping.sensors) != 1:
        raise ConfigurationError(
            "a folder holds one file per sensor, so the mapping must name one sensor's "
            "columns (no lower./upper. prefixes)"
        )
    files: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        name = entry.name.lower()
        matches = [p for p in PLACEMENTS if p in name]
        if len(matches) != 1:
            continue
        if matches[0] in files:
            raise InputFormatError(
                folder,
                f"expected one file whose name contains {matches[0]!r}",
                found=f"{files[matches[0]].name} and {entry.name}",
                fix="Keep one file per sensor in the folder",
            )
        files[matches[0]] = entry
    if not files:
        raise InputFormatError(
            folder,
            "expected CSV files whose names contain 'lower' or 'upper' (one per sensor)",
            found="none",
            fix="Name the files for example session_lower.csv and session_upper.csv",
        )
    raw: dict[str, _RawSensor] = {}
    for where, file in files.items():
        table = _read_text_table(file)
        resolved, undecided, _ = _mapping_for(table, mapping, where, rate_hz)
        read, _ = _read_sensors(table, resolved, rate_hz, undecided=undecided)
        raw.update(read)
    meta = {"source_format": "csv", "source_file": ", ".join(f.name for f in files.values())}
    return _finish(str(folder), raw, device="csv", meta=meta)


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
    return {_normalise(h) for h in header}
