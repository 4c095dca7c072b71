"""Performer profiles: how far, how fast and how well a simulated person moves.

A profile scales the typical adult ranges of :mod:`spinecoach.sim.techniques` (a stiff
person moves about half of them, a hypermobile one about 1.3 times, DESIGN.md), sets the
tempo and breathing rhythm, and gives the probabilities with which the seeded simulator
injects form faults.

>>> PROFILES["stiff"].range_scale
0.5
>>> resolve_profile("novice").compensation_tendency
0.3
>>> resolve_profile("fast").rep_pause_scale
0.0
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from types import MappingProxyType
from typing import Final

from spinecoach.errors import ConfigurationError


@dataclass(frozen=True)
class PerformerProfile:
    """How one simulated person moves (a frozen domain value).

    >>> PerformerProfile(name="slow", tempo_scale=1.5).breath_exhale_s
    4.0
    """

    name: str = "custom"
    """Shown in the recording's ``meta["profile"]``."""
    range_scale: float = 1.0
    """Multiplier (dimensionless) on the typical movement ranges: 1.0 typical, 0.5 stiff,
    1.3 hypermobile."""
    tempo_scale: float = 1.0
    """Multiplier (dimensionless) on movement, hold and pause durations; > 1 is slower."""
    hold_adherence: float = 0.95
    """Probability (0–1) that a prescribed hold is held for its full time."""
    compensation_tendency: float = 0.05
    """Probability (0–1) per rep that a compensation or form fault is injected."""
    breath_inhale_s: float = 3.0
    """Duration (s) of a paced inhale during breath-led movement (cat-cow)."""
    breath_exhale_s: float = 4.0
    """Duration (s) of a paced exhale during breath-led movement (cat-cow)."""
    breath_lag_s: float = 0.3
    """Delay (s) of the movement behind the breath, at most half the shorter breath phase;
    above 1 s counts as out of phase."""
    variability: float = 0.10
    """Rep-to-rep variability as a fraction (0.10 → ranges ±10 %, durations ±15 %)."""
    rep_pause_scale: float = 1.0
    """Multiplier (0–2) on the still pauses a coached person makes between reps and
    between the phases of a rep; 0 = continuous reps with no pause (what real people do
    without a coach)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "name":
                if not isinstance(value, str) or not value:
                    raise ConfigurationError("PerformerProfile.name must be a non-empty string")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigurationError(f"PerformerProfile.{f.name} must be a number")
            if not math.isfinite(value):
                raise ConfigurationError(f"PerformerProfile.{f.name} must be finite")
        _check_range("range_scale", self.range_scale, 0.1, 3.0)
        _check_range("tempo_scale", self.tempo_scale, 0.25, 4.0)
        _check_range("hold_adherence", self.hold_adherence, 0.0, 1.0)
        _check_range("compensation_tendency", self.compensation_tendency, 0.0, 1.0)
        _check_range("breath_inhale_s", self.breath_inhale_s, 1.0, 15.0)
        _check_range("breath_exhale_s", self.breath_exhale_s, 1.0, 15.0)
        _check_range(
            "breath_lag_s",
            self.breath_lag_s,
            0.0,
            0.5 * min(self.breath_inhale_s, self.breath_exhale_s),
        )
        _check_range("variability", self.variability, 0.0, 0.5)
        _check_range("rep_pause_scale", self.rep_pause_scale, 0.0, 2.0)


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigurationError(
            f"PerformerProfile.{name} must be between {low:g} and {high:g}, got {value:g}"
        )


PROFILES: Final[Mapping[str, PerformerProfile]] = MappingProxyType(
    {
        "typical": PerformerProfile(name="typical"),
        "stiff": PerformerProfile(
            name="stiff",
            range_scale=0.5,
            tempo_scale=1.1,
            hold_adherence=0.9,
            compensation_tendency=0.1,
            breath_lag_s=0.4,
        ),
        "hypermobile": PerformerProfile(
            name="hypermobile",
            range_scale=1.3,
            tempo_scale=0.95,
            hold_adherence=0.9,
            compensation_tendency=0.1,
            variability=0.12,
        ),
        "novice": PerformerProfile(
            name="novice",
            range_scale=0.9,
            tempo_scale=0.85,
            hold_adherence=0.6,
            compensation_tendency=0.3,
            breath_inhale_s=2.5,
            breath_exhale_s=3.0,
            breath_lag_s=0.8,
            variability=0.2,
        ),
        "expert": PerformerProfile(
            name="expert",
            range_scale=1.1,
            tempo_scale=1.2,
            hold_adherence=1.0,
            compensation_tendency=0.0,
            breath_inhale_s=4.0,
            breath_exhale_s=5.0,
            breath_lag_s=0.15,
            variability=0.05,
        ),
    }
)
"""The built-in performer profiles by name (the coached-session profiles)."""

REAL_WORLD_PROFILES: Final[Mapping[str, PerformerProfile]] = MappingProxyType(
    {
        # Real recordings of other labs: reps with no pause between them (a seated
        # flexion-extension takes about 4 s), holds mostly skipped.
        "continuous": PerformerProfile(
            name="continuous",
            tempo_scale=0.8,
            hold_adherence=0.3,
            breath_inhale_s=2.5,
            breath_exhale_s=3.0,
            variability=0.15,
            rep_pause_scale=0.0,
        ),
        # The quick end of those recordings: reps down to about 1.5 s, no pauses.
        "fast": PerformerProfile(
            name="fast",
            range_scale=0.9,
            tempo_scale=0.5,
            hold_adherence=0.2,
            compensation_tendency=0.05,
            breath_inhale_s=1.5,
            breath_exhale_s=2.0,
            breath_lag_s=0.3,
            variability=0.2,
            rep_pause_scale=0.0,
        ),
        # Small and quick: half the typical ranges at the fast tempo (a stiff back moved
        # briskly: the hardest case for a rep counter).
        "stiff-fast": PerformerProfile(
            name="stiff-fast",
            range_scale=0.5,
            tempo_scale=0.5,
            hold_adherence=0.2,
            compensation_tendency=0.1,
            breath_inhale_s=1.5,
            breath_exhale_s=2.0,
            breath_lag_s=0.3,
            variability=0.15,
            rep_pause_scale=0.0,
        ),
    }
)
"""Profiles reproducing how people moved in real recordings (no coach, no pauses);
:func:`resolve_profile` accepts these names too."""


def profile_json(profile: PerformerProfile) -> str:
    """The profile as JSON for ``meta["performer_profile"]``.

    Fields added after the first release are written only when they differ from their
    default, so the meta of every existing profile stays exactly what it was.
    """
    values = asdict(profile)
    if values["rep_pause_scale"] == 1.0:
        del values["rep_pause_scale"]
    return json.dumps(values)


def resolve_profile(profile: str | PerformerProfile) -> PerformerProfile:
    """Return the profile named ``profile`` (or ``profile`` itself if it is one).

    Raises :class:`~spinecoach.errors.ConfigurationError` naming the valid names.
    """
    if isinstance(profile, PerformerProfile):
        return profile
    if isinstance(profile, str) and profile in PROFILES:
        return PROFILES[profile]
    if isinstance(profile, str) and profile in REAL_WORLD_PROFILES:
        return REAL_WORLD_PROFILES[profile]
    names = ", ".join([*PROFILES, *REAL_WORLD_PROFILES])
    raise ConfigurationError(
        f"unknown profile {profile!r}; use one of {names} or pass a PerformerProfile"
    )
