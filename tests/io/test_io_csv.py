"""Generic CSV reader: delimiters, decimal commas, units, mappings, and every error path."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from io_testdata import OWN_HEADER, OWN_HEADER_MAG, own_csv

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.errors import ConfigurationError, InputFormatError, UnitError
from spinecoach.io import CsvMapping, SensorColumns, default_mapping, parse_mapping, read_csv
from spinecoach.io.csv_units import MAG_UNITS

SIMPLE = "time=t:s,acc=ax,ay,az:m/s2,gyr=gx,gy,gz:dps"


def _write(folder: Path, text: str, name: str = "data.csv") -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    return path


def _error(path: Path, **kwargs: object) -> InputFormatError:
    with pytest.raises(InputFormatError) as caught:
        read_csv(path, **kwargs)  # type: ignore[arg-type]
    return caught.value


# Layouts -------------------------------------------------------------------------------
def test_own_column_names_need_no_mapping(tmp_path: Path) -> None:
    rec = read_csv(_write(tmp_path, own_csv(20)))
    lower = rec.sensors["lower"]
    assert lower.n_samples == 20
    assert lower.rate_hz == 100.0
    assert lower.acc_mps2[0].tolist() == [0.01, -0.02, 9.81]
    assert lower.gyr_dps[0].tolist() == [0.5, -0.25, 0.125]
    assert lower.time_s[1] == 0.01
    assert lower.mag_ut is None
    assert lower.device == "csv"
    assert dict(rec.meta) == {"source_format": "csv", "source_file": "data.csv"}


def test_own_names_with_magnetometer_and_upper_placement(tmp_path: Path) -> None:
    text = OWN_HEADER_MAG + "\n0,0,0,9.8,0,0,0,20,1,-40\n0.01,0,0,9.8,0,0,0,21,1,-40\n"
    rec = read_csv(_write(tmp_path, text), placement="upper")
    assert list(rec.sensors) == ["upper"]
    assert rec.sensors["upper"].mag_ut is not None
    assert rec.sensors["upper"].mag_ut[1].tolist() == [21.0, 1.0, -40.0]


def test_wide_file_with_both_sensors(tmp_path: Path) -> None:
    columns = OWN_HEADER.split(",")[1:]
    header = ",".join(["time_s"] + [f"{p}_{c}" for p in ("lower", "upper") for c in columns])
    rows = [f"{i / 50},0,0,9.8,1,2,3,0,0,-9.8,4,5,6" for i in range(5)]
    rec = read_csv(_write(tmp_path, "\n".join([header, *rows])))
    assert list(rec.sensors) == ["lower", "upper"]
    assert rec.sensors["upper"].acc_mps2[0].tolist() == [0.0, 0.0, -9.8]
    assert rec.sensors["upper"].gyr_dps[0].tolist() == [4.0, 5.0, 6.0]
    assert rec.sensors["lower"].rate_hz == rec.sensors["upper"].rate_hz == 50.0


def test_wide_file_with_prefixed_mapping(tmp_path: Path) -> None:
    text = "t;a1;a2;a3;g1;g2;g3;b1;b2;b3;h1;h2;h3\n" + "\n".join(
        f"{i};0;0;1;0;0;0;0;1;0;0;0;0" for i in range(4)
    )
    mapping = (
        "time=t:ms;lower.acc=a1,a2,a3:g;lower.gyr=g1,g2,g3:dps;"
        "upper.acc=b1,b2,b3:g;upper.gyr=h1,h2,h3:dps"
    )
    rec = read_csv(_write(tmp_path, text), mapping=mapping)
    assert rec.sensors["upper"].acc_mps2[0, 1] == STANDARD_GRAVITY_MPS2
    assert rec.sensors["lower"].rate_hz == 1000.0


def test_placement_of_a_two_sensor_mapping_is_refused(tmp_path: Path) -> None:
    columns = OWN_HEADER.split(",")[1:]
    header = ",".join(["time_s"] + [f"{p}_{c}" for p in ("lower", "upper") for c in columns])
    path = _write(tmp_path, header + "\n0" + ",1" * 12 + "\n1" + ",1" * 12 + "\n")
    with pytest.raises(ConfigurationError, match="names both sensors"):
        read_csv(path, placement="lower")


def test_header_matching_ignores_case_and_spaces(tmp_path: Path) -> None:
    header = " Time_S , ACC_X_MPS2,Acc_Y_Mps2 ,acc_z_mps2,GYR_X_DPS,gyr_y_dps,gyr_z_dps"
    rec = read_csv(_write(tmp_path, header + "\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n"))
    assert rec.sensors["lower"].n_samples == 2
    mapping = "time=T:s,acc=AX,ay, Az :g,gyr=gx,GY,gz"
    text = "t, ax ,AY,az,Gx,gy,gz\n0,0,0,1,0,0,0\n1,0,0,1,0,0,0\n"
    assert read_csv(_write(tmp_path, text, "b.csv"), mapping=mapping).sensors["lower"].n_samples


# Delimiters and decimal commas ---------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("t;ax;ay;az;gx;gy;gz\n0;0,5;0;9,75;1,25;0;0\n0,01;0,5;0;9,75;1,25;0;0\n", "semicolon"),
        (
            "t\tax\tay\taz\tgx\tgy\tgz\n0\t0,5\t0\t9,75\t1,25\t0\t0\n0,01\t0,5\t0\t9,75\t1,25\t0\t0\n",
            "tab + decimal comma",
        ),
        (
            "t\tax\tay\taz\tgx\tgy\tgz\n0\t0.5\t0\t9.75\t1.25\t0\t0\n0.01\t0.5\t0\t9.75\t1.25\t0\t0\n",
            "tab",
        ),
        (
            '"t","ax","ay","az","gx","gy","gz"\n"0","0.5","0","9.75","1.25","0","0"\n'
            '"0.01","0.5","0","9.75","1.25","0","0"\n',
            "quoted",
        ),
        (
            't;ax;ay;az;gx;gy;gz\n"0";"0,5";0;9,75;1,25;0;0\n0,01;0,5;0;9,75;1,25;0;0\n',
            "quoted decimal comma",
        ),
        (
            "t,ax,ay,az,gx,gy,gz\r\n0,0.5,0,9.75,1.25,0,0\r\n0.01,0.5,0,9.75,1.25,0,0\r\n\r\n  \n",
            "CRLF and trailing blank lines",
        ),
        ("\ufefft,ax,ay,az,gx,gy,gz\n0,0.5,0,9.75,1.25,0,0\n0.01,0.5,0,9.75,1.25,0,0", "BOM"),
    ],
)
def test_delimiters_quotes_and_decimal_commas(tmp_path: Path, text: str, what: str) -> None:
    lower = read_csv(_write(tmp_path, text), mapping=SIMPLE).sensors["lower"]
    assert lower.acc_mps2.tolist() == [[0.5, 0.0, 9.75]] * 2, what
    assert lower.gyr_dps[:, 0].tolist() == [1.25, 1.25], what
    assert lower.time_s.tolist() == [0.0, 0.01], what


def test_unmapped_text_columns_are_ignored(tmp_path: Path) -> None:
    text = "t,note,ax,ay,az,gx,gy,gz,\n0,start,0,0,9.8,0,0,0,\n0.01,,0,0,9.8,0,0,0,\n"
    assert read_csv(_write(tmp_path, text), mapping=SIMPLE).sensors["lower"].n_samples == 2


def test_latin1_file_decodes(tmp_path: Path) -> None:
    text = "t;ax;ay;az;gx;gy;gz;Temp (°C)\n0;0;0;9,8;0;0;0;21\n0,01;0;0;9,8;0;0;0;21\n"
    path = tmp_path / "latin.csv"
    path.write_bytes(text.encode("latin-1"))
    assert read_csv(path, mapping=SIMPLE).sensors["lower"].n_samples == 2


# Time and rate -------------------------------------------------------------------------
def test_rate_without_time_column(tmp_path: Path) -> None:
    text = "ax,ay,az,gx,gy,gz\n" + "0,0,9.8,0,0,0\n" * 5
    rec = read_csv(_write(tmp_path, text), mapping="acc=ax,ay,az,gyr=gx,gy,gz", rate_hz=50.0)
    lower = rec.sensors["lower"]
    assert lower.time_s.tolist() == (np.arange(5) / 50.0).tolist()
    assert lower.rate_hz == 50.0


def test_no_time_column_and_no_rate_asks_for_rate(tmp_path: Path) -> None:
    path = _write(tmp_path, "ax,ay,az,gx,gy,gz\n" + "0,0,9.8,0,0,0\n" * 3)
    with pytest.raises(ConfigurationError, match=r"pass rate_hz \(--rate\)"):
        read_csv(path, mapping="acc=ax,ay,az,gyr=gx,gy,gz")


def test_given_rate_overrides_the_derived_rate(tmp_path: Path) -> None:
    rec = read_csv(_write(tmp_path, own_csv(10)), rate_hz=104.0)
    assert rec.sensors["lower"].rate_hz == 104.0
    assert rec.sensors["lower"].time_s[1] == 0.01


@pytest.mark.parametrize(
    ("step", "unit", "rate"),
    [
        (10, "ms", 100.0),
        (10_000, "us", 100.0),
        (5_000_000, "ns", 200.0),
        (0.010078907, "s", 99.22),
        (0.0100001, "s", 100.0),
        (0.003, "s", 333.3),
    ],
)
def test_time_units_and_rate_rounding(tmp_path: Path, step: float, unit: str, rate: float) -> None:
    rows = "\n".join(f"{i * step!r},0,0,9.8,0,0,0" for i in range(6))
    path = _write(tmp_path, "t,ax,ay,az,gx,gy,gz\n" + rows)
    lower = read_csv(path, mapping=SIMPLE.replace("t:s", f"t:{unit}")).sensors["lower"]
    assert lower.rate_hz == rate
    assert lower.time_s[0] == 0.0
    assert lower.time_s[2] == pytest.approx(2 * 1.0 / rate, rel=2e-3)


def test_ms_time_conversion_is_division(tmp_path: Path) -> None:
    path = _write(tmp_path, "t,ax,ay,az,gx,gy,gz\n0,0,0,9.8,0,0,0\n3,0,0,9.8,0,0,0\n")
    lower = read_csv(path, mapping=SIMPLE.replace("t:s", "t:ms")).sensors["lower"]
    assert lower.time_s[1] == 3 / 1000


def test_unix_time_sets_the_start(tmp_path: Path) -> None:
    start_ms = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    rows = "\n".join(f"{start_ms + 10 * i},0,0,9.8,0,0,0" for i in range(4))
    path = _write(tmp_path, "t,ax,ay,az,gx,gy,gz\n" + rows)
    rec = read_csv(path, mapping=SIMPLE.replace("t:s", "t:ms"))
    assert rec.start_utc == datetime(2026, 1, 1, tzinfo=UTC)
    assert rec.sensors["lower"].time_s.tolist() == [0.0, 0.01, 0.02, 0.03]


# Units ---------------------------------------------------------------------------------
def test_unit_conversions(tmp_path: Path) -> None:
    text = "t,ax,ay,az,gx,gy,gz,mx,my,mz\n0,0.5,0,1,3.14159,0,0,0.2,0,0\n0.01,0,0,1,1,0,0,0.3,0,0\n"
    path = _write(tmp_path, text)
    mapping = "time=t,acc=ax,ay,az:g,gyr=gx,gy,gz:rad/s,mag=mx,my,mz:gauss"
    lower = read_csv(path, mapping=mapping).sensors["lower"]
    assert lower.acc_mps2[0].tolist() == [0.5 * 9.80665, 0.0, 9.80665]
    assert lower.gyr_dps[:, 0].tolist() == np.degrees([3.14159, 1.0]).tolist()
    assert lower.mag_ut is not None
    assert lower.mag_ut[:, 0].tolist() == [20.0, 30.0]
    for unit, factor in (("mT", 1000.0), ("nT", 1e-3), ("uT", 1.0), ("µT", 1.0)):
        mag = read_csv(path, mapping=mapping.replace("gauss", unit)).sensors["lower"].mag_ut
        assert mag is not None
        assert mag[0, 0] == pytest.approx(0.2 * factor, rel=1e-15)


def test_accelerometer_in_g_declared_m_s2_raises_unit_error(tmp_path: Path) -> None:
    path = _write(tmp_path, own_csv(20, acc_z=1.0))
    with pytest.raises(UnitError) as caught:
        read_csv(path)
    text = str(caught.value)
    assert str(path) in text
    assert "declared in m/s² but its median magnitude is 1" in text
    assert "looks like g" in text
    assert "'acc=acc_x_mps2,acc_y_mps2,acc_z_mps2:g'" in text


def test_accelerometer_in_m_s2_declared_g_raises_unit_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "t,ax,ay,az,gx,gy,gz\n0,0,0,9.8,0,0,0\n1,0,0,9.8,0,0,0\n")
    with pytest.raises(UnitError, match=r"declared in g .* looks like m/s² .*'acc=ax,ay,az:m/s2'"):
        read_csv(path, mapping=SIMPLE.replace("m/s2", "g"))


def test_fast_gyroscope_declared_rad_s_raises_unit_error(tmp_path: Path) -> None:
    rows = "\n".join(f"{i / 100},0,0,9.8,{150 + i},20,0" for i in range(20))
    path = _write(tmp_path, "t,ax,ay,az,gx,gy,gz\n" + rows)
    with pytest.raises(
        UnitError, match=r"declared in rad/s .* looks like deg/s.*'gyr=gx,gy,gz:dps'"
    ):
        read_csv(path, mapping=SIMPLE.replace("dps", "rad/s"))
    assert read_csv(path, mapping=SIMPLE).sensors["lower"].gyr_dps[0, 0] == 150.0


def test_slow_gyroscope_is_not_guessed(tmp_path: Path) -> None:
    rows = "\n".join(f"{i / 100},0,0,9.8,0.3,0.1,0" for i in range(20))
    path = _write(tmp_path, "t,ax,ay,az,gx,gy,gz\n" + rows)
    read_csv(path, mapping=SIMPLE)  # small deg/s values: plausible, no error
    read_csv(path, mapping=SIMPLE.replace("dps", "rad/s"))


def test_implausible_time_unit_raises_unit_error(tmp_path: Path) -> None:
    rows = "\n".join(f"{10 * i},0,0,9.8,0,0,0" for i in range(5))
    path = _write(tmp_path, "t,ax,ay,az,gx,gy,gz\n" + rows)
    with pytest.raises(UnitError, match=r"median step is 10 s \(0.1 Hz\).*'time=t:ms'"):
        read_csv(path, mapping=SIMPLE)


# Errors with their exact messages -------------------------------------------------------
def test_bad_cell_names_file_line_column_text_and_expectation(tmp_path: Path) -> None:
    text = OWN_HEADER + "\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n0.02,0,abc,9.8,0,0,0\n"
    path = _write(tmp_path, text)
    err = _error(path)
    assert str(err) == (
        f"{path}, line 4, column 'acc_y_mps2': expected a number (with a decimal point), "
        "found 'abc'. Correct or delete line 4"
    )
    assert (err.line, err.column, err.found) == (4, "acc_y_mps2", "abc")


def test_bad_cell_with_decimal_commas_shows_the_original_text(tmp_path: Path) -> None:
    text = "t;ax;ay;az;gx;gy;gz\n0;0;0;9,8;0;0;0\n0,01;0;1,2,3;9,8;0;0;0\n"
    err = _error(_write(tmp_path, text), mapping=SIMPLE)
    assert (err.line, err.column, err.found) == (3, "ay", "1,2,3")
    assert "expected a number (with a decimal comma)" in str(err)


@pytest.mark.parametrize(("cell", "shown"), [("nan", "nan"), ("-inf", "-inf"), ("1e999", "1e999")])
def test_non_finite_value_is_reported(tmp_path: Path, cell: str, shown: str) -> None:
    text = OWN_HEADER + f"\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,{cell},0\n"
    err = _error(_write(tmp_path, text))
    assert str(err).endswith(
        f"line 3, column 'gyr_y_dps': expected a finite number, found {shown!r}. "
        "Replace the missing or infinite value on line 3 or delete the line"
    )


def test_empty_cell_is_reported(tmp_path: Path) -> None:
    text = OWN_HEADER + "\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,,0,0\n"
    err = _error(_write(tmp_path, text))
    assert (err.line, err.column, err.found) == (3, "gyr_x_dps", "")


def test_time_must_increase_strictly(tmp_path: Path) -> None:
    text = OWN_HEADER + "\n0,0,0,9.8,0,0,0\n0.02,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n"
    err = _error(_write(tmp_path, text))
    assert str(err).endswith(
        "line 4, column 'time_s': expected time to increase strictly, to more than '0.02' on "
        "line 3, found '0.01'. Sort the rows by time and remove repeated rows"
    )
    text = OWN_HEADER + "\n0,0,0,9.8,0,0,0\n0,0,0,9.8,0,0,0\n"
    assert _error(_write(tmp_path, text, "b.csv")).line == 3


def test_at_least_two_rows(tmp_path: Path) -> None:
    for body in ("", "0,0,0,9.8,0,0,0\n"):
        err = _error(_write(tmp_path, OWN_HEADER + "\n" + body))
        assert "expected at least 2 data rows below the header" in str(err)
        assert err.found == f"{len(body.splitlines())} rows"


def test_missing_column_lists_the_header(tmp_path: Path) -> None:
    path = _write(tmp_path, "t,ax,ay,az,gx,gy\n0,0,0,9.8,0,0\n1,0,0,9.8,0,0\n")
    err = _error(path, mapping=SIMPLE)
    assert (err.line, err.column) == (1, "gz")
    assert "expected a column named 'gz' in the header" in str(err)
    assert "The header has 't', 'ax', 'ay', 'az', 'gx', 'gy'" in str(err)
    assert "--mapping" in str(err)


def test_unknown_columns_without_mapping(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n"))
    assert err.line == 1
    assert "expected spinecoach's column names (time_s, acc_x_mps2" in str(err)
    assert "found 'a, b, c'" in str(err)
    assert "--mapping 'time=t:ms,acc=ax,ay,az:g,gyr=gx,gy,gz:dps'" in str(err)


def test_duplicated_mapped_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "t,ax,ay,az,gx,gy,GZ,gz\n0,0,0,9.8,0,0,0,0\n1,0,0,9.8,0,0,0,0\n")
    err = _error(path, mapping=SIMPLE)
    assert err.column == "gz" and err.found == "2 columns with this name"


def test_row_with_wrong_number_of_fields(tmp_path: Path) -> None:
    text = OWN_HEADER + "\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0\n"
    err = _error(_write(tmp_path, text))
    assert str(err).endswith(
        "line 3: expected 7 fields like the header, found '6 fields'. Every row needs 7 fields "
        "separated by commas; numbers with decimal commas need semicolons or tabs between fields"
    )


def test_decimal_commas_with_comma_delimiter_are_caught(tmp_path: Path) -> None:
    text = OWN_HEADER + "\n0,0,0,9,8,0,0,0\n0,01,0,0,9,8,0,0,0\n"
    err = _error(_write(tmp_path, text))
    assert err.line == 2 and "decimal commas need semicolons or tabs" in str(err)


def test_empty_line_inside_the_data(tmp_path: Path) -> None:
    text = OWN_HEADER + "\n0,0,0,9.8,0,0,0\n\n0.01,0,0,9.8,0,0,0\n"
    err = _error(_write(tmp_path, text))
    assert err.line == 3
    assert "expected a data row, found an empty line" in str(err)


def test_line_numbers_count_quoted_multiline_fields(tmp_path: Path) -> None:
    text = 't,note,ax,ay,az,gx,gy,gz\n0,"two\nlines",0,0,9.8,0,0,0\n0.01,x,0,0,bad,0,0,0\n'
    err = _error(_write(tmp_path, text), mapping=SIMPLE)
    assert (err.line, err.column, err.found) == (4, "az", "bad")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "expected a header row with the column names"),
        ("\n0,1\n", "expected a header row with the column names"),
        ("just one column\n1\n2\n", "expected a header row with column names separated by"),
    ],
)
def test_header_problems(tmp_path: Path, text: str, expected: str) -> None:
    err = _error(_write(tmp_path, text))
    assert err.line == 1 and expected in str(err)


def test_missing_file(tmp_path: Path) -> None:
    err = _error(tmp_path / "absent.csv")
    assert "expected an existing file, found 'nothing at this path'" in str(err)


def test_bad_arguments(tmp_path: Path) -> None:
    path = _write(tmp_path, own_csv())
    with pytest.raises(ConfigurationError, match="rate_hz must be a positive number of hertz"):
        read_csv(path, rate_hz=0.0)
    with pytest.raises(ConfigurationError, match="unknown sensor placement 'middle'"):
        read_csv(path, placement="middle")


# Folder of per-sensor files -------------------------------------------------------------
def test_folder_with_one_file_per_sensor(tmp_path: Path) -> None:
    _write(tmp_path, own_csv(10), "session_LOWER.csv")
    _write(tmp_path, own_csv(12), "session_upper.txt")
    _write(tmp_path, "not a sensor", "notes.md")
    rec = read_csv(tmp_path)
    assert list(rec.sensors) == ["lower", "upper"]
    assert rec.sensors["upper"].n_samples == 12
    assert rec.meta["source_file"] == "session_LOWER.csv, session_upper.txt"


def test_folder_with_mapping(tmp_path: Path) -> None:
    body = "t;ax;ay;az;gx;gy;gz\n0;0;0;1;0;0;0\n10;0;0;1;0;0;0\n"
    _write(tmp_path, body, "a-lower.csv")
    _write(tmp_path, body, "a-upper.csv")
    rec = read_csv(tmp_path, mapping="time=t:ms;acc=ax,ay,az:g;gyr=gx,gy,gz")
    assert rec.sensors["upper"].acc_mps2[0, 2] == STANDARD_GRAVITY_MPS2


def test_folder_errors(tmp_path: Path) -> None:
    err = _error(tmp_path)
    assert "expected CSV files whose names contain 'lower' or 'upper'" in str(err)
    _write(tmp_path, own_csv(), "a_lower.csv")
    _write(tmp_path, own_csv(), "b_lower.csv")
    err = _error(tmp_path)
    assert "found 'a_lower.csv and b_lower.csv'" in str(err)
    with pytest.raises(ConfigurationError, match="drop the placement option"):
        read_csv(tmp_path, placement="upper")
    with pytest.raises(ConfigurationError, match="must name one sensor"):
        read_csv(
            tmp_path, mapping="lower.acc=a,b,c,lower.gyr=d,e,f,upper.acc=g,h,i,upper.gyr=j,k,l"
        )


# Mapping text form -----------------------------------------------------------------------
def test_parse_mapping_examples() -> None:
    m = parse_mapping("time=Time (s):s,acc=ax,ay,az:g,gyr=gx,gy,gz:dps,mag=mx,my,mz:mT")
    assert m == CsvMapping(
        time="Time (s)",
        lower=SensorColumns(
            acc=("ax", "ay", "az"),
            acc_unit="g",
            gyr=("gx", "gy", "gz"),
            gyr_unit="deg/s",
            mag=("mx", "my", "mz"),
            mag_unit="mT",
        ),
    )
    assert parse_mapping("acc=a,b,c;gyr=d,e,f", placement="upper").upper is not None
    assert parse_mapping("ACC=a,b,c:M/S^2, GYR = d,e,f:RADS").lower == SensorColumns(
        acc=("a", "b", "c"), gyr=("d", "e", "f"), gyr_unit="rad/s"
    )
    assert parse_mapping("time=t:µs,acc=a,b,c,gyr=d,e,f,").time_unit == "us"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the mapping is empty"),
        ("ax,ay,az", "must start with an item such as"),
        ("acc=a,b:g,gyr=d,e,f", "'acc' needs three column names x,y,z"),
        ("acc=a,b,c,gyr=d,e,f,acc=g,h,i", "gives 'acc' twice"),
        ("acc=a,b,c:furlongs,gyr=d,e,f", "unknown accelerometer unit 'furlongs'"),
        ("time=t:hours,acc=a,b,c,gyr=d,e,f", "unknown time unit 'hours'"),
        ("acc=a,b,c", "has no gyr item for the lower sensor"),
        ("time=t", "names no sensor columns"),
        ("lower.acc=a,b,c,gyr=d,e,f", "mixes items with and without a placement prefix"),
        ("upper.time=t,acc=a,b,c,gyr=d,e,f", "the time column is shared"),
        ("time=,acc=a,b,c,gyr=d,e,f", "needs one column name"),
    ],
)
def test_parse_mapping_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_mapping(text)


def test_mapping_dataclass_validation() -> None:
    with pytest.raises(ConfigurationError, match="at least one sensor"):
        CsvMapping(time="t")
    with pytest.raises(ConfigurationError, match="three non-empty column names"):
        SensorColumns(acc=("a", "b", ""), gyr=("d", "e", "f"))
    with pytest.raises(ConfigurationError, match="cannot be written in the mapping text form"):
        CsvMapping(
            time="a:b", lower=SensorColumns(acc=("a", "b", "c"), gyr=("d", "e", "f"))
        ).to_text()


def test_default_mapping_recognises_own_names_only() -> None:
    assert default_mapping(OWN_HEADER.split(",")) is not None
    assert default_mapping(OWN_HEADER.split(",")[1:]) is not None  # no time column
    assert default_mapping(["time_s", "acc_x_mps2"]) is None


_column = (
    st.text(alphabet="abcxyzABC _()/0123456789.", min_size=1, max_size=10)
    .map(str.strip)
    .filter(bool)
)
_triple = st.tuples(_column, _column, _column)


@st.composite
def _mappings(draw: st.DrawFn) -> CsvMapping:
    def columns() -> SensorColumns:
        return SensorColumns(
            acc=draw(_triple),
            gyr=draw(_triple),
            acc_unit=draw(st.sampled_from(["m/s2", "g"])),
            gyr_unit=draw(st.sampled_from(["deg/s", "rad/s"])),
            **(
                {}
                if draw(st.booleans())
                else {"mag": draw(_triple), "mag_unit": draw(st.sampled_from(list(MAG_UNITS)))}
            ),
        )

    which = draw(st.sampled_from(["lower", "upper", "both"]))
    return CsvMapping(
        time=draw(st.none() | _column),
        time_unit=draw(st.sampled_from(["s", "ms", "us", "ns"])),
        lower=columns() if which in ("lower", "both") else None,
        upper=columns() if which in ("upper", "both") else None,
    )


@settings(max_examples=150, deadline=None)
@given(mapping=_mappings())
def test_mapping_text_round_trips(mapping: CsvMapping) -> None:
    parsed = parse_mapping(mapping.to_text())
    if mapping.time is None:
        assert parsed.time is None
        parsed = CsvMapping(
            time=None, time_unit=mapping.time_unit, lower=parsed.lower, upper=parsed.upper
        )
    assert parsed == mapping


# Speed -----------------------------------------------------------------------------------
def test_360k_row_csv_parses_in_a_few_seconds(tmp_path: Path) -> None:
    n = 360_000
    rng = np.random.default_rng(3)
    data = np.column_stack(
        [
            np.arange(n) / 100.0,
            rng.normal(size=(n, 2)),
            9.8 + rng.normal(size=n),
            rng.normal(size=(n, 6)),
        ]
    )
    path = tmp_path / "hour.csv"
    np.savetxt(path, data, delimiter=",", header=OWN_HEADER_MAG, comments="", fmt="%.9g")
    start = time.perf_counter()
    rec = read_csv(path)
    elapsed = time.perf_counter() - start
    assert rec.sensors["lower"].n_samples == n
    assert elapsed < 5.0, f"parsing took {elapsed:.2f} s"


def test_own_names_without_time_column_need_a_rate(tmp_path: Path) -> None:
    path = _write(tmp_path, OWN_HEADER.removeprefix("time_s,") + "\n0,0,9.8,0,0,0\n0,0,9.8,0,0,0\n")
    err = _error(path)
    assert (err.line, err.column) == (1, "time_s")
    assert "pass rate_hz (--rate)" in str(err)
    assert read_csv(path, rate_hz=25.0).sensors["lower"].time_s.tolist() == [0.0, 0.04]
