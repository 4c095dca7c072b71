"""Agreement of estimated angles with a reference: RMSE, bias, 95 % limits of agreement.

The reference is the ground truth embedded in a simulated recording, or reference angles
read from a file (:func:`spinecoach.io.reference.load_reference_csv`: for example optical
motion capture, with a ``time_s`` column and any of the angle columns of
:mod:`spinecoach.conventions`), on the recording's time base. ``spinecoach validate
angles`` prints these numbers; the camera's comparison (:mod:`spinecoach.camera.compare`)
builds on :func:`agreement`.

Only frames where both the estimate and the reference exist are compared; ``coverage``
says what share of the frames that was. Limits of agreement follow Bland & Altman
(bias ± 1.96 SD of the differences).

>>> import numpy as np
>>> s = agreement(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
>>> round(s.rmse, 3), round(s.bias, 3)
(0.577, -0.333)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import ANGLE_COLUMNS
from spinecoach.motion.process import AngleFrames

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Agreement:
    """Estimate minus reference, in degrees, over ``n`` compared frames."""

    rmse: float
    bias: float
    loa: tuple[float, float]
    max_abs: float
    n: int
    coverage: float

    def as_dict(self) -> dict[str, object]:
        return {
            "rmse": round(self.rmse, 4),
            "bias": round(self.bias, 4),
            "loa": [round(self.loa[0], 4), round(self.loa[1], 4)],
            "max_abs": round(self.max_abs, 4),
            "n": self.n,
            "coverage": round(self.coverage, 4),
        }


def agreement(estimate: FloatArray, reference: FloatArray) -> Agreement:
    """Agreement statistics of two equally long arrays (NaN pairs are skipped)."""
    ok = np.isfinite(estimate) & np.isfinite(reference)
    diff = estimate[ok] - reference[ok]
    n = int(diff.shape[0])
    coverage = n / estimate.shape[0] if estimate.shape[0] else 0.0
    if n == 0:
        nan = float("nan")
        return Agreement(nan, nan, (nan, nan), nan, 0, coverage)
    bias = float(diff.mean())
    sd = float(diff.std(ddof=1)) if n > 1 else 0.0
    return Agreement(
        rmse=float(np.sqrt(np.mean(diff**2))),
        bias=bias,
        loa=(bias - 1.96 * sd, bias + 1.96 * sd),
        max_abs=float(np.abs(diff).max()),
        n=n,
        coverage=coverage,
    )


def compare_angles(
    frames: AngleFrames,
    reference_time_s: FloatArray,
    reference: Mapping[str, FloatArray],
    *,
    names: tuple[str, ...] = ANGLE_COLUMNS,
) -> dict[str, Agreement]:
    """Agreement for every angle present in both, the reference interpolated to the frames."""
    out: dict[str, Agreement] = {}
    inside = (frames.time_s >= reference_time_s[0]) & (frames.time_s <= reference_time_s[-1])
    for name in names:
        if name not in reference or name not in frames.angles:
            continue
        ref = np.interp(frames.time_s, reference_time_s, reference[name])
        ref[~inside] = np.nan
        estimate = frames.angles[name]
        if np.all(np.isnan(estimate)):
            continue
        out[name] = agreement(estimate, ref)
    return out
