"""Simulated days for the posture tests, generated once per test session.

Why these days: the gates need many seeds (20) of realistic all-day wear with ground
truth, so each seed is a full 16-hour ``spinecoach.sim.day.simulate_day`` — not a
shortened one, because the bouts, slouch drift and desk breaks have their real lengths
only in a full day — at 10 Hz instead of the devices' 100 Hz. The per-second features
do not need more: the mean gravity direction of a second is the same, and walking
(steps at ≈1.8 /s) is found from the acceleration magnitude's mean-crossings, which
10 Hz still resolves (Nyquist 5 Hz). A day then generates in about 5 s and is analysed
in about 0.3 s; the days are cached for the session. The 100 Hz performance target is
measured by ``bench/posture.py``, not here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np
import pytest

from spinecoach.recording import Recording
from spinecoach.sim.activities import simulate_activities

SEEDS = tuple(range(20))
RATE_HZ = 10.0
HAVE_DAY = importlib.util.find_spec("spinecoach.sim.day") is not None


def office_schedule(seed: int, hours: float = 3.0) -> list[tuple[str, float]]:
    """A random office-like schedule: mostly sitting, some standing, walking, lying."""
    rng = np.random.default_rng(10_000 + seed)
    schedule: list[tuple[str, float]] = [("standing", 60.0), ("walking", 120.0)]
    total = 180.0
    previous = "walking"
    choices = ["sitting-upright", "sitting-slouched", "standing", "walking", "lying-supine"]
    weights = np.array([0.3, 0.3, 0.15, 0.18, 0.07])
    while total < hours * 3600:
        activity = str(rng.choice(choices, p=weights))
        if activity == previous:
            continue
        seconds = float(
            rng.uniform(300, 1500) if activity.startswith("sitting") else rng.uniform(45, 400)
        )
        schedule.append((activity, seconds))
        total += seconds
        previous = activity
    return schedule


def simulate_test_day(seed: int) -> Recording:
    if HAVE_DAY:
        from spinecoach.sim.day import simulate_day

        return simulate_day(seed, rate_hz=RATE_HZ)
    return simulate_activities(office_schedule(seed), seed=seed, rate_hz=RATE_HZ)


@pytest.fixture(scope="session")
def day() -> Callable[[int], Recording]:
    """``day(seed)``: the simulated day of that seed (cached for the session)."""
    cache: dict[int, Recording] = {}

    def get(seed: int) -> Recording:
        if seed not in cache:
            cache[seed] = simulate_test_day(seed)
        return cache[seed]

    return get
