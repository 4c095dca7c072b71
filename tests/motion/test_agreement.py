"""Agreement statistics (the reference-CSV reader is tested in tests/io/test_io_reference.py)."""

from __future__ import annotations

import numpy as np
import pytest

from spinecoach.motion.agreement import agreement


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
