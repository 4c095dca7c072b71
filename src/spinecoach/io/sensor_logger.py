"""Reader for Sensor Logger exports (Kelvin Choi's app for iOS and Android).

Layout implemented (the app's "Export" → CSV, as a zip or unzipped folder, app
versions 1.x): one CSV per sensor, comma-separated, header row, columns

    time,seconds_elapsed,z,y,x

``time`` is the sample's Unix time in nanoseconds, ``seconds_elapsed`` the seconds since
the recording started (the same origin in every file); the axis order ``z, y, x`` is
the app's, and columns are found by name, so any order works. Files read:

=============================  =================================  =====================
file                           what                               unit
=============================  =================================  =====================
``TotalAcceleration.csv``      acceleration including gravity     m/s²
``AccelerometerUncalibrated``  raw accelerometer (Android),       m/s²
``.csv``                       including gravity
``Accelerometer.csv``          acceleration *without* gravity     m/s²
                               (user/linear acceleration)
``Gravity.csv``                gravity vector                     m/s²
``Gyroscope.csv``              rotation rate (required)           rad/s → deg/s
``Magnetometer.csv``           magnetic field (optional)          µT
=============================  =================================  =====================

Other files (``Orientation.csv``, ``Location.csv``, ...) are ignored; ``Metadata.csv``
gives the platform.

Signs and units follow the app's published references (UNITS.md, COORDINATES.md and
CROSSPLATFORM.md in github.com/tszheichoi/awesome-sensor-logger). The axes are the same
on both platforms, but by default iOS reports acceleration and gravity with the opposite
sign to Android (flat on a table, gravity is −z on iOS, +z on Android), and iOS's
uncalibrated acceleration is in g. spinecoach's convention is Android's: the specific
force, +9.81 m/s² pointing up at rest. So ``frames="auto"`` (the default) reads the
``platform`` of ``Metadata.csv``: iOS → acceleration and gravity are negated (and an
uncalibrated acceleration in g is converted to m/s²); Android, or no platform given →
used as they are. Exports recorded with the app's "Standardise Units & Frames" switched
on already use Android's convention: pass ``frames="android"`` for those from an iPhone
(the export does not say whether the switch was on). The gyroscope (rad/s, converted to
deg/s) and magnetometer (µT) agree on both platforms.

Acceleration with gravity, in this order of preference: ``TotalAcceleration.csv``
(Android); ``Accelerometer.csv`` + ``Gravity.csv`` (the gravity interpolated onto the
accelerometer's timestamps and added; the calibrated streams, which the app recommends);
``AccelerometerUncalibrated.csv``. ``Accelerometer.csv`` alone is refused (spinecoach
needs gravity to measure inclination) unless its median magnitude is above 4.9 m/s²
(then it already holds gravity and is used as is).

Time base: the sensors have independent timestamps. The acceleration file's samples
are the recording's samples; every other stream is linearly interpolated onto them,
and only the acceleration samples inside the span every stream covers are kept (no
extrapolation). Time is ``seconds_elapsed`` (``time`` / 1e9 when that column is
missing), counted from the first kept sample; ``start_utc`` is that sample's ``time``.
The nominal rate is the median acceleration interval.

>>> SENSOR_LOGGER_AXES
('x', 'y', 'z')
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np

from spinecoach.conventions import LOWER, PLACEMENTS
from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.io.cleaning import RowCounts, cleaning_meta
from spinecoach.io.csv_time import rate_from_interval
from spinecoach.io.phone_export import (
    ExportFiles,
    align_streams,
    check_acc_mps2,
    check_gyr_radps,
    find_column,
    missing_column,
    read_columns,
)
from spinecoach.recording import FloatArray, Recording, SensorData

SENSOR_LOGGER_AXES: Final = ("x", "y", "z")
SENSOR_LOGGER_TIME_NS: Final = "time"
SENSOR_LOGGER_ELAPSED_S: Final = "seconds_elapsed"
TOTAL_FILES: Final = ("TotalAcceleration.csv", "AccelerometerUncalibrated.csv")
UNCALIBRATED_FILE: Final = "AccelerometerUncalibrated.csv"
METADATA_FILE: Final = "Metadata.csv"
#: How the export's acceleration signs are read (see the module docstring).
FRAMES: Final = ("auto", "android", "ios")
STANDARD_GRAVITY_MPS2: Final = 9.80665
USER_ACC_FILE: Final = "Accelerometer.csv"
GRAVITY_FILE: Final = "Gravity.csv"
GYR_FILE: Final = "Gyroscope.csv"
MAG_FILE: Final = "Magnetometer.csv"
SENSOR_LOGGER_FILES: Final = (*TOTAL_FILES, USER_ACC_FILE, GRAVITY_FILE, GYR_FILE, MAG_FILE)
SENSOR_LOGGER_DEVICE: Final = "Sensor Logger phone"
_WITH_GRAVITY_MIN_MPS2: Final = 4.9  # half of 1 g: above it, "Accelerometer" holds gravity
_FIX_EXPORT: Final = (
    "Export the recording again from Sensor Logger (Export → CSV) and pass the zip or "
    "the unzipped folder"
)
_FIX_UNITS: Final = "Export the recording again from Sensor Logger without converting the files"


@dataclass(frozen=True)
class _Stream:
    source: str
    time_s: FloatArray
    start_ns: float | None  # Unix time of the first sample in ns, when known
    xyz: FloatArray
    counts: RowCounts


def is_sensor_logger_export(export: ExportFiles) -> bool:
    """True when a Sensor Logger sensor file with ``seconds_elapsed`` is in the export."""
    for name in SENSOR_LOGGER_FILES:
        member = export.find(name)
        if member is not None:
            header = export.head(member)
            if find_column(header, SENSOR_LOGGER_ELAPSED_S) is not None:
                return True
    return False


def _read_stream(export: ExportFiles, member: str) -> _Stream:
    source = export.source(member)
    header = export.head(member)
    if not header:
        # An empty file: read_columns gives the precise message.
        read_columns(export, member, [0], fix=_FIX_EXPORT)
    elapsed = find_column(header, SENSOR_LOGGER_ELAPSED_S)
    epoch = find_column(header, SENSOR_LOGGER_TIME_NS)
    if elapsed is None and epoch is None:
        raise missing_column(source, header, SENSOR_LOGGER_ELAPSED_S, _FIX_EXPORT)
    axes: list[int] = []
    for axis in SENSOR_LOGGER_AXES:
        index = find_column(header, axis)
        if index is None:
            raise missing_column(source, header, axis, _FIX_EXPORT)
        axes.append(index)
    times = [i for i in (elapsed, epoch) if i is not None]
    columns = read_columns(export, member, [*times, *axes], fix=_FIX_EXPORT)
    columns, counts = columns.without_repeated_times(times[0])
    if elapsed is not None:
        time_s = columns.time_s(elapsed, divide=1.0, unit="s")
    elif epoch is not None:
        time_s = columns.time_s(epoch, divide=1e9, unit="ns") / 1e9
    start_ns = None if epoch is None else float(columns.column(epoch)[0])
    if start_ns is not None and elapsed is not None:
        start_ns -= float(time_s[0]) * 1e9  # Unix time of seconds_elapsed == 0
    xyz = np.column_stack([columns.column(i) for i in axes])
    return _Stream(source, time_s, start_ns, xyz, counts)


def _platform(export: ExportFiles) -> str | None:
    """``ios`` or ``android`` from ``Metadata.csv`` (None when it does not say)."""
    member = export.find(METADATA_FILE)
    if member is None:
        return None
    rows = list(csv.reader(io.StringIO(export.text(member))))
    if len(rows) < 2:
        return None
    header = [h.strip().lower() for h in rows[0]]
    if "platform" not in header:
        return None
    value = rows[1][header.index("platform")].strip().lower()
    return value if value in ("ios", "android") else None


def _frames_note(frames: str, platform: str | None) -> str:
    if frames != "auto":
        return " (given)"
    return " (from Metadata.csv)" if platform else " (assumed: Metadata.csv gives no platform)"


def _acceleration(export: ExportFiles) -> tuple[_Stream, dict[str, _Stream]]:
    """The acceleration stream to use as the time base, and streams to add to it."""
    total = export.find(TOTAL_FILES[0])
    if total is not None:
        return _read_stream(export, total), {}
    user = export.find(USER_ACC_FILE)
    if user is None:
        uncalibrated = export.find(UNCALIBRATED_FILE)
        if uncalibrated is not None:
            return _read_stream(export, uncalibrated), {}
        raise InputFormatError(
            export.path,
            f"expected {TOTAL_FILES[0]} or {USER_ACC_FILE} with {GRAVITY_FILE} in the export",
            found=", ".join(export.csv_members()) or "no CSV files",
            fix="In Sensor Logger turn on the Accelerometer and Gravity sensors (or Total "
            "Acceleration), record again and export as CSV",
        )
    stream = _read_stream(export, user)
    gravity = export.find(GRAVITY_FILE)
    if gravity is not None:
        return stream, {"gravity": _read_stream(export, gravity)}
    median = float(np.median(np.linalg.norm(stream.xyz, axis=1)))
    if median > _WITH_GRAVITY_MIN_MPS2:
        return stream, {}  # this accelerometer already includes gravity
    raise InputFormatError(
        stream.source,
        f"expected acceleration including gravity; this file is without gravity (median "
        f"magnitude {median:.2g} m/s²) and the export has no {GRAVITY_FILE} to add",
        found=f"{GRAVITY_FILE} missing",
        fix="In Sensor Logger turn on the Gravity sensor (or Total Acceleration) before "
        "recording, then export again; spinecoach needs gravity to measure inclination",
    )


def read_sensor_logger(
    path: str | os.PathLike[str], *, placement: str = LOWER, frames: str = "auto"
) -> Recording:
    """Read a Sensor Logger export (zip file or folder) as a one-sensor recording.

    ``placement`` (``"lower"`` by default, or ``"upper"``) says where the phone was worn;
    ``frames`` (``auto``, ``android`` or ``ios``) how the acceleration signs are read
    (see the module docstring).
    Units after reading: s, m/s² (with gravity), deg/s, µT; see the module docstring
    for the files used and how the streams are aligned.

    Example (``export.zip`` as written by the app)::

        rec = read_sensor_logger("export.zip")
        rec.sensors["lower"].gyr_dps  # deg/s, on the acceleration's timestamps
    """
    if placement not in PLACEMENTS:
        raise ConfigurationError(
            f"unknown sensor placement {placement!r}; use one of {', '.join(PLACEMENTS)}"
        )
    if frames not in FRAMES:
        raise ConfigurationError(
            f"unknown frames {frames!r} for a Sensor Logger export; use one of " + ", ".join(FRAMES)
        )
    with ExportFiles(path) as export:
        platform = _platform(export)
        acc, add = _acceleration(export)
        gyr_member = export.find(GYR_FILE)
        if gyr_member is None:
            raise InputFormatError(
                export.path,
                f"expected {GYR_FILE} in the export",
                found=", ".join(export.csv_members()) or "no CSV files",
                fix="In Sensor Logger turn on the Gyroscope, record again and export as CSV",
            )
        gyr = _read_stream(export, gyr_member)
        mag_member = export.find(MAG_FILE)
        mag = None if mag_member is None else _read_stream(export, mag_member)
    others = {"gyroscope": gyr, **add}
    if mag is not None:
        others["magnetometer"] = mag
    time_s, aligned = align_streams(
        str(path),
        (acc.source.rsplit("/", 1)[-1], acc.time_s),
        {name: (s.time_s, s.xyz) for name, s in others.items()},
    )
    convention = frames if frames != "auto" else (platform or "android")
    acc_file = acc.source.rsplit("/", 1)[-1]
    acc_mps2, in_g = _specific_force_mps2(
        acc, np.isin(acc.time_s, time_s), aligned, others, convention
    )
    check_gyr_radps(gyr.source, aligned["gyroscope"], fix=_FIX_UNITS)
    gyr_dps = np.degrees(aligned["gyroscope"])
    rate_hz = rate_from_interval(float(np.median(np.diff(time_s))))
    start_utc = None
    if acc.start_ns is not None:
        start_utc = datetime.fromtimestamp((acc.start_ns + float(time_s[0]) * 1e9) / 1e9, UTC)
    sensor = SensorData.from_arrays(
        placement,
        time_s - time_s[0],
        acc_mps2,
        gyr_dps,
        rate_hz=rate_hz,
        mag_ut=aligned.get("magnetometer"),
        device=SENSOR_LOGGER_DEVICE,
    )
    meta = {
        "source_format": "sensor-logger",
        "source_file": os.path.basename(os.fspath(path)),
        "acceleration_from": acc_file
        + (f" + {GRAVITY_FILE}" if "gravity" in aligned else "")
        + (" (g → m/s²)" if in_g else ""),
        "platform": platform or "not given",
        "frames": convention + _frames_note(frames, platform),
    }
    counts = acc.counts
    for stream in others.values():
        counts = counts + stream.counts
    meta.update(cleaning_meta({placement: counts}))
    return Recording.create({placement: sensor}, start_utc=start_utc, meta=meta)


def _specific_force_mps2(
    acc: _Stream,
    keep: np.ndarray[Any, np.dtype[np.bool_]],
    aligned: dict[str, FloatArray],
    others: dict[str, _Stream],
    convention: str,
) -> tuple[FloatArray, bool]:
    """The kept acceleration rows as specific force in m/s² (gravity added when the
    export gives it apart, iOS signs turned), and whether they were read in g."""
    acc_mps2 = acc.xyz[keep]
    acc_file = acc.source.rsplit("/", 1)[-1]
    in_g = False
    if acc_file == UNCALIBRATED_FILE and convention == "ios":
        # iOS writes uncalibrated acceleration in g unless units were standardised.
        in_g = 0.5 < float(np.median(np.linalg.norm(acc_mps2, axis=1))) < 1.5
        if in_g:
            acc_mps2 = acc_mps2 * STANDARD_GRAVITY_MPS2
    if "gravity" in aligned:
        check_acc_mps2(others["gravity"].source, aligned["gravity"], fix=_FIX_UNITS)
        acc_mps2 = acc_mps2 + aligned["gravity"]
    check_acc_mps2(acc.source, acc_mps2, fix=_FIX_UNITS)
    if convention == "ios":
        acc_mps2 = -acc_mps2  # iOS's inertial-force signs → the specific force
    return acc_mps2, in_g
