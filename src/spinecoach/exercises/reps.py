"""Rep segmentation for the hold techniques (pelvic tilt, hip-hinge, flexion-extension).

One :class:`RepSegmenter` per set of frames, fed one angle frame at a time (``update``),
causally: it decides where a rep starts and ends. When a rep ends, the frames it buffered
are handed to :func:`~spinecoach.exercises.detect.analyse_rep`, a pure function, so batch
(:func:`~spinecoach.exercises.detect_exercise` on a whole
:class:`~spinecoach.motion.AngleFrames`) and streaming give the same reps: batch simply
feeds the same frames through the same object.

Reps as people do them (issue 13). Real people do not pause between reps, do not wait
still before the first one, and do reps of 1.5–4 s; they also bend sideways and twist
between sets. The segmenter therefore works from turning points of the main signal with
hysteresis rather than from rests:

* **Baseline.** The person's neutral in this position: the first frame in position, then
  followed slowly (time constant 2 s) while the main signal stays within
  ``rest_band_deg`` of it. It is not re-taken inside a set, so a hold at the end of a
  movement is never mistaken for neutral.
* **Arming.** In position and ``settle_s`` (0.3 s) within the rest band — the few tenths
  of a second people stand or sit still before they start — or, after a gap or a change
  of position, a *valley near the baseline*: a local minimum within ``arm_band_deg`` of
  it followed by a rise of ``turn_deg`` (someone who keeps moving is re-armed at the
  bottom of the next movement without having to stop).
* **Start.** Armed, the main signal goes ``on_deg`` past the baseline in the working
  direction; the rep starts where the movement did (the last frame of the lead-in near
  the baseline, else the lead-in's lowest frame).
* **End.** Whichever comes first: back within the rest band (as before: a
  flexion-extension waits up to ``opposite_wait_s`` there for its extension half), the
  extension half crossing back up through the band, or — once the movement has come
  back to within ``return_share`` of its start — the *local minimum between two
  excursions*: the lowest frame since the return, confirmed when the signal rises
  ``turn_deg`` above it. The frames after that minimum start the next rep's lead-in, so
  continuous reps are counted one by one without any pause.
* **Kept or discarded.** A finished rep is discarded, and said why, when it lasted under
  ``min_rep_s`` (1 s: a knock or a fidget; seated reps of 1.5 s count); when its range is
  under ``min_range_share`` of the median range of the reps already counted (a fidget or
  the sagittal cross-talk of another movement inside a set); or when it moved out of the
  technique's plane (below).

Only the technique's plane counts. A lateral bend or an axial rotation shows a few
degrees of sagittal cross-talk (an imperfect calibration, skin and sensor sliding over
the bone), enough to start a rep on a small main signal. While the main signal is in the
core of the rep (at least a quarter of its range), the largest change of the lateral
bend and of the axial rotation from where the core begins is compared with the rep's
sagittal range: ``max_out_of_plane_share`` (0.5, "comparable or larger") of it and at
least ``min_out_of_plane_deg`` rejects the rep. The lateral bend is a difference of two
frontal inclinations from gravity, which a slightly turned sensor axis inflates by
tan(inclination) in a deep bend, and a heading offset between two sensors without a
magnetometer leaks into the axial rotation as the trunk bends; both are therefore only
read while the trunk is within ``position_tolerance_deg`` of the position's neutral (a
side bend or a twist keeps the trunk there). The axial rotation is measured against the
line from the core's first to its last frame: the heading drift of two sensors without a
magnetometer (1-2°/s with real gyroscope biases) is no twist, while a twist and back
still is. With one sensor neither exists and the test is skipped.

A squat or a sit-down is not a bend of the trunk. Its lumbar flexion (20–50°) and
pelvic tilt (10–40°) look like a flexion-extension or a hip hinge, but the pelvis goes
down 0.2–0.5 m, while in a standing or seated forward bend or a seated hinge it rotates
about the hips and stays within a few centimetres of its height. With a ``vertical``
signal (the motion core's ``pelvis_height_m``, :mod:`spinecoach.motion.height`), a rep
whose pelvis went down more than ``max_drop_m`` from its first frame to its deepest
point (the main signal's peak) is discarded with the reason. Frames without that signal
(camera, stored sessions) are judged as before.

Position awareness. Nothing is counted until the person has been in one of the
technique's start positions — trunk inclination within ``position_tolerance_deg`` of
the position's nominal value (``position_nominal_deg`` or ``other_positions_deg``). A
rep in progress is discarded, not counted, when the trunk leaves the position's allowed
range (getting up off the mat, turning over), when the data stop (calibration not done,
a gap), or when it lasts longer than ``max_rep_s`` (standing up from a chair looks like
the start of a hinge that never comes back).

Gaps (a sensor that drops out for a few seconds). What happened in the hole is unknown,
so a rep in progress there is discarded and no rep can span it: after the gap the
segmenter must be armed again (a short rest, or a valley near the baseline) before a rep
can start, and the lead-in buffer is emptied. The rest *baseline*, however, is kept
across the gap. It is the person's neutral in this position, which a drop-out of the
data does not change (the motion pipeline re-seeds the orientation after a gap, so the
angles are continuous). Re-baselining on the first frame after the gap would take a
mid-rep angle for neutral whenever the gap ended during a rep. The baseline is re-taken
only when the person leaves the start position, as before.

Hold measurement. Human point-to-point movements follow a minimum-jerk velocity profile
(Flash & Hogan, J Neurosci 1985): the speed tails off smoothly, so a plain speed
threshold finds the hold early. The hold edges are where the (centred, 0.1 s) speed falls
under ``hold_speed_share`` of the phase's peak speed; the expected min-jerk tail beyond
that point, ``(1 - s*) × phase duration``, is then moved back to the hold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from spinecoach.conventions import AXIAL_ROTATION
from spinecoach.errors import ConfigurationError
from spinecoach.exercises.repframes import (
    Excursion,
    FloatArray,
    RepFrames,
    SegmenterSettings,
    excursion,
    signal_speed,
)

__all__ = [
    "SETTLED_S",
    "SETTLED_SHARE",
    "Excursion",
    "RepFrames",
    "RepSegmenter",
    "SegmenterSettings",
    "excursion",
    "signal_speed",
]


#: A rep also ends once the person has settled for this long (s) within the rest band of
#: one value, back within :data:`SETTLED_SHARE` of the rep's range from the baseline: their
#: own neutral a few degrees off the one taken (after a squat, a stand a little extended).
SETTLED_S = 2.0
SETTLED_SHARE = 0.15


@dataclass
class _State:
    settle_s: float = 0.0
    baseline: float | None = None
    # The baseline was seen to be neutral (armed on it once); kept across gaps.
    confirmed: bool = False
    # Any data seen yet: the recording's first frame in position is taken as neutral.
    started: bool = False
    nominal: float = 0.0
    active: bool = False
    frames_t: list[float] = field(default_factory=list)
    frames_x: list[float] = field(default_factory=list)
    frames_max: float = -math.inf  # max(frames_x), kept as they come (read every frame)
    frames_other: list[list[float]] = field(default_factory=list)
    frames_lean: list[float] = field(default_factory=list)
    rest_since_s: float | None = None
    # Settled off the baseline: the value the signal has stayed within the rest band of,
    # and since when (a person back in their own neutral a few degrees from the one taken).
    still_x: float = math.nan
    still_since_s: float | None = None
    seen_opposite: bool = False
    last_t: float | None = None
    prev_x: float = math.nan
    # The rep in progress: where it started, its peak, its return and the valley after.
    start_x: float = 0.0
    peak_x: float = 0.0
    returned: bool = False
    valley_x: float = math.inf
    valley_i: int = -1
    # Turning points while idle (for arming at a valley): +1 rising after a valley, -1
    # falling after a peak, 0 not known yet (a first frame is no valley).
    idle_dir: int = 0
    idle_lo: float = math.nan
    idle_hi: float = math.nan


_Lead = tuple[float, float, list[float], float]  # time, main, others, lean


class RepSegmenter:
    """Causal rep boundaries from angle frames.

    ``update(time_s, main_deg, trunk_deg, others)`` returns a :class:`RepFrames` when a rep
    has just ended, else None. ``main_deg`` is the main signal in the working direction
    (multiply by the technique's direction first). ``others`` are extra signals kept
    with the rep for fault rules (names fixed at construction); those named in
    ``out_of_plane`` (lateral bend, axial rotation) also decide whether the rep was in the
    technique's plane (see the module notes).
    """

    def __init__(
        self,
        settings: SegmenterSettings,
        other_names: Sequence[str] = (),
        *,
        out_of_plane: Sequence[str] = (),
        lateral: Sequence[str] = (),
        vertical: str | None = None,
    ) -> None:
        self.settings = settings
        self.other_names = tuple(other_names)
        named = (*out_of_plane, *lateral, *((vertical,) if vertical else ()))
        unknown = [n for n in named if n not in self.other_names]
        if unknown:
            raise ConfigurationError(
                f"out-of-plane signals {unknown} are not among the rep's signals "
                f"{self.other_names}; name them in other_names too"
            )
        self._out_of_plane = tuple(self.other_names.index(n) for n in out_of_plane)
        self._lateral = frozenset(self.other_names.index(n) for n in lateral)
        self._vertical = self.other_names.index(vertical) if vertical else None
        self._s = _State()
        self.discarded: list[tuple[float, float, str]] = []
        self._lead: list[_Lead] = []
        self._ranges: list[float] = []

    @property
    def armed(self) -> bool:
        return not self._s.active and self._s.settle_s >= self.settings.settle_s

    @property
    def in_rep(self) -> bool:
        return self._s.active

    @property
    def rep_start_s(self) -> float | None:
        return self._s.frames_t[0] if self._s.active and self._s.frames_t else None

    @property
    def baseline_deg(self) -> float | None:
        """The person's neutral of the main signal in this position (deg), if known."""
        return self._s.baseline

    @property
    def ranges_deg(self) -> tuple[float, ...]:
        """The ranges (deg) of the reps counted so far."""
        return tuple(self._ranges)

    @property
    def current_deg(self) -> float:
        """The latest main-signal change from rest in the rep in progress (deg)."""
        s = self._s
        if not s.active or not s.frames_x or s.baseline is None:
            return 0.0
        return s.frames_x[-1] - s.baseline

    def rep_start_value(self, name: str) -> float | None:
        """An extra signal's value at the start of the rep in progress."""
        s = self._s
        if not s.active or not s.frames_other or name not in self.other_names:
            return None
        return s.frames_other[0][self.other_names.index(name)]

    @property
    def rep_peak_deg(self) -> float:
        """Largest main-signal change from rest so far in the rep in progress (deg)."""
        s = self._s
        if not s.active or not s.frames_x or s.baseline is None:
            return 0.0
        return s.frames_max - s.baseline

    def _reset_rep(self) -> None:
        s = self._s
        s.active = False
        s.frames_t, s.frames_x, s.frames_other, s.frames_lean = [], [], [], []
        s.frames_max = -math.inf
        s.rest_since_s = None
        s.still_x, s.still_since_s = math.nan, None
        s.seen_opposite = False
        s.returned = False
        s.valley_x, s.valley_i = math.inf, -1

    def _discard(self, reason: str) -> None:
        s = self._s
        if s.active and s.frames_t:
            self.discarded.append((s.frames_t[0], s.frames_t[-1], reason))
        self._reset_rep()
        s.settle_s = 0.0
        s.idle_dir, s.idle_lo, s.idle_hi = 0, math.nan, math.nan

    def _allowed(self, trunk_deg: float) -> bool:
        """In one of the start positions (idle), or within the rep's range (in a rep)."""
        cfg = self.settings
        s = self._s
        if s.active:
            lean = trunk_deg - s.nominal
            return -cfg.max_backward_deg <= lean <= cfg.max_forward_deg
        nearest = min(cfg.nominals, key=lambda n: abs(trunk_deg - n))
        if abs(trunk_deg - nearest) > cfg.position_tolerance_deg:
            return False
        if nearest != s.nominal:
            s.nominal = nearest
            s.baseline = None  # another position: its own neutral
        return True

    def update(
        self, time_s: float, main_deg: float, trunk_deg: float, others: Sequence[float] = ()
    ) -> RepFrames | None:
        cfg = self.settings
        s = self._s
        dt = 0.0 if s.last_t is None else time_s - s.last_t
        s.last_t = time_s
        if not (math.isfinite(main_deg) and math.isfinite(trunk_deg)):
            # No rep across missing data; the baseline (neutral) stays: see the module notes.
            s.started = s.started or s.baseline is not None
            self._discard("no data (not calibrated or a gap)")
            self._lead.clear()
            s.prev_x = math.nan
            return None
        if not self._allowed(trunk_deg):
            s.started = True
            self._discard("left the start position")
            s.baseline = None
            self._lead.clear()
            s.prev_x = math.nan
            return None
        if s.baseline is None:
            s.baseline = main_deg
            s.confirmed = False
            if not s.started:
                # A recording starts with the person in position (they pressed start, or
                # the calibration neutral was taken there): armed at once, so a rep that
                # begins with the recording counts (a re-entry into position does not).
                s.settle_s = cfg.settle_s
        s.started = True
        x = main_deg - s.baseline
        lean = trunk_deg - s.nominal
        prev_x, s.prev_x = s.prev_x, x
        if not s.active:
            self._idle(time_s, main_deg, s.baseline, dt, list(others), lean)
            return None
        s.frames_t.append(time_s)
        s.frames_x.append(main_deg)
        if main_deg > s.frames_max:
            s.frames_max = main_deg
        s.frames_other.append(list(others))
        s.frames_lean.append(lean)
        if time_s - s.frames_t[0] > cfg.max_rep_s:
            self._discard("too long for a rep")
            return None
        return self._in_rep(time_s, x, prev_x)

    def _idle(
        self,
        time_s: float,
        main_deg: float,
        baseline: float,
        dt: float,
        others: list[float],
        lean: float,
    ) -> None:
        cfg = self.settings
        s = self._s
        x = main_deg - baseline
        # At rest: near the baseline with the trunk still (the slow turn of a set-up
        # movement can hold the main signal for a moment while the body still moves).
        if abs(x) <= cfg.rest_band_deg and self._trunk_still(time_s, lean):
            s.settle_s += dt
            # Track slow drift of the neutral while at rest (time constant 2 s).
            baseline += (main_deg - baseline) * min(1.0, dt / 2.0)
        # Turning points with hysteresis: a valley near the baseline arms.
        self._turning_points(x)
        # A baseline never confirmed (the first frame in position may be mid-movement): a
        # still stretch is the best guess of neutral there is.
        if not s.confirmed and s.settle_s < cfg.settle_s and self._still(time_s, main_deg, lean):
            window = [m for t_, m, _, _ in self._lead if t_ >= time_s - cfg.settle_s]
            baseline = float(np.mean([*window, main_deg]))
            x = main_deg - baseline
            s.settle_s = cfg.settle_s
        s.baseline = baseline
        s.confirmed = s.confirmed or s.settle_s >= cfg.settle_s
        # Remember the lead-in so the rep starts where the movement did.
        self._lead.append((time_s, main_deg, others, lean))
        if len(self._lead) > 400:
            del self._lead[:200]
        if x >= cfg.on_deg and s.settle_s >= cfg.settle_s:
            self._start(baseline)

    def _turning_points(self, x: float) -> None:
        cfg = self.settings
        s = self._s
        turn = cfg.turn
        if s.idle_dir == 0:
            s.idle_lo = x if not math.isfinite(s.idle_lo) else min(s.idle_lo, x)
            s.idle_hi = x if not math.isfinite(s.idle_hi) else max(s.idle_hi, x)
            if x <= s.idle_hi - turn:
                s.idle_dir, s.idle_lo = -1, x
            elif x >= s.idle_lo + turn:
                s.idle_dir, s.idle_hi = 1, x
        elif s.idle_dir < 0:
            s.idle_lo = min(s.idle_lo, x)
            if x >= s.idle_lo + turn:
                if abs(s.idle_lo) <= cfg.arm_band:
                    s.settle_s = max(s.settle_s, cfg.settle_s)
                s.idle_dir, s.idle_hi = 1, x
        else:
            s.idle_hi = max(s.idle_hi, x)
            if x <= s.idle_hi - turn:
                s.idle_dir, s.idle_lo = -1, x

    def _still(self, time_s: float, main_deg: float, lean: float) -> bool:
        """The main signal stayed within the rest band's width, and the trunk within twice
        that, for ``settle_s``."""
        return self._steady(time_s, main_deg, 1, self.settings.rest_band_deg) and (
            self._trunk_still(time_s, lean)
        )

    def _trunk_still(self, time_s: float, lean: float) -> bool:
        """The trunk inclination stayed within twice the rest band for ``settle_s`` (or
        there is no lead-in yet to tell: the first frames in position)."""
        if not self._lead:
            return True
        return self._steady(time_s, lean, 3, 2.0 * self.settings.rest_band_deg, early=True)

    def _steady(
        self, time_s: float, value: float, column: int, width: float, *, early: bool = False
    ) -> bool:
        """Column ``column`` of the lead-in and ``value`` span at most ``width`` over the
        last ``settle_s`` (``early``: also when the lead-in is shorter than that)."""
        cfg = self.settings
        lead = self._lead
        if (not lead or time_s - lead[0][0] < cfg.settle_s) and not early:
            return False
        lo = hi = value
        for item in reversed(lead):
            v = float(item[column])  # type: ignore[arg-type]
            lo, hi = (v if v < lo else lo), (v if v > hi else hi)  # min/max, cheaper per frame
            if hi - lo > width:
                return False
            if item[0] <= time_s - cfg.settle_s:
                return True
        return early

    def _start(self, baseline: float) -> None:
        s = self._s
        near = baseline + 0.1 * self.settings.on_deg
        values = [m for _, m, _, _ in self._lead]
        start = next((i for i in range(len(values) - 1, -1, -1) if values[i] <= near), None)
        if start is None:
            start = int(np.argmin(values))
        s.active = True
        for t_, m_, o_, l_ in self._lead[start:]:
            s.frames_t.append(t_)
            s.frames_x.append(m_)
            s.frames_other.append(o_)
            s.frames_lean.append(l_)
        self._lead.clear()
        s.frames_max = max(s.frames_x)
        s.start_x = s.frames_x[0] - baseline
        s.peak_x = s.frames_max - baseline

    def _in_rep(self, time_s: float, x: float, prev_x: float) -> RepFrames | None:
        cfg = self.settings
        s = self._s
        band = cfg.rest_band_deg
        s.peak_x = max(s.peak_x, x)
        rise = s.peak_x - s.start_x
        if not cfg.opposite and x - s.start_x <= -max(2.0 * cfg.on_deg, cfg.overshoot_share * rise):
            self._discard("went far past the start the other way: not this technique")
            # The neutral it started from was not one (a hold taken for rest): re-take it.
            s.baseline = None
            self._lead.clear()
            return None
        if not s.returned and x - s.start_x <= cfg.return_share * rise:
            s.returned = True
        if cfg.opposite and x <= -max(2.0 * band, 0.5 * cfg.on_deg):
            s.seen_opposite = True
        # Back at rest; or the extension half coming back up through the band in one frame.
        crossed = s.seen_opposite and prev_x < -band and x > band
        if abs(x) <= band or crossed:
            if s.rest_since_s is None:
                s.rest_since_s = time_s
            waited = time_s - s.rest_since_s
            if cfg.opposite:
                need = 0.0 if s.seen_opposite else cfg.opposite_wait_s
            else:
                need = cfg.confirm_s
            if waited >= need:
                end = int(np.searchsorted(np.asarray(s.frames_t), s.rest_since_s, side="right"))
                return self._finish(end)
        else:
            s.rest_since_s = None
        # Settled near (not at) the baseline: back, still for SETTLED_S within the rest
        # band, and within SETTLED_SHARE of the rep's range (an extension hold is further).
        if not math.isfinite(s.still_x) or abs(x - s.still_x) > band:
            s.still_x, s.still_since_s = x, time_s
        elif (
            s.returned
            and s.still_since_s is not None
            and time_s - s.still_since_s >= SETTLED_S
            and abs(x) <= max(2.0 * band, SETTLED_SHARE * rise)
        ):
            end = int(np.searchsorted(np.asarray(s.frames_t), s.still_since_s, side="right"))
            return self._finish(max(end, 1))
        # The local minimum between two excursions (not inside an extension half).
        if s.returned and not s.seen_opposite:
            if x < s.valley_x:
                s.valley_x, s.valley_i = x, len(s.frames_x) - 1
            elif x >= s.valley_x + cfg.turn:
                return self._finish(s.valley_i + 1, rising=True)
        return None

    def interrupt(self, reason: str) -> None:
        """The frames cannot be a person's movement (see the detector): the rep in
        progress is discarded with ``reason``, the neutral is re-taken and the segmenter
        must be armed again."""
        s = self._s
        s.started = True
        self._discard(reason)
        s.baseline = None
        self._lead.clear()
        s.prev_x = math.nan

    def finish(self) -> RepFrames | None:
        """The data have ended: a rep that had come back (within ``return_share`` of its
        range) ends with them; one still out is discarded."""
        s = self._s
        if not s.active:
            return None
        if s.returned:
            return self._finish(len(s.frames_t))
        self._discard("the recording ended during a rep")
        return None

    def _finish(self, end: int, *, rising: bool = False) -> RepFrames | None:
        cfg = self.settings
        s = self._s
        baseline = 0.0 if s.baseline is None else s.baseline
        t = np.array(s.frames_t)
        x = np.array(s.frames_x) - baseline
        others = np.array(s.frames_other, dtype=np.float64).reshape(len(t), -1)
        lean = np.array(s.frames_lean)
        # The frames after the end are the next rep's lead-in.
        self._lead = [
            (s.frames_t[i], s.frames_x[i], s.frames_other[i], s.frames_lean[i])
            for i in range(end, len(s.frames_t))
        ]
        self._reset_rep()
        s.settle_s = cfg.settle_s  # still in position and at the bottom: stay armed
        last = float(x[-1])
        s.idle_dir, s.idle_lo, s.idle_hi = (1, last, last) if rising else (-1, last, last)
        rep = RepFrames(
            time_s=t[:end],
            main_deg=x[:end],
            signals={n: others[:end, i] for i, n in enumerate(self.other_names)},
            baseline_deg=float(baseline),
        )
        why = self._reject(rep, lean[:end])
        if why is not None:
            self.discarded.append((float(t[0]), float(t[end - 1]), why))
            return None
        self._ranges.append(float(rep.main_deg.max() - rep.main_deg[0]))
        return rep

    def _drop_m(self, rep: RepFrames) -> float:
        """How far (m) the vertical signal went down from the rep's first frame to its
        deepest point (the main signal's peak); 0 without that signal (camera frames,
        stored sessions, callers that do not give it)."""
        if self._vertical is None:
            return 0.0
        height = rep.signals[self.other_names[self._vertical]]
        peak = int(np.argmax(rep.main_deg))
        span = height[: peak + 1]
        if not np.isfinite(span).all():
            return 0.0  # no such signal (NaN), or a hole in it: judged as without
        return float(span[0] - span.min())

    def _reject(self, rep: RepFrames, lean: FloatArray) -> str | None:
        """Why a finished rep is not counted, or None."""
        cfg = self.settings
        t, x = rep.time_s, rep.main_deg
        if t.shape[0] < 3 or t[-1] - t[0] < cfg.min_rep_s:
            return "too short for a rep"
        rise = float(x.max() - x[0])
        core = (x - x[0]) >= 0.25 * rise
        out = 0.0
        for i in self._out_of_plane:
            values = rep.signals[self.other_names[i]]
            if not np.isfinite(values).any():
                continue  # one sensor: no lateral bend or axial rotation to compare
            # Both are only sound near the position's neutral: the lateral bend is a
            # difference of frontal inclinations from gravity (a slightly turned sensor axis
            # inflates it by tan(inclination)), and a heading offset between two sensors
            # without a magnetometer leaks into the axial rotation as the trunk bends.
            # From where the core begins: a rep that starts in the tail of another
            # movement does not inherit that movement's side bend or twist.
            use = core & np.isfinite(values) & (np.abs(lean) <= cfg.position_tolerance_deg)
            if np.any(use):
                at = np.flatnonzero(use)
                ref = values[at[0]] + np.zeros(at.shape[0])
                if self.other_names[i] == AXIAL_ROTATION and at.shape[0] > 1:
                    # Without a magnetometer the two sensors' headings drift apart
                    # (1-2°/s with real gyroscope biases, most in supine): measured
                    # against the line from the core's first to its last frame, a slow
                    # drift is not a twist, and a twist and back still is.
                    span = max(float(t[at[-1]] - t[at[0]]), 1e-9)
                    slope = (values[at[-1]] - values[at[0]]) / span
                    ref = ref + slope * (t[at] - t[at[0]])
                out = max(out, float(np.abs(values[at] - ref).max()))
        if out >= max(cfg.min_out_of_plane_deg, cfg.max_out_of_plane_share * rise):
            return (
                f"out of the technique's plane ({out:.0f}° of side bend or twist for "
                f"{rise:.0f}° in the plane): another movement, not a rep"
            )
        drop = self._drop_m(rep)
        if drop > cfg.max_drop_m:
            return (
                f"the pelvis went down {drop:.2f} m to the deepest point: a squat or a "
                "sit-down, not a bend of the trunk"
            )
        if self._ranges and rise < cfg.min_range_share * float(np.median(self._ranges)):
            return "much smaller than the other reps (a fidget, not a rep)"
        return None
