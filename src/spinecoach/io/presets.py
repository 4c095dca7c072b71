"""Named presets for the generic CSV reader: common layouts without writing a mapping.

Pass the preset's name where a mapping goes: ``--format csv --mapping gaitmap`` on the
command line, ``load_recording(path, format="csv", mapping="gaitmap")`` in Python (a
mapping text always holds ``=``, a preset name never does).

===================  =====================================================================
name                 layout (columns: unit)
===================  =====================================================================
``gaitmap``          gaitmap's sensor frame names, no time column (pass ``--rate``):
                     ``acc_x, acc_y, acc_z``: m/s²; ``gyr_x, gyr_y, gyr_z``: deg/s
``physics-toolbox``  Physics Toolbox Sensor Suite (Vieyra Software) multi-record CSV:
                     ``time``: s; ``gFx, gFy, gFz``: g; ``wx, wy, wz``: rad/s
``microcontroller``  a typical Arduino/MPU-6050 log: ``time_ms``: ms;
                     ``ax, ay, az``: g; ``gx, gy, gz``: deg/s
``fusion``           the x-io Fusion columns (as ``--format fusion``)
``mobgap``           the mobgap/Mobilise-D lower-back IMU export (``../shared/data/mobgap``):
                     ``time_s``: s; ``acc_x_g`` ...: g; ``gyr_x_dps`` ...: deg/s;
                     ``mag_x_uT`` ...: µT
===================  =====================================================================

>>> preset_mapping("microcontroller").lower.acc_unit
'g'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from spinecoach.conventions import LOWER
from spinecoach.errors import ConfigurationError
from spinecoach.io.csv_mapping import CsvMapping, parse_mapping


@dataclass(frozen=True)
class CsvPreset:
    """A named mapping: ``mapping`` is its text form (see :func:`parse_mapping`)."""

    name: str
    mapping: str
    summary: str


CSV_PRESETS: Final[dict[str, CsvPreset]] = {
    p.name: p
    for p in (
        CsvPreset(
            "gaitmap",
            "acc=acc_x,acc_y,acc_z:m/s2,gyr=gyr_x,gyr_y,gyr_z:deg/s",
            "gaitmap sensor-frame columns, no time (pass --rate)",
        ),
        CsvPreset(
            "physics-toolbox",
            "time=time:s,acc=gFx,gFy,gFz:g,gyr=wx,wy,wz:rad/s",
            "Physics Toolbox Sensor Suite multi-record: time s, gFx/gFy/gFz g, wx/wy/wz rad/s",
        ),
        CsvPreset(
            "microcontroller",
            "time=time_ms:ms,acc=ax,ay,az:g,gyr=gx,gy,gz:deg/s",
            "Arduino/MPU-6050 style log: time_ms, ax/ay/az g, gx/gy/gz deg/s",
        ),
        CsvPreset(
            "fusion",
            "time=Time (s):s,acc=Accelerometer X (g),Accelerometer Y (g),Accelerometer Z (g):g,"
            "gyr=Gyroscope X (deg/s),Gyroscope Y (deg/s),Gyroscope Z (deg/s):deg/s",
            "x-io Fusion columns (time s, accelerometer g, gyroscope deg/s)",
        ),
        CsvPreset(
            "mobgap",
            "time=time_s:s,acc=acc_x_g,acc_y_g,acc_z_g:g,gyr=gyr_x_dps,gyr_y_dps,gyr_z_dps:deg/s,"
            "mag=mag_x_uT,mag_y_uT,mag_z_uT:uT",
            "mobgap lower-back IMU: time_s, acc_*_g (g), gyr_*_dps (deg/s), mag_*_uT (µT)",
        ),
    )
}


def is_preset_name(text: str) -> bool:
    """True when ``text`` is meant as a preset name (it has no ``=``)."""
    return "=" not in text


def preset_mapping(name: str, *, placement: str = LOWER) -> CsvMapping:
    """The :class:`CsvMapping` of the preset called ``name`` (case-insensitive).

    Raises :class:`~spinecoach.errors.ConfigurationError` listing the presets when the
    name is unknown.
    """
    preset = CSV_PRESETS.get(name.strip().lower())
    if preset is None:
        raise ConfigurationError(
            f"unknown CSV preset {name!r}; use one of {', '.join(CSV_PRESETS)}, or a mapping "
            "such as 'time=t:ms,acc=ax,ay,az:g,gyr=gx,gy,gz:dps'"
        )
    return parse_mapping(preset.mapping, placement=placement)
