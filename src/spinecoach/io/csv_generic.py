"""Generic CSV reader: any delimited text file with a header row and a column mapping.

A :class:`~spinecoach.io.csv_mapping.CsvMapping` says which column holds the time (and
in which unit) and, per sensor placement, which three columns hold the accelerometer,
gyroscope and optional magnetometer axes and in which unit. Values are converted to the
project's units (seconds, m/s², deg/s, µT) once, here. This module offers the reading
functions (:func:`read_csv`, :func:`read_csv_preset`) and, for convenience, the mapping
names users write with them (:class:`CsvMapping`, :class:`SensorColumns`,
:func:`parse_mapping`, :func:`default_mapping`). The pieces live beside it:

* :mod:`~spinecoach.io.csv_mapping` — the mapping and its one-line text form;
* :mod:`~spinecoach.io.csv_units` — unit spellings, conversion and unit sanity checks
  (an accelerometer whose median magnitude is about 1 while declared in m/s², or about
  9.8 while declared in g; a gyroscope declared in rad/s faster than 35 rad/s);
* :mod:`~spinecoach.io.csv_table` — delimiters, decimal commas, quoted fields, header
  and number parsing with messages naming file, line, column and the text found;
* :mod:`~spinecoach.io.csv_time` — time checks, repeated rows, rate, date-times.

What is accepted, and why:

* One file per sensor, one wide file holding both sensors (a mapping with ``lower``
  and ``upper``), or a folder holding one file per sensor whose names contain
  ``lower`` / ``upper``.
* Without a time column, ``rate_hz`` gives ``time_s = arange(n) / rate_hz``. With a
  time column the rate is the median sample interval unless ``rate_hz`` is given.
  A time column whose first value is above 1e8 s (more than three years) is taken as
  Unix time: ``start_utc`` becomes that instant and ``time_s`` counts from it.
  A date-time column counts seconds from its first row; with a zone, that row is
  ``start_utc``, without one ``meta["start_local_time"]`` keeps the wall-clock time.
* No gyroscope (``gyr=none``, :class:`SensorColumns` ``gyr=None``): ``gyr_dps`` is
  all NaN. Without a mapping, spinecoach's own names, the Fusion header, or common
  names recognised by :mod:`spinecoach.io.guess` (``AccX``, ``acc_x`` ...) are used.

The mapping also has a one-line text form for the command line (see
:func:`parse_mapping`)::

    time=Time (s):s,acc=ax,ay,az:g,gyr=gx,gy,gz:dps,mag=mx,my,mz:uT

>>> mapping = parse_mapping("time=t:ms,acc=ax,ay,az:g,gyr=gx,gy,gz:rad/s")
>>> mapping.time, mapping.time_unit, mapping.lower.acc_unit, mapping.lower.gyr_unit
('t', 'ms', 'g', 'rad/s')
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import numpy as np

from spinecoach.conventions import ACC_COLUMNS, GYR_COLUMNS, LOWER, PLACEMENTS, TIME_S
from spinecoach.errors import ConfigurationError, InputFormatError, UnitError
from spinecoach.io.cleaning import RowCounts, cleaning_meta
from spinecoach.io.csv_mapping import (
    MAPPING_EXAMPLE,
    CsvMapping,
    SensorColumns,
    default_mapping,
    parse_mapping,
)
from spinecoach.io.csv_table import (
    CsvTable,
    cell_text,
    check_finite,
    parse_table,
    read_text_table,
    resolve_columns,
)
from spinecoach.io.csv_time import (
    check_time,
    drop_repeated_rows,
    is_datetime_text,
    parse_datetimes,
    rate_from_interval,
)
from spinecoach.io.csv_units import (
    TIME_DIVIDE,
    acc_to_mps2,
    check_acc_unit,
    check_gyr_unit,
    gyr_to_dps,
    mag_to_ut,
)
from spinecoach.recording import FloatArray, Recording, SensorData

__all__ = [
    "EPOCH_THRESHOLD_S",
    "CsvMapping",
    "SensorColumns",
    "default_mapping",
    "parse_mapping",
    "read_csv",
    "read_csv_preset",
]

EPOCH_THRESHOLD_S: Final = 1e8  # a "relative" time above this is Unix time (> 3 years)


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
class _TimeAxis:
    """A table's time as read: ``raw / divide`` is seconds; ``clock`` the date-time of
    ``raw == 0`` (date-time columns), ``unit`` the time unit decided."""

    raw: FloatArray
    divide: float
    rate_hz: float
    counts: RowCounts
    clock: datetime | None
    unit: str


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
    positions = resolve_columns(table, mapping)
    if len(table.lines) < 2:
        raise InputFormatError(
            table.source,
            "expected at least 2 data rows below the header",
            found=f"{len(table.lines)} rows",
            fix="Record for longer or pick another file",
        )
    time_index = None if mapping.time is None else positions[mapping.time]
    dated = time_index is not None and (
        mapping.time_unit == "datetime" or is_datetime_text(cell_text(table, 0, time_index))
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
    if time_index is None:
        time = _counted_time(table, values.shape[0], rate_hz, mapping.time_unit)
    else:
        time_column = None if dated else column_of[time_index]
        table, values, time = _time_column(
            table, values, time_column, time_index, mapping.time_unit, rate_hz, undecided
        )

    def take(names: Sequence[str]) -> FloatArray:
        return np.ascontiguousarray(values[:, [column_of[positions[n]] for n in names]])

    sensors: dict[str, _RawSensor] = {}
    decided: dict[str, SensorColumns] = {}
    for placement, columns in mapping.sensors.items():
        columns, acc, gyr, mag = _convert_sensor(table, columns, take, undecided, time.rate_hz)
        decided[placement] = columns
        sensors[placement] = _RawSensor(
            time.raw, time.divide, acc, gyr, mag, float(time.rate_hz), time.counts, time.clock
        )
    final = CsvMapping(
        time=mapping.time,
        time_unit=time.unit,
        lower=decided.get(LOWER),
        upper=decided.get("upper"),
    )
    return sensors, final


def _counted_time(table: CsvTable, n: int, rate_hz: float | None, unit: str) -> _TimeAxis:
    """The time of a table without time column: sample ``k`` at ``k / rate_hz``."""
    if rate_hz is None:
        raise ConfigurationError(
            f"{table.source} has no time column in the mapping; pass rate_hz (--rate) "
            "with the sampling rate in hertz, or name the time column"
        )
    return _TimeAxis(np.arange(n, dtype=np.float64), rate_hz, rate_hz, RowCounts(n), None, unit)


def _time_column(
    table: CsvTable,
    values: FloatArray,
    time_column: int | None,
    time_index: int,
    time_unit: str,
    rate_hz: float | None,
    undecided: frozenset[str],
) -> tuple[CsvTable, FloatArray, _TimeAxis]:
    """The time column at header index ``time_index`` read and checked, repeated rows
    dropped (the table and values returned are the kept rows). ``time_column`` is its
    index in ``values``, or ``None`` for a date-time column (parsed from the text)."""
    clock: datetime | None = None
    dated = time_column is None
    if time_column is None:
        raw_time, clock = parse_datetimes(table, time_index)
        time_unit = "datetime"
    else:
        raw_time = np.ascontiguousarray(values[:, time_column])
    table, values, raw_time, counts = drop_repeated_rows(table, values, raw_time, time_index)
    if "time" in undecided and not dated:
        time_unit = _time_unit_from_data(table, raw_time, time_index, rate_hz)
    divide = 1.0 if dated else TIME_DIVIDE[time_unit]
    interval = check_time(table, raw_time, divide, time_index, time_unit)
    rate = rate_hz if rate_hz is not None else rate_from_interval(interval)
    return table, values, _TimeAxis(raw_time, divide, rate, counts, clock, time_unit)


def _time_unit_from_data(
    table: CsvTable, raw_time: FloatArray, time_index: int, rate_hz: float | None
) -> str:
    """The unit of a time column whose header does not say it, from its steps."""
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
    return found_unit or "s"


def _convert_sensor(
    table: CsvTable,
    columns: SensorColumns,
    take: Callable[[Sequence[str]], FloatArray],
    undecided: frozenset[str],
    rate_hz: float,
) -> tuple[SensorColumns, FloatArray, FloatArray, FloatArray | None]:
    """One sensor's columns (units decided where ``undecided``), checked and converted:
    the columns and the accelerometer (m/s²), gyroscope (deg/s, NaN without one) and
    magnetometer (µT) values."""
    acc_raw = take(columns.acc)
    gyr_raw = None if columns.gyr is None else take(columns.gyr)
    mag_raw = None if columns.mag is None else take(columns.mag)
    if undecided & {"acc", "gyr", "mag"}:
        from spinecoach.io.guess import decide_units  # local: guess builds on us

        columns = decide_units(
            table.source, columns, undecided, acc_raw, gyr_raw, mag_raw, rate_hz=float(rate_hz)
        )
        if columns.mag is None:
            mag_raw = None
    check_acc_unit(table.source, acc_raw, columns.acc, columns.acc_unit)
    acc = acc_to_mps2(acc_raw, columns.acc_unit)
    if gyr_raw is None:
        gyr = np.full((acc.shape[0], 3), np.nan)
    else:
        if columns.gyr is not None:
            check_gyr_unit(table.source, gyr_raw, columns.gyr, columns.gyr_unit)
        gyr = gyr_to_dps(gyr_raw, columns.gyr_unit)
    mag = None if mag_raw is None else mag_to_ut(mag_raw, columns.mag_unit)
    return columns, acc, gyr, mag


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
                f"--mapping '{MAPPING_EXAMPLE}'" + (f" ({reason})" if reason else ""),
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
    table = read_text_table(source)
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
    table = read_text_table(path)
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
        table = read_text_table(file)
        resolved, undecided, _ = _mapping_for(table, mapping, where, rate_hz)
        read, _ = _read_sensors(table, resolved, rate_hz, undecided=undecided)
        raw.update(read)
    meta = {"source_format": "csv", "source_file": ", ".join(f.name for f in files.values())}
    return _finish(str(folder), raw, device="csv", meta=meta)
