"""``spinecoach simulate``, ``simulate-day`` and ``demo``: simulated recordings with
their ground truth, written in spinecoach's own format (the demo also analyses, validates
and plots one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from spinecoach.cli.common import check_technique, fail, out_console, reporting_errors, steps
from spinecoach.cli.root import app
from spinecoach.conventions import TECHNIQUES


@app.command()
def simulate(
    technique: Annotated[str, typer.Argument(help="One of: " + ", ".join(TECHNIQUES))],
    out: Annotated[Path, typer.Option("--out", help="Recording file to write (our format).")],
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same file.")] = 0,
    reps: Annotated[int | None, typer.Option(help="Reps (or breath cycles) per set.")] = None,
    rate: Annotated[float, typer.Option("--rate", help="Sensor rate in Hz.")] = 100.0,
    profile: Annotated[
        str, typer.Option(help="Performer: typical, stiff, hypermobile, novice, expert.")
    ] = "typical",
) -> None:
    """Simulate a session of TECHNIQUE with two IMUs and write it with its ground truth.

    Example: spinecoach simulate pelvic-tilt --seed 3 --reps 10 --out pt.screc
    """
    from spinecoach.io import write_recording
    from spinecoach.sim import simulate as run_simulation

    check_technique(technique)
    with reporting_errors(), steps(2, quiet=False) as step:
        step("simulating")
        recording = run_simulation(technique, seed=seed, reps=reps, rate_hz=rate, profile=profile)
        step("writing")
        path = write_recording(recording, out)
    reps_true = sum(
        1 for e in (recording.truth.events if recording.truth else ()) if e.kind == "rep"
    )
    out_console.print(
        f"wrote {path} — {technique}, {recording.duration_s:.1f} s, "
        f"{len(recording.sensors)} sensors at {rate:g} Hz, {reps_true} reps (seed {seed})"
    )


@app.command("simulate-day")
def simulate_day(
    out: Annotated[Path, typer.Option("--out", help="Recording file to write (our format).")],
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same file.")] = 0,
    hours: Annotated[float, typer.Option(help="Length of the day in hours (1–24).")] = 16.0,
    rate: Annotated[float, typer.Option("--rate", help="Sensor rate in Hz.")] = 100.0,
) -> None:
    """Simulate a working day of all-day wear (two IMUs) and write it with its ground truth.

    Example: spinecoach simulate-day --seed 3 --hours 16 --rate 50 --out day.screc
    """
    from spinecoach.io import write_recording
    from spinecoach.sim.day import day_truth_summary
    from spinecoach.sim.day import simulate_day as run_day

    with reporting_errors(), steps(2, quiet=False) as step:
        step("simulating")
        recording = run_day(seed, hours=hours, rate_hz=rate)
        step("writing")
        path = write_recording(recording, out)
        summary = day_truth_summary(recording)
    out_console.print(
        f"wrote {path} — working day, {summary['duration_s'] / 3600:.2f} h, "
        f"{len(recording.sensors)} sensors at {rate:g} Hz (seed {seed})",
        highlight=False,
        soft_wrap=True,
    )
    postures = ", ".join(
        f"{name} {seconds / 3600:.2f} h" for name, seconds in sorted(summary["posture_s"].items())
    )
    out_console.print(f"time per posture: {postures}", highlight=False, soft_wrap=True)
    out_console.print(
        f"sitting bouts: {summary['sitting_bouts']}, longest "
        f"{summary['longest_bout_s'] / 60:.0f} min; slouched "
        f"{100 * summary['slouched_share']:.0f} % of sitting; desk breaks: "
        f"{summary['desk_breaks']}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo files.")] = Path(
        "demo-output"
    ),
    technique: Annotated[str, typer.Option(help="Technique to simulate.")] = "pelvic-tilt",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Simulate a session, analyse it, validate it against its truth and plot it.

    Example: spinecoach demo --out demo-output
    """
    import numpy as np

    from spinecoach.io import write_recording
    from spinecoach.motion import motion_process
    from spinecoach.motion.agreement import compare_angles
    from spinecoach.motion.plot import plot_angles
    from spinecoach.sim import simulate as run_simulation

    check_technique(technique)
    out.mkdir(parents=True, exist_ok=True)
    with reporting_errors(), steps(4, quiet=False) as step:
        step(f"simulating a {technique} session (seed {seed})")
        recording = run_simulation(technique, seed=seed)
        step("writing the recording")
        rec_path = write_recording(recording, out / f"{technique}-seed{seed}.screc")
        step("estimating clinical angles")
        frames, info = motion_process(recording)
        step("plotting")
        png = plot_angles(
            frames,
            info,
            out / f"{technique}-seed{seed}.png",
            recording=recording,
            title=f"spinecoach demo — simulated {technique}, seed {seed}",
        )
    if recording.truth is None:  # the simulator always embeds it; never expected
        fail("the simulated recording has no ground truth")
        return
    result = compare_angles(frames, recording.truth.time_s, dict(recording.truth.series))
    table = Table(title=f"Estimated vs true angles — {technique} (degrees)")
    for column in ("angle", "RMSE", "bias", "5th–95th percentile"):
        table.add_column(column, justify="left" if column == "angle" else "right")
    for name in ("lumbar_flexion_deg", "pelvic_tilt_deg", "trunk_inclination_deg"):
        if name in result:
            values = frames.angles[name]
            low, high = np.nanpercentile(values, [5, 95])
            seen = f"{low:.1f} … {high:.1f}"
            table.add_row(name, f"{result[name].rmse:.2f}", f"{result[name].bias:+.2f}", seen)
    out_console.print(table)
    out_console.print(f"recording: {rec_path}")
    out_console.print(f"plot:      {png}")
    out_console.print(
        "Open the plot: estimated angles as thin lines over the true ones (wide, pale)."
    )
