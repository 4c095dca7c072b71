"""Rep segmentation for the hold techniques (pelvic tilt, hip-hinge, flexion-extension).

One :class:`RepSegmenter` per set of frames, fed one angle frame at a time (``update``),
causally: it decides where a rep starts and ends. When a rep ends, the frames it buffered
are handed to :func:`analyse_rep`, a pure function, so batch (:func:`segment_reps` on a
whole :class:`~spinecoach.motion.AngleFrames`) and streaming give the same reps: batch
simply feeds the same frames through the same object.

Position awareness. Nothing is counted until the person has been in the technique's
start position — trunk inclination within ``position_tolerance_deg`` of the position's
nominal value — and at rest (main signal within ``rest_band_deg`` of its baseline) for
``settle_s``. A rep in progress is discarded, not counted, when the trunk leaves the
position's allowed range (getting up off the mat, turning over), when the data stop
(calibration not done, a gap), or when it lasts longer than ``max_rep_s`` (standing up
from a chair looks like the start of a hinge that never comes back).

Gaps (a sensor that drops out for a few seconds). What happened in the hole is unknown,
so a rep in progress there is discarded and no rep can span it: after the gap the person
must be at rest for ``settle_s`` again before a rep can start, and the lead-in buffer is
emptied. The rest *baseline*, however, is kept across the gap. It is the person's neutral
in this position, which a drop-out of the data does not change (the motion pipeline
re-seeds the orientation after a gap, so the angles are continuous). Re-baselining on
the first frame after the gap — as when the person comes back into position — would take
a mid-rep angle for neutral whenever the gap ended during a rep, after which the real
neutral looks like a movement the other way and nothing is counted again. With the kept
baseline the end of the interrupted rep is simply not at rest, the next rest re-arms
the segmenter, and the following reps count normally. The baseline is re-taken only
when the person leaves the start position, as before.

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
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SegmenterSettings:
    """How reps are found. Angles in degrees, times in seconds.

    position_nominal_deg / position_tolerance_deg / max_forward_deg
        Trunk inclination allowed at rest (nominal ± tolerance) and, during a rep, up to
        ``max_forward_deg`` forward and ``max_backward_deg`` backward of nominal (a hinge
        or a forward bend inclines the trunk; a standing extension leans it back).
    on_deg
        Main-signal change (in the working direction) that starts a rep.
    rest_band_deg
        Within this of the baseline the person is at rest.
    settle_s
        Rest needed in position before a rep can start.
    max_rep_s / min_rep_s
        A longer or shorter "rep" is discarded (a knock or a fidget is not a rep).
    opposite
        The technique has a second excursion the other way within the same rep
        (flexion-extension: flexion, then extension).
    """

    position_nominal_deg: float
    position_tolerance_deg: float = 35.0
    max_forward_deg: float = 110.0
    max_backward_deg: float = 35.0
    on_deg: float = 2.0
    rest_band_deg: float = 1.5
    settle_s: float = 1.0
    max_rep_s: float = 40.0
    min_rep_s: float = 2.0
    opposite: bool = False
    opposite_wait_s: float = 3.0
    hold_speed_share: float = 0.08


@dataclass(frozen=True)
class Excursion:
    """One movement away from neutral and back (deg, s)."""

    start_s: float
    peak_s: float
    end_s: float
    peak_deg: float  # signed, in the working direction for the main excursion
    hold_start_s: float
    hold_end_s: float
    move_s: float  # duration of the outward movement (min-jerk corrected)
    return_s: float  # duration of the return movement (min-jerk corrected)

    @property
    def hold_s(self) -> float:
        return max(0.0, self.hold_end_s - self.hold_start_s)


@dataclass(frozen=True)
class RepFrames:
    """The frames of one rep: time (s), main signal in the working direction (deg),
    other signals by name (deg)."""

    time_s: FloatArray
    main_deg: FloatArray
    signals: dict[str, FloatArray]
    baseline_deg: float


def _min_jerk_tail(share: float) -> float:
    """Normalised time ``1 - s*`` left in a min-jerk movement when its speed has fallen to
    ``share`` of the peak speed (speed ∝ s²(1-s)², peak 1.875 at s = 0.5)."""
    # 30 s²(1-s)² = 1.875 share  →  s(1-s) = sqrt(share / 16)
    q = math.sqrt(share / 16.0)
    s = 0.5 + math.sqrt(max(0.0, 0.25 - q))
    return 1.0 - s


def _speed(t: FloatArray, x: FloatArray) -> FloatArray:
    """Centred speed over ±0.05 s (deg/s), the buffered rep being available whole."""
    if t.shape[0] < 3:
        return np.zeros_like(x)
    dt = float(np.median(np.diff(t)))
    k = max(1, round(0.05 / dt))
    padded = np.concatenate([np.full(k, x[0]), x, np.full(k, x[-1])])
    return np.asarray(np.abs(padded[2 * k :] - padded[: -2 * k]) / (2 * k * dt), dtype=np.float64)


def excursion(t: FloatArray, x: FloatArray, share: float) -> Excursion:
    """Describe one excursion of ``x`` (positive = away from neutral) over ``t``.

    The outward and return phases are where the speed is at least ``share`` of that
    phase's peak speed; under the min-jerk model that stretch is ``1 - 2·tail`` of the
    whole phase, which gives the phase durations and the hold between them.
    """
    i_peak = int(np.argmax(x))
    peak = float(x[i_peak])
    speed = _speed(t, x)
    out_v = float(speed[: i_peak + 1].max()) if i_peak > 0 else 0.0
    back_v = float(speed[i_peak:].max())
    # A floor keeps noise from counting as movement; the tail uses the share in effect.
    out_th = max(0.3, share * out_v)
    back_th = max(0.3, share * back_v)
    fast_out = np.flatnonzero(speed[: i_peak + 1] >= out_th)
    fast_back = i_peak + np.flatnonzero(speed[i_peak:] >= back_th)
    if fast_out.size and out_v > out_th:
        tail = _min_jerk_tail(out_th / out_v)
        move_s = float(t[fast_out[-1]] - t[fast_out[0]]) / (1.0 - 2.0 * tail)
        hold_start = float(t[fast_out[-1]]) + tail * move_s
    else:
        move_s, hold_start = float(t[i_peak] - t[0]), float(t[i_peak])
    # The return starts at the first fast sample after the hold (near the peak).
    near_back = fast_back[x[fast_back] >= 0.6 * peak] if fast_back.size else fast_back
    if fast_back.size and back_v > back_th:
        tail = _min_jerk_tail(back_th / back_v)
        first_back = int(near_back[0]) if near_back.size else int(fast_back[0])
        return_s = float(t[fast_back[-1]] - t[first_back]) / (1.0 - 2.0 * tail)
        hold_end = float(t[first_back]) - tail * return_s
    else:
        return_s, hold_end = float(t[-1] - t[i_peak]), float(t[i_peak])
    if hold_end < hold_start:
        hold_start = hold_end = float(t[i_peak])
    return Excursion(
        float(t[0]), float(t[i_peak]), float(t[-1]), peak, hold_start, hold_end, move_s, return_s
    )


@dataclass
class _State:
    settle_s: float = 0.0
    baseline: float | None = None
    active: bool = False
    frames_t: list[float] = field(default_factory=list)
    frames_x: list[float] = field(default_factory=list)
    frames_other: list[list[float]] = field(default_factory=list)
    rest_since_s: float | None = None
    seen_opposite: bool = False
    last_t: float | None = None


class RepSegmenter:
    """Causal rep boundaries from angle frames.

    ``update(time_s, main_deg, trunk_deg, others)`` returns a :class:`RepFrames` when a rep
    has just ended, else None. ``main_deg`` is the main signal in the working direction
    (multiply by the technique's direction first). ``others`` are extra signals kept
    with the rep for fault rules (names fixed at construction).
    """

    def __init__(self, settings: SegmenterSettings, other_names: Sequence[str] = ()) -> None:
        self.settings = settings
        self.other_names = tuple(other_names)
        self._s = _State()
        self.discarded: list[tuple[float, float, str]] = []
        self._lead: list[tuple[float, float, list[float]]] = []

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
        return max(s.frames_x) - s.baseline

    def _discard(self, reason: str) -> None:
        s = self._s
        if s.active and s.frames_t:
            self.discarded.append((s.frames_t[0], s.frames_t[-1], reason))
        s.active = False
        s.frames_t, s.frames_x, s.frames_other = [], [], []
        s.settle_s = 0.0
        s.rest_since_s = None
        s.seen_opposite = False

    def update(
        self, time_s: float, main_deg: float, trunk_deg: float, others: Sequence[float] = ()
    ) -> RepFrames | None:
        cfg = self.settings
        s = self._s
        dt = 0.0 if s.last_t is None else time_s - s.last_t
        s.last_t = time_s
        if not (math.isfinite(main_deg) and math.isfinite(trunk_deg)):
            # No rep across missing data; the baseline (neutral) stays: see the module notes.
            self._discard("no data (not calibrated or a gap)")
            self._lead.clear()
            return None
        lean = trunk_deg - cfg.position_nominal_deg
        if s.active:
            allowed = -cfg.max_backward_deg <= lean <= cfg.max_forward_deg
        else:
            allowed = abs(lean) <= cfg.position_tolerance_deg
        if not allowed:
            self._discard("left the start position")
            s.baseline = None
            self._lead.clear()
            return None
        if s.baseline is None:
            s.baseline = main_deg
        x = main_deg - s.baseline
        if not s.active:
            at_rest = abs(x) <= cfg.rest_band_deg
            if at_rest:
                s.settle_s += dt
                # Track slow drift of the neutral while at rest (time constant 2 s).
                s.baseline += (main_deg - s.baseline) * min(1.0, dt / 2.0)
            # Remember the lead-in so the rep starts where the movement did.
            self._lead.append((time_s, main_deg, list(others)))
            if len(self._lead) > 200:
                del self._lead[:100]
            if x >= cfg.on_deg and s.settle_s >= cfg.settle_s:
                s.active = True
                start = 0
                for i in range(len(self._lead) - 1, -1, -1):
                    if self._lead[i][1] - s.baseline <= 0.1 * cfg.on_deg:
                        start = i
                        break
                for t_, m_, o_ in self._lead[start:]:
                    s.frames_t.append(t_)
                    s.frames_x.append(m_)
                    s.frames_other.append(o_)
                self._lead.clear()
            return None
        s.frames_t.append(time_s)
        s.frames_x.append(main_deg)
        s.frames_other.append(list(others))
        if time_s - s.frames_t[0] > cfg.max_rep_s:
            self._discard("too long for a rep")
            return None
        if cfg.opposite and x <= -max(2.0 * cfg.rest_band_deg, 0.5 * cfg.on_deg):
            s.seen_opposite = True
        if abs(x) <= cfg.rest_band_deg:
            if s.rest_since_s is None:
                s.rest_since_s = time_s
            waited = time_s - s.rest_since_s
            need = cfg.opposite_wait_s if (cfg.opposite and not s.seen_opposite) else 0.0
            if waited >= need:
                return self._finish()
        else:
            s.rest_since_s = None
        return None

    def _finish(self) -> RepFrames | None:
        s = self._s
        baseline = 0.0 if s.baseline is None else s.baseline
        t = np.array(s.frames_t)
        x = np.array(s.frames_x) - baseline
        # End the rep where it came back to rest (not after the wait for an extension).
        end = len(t)
        if s.rest_since_s is not None:
            end = int(np.searchsorted(t, s.rest_since_s, side="right"))
        others = np.array(s.frames_other, dtype=np.float64).reshape(len(t), -1)
        rep = RepFrames(
            time_s=t[:end],
            main_deg=x[:end],
            signals={n: others[:end, i] for i, n in enumerate(self.other_names)},
            baseline_deg=float(baseline),
        )
        s.active = False
        s.frames_t, s.frames_x, s.frames_other = [], [], []
        s.rest_since_s = None
        s.seen_opposite = False
        s.settle_s = self.settings.settle_s  # still in position and at rest: stay armed
        if rep.time_s.shape[0] < 3 or rep.time_s[-1] - rep.time_s[0] < self.settings.min_rep_s:
            self.discarded.append((float(t[0]), float(t[-1]), "too short for a rep"))
            return None
        return rep
