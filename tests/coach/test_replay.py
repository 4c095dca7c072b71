"""The simulated replay keeps a rehearsed sensor silence as long in wall time as it is in
the recording, even when processing has fallen behind the clock (a loaded CI machine):
the watchdog can only see a silence that really happens."""

from __future__ import annotations

import asyncio
import time

import pytest

from spinecoach.coach.events import LiveEvent
from spinecoach.coach.replay_pump import ReplayControl, replay_simulation
from spinecoach.coach.runner import LiveStart, build_simulation
from spinecoach.motion.stream import SensorSample

SPEED = 50.0
OUTAGE_S = (10.0, 10.0)
#: Wall seconds each processed chunk costs: 0.25 s of data per 0.02 s is 12.5 × real
#: time, well below SPEED, so the replay falls behind by more than the silence lasts.
SLOW_FEED_S = 0.02


@pytest.mark.parametrize("slow", [False, True], ids=["keeping-up", "behind-the-clock"])
def test_a_rehearsed_silence_lasts_its_full_length_in_wall_time(
    slow: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = LiveStart("pelvic-tilt", reps=2, sim_outage_s=OUTAGE_S)
    session, source, _ = build_simulation(start)
    fed: list[tuple[float, float, float]] = []  # (wall after feeding, first t, last t)
    feed = session.feed
    control = ReplayControl()

    def timed_feed(chunk: list[object]) -> list[LiveEvent]:
        if slow:
            time.sleep(SLOW_FEED_S)
        out = feed(chunk)  # type: ignore[arg-type]
        times = [item.time_s for item in chunk if isinstance(item, SensorSample)]
        if times:
            fed.append((time.monotonic(), times[0], times[-1]))
            if times[0] > sum(OUTAGE_S) + 1.0:
                control.stop()  # seen enough
        return out

    monkeypatch.setattr(session, "feed", timed_feed)

    async def run() -> None:
        async for _ in replay_simulation(session, source, speed=SPEED, control=control):
            pass

    asyncio.run(run())
    before = max(i for i, (_, _, last) in enumerate(fed) if last < OUTAGE_S[0])
    after = before + 1
    assert fed[after][1] >= sum(OUTAGE_S)  # nothing from inside the outage
    silent_wall_s = fed[after][0] - fed[before][0]
    expected_s = (fed[after][1] - fed[before][2]) / SPEED
    lag_s = fed[before][0] - fed[0][0] - (fed[before][2] - fed[0][1]) / SPEED
    if slow:  # the rehearsal is meaningful: the backlog alone would swallow the silence
        assert lag_s > expected_s
    assert silent_wall_s >= 0.9 * expected_s, (silent_wall_s, expected_s, lag_s)
