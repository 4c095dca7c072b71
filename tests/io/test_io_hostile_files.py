"""Hostile and damaged files (issue 16, "Hostile files"): every importer refuses input
above its limits with a clear error and bounded memory, and a damaged native
recording is refused naming the dataset.

The files that would make the code before the limits allocate gigabytes are read in
a child process with its address space capped (``RLIMIT_AS``): there the old code
ends in ``MemoryError`` (the test fails) instead of exhausting the machine, and the
child reports its peak memory (``ru_maxrss``) so each test also bounds the memory
the refusal costs.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
from io_testdata import full_recording, sensor
from typer.testing import CliRunner

from spinecoach.cli import app
from spinecoach.errors import InputFormatError
from spinecoach.io import load_recording, read_recording, read_sensor_logger, write_recording
from spinecoach.io.limits import (
    MAX_ROWS,
    MAX_TEXT_BYTES,
    MAX_ZIP_MEMBERS,
    READ_CHUNK_BYTES,
    read_bounded,
)
from spinecoach.io.native_checks import CHECKSUM_ATTR
from spinecoach.posture import posture_process
from spinecoach.recording import Recording

GIB = 1 << 30
MIB = 1 << 20
CHILD_ADDRESS_SPACE = 3 * GIB  # the child may not map more: old code → MemoryError
MAX_GROWTH_MIB = 200  # a refusal may cost this much memory above the child's start

ROW = b"0,0,0,0,0\n"  # a Sensor Logger row (time, seconds_elapsed, z, y, x)
SL_HEADER = b"time,seconds_elapsed,z,y,x\n"
SL_SMALL = SL_HEADER + b"".join(
    f"{i * 10_000_000},{i / 100},0.01,0.02,0.03\n".encode() for i in range(200)
)
SL_METADATA = b"version,device name,recording time,platform\n1.30,Pixel,2025-06-15,android\n"


# A child process with its address space capped ---------------------------------------
_CHILD = """
import importlib, json, resource, sys
from pathlib import Path
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
module, name, path, as_path = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1"
function = getattr(importlib.import_module(module), name)
start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    function(Path(path) if as_path else path)
    out = {"type": None, "message": ""}
except BaseException as exc:
    out = {"type": type(exc).__name__, "message": str(exc)[:3000]}
out["growth_mib"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) / 1024
print(json.dumps(out))
"""


def _in_child(module: str, name: str, path: Path, *, as_path: bool = False) -> dict[str, object]:
    flag = "1" if as_path else "0"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(CHILD_ADDRESS_SPACE), module, name, str(path), flag],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _refused(result: dict[str, object], *words: str) -> str:
    """The child's message, checked to be a bounded InputFormatError holding ``words``."""
    message = str(result["message"])
    assert result["type"] == "InputFormatError", result
    for word in words:
        assert word in message, (word, message)
    assert float(str(result["growth_mib"])) < MAX_GROWTH_MIB, result
    return message


# Zip files built byte by byte (a zip bomb without inflating it) ----------------------
def _gf2_times(matrix: list[int], vector: int) -> int:
    total, index = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[index]
        vector >>= 1
        index += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """zlib's crc32_combine: the CRC of A+B from crc(A), crc(B) and len(B)."""
    if len2 == 0:
        return crc1
    odd = [0xEDB88320] + [1 << (n - 1) for n in range(1, 32)]
    even = _gf2_square(odd)
    odd = _gf2_square(even)
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def _deflated(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def bomb_member(chunk_rows: int, repeats: int) -> tuple[bytes, int, int]:
    """A Sensor Logger CSV of ``chunk_rows * repeats`` rows of zeros, deflated without
    inflating it: after a full flush deflate forgets its history, so every chunk of
    rows compresses to the same bytes, which are repeated. Returns (deflated data,
    CRC-32, uncompressed size)."""
    chunk = ROW * chunk_rows
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(SL_HEADER) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    assert block == again
    crc = zlib.crc32(SL_HEADER)
    chunk_crc, chunk_len = zlib.crc32(chunk), len(chunk)
    n = repeats
    while n:  # crc of the chunk repeated, by doubling
        if n & 1:
            crc = crc32_combine(crc, chunk_crc, chunk_len)
        chunk_crc = crc32_combine(chunk_crc, chunk_crc, chunk_len)
        chunk_len *= 2
        n >>= 1
    data = head + block * repeats + packer.flush()
    return data, crc, len(SL_HEADER) + len(chunk) * repeats


def write_raw_zip(path: Path, members: list[tuple[str, bytes, int, int]]) -> Path:
    """A zip of deflated members given as (name, deflated data, crc, uncompressed size)."""
    out = io.BytesIO()
    central = []
    for name, data, crc, size in members:
        offset = out.tell()
        raw = name.encode()
        fields = (20, 0, 8, 0, 0x21, crc, len(data), size, len(raw), 0)
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields) + raw + data)
        central.append(
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                20,
                *fields[:-1],
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + raw
        )
    start = out.tell()
    directory = b"".join(central)
    out.write(directory)
    n = len(members)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(directory), start, 0))
    path.write_bytes(out.getvalue())
    return path


def _plain(name: str, data: bytes) -> tuple[str, bytes, int, int]:
    return name, _deflated(data), zlib.crc32(data), len(data)


def sensor_logger_bomb(path: Path, chunk_rows: int, repeats: int) -> Path:
    data, crc, size = bomb_member(chunk_rows, repeats)
    return write_raw_zip(
        path,
        [
            _plain("Metadata.csv", SL_METADATA),
            ("TotalAcceleration.csv", data, crc, size),
            _plain("Gyroscope.csv", SL_SMALL),
        ],
    )


def test_the_bomb_builder_writes_a_valid_zip(tmp_path: Path) -> None:
    path = sensor_logger_bomb(tmp_path / "small.zip", chunk_rows=1000, repeats=5)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None  # every CRC right
        text = archive.read("TotalAcceleration.csv")
    assert text == SL_HEADER + ROW * 5000


# Zip bombs and archives over the limits ----------------------------------------------
def test_zip_bomb_is_refused_before_inflating_with_bounded_memory(tmp_path: Path) -> None:
    # 3.5 GiB of CSV declared, in a zip of a few MB (the finding: 7.4 GB RSS, MemoryError).
    path = sensor_logger_bomb(tmp_path / "bomb.zip", chunk_rows=1 << 20, repeats=358)
    assert path.stat().st_size < 10 * MIB
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("TotalAcceleration.csv").file_size > MAX_TEXT_BYTES
    for module, name in (
        ("spinecoach.io", "read_sensor_logger"),
        ("spinecoach.io", "load_recording"),
    ):
        message = _refused(
            _in_child(module, name, path),
            f"{path}/TotalAcceleration.csv",
            "at most 3 GiB unpacked",
            "3.5 GiB declared",
            "Split the recording",
        )
        assert message.startswith(str(path))


def test_zip_bomb_under_the_size_limit_is_refused_by_its_expansion(tmp_path: Path) -> None:
    path = sensor_logger_bomb(tmp_path / "bomb.zip", chunk_rows=1 << 20, repeats=26)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("TotalAcceleration.csv")
    assert 256 * MIB < info.file_size < MAX_TEXT_BYTES
    _refused(
        _in_child("spinecoach.io", "read_sensor_logger", path),
        "TotalAcceleration.csv",
        "expands at most 100 times",
        "a zip bomb?",
        "unzip it yourself and pass the folder",
    )


def test_zip_with_too_many_entries_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("TotalAcceleration.csv", SL_SMALL)
        archive.writestr("Gyroscope.csv", SL_SMALL)
        for i in range(MAX_ZIP_MEMBERS):
            archive.writestr(f"junk/{i}.txt", b"")
    with pytest.raises(InputFormatError) as caught:
        read_sensor_logger(path)
    assert str(caught.value).startswith(f"{path}: expected a zip of at most 10,000 entries")
    assert "10,002 entries" in str(caught.value)
    assert "unzip it yourself" in str(caught.value)


class _CountingStream(io.RawIOBase):
    """An endless stream of zeros that counts what was read from it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = 1 << 30 if size is None or size < 0 else size
        self.read_bytes += size
        return bytes(size)


def test_reading_stops_one_chunk_past_the_limit_whatever_was_declared() -> None:
    stream = _CountingStream()
    with pytest.raises(InputFormatError) as caught:
        read_bounded(stream, limit_bytes=10 * MIB, source="x.zip/a.csv", fix="Do this")
    assert stream.read_bytes <= 10 * MIB + READ_CHUNK_BYTES
    assert str(caught.value).startswith("x.zip/a.csv: expected at most 10 MiB of data")
    assert str(caught.value).endswith("Do this")
    assert read_bounded(io.BytesIO(b"12345"), limit_bytes=5, source="a", fix="-") == b"12345"


# Text files over the limits ------------------------------------------------------------
def _sparse(path: Path, first_line: bytes, size: int) -> Path:
    with path.open("wb") as handle:
        handle.write(first_line)
        handle.truncate(size)  # a hole: no disk used, but this is the file's size
    return path


def test_csv_files_over_the_byte_limit_are_refused_before_reading(tmp_path: Path) -> None:
    header = b"time_s,acc_x_mps2,acc_y_mps2,acc_z_mps2,gyr_x_dps,gyr_y_dps,gyr_z_dps\n"
    huge = _sparse(tmp_path / "huge.csv", header, MAX_TEXT_BYTES + GIB // 2)
    for module, name in (
        ("spinecoach.io", "read_csv"),
        ("spinecoach.io", "load_recording"),
        ("spinecoach.io.reference", "load_reference_csv"),
    ):
        _refused(
            _in_child(module, name, huge, as_path=True),
            str(huge),
            "at most 3 GiB",
            "found '3.5 GiB'",
            "Split the recording into shorter files",
        )
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Gyroscope.csv").write_bytes(SL_SMALL)
    (folder / "Metadata.csv").write_bytes(SL_METADATA)
    _sparse(folder / "TotalAcceleration.csv", SL_HEADER, MAX_TEXT_BYTES + GIB // 2)
    _refused(
        _in_child("spinecoach.io", "read_sensor_logger", folder),
        "TotalAcceleration.csv",
        "at most 3 GiB",
    )


def test_csv_over_the_row_limit_is_refused_before_it_is_split(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(
        b"time_s,acc_x_mps2,acc_y_mps2,acc_z_mps2,gyr_x_dps,gyr_y_dps,gyr_z_dps\n"
        + b"0\n" * (MAX_ROWS + 1)
    )
    _refused(
        _in_child("spinecoach.io", "read_csv", path),
        str(path),
        "expected at most 20,000,000 rows",
        "20,000,001 rows",
        "Split the recording",
    )


def test_a_day_at_100_hz_of_two_sensors_is_within_the_limits() -> None:
    rows = 24 * 3600 * 100
    # time + 2 × 9 axes at about 11 characters each, in one CSV: well under the limits.
    assert rows <= MAX_ROWS and rows * (1 + 18) * 11 < MAX_TEXT_BYTES


# HDF5 files declaring more than they hold ----------------------------------------------
def _replace(path: Path, name: str, **dataset: object) -> Path:
    with h5py.File(path, "r+") as f:
        del f[name]
        f.create_dataset(name, **dataset)  # type: ignore[arg-type]
    return path


def test_hdf5_declaring_1_5e9_rows_is_refused_before_reading(tmp_path: Path) -> None:
    path = write_recording(full_recording(), tmp_path / "huge.screc")
    _replace(path, "sensors/lower/time_s", shape=(1_500_000_000,), dtype="<f8", chunks=(4096,))
    assert path.stat().st_size < 2 * MIB  # nothing written: it only declares 11 GiB
    for module, name in (
        ("spinecoach.io", "read_recording"),
        ("spinecoach.io", "load_recording"),
        ("spinecoach.posture", "posture_process"),
    ):
        message = _refused(
            _in_child(module, name, path),
            "column '/sensors/lower/time_s'",
            "expected at most 20,000,000 rows",
            "shape (1500000000,) declared",
        )
        assert message.startswith(str(path))


def test_hdf5_text_of_absurd_width_is_refused_before_reading(tmp_path: Path) -> None:
    path = write_recording(full_recording(), tmp_path / "wide.screc")
    _replace(path, "events/kind", shape=(100_000,), dtype="S100000", chunks=(16,))
    _refused(
        _in_child("spinecoach.io", "read_recording", path),
        "column '/events/kind'",
        "text of at most 65,536 bytes a value",
    )


def test_hdf5_datasets_over_the_total_limit_are_refused_before_reading(tmp_path: Path) -> None:
    path = write_recording(full_recording(), tmp_path / "many.screc")
    rows = MAX_ROWS  # each dataset alone is within the row limit (160 MB)
    with h5py.File(path, "r+") as f:
        del f["truth"]
        truth = f.create_group("truth")
        truth.create_dataset("time_s", shape=(rows,), dtype="<f8", chunks=(4096,))
        series = truth.create_group("series")
        names = [f"s{i:02d}" for i in range(60)]
        for name in names:
            series.create_dataset(name, shape=(rows,), dtype="<f8", chunks=(4096,))
        series.attrs["order"] = np.array([n.encode() for n in names])
    _refused(
        _in_child("spinecoach.io", "read_recording", path),
        "expected at most 8 GiB of data in all datasets",
        "declared up to this dataset",
    )


# Damaged native recordings --------------------------------------------------------------
def _damage(path: Path, dataset: str, *, at: int = 4096, size: int = 4096) -> None:
    """Write ``size`` random bytes into the stored data of ``dataset``."""
    with h5py.File(path, "r") as f:
        offset = f[dataset].id.get_offset()
        assert offset is not None and f[dataset].nbytes >= at + size
    with path.open("r+b") as handle:
        handle.seek(offset + at)
        handle.write(np.random.default_rng(16).bytes(size))


def _long_recording() -> Recording:
    return Recording.create({"lower": sensor("lower", 6000, seed=3)})


def test_damaged_recording_is_refused_naming_the_dataset(tmp_path: Path) -> None:
    path = write_recording(_long_recording(), tmp_path / "damaged.screc")
    _damage(path, "sensors/lower/acc_mps2")
    for read in (read_recording, load_recording, posture_process):
        with pytest.raises(InputFormatError) as caught:
            read(path)  # type: ignore[operator]
        error = caught.value
        assert error.column == "/sensors/lower/acc_mps2"
        assert "expected the data of dataset /sensors/lower/acc_mps2 to match its checksum" in (
            str(error)
        )
        assert "restore it from a backup" in str(error)


def test_damaged_recording_is_not_analysed(tmp_path: Path) -> None:
    path = write_recording(_long_recording(), tmp_path / "damaged.screc")
    _damage(path, "sensors/lower/gyr_dps")
    result = CliRunner().invoke(app, ["analyze", str(path)])
    assert result.exit_code == 2, result.output
    assert "/sensors/lower/gyr_dps" in result.output and "checksum" in result.output


def test_damaged_event_text_is_refused_naming_the_dataset(tmp_path: Path) -> None:
    path = write_recording(full_recording(), tmp_path / "events.screc")
    with h5py.File(path, "r") as f:
        offset = f["events/label"].id.get_offset()
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(b"X")
    with pytest.raises(InputFormatError) as caught:
        read_recording(path)
    assert caught.value.column == "/events/label"


def test_every_dataset_carries_the_crc32_of_its_stored_bytes(tmp_path: Path) -> None:
    path = write_recording(full_recording(), tmp_path / "crc.screc")
    seen: list[str] = []

    def check(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Dataset):
            assert int(obj.attrs[CHECKSUM_ATTR]) == zlib.crc32(obj[()].tobytes()), name
            seen.append(name)

    with h5py.File(path, "r") as f:
        f.visititems(check)
    assert "sensors/lower/acc_mps2" in seen and "events/kind" in seen
    assert "truth/series/lumbar_flexion_deg" in seen


def test_recordings_written_before_checksums_still_load(tmp_path: Path) -> None:
    rec = full_recording()
    path = write_recording(rec, tmp_path / "old.screc")

    def strip(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Dataset):
            del obj.attrs[CHECKSUM_ATTR]

    with h5py.File(path, "r+") as f:
        f.visititems(strip)
        assert all(CHECKSUM_ATTR not in f[n].attrs for n in ("sensors/lower/time_s",))
    assert read_recording(path).equals(rec)
    assert posture_process(path).placements == ("lower", "upper")


def test_a_checksum_that_is_not_a_number_is_named(tmp_path: Path) -> None:
    path = write_recording(full_recording(), tmp_path / "bad.screc")
    with h5py.File(path, "r+") as f:
        f["sensors/upper/time_s"].attrs[CHECKSUM_ATTR] = -5
    with pytest.raises(InputFormatError) as caught:
        read_recording(path)
    assert caught.value.column == "/sensors/upper/time_s@crc32"


def test_landmark_and_reference_files_over_their_limit_are_refused(tmp_path: Path) -> None:
    from spinecoach.io.formats import load_landmarks, load_reference
    from spinecoach.io.limits import MAX_SIDE_FILE_BYTES

    pose = _sparse(tmp_path / "pose.json", b"[", MAX_SIDE_FILE_BYTES + MIB)
    with pytest.raises(InputFormatError, match=r"expected a text file of at most 512 MiB"):
        load_landmarks(pose, format="keraal-blazepose")
    vicon = _sparse(tmp_path / "vicon.txt", b"0", MAX_SIDE_FILE_BYTES + MIB)
    with pytest.raises(InputFormatError, match=r"found '513 MiB'"):
        load_reference(vicon, format="keraal-vicon")
