"""Keeping a live session in the history while it runs: one behaviour for every face (the
web socket and the terminal coach).

* :func:`begin_storing` starts the stored session (``history.start_live``). When that
  fails, the coaching goes on without being saved: the failure is logged and the face
  shows :data:`NOT_SAVED_AT_START` (what happened, what to do).
* :func:`store_loop` commits what the session received and produced every
  :data:`~spinecoach.store.live.FLUSH_INTERVAL_S`. A failed commit keeps its data in
  memory for the next tick; it is logged every time and the face shows
  :data:`NOT_SAVED_YET` once per run of failures (again after a commit succeeded).
* :func:`finish_storing` completes the stored session with its result. When that
  fails, the person still gets the summary (without a session id); the failure is
  logged and the face shows :data:`NOT_SAVED_AT_END` (the session stays in the history as
  interrupted, and can be closed there with its summary).

The faces pass callables (the history's ``start_live`` and ``flush`` bound to their
arguments, and how to show a message), so this module needs neither the web nor the
terminal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from spinecoach.store.live import FLUSH_INTERVAL_S

log = logging.getLogger("spinecoach.services.live")

#: (what happened, what to do) when the stored session could not be started.
NOT_SAVED_AT_START: Final = (
    "the session could not be saved to the history (see the server log)",
    "the coaching goes on; check the database, then start a new session",
)
#: (what happened, what to do) when a commit failed (its data is kept and retried).
NOT_SAVED_YET: Final = (
    "the latest data could not be saved yet; it is kept and retried",
    "check the database; the session goes on",
)

#: (what happened, what to do) when the finished session could not be completed.
NOT_SAVED_AT_END: Final = (
    "the end of the session could not be saved to the history (see the log)",
    "check the database; the history shows the session as interrupted and can close it "
    "with its summary",
)


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
    on_failure: Callable[[tuple[str, str]], Awaitable[None]],
    *,
    interval_s: float = FLUSH_INTERVAL_S,
) -> None:
    """Call ``flush()`` (in a thread) every ``interval_s`` until cancelled; see the module
    docstring for failures."""
    warned = False
    while True:
        await asyncio.sleep(interval_s)
        try:
            await asyncio.to_thread(flush)
            warned = False
        except Exception:  # kept in memory and retried at the next tick
            log.exception("committing the live session failed; retrying")
            if not warned:
                warned = True
                await on_failure(NOT_SAVED_YET)


def finish_storing(complete: Callable[[], int]) -> tuple[int | None, tuple[str, str] | None]:
    """Complete the stored session with ``complete()`` (returns its id): ``(id, None)``,
    or ``(None, NOT_SAVED_AT_END)`` after logging why it failed."""
    try:
        return complete(), None
    except Exception:  # the person still gets the summary; the log says why
        log.exception("saving the session to the history failed")
        return None, NOT_SAVED_AT_END
