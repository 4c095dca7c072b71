"""Throughput of the whole batch pipeline on a 1-hour, two-sensor, 100 Hz recording.

End to end = read our recording file + fusion + calibration + angles on the output grid.
Baselines measured in the same run on the same samples:
- a bare ``imufusion`` per-sample loop (Ahrs.update_no_magnetometer only, no bias
  estimation, no angles), both sensors one after the other;
- ``ahrs`` Madgwick (the popular pure-Python AHRS package) on both sensors.

Target (issue 2): >= 500,000 sensor-samples/s end to end (one hour in under 1.5 s).

Run: .venv/bin/python bench/throughput.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import imufusion
import numpy as np

from _common import console, machine, table, timed
from spinecoach.io import load_recording, write_recording
from spinecoach.motion import motion_process
from spinecoach.sim import simulate_activities

SCHEDULE = [
    ("standing", 60.0),
    ("sitting-upright", 900.0),
    ("sitting-slouched", 900.0),
    ("walking", 300.0),
    ("standing", 300.0),
    ("sitting-upright", 600.0),
    ("lying-supine", 540.0),
]


def bare_imufusion(rec) -> None:  # type: ignore[no-untyped-def]
    for sensor in rec.sensors.values():
        ahrs = imufusion.Ahrs()
        ahrs.set_settings(imufusion.AhrsSettings(sample_rate=sensor.rate_hz))
        update = ahrs.update_no_magnetometer
        for g, a in zip(list(sensor.gyr_dps), list(sensor.acc_mps2 / 9.80665), strict=True):
            update(g, a)


def madgwick(rec) -> None:  # type: ignore[no-untyped-def]
    from ahrs.filters import Madgwick

    for sensor in rec.sensors.values():
        Madgwick(gyr=np.radians(sensor.gyr_dps), acc=sensor.acc_mps2, frequency=sensor.rate_hz)


def main() -> None:
    with console.status("simulating a 1-hour two-sensor recording"):
        rec = simulate_activities(SCHEDULE, seed=1, rate_hz=100.0)
    n = sum(s.n_samples for s in rec.sensors.values())
    with tempfile.TemporaryDirectory() as tmp:
        path = write_recording(rec, Path(tmp) / "hour.screc")
        motion_process(load_recording(path))  # warm-up (imports, page cache)
        runs = []
        for _ in range(3):
            _, seconds = timed(lambda: motion_process(load_recording(path)))
            runs.append(seconds)
        ours = min(runs)
    _, bare = timed(lambda: bare_imufusion(rec))
    with console.status("ahrs Madgwick (slow)"):
        _, mad = timed(lambda: madgwick(rec))
    t = table(
        f"1 h, 2 sensors, 100 Hz = {n:,} sensor-samples ({machine()})",
        ["pipeline", "seconds", "sensor-samples/s", "vs bare imufusion"],
    )
    for name, seconds in (
        ("spinecoach end to end (read + fuse + calibrate + angles)", ours),
        ("bare imufusion per-sample loop", bare),
        ("ahrs Madgwick", mad),
    ):
        t.add_row(name, f"{seconds:.3f}", f"{n / seconds:,.0f}", f"{bare / seconds:.2f}x")
    console.print(t)
    ok = n / ours >= 500_000
    console.print(
        "target >= 500,000 sensor-samples/s end to end: "
        + ("[green]met[/]" if ok else "[red]not met[/]")
        + f" (best of 3: {ours:.3f} s for one hour)"
    )


if __name__ == "__main__":
    main()
