"""The ``spinecoach`` command line (Typer + Rich).

Technique names are the same everywhere: pelvic-tilt, cat-cow, cat-cow-seated, hip-hinge,
flexion-extension. Errors print one clear line to stderr and exit with status 2; they
never leave a half-written file behind.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from spinecoach import __version__
from spinecoach.conventions import ANGLE_COLUMNS, TECHNIQUES, finite_or_none
from spinecoach.errors import SpinecoachError

app = typer.Typer(
    name="spinecoach",
    help=(
        "Sensor-guided lower-back mobility coaching: simulate, read and analyse IMU "
        "recordings into clinical spine angles.\n\n"
        "spinecoach is a coaching tool, not a medical device."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: ``--database URL``, the same for every command that reads or writes the history.
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        metavar="URL",
        help="SQLAlchemy database URL of the history, or SPINECOACH_DATABASE_URL.",
    ),
]
out_console = Console()
err_console = Console(stderr=True)


def _fail(message: str) -> None:
    """Print ``message`` as written (never read as markup: `spinecoach[camera]` stays) and
    exit with code 2."""
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except SpinecoachError as error:
        _fail(str(error))


@contextmanager
def _steps(total: int, quiet: bool) -> Iterator[Callable[[str], None]]:
    """A progress bar (on stderr) over the named steps of a command."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=quiet,
    )
    with progress:
        task = progress.add_task("starting", total=total)

        def step(description: str) -> None:
            progress.update(task, description=description)
            progress.advance(task)

        yield step


def _check_technique(technique: str) -> str:
    if technique not in TECHNIQUES:
        _fail(f"unknown technique {technique!r}; use one of: {', '.join(TECHNIQUES)}")
    return technique


def _check_exercise(technique: str) -> str:
    """A technique name the exercise engine covers, else exit 2 naming the ones it does."""
    from spinecoach.exercises.engine import SUPPORTED

    if technique not in SUPPORTED:
        covered = ", ".join(SUPPORTED)
        _fail(f"unknown technique {technique!r}; --exercise takes one of: {covered}")
    return technique


#: Exit status when the recording was read but no clinical angle could be computed (the
#: calibration reason says why).
EXIT_NO_ANGLES = 3
#: Exit status of ``analyze --exercise`` when angles were computed but no rep was found.
EXIT_NO_REPS = 4


@dataclass(frozen=True)
class CalibrationChoice:
    """The calibration options of analyze and validate, checked."""

    method: str = "auto"
    neutral_s: tuple[float, float] | None = None
    stored: Any = None

    def settings(self, position: str | None, technique: str | None = None) -> Any:
        from spinecoach.motion import MotionSettings
        from spinecoach.motion.autocal import movement_prior

        prior = movement_prior(position or "standing", technique) if technique else None
        return MotionSettings(
            position=position,
            calibration=self.method,
            neutral_s=self.neutral_s,
            movement=prior,
            stored=self.stored,
        )


def _calibration_choice(
    method: str, neutral: str | None, calibration_file: Path | None
) -> CalibrationChoice:
    """Check --calibration, --neutral START:END and --calibration-file (exit 2 if wrong)."""
    from spinecoach.motion.autocal import CALIBRATION_METHODS, StoredCalibration

    method = method.strip().lower()
    if method not in CALIBRATION_METHODS:
        _fail(
            f"--calibration {method!r} is not a method; use one of: "
            + ", ".join(CALIBRATION_METHODS)
        )
    window: tuple[float, float] | None = None
    if neutral is not None:
        parts = neutral.split(":")
        try:
            if len(parts) != 2:
                raise ValueError
            a, b = float(parts[0]), float(parts[1])
        except ValueError:
            _fail(
                f"--neutral {neutral!r}: give START:END in seconds from the recording's "
                "start, for example --neutral 0.2:1.0"
            )
        if not (np.isfinite(a) and np.isfinite(b) and 0.0 <= a < b):
            _fail(f"--neutral {neutral!r}: START must be at least 0 and before END")
        window = (a, b)
    stored = None
    if calibration_file is not None:
        try:
            payload = json.loads(calibration_file.read_text(encoding="utf-8"))
        except OSError as error:
            _fail(f"--calibration-file {calibration_file}: cannot read it ({error.strerror})")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            _fail(
                f"--calibration-file {calibration_file} is not JSON ({error}); write one with "
                "spinecoach analyze FILE --save-calibration PATH"
            )
        with _errors():
            if not isinstance(payload, dict):
                _fail(f"--calibration-file {calibration_file}: expected a JSON object")
            stored = StoredCalibration.from_json(payload)
    return CalibrationChoice(method, window, stored)


CalibrationOption = Annotated[
    str,
    typer.Option(
        "--calibration",
        help="auto (annotations, a stored calibration, else from the movement itself: no "
        "protocol needed), protocol (annotations or still + forward bend + still found in "
        "the data), neutral-only (the neutral window with the nominal mounting's axes), none.",
    ),
]
NeutralOption = Annotated[
    str | None,
    typer.Option(
        "--neutral",
        metavar="START:END",
        help="Seconds of a neutral posture (upright or in the start position) to zero the "
        "angles on, instead of finding one.",
    ),
]
CalibrationFileOption = Annotated[
    Path | None,
    typer.Option(
        "--calibration-file",
        help="Reuse the flexion axes saved with --save-calibration when the same sensors "
        "are worn again (the neutral is taken afresh).",
    ),
]


def _has_angles(frames: Any) -> bool:
    return any(bool(np.isfinite(frames.angles[name]).any()) for name in ANGLE_COLUMNS)


def _calibration_line(calibration: dict[str, Any]) -> str:
    """One line on the calibration: method, confidence, windows and why."""
    method = calibration.get("method") or "none"
    confidence = calibration.get("confidence")
    text = f"calibration: {method}"
    if isinstance(confidence, int | float):
        text += f" (confidence {confidence:.2f})"
    windows = calibration.get("windows") or {}
    neutral = windows.get("neutral_s")
    if neutral and all(np.isfinite(v) for v in neutral):
        text += f", neutral {neutral[0]:.2f}–{neutral[1]:.2f} s"
    reason = calibration.get("reason")
    if reason:
        text += f" — {reason}"
    return text


def _cleaning_line(recording: Any) -> str | None:
    """What the reader dropped from the files (duplicate rows, repeated time stamps)."""
    from spinecoach.io import cleaning_report

    report = cleaning_report(recording)
    parts = []
    for placement, counts in report.items():
        dup = int(counts.get("duplicate_rows", 0))
        rep = int(counts.get("repeated_timestamps", 0))
        if dup or rep:
            parts.append(
                f"{placement}: {dup} duplicate row{'s' if dup != 1 else ''} and {rep} "
                f"repeated time stamp{'s' if rep != 1 else ''} dropped "
                f"(of {counts.get('rows_read', '?')} rows)"
            )
    return "file cleaning: " + "; ".join(parts) if parts else None


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


def _exercise_frames(
    recording: Any, technique: str, choice: CalibrationChoice | None = None
) -> tuple[Any, dict[str, Any]]:
    """Angle frames calibrated in the recording's start position, or in the technique's
    when the file does not say (a CSV from another device)."""
    from spinecoach.exercises.catalogue import default_catalogue
    from spinecoach.motion import motion_process

    position = recording.meta.get("position") or default_catalogue().technique(technique).position
    settings = (choice or CalibrationChoice()).settings(position, technique)
    frames, info = motion_process(recording, settings)
    return frames, info


def _detect(
    recording: Any,
    technique: str,
    step: Callable[[str], None],
    choice: CalibrationChoice | None = None,
) -> tuple[Any, Any, dict[str, Any]]:
    """Angle frames, the exercise engine's result and the motion info (two CLI steps)."""
    from spinecoach.exercises import detect_exercise

    step("estimating angles")
    frames, motion_info = _exercise_frames(recording, technique, choice)
    step(f"finding {technique} reps")
    result = detect_exercise(
        frames,
        technique,
        annotations=recording.events,
        calibrated_position=motion_info["position"],
    )
    return frames, result, motion_info


def _one_decimal(value: float) -> str:
    return f"{value:.1f}" if np.isfinite(value) else "—"


def _exercise_summary(result: Any) -> str:
    """One line: reps, sets, mean hold(s), and the movements not counted with why."""
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

    _check_technique(technique)
    with _errors(), _steps(2, quiet=False) as step:
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

    with _errors(), _steps(2, quiet=False) as step:
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


FormatOption = Annotated[
    str, typer.Option("--format", help="auto (by content), or a name from `spinecoach formats`.")
]
RateOption = Annotated[
    float | None, typer.Option("--rate", help="Sample rate in Hz, for files with no time column.")
]
MappingOption = Annotated[
    str | None,
    typer.Option(
        "--mapping",
        help="CSV columns and units, e.g. 'time=t:ms,acc=ax,ay,az:g,gyr=gx,gy,gz:dps' "
        "(prefix lower./upper. for two sensors in one file); see `spinecoach formats`.",
    ),
]
PlacementOption = Annotated[
    str | None,
    typer.Option("--placement", help="lower|upper: where a one-sensor file's IMU was worn."),
]
ExerciseOption = Annotated[
    str | None,
    typer.Option(
        "--exercise",
        metavar="TECHNIQUE",
        help="Count the reps of TECHNIQUE (e.g. hip-hinge) with the exercise engine: reps, "
        "holds, quality and faults.",
    ),
]


def _load(
    path: Path, fmt: str, rate: float | None, mapping: str | None, placement: str | None
) -> Any:
    from spinecoach.io import load_recording

    return load_recording(path, format=fmt, rate_hz=rate, mapping=mapping, placement=placement)


def _load_paths(
    paths: list[Path], fmt: str, rate: float | None, mapping: str | None, placement: str | None
) -> Any:
    """One recording file, or one file per sensor (``--placement lower,upper`` says which
    is which; without it the first is the lower sensor and the second the upper one)."""
    if len(paths) == 1:
        return _load(paths[0], fmt, rate, mapping, placement)
    if len(paths) != 2:
        _fail(
            f"{len(paths)} files given; pass one recording, or two files with one sensor each "
            "(lower then upper, or say which with --placement lower,upper)"
        )
    from spinecoach.io import load_recordings

    names = [p.strip().lower() for p in (placement or "lower,upper").split(",")]
    if len(names) != 2 or sorted(names) != ["lower", "upper"]:
        _fail(
            f"--placement {placement!r} with two files: give both placements in the order of "
            "the files, for example --placement upper,lower"
        )
    return load_recordings(
        list(zip(paths, names, strict=True)), format=fmt, rate_hz=rate, mapping=mapping
    )


def _summary(frames: Any, info: dict[str, Any]) -> dict[str, Any]:
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
        _fail(
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
        _fail(f"--save-calibration {path}: cannot write it ({error.strerror})")


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
    choice = _calibration_choice(calibration, neutral, calibration_file)
    name = " + ".join(p.name for p in paths)
    if exercise is not None:
        _analyze_exercise(
            paths,
            fmt,
            rate,
            mapping,
            placement,
            _check_exercise(exercise),
            as_json,
            plot,
            choice,
            save_calibration,
        )
        return
    from spinecoach.motion import motion_process
    from spinecoach.plot import plot_angles

    with _errors(), _steps(3 if plot else 2, quiet=as_json) as step:
        step("reading")
        recording = _load_paths(paths, fmt, rate, mapping, placement)
        step("estimating angles")
        frames, info = motion_process(recording, choice.settings(None))
        if plot and _has_angles(frames):
            step("plotting")
            plot_angles(frames, info, plot, recording=recording, title=f"spinecoach — {name}")
    if save_calibration is not None:
        _save_calibration(info, save_calibration)
    summary = _summary(frames, info)
    from spinecoach.io import cleaning_report

    summary["cleaning"] = cleaning_report(recording)
    if plot and _has_angles(frames):
        summary["plot"] = str(plot)
    angles_found = _has_angles(frames)
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        if not angles_found:
            raise typer.Exit(code=EXIT_NO_ANGLES)
        return
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
    out_console.print(_calibration_line(info["calibration"]), highlight=False, soft_wrap=True)
    for key, error in info["calibration"].items():
        if key.endswith("_error"):
            out_console.print(f"[yellow]{error}[/]")
    cleaning = _cleaning_line(recording)
    if cleaning:
        out_console.print(cleaning, highlight=False)
    flagged = {k: v for k, v in info["flag_counts"].items() if v}
    if flagged:
        out_console.print(
            "quality flags (frames): " + ", ".join(f"{k}: {v}" for k, v in flagged.items())
        )
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
    with _errors(), _steps(4 if plot else 3, quiet=as_json) as step:
        step("reading")
        recording = _load_paths(paths, fmt, rate, mapping, placement)
        step("estimating angles")
        frames, motion_info = _exercise_frames(recording, technique, choice)
        angles_found = _has_angles(frames)
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
                _calibration_line(motion_info["calibration"]), highlight=False, soft_wrap=True
            )
            err_console.print(
                f"[bold red]no angles, so no reps:[/] {reason}", highlight=False, soft_wrap=True
            )
        raise typer.Exit(code=EXIT_NO_ANGLES)
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
    table = Table(title=f"{name}: {technique}")
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
    out_console.print(
        _calibration_line(motion_info["calibration"]), highlight=False, soft_wrap=True
    )
    cleaning = _cleaning_line(recording)
    if cleaning:
        out_console.print(cleaning, highlight=False)
    if plot:
        out_console.print(f"plot: {plot}")
    if save_calibration is not None:
        out_console.print(f"calibration saved: {save_calibration}")
    if not result.reps:
        raise typer.Exit(code=EXIT_NO_REPS)


def _validate_exercise(
    path: Path,
    fmt: str,
    rate: float | None,
    mapping: str | None,
    placement: str | None,
    technique: str,
    as_json: bool,
    choice: CalibrationChoice | None = None,
) -> None:
    from spinecoach.exercises.validation import validate_exercise

    with _errors(), _steps(3, quiet=as_json) as step:
        step("reading")
        recording = _load(path, fmt, rate, mapping, placement)
        if recording.truth is None:
            _fail(
                f"{path} has no ground truth; --exercise validation needs a simulated "
                f"recording (spinecoach simulate {technique} --out FILE)"
            )
        _frames, result, _motion = _detect(recording, technique, step, choice)
        report = validate_exercise(recording, result).as_dict()
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    holds = report["hold_error_s"]
    table = Table(title=f"{path.name}: {technique} reps vs ground truth")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row(
        "reps (true / detected)", f"{report['reps']['true']} / {report['reps']['detected']}"
    )
    table.add_row("reps matched", str(report["reps"]["matched"]))
    if holds["n"]:
        table.add_row("hold error median / max (s)", f"{holds['median']:.2f} / {holds['max']:.2f}")
    else:
        table.add_row("hold error (s)", "[dim]no holds compared[/]")
    table.add_row("holds compared", str(holds["n"]))
    table.add_row("reps during set-up", str(report["setup_false_reps"]))
    out_console.print(table)
    faults = Table(title="faults")
    for column in ("fault", "precision", "recall", "tp", "fp", "fn"):
        faults.add_column(column, justify="left" if column == "fault" else "right")
    for name, score in report["faults"].items():
        faults.add_row(
            name,
            "—" if score["precision"] is None else f"{score['precision']:.2f}",
            "—" if score["recall"] is None else f"{score['recall']:.2f}",
            str(score["tp"]),
            str(score["fp"]),
            str(score["fn"]),
        )
    out_console.print(faults)
    simulated = recording.meta.get("technique")
    if simulated and simulated != technique:
        out_console.print(
            f"[yellow]note:[/] {path.name} simulates {simulated}, not {technique}: every rep "
            "found is a false one"
        )


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="Recording file (simulated, or with --reference).")],
    reference: Annotated[
        Path | None, typer.Option(help="CSV of reference angles (time_s + angle columns).")
    ] = None,
    fmt: FormatOption = "auto",
    rate: RateOption = None,
    mapping: MappingOption = None,
    placement: PlacementOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    exercise: ExerciseOption = None,
    posture: Annotated[
        bool,
        typer.Option(
            "--posture",
            help="Compare the all-day posture analysis with a simulated day's truth: "
            "per-minute accuracy, sitting-bout errors, slouched-share error.",
        ),
    ] = False,
    reference_format: Annotated[
        str,
        typer.Option(
            "--reference-format",
            help="Format of --reference: csv (time_s + angle columns) or keraal-vicon "
            "(see `spinecoach formats`).",
        ),
    ] = "csv",
    calibration: CalibrationOption = "auto",
    neutral: NeutralOption = None,
    calibration_file: CalibrationFileOption = None,
) -> None:
    """Compare estimated angles with the embedded ground truth or a reference CSV: RMSE,
    bias and 95 % limits of agreement in degrees. With --exercise, compare the reps found
    with the simulator's true reps instead: counts, hold-time errors, fault precision and
    recall, reps counted during set-up. With --posture, compare the all-day posture
    analysis with a simulated day. With a landmark --format (keraal-blazepose), compare
    camera angles with --reference (for example --reference-format keraal-vicon): each
    side zeroed at its first second of quiet standing, the lag found by cross-correlation
    (within ±0.5 s), then RMSE, bias, limits of agreement, Pearson r and n per angle.

    Example: spinecoach validate pt.screc --json

    Example: spinecoach validate pt.screc --exercise pelvic-tilt --json

    Example: spinecoach validate day.screc --posture --json

    Example: spinecoach validate bp.json --format keraal-blazepose --reference vicon.txt
    --reference-format keraal-vicon --json
    """
    from spinecoach.io.formats import is_landmark_format

    choice = _calibration_choice(calibration, neutral, calibration_file)
    if is_landmark_format(fmt):
        if reference is None or posture or exercise is not None:
            _fail(
                f"--format {fmt} reads pose landmarks: pass --reference FILE (and "
                "--reference-format) and drop --posture/--exercise"
            )
        if reference is None:  # narrowed for the type checker; _fail above exits
            return
        _validate_camera(path, fmt, reference, reference_format, as_json)
        return
    if reference_format.strip().lower() != "csv":
        _fail(
            f"--reference-format {reference_format} compares camera landmarks; pass a landmark "
            "--format such as keraal-blazepose, or use a reference CSV"
        )
    if posture:
        if exercise is not None or reference is not None:
            _fail("--posture compares with the simulated day's truth; drop --exercise/--reference")
        _validate_posture(path, fmt, rate, mapping, placement, as_json)
        return
    if exercise is not None:
        if reference is not None:
            _fail(
                "--reference compares angles and --exercise compares reps with the "
                "simulator's ground truth; use one or the other"
            )
        _validate_exercise(
            path, fmt, rate, mapping, placement, _check_exercise(exercise), as_json, choice
        )
        return
    from spinecoach.motion import motion_process
    from spinecoach.validate import compare_angles, load_reference_csv

    with _errors(), _steps(3, quiet=as_json) as step:
        step("reading")
        recording = _load(path, fmt, rate, mapping, placement)
        if reference is not None:
            ref_time, ref_angles = load_reference_csv(reference)
            source = str(reference)
        elif recording.truth is not None:
            ref_time, ref_angles = recording.truth.time_s, dict(recording.truth.series)
            source = "embedded ground truth"
        else:
            _fail(
                f"{path} has no ground truth; pass --reference REF.csv with time_s and "
                "angle columns (for example from optical motion capture)"
            )
        step("estimating angles")
        frames, info = motion_process(recording, choice.settings(None))
        step("comparing")
        result = compare_angles(frames, ref_time, ref_angles)
    payload = {
        "reference": source,
        "angles": {k: v.as_dict() for k, v in result.items()},
        "calibration": finite_or_none(info["calibration"]),
    }
    if as_json:
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    table = Table(title=f"{path.name} vs {source} (degrees)")
    for column in ("angle", "RMSE", "bias", "95% LoA", "max |err|", "frames"):
        table.add_column(column, justify="left" if column == "angle" else "right")
    for name, a in result.items():
        table.add_row(
            name,
            f"{a.rmse:.2f}",
            f"{a.bias:+.2f}",
            f"[{a.loa[0]:+.2f}, {a.loa[1]:+.2f}]",
            f"{a.max_abs:.2f}",
            str(a.n),
        )
    out_console.print(table)


def _validate_camera(
    path: Path, fmt: str, reference: Path, reference_format: str, as_json: bool
) -> None:
    from spinecoach.camera.angles import camera_angles
    from spinecoach.camera.compare import compare_with_reference
    from spinecoach.io.formats import load_landmarks, load_reference

    with _errors(), _steps(3, quiet=as_json) as step:
        step("reading")
        sequence = load_landmarks(path, format=fmt)
        ref_time, ref_angles = load_reference(reference, format=reference_format)
        step("camera angles")
        frames, _info = camera_angles(sequence)
        step("comparing")
        result = compare_with_reference(sequence.time_s, frames.angles, ref_time, ref_angles)
    payload = {"reference": str(reference), **result.as_dict()}
    if as_json:
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    table = Table(
        title=f"{path.name} vs {reference.name} (degrees; lag {result.lag_s:+.3f} s, "
        f"neutral = first {result.neutral_s:g} s)"
    )
    for column in ("angle", "RMSE", "bias", "95% LoA", "r", "frames"):
        table.add_column(column, justify="left" if column == "angle" else "right")
    for name, a in result.angles.items():
        table.add_row(
            name,
            f"{a.rmse:.2f}",
            f"{a.bias:+.2f}",
            f"[{a.loa[0]:+.2f}, {a.loa[1]:+.2f}]",
            f"{a.r:.3f}",
            str(a.n),
        )
    out_console.print(table)
    if not result.angles:
        out_console.print("[yellow]note:[/] no angle is given by both the camera and the reference")


def _posture_result(
    path: Path,
    fmt: str,
    rate: float | None,
    mapping: str | None,
    placement: str | None,
    *,
    calibration: str = "auto",
    neutral_s: tuple[float, float] | None = None,
) -> tuple[Any, Any]:
    """The posture analysis of a file: native files are read in chunks; other formats
    are loaded whole first. Returns (result, recording or None)."""
    from spinecoach.io.native import is_native_file
    from spinecoach.posture import posture_process

    if fmt in ("auto", "native") and is_native_file(path):
        return posture_process(path, calibration=calibration, neutral_s=neutral_s), None
    recording = _load(path, fmt, rate, mapping, placement)
    return posture_process(recording, calibration=calibration, neutral_s=neutral_s), recording


def _save_posture(result: Any, path: Path, database: str | None) -> dict[str, int]:
    """Store an analysed day's minutes and bouts for the local person."""
    from sqlalchemy.orm import Session

    from spinecoach.store import posture as store
    from spinecoach.web.history import History

    if result.start_utc is None:
        _fail(f"{path} does not say when it started (start_utc); it cannot be stored by time")
    minutes, bouts = store.rows_from_analysis(result.minutes, result.bouts, result.start_utc)
    history = History.open(database)
    try:
        with Session(history.engine) as db:
            saved_minutes = store.save_minutes(db, history.person_id, minutes, source=path.name)
            saved_bouts = store.save_bouts(db, history.person_id, bouts, source=path.name)
    finally:
        history.close()
    return {"minutes": saved_minutes, "bouts": saved_bouts}


def _validate_posture(
    path: Path,
    fmt: str,
    rate: float | None,
    mapping: str | None,
    placement: str | None,
    as_json: bool,
) -> None:
    from spinecoach.posture.validation import validate_posture

    with _errors(), _steps(3, quiet=as_json) as step:
        step("reading")
        recording = _load(path, fmt, rate, mapping, placement)
        if recording.truth is None:
            _fail(
                f"{path} has no ground truth; --posture validation needs a simulated day "
                "(spinecoach simulate-day --out FILE)"
            )
        step("analysing the day")
        from spinecoach.posture import posture_process

        result = posture_process(recording)
        step("comparing")
        report = validate_posture(result, recording.truth)
    payload = finite_or_none(json.loads(json.dumps(report, default=float)))
    if as_json:
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    table = Table(title=f"{path.name}: posture vs ground truth")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    bouts = report["bout_error_s"]
    assert isinstance(bouts, dict)
    table.add_row("per-minute posture accuracy", f"{report['posture_accuracy']:.1%}", ">= 95 %")
    per_class = report.get("per_class_accuracy", {})
    minutes = report.get("per_class_minutes", {})
    assert isinstance(per_class, dict) and isinstance(minutes, dict)
    for name, value in per_class.items():
        if minutes.get(name):
            table.add_row(f"  {name} ({minutes[name]} min)", f"{value:.1%}", ">= 95 %")
    table.add_row(
        "sitting-bout error median / max (s)",
        f"{bouts['median']:.1f} / {bouts['max']:.1f}",
        "<= 30 s",
    )
    table.add_row(
        "slouched share error (pp)", f"{report['slouch_share_error_pp']:+.2f}", "within 5"
    )
    out_console.print(table)


@app.command("posture")
def posture_command(
    path: Annotated[Path, typer.Argument(help="An all-day recording (.screc read in chunks).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", metavar="PNG", help="Write the day plot here.")
    ] = None,
    fmt: FormatOption = "auto",
    rate: RateOption = None,
    mapping: MappingOption = None,
    placement: PlacementOption = None,
    save: Annotated[
        bool,
        typer.Option(
            "--save",
            help="Store the day's minutes and sitting bouts in the history (the day and "
            "week views and 'Recommended for you' read them).",
        ),
    ] = False,
    database: DatabaseOption = None,
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels",
            metavar="CSV",
            help="Write the per-second labels here (time_s, label, trusted 1/0).",
        ),
    ] = None,
    calibration: Annotated[
        str,
        typer.Option(
            "--calibration",
            help="auto (the recording's calibration windows, else up and forward learnt "
            "from the wear), protocol (the calibration windows only; refused without them), "
            "neutral-only (up from --neutral or the calibration windows' neutral, forward "
            "from the documented mounting: sensor x up the spine, z out of the skin) or none "
            "(up and forward from the documented mounting).",
        ),
    ] = "auto",
    neutral: Annotated[
        str | None,
        typer.Option(
            "--neutral",
            metavar="START:END",
            help="Seconds of standing still, upright: up is taken there instead of learnt "
            "(with auto, forward is still learnt from the wear).",
        ),
    ] = None,
) -> None:
    """The all-day posture summary: time lying, sitting (upright / slouched), standing,
    walking and bending, the slouched share of sitting, sitting bouts and the longest,
    breaks, desk breaks (seated cat-cow) and whether the data can be trusted. One sensor
    on a belt or a phone in a waist pouch works in any orientation (up and forward are
    learnt from the wear). See docs/posture.md.

    Example: spinecoach posture day.screc --plot day.png --labels day-labels.csv --save
    """
    choice = _calibration_choice(calibration, neutral, None)
    method = choice.method
    if method == "none" and choice.neutral_s is not None:
        _fail(
            "--calibration none takes no --neutral: use neutral-only (up from the window, "
            "forward from the mounting) or auto (forward learnt from the wear)"
        )
    with _errors(), _steps(2 if plot else 1, quiet=as_json) as step:
        step("analysing the day")
        result, _recording = _posture_result(
            path,
            fmt,
            rate,
            mapping,
            placement,
            calibration=method,
            neutral_s=choice.neutral_s,
        )
        if method == "protocol" and result.trust.calibration != "annotations":
            _fail(
                f"{path} has no calibration windows (a still stand and forward bends "
                "prompted by the coach); use --calibration auto to learn up and forward "
                "from the wear"
            )
        if plot:
            from spinecoach.posture.plot import plot_posture

            step("plotting")
            plot_posture(result, plot, title=f"spinecoach — {path.name}")
    summary = result.summary()
    if plot:
        summary["plot"] = str(plot)
    if labels:
        with _errors():
            summary["labels"] = str(result.write_labels(labels))
    if save:
        with _errors():
            summary["saved"] = _save_posture(result, path, database)
    if as_json:
        sys.stdout.write(json.dumps(finite_or_none(summary), indent=2) + "\n")
        return
    table = Table(title=f"{path.name}: the day's posture")
    table.add_column("what")
    table.add_column("value", justify="right")
    for name, seconds in summary["seconds_per_class"].items():
        table.add_row(name, f"{seconds / 3600:.2f} h")
    share = summary["slouched_share_of_sitting"]
    table.add_row("slouched share of sitting", "—" if share is None else f"{share:.0%}")
    table.add_row("sitting bouts", str(summary["bouts"]))
    longest = summary["longest_bout"]
    if longest:
        table.add_row("longest bout", f"{longest['duration_s'] / 60:.0f} min")
    table.add_row("breaks between bouts", str(summary["breaks"]))
    table.add_row("desk breaks (seated cat-cow)", str(summary["desk_breaks"]))
    table.add_row("trusted", "yes" if result.trust.trusted else "[red]no[/]")
    out_console.print(table)
    for message in result.trust.messages:
        out_console.print(f"[yellow]note:[/] {message}")
    out_console.print(f"slouch measure: {result.trust.slouch_measure}")
    if plot:
        out_console.print(f"plot: {plot}")
    if labels:
        out_console.print(f"per-second labels: {labels}")
    if save:
        saved = summary["saved"]
        out_console.print(
            f"saved: {saved['minutes']} minutes and {saved['bouts']} sitting bouts to the history"
        )


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
    from spinecoach.io import write_recording
    from spinecoach.motion import motion_process
    from spinecoach.plot import plot_angles
    from spinecoach.sim import simulate as run_simulation
    from spinecoach.validate import compare_angles

    _check_technique(technique)
    out.mkdir(parents=True, exist_ok=True)
    with _errors(), _steps(4, quiet=False) as step:
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
        _fail("the simulated recording has no ground truth")
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


@app.command()
def coach(
    technique: Annotated[str, typer.Argument(help="Technique to coach, e.g. pelvic-tilt.")],
    source: Annotated[
        str,
        typer.Option(
            help="Source: sim (the built-in simulator), phyphox:ADDRESS[,ADDRESS], "
            "ble:ADDRESS[,ADDRESS] (Polar; see `spinecoach sensors scan`) or "
            "sensor-logger[:2] (phones pushing to --listen), first = lower sensor; or the "
            "camera: camera:N (webcam N, camera:0 the first) or video:PATH (a video file, "
            "played at --speed), side-on for hip-hinge, flexion-extension and cat-cow; the "
            # Rich markup: the backslash keeps "[camera]" from being read as a style.
            'camera needs its extra: pip install "spinecoach\\[camera]".'
        ),
    ] = "sim",
    listen: Annotated[
        str,
        typer.Option(
            help="HOST:PORT where --source sensor-logger receives the phone's pushes "
            "(0.0.0.0:8000 to reach it from a phone on a trusted network)."
        ),
    ] = "127.0.0.1:8000",
    ble_device: Annotated[
        Path | None,
        typer.Option(
            help="For --source ble: a TOML file declaring the sensor's packets "
            "(docs/examples/ble-device.toml); default: Polar PMD."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the simulated session.")] = 0,
    reps: Annotated[
        int | None, typer.Option(help="Reps (or breath cycles) per set; default: the dose.")
    ] = None,
    profile: Annotated[
        str, typer.Option(help="Simulated performer: typical, stiff, hypermobile, novice, expert.")
    ] = "typical",
    speed: Annotated[
        float,
        typer.Option(help="Replay speed of the simulator or a video:PATH source; 1 = real time."),
    ] = 1.0,
    pain_before: Annotated[
        float | None,
        typer.Option(help="Pain before, 0–100 mm VAS (asked when not given, in a terminal)."),
    ] = None,
    pain_after: Annotated[
        float | None,
        typer.Option(help="Pain after, 0–100 mm VAS (asked when not given, in a terminal)."),
    ] = None,
    database: DatabaseOption = None,
    no_save: Annotated[
        bool, typer.Option("--no-save", help="Do not save the session to the history.")
    ] = False,
) -> None:
    """Coach one session in the terminal: the live coach's engine with a live display
    (step, angle gauge with the target band, reps, hold countdown, breathing pacer, body
    position, signal flags, trace, cues). Ctrl+C stops early and still shows and saves the
    summary; space pauses. Without a terminal, progress lines are printed instead.

    Example: spinecoach coach pelvic-tilt --seed 3 --reps 5 --pain-before 20
    """
    from spinecoach.coach import CoachSettings
    from spinecoach.coach import coach as run_coach

    try:
        settings = CoachSettings(
            technique,
            source=source,
            seed=seed,
            reps=reps,
            profile=profile,
            speed=speed,
            pain_before_mm=pain_before,
            pain_after_mm=pain_after,
            database_url=database,
            save=not no_save,
            listen=listen,
            ble_device=None if ble_device is None else str(ble_device),
        )
        run_coach(settings, out_console, interactive=sys.stdin.isatty())
    except SpinecoachError as error:
        _fail(str(error))


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to bind (default 127.0.0.1, loopback only: sessions carry health "
            "data; or SPINECOACH_HOST)."
        ),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="TCP port (default 8000, or SPINECOACH_PORT).")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            help="Default sensor source of live sessions: sim (the built-in simulator), "
            "external (samples streamed by the client) or devices (phones and Bluetooth "
            "sensors connected in the page's sensor check) or camera (see --camera); "
            "default sim, or SPINECOACH_SOURCE. The page lets the person pick any of them."
        ),
    ] = None,
    camera: Annotated[
        str | None,
        typer.Option(
            help="The camera of camera sessions: camera:N (webcam N, default camera:0) or "
            "video:PATH (a video file); or SPINECOACH_CAMERA. Needs pip install "
            '"spinecoach[camera]"; the page says so when it is missing.'
        ),
    ] = None,
    posture: Annotated[
        str | None,
        typer.Option(
            help="All-day posture monitoring and desk-break prompts: off (default), devices "
            "(the phones or sensors placed in the page) or sim-day (a simulated working day, "
            "to try it); or SPINECOACH_POSTURE."
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Start the live coaching server (web API and the live WebSocket protocol, see
    docs/live-protocol.md) and print its address; Ctrl+C stops it.

    Example: spinecoach serve --port 8000 --source sim
    Example: spinecoach serve --camera camera:0  (the page offers the camera)
    """
    import uvicorn
    from pydantic import ValidationError

    from spinecoach.web.app import create_app
    from spinecoach.web.settings import Settings

    if camera is not None:
        from spinecoach.camera.source import parse_camera_source

        try:
            parse_camera_source(camera, option="--camera")
        except SpinecoachError as error:
            _fail(str(error))
    given = {
        "host": host,
        "port": port,
        "source": source,
        "camera": camera,
        "posture": posture,
        "database_url": database,
    }
    try:
        settings = Settings.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as error:
        problems = "; ".join(
            f"--{'.'.join(str(p) for p in e['loc']).replace('_url', '')}: {e['msg']}"
            for e in error.errors(include_url=False)
        )
        _fail(f"{problems} (see spinecoach serve --help)")
        return
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    out_console.print(
        f"spinecoach serving on http://{shown}:{settings.port} "
        f"(live protocol ws://{shown}:{settings.port}/ws/live, source {settings.source}); "
        "Ctrl+C stops it",
        highlight=False,
        soft_wrap=True,
    )
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[yellow]warning:[/] bound to {settings.host}: other machines can reach this "
            "server and its health data; there is no login yet",
            highlight=False,
            soft_wrap=True,
        )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        log_level="info",
    )


@app.command()
def export(
    out: Annotated[
        Path,
        typer.Option(
            "--out", metavar="DIR", help="New (or empty) folder to write the export into."
        ),
    ],
    database: DatabaseOption = None,
    person: Annotated[
        int | None, typer.Option("--person", metavar="ID", help="Only this person's records.")
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", metavar="csv|parquet|both", help="Table files: csv, parquet or both."
        ),
    ] = "both",
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace an earlier export in DIR, once the new one is complete.",
        ),
    ] = False,
) -> None:
    """Export the history: one CSV and/or Parquet file per table, every session's
    recording (recordings/session-ID.screc, checksum verified) and manifest.json (version,
    schema revision, row counts, SHA-256 of every file). Reads the database, never
    changes it; an export is written completely or not at all.

    Example: spinecoach export --out history-export --format csv
    """
    from spinecoach.store.db import database_url
    from spinecoach.store.export import export_database

    with _errors():
        summary = export_database(
            database_url(database), out, person_id=person, formats=fmt, force=force
        )
    out_console.print(
        f"exported to {summary.out} (schema revision {summary.schema_revision})",
        highlight=False,
        soft_wrap=True,
    )
    table = Table()
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, str(rows))
    out_console.print(table)
    missing = summary.sessions_without_recording
    note = f"; {len(missing)} session(s) without a stored recording" if missing else ""
    out_console.print(
        f"{len(summary.recordings)} recording(s){note}; {summary.files} files, "
        f"checksums in {summary.out / 'manifest.json'}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def onboard(
    database: DatabaseOption = None,
) -> None:
    """Start the 6-week program: the red-flag safety questions first (any "yes" stops
    with advice to seek medical care, and is recorded), then baseline pain (0–100 mm), up
    to three activities rated 0–10 (PSFS), pain-medication doses per day, your schedule
    and the sensors you have. Answers may be piped on stdin, one per line. Exit status 1
    when a red flag stopped the program.

    Example: spinecoach onboard --database sqlite:///coach.sqlite3
    """
    from spinecoach.onboard import run_onboarding

    with _errors():
        code = run_onboarding(out_console, database)
    raise typer.Exit(code=code)


@app.command()
def screen(
    database: DatabaseOption = None,
) -> None:
    """Something new or worrying during the program? Answer the red-flag safety questions
    again: any "yes" stops the program at once with advice to seek medical care, and is
    recorded. Answers may be piped on stdin, one per line. Exit status 1 when a red flag
    stopped the program.

    Example: spinecoach screen --database sqlite:///coach.sqlite3
    """
    from spinecoach.onboard import run_screening

    with _errors():
        code = run_screening(out_console, database)
    raise typer.Exit(code=code)


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="report.html or report.pdf.")],
    database: DatabaseOption = None,
    person: Annotated[
        int | None,
        typer.Option("--person", metavar="ID", help="This person's program (default: yours)."),
    ] = None,
) -> None:
    """Write a report of the 6-week program: pain change against the minimal important
    change, sessions done, the last decision and why, medication and function (PSFS), and
    the charts, as one self-contained HTML file or a multi-page PDF. Reads the database,
    never changes it.

    Example: spinecoach report --out report.pdf
    """
    from spinecoach.services.report import write_report
    from spinecoach.store.db import database_url

    with _errors():
        path = write_report(database_url(database), out, person_id=person)
    out_console.print(f"report written to {path}", highlight=False, soft_wrap=True)


@app.command("simulate-program")
def simulate_program(
    persona: Annotated[
        str, typer.Option("--persona", help="responder, flare, non-adherent or red-flag.")
    ],
    weeks: Annotated[int, typer.Option(help="Weeks to simulate.")] = 6,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same run.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", metavar="DIR", help="Write the progress charts (PNG) into DIR."),
    ] = None,
) -> None:
    """Run a virtual person through the 6-week program and print the weekly decisions.

    Example: spinecoach simulate-program --persona flare --plot charts/
    """
    from spinecoach.program.simulate import simulate_program as run_program

    with _errors():
        run = run_program(persona, weeks=weeks, seed=seed)
        payload = run.as_dict()
        if plot:
            from spinecoach.program.plot import plot_program

            payload["plots"] = [str(path) for path in plot_program(run, plot)]
    if as_json:
        sys.stdout.write(json.dumps(finite_or_none(payload), indent=2) + "\n")
        return
    table = Table(title=f"persona {persona}: {payload['expected']}")
    for column in ("week", "decision", "level", "VAS mm", "done"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("reasons", overflow="fold")
    for row in payload["weeks"]:
        vas = "—" if row["vas_mm"] is None else f"{row['vas_mm']:.1f}"
        table.add_row(
            str(row["week"]),
            row["decision"],
            str(row["level"]),
            vas,
            f"{100 * row['adherence']:.0f} %",
            "\n".join(row["reasons"]),
        )
    out_console.print(table)
    change = payload["vas_change_pct"]
    out_console.print(
        f"VAS {payload['baseline_vas_mm']:.0f} → {payload['final_vas_mm']} mm "
        f"({'—' if change is None else f'{change:+.0f} %'}); MCID reached: "
        f"{'yes' if payload['mcid_reached'] else 'no'}"
    )
    for s in payload["recommended"]["suggestions"]:
        out_console.print(f"recommended: {s['title']} — {s['why']['text']}")
    for path in payload.get("plots", []):
        out_console.print(f"plot: {path}")


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version.")] = False,
) -> None:
    if version:
        out_console.print(f"spinecoach {__version__}")
        raise typer.Exit()


def main() -> None:
    app()


def _add_sensor_commands() -> None:
    from spinecoach.sources.cli_sensors import app as sensors_app

    app.add_typer(sensors_app, name="sensors")


_add_sensor_commands()
