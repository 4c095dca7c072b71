"""One commit loop per process, shared by every live session and batched.

Each live session that is stored registers its recorder here (:meth:`CommitLoop.add`,
from :meth:`~spinecoach.coach.runner.LiveRun.begin`). One task per event loop wakes
every :data:`~spinecoach.store.live.FLUSH_INTERVAL_S` and commits what every session
received and produced since its last commit in ONE transaction per database
(:func:`spinecoach.store.live.commit_batches`: one multi-row insert per table and one
heartbeat update), in one worker thread. So 100 sessions cost two commits a second,
not 200, and a session that dies loses at most what it did in the last interval plus
the commit's own time (about a second).

Failures keep the behaviour of :func:`spinecoach.services.live.store_loop`, one session
at a time:

* when the batched transaction fails, every session's batch is given back to its
  recorder (``store.live_buffer``: kept, packed, bounded) and each session is at once
  committed on its own (``history.flush``), so one session the database refuses (closed
  meanwhile by another server) never stops the others;
* a session whose own commit fails is *failing*: it is told ``not-saved`` (why, how
  much is kept), ``not-saved`` again when its bound is reached, and retried on its own
  (``history.flush``, which also tells the history's health), paced by
  :data:`~spinecoach.services.live.RETRY_COST_FACTOR` like before; when a retry
  works it is told ``saved-again`` and joins the batched commit again.

A session leaves with :meth:`CommitLoop.remove` before its last commit (made by
``history.complete_live``, which holds the recorder's commit lock: the loop skips a
recorder whose lock is held). The task ends when no session is left, so nothing runs
in an idle server or after a test's event loop closed.

Histories without an ``engine`` (test doubles) are committed one by one through their
``flush``.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy.orm import Session

from spinecoach.services.live import (
    RETRY_COST_FACTOR,
    RETRY_MAX_S,
    StoreNotice,
    not_saved_yet,
    past_the_bound,
    saved_again,
)
from spinecoach.store.health import write_failure
from spinecoach.store.live import FLUSH_INTERVAL_S, LiveBatch, LiveRecorder, commit_batches

log = logging.getLogger("spinecoach.coach.commit_loop")

#: Most sessions committed in one transaction (a larger process makes a few).
MAX_SESSIONS_PER_COMMIT: Final = 500


class Flushes(Protocol):
    """What the loop needs of a history: commit one recorder (and note a failure)."""

    def flush(self, recorder: LiveRecorder) -> None: ...


Tell = Callable[[StoreNotice], Awaitable[None]]


@dataclass(eq=False)
class Registration:
    """One stored live session in the loop, and how its storing goes."""

    recorder: LiveRecorder
    history: Flushes
    tell: Tell
    failing: bool = False
    dropped_before: int = 0
    next_try_s: float = 0.0


class CommitLoop:
    """The shared commit loop of one event loop (see the module docstring); get it with
    :func:`commit_loop`."""

    def __init__(self, interval_s: float = FLUSH_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._sessions: dict[int, Registration] = {}
        self._task: asyncio.Task[None] | None = None
        #: Transactions made by the batched path (for tests and benches).
        self.batched_commits = 0

    def __len__(self) -> int:
        return len(self._sessions)

    def add(self, recorder: LiveRecorder, history: Flushes, tell: Tell) -> Registration:
        """Commit ``recorder`` every interval from now on; ``tell`` gets the notices."""
        entry = Registration(recorder, history, tell)
        self._sessions[id(entry)] = entry
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return entry

    def remove(self, entry: Registration) -> None:
        """Stop committing ``entry`` (its last commit is the caller's)."""
        self._sessions.pop(id(entry), None)

    async def _run(self) -> None:
        clock = asyncio.get_running_loop().time
        while self._sessions:
            began = clock()
            try:
                await self.commit_once()
            except Exception:  # never let one tick end the loop of every session
                log.exception("the live commit loop failed; it goes on")
            await asyncio.sleep(max(0.0, self.interval_s - (clock() - began)))

    async def commit_once(self) -> None:
        """One tick: the healthy sessions batched by database, the failing ones that are
        due on their own."""
        clock = asyncio.get_running_loop().time
        now = clock()
        groups: dict[int, tuple[Any, list[Registration]]] = {}
        alone: list[Registration] = []
        for entry in list(self._sessions.values()):
            engine = getattr(entry.history, "engine", None)
            if entry.failing or engine is None:
                if now >= entry.next_try_s:
                    alone.append(entry)
                continue
            groups.setdefault(id(engine), (engine, []))[1].append(entry)
        for engine, entries in groups.values():
            for start in range(0, len(entries), MAX_SESSIONS_PER_COMMIT):
                chunk = entries[start : start + MAX_SESSIONS_PER_COMMIT]
                began = clock()
                errors = await asyncio.to_thread(_commit_group, engine, chunk)
                self.batched_commits += 1
                spent = clock() - began
                for entry in chunk:
                    await self._outcome(entry, errors.get(id(entry)), spent)
        for entry in alone:
            began = clock()
            error: BaseException | None = None
            try:
                await asyncio.to_thread(entry.history.flush, entry.recorder)
            except Exception as failed:
                error = failed
            await self._outcome(entry, error, clock() - began)

    async def _outcome(
        self, entry: Registration, error: BaseException | None, spent: float
    ) -> None:
        """Tell ``entry``'s session how its commit went (as ``services.live.store_loop``)."""
        if id(entry) not in self._sessions:  # it left meanwhile
            return
        recorder = entry.recorder
        if error is None:
            if entry.failing:
                entry.failing = False
                log.warning("committing live session %s works again", recorder.session_id)
                await entry.tell(saved_again(recorder.unsaved()))
            return
        now = asyncio.get_running_loop().time()
        entry.next_try_s = now + min(max(self.interval_s, RETRY_COST_FACTOR * spent), RETRY_MAX_S)
        failure = write_failure(error)
        unsaved = recorder.unsaved()
        dropped = unsaved.samples_dropped + unsaved.frames_dropped
        if not entry.failing:
            log.error(
                "committing live session %s failed (%s); retrying",
                recorder.session_id,
                failure.kind,
                exc_info=error,
            )
            entry.failing, entry.dropped_before = True, dropped
            await entry.tell(not_saved_yet(failure, unsaved))
        else:
            log.warning("committing the live session failed again: %s", failure.detail)
        if dropped > entry.dropped_before >= 0:
            entry.dropped_before = -1  # told once per run of failures
            await entry.tell(past_the_bound(unsaved))


def _commit_group(engine: Any, entries: Sequence[Registration]) -> dict[int, BaseException]:
    """Commit ``entries`` (one database) in one transaction (worker thread); when that
    fails, each on its own through its history's ``flush`` (which notes the failure for
    the health report). Returns the errors by ``id(entry)``."""
    taken: list[tuple[Registration, LiveBatch]] = []
    errors: dict[int, BaseException] = {}
    failed = False
    try:
        for entry in entries:
            if entry.recorder.commit_lock.acquire(blocking=False):  # held: being completed
                taken.append((entry, entry.recorder.take()))
        try:
            with Session(engine) as db:
                refused = commit_batches(db, [(e.recorder, batch) for e, batch in taken])
        except Exception:
            failed = True
            for entry, batch in taken:
                entry.recorder.give_back(batch)
        else:
            for entry, batch in taken:
                problem = refused.get(entry.recorder.session_id)
                if problem is not None:
                    entry.recorder.give_back(batch)
                    errors[id(entry)] = problem
    finally:
        for entry, _batch in taken:
            entry.recorder.commit_lock.release()
    if failed:
        log.warning("a batched live commit failed; committing its sessions one by one")
        for entry, _batch in taken:
            try:
                entry.history.flush(entry.recorder)
            except Exception as error:
                errors[id(entry)] = error
    return errors


_LOOPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CommitLoop] = (
    weakref.WeakKeyDictionary()
)


def commit_loop() -> CommitLoop:
    """The shared commit loop of the running event loop (made on first use)."""
    running = asyncio.get_running_loop()
    loop = _LOOPS.get(running)
    if loop is None:
        loop = _LOOPS[running] = CommitLoop()
    return loop


__all__ = ["MAX_SESSIONS_PER_COMMIT", "CommitLoop", "Registration", "commit_loop"]
