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

A session with ``"source": "devices"`` is fed by the live devices the server knows
(phones pushing or polled, Bluetooth LE sensors; :mod:`spinecoach.sources.live`) through
a :class:`~spinecoach.web.devices.DevicePump`, which also leads the calibration and the
breathing pacer. Its watchdog timeout per sensor is the server's ``sensor_timeout_s`` or
2.5 times the device's usual time between batches, whichever is longer (a phone that
pushes every 0.5 s is not "silent" between two pushes).

A client that disconnects mid-session ends it: its last data is committed and the
session is completed with its summary (``summary.ended`` says why).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.websockets import WebSocket

from spinecoach import __version__
from spinecoach.camera.live import CameraCoach
from spinecoach.camera.source import CameraSource
from spinecoach.conventions import PLACEMENTS
from spinecoach.errors import ConfigurationError, SpinecoachError
from spinecoach.exercises.engine import SUPPORTED
from spinecoach.recording import Recording
from spinecoach.services.live import begin_storing, store_loop
from spinecoach.sim import PROFILES, simulate
from spinecoach.sources.live import DeviceFeed, SourceHub
from spinecoach.store.live import LiveRecorder, without_samples
from spinecoach.web.camera import CameraEnded, CameraPump
from spinecoach.web.devices import DevicePump
from spinecoach.web.history import History
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
    SummaryMessage,
    parse_client_message,
)
from spinecoach.web.session import LiveSession, ReplayControl, SimulatedSource, replay_simulation
from spinecoach.web.settings import Settings

log = logging.getLogger(__name__)


#: Seconds between two checks of the watchdog.
WATCHDOG_TICK_S: Final = 0.1
#: A camera is silent after this long (s) without an image (the first one waits for the
#: pose model to load).
CAMERA_TIMEOUT_S: Final = 3.0


@dataclass
class _Running:
    session: LiveSession
    source: str
    control: ReplayControl = field(default_factory=ReplayControl)
    task: asyncio.Task[None] | None = None
    pain_before_mm: float | None = None
    helpers: list[asyncio.Task[None]] = field(default_factory=list)
    pump: DevicePump | CameraPump | None = None


#: What the client is told when a session stops on a server error (the log says why).
_SERVER_ERROR: Final = ProtocolError(
    "session-failed",
    "the session stopped on a server error (see the server log)",
    "start a new session; report the problem if it happens again",
)


def _stamp_cues(messages: Sequence[ServerMessage], wall_ms: float) -> list[ServerMessage]:
    """``messages`` with ``wall_ms`` (Unix ms when their samples arrived) on each cue."""
    stamp = {"wall_ms": round(wall_ms, 1)}
    return [m.model_copy(update=stamp) if m.type == "cue" else m for m in messages]


def _no_session(kind: str) -> ProtocolError:
    return ProtocolError(
        "no-session",
        f"{kind} needs a running session, and none is running",
        'send {"type": "start", "technique": "pelvic-tilt"} first',
    )


def live_config(
    session: LiveSession, source: str, message: StartMessage, *, camera: str | None = None
) -> dict[str, Any]:
    """What replaying a stored live session needs (kept with the session); ``camera``:
    the camera of a camera session (``camera:0``, ``video:PATH``)."""
    config: dict[str, Any] = {
        "placements": list(session.placements),
        "rates_hz": session.rates_hz,
        "position": session.position,
        "auto_calibration": message.calibration == "auto",
    }
    if source == "devices":
        config["devices"] = dict(message.devices or {})
    if source == "camera":
        config["camera"] = camera
    if source == "sim":
        config["sim"] = {
            "seed": message.seed,
            "profile": message.profile,
            "reps": message.reps,
            "outage_s": message.sim_outage_s,
        }
    return config


def build_simulation(
    message: StartMessage,
) -> tuple[LiveSession, SimulatedSource, Recording]:
    """Simulate the recording and make its session (worker thread: ~0.1 s of work)."""
    recording = simulate(
        message.technique, seed=message.seed, reps=message.reps, profile=message.profile
    )
    if message.sim_outage_s is not None:
        start, duration = message.sim_outage_s
        recording = without_samples(recording, start, start + duration)
    session = LiveSession(
        message.technique,
        rates_hz={p: s.rate_hz for p, s in recording.sensors.items()},
        position=recording.meta.get("position"),
        auto_calibration=message.calibration == "auto",
    )
    return session, SimulatedSource.from_recording(recording), recording


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
        self._outbox: asyncio.Queue[ServerMessage | None] = asyncio.Queue()
        self._running: _Running | None = None

    async def run(self) -> None:
        await self.websocket.accept()
        sender = asyncio.create_task(self._send_loop())
        await self._send(
            HelloMessage(server_version=__version__, techniques=list(SUPPORTED)),
        )
        try:
            while True:
                received = await self.websocket.receive()
                if received["type"] == "websocket.disconnect":
                    break
                text = received.get("text")
                if text is None:
                    text = received.get("bytes") or b""
                try:
                    await self._handle(parse_client_message(text))
                except ProtocolError as error:
                    await self._send(error.as_message())
                except SpinecoachError as error:  # the pipeline refused the data
                    await self._send(
                        ProtocolError(
                            "session-failed",
                            str(error),
                            "correct the data; send stop and start a new session if it persists",
                        ).as_message()
                    )
        finally:
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
            with contextlib.suppress(Exception):
                await sender

    async def _send(self, *messages: ServerMessage) -> None:
        for message in messages:
            await self._outbox.put(message)

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
            if isinstance(message, SamplesMessage):
                received_ms = time.time() * 1e3
                out = await asyncio.to_thread(running.session.add_samples, message)
                await self._send(*_stamp_cues(out, received_ms))
            else:
                await self._send(*running.session.annotate(message))
        elif isinstance(message, PauseMessage | ResumeMessage):
            paused = isinstance(message, PauseMessage)
            if running.pump is not None:
                running.pump.paused = paused
            if running.source != "sim":
                await self._send(*running.session.set_paused(paused))
            elif paused:
                running.control.pause()  # the replay task says so in a state message
            else:
                running.control.resume()
        elif isinstance(message, StopMessage):
            if running.source == "sim":
                running.control.stop()  # the replay task sends the summary
            elif isinstance(running.pump, CameraPump):
                running.pump.stop()  # the camera task sends the summary
            else:
                self._running = None
                await self._send(*await self._finish(running))

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
        source = message.source or self.settings.source
        if source == "devices":
            await self._start_devices(message)
            return
        if source == "camera":
            await self._start_camera(message)
            return
        if source == "external":
            session = LiveSession(
                message.technique,
                placements=message.placements,
                auto_calibration=message.calibration == "auto",
            )
            running = _Running(session, source, pain_before_mm=message.pain_before_mm)
            await self._store_live(running, message)
            self._running = running
            await self._send(session.state_message())
            self._start_helpers(running)
            return
        session, sim, _recording = await asyncio.to_thread(build_simulation, message)
        running = _Running(session, source, pain_before_mm=message.pain_before_mm)
        await self._store_live(running, message)
        self._running = running
        await self._send(session.state_message())
        self._start_helpers(running)
        running.task = asyncio.create_task(self._replay(running, sim))

    def _device_feeds(self, message: StartMessage) -> dict[str, DeviceFeed]:
        """The feeds a device session reads, by placement (checked: known, sending)."""
        hub = self.hub
        chosen: dict[str, str] = {str(p): d for p, d in (message.devices or {}).items()}
        if hub is not None and not chosen:
            chosen = {p: feed.id for p, feed in hub.by_placement().items()}
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
            feed = hub.get(device_id)
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

    async def _start_devices(self, message: StartMessage) -> None:
        feeds = self._device_feeds(message)
        session = LiveSession(
            message.technique,
            rates_hz={p: float(f.rate_hz or 0.0) for p, f in feeds.items()},
        )
        running = _Running(session, "devices", pain_before_mm=message.pain_before_mm)
        running.pump = DevicePump(
            session,
            feeds,
            origin_host_s=time.monotonic(),
            emit=self._emit,
        )
        message = message.model_copy(update={"devices": {p: f.id for p, f in feeds.items()}})
        await self._store_live(running, message)
        self._running = running
        await self._send(session.state_message())
        self._start_helpers(running)
        running.helpers.append(asyncio.create_task(self._pump(running, running.pump)))

    async def _start_camera(self, message: StartMessage) -> None:
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
        running = _Running(session, "camera", pain_before_mm=message.pain_before_mm)
        pump = CameraPump(session, source, coach, self._emit, speed=self.settings.video_speed)
        running.pump = pump
        await self._store_live(running, message)
        self._running = running
        await self._send(session.state_message())
        self._start_helpers(running)
        running.task = asyncio.create_task(self._camera(running, pump))

    async def _camera(self, running: _Running, pump: CameraPump) -> None:
        try:
            try:
                ended = await pump.run()
            except CameraEnded as error:
                ended = str(error)
                await self._send(
                    ProtocolError(
                        "camera-ended",
                        ended,
                        "check the camera; what was done so far is in the summary and saved",
                    ).as_message()
                )
            await self._send(*await self._finish(running, ended=ended))
        except Exception:  # the connection survives a failed session
            log.exception("camera session failed")
            await self._send(_SERVER_ERROR.as_message())
        finally:
            if self._running is running:
                self._running = None

    async def _emit(self, messages: list[ServerMessage]) -> None:
        await self._send(*_stamp_cues(messages, time.time() * 1e3))

    async def _pump(self, running: _Running, pump: DevicePump) -> None:
        try:
            await pump.run()
        except asyncio.CancelledError:
            raise
        except Exception:  # the connection survives a failed session
            log.exception("device session failed")
            await self._send(_SERVER_ERROR.as_message())

    async def _store_live(self, running: _Running, message: StartMessage) -> None:
        """Store the session from its first moment (when the server keeps a history);
        :func:`spinecoach.services.live.begin_storing` says what happens on a failure."""
        history = self.history
        if history is None:
            return
        session = running.session
        config = live_config(
            session,
            running.source,
            message,
            camera=(
                running.pump.source.spec.label if isinstance(running.pump, CameraPump) else None
            ),
        )

        def start() -> LiveRecorder:
            return history.start_live(
                session.technique,
                source=running.source,
                live_config=config,
                pain_before_mm=running.pain_before_mm,
            )

        failed = await asyncio.to_thread(begin_storing, start, session)
        if failed is not None:
            await self._not_saved(failed)

    async def _not_saved(self, texts: tuple[str, str]) -> None:
        await self._send(ProtocolError("not-saved", *texts).as_message())

    def _start_helpers(self, running: _Running) -> None:
        running.helpers.append(asyncio.create_task(self._watchdog(running)))
        if running.session.recorder is not None:
            running.helpers.append(asyncio.create_task(self._store_loop(running)))

    async def _stop_helpers(self, running: _Running) -> None:
        for task in running.helpers:
            task.cancel()
        for task in running.helpers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        running.helpers.clear()

    async def _store_loop(self, running: _Running) -> None:
        """Commit the session's new data every FLUSH_INTERVAL_S until it ends
        (:func:`spinecoach.services.live.store_loop`)."""
        recorder = running.session.recorder
        history = self.history
        assert recorder is not None and history is not None
        await store_loop(lambda: history.flush(recorder), self._not_saved)

    async def _watchdog(self, running: _Running) -> None:
        """Pause the session while a sensor sends nothing (see the module docstring)."""
        session = running.session
        pump = running.pump
        clock = asyncio.get_running_loop().time

        def received(placement: str) -> int:
            if pump is not None:  # counted even while the person pauses
                return pump.received.get(placement, 0)
            return session.samples_by_placement.get(placement, 0)

        def timeout(placement: str) -> float:
            base = self.settings.sensor_timeout_s
            if isinstance(pump, CameraPump):  # the pose model loads with the first image
                return max(base, CAMERA_TIMEOUT_S)
            if pump is None:
                return base
            return max(base, 2.5 * pump.feeds[placement].typical_arrival_interval_s)

        last_count = {p: received(p) for p in session.placements}
        last_change = dict.fromkeys(session.placements, clock())
        while True:
            await asyncio.sleep(WATCHDOG_TICK_S)
            now = clock()
            replay_paused = running.source == "sim" and running.control.paused
            for placement in session.placements:
                count = received(placement)
                if count != last_count[placement] or replay_paused:
                    last_count[placement] = count
                    last_change[placement] = now
            silent = tuple(p for p in session.placements if now - last_change[p] > timeout(p))
            if silent != session.silent_sensors and not session.finished:
                await self._send(*session.set_silent(silent))

    async def _finish(self, running: _Running, *, ended: str = "") -> list[ServerMessage]:
        """The session's summary, its last data and result saved to the history first
        (in a worker thread)."""
        await self._stop_helpers(running)
        messages = running.session.finish()
        result = running.session.result
        recorder = running.session.recorder
        if self.history is None or recorder is None or result is None or not messages:
            self._tell_finished(running, None)
            return messages
        try:
            session_id = await asyncio.to_thread(
                self.history.complete_live,
                recorder,
                result,
                summary_extra={"ended": ended} if ended else None,
            )
        except Exception:  # the person still gets the summary; the log says why
            log.exception("saving the session to the history failed")
            self._tell_finished(running, None)
            return messages
        self._tell_finished(running, session_id)
        return [
            m.model_copy(update={"session_id": session_id}) if isinstance(m, SummaryMessage) else m
            for m in messages
        ]

    def _tell_finished(self, running: _Running, session_id: int | None) -> None:
        result = running.session.result
        if self.on_finished is None or result is None:
            return
        try:
            self.on_finished(running.session.technique, session_id, len(result.reps))
        except Exception:  # the summary still goes out
            log.exception("the session-finished hook failed")

    async def _replay(self, running: _Running, sim: SimulatedSource) -> None:
        try:
            async for messages in replay_simulation(
                running.session, sim, speed=self.settings.sim_speed, control=running.control
            ):
                await self._send(*messages)
            await self._send(*await self._finish(running))
        except Exception:  # the connection survives a failed session
            log.exception("live session failed")
            await self._send(_SERVER_ERROR.as_message())
        finally:
            if self._running is running:
                self._running = None
