"""Agreement of camera angles with a reference recorded by another system.

The two systems run at different rates and start their clocks independently, and
nothing may be fitted that a user could not do at home. So, in this order:

1. **Neutral calibration** (the only calibration): each system's mean angle over its own
   first ``neutral_s`` seconds (default 1 s: the trial starts in quiet standing) is
   subtracted from that system's angle. No gain, no offset is fitted against the other
   system. The window's SD is reported (``neutral_sd_deg``): above about 2° the person was
   not still and the zero is doubtful.
2. **Time alignment**: the reference is linearly interpolated at the camera's frame
   times shifted by a lag; the lag is the one, within ±``max_lag_s`` (default 0.5 s, in
   0.005 s steps), that maximises the Pearson correlation of the two signals. One lag per
   trial (the clock offset is common to every angle), found on the angle whose reference
   moves most (largest SD); the same lag is used for all angles and reported. A lag at the
   edge of the window means no clear match (``lag_at_bound``).
3. **Statistics** on the camera frames where both exist: RMSE, bias (camera − reference),
   Bland–Altman 95 % limits of agreement, Pearson r, n.

``lag_s`` > 0 means the reference happens later on its own clock: reference time =
camera time + lag.

>>> import numpy as np
>>> t = np.arange(0, 10, 1 / 30)
>>> ref_t = np.arange(0, 10, 1 / 60)
>>> ref = {"a_deg": 20 * np.clip(np.sin(ref_t - 1.2), 0, None)}
>>> cam = {"a_deg": 20 * np.clip(np.sin(t - 1.0), 0, None)}
>>> result = compare_with_reference(t, cam, ref_t, ref)
>>> round(result.lag_s, 2), round(result.angles["a_deg"].rmse, 2)
(0.2, 0.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spinecoach.errors import ConfigurationError
from spinecoach.motion.agreement import agreement

FloatArray = NDArray[np.float64]
LAG_STEP_S = 0.005


@dataclass(frozen=True)
class CameraAgreement:
    """Camera − reference statistics of one angle (degrees)."""

    rmse: float
    bias: float
    loa: tuple[float, float]
    r: float
    n: int
    neutral_sd_deg: tuple[float, float]

    def as_dict(self) -> dict[str, Any]:
        def rnd(x: float) -> float | None:
            return None if not np.isfinite(x) else round(float(x), 4)

        return {
            "rmse": rnd(self.rmse),
            "bias": rnd(self.bias),
            "loa": [rnd(self.loa[0]), rnd(self.loa[1])],
            "r": rnd(self.r),
            "n": self.n,
            "neutral_sd_deg": {
                "camera": rnd(self.neutral_sd_deg[0]),
                "reference": rnd(self.neutral_sd_deg[1]),
            },
        }


@dataclass(frozen=True)
class CameraComparison:
    """All compared angles, the lag used and where it came from."""

    angles: dict[str, CameraAgreement]
    lag_s: float
    lag_angle: str | None
    lag_at_bound: bool
    neutral_s: float
    max_lag_s: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "lag_s": round(self.lag_s, 4),
            "lag_from": self.lag_angle,
            "lag_at_bound": self.lag_at_bound,
            "max_lag_s": self.max_lag_s,
            "neutral_s": self.neutral_s,
            "angles": {k: v.as_dict() for k, v in self.angles.items()},
        }


def neutral_zero(
    time_s: FloatArray, values: FloatArray, neutral_s: float
) -> tuple[FloatArray, float]:
    """``values`` minus their mean over the first ``neutral_s`` seconds, and the window's SD."""
    window = (time_s < time_s[0] + neutral_s) & np.isfinite(values)
    if not np.any(window):
        return np.full_like(values, np.nan), float("nan")
    return values - float(np.mean(values[window])), float(np.std(values[window]))


def _pearson(a: FloatArray, b: FloatArray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan")
    x, y = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    den = float(np.sqrt(np.sum(x * x) * np.sum(y * y)))
    return float(np.sum(x * y) / den) if den > 0 else float("nan")


def _shifted(ref_time: FloatArray, ref: FloatArray, at: FloatArray) -> FloatArray:
    ok = np.isfinite(ref)
    out = np.interp(at, ref_time[ok], ref[ok], left=np.nan, right=np.nan)
    return np.asarray(out, dtype=np.float64)


def find_lag(
    time_s: FloatArray,
    camera: FloatArray,
    ref_time_s: FloatArray,
    reference: FloatArray,
    *,
    max_lag_s: float,
) -> tuple[float, float]:
    """The lag in [−max_lag_s, max_lag_s] maximising Pearson r, and that r."""
    best_lag, best_r = 0.0, -np.inf
    for lag in np.arange(-max_lag_s, max_lag_s + LAG_STEP_S / 2, LAG_STEP_S):
        r = _pearson(camera, _shifted(ref_time_s, reference, time_s + lag))
        if np.isfinite(r) and r > best_r:
            best_lag, best_r = float(lag), r
    return best_lag, float(best_r)


def compare_with_reference(
    time_s: FloatArray,
    camera: Mapping[str, FloatArray],
    ref_time_s: FloatArray,
    reference: Mapping[str, FloatArray],
    *,
    neutral_s: float = 1.0,
    max_lag_s: float = 0.5,
    calibrate: bool = True,
) -> CameraComparison:
    """Compare every angle present (and not all NaN) in both; see the module docstring.

    ``calibrate=False`` skips the neutral zeroing (a baseline for the benchmark).
    """
    if neutral_s <= 0 or max_lag_s < 0:
        raise ConfigurationError("neutral_s must be > 0 and max_lag_s >= 0")
    names = [
        n
        for n in camera
        if n in reference and np.any(np.isfinite(camera[n])) and np.any(np.isfinite(reference[n]))
    ]
    zeroed: dict[str, tuple[FloatArray, FloatArray, tuple[float, float]]] = {}
    for name in names:
        cam, cam_sd = neutral_zero(time_s, np.asarray(camera[name], dtype=np.float64), neutral_s)
        ref, ref_sd = neutral_zero(
            ref_time_s, np.asarray(reference[name], dtype=np.float64), neutral_s
        )
        if not calibrate:
            cam, ref = np.asarray(camera[name], float), np.asarray(reference[name], float)
        zeroed[name] = (cam, ref, (cam_sd, ref_sd))
    lag, lag_angle = 0.0, None
    if names:
        lag_angle = max(names, key=lambda n: float(np.nanstd(zeroed[n][1])))
        cam, ref, _ = zeroed[lag_angle]
        lag, _r = find_lag(time_s, cam, ref_time_s, ref, max_lag_s=max_lag_s)
    out: dict[str, CameraAgreement] = {}
    for name in names:
        cam, ref, sds = zeroed[name]
        ref_at = _shifted(ref_time_s, ref, time_s + lag)
        a = agreement(cam, ref_at)
        out[name] = CameraAgreement(a.rmse, a.bias, a.loa, _pearson(cam, ref_at), a.n, sds)
    return CameraComparison(
        angles=out,
        lag_s=lag,
        lag_angle=lag_angle,
        lag_at_bound=bool(names) and abs(abs(lag) - max_lag_s) < LAG_STEP_S / 2,
        neutral_s=neutral_s,
        max_lag_s=max_lag_s,
    )
