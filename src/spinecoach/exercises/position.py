"""Which position the person is in: supine, quadruped, seated or standing.

From the angles alone, per frame:

* the trunk (upper segment) inclination separates lying on the back (near −90°), hands
  and knees (near +90°) and upright (near 0°), with ``TOLERANCE_DEG`` either side; after
  an upright calibration, hands and knees also needs the pelvis turned ≥ 45° (a standing
  forward bend inclines the trunk as much but turns the pelvis only 20–35°);
* seated versus standing, both upright, differ at the pelvis: sitting rolls it back
  15–25° relative to standing (DESIGN.md's simulator table; Lord et al. 1997). The pelvic
  tilt is relative to the calibrated neutral, so the split is only possible when that
  neutral was itself upright: calibrated standing, a pelvis ``SEATED_SHIFT_DEG`` or more
  further back is seated; calibrated seated, that much further forward is standing.
  After a supine or hands-and-knees calibration an upright trunk is just "upright".

The exercise engine counts only in the technique's own position and reports the time
spent in each (``ExerciseResult.info["position_s"]``), with a plain note when the
technique's position was never seen.

>>> classify_position(-88.0, 0.0, calibrated="supine")
'supine'
>>> classify_position(2.0, -20.0, calibrated="standing")
'seated'
>>> classify_position(5.0, 0.0, calibrated="quadruped")
'upright'
"""

from __future__ import annotations

import math

#: Half-width (deg) of the trunk inclination band of each position.
TOLERANCE_DEG = 35.0
#: Pelvic rotation (deg) that separates sitting from standing.
SEATED_SHIFT_DEG = 12.0

POSITIONS = ("supine", "quadruped", "seated", "standing", "upright", "between", "unknown")


def classify_position(trunk_deg: float, pelvic_tilt_deg: float, *, calibrated: str) -> str:
    """The position for one frame (one of :data:`POSITIONS`)."""
    if not math.isfinite(trunk_deg):
        return "unknown"
    if abs(trunk_deg + 90.0) <= TOLERANCE_DEG:
        return "supine"
    if abs(trunk_deg - 90.0) <= TOLERANCE_DEG:
        # From an upright neutral the pelvis turns ~60–90° to go on hands and knees, but
        # only ~20–35° in a standing forward bend.
        upright = calibrated in ("seated", "standing")
        if not upright or (math.isfinite(pelvic_tilt_deg) and pelvic_tilt_deg >= 45.0):
            return "quadruped"
        return "between"
    if abs(trunk_deg) > TOLERANCE_DEG:
        return "between"
    if calibrated not in ("seated", "standing") or not math.isfinite(pelvic_tilt_deg):
        return "upright"
    if calibrated == "standing":
        return "seated" if pelvic_tilt_deg <= -SEATED_SHIFT_DEG else "standing"
    return "standing" if pelvic_tilt_deg >= SEATED_SHIFT_DEG else "seated"
