"""Coaching cues: what to say, when, and why — rate-limited so a person is never flooded.

The texts come from the technique catalogue (``Technique.cue``). The rules:

* at most one cue every ``cue_min_interval_s`` (catalogue, 2.5 s by default);
* timing cues — the breathing pacer's "breathe in / breathe out", the hold count and the
  release — keep their moment, so they may come sooner after another cue, but never closer
  than ``TIMING_MIN_INTERVAL_S``;
* a cue that may not be said now is dropped, not queued: a late cue is a wrong cue;
* the same cue key is not repeated within ``REPEAT_INTERVAL_S`` unless it is a timing cue.

>>> from spinecoach.exercises.catalogue import default_catalogue
>>> cues = CueScheduler(default_catalogue().technique("pelvic-tilt"))
>>> cues.offer(10.0, "hold", "hold began", seconds=3).text
'Hold… 3'
>>> cues.offer(10.5, "rest", "set finished") is None  # too soon after the last cue
True
"""

from __future__ import annotations

from spinecoach.exercises.catalogue import Technique
from spinecoach.exercises.model import Cue

#: Cue keys whose moment matters more than the spacing (pacer phases, hold timing).
TIMING_KEYS = frozenset({"hold", "release", "inhale", "exhale", "back_into_band"})
#: Timing cues are never closer than this (s).
TIMING_MIN_INTERVAL_S = 1.0
#: The same non-timing cue is not repeated within this (s).
REPEAT_INTERVAL_S = 20.0


class CueScheduler:
    """Decides which offered cues are said (see the module docstring)."""

    def __init__(self, technique: Technique) -> None:
        self.technique = technique
        self.min_interval_s = technique.cue_min_interval_s
        self.cues: list[Cue] = []
        self._last_by_key: dict[str, float] = {}

    def offer(
        self,
        time_s: float,
        key: str,
        reason: str,
        *,
        seconds: int | None = None,
        text: str | None = None,
    ) -> Cue | None:
        """Say the cue ``key`` (or the given ``text``, e.g. a fault's cue) if the rules allow."""
        last = self.cues[-1].time_s if self.cues else None
        timing = key in TIMING_KEYS
        if last is not None:
            gap = time_s - last
            if gap < (TIMING_MIN_INTERVAL_S if timing else self.min_interval_s):
                return None
        previous_same = self._last_by_key.get(key)
        if not timing and previous_same is not None and time_s - previous_same < REPEAT_INTERVAL_S:
            return None
        said = text if text is not None else self.technique.cue(key, seconds=seconds)
        cue = Cue(time_s=time_s, key=key, text=said, reason=reason)
        self.cues.append(cue)
        self._last_by_key[key] = time_s
        return cue
