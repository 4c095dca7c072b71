"""Readers for phone-app exports (Sensor Logger, phyphox) and the CSV presets.

The exports are written here from a seeded simulation in each app's documented layout
and units, with independent timestamps per sensor (small offsets), then read back.
"""

from __future__ import annotations

import doctest
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spinecoach.cli import app
from spinecoach.errors import ConfigurationError, InputFormatError, UnitError
from spinecoach.io import (
    CSV_PRESETS,
    detect_format,
    load_recording,
    phone_export,
    phyphox,
    preset_mapping,
    presets,
    read_phyphox,
    read_sensor_logger,
    sensor_logger,
)
from spinecoach.recording import SensorData
from spinecoach.sim import SensorErrorModel, simulate

runner = CliRunner()
START_NS = 1_750_000_000_123_456_789
GYR_OFFSET_S = 0.0031  # the gyroscope's clock runs a little after the accelerometer's
MAG_OFFSET_S = -0.0047
GRAVITY_OFFSET_S = 0.0013


@pytest.fixture(scope="module")
def sim_lower() -> SensorData:
    rec = simulate(
        "pelvic-tilt",
        seed=5,
        reps=2,
        sets=1,
        sensor_errors=SensorErrorModel.ideal(),
        magnetometer=True,
    )
    return rec.sensors["lower"]


def _at(sensor: SensorData, values: np.ndarray, times: np.ndarray) -> np.ndarray:
    return np.column_stack([np.interp(times, sensor.time_s, values[:, k]) for k in range(3)])


def _gravity(acc: np.ndarray) -> np.ndarray:
    """A smooth gravity estimate (1 s moving average), so acc = user + gravity exactly."""
    kernel = np.ones(101) / 101
    padded = np.pad(acc, ((50, 50), (0, 0)), mode="edge")
    return np.column_stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(3)])


def _sl_csv(times_s: np.ndarray, xyz: np.ndarray) -> str:
    lines = ["time,seconds_elapsed,z,y,x"]
    for t, (x, y, z) in zip(times_s, xyz, strict=True):
        cells = (float(t), float(z), float(y), float(x))
        lines.append(f"{START_NS + round(t * 1e9)}," + ",".join(repr(c) for c in cells))
    return "\n".join(lines) + "\n"


def sensor_logger_files(
    sensor: SensorData, *, total: bool = True, gravity: bool = True, acc_scale: float = 1.0
) -> dict[str, str]:
    """Sensor Logger's files: acc in m/s², gyroscope rad/s, magnetometer µT."""
    t = sensor.time_s
    files: dict[str, str] = {}
    acc = sensor.acc_mps2 * acc_scale
    if total:
        files["TotalAcceleration.csv"] = _sl_csv(t, acc)
    else:
        g = _gravity(acc)
        files["Accelerometer.csv"] = _sl_csv(t, acc - g)
        if gravity:
            tg = t + GRAVITY_OFFSET_S
            files["Gravity.csv"] = _sl_csv(
                tg, np.column_stack([np.interp(tg, t, g[:, k]) for k in range(3)])
            )
    tg = t + GYR_OFFSET_S
    files["Gyroscope.csv"] = _sl_csv(tg, np.radians(_at(sensor, sensor.gyr_dps, tg)))
    assert sensor.mag_ut is not None
    tm = t[::2] + MAG_OFFSET_S  # the magnetometer at half the rate
    files["Magnetometer.csv"] = _sl_csv(tm, _at(sensor, sensor.mag_ut, tm))
    files["Metadata.csv"] = "version,device name,recording time\n1.30,iPhone,2025-06-15\n"
    files["Orientation.csv"] = "time,seconds_elapsed,qz,qy,qx,qw\n1,0.0,0,0,0,1\n"
    return files


def write_folder(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def write_zip(path: Path, files: dict[str, str], *, top: str = "") -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(top + name, text)
    return path


def _check_against_sim(rec_sensor: SensorData, sim: SensorData, *, mag: bool = True) -> None:
    t = rec_sensor.time_s + float(sim.time_s[0]) + _shift(rec_sensor, sim)
    assert rec_sensor.rate_hz == 100.0
    acc = _at(sim, sim.acc_mps2, t)
    gyr = _at(sim, sim.gyr_dps, t)
    # Linear interpolation twice (written at offset times, read back): errors are a
    # small share of the signal's range.
    assert np.max(np.abs(rec_sensor.acc_mps2 - acc)) < 0.05
    assert np.max(np.abs(rec_sensor.gyr_dps - gyr)) < 0.5
    assert np.max(np.abs(gyr)) > 5.0  # the signal is not trivially small
    if mag:
        assert rec_sensor.mag_ut is not None and sim.mag_ut is not None
        assert np.max(np.abs(rec_sensor.mag_ut - _at(sim, sim.mag_ut, t))) < 0.2


def _shift(rec_sensor: SensorData, sim: SensorData) -> float:
    # The first kept sample is the first accelerometer sample inside every stream's span.
    starts = [sim.time_s[0] + GYR_OFFSET_S, sim.time_s[0] + MAG_OFFSET_S, sim.time_s[0]]
    first = sim.time_s[sim.time_s >= max(starts)][0]
    return float(first - sim.time_s[0])


# Sensor Logger -----------------------------------------------------------------------
def test_sensor_logger_zip_matches_the_simulation(tmp_path: Path, sim_lower: SensorData) -> None:
    path = write_zip(tmp_path / "export.zip", sensor_logger_files(sim_lower), top="2025-06-15/")
    rec = read_sensor_logger(path)
    sensor = rec.sensors["lower"]
    _check_against_sim(sensor, sim_lower)
    assert sensor.time_s[0] == 0.0
    assert rec.meta["source_format"] == "sensor-logger"
    expected_ns = START_NS + round((sim_lower.time_s[0] + _shift(sensor, sim_lower)) * 1e9)
    assert abs(rec.start_utc.timestamp() - expected_ns / 1e9) < 1e-5


def test_sensor_logger_adds_gravity_to_user_acceleration(
    tmp_path: Path, sim_lower: SensorData
) -> None:
    folder = write_folder(tmp_path / "export", sensor_logger_files(sim_lower, total=False))
    rec = read_sensor_logger(folder, placement="upper")
    assert list(rec.sensors) == ["upper"]
    _check_against_sim(rec.sensors["upper"], sim_lower)
    assert rec.meta["acceleration_from"] == "Accelerometer.csv + Gravity.csv"


def test_sensor_logger_refuses_gravity_free_acceleration_without_gravity(
    tmp_path: Path, sim_lower: SensorData
) -> None:
    files = sensor_logger_files(sim_lower, total=False, gravity=False)
    with pytest.raises(InputFormatError) as info:
        read_sensor_logger(write_folder(tmp_path / "export", files))
    message = str(info.value)
    assert "Accelerometer.csv" in message and "Gravity.csv missing" in message
    assert "turn on the Gravity sensor (or Total Acceleration)" in message


def test_sensor_logger_missing_column_names_file_and_fix(
    tmp_path: Path, sim_lower: SensorData
) -> None:
    files = sensor_logger_files(sim_lower)
    files["Gyroscope.csv"] = files["Gyroscope.csv"].replace(",x\n", ",w\n", 1)
    with pytest.raises(InputFormatError) as info:
        read_sensor_logger(write_zip(tmp_path / "export.zip", files))
    message = str(info.value)
    assert "Gyroscope.csv, line 1, column 'x': expected a column named 'x'" in message
    assert "Export the recording again from Sensor Logger" in message


def test_sensor_logger_acceleration_in_g_is_a_unit_error(
    tmp_path: Path, sim_lower: SensorData
) -> None:
    files = sensor_logger_files(sim_lower, acc_scale=1 / 9.80665)
    with pytest.raises(UnitError, match=r"TotalAcceleration\.csv: .* looks like g"):
        read_sensor_logger(write_zip(tmp_path / "export.zip", files))


def test_sensor_logger_gyroscope_in_deg_s_is_a_unit_error(
    tmp_path: Path, sim_lower: SensorData
) -> None:
    files = sensor_logger_files(sim_lower)
    lines = files["Gyroscope.csv"].splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",250.0"  # one fast sample is not enough...
    scaled = [lines[0]] + [
        ",".join([*cells[:2], *(str(float(c) * 57.3 * 20) for c in cells[2:])])
        for cells in (line.split(",") for line in lines[1:])
    ]
    files["Gyroscope.csv"] = "\n".join(scaled) + "\n"
    with pytest.raises(UnitError, match=r"Gyroscope\.csv: .* looks like deg/s"):
        read_sensor_logger(write_zip(tmp_path / "export.zip", files))


def test_sensor_logger_empty_file_names_file_and_fix(tmp_path: Path, sim_lower: SensorData) -> None:
    files = sensor_logger_files(sim_lower)
    files["Gyroscope.csv"] = ""
    with pytest.raises(InputFormatError) as info:
        read_sensor_logger(write_zip(tmp_path / "export.zip", files))
    message = str(info.value)
    assert "Gyroscope.csv" in message and "found 'an empty file'" in message
    assert "Export the recording again" in message


def test_sensor_logger_without_gyroscope(tmp_path: Path, sim_lower: SensorData) -> None:
    files = sensor_logger_files(sim_lower)
    del files["Gyroscope.csv"]
    with pytest.raises(InputFormatError, match=r"expected Gyroscope\.csv in the export.*turn on"):
        read_sensor_logger(write_folder(tmp_path / "export", files))


def test_truncated_zip_names_file_and_fix(tmp_path: Path, sim_lower: SensorData) -> None:
    whole = write_zip(tmp_path / "whole.zip", sensor_logger_files(sim_lower)).read_bytes()
    path = tmp_path / "export.zip"
    path.write_bytes(whole[: len(whole) // 2])
    for call in (
        lambda: read_sensor_logger(path),
        lambda: load_recording(path),
        lambda: load_recording(path, format="phyphox"),
    ):
        with pytest.raises(InputFormatError) as info:
            call()
        message = str(info.value)
        assert "export.zip" in message and "damaged or truncated zip" in message
        assert "Copy or download the export again" in message


def test_sensor_logger_accelerometer_that_holds_gravity_is_used_as_is(
    tmp_path: Path, sim_lower: SensorData
) -> None:
    files = sensor_logger_files(sim_lower)
    files["Accelerometer.csv"] = files.pop("TotalAcceleration.csv")
    rec = read_sensor_logger(write_folder(tmp_path / "export", files))
    _check_against_sim(rec.sensors["lower"], sim_lower)
    assert rec.meta["acceleration_from"] == "Accelerometer.csv"


def test_a_plain_file_is_not_an_export(tmp_path: Path) -> None:
    path = tmp_path / "walk.csv"
    path.write_text("time,seconds_elapsed,z,y,x\n")
    for read in (read_sensor_logger, read_phyphox):
        with pytest.raises(InputFormatError, match=r"found 'a file that is not a zip'\. Pass the"):
            read(path)


def test_cli_analyze_a_sensor_logger_zip(tmp_path: Path, sim_lower: SensorData) -> None:
    path = write_zip(tmp_path / "export.zip", sensor_logger_files(sim_lower))
    result = runner.invoke(app, ["analyze", str(path), "--format", "sensor-logger", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rate_hz"] == 100.0
    assert summary["angles_deg"]["pelvic_tilt_deg"] is not None
    assert "needs both sensors" in summary["unavailable"]["lumbar_flexion_deg"]
    table = runner.invoke(app, ["analyze", str(path), "--format", "sensor-logger"])
    assert table.exit_code == 0, table.output
    assert "pelvic_tilt_deg" in table.stdout


def test_cli_formats_lists_the_phone_formats() -> None:
    result = runner.invoke(app, ["formats"])
    assert result.exit_code == 0
    assert "sensor-logger" in result.stdout and "phyphox" in result.stdout


def test_phone_formats_take_no_rate(tmp_path: Path, sim_lower: SensorData) -> None:
    path = write_zip(tmp_path / "export.zip", sensor_logger_files(sim_lower))
    with pytest.raises(ConfigurationError, match="does not take rate_hz"):
        load_recording(path, format="sensor-logger", rate_hz=50.0)


# phyphox -----------------------------------------------------------------------------
def _phyphox_csv(
    heads: list[str], times: np.ndarray, xyz: np.ndarray, *, sep: str, comma: bool
) -> str:
    def number(v: float) -> str:
        text = f"{v:.9E}"
        return text.replace(".", ",") if comma else text

    lines = [sep.join(f'"{h}"' for h in ["Time (s)", *heads])]
    for t, row in zip(times, xyz, strict=True):
        lines.append(sep.join(number(float(v)) for v in (t, *row)))
    return "\n".join(lines) + "\n"


def phyphox_files(
    sensor: SensorData, *, sep: str = ",", comma: bool = False, linear: bool = False
) -> dict[str, str]:
    t = sensor.time_s - sensor.time_s[0]
    acc_name = "Linear Acceleration" if linear else "Acceleration"
    acc_heads = [f"{acc_name} {a} (m/s^2)" for a in "xyz"]
    files = {
        "Accelerometer.csv": _phyphox_csv(acc_heads, t, sensor.acc_mps2, sep=sep, comma=comma),
    }
    tg = t + GYR_OFFSET_S
    gyr = np.radians(_at(sensor, sensor.gyr_dps, tg + sensor.time_s[0]))
    files["Gyroscope.csv"] = _phyphox_csv(
        [f"Gyroscope {a} (rad/s)" for a in "xyz"], tg, gyr, sep=sep, comma=comma
    )
    tm = t + MAG_OFFSET_S
    assert sensor.mag_ut is not None
    mag = _at(sensor, sensor.mag_ut, tm + sensor.time_s[0])
    files["Magnetometer.csv"] = _phyphox_csv(
        [f"Magnetic field {a} (µT)" for a in "xyz"], tm, mag, sep=sep, comma=comma
    )
    files["meta/device.csv"] = '"property","value"\n"deviceModel","Pixel"\n'
    files["meta/time.csv"] = (
        '"event","experiment time","system time","system time text"\n'
        '"START",0.000000000E0,1.750000000123E9,"2025-06-15 15:06:40.123 UTC+00:00"\n'
    )
    return files


@pytest.mark.parametrize(("sep", "comma"), [(",", False), ("\t", False), (";", True), ("\t", True)])
def test_phyphox_exports_match_the_simulation(
    tmp_path: Path, sim_lower: SensorData, sep: str, comma: bool
) -> None:
    path = write_zip(tmp_path / "Multi sensor.zip", phyphox_files(sim_lower, sep=sep, comma=comma))
    rec = read_phyphox(path)
    _check_against_sim(rec.sensors["lower"], sim_lower)
    assert (
        abs(rec.start_utc.timestamp() - 1.750000000123e9 - _shift(rec.sensors["lower"], sim_lower))
        < 1e-5
    )
    assert rec.meta["source_format"] == "phyphox"


def test_phyphox_folder_and_cli(tmp_path: Path, sim_lower: SensorData) -> None:
    folder = write_folder(tmp_path / "Multi sensor", phyphox_files(sim_lower))
    assert detect_format(folder) == "phyphox"
    result = runner.invoke(app, ["analyze", str(folder), "--json", "--placement", "lower"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["angles_deg"]["pelvic_tilt_deg"] is not None


def test_phyphox_refuses_acceleration_without_g(tmp_path: Path, sim_lower: SensorData) -> None:
    files = phyphox_files(sim_lower, linear=True)
    with pytest.raises(InputFormatError) as info:
        read_phyphox(write_zip(tmp_path / "a.zip", files))
    message = str(info.value)
    assert "Accelerometer.csv" in message and "acceleration without g" in message
    assert "logs the accelerometer (with g) and the gyroscope together" in message


def test_phyphox_without_gyroscope(tmp_path: Path, sim_lower: SensorData) -> None:
    files = phyphox_files(sim_lower)
    del files["Gyroscope.csv"]
    with pytest.raises(InputFormatError, match="expected gyroscope columns"):
        read_phyphox(write_zip(tmp_path / "a.zip", files))


def test_phyphox_acceleration_in_g_is_a_unit_error(tmp_path: Path, sim_lower: SensorData) -> None:
    files = phyphox_files(sim_lower)
    files["Accelerometer.csv"] = _phyphox_csv(
        [f"Acceleration {a} (m/s^2)" for a in "xyz"],
        sim_lower.time_s - sim_lower.time_s[0],
        sim_lower.acc_mps2 / 9.80665,
        sep=",",
        comma=False,
    )
    with pytest.raises(UnitError, match=r"Accelerometer\.csv: .* looks like g"):
        read_phyphox(write_zip(tmp_path / "a.zip", files))


def test_phyphox_bad_cell_names_line_and_column(tmp_path: Path, sim_lower: SensorData) -> None:
    files = phyphox_files(sim_lower)
    lines = files["Gyroscope.csv"].splitlines()
    lines[3] = lines[3].replace(",", ",oops", 1)
    files["Gyroscope.csv"] = "\n".join(lines) + "\n"
    with pytest.raises(InputFormatError, match=r"Gyroscope\.csv, line 4, column 'Gyroscope x"):
        read_phyphox(write_zip(tmp_path / "a.zip", files))


# Detection ---------------------------------------------------------------------------
def test_detection_picks_the_right_format(tmp_path: Path, sim_lower: SensorData) -> None:
    sl = sensor_logger_files(sim_lower)
    ph = phyphox_files(sim_lower)
    assert detect_format(write_zip(tmp_path / "sl.zip", sl)) == "sensor-logger"
    assert detect_format(write_folder(tmp_path / "sl", sl)) == "sensor-logger"
    assert detect_format(write_zip(tmp_path / "ph.zip", ph, top="x/")) == "phyphox"
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "walk_lower.csv").write_text("time_s,acc_x_mps2\n")
    assert detect_format(plain) == "csv"
    other = write_zip(tmp_path / "other.zip", {"notes.txt": "hello"})
    with pytest.raises(InputFormatError, match="expected a zip holding a Sensor Logger or phyphox"):
        detect_format(other)
    rec = load_recording(tmp_path / "sl.zip")
    assert rec.meta["source_format"] == "sensor-logger"


# CSV presets -------------------------------------------------------------------------
def test_csv_preset_reads_a_microcontroller_log(tmp_path: Path, sim_lower: SensorData) -> None:
    path = tmp_path / "log.csv"
    rows = ["time_ms,ax,ay,az,gx,gy,gz"]
    for k in range(200):
        acc = sim_lower.acc_mps2[k] / 9.80665
        rows.append(",".join(str(v) for v in (k * 10, *acc, *sim_lower.gyr_dps[k])))
    path.write_text("\n".join(rows) + "\n")
    rec = load_recording(path, format="csv", mapping="microcontroller", placement="upper")
    sensor = rec.sensors["upper"]
    assert sensor.rate_hz == 100.0
    np.testing.assert_allclose(sensor.acc_mps2, sim_lower.acc_mps2[:200], atol=1e-9)
    np.testing.assert_allclose(sensor.gyr_dps, sim_lower.gyr_dps[:200], atol=1e-9)
    # auto + a preset name is read as csv too
    assert load_recording(path, mapping="MICROCONTROLLER").sensors["lower"].n_samples == 200


def test_every_preset_parses_and_unknown_names_are_listed() -> None:
    for name in CSV_PRESETS:
        assert preset_mapping(name).lower is not None
    assert preset_mapping("gaitmap").time is None
    with pytest.raises(ConfigurationError, match="unknown CSV preset 'nope'; use one of gaitmap"):
        preset_mapping("nope")


@pytest.mark.parametrize(
    "module", [phone_export, sensor_logger, phyphox, presets], ids=lambda m: m.__name__
)
def test_docstring_examples_run(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0


def _ios(files: dict[str, str], *, platform_row: str = "iOS") -> dict[str, str]:
    """The same export as an iPhone writes it by default: acceleration and gravity with
    the opposite sign (UNITS.md / COORDINATES.md of awesome-sensor-logger)."""

    def negate(text: str) -> str:
        lines = text.splitlines()
        out = [lines[0]]
        for line in lines[1:]:
            cells = line.split(",")
            out.append(",".join(cells[:2] + [repr(-float(c)) for c in cells[2:]]))
        return "\n".join(out) + "\n"

    changed = dict(files)
    for name in ("Accelerometer.csv", "Gravity.csv", "AccelerometerUncalibrated.csv"):
        if name in changed:
            changed[name] = negate(changed[name])
    changed["Metadata.csv"] = (
        f"version,device name,recording time,platform\n1.30,iPhone,2025-06-15,{platform_row}\n"
    )
    return changed


def test_sensor_logger_iphone_signs_become_the_specific_force(
    tmp_path: Path, sim_lower: SensorData
) -> None:
    files = _ios(sensor_logger_files(sim_lower, total=False))
    rec = load_recording(write_folder(tmp_path / "ios", files), format="sensor-logger")
    _check_against_sim(rec.sensors["lower"], sim_lower)
    assert rec.meta["frames"] == "ios (from Metadata.csv)"
    # Read with Android's convention the data would be upside down: +9.81 pointing down.
    flipped = read_sensor_logger(tmp_path / "ios", frames="android")
    assert np.allclose(flipped.sensors["lower"].acc_mps2, -rec.sensors["lower"].acc_mps2)
    with pytest.raises(ConfigurationError, match="unknown frames"):
        read_sensor_logger(tmp_path / "ios", frames="upside-down")


def test_sensor_logger_iphone_uncalibrated_acceleration_in_g(
    tmp_path: Path, sim_lower: SensorData
) -> None:
    files = sensor_logger_files(sim_lower, acc_scale=1.0 / 9.80665)
    files["AccelerometerUncalibrated.csv"] = files.pop("TotalAcceleration.csv")
    rec = load_recording(write_folder(tmp_path / "raw", _ios(files)), format="sensor-logger")
    _check_against_sim(rec.sensors["lower"], sim_lower)
    assert "g → m/s²" in rec.meta["acceleration_from"]


def test_sensor_logger_prefers_calibrated_acceleration_with_gravity(
    tmp_path: Path, sim_lower: SensorData
) -> None:
    files = sensor_logger_files(sim_lower, total=False)
    files["AccelerometerUncalibrated.csv"] = "time,seconds_elapsed,z,y,x\n"  # empty: unused
    rec = load_recording(write_folder(tmp_path / "both", files), format="sensor-logger")
    assert rec.meta["acceleration_from"] == "Accelerometer.csv + Gravity.csv"
    assert rec.meta["frames"] == "android (assumed: Metadata.csv gives no platform)"
