"""The file formats spinecoach reads, and recognising a file's format by its content.

Formats are recognised by what the file holds, never by its extension (a Fusion
export renamed ``.txt`` is still Fusion; a native recording renamed ``.csv`` is still
native):

1. a folder or zip file holding a Sensor Logger export (a sensor CSV with a
   ``seconds_elapsed`` column) → ``sensor-logger``; one holding a phyphox CSV export
   (``Time (s)`` and ``Acceleration x (m/s^2)``-style columns) → ``phyphox``;
   any other folder → ``csv`` (one CSV file per sensor, see
   :func:`~spinecoach.io.read_csv`);
2. the HDF5 signature in the first 8 bytes → ``native`` (whether it is really a
   spinecoach recording is checked while reading, with a precise message);
3. a first line that is the x-io Fusion header → ``fusion``;
4. a first line with spinecoach's own column names (``time_s, acc_x_mps2, ...``,
   optionally prefixed ``lower_`` / ``upper_``) → ``csv``;
5. a first line whose column names are recognised unambiguously (``AccX``, ``acc_x``,
   ``Accelerometer X (g)``, ``gyro_x`` ..., see :mod:`spinecoach.io.guess`) → ``csv``.

Anything else needs ``--format csv`` and a ``--mapping``.

One file per sensor, as other brands write them: :func:`load_recordings` reads
``[(path, placement), ...]`` with the same options for every file and joins them into
one recording.

Every reader keeps the size and row limits of :mod:`spinecoach.io.limits` (zip entry
count and sizes, CSV bytes and rows, HDF5 declared shapes; landmark and reference
files at most 512 MiB): a file above them is refused with an
:class:`~spinecoach.errors.InputFormatError` naming the limit, at bounded cost.

>>> [info.name for info in describe_formats()]
['native', 'csv', 'fusion', 'sensor-logger', 'phyphox']
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from spinecoach.conventions import PLACEMENTS
from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.io.cleaning import CLEANING_META_KEY, RowCounts, cleaning_meta, cleaning_report
from spinecoach.io.csv_generic import read_csv
from spinecoach.io.csv_mapping import CsvMapping, default_mapping
from spinecoach.io.csv_table import header_fields
from spinecoach.io.fusion_csv import fusion_mapping, read_fusion_csv
from spinecoach.io.guess import guess_mapping
from spinecoach.io.limits import MAX_SIDE_FILE_BYTES, check_file_bytes
from spinecoach.io.native import FILE_EXTENSION, is_native_file, read_recording
from spinecoach.io.phone_export import ExportFiles, is_zip_file
from spinecoach.io.phyphox import is_phyphox_export, read_phyphox
from spinecoach.io.presets import CSV_PRESETS, is_preset_name, preset_mapping
from spinecoach.io.sensor_logger import is_sensor_logger_export, read_sensor_logger
from spinecoach.recording import Recording, SensorData

AUTO: Final = "auto"
#: The start :class:`Recording` is given when a file does not say when it started.
UNKNOWN_START_UTC: Final = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FormatInfo:
    """A readable file format, as listed by ``spinecoach formats``.

    ``name`` is what ``--format`` / ``format=`` takes, ``summary`` one line on what it
    reads, ``options`` one display line per option it takes (command-line flag, then
    the meaning) and ``keywords`` the matching :func:`load_recording` keywords.
    """

    name: str
    summary: str
    options: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


_RATE = (
    "rate_hz",
    "--rate HZ: nominal sampling rate; required when the file has no time column",
)
_PLACEMENT = (
    "placement",
    "--placement lower|upper: where the file's one sensor was worn (default lower)",
)
_MAPPING = (
    "mapping",
    "--mapping TEXT: columns and units, e.g. 'time=t:ms,acc=ax,ay,az:g,gyr=gx,gy,gz:dps' "
    "(prefix lower./upper. for two sensors in one file), or a preset name: "
    + ", ".join(CSV_PRESETS),
)
_PHONE_PLACEMENT = (
    "placement",
    "--placement lower|upper: where the phone was worn (default lower)",
)


def _info(name: str, summary: str, *options: tuple[str, str]) -> FormatInfo:
    return FormatInfo(
        name, summary, tuple(text for _, text in options), tuple(key for key, _ in options)
    )


FORMATS: Final[tuple[FormatInfo, ...]] = (
    _info(
        "native",
        f"spinecoach recording: one HDF5 file ({FILE_EXTENSION}), lossless, all sensors, "
        "events and ground truth",
    ),
    _info(
        "csv",
        "delimited text with a header row (comma, tab or semicolon; decimal commas "
        "allowed); spinecoach's own column names or a mapping; a file or a folder of "
        "per-sensor files",
        _MAPPING,
        _RATE,
        _PLACEMENT,
    ),
    _info(
        "fusion",
        "x-io Fusion CSV: Time (s), Gyroscope X/Y/Z (deg/s), Accelerometer X/Y/Z (g), "
        "optional Magnetometer X/Y/Z (uT); one sensor",
        _RATE,
        _PLACEMENT,
    ),
    _info(
        "sensor-logger",
        "Sensor Logger app export (zip or folder): TotalAcceleration.csv or "
        "Accelerometer.csv + Gravity.csv (m/s²), Gyroscope.csv (rad/s), optional "
        "Magnetometer.csv (µT); streams aligned on the accelerometer's timestamps",
        _PHONE_PLACEMENT,
    ),
    _info(
        "phyphox",
        "phyphox CSV export (zip or folder; comma, tab or semicolon, decimal comma "
        "allowed): Time (s), Acceleration x/y/z (m/s^2), Gyroscope x/y/z (rad/s), optional "
        "Magnetic field x/y/z (µT)",
        _PHONE_PLACEMENT,
    ),
)
_BY_NAME: Final = {info.name: info for info in FORMATS}

#: Formats ``spinecoach validate`` reads besides recordings: pose landmarks (``--format``)
#: and reference angles (``--reference-format``). They are not recordings, so
#: :func:`load_recording` does not take them; see :func:`load_landmarks` and
#: :func:`load_reference`.
LANDMARK_FORMATS: Final[tuple[FormatInfo, ...]] = (
    _info(
        "keraal-blazepose",
        "KERAAL BlazePose JSON: 33 pose landmarks per video frame (30 Hz, mirrored 1920x1080 "
        "video, un-mirrored on reading); the input of validate camera",
    ),
)
REFERENCE_FORMATS: Final[tuple[FormatInfo, ...]] = (
    _info(
        "keraal-vicon",
        "KERAAL Vicon text: 17 rigid bodies (position mm, quaternion) per row at 60 Hz; "
        "reference trunk angles from Chest and Hips (validate camera --reference-format)",
    ),
    _info("csv", "reference angles CSV: time_s and angle columns (validate angles --reference)"),
)


def describe_reference_formats() -> list[FormatInfo]:
    """The landmark and reference formats ``spinecoach validate`` reads.

    >>> [info.name for info in describe_reference_formats()]
    ['keraal-blazepose', 'keraal-vicon']
    """
    return [info for info in LANDMARK_FORMATS + REFERENCE_FORMATS if info.name != "csv"]


def is_landmark_format(name: str) -> bool:
    """Whether ``name`` is a pose-landmark format (not a recording)."""
    return name.strip().lower() in {info.name for info in LANDMARK_FORMATS}


def load_landmarks(path: str | os.PathLike[str], *, format: str) -> Any:
    """Read pose landmarks (a :class:`~spinecoach.camera.landmarks.LandmarkSequence`)."""
    name = format.strip().lower()
    if name == "keraal-blazepose":
        from spinecoach.camera.keraal import read_keraal_blazepose

        check_file_bytes(Path(path), limit_bytes=MAX_SIDE_FILE_BYTES)
        return read_keraal_blazepose(path)
    known = ", ".join(info.name for info in LANDMARK_FORMATS)
    raise ConfigurationError(f"unknown landmark format {format!r}; use one of {known}")


def load_reference(path: str | os.PathLike[str], *, format: str = "csv") -> Any:
    """Reference angles ``(time_s, {name: degrees})`` from a reference file."""
    name = format.strip().lower()
    if name == "keraal-vicon":
        from spinecoach.camera.keraal import read_keraal_reference

        check_file_bytes(Path(path), limit_bytes=MAX_SIDE_FILE_BYTES)
        return read_keraal_reference(path)
    if name == "csv":
        from spinecoach.io.reference import load_reference_csv

        return load_reference_csv(Path(path))
    known = ", ".join(info.name for info in REFERENCE_FORMATS)
    raise ConfigurationError(f"unknown reference format {format!r}; use one of {known}")


def describe_formats() -> list[FormatInfo]:
    """The formats :func:`load_recording` reads, in the order to list them.

    >>> describe_formats()[1].keywords
    ('mapping', 'rate_hz', 'placement')
    """
    return list(FORMATS)


def _known_list() -> str:
    return "; ".join(f"{info.name} ({info.summary})" for info in FORMATS)


def detect_format(path: str | os.PathLike[str]) -> str:
    """The name of the format of the file or folder at ``path``, by its content.

    Raises :class:`~spinecoach.errors.InputFormatError` when the path does not exist
    or the content is not recognised; the message lists the known formats and says
    how to pass ``--format``.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder, "walk.txt")
    ...     _ = path.write_text("time_s,acc_x_mps2,acc_y_mps2,acc_z_mps2,gyr_x_dps,"
    ...                         "gyr_y_dps,gyr_z_dps\\n")
    ...     detect_format(path)
    'csv'
    """
    source = Path(path)
    if source.is_dir() or is_zip_file(source):
        with ExportFiles(source) as export:
            if is_sensor_logger_export(export):
                return "sensor-logger"
            if is_phyphox_export(export):
                return "phyphox"
            listed = ", ".join(export.csv_members()[:8]) or "no CSV files"
        if source.is_dir():
            return "csv"
        raise InputFormatError(
            source,
            "expected a zip holding a Sensor Logger or phyphox CSV export",
            found=listed,
            fix="Unzip it and pass the folder with --format csv, or pass --format with "
            "the right name; `spinecoach formats` lists the formats",
        )
    if not source.is_file():
        raise InputFormatError(
            source,
            "expected an existing file or folder",
            found="nothing at this path",
            fix="Check the path",
        )
    if is_native_file(source):
        return "native"
    header = header_fields(source)
    if header is not None:
        if fusion_mapping(header) is not None:
            return "fusion"
        if default_mapping(header) is not None or guess_mapping(header).mapping is not None:
            return "csv"
    raise InputFormatError(
        source,
        f"expected a recording in a known format: {_known_list()}",
        line=1,
        found=None if header is None else ", ".join(header),
        fix="For a CSV with other column names pass --format csv and a --mapping such as "
        "'time=t:ms,acc=ax,ay,az:g,gyr=gx,gy,gz:dps' (in Python: format='csv', "
        "mapping=...); `spinecoach formats` lists the formats and their options",
    )


def load_recording(
    path: str | os.PathLike[str],
    *,
    format: str = AUTO,
    rate_hz: float | None = None,
    placement: str | None = None,
    mapping: CsvMapping | str | None = None,
) -> Recording:
    """Read a recording in any known format (``format="auto"`` recognises it by content).

    ``format`` is ``"auto"``, ``"native"``, ``"csv"``, ``"fusion"``, ``"sensor-logger"``
    or ``"phyphox"``. With ``"auto"`` and a ``mapping``, a text file is read as ``csv``.
    ``mapping`` may also be the name of a CSV preset (see :mod:`spinecoach.io.presets`).
    Options a format does not take (see :func:`describe_formats`) raise
    :class:`~spinecoach.errors.ConfigurationError` instead of being ignored.
    Units after reading: s, m/s², deg/s, µT.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder, "a.dat")
    ...     _ = path.write_text("t,ax,ay,az,gx,gy,gz\\n0,0,0,1,0,0,0\\n1,0,0,1,0,0,0\\n")
    ...     rec = load_recording(path, rate_hz=50.0,
    ...                          mapping="acc=ax,ay,az:g,gyr=gx,gy,gz:dps")
    >>> rec.sensors["lower"].time_s.tolist()
    [0.0, 0.02]
    """
    name = format.strip().lower()
    if name == AUTO and mapping is not None:
        # A mapping says "this is a CSV with these columns", unless the file is HDF5.
        name = "native" if is_native_file(path) else "csv"
    elif name == AUTO:
        name = detect_format(path)
    info = _BY_NAME.get(name)
    if info is None:
        raise ConfigurationError(
            f"unknown format {format!r}; use auto or one of {', '.join(_BY_NAME)} "
            "(`spinecoach formats` describes them)"
        )
    given = {"rate_hz": rate_hz, "placement": placement, "mapping": mapping}
    for option, value in given.items():
        if value is not None and option not in info.keywords:
            takes = ", ".join(info.keywords) or "no options"
            raise ConfigurationError(
                f"the {name} format does not take {option} (it takes {takes}); "
                f"drop {option} when reading {Path(path).name}"
            )
    if name == "native":
        return read_recording(path)
    if name == "fusion":
        return read_fusion_csv(path, placement=placement or "lower", rate_hz=rate_hz)
    if name == "sensor-logger":
        return read_sensor_logger(path, placement=placement or "lower")
    if name == "phyphox":
        return read_phyphox(path, placement=placement or "lower")
    if isinstance(mapping, str) and is_preset_name(mapping):
        mapping = preset_mapping(mapping, placement=placement or "lower")
    return read_csv(path, mapping=mapping, rate_hz=rate_hz, placement=placement)


def _clock(recording: Recording) -> datetime | None:
    """When the recording's first sample was taken, if its file said so.

    The UTC start when the file gave one (the readers leave the placeholder
    :data:`UNKNOWN_START_UTC` otherwise), else the local wall-clock time of a date-time
    column without zone (``meta["start_local_time"]``, naive), else None."""
    if recording.start_utc != UNKNOWN_START_UTC:
        return recording.start_utc
    local = recording.meta.get("start_local_time")
    return None if local is None else datetime.fromisoformat(local)


def load_recordings(
    items: Sequence[tuple[str | os.PathLike[str], str]],
    *,
    format: str = AUTO,
    rate_hz: float | None = None,
    mapping: CsvMapping | str | None = None,
) -> Recording:
    """Read one file per sensor placement and join them into one recording.

    ``items`` are ``(path, placement)`` pairs, for example
    ``[("lower.csv", "lower"), ("upper.csv", "upper")]``; every file is read by
    :func:`load_recording` with the same ``format``, ``rate_hz`` and ``mapping`` (a
    one-sensor mapping or a preset name) and must hold one sensor.

    Time: when every file says when it started (Unix time, date-times with a zone, or
    date-times without a zone in every file), the sensors share that clock: each
    timeline is shifted by its file's start after the earliest, and ``start_utc`` is
    the earliest start. Otherwise (files without a time column, relative times)
    every timeline is kept as read, starting where its file starts (``0`` for a file
    without a time column), and ``meta["time_alignment"]`` says so. Files of slightly
    different lengths are kept as they are. ``meta`` joins the files' metadata
    (``source_file`` lists every file; keys that differ get a ``_<placement>`` suffix;
    ``cleaning`` holds every placement's counts, see :func:`cleaning_report`).

    Raises :class:`~spinecoach.errors.ConfigurationError` for an empty list, a
    placement given twice or unknown, and a file holding another number of sensors.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = [pathlib.Path(folder, name) for name in ("a.csv", "b.csv")]
    ...     for path, rows in zip(paths, (3, 4)):
    ...         _ = path.write_text("AccX,AccY,AccZ\\n" + "0,0,1\\n" * rows)
    ...     rec = load_recordings([(paths[0], "lower"), (paths[1], "upper")], rate_hz=50.0)
    >>> [(p, s.n_samples, s.has_gyroscope) for p, s in rec.sensors.items()]
    [('lower', 3, False), ('upper', 4, False)]
    """
    if not items:
        raise ConfigurationError("load_recordings needs at least one (path, placement) pair")
    seen: dict[str, Path] = {}
    for path, placement in items:
        if placement not in PLACEMENTS:
            raise ConfigurationError(
                f"unknown sensor placement {placement!r} for {Path(path).name}; use one of "
                f"{', '.join(PLACEMENTS)}"
            )
        if placement in seen:
            raise ConfigurationError(
                f"placement {placement!r} is given for {seen[placement].name} and "
                f"{Path(path).name}; give each placement once"
            )
        seen[placement] = Path(path)
    read: dict[str, Recording] = {}
    for path, placement in items:
        name = format.strip().lower()
        if name == "native" or (name == AUTO and mapping is None and is_native_file(path)):
            raise ConfigurationError(
                f"{Path(path).name} is a spinecoach recording, which holds its sensors "
                "already; read it alone with load_recording"
            )
        recording = load_recording(
            path, format=format, rate_hz=rate_hz, placement=placement, mapping=mapping
        )
        if list(recording.sensors) != [placement]:
            raise ConfigurationError(
                f"{Path(path).name} holds the sensors {', '.join(recording.sensors)}; with "
                "one file per placement each file must hold one sensor"
            )
        read[placement] = recording
    return _join(read)


def _join(read: Mapping[str, Recording]) -> Recording:
    clocks = {p: _clock(r) for p, r in read.items()}
    known = [c for c in clocks.values() if c is not None]
    zoned = {c.utcoffset() is not None for c in known}
    shift_s = dict.fromkeys(read, 0.0)
    start_utc: datetime | None = None
    meta: dict[str, str] = {}
    if len(known) == len(read) and len(zoned) == 1:
        origin = min(known)
        shift_s = {p: (c - origin) / timedelta(seconds=1) for p, c in clocks.items() if c}
        if zoned == {True}:
            start_utc = origin
        else:
            meta["start_local_time"] = origin.isoformat(sep=" ")
        meta["time_alignment"] = "the files' clocks"
    elif len(read) > 1:
        meta["time_alignment"] = "each file's own time (no common clock in the files)"
    sensors: dict[str, SensorData] = {}
    for placement, recording in read.items():
        sensor = recording.sensors[placement]
        if shift_s[placement]:
            sensor = SensorData.from_arrays(
                placement,
                sensor.time_s + shift_s[placement],
                sensor.acc_mps2,
                sensor.gyr_dps,
                rate_hz=sensor.rate_hz,
                mag_ut=sensor.mag_ut,
                device=sensor.device,
            )
        sensors[placement] = sensor
    skip = {"source_file", CLEANING_META_KEY, "start_local_time"}
    meta["source_file"] = ", ".join(r.meta.get("source_file", "?") for r in read.values())
    keys = sorted({k for r in read.values() for k in r.meta} - skip)
    for key in keys:
        values = {p: r.meta[key] for p, r in read.items() if key in r.meta}
        if len(values) == len(read) and len(set(values.values())) == 1:
            meta[key] = next(iter(values.values()))
        else:
            meta.update({f"{key}_{p}": v for p, v in values.items()})
    counts = {p: RowCounts(**_counts(r, p)) for p, r in read.items()}
    meta.update(cleaning_meta(counts))
    return Recording.create(sensors, start_utc=start_utc, meta=meta)


def _counts(recording: Recording, placement: str) -> dict[str, int]:
    report = cleaning_report(recording).get(placement)
    if report is not None:
        return report
    rows = recording.sensors[placement].n_samples
    return {"rows_read": rows, "duplicate_rows": 0, "repeated_timestamps": 0}
