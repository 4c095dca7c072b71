"""The reference-CSV reader (moved with it from tests/test_validate.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spinecoach.errors import InputFormatError
from spinecoach.io.reference import load_reference_csv


def test_reference_csv_reads_and_reports_bad_cells(tmp_path: Path) -> None:
    good = tmp_path / "ref.csv"
    good.write_text("time_s,lumbar_flexion_deg,other\n0,1.5,x\n0.01,2.5,y\n\n")
    t, angles = load_reference_csv(good)
    assert t.tolist() == [0.0, 0.01]
    assert angles["lumbar_flexion_deg"].tolist() == [1.5, 2.5]
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,pelvic_tilt_deg\n0,1\n0.01,abc\n")
    with pytest.raises(InputFormatError, match=r"bad.csv, line 3, column 'pelvic_tilt_deg'.*'abc'"):
        load_reference_csv(bad)
    no_time = tmp_path / "nt.csv"
    no_time.write_text("t,pelvic_tilt_deg\n0,1\n")
    with pytest.raises(InputFormatError, match=r"line 1: a 'time_s' column.*Name the time column"):
        load_reference_csv(no_time)
    no_angles = tmp_path / "na.csv"
    no_angles.write_text("time_s,x\n0,1\n")
    with pytest.raises(InputFormatError, match="at least one angle column"):
        load_reference_csv(no_angles)
    backwards = tmp_path / "bw.csv"
    backwards.write_text("time_s,pelvic_tilt_deg\n1,1\n0,1\n")
    with pytest.raises(InputFormatError, match="strictly increasing"):
        load_reference_csv(backwards)
