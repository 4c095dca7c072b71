"""``spinecoach analyze`` (the clinical angles of a recording, or with --exercise the reps
of a technique) and ``spinecoach formats`` (what it reads).

``analyze`` exits 0 when angles (and with --exercise, at least one rep) were found, 2 on
bad input or options, 3 when no angle could be computed (:data:`EXIT_NO_ANGLES`) and 4
when angles but no rep were found (:data:`EXIT_NO_REPS`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from spinecoach.cli.common import (
    EXIT_NO_ANGLES,
    EXIT_NO_REPS,
    check_exercise,
    err_console,
    fail,
    out_console,
    reporting_errors,
    steps,
)
from spinecoach.cli.recordings import (
    CalibrationChoice,
    CalibrationFileOption,
    CalibrationOption,
    FormatOption,
    MappingOption,
    NeutralOption,
    PlacementOption,
    RateOption,
    calibration_choice,
    calibration_line,
    cleaning_line,
    exercise_frames,
    has_angles,
    load_paths,
)
from spinecoach.cli.root import app
from spinecoach.conventions import ANGLE_COLUMNS, finite_or_none

ExerciseOption = Annotated[
    str | None,
    typer.Option(
        "--exercise",
        metavar="TECHNIQUE",
        help="Count the reps of TECHNIQUE (e.g. hip-hinge) with the exercise engine: reps, "
        "holds, quality and faults.",
    ),
]


def _upper_not_calibrated(recording: Any, motion_info: dict[str, Any]) -> str | None:
    """A note when the upper sensor is in the file but got no calibration (and why)."""
    calibration = motion_info.get("calibration") or {}
    if "upper" not in recording.sensors or "upper" in (calibration.get("segments") or {}):
        return None
    why = calibration.get("upper_error") or calibration.get("reason") or "no calibration"
    return (
        "note: the upper sensor is in the file but was not calibrated, so no trunk angle "
        f"and no rep: {why}"
    )


def _one_decimal(value: float) -> str:
    import numpy as np

    return f"{value:.1f}" if np.isfinite(value) else "—"


def _exercise_summary(result: Any) -> str:
    """One line: reps, sets, mean hold(s), and the movements not counted with why."""
    import numpy as np

    n_sets = len(result.sets)
    text = f"{len(result.reps)} reps in {n_sets} set{'s' if n_sets != 1 else ''}"
    holds = [r.hold_s for r in result.reps if np.isfinite(r.hold_s)]
    if holds and max(holds) > 0:  # breath cycles have no hold
        text += f", mean hold {float(np.mean(holds)):.1f} s"
    extension = [r.extension_hold_s for r in result.reps if np.isfinite(r.extension_hold_s)]
    if extension:
        text += f", mean extension hold {float(np.mean(extension)):.1f} s"
    reasons: dict[str, int] = {}
    for gone in result.discarded:
        reasons[gone.reason] = reasons.get(gone.reason, 0) + 1
    if reasons:
        n = len(result.discarded)
        why = ", ".join(f"{reason} ×{count}" for reason, count in reasons.items())
        text += f"; {n} movement{'s' if n != 1 else ''} not counted ({why})"
    else:
        text += "; no movement discarded"
    if "position_note" in result.info:
        text += f"\nnote: {result.info['position_note']}"
    if "breath_source" in result.info:
        lags = [r.measures.get("lag_s", float("nan")) for r in result.reps]
        finite = [lag for lag in lags if np.isfinite(lag)]
        if finite:
            text += (
                f"\nthe spine followed the breath {float(np.median(finite)):.2f} s late (median)"
            )
        text += f"\nbreath reference: {result.info['breath_source']}"
    if result.cues:
        text += f"\n{len(result.cues)} coaching cues (see --json)"
    return text


def _summary(frames: Any, info: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    angles: dict[str, Any] = {}
    for name in ANGLE_COLUMNS:
        values = frames.angles[name]
        ok = values[np.isfinite(values)]
        if ok.size == 0:
            angles[name] = None
            continue
        angles[name] = {
            "min": round(float(ok.min()), 2),
            "max": round(float(ok.max()), 2),
            "mean": round(float(ok.mean()), 2),
            "p5": round(float(np.percentile(ok, 5)), 2),
            "p95": round(float(np.percentile(ok, 95)), 2),
        }
    return dict(
        finite_or_none(
            {
                "frames": len(frames),
                "rate_hz": frames.rate_hz,
                "duration_s": round(float(frames.time_s[-1] - frames.time_s[0]), 3)
                if len(frames)
                else 0,
                "angles_deg": angles,
                "calibration": info["calibration"],
                "unavailable": info["unavailable"],
                "flag_counts": info["flag_counts"],
                "position": info["position"],
                "sensors": info.get("sensors", {}),
            }
        )
    )


def _save_calibration(info: dict[str, Any], path: Path) -> None:
    """Write the flexion axes for --calibration-file (atomically: never a half file)."""
    from spinecoach.motion.autocal import StoredCalibration

    segments = info["calibration"].get("segments") or {}
    if not segments:
        fail(
            f"--save-calibration {path}: nothing to save, no sensor was calibrated "
            f"({info['calibration'].get('reason', 'no calibration')})"
        )
    payload = StoredCalibration.from_segments(segments).to_json()
    payload["saved_from"] = {
        "method": info["calibration"].get("method"),
        "confidence": info["calibration"].get("confidence"),
    }
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        fail(f"--save-calibration {path}: cannot write it ({error.strerror})")


@app.command(
    epilog="Exit status: 0 angles (and with --exercise, at least one rep) found; 2 bad "
    "input or options (the message names the fix); 3 the file was read but no angle could "
    "be computed (the calibration reason says why); 4 with --exercise, angles but no rep."
)
def analyze(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Recording file, or two files with one sensor each (lower then upper; "
            "or --placement upper,lower)."
        ),
    ],
    fmt: FormatOption = "auto",
    rate: RateOption = None,
    mapping: MappingOption = None,
    placement: PlacementOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Write a PNG of the angle traces (with --exercise: the reps over the "
            "technique's main signal)."
        ),
    ] = None,
    exercise: ExerciseOption = None,
    calibration: CalibrationOption = "auto",
    neutral: NeutralOption = None,
    calibration_file: CalibrationFileOption = None,
    save_calibration: Annotated[
        Path | None,
        typer.Option(
            "--save-calibration",
            help="Write the sensors' flexion axes (JSON) to reuse with --calibration-file.",
        ),
    ] = None,
) -> None:
    """Estimate the clinical angles of a recording and summarise them; with --exercise,
    list the reps of that technique (range, hold, move and return times, quality, faults).

    No calibration protocol is needed: the neutral posture and each sensor's flexion axis
    come from the movement itself, and the output says which method was used, its windows
    and how sure it is (--json: "calibration": {"method", "confidence", "windows",
    "reason"}).

    Example: spinecoach analyze pt.screc --plot pt.png

    Example: spinecoach analyze hh.screc --exercise hip-hinge --plot hh.png

    Example: spinecoach analyze lower.csv upper.csv --rate 50 --exercise flexion-extension
    """
    choice = calibration_choice(calibration, neutral, calibration_file)
    files = (paths, fmt, rate, mapping, placement)
    if exercise is not None:
        technique = check_exercise(exercise)
        _analyze_exercise(*files, technique, as_json, plot, choice, save_calibration)
    else:
        _analyze_angles(*files, as_json, plot, choice, save_calibration)


def _analyze_angles(
    paths: list[Path],
    fmt: str,
    rate: float | None,
    mapping: str | None,
    placement: str | None,
    as_json: bool,
    plot: Path | None,
    choice: CalibrationChoice,
    save_calibration: Path | None,
) -> None:
    """``analyze`` without --exercise: the angles' summary as JSON or a table."""
    from spinecoach.motion import motion_process
    from spinecoach.motion.plot import plot_angles

    name = " + ".join(p.name for p in paths)

    with reporting_errors(), steps(3 if plot else 2, quiet=as_json) as step:
        step("reading")
        recording = load_paths(paths, fmt, rate, mapping, placement)
        step("estimating angles")
        frames, info = motion_process(recording, choice.settings(None))
        if plot and has_angles(frames):
            step("plotting")
            plot_angles(frames, info, plot, recording=recording, title=f"spinecoach — {name}")
    if save_calibration is not None:
        _save_calibration(info, save_calibration)
    summary = _summary(frames, info)
    from spinecoach.io import cleaning_report

    summary["cleaning"] = cleaning_report(recording)
    if plot and has_angles(frames):
        summary["plot"] = str(plot)
    angles_found = has_angles(frames)
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        if not angles_found:
            raise typer.Exit(code=EXIT_NO_ANGLES)
        return
    _print_angles(name, summary, frames, info, recording)
    if plot and angles_found:
        out_console.print(f"plot: {plot}")
    if save_calibration is not None:
        out_console.print(f"calibration saved: {save_calibration}")
    if not angles_found:
        err_console.print(
            f"[bold red]no angles:[/] {info['calibration'].get('reason', 'not calibrated')}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=EXIT_NO_ANGLES)


def _print_angles(
    name: str, summary: dict[str, Any], frames: Any, info: dict[str, Any], recording: Any
) -> None:
    """The angles' table, what is unavailable and why, calibration, cleaning and flags."""
    table = Table(title=f"{name}: {summary['frames']} frames at {frames.rate_hz:g} Hz")
    for column in ("angle", "min", "p5", "mean", "p95", "max"):
        table.add_column(column, justify="right" if column != "angle" else "left")
    missing: dict[str, str] = {}
    for angle, stats in summary["angles_deg"].items():
        if stats is None:
            missing[angle] = info["unavailable"].get(angle) or info["calibration"].get(
                "reason", "no calibrated frames"
            )
            table.add_row(f"[dim]{angle}[/]", "[dim]—[/]", "", "", "", "")
        else:
            table.add_row(angle, *(f"{stats[k]:.1f}" for k in ("min", "p5", "mean", "p95", "max")))
    out_console.print(table)
    for reason in sorted(set(missing.values())):
        names = ", ".join(n for n, r in missing.items() if r == reason)
        out_console.print(f"[dim]unavailable[/] {names}: {reason}", highlight=False)
    out_console.print(calibration_line(info["calibration"]), highlight=False, soft_wrap=True)
    for key, error in info["calibration"].items():
        if key.endswith("_error"):
            out_console.print(f"[yellow]{error}[/]")
    cleaning = cleaning_line(recording)
    if cleaning:
        out_console.print(cleaning, highlight=False)
    flagged = {k: v for k, v in info["flag_counts"].items() if v}
    if flagged:
        out_console.print(
            "quality flags (frames): " + ", ".join(f"{k}: {v}" for k, v in flagged.items())
        )


def _analyze_exercise(
    paths: list[Path],
    fmt: str,
    rate: float | None,
    mapping: str | None,
    placement: str | None,
    technique: str,
    as_json: bool,
    plot: Path | None,
    choice: CalibrationChoice,
    save_calibration: Path | None,
) -> None:
    from spinecoach.exercises.plot import plot_exercise
    from spinecoach.io import cleaning_report

    name = " + ".join(p.name for p in paths)
    with reporting_errors(), steps(4 if plot else 3, quiet=as_json) as step:
        step("reading")
        recording = load_paths(paths, fmt, rate, mapping, placement)
        step("estimating angles")
        frames, motion_info = exercise_frames(recording, technique, choice)
        angles_found = has_angles(frames)
        result = None
        if angles_found:
            from spinecoach.exercises import detect_exercise

            step(f"finding {technique} reps")
            result = detect_exercise(
                frames,
                technique,
                annotations=recording.events,
                calibrated_position=motion_info["position"],
            )
            if plot:
                step("plotting")
                plot_exercise(
                    frames, result, plot, recording=recording, title=f"spinecoach — {name}"
                )
    if save_calibration is not None:
        _save_calibration(motion_info, save_calibration)
    calibration = dict(finite_or_none(motion_info["calibration"]))
    if result is None:
        _no_angles(technique, calibration, motion_info, recording, as_json)
    payload = result.as_dict()
    payload["calibration"] = calibration
    payload["cleaning"] = cleaning_report(recording)
    if plot:
        payload["plot"] = str(plot)
    if as_json:
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        if not result.reps:
            raise typer.Exit(code=EXIT_NO_REPS)
        return
    _print_reps(f"{name}: {technique}", result, recording, motion_info)
    out_console.print(calibration_line(motion_info["calibration"]), highlight=False, soft_wrap=True)
    cleaning = cleaning_line(recording)
    if cleaning:
        out_console.print(cleaning, highlight=False)
    if plot:
        out_console.print(f"plot: {plot}")
    if save_calibration is not None:
        out_console.print(f"calibration saved: {save_calibration}")
    if not result.reps:
        raise typer.Exit(code=EXIT_NO_REPS)


def _no_angles(
    technique: str,
    calibration: dict[str, Any],
    motion_info: dict[str, Any],
    recording: Any,
    as_json: bool,
) -> NoReturn:
    """``analyze --exercise`` when no angle could be computed: say why, exit 3."""
    from spinecoach.io import cleaning_report

    reason = motion_info["calibration"].get("reason", "not calibrated")
    if as_json:
        payload = {
            "technique": technique,
            "reps": [],
            "calibration": calibration,
            "unavailable": motion_info["unavailable"],
            "cleaning": cleaning_report(recording),
            "error": f"no angles: {reason}",
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        out_console.print(
            calibration_line(motion_info["calibration"]), highlight=False, soft_wrap=True
        )
        err_console.print(
            f"[bold red]no angles, so no reps:[/] {reason}", highlight=False, soft_wrap=True
        )
    raise typer.Exit(code=EXIT_NO_ANGLES)


def _print_reps(title: str, result: Any, recording: Any, motion_info: dict[str, Any]) -> None:
    """The reps' table and the summary line under it."""
    table = Table(title=title)
    columns = ("rep", "set", "at s", "range°", "hold s", "move s", "ret s", "qual")
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("faults", overflow="fold")
    for rep in result.reps:
        table.add_row(
            str(rep.index),
            str(rep.set_index),
            f"{rep.start_s:.1f}",
            _one_decimal(rep.range_deg),
            _one_decimal(rep.hold_s),
            _one_decimal(rep.move_s),
            _one_decimal(rep.return_s),
            str(rep.quality),
            ", ".join(rep.fault_names) or "[dim]—[/]",
        )
    out_console.print(table)
    summary_text = _exercise_summary(result)
    upper_note = _upper_not_calibrated(recording, motion_info)
    if upper_note and "never calibrated" in summary_text:
        # Say what happened, not "missing": the sensor is in the file.
        summary_text = "\n".join(
            upper_note if "never calibrated" in line else line for line in summary_text.splitlines()
        )
    out_console.print(summary_text, highlight=False)


@app.command()
def formats() -> None:
    """List the readable recording formats and their options.

    Example: spinecoach formats
    """
    from spinecoach.io import describe_formats

    table = Table(title="Readable formats (--format NAME; auto recognises a file by its content)")
    table.add_column("name")
    table.add_column("what it reads")
    table.add_column("options")
    for f in describe_formats():
        table.add_row(f.name, f.summary, "\n".join(f.options))
    from spinecoach.io.formats import describe_reference_formats

    for f in describe_reference_formats():
        table.add_row(f.name, f.summary, "\n".join(f.options))
    out_console.print(table)
    out_console.print(
        "--out always writes spinecoach's own format (HDF5, see docs/recording-format.md)."
    )
