"""BLE payload decoders against byte sequences built by hand from the published layouts.

Polar PMD frames follow the "Polar Measurement Data Specification for 3rd party"
(polarofficial/polar-ble-sdk, technical_documentation) and the SDK's reference decoder:
byte 0 measurement type (2 ACC, 5 GYRO), bytes 1–8 uint64 LE time stamp of the last
sample in ns, byte 9 frame type (bit 7 = compressed), then samples.
"""

from __future__ import annotations

import doctest
import re

import numpy as np
import pytest

from spinecoach.conventions import STANDARD_GRAVITY_MPS2 as G
from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.sources import ble_decode
from spinecoach.sources.ble_decode import PacketLayout, pmd_decode, pmd_header, struct_decode

T_NS = 599_616_000_123_456_789  # ≈ 2019-01-01 in ns since 2000-01-01 (PMD epoch)
STAMP = T_NS.to_bytes(8, "little")  # 15 cd 5b 07 ... little-endian uint64


def _frame(kind: int, frame_type: int, payload: bytes) -> bytes:
    return bytes([kind]) + STAMP + bytes([frame_type]) + payload


# ACC raw type 1 (int16 x, y, z in mG), two samples:
#   e8 03 | 00 00 | 18 fc   → x = 1000, y = 0, z = −1000 mG
#   f4 01 | 0c fe | 00 00   → x = 500, y = −500, z = 0 mG
ACC_RAW_1 = _frame(0x02, 0x01, bytes.fromhex("e803 0000 18fc f401 0cfe 0000"))

# GYRO compressed type 0 (byte 9 = 0x80): reference x, y, z as int16 LE, then one block.
#   reference: 64 00 | 9c ff | 00 00                    → 100, −100, 0
#   block header: 03 02                                 → 3-bit deltas, 2 samples
#   18 bits of deltas, LSB first, channel by channel:
#     sample 1: +1 (001), −1 (111), +3 (011); sample 2: −4 (100), +2 (010), 0 (000)
#     bit stream (bit 0 first): 100 111 110 001 010 000 → bytes 0xf9 0x28 0x00
GYR_DELTA = _frame(0x05, 0x80, bytes.fromhex("6400 9cff 0000 0302 f928 00"))


def test_pmd_header_fields() -> None:
    h = pmd_header(GYR_DELTA)
    assert (h.measurement_type, h.timestamp_ns, h.frame_type, h.compressed) == (5, T_NS, 0, True)


def test_pmd_acc_raw_int16_mg_to_mps2() -> None:
    s = pmd_decode(ACC_RAW_1, sampling_rate_hz=50.0)
    assert s.gyr_dps is None and s.acc_mps2 is not None
    np.testing.assert_allclose(s.acc_mps2, np.array([[1000, 0, -1000], [500, -500, 0]]) * G / 1000)
    # First frame of a stream: last sample at the stamp, the one before 1/50 s earlier.
    np.testing.assert_allclose(
        s.time_s, [(T_NS - 20_000_000) * 1e-9, T_NS * 1e-9], rtol=0, atol=1e-6
    )


def test_pmd_acc_raw_int8_and_int24() -> None:
    # type 0: int8 per axis: 0a f6 00 → 10, −10, 0 mG
    s0 = pmd_decode(_frame(0x02, 0x00, bytes.fromhex("0af600")), sampling_rate_hz=25.0)
    np.testing.assert_allclose(s0.acc_mps2, [[10 * G / 1000, -10 * G / 1000, 0.0]])
    # type 2: int24 per axis: 40 42 0f | c0 bd f0 | 01 00 00 → 1e6, −1e6, 1 (raw mG units)
    s2 = pmd_decode(
        _frame(0x02, 0x02, bytes.fromhex("40420f c0bdf0 010000")), sampling_rate_hz=25.0
    )
    np.testing.assert_allclose(s2.acc_mps2, [[1e6 * G / 1000, -1e6 * G / 1000, G / 1000]])


def test_pmd_gyro_delta_frame_with_factor() -> None:
    s = pmd_decode(GYR_DELTA, sampling_rate_hz=52.0, factor=0.25)
    assert s.acc_mps2 is None and s.gyr_dps is not None
    raw = np.array([[100, -100, 0], [101, -101, 3], [97, -99, 3]])
    np.testing.assert_allclose(s.gyr_dps, raw * 0.25)
    assert s.n_samples == 3


def test_pmd_acc_compressed_types_scale() -> None:
    # Same delta payload as the gyro, as ACC type 0 (G × factor) and type 1 (mG × factor).
    payload = bytes.fromhex("6400 9cff 0000 0302 f928 00")
    raw = np.array([[100, -100, 0], [101, -101, 3], [97, -99, 3]])
    s0 = pmd_decode(_frame(0x02, 0x80, payload), sampling_rate_hz=52.0, factor=0.001)
    np.testing.assert_allclose(s0.acc_mps2, raw * 0.001 * G)
    s1 = pmd_decode(_frame(0x02, 0x81, payload), sampling_rate_hz=52.0, factor=2.0)
    np.testing.assert_allclose(s1.acc_mps2, raw * 2.0 * G / 1000)


def test_pmd_two_blocks_and_previous_timestamp() -> None:
    # reference 00 00 ×3; block 1: 01 01 + 1 byte (3 × 1-bit deltas: −1, 0, −1 → 0b101)
    # block 2: 08 01 + 3 bytes (8-bit deltas 05, fb, 00 → +5, −5, 0)
    frame = _frame(0x05, 0x80, bytes.fromhex("0000 0000 0000 0101 05 0801 05fb00"))
    prev = T_NS - 30_000_000
    s = pmd_decode(frame, sampling_rate_hz=1.0, previous_timestamp_ns=prev)
    np.testing.assert_allclose(s.gyr_dps, [[0, 0, 0], [-1, 0, -1], [4, -5, -1]])
    # With the previous stamp, samples spread evenly after it: +10, +20, +30 ms.
    np.testing.assert_allclose(np.diff(s.time_s), [0.01, 0.01], atol=1e-6)
    assert s.time_s[-1] == T_NS * 1e-9


def _pmd_error(data: bytes, **kwargs: object) -> str:
    with pytest.raises(InputFormatError) as caught:
        pmd_decode(data, sampling_rate_hz=kwargs.pop("rate", 52.0), **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"",
            "PMD frame: at least 10 bytes (type, 8-byte time stamp, frame type), found '0 bytes: '",
        ),
        (
            bytes.fromhex("02 0102"),
            "at least 10 bytes (type, 8-byte time stamp, frame type), found '3 bytes: 02 01 02'",
        ),
        (
            _frame(0x02, 0x01, b""),
            "a whole number (≥ 1) of 6-byte samples (3 × int16), found '0 bytes of samples'",
        ),
        (
            ACC_RAW_1[:-1],
            "a whole number (≥ 1) of 6-byte samples (3 × int16), found '11 bytes of samples'",
        ),
        (
            GYR_DELTA[:14],
            "a 6-byte reference sample (3 × 16-bit) after the header, found '4 bytes'",
        ),
        (
            GYR_DELTA[:17],
            "a 2-byte delta block header (delta bits, sample count) at byte 16, found '1 byte'",
        ),
        (
            GYR_DELTA[:-1],
            "3 bytes of deltas (2 samples × 3 × 3 bits) at byte 18, found '2 bytes (truncated",
        ),
        (
            _frame(0x05, 0x80, bytes.fromhex("0000 0000 0000 0001")),
            "1–32 bits per delta and at least 1 sample at byte 16, found '0 bits, 1 samples'",
        ),
        (_frame(0x05, 0x80, bytes.fromhex("0000 0000 0000 0300")), "found '3 bits, 0 samples'"),
        (_frame(0x00, 0x00, bytes(3)), "found 'measurement type 0, raw frame type 0'"),
        (_frame(0x05, 0x01, bytes(6)), "found 'measurement type GYRO, raw frame type 1'"),
        (_frame(0x02, 0x83, bytes(6)), "found 'measurement type ACC, compressed frame type 3'"),
    ],
)
def test_pmd_malformed_and_truncated(data: bytes, message: str) -> None:
    assert message in _pmd_error(data)


def test_pmd_time_stamp_errors() -> None:
    message = _pmd_error(ACC_RAW_1, previous_timestamp_ns=T_NS)
    assert f"a time stamp after the previous frame's ({T_NS} ns), found '{T_NS} ns'" in message
    assert "reset previous_timestamp_ns" in message
    early = bytes([2]) + (5).to_bytes(8, "little") + bytes([1]) + bytes(12)
    assert "a time stamp of at least 1000000000 ns for 2 samples at 1.0 Hz" in _pmd_error(
        early, rate=1.0
    )


def test_pmd_bad_arguments() -> None:
    with pytest.raises(ConfigurationError, match="sampling_rate_hz must be a positive"):
        pmd_decode(ACC_RAW_1, sampling_rate_hz=0.0)
    with pytest.raises(ConfigurationError, match="factor must be a positive number, got nan"):
        pmd_decode(ACC_RAW_1, sampling_rate_hz=52.0, factor=float("nan"))


def test_pmd_never_crashes_on_random_bytes() -> None:
    rng = np.random.default_rng(0)
    for _ in range(2000):
        data = bytes(rng.integers(0, 256, int(rng.integers(0, 40))).astype(np.uint8))
        try:
            s = pmd_decode(data, sampling_rate_hz=52.0, previous_timestamp_ns=None)
        except InputFormatError:
            continue
        assert s.n_samples >= 1 and np.all(np.isfinite(s.time_s))


# Generic declared layout: "<I hhh hhh" = uint32 time (ms), int16 acc (1/4096 g),
# int16 gyr (1/16.4 deg/s), 16 bytes per record.
LAYOUT = PacketLayout(
    "<I hhh hhh",
    ("t", "ax", "ay", "az", "gx", "gy", "gz"),
    time_field="t",
    time_unit="ms",
    acc_fields=("ax", "ay", "az"),
    acc_unit="g",
    acc_scale=1 / 4096,
    gyr_fields=("gx", "gy", "gz"),
    gyr_unit="dps",
    gyr_scale=1 / 16.4,
)
# record 1: t = 1000 ms (e8 03 00 00); acc 0, 0, 4096 (00 10); gyr 164, −164, 0 (a4 00, 5c ff)
# record 2: t = 1010 ms (f2 03 00 00); acc 4096, 0, 0; gyr 0, 0, 16 (10 00)
TWO_RECORDS = bytes.fromhex(
    "e8030000 0000 0000 0010 a400 5cff 0000" + "f2030000 0010 0000 0000 0000 0000 1000"
)


def test_struct_decode_two_records() -> None:
    s = struct_decode(TWO_RECORDS, LAYOUT)
    np.testing.assert_allclose(s.time_s, [1.0, 1.01])
    np.testing.assert_allclose(s.acc_mps2, [[0, 0, G], [G, 0, 0]])
    np.testing.assert_allclose(s.gyr_dps, [[10, -10, 0], [0, 0, 16 / 16.4]])


def test_struct_decode_units_convert_once() -> None:
    layout = PacketLayout(
        ">H fff",
        ("n", "wx", "wy", "wz"),
        time_field="n",
        time_unit="s",
        time_scale=1 / 100,  # a 100 Hz sample counter
        gyr_fields=("wx", "wy", "wz"),
        gyr_unit="rad/s",
    )
    data = (7).to_bytes(2, "big") + np.array([np.pi, 0, -np.pi / 2], dtype=">f4").tobytes()
    s = struct_decode(data, layout)
    assert s.acc_mps2 is None
    np.testing.assert_allclose(s.gyr_dps, [[180.0, 0.0, -90.0]], atol=1e-4)
    np.testing.assert_allclose(s.time_s, [0.07])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"",
            "BLE packet: a whole number (≥ 1) of 16-byte records ('<I hhh hhh'), found '0 bytes'",
        ),
        (
            TWO_RECORDS[:-1],
            "a whole number (≥ 1) of 16-byte records ('<I hhh hhh'), found '31 bytes'",
        ),
        (
            TWO_RECORDS[16:] + TWO_RECORDS[:16],
            "increasing 't' time stamps within a packet, found '[1010.0, 1000.0]'",
        ),
    ],
)
def test_struct_decode_malformed(data: bytes, message: str) -> None:
    with pytest.raises(InputFormatError) as caught:
        struct_decode(data, LAYOUT)
    assert message in str(caught.value)


def test_struct_decode_rejects_nan_fields() -> None:
    layout = PacketLayout(
        "<f fff", ("t", "x", "y", "z"), time_field="t", time_unit="s", acc_fields=("x", "y", "z")
    )
    data = np.array([0.0, np.nan, 0.0, 0.0], dtype="<f4").tobytes()
    with pytest.raises(InputFormatError, match="finite numbers in every field"):
        struct_decode(data, layout)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"struct_format": "<I hhq!"}, "is not a struct format"),
        ({"struct_format": "I hhh hhh"}, "must start with a byte order"),
        ({"struct_format": "<I hhh hh"}, "holds 6 values but fields names 7"),
        ({"fields": ("t", "ax", "ay", "az", "gx", "gy", "t")}, "fields repeat a name"),
        ({"time_unit": "min"}, "time_unit 'min' is unknown; use one of ['s', 'ms', 'us', 'ns']"),
        ({"acc_unit": "ft/s2"}, "acc_unit 'ft/s2' is unknown"),
        ({"gyr_unit": "rpm"}, "gyr_unit 'rpm' is unknown"),
        ({"acc_fields": ("ax", "ay")}, "acc_fields must name 3 fields"),
        ({"acc_fields": (), "gyr_fields": ()}, "name acc_fields or gyr_fields"),
        ({"time_field": "time"}, "field 'time' is not in fields"),
        ({"acc_scale": 0.0}, "acc_scale must be a finite non-zero number, got 0.0"),
    ],
)
def test_layout_rejects_bad_declarations(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "struct_format": "<I hhh hhh",
        "fields": ("t", "ax", "ay", "az", "gx", "gy", "gz"),
        "time_field": "t",
        "time_unit": "ms",
        "acc_fields": ("ax", "ay", "az"),
        "gyr_fields": ("gx", "gy", "gz"),
    }
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        PacketLayout(**{**base, **kwargs})  # type: ignore[arg-type]


def test_docstring_examples() -> None:
    result = doctest.testmod(ble_decode, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
