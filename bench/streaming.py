"""Per-sample latency of the streaming tracker (``MotionTracker.update``).

Feeds a simulated two-sensor session sample by sample in time order and times every
call. Baseline in the same run: a bare ``imufusion`` update of the same samples.

Target (issue 2): p99 < 1 ms per sample.

Run: .venv/bin/python bench/streaming.py
"""

from __future__ import annotations

import time

import imufusion
import numpy as np

from _common import console, machine, table
from spinecoach.motion import MotionTracker, SensorSample
from spinecoach.sim import simulate


def interleaved(rec):  # type: ignore[no-untyped-def]
    items = []
    for placement, s in rec.sensors.items():
        for i in range(s.n_samples):
            items.append((s.time_s[i], placement, i))
    items.sort()
    return items


def main() -> None:
    rec = simulate("cat-cow", seed=3)
    items = interleaved(rec)
    tracker = MotionTracker(
        rates_hz={p: s.rate_hz for p, s in rec.sensors.items()},
        position=rec.meta.get("position"),
        annotations=rec.events,
    )
    ours = np.empty(len(items))
    clock = time.perf_counter_ns
    for j, (t, placement, i) in enumerate(items):
        s = rec.sensors[placement]
        sample = SensorSample(placement, t, s.acc_mps2[i], s.gyr_dps[i])
        start = clock()
        tracker.update(sample)
        ours[j] = clock() - start
    bare = np.empty(len(items))
    filters = {p: imufusion.Ahrs() for p in rec.sensors}
    for j, (_t, placement, i) in enumerate(items):
        s = rec.sensors[placement]
        g, a = s.gyr_dps[i], s.acc_mps2[i] / 9.80665
        start = clock()
        filters[placement].update_no_magnetometer(g, a)
        bare[j] = clock() - start
    t = table(
        f"Per-sample processing time, {len(items):,} samples ({machine()})",
        ["", "p50 (µs)", "p99 (µs)", "max (µs)", "p99 vs bare"],
    )
    for name, v in (("MotionTracker.update", ours), ("bare imufusion update", bare)):
        p50, p99, mx = np.percentile(v, 50) / 1e3, np.percentile(v, 99) / 1e3, v.max() / 1e3
        t.add_row(
            name,
            f"{p50:.1f}",
            f"{p99:.1f}",
            f"{mx:.1f}",
            f"{np.percentile(v, 99) / np.percentile(bare, 99):.1f}x",
        )
    console.print(t)
    p99 = np.percentile(ours, 99) / 1e6
    console.print("target p99 < 1 ms: " + ("[green]met[/]" if p99 < 1.0 else "[red]not met[/]"))


if __name__ == "__main__":
    main()
