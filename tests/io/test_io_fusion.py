"""x-io Fusion CSV reader: the real sample file and small synthetic files."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from io_testdata import FUSION_FILE, FUSION_ROWS, fusion_text

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.io import read_fusion_csv

needs_fusion_file = pytest.mark.skipif(
    not FUSION_FILE.is_file(),
    reason=f"real Fusion sample not found at {FUSION_FILE} (../shared/data from the project root)",
)


@needs_fusion_file
def test_real_fusion_file() -> None:
    rec = read_fusion_csv(FUSION_FILE)
    lower = rec.sensors["lower"]
    assert lower.n_samples == FUSION_ROWS
    assert lower.device == "x-io Fusion CSV"
    assert dict(rec.meta) == {"source_format": "fusion", "source_file": "sensor_data.csv"}
    assert 99.0 < lower.rate_hz < 100.0
    with FUSION_FILE.open(newline="") as stream:
        rows = list(csv.reader(stream))
    assert len(rows) == FUSION_ROWS + 1
    raw = np.array(rows[1:], dtype=np.float64)
    assert lower.time_s.tolist() == raw[:, 0].tolist()
    assert lower.gyr_dps.tolist() == raw[:, 1:4].tolist()
    assert lower.acc_mps2.tolist() == (raw[:, 4:7] * STANDARD_GRAVITY_MPS2).tolist()
    assert lower.mag_ut is not None
    assert lower.mag_ut.tolist() == raw[:, 7:10].tolist()
    # at rest the accelerometer reads about +1 g on its up axis
    assert float(np.median(np.linalg.norm(lower.acc_mps2, axis=1))) == pytest.approx(9.8, abs=0.3)


@needs_fusion_file
def test_real_fusion_file_as_upper_sensor_with_given_rate() -> None:
    rec = read_fusion_csv(FUSION_FILE, placement="upper", rate_hz=100.0)
    assert list(rec.sensors) == ["upper"]
    assert rec.sensors["upper"].rate_hz == 100.0


def test_fusion_file_without_magnetometer(tmp_path: Path) -> None:
    path = tmp_path / "imu.csv"
    path.write_text(fusion_text(10, mag=False))
    lower = read_fusion_csv(path).sensors["lower"]
    assert lower.mag_ut is None
    assert lower.acc_mps2[0].tolist() == [
        0.001 * STANDARD_GRAVITY_MPS2,
        -0.02 * STANDARD_GRAVITY_MPS2,
        0.997 * STANDARD_GRAVITY_MPS2,
    ]
    assert lower.gyr_dps[0].tolist() == [0.1, -0.2, 0.3]
    assert lower.rate_hz == 100.0


def test_not_a_fusion_header(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("t,ax,ay,az\n0,0,0,1\n")
    with pytest.raises(InputFormatError) as caught:
        read_fusion_csv(path)
    err = caught.value
    assert err.line == 1
    assert "expected the x-io Fusion header (Time (s), Gyroscope X (deg/s)" in str(err)
    assert "found 't, ax, ay, az'" in str(err)
    assert "pass --format csv with a --mapping" in str(err)


def test_bad_cell_names_the_fusion_column(tmp_path: Path) -> None:
    lines = fusion_text(5).splitlines()
    lines[3] = lines[3].replace("-0.02", "-0.0x2")
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(lines))
    with pytest.raises(InputFormatError) as caught:
        read_fusion_csv(path)
    assert (caught.value.line, caught.value.column, caught.value.found) == (
        4,
        "Accelerometer Y (g)",
        "-0.0x2",
    )


def test_bad_placement(tmp_path: Path) -> None:
    path = tmp_path / "imu.csv"
    path.write_text(fusion_text(3))
    with pytest.raises(ConfigurationError, match="unknown sensor placement 'left'"):
        read_fusion_csv(path, placement="left")
