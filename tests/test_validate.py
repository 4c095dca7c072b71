"""Agreement statistics and the reference-CSV reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spinecoach.errors import InputFormatError
from spinecoach.validate import agreement, load_reference_csv


def test_agreement_known_answers() -> None:
    estimate = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    reference = np.array([0.0, 2.0, 3.0, 6.0, 1.0])
    a = agreement(estimate, reference)
    diff = np.array([1.0, 0.0, 0.0, -2.0])
    assert a.n == 4
    assert a.coverage == pytest.approx(0.8)
    assert a.bias == pytest.approx(diff.mean())
    assert a.rmse == pytest.approx(np.sqrt(np.mean(diff**2)))
    sd = diff.std(ddof=1)
    assert a.loa == pytest.approx((diff.mean() - 1.96 * sd, diff.mean() + 1.96 * sd))
    assert a.max_abs == 2.0


def test_agreement_with_nothing_to_compare_is_nan_not_an_error() -> None:
    a = agreement(np.array([np.nan]), np.array([1.0]))
    assert a.n == 0 and np.isnan(a.rmse)


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
