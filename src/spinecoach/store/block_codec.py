"""How a live session's blocks of float64 rows are compressed (issue 17 item 4): the
sample blocks (``sample_blocks.data``), the angle blocks of camera sessions
(``angle_blocks.data``) and the unsaved blocks a session holds while the disk is full.

Format written since issue 17 (``shuffle-zstd``)::

    b"SCZ\\x01"  uint32 n_rows  uint16 n_columns  (little-endian)  zstd frame

The zstd frame holds the rows transposed to columns (each column contiguous: time,
then acc x …) and then byte-shuffled (all first bytes of the float64 values, then all
second bytes, …), the filter HDF5 and Blosc call *shuffle*: the sign/exponent bytes of a
sensor column barely change, so zstd finds long runs. Measured on simulated 100 Hz
two-sensor blocks of 50 rows (``bench/compression.py``): about 0.83 of the raw size and
about 6× less CPU than zlib level 1 (0.96 of the raw size) that blocks used before.

Why this and not zlib, Blosc or an HDF5 filter: zstd is the standard fast codec (in the
standard library from Python 3.14 as ``compression.zstd``; ``backports.zstd`` — the same
module — before), the shuffle is ten lines of numpy, and the blob stays a plain zstd
frame any tool can open. The compressor context is reused per thread (making one costs
more than compressing a block).

Blocks written before (zlib streams, which start with ``0x78``) are still read,
bit-exact: the magic number tells the two apart, so no migration rewrites stored data.
Decompression is bounded by the row count the database row declares.
"""

from __future__ import annotations

import struct
import sys
import threading
import zlib
from typing import Final

import numpy as np

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

#: The first bytes of a block in this format.
MAGIC: Final = b"SCZ\x01"
_HEADER: Final = struct.Struct("<4sIH")
#: zstd level: 1 is the fastest of the standard levels, and higher ones gained < 1 %
#: on sensor blocks.
ZSTD_LEVEL: Final = 1

_local = threading.local()


class BlockCodecError(ValueError):
    """A stored block that cannot be decoded as it declares itself."""


def _compressor() -> zstd.ZstdCompressor:
    made: zstd.ZstdCompressor | None = getattr(_local, "compressor", None)
    if made is None:
        made = _local.compressor = zstd.ZstdCompressor(level=ZSTD_LEVEL)
    return made


def shuffle(rows: np.ndarray) -> bytes:
    """The rows ``(n, c)`` float64 as column-major, byte-shuffled bytes."""
    columns = np.ascontiguousarray(np.asarray(rows, dtype="<f8").T)
    return columns.view(np.uint8).reshape(-1, 8).T.tobytes()


def unshuffle(raw: bytes, n_rows: int, n_columns: int) -> np.ndarray:
    """The inverse of :func:`shuffle`: ``(n_rows, n_columns)`` float64 rows."""
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(8, n_rows * n_columns)
    columns = np.ascontiguousarray(planes.T).view("<f8").reshape(n_columns, n_rows)
    return np.ascontiguousarray(columns.T)


def encode_rows(rows: np.ndarray) -> bytes:
    """``(n, c)`` float64 rows as a block of this format (bit-exact on decoding)."""
    n_rows, n_columns = rows.shape
    body = _compressor().compress(shuffle(rows), mode=zstd.ZstdCompressor.FLUSH_FRAME)
    return _HEADER.pack(MAGIC, n_rows, n_columns) + body


def decode_rows(data: bytes, n_rows: int, n_columns: int) -> np.ndarray:
    """The ``(n_rows, n_columns)`` float64 rows of a stored block, in this format or the
    zlib of earlier versions; :class:`BlockCodecError` naming what does not match."""
    expected = n_rows * n_columns * 8
    if data[:4] != MAGIC:
        try:
            raw = zlib.decompressobj().decompress(data, expected + 1)
        except zlib.error as error:
            raise BlockCodecError(f"not a zlib stream nor a {MAGIC!r} block: {error}") from None
        return _rows(raw, n_rows, n_columns)
    if len(data) < _HEADER.size:
        raise BlockCodecError(f"a {MAGIC!r} block shorter than its {_HEADER.size}-byte header")
    _magic, rows_said, columns_said = _HEADER.unpack_from(data)
    if (rows_said, columns_said) != (n_rows, n_columns):
        raise BlockCodecError(
            f"the block says {rows_said} × {columns_said} values, its row in the database "
            f"{n_rows} × {n_columns}"
        )
    decompressor = zstd.ZstdDecompressor()
    try:  # never more than one byte past the declared size: a lying frame stays cheap
        raw = decompressor.decompress(data[_HEADER.size :], max_length=expected + 1)
    except zstd.ZstdError as error:
        raise BlockCodecError(f"its zstd frame is damaged: {error}") from None
    if len(raw) > expected:
        raise BlockCodecError(f"its zstd frame holds more than the {expected} bytes declared")
    if not decompressor.eof:
        raise BlockCodecError(f"its zstd frame is cut short ({len(raw)} of {expected} bytes)")
    if len(raw) != expected:
        raise BlockCodecError(f"expected {expected} bytes, found {len(raw)}")
    return unshuffle(raw, n_rows, n_columns)


def _rows(raw: bytes, n_rows: int, n_columns: int) -> np.ndarray:
    expected = n_rows * n_columns * 8
    if len(raw) != expected:
        raise BlockCodecError(f"expected {expected} bytes, found {len(raw)}")
    return np.frombuffer(raw, dtype="<f8").reshape(n_rows, n_columns)


__all__ = [
    "MAGIC",
    "ZSTD_LEVEL",
    "BlockCodecError",
    "decode_rows",
    "encode_rows",
    "shuffle",
    "unshuffle",
]
