"""The in-memory model of a multi-sensor recording.

A :class:`Recording` holds one :class:`SensorData` per placement (``"lower"`` over the
sacrum, ``"upper"`` over T12/L1), annotations (:class:`Event`, for example the
calibration windows the coach prompted), free-form metadata and, for simulated
recordings, the :class:`GroundTruth`.

Units: ``time_s`` in seconds since ``start_utc``; ``acc_mps2`` in m/s² (specific
force: a sensor at rest reads +9.81 on its up-pointing axis); ``gyr_dps`` in deg/s;
``mag_ut`` in µT. Arrays are float64, C-contiguous and read-only once wrapped.

>>> import numpy as np
>>> t = np.arange(3) / 100.0
>>> s = SensorData.from_arrays("lower", t, np.zeros((3, 3)), np.zeros((3, 3)), rate_hz=100.0)
>>> Recording.create({"lower": s}).duration_s
0.02
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import PLACEMENTS
from spinecoach.errors import ConfigurationError

FloatArray = NDArray[np.float64]


def _frozen_array(name: str, values: Any, *, columns: int | None, rows: int | None) -> FloatArray:
    array = np.array(values, dtype=np.float64, copy=True, order="C")
    if columns is None:
        if array.ndim != 1:
            raise ConfigurationError(f"{name} must be one-dimensional, got shape {array.shape}")
    elif array.ndim != 2 or array.shape[1] != columns:
        raise ConfigurationError(
            f"{name} must have shape (n, {columns}), got {array.shape}; pass one row per sample"
        )
    if rows is not None and array.shape[0] != rows:
        raise ConfigurationError(
            f"{name} has {array.shape[0]} rows but time_s has {rows}; every array needs one "
            "row per timestamp"
        )
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class SensorData:
    """Samples of one IMU.

    ``rate_hz`` is the nominal output rate of the device; the timestamps are what the
    device (or host) reported and may jitter or have gaps.
    """

    placement: str
    time_s: FloatArray
    acc_mps2: FloatArray
    gyr_dps: FloatArray
    rate_hz: float
    mag_ut: FloatArray | None = None
    device: str = "unknown"

    @classmethod
    def from_arrays(
        cls,
        placement: str,
        time_s: Any,
        acc_mps2: Any,
        gyr_dps: Any,
        *,
        rate_hz: float,
        mag_ut: Any | None = None,
        device: str = "unknown",
    ) -> SensorData:
        """Validate shapes and wrap copies of the arrays (inputs are never mutated)."""
        if placement not in PLACEMENTS:
            raise ConfigurationError(
                f"unknown sensor placement {placement!r}; use one of {', '.join(PLACEMENTS)}"
            )
        if not np.isfinite(rate_hz) or rate_hz <= 0:
            raise ConfigurationError(f"rate_hz must be a positive number of hertz, got {rate_hz}")
        t = _frozen_array("time_s", time_s, columns=None, rows=None)
        n = t.shape[0]
        return cls(
            placement=placement,
            time_s=t,
            acc_mps2=_frozen_array("acc_mps2", acc_mps2, columns=3, rows=n),
            gyr_dps=_frozen_array("gyr_dps", gyr_dps, columns=3, rows=n),
            rate_hz=float(rate_hz),
            mag_ut=None if mag_ut is None else _frozen_array("mag_ut", mag_ut, columns=3, rows=n),
            device=device,
        )

    @property
    def n_samples(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def has_gyroscope(self) -> bool:
        """False for an accelerometer-only sensor: a file without gyroscope columns is
        read with ``gyr_dps`` full of NaN, and the motion core then takes the inclination
        from gravity alone (flagged ``accelerometer-only``)."""
        if not self.n_samples:
            return False
        # The first row answers at once for nearly every sensor (the batch path asks
        # several times); the whole scan only when it is not finite.
        return bool(np.isfinite(self.gyr_dps[0]).any() or np.isfinite(self.gyr_dps).any())

    def equals(self, other: SensorData) -> bool:
        """Bit-exact equality of every array and field."""
        same_mag = (self.mag_ut is None and other.mag_ut is None) or (
            self.mag_ut is not None
            and other.mag_ut is not None
            and _bit_equal(self.mag_ut, other.mag_ut)
        )
        return (
            self.placement == other.placement
            and self.rate_hz == other.rate_hz
            and self.device == other.device
            and _bit_equal(self.time_s, other.time_s)
            and _bit_equal(self.acc_mps2, other.acc_mps2)
            and _bit_equal(self.gyr_dps, other.gyr_dps)
            and same_mag
        )


def _bit_equal(a: FloatArray, b: FloatArray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@dataclass(frozen=True)
class Event:
    """Something that happened over ``[start_s, end_s]`` (seconds since the start).

    ``kind`` is one of the ``EVENT_*`` names in :mod:`spinecoach.conventions`;
    ``label`` refines it (a technique, a fault name, an activity); ``placement`` names a
    sensor when the event concerns only one (an injected sensor fault, say).
    """

    kind: str
    start_s: float
    end_s: float
    label: str = ""
    placement: str = ""
    value: float = float("nan")

    def __post_init__(self) -> None:
        if not (np.isfinite(self.start_s) and np.isfinite(self.end_s)):
            raise ConfigurationError(f"event {self.kind!r} needs finite start_s and end_s")
        if self.end_s < self.start_s:
            raise ConfigurationError(
                f"event {self.kind!r} ends ({self.end_s} s) before it starts ({self.start_s} s)"
            )

    def same_as(self, other: Event) -> bool:
        """Equality that treats NaN values as equal (for round-trip checks)."""
        return (
            self.kind == other.kind
            and self.start_s == other.start_s
            and self.end_s == other.end_s
            and self.label == other.label
            and self.placement == other.placement
            and (self.value == other.value or (np.isnan(self.value) and np.isnan(other.value)))
        )


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """The true signals and events of a simulated recording.

    ``series`` maps a name that carries its unit (the angle columns of
    :mod:`spinecoach.conventions` such as ``lumbar_flexion_deg``, or for example
    ``breath_volume_norm``) to an array sampled at ``time_s``.
    """

    time_s: FloatArray
    series: Mapping[str, FloatArray]
    events: tuple[Event, ...] = ()

    @classmethod
    def create(
        cls, time_s: Any, series: Mapping[str, Any], events: tuple[Event, ...] = ()
    ) -> GroundTruth:
        t = _frozen_array("truth time_s", time_s, columns=None, rows=None)
        angles = {
            name: _frozen_array(f"truth {name}", values, columns=None, rows=t.shape[0])
            for name, values in series.items()
        }
        return cls(time_s=t, series=MappingProxyType(angles), events=tuple(events))

    def equals(self, other: GroundTruth) -> bool:
        return (
            _bit_equal(self.time_s, other.time_s)
            and list(self.series) == list(other.series)
            and all(_bit_equal(v, other.series[k]) for k, v in self.series.items())
            and len(self.events) == len(other.events)
            and all(a.same_as(b) for a, b in zip(self.events, other.events, strict=True))
        )


@dataclass(frozen=True, eq=False)
class Recording:
    """A multi-sensor recording: sensors by placement, annotations, metadata, truth."""

    sensors: Mapping[str, SensorData]
    start_utc: datetime
    events: tuple[Event, ...] = ()
    meta: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    truth: GroundTruth | None = None

    @classmethod
    def create(
        cls,
        sensors: Mapping[str, SensorData],
        *,
        start_utc: datetime | None = None,
        events: tuple[Event, ...] | list[Event] = (),
        meta: Mapping[str, str] | None = None,
        truth: GroundTruth | None = None,
    ) -> Recording:
        if not sensors:
            raise ConfigurationError("a recording needs at least one sensor")
        for key, data in sensors.items():
            if key != data.placement:
                raise ConfigurationError(
                    f"sensor stored under {key!r} says its placement is {data.placement!r}"
                )
        start = start_utc or datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ConfigurationError("start_utc must be timezone-aware (UTC)")
        ordered = {p: sensors[p] for p in PLACEMENTS if p in sensors}
        return cls(
            sensors=MappingProxyType(ordered),
            start_utc=start.astimezone(UTC),
            events=tuple(events),
            meta=MappingProxyType({str(k): str(v) for k, v in (meta or {}).items()}),
            truth=truth,
        )

    @property
    def duration_s(self) -> float:
        ends = [float(s.time_s[-1]) for s in self.sensors.values() if s.n_samples]
        starts = [float(s.time_s[0]) for s in self.sensors.values() if s.n_samples]
        return round(max(ends) - min(starts), 9) if ends else 0.0

    def with_events(self, events: tuple[Event, ...]) -> Recording:
        return replace(self, events=tuple(events))

    def equals(self, other: Recording) -> bool:
        """Bit-exact equality of everything the recording holds."""
        truth_same = (self.truth is None and other.truth is None) or (
            self.truth is not None and other.truth is not None and self.truth.equals(other.truth)
        )
        return (
            list(self.sensors) == list(other.sensors)
            and all(s.equals(other.sensors[p]) for p, s in self.sensors.items())
            and self.start_utc == other.start_utc
            and len(self.events) == len(other.events)
            and all(a.same_as(b) for a, b in zip(self.events, other.events, strict=True))
            and dict(self.meta) == dict(other.meta)
            and truth_same
        )
