"""Reader for the x-io Technologies Fusion CSV layout (one IMU per file).

The layout is the one of the sample data published with the Fusion AHRS library
(``sensor_data.csv``)::

    Time (s),Gyroscope X (deg/s),Gyroscope Y (deg/s),Gyroscope Z (deg/s),
    Accelerometer X (g),Accelerometer Y (g),Accelerometer Z (g),
    Magnetometer X (uT),Magnetometer Y (uT),Magnetometer Z (uT)

The magnetometer columns may be absent. Accelerometer values are in g and become
m/s² (× 9.80665, :data:`spinecoach.conventions.STANDARD_GRAVITY_MPS2`); gyroscope
values are already deg/s and magnetometer values µT.

It is a preset of the generic CSV reader (:mod:`spinecoach.io.csv_generic`): the same
parsing, validation and error messages, with a fixed :class:`CsvMapping`.

>>> fusion_mapping(FUSION_COLUMNS[:7]).lower.acc_unit
'g'
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Final

from spinecoach.conventions import LOWER, PLACEMENTS
from spinecoach.errors import ConfigurationError
from spinecoach.io.csv_generic import read_csv_preset
from spinecoach.io.csv_mapping import CsvMapping, SensorColumns
from spinecoach.io.csv_table import header_fields, known_columns
from spinecoach.recording import Recording

FUSION_TIME: Final = "Time (s)"
FUSION_GYR: Final = ("Gyroscope X (deg/s)", "Gyroscope Y (deg/s)", "Gyroscope Z (deg/s)")
FUSION_ACC: Final = ("Accelerometer X (g)", "Accelerometer Y (g)", "Accelerometer Z (g)")
FUSION_MAG: Final = ("Magnetometer X (uT)", "Magnetometer Y (uT)", "Magnetometer Z (uT)")
FUSION_COLUMNS: Final = (FUSION_TIME, *FUSION_GYR, *FUSION_ACC, *FUSION_MAG)
FUSION_DEVICE: Final = "x-io Fusion CSV"


def fusion_mapping(header: Sequence[str], *, placement: str = LOWER) -> CsvMapping | None:
    """The Fusion mapping for this header, or ``None`` when it is not a Fusion header.

    Column names are matched case-insensitively with spaces trimmed; the magnetometer
    is mapped only when its three columns are present.

    >>> fusion_mapping(["Time (s)", "a", "b"]) is None
    True
    """
    names = known_columns(header)

    def has(columns: Sequence[str]) -> bool:
        return all(c.casefold() in names for c in columns)

    if not has((FUSION_TIME, *FUSION_GYR, *FUSION_ACC)):
        return None
    columns = SensorColumns(
        acc=FUSION_ACC,
        acc_unit="g",
        gyr=FUSION_GYR,
        gyr_unit="deg/s",
        mag=FUSION_MAG if has(FUSION_MAG) else None,
        mag_unit="uT",
    )
    return CsvMapping.of(placement, columns, time=FUSION_TIME, time_unit="s")


def is_fusion_file(path: str | os.PathLike[str]) -> bool:
    """True when the file's first line is a Fusion CSV header (reads at most 64 KiB)."""
    header = header_fields(path)
    return header is not None and fusion_mapping(header) is not None


def read_fusion_csv(
    path: str | os.PathLike[str],
    *,
    placement: str = LOWER,
    rate_hz: float | None = None,
) -> Recording:
    """Read an x-io Fusion CSV file as a one-sensor recording.

    ``placement`` (``"lower"`` by default, or ``"upper"``) says where the sensor was
    worn. ``rate_hz`` overrides the nominal rate derived from the median time step
    (the Fusion sample file gives 99.22 Hz). Units after reading: s, m/s², deg/s, µT.

    >>> import tempfile, pathlib
    >>> text = ",".join(FUSION_COLUMNS[:7]) + "\\n0,0,0,0,0,0,1\\n0.01,0,0,0,0,0,1\\n"
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder, "sensor_data.csv")
    ...     _ = path.write_text(text)
    ...     rec = read_fusion_csv(path)
    >>> float(rec.sensors["lower"].acc_mps2[0, 2]), rec.sensors["lower"].rate_hz
    (9.80665, 100.0)
    """
    if placement not in PLACEMENTS:
        raise ConfigurationError(
            f"unknown sensor placement {placement!r}; use one of {', '.join(PLACEMENTS)}"
        )
    return read_csv_preset(
        path,
        lambda header: fusion_mapping(header, placement=placement),
        rate_hz=rate_hz,
        device=FUSION_DEVICE,
        source_format="fusion",
        expected_header="the x-io Fusion header "
        f"({FUSION_TIME}, {', '.join(FUSION_GYR)}, {', '.join(FUSION_ACC)}[, magnetometer])",
        fix="For other CSV layouts pass --format csv with a --mapping",
    )
