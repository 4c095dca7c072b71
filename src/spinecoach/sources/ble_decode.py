"""Decode BLE notification payloads into IMU samples in the project's units.

Two decoders, both pure (bytes in, samples out) and strict: a malformed or truncated
payload raises :class:`~spinecoach.errors.InputFormatError` naming what was expected
and what was found; no sample is ever invented or silently dropped.

Polar PMD (:func:`pmd_decode`)
    Polar Measurement Data, the online streaming protocol of Polar H10, Verity Sense and
    OH1 (PMD data characteristic ``FB005C82-02E7-F387-1CAD-8ACD2D8DF0C8``). Followed:
    the "Polar Measurement Data Specification for 3rd party" as published with
    polarofficial/polar-ble-sdk (``technical_documentation``) and its reference decoder
    in that SDK's Android library (``PmdDataFrame``, ``AccData``, ``GyrData``,
    ``BlePMDClient.parseDeltaFramesAll``, ``PmdTimeStampUtils``; SDK 5.x). Frame layout:

    ========  =====================================================================
    byte 0    measurement type (low 6 bits): 2 = ACC, 5 = GYRO (others rejected here)
    bytes 1–8 time stamp of the frame's **last** sample, uint64 little-endian, ns
              (epoch 2000-01-01T00:00:00Z on current firmware)
    byte 9    frame type (low 7 bits); bit 7 set = compressed (delta) frame
    10…       samples
    ========  =====================================================================

    Supported sample encodings: ACC raw types 0/1/2 (int8/int16/int24 little-endian
    x, y, z in mG), ACC compressed type 0 (16-bit reference, values × factor in G) and
    type 1 (16-bit reference, values × factor in mG), GYRO compressed type 0 (16-bit
    reference, values × factor in deg/s). A compressed frame is a reference sample
    (x, y, z, each signed little-endian of the resolution rounded up to bytes) followed
    by blocks ``[delta bits b][sample count k][k·3·b bits, padded to whole bytes]``;
    deltas are signed two's complement, packed least significant bit first, channel by
    channel, each sample = previous + delta. ``factor`` comes from the stream settings
    the device reported when the stream was started (1.0 if none).

    Sample times follow the SDK: the last sample is at the frame time stamp; with the
    previous frame's time stamp the samples are spread evenly after it, otherwise they
    are spaced ``1/sampling_rate_hz`` back from the last.

Declared layout (:func:`struct_decode`)
    Any device that notifies fixed-size records: a :class:`PacketLayout` names the
    ``struct`` format, the fields, which fields are the time stamp and the axes, and
    their units and scale. A payload may hold several records back to back.

Units out: time in seconds (``time_s``), acceleration in m/s², angular rate in deg/s.

>>> frame = bytes([2]) + (10**9).to_bytes(8, "little") + bytes([1])
>>> frame += (1000).to_bytes(2, "little", signed=True) + bytes(4)  # x = 1000 mG, y = z = 0
>>> s = pmd_decode(frame, sampling_rate_hz=52.0)
>>> s.time_s.tolist(), s.acc_mps2.round(5).tolist()
([1.0], [[9.80665, 0.0, 0.0]])
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.conventions import STANDARD_GRAVITY_MPS2
from spinecoach.errors import ConfigurationError, InputFormatError

FloatArray = NDArray[np.float64]

PMD_ACC: Final = 2
PMD_GYRO: Final = 5
PMD_HEADER_BYTES: Final = 10
_MG_TO_MPS2: Final = STANDARD_GRAVITY_MPS2 / 1000.0


@dataclass(frozen=True, eq=False)
class ImuSamples:
    """Decoded samples of one packet: times (s) and whichever of acc/gyr it carried."""

    time_s: FloatArray
    acc_mps2: FloatArray | None = None
    gyr_dps: FloatArray | None = None

    @property
    def n_samples(self) -> int:
        return int(self.time_s.shape[0])


@dataclass(frozen=True)
class PmdHeader:
    """The 10-byte header of a PMD data frame."""

    measurement_type: int
    timestamp_ns: int
    frame_type: int
    compressed: bool


def pmd_header(data: bytes, *, source: str = "PMD frame") -> PmdHeader:
    """Read the header of a PMD data notification (see the module docstring)."""
    if len(data) < PMD_HEADER_BYTES:
        raise InputFormatError(
            source,
            f"at least {PMD_HEADER_BYTES} bytes (type, 8-byte time stamp, frame type)",
            found=f"{len(data)} bytes: {data.hex(' ')}",
        )
    return PmdHeader(
        measurement_type=data[0] & 0x3F,
        timestamp_ns=int.from_bytes(data[1:9], "little", signed=False),
        frame_type=data[9] & 0x7F,
        compressed=bool(data[9] & 0x80),
    )


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def _pmd_delta_frames(payload: bytes, *, resolution_bits: int, source: str) -> list[list[int]]:
    """Reference sample plus delta blocks → absolute samples (3 channels)."""
    width = (resolution_bits + 7) // 8
    ref_bytes = 3 * width
    if len(payload) < ref_bytes:
        raise InputFormatError(
            source,
            f"a {ref_bytes}-byte reference sample (3 × {resolution_bits}-bit) after the header",
            found=f"{len(payload)} bytes",
        )
    current = [
        int.from_bytes(payload[i * width : (i + 1) * width], "little", signed=True)
        for i in range(3)
    ]
    samples = [current]
    offset = ref_bytes
    while offset < len(payload):
        if offset + 2 > len(payload):
            raise InputFormatError(
                source,
                f"a 2-byte delta block header (delta bits, sample count) at byte "
                f"{PMD_HEADER_BYTES + offset}",
                found=f"{len(payload) - offset} byte",
            )
        bits, count = payload[offset], payload[offset + 1]
        offset += 2
        if not 1 <= bits <= 32 or count == 0:
            raise InputFormatError(
                source,
                f"a delta block with 1–32 bits per delta and at least 1 sample at byte "
                f"{PMD_HEADER_BYTES + offset - 2}",
                found=f"{bits} bits, {count} samples",
            )
        n_bytes = (count * 3 * bits + 7) // 8
        if offset + n_bytes > len(payload):
            raise InputFormatError(
                source,
                f"{n_bytes} bytes of deltas ({count} samples × 3 × {bits} bits) at byte "
                f"{PMD_HEADER_BYTES + offset}",
                found=f"{len(payload) - offset} bytes (truncated frame)",
            )
        packed = int.from_bytes(payload[offset : offset + n_bytes], "little")
        mask = (1 << bits) - 1
        for k in range(count):
            base = k * 3 * bits
            current = [
                current[c] + _signed((packed >> (base + c * bits)) & mask, bits) for c in range(3)
            ]
            samples.append(current)
        offset += n_bytes
    return samples


def _pmd_raw(payload: bytes, *, width: int, source: str) -> list[list[int]]:
    size = 3 * width
    if not payload or len(payload) % size:
        raise InputFormatError(
            source,
            f"a whole number (≥ 1) of {size}-byte samples (3 × int{8 * width})",
            found=f"{len(payload)} bytes of samples",
        )
    return [
        [
            int.from_bytes(payload[i + c * width : i + (c + 1) * width], "little", signed=True)
            for c in range(3)
        ]
        for i in range(0, len(payload), size)
    ]


def _pmd_times_ns(
    header: PmdHeader, n: int, previous_timestamp_ns: int | None, rate_hz: float, source: str
) -> FloatArray:
    last = header.timestamp_ns
    if previous_timestamp_ns:
        if previous_timestamp_ns >= last:
            raise InputFormatError(
                source,
                f"a time stamp after the previous frame's ({previous_timestamp_ns} ns)",
                found=f"{last} ns",
                fix="reset previous_timestamp_ns when the stream restarts",
            )
        step = (last - previous_timestamp_ns) / n
        first = previous_timestamp_ns + step
    else:
        step = 1e9 / rate_hz
        first = last - step * (n - 1)
        if first < 0:
            raise InputFormatError(
                source,
                f"a time stamp of at least {step * (n - 1):.0f} ns for {n} samples at {rate_hz} Hz",
                found=f"{last} ns",
            )
    times = np.round(first + step * np.arange(n, dtype=np.float64))
    times[-1] = last
    return times


def pmd_decode(
    data: bytes,
    *,
    sampling_rate_hz: float,
    factor: float = 1.0,
    previous_timestamp_ns: int | None = None,
    source: str = "PMD frame",
) -> ImuSamples:
    """Decode one Polar PMD ACC or GYRO data notification.

    ``sampling_rate_hz``: the stream's rate (spaces the samples of the first frame);
    ``factor``: the stream's scale factor from its settings; ``previous_timestamp_ns``:
    the time stamp of the previous frame of the same stream (``None`` for the first).
    Returns acceleration in m/s² (ACC) or angular rate in deg/s (GYRO), times in seconds
    on the device clock.

    >>> frame = bytes.fromhex("05" "00ca9a3b00000000" "80") + (100).to_bytes(2, "little") * 3
    >>> frame += bytes([2, 1, 0b01_01_01])  # one block: 2-bit deltas, 1 sample, +1 +1 +1
    >>> s = pmd_decode(frame, sampling_rate_hz=100.0, factor=0.5)
    >>> s.gyr_dps.tolist(), s.time_s.round(6).tolist()
    ([[50.0, 50.0, 50.0], [50.5, 50.5, 50.5]], [0.99, 1.0])
    """
    if not (math.isfinite(sampling_rate_hz) and sampling_rate_hz > 0):
        raise ConfigurationError(
            f"sampling_rate_hz must be a positive number of hertz, got {sampling_rate_hz}"
        )
    if not (math.isfinite(factor) and factor > 0):
        raise ConfigurationError(f"factor must be a positive number, got {factor}")
    header = pmd_header(data, source=source)
    payload = data[PMD_HEADER_BYTES:]
    kind, ftype, packed = header.measurement_type, header.frame_type, header.compressed
    scale: float
    if kind == PMD_ACC and not packed and ftype in (0, 1, 2):
        raw = _pmd_raw(payload, width=ftype + 1, source=source)
        scale = _MG_TO_MPS2
    elif kind == PMD_ACC and packed and ftype in (0, 1):
        raw = _pmd_delta_frames(payload, resolution_bits=16, source=source)
        # Compressed type 0 carries G × factor; type 1 carries mG × factor.
        scale = factor * (STANDARD_GRAVITY_MPS2 if ftype == 0 else _MG_TO_MPS2)
    elif kind == PMD_GYRO and packed and ftype == 0:
        raw = _pmd_delta_frames(payload, resolution_bits=16, source=source)
        scale = factor
    else:
        names = {PMD_ACC: "ACC", PMD_GYRO: "GYRO"}
        raise InputFormatError(
            source,
            "an ACC frame (raw type 0, 1, 2 or compressed type 0, 1) or a GYRO frame "
            "(compressed type 0)",
            found=(
                f"measurement type {names.get(kind, kind)}, "
                f"{'compressed' if packed else 'raw'} frame type {ftype}"
            ),
        )
    values = np.asarray(raw, dtype=np.float64) * scale
    times_ns = _pmd_times_ns(header, len(raw), previous_timestamp_ns, sampling_rate_hz, source)
    time_s = times_ns * 1e-9
    if kind == PMD_ACC:
        return ImuSamples(time_s=time_s, acc_mps2=values)
    return ImuSamples(time_s=time_s, gyr_dps=values)


# Declared layouts -----------------------------------------------------------------------

TIME_UNITS_S: Final[dict[str, float]] = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
ACC_UNITS_MPS2: Final[dict[str, float]] = {
    "m/s2": 1.0,
    "g": STANDARD_GRAVITY_MPS2,
    "mg": _MG_TO_MPS2,
}
GYR_UNITS_DPS: Final[dict[str, float]] = {"dps": 1.0, "mdps": 1e-3, "rad/s": 180.0 / math.pi}


@dataclass(frozen=True)
class PacketLayout:
    """A fixed-size record: ``struct`` format, field names, which fields mean what.

    ``value = raw × scale`` in the declared unit, then converted to s, m/s², deg/s.
    ``acc_fields`` / ``gyr_fields`` are x, y, z field names in the sensor frame; leave
    one empty if the device does not send it. Fields not named are decoded and ignored
    (counters, status bytes, padding via ``x``).

    >>> layout = PacketLayout("<I hhh hhh", ("t", "ax", "ay", "az", "gx", "gy", "gz"),
    ...     time_field="t", time_unit="ms", acc_fields=("ax", "ay", "az"), acc_unit="g",
    ...     acc_scale=1 / 4096, gyr_fields=("gx", "gy", "gz"), gyr_unit="dps",
    ...     gyr_scale=1 / 16.4)
    >>> layout.record_bytes
    16
    """

    struct_format: str
    fields: tuple[str, ...]
    time_field: str
    time_unit: str
    acc_fields: tuple[str, ...] = ()
    acc_unit: str = "m/s2"
    acc_scale: float = 1.0
    gyr_fields: tuple[str, ...] = ()
    gyr_unit: str = "dps"
    gyr_scale: float = 1.0
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        try:
            compiled = struct.Struct(self.struct_format)
        except struct.error as err:
            raise ConfigurationError(
                f"struct_format {self.struct_format!r} is not a struct format ({err}); "
                "for example '<I hhh hhh'"
            ) from err
        if self.struct_format[:1] not in "<>!=":
            raise ConfigurationError(
                f"struct_format {self.struct_format!r} must start with a byte order "
                "('<' little-endian, '>' big-endian) so no padding is added"
            )
        n_values = len(compiled.unpack(bytes(compiled.size)))
        if len(self.fields) != n_values:
            raise ConfigurationError(
                f"struct_format {self.struct_format!r} holds {n_values} values but "
                f"fields names {len(self.fields)}; name every value"
            )
        if len(set(self.fields)) != len(self.fields):
            raise ConfigurationError(f"fields repeat a name: {self.fields}")
        checks = (
            ("time_unit", self.time_unit, TIME_UNITS_S),
            ("acc_unit", self.acc_unit, ACC_UNITS_MPS2),
            ("gyr_unit", self.gyr_unit, GYR_UNITS_DPS),
        )
        for name, unit, table in checks:
            if unit not in table:
                raise ConfigurationError(f"{name} {unit!r} is unknown; use one of {list(table)}")
        for name, group in (("acc_fields", self.acc_fields), ("gyr_fields", self.gyr_fields)):
            if group and len(group) != 3:
                raise ConfigurationError(f"{name} must name 3 fields (x, y, z), got {group}")
        if not (self.acc_fields or self.gyr_fields):
            raise ConfigurationError("name acc_fields or gyr_fields (or both)")
        for name in (self.time_field, *self.acc_fields, *self.gyr_fields):
            if name not in self.fields:
                raise ConfigurationError(f"field {name!r} is not in fields {self.fields}")
        for name, scale in (
            ("time_scale", self.time_scale),
            ("acc_scale", self.acc_scale),
            ("gyr_scale", self.gyr_scale),
        ):
            if not (math.isfinite(scale) and scale != 0):
                raise ConfigurationError(f"{name} must be a finite non-zero number, got {scale}")

    @property
    def record_bytes(self) -> int:
        return struct.calcsize(self.struct_format)


def struct_decode(data: bytes, layout: PacketLayout, *, source: str = "BLE packet") -> ImuSamples:
    """Decode a payload of one or more back-to-back ``layout`` records.

    >>> layout = PacketLayout("<H hhh", ("t", "x", "y", "z"), time_field="t",
    ...     time_unit="ms", acc_fields=("x", "y", "z"), acc_unit="mg")
    >>> s = struct_decode(bytes.fromhex("0a00 e803 0000 0000"), layout)
    >>> s.time_s.tolist(), s.acc_mps2.round(5).tolist()
    ([0.01], [[9.80665, 0.0, 0.0]])
    """
    size = layout.record_bytes
    if not data or len(data) % size:
        raise InputFormatError(
            source,
            f"a whole number (≥ 1) of {size}-byte records ({layout.struct_format!r})",
            found=f"{len(data)} bytes",
        )
    records = list(struct.iter_unpack(layout.struct_format, data))
    index = {name: i for i, name in enumerate(layout.fields)}
    table = np.asarray(records, dtype=np.float64)
    if not np.all(np.isfinite(table)):
        raise InputFormatError(source, "finite numbers in every field", found="NaN or inf")
    t = table[:, index[layout.time_field]] * layout.time_scale * TIME_UNITS_S[layout.time_unit]
    if t.size > 1 and not np.all(np.diff(t) > 0):
        raise InputFormatError(
            source,
            f"increasing {layout.time_field!r} time stamps within a packet",
            found=repr(table[:, index[layout.time_field]].tolist()),
        )
    acc = gyr = None
    if layout.acc_fields:
        cols = [index[f] for f in layout.acc_fields]
        acc = table[:, cols] * layout.acc_scale * ACC_UNITS_MPS2[layout.acc_unit]
    if layout.gyr_fields:
        cols = [index[f] for f in layout.gyr_fields]
        gyr = table[:, cols] * layout.gyr_scale * GYR_UNITS_DPS[layout.gyr_unit]
    return ImuSamples(time_s=t, acc_mps2=acc, gyr_dps=gyr)
