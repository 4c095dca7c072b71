"""Compression (issue 17 item 4), in two tables on the same simulated data: a
two-sensor pelvic-tilt session and a working day, both at 100 Hz.

1. A live session's blocks: today's shuffle + zstd (``spinecoach.store.block_codec``)
   against the zlib level 1 the blocks used before, cut into the blocks a live session
   commits (50 samples a sensor, every half second). Printed: stored size as a share of
   the raw float64 bytes, CPU time to write and to read one block (process time, µs),
   and the ratio of zlib's CPU to ours. Asked: cheaper and standard; measured earlier
   on larger buffers: 16.6× less CPU, 0.81 of the raw size.
2. The native format (``.screc``): the whole recording written by ``write_recording``
   and read by ``read_recording``, today's (shuffle + gzip 1 in chunks of 16384 rows)
   against before (``compress=False``: contiguous, uncompressed), and the other
   standard HDF5 filters plain h5py reads (gzip 2 and 4, lzf), written and read by
   h5py alone on the same sensor arrays. Printed: file size (MB and share of the raw
   file), CPU seconds to write and to read (process time, best of --repeat), and the
   write and read throughput in raw MB per CPU second. The issue: a 16-hour day file
   was 1.15 GB.

Run: .venv/bin/python bench/compression.py [--hours 1.0] [--day-hours 16]
(the 16-hour day: about 2 minutes; the blocks use --hours of the day)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

from _common import console, machine, table
from spinecoach.io.native import read_recording, write_recording
from spinecoach.recording import Recording
from spinecoach.sim import simulate, simulate_day
from spinecoach.store.block_codec import decode_rows, encode_rows

BLOCK = 50


def blocks_of(recording: Recording) -> list[np.ndarray]:
    out = []
    for sensor in recording.sensors.values():
        rows = np.column_stack([sensor.time_s, sensor.acc_mps2, sensor.gyr_dps]).astype("<f8")
        out += [np.ascontiguousarray(rows[i : i + BLOCK]) for i in range(0, len(rows), BLOCK)]
    return out


def cpu_us(work: Callable[[], object], n_blocks: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best / n_blocks * 1e6


def rows_of(name: str, blocks: list[np.ndarray]) -> list[list[str]]:
    """The two table rows (zlib, ours) of one data set."""
    raw = sum(b.nbytes for b in blocks)
    old = [zlib.compress(b.tobytes(), 1) for b in blocks]
    new = [encode_rows(b) for b in blocks]
    shapes = [b.shape for b in blocks]
    for data, shape, block in zip(new, shapes, blocks, strict=True):
        assert decode_rows(data, *shape).tobytes() == block.tobytes()  # bit-exact
    write_old = cpu_us(lambda: [zlib.compress(b.tobytes(), 1) for b in blocks], len(blocks))
    write_new = cpu_us(lambda: [encode_rows(b) for b in blocks], len(blocks))
    pairs_old, pairs_new = list(zip(old, shapes, strict=True)), list(zip(new, shapes, strict=True))
    read_old = cpu_us(lambda: [decode_rows(d, *s) for d, s in pairs_old], len(blocks))
    read_new = cpu_us(lambda: [decode_rows(d, *s) for d, s in pairs_new], len(blocks))
    n = str(len(blocks))
    return [
        [f"{name} · zlib 1 (before, baseline)", n, f"{sum(map(len, old)) / raw:.3f}",
         f"{write_old:.1f}", f"{read_old:.1f}", "1.00"],
        [f"{name} · shuffle + zstd 1", n, f"{sum(map(len, new)) / raw:.3f}",
         f"{write_new:.1f}", f"{read_new:.1f}",
         f"write {write_old / write_new:.1f}×, read {read_old / read_new:.1f}×"],
    ]  # fmt: skip


def cpu_s(work: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


def sensor_arrays(recording: Recording) -> dict[str, np.ndarray]:
    out = {}
    for placement, s in recording.sensors.items():
        for name in ("time_s", "acc_mps2", "gyr_dps", "mag_ut"):
            values = getattr(s, name)
            if values is not None:
                out[f"{placement}/{name}"] = np.ascontiguousarray(values, "<f8")
    return out


def h5py_candidate(arrays: dict[str, np.ndarray], path: Path, **filters: object) -> None:
    """The sensor arrays alone, written by h5py with ``filters`` (chunks as ours)."""
    with h5py.File(path, "w", libver=("v108", "v108")) as f:
        for name, values in arrays.items():
            chunks = (min(16384, len(values)), *values.shape[1:])
            f.create_dataset(name, data=values, chunks=chunks, track_times=False, **filters)


def h5py_read(path: Path, names: list[str]) -> None:
    with h5py.File(path, "r") as f:
        for name in names:
            f[name][()]


def native_rows(name: str, recording: Recording, folder: Path, repeat: int) -> list[list[str]]:
    """Rows of the native-format table for one recording: before and today's through
    spinecoach, then the other filters through h5py on the sensor arrays alone."""
    rows: list[list[str]] = []
    old, new = folder / "before.screc", folder / "today.screc"
    write_old = cpu_s(lambda: write_recording(recording, old, compress=False), repeat)
    write_new = cpu_s(lambda: write_recording(recording, new), repeat)
    assert read_recording(new).equals(recording)  # bit-exact
    read_old = cpu_s(lambda: read_recording(old), repeat)
    read_new = cpu_s(lambda: read_recording(new), repeat)
    raw_file = os.path.getsize(old)

    def row(label: str, size: int, write: float, read: float, raw: int) -> list[str]:
        return [
            f"{name} · {label}",
            f"{size / 1e6:,.1f}",
            f"{size / raw:.3f}",
            f"{write:.3f}",
            f"{read:.3f}",
            f"{raw / 1e6 / write:,.0f}",
            f"{raw / 1e6 / read:,.0f}",
        ]

    rows.append(row("before: contiguous (baseline)", raw_file, write_old, read_old, raw_file))
    rows.append(row("today: shuffle + gzip 1", os.path.getsize(new), write_new, read_new, raw_file))
    arrays = sensor_arrays(recording)
    raw = sum(a.nbytes for a in arrays.values())
    names = list(arrays)
    candidates: dict[str, dict[str, object]] = {
        "none": {},
        "shuffle + gzip 1": {"shuffle": True, "compression": "gzip", "compression_opts": 1},
        "shuffle + gzip 2": {"shuffle": True, "compression": "gzip", "compression_opts": 2},
        "shuffle + gzip 4": {"shuffle": True, "compression": "gzip", "compression_opts": 4},
        "shuffle + lzf": {"shuffle": True, "compression": "lzf"},
        "gzip 1, no shuffle": {"compression": "gzip", "compression_opts": 1},
    }
    for label, filters in candidates.items():
        path = folder / "candidate.h5"
        write = cpu_s(lambda f=filters, p=path: h5py_candidate(arrays, p, **f), repeat)  # type: ignore[misc]
        read = cpu_s(lambda p=path: h5py_read(p, names), repeat)  # type: ignore[misc]
        rows.append(row(f"sensors only, h5py: {label}", os.path.getsize(path), write, read, raw))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="hours of the blocks' day")
    parser.add_argument(
        "--day-hours", type=float, default=16.0, help="hours of the native format's day"
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs per timing (best kept)")
    args = parser.parse_args()
    session = simulate("pelvic-tilt", seed=1, reps=10)
    sets = {
        "session (pelvic tilt, 2 sensors)": blocks_of(session),
        f"working day ({args.hours:g} h, 2 sensors)": blocks_of(
            simulate_day(0, hours=args.hours, rate_hz=100.0)
        ),
    }
    out = table(
        f"Live block compression, {BLOCK}-sample blocks ({machine()})",
        [
            "data · codec",
            "blocks",
            "size / raw",
            "write µs/block",
            "read µs/block",
            "zlib CPU ÷ ours",
        ],
    )
    for name, blocks in sets.items():
        for row in rows_of(name, blocks):
            out.add_row(*row)
    console.print(out)

    day = simulate_day(0, hours=args.day_hours, rate_hz=100.0)
    native = table(
        f"Native format (.screc), CPU seconds, best of {args.repeat} ({machine()})",
        [
            "data · storage",
            "MB",
            "size / before",
            "write s",
            "read s",
            "write MB/s",
            "read MB/s",
        ],
    )
    with tempfile.TemporaryDirectory() as folder:
        for name, recording in (
            ("session", session),
            (f"day ({args.day_hours:g} h)", day),
        ):
            for row in native_rows(name, recording, Path(folder), args.repeat):
                native.add_row(*row)
    console.print(native)


if __name__ == "__main__":
    main()
