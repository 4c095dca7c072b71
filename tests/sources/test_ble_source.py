"""The Bluetooth LE source against fake devices that play the seeded simulator as Polar
PMD frames, in virtual time (a few seconds of wall time for two minutes of streaming).

The fake device answers the PMD control point like a sensor (feature read, settings
query, start/stop; responses ``[0xF0, op, type, error, more, parameters]``), streams ACC
as raw type 1 frames (int16 mG) and GYRO as compressed type 0 frames (int16 reference and
one block of bit-packed deltas, × factor deg/s), built here from the layouts documented in
``spinecoach.sources.ble_decode``. It can drop the link for a scripted time (samples
measured meanwhile are lost, as on a real sensor), refuse reconnects, refuse a stream,
and send malformed, truncated or re-sent packets.
"""

from __future__ import annotations

import asyncio
import doctest
import heapq
import itertools
import json
import math
import random
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pytest
from bleak.exc import BleakError
from typer.testing import CliRunner

from spinecoach.cli import sensors as cli_sensors
from spinecoach.coach.events import FrameEvent as FrameMessage
from spinecoach.coach.session import LiveSession
from spinecoach.conventions import STANDARD_GRAVITY_MPS2 as G
from spinecoach.errors import ConfigurationError, InputFormatError, SourceUnavailableError
from spinecoach.exercises.model import Rep
from spinecoach.recording import Event, Recording, SensorData
from spinecoach.sim import SensorErrorModel, simulate
from spinecoach.sources import ble, ble_pmd, ble_scan, ble_transport
from spinecoach.sources.ble import BleDeviceSource
from spinecoach.sources.ble_decode import PacketLayout
from spinecoach.sources.ble_pmd import (
    PMD_CONTROL_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    PolarPmdProtocol,
    pmd_response,
    pmd_settings,
)
from spinecoach.sources.ble_scan import Advertisement, FoundDevice, scan
from spinecoach.sources.ble_struct import StructProtocol
from spinecoach.sources.ble_transport import BleakTransport
from spinecoach.sources.live import DeviceFeed
from spinecoach.web.protocol import AnnotationMessage

ACC, GYRO = 2, 5
RATE_HZ = 52.0
HOST_START_S = 1000.0  # host monotonic time of the recording's t = 0
PMD_EPOCH_OFFSET_S = 7.9e8  # device clock: seconds since 2000-01-01 (≈ 2025)
ALTERNATIVES = ("Sensor Logger", "phyphox", "--source sim", "spinecoach analyze FILE")


# -- PMD frame encoders (the decoder's documented layout) ---------------------------------


def acc_frame(stamp_ns: int, mg: np.ndarray) -> bytes:
    """ACC raw type 1: int16 LE x, y, z in mG per sample."""
    payload = np.asarray(mg, dtype="<i2").tobytes()
    return bytes([ACC]) + stamp_ns.to_bytes(8, "little") + bytes([0x01]) + payload


def _signed_bits(deltas: np.ndarray) -> int:
    bits = 1
    while deltas.min() < -(1 << (bits - 1)) or deltas.max() > (1 << (bits - 1)) - 1:
        bits += 1
    return bits


def gyro_frame(stamp_ns: int, raw: np.ndarray) -> bytes:
    """GYRO compressed type 0: int16 reference sample, then one block of signed deltas
    (LSB first, channel by channel)."""
    raw = np.asarray(raw, dtype=np.int64)
    payload = bytearray(np.asarray(raw[0], dtype="<i2").tobytes())
    deltas = np.diff(raw, axis=0)
    if len(deltas):
        bits = _signed_bits(deltas)
        mask = (1 << bits) - 1
        packed = 0
        for j, row in enumerate(deltas):
            for c in range(3):
                packed |= (int(row[c]) & mask) << ((3 * j + c) * bits)
        n_bytes = (len(deltas) * 3 * bits + 7) // 8
        payload += bytes([bits, len(deltas)]) + packed.to_bytes(n_bytes, "little")
    return bytes([GYRO]) + stamp_ns.to_bytes(8, "little") + bytes([0x80]) + bytes(payload)


def _tlv(kind: int, values: Sequence[int], size: int = 2) -> bytes:
    return bytes([kind, len(values)]) + b"".join(v.to_bytes(size, "little") for v in values)


# -- virtual time ---------------------------------------------------------------------------


class VirtualClock:
    """Host monotonic time that only moves when the world advances it."""

    def __init__(self, now: float) -> None:
        self.now = now
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay_s: float) -> None:
        if delay_s <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + delay_s, next(self._seq), future))
        await future

    def advance(self, step_s: float) -> None:
        self.now += step_s
        while self._sleepers and self._sleepers[0][0] <= self.now + 1e-9:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)


# -- the fake device and its transport -------------------------------------------------------


@dataclass
class _Stream:
    frame_len: int
    streaming: bool = False
    next_i: int = 0
    frames: int = 0
    last_delivery_s: float = -math.inf
    settings: bytes = b""


@dataclass
class FakePolarDevice:
    """A Polar-like sensor playing ``sensor`` (uniform samples) in host time."""

    name: str
    sensor: SensorData
    clock: VirtualClock
    device_offset_s: float
    drift_ppm: float = 0.0
    outages: Sequence[tuple[float, float]] = ()
    refuse_after_outage: int = 0
    refuse_start: int | None = None
    has_gyro: bool = True
    factor: float = 1 / 16
    truncate: set[tuple[int, int]] = field(default_factory=set)
    inject: list[tuple[float, bytes]] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        t = self.sensor.time_s
        self.host_t = HOST_START_S + t
        self.stamps_ns = np.round(
            (self.device_offset_s + t * (1 + 1e-6 * self.drift_ppm)) * 1e9
        ).astype(np.int64)
        self.acc_mg = np.round(self.sensor.acc_mps2 / G * 1000.0).astype(np.int64)
        self.gyr_raw = np.round(self.sensor.gyr_dps / self.factor).astype(np.int64)
        self.streams = {ACC: _Stream(frame_len=8), GYRO: _Stream(frame_len=12)}
        self.transport: FakeTransport | None = None
        self.outbox: list[tuple[float, int, bytes]] = []
        self._seq = itertools.count()
        self._rng = random.Random(self.seed)
        self._refuse_left = 0
        self._in_outage = False
        self.connect_attempts = 0
        self.requests: list[bytes] = []
        self.sent_acc_samples = 0
        self.inject = sorted(self.inject)

    def available(self, now: float) -> bool:
        return not any(start <= now < end for start, end in self.outages)

    # link
    def connect(self, transport: FakeTransport) -> None:
        self.connect_attempts += 1
        if not self.available(self.clock.now):
            raise BleakError(f"Device with address {self.name} was not found.")
        if self._refuse_left:
            self._refuse_left -= 1
            raise TimeoutError("connection attempt timed out")
        self.transport = transport
        for stream in self.streams.values():
            stream.streaming = False

    def drop(self) -> None:
        transport, self.transport = self.transport, None
        for stream in self.streams.values():
            stream.streaming = False
        self.outbox.clear()  # queued notifications die with the link
        if transport is not None:
            transport.link_lost()

    # control point
    def features(self) -> bytes:
        return bytes([0x0F, 0x24 if self.has_gyro else 0x04, 0x00])

    def control(self, data: bytes) -> bytes:
        self.requests.append(data)
        op, kind = data[0], data[1]
        if kind not in self.streams or (kind == GYRO and not self.has_gyro):
            return bytes([0xF0, op, kind, 2])
        if op == 0x01:
            ranges = [2, 4, 8, 16] if kind == ACC else [250, 500, 1000, 2000]
            params = _tlv(0, [26, 52, 104, 208]) + _tlv(1, [16]) + _tlv(2, ranges)
            return bytes([0xF0, op, kind, 0, 0]) + params
        if op == 0x02:
            if kind == self.refuse_start:
                return bytes([0xF0, op, kind, 3])
            stream = self.streams[kind]
            if stream.streaming:
                return bytes([0xF0, op, kind, 6])
            stream.streaming = True
            stream.settings = data[2:]
            stream.next_i = int(np.searchsorted(self.host_t, self.clock.now, side="right"))
            factor = struct.pack("<f", self.factor) if kind == GYRO else b""
            return bytes([0xF0, op, kind, 0, 0]) + (bytes([5, 1]) + factor if factor else b"")
        if op == 0x03:
            self.streams[kind].streaming = False
            return bytes([0xF0, op, kind, 0])
        return bytes([0xF0, op, kind, 1])

    # time passes
    def tick(self, now: float) -> None:
        if self.transport is not None and not self.available(now):
            self.drop()
            self._in_outage = True
        if self._in_outage and self.available(now):
            self._in_outage = False
            self._refuse_left = self.refuse_after_outage
        for kind, stream in self.streams.items():
            if self.transport is None or not stream.streaming:
                continue
            n = stream.frame_len
            while (
                stream.next_i + n <= len(self.host_t) and self.host_t[stream.next_i + n - 1] <= now
            ):
                block = slice(stream.next_i, stream.next_i + n)
                last = stream.next_i + n - 1
                stamp = int(self.stamps_ns[last])
                if kind == ACC:
                    data = acc_frame(stamp, self.acc_mg[block])
                    self.sent_acc_samples += n
                else:
                    data = gyro_frame(stamp, self.gyr_raw[block])
                stream.frames += 1
                if (kind, stream.frames) in self.truncate:
                    data = data[:-3]
                    if kind == ACC:
                        self.sent_acc_samples -= n
                at = max(
                    stream.last_delivery_s, self.host_t[last] + self._rng.uniform(0.008, 0.045)
                )
                stream.last_delivery_s = at
                heapq.heappush(self.outbox, (at, next(self._seq), data))
                stream.next_i += n
        while self.inject and self.inject[0][0] <= now:
            at, data = self.inject.pop(0)
            heapq.heappush(self.outbox, (at, next(self._seq), data))
        while self.outbox and self.outbox[0][0] <= now and self.transport is not None:
            _, _, data = heapq.heappop(self.outbox)
            self.transport.notify(PMD_DATA_UUID, data)


class FakeTransport:
    """A :class:`~spinecoach.sources.ble_transport.BleTransport` wired to a fake device."""

    def __init__(self, device: FakePolarDevice) -> None:
        self.device = device
        self._callbacks: dict[str, Callable[[bytes], None]] = {}
        self._on_disconnect: Callable[[], None] | None = None

    @property
    def is_connected(self) -> bool:
        return self.device.transport is self

    def set_disconnected_callback(self, callback: Callable[[], None]) -> None:
        self._on_disconnect = callback

    async def connect(self, *, timeout_s: float) -> None:
        self.device.connect(self)

    async def disconnect(self) -> None:
        if self.is_connected:
            self.device.drop()

    def link_lost(self) -> None:
        if self._on_disconnect is not None:
            self._on_disconnect()

    async def start_notify(self, uuid: str, callback: Callable[[bytes], None]) -> None:
        self._require()
        self._callbacks[uuid] = callback

    async def write(self, uuid: str, data: bytes, *, response: bool = True) -> None:
        self._require()
        assert uuid == PMD_CONTROL_UUID
        answer = self.device.control(bytes(data))
        asyncio.get_running_loop().call_soon(self.notify, PMD_CONTROL_UUID, answer)

    async def read(self, uuid: str) -> bytes:
        self._require()
        return self.device.features()

    def notify(self, uuid: str, data: bytes) -> None:
        callback = self._callbacks.get(uuid)
        if callback is not None and self.is_connected:
            callback(data)

    def _require(self) -> None:
        if not self.is_connected:
            raise BleakError("Not connected")


# -- driving the world -------------------------------------------------------------------------


def uniform_recording(seed: int, reps: int) -> Recording:
    """A pelvic-tilt session at 52 Hz on an exact grid (the device times its samples)."""
    errors = replace(SensorErrorModel(), drop_probability=0.0, jitter_s=0.0)
    return simulate("pelvic-tilt", seed=seed, reps=reps, rate_hz=RATE_HZ, sensor_errors=errors)


def make_source(device: FakePolarDevice, feed: DeviceFeed, **options: object) -> BleDeviceSource:
    return BleDeviceSource(
        device.name,
        PolarPmdProtocol(),
        feed,
        transport_factory=lambda _address: FakeTransport(device),
        clock=device.clock,
        sleep=device.clock.sleep,
        jitter=0.0,
        **options,  # type: ignore[arg-type]
    )


async def run_world(
    clock: VirtualClock,
    devices: Sequence[FakePolarDevice],
    until_s: float,
    *,
    step_s: float = 0.02,
    each_step: Callable[[], None] | None = None,
) -> None:
    while clock.now < until_s:
        clock.advance(step_s)
        for device in devices:
            device.tick(clock.now)
        for _ in range(12):  # let the sources react (connect, control point answers)
            await asyncio.sleep(0)
        if each_step is not None:
            each_step()


async def stop(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with pytest.raises(asyncio.CancelledError):
            await task


def _states(feed: DeviceFeed, seen: list[str]) -> None:
    state = feed.status().state
    if not seen or seen[-1] != state:
        seen.append(state)


# -- the gate ------------------------------------------------------------------------


@dataclass
class GateRun:
    recording: Recording
    feeds: dict[str, DeviceFeed]
    sources: dict[str, BleDeviceSource]
    devices: dict[str, FakePolarDevice]
    states: dict[str, list[str]]
    session: LiveSession
    frames: list[FrameMessage]
    lower_times_s: np.ndarray


DROP_AT_S, DROP_FOR_S = 70.0, 2.0  # recording time; one refused reconnect adds ≈ 1 s


async def _gate_scenario() -> GateRun:
    rec = uniform_recording(seed=3, reps=6)
    clock = VirtualClock(HOST_START_S - 0.5)
    devices = {
        "lower": FakePolarDevice(
            "A0:9E:1A:00:00:01",
            rec.sensors["lower"],
            clock,
            device_offset_s=PMD_EPOCH_OFFSET_S + 12.345,
            drift_ppm=40.0,
            outages=[(HOST_START_S + DROP_AT_S, HOST_START_S + DROP_AT_S + DROP_FOR_S)],
            refuse_after_outage=1,
            seed=1,
        ),
        "upper": FakePolarDevice(
            "A0:9E:1A:00:00:02",
            rec.sensors["upper"],
            clock,
            device_offset_s=PMD_EPOCH_OFFSET_S + 3600.0,
            drift_ppm=-25.0,
            seed=2,
        ),
    }
    feeds = {
        p: DeviceFeed(f"ble:{d.name}", kind="ble", name=f"Polar {p}", clock=clock)
        for p, d in devices.items()
    }
    sources = {p: make_source(d, feeds[p], backoff_s=(0.5, 0.5, 1.0)) for p, d in devices.items()}
    subscriptions = {p: f.subscribe() for p, f in feeds.items()}
    session = LiveSession("pelvic-tilt", placements=("lower", "upper"))
    for event in rec.events:  # the coach announces the calibration windows
        session.annotate(
            AnnotationMessage(
                type="annotation",
                kind=event.kind,  # type: ignore[arg-type]
                start_s=event.start_s,
                end_s=event.end_s,
            )
        )
    frames: list[FrameMessage] = []
    lower_times: list[np.ndarray] = []
    states: dict[str, list[str]] = {p: [] for p in feeds}
    last_t = {p: -math.inf for p in feeds}

    def consume() -> None:
        for placement, subscription in subscriptions.items():
            _states(feeds[placement], states[placement])
            while not subscription.queue.empty():
                batch = subscription.queue.get_nowait()
                subscription.queued_samples -= len(batch)
                rate = sources[placement].protocol.rate_hz
                assert rate == RATE_HZ
                t = batch.time_s - HOST_START_S  # session seconds
                # The feed keeps each device's host times strictly increasing, also
                # while its clock fit converges (LiveSession refuses anything else).
                assert t[0] > last_t[placement] and bool(np.all(np.diff(t) > 0))
                keep = np.ones(len(t), dtype=bool)
                last_t[placement] = float(t[-1])
                if placement == "lower":
                    lower_times.append(t)
                out = session.add_batch(
                    placement, rate, t, batch.acc_mps2[keep], batch.gyr_dps[keep]
                )
                frames.extend(m for m in out if isinstance(m, FrameMessage))

    tasks = [asyncio.create_task(s.run()) for s in sources.values()]
    await run_world(
        clock, list(devices.values()), HOST_START_S + rec.duration_s + 1.0, each_step=consume
    )
    await stop(tasks)
    consume()
    session.finish()
    return GateRun(
        rec, feeds, sources, devices, states, session, frames, np.concatenate(lower_times)
    )


@pytest.fixture(scope="module")
def gate() -> GateRun:
    return asyncio.run(_gate_scenario())


def test_disconnect_mid_set_reconnects_with_backoff(gate: GateRun) -> None:
    lower, upper = gate.states["lower"], gate.states["upper"]
    assert lower[:2] == ["connecting", "connected"]
    assert lower[-3:] == ["reconnecting", "connected", "disconnected"]
    assert lower.count("reconnecting") == 1 and "failed" not in lower
    assert upper == ["connecting", "connected", "disconnected"]
    device = gate.devices["lower"]
    # 1 first connection; during the outage at +0.5 and +1.0 s (not found), at +2.0 s
    # refused, at +3.0 s connected.
    assert device.connect_attempts == 5
    assert gate.sources["lower"].connections == 2
    assert gate.sources["upper"].connections == 1
    assert gate.sources["lower"].malformed_packets == 0
    # The streams were started again after the reconnect, with the same request.
    starts = [r for r in device.requests if r[0] == 0x02]
    assert [r.hex() for r in starts] == [
        "020200013400010110000201" + "0800",  # ACC 52 Hz, 16 bit, 8 G
        "020500013400010110000201" + "d007",  # GYRO 52 Hz, 16 bit, 2000 deg/s
    ] * 2


def test_the_gap_is_marked_and_nothing_is_invented(gate: GateRun) -> None:
    lower, upper = gate.feeds["lower"], gate.feeds["upper"]
    assert (lower.gaps, upper.gaps) == (1, 0)
    assert lower.lost_s == pytest.approx(DROP_FOR_S + 1.0, abs=0.35)
    t = gate.lower_times_s
    steps = np.diff(t)
    hole = int(np.argmax(steps))
    hole_start, hole_end = float(t[hole]), float(t[hole + 1])
    assert hole_start == pytest.approx(DROP_AT_S, abs=0.3)
    assert hole_end == pytest.approx(DROP_AT_S + DROP_FOR_S + 1.0, abs=0.35)
    # Elsewhere (once the clock fit has converged) the samples are one period apart, to
    # the few ms the streaming clock fit moves as it learns: nothing missing, nothing added.
    # (Samples the feed moved just after the previous one are counted in time_adjusted.)
    settled = t[1:] > 2.0
    settled[hole] = False
    periods = steps[settled] * RATE_HZ
    assert np.all(periods < 1.6)  # no other hole
    assert np.count_nonzero(periods < 0.4) <= lower.time_adjusted
    assert np.median(np.abs(periods - 1.0)) < 1e-3
    # Every pushed sample is one the device sent (none interpolated into the hole).
    sent = gate.devices["lower"].sent_acc_samples
    assert lower.samples <= sent and sent - lower.samples < 30  # unpaired at stream starts
    assert lower.late == 0 and upper.late == 0
    inside = [f for f in gate.frames if hole_start + 0.3 < f.t < hole_end - 0.3]
    assert len(inside) > 40
    assert all("gap in the sensor data" in f.flags for f in inside)
    lower_angles = ("pelvic_tilt_deg", "lumbar_flexion_deg", "lower_inclination_deg")
    assert all(f.angles[name] is None for f in inside for name in lower_angles)
    assert all(f.angles["upper_inclination_deg"] is not None for f in inside)


def _hole_and_reps(gate: GateRun) -> tuple[float, float, list[Event], list[Event]]:
    """The lower sensor's hole (session s), the truth reps, those fully outside it."""
    t = gate.lower_times_s
    hole = int(np.argmax(np.diff(t)))
    hole_start, hole_end = float(t[hole]), float(t[hole + 1])
    assert gate.recording.truth is not None
    truth = [e for e in gate.recording.truth.events if e.kind == "rep"]
    outside = [r for r in truth if r.end_s < hole_start or r.start_s > hole_end]
    assert len(truth) == 6 and len(outside) == 5  # the outage cuts one rep
    return hole_start, hole_end, truth, outside


def _overlaps(a: Rep | Event, b: Rep | Event) -> bool:
    return min(a.end_s, b.end_s) - max(a.start_s, b.start_s) > 0


def test_the_session_completes_and_no_rep_is_invented_across_the_gap(gate: GateRun) -> None:
    result = gate.session.result
    assert result is not None and gate.session.finished
    hole_start, hole_end, _, outside = _hole_and_reps(gate)
    counted = result.reps
    assert len(counted) >= 4
    for rep in counted:
        assert rep.end_s < hole_start or rep.start_s > hole_end, "a rep spans the outage"
        assert any(_overlaps(rep, true_rep) for true_rep in outside), "an invented rep"
    assert any(d.start_s < hole_start and d.reason.startswith("no data") for d in result.discarded)
    before = [r for r in outside if r.end_s < hole_start]
    assert all(any(_overlaps(rep, r) for rep in counted) for r in before)


def test_every_rep_outside_the_gap_is_counted(gate: GateRun) -> None:
    result = gate.session.result
    assert result is not None
    _, _, _, outside = _hole_and_reps(gate)
    assert len(result.reps) == len(outside)
    for true_rep in outside:
        assert any(_overlaps(rep, true_rep) for rep in result.reps), (
            f"truth rep at {true_rep.start_s:.1f} s not counted"
        )


# -- bad packets, refused streams, stalls ---------------------------------------------------


def _short_device(clock: VirtualClock, **options: object) -> FakePolarDevice:
    rec = uniform_recording(seed=4, reps=1)
    return FakePolarDevice(
        "A0:9E:1A:00:00:09",
        rec.sensors["lower"],
        clock,
        device_offset_s=PMD_EPOCH_OFFSET_S,
        **options,  # type: ignore[arg-type]
    )


def test_malformed_packets_are_counted_and_skipped() -> None:
    clock = VirtualClock(HOST_START_S - 0.5)
    frame = acc_frame(int(PMD_EPOCH_OFFSET_S * 1e9) + 5 * 10**9, np.ones((8, 3), dtype=int))
    at = HOST_START_S + 4.0
    bad = [
        b"",  # empty
        bytes.fromhex("02 0102"),  # shorter than a header
        frame[:-3],  # truncated ACC frame (extra; the real stream goes on)
        bytes([GYRO]) + bytes(8) + bytes([0x80]) + bytes(4),  # reference sample cut
        bytes([0x00]) + bytes(8) + bytes([0x00]) + bytes(3),  # ECG: not started
        bytes([ACC]) + bytes(8) + bytes([0x05]) + bytes(6),  # unknown frame type
    ]
    device = _short_device(clock, inject=[(at + 0.1 * i, b) for i, b in enumerate(bad)])
    feed = DeviceFeed("ble:x", kind="ble", name="Polar", clock=clock)
    source = make_source(device, feed)
    seen: list[str] = []

    async def scenario() -> None:
        task = asyncio.create_task(source.run())
        await run_world(clock, [device], HOST_START_S + 10.0, each_step=lambda: _states(feed, seen))
        # A frame sent twice (re-sent after a link-layer retry): skipped, not duplicated.
        transport = device.transport
        assert transport is not None
        before = feed.samples
        transport.notify(PMD_DATA_UUID, acc_frame(int(device.stamps_ns[10]), np.ones((8, 3))))
        assert feed.samples == before
        await stop([task])

    asyncio.run(scenario())
    assert source.malformed_packets == len(bad) + 1
    assert [*seen, feed.status().state] == ["connecting", "connected", "disconnected"]
    assert feed.gaps == 0 and feed.late == 0
    assert abs(feed.samples - device.sent_acc_samples) < 20


def test_a_truncated_stream_frame_becomes_a_gap_not_invented_samples() -> None:
    clock = VirtualClock(HOST_START_S - 0.5)
    device = _short_device(clock, truncate={(ACC, 100)})  # ACC frame 100 ≈ 15.4 s in
    feed = DeviceFeed("ble:x", kind="ble", name="Polar", clock=clock)
    source = make_source(device, feed)

    async def scenario() -> None:
        task = asyncio.create_task(source.run())
        await run_world(clock, [device], HOST_START_S + 20.0)
        await stop([task])

    asyncio.run(scenario())
    assert source.malformed_packets == 1
    assert feed.gaps == 1
    assert feed.lost_s == pytest.approx(8 / RATE_HZ, abs=0.5 / RATE_HZ)
    assert abs(feed.samples - device.sent_acc_samples) < 20


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"refuse_start": GYRO},
            "refused to start its GYRO stream at 52 Hz: error 3 (not supported)",
        ),
        (
            {"has_gyro": False},
            "streams no gyroscope (GYRO) data (Polar H10 and OH1 stream acceleration only); "
            "spinecoach needs both: use a Polar Verity Sense",
        ),
    ],
)
def test_a_refused_stream_fails_with_a_clear_message(
    options: dict[str, object], message: str
) -> None:
    clock = VirtualClock(HOST_START_S - 0.5)
    device = _short_device(clock, **options)
    feed = DeviceFeed("ble:x", kind="ble", name="Polar lower", clock=clock)
    source = make_source(device, feed)

    async def scenario() -> None:
        task = asyncio.create_task(source.run())
        await run_world(clock, [device], HOST_START_S + 2.0)
        assert task.done()  # run() ended by itself
        await task

    asyncio.run(scenario())
    status = feed.status()
    assert status.state == "failed"
    assert status.detail.startswith("Polar lower (A0:9E:1A:00:00:09): ")
    assert message in status.detail
    assert device.connect_attempts == 1 and feed.samples == 0
    assert not device.transport  # disconnected after the refusal


def test_a_stalled_connection_is_dropped_and_restarted() -> None:
    clock = VirtualClock(HOST_START_S - 0.5)
    device = _short_device(clock)
    feed = DeviceFeed("ble:x", kind="ble", name="Polar", clock=clock)
    source = make_source(device, feed, stall_timeout_s=2.0)
    seen: list[str] = []

    def mute() -> None:  # at 5 s the sensor stops streaming but keeps the link
        _states(feed, seen)
        if HOST_START_S + 5.0 <= clock.now < HOST_START_S + 5.03:
            for stream in device.streams.values():
                stream.streaming = False

    async def scenario() -> None:
        task = asyncio.create_task(source.run())
        await run_world(clock, [device], HOST_START_S + 12.0, each_step=mute)
        await stop([task])

    asyncio.run(scenario())
    assert [*seen, feed.status().state] == [
        "connecting",
        "connected",
        "reconnecting",
        "connected",
        "disconnected",
    ]
    assert source.connections == 2 and feed.gaps == 1
    assert feed.lost_s == pytest.approx(3.0, abs=0.6)  # 2 s stall + checks + 0.5 s back-off


def test_reconnect_message_and_backoff_schedule() -> None:
    feed = DeviceFeed("ble:x", kind="ble", name="Polar lower")
    source = BleDeviceSource("AA:BB", PolarPmdProtocol(), feed, jitter=0.0)
    assert [source.backoff_delay(k) for k in range(1, 8)] == [0.5, 1, 2, 4, 8, 8, 8]
    jittery = BleDeviceSource("AA:BB", PolarPmdProtocol(), feed, rng=random.Random(1))
    delays = [jittery.backoff_delay(3) for _ in range(50)]
    assert all(2.0 <= d <= 2.2 for d in delays) and len(set(delays)) > 1

    clock = VirtualClock(HOST_START_S)
    device = _short_device(clock, outages=[(HOST_START_S + 3.0, HOST_START_S + 60.0)])
    feed = DeviceFeed("ble:x", kind="ble", name="Polar lower", clock=clock)
    source = make_source(device, feed, backoff_s=(0.5, 1.0, 2.0))
    details: list[str] = []

    def watch() -> None:
        detail = feed.status().detail
        if not details or details[-1] != detail:
            details.append(detail)

    async def scenario() -> None:
        task = asyncio.create_task(source.run())
        await run_world(clock, [device], HOST_START_S + 10.0, each_step=watch)
        await stop([task])

    asyncio.run(scenario())
    who = "Polar lower (A0:9E:1A:00:00:09)"
    assert f"{who} lost the connection, reconnecting in 0.5 s (attempt 1)" in details
    assert (
        f"{who} could not connect (BleakError: Device with address A0:9E:1A:00:00:09 was not "
        "found.), reconnecting in 1.0 s (attempt 2)"
    ) in details
    assert any("reconnecting in 2.0 s (attempt 4)" in d for d in details)
    assert feed.status().detail == f"{who}: stopped"


def test_gives_up_after_max_attempts() -> None:
    clock = VirtualClock(HOST_START_S)
    device = _short_device(clock, outages=[(0.0, math.inf)])
    feed = DeviceFeed("ble:x", kind="ble", name="Polar", clock=clock)
    source = make_source(device, feed, backoff_s=(0.1,), max_attempts=3)

    async def scenario() -> None:
        task = asyncio.create_task(source.run())
        await run_world(clock, [device], HOST_START_S + 1.0)
        assert task.done()

    asyncio.run(scenario())
    assert feed.status().state == "failed"
    assert (
        "gave up after 3 failed attempts (BleakError: Device with address" in feed.status().detail
    )


def test_bad_source_options_name_the_argument() -> None:
    feed = DeviceFeed("ble:x", kind="ble", name="Polar")
    with pytest.raises(ConfigurationError, match="backoff_s must list at least one delay"):
        BleDeviceSource("AA", PolarPmdProtocol(), feed, backoff_s=())
    with pytest.raises(ConfigurationError, match="jitter must be a fraction from 0 to 1, got 2"):
        BleDeviceSource("AA", PolarPmdProtocol(), feed, jitter=2.0)
    with pytest.raises(ConfigurationError, match="unknown BLE protocol 'h10'; use one of polar"):
        ble.protocol_by_name("h10")


# -- the declared-layout protocol -----------------------------------------------------------


def test_struct_protocol_pushes_records_as_they_come() -> None:
    layout = PacketLayout(
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
    uuid = "0000ffe1-0000-1000-8000-00805f9b34fb"

    class StructTransport:
        def __init__(self) -> None:
            self.connected = False
            self.written: list[bytes] = []
            self.callback: Callable[[bytes], None] | None = None

        @property
        def is_connected(self) -> bool:
            return self.connected

        def set_disconnected_callback(self, callback: Callable[[], None]) -> None:
            pass

        async def connect(self, *, timeout_s: float) -> None:
            self.connected = True

        async def disconnect(self) -> None:
            self.connected = False

        async def start_notify(self, uuid_: str, callback: Callable[[bytes], None]) -> None:
            assert uuid_ == uuid
            self.callback = callback

        async def write(self, uuid_: str, data: bytes, *, response: bool = True) -> None:
            self.written.append(data)

        async def read(self, uuid_: str) -> bytes:
            return b""

    transport = StructTransport()
    feed = DeviceFeed("ble:s", kind="ble", name="IMU")
    protocol = StructProtocol(
        layout, data_uuid=uuid.upper(), rate_hz=100.0, start_command=(uuid, b"\x01")
    )
    source = BleDeviceSource("S", protocol, feed, transport_factory=lambda _a: transport)
    records = b"".join(
        struct.pack("<I hhh hhh", 1000 + 10 * i, 0, 0, 4096, 164, 0, 0) for i in range(4)
    )

    async def scenario() -> None:
        task = asyncio.create_task(source.run())
        for _ in range(5):
            await asyncio.sleep(0)
        assert transport.callback is not None
        transport.callback(records[:32])
        transport.callback(records[32:])
        transport.callback(records[:7])  # not a whole record
        await stop([task])

    asyncio.run(scenario())
    assert transport.written == [b"\x01"]
    assert feed.samples == 4 and source.malformed_packets == 1
    batch = list(feed.buffered())
    np.testing.assert_allclose(np.vstack([b.acc_mps2 for b in batch])[:, 2], G)
    np.testing.assert_allclose(np.vstack([b.gyr_dps for b in batch])[:, 0], 10.0)
    with pytest.raises(ConfigurationError, match="name both acc_fields and gyr_fields"):
        StructProtocol(replace(layout, gyr_fields=()), data_uuid=uuid, rate_hz=100.0)


# -- control point parsing ----------------------------------------------------------------------


def test_control_point_responses_and_settings() -> None:
    r = pmd_response(bytes.fromhex("f0 01 02 00 00") + _tlv(0, [26, 52]) + _tlv(2, [8]))
    assert (r.op_code, r.measurement_type, r.error_code, r.more) == (1, 2, 0, False)
    assert pmd_settings(r.parameters) == {0: [26.0, 52.0], 2: [8.0]}
    assert pmd_response(bytes.fromhex("f0 02 05 08")).error == "invalid sample rate"
    with pytest.raises(InputFormatError, match=r"starting with f0 .*found '01 02'"):
        pmd_response(bytes.fromhex("01 02"))
    with pytest.raises(
        InputFormatError, match="a setting type 0–5 at byte 0, found 'type 9 in 09 01'"
    ):
        pmd_settings(bytes.fromhex("09 01"))
    with pytest.raises(InputFormatError, match="2 values of 2 bytes for setting type 0 at byte 2"):
        pmd_settings(bytes.fromhex("00 02 1a00"))
    acc = {0: [25.0, 50.0, 100.0, 200.0], 1: [16.0], 2: [2.0, 4.0, 8.0]}
    gyr = {0: [26.0, 52.0, 104.0], 1: [16.0], 2: [250.0, 500.0]}
    a, g = ble_pmd.choose_pmd_settings(acc, gyr)  # no common rate: each nearest to 52 Hz
    assert (a.sample_rate_hz, g.sample_rate_hz, a.range, g.range) == (50, 52, 8, 500)


# -- no adapter --------------------------------------------------------------------------------


def _assert_no_adapter_message(text: str) -> None:
    assert "no Bluetooth adapter or BlueZ was found on this computer" in text
    for alternative in ALTERNATIVES:
        assert alternative in text


def test_scan_without_an_adapter_names_the_alternatives() -> None:
    """The real bleak call: this machine has no adapter and no BlueZ."""
    try:
        found = asyncio.run(scan(0.5))
    except SourceUnavailableError as error:
        _assert_no_adapter_message(str(error))
        assert isinstance(error.__cause__, (FileNotFoundError, BleakError))
    else:
        pytest.skip(f"this computer has Bluetooth ({len(found)} devices heard)")


@pytest.mark.parametrize(
    "error",
    [
        FileNotFoundError(2, "No such file or directory"),
        BleakError("No Bluetooth adapters found."),
    ],
)
def test_scan_translates_the_no_adapter_errors(error: Exception) -> None:
    async def scanner(_timeout_s: float) -> list[Advertisement]:
        raise error

    with pytest.raises(SourceUnavailableError) as caught:
        asyncio.run(scan(1.0, scanner=scanner))
    _assert_no_adapter_message(str(caught.value))
    assert caught.value.__cause__ is error


def test_scan_other_errors_pass_through_and_devices_are_classified() -> None:
    async def broken(_timeout_s: float) -> list[Advertisement]:
        raise BleakError("org.bluez.Error.InProgress")

    with pytest.raises(BleakError, match="InProgress"):
        asyncio.run(scan(1.0, scanner=broken))

    async def nearby(_timeout_s: float) -> list[Advertisement]:
        return [
            Advertisement("Kettle", "11:22", -40, ()),
            Advertisement(None, "33:44", -70, (PMD_SERVICE_UUID.upper(),)),
            Advertisement("Polar Sense B5A43E2F", "A0:9E", -60, ()),
        ]

    found = asyncio.run(scan(1.0, scanner=nearby))
    assert [(d.address, d.protocol) for d in found] == [
        ("A0:9E", "polar-pmd"),
        ("33:44", "polar-pmd"),
        ("11:22", None),
    ]
    with pytest.raises(ConfigurationError, match="timeout_s must be 0–120 seconds, got 0"):
        asyncio.run(scan(0.0, scanner=nearby))


def test_connecting_without_an_adapter_fails_with_the_alternatives() -> None:
    """The real bleak client: connect fails at once with no BlueZ; no retry loop."""
    feed = DeviceFeed("ble:x", kind="ble", name="Polar lower")
    source = BleDeviceSource("A0:9E:1A:00:00:01", PolarPmdProtocol(), feed)

    async def scenario() -> None:
        await asyncio.wait_for(source.run(), timeout=20.0)

    try:
        asyncio.run(scenario())
    except TimeoutError:
        pytest.skip("this computer has Bluetooth (the connect attempt waited for a device)")
    status = feed.status()
    if status.state != "failed":
        pytest.skip("this computer has Bluetooth")
    _assert_no_adapter_message(status.detail)
    assert isinstance(source.error, SourceUnavailableError)
    assert BleakTransport("x").is_connected is False


# -- the command line --------------------------------------------------------------------------

runner = CliRunner()


def test_cli_scan_without_an_adapter_exits_1_with_the_message() -> None:
    result = runner.invoke(cli_sensors.app, ["scan", "--timeout", "0.5"])
    if result.exit_code == 0:
        pytest.skip("this computer has Bluetooth")
    assert result.exit_code == 1
    _assert_no_adapter_message(" ".join(result.stderr.split()))
    assert result.stdout == ""


def test_cli_scan_table_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    devices = [
        FoundDevice("Polar Sense B5A43E2F", "A0:9E:1A:B5:A4:3E", -61, "polar-pmd"),
        FoundDevice(None, "11:22:33:44:55:66", None, None),
    ]

    async def fake_scan(timeout_s: float) -> list[FoundDevice]:
        assert timeout_s == 2.0
        return devices

    monkeypatch.setattr(ble_scan, "scan", fake_scan)  # the command imports it when it runs
    table = runner.invoke(cli_sensors.app, ["scan", "--timeout", "2"])
    assert table.exit_code == 0, table.output
    assert "Polar Sense B5A43E2F" in table.stdout and "polar-pmd" in table.stdout
    assert "(no name)" in table.stdout and "-61" in table.stdout
    as_json = runner.invoke(cli_sensors.app, ["scan", "--timeout", "2", "--json"])
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout) == [d.as_dict() for d in devices]


def test_doctests() -> None:
    modules = (ble, ble_pmd, ble_scan, ble_transport)
    results = [doctest.testmod(m, optionflags=doctest.ELLIPSIS) for m in modules]
    assert sum(r.failed for r in results) == 0 and sum(r.attempted for r in results) >= 6
