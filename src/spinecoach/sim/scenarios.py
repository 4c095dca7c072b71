"""Session scenarios: how a simulated session is organised around the reps.

``"coached"`` (the default of :func:`~spinecoach.sim.simulate`) is the session our coach
runs: standing still, three slow forward bends, setup, a 5 s neutral hold and a
calibration rep, each annotated in ``recording.events``, then sets with pauses.

The protocol-free scenarios reproduce what people did in real recordings of other labs
(two IMUs on the back, 25–100 Hz, other brands; no coach):

* no calibration protocol and no calibration annotation: the recording starts with the
  person already in the technique's start position, still for 0.3–1.5 s
  (``start_still_s``; the truth angles are relative to this stretch);
* the reps follow each other with no pause (``rep_pause_s``), each lasting 1.5–4 s
  (``rep_duration_s``; a seated flexion-extension took about 4 s, some 1.5 s); holds
  only where the technique prescribes them, present with probability
  ``hold_probability`` × the profile's ``hold_adherence``, shortened to
  ``hold_fraction`` of the prescribed time and to at most ``hold_share_max`` of the rep;
* then lateral bends left/right and axial rotations left/right (``lateral_bend_deg``
  15–35°, ``axial_rotation_deg`` 20–45°, ``distractor_repeats`` per side), and with some
  probability a few before the first set and between sets — truth events
  ``conventions.EVENT_DISTRACTOR`` that must never count as reps;
* the recording ends a moment (``end_still_s``) after the last movement, in position.

>>> SCENARIOS["protocol-free"].rep_duration_s
(1.5, 4.0)
>>> resolve_scenario("coached").protocol
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Final

from spinecoach.errors import ConfigurationError

Range = tuple[float, float]


@dataclass(frozen=True)
class Scenario:
    """How a simulated session runs (a frozen domain value); times in s, angles in deg.

    ``protocol=True`` is the coached session of today (every other field is unused);
    ``protocol=False`` is a session without our calibration protocol (module docstring).
    Ranges are ``(low, high)`` of uniform draws.

    >>> Scenario(name="slow", rep_duration_s=(3.0, 6.0)).protocol
    False
    """

    name: str = "custom"
    """Shown in the recording's ``meta["scenario"]``."""
    protocol: bool = False
    """True: our coach's calibration protocol and pauses (the "coached" session)."""
    start_still_s: Range = (0.3, 1.5)
    """Still time in the start position before the first movement."""
    rep_duration_s: Range = (1.5, 4.0)
    """Duration of one rep, holds included (a breath cycle for cat-cow)."""
    rep_pause_s: Range = (0.0, 0.0)
    """Still pause between two reps of a set (0: continuous reps)."""
    hold_probability: float = 0.5
    """Probability (0–1) that a prescribed hold is made at all (× hold_adherence)."""
    hold_fraction: Range = (0.1, 0.4)
    """A hold that is made lasts this fraction of the prescribed hold."""
    hold_share_max: float = 0.4
    """Holds take at most this fraction (0–0.6) of the rep's duration."""
    set_rest_s: Range = (3.0, 8.0)
    """Still rest between two sets."""
    lateral_bend_deg: Range = (15.0, 35.0)
    """Amplitude of a distractor lateral bend (truth ``lateral_bend_deg``)."""
    axial_rotation_deg: Range = (20.0, 45.0)
    """Amplitude of a distractor axial rotation (truth ``axial_rotation_deg``)."""
    distractor_duration_s: Range = (1.5, 3.5)
    """Duration of one distractor movement, out and back."""
    distractor_repeats: tuple[int, int] = (1, 2)
    """Lateral bends and rotations to each side after the sets (whole numbers)."""
    distractors_after: bool = True
    """Lateral bends then axial rotations after the last set."""
    distractors_before_probability: float = 0.3
    """Probability (0–1) of a pair of distractors before the first set."""
    distractors_between_probability: float = 0.5
    """Probability (0–1) of a pair of distractors after each rest between sets."""
    end_still_s: Range = (0.5, 2.0)
    """Still time in position at the end of the recording."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigurationError("Scenario.name must be a non-empty string")
        for name in ("protocol", "distractors_after"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(
                    f"Scenario.{name} must be True or False, got {getattr(self, name)!r}"
                )
        limits = {
            "start_still_s": (0.1, 30.0),
            "rep_duration_s": (0.5, 30.0),
            "rep_pause_s": (0.0, 30.0),
            "hold_fraction": (0.0, 1.0),
            "set_rest_s": (0.5, 120.0),
            "lateral_bend_deg": (1.0, 60.0),
            "axial_rotation_deg": (1.0, 60.0),
            "distractor_duration_s": (0.5, 20.0),
            "end_still_s": (0.1, 30.0),
        }
        for name, (low, high) in limits.items():
            _check_pair(name, getattr(self, name), low, high)
        repeats = self.distractor_repeats
        if (
            not isinstance(repeats, tuple)
            or len(repeats) != 2
            or any(isinstance(r, bool) or not isinstance(r, int) for r in repeats)
            or not 1 <= repeats[0] <= repeats[1] <= 10
        ):
            raise ConfigurationError(
                "Scenario.distractor_repeats must be a pair of whole numbers (low, high) with "
                f"1 <= low <= high <= 10, got {repeats!r}"
            )
        for name, high in (
            ("hold_probability", 1.0),
            ("hold_share_max", 0.6),
            ("distractors_before_probability", 1.0),
            ("distractors_between_probability", 1.0),
        ):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or not 0.0 <= value <= high
            ):
                raise ConfigurationError(
                    f"Scenario.{name} must be a number from 0 to {high:g}, got {value!r}"
                )


def _check_pair(name: str, value: object, low: float, high: float) -> None:
    ok = (
        isinstance(value, tuple)
        and len(value) == 2
        and all(
            not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v)
            for v in value
        )
    )
    if not ok or not (low <= value[0] <= value[1] <= high):  # type: ignore[index]
        raise ConfigurationError(
            f"Scenario.{name} must be a pair (low, high) with {low:g} <= low <= high <= "
            f"{high:g}, got {value!r}"
        )


SCENARIOS: Final[Mapping[str, Scenario]] = MappingProxyType(
    {
        "coached": Scenario(name="coached", protocol=True),
        "protocol-free": Scenario(name="protocol-free"),
        # The reps alone, no distractor (for calibration from the movement itself).
        "protocol-free-reps-only": Scenario(
            name="protocol-free-reps-only",
            distractors_after=False,
            distractors_before_probability=0.0,
            distractors_between_probability=0.0,
        ),
        # Distractors before, between and after every set (for rep rejection).
        "protocol-free-distractors": Scenario(
            name="protocol-free-distractors",
            distractor_repeats=(2, 3),
            distractors_before_probability=1.0,
            distractors_between_probability=1.0,
        ),
    }
)
"""The built-in scenarios by name."""

SCENARIO_FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in fields(Scenario))


def resolve_scenario(scenario: str | Scenario) -> Scenario:
    """The scenario named ``scenario`` (or ``scenario`` itself if it is one).

    Raises :class:`~spinecoach.errors.ConfigurationError` naming the valid names.
    """
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, str) and scenario in SCENARIOS:
        return SCENARIOS[scenario]
    raise ConfigurationError(
        f"unknown scenario {scenario!r}; use one of {', '.join(SCENARIOS)} or pass a Scenario"
    )
