"""A live session whose database cannot be written for a while (issue 16 item 8: "a
session stopped then loses 30 s of samples"): the session says so to its client, keeps
the unsaved samples in memory (bounded), writes them when writing works again, and the
stored session ends complete; the health is degraded meanwhile and ok after.

Real failure paths only: a real full disk (a tmpfs, when this machine lets the tests
mount one) and write failures injected into the real SQLite history by a SQLAlchemy
event hook on the INSERT of sample blocks (the same OSError(ENOSPC) a full disk gives),
through the one runner (spinecoach.coach.runner.LiveRun) and the web socket's face."""

from __future__ import annotations

import asyncio
import errno
import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from spinecoach.coach.events import LiveEvent, NoticeEvent, SummaryEvent
from spinecoach.coach.runner import LiveRun, LiveStart, build_simulation, pump_for
from spinecoach.recording import Recording
from spinecoach.services import history as history_module
from spinecoach.services import live as services_live
from spinecoach.services.history import HealthReport, History
from spinecoach.store import repository
from spinecoach.store.models import SessionRecord

START = LiveStart("pelvic-tilt", seed=2, reps=2)


class DiskFullHook:
    """Makes the INSERT of sample blocks fail with ENOSPC: ``arm(after=n)`` lets ``n``
    more inserts through first; ``disarm()`` ends it (thread-safe)."""

    def __init__(self, history: History) -> None:
        self.lock = threading.Lock()
        self.armed = False
        self.let_through = 0
        self.failed = 0
        self.fail_limit: int | None = None
        event.listen(history.engine, "before_cursor_execute", self._before)

    def arm(self, *, after: int = 0, failures: int | None = None) -> None:
        with self.lock:
            self.armed, self.let_through, self.fail_limit = True, after, failures

    def disarm(self) -> None:
        with self.lock:
            self.armed = False

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith("INSERT INTO SAMPLE_BLOCKS"):
            return
        with self.lock:
            if not self.armed:
                return
            if self.let_through > 0:
                self.let_through -= 1
                return
            if self.fail_limit is not None and self.failed >= self.fail_limit:
                self.armed = False
                return
            self.failed += 1
        raise OSError(errno.ENOSPC, "No space left on device")


def run_session(
    history: History, on_event: Any = None, *, speed: float = 8.0
) -> tuple[list[LiveEvent], Recording]:
    """The simulated session of START through the one runner; (every event, what was
    simulated). ``on_event(event)`` sees each event as it is emitted."""
    got: list[LiveEvent] = []

    async def main() -> None:
        async def emit(events: Any) -> None:
            for item in events:
                got.append(item)
                if on_event is not None:
                    on_event(item)

        session, source, _recording = build_simulation(START)
        run = LiveRun(
            session,
            START,
            emit=emit,
            history=history,
            pump=pump_for(session, source, emit, speed=speed),
        )
        await run.begin()
        ended = await run.run()
        await run.finish(ended=ended)

    asyncio.run(asyncio.wait_for(main(), 120.0))
    return got, build_simulation(START)[2]


def notices(events: list[LiveEvent]) -> list[NoticeEvent]:
    return [e for e in events if isinstance(e, NoticeEvent)]


def assert_nothing_lost(history: History, session_id: int | None, simulated: Recording) -> None:
    """The stored session is complete and its recording is every simulated sample."""
    assert session_id is not None
    with Session(history.engine) as db:
        record = db.get(SessionRecord, session_id)
        assert record is not None and record.status == "completed"
        stored = repository.load_recording(db, session_id)
    assert set(stored.sensors) == set(simulated.sensors)
    for placement, data in simulated.sensors.items():
        kept = stored.sensors[placement]
        np.testing.assert_array_equal(kept.time_s, data.time_s)
        np.testing.assert_array_equal(kept.acc_mps2, data.acc_mps2)
        np.testing.assert_array_equal(kept.gyr_dps, data.gyr_dps)


def summary_id(events: list[LiveEvent]) -> int | None:
    (summary,) = [e for e in events if isinstance(e, SummaryEvent)]
    return summary.session_id


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[History]:
    monkeypatch.setattr(history_module, "HEALTH_CACHE_S", 0.0)  # every call checks anew
    opened = History.open(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    yield opened
    opened.close()


def test_writes_fail_then_work_again_nothing_is_lost(history: History) -> None:
    """Five commits in a row fail (2.5 s of samples) mid-session: the client is told
    why and how much is kept, the health is degraded, then saving works again, the
    client is told nothing was lost, the health is ok and every sample is stored."""
    hook = DiskFullHook(history)
    hook.arm(after=2, failures=5)
    health: dict[str, HealthReport] = {}

    def on_event(item: LiveEvent) -> None:
        if isinstance(item, NoticeEvent) and item.code not in health:
            health[item.code] = history.health(min_free_disk_mb=0.0)

    events, simulated = run_session(history, on_event)
    told = notices(events)
    assert [n.code for n in told] == ["not-saved", "saved-again"], told
    assert "the disk of the database is full" in told[0].message
    assert "up to 240,000 samples (about 20 min at this session's rates)" in told[0].message
    assert "free space on the server's disk" in told[0].fix
    assert told[1].message.endswith("nothing was lost")
    during, after = health["not-saved"], health["saved-again"]
    assert during.status == "degraded" and during.unsaved_sessions == 1
    assert "1 live session(s) could not save" in during.problems[0].what
    assert after.status == "ok" and after.unsaved_sessions == 0 and after.problems == ()
    assert hook.failed == 5
    assert_nothing_lost(history, summary_id(events), simulated)


def test_a_session_stopped_on_a_full_disk_is_saved_when_space_returns(
    history: History,
) -> None:
    """The finding itself: the disk stays full past the end of the session. The end
    waits, says so, and when space returns 1 s later the session is stored complete."""
    hook = DiskFullHook(history)
    hook.arm(after=2)  # fails until disarmed

    def on_event(item: LiveEvent) -> None:
        if isinstance(item, NoticeEvent) and "end of the session" in item.message:
            threading.Timer(1.0, hook.disarm).start()

    events, simulated = run_session(history, on_event)
    told = notices(events)
    codes = [n.code for n in told]
    assert codes == ["not-saved", "not-saved", "saved-again"], told
    assert "the end of the session could not be saved yet" in told[1].message
    assert "the summary follows once it is saved" in told[1].fix
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("SummaryEvent") > events.index(told[-1])
    assert_nothing_lost(history, summary_id(events), simulated)


def test_a_disk_that_stays_full_is_given_up_after_the_wait(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the wait the person gets the summary without a session id and is told what
    was lost; the committed part stays in the history (interrupted once stale)."""
    monkeypatch.setattr(services_live, "FINISH_WAIT_S", 1.5)
    hook = DiskFullHook(history)
    hook.arm(after=2)
    events, _simulated = run_session(history)
    told = notices(events)
    assert told[-1].code == "not-saved"
    assert "within 2 s: what was not saved by then is lost" in told[-1].message
    assert summary_id(events) is None
    (listed,) = history.sessions()
    assert listed["status"] in ("active", "interrupted") and listed["recorded_until_s"] > 0


# --- a real full disk --------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path, small_tmpfs: Any) -> Iterator[Path]:
    """An 8 MB tmpfs (skipped when mounting is not permitted here)."""
    with small_tmpfs(tmp_path / "small", "8m") as folder:
        yield folder


def test_a_real_full_disk_mid_session(small_disk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite on a tmpfs filled up 3 s into the session and emptied 1 s after the client
    is told: health 503-worthy (not writable) then ok, nothing lost."""
    monkeypatch.setattr(history_module, "HEALTH_CACHE_S", 0.0)
    history = History.open(f"sqlite:///{small_disk / 'history.sqlite3'}")
    filler = small_disk / "filler"
    health: list[HealthReport] = []

    def fill() -> None:
        with filler.open("wb") as handle:
            try:
                while True:
                    handle.write(b"\1" * 65536)
                    handle.flush()
            except OSError as error:
                assert error.errno == errno.ENOSPC

    def on_event(item: LiveEvent) -> None:
        if not filler.exists() and not health and getattr(item, "t", 0.0) > 3.0:
            fill()
        if isinstance(item, NoticeEvent):
            health.append(history.health(min_free_disk_mb=0.5))
            if item.code == "not-saved":
                threading.Timer(1.0, filler.unlink).start()

    try:
        events, simulated = run_session(history, on_event)
        told = notices(events)
        assert [n.code for n in told] == ["not-saved", "saved-again"], told
        assert "the disk of the database is full" in told[0].message
        assert not health[0].writable and health[0].free_disk_mb == 0.0
        assert health[1].writable and health[1].status == "ok"
        assert_nothing_lost(history, summary_id(events), simulated)
    finally:
        history.close()


# --- bounded memory ----------------------------------------------------------------------
BOUND_SCRIPT = textwrap.dedent(
    """
    import errno, gc, json, os, sys
    from sqlalchemy import event
    from sqlalchemy.orm import Session
    from spinecoach.motion.stream import SensorSample
    from spinecoach.services.history import History
    from spinecoach.store.live import stored_recording
    from spinecoach.store.live_buffer import MAX_UNSAVED_SAMPLES

    history = History.open(sys.argv[1])
    full = {"on": True}

    @event.listens_for(history.engine, "before_cursor_execute")
    def refuse(conn, cursor, statement, *args):
        if full["on"] and statement.lstrip().upper().startswith("INSERT INTO SAMPLE_BLOCKS"):
            raise OSError(errno.ENOSPC, "No space left on device")

    rates = {"lower": 100.0, "upper": 100.0}
    recorder = history.start_live(
        "pelvic-tilt", source="external", live_config={"rates_hz": rates}, pain_before_mm=None
    )

    def feed(first, count):  # two sensors at 100 Hz, a flush (that fails) every 50 s
        for start in range(first, first + count, 10_000):
            items = []
            for i in range(start, min(start + 10_000, first + count)):
                placement = "lower" if i % 2 == 0 else "upper"
                t = (i // 2) / 100.0
                items.append(SensorSample(placement, t, (0.0, float(i), 9.81), (1.0, 2.0, 3.0)))
            recorder.add_items(items)
            try:
                history.flush(recorder)
            except OSError:
                pass

    def rss():  # resident memory now (bytes)
        gc.collect()
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    before = rss()
    feed(0, MAX_UNSAVED_SAMPLES)
    at_bound = rss() - before
    feed(MAX_UNSAVED_SAMPLES, MAX_UNSAVED_SAMPLES)
    current = rss() - before
    unsaved = recorder.unsaved()
    full["on"] = False
    history.flush(recorder)
    with Session(history.engine) as db:
        stored = stored_recording(db, recorder.session_id)
    print(json.dumps({
        "bound": MAX_UNSAVED_SAMPLES, "at_bound_mb": at_bound / 1e6, "after_mb": current / 1e6,
        "kept": unsaved.samples, "dropped": unsaved.samples_dropped,
        "dropped_from_s": unsaved.dropped_from_s, "dropped_to_s": unsaved.dropped_to_s,
        "stored": sum(len(s.time_s) for s in stored.sensors.values()),
        "last_stored_acc_y": max(float(s.acc_mps2[-1, 1]) for s in stored.sensors.values()),
    }))
    """
)


def test_unsaved_samples_are_bounded_and_the_oldest_are_kept(tmp_path: Path) -> None:
    """Commits fail for twice the bound (40 min of two sensors at 100 Hz): memory stops
    growing at the bound (measured in a subprocess), the newer half is not kept and said
    so, and the kept (oldest) samples are all stored when writing works again."""
    if not Path("/proc/self/statm").exists():
        pytest.skip("measures resident memory through Linux's /proc/self/statm")
    import json

    url = f"sqlite:///{tmp_path / 'bound.sqlite3'}"
    done = subprocess.run(
        [sys.executable, "-c", BOUND_SCRIPT, url], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    bound = out["bound"]
    assert out["kept"] == bound and out["dropped"] == bound
    assert out["stored"] == bound  # the oldest bound samples, every one of them
    assert out["last_stored_acc_y"] == bound - 1  # sample i carries i: the oldest kept
    assert out["dropped_from_s"] == (bound // 2) / 100.0
    assert out["dropped_to_s"] == (2 * bound - 1) // 2 / 100.0
    # Resident memory (Linux /proc): the kept samples are compressed rows (at most 56
    # bytes a sample, 13.4 MB); the second half, not kept, adds nothing. As objects
    # (before issue 16) the 480,000 samples held 158 MB more and kept growing.
    assert out["at_bound_mb"] < 60.0, out
    assert out["after_mb"] - out["at_bound_mb"] < 5.0, out


class _Socket:
    """The web socket of a client that starts a simulated session and leaves once it has
    the summary (what starlette's WebSocket offers the live connection)."""

    def __init__(self, start: dict[str, Any]) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.incoming.put_nowait({"type": "websocket.receive", "text": json.dumps(start)})
        self.sent: list[dict[str, Any]] = []

    async def accept(self) -> None:
        pass

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send_text(self, text: str) -> None:
        message = json.loads(text)
        self.sent.append(message)
        if message["type"] == "summary":
            self.incoming.put_nowait({"type": "websocket.disconnect"})


def test_the_web_socket_client_is_told_both_ways(history: History) -> None:
    """Over the live protocol: an ``error`` message ``not-saved`` (why, how much is kept)
    then ``saved-again``, then the summary with the stored session's id."""
    from spinecoach.web.live import LiveConnection
    from spinecoach.web.settings import Settings

    DiskFullHook(history).arm(after=2, failures=4)
    socket = _Socket({"type": "start", "technique": "pelvic-tilt", "seed": 2, "reps": 2})
    connection = LiveConnection(socket, Settings(sim_speed=8.0), history)  # type: ignore[arg-type]
    asyncio.run(asyncio.wait_for(connection.run(), 120.0))
    errors = [m for m in socket.sent if m["type"] == "error"]
    assert [e["code"] for e in errors] == ["not-saved", "saved-again"], errors
    assert "the disk of the database is full" in errors[0]["message"]
    assert errors[1]["message"].endswith("nothing was lost")
    (summary,) = [m for m in socket.sent if m["type"] == "summary"]
    assert summary["session_id"] is not None
    assert_nothing_lost(history, summary["session_id"], build_simulation(START)[2])


def test_the_client_is_told_when_the_bound_is_reached() -> None:
    """The store loop on a recorder with a bound of 300 samples whose commits fail while
    600 arrive: told once that newer samples are not kept (from when), then, when writing
    works again, which span was not kept."""
    from spinecoach.motion.stream import SensorSample
    from spinecoach.services.live import StoreNotice, store_loop
    from spinecoach.store.live_buffer import LiveRecorder

    recorder = LiveRecorder(1, {"lower": 100.0}, max_unsaved_samples=300)
    outcomes = iter([False] * 6 + [True] * 3)
    told: list[StoreNotice] = []
    attempts: list[bool] = []

    def flush() -> None:  # a history whose disk is full for six commits
        ok = next(outcomes)
        if len(attempts) < 6:  # 100 samples (1 s) arrive before each failing commit
            first = 100 * len(attempts)
            recorder.add_items(
                [
                    SensorSample("lower", i / 100, (0.0, 0.0, 9.81), (0.0, 0.0, 0.0))
                    for i in range(first, first + 100)
                ]
            )
        attempts.append(ok)
        batch = recorder.take()
        if not ok:
            recorder.give_back(batch)
            raise OSError(errno.ENOSPC, "No space left on device")
        recorder.committed(batch)

    async def tell(notice: StoreNotice) -> None:
        told.append(notice)

    async def main() -> None:
        loop = store_loop(flush, tell, status=recorder.unsaved, interval_s=0.01)
        task = asyncio.create_task(loop)
        while len(attempts) < 9:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert [n.code for n in told] == ["not-saved", "not-saved", "saved-again"], told
    assert "up to 300 samples (about 3 s at this session's rates)" in told[0].message
    assert "the newer samples are not from 3.0 s on" in told[1].message
    assert "(3.0–6.0 s) were not kept" in told[2].message  # 3.00 to 5.99 s
    assert recorder.unsaved().samples_dropped == 300


def test_a_client_that_leaves_while_the_end_waits_still_gets_its_session_saved(
    history: History,
) -> None:
    """The page is closed while the end of the session waits for the disk (the
    connection cancels the session's task): the saving goes on, and when space returns
    the session is stored complete."""
    from spinecoach.web.live import LiveConnection
    from spinecoach.web.settings import Settings

    hook = DiskFullHook(history)
    hook.arm(after=2)  # full until disarmed
    socket = _Socket({"type": "start", "technique": "pelvic-tilt", "seed": 2, "reps": 2})
    leave = socket.send_text

    async def send_text(text: str) -> None:
        await leave(text)
        message = json.loads(text)
        if "end of the session could not be saved yet" in message.get("message", ""):
            socket.incoming.put_nowait({"type": "websocket.disconnect"})  # the page closes
            threading.Timer(1.0, hook.disarm).start()

    socket.send_text = send_text  # type: ignore[method-assign]

    async def main() -> str:
        connection = LiveConnection(socket, Settings(sim_speed=8.0), history)  # type: ignore[arg-type]
        await connection.run()
        for _ in range(200):  # the server goes on running; the saving finishes in it
            (listed,) = await asyncio.to_thread(history.sessions)
            if listed["status"] == "completed":
                return str(listed["id"])
            await asyncio.sleep(0.05)
        return ""

    session_id = asyncio.run(asyncio.wait_for(main(), 120.0))
    assert session_id, "the session was not completed after the client left"
    assert not [m for m in socket.sent if m["type"] == "summary"]  # it left before
    assert_nothing_lost(history, int(session_id), build_simulation(START)[2])
