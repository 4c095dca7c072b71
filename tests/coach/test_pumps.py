"""One path from any source to the runner (issue 14 item 2): ``coach.runner.pump_for``
gives the pump of each kind of source, and the devices' pump consumes the devices'
:class:`~spinecoach.sources.feed_source.FeedSource` (not their feeds)."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from spinecoach.coach.devices import DevicePump, device_sources
from spinecoach.coach.events import LiveEvent, PhaseEvent
from spinecoach.coach.replay_pump import ReplayPump
from spinecoach.coach.runner import LiveStart, build_simulation, pump_for
from spinecoach.coach.session import LiveSession
from spinecoach.conventions import EVENT_CALIBRATION_FUNCTIONAL
from spinecoach.errors import ConfigurationError
from spinecoach.sources.feed_source import FeedSource
from spinecoach.sources.live import DeviceFeed

RATE_HZ = 100.0


async def _ignore(events: list[LiveEvent]) -> None:
    return None


def _still(n: int, start_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = start_s + np.arange(n) / RATE_HZ
    return t, np.tile([0.0, 0.0, 9.81], (n, 1)), np.zeros((n, 3))


def test_pump_for_gives_each_source_its_pump_and_names_what_it_cannot_feed() -> None:
    session, sim, _ = build_simulation(LiveStart("pelvic-tilt", reps=1))
    assert isinstance(pump_for(session, sim, _ignore, speed=50.0), ReplayPump)
    assert pump_for(session, None, _ignore) is None
    feed = DeviceFeed("demo:1", kind="demo", name="Demo")
    t, acc, gyr = _still(10, 0.0)
    feed.push(t, acc_mps2=acc, gyr_dps=gyr)
    device_session = LiveSession("flexion-extension", rates_hz={"lower": RATE_HZ})
    sources = device_sources({"lower": feed}, time.monotonic())
    pump = pump_for(device_session, sources, _ignore)
    assert isinstance(pump, DevicePump)
    assert pump.sources == sources
    with pytest.raises(ConfigurationError, match="cannot be fed from str"):
        pump_for(session, "video:clip.mp4", _ignore)  # type: ignore[arg-type]


def test_the_device_sources_of_one_session_share_their_origin() -> None:
    feed = DeviceFeed("demo:1", kind="demo", name="Demo")
    t, acc, gyr = _still(10, 0.0)
    feed.push(t, acc_mps2=acc, gyr_dps=gyr)
    other = DeviceFeed("demo:2", kind="demo", name="Demo 2")
    other.push(t, acc_mps2=acc, gyr_dps=gyr)
    sources = {
        "lower": FeedSource(feed, placement="lower", origin_host_s=1.0),
        "upper": FeedSource(other, placement="upper", origin_host_s=2.0),
    }
    session = LiveSession("flexion-extension", rates_hz={"lower": RATE_HZ, "upper": RATE_HZ})
    with pytest.raises(ConfigurationError, match="one origin_host_s"):
        DevicePump.from_sources(session, sources, _ignore)


def test_the_device_pump_feeds_the_session_from_its_sources_until_stopped() -> None:
    """Samples pushed into the feed after the start reach the session through the
    FeedSource (session seconds from the origin), the script prompts the first step,
    and stop ends the run with "" and closes the sources."""
    feed = DeviceFeed("demo:1", kind="demo", name="Demo")
    t, acc, gyr = _still(5, 0.0)
    feed.push(t, acc_mps2=acc, gyr_dps=gyr)  # before the start: not this session's
    emitted: list[LiveEvent] = []

    async def emit(events: list[LiveEvent]) -> None:
        emitted.extend(events)

    async def scenario() -> tuple[str, dict[str, int], int, set[str]]:
        session = LiveSession("flexion-extension", rates_hz={"lower": RATE_HZ})
        origin = time.monotonic()
        pump = DevicePump.from_sources(session, device_sources({"lower": feed}, origin), emit)
        task = asyncio.create_task(pump.run())
        await asyncio.sleep(0.05)
        for k in range(3):
            t, acc, gyr = _still(20, 1.0 + 0.2 * k)
            feed.push(t, acc_mps2=acc, gyr_dps=gyr)
            await asyncio.sleep(0.02)
        for _ in range(200):
            if session.samples_by_placement.get("lower", 0) >= 60:
                break
            await asyncio.sleep(0.01)
        pump.stop()
        ended = await asyncio.wait_for(task, 5.0)
        states: set[str] = {s.status.state for s in pump.sources.values()}
        return ended, dict(pump.received), session.samples_by_placement["lower"], states

    ended, received, fed, states = asyncio.run(scenario())
    assert ended == ""
    assert received == {"lower": 60}
    assert fed == 60
    assert states == {"closed"}
    prompts = [e for e in emitted if isinstance(e, PhaseEvent)]
    assert prompts and prompts[0].kind == EVENT_CALIBRATION_FUNCTIONAL
