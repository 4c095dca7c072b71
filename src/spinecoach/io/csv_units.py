"""Units of the generic CSV reader: accepted spellings, conversion to project units, checks.

Each sensor's unit has a canonical name and the spellings people write
(``"dps"``, ``"m/s^2"``, ``"µT"``...), compared lower-cased. Values are converted to the
project's units (s, m/s², deg/s, µT) once, when a file is read
(:mod:`spinecoach.io.csv_generic`). The checks refuse a unit only where the answer is
unambiguous: an accelerometer whose median magnitude is about 1 while declared in m/s²
(or about 9.8 while declared in g), and a gyroscope declared in rad/s whose
99th-percentile speed exceeds 35 rad/s (2000 deg/s, the full scale of body-worn
gyroscopes).

>>> canonical_column("DPS", GYR_UNITS, "gyroscope")
'deg/s'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.errors import ConfigurationError, UnitError
from spinecoach.recording import FloatArray

# Units: canonical name -> accepted spellings (compared lower-cased) ---------------------
TIME_UNITS: Final[dict[str, tuple[str, ...]]] = {
    "s": ("s", "sec", "second", "seconds"),
    "ms": ("ms", "msec", "millisecond", "milliseconds"),
    "us": ("us", "µs", "μs", "usec", "microsecond", "microseconds"),
    "ns": ("ns", "nsec", "nanosecond", "nanoseconds"),
    "datetime": ("datetime", "iso", "iso8601", "iso-8601", "date"),
}
ACC_UNITS: Final[dict[str, tuple[str, ...]]] = {
    "m/s2": ("m/s2", "m/s^2", "m/s²", "mps2"),
    "g": ("g",),
    "mg": ("mg", "milli-g", "millig"),
}
GYR_UNITS: Final[dict[str, tuple[str, ...]]] = {
    "deg/s": ("deg/s", "dps", "°/s", "degps"),
    "rad/s": ("rad/s", "rads", "radps"),
}
MAG_UNITS: Final[dict[str, tuple[str, ...]]] = {
    "uT": ("ut", "µt", "μt", "microtesla"),
    "mT": ("mt", "millitesla"),
    "gauss": ("gauss", "gs"),
    "nT": ("nt", "nanotesla"),
}
# value_in_project_unit = value * multiply / divide (dividing keeps 1/1000 exact-ish).
TIME_DIVIDE: Final = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
ACC_MULTIPLY: Final = {"m/s2": 1.0, "g": STANDARD_GRAVITY_MPS2, "mg": STANDARD_GRAVITY_MPS2 / 1e3}
MAG_SCALE: Final = {"uT": (1.0, 1.0), "mT": (1e3, 1.0), "gauss": (100.0, 1.0), "nT": (1.0, 1e3)}
GYRO_FULL_SCALE_RADPS: Final = 35.0  # 2000 deg/s: no body-worn gyroscope reads more


def canonical_column(unit: str, table: Mapping[str, tuple[str, ...]], what: str) -> str:
    key = unit.strip().lower()
    for name, spellings in table.items():
        if key == name.lower() or key in spellings:
            return name
    raise ConfigurationError(f"unknown {what} unit {unit!r}; use one of {', '.join(table)}")


def acc_to_mps2(raw: FloatArray, unit: str) -> FloatArray:
    """Accelerometer values in the canonical ``unit`` (``m/s2``, ``g``, ``mg``) → m/s²."""
    return raw * ACC_MULTIPLY[unit] if unit != "m/s2" else raw


def gyr_to_dps(raw: FloatArray, unit: str) -> FloatArray:
    """Gyroscope values in the canonical ``unit`` (``deg/s``, ``rad/s``) → deg/s."""
    return np.degrees(raw) if unit == "rad/s" else raw


def mag_to_ut(raw: FloatArray, unit: str) -> FloatArray:
    """Magnetometer values in the canonical ``unit`` (``uT``, ``mT``, ``gauss``, ``nT``) → µT."""
    multiply, divide_by = MAG_SCALE[unit]
    mag = raw
    if multiply != 1.0:
        mag = mag * multiply
    if divide_by != 1.0:
        mag = mag / divide_by
    return mag


def check_acc_unit(source: str, raw: FloatArray, names: Sequence[str], unit: str) -> None:
    """Refuse an accelerometer unit its values contradict (g read as m/s² or the reverse).

    ``source`` names the file in the message, ``names`` the three columns, ``raw`` the
    values as read (n × 3) and ``unit`` the canonical declared unit.
    """
    median = float(np.median(np.linalg.norm(raw, axis=1)))
    shown = ",".join(names)
    if unit == "m/s2" and 0.5 <= median <= 2.0:
        raise UnitError(
            f"{source}, columns {shown}: the accelerometer is declared in m/s² but its "
            f"median magnitude is {median:.3g}, which looks like g (at rest a sensor reads "
            f"1 g = 9.81 m/s²). If the file is in g, pass the unit g: 'acc={shown}:g'. "
            "spinecoach needs acceleration including gravity"
        )
    if unit == "g" and 4.9 <= median <= 19.6:
        raise UnitError(
            f"{source}, columns {shown}: the accelerometer is declared in g but its "
            f"median magnitude is {median:.3g}, which looks like m/s² (at rest a sensor reads "
            f"9.81 m/s² = 1 g). If the file is in m/s², pass the unit m/s2: "
            f"'acc={shown}:m/s2'"
        )


def check_gyr_unit(source: str, raw: FloatArray, names: Sequence[str], unit: str) -> None:
    """Refuse rad/s for a gyroscope faster than any body-worn one (it is deg/s then)."""
    if unit != "rad/s":
        return  # small deg/s values are plausible (slow movement): no guess
    speed = float(np.percentile(np.linalg.norm(raw, axis=1), 99))
    if speed > GYRO_FULL_SCALE_RADPS:
        shown = ",".join(names)
        raise UnitError(
            f"{source}, columns {shown}: the gyroscope is declared in rad/s but its "
            f"99th-percentile speed is {speed:.3g}, above the 35 rad/s (2000 deg/s) full "
            f"scale of body-worn gyroscopes; it looks like deg/s. Pass the unit dps: "
            f"'gyr={shown}:dps'"
        )
