"""Reading and writing recordings: the native format and readers for outside formats.

* :mod:`~spinecoach.io.native` — spinecoach's own lossless HDF5 format (``.screc``):
  :func:`write_recording`, :func:`read_recording`.
* :mod:`~spinecoach.io.csv_generic` — any CSV with a column/unit :class:`CsvMapping`
  (or its one-line text form, :func:`parse_mapping`): :func:`read_csv`. Its pieces:
  :mod:`~spinecoach.io.csv_mapping` (the mapping), :mod:`~spinecoach.io.csv_units`,
  :mod:`~spinecoach.io.csv_table` (delimiters, numbers), :mod:`~spinecoach.io.csv_time`.
* :mod:`~spinecoach.io.fusion_csv` — the x-io Fusion CSV layout: :func:`read_fusion_csv`.
* :mod:`~spinecoach.io.sensor_logger` — Sensor Logger app exports (zip or folder):
  :func:`read_sensor_logger`.
* :mod:`~spinecoach.io.phyphox` — phyphox CSV exports (zip or folder): :func:`read_phyphox`.
* :mod:`~spinecoach.io.presets` — named mappings for common CSV layouts
  (:data:`CSV_PRESETS`, :func:`preset_mapping`).
* :mod:`~spinecoach.io.formats` — the list of formats (:func:`describe_formats`),
  :func:`load_recording`, which recognises a file's format by its content, and
  :func:`load_recordings`, which reads one file per sensor and joins them.
* :mod:`~spinecoach.io.guess` — column names and units recognised from common headers
  (``AccX``, ``acc_x``, ``Accelerometer X (g)``, ``gyro_x`` ...) when no mapping is given.
* :mod:`~spinecoach.io.cleaning` — the rows every reader drops (exact duplicates and
  repeated time stamps) and :func:`cleaning_report`.

Files as people have them
-------------------------
* **Repeated rows.** A row whose time stamp equals the previous row's is dropped and
  counted, never refused: as a *duplicate row* when its values equal the kept row's,
  as a *repeated time stamp* otherwise (the first row is kept). Time going backwards
  is still an error naming the file, line, column and fix. The counts are in
  ``recording.meta["cleaning"]`` (JSON, only when a row was dropped);
  :func:`cleaning_report` gives ``{placement: {"duplicate_rows", "repeated_timestamps",
  "rows_read"}}``.
* **Date-time columns.** A time column holding ISO-8601 date-times
  (``2024-03-01 10:15:02.120``, with ``T`` or a space, with or without ``Z`` /
  ``+01:00``) is read as seconds since the first row; the first time becomes
  ``start_utc`` when it has a zone (``meta["start_local_time"]`` keeps a wall-clock time
  without zone). Unix time in s (or ms/µs/ns, declared or recognised from the step) is
  read as before.
* **Accelerometer-only files.** No gyroscope columns (``gyr=none`` in a mapping, or none
  recognised in the header): ``gyr_dps`` is all NaN and ``SensorData.has_gyroscope`` is
  False. A file without accelerometer is refused.
* **One file per sensor, no time column** (other brands, e.g. 50 Hz, g and rad/s)::

      rec = load_recording("upper.csv", format="csv", rate_hz=50, placement="upper",
                           mapping="acc=AccX,AccY,AccZ:g,gyr=GyrX,GyrY,GyrZ:rad/s")
      rec = load_recordings([("lower.csv", "lower"), ("upper.csv", "upper")], rate_hz=50)

  Without a time column the rate must be given (``rate_hz``, ``--rate``); without a
  mapping the columns and, where unambiguous, the units are recognised from the header
  and the values (see :mod:`~spinecoach.io.guess`; the mapping used is in
  ``meta["mapping"]``). :func:`load_recordings` shares the files' clocks when every
  file has one, else keeps each timeline as read (both from 0 without time columns),
  and keeps files of slightly different lengths as they are.

Every reader converts to the project units once (s, m/s², deg/s, µT) and raises
:class:`~spinecoach.errors.InputFormatError` / :class:`~spinecoach.errors.UnitError`
with messages that name the file, line, column and the fix. Importing this package
does no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spinecoach.conventions import lazy_exports

if TYPE_CHECKING:
    from spinecoach.io.cleaning import cleaning_report
    from spinecoach.io.csv_generic import read_csv
    from spinecoach.io.csv_mapping import (
        CsvMapping,
        SensorColumns,
        default_mapping,
        parse_mapping,
    )
    from spinecoach.io.formats import (
        FORMATS,
        FormatInfo,
        describe_formats,
        detect_format,
        load_recording,
        load_recordings,
    )
    from spinecoach.io.fusion_csv import read_fusion_csv
    from spinecoach.io.native import (
        FILE_EXTENSION,
        FORMAT_VERSION,
        read_recording,
        write_recording,
    )
    from spinecoach.io.phyphox import read_phyphox
    from spinecoach.io.presets import CSV_PRESETS, CsvPreset, preset_mapping
    from spinecoach.io.sensor_logger import read_sensor_logger

#: Where each name this package offers lives: its module is imported on first use (PEP 562),
#: so ``spinecoach.io.native`` (the store, the server) does not load every CSV and
#: phone reader (issue 17: quick start). Importing this package does no I/O.
_WHERE = {
    "cleaning_report": "spinecoach.io.cleaning",
    "read_csv": "spinecoach.io.csv_generic",
    "CsvMapping": "spinecoach.io.csv_mapping",
    "SensorColumns": "spinecoach.io.csv_mapping",
    "default_mapping": "spinecoach.io.csv_mapping",
    "parse_mapping": "spinecoach.io.csv_mapping",
    "FORMATS": "spinecoach.io.formats",
    "FormatInfo": "spinecoach.io.formats",
    "describe_formats": "spinecoach.io.formats",
    "detect_format": "spinecoach.io.formats",
    "load_recording": "spinecoach.io.formats",
    "load_recordings": "spinecoach.io.formats",
    "read_fusion_csv": "spinecoach.io.fusion_csv",
    "FILE_EXTENSION": "spinecoach.io.native",
    "FORMAT_VERSION": "spinecoach.io.native",
    "read_recording": "spinecoach.io.native",
    "write_recording": "spinecoach.io.native",
    "read_phyphox": "spinecoach.io.phyphox",
    "CSV_PRESETS": "spinecoach.io.presets",
    "CsvPreset": "spinecoach.io.presets",
    "preset_mapping": "spinecoach.io.presets",
    "read_sensor_logger": "spinecoach.io.sensor_logger",
}


#: A name of :data:`__all__`, imported from its module on first use.
__getattr__ = lazy_exports("spinecoach.io", _WHERE, globals())


__all__ = [
    "CSV_PRESETS",
    "FILE_EXTENSION",
    "FORMATS",
    "FORMAT_VERSION",
    "CsvMapping",
    "CsvPreset",
    "FormatInfo",
    "SensorColumns",
    "cleaning_report",
    "default_mapping",
    "describe_formats",
    "detect_format",
    "load_recording",
    "load_recordings",
    "parse_mapping",
    "preset_mapping",
    "read_csv",
    "read_fusion_csv",
    "read_phyphox",
    "read_recording",
    "read_sensor_logger",
    "write_recording",
]
