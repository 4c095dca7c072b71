"""The terminal coach's screen and keys: :class:`TerminalOutput` (the live panel on a
terminal, progress lines anywhere else), :func:`ctrl_c_stops` (the first Ctrl+C stops the
session, the next one quits) and :func:`pause_keys` (space/p pause, q stops, in cbreak
mode; the terminal settings are always restored).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Final

from rich.console import Console
from rich.live import Live

from spinecoach.cli.terminal.display import CoachView, progress_line, render_view
from spinecoach.coach.events import CueEvent, LiveEvent, PhaseEvent, RepEvent, StateEvent
from spinecoach.coach.replay_pump import ReplayControl

#: Most redraws of the live display per second (wall clock).
REFRESH_HZ: Final = 20.0
#: Messages drawn as soon as they come, whatever the redraw rate.
_DRAWN_AT_ONCE: Final = (StateEvent, PhaseEvent, CueEvent, RepEvent)


class TerminalOutput:
    """The live panel (a terminal) or progress lines (anything else). Events shown
    before the panel is up are kept by the view (drawn when it starts); after it is
    closed, they are printed as progress lines."""

    def __init__(self, console: Console, view: CoachView, *, live: bool) -> None:
        self.console = console
        self.view = view
        self.live = Live(console=console, auto_refresh=False) if live else None
        self._drawing = False
        self._last_draw = -math.inf

    def __enter__(self) -> TerminalOutput:
        if self.live is not None:
            self.live.__enter__()
            self._drawing = True
            self.draw(force=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.draw(force=True)
            self._drawing = False
            self.live.__exit__(None, None, None)
            self.live = None

    def show(self, messages: Sequence[LiveEvent]) -> None:
        for message in messages:
            if self.live is None:
                line = progress_line(message, self.view)
                if line is not None:
                    self.console.print(line, highlight=False, markup=False, soft_wrap=True)
            self.view.apply(message)
        # A state change (pause above all: the replay then waits), a breathing phase, a
        # cue or a rep is drawn at once: a few a minute, and each is something the person
        # must see even when the session runs faster than the redraw rate.
        self.draw(force=any(isinstance(m, _DRAWN_AT_ONCE) for m in messages))

    def draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if self.live is None or not self._drawing:
            return
        if not force and now - self._last_draw < 1.0 / REFRESH_HZ:
            return
        self._last_draw = now
        self.live.update(render_view(self.view), refresh=True)


@contextlib.contextmanager
def ctrl_c_stops(control: ReplayControl, view: CoachView) -> Iterator[None]:
    """The first Ctrl+C stops the session; the next one interrupts as usual."""
    loop = asyncio.get_running_loop()

    def stop() -> None:
        control.stop()
        view.stopping = True
        loop.remove_signal_handler(signal.SIGINT)

    try:
        loop.add_signal_handler(signal.SIGINT, stop)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, not the main thread
        yield  # a KeyboardInterrupt then ends asyncio.run; run_session still finishes
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


@contextlib.contextmanager
def pause_keys(control: ReplayControl, view: CoachView, *, enabled: bool) -> Iterator[None]:
    """Space/p pause and resume, q stops, read in cbreak mode; the terminal is restored."""
    if not enabled:
        yield
        return
    try:
        import termios
        import tty
    except ImportError:  # not a POSIX terminal
        yield
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    loop = asyncio.get_running_loop()

    def on_key() -> None:
        key = os.read(fd, 1).decode(errors="ignore").lower()
        if key in (" ", "p"):
            if control.paused:
                control.resume()
            else:
                control.pause()
        elif key == "q":
            control.stop()
            view.stopping = True

    try:
        tty.setcbreak(fd)
        loop.add_reader(fd, on_key)
        view.keys_enabled = True
        yield
    finally:
        with contextlib.suppress(Exception):
            loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        view.keys_enabled = False


__all__ = ["REFRESH_HZ", "TerminalOutput", "ctrl_c_stops", "pause_keys"]
