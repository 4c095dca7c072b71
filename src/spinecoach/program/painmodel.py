"""A simple, documented pain-response model for simulated people (VAS, mm).

This is a test oracle for the progression engine, not a claim about how back pain
behaves. It has four parts, all seeded and deterministic:

* **Underlying pain** ``U`` starts at ``baseline_mm`` and, after each day, moves toward
  ``floor_mm`` by ``responsiveness_per_day × done`` of the remaining distance, where
  ``done`` (0–1) is the share of the day's prescribed sessions the person did:
  ``U ← floor + (U − floor) × (1 − responsiveness_per_day × done)``. With full adherence
  and 0.03 a day, 45 mm falls to about 20 mm in 6 weeks; with none it stays put.
* **Morning pain** = ``U`` + the flare's extra pain + Gaussian noise (``noise_mm``).
* **A session**: pain before = the morning pain (morning routine) or the morning pain plus
  noise (main session); pain after = before − ``session_relief_mm`` + noise (moving
  usually eases back pain a little).
* **A flare** on ``flare_day``: that day's main session raises pain by
  ``flare_session_rise_mm``; from the next morning, ``flare_morning_mm`` extra pain
  that halves every ``flare_half_life_days``.

Every VAS is clipped to 0–100 mm and rounded to whole millimetres, as a person marks it.

>>> model = PainModel(PainResponse(baseline_mm=45.0, noise_mm=0.0), seed=1)
>>> model.morning(1)
45.0
>>> model.end_of_day(1.0)
>>> round(model.underlying_mm, 2)
44.01
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spinecoach.errors import ConfigurationError


@dataclass(frozen=True)
class PainResponse:
    """The parameters of one simulated person's pain (mm, days)."""

    baseline_mm: float = 45.0
    floor_mm: float = 12.0
    responsiveness_per_day: float = 0.03
    session_relief_mm: float = 2.0
    noise_mm: float = 1.5
    flare_day: int | None = None
    flare_session_rise_mm: float = 25.0
    flare_morning_mm: float = 14.0
    flare_half_life_days: float = 2.0

    def __post_init__(self) -> None:
        for name in ("baseline_mm", "floor_mm", "flare_session_rise_mm", "flare_morning_mm"):
            value = getattr(self, name)
            if not math.isfinite(value) or not 0.0 <= value <= 100.0:
                raise ConfigurationError(f"PainResponse.{name} is 0-100 mm, got {value!r}")
        if self.floor_mm > self.baseline_mm:
            raise ConfigurationError("PainResponse.floor_mm must not exceed baseline_mm")
        if not 0.0 <= self.responsiveness_per_day <= 1.0:
            raise ConfigurationError("PainResponse.responsiveness_per_day is 0-1")
        if self.noise_mm < 0 or self.flare_half_life_days <= 0:
            raise ConfigurationError("PainResponse noise_mm ≥ 0 and flare_half_life_days > 0")


class PainModel:
    """The pain of one simulated person, day by day (see the module docstring)."""

    def __init__(self, response: PainResponse, *, seed: int) -> None:
        self.response = response
        self.underlying_mm = response.baseline_mm
        self._rng = np.random.default_rng(seed)

    def _noise(self) -> float:
        return float(self._rng.normal(0.0, self.response.noise_mm))

    def flare_extra_mm(self, day: int) -> float:
        """Extra morning pain (mm) from the flare on ``day``."""
        r = self.response
        if r.flare_day is None or day <= r.flare_day:
            return 0.0
        return float(r.flare_morning_mm * 0.5 ** ((day - r.flare_day - 1) / r.flare_half_life_days))

    def morning(self, day: int) -> float:
        """Pain on waking on ``day`` (mm)."""
        return _vas(self.underlying_mm + self.flare_extra_mm(day) + self._noise())

    def session(self, day: int, slot: str, morning_mm: float) -> tuple[float, float]:
        """Pain before and after a session in ``slot`` on ``day`` (mm)."""
        r = self.response
        before = morning_mm if slot == "morning" else _vas(morning_mm + self._noise())
        if r.flare_day == day and slot == "main":
            after = before + r.flare_session_rise_mm
        else:
            after = before - r.session_relief_mm + self._noise()
        return before, _vas(after)

    def end_of_day(self, done_share: float) -> None:
        """Move the underlying pain after a day with ``done_share`` (0–1) of it done."""
        r = self.response
        done = min(1.0, max(0.0, done_share))
        self.underlying_mm = r.floor_mm + (self.underlying_mm - r.floor_mm) * (
            1.0 - r.responsiveness_per_day * done
        )


def _vas(value: float) -> float:
    return float(round(min(100.0, max(0.0, value))))
