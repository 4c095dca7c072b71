"""The posture monitor on live devices: two device feeds (as phones or Bluetooth sensors
fill them) carry a simulated morning; the monitor follows the placed devices, labels the
posture, stores each minute and the sitting bout, and opens a desk-break prompt once the
sitting passes the person's limit — then expires it when the person gets up."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from spinecoach.posture.deskbreak import DeskBreakSettings
from spinecoach.services.history import History
from spinecoach.sim.activities import simulate_activities
from spinecoach.sources.live import SourceHub
from spinecoach.store import posture as store
from spinecoach.web.posture_monitor import PostureMonitor

SCHEDULE = [
    ("standing", 20.0),
    ("walking", 60.0),  # no calibration windows live: walking gives the upright reference
    ("sitting-upright", 420.0),
    ("standing", 60.0),
    ("walking", 30.0),
]


def test_the_monitor_follows_placed_devices_and_prompts(tmp_path: Path) -> None:
    day = simulate_activities(SCHEDULE, seed=5, rate_hz=25.0)
    history = History.open(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    with Session(history.engine) as db:
        store.save_settings(db, history.person_id, DeskBreakSettings(sitting_limit_min=5))
    hub = SourceHub()
    feeds = {}
    for placement in day.sensors:
        feeds[placement] = hub.device(f"test:{placement}", kind="test", name=placement)
        hub.assign(feeds[placement].id, placement)
    monitor = PostureMonitor(history, "devices")
    seen: list[dict[str, object]] = []

    async def scenario() -> None:
        task = asyncio.create_task(monitor.run_devices(hub, poll_s=0.02))
        await asyncio.sleep(0.05)
        base = time.monotonic()
        end = max(float(s.time_s[-1]) for s in day.sensors.values())
        t = 0.0
        while t < end:
            for placement, sensor in day.sensors.items():
                keep = (sensor.time_s >= t) & (sensor.time_s < t + 2.0)
                if keep.any():
                    feeds[placement].push(
                        sensor.time_s[keep],
                        host_time_s=base + float(sensor.time_s[keep][-1]),
                        acc_mps2=sensor.acc_mps2[keep],
                        gyr_dps=sensor.gyr_dps[keep],
                    )
            t += 2.0
            await asyncio.sleep(0.01)
            seen.append(monitor.status())
        # Let the monitor drain its queues (it may lag on a busy machine: every status on
        # the way is kept), until its clock has stood still for 1 s (at most 60 s).
        last, still_since = None, time.monotonic()
        deadline = still_since + 60.0
        while time.monotonic() < deadline and time.monotonic() - still_since < 1.0:
            await asyncio.sleep(0.02)
            seen.append(monitor.status())
            if seen[-1]["now_utc"] != last:
                last, still_since = seen[-1]["now_utc"], time.monotonic()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    postures = {s["posture"] for s in seen}
    assert {"walking", "sitting-upright", "standing"} <= postures, postures
    prompts = [s["prompt"] for s in seen if s["prompt"]]
    assert prompts, "no prompt after 7 minutes of sitting with a 5-minute limit"
    assert "sitting for" in prompts[0]["text"]  # type: ignore[index]
    assert seen[-1]["prompt"] is None and seen[-1]["last_prompt_outcome"] is None
    with Session(history.engine) as db:
        start = monitor.utc(0.0) - timedelta(minutes=1)
        stop = start + timedelta(hours=1)
        minutes = store.minutes_between(db, history.person_id, start, stop)
        bouts = store.bouts_between(db, history.person_id, start, stop)
        prompt_rows = store.prompts_between(db, history.person_id, start, stop)
    history.close()
    assert len(minutes) >= 9 and {m.source for m in minutes} == {"devices"}
    sitting = sum(m.sitting_upright_s + m.sitting_slouched_s for m in minutes)
    assert abs(sitting - 420.0) < 30.0
    assert len(bouts) == 1
    assert abs((bouts[0].end_utc - bouts[0].start_utc).total_seconds() - 420.0) < 30.0
    assert [p.outcome for p in prompt_rows] == ["expired"]  # the person got up
