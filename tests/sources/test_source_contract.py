"""The contract every :class:`~spinecoach.sources.base.Source` passes, in the manner of
gaitmap's test mixins: :class:`SourceContract` holds the checks, and one subclass per kind
of source says how to make it in a small world of its own (a simulated recording, a file,
a phone pushing Sensor Logger messages, a fake phyphox on 127.0.0.1, a fake Polar sensor
in virtual time, synthetic camera frames).

Each world gives :data:`DATA_S` seconds of data, with ``gap=True`` a hole from
:data:`GAP_START_S` lasting :data:`GAP_S`, with ``broken=True`` an input the source cannot
use. The checks: it is a Source and ``ready``; items arrive in time order with the declared
kinds, ``running`` while they come and ``closed`` after; the gap is reported as the source
documents (a ``gap`` event, or the jump in the items' times) and nothing is filled in;
``close()`` ends the iteration at once, also while the source waits, and again does
nothing; a broken input ends it with a named :class:`~spinecoach.errors.SpinecoachError`
(status ``failed``). Every case runs under :data:`CASE_LIMIT_S`.
"""

from __future__ import annotations

import asyncio
import functools
import math
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pytest
from test_ble_source import (
    HOST_START_S,
    PMD_EPOCH_OFFSET_S,
    FakePolarDevice,
    VirtualClock,
    make_source,
    run_world,
    uniform_recording,
)
from test_phyphox_remote import FakePhyphox, Run

from spinecoach.camera.source import CameraFrame, CameraSource, PoseResult, VideoFrame
from spinecoach.conventions import EVENT_CALIBRATION_NEUTRAL, EVENT_GAP
from spinecoach.errors import InputFormatError, SourceUnavailableError, SpinecoachError
from spinecoach.io import load_recording, write_recording
from spinecoach.motion.stream import SensorSample
from spinecoach.recording import Event, Recording, SensorData
from spinecoach.sim import simulate
from spinecoach.sources.base import Source, SourceFailedError, SourceStatus
from spinecoach.sources.feed_source import FeedSource
from spinecoach.sources.live import DeviceFeed
from spinecoach.sources.phyphox_remote import PhyphoxRemoteSource
from spinecoach.sources.replay import FileReplaySource
from spinecoach.sources.sensor_logger_push import SensorLoggerPushSource, push_messages
from spinecoach.sources.simulated import SimulatedSource

#: Seconds of data each world gives; the hole of ``gap=True``: start and length (s).
DATA_S = 2.0
GAP_START_S = 1.0
GAP_S = 0.5
#: Longest a case may take (s); how soon close() must end a waiting iteration (s).
CASE_LIMIT_S = 2.0
CLOSE_LIMIT_S = 0.5
#: A source that gave nothing new for this long (s) after its world was driven is done.
QUIET_S = 0.2


@dataclass
class World:
    """A source, what feeds its world over time (None: nothing to drive), and what to
    tidy up afterwards."""

    source: Source[Any]
    drive: Callable[[], Coroutine[Any, Any, None]] | None = None
    cleanup: Callable[[], None] | None = None


def item_time_s(item: object) -> float:
    if isinstance(item, SensorSample | CameraFrame):
        return item.time_s
    assert isinstance(item, Event), f"not an item of a source: {item!r}"
    return item.start_s


def is_gap(item: object) -> bool:
    return isinstance(item, Event) and item.kind == EVENT_GAP


@dataclass
class Iteration:
    """What one iteration gave: the items, the state when each came, the state after."""

    items: list[object]
    states: list[str]
    after: str


async def _iterate(world: World) -> Iteration:
    """Iterate while the world is driven; close when it has gone quiet (or ended)."""
    source = world.source
    items: list[object] = []
    states: list[str] = []

    async def consume() -> None:
        async for item in source:
            items.append(item)
            states.append(source.status.state)

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0)  # the iteration starts (subscribes, starts its runner)
    if world.drive is not None:
        await world.drive()
    while not consumer.done():
        seen = len(items)
        await asyncio.sleep(QUIET_S)
        if len(items) == seen:
            break
    source.close()
    await asyncio.wait_for(consumer, CLOSE_LIMIT_S)
    return Iteration(items, states, source.status.state)


def _within_limit(scenario: Callable[[], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(scenario(), CASE_LIMIT_S)

    return asyncio.run(main())


@functools.cache
def _sensor() -> SensorData:
    return simulate("pelvic-tilt", seed=3, reps=1).sensors["lower"]


def _keep(time_s: np.ndarray, gap: bool) -> np.ndarray:
    keep = time_s < DATA_S
    if gap:
        keep &= ~((time_s >= GAP_START_S) & (time_s < GAP_START_S + GAP_S))
    return keep


def _recording(gap: bool) -> Recording:
    s = _sensor()
    keep = _keep(s.time_s, gap)
    sensor = SensorData.from_arrays(
        "lower", s.time_s[keep], s.acc_mps2[keep], s.gyr_dps[keep], rate_hz=s.rate_hz
    )
    return Recording.create({"lower": sensor}, events=[Event(EVENT_CALIBRATION_NEUTRAL, 0.5, 0.9)])


class SourceContract:
    """The checks every source passes; a subclass names its kind and makes its world."""

    #: The kinds of item the source gives.
    item_types: ClassVar[tuple[type, ...]]
    #: How it reports a gap: a ``gap`` event over the hole, or the jump in the times.
    gap_reported: ClassVar[Literal["event", "time-jump"]]
    #: What the error of the broken input says (a regular expression).
    broken_says: ClassVar[str]

    def make(self, tmp_path: Path, *, gap: bool = False, broken: bool = False) -> World:
        raise NotImplementedError

    @pytest.fixture
    def world(self, tmp_path: Path) -> Iterator[Callable[..., World]]:
        made: list[World] = []

        def make(**options: bool) -> World:
            made.append(self.make(tmp_path, **options))
            return made[-1]

        yield make
        for world in made:
            if world.cleanup is not None:
                world.cleanup()

    def test_is_a_source_and_ready(self, world: Callable[..., World]) -> None:
        source = world().source
        assert isinstance(source, Source)
        assert source.status.state == "ready"

    def test_items_in_time_order_with_the_declared_kinds(self, world: Callable[..., World]) -> None:
        run = _within_limit(lambda: _iterate(world()))
        data = [i for i in run.items if not isinstance(i, Event)]
        assert len(data) >= 40  # 2 s of data at ≥ 20 Hz
        assert all(isinstance(i, self.item_types) for i in run.items)
        times = [item_time_s(i) for i in run.items]
        assert times == sorted(times)
        assert item_time_s(data[-1]) - item_time_s(data[0]) > 0.8 * DATA_S
        assert not any(is_gap(i) for i in run.items)  # no gap where there was none
        assert set(run.states) == {"running"}
        assert run.after == "closed"

    def test_a_gap_is_reported_and_nothing_is_filled_in(self, world: Callable[..., World]) -> None:
        run = _within_limit(lambda: _iterate(world(gap=True)))
        data_t = np.array([item_time_s(i) for i in run.items if not isinstance(i, Event)])
        steps = np.diff(data_t)
        assert np.count_nonzero(steps > 0.25) == 1  # one hole, nothing inside it
        hole = int(np.argmax(steps))
        assert steps[hole] >= GAP_S - 0.1
        gaps = [i for i in run.items if is_gap(i)]
        if self.gap_reported == "time-jump":
            assert gaps == []
            return
        assert len(gaps) == 1
        (gap,) = gaps
        assert (gap.start_s, gap.end_s) == (data_t[hole], data_t[hole + 1])
        after = run.items[run.items.index(gap) + 1]
        assert isinstance(after, SensorSample) and after.time_s == gap.end_s

    def test_close_ends_the_iteration_after_the_item_in_hand(
        self, world: Callable[..., World]
    ) -> None:
        w = world()

        async def scenario() -> tuple[int, int]:
            got = 0
            after_close = 0
            drive = asyncio.create_task(w.drive()) if w.drive is not None else None
            async for _ in w.source:
                if got == 3:
                    after_close += 1
                got = min(got + 1, 3)
                if got == 3:
                    w.source.close()
            if drive is not None:
                drive.cancel()
            return got, after_close

        got, after_close = _within_limit(scenario)
        assert got == 3
        assert after_close == 0
        assert w.source.status.state == "closed"

    def test_close_while_it_waits_is_prompt_and_idempotent(
        self, world: Callable[..., World]
    ) -> None:
        w = world()

        async def scenario() -> tuple[float, int]:
            first = asyncio.Event()
            items: list[object] = []

            async def consume() -> None:
                async for item in w.source:
                    items.append(item)
                    first.set()

            consumer = asyncio.create_task(consume())
            drive = asyncio.create_task(w.drive()) if w.drive is not None else None
            await asyncio.wait_for(first.wait(), CASE_LIMIT_S / 2)
            await asyncio.sleep(0.05)
            w.source.close()
            closed_at, n = time.monotonic(), len(items)
            await asyncio.wait_for(consumer, CLOSE_LIMIT_S)
            if drive is not None:
                drive.cancel()
            return time.monotonic() - closed_at, len(items) - n

        took_s, more = _within_limit(scenario)
        assert took_s < CLOSE_LIMIT_S
        assert more == 0
        assert w.source.status.state == "closed"
        w.source.close()  # again: nothing happens
        assert w.source.status.state == "closed"

        async def again() -> list[object]:
            return [item async for item in w.source]

        assert _within_limit(again) == []  # a closed source gives nothing

    def test_closed_before_it_starts_gives_nothing(self, world: Callable[..., World]) -> None:
        source = world().source
        source.close()
        source.close()
        assert source.status.state == "closed"

        async def iterate() -> list[object]:
            return [item async for item in source]

        assert _within_limit(iterate) == []

    def test_a_broken_input_ends_with_a_named_error(self, world: Callable[..., World]) -> None:
        try:
            w = world(broken=True)
        except SpinecoachError as error:  # refused when made: as good, said at once
            message = str(error)
        else:
            with pytest.raises(SpinecoachError) as raised:
                _within_limit(lambda: _iterate(w))
            message = str(raised.value)
            assert w.source.status.state == "failed"
            assert w.source.status.detail == message
        assert re.search(self.broken_says, message), message


# -- the kinds of source ---------------------------------------------------------------------


class TestSimulatedSource(SourceContract):
    item_types = (SensorSample, Event)
    gap_reported = "time-jump"
    broken_says = "must be in time order.*from_recording"

    def make(self, tmp_path: Path, *, gap: bool = False, broken: bool = False) -> World:
        source = SimulatedSource.from_recording(_recording(gap))
        if broken:
            return World(SimulatedSource(source.times_s[::-1], source.items[::-1]))
        return World(source)


class TestFileReplaySource(SourceContract):
    item_types = (SensorSample, Event)
    gap_reported = "time-jump"
    broken_says = r"broken\.csv, line 1: expected a recording in a known format"

    def make(self, tmp_path: Path, *, gap: bool = False, broken: bool = False) -> World:
        if broken:
            path = tmp_path / "broken.csv"
            path.write_text("when,what\nyesterday,a bend\n", encoding="utf-8")
            return World(FileReplaySource.from_file(path, load_recording, speed=8.0))
        path = tmp_path / "piece.screc"
        write_recording(_recording(gap), path)
        return World(FileReplaySource.from_file(path, load_recording, speed=4.0))

    def test_items_come_due_at_speed_times_real_time(self, world: Callable[..., World]) -> None:
        source = world().source
        assert isinstance(source, FileReplaySource)

        async def timed() -> list[tuple[float, float]]:
            loop = asyncio.get_running_loop()
            start = loop.time()
            return [(item_time_s(i), loop.time() - start) async for i in source]

        arrivals = np.array(_within_limit(timed))
        due_s = (arrivals[:, 0] - arrivals[0, 0]) / source.speed
        late_s = arrivals[:, 1] - due_s
        assert late_s.min() > -1e-3  # never early
        assert np.median(late_s) < 0.1


class TestSensorLoggerPushSource(SourceContract):
    item_types = (SensorSample, Event)
    gap_reported = "event"
    broken_says = "does not send the gyroscope: turn it on in Sensor Logger"
    HOST_S = 500.0  # host monotonic time of the data's t = 0

    def make(self, tmp_path: Path, *, gap: bool = False, broken: bool = False) -> World:
        s = _sensor()
        keep = _keep(s.time_s, gap)
        t = s.time_s[keep]
        messages = push_messages(t, s.acc_mps2[keep], s.gyr_dps[keep], start_unix_s=1.7e9)
        if broken:
            for message in messages:
                message["payload"] = [p for p in message["payload"] if p["name"] != "gyroscope"]
        feed = DeviceFeed("sensor-logger:phone", kind="sensor-logger", name="Phone 1")
        source = SensorLoggerPushSource(feed, placement="lower", origin_host_s=self.HOST_S)

        async def drive() -> None:
            for message in messages:
                times = [p["time"] for p in message["payload"]]
                newest_s = (max(times) / 1e9 - 1.7e9) if times else 0.0
                source.receive(message, host_time_s=self.HOST_S + newest_s + 0.01)
                await asyncio.sleep(0.005)

        return World(source, drive)

    def test_a_broken_message_is_refused_by_name_and_the_source_goes_on(
        self, world: Callable[..., World]
    ) -> None:
        w = world()
        source = w.source
        assert isinstance(source, SensorLoggerPushSource)
        with pytest.raises(InputFormatError, match=r"Sensor Logger push.*payload"):
            source.receive(b'{"messageId": 1, "sessionId": "s", "deviceId": "d"}')
        run = _within_limit(lambda: _iterate(w))
        assert len(run.items) > 100 and run.after == "closed"


class TestPhyphoxRemoteSource(SourceContract):
    item_types = (SensorSample, Event)
    gap_reported = "event"
    broken_says = "records no gyroscope.*tick the accelerometer .* and the gyroscope"

    def make(self, tmp_path: Path, *, gap: bool = False, broken: bool = False) -> World:
        whole = Run.from_recording(0.0, DATA_S)
        acc_keep, gyr_keep = _keep(whole.acc_t, gap), _keep(whole.gyr_t, gap)
        run = Run(whole.acc_t[acc_keep], whole.acc[acc_keep], whole.gyr_t[gyr_keep],
                  whole.gyr_radps[gyr_keep])  # fmt: skip
        phone = FakePhyphox(run, gyroscope=not broken)
        phone.start()
        released = [0.0]  # phone time (s) released so far; the host clock follows it

        def clock() -> float:
            # The host clock follows the newest sample the phone has served (10 ms of
            # latency), not the wall clock: a poll delayed by a busy machine then arrives
            # with the same latency as any other, and the clock alignment keeps the gap
            # (a late first poll used to make its later catch-up shorten the gap).
            served = phone.gyr_served_until
            return 300.0 + (served if math.isfinite(served) else released[0]) + 0.01

        feed = DeviceFeed("phyphox:test", kind="phyphox", name="Phone (phyphox)", clock=clock)
        source = PhyphoxRemoteSource(
            phone.url, feed, poll_interval_s=0.01, backoff=(0.05,), clock=clock
        )

        async def drive() -> None:
            while released[0] < DATA_S:
                released[0] += 0.25
                phone.release(released[0])
                await asyncio.sleep(0.02)

        return World(source, drive, phone.stop)


class TestBleDeviceSource(SourceContract):
    item_types = (SensorSample, Event)
    gap_reported = "event"
    broken_says = "streams no gyroscope .*use a Polar Verity Sense"

    def make(self, tmp_path: Path, *, gap: bool = False, broken: bool = False) -> World:
        clock = VirtualClock(HOST_START_S - 0.5)
        outage = [(HOST_START_S + GAP_START_S, HOST_START_S + GAP_START_S + GAP_S)] if gap else []
        device = FakePolarDevice(
            "A0:9E:1A:00:00:07",
            _ble_sensor(),
            clock,
            device_offset_s=PMD_EPOCH_OFFSET_S,
            outages=outage,
            has_gyro=not broken,
        )
        feed = DeviceFeed("ble:A0:9E:1A:00:00:07", kind="ble", name="Polar", clock=clock)
        source = make_source(device, feed, backoff_s=(0.2,))

        async def drive() -> None:
            await run_world(clock, [device], HOST_START_S + DATA_S + 1.0)

        return World(source, drive)


@functools.cache
def _ble_sensor() -> SensorData:
    return uniform_recording(seed=5, reps=1).sensors["lower"]


class _Pose:
    """A pose estimator that always finds the same person."""

    def estimate(self, image: np.ndarray) -> PoseResult:
        return PoseResult(np.full((33, 3), 0.5), np.zeros((33, 3)), np.full(33, 0.9), None)

    def close(self) -> None:
        pass


class TestCameraSource(SourceContract):
    item_types = (CameraFrame,)
    gap_reported = "time-jump"
    broken_says = r"no such video file|pip install \"spinecoach\[camera\]\""

    def make(self, tmp_path: Path, *, gap: bool = False, broken: bool = False) -> World:
        if broken:
            missing = tmp_path / "no-such-clip.mp4"
            return World(CameraSource(f"video:{missing}", estimator=_Pose()))
        times = np.arange(0.0, DATA_S, 1 / 30)
        times = times[_keep(times, gap)]

        def frames() -> Iterator[VideoFrame]:  # a webcam delivering its images
            for t in times:
                time.sleep(0.002)
                yield VideoFrame(float(t), np.full((24, 32, 3), 100, np.uint8))

        return World(CameraSource("camera:0", estimator=_Pose(), frames=frames()))


def test_every_kind_of_source_is_checked() -> None:
    """The contract covers the simulator, file replay, phone push, phyphox, BLE and the
    camera (issue 14, item 2)."""
    kinds = {cls.__name__ for cls in SourceContract.__subclasses__()}
    assert kinds == {
        "TestSimulatedSource",
        "TestFileReplaySource",
        "TestSensorLoggerPushSource",
        "TestPhyphoxRemoteSource",
        "TestBleDeviceSource",
        "TestCameraSource",
    }


# -- what a device's feed does with its runner ------------------------------------------------


class _Runner:
    """A pulled source that pushes one batch, then fails as told."""

    def __init__(self, feed: DeviceFeed, failure: BaseException | None) -> None:
        self.feed = feed
        self.failure = failure

    async def run(self) -> None:
        self.feed.push([0.0, 0.01], host_time_s=10.01, acc_mps2=np.ones((2, 3)),
                       gyr_dps=np.zeros((2, 3)))  # fmt: skip
        await asyncio.sleep(0.01)
        if self.failure is not None:
            raise self.failure


def _feed_run(failure: BaseException | None) -> tuple[FeedSource, list[object], BaseException]:
    feed = DeviceFeed("demo:1", kind="demo", name="Demo sensor")
    source = FeedSource(feed, runner=_Runner(feed, failure))
    items: list[object] = []

    async def iterate() -> None:
        async for item in source:
            items.append(item)

    with pytest.raises(SpinecoachError) as raised:
        _within_limit(iterate)
    return source, items, raised.value


def test_a_runner_that_raises_ends_the_iteration_naming_the_device() -> None:
    source, items, error = _feed_run(OSError("the USB dongle was pulled out"))
    assert len(items) == 2  # what came before the failure was given
    assert isinstance(error, SourceFailedError)
    assert str(error) == (
        "Demo sensor: the USB dongle was pulled out; check the device and start it again"
    )
    assert isinstance(error.__cause__, OSError)
    assert source.status == SourceStatus("failed", str(error))


def test_a_runners_own_error_is_kept_as_it_is() -> None:
    refused = SourceUnavailableError("no Bluetooth adapter: use a phone with Sensor Logger")
    source, _, error = _feed_run(refused)
    assert error is refused and source.error is refused


def test_a_runner_that_ends_without_an_error_ends_the_iteration() -> None:
    feed = DeviceFeed("demo:1", kind="demo", name="Demo sensor")
    source = FeedSource(feed, runner=_Runner(feed, None))

    async def iterate() -> list[object]:
        return [item async for item in source]

    assert len(_within_limit(iterate)) == 2
    assert source.status == SourceStatus("closed", "the device source ended")
