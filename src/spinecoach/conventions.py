"""Frames, signs, names and units — written once for the whole project.

Nothing else in spinecoach redefines these. Read this module before touching angles.

Earth frame
    NWU (x north, y west, z up), the ``imufusion.CONVENTION_NWU`` convention. Only the
    *up* direction matters for the clinical angles; heading is arbitrary per sensor
    when there is no magnetometer.

Segment frame (ISB recommendation)
    X anterior, Y superior, Z to the right (X = Y × Z). Sagittal rotation is about Z.

Sensor frame
    Whatever the device uses. The sensor-to-segment calibration (``spinecoach.motion``)
    finds the segment axes expressed in the sensor frame, so a sensor may be mounted in
    any orientation on the skin.

Angles (degrees at every public boundary)
    segment inclination
        The angle of the segment's superior axis from vertical in the sagittal plane,
        forward (flexion) positive. With ``u`` = earth-up expressed in segment axes,
        ``inclination = atan2(-u_x, u_y)``. Upright standing = 0, lying supine = -90,
        hands-and-knees (trunk horizontal, head forward) = +90.
    lumbar flexion
        upper-segment (T12/L1) inclination − lower-segment (sacral) inclination, zero at
        the calibrated neutral posture; flexion positive, extension negative.
    pelvic tilt
        lower (sacral) segment inclination relative to the calibrated neutral; anterior
        tilt positive, posterior tilt negative.
    trunk inclination
        upper-segment inclination from vertical (absolute, not relative to neutral).
    lateral bend (secondary)
        upper − lower frontal-plane inclination, ``atan2(-u_z, u_y)``; bending to the
        right positive.
    axial rotation (secondary)
        rotation of the upper segment relative to the lower one about the superior axis
        (right-hand rule about +Y: turning the shoulders to the left is positive), zero at
        neutral. Without a magnetometer it drifts slowly; treat it as indicative.

Units: seconds, m/s² (``_mps2``), deg/s (``_dps``), µT (``_ut``), degrees (``_deg``),
hertz (``_hz``). Convert once, in the adapter that reads the outside world.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:  # numpy is imported where used: the command line starts without it
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

STANDARD_GRAVITY_MPS2: Final = 9.80665

# Sensor placements -------------------------------------------------------------------
UPPER: Final = "upper"  # over T12/L1
LOWER: Final = "lower"  # over the sacrum (S1/S2)
PLACEMENTS: Final[tuple[str, ...]] = (LOWER, UPPER)
PLACEMENT_DESCRIPTIONS: Final[dict[str, str]] = {
    UPPER: "upper sensor over the thoracolumbar junction (T12/L1)",
    LOWER: "lower sensor over the sacrum (S1/S2)",
}
Placement = Literal["upper", "lower"]

# Techniques: the same names in the CLI, in files and in the API -----------------------
PELVIC_TILT: Final = "pelvic-tilt"
CAT_COW: Final = "cat-cow"
CAT_COW_SEATED: Final = "cat-cow-seated"
HIP_HINGE: Final = "hip-hinge"
FLEXION_EXTENSION: Final = "flexion-extension"
TECHNIQUES: Final[tuple[str, ...]] = (
    PELVIC_TILT,
    CAT_COW,
    CAT_COW_SEATED,
    HIP_HINGE,
    FLEXION_EXTENSION,
)

# Everyday postures (simulator activities, posture monitoring) --------------------------
POSTURES: Final[tuple[str, ...]] = (
    "standing",
    "sitting-upright",
    "sitting-slouched",
    "walking",
    "lying-supine",
)

# Body positions an exercise starts from, with the nominal inclination (deg) of the
# trunk segments in that position's neutral. Used to turn a neutral-relative angle into
# an absolute trunk inclination.
POSITION_NOMINAL_INCLINATION_DEG: Final[dict[str, float]] = {
    "standing": 0.0,
    "seated": 0.0,
    "supine": -90.0,
    "quadruped": 90.0,
}

# Column names of sensor data --------------------------------------------------------
TIME_S: Final = "time_s"
ACC_COLUMNS: Final = ("acc_x_mps2", "acc_y_mps2", "acc_z_mps2")
GYR_COLUMNS: Final = ("gyr_x_dps", "gyr_y_dps", "gyr_z_dps")
MAG_COLUMNS: Final = ("mag_x_ut", "mag_y_ut", "mag_z_ut")

# Column names of clinical angle outputs -----------------------------------------------
LUMBAR_FLEXION: Final = "lumbar_flexion_deg"
PELVIC_TILT_DEG: Final = "pelvic_tilt_deg"
TRUNK_INCLINATION: Final = "trunk_inclination_deg"
LATERAL_BEND: Final = "lateral_bend_deg"
AXIAL_ROTATION: Final = "axial_rotation_deg"
UPPER_INCLINATION: Final = "upper_inclination_deg"
LOWER_INCLINATION: Final = "lower_inclination_deg"
ANGLE_COLUMNS: Final[tuple[str, ...]] = (
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    TRUNK_INCLINATION,
    LATERAL_BEND,
    AXIAL_ROTATION,
    UPPER_INCLINATION,
    LOWER_INCLINATION,
)
# Extra per-frame motion outputs that are not angles: the motion core adds them to its
# frames (``AngleFrames.angles``) but they are never in ANGLE_COLUMNS, so the store, the
# web page, the camera and the angle summaries (which iterate ANGLE_COLUMNS) leave them out.
# Vertical displacement (m, up positive) of the lower (sacral) sensor, high-passed so it
# does not drift (spinecoach.motion.height): a squat or a sit-down lowers it by 0.2-0.5 m,
# a forward bend by a few centimetres. NaN without a lower sensor or its accelerometer.
PELVIS_HEIGHT_M: Final = "pelvis_height_m"
EXTRA_COLUMNS: Final[tuple[str, ...]] = (PELVIS_HEIGHT_M,)
# The angles every accuracy gate is about, in report order.
PRIMARY_ANGLES: Final[tuple[str, ...]] = (LUMBAR_FLEXION, PELVIC_TILT_DEG, TRUNK_INCLINATION)

# Event kinds (annotations in recordings, ground-truth events) ---------------------------
EVENT_CALIBRATION_NEUTRAL: Final = "calibration-neutral"
EVENT_CALIBRATION_FUNCTIONAL: Final = "calibration-functional"
# One comfortable rep the coach asks for before the sets: it sets the personal range and
# is not counted.
EVENT_CALIBRATION_REP: Final = "calibration-rep"
# The 5-s neutral check in the start position that decides whether a kept calibration
# still holds (motion.calibration_store); the full protocol follows only when it fails.
EVENT_CALIBRATION_CHECK: Final = "calibration-check"
# The breathing pacer's schedule (the coach logs what it asked for): one event per phase.
EVENT_BREATH_INHALE: Final = "breath-inhale"
EVENT_BREATH_EXHALE: Final = "breath-exhale"
EVENT_SETUP: Final = "setup"  # getting into or out of position
EVENT_REP: Final = "rep"
EVENT_HOLD: Final = "hold"
EVENT_REST: Final = "rest"
EVENT_FAULT: Final = "fault"
EVENT_GAP: Final = "gap"
EVENT_ACTIVITY: Final = "activity"  # an everyday posture bout
# A run of sitting (upright or slouched) not interrupted by standing, walking or lying.
EVENT_SITTING_BOUT: Final = "sitting-bout"
# A 2-minute seated cat-cow done at the desk (all-day wear).
EVENT_DESK_BREAK: Final = "desk-break"
# A movement outside the technique's plane done before, between or after the sets
# (lateral bend or axial rotation, label e.g. "lateral-bend-left"): never a rep.
EVENT_DISTRACTOR: Final = "distractor"


# The angle definitions, as functions (the simulator's truth and the motion core both call
# these, so the two can never disagree on a sign). -------------------------------------
def inclination_from_up_deg(up_x: ArrayLike, up_y: ArrayLike) -> NDArray[np.float64]:
    """Sagittal inclination (deg, forward positive) from earth-up in segment axes.

    Works on floats or numpy arrays. ``up_x``/``up_y`` are the anterior and superior
    components of the unit up vector expressed in the segment frame.

    >>> abs(float(inclination_from_up_deg(0.0, 1.0)))  # upright
    0.0
    >>> round(float(inclination_from_up_deg(-0.5, 0.866)), 1)  # leaning forward
    30.0
    >>> round(float(inclination_from_up_deg(1.0, 0.0)), 6)  # lying on the back
    -90.0
    """
    return _degrees_atan2_minus(up_x, up_y)


def frontal_inclination_from_up_deg(up_z: ArrayLike, up_y: ArrayLike) -> NDArray[np.float64]:
    """Frontal-plane inclination (deg, bending to the right positive), see above."""
    return _degrees_atan2_minus(up_z, up_y)


def _degrees_atan2_minus(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """``degrees(arctan2(-a, b))`` as float64, computed in one new array when ``a`` has
    the result's shape (the batch path's arrays: each temporary of an hour at 100 Hz cost
    about 1 ms); the same numbers as the plain expression."""
    import numpy as np

    first, other = np.asarray(a), np.asarray(b)
    if (
        first.dtype != np.float64
        or first.ndim == 0
        or first.shape != np.broadcast_shapes(first.shape, other.shape)
    ):
        return np.asarray(np.degrees(np.arctan2(-first, other)), dtype=np.float64)
    angle: NDArray[np.float64] = np.negative(first)
    np.arctan2(angle, other, out=angle)
    np.degrees(angle, out=angle)
    return angle


def finite_or_none(value: Any) -> Any:
    """The same structure with NaN and infinite floats as None: JSON has no NaN, so every
    JSON spinecoach writes (``--json``, the server's messages) goes through this.

    >>> finite_or_none({"a": [1.0, float("nan")], "b": (float("inf"), "x")})
    {'a': [1.0, None], 'b': [None, 'x']}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    return value


def lazy_exports(
    package: str, where: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A package's module ``__getattr__`` (PEP 562) that imports each exported name from
    its module (``where``: name → module) on first use and keeps it in the package's
    ``namespace`` (its ``globals()``), so importing the package stays cheap.

    >>> getattr_ = lazy_exports("pkg", {"sqrt": "math"}, namespace := {})
    >>> getattr_("sqrt")(4.0), "sqrt" in namespace
    (2.0, True)
    """

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
