"""All-day posture from one or two trunk IMUs: lying, sitting (upright / slouched),
standing, walking and transitions per second, minute summaries, sitting bouts, breaks
and desk breaks. See docs/posture.md.

Method (vectorised per second, no per-sample AHRS, so a 16-hour two-sensor 100 Hz day
takes seconds):

1. Per sensor and second: the mean specific force (over a second, linear accelerations
   of everyday postures average out, so it is gravity), the SD of the acceleration
   magnitude, its mean-crossings per second (walking: twice the cadence, ≈3.6 /s) and
   the gyroscope RMS (:mod:`spinecoach.posture.features`).
2. Alignment to the segment (:mod:`spinecoach.posture.alignment`): the recording's
   calibration windows (standing neutral + forward bends, the same method as
   :mod:`spinecoach.motion.calibration`), else the walking neutral with a plausibility
   check, else the nominal mounting (untrusted).
3. Inclinations relative to standing: pelvis (lower), trunk (upper), lumbar flexion =
   upper − lower. Rules: walking (dynamic and periodic), lying (superior axis > 55°
   from vertical), transition (fast rotation or a step in inclination), sitting (pelvis
   tilted > 8° posterior of standing), slouched (lumbar flexion above the person's
   threshold; pelvis only with one lower sensor — less certain), standing otherwise.
4. Sitting bouts (interruptions under 8 s do not end one), breaks between bouts, desk
   breaks (a breath-paced lumbar swing while sitting), per-minute summaries with a trust
   flag.

Streaming: :class:`PostureTracker`; batch: :func:`posture_process` (same code).
"""

from spinecoach.posture.batch import PostureResult, posture_process
from spinecoach.posture.model import (
    POSTURE_CLASSES,
    DeskBreak,
    MinuteSummary,
    PostureSecond,
    PostureSettings,
    PostureUpdate,
    SittingBout,
    SittingBreak,
    TrustReport,
)
from spinecoach.posture.tracker import PostureTracker, SecondBlock

__all__ = [
    "POSTURE_CLASSES",
    "DeskBreak",
    "MinuteSummary",
    "PostureResult",
    "PostureSecond",
    "PostureSettings",
    "PostureTracker",
    "PostureUpdate",
    "SecondBlock",
    "SittingBout",
    "SittingBreak",
    "TrustReport",
    "posture_process",
]
