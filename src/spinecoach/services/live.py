"""Keeping a live session in the history while it runs: one behaviour for every face (the
web socket and the terminal coach).

* :func:`begin_storing` starts the stored session (``history.start_live``). When that
  fails, the coaching goes on without being saved: the failure is logged and the face
  shows :data:`NOT_SAVED_AT_START` (what happened, what to do).
* :func:`store_loop` commits what the session received and produced every
  :data:`~spinecoach.store.live.FLUSH_INTERVAL_S`. A failed commit (a full disk, a
  database locked too long, an I/O error) keeps its data in memory, packed and bounded
  (:mod:`spinecoach.store.live_buffer`: up to 240,000 samples, 20 min of two sensors at
  100 Hz; past that the oldest unsaved data is kept and newer samples are not), and the
  next commits retry it (paced by :data:`RETRY_COST_FACTOR`: a large backlog is retried
  less often). The person is told (:class:`StoreNotice`): ``not-saved`` when a
  run of failures starts (why, in plain words, and how much is kept), ``not-saved`` again
  when the bound is reached (what is not kept from when), ``saved-again`` when a commit
  succeeds after failures (everything kept was written). Every failure is logged.
* :func:`finish_when_stored` completes the stored session with its result. When that
  fails in a way that can pass (full, locked, I/O, unreachable), the data stays in
  memory and completing is retried every :data:`FINISH_RETRY_S` for up to
  :data:`FINISH_WAIT_S` (the person is told it waits, and ``saved-again`` when it
  worked): a session whose disk got room in time is stored complete, also when the
  client left meanwhile (the saving is not cancelled with the connection). Otherwise the
  person still gets the summary (without a session id); the failure is logged and the
  face shows :data:`NOT_SAVED_AT_END` (or what was lost after the wait): the session
  stays in the history as interrupted with what was committed, and can be closed there.

The faces pass callables (the history's ``start_live`` and ``flush`` bound to their
arguments, the recorder's ``unsaved``, and how to show a notice), so this module needs
neither the web nor the terminal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from spinecoach.store.health import WriteFailure, write_failure
from spinecoach.store.live import FLUSH_INTERVAL_S
from spinecoach.store.live_buffer import UnsavedData

log = logging.getLogger("spinecoach.services.live")

#: Longest wait (s) at the end of a session for a database that cannot be written (a
#: full disk) before its unsaved data is given up.
FINISH_WAIT_S: Final = 120.0
#: Seconds between two attempts to complete a session while waiting.
FINISH_RETRY_S: Final = 1.0
#: While commits fail, the next attempt waits this many times as long as the failed one
#: took (at least the usual interval, at most :data:`RETRY_MAX_S`): retrying a large kept
#: backlog never takes more than about a tenth of a core.
RETRY_COST_FACTOR: Final = 10.0
RETRY_MAX_S: Final = 5.0

#: (what happened, what to do) when the stored session could not be started.
NOT_SAVED_AT_START: Final = (
    "the session could not be saved to the history (see the server log)",
    "the coaching goes on; check the database, then start a new session",
)
#: (what happened, what to do) when the finished session could not be completed.
NOT_SAVED_AT_END: Final = (
    "the end of the session could not be saved to the history (see the log)",
    "check the database; the history shows the session as interrupted and can close it "
    "with its summary",
)


@dataclass(frozen=True)
class StoreNotice:
    """What to tell the person about storing: ``code`` (a live protocol error code:
    ``not-saved``, ``saved-again``), what happened and what to do."""

    code: str
    message: str
    fix: str


Tell = Callable[[StoreNotice], Awaitable[None]]


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def _bound_words(unsaved: UnsavedData | None) -> str:
    """How much is kept in memory at most, in words."""
    if unsaved is None:
        return "what arrives is kept in memory"
    if unsaved.frames or unsaved.bound_s is None:
        return (
            f"up to {unsaved.max_frames:,} camera frames and {unsaved.max_samples:,} samples "
            "are kept in memory"
        )
    return (
        f"up to {unsaved.max_samples:,} samples (about {_duration(unsaved.bound_s)} at this "
        "session's rates) are kept in memory"
    )


def not_saved_yet(failure: WriteFailure, unsaved: UnsavedData | None) -> StoreNotice:
    """A run of failed commits starts (the data is kept and retried)."""
    return StoreNotice(
        "not-saved",
        f"the latest data could not be saved ({failure.reason}); {_bound_words(unsaved)} "
        "and written as soon as the database can be written again",
        f"{failure.fix}; the session goes on",
    )


def past_the_bound(unsaved: UnsavedData) -> StoreNotice:
    """The bound is reached: newer samples are not kept."""
    since = "" if unsaved.dropped_from_s is None else f" from {unsaved.dropped_from_s:.1f} s on"
    return StoreNotice(
        "not-saved",
        "more could not be saved than memory keeps: the oldest unsaved data is kept, the "
        f"newer samples are not{since}, so the stored recording will miss them",
        "free space for the database now; the coaching and the summary are not affected",
    )


def saved_again(unsaved: UnsavedData | None) -> StoreNotice:
    """A commit worked after failures: everything kept was written."""
    lost = ""
    if unsaved is not None and (unsaved.samples_dropped or unsaved.frames_dropped):
        span = ""
        if unsaved.dropped_from_s is not None and unsaved.dropped_to_s is not None:
            span = f" ({unsaved.dropped_from_s:.1f}–{unsaved.dropped_to_s:.1f} s)"
        lost = f"; the samples past what memory keeps{span} were not kept"
    return StoreNotice(
        "saved-again",
        f"saving works again: the data kept in memory is saved{lost or ', nothing was lost'}",
        "nothing to do",
    )


def _status(status: Callable[[], UnsavedData] | None) -> UnsavedData | None:
    return None if status is None else status()


def begin_storing(start_live: Callable[[], Any], session: Any) -> tuple[str, str] | None:
    """Start storing ``session`` with ``start_live()`` (returns its recorder): sets the
    session's ``recorder`` and ``session_id``. Returns None, or :data:`NOT_SAVED_AT_START`
    after logging why it failed (the session then runs without being saved)."""
    try:
        recorder = start_live()
    except Exception:  # coaching goes on; the log says why it is not stored
        log.exception("storing the live session failed; it runs without being saved")
        return NOT_SAVED_AT_START
    session.recorder = recorder
    session.session_id = recorder.session_id
    return None


async def store_loop(
    flush: Callable[[], Any],
    tell: Tell,
    *,
    status: Callable[[], UnsavedData] | None = None,
    interval_s: float = FLUSH_INTERVAL_S,
) -> None:
    """Call ``flush()`` (in a thread) every ``interval_s`` until cancelled; ``status``:
    the recorder's :meth:`~spinecoach.store.live_buffer.LiveRecorder.unsaved`. See the
    module docstring for failures."""
    failing = False
    dropped_before = 0
    clock = asyncio.get_running_loop().time
    wait_s = interval_s
    while True:
        await asyncio.sleep(wait_s)
        began = clock()
        try:
            await asyncio.to_thread(flush)
        except Exception as error:  # kept in memory and retried at the next tick
            # A retry writes everything kept: at most a tenth of the time goes to retries
            wait_s = min(max(interval_s, RETRY_COST_FACTOR * (clock() - began)), RETRY_MAX_S)
            failure = write_failure(error)
            unsaved = _status(status)
            dropped = 0 if unsaved is None else unsaved.samples_dropped + unsaved.frames_dropped
            if not failing:
                log.exception("committing the live session failed (%s); retrying", failure.kind)
                failing, dropped_before = True, dropped
                await tell(not_saved_yet(failure, unsaved))
            else:
                log.warning("committing the live session failed again: %s", failure.detail)
            if unsaved is not None and dropped > dropped_before >= 0:
                dropped_before = -1  # told once per run of failures
                await tell(past_the_bound(unsaved))
            continue
        wait_s = interval_s
        if failing:
            failing = False
            log.warning("committing the live session works again")
            await tell(saved_again(_status(status)))


async def finish_when_stored(
    complete: Callable[[], int],
    tell: Tell,
    *,
    status: Callable[[], UnsavedData] | None = None,
    wait_s: float | None = None,
    retry_s: float = FINISH_RETRY_S,
) -> int | None:
    """Complete the stored session with ``complete()`` (in a thread; returns its id):
    the id, or None when it could not be saved. A failure that can pass is retried for
    up to ``wait_s`` (default :data:`FINISH_WAIT_S`); see the module docstring.

    The saving goes on when the caller is cancelled (a client that leaves while the end
    waits for the disk): only the server's shutdown (which cancels every task) stops it.
    """
    wait = FINISH_WAIT_S if wait_s is None else wait_s
    saving = asyncio.create_task(_finish(complete, tell, status, wait, retry_s))
    _SAVING.add(saving)  # asyncio keeps only weak references to tasks
    saving.add_done_callback(_saved)
    return await asyncio.shield(saving)


def _saved(task: asyncio.Task[int | None]) -> None:
    """A completion ended (its caller may be gone): forget it, log a failure."""
    _SAVING.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("saving the session failed", exc_info=task.exception())


#: Completions still saving after their caller was cancelled (see finish_when_stored).
_SAVING: set[asyncio.Task[int | None]] = set()


async def _finish(
    complete: Callable[[], int],
    tell: Tell,
    status: Callable[[], UnsavedData] | None,
    wait: float,
    retry_s: float,
) -> int | None:
    """The body of :func:`finish_when_stored`."""
    clock = asyncio.get_running_loop().time
    deadline = clock() + wait
    waited = False
    while True:
        try:
            session_id = await asyncio.to_thread(complete)
        except Exception as error:  # the person still gets the summary; the log says why
            failure = write_failure(error)
            if not failure.transient:
                log.exception("saving the session to the history failed")
                await tell(StoreNotice("not-saved", *NOT_SAVED_AT_END))
                return None
            if clock() + retry_s > deadline:
                log.exception("saving the session to the history failed for %.0f s", wait)
                await tell(
                    StoreNotice(
                        "not-saved",
                        f"the end of the session could not be saved ({failure.reason}) "
                        f"within {_duration(wait)}: what was not saved by then is lost; the "
                        "history shows the session as interrupted with what was saved",
                        f"{failure.fix}; then close the session in the history for its summary",
                    )
                )
                return None
            if not waited:
                waited = True
                log.exception("saving the session failed (%s); waiting", failure.kind)
                await tell(
                    StoreNotice(
                        "not-saved",
                        f"the end of the session could not be saved yet ({failure.reason}); "
                        "it is kept in memory and saved as soon as the database can be "
                        f"written, for up to {_duration(wait)}",
                        f"{failure.fix}; the summary follows once it is saved",
                    )
                )
            await asyncio.sleep(retry_s)
            continue
        if waited:
            await tell(saved_again(_status(status)))
        return session_id


__all__ = [
    "FINISH_RETRY_S",
    "FINISH_WAIT_S",
    "NOT_SAVED_AT_END",
    "NOT_SAVED_AT_START",
    "RETRY_COST_FACTOR",
    "RETRY_MAX_S",
    "StoreNotice",
    "begin_storing",
    "finish_when_stored",
    "not_saved_yet",
    "past_the_bound",
    "saved_again",
    "store_loop",
]
