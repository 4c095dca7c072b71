"""The terminal coach: ``spinecoach coach TECHNIQUE`` — the live coach's engine with a
Rich display, for people without a browser.

The session is the live coach's own :class:`~spinecoach.coach.session.LiveSession`, run by
the same :class:`~spinecoach.coach.runner.LiveRun` as the web socket (storing, the save
loop, the summary) and stopped through a :class:`~spinecoach.coach.replay_pump.ReplayControl`;
this package only turns the session's events into a terminal display
(:mod:`~spinecoach.cli.terminal.display`), reads the keys
(:mod:`~spinecoach.cli.terminal.output`), asks for pain
(:mod:`~spinecoach.cli.terminal.settings`) and saves the pain after. Nothing here
counts reps, judges faults or times cues.

Choices:

- **Sources.** ``sim`` (the built-in simulator, the default) or live devices:
  ``phyphox:ADDRESS[,ADDRESS]``, ``ble:ADDRESS[,ADDRESS]`` or ``sensor-logger[:2]``
  (:mod:`spinecoach.cli.terminal.devices`); the first device is the lower sensor, the second
  the upper. A device session is led through the calibration by the same
  :class:`~spinecoach.coach.devices.DevicePump` as the web page, and the display shows
  each device's connection state and signal quality. Or the camera: ``camera:N`` (webcam
  N) or ``video:PATH`` (a video file, played at ``--speed``), coached by the web page's
  own :class:`~spinecoach.coach.camera.CameraPump` and
  :class:`~spinecoach.camera.live.CameraCoach` (framing, neutral hold, practice rep,
  sets); the display shows what the camera sees and what to fix, and the session pauses
  by itself while the camera cannot see the person. The camera needs the optional extra
  (``pip install "spinecoach[camera]"``): without it, and for a technique a camera cannot
  coach (pelvic tilts), the coach stops before the session with the fix.
- **Display.** When stdout is a terminal, a Rich ``Live`` panel redraws at most
  :data:`~spinecoach.cli.terminal.output.REFRESH_HZ` times a second (the session
  sends frames at 25 Hz of session time), and at once for a state change, a breathing
  phase, a cue or a rep:
  the technique's title and step (calibration 1–3: bends, neutral hold with its
  countdown, the practice rep; then set and rep of the planned dose), a horizontal gauge
  of the technique's main signal in its working direction (the sign used by the browser
  page: posterior tilt, flexion, cat-cow rounding positive) with the target band
  (``state.target_band_deg``, shown once the practice rep has set it), the hold
  countdown (from the ``hold`` cue to ``release``), the breathing pacer (breathe in/out
  with its countdown and a filling bar), the recognised body position, quality flags
  ("calibration not done" is shown only until calibration is done), a sparkline of the
  last :data:`TRACE_WINDOW_S` seconds and the latest cue, bold in its own panel (a
  terminal has no large font). When stdout is not a terminal (a pipe, a log file, a
  test), no frames are drawn: one progress line is printed per phase, cue, rep and
  position change, then the summary.
- **Stopping.** Ctrl+C (or ``q``) stops the replay through the same
  :class:`ReplayControl` the browser's stop button uses; the session is finished, the
  summary printed and the partial session saved; the exit status is 0 (stopping early is
  a normal way to end a session). A second Ctrl+C quits at once without saving.
- **Pause.** With stdin a terminal, space or ``p`` pauses and resumes (cbreak mode; the
  terminal settings are always restored). Paused time does not count.
- **Pain.** ``--pain-before``/``--pain-after`` take 0–100 mm on the visual analogue scale
  (0 no pain, 100 the worst imaginable); when not given and stdin is a terminal the
  coach asks (an empty answer skips). With ``--no-save`` nothing is asked.
- **Saving.** Like the server, the coach stores the session from its first moment
  (``History.start_live``, pain before included), commits what it received and produced
  every half second while it runs (so a crash or a killed terminal loses at most the
  last second; the session then shows as interrupted in the history and can be closed
  there with its summary) and completes it with its result and recording at the end.
  A session or a commit that cannot be saved is said (``not saved: …``) and the
  coaching goes on, as on the web page (:mod:`spinecoach.services.live`).
  The database URL's form is checked and the database opened before the session
  starts, so a mistake fails before the person exercises.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from rich.console import Console

from spinecoach.cli.terminal.display import CoachOutcome, CoachView, render_summary
from spinecoach.cli.terminal.output import TerminalOutput, ctrl_c_stops, pause_keys
from spinecoach.cli.terminal.settings import (
    CoachError,
    CoachSettings,
    ask_pain,
    is_camera_source,
    open_camera,
)
from spinecoach.coach.events import LiveEvent, SummaryEvent
from spinecoach.coach.replay_pump import ReplayControl
from spinecoach.coach.runner import (
    LiveRun,
    LiveSource,
    LiveStart,
    build_simulation,
    pump_for,
)
from spinecoach.coach.session import LiveSession
from spinecoach.errors import SpinecoachError

if TYPE_CHECKING:
    from spinecoach.camera.source import CameraSource
    from spinecoach.cli.terminal.devices import DeviceSourceSpec
    from spinecoach.exercises.catalogue import Technique
    from spinecoach.recording import Recording
    from spinecoach.services.history import History
    from spinecoach.sources.simulated import SimulatedSource

#: Seconds between two looks at the keys' control and the devices' state.
POLL_S = 0.1


class _Terminal:
    """One terminal session: the runner, the display and the keys (see
    :func:`run_session`). ``run`` is set once the session exists; ``summary`` once it
    is finished."""

    def __init__(
        self,
        settings: CoachSettings,
        output: TerminalOutput,
        control: ReplayControl,
        *,
        keys: bool,
        history: History | None,
        pain_before_mm: float | None,
    ) -> None:
        self.settings = settings
        self.output = output
        self.control = control
        self.keys = keys
        self.history = history
        self.pain_before_mm = pain_before_mm
        self.run: LiveRun | None = None
        self.ended = ""
        self.summary: SummaryEvent | None = None

    async def emit(self, events: list[LiveEvent]) -> None:
        self.output.show(events)

    def say(self, text: str) -> None:
        self.output.console.print(text, highlight=False, markup=False, soft_wrap=True)

    async def coach(
        self,
        session: LiveSession,
        start: LiveStart,
        source: LiveSource,
        device_line: Callable[[], str] | None = None,
    ) -> None:
        """Store the session, feed it from ``source`` through the runner's one path
        (:func:`~spinecoach.coach.runner.pump_for`, as the web socket does) to the end or
        the stop key, passing on the pause key; ``device_line``: the devices' state, shown
        as it changes."""
        pump = pump_for(session, source, self.emit, speed=self.settings.speed, control=self.control)
        run = self.run = LiveRun(session, start, emit=self.emit, history=self.history, pump=pump)
        await run.begin()
        control, output = self.control, self.output
        task = asyncio.create_task(run.run())
        try:
            with (
                ctrl_c_stops(control, output.view),
                pause_keys(control, output.view, enabled=self.keys),
                output,
            ):
                while not task.done():
                    if control.stopped:
                        run.stop()  # run() returns after the data under way
                    elif control.paused != run.paused:
                        await run.set_paused(control.paused)
                    if device_line is not None:
                        self.show_devices(device_line())
                    output.draw()
                    await asyncio.wait({task}, timeout=POLL_S)
                self.ended = await task
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
            await run.stop_saving()

    def show_devices(self, line: str) -> None:
        if line != self.output.view.devices:
            self.output.view.devices = line
            if self.output.live is None:
                self.say(f"sensors: {line}")

    async def finish(self, *, stopped_early: bool) -> None:
        """Finish the session, save it (as the web page does) and keep its summary."""
        assert self.run is not None
        why = "stopped early" if stopped_early else self.ended
        events = await self.run.finish(ended=why)
        summary = next((e for e in events if isinstance(e, SummaryEvent)), None)
        if summary is not None:
            self.summary = summary

    async def simulated(
        self, session: LiveSession, start: LiveStart, source: SimulatedSource
    ) -> None:
        await self.coach(session, start, source)

    async def devices(self, spec: DeviceSourceSpec) -> None:
        """Start the devices' sources, wait for every sensor, then coach."""
        from spinecoach.cli.terminal.devices import (
            WAIT_FOR_DATA_S,
            device_line,
            running_sources,
            wait_for_devices,
        )
        from spinecoach.coach.devices import device_sources
        from spinecoach.sources.live import SourceHub

        settings = self.settings
        hub = SourceHub()
        async with running_sources(
            spec, hub, listen=settings.listen, say=self.say, ble_device=settings.ble_device
        ):
            feeds = await wait_for_devices(spec, hub, say=self.say, timeout_s=WAIT_FOR_DATA_S)
            session = LiveSession(
                settings.technique,
                rates_hz={p: float(f.rate_hz or 0.0) for p, f in feeds.items()},
            )
            sources = device_sources(feeds, origin_host_s=time.monotonic())
            start = LiveStart(
                settings.technique,
                source="devices",
                pain_before_mm=self.pain_before_mm,
                devices={p: f.id for p, f in feeds.items()},
                recalibrate=settings.recalibrate,
            )
            await self.coach(session, start, sources, lambda: device_line(hub))

    async def camera(self, source: CameraSource) -> None:
        """The camera session: the pump reads and coaches in its threads."""
        settings = self.settings
        session = LiveSession(settings.technique, camera=True)
        start = LiveStart(
            settings.technique,
            source="camera",
            pain_before_mm=self.pain_before_mm,
            camera=source.spec.label,
        )
        await self.coach(session, start, source)


def run_session(
    settings: CoachSettings,
    console: Console,
    *,
    keys: bool = False,
    control: ReplayControl | None = None,
    history: History | None = None,
    pain_before_mm: float | None = None,
    camera_source: Callable[[], CameraSource] | None = None,
) -> CoachOutcome:
    """Run one session to its end (or to Ctrl+C / ``control.stop()``) on ``console``:
    the live panel when it is a terminal, progress lines otherwise.

    With a ``history`` the session is stored as it runs (committed every half second)
    and completed with its result at the end; without one, nothing is saved.
    ``camera_source`` makes the camera of a camera session (default: the one
    ``settings.source`` names; tests give a video of a synthetic person)."""
    from spinecoach.cli.terminal.devices import parse_device_source
    from spinecoach.exercises.catalogue import default_catalogue

    technique = default_catalogue().technique(settings.technique)
    control = control or ReplayControl()
    live = console.is_terminal and not console.is_dumb_terminal
    recording: Recording | None = None
    camera = open_camera(settings, camera_source) if is_camera_source(settings.source) else None
    spec = None if camera is not None else parse_device_source(settings.source)
    view = CoachView(
        technique,
        planned_reps=technique.dose.reps,
        planned_sets=technique.dose.sets,
        camera_source="" if camera is None else camera.spec.label,
    )
    terminal = _Terminal(
        settings,
        TerminalOutput(console, view, live=live),
        control,
        keys=keys and live,
        history=history,
        pain_before_mm=pain_before_mm,
    )
    if camera is not None:
        main = terminal.camera(camera)
    elif spec is not None:
        main = terminal.devices(spec)
    else:
        start = LiveStart(
            settings.technique,
            source="sim",
            seed=settings.seed,
            reps=settings.reps,
            profile=settings.profile,
            pain_before_mm=pain_before_mm,
            recalibrate=settings.recalibrate,
        )
        session, source, recording = build_simulation(start)
        view.planned_reps = int(recording.meta.get("reps", technique.dose.reps))
        view.planned_sets = int(recording.meta.get("sets", technique.dose.sets))
        main = terminal.simulated(session, start, source)
    return _run(terminal, main, technique, recording)


def _run(
    terminal: _Terminal,
    main: Coroutine[Any, Any, None],
    technique: Technique,
    recording: Recording | None,
) -> CoachOutcome:
    """Run ``main`` (the session's coroutine) to its end or to Ctrl+C, then finish the
    session and say how it went."""
    control = terminal.control
    interrupted = False
    try:
        asyncio.run(main)
    except KeyboardInterrupt:
        if control.stopped or terminal.run is None:  # a second Ctrl+C: quit, no save
            raise
        interrupted = True  # where Ctrl+C could not be routed to the control
    except CoachError:
        raise
    except SpinecoachError as error:
        raise CoachError(str(error)) from None
    if terminal.run is None:  # the sources ended before the session could start
        raise CoachError("the session did not start")
    asyncio.run(terminal.finish(stopped_early=interrupted or control.stopped))
    session = terminal.run.session
    if session.result is None:  # finish() always sets it; never expected
        raise CoachError("the session ended without a result")
    return CoachOutcome(
        result=session.result,
        recording=recording,
        stopped_early=interrupted or control.stopped,
        session_time_s=terminal.output.view.t_s,
        technique_title=technique.title,
        session_id=None if terminal.summary is None else terminal.summary.session_id,
    )


def coach(
    settings: CoachSettings,
    console: Console,
    *,
    interactive: bool,
    camera_source: Callable[[], CameraSource] | None = None,
) -> CoachOutcome:
    """The whole terminal session: pain before, the session, its summary, pain after and
    the save (unless ``settings.save`` is False). ``interactive``: stdin is a terminal
    (ask what was not given; keys pause and stop). ``camera_source``: see
    :func:`run_session`."""
    from sqlalchemy.exc import SQLAlchemyError

    if is_camera_source(settings.source):
        # Checked before anything is asked or opened: a missing camera extra or video
        # file fails at once, with the fix.
        camera = open_camera(settings, camera_source)
        camera_source = lambda: camera  # noqa: E731
    ask = interactive and settings.save
    pain_before = settings.pain_before_mm
    if not settings.save:
        outcome = run_session(settings, console, keys=interactive, camera_source=camera_source)
        console.print(render_summary(outcome))
        console.print("not saved (--no-save)")
        return outcome
    from spinecoach.services.history import History

    def failed(error: Exception) -> CoachError:
        return CoachError(
            f"the session could not be saved to the history ({type(error).__name__}: {error}); "
            "check --database or SPINECOACH_DATABASE_URL"
        )

    from spinecoach.services.program import refuse_if_stopped

    try:
        history = History.open(settings.database_url)
    except (SQLAlchemyError, OSError, SpinecoachError) as error:  # before exercising
        raise failed(error) from error
    try:
        # A stopped program refuses before anything is asked (the runner checks too).
        refuse_if_stopped(history)
        if pain_before is None and ask:
            pain_before = ask_pain(console, "before")
        try:
            outcome = run_session(
                settings,
                console,
                keys=interactive,
                history=history,
                pain_before_mm=pain_before,
                camera_source=camera_source,
            )
        except (SQLAlchemyError, OSError) as error:
            raise failed(error) from error
        console.print(render_summary(outcome))
        session_id = outcome.session_id
        if session_id is None:  # run_session stores whenever it has a history
            raise CoachError("the session was not stored")
        pain_after = settings.pain_after_mm
        if pain_after is None and ask:
            pain_after = ask_pain(console, "after")
        if pain_after is not None:
            try:
                history.add_pain(session_id, pain_after, "after")
            except (SQLAlchemyError, SpinecoachError) as error:
                raise failed(error) from error
    finally:
        history.close()
    console.print(f"saved as session {session_id} in the history", highlight=False)
    return outcome


__all__ = [
    "CoachError",
    "CoachOutcome",
    "CoachSettings",
    "CoachView",
    "coach",
    "run_session",
]
