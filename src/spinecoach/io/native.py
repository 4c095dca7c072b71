"""spinecoach's own recording format: one HDF5 file, lossless, versioned (``.screc``).

Why HDF5: it stores float64 arrays bit for bit, is self-describing, reads a whole
column in one call (a one-hour, two-sensor 100 Hz recording reads in a few tens of
milliseconds) and is readable without spinecoach from Python (h5py), MATLAB
(``h5read``) and R (``rhdf5``). The layout is written down in
``docs/recording-format.md``; in short::

    /                      attrs format="spinecoach-recording", format_version=1,
                                 start_utc="2026-01-01T00:00:00.000000Z", meta_json="{...}"
    /sensors/<placement>   attrs rate_hz, device        (placement "lower" / "upper")
        time_s   (n,)   float64, attr units="s"
        acc_mps2 (n, 3) float64, attr units="m/s^2"
        gyr_dps  (n, 3) float64, attr units="deg/s"
        mag_ut   (n, 3) float64, attr units="uT"      (optional)
    /events                parallel datasets of length m: kind, label, placement (UTF-8
                           strings), start_s, end_s, value (float64)
    /truth                 optional: time_s (k,), series/<name> (k,) with the
                           attribute ``order`` on ``series`` (HDF5 sorts names, the
                           attribute keeps the insertion order), events/ like /events

Choices:

* Datasets over :data:`STORAGE_CHUNK_ROWS` rows are stored in chunks of that many rows
  with HDF5's byte-shuffle + deflate (gzip) level 1 filters (issue 17): 0.65 of the size
  of a simulated 16-hour day, and built into every HDF5 library, so h5py, MATLAB and R
  read it without a plugin (lzf: larger, slower to read, a plugin elsewhere; gzip 2-4:
  under 1 % smaller). Shorter datasets stay contiguous; older files read as before.
  Chunks are decoded by :mod:`spinecoach.io.native_chunks` at bounded memory.
* Events are parallel 1-D datasets rather than one compound dataset, because MATLAB
  and R read plain string and float vectors directly.
* The file uses the HDF5 1.8 object format (``libver="v108"``): its metadata carries
  checksums, so a damaged file fails with a clear error instead of sending the HDF5
  library into a loop, and every HDF5 reader since 2008 opens it.
* Text (attributes and event strings) is stored as fixed-width UTF-8 strings, not
  variable-length ones: they live inside the checksummed metadata or the dataset
  itself rather than in HDF5's unchecked global heap, and MATLAB and R read them as
  plain character data.
* Object modification times are not stored (``track_times=False``) so writing the
  same recording twice gives byte-identical files.
* Writes are atomic: the file is written next to the target under a temporary name,
  flushed to disk and moved over the target with :func:`os.replace`. A failed write
  leaves any existing file untouched and no temporary file behind.
* Every dataset carries a ``crc32`` attribute, checked on reading: a damaged file is
  refused naming the dataset. Files written before (no ``crc32``) still load,
  unchecked; the attribute is an addition older readers ignore, so the format version
  stays 1. Declared shapes are checked against the import limits before any data is
  read. Both in :mod:`spinecoach.io.native_checks`.

>>> import tempfile, numpy as np
>>> from spinecoach.recording import Recording, SensorData
>>> t = np.arange(4) / 100.0
>>> s = SensorData.from_arrays("lower", t, np.zeros((4, 3)), np.zeros((4, 3)), rate_hz=100.0)
>>> rec = Recording.create({"lower": s})
>>> with tempfile.TemporaryDirectory() as folder:
...     path = write_recording(rec, f"{folder}/session.screc")
...     read_recording(path).equals(rec)
True
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import h5py
import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import PLACEMENTS
from spinecoach.errors import ConfigurationError, InputFormatError, SpinecoachError
from spinecoach.io.native_checks import (
    EVENT_TEXT_FIELDS,
    check_declared_sizes,
    check_writable,
    stamp_checksum,
)
from spinecoach.io.native_chunks import read_dataset
from spinecoach.recording import Event, FloatArray, GroundTruth, Recording, SensorData

FORMAT_NAME: Final = "spinecoach-recording"
FORMAT_VERSION: Final = 1
FILE_EXTENSION: Final = ".screc"
HDF5_SIGNATURE: Final = b"\x89HDF\r\n\x1a\n"

# Units written next to every sensor dataset (ASCII so any HDF5 tool shows them).
SENSOR_DATASET_UNITS: Final[dict[str, str]] = {
    "time_s": "s",
    "acc_mps2": "m/s^2",
    "gyr_dps": "deg/s",
    "mag_ut": "uT",
}
EVENT_NUMBER_FIELDS: Final = ("start_s", "end_s", "value")

#: Rows of one chunk of a compressed dataset: 384 KiB of a 3-column float64 dataset
#: (under HDF5's 1 MiB chunk cache, so row slices read each chunk once), 2.7 min at
#: 100 Hz. Datasets of at most this many rows are stored contiguous, uncompressed.
STORAGE_CHUNK_ROWS: Final = 16384
#: The deflate (gzip) level: 1 compresses noisy float64 about as well as 4, faster.
GZIP_LEVEL: Final = 1

_UPGRADE_FIX: Final = "Upgrade spinecoach (pip install --upgrade spinecoach) to read it"
_DAMAGED_FIX: Final = (
    "The file is damaged or was not written by spinecoach; write it again with "
    "`spinecoach` or check the layout against docs/recording-format.md"
)
# What h5py / HDF5 raise on damaged or foreign files. Turned into InputFormatError.
_H5_ERRORS: Final = (OSError, LookupError, ValueError, TypeError, RuntimeError, UnicodeError)


# Writing -------------------------------------------------------------------------------
def write_recording(
    recording: Recording, path: str | os.PathLike[str], *, compress: bool = True
) -> Path:
    """Write ``recording`` to ``path`` in the native format and return the path.

    Whatever the file extension, the content is the native HDF5 format (``.screc`` by
    convention). The write is atomic: on any error the temporary file is removed and a
    file already at ``path`` is left as it was. ``compress=False``: every dataset
    contiguous and uncompressed, as before issue 17 (larger; bytes mappable directly).

    Raises :class:`~spinecoach.errors.ConfigurationError` when a text field holds a NUL
    character or a ground-truth series name cannot be an HDF5 name (empty, ``.``, or
    containing ``/``).

    >>> import tempfile, numpy as np
    >>> from spinecoach.recording import Recording, SensorData
    >>> s = SensorData.from_arrays("upper", [0.0, 0.01], np.zeros((2, 3)), np.zeros((2, 3)),
    ...                            rate_hz=100.0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_recording(Recording.create({"upper": s}), f"{folder}/a.screc").name
    'a.screc'
    """
    target = Path(path)
    check_writable(recording)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    done = False
    try:
        # "w-" fails rather than overwrite if the random name somehow exists.
        with h5py.File(temporary, "w-", libver=("v108", "v108")) as handle:
            _write_root(handle, recording, compress)
        _fsync_file(temporary)
        os.replace(temporary, target)
        done = True
    finally:
        if not done:
            temporary.unlink(missing_ok=True)
    return target


def _fsync_file(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _new_group(parent: h5py.Group, name: str) -> h5py.Group:
    return parent.create_group(name, track_order=False)


def _write_array(
    group: h5py.Group, name: str, values: FloatArray, units: str | None, compress: bool
) -> None:
    stored = np.ascontiguousarray(values, dtype="<f8")
    options: dict[str, Any] = {}
    if compress and stored.ndim and stored.shape[0] > STORAGE_CHUNK_ROWS:
        chunks = (STORAGE_CHUNK_ROWS, *stored.shape[1:])
        options = {"chunks": chunks, "shuffle": True, "compression": "gzip"}
        options["compression_opts"] = GZIP_LEVEL
    dataset = group.create_dataset(name, data=stored, track_times=False, **options)
    stamp_checksum(dataset, stored)
    if units is not None:
        _set_text(dataset, "units", units)


def _fixed_strings(values: Sequence[str]) -> NDArray[np.bytes_]:
    """UTF-8 bytes in a fixed-width HDF5 string type (width = longest, at least 1)."""
    encoded = [v.encode("utf-8") for v in values]
    width = max([1, *map(len, encoded)])
    return np.array(encoded, dtype=h5py.string_dtype("utf-8", width))


def _set_text(obj: h5py.HLObject, name: str, value: str) -> None:
    data = _fixed_strings([value]).reshape(())
    obj.attrs.create(name, data, dtype=data.dtype)


def _write_strings(group: h5py.Group, name: str, values: Sequence[str]) -> None:
    stored = _fixed_strings(values)
    stamp_checksum(group.create_dataset(name, data=stored, track_times=False), stored)


def _write_events(group: h5py.Group, events: Sequence[Event], compress: bool) -> None:
    for field in EVENT_TEXT_FIELDS:
        _write_strings(group, field, [getattr(e, field) for e in events])
    for field in EVENT_NUMBER_FIELDS:
        values = np.array([getattr(e, field) for e in events], dtype=np.float64)
        _write_array(group, field, values, None if field == "value" else "s", compress)


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _write_root(handle: h5py.File, recording: Recording, compress: bool) -> None:
    _set_text(handle, "format", FORMAT_NAME)
    handle.attrs["format_version"] = np.int64(FORMAT_VERSION)
    _set_text(handle, "start_utc", _iso_utc(recording.start_utc))
    _set_text(handle, "meta_json", json.dumps(dict(recording.meta), ensure_ascii=False))
    sensors = _new_group(handle, "sensors")
    for placement, sensor in recording.sensors.items():
        group = _new_group(sensors, placement)
        group.attrs["rate_hz"] = np.float64(sensor.rate_hz)
        _set_text(group, "device", sensor.device)
        _write_array(group, "time_s", sensor.time_s, SENSOR_DATASET_UNITS["time_s"], compress)
        _write_array(group, "acc_mps2", sensor.acc_mps2, SENSOR_DATASET_UNITS["acc_mps2"], compress)
        _write_array(group, "gyr_dps", sensor.gyr_dps, SENSOR_DATASET_UNITS["gyr_dps"], compress)
        if sensor.mag_ut is not None:
            _write_array(group, "mag_ut", sensor.mag_ut, SENSOR_DATASET_UNITS["mag_ut"], compress)
    _write_events(_new_group(handle, "events"), recording.events, compress)
    truth = recording.truth
    if truth is not None:
        group = _new_group(handle, "truth")
        _write_array(group, "time_s", truth.time_s, "s", compress)
        series = _new_group(group, "series")
        order = _fixed_strings(list(truth.series))
        series.attrs.create("order", order, dtype=order.dtype)
        for name, values in truth.series.items():
            _write_array(series, name, values, None, compress)
        _write_events(_new_group(group, "events"), truth.events, compress)


# Reading -------------------------------------------------------------------------------
def is_native_file(path: str | os.PathLike[str]) -> bool:
    """True when the file starts with the HDF5 signature (cheap, reads 8 bytes).

    HDF5 is the container of the native format; whether the content is a spinecoach
    recording is checked by :func:`read_recording`.
    """
    try:
        with open(path, "rb") as stream:
            return stream.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE
    except OSError:
        return False


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Read a native recording (see :mod:`spinecoach.io.native` for the layout).

    Arrays come back bit-exact as written (float64; NaN kept). Raises
    :class:`~spinecoach.errors.InputFormatError` naming the file, the dataset or
    attribute (as ``column``, for example ``/sensors/lower/acc_mps2``) and what was
    expected when the file is not a spinecoach recording, was written by a newer
    spinecoach, or is incomplete or inconsistent.

    >>> import tempfile, numpy as np
    >>> from spinecoach.recording import Recording, SensorData
    >>> s = SensorData.from_arrays("lower", [0.0, 0.01], np.ones((2, 3)), np.zeros((2, 3)),
    ...                            rate_hz=100.0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_recording(Recording.create({"lower": s}), f"{folder}/a.screc")
    ...     rec = read_recording(path)
    >>> rec.sensors["lower"].acc_mps2.shape
    (2, 3)
    """
    source = Path(path)
    if not source.is_file():
        raise InputFormatError(
            source,
            "expected an existing recording file",
            found="a folder" if source.is_dir() else "nothing at this path",
            fix="Check the path",
        )
    try:
        handle = h5py.File(source, "r")
    except _H5_ERRORS as exc:
        raise InputFormatError(
            source,
            "expected a spinecoach native recording (an HDF5 file)",
            found=_h5_message(exc),
            fix="If it is a CSV file, pass --format csv or --format fusion; "
            "`spinecoach formats` lists the formats",
        ) from exc
    try:
        with handle:
            return _Reader(handle, source).recording()
    except SpinecoachError:
        raise
    except _H5_ERRORS as exc:
        raise InputFormatError(
            source,
            "expected a readable spinecoach recording",
            found=_h5_message(exc),
            fix=_DAMAGED_FIX,
        ) from exc


def _h5_message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class _Reader:
    """Reads one open file; every error names the file and the HDF5 path."""

    def __init__(self, handle: h5py.File, source: Path) -> None:
        self.handle = handle
        self.source = source

    # errors ---------------------------------------------------------------------------
    def fail(self, where: str, expected: str, *, found: str | None = None) -> InputFormatError:
        return InputFormatError(self.source, expected, column=where, found=found, fix=_DAMAGED_FIX)

    # primitives -------------------------------------------------------------------
    def group(self, parent: h5py.Group, name: str, *, required: bool = True) -> h5py.Group | None:
        where = _join(parent.name, name)
        link = parent.get(name, getlink=True)
        if link is None:
            if required:
                raise self.fail(where, "expected a group here", found="nothing")
            return None
        obj = parent.get(name) if isinstance(link, h5py.HardLink) else None
        if not isinstance(obj, h5py.Group):
            raise self.fail(where, "expected a group here", found=_kind(obj, link))
        return obj

    def dataset(self, parent: h5py.Group, name: str) -> h5py.Dataset:
        where = _join(parent.name, name)
        link = parent.get(name, getlink=True)
        if link is None:
            raise self.fail(where, "expected a dataset here", found="nothing")
        obj = parent.get(name) if isinstance(link, h5py.HardLink) else None
        if not isinstance(obj, h5py.Dataset):
            raise self.fail(where, "expected a dataset here", found=_kind(obj, link))
        return obj

    def floats(
        self, parent: h5py.Group, name: str, *, columns: int | None, rows: int | None
    ) -> FloatArray:
        dataset = self.dataset(parent, name)
        where = dataset.name
        if dataset.dtype.kind not in "fiu":
            raise self.fail(where, "expected float64 numbers", found=f"data type {dataset.dtype}")
        shape = dataset.shape
        wanted = "(n,)" if columns is None else f"(n, {columns})"
        if rows is not None:
            wanted = wanted.replace("n", str(rows), 1)
        ok_dims = (columns is None and len(shape) == 1) or (
            columns is not None and len(shape) == 2 and shape[1] == columns
        )
        if not ok_dims or (rows is not None and shape[0] != rows):
            expected = f"expected shape {wanted}"
            if rows is not None:
                expected += f", one row per time_s sample ({rows} rows)"
            raise self.fail(where, expected, found=f"shape {shape}")
        # One read of the whole dataset, its checksum computed as it is decoded (sizes
        # were checked first); the array is ours, so it is frozen in place instead of
        # copied (SensorData.from_arrays would; float64 as stored is not converted).
        values = np.ascontiguousarray(read_dataset(dataset, self.source), dtype=np.float64)
        values.setflags(write=False)
        return values

    def strings(self, parent: h5py.Group, name: str, *, rows: int | None) -> list[str]:
        dataset = self.dataset(parent, name)
        where = dataset.name
        if h5py.check_string_dtype(dataset.dtype) is None or len(dataset.shape) != 1:
            raise self.fail(
                where,
                "expected a one-dimensional dataset of UTF-8 strings",
                found=f"data type {dataset.dtype}, shape {dataset.shape}",
            )
        if rows is not None and dataset.shape[0] != rows:
            raise self.fail(
                where,
                f"expected {rows} values like the other event fields",
                found=f"{dataset.shape[0]} values",
            )
        raw = read_dataset(dataset, self.source)
        try:
            return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in raw]
        except UnicodeDecodeError as exc:
            raise self.fail(where, "expected UTF-8 text", found="undecodable bytes") from exc

    def _attr(self, obj: h5py.HLObject, name: str, kind: str) -> tuple[str, Any]:
        """Where the attribute ``name`` of ``obj`` is (for messages) and its value, a
        0-d array unwrapped; a missing one fails naming ``kind`` (text, number)."""
        where = f"{obj.name}@{name}" if obj.name != "/" else f"/@{name}"
        if name not in obj.attrs:
            raise self.fail(where, f"expected a {kind} attribute here", found="nothing")
        value = obj.attrs[name]
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value[()]
        return where, value

    def attr_text(self, obj: h5py.HLObject, name: str) -> str:
        where, value = self._attr(obj, name, "text")
        if isinstance(value, bytes | np.bytes_):
            try:
                value = bytes(value).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise self.fail(where, "expected UTF-8 text", found=repr(value)) from exc
        if not isinstance(value, str):
            raise self.fail(where, "expected a text attribute", found=repr(value))
        return value

    def attr_number(self, obj: h5py.HLObject, name: str) -> float | int:
        where, value = self._attr(obj, name, "number")
        if isinstance(value, bool | np.bool_) or not isinstance(
            value, int | float | np.integer | np.floating
        ):
            raise self.fail(where, "expected a number attribute", found=repr(value))
        return value.item() if isinstance(value, np.generic) else value

    # structure ------------------------------------------------------------------------
    def recording(self) -> Recording:
        root = self.handle
        fmt = self.attr_text(root, "format") if "format" in root.attrs else None
        if fmt != FORMAT_NAME:
            raise InputFormatError(
                self.source,
                f"expected a spinecoach recording (root attribute format={FORMAT_NAME!r})",
                column="/@format",
                found="an HDF5 file without it" if fmt is None else fmt,
                fix="This HDF5 file was written by another program; convert it to CSV and "
                "read it with --format csv",
            )
        version = self.attr_number(root, "format_version")
        if not isinstance(version, int) or version < 1:
            raise self.fail(
                "/@format_version", "expected a positive whole number", found=repr(version)
            )
        if version > FORMAT_VERSION:
            raise InputFormatError(
                self.source,
                f"expected format version {FORMAT_VERSION} or older: this file was written by "
                f"a newer spinecoach (format version {version})",
                column="/@format_version",
                found=str(version),
                fix=_UPGRADE_FIX,
            )
        check_declared_sizes(root, self.source)
        start = self.start_utc()
        meta = self.meta()
        sensors_group = self.group(root, "sensors")
        if sensors_group is None:  # pragma: no cover - group() raised already
            raise self.fail("/sensors", "expected a group")
        names = list(sensors_group.keys())
        unknown = [n for n in names if n not in PLACEMENTS]
        if unknown:
            raise self.fail(
                f"/sensors/{unknown[0]}",
                f"expected only sensor groups named {' or '.join(PLACEMENTS)}",
                found=unknown[0],
            )
        if not names:
            raise self.fail(
                "/sensors",
                "expected at least one sensor group (lower or upper)",
                found="an empty group",
            )
        sensors = {p: self.sensor(sensors_group, p) for p in PLACEMENTS if p in names}
        events = self.events(self.group(root, "events"))
        truth = self.truth()
        return Recording.create(sensors, start_utc=start, events=events, meta=meta, truth=truth)

    def start_utc(self) -> datetime:
        text = self.attr_text(self.handle, "start_utc")
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise self.fail(
                "/@start_utc",
                "expected an ISO 8601 UTC time such as '2026-01-01T08:30:00.000000Z'",
                found=text,
            )
        return moment.astimezone(UTC)

    def meta(self) -> dict[str, str]:
        text = self.attr_text(self.handle, "meta_json")
        try:
            meta: Any = json.loads(text)
        except ValueError:
            meta = None
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise self.fail("/@meta_json", "expected a JSON object of text values", found=text)
        return {str(k): v for k, v in meta.items()}

    def sensor(self, parent: h5py.Group, placement: str) -> SensorData:
        group = self.group(parent, placement)
        if group is None:  # pragma: no cover - required group
            raise self.fail(_join(parent.name, placement), "expected a group")
        rate = float(self.attr_number(group, "rate_hz"))
        if not (np.isfinite(rate) and rate > 0):
            raise self.fail(
                f"{group.name}@rate_hz", "expected a positive rate in hertz", found=repr(rate)
            )
        device = self.attr_text(group, "device")
        time_s = self.floats(group, "time_s", columns=None, rows=None)
        n = time_s.shape[0]
        acc = self.floats(group, "acc_mps2", columns=3, rows=n)
        gyr = self.floats(group, "gyr_dps", columns=3, rows=n)
        mag = self.floats(group, "mag_ut", columns=3, rows=n) if "mag_ut" in group else None
        # Shapes, dtype and placement are checked above, so wrap without another copy.
        return SensorData(
            placement=placement,
            time_s=time_s,
            acc_mps2=acc,
            gyr_dps=gyr,
            rate_hz=rate,
            mag_ut=mag,
            device=device,
        )

    def events(self, group: h5py.Group | None) -> tuple[Event, ...]:
        if group is None:  # pragma: no cover - required group
            return ()
        starts = self.floats(group, "start_s", columns=None, rows=None)
        m = starts.shape[0]
        ends = self.floats(group, "end_s", columns=None, rows=m)
        values = self.floats(group, "value", columns=None, rows=m)
        kinds = self.strings(group, "kind", rows=m)
        labels = self.strings(group, "label", rows=m)
        placements = self.strings(group, "placement", rows=m)
        events = []
        for i in range(m):
            try:
                events.append(
                    Event(
                        kind=kinds[i],
                        start_s=float(starts[i]),
                        end_s=float(ends[i]),
                        label=labels[i],
                        placement=placements[i],
                        value=float(values[i]),
                    )
                )
            except ConfigurationError as exc:
                raise self.fail(
                    f"{group.name}/start_s", f"expected a valid event ({exc})", found=f"event {i}"
                ) from exc
        return tuple(events)

    def truth(self) -> GroundTruth | None:
        group = self.group(self.handle, "truth", required=False)
        if group is None:
            return None
        time_s = self.floats(group, "time_s", columns=None, rows=None)
        series_group = self.group(group, "series")
        if series_group is None:  # pragma: no cover - required group
            return None
        where = f"{series_group.name}@order"
        if "order" not in series_group.attrs:
            raise self.fail(
                where, "expected the attribute 'order' listing the series names", found="nothing"
            )
        raw = series_group.attrs["order"]
        try:
            order = [v.decode("utf-8") if isinstance(v, bytes) else v for v in np.ravel(raw)]
        except UnicodeDecodeError as exc:
            raise self.fail(where, "expected UTF-8 text", found="undecodable bytes") from exc
        stored = sorted(series_group.keys())
        if not all(isinstance(v, str) for v in order) or sorted(order) != stored:
            raise self.fail(
                where,
                f"expected the names of the datasets in {series_group.name} ({', '.join(stored)})",
                found=repr(order),
            )
        series = {
            name: self.floats(series_group, name, columns=None, rows=time_s.shape[0])
            for name in order
        }
        events = self.events(self.group(group, "events"))
        return GroundTruth.create(time_s, series, events)


def _join(parent: str | None, name: str) -> str:
    base = parent or "/"
    return f"{base.rstrip('/')}/{name}"


def _kind(obj: object, link: object) -> str:
    if isinstance(link, h5py.SoftLink | h5py.ExternalLink):
        return "a link (only plain datasets and groups are read)"
    if isinstance(obj, h5py.Dataset):
        return "a dataset"
    if isinstance(obj, h5py.Group):
        return "a group"
    return "something else"
