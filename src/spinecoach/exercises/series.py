"""Checked per-frame series and peak refinement, shared by the breath synchronisation
(:mod:`spinecoach.exercises.breath`) and the respiration estimate
(:mod:`spinecoach.exercises.respiration`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from spinecoach.errors import ConfigurationError

FloatArray = NDArray[np.float64]


def as_1d(name: str, values: object) -> FloatArray:
    """``values`` as a 1-D float array (``name`` names it in the error)."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ConfigurationError(f"{name} must be an array of numbers ({error})") from None
    if array.ndim != 1:
        raise ConfigurationError(
            f"{name} must be one-dimensional (one value per frame), got shape {array.shape}"
        )
    return array


def check_time(time_s: FloatArray) -> None:
    """At least 3 finite, strictly increasing times (s)."""
    if time_s.shape[0] < 3:
        raise ConfigurationError(
            f"time_s has {time_s.shape[0]} frames; pass a window of at least 3 frames"
        )
    if not np.all(np.isfinite(time_s)):
        raise ConfigurationError("time_s must be finite; drop frames without a timestamp")
    if np.any(np.diff(time_s) <= 0.0):
        raise ConfigurationError(
            "time_s must be strictly increasing (seconds); sort the frames and drop duplicates"
        )


def check_frames(time_s: FloatArray, **arrays: FloatArray) -> None:
    """One value per frame in each of ``arrays``, some of them finite."""
    for name, array in arrays.items():
        if array.shape[0] != time_s.shape[0]:
            raise ConfigurationError(
                f"{name} has {array.shape[0]} values but time_s has {time_s.shape[0]}; pass "
                "one value per frame"
            )
        if not np.any(np.isfinite(array)):
            raise ConfigurationError(
                f"{name} holds no finite value (all NaN); pass a window with data, for "
                "example frames after the calibration is ready"
            )


def refine_peak(values: FloatArray, index: int) -> float:
    """Sub-sample offset of a peak at ``index`` from the parabola through its neighbours."""
    if index <= 0 or index >= values.shape[0] - 1:
        return 0.0
    left, mid, right = values[index - 1], values[index], values[index + 1]
    if not (np.isfinite(left) and np.isfinite(right)):
        return 0.0
    curvature = left - 2.0 * mid + right
    if curvature >= 0.0:
        return 0.0
    return float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))
