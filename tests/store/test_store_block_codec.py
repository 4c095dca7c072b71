"""The live blocks' compression (``store.block_codec``, issue 17 item 4): shuffle + zstd
is bit-exact for every float64 (NaN payloads, signed zeros, infinities), blocks written
by earlier versions (zlib) are still read, and a damaged or lying block is refused with
the reason — in bounded memory, even when its frame would inflate to a gigabyte."""

from __future__ import annotations

import resource
import subprocess
import sys
import threading
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from spinecoach.sim import simulate
from spinecoach.store.block_codec import (
    MAGIC,
    BlockCodecError,
    decode_rows,
    encode_rows,
    shuffle,
    unshuffle,
)


@settings(max_examples=200, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 60), st.sampled_from([7, 9, 10])),
        elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
    )
)
def test_round_trip_is_bit_exact(rows: np.ndarray) -> None:
    data = encode_rows(rows)
    assert data.startswith(MAGIC)
    back = decode_rows(data, *rows.shape)
    assert back.tobytes() == np.ascontiguousarray(rows, dtype="<f8").tobytes()
    assert unshuffle(shuffle(rows), *rows.shape).tobytes() == back.tobytes()


def test_nan_payloads_and_signed_zeros_survive() -> None:
    odd = np.frombuffer(
        np.array([0x7FF8000000000001, 0xFFF0000000000ABC, 0x8000000000000000], dtype="<u8"),
        dtype="<f8",
    )
    rows = np.tile(odd, (4, 1)).reshape(4, 3)[:, [0, 1, 2]]
    rows = np.column_stack([rows, rows[:, :1]])
    assert decode_rows(encode_rows(rows), *rows.shape).tobytes() == rows.tobytes()


def test_blocks_of_earlier_versions_are_read_bit_exact() -> None:
    rows = np.random.default_rng(3).normal(size=(50, 7))
    old = zlib.compress(rows.astype("<f8").tobytes(), 1)
    assert decode_rows(old, 50, 7).tobytes() == rows.astype("<f8").tobytes()


def test_sensor_blocks_are_smaller_than_zlib() -> None:
    recording = simulate("pelvic-tilt", seed=1, reps=4, sets=1)
    lower = recording.sensors["lower"]
    rows = np.column_stack([lower.time_s, lower.acc_mps2, lower.gyr_dps])
    blocks = [np.ascontiguousarray(rows[i : i + 50]) for i in range(0, len(rows), 50)]
    new = sum(len(encode_rows(b)) for b in blocks)
    old = sum(len(zlib.compress(b.astype("<f8").tobytes(), 1)) for b in blocks)
    assert new < 0.92 * old, (new, old)


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda d: d[:-7], "cut short"),
        (lambda d: d[:5], "shorter than its"),
        (lambda d: d[:4] + (51).to_bytes(4, "little") + d[8:], "the block says 51 × 7"),
        (lambda d: b"\x00" + d[1:], "not a zlib stream"),
        (lambda d: d[:20] + bytes(b ^ 0x5A for b in d[20:40]) + d[40:], "damaged|expected"),
    ],
)
def test_a_damaged_block_is_refused_with_the_reason(damage, says: str) -> None:  # type: ignore[no-untyped-def]
    rows = np.random.default_rng(1).normal(size=(50, 7))
    with pytest.raises(BlockCodecError, match=says):
        decode_rows(damage(encode_rows(rows)), 50, 7)


def test_a_block_that_would_inflate_to_a_gigabyte_costs_bounded_memory() -> None:
    """A frame of zeros worth 1 GiB, under a header claiming 50 rows: refused after at
    most the declared size (measured in a fresh process: the peak RSS grows < 100 MB)."""
    script = """
import resource
from spinecoach.store import block_codec as c
z = c.zstd.ZstdCompressor(level=19)
mib = bytes(1 << 20)  # 1 GiB of zeros, compressed 1 MiB at a time: never held whole
frame = b"".join(z.compress(mib) for _ in range(1024)) + z.flush()
data = c._HEADER.pack(c.MAGIC, 50, 7) + frame
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    c.decode_rows(data, 50, 7)
except c.BlockCodecError as e:
    print("refused", e)
print("grew_mb", (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert "refused its zstd frame holds more than the 2800 bytes declared" in out, out
    assert float(out.split("grew_mb")[1]) < 100.0, out


def test_encoding_from_many_threads_at_once() -> None:
    rng = np.random.default_rng(5)
    blocks = [rng.normal(size=(50, 10)) for _ in range(64)]
    results: dict[int, bytes] = {}

    def work(i: int) -> None:
        for _ in range(20):
            results[i] = encode_rows(blocks[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(blocks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, block in enumerate(blocks):
        assert decode_rows(results[i], 50, 10).tobytes() == block.tobytes()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0
