"""The server's all-day posture monitor: what the back is doing now, the day so far, and
the desk-break prompt.

A :class:`PostureMonitor` feeds a :class:`~spinecoach.posture.tracker.PostureTracker`
from one of two sources:

``devices``
    the live devices placed as lower/upper sensor (the same feeds the live coach reads,
    :mod:`spinecoach.sources.live`), whenever they send;
``sim-day``
    a simulated working day replayed at ``speed`` × real time (``spinecoach serve
    --posture sim-day``), to try the day view and the prompts without sensors; its
    seconds are mapped onto today from 07:00 local time, and "now" for the prompts is the
    simulated clock.

Each completed minute and sitting bout is stored (:mod:`spinecoach.store.posture`);
raw samples are not. The current sitting run is followed second by second (sitting
upright or slouched; non-sitting seconds shorter than the tracker's ``bout_gap_s`` do
not end it). When it passes the person's limit the :func:`~spinecoach.posture.deskbreak.
should_prompt` decision opens a prompt (stored ``pending``); the page shows it and
answers *start* (the seated cat-cow session begins: ``started``), *snooze* or
*dismiss*. A seated cat-cow session completed while a prompt is open, with at least one
rep the exercise engine counted, marks it ``done`` with the session and its reps (and
tells the tracker, so the day counts the desk break). A prompt still open when the person
gets up is ``expired``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

import numpy as np
from sqlalchemy.orm import Session

from spinecoach.posture.deskbreak import LastPrompt, should_prompt
from spinecoach.posture.model import SITTING_CLASSES, MinuteSummary, PostureUpdate, SittingBout
from spinecoach.posture.tracker import PostureTracker
from spinecoach.recording import Recording
from spinecoach.services.history import History
from spinecoach.sources.live import SourceHub
from spinecoach.store import posture as store

log = logging.getLogger(__name__)

#: The technique of the desk-break routine.
DESK_BREAK_TECHNIQUE: Final = "cat-cow-seated"
#: Seconds of simulated data fed per step of a sim-day replay.
SIM_STEP_S: Final = 1.0

PostureSource = Literal["devices", "sim-day"]


@dataclass
class _Prompt:
    id: int
    sitting_since_utc: datetime
    prompted_utc: datetime
    outcome: str
    outcome_utc: datetime | None = None


class PostureMonitor:
    """One person's day (the server's local person); thread-safe for the status."""

    def __init__(self, history: History, source: PostureSource) -> None:
        self.history = history
        self.source = source
        self.tracker: PostureTracker | None = None
        self._lock = threading.Lock()
        self._origin_utc = datetime.now(UTC)  # session second 0 ↦ this instant
        self._now_s = 0.0
        self.label = "unknown"
        self.sitting_since_s: float | None = None
        self._non_sitting_s = 0
        self.prompt: _Prompt | None = None
        self.trust: dict[str, Any] = {}
        self.minutes_stored = 0
        self.bouts_stored = 0
        self.running = False

    # -- time ----------------------------------------------------------------------------
    def utc(self, seconds: float) -> datetime:
        return self._origin_utc + timedelta(seconds=seconds)

    @property
    def now_utc(self) -> datetime:
        return self.utc(self._now_s)

    # -- feeding ---------------------------------------------------------------------------
    def _apply(self, update: PostureUpdate) -> None:
        """Store what completed and follow the current sitting run (worker thread)."""
        tracker = self.tracker
        assert tracker is not None
        with self._lock:
            gap_s = tracker.settings.bout_gap_s
            for second in update.seconds:
                self._now_s = max(self._now_s, second.start_s + 1.0)
                self.label = second.label
                if second.label in SITTING_CLASSES:
                    if self.sitting_since_s is None:
                        self.sitting_since_s = second.start_s
                    self._non_sitting_s = 0
                elif self.sitting_since_s is not None and second.label != "unknown":
                    self._non_sitting_s += 1
                    if self._non_sitting_s >= gap_s:
                        self.sitting_since_s = None
                        self._expire_prompt()
            self.trust = tracker.trust().as_dict()
        if update.minutes:
            self._store_minutes(update.minutes)
        if update.bouts:
            self._store_bouts(update.bouts)
        self._decide()

    def _store_minutes(self, minutes: tuple[MinuteSummary, ...]) -> None:
        rows, _ = store.rows_from_analysis(minutes, (), self._origin_utc)
        with Session(self.history.engine) as db:
            self.minutes_stored += store.save_minutes(
                db, self.history.person_id, rows, source=self.source
            )

    def _store_bouts(self, bouts: tuple[SittingBout, ...]) -> None:
        _, rows = store.rows_from_analysis((), bouts, self._origin_utc)
        with Session(self.history.engine) as db:
            self.bouts_stored += store.save_bouts(
                db, self.history.person_id, rows, source=self.source
            )

    # -- prompts ---------------------------------------------------------------------------
    def _decide(self) -> None:
        with self._lock:
            since = self.sitting_since_s
            prompt = self.prompt
        if since is None:
            return
        with Session(self.history.engine) as db:
            settings = store.get_settings(db, self.history.person_id)
            last = (
                None
                if prompt is None
                else LastPrompt(prompt.prompted_utc, prompt.outcome, prompt.outcome_utc)
            )
            decision = should_prompt(self.now_utc, self.utc(since), settings, last=last)
            if not decision.prompt:
                return
            row = store.add_prompt(
                db,
                self.history.person_id,
                sitting_since_utc=self.utc(since),
                prompted_utc=self.now_utc,
            )
            with self._lock:
                self.prompt = _Prompt(row.id, row.sitting_since_utc, row.prompted_utc, "pending")
            log.info("desk-break prompt %s: %s", row.id, decision.reason)

    def _expire_prompt(self) -> None:
        """The person got up (called with the lock held)."""
        prompt = self.prompt
        if prompt is not None and prompt.outcome == "started":
            return  # the routine is under way: its session decides (done or not)
        self.prompt = None
        if prompt is not None and prompt.outcome in ("pending", "snoozed"):
            with Session(self.history.engine) as db:
                store.set_prompt_outcome(db, prompt.id, "expired", at_utc=self.now_utc)

    def answer(self, prompt_id: int, outcome: str) -> dict[str, Any]:
        """The person's answer to the open prompt: ``started``, ``snoozed`` or
        ``dismissed`` (raises LookupError for another prompt)."""
        with self._lock:
            prompt = self.prompt
            if prompt is None or prompt.id != prompt_id:
                raise LookupError(f"desk-break prompt {prompt_id} is not the open one")
            at = self.now_utc
            prompt.outcome, prompt.outcome_utc = outcome, at
        with Session(self.history.engine) as db:
            store.set_prompt_outcome(db, prompt_id, outcome, at_utc=at)
        return self.status()

    def session_finished(self, technique: str, session_id: int | None, reps: int) -> bool:
        """A live session ended: a seated cat-cow with reps while a prompt is open (or
        started) is the desk break done. Returns whether it counted."""
        if technique != DESK_BREAK_TECHNIQUE or reps < 1:
            return False
        with self._lock:
            prompt = self.prompt
            if prompt is None or prompt.outcome not in ("pending", "started", "snoozed"):
                return False
            at = self.now_utc
            prompt.outcome, prompt.outcome_utc = "done", at
        with Session(self.history.engine) as db:
            store.set_prompt_outcome(
                db, prompt.id, "done", at_utc=at, session_id=session_id, reps=reps
            )
        if self.tracker is not None:
            self.tracker.add_desk_break(max(0.0, self._now_s - 120.0), self._now_s, reps=reps)
        return True

    # -- status ---------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        with self._lock:
            prompt = self.prompt
            since = self.sitting_since_s
            sitting_min = None if since is None else (self._now_s - since) / 60.0
            return {
                "source": self.source,
                "running": self.running,
                "now_utc": self.now_utc.isoformat(),
                "posture": self.label,
                "sitting_since_utc": None if since is None else self.utc(since).isoformat(),
                "sitting_min": None if sitting_min is None else round(sitting_min, 1),
                "prompt": None
                if prompt is None or prompt.outcome in ("dismissed", "done", "expired")
                else {
                    "id": prompt.id,
                    "outcome": prompt.outcome,
                    "prompted_utc": prompt.prompted_utc.isoformat(),
                    "technique": DESK_BREAK_TECHNIQUE,
                    "text": (
                        f"You have been sitting for {math.floor(sitting_min or 0):.0f} "
                        "minutes. Time for the 2-minute seated cat-cow: it eases the low "
                        "back and you can do it at your desk."
                    ),
                },
                "last_prompt_outcome": None if prompt is None else prompt.outcome,
                "trust": dict(self.trust),
                "minutes_stored": self.minutes_stored,
            }

    # -- sources ---------------------------------------------------------------------------
    async def run_sim_day(self, recording: Recording, *, speed: float, day_start: datetime) -> None:
        """Replay ``recording`` (a simulated day) at ``speed`` × real time."""
        placements = tuple(recording.sensors)
        self.tracker = PostureTracker(placements, annotations=recording.events, meta=recording.meta)
        self._origin_utc = day_start
        self.running = True
        t0 = min(float(s.time_s[0]) for s in recording.sensors.values())
        end = max(float(s.time_s[-1]) for s in recording.sensors.values())
        wall0 = time.monotonic()
        step = 0
        try:
            while t0 + step * SIM_STEP_S <= end:
                lo, hi = t0 + step * SIM_STEP_S, t0 + (step + 1) * SIM_STEP_S
                due = wall0 + (hi - t0) / speed
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                await asyncio.to_thread(self._feed_span, recording, lo, hi)
                step += 1
            update = await asyncio.to_thread(self.tracker.finish)
            await asyncio.to_thread(self._apply, update)
        finally:
            self.running = False

    def _feed_span(self, recording: Recording, lo: float, hi: float) -> None:
        tracker = self.tracker
        assert tracker is not None
        for placement, sensor in recording.sensors.items():
            i, j = np.searchsorted(sensor.time_s, [lo, hi])
            if j > i:
                update = tracker.update(
                    placement, sensor.time_s[i:j], sensor.acc_mps2[i:j], sensor.gyr_dps[i:j]
                )
                self._apply(update)

    async def run_devices(self, hub: SourceHub, *, poll_s: float = 1.0) -> None:
        """Follow the placed devices of the monitor's person (``history.person_id``; the
        other persons' devices are theirs), whenever they send (until cancelled)."""
        self.running = True
        origin_host = time.monotonic()
        self._origin_utc = datetime.now(UTC)
        subscriptions: dict[str, Any] = {}
        try:
            while True:
                placed = hub.by_placement(self.history.person_id)
                wanted = tuple(sorted(placed))
                if wanted and (self.tracker is None or self.tracker.placements != wanted):
                    self.tracker = PostureTracker(wanted)
                    for feed, sub in subscriptions.values():
                        feed.unsubscribe(sub)
                    subscriptions = {p: (f, f.subscribe()) for p, f in placed.items()}
                for placement, (_feed, sub) in subscriptions.items():
                    while not sub.queue.empty():
                        batch = await sub.get()
                        tracker = self.tracker
                        if tracker is None:
                            continue
                        update = await asyncio.to_thread(
                            tracker.update,
                            placement,
                            batch.time_s - origin_host,
                            batch.acc_mps2,
                            batch.gyr_dps,
                        )
                        await asyncio.to_thread(self._apply, update)
                await asyncio.sleep(poll_s)
        finally:
            self.running = False
            for feed, sub in subscriptions.values():
                with contextlib.suppress(Exception):
                    feed.unsubscribe(sub)
