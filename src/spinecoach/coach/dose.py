"""A prescribed dose for one live session: how many reps per set, how many sets, how long
each hold (s) and the tempo of the working movement (s), as the program prescribes it
(``GET /api/program/today`` gives it in each slot's ``start`` payload).

Design choices:

* The dose is applied by handing the exercise engine a catalogue whose technique carries
  the prescribed :class:`~spinecoach.exercises.technique.Dose` (:func:`dosed_technique`),
  so every consumer of the technique's dose (rep and set counting cues, the hold cue, the
  short-hold fault, the targets shown) follows it without a second source of truth.
* ``hold_s`` is the hold of the working movement. A technique with a second hold (the
  extension half of flexion-extension) keeps the catalogue's ratio between the two, so a
  3 s prescription of a 5 s / 3 s technique asks for 3 s / 1.8 s. A technique without
  holds (the breath-led cat-cow, ``hold_s`` 0 in the catalogue) stays without holds.
* ``tempo_s`` (None: the catalogue's) is the time of the working movement (``move_s``).
* ``slot`` names the program's daily slot the session was started for (``morning``,
  ``main``, ``deskbreak``; None: a free choice). It is kept with the stored session.

>>> from spinecoach.exercises.catalogue import default_catalogue
>>> tech = dosed_technique(default_catalogue().technique("flexion-extension"),
...                        LiveDose(reps=4, sets=2, hold_s=3.0))
>>> tech.dose.reps, tech.dose.sets, tech.dose.hold_s, round(tech.dose.extension_hold_s, 2)
(4, 2, 3.0, 1.8)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Final, Literal

from spinecoach.errors import ConfigurationError
from spinecoach.exercises.technique import Catalogue, Technique

LiveSlot = Literal["morning", "main", "deskbreak"]
#: The program's daily slots as the live ``start`` message names them.
LIVE_SLOTS: Final[tuple[str, ...]] = ("morning", "main", "deskbreak")


@dataclass(frozen=True)
class LiveDose:
    """Reps per set, sets, hold (s; None: the catalogue's) and tempo (s; None: the
    catalogue's) of one session."""

    reps: int
    sets: int
    hold_s: float | None = None
    tempo_s: float | None = None

    def __post_init__(self) -> None:
        counts: tuple[tuple[str, int, int], ...] = (
            ("reps", self.reps, 50),
            ("sets", self.sets, 10),
        )
        for name, value, most in counts:
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
                raise ConfigurationError(
                    f"dose.{name} is a whole number from 1 to {most}, got {value!r}"
                )
        times: tuple[tuple[str, float | None, float], ...] = (
            ("hold_s", self.hold_s, 60.0),
            ("tempo_s", self.tempo_s, 30.0),
        )
        for name, seconds, limit in times:
            if seconds is not None and (
                isinstance(seconds, bool) or not math.isfinite(seconds) or not 0 <= seconds <= limit
            ):
                raise ConfigurationError(
                    f"dose.{name} is seconds from 0 to {limit:g} or null, got {seconds!r}"
                )

    def as_dict(self) -> dict[str, Any]:
        return {
            "reps": self.reps,
            "sets": self.sets,
            "hold_s": self.hold_s,
            "tempo_s": self.tempo_s,
        }


def dosed_technique(technique: Technique, dose: LiveDose) -> Technique:
    """``technique`` with its catalogue dose replaced by ``dose`` (see the module
    docstring for the second hold and techniques without holds)."""
    base = technique.dose
    hold_s = base.hold_s
    extension = base.extension_hold_s
    if dose.hold_s is not None and base.hold_s > 0:
        hold_s = float(dose.hold_s)
        if extension is not None:
            extension = extension * hold_s / base.hold_s
    move_s = base.move_s if dose.tempo_s is None or dose.tempo_s <= 0 else float(dose.tempo_s)
    new = dataclasses.replace(
        base,
        reps=dose.reps,
        sets=dose.sets,
        hold_s=hold_s,
        extension_hold_s=extension,
        move_s=move_s,
    )
    return dataclasses.replace(technique, dose=new)


def dosed_catalogue(catalogue: Catalogue, technique: str, dose: LiveDose) -> Catalogue:
    """``catalogue`` with ``technique`` carrying ``dose`` (the others unchanged)."""
    techniques = dict(catalogue.techniques)
    techniques[technique] = dosed_technique(catalogue.technique(technique), dose)
    return dataclasses.replace(catalogue, techniques=techniques)


__all__ = ["LIVE_SLOTS", "LiveDose", "LiveSlot", "dosed_catalogue", "dosed_technique"]
