"""Calibration from whatever the recording holds: no still → bend → still protocol needed.

Real people start moving about a second after the recording starts and do not pause
between reps; their files carry no calibration annotations. This module finds each
sensor's segment frame from the movement itself:

neutral
    The quietest short stretch near the start: the earliest run of at least
    ``neutral_min_s`` (0.2 s) in the first ``neutral_search_s``, within
    ``neutral_drift_deg`` of the posture the recording starts in (a held end of a bend is
    still too, but it is not the neutral), in which every sensor is still (gyroscope
    under ``still_gyr_dps``, acceleration within ``still_acc_mps2`` of gravity; without
    a gyroscope, the accelerometer steady), extended while still up to
    ``neutral_max_s``. Failing that, the quietest 0.2 s there (``"quietest"``); failing
    that, a robust estimate over the session: the median up vector of its quietest fifth
    (``"session"``). The mean earth-up direction in the window is the segment's functional
    superior axis Y (relative angles are zero there), as in the coached calibration.
sagittal axis
    While the person moves, earth-up swings in the sensor frame away from the neutral Y.
    Every excursion (a peak of that tilt) votes for the line of its direction; a line
    scores twice the votes of its busier side plus half those of the other
    (:func:`_vote_direction`). The exercise
    is repeated, and one-sided movements (a hinge, a pelvic tilt) put every rep on the
    same side, while distractors — lateral bends, rotations, knees rocking — are fewer and
    split between left and right however large they are; an axial rotation of an upright
    trunk does not tilt at all. Without clear peaks, the direction of the largest
    asymmetric excursion (``fwd(φ) - fwd(φ + 180°)``) is taken. This is the gravity
    picture of the gyroscope's dominant rotation axis, and it works the same for
    accelerometer-only files.
sign
    Which end of that direction is flexion comes from gravity plus a movement prior
    (:class:`MovementPrior`): upright, the trunk bends further forward than back; supine,
    the pelvic tilt goes posterior; on hands and knees the pelvis tilts posteriorly in the
    cat. A movement as far one way as the other (cat-cow) cannot tell: the documented
    mounting (sensor x up the spine) decides when the axis found is near its left-right
    axis, with a low confidence. The sensor with the clearest asymmetric excursion takes
    its prior (when every sensor moved as far both ways, the one whose plane the other
    follows best: the plane the segments share); a
    sensor whose own movement is symmetric or small is signed by its correlation with that
    one and the prior's coupling (the two segments turn the same way in a bend, opposite ways in a
    cat-cow).
the pelvis leads (cat-cow, pelvic tilt: :attr:`MovementPrior.lower_leads`)
    In these the pelvis tilts through its whole range every rep while the distractors turn
    the spine above it, and the thorax tilts little or not at all in the exercise's plane
    (simulated truth: ±2-4° seated cat-cow and at most 1.5° in a pelvic tilt, against
    15-35° in a seated lateral bend). So the lower sensor is the anchor whatever the
    upper sensor's excursions look like, and the upper one follows it: the regression of
    its tilt on the pelvis's sagittal angle over the moments it tilts less than
    ``max(follow_tilt_min_deg, follow_tilt_factor ×`` the pelvis's excursion``)`` (a lateral
    bend's tilt would otherwise outweigh the cat-cow's), kept from ``follow_min_r``; below
    that the documented mounting gives its axis, with a confidence of 0.2. Their tilts are
    a few degrees, so they are measured from the posture rested in (the median up of the
    still moments within ``rest_near_deg`` of the neutral, when they add up to
    ``rest_min_s``), not from the first quiet 0.2 s, which sits a degree or so off it. A
    symmetric movement (cat-cow, :attr:`MovementPrior.symmetric`) is always signed by the
    documented mounting when the axis found is near its left-right axis (its excursions
    are as large both ways, whichever happened to come out larger) and its peaks count from
    ``symmetric_peak_min_deg`` (a stiff seated cat-cow tilts the pelvis 2.5-4° each way).
    A one-sided movement (the pelvic tilt, :attr:`MovementPrior.one_sided`) never mirrors
    itself, while knees rocking go as far left as right: a peak with one within
    ``mirror_ratio`` of its size the opposite way does not vote.

The decision is causal and taken once: at check times every ``check_every_s`` after the
start, from the data up to that time, as soon as the evidence is clear (two completed
excursions of at least ``early_excursion_deg`` in the same direction, the opposite way
at most ``early_asymmetry`` as far), else at
``axis_window_s`` after the start, else at the end of the data. Batch and streaming take
the same decision on the same data; the streaming tracker holds its frames back until then
and emits them all, so the angles cover the recording from its first sample.

Every result says its ``method``, ``windows``, a ``confidence`` (0–1: the weakest of the
neutral quality, the excursion size and the sign evidence) and a ``reason`` in words.

>>> import numpy as np
>>> prior = POSITION_PRIORS["standing"]
>>> prior.upper, prior.coupling
(1, 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import (
    CAT_COW,
    CAT_COW_SEATED,
    FLEXION_EXTENSION,
    HIP_HINGE,
    LOWER,
    PELVIC_TILT,
    STANDARD_GRAVITY_MPS2,
    UPPER,
)
from spinecoach.errors import ConfigurationError

FloatArray = NDArray[np.float64]

#: Calibration methods a user can ask for (``--calibration``).
CALIBRATION_METHODS: Final = ("auto", "protocol", "neutral-only", "none")

#: Nominal mounting: rows are the segment's X (anterior), Y (superior) and Z (right) axes
#: in sensor coordinates for a sensor with x pointing up the spine and z out of the skin
#: (the same as :data:`spinecoach.posture.alignment.NOMINAL_AXES`).
NOMINAL_SENSOR_AXES: Final = np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class MovementPrior:
    """Which way the movement mostly goes, per sensor (+1: its larger one-sided excursion is
    forward — flexion, anterior tilt; -1: backward) and whether the two segments turn the
    same way (+1) or opposite ways (-1)."""

    lower: int = 1
    upper: int = 1
    coupling: int = 1
    #: Up-vector tilts beyond this from neutral (deg) are changes of position (getting up
    #: off the mat), not the exercise, and do not count for the axis.
    max_excursion_deg: float = 120.0
    #: The movement goes as far one way as the other (cat-cow): its excursions cannot say
    #: which way is flexion, and the lower sensor leads the axis search (see the notes).
    symmetric: bool = False
    #: The movement goes one way from neutral and back, never the other way (the pelvic
    #: tilt): an excursion mirrored by one as large the other way is not the exercise.
    one_sided: bool = False

    def __post_init__(self) -> None:
        for name in ("lower", "upper", "coupling"):
            if getattr(self, name) not in (-1, 1):
                raise ConfigurationError(f"MovementPrior.{name} must be +1 or -1")

    def sign(self, placement: str) -> int:
        return self.upper if placement == UPPER else self.lower

    @property
    def lower_leads(self) -> bool:
        """The pelvis moves through its whole range every rep (cat-cow, pelvic tilt) while
        the distractors turn the spine above it: the lower sensor leads the axis search."""
        return self.symmetric or self.one_sided


#: Priors by start position (used when the technique is not known).
POSITION_PRIORS: Final[dict[str, MovementPrior]] = {
    "standing": MovementPrior(1, 1, 1),  # forward bends go further than extension
    "seated": MovementPrior(1, 1, 1, 100.0),  # seated trunk flexion, hinges
    "supine": MovementPrior(-1, -1, 1, 40.0, one_sided=True),  # a posterior pelvic tilt
    "quadruped": MovementPrior(-1, 1, -1, 45.0, symmetric=True),  # cat: pelvis back
}

#: Priors by technique (the exercise engine's analyses pass these).
TECHNIQUE_PRIORS: Final[dict[str, MovementPrior]] = {
    PELVIC_TILT: MovementPrior(-1, -1, 1, 40.0, one_sided=True),
    CAT_COW: MovementPrior(-1, 1, -1, 45.0, symmetric=True),
    CAT_COW_SEATED: MovementPrior(-1, 1, -1, 60.0, symmetric=True),
    HIP_HINGE: MovementPrior(1, 1, 1, 100.0),
    FLEXION_EXTENSION: MovementPrior(1, 1, 1),
}


@dataclass(frozen=True)
class AutoCalibrationSettings:
    """Thresholds of the protocol-free calibration (s, deg/s, m/s², deg)."""

    skip_s: float = 0.0  # the AHRS starts from gravity (motion.fusion)
    neutral_search_s: float = 10.0
    neutral_min_s: float = 0.2
    neutral_max_s: float = 2.0
    neutral_drift_deg: float = 10.0  # a neutral is near the posture the recording starts in
    still_gyr_dps: float = 8.0
    still_acc_mps2: float = 0.8
    still_acc_sd_mps2: float = 0.15  # accelerometer-only: per-axis SD within a bin
    quietest_factor: float = 3.0  # "quietest" must be under this × the still threshold
    bin_s: float = 0.1
    decimate_hz: float = 10.0
    axis_window_s: float = 60.0
    check_every_s: float = 1.0
    early_excursion_deg: float = 8.0
    early_asymmetry: float = 0.6
    early_other_deg: float = 3.0
    min_excursion_deg: float = 3.0
    direction_step_deg: float = 2.0
    peak_min_deg: float = 3.0  # an excursion peak tilts at least this far from neutral
    peak_prominence_deg: float = 2.0
    vote_width_deg: float = 25.0  # a peak votes for lines within this of its direction
    symmetric_peak_min_deg: float = 2.0  # peak_min_deg for a symmetric movement (cat-cow)
    mirror_ratio: float = 2.0  # one-sided: a peak mirrored within this size ratio is dropped
    rest_near_deg: float = 3.0  # rest posture: still moments within this of the neutral
    rest_min_s: float = 1.0  # ... and at least this long in all
    follow_tilt_min_deg: float = 8.0  # pelvis leads: the other sensor's tilts counted ...
    follow_tilt_factor: float = 1.5  # ... up to max(min, factor × the pelvis's excursion)
    follow_min_r: float = 0.5  # pelvis leads: the other sensor follows from this r


@dataclass(frozen=True)
class SensorStream:
    """One sensor's samples for the calibration: times (s), accelerometer (m/s²),
    gyroscope (deg/s; NaN when absent) and the fused earth-up in the sensor frame."""

    time_s: FloatArray
    acc_mps2: FloatArray
    gyr_dps: FloatArray
    up: FloatArray
    quaternion: FloatArray | None = None

    def until(self, t_cut: float) -> SensorStream:
        n = int(np.searchsorted(self.time_s, t_cut, side="right"))
        q = None if self.quaternion is None else self.quaternion[:n]
        return SensorStream(self.time_s[:n], self.acc_mps2[:n], self.gyr_dps[:n], self.up[:n], q)


@dataclass(frozen=True)
class NeutralWindow:
    """The neutral: a window (s) or, for ``quality == "session"``, the quietest bins."""

    start_s: float
    end_s: float
    quality: str  # "still", "quietest", "session", "declared"
    times_s: tuple[tuple[float, float], ...] = ()

    @property
    def confidence(self) -> float:
        return {"still": 1.0, "declared": 1.0, "quietest": 0.6, "session": 0.3}[self.quality]

    def mask(self, time_s: FloatArray) -> NDArray[np.bool_]:
        if self.times_s:
            m = np.zeros(time_s.shape[0], dtype=np.bool_)
            for a, b in self.times_s:
                m |= (time_s >= a) & (time_s < b)
            return m
        return np.asarray((time_s >= self.start_s) & (time_s <= self.end_s), dtype=np.bool_)


@dataclass(frozen=True, eq=False)
class AxisEstimate:
    """The sagittal direction of one sensor, from its up-vector excursions.

    y_axis: the neutral up (sensor frame); z_raw: the mediolateral axis signed so that the
    sensor's larger one-sided excursion is positive; excursion_deg: that excursion;
    asymmetry: the opposite excursion over it (0 one-sided … 1 symmetric); sideways_deg:
    the largest excursion across the plane; theta_raw: the raw sagittal angle (deg) of the
    decimated samples, on ``time_s``.
    """

    y_axis: FloatArray
    z_raw: FloatArray
    excursion_deg: float
    asymmetry: float
    sideways_deg: float
    time_s: FloatArray
    theta_raw: FloatArray
    basis: tuple[FloatArray, FloatArray] | None = None
    h: FloatArray | None = None  # (n, 2) up displacement in ``basis``
    votes: int = 0  # excursions seen along the chosen line

    def follow(
        self,
        time_s: FloatArray,
        theta_deg: FloatArray,
        coupling: int,
        step_deg: float,
        *,
        max_tilt_deg: float | None = None,
    ) -> tuple[FloatArray, float] | None:
        """The mediolateral axis along which this sensor's tilt correlates best with another
        sensor's sagittal angle (same way when ``coupling`` is +1), and that correlation.
        With ``max_tilt_deg``, only the moments this sensor tilts less than that from its
        neutral count (a lateral bend of the thorax tilts it further than a cat-cow)."""
        if self.basis is None or self.h is None or self.h.shape[0] < 5 or time_s.shape[0] < 5:
            return None
        keep = np.ones(self.h.shape[0], dtype=np.bool_)
        if max_tilt_deg is not None:
            keep = np.linalg.norm(self.h, axis=1) <= np.sin(np.radians(max_tilt_deg))
            if int(np.count_nonzero(keep)) < 5:
                return None
        other = np.interp(self.time_s[keep], time_s, theta_deg)
        if float(np.std(other)) < 1e-6:
            return None
        # The direction of largest covariance with the other angle (a regression, not
        # the largest correlation: any direction near the plane correlates almost fully).
        hk = self.h[keep]
        h = hk - hk.mean(axis=0)
        o = other - other.mean()
        c = coupling * (h.T @ o)
        if float(np.linalg.norm(c)) < 1e-12:
            return None
        e1, e2 = self.basis
        u = _unit(c[0] * e1 + c[1] * e2)
        d = h @ np.array([u @ e1, u @ e2])
        d = d - d.mean()
        denom = float(np.sqrt((d @ d) * (o @ o)))
        r = coupling * float(d @ o) / denom if denom > 0 else 0.0
        z = _unit(np.cross(-u, self.y_axis))
        return z, r


@dataclass(frozen=True, eq=False)
class MovementCalibration:
    """The outcome: axes per sensor (rows X, Y, Z in sensor axes), how sure, and why."""

    axes: Mapping[str, FloatArray]
    neutral: NeutralWindow
    movement_s: tuple[float, float]
    decided_at_s: float
    confidence: float
    sensor_confidence: Mapping[str, float]
    reason: str
    details: Mapping[str, dict[str, float | str]] = field(default_factory=dict)


def _unit(v: FloatArray) -> FloatArray:
    return np.asarray(v / np.linalg.norm(v), dtype=np.float64)


def _bin_scores(
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
    start_up = _unit(stream.up[first].mean(axis=0))
    idx = np.searchsorted(t, edges, side="left")
    cos_max = float(np.cos(np.radians(settings.neutral_drift_deg)))
    for b in range(n_bins):
        lo, hi = int(idx[b]), int(idx[b + 1])
        if hi > lo:
            near[b] = float(_unit(stream.up[lo:hi].mean(axis=0)) @ start_up) >= cos_max
    return near


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
            s_still, s_score = _bin_scores(stream, edges, settings)
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
        score = np.maximum(score, _bin_scores(stream, edges, settings)[1])
    finite = np.flatnonzero(np.isfinite(score))
    if finite.size == 0:
        return None
    keep = finite[np.argsort(score[finite], kind="stable")[: max(1, finite.size // 5)]]
    keep.sort()
    times = tuple((float(edges[b]), float(edges[b + 1])) for b in keep)
    return NeutralWindow(times[0][0], times[-1][1], "session", times)


def _decimated(
    stream: SensorStream, t_from: float, rate_hz: float
) -> tuple[FloatArray, FloatArray]:
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
    y = _unit(y_axis)
    within = up @ y >= np.cos(np.radians(max_excursion_deg))
    time_s = time_s[within]
    up = up[within]
    helper = np.array([1.0, 0.0, 0.0]) if abs(y[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = _unit(np.cross(y, helper))
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
    z_raw = _unit(np.cross(x_raw, y))
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
    y = _unit(y_axis)
    # A hint along Y gives no Z (a sensor held so that up is its nominal left-right axis):
    # fall back on the nominal anterior axis, then on any sensor axis.
    for hint in (z_hint, np.cross(NOMINAL_SENSOR_AXES[0], y), *np.eye(3)):
        perpendicular = hint - (hint @ y) * y
        if float(np.linalg.norm(perpendicular)) > 0.3:
            break
    z = _unit(perpendicular)
    x = np.cross(y, z)
    axes = np.vstack([x, y, z])
    axes.setflags(write=False)
    return axes


def _neutral_up(stream: SensorStream, neutral: NeutralWindow) -> FloatArray | None:
    m = neutral.mask(stream.time_s)
    if not m.any():
        return None
    up = stream.up[m]
    mean = np.median(up, axis=0) if neutral.quality == "session" else up.mean(axis=0)
    return _unit(mean)


def _correlation(a_t: FloatArray, a: FloatArray, b_t: FloatArray, b: FloatArray) -> float:
    if a.shape[0] < 5 or b.shape[0] < 5:
        return 0.0
    bi = np.interp(a_t, b_t, b)
    if float(np.std(a)) < 1e-9 or float(np.std(bi)) < 1e-9:
        return 0.0
    return float(np.corrcoef(a, bi)[0, 1])


def decide_movement_calibration(
    streams: Mapping[str, SensorStream],
    *,
    t0: float,
    t_cut: float,
    prior: MovementPrior,
    settings: AutoCalibrationSettings,
    final: bool,
    declared_neutral: tuple[float, float] | None = None,
) -> MovementCalibration | None:
    """The protocol-free calibration from the data up to ``t_cut``.

    Returns None when ``final`` is False and the evidence is not clear yet; with
    ``final`` it always returns the best estimate with its confidence.
    """
    data = {p: s.until(t_cut) for p, s in streams.items()}
    if declared_neutral is not None:
        neutral: NeutralWindow | None = NeutralWindow(*declared_neutral, "declared")
    else:
        neutral = find_neutral(data, t0, t_cut, settings, allow_session=final)
    if neutral is None:
        return None
    ups = {p: _neutral_up(s, neutral) for p, s in data.items()}
    if any(u is None for u in ups.values()):
        if not final:
            return None
        missing = ", ".join(p for p, u in ups.items() if u is None)
        raise ConfigurationError(
            f"the neutral window {neutral.start_s:.2f}–{neutral.end_s:.2f} s holds no samples "
            f"of the {missing} sensor; declare a window inside the recording (--neutral "
            "START:END)"
        )
    # Every movement counts, before the neutral window as well as after it.
    move_from = t0 - 1e-9
    leads = prior.lower_leads and LOWER in data
    vote_settings = settings
    if prior.symmetric:
        # A stiff seated cat-cow tilts the pelvis 2.5-4° each way.
        vote_settings = replace(settings, peak_min_deg=settings.symmetric_peak_min_deg)
    estimates: dict[str, AxisEstimate] = {}
    for placement, stream in data.items():
        y = ups[placement]
        assert y is not None
        times, up = _decimated(stream, move_from, settings.decimate_hz)
        # Small movements are measured from the posture rested in (see the notes).
        rest = _rest_up(stream, t0, settings, y) if leads else None
        e = estimate_axis(
            y if rest is None else rest,
            times,
            up,
            vote_settings,
            max_excursion_deg=prior.max_excursion_deg,
            one_sided=prior.one_sided,
        )
        estimates[placement] = e if rest is None else replace(e, y_axis=y)
    # Anchor: the lower sensor when the pelvis leads, else the clearest asymmetric
    # excursion.
    if leads:
        anchor = LOWER
    elif max(1.0 - e.asymmetry for e in estimates.values()) > 0.4:
        anchor = max(
            estimates, key=lambda p: estimates[p].excursion_deg * (1.0 - estimates[p].asymmetry)
        )
    elif len(estimates) == 2:
        # Every sensor moved about as far both ways (cat-cow): the flexion plane is the
        # one the two segments share (seated, a lateral bend moves the thorax and hardly
        # the pelvis), so the sensor whose plane the other one follows best leads.
        def shared(lead: str) -> float:
            other = next(p for p in estimates if p != lead)
            e = estimates[lead]
            found = estimates[other].follow(
                e.time_s, prior.sign(lead) * e.theta_raw, prior.coupling, 2.0
            )
            return found[1] if found is not None else -1.0

        anchor = max(estimates, key=lambda p: (shared(p), estimates[p].votes))
    else:
        anchor = next(iter(estimates))
    a = estimates[anchor]
    # Two completed excursions: one could be the first half of a symmetric movement.
    clear = (
        a.excursion_deg >= settings.early_excursion_deg
        and a.asymmetry <= settings.early_asymmetry
        and _excursions(a.theta_raw, a.excursion_deg) >= 2
    )
    if not final and not clear:
        return None
    signs: dict[str, int] = {anchor: prior.sign(anchor)}
    sign_conf: dict[str, float] = {anchor: float(np.clip((1.0 - a.asymmetry) / 0.5, 0.0, 1.0))}
    details: dict[str, dict[str, float | str]] = {}
    anchor_from = "own excursion (anchor)"
    if a.asymmetry > settings.early_asymmetry or prior.symmetric:
        # As far one way as the other (cat-cow, however the excursions happened to come
        # out): the movement cannot say which way is flexion. Fall back on the documented
        # mounting (sensor x up the spine) when the axis found is near its left-right
        # axis; the confidence stays low either way.
        nominal = NOMINAL_SENSOR_AXES[2] - (NOMINAL_SENSOR_AXES[2] @ a.y_axis) * a.y_axis
        norm = float(np.linalg.norm(nominal))
        along = float(a.z_raw @ nominal) / norm if norm > 1e-6 else 0.0
        if abs(along) >= 0.5:
            signs[anchor] = 1 if along > 0 else -1
            sign_conf[anchor] = min(sign_conf[anchor], 0.45)
            anchor_from = "the documented mounting (the movement is symmetric)"
    followed: dict[str, FloatArray] = {}
    for placement, e in estimates.items():
        if placement == anchor:
            continue
        own = float(np.clip((1.0 - e.asymmetry) / 0.5, 0.0, 1.0))
        # When the pelvis leads, only the moments the other sensor tilts about as little
        # as the pelvis count: a lateral bend tilts the thorax further than a cat-cow.
        cut = (
            max(settings.follow_tilt_min_deg, settings.follow_tilt_factor * a.excursion_deg)
            if leads
            else None
        )
        follow = e.follow(
            a.time_s, signs[anchor] * a.theta_raw, prior.coupling, 2.0, max_tilt_deg=cut
        )
        if leads:
            accept = follow is not None and follow[1] >= settings.follow_min_r
        else:
            accept = follow is not None and (
                (follow[1] >= 0.6 and follow[1] >= own) or (e.asymmetry > 0.6 and follow[1] >= 0.3)
            )
        if accept:
            assert follow is not None
            # Its tilt follows the anchor's sagittal angle: the same plane, and the
            # prior's coupling gives the sign.
            followed[placement] = follow[0]
            signs[placement] = 1
            sign_conf[placement] = float(np.clip(follow[1] / 0.8, 0.0, 1.0))
            details[placement] = {"sign_from": f"follows the {anchor} sensor (r={follow[1]:.2f})"}
        elif leads:
            # Its own excursions are another movement's (the seated thorax tilts 2-4° in
            # a cat-cow, 15-35° in a lateral bend): the documented mounting, unsure.
            followed[placement] = NOMINAL_SENSOR_AXES[2]
            signs[placement] = 1
            sign_conf[placement] = 0.2
            r_text = "none" if follow is None else f"r={follow[1]:.2f}"
            details[placement] = {
                "sign_from": f"the documented mounting (it hardly follows the {anchor} "
                f"sensor: {r_text})"
            }
        elif e.excursion_deg >= 5.0 and e.asymmetry <= 0.6:
            signs[placement] = prior.sign(placement)
            sign_conf[placement] = own
            details[placement] = {"sign_from": "own excursion"}
        else:
            signs[placement] = prior.sign(placement)
            sign_conf[placement] = min(own, 0.3)
            details[placement] = {"sign_from": "movement prior (weak evidence)"}
    details.setdefault(anchor, {})["sign_from"] = anchor_from
    axes: dict[str, FloatArray] = {}
    confidence: dict[str, float] = {}
    for placement, e in estimates.items():
        if e.excursion_deg < settings.min_excursion_deg:
            # No movement to learn from: the nominal mounting's flexion axis.
            axes[placement] = axes_from(e.y_axis, NOMINAL_SENSOR_AXES[2])
            confidence[placement] = 0.1
            details[placement]["sign_from"] = "nominal mounting (the sensor hardly moved)"
        else:
            z = followed.get(placement)
            axes[placement] = axes_from(
                e.y_axis, z if z is not None else signs[placement] * e.z_raw
            )
            axis_q = float(np.clip((e.excursion_deg - 2.0) / 6.0, 0.0, 1.0))
            if placement not in followed and e.votes < 2:
                axis_q = min(axis_q, 0.4)  # one excursion is no evidence of a repeated plane
            confidence[placement] = min(neutral.confidence, axis_q, sign_conf[placement])
        details[placement].update(
            {
                "excursion_deg": round(e.excursion_deg, 1),
                "opposite_share": round(e.asymmetry, 2),
                "sideways_deg": round(e.sideways_deg, 1),
                "confidence": round(confidence[placement], 2),
            }
        )
    overall = min(confidence.values())
    reason = _reason(neutral, estimates, confidence, clear)
    return MovementCalibration(
        axes=axes,
        neutral=neutral,
        movement_s=(float(t0), float(min(t_cut, max(float(s.time_s[-1]) for s in data.values())))),
        decided_at_s=float(min(t_cut, max(float(s.time_s[-1]) for s in data.values()))),
        confidence=round(overall, 2),
        sensor_confidence={p: round(c, 2) for p, c in confidence.items()},
        reason=reason,
        details=details,
    )


def _rest_up(
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
    still, _ = _bin_scores(stream, edges, settings)
    idx = np.searchsorted(t, edges, side="left")
    means = [
        _unit(stream.up[int(idx[b]) : int(idx[b + 1])].mean(axis=0))
        for b in np.flatnonzero(still)
        if idx[b + 1] > idx[b]
    ]
    cos_near = np.cos(np.radians(settings.rest_near_deg))
    means = [m for m in means if float(m @ near) >= cos_near]
    if len(means) * settings.bin_s < settings.rest_min_s:
        return None
    return _unit(np.median(np.array(means), axis=0))


def _excursions(theta: FloatArray, size_deg: float) -> int:
    """Completed excursions: above 70 % of ``size_deg``, then back under 30 %."""
    count = 0
    out = False
    for v in theta.tolist():
        if not out and v >= 0.7 * size_deg:
            out = True
        elif out and v <= 0.3 * size_deg:
            out = False
            count += 1
    return count


def _reason(
    neutral: NeutralWindow,
    estimates: Mapping[str, AxisEstimate],
    confidence: Mapping[str, float],
    clear: bool,
) -> str:
    where = {
        "still": f"a still stretch at {neutral.start_s:.1f}–{neutral.end_s:.1f} s",
        "declared": f"the declared window {neutral.start_s:.1f}–{neutral.end_s:.1f} s",
        "quietest": f"the quietest stretch at {neutral.start_s:.1f}–{neutral.end_s:.1f} s "
        "(nobody was fully still near the start)",
        "session": "the quietest fifth of the session (no quiet stretch near the start)",
    }[neutral.quality]
    parts = [f"neutral from {where}"]
    for placement, e in estimates.items():
        if confidence[placement] < 0.5:
            if e.excursion_deg < 3.0:
                why = "hardly moved, so its flexion axis is the nominal mounting's"
            elif e.asymmetry > 0.75:
                why = "moved about as far both ways, so which way is forward is uncertain"
            else:
                why = f"moved only {e.excursion_deg:.0f}°"
            parts.append(f"the {placement} sensor {why}")
    if clear:
        parts.append("flexion axis from the first clear forward-backward excursion")
    else:
        parts.append("flexion axis from the movement seen")
    return "; ".join(parts)


@dataclass(frozen=True, eq=False)
class StoredCalibration:
    """Flexion axes of sensors calibrated before, to reuse when the same sensors are worn
    again: ``z_axes`` maps a placement to (device name, the segment's Z axis in sensor
    axes). The neutral is always taken afresh from the new recording (a re-attached sensor
    sits a little differently); only the flexion axis, and so its sign, is reused.

    Written by ``spinecoach analyze --save-calibration PATH`` (JSON) and read back with
    :meth:`load` or ``--calibration-file PATH``.
    """

    z_axes: Mapping[str, tuple[str, FloatArray]]

    @classmethod
    def from_segments(cls, segments: Mapping[str, Mapping[str, object]]) -> StoredCalibration:
        """From ``info["calibration"]["segments"]`` (or the saved JSON's "sensors")."""
        z_axes: dict[str, tuple[str, FloatArray]] = {}
        for placement, seg in segments.items():
            if placement not in (LOWER, UPPER):
                raise ConfigurationError(
                    f"stored calibration: unknown placement {placement!r}; use lower or upper"
                )
            axes = np.asarray(seg.get("axes_in_sensor_frame"), dtype=np.float64)
            if axes.shape != (3, 3) or not np.isfinite(axes).all():
                raise ConfigurationError(
                    f"stored calibration: the {placement} sensor's axes_in_sensor_frame must "
                    "be a 3 × 3 matrix of numbers; save it again with --save-calibration"
                )
            z_axes[placement] = (str(seg.get("device", "unknown")), _unit(axes[2]))
        return cls(z_axes)

    def to_json(self) -> dict[str, object]:
        return {
            "spinecoach_calibration": 1,
            "sensors": {
                p: {"device": d, "z_axis_in_sensor_frame": np.round(z, 6).tolist()}
                for p, (d, z) in self.z_axes.items()
            },
        }

    @classmethod
    def from_json(cls, payload: Mapping[str, object]) -> StoredCalibration:
        if payload.get("spinecoach_calibration") != 1 or not isinstance(
            payload.get("sensors"), Mapping
        ):
            raise ConfigurationError(
                'not a spinecoach calibration file (expected {"spinecoach_calibration": 1, '
                '"sensors": {...}}); write one with spinecoach analyze --save-calibration'
            )
        sensors = payload["sensors"]
        assert isinstance(sensors, Mapping)
        z_axes: dict[str, tuple[str, FloatArray]] = {}
        for placement, item in sensors.items():
            if placement not in (LOWER, UPPER) or not isinstance(item, Mapping):
                raise ConfigurationError(
                    f"calibration file: unknown sensor entry {placement!r}; use lower or upper"
                )
            z = np.asarray(item.get("z_axis_in_sensor_frame"), dtype=np.float64)
            if z.shape != (3,) or not np.isfinite(z).all() or np.linalg.norm(z) < 1e-6:
                raise ConfigurationError(
                    f"calibration file: the {placement} sensor's z_axis_in_sensor_frame must be "
                    "three numbers; save it again with --save-calibration"
                )
            z_axes[str(placement)] = (str(item.get("device", "unknown")), _unit(z))
        return cls(z_axes)

    def axis_for(self, placement: str, device: str) -> FloatArray | None:
        """The stored Z of this placement when the device matches (or either is unknown)."""
        item = self.z_axes.get(placement)
        if item is None:
            return None
        stored_device, z = item
        if "unknown" not in (stored_device, device) and stored_device != device:
            return None
        return z


def movement_prior(position: str, technique: str | None = None) -> MovementPrior:
    """The prior for a technique when known, else for the position."""
    if technique is not None and technique in TECHNIQUE_PRIORS:
        return TECHNIQUE_PRIORS[technique]
    return POSITION_PRIORS.get(position, POSITION_PRIORS["standing"])


__all__ = [
    "CALIBRATION_METHODS",
    "LOWER",
    "NOMINAL_SENSOR_AXES",
    "POSITION_PRIORS",
    "TECHNIQUE_PRIORS",
    "AutoCalibrationSettings",
    "AxisEstimate",
    "MovementCalibration",
    "MovementPrior",
    "NeutralWindow",
    "SensorStream",
    "StoredCalibration",
    "axes_from",
    "decide_movement_calibration",
    "estimate_axis",
    "find_neutral",
    "movement_prior",
]
