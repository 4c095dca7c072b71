"""A plot (PNG) of one exercise session: the technique's main signal with every rep
shaded, holds marked, faults named at their rep and discarded movements hatched.

Same habits as :mod:`spinecoach.motion.plot`: matplotlib is imported inside the function
with the non-interactive Agg backend (importing spinecoach never loads a GUI toolkit), and
the file is written to a temporary name and renamed, so a failed plot never leaves a
half-written PNG.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from spinecoach.conventions import LUMBAR_FLEXION, PELVIC_TILT_DEG
from spinecoach.exercises.model import ExerciseResult
from spinecoach.motion.plot import save_png
from spinecoach.motion.process import AngleFrames
from spinecoach.recording import Recording

_SIGNAL_LABELS = {LUMBAR_FLEXION: "lumbar flexion", PELVIC_TILT_DEG: "pelvic tilt"}
_SET_COLORS = ("#4dabf7", "#69db7c", "#ffa94d", "#da77f2", "#ffd43b")


def main_signal(technique: str) -> str:
    """The angle column the engine follows for ``technique`` (lumbar flexion when the
    engine's hold-rep specs do not name one, as for the breath-led cat-cow)."""
    from spinecoach.exercises import detect

    spec = getattr(detect, "SPECS", {}).get(technique)
    name = getattr(spec, "main_signal", None)
    return name if isinstance(name, str) else LUMBAR_FLEXION


def plot_exercise(
    frames: AngleFrames,
    result: ExerciseResult,
    out: Path,
    *,
    recording: Recording | None = None,
    title: str = "",
    size_in: tuple[float, float] = (13.0, 5.0),
    legend_below: bool = False,
    direction: float = 1.0,
    label: str | None = None,
    fault_labels: Mapping[str, str] | None = None,
) -> Path:
    """Write a PNG of ``result`` over the main signal (deg) of ``frames``; returns the path.

    With a simulated ``recording``, the true reps are drawn as a thin bar under the axis
    so a missed or extra rep shows at a glance. ``size_in`` is the figure's width and
    height in inches (110 dpi): narrower figures keep the text legible on a phone.
    ``legend_below`` puts the legend under the axes in two columns (for a figure about as
    narrow as a phone; default: to the right of the axes, as before).
    ``direction`` (+1 or -1) and ``label``: the live gauge's sign and words for the main
    signal (``result.info["gauge"]``), so the history shows the angle as the person saw it
    during the session (default: the signal as the motion core gives it).
    ``fault_labels``: plain words for the fault ids written at their reps.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    signal = main_signal(result.technique)
    values = frames.angles[signal] if direction == 1.0 else direction * frames.angles[signal]
    words = label or _label(signal)
    fig, ax = plt.subplots(figsize=size_in)
    ax.plot(frames.time_s, values, color="#1c3d5a", lw=1.1, zorder=3, label=words)
    _scale_to_reps(ax, frames, result, values)
    ymax = ax.get_ylim()[1]

    _draw_reps(ax, frames, result, values, ymax, fault_labels or {})
    _draw_discarded_and_truth(ax, result, recording)

    ax.axhline(0.0, color="#adb5bd", lw=0.6)
    ax.grid(alpha=0.25)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{words} (deg)")
    with_truth = recording is not None and recording.truth is not None
    where: dict[str, Any] = (
        {
            "loc": "upper center",
            "bbox_to_anchor": (0.5, -0.2),
            "ncol": 2,
            "fontsize": 8,
            "handlelength": 1.4,
            "columnspacing": 0.8,
        }
        if legend_below
        else {"loc": "upper left", "bbox_to_anchor": (1.005, 1.0), "fontsize": 8}
    )
    ax.legend(handles=_legend(ax, with_truth), borderaxespad=0.0, **where)
    sets = len(result.sets)
    ax.set_title(
        title
        or f"spinecoach — {result.technique}: {len(result.reps)} reps in {sets} "
        f"set{'s' if sets != 1 else ''}"
    )
    fig.tight_layout()
    return save_png(fig, out)


def _scale_to_reps(ax: Any, frames: AngleFrames, result: ExerciseResult, values: Any) -> None:
    """Set the vertical limits from the main signal around the reps."""
    # The vertical scale follows the exercise (the reps and ten seconds before them), so a
    # stand-up at the end or a long set-up does not flatten the reps; beyond it is clipped.
    shown = np.isfinite(values)
    if result.reps:
        first = min(rep.start_s for rep in result.reps) - 10.0
        last = max(rep.end_s for rep in result.reps) + 5.0
        window = shown & (frames.time_s >= first) & (frames.time_s <= last)
        if np.any(window):
            shown = window
    finite = values[shown]
    if finite.size:
        lo, hi = np.percentile(finite, [1.0, 99.0])
        pad = max(3.0, 0.3 * (hi - lo))
        ax.set_ylim(lo - pad, hi + pad)


def _draw_reps(
    ax: Any,
    frames: AngleFrames,
    result: ExerciseResult,
    values: Any,
    ymax: float,
    fault_labels: Mapping[str, str],
) -> None:
    """Each rep shaded by set and numbered, its hold as a red bar, its faults named."""
    for rep in result.reps:
        color = _SET_COLORS[(rep.set_index - 1) % len(_SET_COLORS)]
        ax.axvspan(rep.start_s, rep.end_s, color=color, alpha=0.18, lw=0, zorder=1)
        ax.text(
            0.5 * (rep.start_s + rep.end_s),
            ymax,
            str(rep.index),
            ha="center",
            va="top",
            fontsize=7,
            color="#343a40",
        )
        if rep.hold_end_s > rep.hold_start_s:
            inside = (frames.time_s >= rep.hold_start_s) & (frames.time_s <= rep.hold_end_s)
            inside &= np.isfinite(values)
            if np.any(inside):
                level = float(values[inside].mean())
                ax.hlines(
                    level, rep.hold_start_s, rep.hold_end_s, color="#e03131", lw=3.0, zorder=4
                )
        if rep.faults:
            peak = np.interp(rep.peak_s, frames.time_s, np.nan_to_num(values))
            ax.annotate(
                "\n".join(fault_labels.get(name, name) for name in rep.fault_names),
                xy=(rep.peak_s, float(peak)),
                xytext=(0, 14),
                textcoords="offset points",
                ha="center",
                fontsize=7,
                color="#c92a2a",
                arrowprops={"arrowstyle": "-", "color": "#c92a2a", "lw": 0.6},
                zorder=5,
            )


def _draw_discarded_and_truth(ax: Any, result: ExerciseResult, recording: Recording | None) -> None:
    """Discarded stretches hatched with the reason; a simulation's true reps as a bar."""
    for gone in result.discarded:
        ax.axvspan(
            gone.start_s,
            gone.end_s,
            facecolor="none",
            edgecolor="#868e96",
            hatch="///",
            lw=0.0,
            zorder=2,
        )
        ax.text(
            0.5 * (gone.start_s + gone.end_s),
            ax.get_ylim()[0],
            gone.reason,
            ha="center",
            va="bottom",
            rotation=90,
            fontsize=6,
            color="#868e96",
        )
    if recording is not None and recording.truth is not None:
        for event in recording.truth.events:
            if event.kind == "rep" and event.label == result.technique:
                ax.axvspan(
                    event.start_s,
                    event.end_s,
                    ymin=0.0,
                    ymax=0.015,
                    color="#2b8a3e",
                    lw=0,
                    zorder=2,
                )


def _label(signal: str) -> str:
    return _SIGNAL_LABELS.get(signal, signal)


def _legend(ax: Any, with_truth: bool) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [
        *ax.get_lines()[:1],
        Patch(color=_SET_COLORS[0], alpha=0.3, label="rep (colour = set)"),
        Line2D([], [], color="#e03131", lw=3.0, label="hold"),
        Patch(facecolor="none", edgecolor="#868e96", hatch="///", label="discarded movement"),
    ]
    if with_truth:
        handles.append(Patch(color="#2b8a3e", label="true reps (simulation)"))
    return handles
