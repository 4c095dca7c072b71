"""A sensor's flexion axis from walking: the direction of travel, for sessions whose only
movement is walking (issue 13: "calibration from walking").

While a person walks, the lumbar spine bends sideways and twists more than it flexes
(frontal 10-45° and transverse 10-20° of thorax-on-pelvis range against 4-12° of flexion in
the real walks of ``../shared/data/mocap``), so the excursion votes of :mod:`.autocal`
find the frontal plane, not the sagittal one. The steps themselves say where forward is,
for any sensor on the trunk and in any orientation:

walking
    Windows of :attr:`GaitSettings.window_s` (the whole data when shorter, from
    :attr:`GaitSettings.min_window_s`) whose acceleration along their mean direction (up,
    the bounce) has an SD of at least :attr:`GaitSettings.bounce_sd_mps2` and repeats at
    a step period (the autocorrelation of the bounce peaks at least
    :attr:`GaitSettings.step_correlation` between :attr:`GaitSettings.step_period_s`).
forward axis
    As :mod:`spinecoach.posture.forward` learns it from a belt or a phone: with ``y`` the
    acceleration minus its window mean and P the horizontal projector, ``c0 = P·Σyyᵀ·u``
    is the horizontal acceleration in phase with the bounce and ``d = P·(Σ y(t)y(t+L)ᵀ −
    its transpose)·u`` the part a quarter step (L = :attr:`GaitSettings.lag_s`) ahead of
    it. Side-to-side sway runs at the stride frequency (half the step frequency) and does
    not correlate with the bounce; the fore-aft surge runs at the step frequency and does:
    the principal direction of Σ(c0 c0ᵀ + d dᵀ) is the fore-aft axis.
sign
    The trunk speeds up before it rises (the inverted pendulum), so ``d`` points forward;
    the cue counts when ``|Σd|`` is at least :attr:`GaitSettings.lead_min_share` of
    ``|Σc0| + |Σd|`` (0.74-0.89 on the six real walking takes of ``mocap/nimble`` for both
    the sacrum and the thorax sensor; the simulator's gait has no surge and stays silent).

The flexion (mediolateral, right) axis is then forward × up. On the real walking takes,
worn by virtual IMUs with ±20° of mounting misalignment, this axis gives a lumbar flexion
RMSE of 0.3-2.2° against the optical angle, where the excursion votes gave 3.4-10.6°.
:func:`spinecoach.motion.calibrate.decide` uses it only where the movement calibration is
unsure (confidence under 0.5) and the sensor walked: repeated exercise reps outvote it.

>>> t = np.arange(0, 4, 0.01)
>>> step = 2 * np.pi * 1.8 * t
>>> acc = np.stack([9.81 + 2 * np.sin(step), 0.3 * np.sin(step / 2), np.cos(step)], 1)
>>> found = gait_axis(t, acc)
>>> round(float(found.forward[2]), 2), found.walking_s  # forward is the sensor's z
(1.0, 4.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.errors import ConfigurationError

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class GaitSettings:
    """Thresholds of the walking cue (s, m/s², share)."""

    window_s: float = 2.0
    min_window_s: float = 1.0
    bounce_sd_mps2: float = 0.6  # posture's walking_acc_std_mps2 (walking at 1.3 m/s ≈1.4)
    bounce_max_sd_mps2: float = 6.0  # beyond this: running, jumps, a handled sensor
    step_period_s: tuple[float, float] = (0.3, 0.8)  # cadence 75-200 steps/min
    step_correlation: float = 0.45  # real walks 0.5-0.9 (median per trial), noise <= 0.3
    lag_s: float = 0.12  # a quarter step at ≈2 steps/s (posture's GAIT_LAG_S)
    lead_min_share: float = 0.5
    min_walking_s: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 < self.min_window_s <= self.window_s:
            raise ConfigurationError("GaitSettings: need 0 < min_window_s <= window_s (s)")
        lo, hi = self.step_period_s
        if not 0.0 < lo < hi:
            raise ConfigurationError(
                "GaitSettings.step_period_s must be (low, high) s with 0 < low < high"
            )


DEFAULT_GAIT: Final = GaitSettings()


@dataclass(frozen=True, eq=False)
class GaitAxis:
    """The direction of travel of one sensor (unit vectors in sensor axes).

    forward: the fore-aft axis, signed forward; up: the mean up over the walking;
    z_axis: the flexion (right) axis, forward × up; walking_s: seconds of walking used;
    lead_share: the quarter-step share that signed it (see the module docstring).
    """

    forward: FloatArray
    up: FloatArray
    z_axis: FloatArray
    walking_s: float
    lead_share: float


def _windows(n: int, rate_hz: float, settings: GaitSettings) -> list[tuple[int, int]]:
    size = round(settings.window_s * rate_hz)
    smallest = round(settings.min_window_s * rate_hz)
    if n < smallest:
        return []
    if n <= size:
        return [(0, n)]
    hop = max(size // 2, 1)
    out = [(a, a + size) for a in range(0, n - size + 1, hop)]
    if out[-1][1] < n:
        out.append((n - size, n))
    return out


def _steps(bounce: FloatArray, rate_hz: float, settings: GaitSettings) -> float:
    """The autocorrelation peak of the bounce over the step periods (0 when none)."""
    b = bounce - bounce.mean()
    energy = float(b @ b)
    lo = max(int(np.floor(settings.step_period_s[0] * rate_hz)), 1)
    hi = min(int(np.ceil(settings.step_period_s[1] * rate_hz)), b.shape[0] // 2)
    if energy <= 0.0 or hi <= lo:
        return 0.0
    best = 0.0
    for lag in range(lo, hi + 1):
        # Normalised by the overlap, so a short window is not penalised.
        r = float(b[:-lag] @ b[lag:]) / energy * b.shape[0] / (b.shape[0] - lag)
        best = max(best, r)
    return best


def gait_axis(
    time_s: FloatArray, acc_mps2: FloatArray, settings: GaitSettings = DEFAULT_GAIT
) -> GaitAxis | None:
    """The direction of travel from one sensor's accelerometer (m/s², sensor axes, at
    ``time_s``), or None when it did not walk for :attr:`GaitSettings.min_walking_s` or
    the steps do not sign the axis (see the module docstring)."""
    t = np.asarray(time_s, dtype=np.float64)
    acc = np.asarray(acc_mps2, dtype=np.float64)
    good = np.isfinite(t) & np.isfinite(acc).all(axis=1)
    t, acc = t[good], acc[good]
    if t.shape[0] < 3 or t[-1] <= t[0]:
        return None
    rate_hz = (t.shape[0] - 1) / float(t[-1] - t[0])
    lag = max(round(settings.lag_s * rate_hz), 1)
    spread = np.zeros((3, 3))
    lead_sum = np.zeros(3)
    phase_sum = np.zeros(3)
    up_sum = np.zeros(3)
    walked = np.zeros(t.shape[0], dtype=np.bool_)
    for a, b in _windows(t.shape[0], rate_hz, settings):
        w = acc[a:b]
        mean = w.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm < 1e-6 or w.shape[0] <= lag + 2:
            continue
        u = mean / norm
        y = w - mean
        bounce = y @ u
        sd = float(np.std(bounce))
        if not settings.bounce_sd_mps2 <= sd <= settings.bounce_max_sd_mps2:
            continue
        if _steps(bounce, rate_hz, settings) < settings.step_correlation:
            continue
        horizontal = np.eye(3) - np.outer(u, u)
        c0 = horizontal @ (y.T @ y) @ u
        ahead = y[:-lag].T @ y[lag:]
        d = horizontal @ (ahead - ahead.T) @ u
        spread += np.outer(c0, c0) + np.outer(d, d)
        lead_sum += d
        phase_sum += c0
        up_sum += u * (b - a)
        walked[a:b] = True
    walking_s = float(np.count_nonzero(walked)) / rate_hz
    if walking_s < settings.min_walking_s - 1e-9 or not np.any(spread):
        return None
    up = up_sum / float(np.linalg.norm(up_sum))
    _, vectors = np.linalg.eigh(spread)
    forward = vectors[:, -1] - (vectors[:, -1] @ up) * up
    forward = forward / float(np.linalg.norm(forward))
    lead = float(np.linalg.norm(lead_sum))
    share = lead / (lead + float(np.linalg.norm(phase_sum)) + 1e-12)
    if share < settings.lead_min_share:
        return None
    if float(forward @ lead_sum) < 0.0:
        forward = -forward
    z = np.cross(forward, up)
    return GaitAxis(
        forward=forward,
        up=up,
        z_axis=z / float(np.linalg.norm(z)),
        walking_s=round(walking_s, 3),
        lead_share=round(share, 3),
    )
