"""All-day posture from one or two trunk IMUs, or one sensor on a belt or a phone in a
waist pouch worn any way round: lying, sitting (upright / slouched), standing, walking,
bending and transitions per second, minute summaries, sitting bouts, breaks and desk
breaks. See docs/posture.md.

Method (vectorised per second, no per-sample AHRS, so a 16-hour two-sensor 100 Hz day
takes seconds):

1. Per sensor and second: the mean specific force (over a second, linear accelerations
   of everyday postures average out, so it is gravity), the SD of the acceleration
   magnitude, the crossings of its mean by the smoothed magnitude (walking: twice the
   cadence), the gyroscope RMS and the gait moments that tie the horizontal acceleration
   to the vertical bounce (:mod:`spinecoach.posture.features`).
2. Alignment to the body: the recording's calibration windows (standing neutral +
   forward bends, :mod:`spinecoach.posture.alignment`), else *learnt from the wear*
   (:mod:`spinecoach.posture.forward`): up = the mean gravity while walking; the fore-aft
   axis = the horizontal acceleration that goes with the steps' vertical bounce; forward =
   the side the trunk speeds up on a quarter step before it rises (real gait) and the side
   it tilts to in brief deep bends, the opposite of the side the pelvis tilts to when
   sitting. Any orientation works — a sensor upside down, a phone turned 90° on the hip.
   Until every sensor's forward is known the seconds are held (at most 30 min); past that
   they are labelled with the best guess and marked *not trusted* with the reason, and the
   learnt axes take over, trusted, at the minute they are known. A day is trusted only
   when every labelled second was.
   Design choice: a normal belt mount is never "upside down" — there is no nominal
   mounting to be wrong against, only the data; the old "orientation check" (walking up
   within 50° of the nominal) is gone.
3. Inclinations relative to upright: pelvis (lower), trunk (upper), lumbar flexion =
   upper − lower. Rules: walking (step-like seconds closed over 1-s gaps and trimmed by a
   second at the end: 3 s of context, so the labels lag the data by 3 s), lying (superior
   axis > 55° from vertical) unless bending (the reference segment > 25° forward, mostly
   sagittal, and beyond 80° only for 60 s: a stoop is never lying nor sitting),
   transition (fast rotation or a step in inclination), sitting (pelvis tilted > 8°
   posterior of upright), slouched (lumbar flexion above the person's threshold; pelvis
   only with one lower sensor — less certain), standing otherwise.
4. Sitting bouts (interruptions under 8 s do not end one), breaks between bouts, desk
   breaks (a breath-paced lumbar swing while sitting), per-minute summaries with a trust
   flag.

Streaming: :class:`PostureTracker`; batch: :func:`posture_process` (same code; learning
and settling happen at whole minutes of data, so any batching gives the same labels).
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
