"""The shared, batched commit loop of live sessions (``spinecoach.store.live.commit_batches``
and ``spinecoach.coach.commit_loop``), on SQLite and on a real PostgreSQL server: many
sessions' batches go in one transaction (one INSERT statement for their blocks), a
session closed meanwhile is refused alone, and a failed batched commit gives every batch
back, tells each session and writes everything once the database can be written again."""

from __future__ import annotations

import asyncio
import errno
import threading
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session

from spinecoach.coach.commit_loop import CommitLoop
from spinecoach.errors import ConfigurationError
from spinecoach.motion.stream import SensorSample
from spinecoach.recording import Event
from spinecoach.services.history import History
from spinecoach.services.live import StoreNotice
from spinecoach.store import live, repository
from spinecoach.store.live_buffer import LiveRecorder
from spinecoach.store.models import EventRecord, SampleBlock, SessionRecord


def _sessions(engine: Engine, n: int) -> list[LiveRecorder]:
    with Session(engine) as db:
        person = repository.create_person(db, "Ada")
        ids = [
            live.start_live_session(db, person.id, "pelvic-tilt", source="external", live_config={})
            for _ in range(n)
        ]
        return [LiveRecorder(r.id, {"lower": 100.0, "upper": 100.0}) for r in ids]


def _feed(recorder: LiveRecorder, first: int, n: int) -> None:
    """``n`` samples of each sensor from sample ``first`` on (values depend on both)."""
    rng = np.random.default_rng(recorder.session_id * 1000 + first)
    items: list[SensorSample | Event] = []
    for i in range(first, first + n):
        for placement in ("lower", "upper"):
            acc, gyr = rng.normal(size=3), rng.normal(size=3)
            items.append(SensorSample(placement, i / 100, acc, gyr))
    recorder.add_items(items)


def _stored_times(engine: Engine, session_id: int, placement: str) -> np.ndarray:
    with Session(engine) as db:
        blocks = db.scalars(
            select(SampleBlock)
            .where(SampleBlock.session_id == session_id, SampleBlock.placement == placement)
            .order_by(SampleBlock.seq)
        ).all()
        if not blocks:
            return np.empty(0)
        return np.concatenate([live.decode_block(b)[:, 0] for b in blocks])


class InsertCounter:
    """Counts INSERT INTO sample_blocks statements; ``fail`` makes them raise ENOSPC."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.fail = False
        self.lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._before)

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SAMPLE_BLOCKS"):
            with self.lock:
                self.count += 1
                if self.fail:
                    raise OSError(errno.ENOSPC, "No space left on device")


def test_many_sessions_in_one_transaction_with_one_insert(engine: Engine) -> None:
    recorders = _sessions(engine, 20)
    for recorder in recorders:
        _feed(recorder, 0, 50)
        recorder.add_items([Event("calibration-neutral", 0.0, 0.2)])
    counter = InsertCounter(engine)
    with Session(engine) as db:
        refused = live.commit_batches(db, [(r, r.take()) for r in recorders])
    assert refused == {}
    assert counter.count == 1  # every session's blocks in one multi-row statement
    for recorder in recorders:
        times = _stored_times(engine, recorder.session_id, "upper")
        np.testing.assert_array_equal(times, np.arange(50) / 100)
        assert recorder.unsaved().samples == 0
        assert recorder.next_seq == {"lower": 1, "upper": 1}
    with Session(engine) as db:
        labels = db.scalars(select(EventRecord.label).where(EventRecord.kind == "annotation"))
        assert list(labels) == ["calibration-neutral"] * 20


def test_a_closed_session_is_refused_alone(engine: Engine) -> None:
    first, closed, third = _sessions(engine, 3)
    for recorder in (first, closed, third):
        _feed(recorder, 0, 10)
    with Session(engine) as db, db.begin():
        db.execute(
            update(SessionRecord)
            .where(SessionRecord.id == closed.session_id)
            .values(status="completed")
        )
    with Session(engine) as db:
        refused = live.commit_batches(db, [(r, r.take()) for r in (first, closed, third)])
    assert set(refused) == {closed.session_id}
    assert isinstance(refused[closed.session_id], ConfigurationError)
    assert "was closed while it was still running" in str(refused[closed.session_id])
    assert len(_stored_times(engine, first.session_id, "lower")) == 10
    assert len(_stored_times(engine, third.session_id, "lower")) == 10
    assert len(_stored_times(engine, closed.session_id, "lower")) == 0
    assert closed.unsaved().samples == 20  # not counted as saved (the caller gives back)


def test_the_loop_batches_fails_tells_and_writes_everything_after(url: str) -> None:
    """Five sessions in one process loop: commits work (one transaction a tick for all
    of them), then the disk is full for a while (each session told not-saved once, its
    data kept), then writing works (each told saved-again): every sample is stored once,
    in order."""
    history = History.open(url)
    counter = InsertCounter(history.engine)
    try:
        recorders = _sessions(history.engine, 5)
        told: dict[int, list[str]] = {r.session_id: [] for r in recorders}

        async def main() -> CommitLoop:
            loop = CommitLoop(interval_s=0.05)
            entries = []
            for recorder in recorders:

                async def tell(notice: StoreNotice, sid: int = recorder.session_id) -> None:
                    told[sid].append(notice.code)

                entries.append(loop.add(recorder, history, tell))
            sent = 0
            for phase_fail, ticks in ((False, 6), (True, 8), (False, 40)):
                counter.fail = phase_fail
                for _ in range(ticks):
                    if sent < 1400:
                        for recorder in recorders:
                            _feed(recorder, sent, 20)
                        sent += 20
                    await asyncio.sleep(0.05)
            for recorder in recorders:  # everything written
                assert recorder.unsaved().samples == 0, recorder.unsaved()
            for entry in entries:
                loop.remove(entry)
            return loop

        loop = asyncio.run(asyncio.wait_for(main(), 60.0))
        assert loop.batched_commits >= 6
        for recorder in recorders:
            assert told[recorder.session_id] == ["not-saved", "saved-again"]
            for placement in ("lower", "upper"):
                times = _stored_times(history.engine, recorder.session_id, placement)
                expected = np.arange(len(times)) / 100
                assert len(times) >= 1000
                np.testing.assert_array_equal(times, expected)  # once each, in order
    finally:
        history.close()


@pytest.mark.parametrize("n_sessions", [3])
def test_a_session_being_completed_is_skipped_not_blocked(engine: Engine, n_sessions: int) -> None:
    """A recorder whose commit lock is held (its session is being completed) is left for
    the next tick; the others are written."""
    recorders = _sessions(engine, n_sessions)
    for recorder in recorders:
        _feed(recorder, 0, 10)
    history = History(engine, 1)
    loop = CommitLoop(interval_s=0.05)

    async def main() -> None:
        async def tell(_notice: StoreNotice) -> None:
            raise AssertionError("nothing fails here")

        entries = [loop.add(r, history, tell) for r in recorders]
        with recorders[0].commit_lock:
            await loop.commit_once()
        assert recorders[0].unsaved().samples == 20
        assert all(r.unsaved().samples == 0 for r in recorders[1:])
        await loop.commit_once()
        assert recorders[0].unsaved().samples == 0
        for entry in entries:
            loop.remove(entry)

    asyncio.run(main())
