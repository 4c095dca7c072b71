"""The protocol-free calibration's estimates: the neutral window, each sensor's sagittal
axis from the excursions of earth-up, and the rest posture.

The method is described in :mod:`spinecoach.motion.autocal`, which decides from these
estimates; they are split out as the measuring half (what the data show) of that module.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.motion.autocal_types import (
    NOMINAL_SENSOR_AXES,
    AutoCalibrationSettings,
    AxisEstimate,
    FloatArray,
    NeutralWindow,
    SensorStream,
    unit_vector,
)


def bin_scores(
    stream: SensorStream, edges: FloatArray, settings: AutoCalibrationSettings
) -> tuple[NDArray[np.bool_], FloatArray]:
    """Per bin: still (bool) and a quietness score (lower is quieter; inf = no samples)."""
    n_bins = edges.shape[0] - 1
    still = np.zeros(n_bins, dtype=np.bool_)
    score = np.full(n_bins, np.inf)
    idx = np.searchsorted(stream.time_s, edges, side="left")
    has_gyr = bool(np.isfinite(stream.gyr_dps).any())
    gmag = np.linalg.norm(stream.gyr_dps, axis=1) if has_gyr else None
    anorm = np.abs(np.linalg.norm(stream.acc_mps2, axis=1) - STANDARD_GRAVITY_MPS2)
    for b in range(n_bins):
        lo, hi = int(idx[b]), int(idx[b + 1])
        if hi - lo < 1:
            continue
        acc_dev = float(anorm[lo:hi].max())
        if gmag is not None:
            g = gmag[lo:hi]
            if not np.isfinite(g).all():
                continue
            s = float(g.mean()) / settings.still_gyr_dps
            still[b] = float(g.max()) < settings.still_gyr_dps and acc_dev < settings.still_acc_mps2
        else:
            sd = float(stream.acc_mps2[lo:hi].std(axis=0).max()) if hi - lo > 1 else 0.0
            s = sd / settings.still_acc_sd_mps2
            still[b] = sd < settings.still_acc_sd_mps2 and acc_dev < settings.still_acc_mps2
        score[b] = s + acc_dev / settings.still_acc_mps2
    return still, score


def _near_start(
    stream: SensorStream, edges: FloatArray, settings: AutoCalibrationSettings
) -> NDArray[np.bool_]:
    """Per bin: is the sensor within ``neutral_drift_deg`` of its posture at the start?

    A still moment after the person has moved away from where they started (the held end
    of a bend, the bottom of a lift) is not their neutral."""
    n_bins = edges.shape[0] - 1
    near = np.zeros(n_bins, dtype=np.bool_)
    t = stream.time_s
    if t.size == 0:
        return near
    first = t <= t[0] + settings.bin_s
    start_up = unit_vector(stream.up[first].mean(axis=0))
    idx = np.searchsorted(t, edges, side="left")
    cos_max = float(np.cos(np.radians(settings.neutral_drift_deg)))
    for b in range(n_bins):
        lo, hi = int(idx[b]), int(idx[b + 1])
        if hi > lo:
            near[b] = float(unit_vector(stream.up[lo:hi].mean(axis=0)) @ start_up) >= cos_max
    return near


def neutral_window(
    streams: Mapping[str, SensorStream],
    t0: float,
    t_cut: float,
    settings: AutoCalibrationSettings,
    *,
    final: bool,
    declared: tuple[float, float] | None,
) -> NeutralWindow | None:
    """The ``declared`` neutral window (start, end in s) when there is one, else the one
    :func:`find_neutral` finds (the whole session's quietest fifth allowed when ``final``)."""
    if declared is not None:
        return NeutralWindow(*declared, "declared")
    return find_neutral(streams, t0, t_cut, settings, allow_session=final)


def find_neutral(
    streams: Mapping[str, SensorStream],
    t0: float,
    t_cut: float,
    settings: AutoCalibrationSettings,
    *,
    allow_session: bool,
) -> NeutralWindow | None:
    """The neutral window in the data up to ``t_cut`` (see the module notes), or None."""
    start = t0 + settings.skip_s
    stop = min(t_cut, t0 + settings.neutral_search_s)
    n_bins = int(np.floor((stop - start) / settings.bin_s + 1e-9))
    need = max(1, round(settings.neutral_min_s / settings.bin_s))
    most = max(need, round(settings.neutral_max_s / settings.bin_s))
    if n_bins >= need:
        edges = np.asarray(start + settings.bin_s * np.arange(n_bins + 1), dtype=np.float64)
        still = np.ones(n_bins, dtype=np.bool_)
        score = np.zeros(n_bins)
        for stream in streams.values():
            s_still, s_score = bin_scores(stream, edges, settings)
            near = _near_start(stream, edges, settings)
            still &= s_still & near
            score = np.maximum(score, np.where(near, s_score, np.inf))
        run = 0
        for b in range(n_bins):
            run = run + 1 if still[b] else 0
            if run >= need:
                first = b - need + 1
                last = b
                while last + 1 < n_bins and still[last + 1] and last - first + 1 < most:
                    last += 1
                if (
                    not allow_session
                    and last + 1 >= n_bins
                    and last - first + 1 < most
                    and stop < t0 + settings.neutral_search_s
                ):
                    # The stretch may go on in data not seen yet: decide later.
                    return None
                return NeutralWindow(float(edges[first]), float(edges[last + 1]), "still")
        if stop >= t0 + settings.neutral_search_s or allow_session:
            window = np.convolve(score, np.ones(need) / need, mode="valid")
            if window.size and np.isfinite(window).any():
                best = int(np.argmin(window))
                if window[best] < settings.quietest_factor * 2.0:
                    return NeutralWindow(float(edges[best]), float(edges[best + need]), "quietest")
    if not allow_session:
        return None
    # A robust estimate over the session: its quietest fifth (0.1 s bins).
    start = t0 + settings.skip_s
    t_end = min(t_cut, max(float(s.time_s[-1]) for s in streams.values() if s.time_s.size))
    n_bins = int(np.floor((t_end - start) / settings.bin_s + 1e-9))
    if n_bins < 1:
        return None
    edges = np.asarray(start + settings.bin_s * np.arange(n_bins + 1), dtype=np.float64)
    score = np.zeros(n_bins)
    for stream in streams.values():
        score = np.maximum(score, bin_scores(stream, edges, settings)[1])
    finite = np.flatnonzero(np.isfinite(score))
    if finite.size == 0:
        return None
    keep = finite[np.argsort(score[finite], kind="stable")[: max(1, finite.size // 5)]]
    keep.sort()
    times = tuple((float(edges[b]), float(edges[b + 1])) for b in keep)
    return NeutralWindow(times[0][0], times[-1][1], "session", times)


def decimated(stream: SensorStream, t_from: float, rate_hz: float) -> tuple[FloatArray, FloatArray]:
    """Up vectors after ``t_from`` averaged in 1/rate_hz bins (time, up)."""
    t = stream.time_s
    keep = t > t_from
    if not keep.any():
        return np.empty(0), np.empty((0, 3))
    tt = t[keep]
    up = stream.up[keep]
    bins = np.floor((tt - t_from) * rate_hz).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, np.diff(bins) != 0])
    counts = np.diff(np.r_[starts, bins.shape[0]])
    sums = np.add.reduceat(up, starts, axis=0)
    mean = sums / counts[:, None]
    mean /= np.linalg.norm(mean, axis=1, keepdims=True)
    times = t_from + (bins[starts] + 0.5) / rate_hz
    return np.asarray(times, dtype=np.float64), np.asarray(mean, dtype=np.float64)


def estimate_axis(
    y_axis: FloatArray,
    time_s: FloatArray,
    up: FloatArray,
    settings: AutoCalibrationSettings,
    *,
    max_excursion_deg: float = 120.0,
    one_sided: bool = False,
) -> AxisEstimate:
    """The sagittal direction from the up vectors (see the module notes); tilts beyond
    ``max_excursion_deg`` from the neutral are left out (a change of position)."""
    y = unit_vector(y_axis)
    within = up @ y >= np.cos(np.radians(max_excursion_deg))
    time_s = time_s[within]
    up = up[within]
    helper = np.array([1.0, 0.0, 0.0]) if abs(y[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = unit_vector(np.cross(y, helper))
    e2 = np.cross(y, e1)
    if up.shape[0] == 0:
        return AxisEstimate(y, e1, 0.0, 1.0, 0.0, time_s, np.zeros(0))
    h1 = up @ e1
    h2 = up @ e2
    voted = _vote_direction(h1, h2, settings, one_sided=one_sided)
    votes = 0
    if voted is not None:
        angle, excursion, opposite, sideways, votes = voted
    else:  # no clear excursion peaks: the largest asymmetric percentile excursion
        phi = np.radians(np.arange(0.0, 360.0, settings.direction_step_deg))
        d = np.outer(np.cos(phi), h1) + np.outer(np.sin(phi), h2)  # (n_dir, n)
        fwd = np.clip(np.percentile(d, 99.0, axis=1), 0.0, None)
        half = phi.shape[0] // 2
        back = np.roll(fwd, -half)
        best = int(np.argmax(fwd - back))
        angle = float(phi[best])
        excursion = float(np.degrees(np.arcsin(min(1.0, fwd[best]))))
        opposite = float(np.degrees(np.arcsin(min(1.0, back[best]))))
        quarter = half // 2
        side = max(
            float(fwd[(best + quarter) % phi.shape[0]]),
            float(fwd[(best - quarter) % phi.shape[0]]),
        )
        sideways = float(np.degrees(np.arcsin(min(1.0, side))))
    u = np.cos(angle) * e1 + np.sin(angle) * e2  # where up moves in the excursion
    # Flexion moves earth-up towards the segment's -X: X_raw = -u, Z = X × Y.
    x_raw = -u
    z_raw = unit_vector(np.cross(x_raw, y))
    theta = np.degrees(np.arctan2(-(up @ x_raw), up @ y))
    asym = opposite / excursion if excursion > 1e-9 else 1.0
    return AxisEstimate(
        y,
        z_raw,
        excursion,
        float(min(1.0, asym)),
        sideways,
        time_s,
        np.asarray(theta),
        (e1, e2),
        np.column_stack([h1, h2]),
        votes,
    )


def _vote_direction(
    h1: FloatArray, h2: FloatArray, settings: AutoCalibrationSettings, *, one_sided: bool = False
) -> tuple[float, float, float, float, int] | None:
    """The sagittal direction from the excursions: each excursion away from neutral (a
    peak of the tilt) votes for its line; a line scores twice the votes of its busier side
    plus half those of the other. An exercise is repeated, and one-sided movements (a
    hinge, a pelvic tilt) put every rep on the same side, while distractors (bends,
    rotations, rocking) are fewer and split between left and right, however large.

    Returns (direction angle in the (e1, e2) plane, excursion, opposite excursion,
    sideways excursion in degrees, and the number of excursions on the line); None
    without clear peaks.
    """
    from scipy.signal import find_peaks

    m = np.hypot(h1, h2)
    height = float(np.sin(np.radians(settings.peak_min_deg)))
    peaks, _ = find_peaks(
        m,
        height=height,
        prominence=float(np.sin(np.radians(settings.peak_prominence_deg))),
        distance=max(1, round(0.4 * settings.decimate_hz)),
    )
    if peaks.size == 0:
        return None
    phi_k = np.arctan2(h2[peaks], h1[peaks])
    mag_k = np.degrees(np.arcsin(np.clip(m[peaks], 0.0, 1.0)))
    cos_on = float(np.cos(np.radians(settings.vote_width_deg)))
    if one_sided:
        # Knees rocking go as far left as right; a one-sided exercise never mirrors itself.
        ratio = settings.mirror_ratio
        mirrored = np.array(
            [
                bool(
                    np.any(
                        (np.cos(phi_k - phi_k[i]) <= -cos_on)
                        & (mag_k >= mag_k[i] / ratio)
                        & (mag_k <= ratio * mag_k[i])
                    )
                )
                for i in range(phi_k.shape[0])
            ]
        )
        if not mirrored.all():
            phi_k, mag_k = phi_k[~mirrored], mag_k[~mirrored]
    best_score = -1.0
    best_theta = 0.0
    for theta in np.radians(np.arange(0.0, 180.0, settings.direction_step_deg)):
        c = np.cos(phi_k - theta)
        on = np.abs(c) >= cos_on
        pos = int(np.count_nonzero(on & (c > 0)))
        neg = int(np.count_nonzero(on & (c < 0)))
        score = 2.0 * max(pos, neg) + 0.5 * min(pos, neg) + 1e-3 * float(mag_k[on].sum())
        if score > best_score:
            best_score, best_theta = score, float(theta)
    c = np.cos(phi_k - best_theta)
    on = np.abs(c) >= cos_on
    # Refine the line: the magnitude-weighted mean of its peaks' directions (folded).
    folded = np.where(c[on] >= 0, phi_k[on], phi_k[on] - np.pi)
    w = mag_k[on]
    line = float(np.arctan2((w * np.sin(folded)).sum(), (w * np.cos(folded)).sum()))
    c = np.cos(phi_k - line)
    on = np.abs(c) >= cos_on
    plus = mag_k[on & (c > 0)]
    minus = mag_k[on & (c < 0)]
    top_plus = float(plus.max()) if plus.size else 0.0
    top_minus = float(minus.max()) if minus.size else 0.0
    side = mag_k[~on]
    sideways = float(side.max()) if side.size else 0.0
    votes = int(np.count_nonzero(on))
    if top_plus >= top_minus:
        return line, top_plus, top_minus, sideways, votes
    return line + np.pi, top_minus, top_plus, sideways, votes


def axes_from(y_axis: FloatArray, z_hint: FloatArray) -> FloatArray:
    """Rows X, Y, Z: Y as given, Z = ``z_hint`` made perpendicular, X = Y × Z."""
    y = unit_vector(y_axis)
    # A hint along Y gives no Z (a sensor held so that up is its nominal left-right axis):
    # fall back on the nominal anterior axis, then on any sensor axis.
    for hint in (z_hint, np.cross(NOMINAL_SENSOR_AXES[0], y), *np.eye(3)):
        perpendicular = hint - (hint @ y) * y
        if float(np.linalg.norm(perpendicular)) > 0.3:
            break
    z = unit_vector(perpendicular)
    x = np.cross(y, z)
    axes = np.vstack([x, y, z])
    axes.setflags(write=False)
    return axes


def neutral_up(stream: SensorStream, neutral: NeutralWindow) -> FloatArray | None:
    m = neutral.mask(stream.time_s)
    if not m.any():
        return None
    up = stream.up[m]
    mean = np.median(up, axis=0) if neutral.quality == "session" else up.mean(axis=0)
    return unit_vector(mean)


def rest_up(
    stream: SensorStream, t0: float, settings: AutoCalibrationSettings, near: FloatArray
) -> FloatArray | None:
    """The median earth-up (sensor frame) over the still moments of the data within
    ``rest_near_deg`` of ``near`` (the neutral up): the posture the person rests in between
    movements (a held pelvic tilt is still too, but further away), or None when they add
    up to less than ``rest_min_s``."""
    t = stream.time_s
    if t.size < 2:
        return None
    n_bins = int(np.floor((float(t[-1]) - t0) / settings.bin_s + 1e-9))
    if n_bins < 1:
        return None
    edges = np.asarray(t0 + settings.bin_s * np.arange(n_bins + 1), dtype=np.float64)
    still, _ = bin_scores(stream, edges, settings)
    idx = np.searchsorted(t, edges, side="left")
    means = [
        unit_vector(stream.up[int(idx[b]) : int(idx[b + 1])].mean(axis=0))
        for b in np.flatnonzero(still)
        if idx[b + 1] > idx[b]
    ]
    cos_near = np.cos(np.radians(settings.rest_near_deg))
    means = [m for m in means if float(m @ near) >= cos_near]
    if len(means) * settings.bin_s < settings.rest_min_s:
        return None
    return unit_vector(np.median(np.array(means), axis=0))
