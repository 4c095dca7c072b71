"""The values of the protocol-free calibration: movement priors, settings, sensor streams,
neutral windows, axis estimates and the decision (see :mod:`spinecoach.motion.autocal`).

Units: seconds (``_s``), degrees (``_deg``), deg/s, m/s². Frozen dataclasses; the
estimation is in :mod:`spinecoach.motion.autocal_axis`, the decision in
:mod:`spinecoach.motion.autocal`, which is where callers import these from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import (
    CAT_COW,
    CAT_COW_SEATED,
    FLEXION_EXTENSION,
    HIP_HINGE,
    PELVIC_TILT,
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
        u = unit_vector(c[0] * e1 + c[1] * e2)
        d = h @ np.array([u @ e1, u @ e2])
        d = d - d.mean()
        denom = float(np.sqrt((d @ d) * (o @ o)))
        r = coupling * float(d @ o) / denom if denom > 0 else 0.0
        z = unit_vector(np.cross(-u, self.y_axis))
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


def unit_vector(v: FloatArray) -> FloatArray:
    """``v`` scaled to length 1."""
    return np.asarray(v / np.linalg.norm(v), dtype=np.float64)


def movement_prior(position: str, technique: str | None = None) -> MovementPrior:
    """The prior for a technique when known, else for the position."""
    if technique is not None and technique in TECHNIQUE_PRIORS:
        return TECHNIQUE_PRIORS[technique]
    return POSITION_PRIORS.get(position, POSITION_PRIORS["standing"])
