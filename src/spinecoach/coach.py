"""The terminal coach: ``spinecoach coach TECHNIQUE`` — the live coach's engine with a
Rich display, for people without a browser.

The session is the web live coach's own :class:`~spinecoach.web.session.LiveSession`,
driven by :func:`~spinecoach.web.session.replay_simulation` and stopped through a
:class:`~spinecoach.web.session.ReplayControl`; this module only turns the protocol's
messages into a terminal display, asks for pain and saves the result. Nothing here
counts reps, judges faults or times cues.

Choices:

- **Sources.** ``sim`` (the built-in simulator, the default) or live devices:
  ``phyphox:ADDRESS[,ADDRESS]``, ``ble:ADDRESS[,ADDRESS]`` or ``sensor-logger[:2]``
  (:mod:`spinecoach.coach_devices`); the first device is the lower sensor, the second
  the upper. A device session is led through the calibration by the same
  :class:`~spinecoach.web.devices.DevicePump` as the web page, and the display shows
  each device's connection state and signal quality. Or the camera: ``camera:N`` (webcam
  N) or ``video:PATH`` (a video file, played at ``--speed``), coached by the web page's
  own :class:`~spinecoach.web.camera.CameraPump` and
  :class:`~spinecoach.camera.live.CameraCoach` (framing, neutral hold, practice rep,
  sets); the display shows what the camera sees and what to fix, and the session pauses
  by itself while the camera cannot see the person. The camera needs the optional extra
  (``pip install "spinecoach[camera]"``): without it, and for a technique a camera cannot
  coach (pelvic tilts), the coach stops before the session with the fix.
- **Display.** When stdout is a terminal, a Rich ``Live`` panel redraws at most
  :data:`REFRESH_HZ` times a second (the session sends frames at 25 Hz of session time):
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
  The database URL's form is checked and the database opened before the session
  starts, so a mistake fails before the person exercises.

>>> print(gauge_text(5.0, (4.0, 8.0), low_deg=0.0, high_deg=10.0, width=11).plain)
────━●━━━──
>>> countdown_text(2.2), countdown_text(None)
('3 s', '–')
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from spinecoach.conventions import (
    EVENT_BREATH_EXHALE,
    EVENT_BREATH_INHALE,
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_CALIBRATION_REP,
)
from spinecoach.errors import SpinecoachError
from spinecoach.web.protocol import (
    CameraMessage,
    CueMessage,
    ErrorMessage,
    FrameMessage,
    PhaseMessage,
    ProtocolError,
    RepMessage,
    ServerMessage,
    StateMessage,
)

if TYPE_CHECKING:
    from spinecoach.camera.live import CameraCoach
    from spinecoach.camera.source import CameraSource, CameraSpec
    from spinecoach.coach_devices import DeviceSourceSpec
    from spinecoach.exercises.catalogue import Technique
    from spinecoach.exercises.model import ExerciseResult
    from spinecoach.recording import Recording
    from spinecoach.services.history import History
    from spinecoach.web.protocol import StartMessage
    from spinecoach.web.session import LiveSession, ReplayControl, SimulatedSource

#: Sources of the terminal coach (device sources take addresses after a colon, the
#: camera a webcam number or a video file's path).
SOURCES: Final[tuple[str, ...]] = ("sim", "phyphox", "ble", "sensor-logger", "camera", "video")
#: The camera's sources: ``camera:N`` (webcam N) and ``video:PATH`` (a video file).
CAMERA_KINDS: Final[tuple[str, ...]] = ("camera", "video")
#: Most redraws of the live display per second (wall clock).
REFRESH_HZ: Final = 20.0
#: Session time (s) shown by the trace.
TRACE_WINDOW_S: Final = 10.0
#: Left end (deg) of the gauge, and the least right end: the browser page's scale.
GAUGE_LOW_DEG: Final = -10.0
GAUGE_MIN_HIGH_DEG: Final = 20.0
#: Cells of the gauge and of the trace.
GAUGE_WIDTH: Final = 41
TRACE_WIDTH: Final = 50
#: The visual analogue scale for pain (mm).
PAIN_MIN_MM: Final = 0.0
PAIN_MAX_MM: Final = 100.0
#: Most reps (or breath cycles) per set of a simulated session (as in the live protocol).
MAX_REPS: Final = 50

_SPARK: Final = "▁▂▃▄▅▆▇█"
_CALIBRATION_STEPS: Final[dict[str, str]] = {
    EVENT_CALIBRATION_FUNCTIONAL: "Calibration 1 of 3: bend forward slowly three times",
    EVENT_CALIBRATION_NEUTRAL: "Calibration 2 of 3: get into position and hold still",
    EVENT_CALIBRATION_REP: "Calibration 3 of 3: one comfortable practice rep (not counted)",
}
_BREATH_TEXT: Final[dict[str, str]] = {
    EVENT_BREATH_INHALE: "Breathe in",
    EVENT_BREATH_EXHALE: "Breathe out",
}
_NOT_CALIBRATED_FLAG: Final = "calibration not done"
#: A camera session's steps (:class:`~spinecoach.camera.live.CameraCoach`), as shown.
_CAMERA_STEPS: Final[dict[str, str]] = {
    "framing": "Get into the picture: the camera must see all of you",
    "neutral": "Hold still in the start position (your neutral)",
    "practice": "One comfortable practice rep (not counted)",
    "sets": "The sets",
}
#: The calibration windows of a camera session (no bends: the camera starts at the hold).
_CAMERA_CALIBRATION: Final[dict[str, str]] = {
    EVENT_CALIBRATION_NEUTRAL: "Camera calibration: hold still in the start position",
    EVENT_CALIBRATION_REP: "Camera calibration: one comfortable practice rep (not counted)",
}
#: Why a session paused, when it was not the person's pause key.
_PAUSE_REASONS: Final[dict[str, str]] = {
    "out-of-frame": "the camera cannot see you; it goes on when you are back in the picture",
    "sensor-silent": "a sensor stopped sending",
}


class CoachError(SpinecoachError):
    """A terminal-coach option or step that cannot be used; the message says the fix."""


# --- options ---------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CoachSettings:
    """The options of one terminal session, checked when made.

    ``speed`` is the replay speed (1.0 = real time) of the simulator and of a
    ``video:PATH`` camera source; ``pain_before_mm`` and
    ``pain_after_mm`` are 0–100 mm VAS or None (ask, when stdin is a terminal);
    ``database_url`` None means the server's default (``store.db.database_url``).

    >>> CoachSettings("pelvic-tilt", source="phone")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    spinecoach.coach.CoachError: unknown source 'phone' for --source; use one of: sim, ...
    """

    technique: str
    source: str = "sim"
    seed: int = 0
    reps: int | None = None
    profile: str = "typical"
    speed: float = 1.0
    pain_before_mm: float | None = None
    pain_after_mm: float | None = None
    database_url: str | None = None
    save: bool = True
    #: Where the ingest server of ``sensor-logger`` listens (HOST:PORT).
    listen: str = "127.0.0.1:8000"
    #: ``ble`` sources: a TOML file declaring the sensor's packets (None: Polar PMD).
    ble_device: str | None = None

    def __post_init__(self) -> None:
        from spinecoach.exercises.engine import SUPPORTED
        from spinecoach.sim import PROFILES

        if self.technique not in SUPPORTED:
            raise CoachError(
                f"unknown technique {self.technique!r}; coach takes one of: " + ", ".join(SUPPORTED)
            )
        from spinecoach.coach_devices import DeviceSourceError, parse_device_source

        if is_camera_source(self.source):
            camera_spec(self.source, self.technique)
        else:
            try:
                parse_device_source(self.source)
            except DeviceSourceError as error:
                raise CoachError(str(error)) from None
        if self.profile not in PROFILES:
            raise CoachError(
                f"unknown performer profile {self.profile!r} for --profile; use one of: "
                + ", ".join(PROFILES)
            )
        if not 0 <= self.seed <= 2**32 - 1:
            raise CoachError(f"--seed must be from 0 to {2**32 - 1}, got {self.seed}")
        if self.reps is not None and not 1 <= self.reps <= MAX_REPS:
            raise CoachError(f"--reps must be from 1 to {MAX_REPS} per set, got {self.reps}")
        if not (math.isfinite(self.speed) and self.speed > 0):
            raise CoachError(
                f"--speed must be a replay speed above 0 (1 = real time), got {self.speed:g}"
            )
        check_pain_mm(self.pain_before_mm, "--pain-before")
        check_pain_mm(self.pain_after_mm, "--pain-after")
        if self.save and self.database_url:
            _check_database_url(self.database_url)


def is_camera_source(source: str) -> bool:
    """Whether ``source`` is the camera's (``camera:N``, ``video:PATH``).

    >>> is_camera_source("video:hinge.mp4"), is_camera_source("ble:A0:9E:1A:00:00:01")
    (True, False)
    """
    return source.partition(":")[0].strip() in CAMERA_KINDS


def camera_spec(source: str, technique: str) -> CameraSpec:
    """The camera named by ``source`` for coaching ``technique``; a :class:`CoachError`
    with the fix when the value is malformed or a camera cannot coach the technique.
    Nothing is opened or imported from the camera extra here (see :func:`open_camera`).

    >>> camera_spec("camera:1", "hip-hinge").label
    'camera:1'
    >>> camera_spec("video:clip.mp4", "pelvic-tilt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    spinecoach.coach.CoachError: the camera cannot coach pelvic-tilt: ... Use a motion sensor ...
    """
    from spinecoach.camera.engine_map import CAMERA_COACHING
    from spinecoach.camera.live import CameraCoach
    from spinecoach.camera.source import parse_camera_source
    from spinecoach.errors import ConfigurationError

    try:
        spec = parse_camera_source(source.strip())
    except ConfigurationError as error:
        raise CoachError(str(error)) from None
    try:
        CameraCoach(technique)
    except ConfigurationError as error:
        raise CoachError(
            f"{error} A camera can coach {', '.join(sorted(CAMERA_COACHING))}; for "
            f"{technique} use --source sim, phyphox:ADDRESS, ble:ADDRESS or sensor-logger."
        ) from None
    return spec


def open_camera(
    settings: CoachSettings, camera_source: Callable[[], CameraSource] | None = None
) -> CameraSource:
    """The camera source of ``settings`` (made by ``camera_source`` when given: the test
    seam), checked now: a :class:`CoachError` naming the install command and the other
    sources when the camera extra is missing, or the video file does not exist."""
    from spinecoach.camera.source import CameraSource

    spec = camera_spec(settings.source, settings.technique)
    source = camera_source() if camera_source is not None else CameraSource(spec)
    try:
        source.check_available()
    except SpinecoachError as error:
        raise CoachError(f"--source {settings.source}: {error}") from None
    return source


def check_pain_mm(value: float | None, option: str) -> float | None:
    """``value`` when it is a pain rating on the 0–100 mm visual analogue scale (or None).

    >>> check_pain_mm(120, "--pain-before")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    spinecoach.coach.CoachError: --pain-before must be from 0 to 100 mm ..., got 120
    """
    if value is None:
        return None
    if not (math.isfinite(value) and PAIN_MIN_MM <= value <= PAIN_MAX_MM):
        raise CoachError(
            f"{option} must be from {PAIN_MIN_MM:g} to {PAIN_MAX_MM:g} mm on the visual "
            f"analogue scale (0 no pain, 100 the worst imaginable), got {value:g}"
        )
    return float(value)


def _check_database_url(url: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except ArgumentError:
        raise CoachError(
            f"--database {url!r} is not a database URL; use for example "
            "sqlite:///path/to/spinecoach.sqlite3 or postgresql+psycopg://user@host/db"
        ) from None


def ask_pain(console: Console, when: str, *, stream: TextIO | None = None) -> float | None:
    """Ask for pain ``when`` ("before"/"after") until a 0–100 answer; None when skipped
    (an empty answer, end of input or Ctrl+C)."""
    question = (
        f"Pain {when} the session, 0 (none) to 100 (worst imaginable); Enter skips: "
        if when == "before"
        else "Pain now, after the session, 0 (none) to 100 (worst imaginable); Enter skips: "
    )
    while True:
        try:
            answer = console.input(question, stream=stream).strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return None
        if not answer:
            return None
        try:
            return check_pain_mm(float(answer.replace(",", ".")), "pain")
        except ValueError:
            console.print(f"[yellow]{answer!r} is not a number[/]; type 0 to 100", highlight=False)
        except CoachError as error:
            console.print(f"[yellow]{error}[/]", highlight=False)


# --- pure rendering ----------------------------------------------------------------------------
def _cell(value: float, low: float, high: float, width: int) -> int:
    share = (value - low) / (high - low)
    return min(width - 1, max(0, round(share * (width - 1))))


def gauge_text(
    value_deg: float | None,
    band_deg: tuple[float, float] | None,
    *,
    low_deg: float,
    high_deg: float,
    width: int = GAUGE_WIDTH,
) -> Text:
    """A one-line gauge from ``low_deg`` to ``high_deg`` (deg) in ``width`` cells: ``─``
    outside the target band, ``━`` (green) inside it, ``●`` at the value (``◀``/``▶`` at an
    end when the value is off the scale; no marker when it is None or NaN). Cell ``i``
    stands for ``low + i × (high − low) / (width − 1)``.

    >>> print(gauge_text(25.0, None, low_deg=0.0, high_deg=10.0, width=6).plain)
    ─────▶
    """
    if not (width >= 2 and high_deg > low_deg):
        raise CoachError(f"a gauge needs width ≥ 2 and high_deg > low_deg, got {width}")
    cells = ["─"] * width
    styles = ["dim"] * width
    if band_deg is not None:
        first = _cell(band_deg[0], low_deg, high_deg, width)
        last = _cell(band_deg[1], low_deg, high_deg, width)
        for i in range(first, last + 1):
            cells[i], styles[i] = "━", "bold green"
    if value_deg is not None and math.isfinite(value_deg):
        i = _cell(value_deg, low_deg, high_deg, width)
        marker = "◀" if value_deg < low_deg else "▶" if value_deg > high_deg else "●"
        in_band = band_deg is not None and band_deg[0] <= value_deg <= band_deg[1]
        cells[i], styles[i] = marker, "bold green" if in_band else "bold cyan"
    text = Text()
    for char, style in zip(cells, styles, strict=True):
        text.append(char, style=style)
    return text


def countdown_text(seconds_left: float | None) -> str:
    """Whole seconds left, rounded up (``'3 s'``); ``'–'`` when there is nothing to count."""
    if seconds_left is None or not math.isfinite(seconds_left):
        return "–"
    return f"{max(0, math.ceil(seconds_left - 1e-9))} s"


def sparkline(values: Sequence[float | None], *, low: float, high: float) -> str:
    """One block character per value between ``low`` and ``high`` (clipped); a space
    where there is no value.

    >>> sparkline([0.0, 5.0, 10.0, None], low=0.0, high=10.0)
    '▁▅█ '
    """
    span = high - low
    if not span > 0:
        raise CoachError(f"a sparkline needs high > low, got {low} and {high}")
    out = []
    for value in values:
        if value is None or not math.isfinite(value):
            out.append(" ")
            continue
        share = min(1.0, max(0.0, (value - low) / span))
        out.append(_SPARK[round(share * (len(_SPARK) - 1))])
    return "".join(out)


def resample_trace(
    points: Sequence[tuple[float, float | None]], *, end_s: float, window_s: float, width: int
) -> list[float | None]:
    """The last value of each of ``width`` equal time bins over ``(end − window, end]`` (s);
    None for a bin with no value."""
    bins: list[float | None] = [None] * width
    start = end_s - window_s
    for t, value in points:
        if t <= start or t > end_s or value is None:
            continue
        i = min(width - 1, max(0, math.ceil((t - start) / window_s * width) - 1))
        bins[i] = value
    return bins


# --- the view -----------------------------------------------------------------------------------
@dataclasses.dataclass
class CoachView:
    """What the display shows, updated by every protocol message (:meth:`apply`)."""

    technique: Technique
    planned_reps: int
    planned_sets: int
    t_s: float = 0.0
    value_deg: float | None = None
    trace: deque[tuple[float, float | None]] = dataclasses.field(default_factory=deque)
    band_deg: tuple[float, float] | None = None
    reps: int = 0
    set_index: int = 0
    reps_in_set: int = 0
    position: str = "unknown"
    calibrated: bool = False
    paused: bool = False
    stopping: bool = False
    flags: tuple[str, ...] = ()
    cue: CueMessage | None = None
    hold_start_s: float | None = None
    calibration: PhaseMessage | None = None
    breath: PhaseMessage | None = None
    last_rep: dict[str, object] | None = None
    keys_enabled: bool = False
    #: Live devices: each one's placement, state and signal quality ("" for the simulator).
    devices: str = ""
    #: Camera sessions: the camera (``camera:0``, ``video:PATH``; "" for other sources)
    #: and the latest ``camera`` message (what it sees, what to fix).
    camera_source: str = ""
    camera: CameraMessage | None = None
    #: Why the session is paused (``user``, ``sensor-silent``, ``out-of-frame``).
    paused_reason: str | None = None
    #: The latest problem the session reported (``not-saved``: the history is not kept).
    notice: ErrorMessage | None = None

    def apply(self, message: ServerMessage) -> None:
        if isinstance(message, FrameMessage):
            self.t_s = message.t
            raw = message.angles.get(self.technique.main_signal)
            self.value_deg = None if raw is None else raw * self.technique.direction
            self.trace.append((message.t, self.value_deg))
            while self.trace and self.trace[0][0] < message.t - TRACE_WINDOW_S:
                self.trace.popleft()
            self.flags = tuple(message.flags)
        elif isinstance(message, StateMessage):
            self.band_deg = message.target_band_deg
            self.reps = message.reps
            self.position = message.position
            self.calibrated = message.calibrated
            self.paused = message.paused
            self.paused_reason = message.paused_reason
        elif isinstance(message, RepMessage):
            rep_set = int(message.rep.get("set", 0))
            if rep_set != self.set_index:
                self.set_index, self.reps_in_set = rep_set, 0
            self.reps_in_set += 1
            self.last_rep = message.rep
        elif isinstance(message, CueMessage):
            self.cue = message
            if message.key == "hold":
                self.hold_start_s = message.t
            elif message.key in ("release", "start"):
                self.hold_start_s = None
        elif isinstance(message, PhaseMessage):
            if message.kind in _BREATH_TEXT:
                self.breath = message
            elif message.kind in _CALIBRATION_STEPS:
                self.calibration = message
        elif isinstance(message, CameraMessage):
            self.camera = message
        elif isinstance(message, ErrorMessage):
            self.notice = message

    @property
    def practising(self) -> bool:
        """Calibration is over once the practice rep's window has passed."""
        phase = self.calibration
        return phase is not None and phase.kind == EVENT_CALIBRATION_REP and self.t_s > phase.end_s

    def step_text(self) -> str:
        phase = self.calibration
        camera_step = None if self.camera is None else self.camera.step
        # A camera's practice step lasts until its window closes; a counted rep ends it.
        if self.practising or camera_step == "sets" or self.last_rep is not None:
            current = max(self.set_index, 1)
            done = f"rep {self.reps_in_set} of {self.planned_reps}"
            return f"Set {current} of {self.planned_sets}: {done}"
        if camera_step is not None:
            return _CAMERA_STEPS.get(camera_step, camera_step)
        if self.camera_source:
            return f"Starting the camera ({self.camera_source})"
        if phase is None:
            return f"Getting ready: {self.technique.start_position}"
        if self.t_s <= phase.end_s:
            return _CALIBRATION_STEPS[phase.kind]
        if phase.kind == EVENT_CALIBRATION_FUNCTIONAL:
            return "Calibration: get into the start position"
        return "Calibration: relax"

    def step_seconds_left(self) -> float | None:
        phase = self.calibration
        if self.camera is not None and self.camera.step != "neutral":
            return None  # the camera's steps end when the person has done them
        if phase is None or self.practising or self.t_s > phase.end_s:
            return None
        if phase.kind == EVENT_CALIBRATION_REP:
            return None  # the practice rep goes at the person's own pace
        return phase.end_s - self.t_s

    def hold_seconds_left(self) -> float | None:
        hold_s = self.technique.dose.hold_s
        if self.hold_start_s is None or hold_s <= 0:
            return None
        return max(0.0, hold_s - (self.t_s - self.hold_start_s))

    def breath_phase(self) -> tuple[str, float, float] | None:
        """(Breathe in/out, seconds left, share done) of the pacer's current phase."""
        b = self.breath
        if b is None or self.t_s > b.end_s + 0.5:
            return None
        span = max(0.1, b.end_s - b.start_s)
        share = min(1.0, max(0.0, (self.t_s - b.start_s) / span))
        return _BREATH_TEXT[b.kind], max(0.0, b.end_s - self.t_s), share

    def shown_flags(self) -> list[str]:
        return [f for f in self.flags if f != _NOT_CALIBRATED_FLAG or not self.calibrated]


def camera_status_text(message: CameraMessage, *, fps: bool = True) -> str:
    """What the camera sees, in one line: framed (with the images processed per second),
    or the first thing to fix.

    >>> seen = CameraMessage(step="sets", person=True, framed=True, messages=[], view="side")
    >>> camera_status_text(seen.model_copy(update={"fps": 29.7}))
    'in the picture, framed (30 images/s)'
    >>> unframed = seen.model_copy(update={"framed": False, "messages": ["Turn sideways."]})
    >>> camera_status_text(unframed)
    'Turn sideways.'
    """
    if message.framed:
        text = "in the picture, framed"
        if message.messages:  # framed, but something still to fix (the back's outline)
            text += f"; {message.messages[0]}"
    elif message.messages:
        text = message.messages[0]
    else:
        text = "in the picture, not framed" if message.person else "nobody in the picture"
    if fps and message.fps is not None:
        text += f" ({message.fps:.0f} images/s)"
    return text


def pause_text(reason: str | None) -> str:
    """``paused``, with why when it was not the person's pause key.

    >>> pause_text("out-of-frame")
    'paused: the camera cannot see you; it goes on when you are back in the picture'
    """
    why = _PAUSE_REASONS.get(reason or "")
    return f"paused: {why}" if why else "paused"


def _signal_name(technique: Technique) -> str:
    return technique.main_signal.removesuffix("_deg").replace("_", " ")


def gauge_scale(band_deg: tuple[float, float] | None) -> tuple[float, float]:
    """The gauge's (low, high) in degrees: −10 to at least 20, wider for a deep band."""
    high = max(GAUGE_MIN_HIGH_DEG, band_deg[1] * 1.4 if band_deg else GAUGE_MIN_HIGH_DEG)
    return GAUGE_LOW_DEG, high


def render_view(view: CoachView) -> RenderableType:
    """The live display of ``view``: one panel of measures and one of the latest cue."""
    tech = view.technique
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    step = Text(view.step_text(), style="bold")
    left = view.step_seconds_left()
    if left is not None:
        step.append(f"   {countdown_text(left)}", style="bold yellow")
    grid.add_row("step", step)

    low, high = gauge_scale(view.band_deg)
    gauge = gauge_text(view.value_deg, view.band_deg, low_deg=low, high_deg=high)
    shown = "–" if view.value_deg is None else f"{view.value_deg:+.0f}°"
    gauge.append(f"  {shown:>5}", style="bold")
    if view.band_deg is not None:
        gauge.append(f"  target {view.band_deg[0]:.0f}–{view.band_deg[1]:.0f}°", style="green")
    else:
        gauge.append("  target after the practice rep", style="dim")
    grid.add_row(_signal_name(tech), gauge)

    values = resample_trace(
        list(view.trace), end_s=view.t_s, window_s=TRACE_WINDOW_S, width=TRACE_WIDTH
    )
    seen = [v for v in values if v is not None]
    lo = min([-5.0, *seen, *(view.band_deg or ())])
    hi = max([15.0, *seen, *(view.band_deg or ())])
    trace = Text(sparkline(values, low=lo, high=hi), style="cyan")
    trace.append(f"  {lo:.0f}…{hi:.0f}°", style="dim")
    grid.add_row(f"last {TRACE_WINDOW_S:.0f} s", trace)

    counts = Text(f"{view.reps}", style="bold")
    counts.append(f"   set {max(view.set_index, 1)} of {view.planned_sets}")
    if tech.dose.hold_s > 0:
        counts.append("   hold ")
        counts.append(countdown_text(view.hold_seconds_left()), style="bold yellow")
    grid.add_row("reps", counts)

    breath = view.breath_phase()
    if breath is not None:
        label, seconds_left, share = breath
        pacer = Text(f"{label:<12}", style="bold magenta")
        pacer.append(f"{countdown_text(seconds_left):>5}  ", style="bold")
        filled = round(share * 20)
        pacer.append("▰" * filled + "▱" * (20 - filled), style="magenta")
        grid.add_row("breathing", pacer)

    position = Text(view.position)
    if view.position not in ("unknown", tech.position):
        position.append(f"  (start position: {tech.position})", style="yellow")
    grid.add_row("position", position)
    flags = view.shown_flags()
    if flags:
        grid.add_row("signal", Text(", ".join(flags), style="bold red"))
    if view.devices:
        grid.add_row("sensors", Text(view.devices))
    if view.camera_source:
        sight = view.camera
        if sight is None:
            camera = Text("starting…", style="yellow")
        else:
            style = "green" if sight.framed else "bold yellow" if sight.person else "bold red"
            camera = Text(camera_status_text(sight), style=style)
        camera.append(f"  {view.camera_source}", style="dim")
        grid.add_row("camera", camera)
    if view.paused:
        paused = Text("PAUSED", style="bold reverse yellow")
        why = _PAUSE_REASONS.get(view.paused_reason or "")
        if why:
            paused.append(f"  {why}", style="bold yellow")
        grid.add_row("", paused)
    if view.stopping:
        grid.add_row("", Text("stopping… (Ctrl+C again quits at once)", style="yellow"))
    if view.notice is not None:
        grid.add_row("", Text(notice_text(view.notice), style="bold yellow"))

    cue_text = Text(view.cue.text if view.cue else "…", style="bold", justify="center")
    keys = "space/p pause · q or Ctrl+C stop" if view.keys_enabled else "Ctrl+C stops"
    return Group(
        Panel(grid, title=f"[bold]{tech.title}[/]", title_align="left", subtitle=keys),
        Panel(cue_text, padding=(1, 2), border_style="bold blue"),
    )


def progress_line(message: ServerMessage, view: CoachView) -> str | None:
    """One line for the log of a session without a terminal (None: nothing to say)."""
    if isinstance(message, PhaseMessage):
        if view.camera_source and view.calibration and view.calibration.kind == message.kind:
            return None  # the camera's final window for a step it announced: said already
        steps = _CAMERA_CALIBRATION if view.camera_source else _CALIBRATION_STEPS
        what = _BREATH_TEXT.get(message.kind) or steps.get(message.kind, message.kind)
        return f"{message.start_s:7.1f} s  {what} ({message.end_s - message.start_s:.0f} s)"
    if isinstance(message, CueMessage):
        return f"{message.t:7.1f} s  cue: {message.text}"
    if isinstance(message, RepMessage):
        rep = message.rep
        line = f"{float(rep['end_s']):7.1f} s  rep {rep['index']} (set {rep['set']})"
        if rep.get("range_deg") is not None:
            line += f": range {float(rep['range_deg']):.1f}°"
        if view.technique.dose.hold_s > 0 and rep.get("hold_s") is not None:
            line += f", hold {float(rep['hold_s']):.1f} s"
        line += f", quality {rep['quality']}"
        faults = rep.get("faults") or []
        if isinstance(faults, list) and faults:
            line += ", faults: " + ", ".join(str(f) for f in faults)
        return line
    if isinstance(message, StateMessage):
        changes = []
        if message.calibrated and not view.calibrated:
            changes.append("calibration done")
        if message.position != view.position:
            changes.append(f"position: {message.position}")
        if message.paused and (not view.paused or message.paused_reason != view.paused_reason):
            changes.append(pause_text(message.paused_reason))
        elif view.paused and not message.paused:
            changes.append("resumed")
        if changes:
            return f"{view.t_s:7.1f} s  " + "; ".join(changes)
    if isinstance(message, CameraMessage):
        return _camera_progress(message, view.camera, view.t_s)
    if isinstance(message, ErrorMessage):
        return f"{view.t_s:7.1f} s  {notice_text(message)}"
    return None


def notice_text(message: ErrorMessage) -> str:
    """A problem the session reported, in one line: what happened and what to do.

    >>> notice_text(ErrorMessage(code="not-saved", message="not saved", fix="check it"))
    'not saved: not saved; check it'
    """
    what = "not saved" if message.code == "not-saved" else message.code
    return f"{what}: {message.message}; {message.fix}"


def _camera_progress(message: CameraMessage, last: CameraMessage | None, t_s: float) -> str | None:
    """A progress line when the camera's step or what it sees changes (not its rate)."""
    status = camera_status_text(message, fps=False)
    parts = []
    if last is None or message.step != last.step:
        parts.append(f"camera step: {message.step} — {_CAMERA_STEPS.get(message.step, '')}")
    if last is None or status != camera_status_text(last, fps=False):
        parts.append(f"camera: {status}")
    return f"{t_s:7.1f} s  " + "; ".join(parts) if parts else None


def render_summary(outcome: CoachOutcome) -> RenderableType:
    """The reps table and one line of totals: reps, sets, holds, quality, faults."""
    result = outcome.result
    table = Table(title=f"{outcome.technique_title}: summary", title_justify="left")
    # Breath-led techniques have no hold: no column of zeros.
    show_hold = any(math.isfinite(r.hold_s) and r.hold_s > 0 for r in result.reps)
    columns = (
        ("rep", "set", "range°", "hold s", "quality")
        if show_hold
        else ("rep", "set", "range°", "quality")
    )
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("faults", overflow="fold")
    for rep in result.reps:
        hold = [_one_decimal(rep.hold_s)] if show_hold else []
        table.add_row(
            str(rep.index),
            str(rep.set_index),
            _one_decimal(rep.range_deg),
            *hold,
            str(rep.quality),
            ", ".join(rep.fault_names) or "–",
        )
    n, n_sets = len(result.reps), len(result.sets)
    line = f"{n} rep{'s' if n != 1 else ''} in {n_sets} set{'s' if n_sets != 1 else ''}"
    holds = [r.hold_s for r in result.reps if math.isfinite(r.hold_s) and r.hold_s > 0]
    if holds:
        line += f", mean hold {sum(holds) / len(holds):.1f} s"
    if n:
        line += f", mean quality {sum(r.quality for r in result.reps) / n:.0f}/100"
    faults: dict[str, int] = {}
    for rep in result.reps:
        for name in rep.fault_names:
            faults[name] = faults.get(name, 0) + 1
    line += (
        "; faults: " + ", ".join(f"{k} ×{v}" for k, v in faults.items())
        if faults
        else "; no faults"
    )
    if outcome.stopped_early:
        line += f"\nstopped early, after {outcome.session_time_s:.0f} s of the session"
    return Group(table, Text(line))


def _one_decimal(value: float) -> str:
    return f"{value:.1f}" if math.isfinite(value) else "–"


# --- running -------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CoachOutcome:
    """A finished (or stopped) terminal session."""

    result: ExerciseResult
    recording: Recording | None
    stopped_early: bool
    session_time_s: float
    technique_title: str
    session_id: int | None = None


def _start_message(settings: CoachSettings) -> StartMessage:
    """The start message a browser would send for these settings."""
    from spinecoach.web.protocol import StartMessage

    return StartMessage(
        type="start",
        technique=settings.technique,
        source="sim",
        seed=settings.seed,
        reps=settings.reps,
        profile=settings.profile,
    )


def build_simulation(settings: CoachSettings) -> tuple[LiveSession, SimulatedSource, Recording]:
    """The simulated recording and its session, made by the server's own function from the
    start message a browser would send, so both coaches run the same session."""
    from spinecoach.web.live import build_simulation as build_live_simulation

    return build_live_simulation(_start_message(settings))


def _store_live(
    history: History,
    session: LiveSession,
    start: StartMessage,
    pain_before_mm: float | None,
    *,
    camera: str | None = None,
) -> tuple[str, str] | None:
    """Store the session from its first moment, as the server does (see
    :mod:`spinecoach.store.live` and :func:`spinecoach.services.live.begin_storing`): the
    recorder collects what it receives and produces. ``start`` says the source (and its
    devices); ``camera``: a camera session's camera. Returns None, or what to show when
    the session could not be stored (it then runs without being saved)."""
    from spinecoach.services.live import begin_storing
    from spinecoach.web.live import live_config

    source = start.source or "sim"
    config = live_config(session, source, start, camera=camera)

    def begin() -> Any:
        return history.start_live(
            session.technique, source=source, live_config=config, pain_before_mm=pain_before_mm
        )

    return begin_storing(begin, session)


def _not_saved(texts: tuple[str, str]) -> ServerMessage:
    """The message the server sends when a session is not saved, for the terminal."""
    return ProtocolError("not-saved", *texts).as_message()


async def _cancel(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel the tasks that are still running and wait for them."""
    for task in tasks:
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _store_task(
    history: History | None, session: LiveSession, output: _Output
) -> asyncio.Task[None] | None:
    """The task that commits a stored session as it runs (None: not stored); a failed
    commit is shown as the server shows it (:func:`spinecoach.services.live.store_loop`)."""
    from spinecoach.services.live import store_loop

    recorder = session.recorder
    if history is None or recorder is None:
        return None

    async def warn(texts: tuple[str, str]) -> None:
        output.show([_not_saved(texts)])

    return asyncio.create_task(store_loop(lambda: history.flush(recorder), warn))


class _Output:
    """The live panel (a terminal) or progress lines (anything else)."""

    def __init__(self, console: Console, view: CoachView, *, live: bool) -> None:
        self.console = console
        self.view = view
        self.live = Live(console=console, auto_refresh=False) if live else None
        self._last_draw = -math.inf

    def __enter__(self) -> _Output:
        if self.live is not None:
            self.live.__enter__()
            self.draw(force=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.draw(force=True)
            self.live.__exit__(None, None, None)

    def note(self, message: ServerMessage) -> None:
        """Take a message before the panel is up: the view keeps it (drawn when the panel
        starts), and a log without a terminal prints it at once."""
        self.view.apply(message)
        line = progress_line(message, self.view) if self.live is None else None
        if line is not None:
            self.console.print(line, highlight=False, markup=False, soft_wrap=True)

    def show(self, messages: Sequence[ServerMessage]) -> None:
        for message in messages:
            if self.live is None:
                line = progress_line(message, self.view)
                if line is not None:
                    self.console.print(line, highlight=False, markup=False, soft_wrap=True)
            self.view.apply(message)
        # A state change (pause above all: the replay then waits) is drawn at once.
        self.draw(force=any(isinstance(m, StateMessage) for m in messages))

    def draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if self.live is None or (not force and now - self._last_draw < 1.0 / REFRESH_HZ):
            return
        self._last_draw = now
        self.live.update(render_view(self.view), refresh=True)


@contextlib.contextmanager
def _ctrl_c_stops(control: ReplayControl, view: CoachView) -> Iterator[None]:
    """The first Ctrl+C stops the replay; the next one interrupts as usual."""
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
def _keys(control: ReplayControl, view: CoachView, *, enabled: bool) -> Iterator[None]:
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


async def _replay(
    session: LiveSession,
    source: SimulatedSource,
    output: _Output,
    control: ReplayControl,
    *,
    speed: float,
    keys: bool,
    history: History | None = None,
) -> None:
    from spinecoach.web.session import replay_simulation

    store = _store_task(history, session, output)
    try:
        with (
            _ctrl_c_stops(control, output.view),
            _keys(control, output.view, enabled=keys),
            output,
        ):
            output.show([session.state_message()])
            async for messages in replay_simulation(session, source, speed=speed, control=control):
                output.show(messages)
    finally:
        await _cancel(store)


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
    from spinecoach.exercises.catalogue import default_catalogue
    from spinecoach.web.session import ReplayControl

    technique = default_catalogue().technique(settings.technique)
    if is_camera_source(settings.source):
        return _run_camera_session(
            settings,
            open_camera(settings, camera_source),
            console,
            technique,
            keys=keys,
            control=control,
            history=history,
            pain_before_mm=pain_before_mm,
        )
    from spinecoach.coach_devices import parse_device_source

    spec = parse_device_source(settings.source)
    if spec is not None:
        return _run_device_session(
            settings,
            spec,
            console,
            technique,
            keys=keys,
            control=control,
            history=history,
            pain_before_mm=pain_before_mm,
        )
    session, source, recording = build_simulation(settings)
    not_saved = None
    if history is not None:
        not_saved = _store_live(history, session, _start_message(settings), pain_before_mm)
    view = CoachView(
        technique,
        planned_reps=int(recording.meta.get("reps", technique.dose.reps)),
        planned_sets=int(recording.meta.get("sets", technique.dose.sets)),
    )
    control = control or ReplayControl()
    live = console.is_terminal and not console.is_dumb_terminal
    output = _Output(console, view, live=live)
    if not_saved is not None:
        output.note(_not_saved(not_saved))
    interrupted = False
    try:
        asyncio.run(
            _replay(
                session,
                source,
                output,
                control,
                speed=settings.speed,
                keys=keys and live,
                history=history,
            )
        )
    except KeyboardInterrupt:
        if control.stopped:  # a second Ctrl+C: quit without the summary or a save
            raise
        interrupted = True  # where Ctrl+C could not be routed to the control
    return _complete(
        session, history, view, technique, recording, stopped_early=interrupted or control.stopped
    )


def _complete(
    session: LiveSession,
    history: History | None,
    view: CoachView,
    technique: Technique,
    recording: Recording | None,
    *,
    stopped_early: bool,
    ended: str = "",
) -> CoachOutcome:
    """Finish ``session``, complete it in the history (when stored) and say how it went;
    ``ended``: why the source ended it (the video ended, the webcam stopped)."""
    session.finish()
    if session.result is None:  # finish() always sets it; never expected
        raise CoachError("the session ended without a result")
    if history is not None and session.recorder is not None:
        why = "stopped early" if stopped_early else ended
        history.complete_live(
            session.recorder,
            session.result,
            summary_extra={"ended": why} if why else None,
        )
    return CoachOutcome(
        result=session.result,
        recording=recording,
        stopped_early=stopped_early,
        session_time_s=view.t_s,
        technique_title=technique.title,
        session_id=session.session_id,
    )


def _run_live(
    console: Console,
    view: CoachView,
    technique: Technique,
    control: ReplayControl | None,
    history: History | None,
    *,
    keys: bool,
    task: Callable[[_Output, ReplayControl, bool, list[LiveSession]], Coroutine[Any, Any, None]],
    ended: list[str] | None = None,
) -> CoachOutcome:
    """Run a live source's session ``task(output, control, keys, box)`` (it puts its
    session in ``box``) to its end or to Ctrl+C, then complete it; ``ended`` collects
    why the source ended it."""
    from spinecoach.web.session import ReplayControl

    control = control or ReplayControl()
    live = console.is_terminal and not console.is_dumb_terminal
    output = _Output(console, view, live=live)
    box: list[LiveSession] = []
    interrupted = False
    try:
        asyncio.run(task(output, control, keys and live, box))
    except KeyboardInterrupt:
        if control.stopped or not box:
            raise
        interrupted = True
    except SpinecoachError as error:
        raise CoachError(str(error)) from None
    return _complete(
        box[0],
        history,
        view,
        technique,
        None,
        stopped_early=interrupted or control.stopped,
        ended="".join(ended or []),
    )


def _run_device_session(
    settings: CoachSettings,
    spec: DeviceSourceSpec,
    console: Console,
    technique: Technique,
    *,
    keys: bool,
    control: ReplayControl | None,
    history: History | None,
    pain_before_mm: float | None,
) -> CoachOutcome:
    """:func:`run_session` with live devices (see :mod:`spinecoach.coach_devices`)."""
    view = CoachView(technique, planned_reps=technique.dose.reps, planned_sets=technique.dose.sets)
    return _run_live(
        console,
        view,
        technique,
        control,
        history,
        keys=keys,
        task=lambda output, control, keys, box: _device_session(
            settings,
            spec,
            output,
            control,
            keys=keys,
            history=history,
            pain_before_mm=pain_before_mm,
            box=box,
        ),
    )


async def _device_session(
    settings: CoachSettings,
    spec: DeviceSourceSpec,
    output: _Output,
    control: ReplayControl,
    *,
    keys: bool,
    history: History | None,
    pain_before_mm: float | None,
    box: list[LiveSession],
) -> None:
    from spinecoach.coach_devices import (
        WAIT_FOR_DATA_S,
        device_line,
        running_sources,
        wait_for_devices,
    )
    from spinecoach.sources.live import SourceHub
    from spinecoach.web.devices import DevicePump
    from spinecoach.web.protocol import StartMessage
    from spinecoach.web.session import LiveSession

    def say(text: str) -> None:
        output.console.print(text, highlight=False, markup=False, soft_wrap=True)

    hub = SourceHub()
    async with running_sources(
        spec, hub, listen=settings.listen, say=say, ble_device=settings.ble_device
    ):
        feeds = await wait_for_devices(spec, hub, say=say, timeout_s=WAIT_FOR_DATA_S)
        session = LiveSession(
            settings.technique, rates_hz={p: float(f.rate_hz or 0.0) for p, f in feeds.items()}
        )
        box.append(session)
        if history is not None:
            start = StartMessage.model_validate(
                {
                    "type": "start",
                    "technique": settings.technique,
                    "source": "devices",
                    "devices": {p: f.id for p, f in feeds.items()},
                }
            )
            failed = _store_live(history, session, start, pain_before_mm)
            if failed is not None:
                output.note(_not_saved(failed))

        async def emit(messages: list[ServerMessage]) -> None:
            output.show(messages)

        pump = DevicePump(session, feeds, origin_host_s=time.monotonic(), emit=emit)
        store = _store_task(history, session, output)
        task = asyncio.create_task(pump.run())
        try:
            with (
                _ctrl_c_stops(control, output.view),
                _keys(control, output.view, enabled=keys),
                output,
            ):
                output.show([session.state_message()])
                while not control.stopped and not task.done():
                    await asyncio.sleep(0.1)
                    if control.paused != pump.paused:
                        pump.paused = control.paused
                        output.show(session.set_paused(control.paused))
                    line = device_line(hub)
                    if line != output.view.devices:
                        output.view.devices = line
                        if output.live is None:
                            say(f"sensors: {line}")
                    output.draw()
        finally:
            await _cancel(task, store)


def _run_camera_session(
    settings: CoachSettings,
    source: CameraSource,
    console: Console,
    technique: Technique,
    *,
    keys: bool,
    control: ReplayControl | None,
    history: History | None,
    pain_before_mm: float | None,
) -> CoachOutcome:
    """:func:`run_session` with the camera: the web page's camera pump and coach."""
    from spinecoach.camera.live import CameraCoach

    view = CoachView(
        technique,
        planned_reps=technique.dose.reps,
        planned_sets=technique.dose.sets,
        camera_source=source.spec.label,
    )
    ended: list[str] = []
    return _run_live(
        console,
        view,
        technique,
        control,
        history,
        keys=keys,
        task=lambda output, control, keys, box: _camera_session(
            settings,
            source,
            CameraCoach(settings.technique),
            output,
            control,
            keys=keys,
            history=history,
            pain_before_mm=pain_before_mm,
            box=box,
            ended=ended,
        ),
        ended=ended,
    )


async def _camera_session(
    settings: CoachSettings,
    source: CameraSource,
    camera_coach: CameraCoach,
    output: _Output,
    control: ReplayControl,
    *,
    keys: bool,
    history: History | None,
    pain_before_mm: float | None,
    box: list[LiveSession],
    ended: list[str],
) -> None:
    """The camera session: the pump reads and coaches in its threads, this loop shows
    its messages and passes on the pause and stop keys. ``ended`` gets why the camera
    ended the session ("the video ended", a webcam that stopped; nothing when stopped)."""
    from spinecoach.web.camera import CameraEnded, CameraPump
    from spinecoach.web.protocol import StartMessage
    from spinecoach.web.session import LiveSession

    session = LiveSession(settings.technique, camera=True)
    box.append(session)
    label = source.spec.label
    if history is not None:
        start = StartMessage(type="start", technique=settings.technique, source="camera")
        failed = _store_live(history, session, start, pain_before_mm, camera=label)
        if failed is not None:
            output.note(_not_saved(failed))

    async def emit(messages: list[ServerMessage]) -> None:
        output.show(messages)

    pump = CameraPump(session, source, camera_coach, emit, speed=settings.speed)
    store = _store_task(history, session, output)
    task = asyncio.create_task(pump.run())
    try:
        with (
            _ctrl_c_stops(control, output.view),
            _keys(control, output.view, enabled=keys),
            output,
        ):
            output.show([session.state_message()])
            while not task.done():
                if control.stopped:
                    pump.stop()  # run() returns after the frame under way
                    break
                if control.paused != pump.paused:
                    pump.paused = control.paused
                    output.show(session.set_paused(control.paused))
                output.draw()
                await asyncio.wait({task}, timeout=0.1)
            try:
                ended.append(await task)
            except CameraEnded as error:
                ended.append(str(error))
                output.console.print(
                    f"camera: {error}; what was done so far is in the summary",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
    finally:
        await _cancel(task, store)


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
    if pain_before is None and ask:
        pain_before = ask_pain(console, "before")
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

    try:
        history = History.open(settings.database_url)
    except (SQLAlchemyError, OSError, SpinecoachError) as error:  # before exercising
        raise failed(error) from error
    try:
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
