"""One WebSocket connection of the live protocol: the service behind ``/ws/live``.

The connection reads client messages, runs at most one session at a time and sends the
outgoing messages through one queue and one sender task, so messages from the replay
task and from the reader never interleave inside a frame. A message that cannot be used
gets an ``error`` message; the connection stays open.

Alongside a running session two small tasks run:

* the **store** task commits what the session received and produced every
  :data:`~spinecoach.store.live.FLUSH_INTERVAL_S` (0.5 s), so a server that dies loses
  at most the last second (``History.flush``);
* the **watchdog** notices a sensor that stopped sending: after the server's
  ``sensor_timeout_s`` (1.2 s by default) without a sample from a sensor the session
  pauses (``state`` with ``paused_reason: "sensor-silent"`` and the silent sensors) and
  goes on by itself when samples come again. Nothing received is dropped; the gap is
  flagged in the frames.

The session itself is the coach's (:mod:`spinecoach.coach`): this module maps the start
message to a :class:`~spinecoach.coach.runner.LiveStart`, makes the session and its source
(the simulator's, the devices', the camera's; none for a client's own samples), and takes
one path for every source: :func:`~spinecoach.coach.runner.pump_for` gives the pump that
feeds the session from it, driven by the one :class:`~spinecoach.coach.runner.LiveRun`
the terminal coach uses too (storing, the save loop, the summary); the events it emits go
out as the protocol's messages (:func:`spinecoach.web.protocol.to_message`).

A session with ``"source": "devices"`` is fed by the live devices the server knows
(phones pushing or polled, Bluetooth LE sensors; :mod:`spinecoach.sources.live`) through
their sources (:func:`~spinecoach.coach.devices.device_sources`) and a
:class:`~spinecoach.coach.devices.DevicePump`, which also leads the calibration and the
breathing pacer. Its watchdog timeout per sensor is the server's ``sensor_timeout_s`` or
2.5 times the device's usual time between batches, whichever is longer (a phone that
pushes every 0.5 s is not "silent" between two pushes).

A client that disconnects mid-session ends it: its last data is committed and the
session is completed with its summary (``summary.ended`` says why).

Limits (:mod:`spinecoach.web.live_limits`): a message over 1 MiB is not read (an
``error``, ``message-too-large``); a flood beyond the per-connection token bucket gets
``rate-limited`` and the connection is closed (1008); a client that stops reading gets no
more than a bounded queue of messages; when the connection ends the queued messages get
a few seconds to go out, never an unbounded wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from starlette.websockets import WebSocket

from spinecoach import __version__
from spinecoach.camera.live import CameraCoach
from spinecoach.camera.source import CameraSource
from spinecoach.coach.camera import CameraPump
from spinecoach.coach.devices import DevicePump, device_sources
from spinecoach.coach.dose import LiveDose
from spinecoach.coach.events import LiveEvent, LiveInputError, SummaryEvent
from spinecoach.coach.replay_pump import ReplayPump
from spinecoach.coach.runner import (
    LiveRun,
    LiveSource,
    LiveStart,
    SourceKind,
    build_simulation,
    pump_for,
)
from spinecoach.coach.session import LiveSession
from spinecoach.conventions import PLACEMENTS
from spinecoach.errors import ConfigurationError, SpinecoachError
from spinecoach.exercises.engine import SUPPORTED
from spinecoach.recording import Event
from spinecoach.services.history import History
from spinecoach.services.program import ProgramStoppedError, refuse_if_stopped
from spinecoach.sim import PROFILES
from spinecoach.sources.live import DeviceFeed, SourceHub
from spinecoach.web.live_backlog import Backlog, BehindMessage, parse_message, samples_of
from spinecoach.web.live_limits import (
    CLOSE_POLICY_VIOLATION,
    FLUSH_ON_CLOSE_S,
    MAX_MESSAGE_BYTES,
    MAX_MESSAGES_PER_S,
    MAX_OUTBOX_MESSAGES,
    MESSAGE_BURST,
    MessageRate,
    message_size_bytes,
)
from spinecoach.web.protocol import (
    AnnotationMessage,
    ClientMessage,
    HelloMessage,
    PauseMessage,
    ProtocolError,
    ResumeMessage,
    SamplesMessage,
    ServerMessage,
    StartMessage,
    StopMessage,
    to_message,
)
from spinecoach.web.settings import Settings

log = logging.getLogger(__name__)


#: Seconds between two checks of the watchdog.
WATCHDOG_TICK_S: Final = 0.1
#: A camera is silent after this long (s) without an image (the first one waits for the
#: pose model to load).
CAMERA_TIMEOUT_S: Final = 3.0


@dataclass(frozen=True)
class _Prepared:
    """A session ready to start: what, the session, its source (None: the client sends
    the data) and, for the camera, its coach."""

    start: LiveStart
    session: LiveSession
    source: LiveSource | None
    camera_coach: CameraCoach | None = None


@dataclass
class _Running:
    run: LiveRun
    task: asyncio.Task[None] | None = None
    helpers: list[asyncio.Task[None]] = field(default_factory=list)
    #: A client-fed session's processing, behind its storing (:mod:`.live_backlog`).
    backlog: Backlog | None = None

    @property
    def session(self) -> LiveSession:
        return self.run.session

    @property
    def source(self) -> str:
        return self.run.start.source


#: What the client is told when a session stops on a server error (the log says why).
_SERVER_ERROR: Final = ProtocolError(
    "session-failed",
    "the session stopped on a server error (see the server log)",
    "start a new session; report the problem if it happens again",
)


#: What a flooding client is told before the connection closes (:mod:`.live_limits`).
_FLOODED: Final = ProtocolError(
    "rate-limited",
    f"more than {MESSAGE_BURST} messages at once or {MAX_MESSAGES_PER_S:.0f} a second; "
    "the connection is closed",
    "send samples in batches (up to 1000 samples a message) at the sensor's pace, and reconnect",
)


def _too_large(size: int) -> ProtocolError:
    return ProtocolError(
        "message-too-large",
        f"the message has {size} bytes, more than the {MAX_MESSAGE_BYTES} a message may have; "
        "it was not read",
        "send at most 1000 samples per samples message (split a longer batch)",
    )


def _no_session(kind: str) -> ProtocolError:
    return ProtocolError(
        "no-session",
        f"{kind} needs a running session, and none is running",
        'send {"type": "start", "technique": "pelvic-tilt"} first',
    )


def live_start(
    message: StartMessage,
    source: SourceKind,
    *,
    devices: dict[str, str] | None = None,
    camera: str | None = None,
) -> LiveStart:
    """The coach's :class:`~spinecoach.coach.runner.LiveStart` of a start message;
    ``source``: the message's or the server's default; ``devices``: the devices chosen
    (default: the message's); ``camera``: a camera session's camera."""
    return LiveStart(
        technique=message.technique,
        source=source,
        seed=message.seed,
        profile=message.profile,
        reps=message.reps,
        placements=tuple(message.placements),
        auto_calibration=message.calibration == "auto",
        recalibrate=message.recalibrate,
        pain_before_mm=message.pain_before_mm,
        sim_outage_s=message.sim_outage_s,
        devices=devices
        if devices is not None
        else {str(p): d for p, d in (message.devices or {}).items()},
        camera=camera,
        dose=None if message.dose is None else LiveDose(**message.dose.model_dump()),
        slot=message.slot,
    )


class LiveConnection:
    """The live protocol over one accepted WebSocket."""

    def __init__(
        self,
        websocket: WebSocket,
        settings: Settings,
        history: History | None = None,
        hub: SourceHub | None = None,
        *,
        on_finished: Callable[[str, int | None, int], object] | None = None,
        camera_source: Callable[[], CameraSource] | None = None,
    ) -> None:
        self.websocket = websocket
        self.settings = settings
        self.history = history
        self.hub = hub
        #: Makes the camera of a camera session (default: ``settings.camera``).
        self.camera_source = camera_source or (lambda: CameraSource(settings.camera))
        #: Told (technique, stored session id, reps) when a session ends with a result.
        self.on_finished = on_finished
        self._outbox: asyncio.Queue[ServerMessage | BehindMessage | None] = asyncio.Queue()
        self._running: _Running | None = None
        self._rate = MessageRate()
        #: Messages not sent because the client stopped reading (:mod:`.live_limits`).
        self.dropped = 0
        #: A client-fed session being finished after its stop (its summary follows).
        self._finishing: asyncio.Task[None] | None = None

    async def run(self) -> None:
        await self.websocket.accept()
        sender = asyncio.create_task(self._send_loop())
        await self._send(
            HelloMessage(server_version=__version__, techniques=list(SUPPORTED)),
        )
        close_code: int | None = None
        try:
            while True:
                received = await self.websocket.receive()
                if received["type"] == "websocket.disconnect":
                    break
                text = received.get("text")
                if text is None:
                    text = received.get("bytes") or b""
                if not self._rate.allow():  # a flood: told, then closed
                    await self._send(_FLOODED.as_message())
                    close_code = CLOSE_POLICY_VIOLATION
                    break
                size = message_size_bytes(text)
                if size > MAX_MESSAGE_BYTES:
                    await self._send(_too_large(size).as_message())
                    continue
                try:
                    await self._handle(parse_message(text))
                except LiveInputError as error:  # the client's message or data
                    await self._send(to_message(error.as_notice()))
                except SpinecoachError as error:  # the pipeline refused the data
                    await self._send(
                        ProtocolError(
                            "session-failed",
                            str(error),
                            "correct the data; send stop and start a new session if it persists",
                        ).as_message()
                    )
        finally:
            if self._finishing is not None:  # its summary goes out before the end
                with contextlib.suppress(Exception):
                    await self._finishing
            running = self._running
            if running is not None:
                if running.task is not None:
                    running.task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await running.task
                if not running.session.finished:  # the client went away mid-session
                    self._running = None
                    await self._finish(running, ended="connection closed")
            await self._outbox.put(None)
            with contextlib.suppress(Exception):  # a client that does not read: not waited for
                await asyncio.wait_for(sender, FLUSH_ON_CLOSE_S)
            if close_code is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        self.websocket.close(close_code, "too many messages"), FLUSH_ON_CLOSE_S
                    )

    async def _send(self, *messages: ServerMessage | BehindMessage) -> None:
        for message in messages:
            if self._outbox.qsize() >= MAX_OUTBOX_MESSAGES:  # the client does not read
                if not self.dropped:
                    log.warning("live client does not read its messages: dropping new ones")
                self.dropped += 1
                continue
            await self._outbox.put(message)

    async def _send_events(self, events: Sequence[LiveEvent]) -> None:
        await self._send(*(to_message(event) for event in events))

    async def _report(self, error: Exception) -> None:
        """Tell the client why its data could not be processed (the session goes on)."""
        if isinstance(error, LiveInputError):  # the client's data
            await self._send(to_message(error.as_notice()))
        elif isinstance(error, SpinecoachError):  # the pipeline refused the data
            await self._send(
                ProtocolError(
                    "session-failed",
                    str(error),
                    "correct the data; send stop and start a new session if it persists",
                ).as_message()
            )
        else:
            log.error("processing a live session's data failed", exc_info=error)
            await self._send(_SERVER_ERROR.as_message())

    async def _send_loop(self) -> None:
        while (message := await self._outbox.get()) is not None:
            await self.websocket.send_text(message.model_dump_json())

    async def _handle(self, message: ClientMessage) -> None:
        if isinstance(message, StartMessage):
            await self._start(message)
            return
        running = self._running
        if running is None:
            raise _no_session(message.type)
        if isinstance(message, SamplesMessage | AnnotationMessage):
            if running.source != "external":
                raise ProtocolError(
                    "wrong-source",
                    f"{message.type} sent to a {running.source} session",
                    'start the session with "source": "external" to stream your own sensors',
                )
            # Store first (the recorder has them now), then process behind: live_backlog
            if isinstance(message, SamplesMessage):
                time_s, acc_mps2, gyr_dps = samples_of(message)
                mag_ut = (
                    None if message.mag_ut is None else np.asarray(message.mag_ut, dtype=np.float64)
                )
                items = running.session.receive_batch(
                    message.placement, message.rate_hz, time_s, acc_mps2, gyr_dps, mag_ut
                )
            else:
                items = [Event(message.kind, message.start_s, message.end_s)]
                running.session.receive(items)
            assert running.backlog is not None  # every external session has one
            await running.backlog.put(items)
        elif isinstance(message, PauseMessage | ResumeMessage):
            await running.run.set_paused(isinstance(message, PauseMessage))
        elif isinstance(message, StopMessage):
            if running.task is not None and not running.task.done():
                running.run.stop()  # the session's task sends the summary
            elif running.backlog is not None:
                # Finished behind the reader, which goes on reading (and answering the
                # client's pings) while the backlog is processed and the session saved.
                self._running = None
                self._finishing = asyncio.create_task(self._finish(running))
            else:
                self._running = None
                await self._finish(running)

    async def _start(self, message: StartMessage) -> None:
        if self._running is not None:
            raise ProtocolError(
                "session-running",
                f"a {self._running.session.technique} session is running",
                'send {"type": "stop"} and wait for its summary before starting another',
            )
        if message.technique not in SUPPORTED:
            raise ProtocolError(
                "invalid-field",
                f"start field 'technique': unknown technique {message.technique!r}",
                "use one of " + ", ".join(SUPPORTED),
            )
        if message.profile not in PROFILES:
            raise ProtocolError(
                "invalid-field",
                f"start field 'profile': unknown performer profile {message.profile!r}",
                "use one of " + ", ".join(PROFILES),
            )
        await self._refuse_if_stopped()
        kind = message.source or self.settings.source
        prepared = await self._prepare(message, kind)
        speed = self.settings.video_speed if kind == "camera" else self.settings.sim_speed
        pump = pump_for(
            prepared.session,
            prepared.source,
            self._send_events,
            speed=speed,
            camera_coach=prepared.camera_coach,
        )
        run = LiveRun(
            prepared.session,
            prepared.start,
            emit=self._send_events,
            history=self.history,
            pump=pump,
        )
        await run.begin()
        running = _Running(run)
        if run.pump is None:  # the client sends the data: store first, process behind
            running.backlog = Backlog(
                run.session, emit=self._send_events, tell=self._send, report=self._report
            )
        self._running = running
        running.helpers.append(asyncio.create_task(self._watchdog(running)))
        if run.pump is not None:
            running.task = asyncio.create_task(self._drive(running))

    async def _refuse_if_stopped(self) -> None:
        """While the person's program is stopped (a red flag, a jump in pain) and no
        clinician's clearance is recorded, a start is refused before anything starts or
        is stored: the ``program-stopped`` error naming the cause and what to do
        (:func:`spinecoach.services.program.refuse_if_stopped`)."""
        if self.history is None:
            return
        try:
            await asyncio.to_thread(refuse_if_stopped, self.history)
        except ProgramStoppedError as error:
            raise ProtocolError("program-stopped", error.problem, error.fix) from None

    async def _prepare(self, message: StartMessage, kind: SourceKind) -> _Prepared:
        """What to start, its session and its source (None: the client sends the data);
        raises a :class:`ProtocolError` the client is told when the source cannot be
        had."""
        if kind == "devices":
            feeds = self._device_feeds(message)
            session = LiveSession(
                message.technique,
                rates_hz={p: float(f.rate_hz or 0.0) for p, f in feeds.items()},
            )
            start = live_start(message, "devices", devices={p: f.id for p, f in feeds.items()})
            return _Prepared(start, session, device_sources(feeds, time.monotonic()))
        if kind == "camera":
            return await self._camera(message)
        if kind == "external":
            session = LiveSession(
                message.technique,
                placements=message.placements,
                auto_calibration=message.calibration == "auto",
            )
            return _Prepared(live_start(message, "external"), session, None)
        start = live_start(message, "sim")
        session, sim, _recording = await asyncio.to_thread(build_simulation, start)
        return _Prepared(start, session, sim)

    def _device_feeds(self, message: StartMessage) -> dict[str, DeviceFeed]:
        """The feeds a device session reads, by placement (checked: known, sending): the
        devices of the session's person only (another person's device id is unknown)."""
        hub = self.hub
        owner = None if self.history is None else self.history.person_id
        chosen: dict[str, str] = {str(p): d for p, d in (message.devices or {}).items()}
        if hub is not None and not chosen:
            chosen = {p: feed.id for p, feed in hub.by_placement(owner).items()}
        if hub is None or not chosen:
            raise ProtocolError(
                "no-device",
                "no sensor device is connected and placed",
                "connect a phone or a Bluetooth sensor in the sensor check and say where it "
                "is worn (lower or upper), or choose the built-in simulator",
            )
        feeds: dict[str, DeviceFeed] = {}
        for placement in PLACEMENTS:
            device_id = chosen.get(placement)
            if device_id is None:
                continue
            feed = hub.get(device_id, owner)
            if feed is None:
                raise ProtocolError(
                    "unknown-device",
                    f"no device {device_id!r} for the {placement} sensor",
                    "pick one of the devices listed by GET /api/devices",
                )
            if feed.rate_hz is None:
                raise ProtocolError(
                    "device-not-ready",
                    f"{feed.name} ({placement} sensor) has sent no data yet",
                    "start streaming on the device and wait until the sensor check shows "
                    "data, then start",
                )
            feeds[placement] = feed
        return feeds

    async def _camera(self, message: StartMessage) -> _Prepared:
        """A camera session: the camera coach and the camera (checked: coachable, there)."""
        try:
            coach = CameraCoach(message.technique)
        except ConfigurationError as error:
            raise ProtocolError(
                "not-coachable",
                str(error),
                "choose hip-hinge, flexion-extension or cat-cow for the camera, or your "
                "motion sensors for this technique",
            ) from error
        source = self.camera_source()
        try:
            await asyncio.to_thread(source.check_available)
        except SpinecoachError as error:
            raise ProtocolError(
                "camera-unavailable",
                str(error),
                "fix the camera (or start the server with --camera), or choose the "
                "simulator or your own sensors",
            ) from error
        session = LiveSession(message.technique, camera=True)
        start = live_start(message, "camera", camera=source.spec.label)
        return _Prepared(start, session, source, coach)

    async def _drive(self, running: _Running) -> None:
        """Run the session's pump to its end, then finish it with its summary."""
        try:
            ended = await running.run.run()
            await self._finish(running, ended=ended)
        except Exception:  # the connection survives a failed session
            log.exception("%s session failed", running.source)
            await self._send(_SERVER_ERROR.as_message())
            if running.source == "devices":  # the person stops it and gets the summary
                return
        if self._running is running:
            self._running = None

    async def _stop_helpers(self, running: _Running) -> None:
        for task in running.helpers:
            task.cancel()
        for task in running.helpers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        running.helpers.clear()

    async def _watchdog(self, running: _Running) -> None:
        """Pause the session while a sensor sends nothing (see the module docstring)."""
        session = running.session
        pump = running.run.pump
        clock = asyncio.get_running_loop().time

        def received(placement: str) -> int:
            if pump is not None:  # counted even while the person pauses
                return pump.received.get(placement, 0)
            return session.samples_by_placement.get(placement, 0)

        def timeout(placement: str) -> float:
            base = self.settings.sensor_timeout_s
            if isinstance(pump, CameraPump):  # the pose model loads with the first image
                return max(base, CAMERA_TIMEOUT_S)
            if isinstance(pump, DevicePump):
                return max(base, 2.5 * pump.feeds[placement].typical_arrival_interval_s)
            return base

        last_count = {p: received(p) for p in session.placements}
        last_change = dict.fromkeys(session.placements, clock())
        while True:
            await asyncio.sleep(WATCHDOG_TICK_S)
            now = clock()
            replay_paused = isinstance(pump, ReplayPump) and pump.paused
            for placement in session.placements:
                count = received(placement)
                if count != last_count[placement] or replay_paused:
                    last_count[placement] = count
                    last_change[placement] = now
            silent = tuple(p for p in session.placements if now - last_change[p] > timeout(p))
            if silent != session.silent_sensors and not session.finished:
                await self._send_events(session.set_silent(silent))

    async def _finish(self, running: _Running, *, ended: str = "") -> None:
        """End the session: the runner saves its last data and result and sends its
        summary (:meth:`~spinecoach.coach.runner.LiveRun.finish`)."""
        backlog, running.backlog = running.backlog, None
        if backlog is not None:  # what was received is processed before the summary
            await backlog.drain()
            await backlog.close()
        await self._stop_helpers(running)
        events = await running.run.finish(ended=ended)
        summary = next((e for e in events if isinstance(e, SummaryEvent)), None)
        if summary is not None:
            self._tell_finished(running, summary.session_id)

    def _tell_finished(self, running: _Running, session_id: int | None) -> None:
        result = running.session.result
        if self.on_finished is None or result is None:
            return
        try:
            self.on_finished(running.session.technique, session_id, len(result.reps))
        except Exception:  # the summary still goes out
            log.exception("the session-finished hook failed")
