"""Body poses of the simulator: the keyframe values the body model interpolates.

A :class:`Pose` holds the model parameters of :mod:`spinecoach.sim.body` at one instant.
The angles are *model* parameters (rotations between segments), not clinical angles; the
clinical truth is always computed from the resulting rotation matrices.

Neutral poses are built so that the upper (T12/L1) segment's absolute inclination equals
``conventions.POSITION_NOMINAL_INCLINATION_DEG[position]`` exactly (upper = pelvis +
lumbar), while the pelvis keeps a realistic sacral inclination (≈ 30° forward standing)
and the lumbar angle carries the lordosis (λ0 = nominal − θp0).

>>> NEUTRAL_POSES["standing"].pelvis_deg + NEUTRAL_POSES["standing"].lumbar_deg
0.0
>>> NEUTRAL_POSES["supine"].pelvis_deg + NEUTRAL_POSES["supine"].lumbar_deg
-90.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True)
class Pose:
    """Model parameters at one keyframe (degrees, metres, dimensionless envelopes).

    >>> Pose(pelvis_deg=30.0, lumbar_deg=-30.0).moved(lumbar_deg=10.0).lumbar_deg
    -20.0
    """

    pelvis_deg: float
    """θp: pelvis rotation about its Z (right) axis from upright; anterior positive."""
    lumbar_deg: float
    """λ: T12/L1 segment rotation relative to the pelvis about Z; flexion positive."""
    thoracic_deg: float = 15.0
    """τ: thorax rotation relative to the T12/L1 segment about Z (kyphosis), flexion +."""
    hip_height_m: float = 0.9
    """Height of the hip centre above the floor (m)."""
    heading_deg: float = 0.0
    """Change of heading about earth up (deg, left turn positive) from the session's."""
    pelvis_lateral_deg: float = 0.0
    """φp: pelvis rotation about its X (anterior) axis; toward the right positive."""
    pelvis_axial_deg: float = 0.0
    """γp: pelvis rotation about its Y (superior) axis; turning left positive."""
    lumbar_lateral_deg: float = 0.0
    """β: lateral bend of T12/L1 relative to the pelvis about X; to the right positive."""
    lumbar_axial_deg: float = 0.0
    """γ: axial rotation of T12/L1 relative to the pelvis about Y; shoulders left +."""
    hip_forward_m: float = 0.0
    """Displacement of the hip centre along the heading (m), e.g. hips back in flexion."""
    sway: float = 1.0
    """Postural sway scale (1 = standing sway of about ±0.5°)."""
    walk: float = 0.0
    """Gait envelope: 0 still, 1 walking at 1.3 m/s with 1.8 steps/s."""
    jerk_deg: float = 0.0
    """Amplitude (deg) of a 2–4 Hz jerk oscillation added to the lumbar angle."""

    def moved(self, **deltas: float) -> Pose:
        """A copy with ``deltas`` *added* to the named fields."""
        return replace(self, **{name: getattr(self, name) + d for name, d in deltas.items()})

    def as_tuple(self) -> tuple[float, ...]:
        """The values in :data:`POSE_CHANNELS` order."""
        return tuple(float(getattr(self, name)) for name in POSE_CHANNELS)


POSE_CHANNELS: Final[tuple[str, ...]] = tuple(f.name for f in fields(Pose))
"""Names of the keyframe channels, in the column order of the interpolated array."""

# Exercise start positions. Upper = pelvis + lumbar equals the position's nominal
# inclination exactly (conventions.POSITION_NOMINAL_INCLINATION_DEG).
STANDING: Final = Pose(pelvis_deg=30.0, lumbar_deg=-30.0, thoracic_deg=15.0, hip_height_m=0.9)
SEATED: Final = Pose(
    pelvis_deg=15.0, lumbar_deg=-15.0, thoracic_deg=15.0, hip_height_m=0.45, sway=0.4
)
SUPINE: Final = Pose(  # hook-lying, knees bent, feet flat
    pelvis_deg=-65.0, lumbar_deg=-25.0, thoracic_deg=5.0, hip_height_m=0.1, sway=0.15
)
QUADRUPED: Final = Pose(
    pelvis_deg=110.0, lumbar_deg=-20.0, thoracic_deg=10.0, hip_height_m=0.6, sway=0.5
)

NEUTRAL_POSES: Final[Mapping[str, Pose]] = MappingProxyType(
    {"standing": STANDING, "seated": SEATED, "supine": SUPINE, "quadruped": QUADRUPED}
)
"""Neutral pose of every exercise position (keys of POSITION_NOMINAL_INCLINATION_DEG)."""

# Intermediate poses when getting into or out of a position.
_SIT_DOWN_LEAN: Final = Pose(45.0, -20.0, 20.0, hip_height_m=0.6, sway=0.5)
_FLOOR_SIT: Final = Pose(10.0, -10.0, 15.0, hip_height_m=0.15, sway=0.3)
_KNEELING: Final = Pose(30.0, -25.0, 15.0, hip_height_m=0.5, sway=0.5)

SETUP_PATHS: Final[Mapping[str, tuple[tuple[Pose, float], ...]]] = MappingProxyType(
    {
        "standing": ((STANDING.moved(hip_forward_m=0.05), 1.5),),
        "seated": ((_SIT_DOWN_LEAN, 1.2), (SEATED, 1.3)),
        "supine": (
            (_SIT_DOWN_LEAN.moved(hip_height_m=-0.1), 1.4),
            (_FLOOR_SIT, 1.6),
            (SUPINE, 2.0),
        ),
        "quadruped": ((_KNEELING, 1.6), (QUADRUPED, 2.0)),
    }
)
"""Stages ``(pose, nominal duration s)`` from standing into each position's neutral."""


def setup_path_back(position: str) -> tuple[tuple[Pose, float], ...]:
    """Stages from the position's neutral back to standing (the way in, reversed)."""
    stages = SETUP_PATHS[position]
    poses = [*(pose for pose, _ in reversed(stages[:-1])), STANDING]
    durations = [duration for _, duration in stages][::-1]
    return tuple(zip(poses, durations, strict=True))


# Everyday postures (conventions.POSTURES), relative to standing: upright sitting has the
# pelvis ≈15° posterior and the lumbar spine ≈10° more flexed; slouching adds 10–20° of
# lumbar flexion (drawn per bout) with the pelvis further posterior.
ACTIVITY_POSES: Final[Mapping[str, Pose]] = MappingProxyType(
    {
        "standing": STANDING,
        "sitting-upright": Pose(15.0, -20.0, 15.0, hip_height_m=0.45, sway=0.4),
        "sitting-slouched": Pose(8.0, -5.0, 25.0, hip_height_m=0.45, sway=0.4),
        "walking": STANDING.moved(pelvis_deg=2.0, sway=-1.0, walk=1.0),
        "lying-supine": Pose(-60.0, -30.0, 5.0, hip_height_m=0.1, sway=0.1),
    }
)
"""Mean pose of every everyday posture (slouch depth is varied per bout)."""

SIT_TO_LIE_POSE: Final = _FLOOR_SIT.moved(hip_height_m=0.3)
"""Intermediate pose when lying down or getting up."""
SIT_DOWN_POSE: Final = _SIT_DOWN_LEAN
"""Intermediate pose (trunk leaning forward) when sitting down or standing up."""
