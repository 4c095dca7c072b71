"""Size and row limits of every importer, checked before the data is read.

A hostile or broken file must cost bounded time and memory and end in a clear
:class:`~spinecoach.errors.InputFormatError` naming the file, the limit and the fix,
never in a ``MemoryError`` (a zip bomb once took the Sensor Logger reader to 7.4 GB).

The limits, and why these numbers (generous for real recordings):

* :data:`MAX_TEXT_BYTES` = 3 GiB per text file (a CSV, or one member of a zip). A day
  at 100 Hz of two 9-axis sensors in ONE CSV (time + 18 columns, about 200 bytes a
  line) is about 1.8 GB; a day of one Sensor Logger stream about 0.7 GB. Reading a
  text file holds about three times its size while it is split into lines, so the
  limit also bounds memory (about 10 GB at worst on the 24 GiB machines we target).
* :data:`MAX_ROWS` = 20,000,000 rows per file or dataset: a day at 200 Hz (17.3 M), or
  2.3 days at 100 Hz. Counted before the text is split into lines (a file of very short
  lines would otherwise cost a Python string of ~50 bytes for every 4-byte line).
* Zip archives (the phone apps' exports): at most :data:`MAX_ZIP_MEMBERS` = 10,000
  entries (an export has a few dozen), at most :data:`MAX_ZIP_TOTAL_BYTES` = 16 GiB
  declared uncompressed in all entries together, each entry at most ``MAX_TEXT_BYTES``
  declared, and an entry above 64 MiB may not expand more than
  :data:`MAX_ZIP_RATIO` = 100 times (sensor CSV compresses 3–5 times; a zip bomb of
  zeros about 1000 times). The declared sizes can lie, so the bound is also kept
  while inflating (:func:`read_bounded`): reading stops one chunk past the limit.
* The archive file itself: at most :data:`MAX_ARCHIVE_BYTES` = 4 GiB on disk.
* Camera landmark and motion-capture reference files (KERAAL's BlazePose JSON and
  Vicon text, read whole by :mod:`spinecoach.camera.keraal`): at most
  :data:`MAX_SIDE_FILE_BYTES` = 512 MiB (a one-minute KERAAL trial is 0.5 MB, so
  this is hours; parsing JSON takes several times the file's size in memory).
* Native recordings (HDF5): every dataset's declared shape is checked against
  ``MAX_ROWS`` before it is read, its element size against 8 bytes (numbers) or
  :data:`MAX_TEXT_WIDTH` (fixed-width text), and all datasets of one file together
  against :data:`MAX_RECORDING_BYTES` = 8 GiB (a day at 100 Hz of two sensors with
  magnetometers is 1.4 GB): a 1.7 MB file can declare 1.5e9 rows (a chunked dataset
  with nothing written) and would otherwise ask for 11 GiB of zeros.

>>> import io
>>> read_bounded(io.BytesIO(b"abc"), limit_bytes=10, source="a.csv", fix="-")
b'abc'
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO, Final

from spinecoach.errors import InputFormatError

GIB: Final = 1 << 30
MIB: Final = 1 << 20
MAX_TEXT_BYTES: Final = 3 * GIB
MAX_ROWS: Final = 20_000_000
MAX_ZIP_MEMBERS: Final = 10_000
MAX_ZIP_TOTAL_BYTES: Final = 16 * GIB
MAX_ZIP_RATIO: Final = 100.0
ZIP_RATIO_FROM_BYTES: Final = 64 * MIB
MAX_ARCHIVE_BYTES: Final = 4 * GIB
MAX_SIDE_FILE_BYTES: Final = 512 * MIB
MAX_TEXT_WIDTH: Final = 65_536
MAX_RECORDING_BYTES: Final = 8 * GIB
READ_CHUNK_BYTES: Final = 4 * MIB

FIX_SPLIT: Final = (
    "Split the recording into shorter files (for example one per day) and import them one by one"
)
FIX_ARCHIVE: Final = (
    "This is not a phone app's export (or it is damaged): export the recording again "
    "from the app, or unzip it yourself and pass the folder of CSV files"
)


def size_text(n_bytes: int | float) -> str:
    """A byte count in words: ``'3 GiB'``, ``'64 MiB'``, ``'512 bytes'``."""
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", 1024)):
        if n_bytes >= size:
            value = n_bytes / size
            return f"{value:.3g} {unit}"
    return f"{int(n_bytes)} bytes"


def too_large(source: str | Path, what: str, found: str, fix: str) -> InputFormatError:
    """The error for input above a limit: ``what`` states the limit (``"at most ..."``)."""
    return InputFormatError(source, f"expected {what}", found=found, fix=fix)


def check_file_bytes(path: Path, *, limit_bytes: int = MAX_TEXT_BYTES) -> None:
    """Refuse a file on disk larger than ``limit_bytes`` before reading it."""
    try:
        size = path.stat().st_size
    except OSError:
        return  # the read that follows gives the precise error
    if size > limit_bytes:
        raise too_large(
            path,
            f"a text file of at most {size_text(limit_bytes)} (spinecoach's import limit)",
            f"{size_text(size)}",
            FIX_SPLIT,
        )


def read_bounded(stream: IO[bytes], *, limit_bytes: int, source: str | Path, fix: str) -> bytes:
    """Read ``stream`` to its end, refusing it as soon as it passes ``limit_bytes``.

    Reads in chunks of :data:`READ_CHUNK_BYTES`, so memory stays within the limit plus
    one chunk whatever the stream's declared size said (a zip entry inflating past it).
    """
    parts: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(READ_CHUNK_BYTES)
        if not chunk:
            return b"".join(parts)
        total += len(chunk)
        if total > limit_bytes:
            raise too_large(
                source,
                f"at most {size_text(limit_bytes)} of data (spinecoach's import limit)",
                f"more than that while reading ({size_text(total)} so far)",
                fix,
            )
        parts.append(chunk)


def check_rows(source: str | Path, rows: int, *, limit: int = MAX_ROWS) -> None:
    """Refuse a table of more than ``limit`` rows (counted before it is split)."""
    if rows > limit:
        raise too_large(
            source,
            f"at most {limit:,} rows (a day at 200 Hz; spinecoach's import limit)",
            f"{rows:,} rows",
            FIX_SPLIT,
        )


def check_text_rows(source: str | Path, text: str) -> None:
    """Refuse ``text`` holding more than :data:`MAX_ROWS` lines (plus the header)."""
    newlines = text.count("\n") or text.count("\r")
    check_rows(source, max(0, newlines - 1))


def check_archive(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse a zip whose file, entry count or declared sizes pass the limits, before
    anything is inflated."""
    size = path.stat().st_size
    if size > MAX_ARCHIVE_BYTES:
        raise too_large(
            path,
            f"a zip of at most {size_text(MAX_ARCHIVE_BYTES)} (spinecoach's import limit)",
            size_text(size),
            FIX_SPLIT,
        )
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise too_large(
            path,
            f"a zip of at most {MAX_ZIP_MEMBERS:,} entries (spinecoach's import limit)",
            f"{len(infos):,} entries",
            FIX_ARCHIVE,
        )
    total = sum(info.file_size for info in infos)
    if total > MAX_ZIP_TOTAL_BYTES:
        raise too_large(
            path,
            f"a zip that unpacks to at most {size_text(MAX_ZIP_TOTAL_BYTES)} "
            "(spinecoach's import limit)",
            f"{size_text(total)} declared by its entries",
            FIX_ARCHIVE,
        )


def check_archive_member(source: str, info: zipfile.ZipInfo) -> None:
    """Refuse one zip entry whose declared size or compression ratio passes the limits."""
    if info.file_size > MAX_TEXT_BYTES:
        raise too_large(
            source,
            f"an entry of at most {size_text(MAX_TEXT_BYTES)} unpacked (spinecoach's import limit)",
            f"{size_text(info.file_size)} declared",
            FIX_SPLIT,
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > ZIP_RATIO_FROM_BYTES and ratio > MAX_ZIP_RATIO:
        raise too_large(
            source,
            f"an entry that expands at most {MAX_ZIP_RATIO:g} times (sensor CSV expands "
            "3-5 times; spinecoach's import limit)",
            f"{size_text(info.compress_size)} expanding {ratio:.0f} times to "
            f"{size_text(info.file_size)} (a zip bomb?)",
            FIX_ARCHIVE,
        )
