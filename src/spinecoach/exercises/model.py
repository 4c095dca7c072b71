"""What the exercise engine reports: reps, faults, sets, cues, and a session result.

Frozen dataclasses; times in seconds since the recording start, angles in degrees of the
technique's main signal relative to the rest baseline, positive in the working direction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from spinecoach.conventions import CAT_COW, CAT_COW_SEATED, finite_or_none

#: Techniques led by the breath, without holds (their reps carry breath sync instead).
BREATH_LED_TECHNIQUES: tuple[str, ...] = (CAT_COW, CAT_COW_SEATED)


@dataclass(frozen=True)
class Fault:
    """A form fault found in one rep: the measured ``value`` broke ``threshold`` (``unit``)."""

    name: str
    value: float
    threshold: float
    unit: str
    reason: str
    cue: str


@dataclass(frozen=True)
class Rep:
    """One detected rep.

    ``measures`` holds every quantity the fault rules compare (``hold_s``, ``return_s``,
    ``range_deg``, ``upper_change_deg``, ``lag_s``, ...), so a report can show why a rep
    was or was not faulted. ``quality`` is 0–100 with the ``reasons`` that lowered it.
    For flexion-extension, ``extension_*`` describe the extension half of the rep.
    """

    technique: str
    index: int
    set_index: int
    start_s: float
    peak_s: float
    end_s: float
    range_deg: float
    hold_s: float
    hold_start_s: float
    hold_end_s: float
    move_s: float
    return_s: float
    quality: int = 100
    reasons: tuple[str, ...] = ()
    faults: tuple[Fault, ...] = ()
    measures: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    extension_hold_s: float = float("nan")
    extension_range_deg: float = float("nan")

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def fault_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.faults)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the live ``rep`` message). A breath-led rep (cat-cow) has no
        hold: it carries no ``hold_s`` but its breath sync, ``in_phase_share`` (0–1) and
        ``lag_s`` (s; infinite for an inverted cycle)."""
        out: dict[str, Any] = {
            "index": self.index,
            "set": self.set_index,
            "start_s": round(self.start_s, 3),
            "peak_s": round(self.peak_s, 3),
            "end_s": round(self.end_s, 3),
            "range_deg": round(self.range_deg, 2),
            "hold_s": round(self.hold_s, 2),
            "move_s": round(self.move_s, 2),
            "return_s": round(self.return_s, 2),
            "quality": self.quality,
            "reasons": list(self.reasons),
            "faults": [f.name for f in self.faults],
            "measures": {k: round(v, 3) for k, v in self.measures.items()},
        }
        if self.technique in BREATH_LED_TECHNIQUES:
            del out["hold_s"]
            for name in ("in_phase_share", "lag_s"):
                out[name] = round(self.measures.get(name, float("nan")), 3)
        return out


@dataclass(frozen=True)
class SetSummary:
    """Reps separated from the next set by a rest of at least the catalogue's set rest."""

    index: int
    start_s: float
    end_s: float
    reps: int


@dataclass(frozen=True)
class Cue:
    """Something the coach says or shows: when, the catalogue key, the text, and why."""

    time_s: float
    key: str
    text: str
    reason: str


@dataclass(frozen=True)
class Discarded:
    """A movement that was not counted as a rep, and why (set-up, too short, a gap)."""

    start_s: float
    end_s: float
    reason: str


@dataclass(frozen=True)
class ExerciseResult:
    """Everything the engine found in one session of one technique."""

    technique: str
    reps: tuple[Rep, ...]
    sets: tuple[SetSummary, ...]
    cues: tuple[Cue, ...]
    discarded: tuple[Discarded, ...]
    info: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN as None): what ``analyze --json`` prints and the live
        session's summary message carries."""
        payload = {
            "technique": self.technique,
            "reps": [rep.as_dict() for rep in self.reps],
            "sets": [
                {
                    "index": s.index,
                    "start_s": round(s.start_s, 3),
                    "end_s": round(s.end_s, 3),
                    "reps": s.reps,
                }
                for s in self.sets
            ],
            "discarded": [
                {"start_s": round(d.start_s, 3), "end_s": round(d.end_s, 3), "reason": d.reason}
                for d in self.discarded
            ],
            "info": dict(self.info),
            "cues": [
                {"time_s": round(c.time_s, 3), "key": c.key, "text": c.text, "reason": c.reason}
                for c in self.cues
            ],
        }
        return dict(finite_or_none(payload))
