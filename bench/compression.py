"""Compression of a live session's blocks (issue 17 item 4): today's shuffle + zstd
(``spinecoach.store.block_codec``) against the zlib level 1 the blocks used before, in
the same run, on the same blocks: a simulated two-sensor pelvic-tilt session and a
simulated hour of a working day, both at 100 Hz, cut into the blocks a live session
commits (50 samples a sensor, every half second).

Printed per data set and codec: stored size as a share of the raw float64 bytes, CPU
time to write and to read one block (process time, µs), and the ratio of zlib's CPU to
ours. Asked (issue 17): cheaper and standard; measured earlier on larger buffers: 16.6×
less CPU, 0.81 of the raw size.

Run: .venv/bin/python bench/compression.py [--hours 1.0]   (about half a minute)
"""

from __future__ import annotations

import argparse
import time
import zlib
from collections.abc import Callable

import numpy as np

from _common import console, machine, table
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="hours of the simulated day")
    args = parser.parse_args()
    sets = {
        "session (pelvic tilt, 2 sensors)": blocks_of(simulate("pelvic-tilt", seed=1, reps=10)),
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


if __name__ == "__main__":
    main()
