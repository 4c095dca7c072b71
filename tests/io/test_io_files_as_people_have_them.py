"""Files as people have them (issue 13, item 4): repeated rows dropped and counted, time
going backwards refused, date-time columns, accelerometer-only files, per-sensor files
without a time column in other brands' column names, and joining one file per sensor.

Real recordings: the mobgap lower-back IMU (``../shared/data/mobgap``, g and deg/s) and
the x-io Fusion sample; files in other layouts are written here from them.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from io_testdata import FUSION_FILE, OWN_HEADER, SHARED_DATA, fusion_text
from test_io_phone import phyphox_files, sensor_logger_files, write_folder, write_zip

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.errors import ConfigurationError, InputFormatError, UnitError
from spinecoach.io import (
    cleaning_report,
    csv_table,
    csv_time,
    detect_format,
    load_recording,
    load_recordings,
    read_csv,
    read_fusion_csv,
    read_phyphox,
    read_recording,
    read_sensor_logger,
    write_recording,
)
from spinecoach.io.cleaning import drop_repeated_times
from spinecoach.io.formats import UNKNOWN_START_UTC
from spinecoach.io.guess import (
    guess_mapping,
    gyro_unit_from_tilt,
    parse_column_name,
    time_unit_from_steps,
)
from spinecoach.recording import Recording, SensorData
from spinecoach.sim import SensorErrorModel, simulate

MOBGAP = SHARED_DATA / "mobgap"
MOBGAP_TRIALS = sorted(p.parent.name for p in MOBGAP.glob("*/imu.csv"))
needs_mobgap = pytest.mark.skipif(
    not MOBGAP_TRIALS, reason=f"real mobgap recordings not found in {MOBGAP} (../shared/data)"
)
needs_fusion = pytest.mark.skipif(
    not FUSION_FILE.is_file(), reason=f"real Fusion sample not found at {FUSION_FILE}"
)
SIX = "ax,ay,az,gx,gy,gz"
SIMPLE = "time=t:s,acc=ax,ay,az:m/s2,gyr=gx,gy,gz:dps"


def _write(folder: Path, text: str, name: str = "data.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _rows(n: int, rate_hz: float = 100.0, *, seed: int = 0) -> list[str]:
    """Rows of time_s + 6 values in the own column layout (m/s², deg/s)."""
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(n):
        acc = rng.normal(0.0, 0.1, 3) + np.array([0.0, 0.0, 9.81])
        gyr = rng.normal(0.0, 1.0, 3)
        lines.append(f"{i / rate_hz!r}," + ",".join(repr(float(v)) for v in (*acc, *gyr)))
    return lines


def _error(path: Path, **options: object) -> InputFormatError:
    with pytest.raises(InputFormatError) as caught:
        read_csv(path, **options)  # type: ignore[arg-type]
    return caught.value


def _mobgap(trial: str) -> np.ndarray:
    return np.loadtxt(MOBGAP / trial / "imu.csv", delimiter=",", skiprows=1)


# -- repeated rows ----------------------------------------------------------------------------
def test_an_exact_duplicate_row_is_dropped_and_counted(tmp_path: Path) -> None:
    rows = _rows(20)
    clean = read_csv(_write(tmp_path, "\n".join([OWN_HEADER, *rows]) + "\n", "clean.csv"))
    doubled = [*rows[:7], rows[6], *rows[7:]]  # line 9 repeats line 8
    rec = read_csv(_write(tmp_path, "\n".join([OWN_HEADER, *doubled]) + "\n"))
    assert rec.sensors["lower"].equals(clean.sensors["lower"])
    assert cleaning_report(rec) == {
        "lower": {"duplicate_rows": 1, "repeated_timestamps": 0, "rows_read": 21}
    }
    assert json.loads(rec.meta["cleaning"]) == cleaning_report(rec)
    assert cleaning_report(clean) == {} and "cleaning" not in clean.meta


def test_a_repeated_time_stamp_keeps_the_first_row(tmp_path: Path) -> None:
    rows = _rows(10)
    other = rows[4].split(",")[0] + ",1,2,3,4,5,6"  # same time as line 6, other values
    rec = read_csv(_write(tmp_path, "\n".join([OWN_HEADER, *rows[:5], other, *rows[5:]])))
    lower = rec.sensors["lower"]
    assert lower.n_samples == 10
    first = [float(v) for v in rows[4].split(",")]
    assert lower.acc_mps2[4].tolist() == first[1:4]  # the first of the two is kept
    assert 1.0 not in lower.acc_mps2[:, 0]
    assert cleaning_report(rec)["lower"] == {
        "duplicate_rows": 0,
        "repeated_timestamps": 1,
        "rows_read": 11,
    }


def test_a_run_of_repeats_is_compared_with_the_kept_row(tmp_path: Path) -> None:
    rows = _rows(6)
    t = rows[2].split(",")[0]
    changed = t + ",0,0,9.8,0,0,0"
    body = [*rows[:3], changed, rows[2], rows[2], *rows[3:]]
    rec = read_csv(_write(tmp_path, "\n".join([OWN_HEADER, *body])))
    assert cleaning_report(rec)["lower"] == {
        "duplicate_rows": 2,
        "repeated_timestamps": 1,
        "rows_read": 9,
    }
    assert rec.sensors["lower"].time_s.tolist() == [i / 100 for i in range(6)]


def test_a_25_hz_belt_logger_with_one_repeated_time_stamp_loads(tmp_path: Path) -> None:
    # A belt logger's clock in whole milliseconds: 40 ms steps, and once two samples
    # written in the same tick (the second a little different), as in the real file
    # that was refused outright before.
    rng = np.random.default_rng(3)
    n = 25 * 60
    time_ms = np.arange(n) * 40
    time_ms[700] = time_ms[699]
    acc_g = rng.normal(0.0, 0.01, (n, 3)) + np.array([0.0, -1.0, 0.0])
    gyr = rng.normal(0.0, 0.5, (n, 3))
    lines = ["timestamp_ms,acc_x,acc_y,acc_z,gyr_x_dps,gyr_y_dps,gyr_z_dps"]
    lines += [
        f"{t}," + ",".join(f"{v:.5f}" for v in (*a, *g))
        for t, a, g in zip(time_ms, acc_g, gyr, strict=True)
    ]
    path = _write(tmp_path, "\n".join(lines) + "\n", "belt.csv")
    mapping = "time=timestamp_ms:ms,acc=acc_x,acc_y,acc_z:g,gyr=gyr_x_dps,gyr_y_dps,gyr_z_dps:dps"
    rec = load_recording(path, format="csv", mapping=mapping)
    lower = rec.sensors["lower"]
    assert lower.rate_hz == 25.0
    assert lower.n_samples == n - 1
    assert np.all(np.diff(lower.time_s) > 0)
    assert cleaning_report(rec) == {
        "lower": {"duplicate_rows": 0, "repeated_timestamps": 1, "rows_read": n}
    }
    # the same file without a mapping: names and units recognised (ms from the step)
    guessed = load_recording(path)
    assert guessed.sensors["lower"].equals(lower)
    assert cleaning_report(guessed) == cleaning_report(rec)


def test_time_going_backwards_is_still_refused(tmp_path: Path) -> None:
    rows = _rows(6)
    body = [*rows[:3], rows[2], rows[1], *rows[3:]]  # line 6 goes back to line 3's time
    err = _error(_write(tmp_path, "\n".join([OWN_HEADER, *body])))
    assert str(err) == (
        f"{tmp_path / 'data.csv'}, line 6, column 'time_s': expected time to increase "
        "strictly, to more than '0.02' on line 5, found '0.01'. Sort the rows by time and "
        "remove repeated rows"
    )


def test_only_repeated_rows_leave_too_few_samples(tmp_path: Path) -> None:
    row = _rows(1)[0]
    err = _error(_write(tmp_path, "\n".join([OWN_HEADER, row, row, row])))
    assert (err.line, err.column) == (3, "time_s")
    assert "expected at least 2 data rows with different time stamps" in str(err)
    assert "found '3 rows, 2 of them repeating the time of the row above'" in str(err)


def test_a_file_without_time_column_is_never_deduplicated(tmp_path: Path) -> None:
    # a quantised sensor at rest writes equal samples: without time they are all kept
    path = _write(tmp_path, SIX + "\n" + "0,0,1,0,0,0\n" * 5)
    rec = read_csv(path, mapping="acc=ax,ay,az:g,gyr=gx,gy,gz:dps", rate_hz=50.0)
    assert rec.sensors["lower"].n_samples == 5 and cleaning_report(rec) == {}


def test_bad_cells_after_a_dropped_row_name_their_own_line(tmp_path: Path) -> None:
    rows = _rows(8)
    huge = rows[6].split(",")
    huge[4] = "1e999"
    body = [*rows[:3], rows[2], *rows[3:6], ",".join(huge), rows[7]]
    err = _error(_write(tmp_path, "\n".join([OWN_HEADER, *body])))
    assert (err.line, err.column, err.found) == (9, "gyr_x_dps", "1e999")


def test_fusion_file_with_a_duplicate_row(tmp_path: Path) -> None:
    lines = fusion_text(20).splitlines()
    lines.insert(6, lines[5])
    rec = read_fusion_csv(_write(tmp_path, "\n".join(lines), "sensor_data.csv"))
    assert rec.sensors["lower"].n_samples == 20
    assert cleaning_report(rec)["lower"]["duplicate_rows"] == 1


@needs_fusion
def test_the_real_fusion_file_loads_identically() -> None:
    by_name = read_fusion_csv(FUSION_FILE)
    auto = load_recording(FUSION_FILE)
    as_csv = load_recording(FUSION_FILE, format="csv", mapping="fusion")
    raw = np.loadtxt(FUSION_FILE, delimiter=",", skiprows=1)
    for rec in (by_name, auto, as_csv):
        lower = rec.sensors["lower"]
        assert lower.time_s.tolist() == raw[:, 0].tolist()
        assert lower.gyr_dps.tolist() == raw[:, 1:4].tolist()
        assert lower.acc_mps2.tolist() == (raw[:, 4:7] * STANDARD_GRAVITY_MPS2).tolist()
        assert cleaning_report(rec) == {}
    assert auto.sensors["lower"].equals(by_name.sensors["lower"])


def test_sensor_logger_drops_repeated_rows_and_refuses_backwards(tmp_path: Path) -> None:
    sim = _sim_lower()
    files = sensor_logger_files(sim)
    clean = read_sensor_logger(write_folder(tmp_path / "clean", files))
    lines = files["Gyroscope.csv"].splitlines()
    lines.insert(11, lines[10])
    files["Gyroscope.csv"] = "\n".join(lines) + "\n"
    rec = read_sensor_logger(write_zip(tmp_path / "dup.zip", files))
    assert rec.sensors["lower"].equals(clean.sensors["lower"])
    report = cleaning_report(rec)["lower"]
    assert report["duplicate_rows"] == 1 and report["repeated_timestamps"] == 0
    # rows of every file read for the sensor: acceleration, gyroscope, magnetometer
    n = sim.n_samples
    assert report["rows_read"] == n + (n + 1) + len(sim.time_s[::2])
    lines.insert(21, lines[15])
    files["Gyroscope.csv"] = "\n".join(lines) + "\n"
    with pytest.raises(InputFormatError) as caught:
        read_sensor_logger(write_zip(tmp_path / "back.zip", files))
    assert caught.value.line == 22 and caught.value.column == "seconds_elapsed"
    assert "Gyroscope.csv" in str(caught.value) and "Sort the rows by time" in str(caught.value)


def test_phyphox_drops_a_repeated_time_stamp(tmp_path: Path) -> None:
    sim = _sim_lower()
    files = phyphox_files(sim)
    name = next(k for k in files if "cceler" in k)
    lines = files[name].splitlines()
    cells = lines[5].split(",")
    lines.insert(6, ",".join([cells[0], *("0" for _ in cells[1:])]))
    files[name] = "\n".join(lines) + "\n"
    rec = read_phyphox(write_zip(tmp_path / "p.zip", files))
    assert cleaning_report(rec)["lower"]["repeated_timestamps"] == 1
    assert not np.any(np.all(rec.sensors["lower"].acc_mps2 == 0.0, axis=1))


def _sim_lower() -> SensorData:
    rec = simulate(
        "pelvic-tilt",
        seed=5,
        reps=1,
        sets=1,
        sensor_errors=SensorErrorModel.ideal(),
        magnetometer=True,
    )
    return rec.sensors["lower"]


# -- date-time columns ------------------------------------------------------------------------
def _dated(stamps: list[str], header: str = "time") -> str:
    lines = [f"{header},ax,ay,az,gx_dps,gy_dps,gz_dps"]
    lines += [f"{s},0,0,1,0,0,{k}" for k, s in enumerate(stamps)]
    return "\n".join(lines) + "\n"


MAPPING_G = "time=time,acc=ax,ay,az:g,gyr=gx_dps,gy_dps,gz_dps:dps"


@pytest.mark.parametrize(
    ("stamp", "start"),
    [
        ("2024-03-01T10:15:{s}Z", datetime(2024, 3, 1, 10, 15, 2, 120000, tzinfo=UTC)),
        ("2024-03-01 10:15:{s}+01:00", datetime(2024, 3, 1, 9, 15, 2, 120000, tzinfo=UTC)),
        ("2024/03/01 10:15:{s}-0500", datetime(2024, 3, 1, 15, 15, 2, 120000, tzinfo=UTC)),
    ],
)
def test_a_date_time_column_with_a_zone(tmp_path: Path, stamp: str, start: datetime) -> None:
    seconds = [f"{2.12 + k * 0.02:06.3f}" for k in range(50)]
    path = _write(tmp_path, _dated([stamp.format(s=s) for s in seconds]))
    rec = read_csv(path, mapping=MAPPING_G)
    lower = rec.sensors["lower"]
    assert rec.start_utc == start
    assert lower.time_s[0] == 0.0
    assert lower.time_s.tolist() == pytest.approx([k * 0.02 for k in range(50)], abs=1e-9)
    assert lower.rate_hz == 50.0
    assert "start_local_time" not in rec.meta


def test_a_date_time_column_without_zone(tmp_path: Path) -> None:
    first = datetime(2024, 3, 1, 10, 15, 2, 120000)
    stamps = [(first + timedelta(milliseconds=20 * k)).isoformat(sep=" ") for k in range(30)]
    stamps[10:10] = [stamps[9]]  # one repeated time stamp, as loggers write them
    path = _write(tmp_path, _dated([s[:23] for s in stamps], header="Timestamp"))
    rec = load_recording(path)  # names recognised, date-times by content
    assert rec.start_utc == UNKNOWN_START_UTC  # a wall-clock time without zone: no instant
    assert rec.meta["start_local_time"] == "2024-03-01 10:15:02.120000"
    assert rec.sensors["lower"].n_samples == 30
    assert cleaning_report(rec)["lower"]["repeated_timestamps"] == 1
    assert rec.meta["mapping"].startswith("time=Timestamp:datetime,acc=ax,ay,az:g")


def test_a_bad_date_time_names_line_and_column(tmp_path: Path) -> None:
    stamps = [f"2024-03-01 10:15:0{k}.000" for k in range(5)]
    stamps[3] = "2024-03-01 10:15:03.x"
    err = _error(_write(tmp_path, _dated(stamps)), mapping=MAPPING_G)
    assert (err.line, err.column, err.found) == (5, "time", "2024-03-01 10:15:03.x")
    assert "expected a date and time like '2024-03-01 10:15:02.120' (ISO-8601" in str(err)
    assert str(err).endswith("Correct or delete line 5")


def test_mixed_zones_are_refused(tmp_path: Path) -> None:
    stamps = [f"2024-03-01 10:15:0{k}.000" for k in range(5)]
    stamps[2] += "Z"
    err = _error(_write(tmp_path, _dated(stamps)), mapping=MAPPING_G)
    assert (err.line, err.column) == (4, "time")
    assert "expected every time without a time zone, as in the first row" in str(err)


def test_date_times_going_backwards_are_refused(tmp_path: Path) -> None:
    stamps = [f"2024-03-01 10:15:0{k}.000" for k in (0, 1, 2, 1, 4)]
    err = _error(_write(tmp_path, _dated(stamps)), mapping=MAPPING_G)
    assert (err.line, err.column, err.found) == (5, "time", "2024-03-01 10:15:01.000")
    assert "expected time to increase strictly" in str(err)


def test_unix_time_in_milliseconds_without_unit_in_the_name(tmp_path: Path) -> None:
    start_ms = 1_709_288_102_120
    lines = ["timestamp,AccX,AccY,AccZ"]
    lines += [f"{start_ms + 20 * k},0,0,1" for k in range(40)]
    rec = read_csv(_write(tmp_path, "\n".join(lines)))
    assert rec.start_utc == datetime.fromtimestamp(start_ms / 1000, UTC)
    assert rec.sensors["lower"].rate_hz == 50.0
    assert rec.sensors["lower"].time_s[1] == pytest.approx(0.02)


# -- accelerometer-only -----------------------------------------------------------------------
def test_an_accelerometer_only_file_with_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "t,ax,ay,az\n0,0,0,1\n0.02,0,0.1,1\n0.04,0,0,1\n")
    rec = read_csv(path, mapping="time=t,acc=ax,ay,az:g,gyr=none")
    lower = rec.sensors["lower"]
    assert not lower.has_gyroscope
    assert lower.gyr_dps.shape == (3, 3) and np.isnan(lower.gyr_dps).all()
    assert lower.acc_mps2[1, 1] == pytest.approx(0.1 * STANDARD_GRAVITY_MPS2)


def test_an_accelerometer_only_file_without_a_mapping(tmp_path: Path) -> None:
    text = "Time (s),Accelerometer X (g),Accelerometer Y (g),Accelerometer Z (g)\n"
    text += "".join(f"{k / 50},0,0,1\n" for k in range(10))
    rec = load_recording(_write(tmp_path, text, "acc.txt"))
    assert not rec.sensors["lower"].has_gyroscope
    assert rec.meta["mapping"].endswith("gyr=none")


def test_a_file_without_accelerometer_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "time,gyro_x,gyro_y,gyro_z\n0,0,0,0\n0.01,0,0,0\n")
    err = _error(path)
    assert err.line == 1
    assert "expected spinecoach's column names" in str(err)
    assert "(no accelerometer columns x, y, z were recognised)" in str(err)
    with pytest.raises(ConfigurationError, match="has no acc item for the lower sensor"):
        read_csv(path, mapping="time=time,gyr=gyro_x,gyro_y,gyro_z")


# -- per-sensor files as other brands write them ----------------------------------------------
def _brand_file(folder: Path, name: str, acc_g: np.ndarray, gyr_dps: np.ndarray) -> Path:
    """One sensor per file, no time column, AccX.. in g and GyrX.. in rad/s."""
    lines = ["AccX,AccY,AccZ,GyrX,GyrY,GyrZ"]
    for a, g in zip(acc_g, np.radians(gyr_dps), strict=True):
        lines.append(",".join(repr(float(v)) for v in (*a, *g)))
    return _write(folder, "\n".join(lines) + "\n", name)


BRAND_MAPPING = "acc=AccX,AccY,AccZ:g,gyr=GyrX,GyrY,GyrZ:rad/s"


@needs_mobgap
def test_a_per_sensor_file_without_time_column(tmp_path: Path) -> None:
    data = _mobgap("HA_001_Test11_Trial1")[::2]  # 100 Hz -> 50 Hz
    path = _brand_file(tmp_path, "upper.csv", data[:, 1:4], data[:, 4:7])
    rec = load_recording(path, format="csv", rate_hz=50, mapping=BRAND_MAPPING, placement="upper")
    upper = rec.sensors["upper"]
    assert list(rec.sensors) == ["upper"] and upper.rate_hz == 50.0
    assert upper.time_s.tolist() == (np.arange(len(data)) / 50.0).tolist()
    np.testing.assert_allclose(upper.acc_mps2, data[:, 1:4] * STANDARD_GRAVITY_MPS2, rtol=1e-12)
    np.testing.assert_allclose(upper.gyr_dps, data[:, 4:7], rtol=1e-9, atol=1e-12)
    # the names and units recognised without a mapping: g from the magnitude, rad/s from
    # how the gravity direction turns
    guessed = load_recording(path, rate_hz=50, placement="upper")
    assert guessed.sensors["upper"].equals(upper)
    assert guessed.meta["mapping"] == "upper.acc=AccX,AccY,AccZ:g,upper.gyr=GyrX,GyrY,GyrZ:rad/s"


def test_without_time_column_and_rate_the_message_names_rate(tmp_path: Path) -> None:
    path = _write(tmp_path, "AccX,AccY,AccZ,GyrX,GyrY,GyrZ\n0,0,1,0,0,0\n0,0,1,0,0,0\n")
    with pytest.raises(ConfigurationError, match=r"pass rate_hz \(--rate\)"):
        load_recording(path, format="csv", mapping=BRAND_MAPPING, placement="upper")
    err = _error(path)
    assert "pass rate_hz (--rate) with the sampling rate in hertz" in str(err)


def test_an_undecidable_gyroscope_unit_is_refused_with_the_mapping(tmp_path: Path) -> None:
    # at rest: tiny rotation rates read the same in deg/s and rad/s
    rng = np.random.default_rng(1)
    lines = ["acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z"]
    lines += [
        ",".join(f"{v:.5f}" for v in (*rng.normal(0, 0.01, 2), 1.0, *rng.normal(0, 0.01, 3)))
        for _ in range(500)
    ]
    path = _write(tmp_path, "\n".join(lines))
    with pytest.raises(UnitError) as caught:
        read_csv(path, rate_hz=50.0)
    message = str(caught.value)
    assert "the header does not say the gyroscope's unit and the values do not tell" in message
    assert "--mapping 'acc=acc_x,acc_y,acc_z:g,gyr=gyro_x,gyro_y,gyro_z:rad/s' (or :dps)" in message


@needs_mobgap
@pytest.mark.parametrize("trial", MOBGAP_TRIALS)
def test_gyro_units_from_tilt_on_real_walks_are_never_wrong(trial: str) -> None:
    data = _mobgap(trial)
    for step, rate in ((1, 100.0), (2, 50.0), (4, 25.0)):
        acc, gyr = data[::step, 1:4], data[::step, 4:7]
        assert gyro_unit_from_tilt(acc, gyr, rate_hz=rate) in ("deg/s", None)
        assert gyro_unit_from_tilt(acc, np.radians(gyr), rate_hz=rate) in ("rad/s", None)
    # a 2-4 minute day-like trial has enough tilting to decide at 100 Hz
    if "Test11" in trial:
        assert gyro_unit_from_tilt(data[:, 1:4], data[:, 4:7], rate_hz=100.0) == "deg/s"


def test_gyro_unit_from_tilt_on_a_seated_flexion_and_on_noise() -> None:
    rate = 50.0
    t = np.arange(0, 30, 1 / rate)
    angle = np.radians(30.0) * (1 - np.cos(2 * np.pi * t / 4.0)) / 2  # 4 s forward bends
    rate_dps = np.degrees(np.gradient(angle, 1 / rate))
    acc = np.column_stack([np.sin(angle), np.zeros_like(t), np.cos(angle)])
    gyr = np.column_stack([np.zeros_like(t), rate_dps, np.zeros_like(t)])
    assert gyro_unit_from_tilt(acc, gyr, rate_hz=rate) == "deg/s"
    assert gyro_unit_from_tilt(acc, np.radians(gyr), rate_hz=rate) == "rad/s"
    assert gyro_unit_from_tilt(acc, gyr * 131.0, rate_hz=rate) is None  # raw counts
    rng = np.random.default_rng(0)
    still = np.array([0.0, 0.0, 9.81]) + rng.normal(0, 0.05, (1500, 3))
    assert gyro_unit_from_tilt(still, rng.normal(0, 1.0, (1500, 3)), rate_hz=rate) is None


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("AccX", ("acc", "x", None)),
        ("acc_y", ("acc", "y", None)),
        ("Accelerometer Z (g)", ("acc", "z", "g")),
        ("Acc_X [m/s^2]", ("acc", "x", "m/s2")),
        ("acceleration_x_mps2", ("acc", "x", "m/s2")),
        ("accel_z (mg)", ("acc", "z", "mg")),
        ("ax", ("acc", "x", None)),
        ("gyro_x", ("gyr", "x", None)),
        ("GyrY (rad/s)", ("gyr", "y", "rad/s")),
        ("Gyroscope Z (deg/s)", ("gyr", "z", "deg/s")),
        ("gyr_x_dps", ("gyr", "x", "deg/s")),
        ("mag_x_uT", ("mag", "x", "uT")),
        ("time_s", ("time", "", "s")),
        ("Timestamp (ms)", ("time", "", "ms")),
        ("datetime", ("time", "", None)),
        ("AccX (counts)", ("acc", "x", "?")),
        ("linear_acc_x", None),
        ("FreeAcc_X", None),
        ("gFx", None),
        ("quat_w", None),
    ],
)
def test_column_names_recognised(name: str, parsed: tuple[str, str, str | None] | None) -> None:
    assert parse_column_name(name) == parsed


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (["AccX", "AccY", "AccZ", "acc_x"], "two columns for the accelerometer's x axis"),
        (["time", "timestamp", "ax", "ay", "az"], "several time columns: 'time', 'timestamp'"),
        (["ax (g)", "ay (g)", "az (m/s^2)"], "the accelerometer columns give different units"),
        (["AccX", "AccY", "GyroZ"], "no accelerometer columns x, y, z were recognised"),
    ],
)
def test_ambiguous_headers_are_not_guessed(header: list[str], reason: str) -> None:
    guess = guess_mapping(header)
    assert guess.mapping is None and guess.reason.startswith(reason)


def test_time_unit_from_steps_needs_one_fitting_unit() -> None:
    assert time_unit_from_steps(np.arange(10) * 40.0) == "ms"
    assert time_unit_from_steps(np.arange(10) * 10_000.0) == "us"
    assert time_unit_from_steps(np.arange(10) * 1.0) == "ms"  # 1 Hz in s is no IMU's rate
    assert time_unit_from_steps(np.arange(10) * 1e-4) is None  # 10 kHz in s: none fits
    assert time_unit_from_steps(np.zeros(10)) is None


def test_a_recognised_header_is_detected_as_csv(tmp_path: Path) -> None:
    path = _write(tmp_path, "Time (s),AccX,AccY,AccZ\n0,0,0,1\n0.01,0,0,1\n", "x.txt")
    assert detect_format(path) == "csv"


# -- one file per sensor ----------------------------------------------------------------------
@needs_mobgap
def test_two_per_sensor_files_join_into_one_recording(tmp_path: Path) -> None:
    data = _mobgap("HA_001_Test5_Trial1")[::2]
    lower = _brand_file(tmp_path, "lower.csv", data[:-3, 1:4], data[:-3, 4:7])
    upper = _brand_file(tmp_path, "upper.csv", data[:, 1:4], data[:, 4:7])
    rec = load_recordings(
        [(lower, "lower"), (upper, "upper")], format="csv", rate_hz=50, mapping=BRAND_MAPPING
    )
    assert list(rec.sensors) == ["lower", "upper"]
    assert rec.sensors["lower"].n_samples == len(data) - 3  # lengths kept as they are
    assert rec.sensors["upper"].n_samples == len(data)
    assert rec.sensors["lower"].time_s[0] == rec.sensors["upper"].time_s[0] == 0.0
    assert rec.meta["source_file"] == "lower.csv, upper.csv"
    assert rec.meta["time_alignment"] == "each file's own time (no common clock in the files)"
    assert rec.start_utc == UNKNOWN_START_UTC
    one = load_recording(upper, format="csv", rate_hz=50, mapping=BRAND_MAPPING, placement="upper")
    assert rec.sensors["upper"].equals(one.sensors["upper"])
    guessed = load_recordings([(lower, "lower"), (upper, "upper")], rate_hz=50)
    assert all(guessed.sensors[p].equals(rec.sensors[p]) for p in rec.sensors)


def test_files_with_clocks_share_the_clock(tmp_path: Path) -> None:
    start_ms = 1_709_288_102_000

    def unix_file(name: str, offset_ms: int, extra: int) -> Path:
        lines = ["time_ms,ax,ay,az,gx,gy,gz"]
        times = [start_ms + offset_ms + 20 * k for k in range(50)]
        times.insert(extra, times[extra - 1])  # one duplicate row in each
        lines += [f"{t},0,0,1,0,0,0" for t in times]
        return _write(tmp_path, "\n".join(lines), name)

    mapping = "time=time_ms:ms,acc=ax,ay,az:g,gyr=gx,gy,gz"
    rec = load_recordings(
        [(unix_file("a.csv", 0, 5), "lower"), (unix_file("b.csv", 130, 9), "upper")],
        mapping=mapping,
    )
    assert rec.start_utc == datetime.fromtimestamp(start_ms / 1000, UTC)
    assert rec.sensors["lower"].time_s[0] == 0.0
    assert rec.sensors["upper"].time_s[0] == pytest.approx(0.130)
    assert rec.meta["time_alignment"] == "the files' clocks"
    assert cleaning_report(rec) == {
        "lower": {"duplicate_rows": 1, "repeated_timestamps": 0, "rows_read": 51},
        "upper": {"duplicate_rows": 1, "repeated_timestamps": 0, "rows_read": 51},
    }


def test_files_with_zoned_date_times_share_the_clock(tmp_path: Path) -> None:
    base = datetime(2024, 3, 1, 10, 15, 2, tzinfo=timezone(timedelta(hours=1)))

    def dated_file(name: str, offset_s: float) -> Path:
        stamps = [(base + timedelta(seconds=offset_s + k / 50)).isoformat() for k in range(40)]
        return _write(tmp_path, _dated(stamps), name)

    rec = load_recordings(
        [(dated_file("l.csv", 0.5), "lower"), (dated_file("u.csv", 0.0), "upper")],
        mapping=MAPPING_G,
    )
    assert rec.start_utc == base.astimezone(UTC)
    assert rec.sensors["lower"].time_s[0] == pytest.approx(0.5)
    assert rec.sensors["upper"].time_s[0] == 0.0


def test_load_recordings_refuses_what_it_cannot_join(tmp_path: Path) -> None:
    path = _write(tmp_path, "AccX,AccY,AccZ\n0,0,1\n0,0,1\n")
    given_twice = re.escape("placement 'lower' is given for data.csv and data.csv")
    with pytest.raises(ConfigurationError, match=given_twice):
        load_recordings([(path, "lower"), (path, "lower")], rate_hz=50)
    with pytest.raises(ConfigurationError, match="unknown sensor placement 'middle'"):
        load_recordings([(path, "middle")], rate_hz=50)
    with pytest.raises(ConfigurationError, match="at least one"):
        load_recordings([], rate_hz=50)
    # a file holding both sensors cannot be given one placement
    both = "lower.acc=a,b,c,lower.gyr=d,e,f,upper.acc=g,h,i,upper.gyr=j,k,l"
    wide = _write(
        tmp_path, "a,b,c,d,e,f,g,h,i,j,k,l\n" + "0,0,9.8,0,0,0,0,0,9.8,0,0,0\n" * 2, "wide.csv"
    )
    with pytest.raises(ConfigurationError, match="the mapping names both sensors"):
        load_recordings([(wide, "lower")], rate_hz=50, mapping=both)


# -- the real mobgap recordings ---------------------------------------------------------------
@needs_mobgap
@pytest.mark.parametrize("trial", MOBGAP_TRIALS)
def test_real_mobgap_files_load_through_the_generic_csv(trial: str) -> None:
    path = MOBGAP / trial / "imu.csv"
    meta = json.loads((MOBGAP / trial / "meta.json").read_text())
    data = _mobgap(trial)
    preset = load_recording(path, format="csv", mapping="mobgap")
    lower = preset.sensors["lower"]
    assert lower.n_samples == meta["n_samples"] == len(data)
    assert lower.rate_hz == meta["fs_hz"] == 100.0
    assert lower.time_s.tolist() == data[:, 0].tolist()
    assert lower.acc_mps2.tolist() == (data[:, 1:4] * STANDARD_GRAVITY_MPS2).tolist()
    assert lower.gyr_dps.tolist() == data[:, 4:7].tolist()
    assert lower.mag_ut is not None and lower.mag_ut.tolist() == data[:, 7:10].tolist()
    assert lower.has_gyroscope and cleaning_report(preset) == {}
    # without a mapping the names (with their units) are recognised the same way
    auto = load_recording(path)
    assert auto.sensors["lower"].equals(lower)
    assert auto.meta["mapping"] == (
        "time=time_s:s,acc=acc_x_g,acc_y_g,acc_z_g:g,gyr=gyr_x_dps,gyr_y_dps,gyr_z_dps:deg/s,"
        "mag=mag_x_uT,mag_y_uT,mag_z_uT:uT"
    )


# -- the report ------------------------------------------------------------------------------
def test_cleaning_report_refuses_an_edited_entry() -> None:
    sensor = SensorData.from_arrays("lower", [0.0], [[0, 0, 9.8]], [[0, 0, 0]], rate_hz=50.0)
    for text in ("not json", '{"lower": {"duplicate_rows": -1}}', '{"lower": 3}'):
        rec = Recording.create({"lower": sensor}, meta={"cleaning": text})
        with pytest.raises(InputFormatError, match=re.escape("expected meta['cleaning']")):
            cleaning_report(rec)


def test_a_large_file_with_repeats_is_parsed_in_one_numpy_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 200 000 rows at 100 Hz with a duplicate row every 1000: dropping them needs no
    # second, row-by-row reading of the file (that path is made to fail here).
    n = 200_000
    rng = np.random.default_rng(0)
    values = rng.normal(0, 1, (n, 6)) + np.array([0, 0, 9.8, 0, 0, 0])
    table = np.column_stack([np.arange(n) / 100.0, values])
    repeat = np.arange(500, n, 1000)
    table = np.insert(table, repeat + 1, table[repeat], axis=0)
    path = tmp_path / "big.csv"
    np.savetxt(path, table, delimiter=",", header=OWN_HEADER, comments="", fmt="%.4f")

    def no_slow_path(*_: object) -> None:
        raise AssertionError("the file was read row by row")

    monkeypatch.setattr(csv_table, "_parse_slow", no_slow_path)
    rec = read_csv(path)
    assert rec.sensors["lower"].n_samples == n
    assert cleaning_report(rec)["lower"] == {
        "duplicate_rows": len(repeat),
        "repeated_timestamps": 0,
        "rows_read": n + len(repeat),
    }


@pytest.mark.parametrize("zone", ["", "Z", "+01:00", "-0530"])
def test_date_times_read_in_one_pass_equal_row_by_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    first = datetime(2024, 12, 31, 23, 59, 58, 995000)
    stamps = [
        (first + timedelta(microseconds=round(k * 1e6 / 64))).isoformat(sep=" ") + zone
        for k in range(300)
    ]
    path = _write(tmp_path, _dated(stamps))
    fast = read_csv(path, mapping=MAPPING_G)
    monkeypatch.setattr(csv_time, "_parse_datetimes_fast", lambda _: None)
    slow = read_csv(path, mapping=MAPPING_G)
    assert fast.sensors["lower"].equals(slow.sensors["lower"])
    assert fast.start_utc == slow.start_utc and dict(fast.meta) == dict(slow.meta)
    assert fast.sensors["lower"].rate_hz == 64.0


def test_own_column_names_with_a_date_time_column(tmp_path: Path) -> None:
    header = OWN_HEADER.replace("time_s", "datetime")
    lines = [header] + [f"2024-03-01T10:15:0{k}.500Z,0,0,9.8,0,0,0" for k in range(5)]
    rec = read_csv(_write(tmp_path, "\n".join(lines)))
    assert rec.start_utc == datetime(2024, 3, 1, 10, 15, 0, 500000, tzinfo=UTC)
    assert rec.sensors["lower"].time_s.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert rec.meta["mapping"].startswith("time=datetime:datetime,acc=acc_x_mps2")


def test_a_sample_counter_named_time_does_not_fit_the_declared_rate(tmp_path: Path) -> None:
    lines = ["Time,AccX,AccY,AccZ"] + [f"{k},0,0,1" for k in range(100)]
    path = _write(tmp_path, "\n".join(lines))
    with pytest.raises(UnitError) as caught:
        read_csv(path, rate_hz=50.0)
    assert str(caught.value).startswith(
        f"{path}, column 'Time': the header does not say the time unit and no unit makes its "
        "median step 1 fit the declared 50 Hz (s: 1 Hz, ms: 1000 Hz"
    )
    assert "leave the time column out of the mapping and keep --rate" in str(caught.value)
    # in milliseconds at 50 Hz it fits
    lines = ["Time,AccX,AccY,AccZ"] + [f"{20 * k},0,0,1" for k in range(100)]
    rec = read_csv(_write(tmp_path, "\n".join(lines), "ms.csv"), rate_hz=50.0)
    assert rec.sensors["lower"].time_s[1] == 0.02


def test_an_accelerometer_only_recording_with_its_report_survives_the_native_format(
    tmp_path: Path,
) -> None:
    lines = ["t,ax,ay,az"] + [f"{k / 50!r},0,0.{k % 7},1" for k in range(20)]
    lines.insert(5, lines[4])
    rec = read_csv(_write(tmp_path, "\n".join(lines)), mapping="time=t,acc=ax,ay,az:g,gyr=none")
    back = read_recording(write_recording(rec, tmp_path / "a.screc"))
    assert back.equals(rec) and not back.sensors["lower"].has_gyroscope
    assert (
        cleaning_report(back)
        == cleaning_report(rec)
        == {"lower": {"duplicate_rows": 1, "repeated_timestamps": 0, "rows_read": 21}}
    )


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.sampled_from([0, 0, 1, 2]), min_size=1, max_size=40),
    values=st.lists(st.integers(0, 2), min_size=41, max_size=41),
)
def test_drop_repeated_times_keeps_the_first_of_every_run(
    steps: list[int], values: list[int]
) -> None:
    time = np.concatenate([[0.0], np.cumsum(steps)]).astype(float)
    rows = np.array(values[: len(time)], dtype=float)[:, None]
    kept = drop_repeated_times(time, rows)
    assert kept.backwards is None
    assert np.all(np.diff(time[kept.keep]) > 0)
    assert sorted(set(time.tolist())) == time[kept.keep].tolist()
    first_of_run = np.concatenate([[True], np.diff(time) != 0])
    assert kept.keep.tolist() == first_of_run.tolist()
    counts = kept.counts
    assert counts.rows_read == len(time)
    assert counts.duplicate_rows + counts.repeated_timestamps == int(np.sum(~kept.keep))
    same = [
        rows[i, 0] == rows[np.flatnonzero(kept.keep[: i + 1])[-1], 0]
        for i in np.flatnonzero(~kept.keep)
    ]
    assert counts.duplicate_rows == sum(same)
    if len(time) > 1:
        back = time.copy()
        back[-1] = back[-2] - 1.0
        assert drop_repeated_times(back, rows).backwards == len(time) - 1
