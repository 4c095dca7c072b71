"""Coaching from live devices: the calibration the coach leads, and the pump that feeds
a :class:`~spinecoach.coach.session.LiveSession` from device feeds.

The simulator's recordings carry their own calibration windows and breathing phases; a
real sensor does not, so the coach leads the same steps as the simulated sessions (whose
calibration is validated) and finds each window in the data (:class:`CoachScript`):
three standing forward bends (functional calibration), the neutral hold in the start
position, one practice rep (the personal range), then the sets — for cat-cow with the
breathing pacer. Prompts go to the page as they start; each window is given to the
tracker when the data show it is complete (it accepts windows in the past), so a person
who is slower or quicker than a countdown is still calibrated on the right seconds.

:class:`DevicePump` consumes one :class:`~spinecoach.sources.feed_source.FeedSource` per
placement (the :class:`~spinecoach.sources.base.Source` of a device's
:class:`~spinecoach.sources.live.DeviceFeed`, from the session's start, its times already
in session seconds), feeds the session in a worker thread (one call at a time) with the
script's windows, and hands the resulting events to ``emit``, each cue stamped with the
Unix time (ms) its data was processed. While the person pauses, samples are not fed (the
hole is a gap to the tracker, so no rep spans a pause); the sources keep receiving and
the device status stays visible.

Design choices: the samples that arrived together from one sensor go to the session as
one batch (:meth:`LiveSession.add_batch`), as a transport delivers them; a ``gap`` event
of a source is not fed (the hole in the times is the gap to the tracker, as before the
sources existed). A source that fails (its device failed for good) stops giving data:
the session goes on, its watchdog shows the sensor silent and the device's status says
why, as when the pump read the feeds themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.coach.events import LiveEvent, PhaseEvent, stamp_cues
from spinecoach.coach.session import Emit, LiveSession
from spinecoach.conventions import (
    EVENT_BREATH_EXHALE,
    EVENT_BREATH_INHALE,
    EVENT_CALIBRATION_CHECK,
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_CALIBRATION_REP,
)
from spinecoach.errors import ConfigurationError, SpinecoachError
from spinecoach.motion.stream import SensorSample
from spinecoach.recording import Event
from spinecoach.sources.feed_source import FeedSource
from spinecoach.sources.feed_source import Item as FeedItem
from spinecoach.sources.live import DeviceFeed

FloatArray = NDArray[np.float64]

#: Stillness: angular rate below this (deg/s), as the automatic calibration detector.
STILL_DPS: Final = 4.0
#: Seconds the start of the session is ignored for calibration (the AHRS settles).
SETTLE_S: Final = 3.0
#: Functional calibration: a bend is an inclination change beyond BEND_AWAY_DEG and back
#: within BEND_BACK_DEG of standing; three bends, then the window closes.
BEND_AWAY_DEG: Final = 8.0
BEND_BACK_DEG: Final = 3.0
FUNCTIONAL_BENDS: Final = 3
#: The neutral hold: this many seconds of stillness in the start position.
NEUTRAL_HOLD_S: Final = 5.0
#: Moving into a lying or kneeling start position changes the sensor's inclination by
#: at least this much (deg) from standing; any position but standing needs some movement
#: (an integrated angular rate of SETUP_MOVEMENT_DEG) before its neutral hold.
LYING_CHANGE_DEG: Final = 30.0
SETUP_MOVEMENT_DEG: Final = 20.0
#: The practice rep: away from neutral by PRACTICE_AWAY_DEG, back within
#: PRACTICE_BACK_DEG and still for PRACTICE_STILL_S.
PRACTICE_AWAY_DEG: Final = 4.0
PRACTICE_BACK_DEG: Final = 2.0
PRACTICE_STILL_S: Final = 1.0
#: Longest wait (s) for each step before the coach takes what it has and goes on.
STEP_LIMIT_S: Final = {"functional": 45.0, "position": 90.0, "practice": 30.0, "check": 60.0}
#: Paced breathing for the breath-led techniques (s): as the simulator's typical profile.
BREATH_INHALE_S: Final = 3.0
BREATH_EXHALE_S: Final = 4.0
#: Techniques whose reps follow the breathing pacer.
PACED_TECHNIQUES: Final = frozenset({"cat-cow", "cat-cow-seated"})
#: Smoothing (s) of the gravity direction used to follow the inclination.
GRAVITY_TAU_S: Final = 0.2
#: The neutral check of a kept calibration: this many seconds still in the start
#: position (as ``motion.calibration_store.NEUTRAL_CHECK_S``).
CHECK_HOLD_S: Final = 5.0
#: Longest wait (s) for the session's verdict once the check's window is given.
VERDICT_LIMIT_S: Final = 2.0
#: After a failed check, seconds to stand up before the standing reference is taken.
STAND_UP_S: Final = 5.0


def _angle_deg(a: FloatArray, b: FloatArray) -> float:
    cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


@dataclass
class CoachScript:
    """The calibration the coach leads, step by step, watching one sensor's data.

    Feed every sample of the leading sensor (the lower one when there is one) with
    :meth:`update`; it returns ``(prompts, windows)``: prompts are for the person (an
    phase event with a provisional end, shown with a countdown; not given to
    the tracker), windows are the calibration windows found in the data, given to the
    session when found (the tracker accepts windows that lie in the past). The practice
    rep's window is announced when the step starts, with a provisional end (the limit):
    the exercise engine takes the first rep in it as the practice rep.

    Steps: **functional** — three standing forward bends, counted from the sensor's
    inclination (away by 8°, back within 3°); the window runs from 1 s before the first
    bend to 0.3 s after the third. **position** — get into the start position and hold
    still: the first 5 s of stillness after the setup movement (and, lying or kneeling,
    an inclination change of 30° from standing). **practice** — one comfortable rep,
    from the end of the neutral hold (seen when the sensor has moved 4° away from neutral
    and come back within 2°, still for 1 s). Each step has a time limit; then the coach takes
    the data it has and goes on (``notes`` says so). For breath-led techniques the
    breathing pacer starts with the practice rep: inhale 3 s, exhale 4 s, repeated.

    With a kept calibration (``kept=True``, issue 15 item 6) the first step is
    **check** — 5 s still in the start position (after the AHRS settles), given as the
    ``calibration-check`` window; the session makes the neutral check on it and the
    pump passes the verdict on (:meth:`checked`): passed, the sets follow at once (the
    pacer starts for the breath-led techniques); failed (or no verdict within 2 s), the
    whole protocol follows, from standing up (the standing reference is taken 5 s later).
    """

    technique: str
    position: str
    kept: bool = False
    step: str = "waiting"
    notes: list[str] = field(default_factory=list)
    _t0: float = math.nan
    _step_start: float = math.nan
    _gravity: FloatArray | None = None
    _last_t: float = math.nan
    _reference: FloatArray | None = None
    _away: bool = False
    _bends: int = 0
    _first_move_t: float = math.nan
    _last_return_t: float = math.nan
    _moved_deg: float = 0.0
    _still_since: float = math.nan
    _neutral_sum: FloatArray | None = None
    _neutral_n: int = 0
    _neutral_end: float = math.nan
    _next_breath_s: float = math.nan
    _inhale: bool = True

    def update(
        self, time_s: FloatArray, acc_mps2: FloatArray, gyr_dps: FloatArray
    ) -> tuple[list[PhaseEvent], list[Event]]:
        prompts: list[PhaseEvent] = []
        windows: list[Event] = []
        rates = np.linalg.norm(gyr_dps, axis=1)
        for t, acc, rate in zip(time_s.tolist(), acc_mps2, rates.tolist(), strict=True):
            self._sample(t, acc, rate, prompts, windows)
        if self.technique in PACED_TECHNIQUES and math.isfinite(self._next_breath_s):
            now = float(time_s[-1])
            while self._next_breath_s <= now:
                length = BREATH_INHALE_S if self._inhale else BREATH_EXHALE_S
                kind = EVENT_BREATH_INHALE if self._inhale else EVENT_BREATH_EXHALE
                windows.append(Event(kind, self._next_breath_s, self._next_breath_s + length))
                self._next_breath_s += length
                self._inhale = not self._inhale
        return prompts, windows

    def checked(self, passed: bool, t: float) -> list[PhaseEvent]:
        """The session's verdict on the check (at session time ``t``, s): passed, the
        script is done (the pacer starts); failed, the whole protocol's prompt."""
        if self.step != "verdict":
            return []
        if passed:
            self._enter("done", t)
            if self.technique in PACED_TECHNIQUES:
                self._next_breath_s = t
            return []
        self._t0 = t + STAND_UP_S
        self._enter("functional", t)
        return [self._prompt(EVENT_CALIBRATION_FUNCTIONAL, t, STAND_UP_S + 15.0 + SETTLE_S)]

    def _prompt(self, kind: str, t: float, length_s: float) -> PhaseEvent:
        return PhaseEvent(kind=kind, start_s=round(t, 4), end_s=round(t + length_s, 4))

    def _enter(self, step: str, t: float) -> None:
        self.step = step
        self._step_start = t
        self._away = False
        self._still_since = math.nan
        self._moved_deg = 0.0

    def _sample(
        self,
        t: float,
        acc: FloatArray,
        rate_dps: float,
        prompts: list[PhaseEvent],
        windows: list[Event],
    ) -> None:
        gravity, still = self._follow(t, acc, rate_dps)
        limit = STEP_LIMIT_S.get(self.step, math.inf)
        late = t - self._step_start > limit
        if self.step == "waiting" and self.kept:
            self._t0 = t
            self._enter("check", t)
            prompts.append(self._prompt(EVENT_CALIBRATION_CHECK, t, SETTLE_S + CHECK_HOLD_S))
        elif self.step == "waiting":
            self._t0 = t
            self._enter("functional", t)
            prompts.append(self._prompt(EVENT_CALIBRATION_FUNCTIONAL, t, 15.0 + SETTLE_S))
        elif self.step == "check":
            if t - self._t0 >= SETTLE_S and still and t - self._still_since >= CHECK_HOLD_S:
                windows.append(Event(EVENT_CALIBRATION_CHECK, t - CHECK_HOLD_S, t))
                self._enter("verdict", t)
            elif late:
                self.notes.append(f"neutral check: not still for 5 s within {limit:.0f} s")
                self._enter("verdict", t)
                prompts.extend(self.checked(False, t))
        elif self.step == "verdict" and t - self._step_start > VERDICT_LIMIT_S:
            self.notes.append("neutral check: no verdict came; calibrating fully")
            prompts.extend(self.checked(False, t))
        elif self.step == "functional":
            self._functional(t, gravity, late, limit, prompts, windows)
        elif self.step == "position":
            self._position(t, gravity, still, late, limit, windows)
        elif self.step == "practice":  # followed only to say when it was not seen
            self._practice(t, gravity, still, late, limit)

    def _follow(self, t: float, acc: FloatArray, rate_dps: float) -> tuple[FloatArray, bool]:
        """Update the smoothed gravity direction, stillness and movement with one sample;
        (gravity direction, still)."""
        dt = 0.0 if math.isnan(self._last_t) else max(0.0, t - self._last_t)
        self._last_t = t
        unit = acc / max(float(np.linalg.norm(acc)), 1e-9)
        if self._gravity is None or dt > 1.0:
            self._gravity = unit
        else:
            alpha = dt / (GRAVITY_TAU_S + dt)
            self._gravity = self._gravity + alpha * (unit - self._gravity)
        still = rate_dps < STILL_DPS
        if still:
            if math.isnan(self._still_since):
                self._still_since = t
        else:
            self._still_since = math.nan
        self._moved_deg += rate_dps * dt
        return self._gravity, still

    def _functional(
        self,
        t: float,
        gravity: FloatArray,
        late: bool,
        limit: float,
        prompts: list[PhaseEvent],
        windows: list[Event],
    ) -> None:
        """The bends: count them; close the window after the third (or when late)."""
        if t - self._t0 < SETTLE_S:
            self._reference = gravity.copy()
            return
        assert self._reference is not None
        deviation = _angle_deg(gravity, self._reference)
        if not self._away and deviation > BEND_AWAY_DEG:
            self._away = True
            if math.isnan(self._first_move_t):
                self._first_move_t = t
        elif self._away and deviation < BEND_BACK_DEG:
            self._away = False
            self._bends += 1
            self._last_return_t = t
        done = self._bends >= FUNCTIONAL_BENDS and t - self._last_return_t >= 0.3
        if done or late:
            if late:
                self.notes.append(
                    f"functional calibration: {self._bends} of {FUNCTIONAL_BENDS} bends "
                    f"seen in {limit:.0f} s; the window was taken as it was"
                )
            start = (
                self._first_move_t - 1.0
                if math.isfinite(self._first_move_t)
                else self._t0 + SETTLE_S
            )
            start = max(start, self._t0 + SETTLE_S)
            windows.append(Event(EVENT_CALIBRATION_FUNCTIONAL, start, t))
            self._enter("position", t)
            prompts.append(self._prompt(EVENT_CALIBRATION_NEUTRAL, t, 10.0 + NEUTRAL_HOLD_S))

    def _position(
        self,
        t: float,
        gravity: FloatArray,
        still: bool,
        late: bool,
        limit: float,
        windows: list[Event],
    ) -> None:
        """The neutral hold in the start position; then the practice rep's window."""
        assert self._reference is not None
        ready = self.position == "standing" or self._moved_deg >= SETUP_MOVEMENT_DEG
        if self.position in ("supine", "quadruped"):
            ready = ready and _angle_deg(gravity, self._reference) >= LYING_CHANGE_DEG
        if not ready:
            self._still_since = math.nan
            self._neutral_sum, self._neutral_n = None, 0
        elif still:
            self._neutral_sum = (
                gravity if self._neutral_sum is None else self._neutral_sum + gravity
            )
            self._neutral_n += 1
        else:
            self._neutral_sum, self._neutral_n = None, 0
        held = ready and still and t - self._still_since >= NEUTRAL_HOLD_S
        if held or late:
            if late and not held:
                self.notes.append(
                    "neutral hold: no 5 s of stillness in the start position within "
                    f"{limit:.0f} s; the last 5 s were taken"
                )
            start = t - NEUTRAL_HOLD_S
            windows.append(Event(EVENT_CALIBRATION_NEUTRAL, start, t))
            self._reference = (
                gravity.copy() if self._neutral_sum is None else self._neutral_sum / self._neutral_n
            )
            self._neutral_end = t
            self._enter("practice", t)
            # Announced now with a provisional end: the engine takes the first rep in
            # it as the practice rep, and the reps after it as the sets'.
            windows.append(Event(EVENT_CALIBRATION_REP, t, t + STEP_LIMIT_S["practice"]))
            if self.technique in PACED_TECHNIQUES:
                self._next_breath_s = t

    def _practice(
        self, t: float, gravity: FloatArray, still: bool, late: bool, limit: float
    ) -> None:
        """The practice rep: away and back, then still (or late)."""
        assert self._reference is not None
        deviation = _angle_deg(gravity, self._reference)
        if deviation > PRACTICE_AWAY_DEG:
            self._away = True
        back = self._away and deviation < PRACTICE_BACK_DEG
        if back and still and t - self._still_since >= PRACTICE_STILL_S:
            self._enter("done", t)
        elif late:
            self.notes.append(f"practice rep: not seen within {limit:.0f} s")
            self._enter("done", t)


@dataclass(frozen=True)
class _Run:
    """Consecutive samples of one sensor, as arrays (session s, m/s², deg/s, µT)."""

    placement: str
    time_s: FloatArray
    acc_mps2: FloatArray
    gyr_dps: FloatArray
    mag_ut: FloatArray | None

    @classmethod
    def of(cls, samples: Sequence[SensorSample]) -> _Run:
        mags = [s.mag_ut for s in samples]
        return cls(
            samples[0].placement,
            np.array([s.time_s for s in samples], dtype=np.float64),
            np.array([s.acc_mps2 for s in samples], dtype=np.float64).reshape(-1, 3),
            np.array([s.gyr_dps for s in samples], dtype=np.float64).reshape(-1, 3),
            None
            if any(m is None for m in mags)
            else np.array(mags, dtype=np.float64).reshape(-1, 3),
        )


def _runs(arrived: Sequence[tuple[str, FeedItem]]) -> Iterator[_Run]:
    """The samples that arrived, as runs of one sensor's consecutive samples (in arrival
    order); events (gaps) are left out."""
    run: list[SensorSample] = []
    for _placement, item in arrived:
        if isinstance(item, Event):
            continue
        if run and item.placement != run[0].placement:
            yield _Run.of(run)
            run = []
        run.append(item)
    if run:
        yield _Run.of(run)


def device_sources(feeds: Mapping[str, DeviceFeed], origin_host_s: float) -> dict[str, FeedSource]:
    """One :class:`~spinecoach.sources.feed_source.FeedSource` per placement, from host
    time ``origin_host_s`` (s; the session's 0)."""
    return {
        placement: FeedSource(
            feed, placement=placement, since_host_s=origin_host_s, origin_host_s=origin_host_s
        )
        for placement, feed in feeds.items()
    }


@dataclass
class DevicePump:
    """Feed ``session`` from ``feeds`` (by placement) from host time ``origin_host_s``,
    through their sources (``sources``; default: :func:`device_sources`)."""

    session: LiveSession
    feeds: Mapping[str, DeviceFeed]
    origin_host_s: float
    emit: Emit
    rates_hz: dict[str, float] = field(default_factory=dict)
    script: CoachScript | None = None
    paused: bool = False
    #: Samples received from each placement's device since the start (fed or not).
    received: dict[str, int] = field(default_factory=dict)
    #: The source the pump reads for each placement.
    sources: dict[str, FeedSource] = field(default_factory=dict)
    _inflight: asyncio.Future[list[LiveEvent]] | None = None
    #: The sensor whose data lead the calibration steps.
    leading: str = ""
    _task: asyncio.Task[object] | None = None
    _stopping: bool = False

    def __post_init__(self) -> None:
        for placement, feed in self.feeds.items():
            rate = feed.rate_hz
            if rate is None:
                raise ValueError(f"the {placement} device has no rate yet (no data)")
            self.rates_hz.setdefault(placement, rate)
            self.received.setdefault(placement, 0)
        if not self.sources:
            self.sources = device_sources(self.feeds, self.origin_host_s)
        if set(self.sources) != set(self.feeds):
            raise ConfigurationError(
                f"DevicePump needs one source per device feed, got sources for "
                f"{', '.join(self.sources)} and feeds for {', '.join(self.feeds)}; "
                "make it with DevicePump.from_sources"
            )
        if self.script is None:
            kept = self.session.kept_calibration is not None
            self.script = CoachScript(self.session.technique, self.session.position, kept=kept)
        self.leading = "lower" if "lower" in self.feeds else next(iter(self.feeds))

    @classmethod
    def from_sources(
        cls, session: LiveSession, sources: Mapping[str, FeedSource], emit: Emit
    ) -> DevicePump:
        """The pump of ``sources`` (one per placement, sharing one ``origin_host_s``)."""
        origins = {source.origin_host_s for source in sources.values()}
        if len(origins) != 1:
            raise ConfigurationError(
                f"the device sources of one session need one origin_host_s, got {sorted(origins)}; "
                "make them with coach.devices.device_sources"
            )
        feeds = {placement: source.feed for placement, source in sources.items()}
        return cls(session, feeds, origins.pop(), emit, sources=dict(sources))

    #: Devices report no pause of their own: the runner says it (a state event).
    reports_pause = False

    def stop(self) -> None:
        """End the session: :meth:`run` returns "" (the batch under way is fed first).
        Only the first call cancels the pump's wait; later ones (or one after the end)
        would cancel whatever the task does next."""
        if self._stopping:
            return
        self._stopping = True
        if self._task is not None:
            self._task.cancel()

    async def run(self) -> str:
        """Until :meth:`stop` (returns "") or cancelled, or until a feed's reader
        overflows (raises)."""
        self._task = asyncio.current_task()
        if self._stopping:
            return ""
        try:
            await self._pump()
        except asyncio.CancelledError:
            if self._stopping:
                return ""
            raise
        finally:
            self._task = None
        return ""

    async def _pump(self) -> None:
        merged: asyncio.Queue[tuple[str, FeedItem]] = asyncio.Queue()

        async def forward(placement: str, source: FeedSource) -> None:
            with contextlib.suppress(SpinecoachError):  # see the module docstring
                async for item in source:
                    merged.put_nowait((placement, item))

        forwarders = [asyncio.create_task(forward(p, s)) for p, s in self.sources.items()]
        try:
            while True:
                arrived = [await merged.get()]
                while not merged.empty():
                    arrived.append(merged.get_nowait())
                for run in _runs(arrived):
                    self.received[run.placement] += len(run.time_s)
                    if self.paused:
                        continue
                    # Shielded: a stop cancels the wait, never the session call under
                    # way, which is awaited below before the session is finished.
                    self._inflight = asyncio.ensure_future(asyncio.to_thread(self._feed, run))
                    messages = await asyncio.shield(self._inflight)
                    if messages:
                        await self.emit(stamp_cues(messages, time.time() * 1e3))
        finally:
            if self._inflight is not None and not self._inflight.done():
                with contextlib.suppress(Exception):
                    await self._inflight
            for task in forwarders:
                task.cancel()
            for source in self.sources.values():
                source.close()

    def _feed(self, run: _Run) -> list[LiveEvent]:
        """One sensor's samples into the session, with the script's prompts and windows
        (worker thread; the pump awaits each call before the next)."""
        session, script = self.session, self.script
        assert script is not None
        placement = run.placement
        out: list[LiveEvent] = list(
            session.add_batch(
                placement,
                self.rates_hz[placement],
                run.time_s,
                run.acc_mps2,
                run.gyr_dps,
                run.mag_ut,
            )
        )
        if placement == self.leading:
            prompts, windows = script.update(run.time_s, run.acc_mps2, run.gyr_dps)
            out.extend(prompts)
            if windows:
                out.extend(session.feed(windows))
        verdict = session.neutral_check
        if script.step == "verdict" and verdict is not None:
            out.extend(script.checked(verdict.passed, float(run.time_s[-1])))
        return out
