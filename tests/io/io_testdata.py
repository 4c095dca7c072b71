"""Shared builders for the spinecoach.io tests (imported by the test modules)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from spinecoach.conventions import ACC_COLUMNS, GYR_COLUMNS, MAG_COLUMNS, TIME_S
from spinecoach.recording import Event, GroundTruth, Recording, SensorData

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
FUSION_FILE = SHARED_DATA / "fusion" / "sensor_data.csv"
FUSION_ROWS = 13_514

OWN_HEADER = ",".join([TIME_S, *ACC_COLUMNS, *GYR_COLUMNS])
OWN_HEADER_MAG = ",".join([TIME_S, *ACC_COLUMNS, *GYR_COLUMNS, *MAG_COLUMNS])
FUSION_HEADER = (
    "Time (s),Gyroscope X (deg/s),Gyroscope Y (deg/s),Gyroscope Z (deg/s),"
    "Accelerometer X (g),Accelerometer Y (g),Accelerometer Z (g),"
    "Magnetometer X (uT),Magnetometer Y (uT),Magnetometer Z (uT)"
)


def sensor(
    placement: str = "lower",
    n: int = 50,
    *,
    seed: int = 0,
    mag: bool = True,
    rate_hz: float = 100.0,
    device: str = "sim-imu",
) -> SensorData:
    """A sensor at rest-ish: gravity on z plus noise, in project units."""
    rng = np.random.default_rng(seed)
    time_s = np.arange(n) / rate_hz
    acc = rng.normal(0.0, 0.2, size=(n, 3)) + np.array([0.0, 0.0, 9.81])
    gyr = rng.normal(0.0, 2.0, size=(n, 3))
    mag_ut = rng.normal(20.0, 1.0, size=(n, 3)) if mag else None
    return SensorData.from_arrays(
        placement, time_s, acc, gyr, rate_hz=rate_hz, mag_ut=mag_ut, device=device
    )


def full_recording(n: int = 50) -> Recording:
    """Two sensors, events (one with a NaN value), unicode meta and ground truth."""
    lower = sensor("lower", n, seed=1)
    acc = lower.acc_mps2.copy()
    acc[3, 1] = np.nan  # a dropped sample must survive the round trip
    acc[4, 2] = -0.0
    lower = SensorData.from_arrays(
        "lower",
        lower.time_s,
        acc,
        lower.gyr_dps,
        rate_hz=100.0,
        mag_ut=lower.mag_ut,
        device="lower-imu",
    )
    upper = sensor("upper", n, seed=2, mag=False, device="upper-imu")
    truth_time = np.arange(n) / 100.0
    truth = GroundTruth.create(
        truth_time,
        {
            "trunk_inclination_deg": np.sin(truth_time),
            "lumbar_flexion_deg": np.cos(truth_time),
            "breath_volume_norm": np.full(n, np.nan),
        },
        (Event("rep", 0.1, 0.3, "pelvic-tilt"), Event("hold", 0.2, 0.25, value=3.0)),
    )
    return Recording.create(
        {"upper": upper, "lower": lower},
        start_utc=datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC),
        events=[
            Event("calibration-neutral", 0.0, 0.1, "standing", "", 1.5),
            Event("fault", 0.2, 0.2, "sensor-dropout", "lower"),
        ],
        meta={"participant": "P01", "note": "Überprüfung ✓", "empty": ""},
        truth=truth,
    )


def minimal_recording(n: int = 10) -> Recording:
    """One sensor, no magnetometer, no events, no truth, no meta."""
    return Recording.create({"lower": sensor("lower", n, mag=False)})


def own_csv(rows: int = 20, *, rate_hz: float = 100.0, acc_z: float = 9.81) -> str:
    """A CSV with spinecoach's own column names, at rest, in project units."""
    lines = [OWN_HEADER]
    for i in range(rows):
        t = i / rate_hz
        lines.append(f"{t:.6f},0.01,-0.02,{acc_z},0.5,-0.25,0.125")
    return "\n".join(lines) + "\n"


def fusion_text(rows: int = 20, *, mag: bool = True) -> str:
    """A small file in the x-io Fusion layout (acc in g)."""
    header = FUSION_HEADER if mag else ",".join(FUSION_HEADER.split(",")[:7])
    lines = [header]
    for i in range(rows):
        values = [f"{i * 0.01:.6f}", "0.1", "-0.2", "0.3", "0.001", "-0.02", "0.997"]
        if mag:
            values += ["15.3", "0.43", "-41.06"]
        lines.append(",".join(values))
    return "\n".join(lines) + "\n"
