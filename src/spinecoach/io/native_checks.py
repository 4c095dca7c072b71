"""Checks on a native recording's datasets: declared size before reading, checksum after.

Used by :mod:`spinecoach.io.native` (whole datasets) and by the posture batch path
(:mod:`spinecoach.posture.batch`, datasets read in chunks).

Checksums: every dataset spinecoach writes (since issue 16) carries the attribute
``crc32`` (unsigned 32-bit integer): the CRC-32 (:func:`zlib.crc32`) of the dataset's
bytes as stored — float64 little-endian, or the fixed-width NUL-padded UTF-8 text —
in row-major order. A reader computes it again on the bytes it read and refuses a
mismatch, naming the dataset. Why CRC-32: HDF5's own checksums cover only the file's
metadata, not the data, so 4 KiB of random bytes in an array used to be read as
valid numbers; CRC-32 detects every burst of up to 32 bits and any random damage
with probability 1 - 2^-32, at about 4 GB/s (an hour of two sensors adds about 10 ms
to a read). It guards against accidental damage (disk, copy, transfer), not against
a deliberate edit: whoever changes the data can also write a new CRC.

A dataset without the attribute (files written before checksums, or by another
program) is read unchecked: HDF5 never loses an attribute by accident (the object
headers holding attributes are themselves checksummed by HDF5 1.8's format), so a
missing one means an older file, and old files keep loading. The attribute is an
addition older readers ignore, so the format version stays 1 (see the versioning
rule in docs/recording-format.md).

Declared sizes: a dataset's shape and element type are metadata, cheap to read, and
say how much memory reading it costs; they are checked against the limits of
:mod:`spinecoach.io.limits` first, for the whole file before any data is read
(:func:`check_declared_sizes`).

>>> import numpy as np
>>> crc32_of(np.zeros(0))
0
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import h5py
import numpy as np

from spinecoach.conventions import PLACEMENTS
from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.io.limits import (
    FIX_SPLIT,
    MAX_RECORDING_BYTES,
    MAX_ROWS,
    MAX_TEXT_WIDTH,
    size_text,
)
from spinecoach.recording import Event, Recording

CHECKSUM_ATTR: Final = "crc32"
EVENT_TEXT_FIELDS: Final = ("kind", "label", "placement")
CHUNK_ROWS: Final = 1 << 18  # rows per read when checking a dataset in pieces
MAX_OBJECTS: Final = 10_000  # groups and datasets walked by check_declared_sizes
MAX_COLUMNS: Final = 64
DAMAGED_DATA_FIX: Final = (
    "The file's data is damaged (changed after spinecoach wrote it): restore it from a "
    "backup or copy it again from where it came from; it cannot be read safely as it is"
)


def crc32_of(values: np.ndarray[Any, Any], start: int = 0) -> int:
    """CRC-32 of an array's bytes in row-major order, continuing from ``start``
    (variable-length text, which other programs may write: its bytes NUL-separated)."""
    if values.dtype.kind == "O":
        joined = b"\0".join(v if isinstance(v, bytes) else str(v).encode() for v in values.flat)
        return zlib.crc32(joined, start)
    flat = np.ascontiguousarray(values).reshape(-1).view(np.uint8)
    return zlib.crc32(flat.data, start)


def stamp_checksum(dataset: h5py.Dataset, values: np.ndarray[Any, Any]) -> None:
    """Write the ``crc32`` attribute of ``dataset``, which holds ``values`` as stored."""
    dataset.attrs[CHECKSUM_ATTR] = np.uint32(crc32_of(values))


def stored_checksum(dataset: h5py.Dataset, source: Path) -> int | None:
    """The dataset's stored CRC-32, or None when it has none (an older file)."""
    if CHECKSUM_ATTR not in dataset.attrs:
        return None
    value = dataset.attrs[CHECKSUM_ATTR]
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if not isinstance(value, int | np.integer) or not 0 <= int(value) < 2**32:
        raise InputFormatError(
            source,
            "expected a CRC-32 checksum (a whole number from 0 to 2^32 - 1)",
            column=f"{dataset.name}@{CHECKSUM_ATTR}",
            found=repr(value),
            fix=DAMAGED_DATA_FIX,
        )
    return int(value)


def checksum_mismatch(dataset: h5py.Dataset, source: Path, stored: int, found: int) -> None:
    """Raise the error naming the dataset when its data no longer matches its CRC."""
    if stored != found:
        raise InputFormatError(
            source,
            f"expected the data of dataset {dataset.name} to match its checksum "
            f"(crc32 {stored:08x} written with it)",
            column=dataset.name,
            found=f"crc32 {found:08x}: the data was changed or damaged",
            fix=DAMAGED_DATA_FIX,
        )


def verify_checksum(dataset: h5py.Dataset, values: np.ndarray[Any, Any], source: Path) -> None:
    """Refuse ``values`` (the whole dataset as read) when its CRC-32 does not match."""
    stored = stored_checksum(dataset, source)
    if stored is not None:
        checksum_mismatch(dataset, source, stored, crc32_of(values))


def verify_in_chunks(dataset: h5py.Dataset, source: Path) -> None:
    """Check a dataset's CRC-32 reading :data:`CHUNK_ROWS` rows at a time (bounded memory).

    The rows are decoded by :func:`~spinecoach.io.native_chunks.read_rows_crc`, not by
    HDF5: HDF5 inflates a compressed chunk in full whatever it claims, so a hostile chunk
    of a few hundred kilobytes could cost hundreds of megabytes before the checksum
    refused it.
    """
    from spinecoach.io.native_chunks import read_rows_crc  # it imports this module

    stored = stored_checksum(dataset, source)
    if stored is None:
        return
    if not dataset.shape:
        checksum_mismatch(dataset, source, stored, crc32_of(dataset[()]))
        return
    crc = 0
    for lo in range(0, dataset.shape[0], CHUNK_ROWS):
        crc = read_rows_crc(dataset, source, lo, lo + CHUNK_ROWS, crc)[1]
    checksum_mismatch(dataset, source, stored, crc)


def check_declared_sizes(
    handle: h5py.File, source: Path, *, limit_bytes: int = MAX_RECORDING_BYTES
) -> None:
    """Refuse a file whose datasets declare more than the limits, before any is read.

    Walks every object of the file (at most :data:`MAX_OBJECTS`) and checks each
    dataset's declared shape and type: at most :data:`~spinecoach.io.limits.MAX_ROWS`
    rows and 64 columns, numbers of at most 8 bytes, text of at most
    :data:`~spinecoach.io.limits.MAX_TEXT_WIDTH` bytes a value, and all datasets
    together at most ``limit_bytes``. Only metadata is read, so this costs
    milliseconds whatever the file declares.
    """
    total = 0
    seen = 0

    def visit(name: str, obj: object) -> None:
        nonlocal total, seen
        seen += 1
        if seen > MAX_OBJECTS:
            raise InputFormatError(
                source,
                f"expected at most {MAX_OBJECTS:,} groups and datasets (a recording has a "
                "few dozen)",
                found=f"more, up to /{name}",
                fix=FIX_SPLIT,
            )
        if isinstance(obj, h5py.Dataset):
            total += _declared_bytes(obj, source)
            if total > limit_bytes:
                raise _too_large(
                    obj,
                    source,
                    f"at most {size_text(limit_bytes)} of data in all datasets "
                    "(spinecoach's import limit)",
                    f"{size_text(total)} declared up to this dataset",
                )

    handle.visititems(visit)


def _too_large(dataset: h5py.Dataset, source: Path, expected: str, found: str) -> InputFormatError:
    return InputFormatError(
        source, f"expected {expected}", column=dataset.name, found=found, fix=FIX_SPLIT
    )


def _declared_bytes(dataset: h5py.Dataset, source: Path) -> int:
    """The bytes reading ``dataset`` whole would take, after its shape and type checks."""
    shape = tuple(int(n) for n in dataset.shape or ())
    if shape and shape[0] > MAX_ROWS:
        raise _too_large(
            dataset,
            source,
            f"at most {MAX_ROWS:,} rows (a day at 200 Hz; spinecoach's import limit)",
            f"shape {shape} declared",
        )
    if any(n > MAX_COLUMNS for n in shape[1:]):
        raise _too_large(
            dataset, source, f"at most {MAX_COLUMNS} columns", f"shape {shape} declared"
        )
    dtype = dataset.dtype
    if h5py.check_string_dtype(dtype) is not None and dtype.itemsize > MAX_TEXT_WIDTH:
        raise _too_large(
            dataset,
            source,
            f"text of at most {MAX_TEXT_WIDTH:,} bytes a value",
            f"{dtype.itemsize:,} bytes a value",
        )
    if dtype.kind in "fiu" and dtype.itemsize > 8:
        raise _too_large(dataset, source, "numbers of at most 8 bytes", f"data type {dtype}")
    if dtype.itemsize > MAX_TEXT_WIDTH:  # compound, array or opaque types
        raise _too_large(
            dataset,
            source,
            f"values of at most {MAX_TEXT_WIDTH:,} bytes",
            f"data type {dtype} ({dtype.itemsize:,} bytes a value)",
        )
    return int(np.prod(shape, dtype=np.float64)) * int(dtype.itemsize)


# Writing ----------------------------------------------------------------------------
def _check_text(value: str, what: str) -> None:
    if "\x00" in value:
        raise ConfigurationError(
            f"{what} contains a NUL character, which HDF5 strings cannot hold; remove it"
        )


def _check_events(events: Sequence[Event], where: str) -> None:
    for index, event in enumerate(events):
        for field in EVENT_TEXT_FIELDS:
            _check_text(getattr(event, field), f"{where} event {index} {field}")


def check_writable(recording: Recording) -> None:
    """Refuse a recording the native format cannot store, before anything is written:
    an unknown placement, a NUL in a text, a ground-truth name HDF5 cannot hold."""
    for placement, sensor in recording.sensors.items():
        if placement not in PLACEMENTS:
            raise ConfigurationError(
                f"sensor placement {placement!r} cannot be stored; use one of "
                f"{', '.join(PLACEMENTS)}"
            )
        _check_text(sensor.device, f"device name of the {placement} sensor")
    _check_events(recording.events, "recording")
    if recording.truth is not None:
        for name in recording.truth.series:
            if not name or name == "." or "/" in name or "\x00" in name:
                raise ConfigurationError(
                    f"ground-truth series name {name!r} cannot be an HDF5 dataset name; "
                    "use a non-empty name without '/' or NUL (for example 'lumbar_flexion_deg')"
                )
        _check_events(recording.truth.events, "ground-truth")
