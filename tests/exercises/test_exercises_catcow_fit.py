"""The breath-locked cycle fit: the fast coarse-to-fine search finds the exhaustive
search's lag and turning points, on every cycle of simulated cat-cow sessions, and copes
with cycles the frames only partly cover."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import spinecoach.exercises.breath_reps as breath_reps_module
from spinecoach.exercises import catcow
from spinecoach.exercises.engine import detect_exercise
from spinecoach.motion import MotionSettings, motion_process
from spinecoach.sim import PROFILES, simulate


def _exhaustive(*args: Any) -> catcow.CycleFit | None:
    return catcow.fit_cycle(*args, lags_s=catcow.FIT_LAGS_S)


@pytest.mark.parametrize("technique", ["cat-cow", "cat-cow-seated"])
def test_coarse_to_fine_equals_exhaustive_on_simulated_cycles(
    technique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[catcow.CycleFit, catcow.CycleFit]] = []

    def both(*args: Any) -> catcow.CycleFit | None:
        fast = catcow.fit_cycle(*args)
        slow = _exhaustive(*args)
        assert (fast is None) == (slow is None)
        if fast is not None and slow is not None:
            compared.append((fast, slow))
        return fast

    monkeypatch.setattr(breath_reps_module, "fit_cycle", both)  # the engine's cycle fit
    for profile in PROFILES:
        for seed in (1, 2):
            recording = simulate(technique, seed=seed, reps=3, profile=profile)
            frames, info = motion_process(
                recording, MotionSettings(position=recording.meta["position"])
            )
            detect_exercise(
                frames,
                technique,
                annotations=recording.events,
                calibrated_position=info["position"],
            )
    assert len(compared) >= 2 * len(PROFILES) * 3
    for fast, slow in compared:
        assert fast.lag_s == slow.lag_s
        for name in ("start_deg", "cow_deg", "cat_deg", "rms_deg"):
            assert getattr(fast, name) == pytest.approx(getattr(slow, name), abs=1e-9)


def test_fit_matches_least_squares_per_lag_and_partial_cover() -> None:
    """Against numpy's lstsq lag by lag (the definition), including lags for which the
    frames stop before the cat: the minimum-norm solution, like lstsq's."""
    rng = np.random.default_rng(7)
    t = np.arange(0.0, 9.0, 0.01)
    y = np.interp(t, [2.0, 4.6, 8.0], [0.0, -8.0, 9.0]) + rng.normal(0.0, 0.3, t.size)
    inhale, exhale, end = 1.8, 4.4, 8.4  # the frames end before the cat for most lags
    lags = catcow.FIT_LAGS_S
    mse, coef = catcow._fit_lags(t, y, lags, inhale, exhale, end)
    for i in range(0, lags.size, 7):
        k0, k1, k2 = inhale + lags[i], exhale + lags[i], end + lags[i]
        inside = (t >= k0) & (t <= k2)
        if inside.sum() < 20:
            assert not np.isfinite(mse[i])
            continue
        ti = t[inside]
        up = catcow._min_jerk((ti - k0) / (k1 - k0))
        down = catcow._min_jerk((ti - k1) / (k2 - k1))
        first = ti < k1
        basis = np.column_stack(
            [np.where(first, 1 - up, 0), np.where(first, up, 1 - down), np.where(first, 0, down)]
        )
        expected, *_ = np.linalg.lstsq(basis, y[inside], rcond=None)
        residual = y[inside] - basis @ expected
        assert mse[i] == pytest.approx(float(np.mean(residual**2)), rel=1e-7, abs=1e-9)
        np.testing.assert_allclose(coef[i], expected, atol=1e-6)
    fit = catcow.fit_cycle(t, y, inhale, exhale, end)
    assert fit is not None
    assert fit.lag_s == lags[int(np.argmin(mse))]  # the coarse-to-fine search found it
    assert catcow.fit_cycle(t[:10], y[:10], inhale, exhale, end) is None


def test_cached_band_pass_filters_exactly_like_scipy() -> None:
    from scipy.signal import sosfiltfilt

    rng = np.random.default_rng(3)
    for rate in (50.0, 100.0, 200.0):
        band = catcow._jerk_band(rate)
        for n in (band.padlen + 1, 300, 1001):
            x = rng.normal(size=n)
            assert np.array_equal(catcow._filtfilt(band, x), sosfiltfilt(band.sos, x))
    t = np.arange(0.0, 0.2, 0.01)  # under 30 frames
    assert np.isnan(catcow.jerk_ratio(t, np.sin(t)))
