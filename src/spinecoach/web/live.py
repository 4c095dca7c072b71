"""One WebSocket connection of the live protocol: the service behind ``/ws/live``.

The connection reads client messages, runs at most one session at a time and sends the
outgoing messages through one queue and one sender task, so messages from the replay
task and from the reader never interleave inside a frame. A message that cannot be used
gets an ``error`` message; the connection stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from starlette.websockets import WebSocket

from spinecoach import __version__
from spinecoach.errors import SpinecoachError
from spinecoach.exercises.engine import SUPPORTED
from spinecoach.recording import Recording
from spinecoach.sim import PROFILES, simulate
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


@dataclass
class _Running:
    session: LiveSession
    source: str
    control: ReplayControl = field(default_factory=ReplayControl)
    task: asyncio.Task[None] | None = None
    pain_before_mm: float | None = None
    recording: Recording | None = None


def _no_session(kind: str) -> ProtocolError:
    return ProtocolError(
        "no-session",
        f"{kind} needs a running session, and none is running",
        'send {"type": "start", "technique": "pelvic-tilt"} first',
    )


def _build_simulation(
    message: StartMessage,
) -> tuple[LiveSession, SimulatedSource, Recording]:
    """Simulate the recording and make its session (worker thread: ~0.1 s of work)."""
    recording = simulate(
        message.technique, seed=message.seed, reps=message.reps, profile=message.profile
    )
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
        self, websocket: WebSocket, settings: Settings, history: History | None = None
    ) -> None:
        self.websocket = websocket
        self.settings = settings
        self.history = history
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
            if running is not None and running.task is not None:
                running.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running.task
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
                    f"{message.type} sent to a simulated session",
                    'start the session with "source": "external" to stream your own sensors',
                )
            if isinstance(message, SamplesMessage):
                await self._send(*await asyncio.to_thread(running.session.add_samples, message))
            else:
                await self._send(*running.session.annotate(message))
        elif isinstance(message, PauseMessage | ResumeMessage):
            paused = isinstance(message, PauseMessage)
            if running.source != "sim":
                await self._send(*running.session.set_paused(paused))
            elif paused:
                running.control.pause()  # the replay task says so in a state message
            else:
                running.control.resume()
        elif isinstance(message, StopMessage):
            if running.source == "sim":
                running.control.stop()  # the replay task sends the summary
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
        if source == "external":
            session = LiveSession(
                message.technique,
                placements=message.placements,
                auto_calibration=message.calibration == "auto",
            )
            self._running = _Running(session, source, pain_before_mm=message.pain_before_mm)
            await self._send(session.state_message())
            return
        session, sim, recording = await asyncio.to_thread(_build_simulation, message)
        running = _Running(
            session, source, pain_before_mm=message.pain_before_mm, recording=recording
        )
        self._running = running
        await self._send(session.state_message())
        running.task = asyncio.create_task(self._replay(running, sim))

    async def _finish(self, running: _Running) -> list[ServerMessage]:
        """The session's summary, saved to the history first (in a worker thread)."""
        messages = running.session.finish()
        result = running.session.result
        if self.history is None or result is None or not messages:
            return messages
        try:
            session_id = await asyncio.to_thread(
                self.history.save_session,
                result,
                pain_before_mm=running.pain_before_mm,
                recording=running.recording,
            )
        except Exception:  # the person still gets the summary; the log says why
            log.exception("saving the session to the history failed")
            return messages
        return [
            m.model_copy(update={"session_id": session_id}) if isinstance(m, SummaryMessage) else m
            for m in messages
        ]

    async def _replay(self, running: _Running, sim: SimulatedSource) -> None:
        try:
            async for messages in replay_simulation(
                running.session, sim, speed=self.settings.sim_speed, control=running.control
            ):
                await self._send(*messages)
            await self._send(*await self._finish(running))
        except Exception:  # the connection survives a failed session
            log.exception("live session failed")
            await self._send(
                ProtocolError(
                    "session-failed",
                    "the session stopped on a server error (see the server log)",
                    "start a new session; report the problem if it happens again",
                ).as_message()
            )
        finally:
            if self._running is running:
                self._running = None
