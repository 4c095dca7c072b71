"""What the terminal coach shows: a live panel (:func:`render_view`) redrawn from a
:class:`CoachView` that every live event updates, progress lines for a log without a
terminal (:func:`progress_line`), and the summary table (:func:`render_summary`).

Pure functions of their inputs (no terminal, no clock): tested with known answers.

>>> print(gauge_text(5.0, (4.0, 8.0), low_deg=0.0, high_deg=10.0, width=11).plain)
────━●━━━──
>>> countdown_text(2.2), countdown_text(None)
('3 s', '–')
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from spinecoach.cli.terminal.settings import CoachError
from spinecoach.coach.events import (
    CameraEvent,
    CueEvent,
    FrameEvent,
    LiveEvent,
    NoticeEvent,
    PhaseEvent,
    RepEvent,
    StateEvent,
)
from spinecoach.conventions import (
    EVENT_BREATH_EXHALE,
    EVENT_BREATH_INHALE,
    EVENT_CALIBRATION_FUNCTIONAL,
    EVENT_CALIBRATION_NEUTRAL,
    EVENT_CALIBRATION_REP,
)

if TYPE_CHECKING:
    from spinecoach.exercises.catalogue import Technique
    from spinecoach.exercises.model import ExerciseResult
    from spinecoach.recording import Recording

#: Session time (s) shown by the trace.
TRACE_WINDOW_S: Final = 10.0
#: Left end (deg) of the gauge, and the least right end: the browser page's scale.
GAUGE_LOW_DEG: Final = -10.0
GAUGE_MIN_HIGH_DEG: Final = 20.0
#: Cells of the gauge and of the trace.
GAUGE_WIDTH: Final = 41
TRACE_WIDTH: Final = 50

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
#: How a notice is introduced in a line (by its code).
_NOTICE_WHAT: Final[dict[str, str]] = {"not-saved": "not saved", "camera-ended": "camera"}


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
    """What the display shows, updated by every live event (:meth:`apply`)."""

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
    cue: CueEvent | None = None
    hold_start_s: float | None = None
    calibration: PhaseEvent | None = None
    breath: PhaseEvent | None = None
    last_rep: Mapping[str, object] | None = None
    keys_enabled: bool = False
    #: Live devices: each one's placement, state and signal quality ("" for the simulator).
    devices: str = ""
    #: Camera sessions: the camera (``camera:0``, ``video:PATH``; "" for other sources)
    #: and the latest ``camera`` message (what it sees, what to fix).
    camera_source: str = ""
    camera: CameraEvent | None = None
    #: Why the session is paused (``user``, ``sensor-silent``, ``out-of-frame``).
    paused_reason: str | None = None
    #: The latest problem the session reported (``not-saved``: the history is not kept).
    notice: NoticeEvent | None = None

    def apply(self, message: LiveEvent) -> None:
        if isinstance(message, FrameEvent):
            self.t_s = message.t
            raw = message.angles.get(self.technique.main_signal)
            self.value_deg = None if raw is None else raw * self.technique.direction
            self.trace.append((message.t, self.value_deg))
            while self.trace and self.trace[0][0] < message.t - TRACE_WINDOW_S:
                self.trace.popleft()
            self.flags = tuple(message.flags)
        elif isinstance(message, StateEvent):
            self.band_deg = message.target_band_deg
            self.reps = message.reps
            self.position = message.position
            self.calibrated = message.calibrated
            self.paused = message.paused
            self.paused_reason = message.paused_reason
        elif isinstance(message, RepEvent):
            rep_set = int(message.rep.get("set", 0))
            if rep_set != self.set_index:
                self.set_index, self.reps_in_set = rep_set, 0
            self.reps_in_set += 1
            self.last_rep = message.rep
        elif isinstance(message, CueEvent):
            self.cue = message
            if message.key == "hold":
                self.hold_start_s = message.t
            elif message.key in ("release", "start"):
                self.hold_start_s = None
        elif isinstance(message, PhaseEvent):
            if message.kind in _BREATH_TEXT:
                self.breath = message
            elif message.kind in _CALIBRATION_STEPS:
                self.calibration = message
        elif isinstance(message, CameraEvent):
            self.camera = message
        elif isinstance(message, NoticeEvent):
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


def camera_status_text(message: CameraEvent, *, fps: bool = True) -> str:
    """What the camera sees, in one line: framed (with the images processed per second),
    or the first thing to fix.

    >>> seen = CameraEvent(step="sets", person=True, framed=True, messages=(), view="side")
    >>> camera_status_text(dataclasses.replace(seen, fps=29.7))
    'in the picture, framed (30 images/s)'
    >>> unframed = dataclasses.replace(seen, framed=False, messages=("Turn sideways.",))
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


def _add_status_rows(grid: Table, view: CoachView) -> None:
    """The rows under the measures: position, signal flags, sensors, camera, pause,
    stopping and the latest notice."""
    tech = view.technique
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

    _add_status_rows(grid, view)

    cue_text = Text(view.cue.text if view.cue else "…", style="bold", justify="center")
    keys = "space/p pause · q or Ctrl+C stop" if view.keys_enabled else "Ctrl+C stops"
    return Group(
        Panel(grid, title=f"[bold]{tech.title}[/]", title_align="left", subtitle=keys),
        Panel(cue_text, padding=(1, 2), border_style="bold blue"),
    )


def progress_line(message: LiveEvent, view: CoachView) -> str | None:
    """One line for the log of a session without a terminal (None: nothing to say)."""
    if isinstance(message, PhaseEvent):
        if view.camera_source and view.calibration and view.calibration.kind == message.kind:
            return None  # the camera's final window for a step it announced: said already
        steps = _CAMERA_CALIBRATION if view.camera_source else _CALIBRATION_STEPS
        what = _BREATH_TEXT.get(message.kind) or steps.get(message.kind, message.kind)
        return f"{message.start_s:7.1f} s  {what} ({message.end_s - message.start_s:.0f} s)"
    if isinstance(message, CueEvent):
        return f"{message.t:7.1f} s  cue: {message.text}"
    if isinstance(message, RepEvent):
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
    if isinstance(message, StateEvent):
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
    if isinstance(message, CameraEvent):
        return _camera_progress(message, view.camera, view.t_s)
    if isinstance(message, NoticeEvent):
        return f"{view.t_s:7.1f} s  {notice_text(message)}"
    return None


def notice_text(message: NoticeEvent) -> str:
    """A problem the session reported, in one line: what happened and what to do.

    >>> notice_text(NoticeEvent(code="not-saved", message="not saved", fix="check it"))
    'not saved: not saved; check it'
    """
    what = _NOTICE_WHAT.get(message.code, message.code)
    return f"{what}: {message.message}; {message.fix}"


def _camera_progress(message: CameraEvent, last: CameraEvent | None, t_s: float) -> str | None:
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


@dataclasses.dataclass(frozen=True)
class CoachOutcome:
    """A finished (or stopped) terminal session."""

    result: ExerciseResult
    recording: Recording | None
    stopped_early: bool
    session_time_s: float
    technique_title: str
    session_id: int | None = None


__all__ = [
    "GAUGE_WIDTH",
    "TRACE_WIDTH",
    "TRACE_WINDOW_S",
    "CoachOutcome",
    "CoachView",
    "camera_status_text",
    "countdown_text",
    "gauge_scale",
    "gauge_text",
    "notice_text",
    "pause_text",
    "progress_line",
    "render_summary",
    "render_view",
    "resample_trace",
    "sparkline",
]
