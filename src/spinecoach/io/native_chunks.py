"""Reading a chunked dataset of a native recording at bounded memory: spinecoach's own
decoding of HDF5's shuffle and deflate (gzip) filters, chunk by chunk (issue 17 item 4).

Why not let HDF5 decode: HDF5 inflates a deflate chunk in full whatever its declared
size, so a chunk of under 300 KB crafted to inflate to 300 MB took 600 MB to read
(measured), and any size beyond that is possible. Here each chunk's stored size is
checked against what a chunk of its shape can take before it is read, and inflation
stops at the chunk's size: a chunk that does not decode to exactly its size is refused
naming the dataset and the row it starts at. Only the filters spinecoach writes are
read; a dataset with another (lzf, szip, fletcher32 ...) is refused naming it, with
the ``h5repack`` command that rewrites it. A chunk's filter mask (HDF5 may store a
chunk without a filter) is honoured. Unwritten chunks read as the dataset's fill
value, as in HDF5.

Speed (issue 17, bench/throughput.py): a chunk is inflated once (``zlib``, whose
inflation is most of the read: about 1 GB/s of data here) and unshuffled straight
into its rows of the output array, one byte plane at a time (``dest[:, j] =
plane[j]``: a third faster than one transposing copy, and no intermediate array). The
data's CRC-32 (:mod:`spinecoach.io.native_checks`) is computed by
:func:`read_dataset` as the rows are filled, chunk after chunk in row order, so a
dataset is read once, not once for its data and again for its checksum. The six
sensor datasets of an hour of two sensors (42 MB of float64) read in about 0.070 s of
CPU with their checksums, of which inflation is 0.040 s, the unshuffling 0.014 s and
the CRC 0.010 s; h5py's own read of them, unbounded and unchecked, takes 0.050 s
(0.059 s with the CRC computed after), measured on this 2-core machine while busy.
"""

from __future__ import annotations

import zlib
from itertools import product
from pathlib import Path
from typing import Any, Final

import h5py
import numpy as np

from spinecoach.errors import InputFormatError
from spinecoach.io.native_checks import (
    DAMAGED_DATA_FIX,
    checksum_mismatch,
    crc32_of,
    stored_checksum,
)

#: Most chunks one dataset may have (a dataset at the row limit in chunks of 305 rows):
#: more would only make reading slow.
MAX_CHUNKS: Final = 65536
_SHUFFLE: Final = 2  # HDF5's filter ids (h5py.h5z.FILTER_SHUFFLE, FILTER_DEFLATE)
_DEFLATE: Final = 1
_FILTER_NAMES: Final = {3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset", 32000: "lzf"}
_REWRITE_FIX: Final = (
    "Write the recording again with spinecoach, or repack it with "
    "`h5repack -f SHUF -f GZIP=1 IN.screc OUT.screc`"
)
#: Widest values unshuffled one byte plane at a time (wider: one transposing copy).
_PLANE_BYTES: Final = 16


def read_dataset(dataset: h5py.Dataset, source: Path) -> np.ndarray[Any, Any]:
    """The whole of ``dataset`` (whose declared size was checked), at bounded memory,
    its CRC-32 checked when it has one.

    A contiguous dataset is read by HDF5. A chunked one is decoded here, chunk by chunk:
    the stored bytes of a chunk are checked against its size before they are read, and
    the shuffle and deflate filters are undone with the inflation capped at the chunk's
    size, so a chunk that would expand beyond it (HDF5 would inflate it in full) is
    refused naming the dataset. Other filters are refused too (spinecoach writes only
    these two). The checksum is computed as the chunks are decoded; a mismatch is
    refused naming the dataset. Raises :class:`~spinecoach.errors.InputFormatError`.
    """
    stored = stored_checksum(dataset, source)
    values, crc = _read(dataset, source, 0, None, None if stored is None else 0)
    if stored is not None:
        checksum_mismatch(dataset, source, stored, crc)
    return values


def read_rows(
    dataset: h5py.Dataset, source: Path, start: int = 0, stop: int | None = None
) -> np.ndarray[Any, Any]:
    """Rows ``start:stop`` of ``dataset`` as :func:`read_dataset` reads them (only the
    chunks that hold them are decoded; no checksum): for readers that go through a long
    recording a slice at a time, such as the posture batch path."""
    return _read(dataset, source, start, stop, None)[0]


def read_rows_crc(
    dataset: h5py.Dataset, source: Path, start: int, stop: int, crc: int
) -> tuple[np.ndarray[Any, Any], int]:
    """:func:`read_rows` and the CRC-32 of the rows' bytes continued from ``crc``
    (:func:`~spinecoach.io.native_checks.crc32_of`), computed as each chunk is decoded:
    reading rows in order from 0 with the CRC carried from one call to the next gives
    the whole dataset's CRC at bounded memory."""
    return _read(dataset, source, start, stop, crc)


def _read(
    dataset: h5py.Dataset, source: Path, start: int, stop: int | None, crc: int | None
) -> tuple[np.ndarray[Any, Any], int]:
    """Rows ``start:stop`` and their CRC-32 continued from ``crc`` (0 and not computed
    when ``crc`` is None)."""
    if not dataset.shape:
        values = np.asarray(dataset[()])
        return values, 0 if crc is None else crc32_of(values, crc)
    shape = tuple(int(n) for n in dataset.shape)
    stop = shape[0] if stop is None else max(0, min(stop, shape[0]))
    start = max(0, min(start, stop))
    if dataset.chunks is None:
        values = np.asarray(dataset[start:stop])
        return values, 0 if crc is None else crc32_of(values, crc)
    where = dataset.name or "?"
    chunks = tuple(int(n) for n in dataset.chunks)
    dtype = dataset.dtype
    filters = _filters(dataset, source)
    _check_chunk_count(source, where, shape, chunks)
    size = dtype.itemsize
    chunk_bytes = int(np.prod(chunks, dtype=np.float64)) * size
    limit = chunk_bytes + chunk_bytes // 1000 + 64 if _DEFLATE in filters else chunk_bytes
    fixed = dtype.kind != "O"  # variable-length text: checked here, read by HDF5
    out = np.empty((stop - start, *shape[1:]), dtype=dtype) if fixed else np.empty(0)
    # Chunks spanning whole rows fill a contiguous run of ``out``: unshuffled into it,
    # and its CRC continued there, chunk after chunk in row order.
    whole_rows = fixed and chunks[1:] == shape[1:]
    flat = out.reshape(-1).view(np.uint8).reshape(-1, size) if whole_rows else None
    row_values = int(np.prod(chunks[1:], dtype=np.float64))
    first = start // chunks[0] * chunks[0]
    grid = [range(first, stop, chunks[0])]
    grid += [range(0, n, c) for n, c in zip(shape[1:], chunks[1:], strict=True)]
    dataset_id = dataset.id
    for offset in product(*grid):
        lo, hi = max(offset[0], start), min(offset[0] + chunks[0], stop)
        spans = zip(offset[1:], chunks[1:], shape[1:], strict=True)
        others = [slice(o, min(o + c, n)) for o, c, n in spans]
        target = (slice(lo - start, hi - start), *others)
        into = slice((lo - start) * row_values, (hi - start) * row_values)
        info = dataset_id.get_chunk_info_by_coord(offset)
        if info.byte_offset is None:  # never written: the fill value, as HDF5 reads it
            if fixed:
                out[target] = dataset.fillvalue
            if flat is not None and crc is not None:
                crc = zlib.crc32(flat[into].data, crc)
            continue
        if info.size > limit:
            raise _bad_chunk(source, where, offset, f"{info.size:,} bytes stored", chunk_bytes)
        mask, stored = dataset_id.read_direct_chunk(offset)
        decoded = _decode_chunk(stored, int(mask), filters, chunk_bytes, size)
        if decoded is None:
            raise _bad_chunk(source, where, offset, "it does not decode to that", chunk_bytes)
        data, shuffled = decoded
        raw = np.frombuffer(data, np.uint8)
        a, b = (lo - offset[0]) * row_values, (hi - offset[0]) * row_values
        if flat is not None:
            if shuffled:
                _unshuffle_into(flat[into], raw.reshape(size, -1)[:, a:b])
            else:
                flat[into] = raw.reshape(-1, size)[a:b]
            if crc is not None:
                crc = zlib.crc32(flat[into].data, crc)
        elif fixed:
            values = _unshuffled(raw, size) if shuffled else raw
            piece = values.reshape(-1).view(dtype).reshape(chunks)
            inner = (
                slice(lo - offset[0], hi - offset[0]),
                *(slice(0, t.stop - t.start) for t in others),
            )
            out[target] = piece[inner]
    if not fixed:
        values = np.asarray(dataset[start:stop])
        return values, 0 if crc is None else crc32_of(values, crc)
    if crc is None:
        return out, 0
    return out, crc if flat is not None else crc32_of(out, crc)


def _check_chunk_count(
    source: Path, where: str, shape: tuple[int, ...], chunks: tuple[int, ...]
) -> None:
    """Refuse a dataset split into more than :data:`MAX_CHUNKS` chunks."""
    count = int(np.prod([-(-n // c) for n, c in zip(shape, chunks, strict=True)], dtype=float))
    if count > MAX_CHUNKS:
        raise InputFormatError(
            source,
            f"expected at most {MAX_CHUNKS:,} chunks in a dataset",
            column=where,
            found=f"{count:,} chunks of shape {chunks}",
            fix=_REWRITE_FIX,
        )


def _unshuffle_into(dest: np.ndarray[Any, Any], planes: np.ndarray[Any, Any]) -> None:
    """Undo HDF5's byte shuffle: ``planes`` (itemsize, n) holds byte j of every value
    in row j; ``dest`` (n, itemsize) receives the values' bytes in order."""
    if planes.shape[0] > _PLANE_BYTES:
        dest[...] = planes.T
        return
    for j, plane in enumerate(planes):
        dest[:, j] = plane


def _unshuffled(data: np.ndarray[Any, Any], itemsize: int) -> np.ndarray[Any, Any]:
    """The bytes of a whole shuffled chunk in value order (a new array)."""
    planes = data.reshape(itemsize, -1)
    values = np.empty((planes.shape[1], itemsize), np.uint8)
    _unshuffle_into(values, planes)
    return values.reshape(-1)


def _filters(dataset: h5py.Dataset, source: Path) -> list[int]:
    """The dataset's filter pipeline (ids, in writing order), only shuffle and deflate."""
    plist = dataset.id.get_create_plist()
    ids = [int(plist.get_filter(i)[0]) for i in range(plist.get_nfilters())]
    other = [i for i in ids if i not in (_SHUFFLE, _DEFLATE)]
    if other:
        name = _FILTER_NAMES.get(other[0], f"filter {other[0]}")
        raise InputFormatError(
            source,
            "expected datasets stored contiguous or with HDF5's shuffle and deflate (gzip) "
            "filters, as spinecoach writes them",
            column=dataset.name,
            found=f"the {name} filter",
            fix=_REWRITE_FIX,
        )
    return ids


def _decode_chunk(
    stored: bytes, mask: int, filters: list[int], chunk_bytes: int, itemsize: int
) -> tuple[bytes, bool] | None:
    """Undo ``filters`` in reverse order, skipping those the chunk's ``mask`` says were
    not applied, and return the bytes with whether they are still byte-shuffled (the
    caller undoes a last shuffle as it copies them out); None when the data is not
    exactly ``chunk_bytes`` long (inflation stops there)."""
    steps = [f for i, f in enumerate(filters) if not mask & (1 << i)]
    data, shuffled = stored, False
    for step in reversed(steps):
        if shuffled:  # a shuffle before another filter: undone here
            if len(data) != chunk_bytes:
                return None
            data = _unshuffled(np.frombuffer(data, np.uint8), itemsize).tobytes()
            shuffled = False
        if step == _DEFLATE:
            inflater = zlib.decompressobj()
            try:
                data = inflater.decompress(data, chunk_bytes)  # never more than a chunk
            except zlib.error:
                return None
            if inflater.unconsumed_tail or not inflater.eof:
                return None  # more than a chunk, or cut short
        else:
            shuffled = True
    return (data, shuffled) if len(data) == chunk_bytes else None


def _bad_chunk(
    source: Path, where: str, offset: tuple[int, ...], found: str, chunk_bytes: int
) -> InputFormatError:
    return InputFormatError(
        source,
        f"expected the chunk at row {offset[0]:,} of dataset {where} to hold "
        f"{chunk_bytes:,} bytes of data",
        column=where,
        found=f"{found}: the chunk is damaged",
        fix=DAMAGED_DATA_FIX,
    )
