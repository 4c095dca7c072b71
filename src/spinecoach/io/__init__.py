"""Reading and writing recordings: the native format and readers for outside formats.

* :mod:`~spinecoach.io.native` — spinecoach's own lossless HDF5 format (``.screc``):
  :func:`write_recording`, :func:`read_recording`.
* :mod:`~spinecoach.io.csv_generic` — any CSV with a column/unit :class:`CsvMapping`
  (or its one-line text form, :func:`parse_mapping`): :func:`read_csv`.
* :mod:`~spinecoach.io.fusion_csv` — the x-io Fusion CSV layout: :func:`read_fusion_csv`.
* :mod:`~spinecoach.io.sensor_logger` — Sensor Logger app exports (zip or folder):
  :func:`read_sensor_logger`.
* :mod:`~spinecoach.io.phyphox` — phyphox CSV exports (zip or folder): :func:`read_phyphox`.
* :mod:`~spinecoach.io.presets` — named mappings for common CSV layouts
  (:data:`CSV_PRESETS`, :func:`preset_mapping`).
* :mod:`~spinecoach.io.formats` — the list of formats (:func:`describe_formats`) and
  :func:`load_recording`, which recognises a file's format by its content.

Every reader converts to the project units once (s, m/s², deg/s, µT) and raises
:class:`~spinecoach.errors.InputFormatError` / :class:`~spinecoach.errors.UnitError`
with messages that name the file, line, column and the fix. Importing this package
does no I/O.
"""

from spinecoach.io.csv_generic import (
    CsvMapping,
    SensorColumns,
    default_mapping,
    parse_mapping,
    read_csv,
)
from spinecoach.io.formats import (
    FORMATS,
    FormatInfo,
    describe_formats,
    detect_format,
    load_recording,
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

__all__ = [
    "CSV_PRESETS",
    "FILE_EXTENSION",
    "FORMATS",
    "FORMAT_VERSION",
    "CsvMapping",
    "CsvPreset",
    "FormatInfo",
    "SensorColumns",
    "default_mapping",
    "describe_formats",
    "detect_format",
    "load_recording",
    "parse_mapping",
    "preset_mapping",
    "read_csv",
    "read_fusion_csv",
    "read_phyphox",
    "read_recording",
    "read_sensor_logger",
    "write_recording",
]
