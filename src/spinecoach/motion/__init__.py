"""The motion core: IMU samples → orientation → calibrated segments → clinical angles.

Batch: :func:`motion_process` (a whole recording). Streaming: :class:`MotionTracker`
(``update(sample)``). Both give the same numbers on the same data.
"""

from spinecoach.motion.calibration import CalibrationPlan, SegmentCalibration, calibrate_segment
from spinecoach.motion.flags import (
    FLAG_GAP,
    FLAG_MAG_DISTURBANCE,
    FLAG_NAMES,
    FLAG_NOT_CALIBRATED,
    FLAG_SATURATED,
    FLAG_SETTLING,
    describe_flags,
)
from spinecoach.motion.fusion import FusionSettings, SensorFusion, fusion_process
from spinecoach.motion.process import AngleFrames, MotionSettings, motion_process
from spinecoach.motion.stream import AngleFrame, MotionTracker, SensorSample

__all__ = [
    "FLAG_GAP",
    "FLAG_MAG_DISTURBANCE",
    "FLAG_NAMES",
    "FLAG_NOT_CALIBRATED",
    "FLAG_SATURATED",
    "FLAG_SETTLING",
    "AngleFrame",
    "AngleFrames",
    "CalibrationPlan",
    "FusionSettings",
    "MotionSettings",
    "MotionTracker",
    "SegmentCalibration",
    "SensorFusion",
    "SensorSample",
    "calibrate_segment",
    "describe_flags",
    "fusion_process",
    "motion_process",
]
