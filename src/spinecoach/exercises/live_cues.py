"""The live coach's cues while a person exercises: get ready, start, hold, release, the
pacer's breaths, a fault's correction and the end of a set.

:class:`LiveCueing` is the cueing half of
:class:`~spinecoach.exercises.engine.ExerciseEngine`: the engine finds the reps, this
decides what to offer the :class:`~spinecoach.exercises.cues.CueScheduler` at each frame
(the scheduler decides what is said). Causal: it looks only at the frames so far.

Holds are measured (:class:`~spinecoach.exercises.gauge.HoldMeter`): once the person's
band is known, "hold" is offered when the measured hold begins, "release" when the
measured hold reaches the prescription, and "back into the band"
(:data:`BACK_INTO_BAND_KEY`) when the angle leaves the band before it. Before the band is
known (the practice rep) the hold is timed from the moment the movement stopped, as
before.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence

from spinecoach.conventions import LUMBAR_FLEXION
from spinecoach.exercises.catalogue import Technique
from spinecoach.exercises.cues import CueScheduler
from spinecoach.exercises.detect import HoldRepDetector
from spinecoach.exercises.gauge import HoldReading
from spinecoach.exercises.model import Rep
from spinecoach.exercises.pacer import PacerTrack

#: The cue key said when the angle leaves the band during a hold.
BACK_INTO_BAND_KEY = "back_into_band"
#: What it says (short: read aloud mid-hold).
BACK_INTO_BAND_TEXT = "Back into the band and hold"


class LiveCueing:
    """What to offer the ``cues`` scheduler at each frame of technique ``spec``."""

    def __init__(self, spec: Technique, cues: CueScheduler, *, breath_led: bool) -> None:
        self.spec = spec
        self.cues = cues
        self.breath_led = breath_led
        self._recent: deque[tuple[float, float]] = deque()
        self._ready_said = False
        self._hold_start_s: float | None = None
        self._released = False
        self._kept_long = False
        self._last_rep_end_s: float | None = None
        self._start_said_after: float | None = None
        self._phases_cued = 0

    def after_frame(
        self,
        time_s: float,
        angles: Mapping[str, float],
        reps: Sequence[Rep],
        *,
        all_reps: Sequence[Rep],
        pacer: PacerTrack | None,
        detector: HoldRepDetector | None,
        hold: HoldReading | None = None,
        left_band: bool = False,
    ) -> None:
        """Offer the cues of the frame at ``time_s`` that completed ``reps`` (``all_reps``:
        every rep so far, these included); ``hold``: the measured hold now, ``left_band``:
        the angle left the band this frame before the prescribed hold."""
        self._rep_cues(time_s, reps, all_reps)
        if self.breath_led:
            self._pacer_cues(time_s, pacer)
            return
        if detector is None:
            return
        seg = detector.segmenter
        if seg.armed and not self._ready_said:
            self._ready_said = True
            self.cues.offer(time_s, "get_ready", "settled in the start position")
        main = angles[self.spec.main_signal] * self.spec.direction
        self._recent.append((time_s, main))
        while self._recent and self._recent[0][0] < time_s - 0.3:
            self._recent.popleft()
        if not seg.in_rep:
            self._hold_start_s = None
            self._released = False
            self._kept_long = False
            rest_after = self._last_rep_end_s
            if (
                seg.armed
                and rest_after is not None
                and time_s - rest_after >= self.spec.dose.rest_between_reps_s
                and self._start_said_after != rest_after
            ):
                self._start_said_after = rest_after
                self.cues.offer(time_s, "start", "rested; ready for the next rep")
            return
        self._hold_cues(time_s, detector, hold, left_band=left_band)
        if "keep_long" in self.spec.cues and not self._kept_long:
            rounding = next((f for f in self.spec.faults if f.measure == "lumbar_change_deg"), None)
            lumbar = angles.get(LUMBAR_FLEXION, float("nan"))
            lumbar_start = seg.rep_start_value(LUMBAR_FLEXION)
            if (
                rounding
                and math.isfinite(lumbar)
                and lumbar_start is not None
                and lumbar - lumbar_start > 0.6 * rounding.threshold
            ):
                self._kept_long = True
                self.cues.offer(time_s, "keep_long", "the low back is starting to round")

    def _hold_cues(
        self,
        time_s: float,
        detector: HoldRepDetector,
        hold: HoldReading | None,
        *,
        left_band: bool,
    ) -> None:
        """Hold, release and back into the band, in a rep under way: from the measured
        hold once the band is known, else from the movement's stillness."""
        if left_band:
            self.cues.offer(
                time_s,
                BACK_INTO_BAND_KEY,
                "the angle left the band during the hold",
                text=BACK_INTO_BAND_TEXT,
            )
        seg = detector.segmenter
        peak = seg.rep_peak_deg
        still = len(self._recent) > 2 and abs(self._recent[-1][1] - self._recent[0][1]) < 0.3
        holding = still and peak >= 1.5 * detector.spec.on_deg and seg.current_deg >= 0.8 * peak
        if hold is not None:  # measured: the hold runs only inside the band
            holding = hold.held_s > 0.0
        if self._hold_start_s is None and holding:
            self._hold_start_s = time_s
            self.cues.offer(
                time_s, "hold", "hold began", seconds=max(1, round(self.spec.dose.hold_s))
            )
        reached = (
            hold.held_s >= hold.target_s
            if hold is not None
            else self._hold_start_s is not None
            and time_s - self._hold_start_s >= self.spec.dose.hold_s
        )
        if self._hold_start_s is not None and not self._released and reached:
            self._released = True
            self.cues.offer(time_s, "release", "the prescribed hold is reached")

    def _rep_cues(self, time_s: float, reps: Sequence[Rep], all_reps: Sequence[Rep]) -> None:
        """A completed rep's first fault, and the end of a set."""
        for rep in reps:
            if rep.faults:
                fault = rep.faults[0]
                self.cues.offer(time_s, f"fault:{fault.name}", fault.reason, text=fault.cue)
            self._last_rep_end_s = rep.end_s
            in_set = sum(1 for r in all_reps if r.set_index == rep.set_index)
            if in_set == self.spec.dose.reps:
                last_set = rep.set_index >= self.spec.dose.sets
                key = "well_done" if last_set else "set_done"
                self.cues.offer(time_s, key, f"set {rep.set_index} of {self.spec.dose.sets} done")

    def _pacer_cues(self, time_s: float, pacer: PacerTrack | None) -> None:
        """The pacer's breath phases as they begin (a phase announced late is not said)."""
        phases = pacer.phases if pacer is not None else ()
        while self._phases_cued < len(phases) and phases[self._phases_cued][1] <= time_s:
            name, start, _ = phases[self._phases_cued]
            self._phases_cued += 1
            if time_s - start < 0.5:  # a phase announced late is not said
                self.cues.offer(time_s, name, f"pacer: {name} begins")
