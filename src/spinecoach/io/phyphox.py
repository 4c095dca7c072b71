"""Reader for phyphox CSV exports (RWTH Aachen's phyphox app, iOS and Android).

Layout implemented ("Export data" → one of the CSV choices — comma and decimal point,
tab and decimal point, semicolon and decimal comma, tab and decimal comma — a zip,
read as the zip or as the unzipped folder; phyphox 1.1.x): one CSV file per export set
of the experiment (for example ``Accelerometer.csv``, ``Gyroscope.csv`` or
``Raw Data.csv``), headers quoted, plus ``meta/device.csv`` and ``meta/time.csv``.
Every CSV file outside ``meta/`` is scanned and its sensors recognised by their
(English) column names:

=================================================  ===============
columns                                            unit
=================================================  ===============
``Time (s)``                                       s from the experiment start
``Acceleration x (m/s^2)`` … ``z``                 m/s², with gravity
``Gyroscope x (rad/s)`` … ``z``                    rad/s → deg/s
``Magnetic field x (µT)`` … ``z`` (optional)       µT
=================================================  ===============

The unit in brackets is read (``m/s^2``, ``m/s²`` or ``g``; ``rad/s`` or ``deg/s``;
``µT``/``uT``), so a file says its own units. Each sensor's time column is the nearest
``Time (s)`` column to its left (files with several sensors have one per sensor).
``Linear Acceleration x`` (the "Acceleration (without g)" experiment) is refused:
spinecoach needs gravity. Apps set to another language write translated headers; those
are not recognised (switch phyphox to English, or use ``--format csv --mapping``).

Time base: as for Sensor Logger, the accelerometer's samples are the recording's
samples; the gyroscope (and magnetometer) are linearly interpolated onto them inside
the span every sensor covers. ``start_utc`` comes from ``meta/time.csv`` (the ``START``
row's system time, Unix seconds) when present.

phyphox's own sensor experiments record one sensor each; to get the accelerometer and
gyroscope in one export, record with an experiment that has both (the phyphox editor
makes one) and export as CSV.

>>> parse_heading("Gyroscope x (rad/s)")
('gyr', 'x', 'rad/s')
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from typing import Final

import numpy as np

from spinecoach.conventions import LOWER, PLACEMENTS
from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.io.cleaning import RowCounts, cleaning_meta
from spinecoach.io.csv_time import rate_from_interval
from spinecoach.io.csv_units import (
    ACC_MULTIPLY,
    ACC_UNITS,
    GYR_UNITS,
    MAG_SCALE,
    MAG_UNITS,
    canonical_column,
)
from spinecoach.io.phone_export import (
    ExportFiles,
    align_streams,
    check_acc_mps2,
    check_gyr_radps,
    read_columns,
)
from spinecoach.recording import FloatArray, Recording, SensorData

PHYPHOX_TIME: Final = "Time (s)"
PHYPHOX_DEVICE: Final = "phyphox phone"
_HEADING_RE: Final = re.compile(
    r"^\s*(linear acceleration|acceleration|gyroscope|magnetic field)\s+([xyz])\s*"
    r"\(([^)]*)\)\s*$",
    re.IGNORECASE,
)
_KIND: Final = {
    "acceleration": "acc",
    "linear acceleration": "linear",
    "gyroscope": "gyr",
    "magnetic field": "mag",
}
_FIX_EXPORT: Final = (
    "Export again from phyphox (⋮ → Export data → a CSV choice) and pass the zip or the "
    "unzipped folder"
)
_FIX_BOTH: Final = (
    "Record with a phyphox experiment that logs the accelerometer (with g) and the "
    "gyroscope together (the phyphox editor makes one), then Export data → CSV"
)


def parse_heading(name: str) -> tuple[str, str, str] | None:
    """``(kind, axis, unit)`` for a phyphox sensor column, or None.

    ``kind`` is ``acc``, ``linear`` (acceleration without g), ``gyr`` or ``mag``.
    """
    match = _HEADING_RE.match(name)
    if match is None:
        return None
    kind, axis, unit = match.groups()
    return _KIND[kind.casefold()], axis.lower(), unit.strip()


def _is_time(name: str) -> bool:
    return name.strip().casefold() == PHYPHOX_TIME.casefold()


def is_phyphox_export(export: ExportFiles) -> bool:
    """True when a CSV outside ``meta/`` has ``Time (s)`` and phyphox sensor columns."""
    for member in _data_members(export):
        header = export.head(member)
        if any(_is_time(h) for h in header) and any(parse_heading(h) for h in header):
            return True
    return False


def _data_members(export: ExportFiles) -> list[str]:
    return [m for m in export.csv_members() if "meta" not in m.casefold().split("/")[:-1]]


class _Found:
    """A sensor found in a file: its time column, axis columns and unit."""

    def __init__(self, member: str, time: int, axes: dict[str, int], unit: str) -> None:
        self.member, self.time, self.axes, self.unit = member, time, axes, unit


def _scan(export: ExportFiles) -> dict[str, _Found]:
    found: dict[str, _Found] = {}
    for member in _data_members(export):
        header = export.head(member)
        groups: dict[tuple[str, int], dict[str, tuple[int, str]]] = {}
        last_time: int | None = None
        for index, name in enumerate(header):
            if _is_time(name):
                last_time = index
                continue
            parsed = parse_heading(name)
            if parsed is None or last_time is None:
                continue
            kind, axis, unit = parsed
            groups.setdefault((kind, last_time), {})[axis] = (index, unit)
        for (kind, time), axes in groups.items():
            if kind in found or set(axes) != {"x", "y", "z"}:
                continue
            units = {unit for _, unit in axes.values()}
            if len(units) != 1:
                raise InputFormatError(
                    export.source(member),
                    f"expected one unit for the three {kind} columns",
                    line=1,
                    found=", ".join(sorted(units)),
                    fix=_FIX_EXPORT,
                )
            found[kind] = _Found(member, time, {a: i for a, (i, _) in axes.items()}, units.pop())
    return found


def _read(
    export: ExportFiles, sensor: _Found, counts: list[RowCounts]
) -> tuple[str, FloatArray, FloatArray]:
    axes = [sensor.axes[a] for a in ("x", "y", "z")]
    columns = read_columns(export, sensor.member, [sensor.time, *axes], fix=_FIX_EXPORT)
    columns, kept = columns.without_repeated_times(sensor.time)
    counts.append(kept)
    time_s = columns.time_s(sensor.time, divide=1.0, unit="s")
    return columns.source, time_s, np.column_stack([columns.column(i) for i in axes])


def _unit(export: ExportFiles, sensor: _Found, table: dict[str, tuple[str, ...]], what: str) -> str:
    try:
        return canonical_column(sensor.unit, table, what)
    except ConfigurationError:
        raise InputFormatError(
            export.source(sensor.member),
            f"expected a {what} unit phyphox writes ({', '.join(table)})",
            line=1,
            found=sensor.unit,
            fix=_FIX_EXPORT,
        ) from None


def _start_utc(export: ExportFiles) -> datetime | None:
    """The experiment's START system time from ``meta/time.csv``, when readable."""
    member = export.find("meta/time.csv")
    if member is None:
        return None
    for line in export.text(member).splitlines()[1:]:
        cells = [c.strip().strip('"') for c in re.split(r"[,;\t]", line)]
        if len(cells) >= 3 and cells[0].upper() == "START":
            try:
                return datetime.fromtimestamp(float(cells[2]), UTC)
            except (ValueError, OverflowError, OSError):
                return None
    return None


def read_phyphox(path: str | os.PathLike[str], *, placement: str = LOWER) -> Recording:
    """Read a phyphox CSV export (zip file or folder) as a one-sensor recording.

    ``placement`` (``"lower"`` by default, or ``"upper"``) says where the phone was worn.
    Units after reading: s, m/s² (with gravity), deg/s, µT; see the module docstring.

    Example (``Multi sensor.zip`` as written by "Export data" → CSV)::

        rec = read_phyphox("Multi sensor.zip", placement="upper")
    """
    if placement not in PLACEMENTS:
        raise ConfigurationError(
            f"unknown sensor placement {placement!r}; use one of {', '.join(PLACEMENTS)}"
        )
    with ExportFiles(path) as export:
        found = _scan(export)
        listed = ", ".join(_data_members(export)) or "no CSV files"
        if "acc" not in found:
            without_g = "linear" in found
            raise InputFormatError(
                export.path if not without_g else export.source(found["linear"].member),
                "expected accelerometer columns with gravity ('Time (s)', 'Acceleration x "
                "(m/s^2)', ... 'z')",
                found="acceleration without g (Linear Acceleration x/y/z)" if without_g else listed,
                fix=_FIX_BOTH,
            )
        if "gyr" not in found:
            raise InputFormatError(
                export.path,
                "expected gyroscope columns ('Time (s)', 'Gyroscope x (rad/s)', ... 'z')",
                found=listed,
                fix=_FIX_BOTH,
            )
        acc_unit = _unit(export, found["acc"], ACC_UNITS, "accelerometer")
        gyr_unit = _unit(export, found["gyr"], GYR_UNITS, "gyroscope")
        counts: list[RowCounts] = []
        acc_source, acc_t, acc = _read(export, found["acc"], counts)
        gyr_source, gyr_t, gyr = _read(export, found["gyr"], counts)
        others = {"gyroscope": (gyr_t, gyr)}
        mag_scale = (1.0, 1.0)
        if "mag" in found:
            mag_scale = MAG_SCALE[_unit(export, found["mag"], MAG_UNITS, "magnetometer")]
            _, mag_t, mag = _read(export, found["mag"], counts)
            others["magnetometer"] = (mag_t, mag)
        start_utc = _start_utc(export)
    time_s, aligned = align_streams(str(path), ("accelerometer", acc_t), others)
    acc_mps2 = acc[np.isin(acc_t, time_s)] * ACC_MULTIPLY[acc_unit]
    fix = (
        "Check the unit in the column headings; export again from phyphox without editing the files"
    )
    check_acc_mps2(acc_source, acc_mps2, fix=fix)
    gyr_values = aligned["gyroscope"]
    if gyr_unit == "rad/s":
        check_gyr_radps(gyr_source, gyr_values, fix=fix)
        gyr_values = np.degrees(gyr_values)
    mag_ut = aligned.get("magnetometer")
    if mag_ut is not None:
        mag_ut = mag_ut * mag_scale[0] / mag_scale[1]
    rate_hz = rate_from_interval(float(np.median(np.diff(time_s))))
    if start_utc is not None:
        start_utc = datetime.fromtimestamp(start_utc.timestamp() + float(time_s[0]), UTC)
    sensor = SensorData.from_arrays(
        placement,
        time_s - time_s[0],
        acc_mps2,
        gyr_values,
        rate_hz=rate_hz,
        mag_ut=mag_ut,
        device=PHYPHOX_DEVICE,
    )
    meta = {"source_format": "phyphox", "source_file": os.path.basename(os.fspath(path))}
    total = counts[0]
    for more in counts[1:]:
        total = total + more
    meta.update(cleaning_meta({placement: total}))
    return Recording.create({placement: sensor}, start_utc=start_utc, meta=meta)
