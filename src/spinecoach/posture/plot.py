"""The day plot: a posture timeline, the lumbar flexion trace and the sitting bouts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from spinecoach.posture.batch import PostureResult
from spinecoach.posture.model import POSTURE_CLASSES

FloatArray = NDArray[np.float64]

COLOURS: Final[dict[str, str]] = {
    "lying": "#6a51a3",
    "sitting-upright": "#2c7fb8",
    "sitting-slouched": "#e6550d",
    "standing": "#31a354",
    "walking": "#a1d99b",
    "transition": "#bdbdbd",
    "upright": "#74c476",
    "unknown": "#ffffff",
    "bending": "#8c510a",
}


def plot_posture(
    result: PostureResult, path: str | os.PathLike[str], *, title: str = "spinecoach — posture"
) -> Path:
    """Write the day plot (PNG) to ``path`` and return it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tl = result.timeline
    hours = tl.start_s / 3600.0
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(14, 6), sharex=True, gridspec_kw={"height_ratios": [1, 2.2]}
    )
    _draw_timeline(top, result, hours)
    top.set_title(title, pad=40)
    _draw_angles(bottom, result, hours)
    fig.tight_layout()
    target = Path(path)
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target


def _draw_timeline(top: Any, result: PostureResult, hours: FloatArray) -> None:
    """The posture of each second as coloured runs, the sitting bouts and desk breaks."""
    from matplotlib.patches import Patch

    tl = result.timeline
    codes = tl.code
    if len(tl):
        edges = np.flatnonzero(np.diff(codes)) + 1
        starts = np.concatenate([[0], edges])
        ends = np.concatenate([edges, [len(tl)]])
        for name_index, name in enumerate(POSTURE_CLASSES):
            runs = [
                (float(hours[a]), float(b - a) / 3600.0)
                for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
                if codes[a] == name_index
            ]
            if runs:
                top.broken_barh(runs, (0, 1), facecolors=COLOURS[name], linewidth=0)
    for bout in result.bouts:
        top.hlines(1.15, bout.start_s / 3600, bout.end_s / 3600, colors="black", linewidth=3)
    for desk in result.desk_breaks:
        top.plot([(desk.start_s + desk.end_s) / 7200], [1.35], "v", color="#d62728")
    top.set_ylim(0, 1.5)
    top.set_yticks([])
    present = sorted(set(codes.tolist()))
    handles = [Patch(color=COLOURS[POSTURE_CLASSES[i]], label=POSTURE_CLASSES[i]) for i in present]
    handles.append(Patch(color="black", label="sitting bout"))
    if result.desk_breaks:
        handles.append(Patch(color="#d62728", label="desk break"))
    top.legend(
        handles=handles,
        loc="upper center",
        ncol=len(handles),
        fontsize=7,
        bbox_to_anchor=(0.5, 1.32),
        frameon=False,
    )


def _draw_angles(bottom: Any, result: PostureResult, hours: FloatArray) -> None:
    """Lumbar flexion (else the pelvis inclination) with the slouch threshold and trust,
    over the sitting bouts."""
    tl = result.timeline
    for bout in result.bouts:
        bottom.axvspan(bout.start_s / 3600, bout.end_s / 3600, color="#2c7fb8", alpha=0.07)
    bottom.plot(
        hours, tl.lumbar_flexion_deg, linewidth=0.4, color="#444444", label="lumbar flexion (deg)"
    )
    bottom.axhline(
        result.slouch_threshold_deg,
        color="#e6550d",
        linestyle="--",
        linewidth=0.8,
        label=f"slouch threshold {result.slouch_threshold_deg:.1f}°",
    )
    if np.all(np.isnan(tl.lumbar_flexion_deg)):
        bottom.plot(
            hours,
            tl.pelvis_inclination_deg,
            linewidth=0.4,
            color="#444444",
            label="pelvis inclination (deg)",
        )
    bottom.set_ylabel("degrees")
    bottom.set_xlabel("hours since the start")
    bottom.legend(loc="upper right", fontsize=7)
    if not result.trust.trusted:
        bottom.text(
            0.01,
            0.02,
            "NOT TRUSTED: " + "; ".join(result.trust.messages)[:160],
            transform=bottom.transAxes,
            color="#d62728",
            fontsize=7,
        )
