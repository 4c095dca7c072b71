"""Recognising a CSV file's columns and units from its header, and units from the data.

Files from other brands name their columns in many ways (``AccX``, ``acc_x``,
``Accelerometer X (g)``, ``Acc_X [m/s^2]``, ``gyro_x``, ``GyrZ (rad/s)``,
``timestamp_ms`` ...). When neither a mapping nor spinecoach's own names are given,
:func:`guess_mapping` reads a header only where the reading is unambiguous:

* a column name is cut into a unit (in brackets, ``(g)`` / ``[m/s^2]``, or a last
  word such as ``_g``, ``_dps``, ``_ms``) and a key (the rest, lower-cased, without
  spaces, ``_``, ``-`` or ``.``). Keys recognised: ``acc|accel|accelerometer|
  acceleration|a`` + axis, ``gyr|gyro|gyroscope|angularvelocity|angularrate|
  rotationrate|g`` + axis, ``mag|magnetometer|magneticfield|m`` + axis, and ``time``,
  ``t``, ``timestamp``, ``datetime``, ``date``, ``elapsed``, ``elapsedtime``,
  ``secondselapsed``, ``seconds`` (and ``time_ms``-style names with a unit). Names
  such as ``linear_acc_x`` or ``FreeAcc_X`` (acceleration without gravity) are never
  taken for the accelerometer.
* Every axis x, y, z of the accelerometer must be found exactly once; the gyroscope
  and magnetometer are used when all three axes are found once (no gyroscope: an
  accelerometer-only sensor). Two candidates for one axis, or for the time, and the
  header is not guessed (the error says which).
* Units not written in the header are decided from the values
  (:func:`decide_units`), again only where the answer is unambiguous: the
  accelerometer by its median magnitude (about 1 → g, about 9.8 → m/s², about 1000
  → mg); the gyroscope as deg/s when its 99th-percentile speed is above 35 (2000
  deg/s, which no body-worn gyroscope reaches in rad/s), else by comparing it with
  how fast the accelerometer's gravity direction turns while the sensor tilts
  (:func:`gyro_unit_from_tilt`: the two agree within a factor 2.5 in one unit and
  differ by 57.3 in the other); the magnetometer by its magnitude (Earth's field,
  25–65 µT) or it is left out; a time column by the unit (s, ms, µs, ns) whose median
  step gives a rate between 5 and 2000 Hz (a window narrower than a factor 1000, so at
  most one unit fits). Anything else is refused with a message that shows the
  mapping to pass.

>>> g = guess_mapping(["Timestamp (ms)", "AccX", "AccY", "AccZ", "GyroX", "GyroY", "GyroZ"])
>>> g.mapping.time, g.mapping.time_unit, g.mapping.lower.acc, sorted(g.undecided)
('Timestamp (ms)', 'ms', ('AccX', 'AccY', 'AccZ'), ['acc', 'gyr'])
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from spinecoach.conventions import LOWER
from spinecoach.errors import ConfigurationError, UnitError
from spinecoach.io.csv_mapping import CsvMapping, SensorColumns
from spinecoach.io.csv_units import (
    ACC_UNITS,
    GYR_UNITS,
    GYRO_FULL_SCALE_RADPS,
    MAG_UNITS,
    TIME_DIVIDE,
    TIME_UNITS,
    canonical_column,
)
from spinecoach.recording import FloatArray

_KEYS: Final = {
    "acc": re.compile(r"^(?:a|acc|accel|accelerometer|acceleration)([xyz])$"),
    "gyr": re.compile(
        r"^(?:g|gyr|gyro|gyroscope|angularvelocity|angularrate|rotationrate)([xyz])$"
    ),
    "mag": re.compile(r"^(?:m|mag|magnetometer|magneticfield)([xyz])$"),
}
_TIME_KEYS: Final = frozenset(
    {
        "time",
        "t",
        "timestamp",
        "datetime",
        "date",
        "elapsed",
        "elapsedtime",
        "secondselapsed",
        "seconds",
    }
)
# Spellings seen in headers beyond those the mapping text accepts.
_EXTRA_SPELLINGS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "acc": {"m/s2": ("ms2", "ms^2", "ms-2", "m/s/s", "m*s^-2", "m s-2")},
    "gyr": {"deg/s": ("degs", "deg/sec", "°/sec", "degree/s", "degrees/s")},
    "time": {"s": ("secs",)},
}
_TABLES: Final[dict[str, Mapping[str, tuple[str, ...]]]] = {
    "acc": ACC_UNITS,
    "gyr": GYR_UNITS,
    "mag": MAG_UNITS,
    "time": {k: v for k, v in TIME_UNITS.items() if k != "datetime"},
}
_BRACKETED: Final = re.compile(r"^(.*?)[\s_]*[(\[]\s*([^)\]]*?)\s*[)\]]\s*$")
#: Rates a body-worn IMU plausibly records at, for guessing a time unit (Hz). Narrower
#: than a factor 1000, so at most one of s, ms, µs, ns fits.
GUESS_RATE_HZ: Final = (5.0, 2000.0)
#: How far the gyroscope and the accelerometer's tilt rate may disagree in the right unit.
TILT_AGREEMENT: Final = 2.5


@dataclass(frozen=True)
class GuessedMapping:
    """What :func:`guess_mapping` read from a header.

    ``mapping`` is None when the header could not be read unambiguously (``reason``
    says why). ``undecided`` names the units the header does not give (``time``,
    ``acc``, ``gyr``, ``mag``); the mapping holds placeholders for them until
    :func:`decide_units` sees the data.
    """

    mapping: CsvMapping | None
    undecided: frozenset[str] = frozenset()
    reason: str = ""


def _unit_of(kind: str, text: str) -> str | None:
    """The canonical unit for ``text`` (None when it is no unit of this kind)."""
    key = text.strip().casefold()
    for name, spellings in _EXTRA_SPELLINGS.get(kind, {}).items():
        if key in spellings:
            return name
    try:
        return canonical_column(text, _TABLES[kind], kind)
    except ConfigurationError:
        return None


def parse_column_name(name: str) -> tuple[str, str, str | None] | None:
    """``(kind, axis, unit)`` of a column name, or None when it is not recognised.

    ``kind`` is ``acc``, ``gyr``, ``mag`` or ``time`` (axis ``""``); ``unit`` is the
    canonical unit written in the name, or None. A bracketed text that is no known
    unit (``(counts)``) gives unit ``"?"``.

    >>> parse_column_name("Accelerometer X (g)"), parse_column_name("gyr_z_dps")
    (('acc', 'x', 'g'), ('gyr', 'z', 'deg/s'))
    >>> parse_column_name("timestamp_ms"), parse_column_name("linear_acc_x") is None
    (('time', '', 'ms'), True)
    """
    text = name.strip()
    bracket: str | None = None
    match = _BRACKETED.match(text)
    if match:
        text, bracket = match.group(1), match.group(2)
    tokens = [t for t in re.split(r"[\s_\-.]+", text.casefold()) if t]
    if not tokens:
        return None

    def kind_of(key: str) -> tuple[str, str] | None:
        if key in _TIME_KEYS:
            return "time", ""
        for kind, pattern in _KEYS.items():
            found = pattern.match(key)
            if found:
                return kind, found.group(1)
        return None

    whole = kind_of("".join(tokens))
    if whole is not None:
        kind, axis = whole
        if bracket is None:
            return kind, axis, None
        return kind, axis, _unit_of(kind, bracket) or "?"
    if bracket is None and len(tokens) >= 2:
        head = kind_of("".join(tokens[:-1]))
        if head is not None:
            unit = _unit_of(head[0], tokens[-1])
            if unit is not None:
                return head[0], head[1], unit
    return None


def guess_mapping(header: Sequence[str], *, placement: str = LOWER) -> GuessedMapping:
    """Read a one-sensor mapping from common column names (see the module docstring).

    >>> guess_mapping(["acc_x", "acc_y", "acc_z"]).mapping.lower.gyr is None
    True
    >>> guess_mapping(["AccX", "AccY", "AccZ", "acc_x"]).reason
    "two columns for the accelerometer's x axis: 'AccX', 'acc_x'"
    """
    found: dict[str, dict[str, list[tuple[str, str | None]]]] = {}
    for name in header:
        parsed = parse_column_name(name)
        if parsed is not None:
            kind, axis, unit = parsed
            found.setdefault(kind, {}).setdefault(axis, []).append((name.strip(), unit))
    what = {"acc": "accelerometer", "gyr": "gyroscope", "mag": "magnetometer"}
    for kind, axes in found.items():
        for axis, names in axes.items():
            if len(names) > 1:
                listed = ", ".join(repr(n) for n, _ in names)
                if kind == "time":
                    return GuessedMapping(None, reason=f"several time columns: {listed}")
                return GuessedMapping(
                    None, reason=f"two columns for the {what[kind]}'s {axis} axis: {listed}"
                )
    undecided: set[str] = set()
    chosen: dict[str, tuple[tuple[str, str, str], str]] = {}
    for kind in ("acc", "gyr", "mag"):
        axes = found.get(kind, {})
        if set(axes) != {"x", "y", "z"}:
            continue
        triple = (axes["x"][0][0], axes["y"][0][0], axes["z"][0][0])
        units = {axes[a][0][1] for a in "xyz"}
        if len(units) > 1:
            shown = ", ".join(sorted(u or "none" for u in units))
            return GuessedMapping(
                None, reason=f"the {what[kind]} columns give different units ({shown})"
            )
        unit = units.pop()
        if unit is None or unit == "?":
            undecided.add(kind)
            unit = {"acc": "m/s2", "gyr": "deg/s", "mag": "uT"}[kind]
        chosen[kind] = (triple, unit)
    if "acc" not in chosen:
        return GuessedMapping(None, reason="no accelerometer columns x, y, z were recognised")
    time: str | None = None
    time_unit = "s"
    if "time" in found:
        time, unit = found["time"][""][0]
        if unit is None or unit == "?":
            undecided.add("time")
        else:
            time_unit = unit
    acc_names, acc_unit = chosen["acc"]
    gyr = chosen.get("gyr")
    mag = chosen.get("mag")
    columns = SensorColumns(
        acc=acc_names,
        acc_unit=acc_unit,
        gyr=None if gyr is None else gyr[0],
        gyr_unit="deg/s" if gyr is None else gyr[1],
        mag=None if mag is None else mag[0],
        mag_unit="uT" if mag is None else mag[1],
    )
    mapping = CsvMapping.of(placement, columns, time=time, time_unit=time_unit)
    return GuessedMapping(mapping, frozenset(undecided))


def time_unit_from_steps(raw_time: FloatArray, *, rate_hz: float | None = None) -> str | None:
    """The one time unit whose median step gives a rate in :data:`GUESS_RATE_HZ`, or None.

    With ``rate_hz`` (the rate the user declared), the one unit whose rate is within
    10 % of it instead: a column counting samples (step 1) at a declared 50 Hz fits none.

    >>> import numpy as np
    >>> time_unit_from_steps(np.arange(5) * 20.0), time_unit_from_steps(np.arange(5) * 0.01)
    ('ms', 's')
    >>> time_unit_from_steps(np.arange(5) * 1.0, rate_hz=50.0) is None
    True
    """
    if raw_time.shape[0] < 2:
        return None
    step = float(np.median(np.diff(raw_time)))
    if not step > 0:
        return None
    low, high = GUESS_RATE_HZ
    if rate_hz is not None:
        low, high = 0.9 * rate_hz, 1.1 * rate_hz
    fits = [unit for unit, divide in TIME_DIVIDE.items() if low <= divide / step <= high]
    return fits[0] if len(fits) == 1 else None


def _moving_average(values: FloatArray, width: int) -> FloatArray:
    if width <= 1:
        return values
    kernel = np.ones(width) / width
    return np.column_stack(
        [np.convolve(values[:, k], kernel, mode="same") for k in range(values.shape[1])]
    )


def gyro_unit_from_tilt(acc: FloatArray, gyr_raw: FloatArray, *, rate_hz: float) -> str | None:
    """``"deg/s"`` or ``"rad/s"`` from how the gravity direction turns, or None.

    While a sensor tilts, the direction of gravity in its frame, ``u``, turns as
    ``du/dt = u × ω`` with ``ω`` in rad/s. Over samples where ``u`` turns faster than
    5 deg/s and the acceleration magnitude is within 10 % of its median (little
    acceleration besides gravity), both smoothed over 0.1 s, the least-squares factor
    ``k`` in ``du/dt ≈ k (u × ω_raw)`` is about 1 for a gyroscope in rad/s and about
    1/57.3 for one in deg/s (measured on the real mobgap walks: 0.73 to 1.4 times the
    right factor, at 100 and 25 Hz). None when under a second of such samples, when
    the fit explains under 3 % of the turning (noise: a still recording gave 0 to
    2.8 %), or when ``|k|`` fits neither unit within :data:`TILT_AGREEMENT` (raw
    counts, misaligned axes). ``acc`` may be in any unit.
    """
    n = acc.shape[0]
    width = max(1, round(0.1 * rate_hz))
    half = max(1, round(0.05 * rate_hz))
    edge = width + half
    if n < 2 * edge + 3:
        return None
    a = _moving_average(acc, width)
    w = _moving_average(gyr_raw, width)
    norm = np.linalg.norm(a, axis=1)
    median = float(np.median(norm))
    if not median > 0:
        return None
    u = a / np.where(norm > 0, norm, 1.0)[:, None]
    du = np.zeros_like(u)
    du[half:-half] = (u[2 * half :] - u[: -2 * half]) * (rate_hz / (2 * half))
    usable = (np.abs(norm / median - 1.0) < 0.1) & (np.linalg.norm(du, axis=1) > math.radians(5.0))
    usable[:edge] = False
    usable[-edge:] = False
    if int(np.count_nonzero(usable)) < max(10, round(rate_hz)):
        return None
    x = np.cross(u, w)[usable]
    y = du[usable]
    energy = float(np.sum(x * x))
    if not energy > 0:
        return None
    k = float(np.sum(x * y)) / energy
    explained = 1.0 - float(np.sum((y - k * x) ** 2)) / float(np.sum(y * y))
    if explained < 0.03:
        return None
    per_rad = abs(k) * math.degrees(1.0)  # 1 for deg/s
    if 1.0 / TILT_AGREEMENT <= per_rad <= TILT_AGREEMENT:
        return "deg/s"
    if 1.0 / TILT_AGREEMENT <= abs(k) <= TILT_AGREEMENT:
        return "rad/s"
    return None


#: (lowest, highest median magnitude, unit): an accelerometer at rest reads 1 g.
_ACC_MEDIANS: Final = ((0.5, 2.0, "g"), (4.9, 19.6, "m/s2"), (500.0, 2000.0, "mg"))
#: The same for a magnetometer: the earth's field is 25–65 µT.
_MAG_MEDIANS: Final = ((10.0, 200.0, "uT"), (0.1, 2.0, "gauss"), (1e4, 2e5, "nT"))


def _unit_by_median(median: float, ranges: tuple[tuple[float, float, str], ...]) -> str | None:
    """The unit whose plausible range holds a median magnitude, or None (first wins)."""
    for low, high, unit in ranges:
        if low <= median <= high:
            return unit
    return None


def decide_units(
    source: str,
    columns: SensorColumns,
    undecided: frozenset[str],
    acc_raw: FloatArray,
    gyr_raw: FloatArray | None,
    mag_raw: FloatArray | None,
    *,
    rate_hz: float,
) -> SensorColumns:
    """``columns`` with each unit named in ``undecided`` decided from the values.

    Raises :class:`~spinecoach.errors.UnitError` naming the columns and the mapping to
    pass when the accelerometer's or gyroscope's unit cannot be told; an undecidable
    magnetometer is left out (spinecoach does not need it).
    """
    result = columns
    acc_names = ",".join(columns.acc)
    if "acc" in undecided:
        median = float(np.median(np.linalg.norm(acc_raw, axis=1)))
        acc_unit = _unit_by_median(median, _ACC_MEDIANS)
        if acc_unit is not None:
            result = replace(result, acc_unit=acc_unit)
        else:
            raise UnitError(
                f"{source}, columns {acc_names}: the header does not say the accelerometer's "
                f"unit and its median magnitude {median:.4g} fits none (at rest a sensor reads "
                "1 g = 9.81 m/s² = 1000 mg). Pass a mapping with the unit, for example "
                f"--mapping 'acc={acc_names}:g,gyr=...'"
            )
    if "gyr" in undecided and gyr_raw is not None and columns.gyr is not None:
        names = ",".join(columns.gyr)
        speed = float(np.percentile(np.linalg.norm(gyr_raw, axis=1), 99))
        unit = "deg/s" if speed > GYRO_FULL_SCALE_RADPS else None
        if unit is None:  # the accelerometer's unit does not matter: only its direction
            unit = gyro_unit_from_tilt(acc_raw, gyr_raw, rate_hz=rate_hz)
        if unit is None:
            raise UnitError(
                f"{source}, columns {names}: the header does not say the gyroscope's unit and "
                f"the values do not tell (99th-percentile speed {speed:.3g}, too little "
                "tilting to compare with the accelerometer). Pass a mapping with the unit, "
                f"for example --mapping 'acc={acc_names}:{result.acc_unit},gyr={names}:rad/s' "
                "(or :dps)"
            )
        result = replace(result, gyr_unit=unit)
    if "mag" in undecided and mag_raw is not None:
        median = float(np.median(np.linalg.norm(mag_raw, axis=1)))
        mag_unit = _unit_by_median(median, _MAG_MEDIANS)
        if mag_unit is not None:
            result = replace(result, mag_unit=mag_unit)
        else:
            result = replace(result, mag=None)
    return result
