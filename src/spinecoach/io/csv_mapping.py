"""Which columns of a CSV file hold what: :class:`CsvMapping` and its one-line text form.

A :class:`CsvMapping` says which column holds the time (and in which unit) and, per
sensor placement, which three columns hold the accelerometer, gyroscope and optional
magnetometer axes and in which unit (:class:`SensorColumns`; units in
:mod:`spinecoach.io.csv_units`). :func:`parse_mapping` reads the text form given on the
command line, :func:`default_mapping` recognises spinecoach's own column names. Column
names are matched case-insensitively and with surrounding spaces ignored
(:func:`normalise_name`). The reader itself is :mod:`spinecoach.io.csv_generic`.

>>> parse_mapping("acc=ax,ay,az:g,gyr=none").lower.gyr is None  # accelerometer only
True
>>> normalise_name("  Acc_X ")
'acc_x'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from spinecoach.conventions import (
    ACC_COLUMNS,
    GYR_COLUMNS,
    LOWER,
    MAG_COLUMNS,
    PLACEMENTS,
    TIME_S,
)
from spinecoach.errors import ConfigurationError
from spinecoach.io.csv_units import ACC_UNITS, GYR_UNITS, MAG_UNITS, TIME_UNITS, canonical_column

MAPPING_EXAMPLE: Final = "time=t:ms,acc=ax,ay,az:g,gyr=gx,gy,gz:dps"
NO_GYROSCOPE: Final = "none"  # mapping text for an accelerometer-only file: "gyr=none"


def normalise_name(name: str) -> str:
    """A column name as compared: trimmed and case-folded."""
    return name.strip().casefold()


def _three_columns(columns: Sequence[str], what: str) -> tuple[str, str, str]:
    names = tuple(str(c).strip() for c in columns)
    if len(names) != 3 or not all(names):
        raise ConfigurationError(
            f"{what} needs three non-empty column names (x, y, z), got {list(columns)!r}"
        )
    return names[0], names[1], names[2]


@dataclass(frozen=True, kw_only=True)
class SensorColumns:
    """Where one sensor's axes are in a CSV file and in which units.

    ``gyr`` is ``None`` for an accelerometer-only file (the sensor is then read with
    ``gyr_dps`` full of NaN; :attr:`SensorData.has_gyroscope` is False).
    ``acc_unit``: ``"m/s2"``, ``"g"`` or ``"mg"``; ``gyr_unit``: ``"deg/s"`` or ``"rad/s"``;
    ``mag_unit``: ``"uT"``, ``"mT"``, ``"gauss"`` or ``"nT"``. Common spellings
    (``"dps"``, ``"m/s^2"``, ``"µT"``...) are accepted and normalised.

    >>> SensorColumns(acc=("ax", "ay", "az"), acc_unit="G", gyr=("gx", "gy", "gz")).acc_unit
    'g'
    """

    acc: tuple[str, str, str]
    gyr: tuple[str, str, str] | None
    acc_unit: str = "m/s2"
    gyr_unit: str = "deg/s"
    mag: tuple[str, str, str] | None = None
    mag_unit: str = "uT"

    def __post_init__(self) -> None:
        # Normalise in place: the instance is still being built, so this is not mutation.
        object.__setattr__(self, "acc", _three_columns(self.acc, "acc"))
        if self.gyr is not None:
            object.__setattr__(self, "gyr", _three_columns(self.gyr, "gyr"))
        if self.mag is not None:
            object.__setattr__(self, "mag", _three_columns(self.mag, "mag"))
        object.__setattr__(
            self, "acc_unit", canonical_column(self.acc_unit, ACC_UNITS, "accelerometer")
        )
        object.__setattr__(
            self, "gyr_unit", canonical_column(self.gyr_unit, GYR_UNITS, "gyroscope")
        )
        object.__setattr__(
            self, "mag_unit", canonical_column(self.mag_unit, MAG_UNITS, "magnetometer")
        )


@dataclass(frozen=True, kw_only=True)
class CsvMapping:
    """Column/unit mapping of a CSV file: a time column and one or two sensors.

    ``time`` is the time column's name, or ``None`` when the file has none (then pass
    ``rate_hz`` when reading). ``time_unit`` is ``"s"``, ``"ms"``, ``"us"`` or ``"ns"``.
    ``lower`` / ``upper`` give the sensor columns per placement; a one-sensor mapping
    may be stored under another placement when read (``placement=`` argument).

    >>> m = CsvMapping(time="t", time_unit="ms",
    ...                lower=SensorColumns(acc=("ax", "ay", "az"), gyr=("gx", "gy", "gz")))
    >>> m.to_text()
    'time=t:ms,acc=ax,ay,az:m/s2,gyr=gx,gy,gz:deg/s'
    """

    time: str | None
    time_unit: str = "s"
    lower: SensorColumns | None = None
    upper: SensorColumns | None = None

    def __post_init__(self) -> None:
        if self.lower is None and self.upper is None:
            raise ConfigurationError(
                "a CSV mapping needs at least one sensor (lower or upper); "
                f"for example {MAPPING_EXAMPLE!r}"
            )
        if self.time is not None:
            name = str(self.time).strip()
            if not name:
                raise ConfigurationError("the time column name is empty; pass None for no time")
            object.__setattr__(self, "time", name)
        object.__setattr__(self, "time_unit", canonical_column(self.time_unit, TIME_UNITS, "time"))

    @classmethod
    def of(
        cls, placement: str, columns: SensorColumns, *, time: str | None, time_unit: str = "s"
    ) -> CsvMapping:
        """A one-sensor mapping with the sensor under ``placement`` (lower or upper)."""
        if placement not in PLACEMENTS:
            raise ConfigurationError(
                f"unknown sensor placement {placement!r}; use one of {', '.join(PLACEMENTS)}"
            )
        if placement == LOWER:
            return cls(time=time, time_unit=time_unit, lower=columns)
        return cls(time=time, time_unit=time_unit, upper=columns)

    @property
    def sensors(self) -> dict[str, SensorColumns]:
        """The sensors by placement, lower first."""
        found = {LOWER: self.lower, "upper": self.upper}
        return {p: c for p, c in found.items() if c is not None}

    def relabeled(self, placement: str) -> CsvMapping:
        """This one-sensor mapping with its sensor stored under ``placement``."""
        sensors = list(self.sensors.values())
        if len(sensors) != 1:
            raise ConfigurationError(
                "the mapping names both sensors (lower and upper), so a placement cannot be "
                "chosen; drop the placement option"
            )
        return CsvMapping.of(placement, sensors[0], time=self.time, time_unit=self.time_unit)

    def columns(self) -> list[str]:
        """Every column name the mapping uses (time first)."""
        names = [] if self.time is None else [self.time]
        for columns in self.sensors.values():
            names += [*columns.acc, *(columns.gyr or ()), *(columns.mag or ())]
        return names

    def to_text(self) -> str:
        """The one-line text form read by :func:`parse_mapping` (see there)."""
        for name in self.columns():
            if any(c in name for c in ",;:=") or name != name.strip():
                raise ConfigurationError(
                    f"column name {name!r} cannot be written in the mapping text form "
                    "(it holds , ; : = or surrounding spaces); use CsvMapping in Python"
                )
        items = [] if self.time is None else [f"time={self.time}:{self.time_unit}"]
        sensors = self.sensors
        for placement, columns in sensors.items():
            prefix = "" if list(sensors) == [LOWER] else f"{placement}."
            items.append(f"{prefix}acc={','.join(columns.acc)}:{columns.acc_unit}")
            if columns.gyr is None:
                items.append(f"{prefix}gyr={NO_GYROSCOPE}")
            else:
                items.append(f"{prefix}gyr={','.join(columns.gyr)}:{columns.gyr_unit}")
            if columns.mag is not None:
                items.append(f"{prefix}mag={','.join(columns.mag)}:{columns.mag_unit}")
        return ",".join(items)


_ITEM_RE: Final = re.compile(
    r"^\s*(?:(lower|upper)\s*\.\s*)?(time|acc|gyr|mag)\s*=(.*)$", re.IGNORECASE | re.DOTALL
)


def parse_mapping(text: str, *, placement: str = LOWER) -> CsvMapping:
    """Parse the one-line mapping form used on the command line.

    Syntax: items ``key=value`` separated by ``,`` or ``;``::

        time=<column>[:<unit>]                 unit s (default), ms, us, ns, or datetime
                                               (ISO-8601 date-times, also found by content)
        acc=<x>,<y>,<z>[:<unit>]               unit m/s2 (default; mps2, m/s^2), g or mg
        gyr=<x>,<y>,<z>[:<unit>]               unit deg/s (default; dps) or rad/s (rads);
        gyr=none                               the file has no gyroscope columns
        mag=<x>,<y>,<z>[:<unit>]               optional; unit uT (default), mT, gauss, nT

    ``acc``/``gyr``/``mag`` may be prefixed with a placement, ``lower.acc=...`` and
    ``upper.acc=...``, for a wide file holding both sensors; unprefixed items belong
    to ``placement``. Without a ``time`` item the file has no time column (then pass
    ``rate_hz``). Units are case-insensitive. Column names cannot contain
    ``, ; : =``; use :class:`CsvMapping` in Python for those.

    >>> m = parse_mapping("time=Time (s):s,acc=ax,ay,az:g,gyr=gx,gy,gz:dps")
    >>> m.lower.acc, m.lower.acc_unit, m.time
    (('ax', 'ay', 'az'), 'g', 'Time (s)')
    >>> parse_mapping("lower.acc=a,b,c;lower.gyr=d,e,f;upper.acc=g,h,i;upper.gyr=j,k,l").upper.acc
    ('g', 'h', 'i')
    """
    items = _mapping_items(text)
    time, time_unit, parts = _mapping_parts(text, items, placement)
    sensors = {where: _sensor_columns(text, where, given) for where, given in parts.items()}
    if not sensors:
        raise ConfigurationError(
            f"mapping {text!r} names no sensor columns; for example {MAPPING_EXAMPLE!r}"
        )
    return CsvMapping(
        time=time, time_unit=time_unit, lower=sensors.get(LOWER), upper=sensors.get("upper")
    )


#: One item of the mapping text: (placement prefix or "", key, its comma-separated parts).
_Item = tuple[str, str, list[str]]
#: Per placement, per key: (column names or None for ``gyr=none``, unit or None).
_Parts = dict[str, dict[str, tuple[tuple[str, ...] | None, str | None]]]


def _mapping_items(text: str) -> list[_Item]:
    """The mapping text split into its ``key=value`` items (a value's commas kept apart)."""
    tokens = re.split(r"[,;]", text)
    while tokens and not tokens[-1].strip():
        tokens.pop()
    items: list[_Item] = []
    for token in tokens:
        match = _ITEM_RE.match(token)
        if match:
            prefix, key, first = match.groups()
            items.append(((prefix or "").lower(), key.lower(), [first]))
        elif items:
            items[-1][2].append(token)
        else:
            raise ConfigurationError(
                f"mapping {text!r} must start with an item such as 'time=<column>' or "
                f"'acc=<x>,<y>,<z>:<unit>', found {token.strip()!r}; for example "
                f"{MAPPING_EXAMPLE!r}"
            )
    if not items:
        raise ConfigurationError(f"the mapping is empty; for example {MAPPING_EXAMPLE!r}")
    prefixes = {prefix for prefix, key, _ in items if key != "time"}
    if "" in prefixes and len(prefixes) > 1:
        raise ConfigurationError(
            f"mapping {text!r} mixes items with and without a placement prefix; prefix "
            "every acc/gyr/mag item with lower. or upper., or none of them"
        )
    return items


def _mapping_parts(text: str, items: list[_Item], placement: str) -> tuple[str | None, str, _Parts]:
    """The time column and unit, and each placement's column names and units."""
    seen: set[tuple[str, str]] = set()
    time: str | None = None
    time_unit = "s"
    parts: _Parts = {}
    for prefix, key, values in items:
        label = f"{prefix + '.' if prefix else ''}{key}"
        if (prefix, key) in seen:
            raise ConfigurationError(f"mapping {text!r} gives {label!r} twice; keep one")
        seen.add((prefix, key))
        *columns, last = values
        unit: str | None = None
        if ":" in last:
            last, unit = last.rsplit(":", 1)
        columns.append(last)
        names = tuple(c.strip() for c in columns)
        if key == "gyr" and len(names) == 1 and names[0].casefold() == NO_GYROSCOPE:
            parts.setdefault(prefix or placement, {})[key] = (None, None)
            continue
        if key == "time":
            if prefix:
                raise ConfigurationError(
                    f"mapping item {label!r}: the time column is shared, write 'time=<column>'"
                )
            if len(names) != 1 or not names[0]:
                raise ConfigurationError(
                    f"mapping item {label!r} needs one column name, e.g. 'time=t:ms'"
                )
            time, time_unit = names[0], unit if unit is not None else "s"
            continue
        if len(names) != 3 or not all(names):
            raise ConfigurationError(
                f"mapping item {label!r} needs three column names x,y,z, e.g. "
                f"'{key}=x,y,z', found {','.join(columns)!r}"
            )
        parts.setdefault(prefix or placement, {})[key] = (names, unit)
    return time, time_unit, parts


def _sensor_columns(
    text: str, where: str, given: dict[str, tuple[tuple[str, ...] | None, str | None]]
) -> SensorColumns:
    """One placement's :class:`SensorColumns` from its parsed items."""
    if where not in PLACEMENTS:
        raise ConfigurationError(
            f"unknown sensor placement {where!r}; use one of {', '.join(PLACEMENTS)}"
        )
    missing = [k for k in ("acc", "gyr") if k not in given]
    if missing:
        raise ConfigurationError(
            f"mapping {text!r} has no {' and '.join(missing)} item for the {where} sensor; "
            f"for example {MAPPING_EXAMPLE!r} ('gyr=none' for a file without gyroscope)"
        )
    acc, acc_unit = given["acc"]
    gyr, gyr_unit = given["gyr"]
    mag, mag_unit = given.get("mag", (None, None))
    if acc is None:  # pragma: no cover - only gyr takes "none"
        raise ConfigurationError(f"mapping {text!r} needs accelerometer columns")
    return SensorColumns(
        acc=_three_columns(acc, "acc"),
        acc_unit=acc_unit or "m/s2",
        gyr=None if gyr is None else _three_columns(gyr, "gyr"),
        gyr_unit=gyr_unit or "deg/s",
        mag=None if mag is None else _three_columns(mag, "mag"),
        mag_unit=mag_unit or "uT",
    )


def default_mapping(header: Sequence[str], *, placement: str = LOWER) -> CsvMapping | None:
    """The mapping for spinecoach's own column names, or ``None`` if the header has none.

    One sensor: ``time_s, acc_x_mps2, acc_y_mps2, acc_z_mps2, gyr_x_dps, gyr_y_dps,
    gyr_z_dps`` and optionally ``mag_x_ut, mag_y_ut, mag_z_ut`` (the names of
    :mod:`spinecoach.conventions`). Both sensors in one file: the same names prefixed
    with the placement, ``lower_acc_x_mps2`` ... ``upper_gyr_z_dps``. ``time_s`` may be
    missing (then pass ``rate_hz``). Names are matched case-insensitively.

    >>> default_mapping(["time_s", *ACC_COLUMNS, *GYR_COLUMNS]).lower.gyr
    ('gyr_x_dps', 'gyr_y_dps', 'gyr_z_dps')
    """
    names = {normalise_name(h) for h in header}

    def sensor(prefix: str) -> SensorColumns | None:
        acc = tuple(prefix + c for c in ACC_COLUMNS)
        gyr = tuple(prefix + c for c in GYR_COLUMNS)
        mag = tuple(prefix + c for c in MAG_COLUMNS)
        if not all(c in names for c in (*acc, *gyr)):
            return None
        return SensorColumns(
            acc=_three_columns(acc, "acc"),
            gyr=_three_columns(gyr, "gyr"),
            mag=_three_columns(mag, "mag") if all(c in names for c in mag) else None,
        )

    time = TIME_S if TIME_S in names else None
    wide = {p: sensor(f"{p}_") for p in PLACEMENTS}
    if any(wide.values()):
        return CsvMapping(time=time, lower=wide[LOWER], upper=wide["upper"])
    single = sensor("")
    if single is None:
        return None
    return CsvMapping.of(placement, single, time=time)
