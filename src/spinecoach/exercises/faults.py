"""Per-rep measures, fault rules from the catalogue, and the quality score.

The measures are the vocabulary of :data:`spinecoach.exercises.catalogue.MEASURES`; the
thresholds live in the catalogue file, each with its unit and reason. A measure that
cannot be judged on a rep is NaN and never raises a fault (for example the return speed of
a tilt too small to time, or the extra tilt of the first rep, before there is a usual
tilt to compare with).

Quality (0–100): 100, minus 25 per fault, minus up to 10 for a hold short of the
prescription that is not yet a fault, minus up to 10 for a movement less smooth than a
minimum-jerk one (log dimensionless jerk of the outward movement below the
ideal −5.3 by more than 3), minus 10 and 4 per degree (at most 30) for a breath-led rep
whose ends stopped short of the gauge's target bands (``band_miss_deg``: the same value
and bands the live gauge shows, :mod:`spinecoach.exercises.gauge`), never below 0. Each
deduction adds a reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import LUMBAR_FLEXION, UPPER_INCLINATION
from spinecoach.exercises.catalogue import Technique
from spinecoach.exercises.model import Fault
from spinecoach.exercises.reps import Excursion, RepFrames, signal_speed

#: The return of a tilt smaller than this (deg) is too small to time reliably (an
#: extension half of flexion-extension is timed from twice this).
MIN_RANGE_TO_TIME_DEG = 4.0
#: Log dimensionless jerk (peak-speed form) of a minimum-jerk point-to-point movement:
#: T³/v_peak² ∫ jerk² dt = 720 / 1.875² ≈ 204.8 (Hogan & Sternad 2009).
IDEAL_LDLJ = -math.log(720.0 / 1.875**2)


def log_dimensionless_jerk(t: np.ndarray, x: np.ndarray) -> float:
    """Smoothness of a movement: log dimensionless jerk (LDLJ, Balasubramanian et al.
    2012), from the angle trace of one movement; about -5.3 is a perfect minimum-jerk
    movement, lower is jerkier."""
    if t.shape[0] < 8:
        return float("nan")
    dt = float(np.median(np.diff(t)))
    k = max(1, round(0.05 / dt))
    kernel = np.ones(2 * k + 1) / (2 * k + 1)  # 0.1 s moving average against noise
    smooth = np.convolve(np.pad(x, k, mode="edge"), kernel, mode="valid")
    v = np.gradient(smooth, dt)
    jerk = np.gradient(np.gradient(v, dt), dt)
    duration = float(t[-1] - t[0])
    peak_v = float(np.abs(v).max())
    if peak_v <= 0 or duration <= 0:
        return float("nan")
    value = duration**3 / peak_v**2 * float(np.sum(jerk**2) * dt)
    return -math.log(value) if value > 0 else float("nan")


def _end_offset(t: np.ndarray, x: np.ndarray, main: Excursion) -> float:
    """|main signal| where the return movement first comes to rest (0.3 s slow)."""
    speed = signal_speed(t, x)
    after = np.flatnonzero(t >= main.hold_end_s)
    if after.size == 0:
        return abs(float(x[-1]))
    peak_back = float(speed[after].max())
    moving = after[speed[after] >= max(0.3, 0.5 * peak_back)]
    if moving.size == 0:
        return abs(float(x[-1]))
    need = max(2, round(0.3 / float(np.median(np.diff(t)))))
    slow = speed < max(0.3, 0.15 * peak_back)
    run = 0
    for i in range(int(moving[0]), x.shape[0]):
        run = run + 1 if slow[i] else 0
        if run >= need:
            return abs(float(x[i - need + 1]))
    return abs(float(x[-1]))


def rep_measures(
    technique: Technique,
    frames: RepFrames,
    main: Excursion,
    extension: Excursion | None,
    previous_ranges: Sequence[float],
) -> dict[str, float]:
    """Every catalogue measure this rep allows (NaN where it cannot be judged)."""
    t, x = frames.time_s, frames.main_deg
    nan = float("nan")
    phases = [main.move_s, main.return_s]
    if extension is not None and extension.peak_deg >= 2.0 * MIN_RANGE_TO_TIME_DEG:
        phases += [extension.move_s, extension.return_s]
    upper = frames.signals.get(UPPER_INCLINATION)
    lumbar = frames.signals.get(LUMBAR_FLEXION)
    usual = float(np.median(previous_ranges)) if previous_ranges else nan
    return {
        "hold_s": main.hold_s,
        "hold_share": hold_share(technique, main.hold_s, extension),
        "return_s": main.return_s if main.peak_deg >= MIN_RANGE_TO_TIME_DEG else nan,
        "phase_s": min(phases) if main.peak_deg >= MIN_RANGE_TO_TIME_DEG else nan,
        "range_deg": main.peak_deg,
        "upper_change_deg": _largest_change(upper),
        "excess_tilt_deg": main.peak_deg - usual,
        "lumbar_change_deg": _lumbar_change(lumbar),
        "end_offset_deg": _end_offset(t, x, main),
        "tempo_s": float(t[-1] - t[0]),
        "smoothness_ldlj": log_dimensionless_jerk(
            t[t <= main.hold_start_s], x[t <= main.hold_start_s]
        ),
    }


def hold_share(technique: Technique, hold_s: float, extension: Excursion | None) -> float:
    """Hold ÷ prescribed hold, the smaller of the working hold (``hold_s``, s) and the
    extension half's; NaN for a technique without holds."""
    dose = technique.dose
    shares = [hold_s / dose.hold_s] if dose.hold_s > 0 else []
    ext_hold = dose.extension_hold_s
    if extension is not None and ext_hold is not None and ext_hold > 0:
        shares.append(extension.hold_s / ext_hold)
    return min(shares) if shares else float("nan")


def band_miss_deg(bands: Sequence[tuple[float, float]], measures: Mapping[str, float]) -> float:
    """How far (deg) a breath-led rep's ends (``cat_deg``, ``cow_deg``: the gauge's value
    around neutral) stopped short of the (cow, cat) target bands, summed; 0 when both
    ends reached their band, NaN without bands.

    >>> band_miss_deg([(-15.0, -10.5), (11.2, 16.0)], {"cat_deg": 9.2, "cow_deg": -12.0})
    2.0
    """
    if len(bands) != 2:
        return float("nan")
    (_, cow_start), (cat_start, _) = bands
    cat, cow = measures.get("cat_deg", math.nan), measures.get("cow_deg", math.nan)
    if not (math.isfinite(cat) and math.isfinite(cow)):
        return float("nan")
    return round(max(0.0, cat_start - cat) + max(0.0, cow - cow_start), 3)


def judge(technique: Technique, measures: Mapping[str, float]) -> tuple[Fault, ...]:
    """The catalogue's fault rules applied to a rep's measures."""
    faults = []
    for rule in technique.faults:
        value = measures.get(rule.measure, float("nan"))
        if not math.isnan(value) and rule.is_fault(value):  # inf: an inverted breath cycle
            faults.append(Fault(rule.name, value, rule.threshold, rule.unit, rule.reason, rule.cue))
    return tuple(faults)


def quality(faults: Sequence[Fault], measures: Mapping[str, float]) -> tuple[int, tuple[str, ...]]:
    """Quality score 0–100 and the reasons that lowered it."""
    score = 100.0
    reasons = []
    for fault in faults:
        score -= 25.0
        reasons.append(f"{fault.name}: {fault.reason}")
    share = measures.get("hold_share", float("nan"))
    if math.isfinite(share) and share < 1.0 and not any("hold" in f.name for f in faults):
        cut = min(10.0, 10.0 * (1.0 - share) / 0.2)
        score -= cut
        reasons.append(f"hold {share:.0%} of the prescribed time")
    miss = measures.get("band_miss_deg", float("nan"))
    if math.isfinite(miss) and miss > 0.0:
        score -= min(30.0, 10.0 + 4.0 * miss)
        reasons.append(f"the movement stopped {miss:.1f}° short of the target band")
    ldlj = measures.get("smoothness_ldlj", float("nan"))
    if math.isfinite(ldlj) and ldlj < IDEAL_LDLJ - 3.0:
        cut = min(10.0, 5.0 * (IDEAL_LDLJ - 3.0 - ldlj))
        score -= cut
        reasons.append("movement less smooth than it could be")
    return max(0, round(score)), tuple(reasons)


def _largest_change(values: NDArray[np.float64] | None) -> float:
    """Largest absolute change from the rep's first frame (NaN without the signal, e.g.
    one sensor on the sacrum: no upper sensor)."""
    if values is None:
        return math.nan
    change = np.abs(values - values[0])
    return float(np.nanmax(change)) if np.isfinite(change).any() else math.nan


def _lumbar_change(lumbar: NDArray[np.float64] | None) -> float:
    """Largest lumbar flexion change from the rep's start (NaN when the rep has no lumbar
    signal, e.g. a camera without a silhouette)."""
    if lumbar is None:
        return math.nan
    change = lumbar - lumbar[0]
    return float(np.nanmax(change)) if np.isfinite(change).any() else math.nan
