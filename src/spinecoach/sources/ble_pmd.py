"""Polar sensors over the Polar Measurement Data (PMD) service: start ACC and GYRO, decode
and join them (:class:`PolarPmdProtocol`).

Polar Verity Sense and other Polar sensors stream both accelerometer (ACC) and gyroscope
(GYRO) over the PMD service (control point ``FB005C81-…``, data ``FB005C82-…``),
following the "Polar Measurement Data Specification for 3rd party"
(polarofficial/polar-ble-sdk, ``technical_documentation``). Polar H10 and OH1 stream
acceleration only; spinecoach needs both, so they are refused with a clear message.

Starting the Polar streams
    Read the control point (feature bits: ACC and GYRO must be there), ask each stream
    for its settings (op code 0x01), start ACC and GYRO (op code 0x02, measurement type,
    then the settings ``[type, 1, uint16 LE]``: 0x00 sample rate, 0x01 resolution,
    0x02 range). Both streams get the **same rate**, 52 Hz when the device offers it
    (Verity Sense: 26/52/104/208 Hz; fast enough for spine motion, light on the radio),
    else the common rate nearest to it; resolution 16 bit; ACC range 8 G and GYRO range
    2000 deg/s when offered (else the largest). A response with a non-zero error code
    raises :class:`~spinecoach.sources.ble_transport.StreamRefusedError` naming the code;
    "already started" (6) is answered by stopping and starting the stream once.

Joining ACC and GYRO
    They come in separate frames, at times of their own. Samples are emitted at the ACC
    time stamps where gyro samples exist on both sides (gyro linearly interpolated, only
    between gyro samples at most 1.5 gyro periods apart); ACC samples beyond the newest
    gyro sample are held back until the next gyro frame. Nothing is invented over a hole
    in either stream. Device time stamps (PMD: ns since 2000-01-01 on the sensor's clock)
    go to the feed in seconds, with the host's monotonic receive time; the feed maps them
    onto the host timeline. A frame whose time stamp does not fit its sample count at the
    stream's rate (a lost notification before it) is timed as a first frame, so a lost
    notification becomes a gap rather than stretched samples.

>>> pmd_response(bytes([0xF0, 0x02, 0x02, 0x00, 0x00])).error_code
0
"""

from __future__ import annotations

import asyncio
import logging
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.errors import ConfigurationError, InputFormatError
from spinecoach.sources.ble_decode import PMD_ACC, PMD_GYRO, ImuSamples, pmd_decode, pmd_header
from spinecoach.sources.ble_transport import BleTransport, PacketCallback, StreamRefusedError
from spinecoach.sources.timealign import interpolate_bracketed

FloatArray = NDArray[np.float64]

log = logging.getLogger("spinecoach.sources.ble")  # the BLE source's log, as before

PMD_SERVICE_UUID: Final = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_UUID: Final = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID: Final = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: Control point op codes (client → sensor) and the response marker.
PMD_GET_SETTINGS: Final = 0x01
PMD_START: Final = 0x02
PMD_STOP: Final = 0x03
PMD_RESPONSE: Final = 0xF0
#: First byte of the control point's read value (the feature bits follow).
PMD_FEATURES: Final = 0x0F
#: Feature bits of byte 1 of the read value.
PMD_FEATURE_ACC: Final = 0x04
PMD_FEATURE_GYRO: Final = 0x20
#: Setting types and their value sizes (bytes, little-endian).
PMD_SETTING_RATE: Final = 0x00
PMD_SETTING_RESOLUTION: Final = 0x01
PMD_SETTING_RANGE: Final = 0x02
PMD_SETTING_FACTOR: Final = 0x05
PMD_SETTING_BYTES: Final[dict[int, int]] = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4}
#: Error codes of a control point response (the SDK's PmdControlPointResponseCode).
PMD_ERRORS: Final[dict[int, str]] = {
    1: "invalid op code",
    2: "invalid measurement type",
    3: "not supported",
    4: "invalid length",
    5: "invalid parameter",
    6: "already in that state",
    7: "invalid resolution",
    8: "invalid sample rate",
    9: "invalid range",
    10: "invalid MTU",
    11: "invalid number of channels",
    12: "invalid state",
    13: "device in charger",
    14: "disk full",
}
PMD_ALREADY_IN_STATE: Final = 6
_STREAM_NAMES: Final = {PMD_ACC: "ACC", PMD_GYRO: "GYRO"}

#: Gyro samples bracketing an ACC time may be at most this many gyro periods apart.
MAX_GYRO_BRACKET_PERIODS: Final = 1.5
#: Most ACC data (s) held back waiting for gyro before the oldest is dropped.
MAX_HELD_BACK_S: Final = 5.0
#: A frame's time stamp that spreads its samples further than this from the nominal
#: period (fraction) is timed as a first frame (a notification before it was lost).
FRAME_SPACING_TOLERANCE: Final = 0.25


@dataclass(frozen=True)
class PmdResponse:
    """A PMD control point response: ``[0xF0, op code, type, error, more, parameters…]``."""

    op_code: int
    measurement_type: int
    error_code: int
    more: bool
    parameters: bytes

    @property
    def error(self) -> str:
        return PMD_ERRORS.get(self.error_code, f"unknown error {self.error_code}")


def pmd_response(data: bytes, *, source: str = "PMD control point") -> PmdResponse:
    """Parse a control point response.

    >>> r = pmd_response(bytes.fromhex("f0 02 05 00 00 05 01 00 00 80 3d"))
    >>> r.op_code, r.measurement_type, r.error_code, pmd_settings(r.parameters)
    (2, 5, 0, {5: [0.0625]})
    """
    if len(data) < 4 or data[0] != PMD_RESPONSE:
        raise InputFormatError(
            source,
            "a response of at least 4 bytes starting with f0 (op code, type, error code)",
            found=data.hex(" ") or "0 bytes",
        )
    more = len(data) > 4 and data[4] != 0
    return PmdResponse(data[1], data[2], data[3], more, bytes(data[5:]))


def pmd_settings(data: bytes, *, source: str = "PMD settings") -> dict[int, list[float]]:
    """Settings TLVs ``[type, count, count × value]`` → values by setting type.

    Values are unsigned little-endian integers, except the factor (type 5): float32.

    >>> pmd_settings(bytes.fromhex("00 02 1a00 3400 01 01 1000"))
    {0: [26.0, 52.0], 1: [16.0]}
    """
    out: dict[int, list[float]] = {}
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise InputFormatError(
                source, f"a setting type and count at byte {offset}", found=data.hex(" ")
            )
        kind, count = data[offset], data[offset + 1]
        offset += 2
        size = PMD_SETTING_BYTES.get(kind)
        if size is None:
            raise InputFormatError(
                source,
                f"a setting type 0–5 at byte {offset - 2}",
                found=f"type {kind} in {data.hex(' ')}",
            )
        if offset + count * size > len(data):
            raise InputFormatError(
                source,
                f"{count} values of {size} bytes for setting type {kind} at byte {offset}",
                found=f"{len(data) - offset} bytes",
            )
        values: list[float] = []
        for _ in range(count):
            chunk = data[offset : offset + size]
            offset += size
            if kind == PMD_SETTING_FACTOR:
                values.append(float(struct.unpack("<f", chunk)[0]))
            else:
                values.append(float(int.from_bytes(chunk, "little")))
        out[kind] = values
    return out


def _pick(available: Sequence[float], preferred: float) -> int:
    """The preferred value if offered, else the offered value nearest to it (ties: the
    larger)."""
    return int(min(available, key=lambda v: (abs(v - preferred), -v)))


@dataclass(frozen=True)
class PmdStreamSettings:
    """The settings one stream is started with (values as the device takes them)."""

    sample_rate_hz: int
    resolution_bits: int | None
    range: int | None

    def request(self) -> bytes:
        """The settings part of a start request: ``[type, 1, uint16 LE]`` each."""
        out = bytearray([PMD_SETTING_RATE, 1, *self.sample_rate_hz.to_bytes(2, "little")])
        if self.resolution_bits is not None:
            out += bytes([PMD_SETTING_RESOLUTION, 1, *self.resolution_bits.to_bytes(2, "little")])
        if self.range is not None:
            out += bytes([PMD_SETTING_RANGE, 1, *self.range.to_bytes(2, "little")])
        return bytes(out)


def choose_pmd_settings(
    acc: dict[int, list[float]],
    gyr: dict[int, list[float]],
    *,
    rate_hz: int = 52,
    acc_range_g: int = 8,
    gyr_range_dps: int = 2000,
) -> tuple[PmdStreamSettings, PmdStreamSettings]:
    """ACC and GYRO settings from what the device offers (see the module docstring).

    >>> acc = {0: [26.0, 52.0, 104.0], 1: [16.0], 2: [2.0, 4.0, 8.0, 16.0]}
    >>> gyr = {0: [26.0, 52.0, 104.0], 1: [16.0], 2: [250.0, 500.0, 1000.0, 2000.0]}
    >>> choose_pmd_settings(acc, gyr)[1]
    PmdStreamSettings(sample_rate_hz=52, resolution_bits=16, range=2000)
    """
    acc_rates, gyr_rates = acc.get(PMD_SETTING_RATE, []), gyr.get(PMD_SETTING_RATE, [])
    if not acc_rates or not gyr_rates:
        missing = "ACC" if not acc_rates else "GYRO"
        raise StreamRefusedError(f"the device lists no sample rate for its {missing} stream")
    common = sorted(set(acc_rates) & set(gyr_rates))
    acc_rate = _pick(common or acc_rates, rate_hz)
    gyr_rate = _pick(common, rate_hz) if common else _pick(gyr_rates, rate_hz)

    def one(offered: dict[int, list[float]], rate: int, range_: int) -> PmdStreamSettings:
        resolutions = offered.get(PMD_SETTING_RESOLUTION)
        ranges = offered.get(PMD_SETTING_RANGE)
        return PmdStreamSettings(
            rate,
            _pick(resolutions, 16) if resolutions else None,
            (range_ if range_ in ranges else int(max(ranges))) if ranges else None,
        )

    return one(acc, acc_rate, acc_range_g), one(gyr, gyr_rate, gyr_range_dps)


class AccGyrJoiner:
    """Pair ACC samples with gyro interpolated at their times (see the module docstring).

    >>> j = AccGyrJoiner(gyr_rate_hz=10.0)
    >>> t = np.array([0.0, 0.1, 0.2])
    >>> j.add_acc(t + 0.05, np.ones((3, 3))) is None  # no gyro yet: held back
    True
    >>> s = j.add_gyr(t, np.array([[0.0] * 3, [1.0] * 3, [2.0] * 3]))
    >>> s.time_s.round(3).tolist(), s.gyr_dps[:, 0].round(3).tolist(), j.held_back
    ([0.05, 0.15], [0.5, 1.5], 1)
    """

    def __init__(self, *, gyr_rate_hz: float) -> None:
        self.max_bracket_s = MAX_GYRO_BRACKET_PERIODS / gyr_rate_hz
        self.unpaired = 0
        self.reset()

    def reset(self) -> None:
        self._acc_t = np.empty(0)
        self._acc = np.empty((0, 3))
        self._gyr_t = np.empty(0)
        self._gyr = np.empty((0, 3))

    @property
    def held_back(self) -> int:
        """ACC samples waiting for gyro."""
        return len(self._acc_t)

    def add_acc(self, time_s: FloatArray, acc_mps2: FloatArray) -> ImuSamples | None:
        self._acc_t = np.concatenate([self._acc_t, time_s])
        self._acc = np.vstack([self._acc, acc_mps2])
        return self._emit()

    def add_gyr(self, time_s: FloatArray, gyr_dps: FloatArray) -> ImuSamples | None:
        self._gyr_t = np.concatenate([self._gyr_t, time_s])
        self._gyr = np.vstack([self._gyr, gyr_dps])
        return self._emit()

    def _emit(self) -> ImuSamples | None:
        acc_t, gyr_t = self._acc_t, self._gyr_t
        if len(acc_t) and acc_t[-1] - acc_t[0] > MAX_HELD_BACK_S:  # gyro stalled
            keep = acc_t >= acc_t[-1] - MAX_HELD_BACK_S
            self.unpaired += int((~keep).sum())
            self._acc_t, self._acc = acc_t[keep], self._acc[keep]
            acc_t = self._acc_t
        if not len(acc_t) or not len(gyr_t):
            return None
        early = acc_t < gyr_t[0]  # before the first gyro sample: never pairable
        ready = ~early & (acc_t <= gyr_t[-1])
        self.unpaired += int(early.sum())
        t = acc_t[ready]
        out = None
        if len(t):  # ready: between the first and the newest gyro sample
            usable, gyr = interpolate_bracketed(t, gyr_t, self._gyr, max_gap_s=self.max_bracket_s)
            self.unpaired += int((~usable).sum())
            t_ok = t[usable]
            if len(t_ok):
                out = ImuSamples(time_s=t_ok, acc_mps2=self._acc[ready][usable], gyr_dps=gyr)
        waiting = ~early & ~ready
        self._acc_t, self._acc = acc_t[waiting], self._acc[waiting]
        # Keep the gyro from the last sample at or before the next ACC time to pair.
        horizon = self._acc_t[0] if len(self._acc_t) else (t[-1] if len(t) else gyr_t[-1])
        first = max(int(np.searchsorted(gyr_t, horizon, side="right")) - 1, 0)
        self._gyr_t, self._gyr = gyr_t[first:], self._gyr[first:]
        return out


class PolarPmdProtocol:
    """Polar sensors over PMD: ACC + GYRO at one rate, joined (module docstring).

    rate_hz
        Preferred rate of both streams (Hz); the device's nearest common rate is used.
    acc_range_g, gyr_range_dps
        Preferred ranges; the largest offered when these are not.
    response_timeout_s
        How long to wait for a control point response before the connection is retried.
    """

    name = "polar-pmd"
    label = "Polar (PMD)"

    def __init__(
        self,
        *,
        rate_hz: int = 52,
        acc_range_g: int = 8,
        gyr_range_dps: int = 2000,
        response_timeout_s: float = 5.0,
    ) -> None:
        if not (isinstance(rate_hz, int) and 1 <= rate_hz <= 0xFFFF):
            raise ConfigurationError(f"rate_hz must be a whole number of hertz, got {rate_hz!r}")
        self.preferred_rate_hz = rate_hz
        self.acc_range_g = acc_range_g
        self.gyr_range_dps = gyr_range_dps
        self.response_timeout_s = response_timeout_s
        self.settings: dict[int, PmdStreamSettings] = {}
        self.factors: dict[int, float] = {}
        self._responses: asyncio.Queue[bytes] = asyncio.Queue()
        self._joiner: AccGyrJoiner | None = None
        self._previous_ns: dict[int, int] = {}

    @property
    def rate_hz(self) -> float | None:
        acc = self.settings.get(PMD_ACC)
        return None if acc is None else float(acc.sample_rate_hz)

    @property
    def unpaired_samples(self) -> int:
        """ACC samples dropped for want of gyro on both sides (stream starts, holes)."""
        return 0 if self._joiner is None else self._joiner.unpaired

    def reset(self) -> None:
        self._previous_ns = {}
        self._responses = asyncio.Queue()
        if self._joiner is not None:
            self._joiner.reset()

    async def start(self, transport: BleTransport, on_packet: PacketCallback) -> None:
        self.reset()
        await transport.start_notify(PMD_CONTROL_UUID, self._responses.put_nowait)
        features = await transport.read(PMD_CONTROL_UUID)
        if len(features) >= 2 and features[0] == PMD_FEATURES:
            if not features[1] & PMD_FEATURE_ACC:
                raise StreamRefusedError("the device has no accelerometer (ACC) stream")
            if not features[1] & PMD_FEATURE_GYRO:
                raise StreamRefusedError(
                    "the device streams no gyroscope (GYRO) data (Polar H10 and OH1 stream "
                    "acceleration only); spinecoach needs both: use a Polar Verity Sense"
                )
        offered = {kind: await self._offered(transport, kind) for kind in (PMD_ACC, PMD_GYRO)}
        acc, gyr = choose_pmd_settings(
            offered[PMD_ACC],
            offered[PMD_GYRO],
            rate_hz=self.preferred_rate_hz,
            acc_range_g=self.acc_range_g,
            gyr_range_dps=self.gyr_range_dps,
        )
        self.settings = {PMD_ACC: acc, PMD_GYRO: gyr}
        if self._joiner is None or not math.isclose(
            self._joiner.max_bracket_s, MAX_GYRO_BRACKET_PERIODS / gyr.sample_rate_hz
        ):
            self._joiner = AccGyrJoiner(gyr_rate_hz=gyr.sample_rate_hz)

        def data(payload: bytes) -> None:
            on_packet(PMD_DATA_UUID, payload)

        await transport.start_notify(PMD_DATA_UUID, data)
        for kind, setting in self.settings.items():
            self.factors[kind] = await self._start_stream(transport, kind, setting)

    async def stop(self, transport: BleTransport) -> None:
        for kind in self.settings:
            await transport.write(PMD_CONTROL_UUID, bytes([PMD_STOP, kind]), response=True)

    async def _request(
        self, transport: BleTransport, op: int, kind: int, rest: bytes
    ) -> PmdResponse:
        while not self._responses.empty():  # stale answers of an earlier request
            self._responses.get_nowait()
        await transport.write(PMD_CONTROL_UUID, bytes([op, kind, *rest]), response=True)
        async with asyncio.timeout(self.response_timeout_s):
            while True:
                try:
                    response = pmd_response(await self._responses.get())
                except InputFormatError as error:
                    log.debug("ignoring a control point notification: %s", error)
                    continue
                if response.op_code == op and response.measurement_type == kind:
                    break
            parameters = response.parameters
            more = response.more
            while more:  # continuation packets: [more, parameters…]
                packet = await self._responses.get()
                more = bool(packet[:1]) and packet[0] != 0
                parameters += packet[1:]
        return PmdResponse(op, kind, response.error_code, False, parameters)

    async def _offered(self, transport: BleTransport, kind: int) -> dict[int, list[float]]:
        response = await self._request(transport, PMD_GET_SETTINGS, kind, b"")
        if response.error_code:
            raise StreamRefusedError(
                f"the device has no usable {_STREAM_NAMES[kind]} stream: its settings query "
                f"answered error {response.error_code} ({response.error})"
            )
        return pmd_settings(response.parameters)

    async def _start_stream(
        self, transport: BleTransport, kind: int, setting: PmdStreamSettings
    ) -> float:
        response = await self._request(transport, PMD_START, kind, setting.request())
        if response.error_code == PMD_ALREADY_IN_STATE:  # left running: restart it
            await self._request(transport, PMD_STOP, kind, b"")
            response = await self._request(transport, PMD_START, kind, setting.request())
        if response.error_code:
            raise StreamRefusedError(
                f"the device refused to start its {_STREAM_NAMES[kind]} stream at "
                f"{setting.sample_rate_hz} Hz: error {response.error_code} ({response.error})"
            )
        factors = pmd_settings(response.parameters).get(PMD_SETTING_FACTOR) or [1.0]
        return factors[0]

    def decode(self, uuid: str, data: bytes) -> list[ImuSamples]:
        if uuid != PMD_DATA_UUID or self._joiner is None:
            return []
        header = pmd_header(data)
        kind = header.measurement_type
        setting = self.settings.get(kind)
        if setting is None:
            raise InputFormatError(
                "PMD frame",
                "an ACC or GYRO frame (the streams started)",
                found=f"measurement type {kind}",
            )
        rate = float(setting.sample_rate_hz)
        factor = self.factors.get(kind, 1.0)
        previous = self._previous_ns.get(kind)
        samples = pmd_decode(
            data, sampling_rate_hz=rate, factor=factor, previous_timestamp_ns=previous
        )
        if previous is not None:
            spacing_s = (header.timestamp_ns - previous) * 1e-9 / samples.n_samples
            if abs(spacing_s * rate - 1.0) > FRAME_SPACING_TOLERANCE:
                samples = pmd_decode(data, sampling_rate_hz=rate, factor=factor)
        self._previous_ns[kind] = header.timestamp_ns
        if samples.acc_mps2 is not None:
            joined = self._joiner.add_acc(samples.time_s, samples.acc_mps2)
        elif samples.gyr_dps is not None:
            joined = self._joiner.add_gyr(samples.time_s, samples.gyr_dps)
        else:
            joined = None
        return [] if joined is None else [joined]
