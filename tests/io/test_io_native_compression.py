"""The native format's compression (issue 17 item 4): long datasets are stored in chunks
with HDF5's shuffle + deflate filters, read back bit for bit by spinecoach and by plain
h5py; files written before (contiguous) still read; a damaged or hostile chunk is refused
with a clear error at bounded memory, and the CRC-32 of the data still guards it."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
from io_testdata import full_recording, sensor

from spinecoach.errors import InputFormatError
from spinecoach.io import load_recording, read_recording, write_recording
from spinecoach.io.native import GZIP_LEVEL, STORAGE_CHUNK_ROWS
from spinecoach.io.native_chunks import read_dataset, read_rows, read_rows_crc
from spinecoach.posture import posture_process
from spinecoach.recording import Recording, SensorData

ROWS = 2 * STORAGE_CHUNK_ROWS + 123  # three chunks, the last one partly filled
MIB = 1 << 20


def _long_recording(n: int = ROWS) -> Recording:
    """Two sensors (one with magnetometer), NaN and -0.0 in the data, ground truth."""
    lower = sensor("lower", n, seed=1)
    acc = lower.acc_mps2.copy()
    acc[5, 1], acc[STORAGE_CHUNK_ROWS + 7, 2] = np.nan, -0.0
    lower = SensorData.from_arrays(
        "lower", lower.time_s, acc, lower.gyr_dps, rate_hz=100.0, mag_ut=lower.mag_ut
    )
    short = full_recording()
    return Recording.create(
        {"lower": lower, "upper": sensor("upper", n, seed=2, mag=False)},
        events=short.events,
        meta=dict(short.meta),
    )


Layout = tuple[tuple[int, ...] | None, str | None, object, bool]


def _datasets(path: Path) -> dict[str, Layout]:
    """Each dataset's (chunks, compression, compression level, shuffle)."""
    found: dict[str, Layout] = {}

    def visit(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Dataset):
            found[name] = (obj.chunks, obj.compression, obj.compression_opts, obj.shuffle)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return found


def test_a_long_recording_is_stored_compressed_and_reads_back_bit_for_bit(tmp_path: Path) -> None:
    rec = _long_recording()
    path = write_recording(rec, tmp_path / "long.screc")
    layout = _datasets(path)
    for name in ("sensors/lower/acc_mps2", "sensors/lower/time_s", "sensors/upper/gyr_dps"):
        chunks, compression, level, shuffle = layout[name]
        assert chunks is not None and chunks[0] == STORAGE_CHUNK_ROWS and compression == "gzip", (
            name
        )
        assert level == GZIP_LEVEL and shuffle, name
    assert layout["events/kind"][0] is None  # short: contiguous
    back = read_recording(path)
    assert back.equals(rec)
    for placement, sensor_data in rec.sensors.items():
        for column in ("time_s", "acc_mps2", "gyr_dps", "mag_ut"):
            wrote = getattr(sensor_data, column)
            read = getattr(back.sensors[placement], column)
            if wrote is not None:
                assert read.tobytes() == np.ascontiguousarray(wrote, "<f8").tobytes()
    assert load_recording(path).equals(rec)
    raw = sum(
        a.nbytes
        for s in rec.sensors.values()
        for a in (s.time_s, s.acc_mps2, s.gyr_dps, s.mag_ut)
        if a is not None
    )
    assert path.stat().st_size < 0.95 * raw


def test_writing_the_same_recording_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    rec = _long_recording()
    first = write_recording(rec, tmp_path / "a.screc").read_bytes()
    assert write_recording(rec, tmp_path / "b.screc").read_bytes() == first


def test_the_posture_batch_path_reads_a_compressed_day(tmp_path: Path) -> None:
    """posture_process reads native files in row slices through HDF5: same result as on
    the same recording stored contiguous."""
    rec = _long_recording()
    new = write_recording(rec, tmp_path / "new.screc")
    old = write_recording(rec, tmp_path / "old.screc", compress=False)
    from_new, from_old = posture_process(new), posture_process(old)
    assert from_new.labels == from_old.labels and len(from_new.labels) > 300
    assert json.dumps(from_new.summary(), default=str) == json.dumps(
        from_old.summary(), default=str
    )


def test_a_file_written_before_compression_still_reads(tmp_path: Path) -> None:
    rec = _long_recording()
    path = write_recording(rec, tmp_path / "old.screc", compress=False)
    assert all(chunks is None for chunks, *_ in _datasets(path).values())
    assert read_recording(path).equals(rec)
    assert path.stat().st_size > write_recording(rec, tmp_path / "new.screc").stat().st_size


_PLAIN_H5PY = """
import sys, zlib, h5py
with h5py.File(sys.argv[1], "r") as f:
    for name in ("sensors/lower/acc_mps2", "sensors/lower/time_s", "sensors/upper/gyr_dps"):
        data = f[name][:]
        assert f[name].compression == "gzip" and data.shape[0] == int(sys.argv[2])
        assert zlib.crc32(data.tobytes()) == int(f[name].attrs["crc32"]), name
assert "spinecoach" not in sys.modules
print("ok")
"""


def test_plain_h5py_reads_the_compressed_data_without_spinecoach(tmp_path: Path) -> None:
    path = write_recording(_long_recording(), tmp_path / "plain.screc")
    done = subprocess.run(
        [sys.executable, "-c", _PLAIN_H5PY, str(path), str(ROWS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_chunks_that_skipped_a_filter_are_read_as_their_mask_says(tmp_path: Path) -> None:
    """A chunk's filter mask says which filters were not applied to it (HDF5 may store
    a chunk unfiltered): chunk 0 went through shuffle and deflate, chunk 1 through
    neither, chunk 2 through shuffle only; spinecoach reads what HDF5 reads, bit for bit
    (random bit patterns: every float64, NaN payloads included)."""
    bits = np.random.default_rng(4).integers(0, 2**64, size=(ROWS, 3), dtype=np.uint64)
    values = bits.view(np.float64)
    path = tmp_path / "masks.h5"
    chunk = STORAGE_CHUNK_ROWS
    with h5py.File(path, "w") as f:
        dataset = f.create_dataset(
            "x", data=values, chunks=(chunk, 3), compression="gzip", shuffle=True
        )
        padded = np.zeros((3 * chunk, 3))
        padded[:ROWS] = values
        raw = [padded[i * chunk : (i + 1) * chunk].tobytes() for i in range(3)]
        dataset.id.write_direct_chunk((chunk, 0), raw[1], 0b11)  # neither filter
        shuffled = np.frombuffer(raw[2], np.uint8).reshape(-1, 8).T.tobytes()
        dataset.id.write_direct_chunk((2 * chunk, 0), shuffled, 0b10)  # shuffle only
    with h5py.File(path, "r") as f:
        assert f["x"][()].tobytes() == values.tobytes()  # HDF5 reads the masks so
        assert read_dataset(f["x"], path).tobytes() == values.tobytes()


@pytest.mark.parametrize("chunks", [(4096, 3), (4096, 1), (1000, 2)])
def test_row_slices_read_only_their_chunks_and_equal_h5py(
    tmp_path: Path, chunks: tuple[int, int]
) -> None:
    """``read_rows`` (for readers that go a slice at a time) gives what h5py's slicing
    gives, for chunks spanning whole rows or not, at any start and stop."""
    values = np.random.default_rng(5).normal(size=(10_007, 3))
    path = tmp_path / "slices.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=values, chunks=chunks, compression="gzip", shuffle=True)
        f.create_dataset("t", data=values[:, 0], chunks=(chunks[0],), compression="gzip")
    with h5py.File(path, "r") as f:
        for start, stop in ((0, 10_007), (0, 1), (4095, 4097), (5000, 9999), (9000, 20_000)):
            assert read_rows(f["x"], path, start, stop).tobytes() == f["x"][start:stop].tobytes()
            assert read_rows(f["t"], path, start, stop).tobytes() == f["t"][start:stop].tobytes()
        assert read_rows(f["x"], path, 7, 3).shape == (0, 3)


@pytest.mark.parametrize(
    ("chunks", "layout"),
    [((4096, 3), "whole rows"), ((1000, 2), "row parts"), (None, "contiguous")],
)
def test_the_crc_computed_while_decoding_is_the_crc_of_the_data(
    tmp_path: Path, chunks: tuple[int, int] | None, layout: str
) -> None:
    """The CRC-32 computed chunk by chunk as rows are decoded (carried across uneven row
    slices, unwritten chunks read as the fill value) equals zlib's CRC-32 of the whole
    dataset's bytes, so ``read_dataset`` accepts the stored checksum and refuses another."""
    values = np.random.default_rng(6).normal(size=(10_007, 3))
    path = tmp_path / f"crc-{layout.replace(' ', '-')}.h5"
    options = {} if chunks is None else {"chunks": chunks, "compression": "gzip", "shuffle": True}
    with h5py.File(path, "w") as f:
        dataset = f.create_dataset("x", shape=values.shape, dtype="<f8", fillvalue=2.5, **options)
        dataset[:3000] = values[:3000]  # with chunks, those of rows 4096-8191 unwritten
        dataset[9000:] = values[9000:]
        expected = dataset[()]
        if chunks is not None:  # some chunks were never written
            grid = -(-10_007 // chunks[0]) * -(-3 // chunks[1])
            assert dataset.id.get_num_chunks() < grid
        dataset.attrs["crc32"] = np.uint32(zlib.crc32(expected.tobytes()))
        f.create_dataset("y", data=values, **options).attrs["crc32"] = np.uint32(
            zlib.crc32(values.tobytes()) ^ 1
        )
    with h5py.File(path, "r") as f:
        crc = 0
        for start, stop in ((0, 1), (1, 4097), (4097, 9001), (9001, 10_007)):
            rows, crc = read_rows_crc(f["x"], path, start, stop, crc)
            assert rows.tobytes() == expected[start:stop].tobytes()
        assert crc == zlib.crc32(expected.tobytes())
        assert read_dataset(f["x"], path).tobytes() == expected.tobytes()
        with pytest.raises(InputFormatError, match="expected the data of dataset /y to match"):
            read_dataset(f["y"], path)


def test_values_wider_than_a_float_are_unshuffled_like_hdf5(tmp_path: Path) -> None:
    """Text of 24 bytes a value (unshuffled by one transposing copy, not byte plane by
    byte plane) and 2-byte integers read as h5py reads them."""
    words = np.array([f"value {i:>17}".encode() for i in range(5000)], dtype="S24")
    small = np.arange(5000, dtype="<i2")
    path = tmp_path / "wide.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("s", data=words, chunks=(1024,), compression="gzip", shuffle=True)
        f.create_dataset("i", data=small, chunks=(1024,), compression="gzip", shuffle=True)
    with h5py.File(path, "r") as f:
        assert read_dataset(f["s"], path).tobytes() == words.tobytes()
        assert read_rows(f["i"], path, 1000, 3000).tobytes() == small[1000:3000].tobytes()


# Damaged and hostile chunks ------------------------------------------------------------
def _chunk_of(path: Path, name: str, row: int = 0) -> tuple[int, int]:
    """(file offset, stored size) of the chunk of ``name`` that starts at ``row``."""
    with h5py.File(path, "r") as f:
        dataset = f[name]
        info = dataset.id.get_chunk_info_by_coord((row, *([0] * (dataset.ndim - 1))))
        return int(info.byte_offset), int(info.size)


def _put_chunk(path: Path, name: str, stored: bytes, row: int = 0) -> None:
    with h5py.File(path, "r+") as f:
        dataset = f[name]
        dataset.id.write_direct_chunk((row, *([0] * (dataset.ndim - 1))), stored, 0)


def _error(path: Path) -> InputFormatError:
    with pytest.raises(InputFormatError) as caught:
        read_recording(path)
    return caught.value


def test_a_corrupted_chunk_is_refused_naming_the_dataset(tmp_path: Path) -> None:
    path = write_recording(_long_recording(), tmp_path / "damaged.screc")
    offset, size = _chunk_of(path, "sensors/lower/acc_mps2", STORAGE_CHUNK_ROWS)
    with path.open("r+b") as handle:
        handle.seek(offset + size // 2)
        handle.write(np.random.default_rng(16).bytes(4096))
    error = _error(path)
    assert error.column == "/sensors/lower/acc_mps2"
    text = str(error)
    assert f"the chunk at row {STORAGE_CHUNK_ROWS:,} of dataset /sensors/lower/acc_mps2" in text
    assert "the chunk is damaged" in text and "restore it from a backup" in text


def test_a_chunk_replaced_by_other_valid_data_fails_its_checksum(tmp_path: Path) -> None:
    """The CRC-32 of the data still guards it: a chunk that decodes well but holds other
    numbers is refused."""
    path = write_recording(_long_recording(), tmp_path / "swapped.screc")
    other = np.ones((STORAGE_CHUNK_ROWS, 3), "<f8").tobytes()
    shuffled = np.frombuffer(other, np.uint8).reshape(-1, 8).T.tobytes()
    _put_chunk(path, "sensors/lower/gyr_dps", zlib.compress(shuffled, 1))
    error = _error(path)
    assert error.column == "/sensors/lower/gyr_dps"
    assert "to match its checksum" in str(error)


def test_a_stored_chunk_larger_than_a_chunk_can_be_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    path = write_recording(_long_recording(), tmp_path / "large.screc")
    _put_chunk(path, "sensors/lower/time_s", b"\0" * (STORAGE_CHUNK_ROWS * 8 * 2))
    error = _error(path)
    assert error.column == "/sensors/lower/time_s"
    assert f"{STORAGE_CHUNK_ROWS * 8 * 2:,} bytes stored: the chunk is damaged" in str(error)


def test_another_filter_is_refused_naming_it(tmp_path: Path) -> None:
    path = write_recording(_long_recording(), tmp_path / "lzf.screc")
    with h5py.File(path, "r+") as f:
        data = f["sensors/upper/acc_mps2"][()]
        del f["sensors/upper/acc_mps2"]
        f.create_dataset("sensors/upper/acc_mps2", data=data, chunks=(4096, 3), compression="lzf")
    error = _error(path)
    assert error.column == "/sensors/upper/acc_mps2"
    assert "found 'the lzf filter'" in str(error) and "h5repack -f SHUF -f GZIP=1" in str(error)


_BOMB_CHILD = """
import json, resource, sys
limit = 3 << 30
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from spinecoach.io import read_recording
from spinecoach.posture import posture_process
start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    {"read_recording": read_recording, "posture_process": posture_process}[sys.argv[2]](
        sys.argv[1]
    )
    out = {"type": None, "message": ""}
except BaseException as exc:
    out = {"type": type(exc).__name__, "message": str(exc)[:3000]}
out["growth_mib"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) / 1024
print(json.dumps(out))
"""


@pytest.mark.parametrize("reader", ["read_recording", "posture_process"])
def test_a_deflate_bomb_chunk_is_refused_at_bounded_memory(tmp_path: Path, reader: str) -> None:
    """A chunk of under 300 KB that inflates to 300 MB (HDF5 itself would inflate it all:
    600 MB measured) is refused once it passes the chunk's size, by the reader and by the
    posture batch path (which goes through a long recording in row slices)."""
    path = write_recording(_long_recording(), tmp_path / "bomb.screc")
    deflater = zlib.compressobj(9)
    zeros = bytes(MIB)
    bomb = b"".join(deflater.compress(zeros) for _ in range(300)) + deflater.flush()
    assert len(bomb) < STORAGE_CHUNK_ROWS * 3 * 8  # smaller than an honest chunk
    _put_chunk(path, "sensors/lower/acc_mps2", bomb)
    done = subprocess.run(
        [sys.executable, "-c", _BOMB_CHILD, str(path), reader],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["type"] == "InputFormatError", result
    assert "of dataset /sensors/lower/acc_mps2" in result["message"]
    assert "it does not decode to that: the chunk is damaged" in result["message"]
    assert result["growth_mib"] < 50, result
    with h5py.File(path, "r") as f:  # a slice reads only its own chunks
        after = read_rows(f["sensors/lower/acc_mps2"], path, STORAGE_CHUNK_ROWS, ROWS)
        assert after.shape == (ROWS - STORAGE_CHUNK_ROWS, 3)
        with pytest.raises(InputFormatError, match="the chunk at row 0 of dataset"):
            read_rows(f["sensors/lower/acc_mps2"], path, 10, 20)
