"""Plots of angle traces (PNG), with the calibration windows and events marked.

Matplotlib is imported inside the function with the non-interactive Agg backend, so
importing spinecoach never opens a window or loads a GUI toolkit. The file is written to a
temporary name and renamed, so a failed plot never leaves a half-written PNG.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import numpy as np

from spinecoach.conventions import (
    LUMBAR_FLEXION,
    PELVIC_TILT_DEG,
    TRUNK_INCLINATION,
)
from spinecoach.motion.process import AngleFrames
from spinecoach.recording import Recording

_TRACES = (
    (LUMBAR_FLEXION, "lumbar flexion", "#1f6fb4"),
    (PELVIC_TILT_DEG, "pelvic tilt", "#d9480f"),
    (TRUNK_INCLINATION, "trunk inclination", "#2b8a3e"),
)


def save_png(fig: Any, out: Path) -> Path:
    """Write a Matplotlib figure as a PNG atomically (temporary file, then rename) and
    close it; a failure leaves no half-written file."""
    import matplotlib.pyplot as plt

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # A hidden name beside the target (not mkstemp, whose 0600 mode would stay on the
    # renamed file): the PNG gets the usual permissions of the user's umask.
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(6)}.tmp")
    try:
        fig.savefig(tmp, dpi=110, format="png")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
    return out


def _robust_limits(ax: Any, series: list[Any]) -> None:
    """Y limits from the 3rd–97th percentiles, so getting up off the mat (a 90° change
    relative to a supine neutral) does not flatten the exercise itself; clipped data are
    said so on the axis."""
    values = np.concatenate([v[np.isfinite(v)] for v in series]) if series else np.array([])
    if values.size < 10:
        return
    lo, hi = np.percentile(values, [3.0, 97.0])
    pad = max(3.0, 0.25 * (hi - lo))
    ax.set_ylim(lo - pad, hi + pad)
    if values.min() < lo - pad or values.max() > hi + pad:
        ax.text(
            0.005,
            0.02,
            "y axis clipped to the exercise range",
            transform=ax.transAxes,
            fontsize=7,
            color="#868e96",
        )


def plot_angles(
    frames: AngleFrames,
    info: dict[str, Any],
    out: Path,
    *,
    recording: Recording | None = None,
    title: str = "",
) -> Path:
    """Write a PNG of the angle traces; returns the path written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(12, 6.5), sharex=True, height_ratios=[3, 1.2])
    ax, ax_trunk = axes
    for name, label, color in _TRACES[:2]:
        values = frames.angles[name]
        if np.all(np.isnan(values)):
            continue
        ax.plot(frames.time_s, values, color=color, lw=1.2, label=f"{label} (estimated)", zorder=2)
        if recording is not None and recording.truth is not None:
            truth = recording.truth.series.get(name)
            if truth is not None:
                # Truth only where there is an estimate to compare it with.
                shown = np.interp(frames.time_s, recording.truth.time_s, truth)
                shown[np.isnan(values)] = np.nan
                ax.plot(
                    frames.time_s,
                    shown,
                    color=color,
                    lw=4.0,
                    alpha=0.25,
                    zorder=1,
                    label=f"{label} (truth)",
                )
    trunk = frames.angles[TRUNK_INCLINATION]
    if not np.all(np.isnan(trunk)):
        ax_trunk.plot(frames.time_s, trunk, color=_TRACES[2][2], lw=1.2, label="trunk inclination")
    calibration = info.get("calibration", {})
    for ax_ in axes:
        for key, color, text in (
            ("neutral_s", "#868e96", "neutral"),
            ("functional_s", "#fab005", "functional"),
        ):
            window = calibration.get(key)
            if window:
                ax_.axvspan(window[0], window[1], color=color, alpha=0.18, lw=0)
                if ax_ is ax:
                    ax_.text(
                        window[0],
                        1.01,
                        f"calibration: {text}",
                        transform=ax_.get_xaxis_transform(),
                        fontsize=8,
                        color="#495057",
                    )
        ax_.axhline(0.0, color="#adb5bd", lw=0.6)
        ax_.grid(alpha=0.25)
    _robust_limits(ax, [frames.angles[name] for name, _, _ in _TRACES[:2]])
    ax.set_ylabel("angle (deg)\nflexion / anterior tilt +")
    ax_trunk.set_ylabel("inclination (deg)")
    ax_trunk.set_xlabel("time (s)")
    if ax.lines:
        ax.legend(loc="upper right", fontsize=8, ncol=2)
    ax.set_title(title or "spinecoach — clinical angles")
    fig.tight_layout()
    return save_png(fig, out)
