"""The values a rep segmenter works with and gives: its settings, the frames of one rep,
and the excursion (out, hold, back) measured on them.

:class:`~spinecoach.exercises.reps.RepSegmenter` cuts the reps; the fault detectors
measure them with :func:`excursion` and :func:`signal_speed`. Callers import these from
:mod:`spinecoach.exercises.reps`. Units: seconds (``_s``), degrees (``_deg``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SegmenterSettings:
    """How reps are found. Angles in degrees, times in seconds.

    position_nominal_deg / other_positions_deg / position_tolerance_deg
        Trunk inclination allowed at rest: nominal ± tolerance, for the technique's
        position and for any other start position it allows.
    max_forward_deg / max_backward_deg
        During a rep, the trunk may go up to ``max_forward_deg`` forward and
        ``max_backward_deg`` backward of nominal (a hinge or a forward bend inclines the
        trunk; a standing extension leans it back).
    on_deg
        Main-signal change (in the working direction) that starts a rep.
    rest_band_deg
        Within this of the baseline the person is at rest.
    settle_s
        Rest needed in position before a rep can start (unless re-armed at a valley).
    arm_band_deg
        A valley within this of the baseline arms the segmenter (0: ``max(2 × rest_band,
        on_deg)``).
    turn_deg
        Rise above a local minimum that confirms it as a turning point (0: ``max(rest_band,
        on_deg / 2)``).
    return_share
        A rep has come back once the main signal is within this share of its range of
        where it started; from then on its end may be a turning point.
    max_rep_s / min_rep_s
        A longer or shorter "rep" is discarded (a knock or a fidget is not a rep).
    min_range_share
        A rep smaller than this share of the median range of the reps already counted is
        discarded.
    max_out_of_plane_share / min_out_of_plane_deg
        A rep whose lateral bend or axial rotation changed by at least this share of its
        sagittal range, and by at least ``min_out_of_plane_deg``, was another movement.
    max_drop_m
        A rep whose vertical signal (the pelvis height, m) went down more than this from
        the rep's start to its deepest point was a squat or a sit-down (inf: not checked;
        a rep without that signal is never rejected for it).
    opposite
        The technique has a second excursion the other way within the same rep
        (flexion-extension: flexion, then extension).
    opposite_wait_s / confirm_s
        Back at rest, a rep ends after this long there: ``opposite_wait_s`` while a
        flexion-extension may still add its extension half, else ``confirm_s`` (a return
        that swings on through neutral is not a controlled return).
    overshoot_share
        A technique without an opposite half discards a rep that swings past its start the
        other way by more than this share of its range (and ``2 × on_deg``).
    """

    position_nominal_deg: float
    position_tolerance_deg: float = 35.0
    max_forward_deg: float = 110.0
    max_backward_deg: float = 35.0
    on_deg: float = 2.0
    rest_band_deg: float = 1.5
    settle_s: float = 0.3
    max_rep_s: float = 40.0
    min_rep_s: float = 1.0
    opposite: bool = False
    opposite_wait_s: float = 3.0
    confirm_s: float = 0.3
    overshoot_share: float = 0.5
    hold_speed_share: float = 0.08
    other_positions_deg: tuple[float, ...] = ()
    arm_band_deg: float = 0.0
    turn_deg: float = 0.0
    return_share: float = 0.35
    min_range_share: float = 0.15
    max_out_of_plane_share: float = 0.5
    min_out_of_plane_deg: float = 4.0
    max_drop_m: float = math.inf

    @property
    def turn(self) -> float:
        """Hysteresis of a turning point (deg)."""
        return self.turn_deg or max(self.rest_band_deg, 0.5 * self.on_deg)

    @property
    def arm_band(self) -> float:
        """How near the baseline a valley must be to arm the segmenter (deg)."""
        return self.arm_band_deg or max(2.0 * self.rest_band_deg, self.on_deg)

    @property
    def nominals(self) -> tuple[float, ...]:
        return (self.position_nominal_deg, *self.other_positions_deg)


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


def min_jerk_tail(share: float) -> float:
    """Normalised time ``1 - s*`` left in a min-jerk movement when its speed has fallen to
    ``share`` of the peak speed (speed ∝ s²(1-s)², peak 1.875 at s = 0.5)."""
    # 30 s²(1-s)² = 1.875 share  →  s(1-s) = sqrt(share / 16)
    q = math.sqrt(share / 16.0)
    s = 0.5 + math.sqrt(max(0.0, 0.25 - q))
    return 1.0 - s


def signal_speed(t: FloatArray, x: FloatArray) -> FloatArray:
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
    speed = signal_speed(t, x)
    out_v = float(speed[: i_peak + 1].max()) if i_peak > 0 else 0.0
    back_v = float(speed[i_peak:].max())
    # A floor keeps noise from counting as movement; the tail uses the share in effect.
    out_th = max(0.3, share * out_v)
    back_th = max(0.3, share * back_v)
    fast_out = np.flatnonzero(speed[: i_peak + 1] >= out_th)
    fast_back = i_peak + np.flatnonzero(speed[i_peak:] >= back_th)
    if fast_out.size and out_v > out_th:
        tail = min_jerk_tail(out_th / out_v)
        move_s = float(t[fast_out[-1]] - t[fast_out[0]]) / (1.0 - 2.0 * tail)
        hold_start = float(t[fast_out[-1]]) + tail * move_s
    else:
        move_s, hold_start = float(t[i_peak] - t[0]), float(t[i_peak])
    # The return starts at the first fast sample after the hold (near the peak).
    near_back = fast_back[x[fast_back] >= 0.6 * peak] if fast_back.size else fast_back
    if fast_back.size and back_v > back_th:
        tail = min_jerk_tail(back_th / back_v)
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
