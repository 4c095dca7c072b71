"""Signal-quality flags: a bit mask that travels with every sample and output frame.

Poor signal quality is a flag on the data, never an exception. A frame's flags are the OR
of its two bracketing samples' flags (per sensor) plus the frame's own (a gap).
"""

from __future__ import annotations

FLAG_NOT_CALIBRATED = 1
FLAG_GAP = 2
FLAG_SATURATED = 4
FLAG_MAG_DISTURBANCE = 8
#: The orientation was re-seeded from the accelerometer after a gap and is settling.
FLAG_SETTLING = 16
#: The calibration was estimated from the movement with low confidence (see the
#: calibration's ``reason``): the angles are an estimate, not silence.
FLAG_LOW_CONFIDENCE = 32
#: No gyroscope: the inclination comes from the accelerometer (gravity) alone, so fast
#: movements read a few degrees off and axial rotation is not available.
FLAG_ACCEL_ONLY = 64

FLAG_NAMES = {
    FLAG_NOT_CALIBRATED: "calibration not done",
    FLAG_GAP: "gap in the sensor data",
    FLAG_SATURATED: "sensor saturated",
    FLAG_MAG_DISTURBANCE: "magnetic disturbance",
    FLAG_SETTLING: "orientation settling after a gap",
    FLAG_LOW_CONFIDENCE: "calibration of low confidence",
    FLAG_ACCEL_ONLY: "accelerometer only (no gyroscope)",
}

#: The Earth's field is 22–67 µT everywhere on the surface (World Magnetic Model); a
#: magnetometer reading outside this band is disturbed (steel, magnets, electronics).
EARTH_FIELD_RANGE_UT = (20.0, 70.0)


def describe_flags(flags: int) -> list[str]:
    """The names of the flags set in ``flags``.

    >>> describe_flags(FLAG_GAP | FLAG_SATURATED)
    ['gap in the sensor data', 'sensor saturated']
    """
    return [name for bit, name in FLAG_NAMES.items() if flags & bit]
