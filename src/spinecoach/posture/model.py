"""Domain values of the all-day posture analysis (frozen dataclasses, units in names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

#: Per-second posture classes, in plot / report order.
LYING: Final = "lying"
SITTING_UPRIGHT: Final = "sitting-upright"
SITTING_SLOUCHED: Final = "sitting-slouched"
STANDING: Final = "standing"
WALKING: Final = "walking"
#: A deep forward bend or stoop (the reference segment tilted forward beyond
#: :attr:`PostureSettings.bending_deg`): never lying, never sitting.
BENDING: Final = "bending"
TRANSITION: Final = "transition"
#: Still and upright but sitting and standing cannot be told apart (upper sensor only).
UPRIGHT: Final = "upright"
#: No usable data this second (a gap, or a sensor missing).
UNKNOWN: Final = "unknown"
POSTURE_CLASSES: Final[tuple[str, ...]] = (
    LYING,
    SITTING_UPRIGHT,
    SITTING_SLOUCHED,
    STANDING,
    WALKING,
    TRANSITION,
    UPRIGHT,
    UNKNOWN,
    BENDING,
)
SITTING_CLASSES: Final[tuple[str, ...]] = (SITTING_UPRIGHT, SITTING_SLOUCHED)
#: The coarse class of every per-second class (sitting upright and slouched → sitting).
COARSE_CLASS: Final[dict[str, str]] = {
    LYING: "lying",
    SITTING_UPRIGHT: "sitting",
    SITTING_SLOUCHED: "sitting",
    STANDING: "standing",
    WALKING: "walking",
    TRANSITION: "transition",
    UPRIGHT: "upright",
    UNKNOWN: "unknown",
    BENDING: "bending",
}


@dataclass(frozen=True)
class PostureSettings:
    """The thresholds of the posture analysis, each with its unit and reason.

    Angles are relative to the person's standing neutral (calibration) unless noted.
    """

    sitting_pelvis_deg: float = -8.0
    """Sacral inclination below this (deg, posterior) while still and upright = sitting.
    Upright sitting tilts the pelvis ≈15° posterior of standing, slouching ≈20–25°;
    standing shifts stay within a few degrees."""
    lying_tilt_deg: float = 55.0
    """A segment's superior axis farther than this (deg) from vertical = lying (any side),
    except a forward bend (below)."""
    bending_deg: float = 25.0
    """Reference segment (pelvis, else trunk) inclined forward more than this (deg,
    relative to upright) = bending / stooping. Sitting down or standing up leans the
    pelvis ≈15° forward (and is movement, a transition); leaning on a counter 10–20°;
    a bend to a dishwasher ≈35–45°, a stoop to the floor 50–75°."""
    bending_max_tilt_deg: float = 80.0
    """A forward inclination beyond this (deg) may be lying face down (≈90° from
    standing) or the deepest stoop (a belt above the sacrum adds some lumbar flexion to
    the pelvis' 60–70°): it is bending while it lasts at most ``prone_confirm_s``."""
    prone_confirm_s: int = 60
    """Seconds in a row beyond ``bending_max_tilt_deg`` forward after which it is lying
    face down (stoops are brief; lying lasts)."""
    gait_sign_min_share: float = 0.6
    """The gait cue of the forward sign counts when the quarter-step-ahead part is at least
    this share of the fore-aft coupling with the vertical bounce (real lower-back walks:
    0.5–0.9; a gait without a fore-aft surge: ≈0)."""
    posture_sign_min_votes: int = 60
    """Seconds of sitting tilts (backward) or brief bends (forward) the posture cue of the
    forward sign needs (s)."""
    posture_sign_min_share: float = 0.75
    """The posture cue's votes must agree by at least this share."""
    walking_acc_std_mps2: float = 0.6
    """Acceleration-magnitude SD over the second above this (m/s²) may be walking
    (quiet postures ≈0.02, walking at 1.3 m/s ≈1.4; real lower-back walks of
    ../shared/data/mobgap: 0.4–2; 0.6 agrees best with their reference bouts)."""
    walking_crossings_per_s: tuple[float, float] = (1.5, 7.0)
    """Crossings of the mean by the smoothed acceleration magnitude per second for
    walking: twice the step rate, steps at ≈0.8–3.5 /s (cadence 1.5–2.5 Hz typical; slow
    walkers, e.g. with multiple sclerosis, near 1 /s). 1.5–7 agrees best with the real
    walks of ../shared/data/mobgap."""
    walking_max_tilt_deg: float = 40.0
    """During walking the trunk is near upright; a tilt beyond this is implausible and
    marks the sensor orientation untrusted."""
    transition_gyr_dps: float = 15.0
    """Gyroscope RMS over the second above this (deg/s) without walking = transition."""
    transition_step_deg: float = 8.0
    """A change of sacral (or trunk) inclination above this (deg) from the previous
    second = transition."""
    slouch_threshold_deg: float | None = None
    """Lumbar flexion above this (deg, relative to standing) while sitting = slouched.
    None: the recording's ``meta["slouch_threshold_deg"]``, else half the person's
    lumbar flexion in the calibration bends (clamped to 12–25°), else 15°."""
    pelvis_slouch_deg: float = -18.5
    """Lower sensor only: sacral inclination below this (deg) while sitting = slouched
    (less certain: between typical upright, −15°, and slouched, −22°, sitting)."""
    stand_confirm_s: int = 3
    """From sitting, standing is only believed after this many seconds in a row (unless
    a transition or walking came first): arching while seated looks like standing."""
    bout_gap_s: float = 8.0
    """Non-sitting seconds shorter than this inside a sitting run (fidgeting, a stand-up
    and straight back down) do not end the bout."""
    min_bout_s: float = 60.0
    """Sitting runs shorter than this are not counted as bouts."""
    desk_break_window_s: int = 40
    """Sliding window (s) of the unprompted desk-break (seated cat-cow) detector."""
    desk_break_swing_deg: float = 8.0
    """Lumbar swing (5th–95th percentile, deg) a window needs to count as cat-cow."""
    desk_break_min_cycles: int = 3
    """Breath cycles (pairs of crossings of the window median) a window needs."""
    desk_break_min_s: float = 45.0
    """Shortest desk break reported (s)."""
    min_walking_for_check_s: int = 20
    """Walking seconds needed to learn "up" (uncalibrated)."""
    max_wait_s: float = 900.0
    """Stream: when one sensor is this far (s) behind the other, its missing seconds are
    given up (labelled unknown) so memory stays bounded."""


@dataclass(frozen=True)
class PostureSecond:
    """One second ``[start_s, start_s + 1)`` of the timeline.

    label: one of :data:`POSTURE_CLASSES`. Angles in degrees (NaN when not available):
    lumbar flexion relative to the standing neutral, trunk (upper) and pelvis (lower)
    inclination relative to standing (relative to upright walking when learnt). trusted:
    data present and the sensor alignment known (calibrated, or up and forward learnt)
    and plausible.
    """

    start_s: float
    label: str
    lumbar_flexion_deg: float
    trunk_inclination_deg: float
    pelvis_inclination_deg: float
    acc_std_mps2: float
    trusted: bool


@dataclass(frozen=True)
class MinuteSummary:
    """One minute ``[start_s, start_s + 60)`` (the row the database stores).

    seconds: seconds per class (only classes that occurred); slouched_s / sitting_s;
    means in degrees over the seconds where the angle exists (NaN when none); trusted:
    every second with data trusted (alignment known and plausible); coverage: share of
    the minute's seconds that had data.
    """

    start_s: float
    seconds: dict[str, int]
    sitting_s: int
    slouched_s: int
    mean_lumbar_flexion_deg: float
    mean_trunk_inclination_deg: float
    trusted: bool
    coverage: float

    @property
    def majority(self) -> str:
        """The coarse class (lying/sitting/standing/walking/...) held most this minute."""
        coarse: dict[str, int] = {}
        for name, count in self.seconds.items():
            key = COARSE_CLASS[name]
            coarse[key] = coarse.get(key, 0) + count
        return max(sorted(coarse), key=lambda k: coarse[k]) if coarse else "unknown"

    def as_dict(self) -> dict[str, object]:
        return {
            "start_s": self.start_s,
            "seconds": dict(self.seconds),
            "sitting_s": self.sitting_s,
            "slouched_s": self.slouched_s,
            "mean_lumbar_flexion_deg": self.mean_lumbar_flexion_deg,
            "mean_trunk_inclination_deg": self.mean_trunk_inclination_deg,
            "trusted": self.trusted,
            "coverage": self.coverage,
            "majority": self.majority,
        }


@dataclass(frozen=True)
class SittingBout:
    """A sitting run ``[start_s, end_s)``; slouched_s of its sitting seconds."""

    start_s: float
    end_s: float
    sitting_s: int
    slouched_s: int

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def as_dict(self) -> dict[str, float]:
        return {
            "start_s": self.start_s,
            "end_s": self.end_s,
            "duration_s": self.duration_s,
            "sitting_s": self.sitting_s,
            "slouched_s": self.slouched_s,
        }


@dataclass(frozen=True)
class SittingBreak:
    """Time between two sitting bouts with standing or walking (seconds of each)."""

    start_s: float
    end_s: float
    standing_s: int
    walking_s: int

    def as_dict(self) -> dict[str, float]:
        return {
            "start_s": self.start_s,
            "end_s": self.end_s,
            "standing_s": self.standing_s,
            "walking_s": self.walking_s,
        }


@dataclass(frozen=True)
class DeskBreak:
    """A seated cat-cow routine ``[start_s, end_s)``.

    source: ``"detected"`` (the unprompted swing detector of this package) or
    ``"coach"`` (reported through :meth:`PostureTracker.add_desk_break`, e.g. from the
    exercise engine during a prompted break); reps: breath cycles when known.
    """

    start_s: float
    end_s: float
    source: str
    reps: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "start_s": self.start_s,
            "end_s": self.end_s,
            "source": self.source,
            "reps": self.reps,
        }


@dataclass(frozen=True)
class PostureUpdate:
    """What one :meth:`PostureTracker.update` completed (possibly nothing)."""

    seconds: tuple[PostureSecond, ...] = ()
    minutes: tuple[MinuteSummary, ...] = ()
    bouts: tuple[SittingBout, ...] = ()
    breaks: tuple[SittingBreak, ...] = ()
    desk_breaks: tuple[DeskBreak, ...] = ()


@dataclass(frozen=True)
class TrustReport:
    """Whether the day can be trusted, and why not (messages say what to do)."""

    trusted: bool
    calibration: str
    slouch_measure: str
    messages: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {
            "trusted": self.trusted,
            "calibration": self.calibration,
            "slouch_measure": self.slouch_measure,
            "messages": list(self.messages),
        }
