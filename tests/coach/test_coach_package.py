"""The coach package's surface: importing it is cheap (no Rich, no engines), and the
simulator's source satisfies the one Source protocol (sources/base.py): its items in
time order by async iteration, a status, and close."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from spinecoach.motion.stream import SensorSample
from spinecoach.recording import Event
from spinecoach.sim import simulate
from spinecoach.sources.base import Source, SourceStatus
from spinecoach.sources.simulated import SimulatedSource


def test_importing_the_coach_package_imports_no_face_and_no_engine() -> None:
    code = (
        "import sys, spinecoach.coach; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('rich', 'fastapi', 'starlette', 'sqlalchemy', 'numpy') "
        "or m.startswith(('spinecoach.web', 'spinecoach.cli', 'spinecoach.coach.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_simulated_source_is_a_source_and_gives_its_items_in_time_order() -> None:
    recording = simulate("pelvic-tilt", seed=1, reps=1)
    source = SimulatedSource.from_recording(recording)
    assert isinstance(source, Source)
    assert source.status == SourceStatus("ready")

    async def read(source: SimulatedSource, limit: int | None) -> list[object]:
        items = []
        async for item in source:
            items.append(item)
            if limit is not None and len(items) == limit:
                source.close()
        return items

    items = asyncio.run(read(source, None))
    assert items == source.items and source.status.state == "closed"
    times = [i.time_s if isinstance(i, SensorSample) else i.start_s for i in source.items]
    assert times == sorted(times) == source.times_s
    samples = sum(isinstance(i, SensorSample) for i in items)
    assert samples == sum(len(s.time_s) for s in recording.sensors.values())
    assert sum(isinstance(i, Event) for i in items) == len(recording.events)
    assert asyncio.run(read(source, None)) == []  # closed: nothing more

    again = SimulatedSource.from_recording(recording)
    assert len(asyncio.run(read(again, 10))) == 10  # close() ends the iteration
    assert again.status.state == "closed"
