"""``spinecoach validate``: how close the numbers are to a truth, one subcommand per
comparison.

- ``validate angles FILE [--reference REF.csv]``: the estimated angles against the
  recording's embedded ground truth (a simulated recording) or a reference CSV: RMSE,
  bias and 95 % limits of agreement in degrees.
- ``validate exercise TECHNIQUE FILE``: the reps the exercise engine finds against the
  simulator's true reps: counts, hold-time errors, fault precision and recall, reps
  counted during set-up.
- ``validate posture FILE``: the all-day posture analysis against a simulated day.
- ``validate camera FILE --reference REF``: camera angles from pose landmarks against
  reference angles (for example KERAAL's Vicon), lag found by cross-correlation.

Design: the comparison is the subcommand, not a combination of flags (until issue 14,
``--exercise``, ``--posture`` and a landmark ``--format`` chose it, and some combinations
had to be refused). The old flag form is still recognised, and refused with the command
to type instead (:class:`ValidateGroup`, :func:`old_form_message`).
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup, TyperOption

from spinecoach.cli.common import check_exercise, fail, out_console, reporting_errors, steps
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
    exercise_frames,
    load,
)
from spinecoach.cli.root import app
from spinecoach.conventions import finite_or_none

#: The subcommands and what each compares (the old-form message lists them).
SUBCOMMANDS = {
    "angles": "estimated angles with the recording's ground truth or a reference CSV",
    "exercise": "the reps found with the simulator's true reps",
    "posture": "the all-day posture analysis with a simulated day's truth",
    "camera": "camera angles from pose landmarks with reference angles",
}


def _old_form_modes(args: Sequence[str]) -> tuple[dict[str, list[str]], list[str], str | None]:
    """The comparisons an old flag-form command line asked for (subcommand → the flags
    that asked for it), the arguments left once ``--exercise`` and ``--posture`` are taken
    out, and the technique of ``--exercise``."""
    from spinecoach.io.formats import is_landmark_format

    asked: dict[str, list[str]] = {}
    rest: list[str] = []
    technique = None
    i = 0
    while i < len(args):
        arg = args[i]
        name, has_value, value = arg.partition("=")
        takes_value = name in ("--exercise", "--format", "--reference-format")
        if takes_value and not has_value:
            value = args[i + 1] if i + 1 < len(args) else ""
            i += 1
        i += 1
        if name == "--posture":
            asked.setdefault("posture", []).append(name)
        elif name == "--exercise":
            asked.setdefault("exercise", []).append(f"{name} {value}")
            technique = value or "TECHNIQUE"
        elif takes_value:
            rest += [name, value]
            landmarks = name == "--format" and is_landmark_format(value)
            if landmarks or (name == "--reference-format" and value.strip().lower() != "csv"):
                asked.setdefault("camera", []).append(f"{name} {value}")
        else:
            rest.append(arg)
    if asked.keys() & {"exercise", "posture"} and any(
        a.partition("=")[0] == "--reference" for a in rest
    ):
        asked.setdefault("angles", []).append("--reference")
    return asked, rest, technique


def old_form_message(args: Sequence[str], commands: Mapping[str, Any]) -> str:
    """What to type instead of an old flag-form ``spinecoach validate`` command line.

    >>> from spinecoach.cli import app
    >>> from typer.main import get_command
    >>> commands = get_command(app).commands["validate"].commands
    >>> old_form_message(["day.screc", "--posture", "--json"], commands).split(" use ")[-1]
    '`spinecoach validate posture day.screc --json`'
    """
    asked, rest, technique = _old_form_modes(args)
    if len(asked) > 1:
        flags = " and ".join(" ".join(given) for given in asked.values())
        subs = " or ".join(f"`spinecoach validate {sub} …`" for sub in asked)
        return f"{flags} ask for different comparisons; use one or the other: {subs}"
    sub = next(iter(asked), "angles")
    kept = _accepted(rest, commands[sub])
    words = ["spinecoach", "validate", sub, *([technique] if technique else []), *kept]
    return (
        "spinecoach validate takes a subcommand now (angles, exercise, posture or camera; "
        f"see spinecoach validate --help); to compare {SUBCOMMANDS[sub]} use "
        f"`{shlex.join(words)}`"
    )


def _accepted(args: list[str], command: Any) -> list[str]:
    """``args`` without the options ``command`` does not take (the old form accepted
    options some comparisons ignored)."""
    takes: dict[str, bool] = {}  # option → whether it is a flag
    for param in command.params:
        if isinstance(param, TyperOption):
            for opt in (*param.opts, *param.secondary_opts):
                takes[opt] = param.is_flag
    kept: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        name = arg.partition("=")[0]
        flag = takes.get(name)
        step = 1 if flag or "=" in arg or not name.startswith("-") else 2
        if not name.startswith("-") or flag is not None:
            kept += args[i : i + step]
        i += step
    return kept


class ValidateGroup(TyperGroup):
    """``spinecoach validate``'s group: an old flag-form command line (a file where the
    subcommand should be) exits 2 naming the command to type instead."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # Typer's own click Context
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            fail(old_form_message(args, self.commands))
        return super().parse_args(ctx, args)


validate_app = typer.Typer(
    cls=ValidateGroup,
    no_args_is_help=True,
    help="Compare what spinecoach computes with a truth; one subcommand per comparison: "
    "angles (estimated angles vs the embedded ground truth or a reference CSV: RMSE, bias, "
    "95 % limits of agreement), exercise (the reps found vs the simulator's true reps: "
    "counts, hold-time errors, fault precision and recall), posture (the all-day posture "
    "analysis vs a simulated day) and camera (camera angles from pose landmarks vs "
    "reference angles, for example KERAAL's Vicon). See each one's --help.\n\n"
    "Example: spinecoach validate angles pt.screc --json\n\n"
    "Example: spinecoach validate exercise pelvic-tilt pt.screc --json\n\n"
    "Example: spinecoach validate posture day.screc --json\n\n"
    "Example: spinecoach validate camera bp.json --format keraal-blazepose --reference "
    "vicon.txt --reference-format keraal-vicon --json\n\n"
    "The old flag form (validate FILE --exercise TECHNIQUE, --posture, --format "
    "keraal-blazepose) is refused with the command to type instead.",
)
app.add_typer(validate_app, name="validate")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@validate_app.command("angles", short_help=f"Compare {SUBCOMMANDS['angles']}.")
def angles(
    path: Annotated[
        Path, typer.Argument(help="Recording file (simulated, or any with --reference).")
    ],
    reference: Annotated[
        Path | None, typer.Option(help="CSV of reference angles (time_s + angle columns).")
    ] = None,
    fmt: FormatOption = "auto",
    rate: RateOption = None,
    mapping: MappingOption = None,
    placement: PlacementOption = None,
    as_json: JsonOption = False,
    calibration: CalibrationOption = "auto",
    neutral: NeutralOption = None,
    calibration_file: CalibrationFileOption = None,
) -> None:
    """Compare the estimated angles with the recording's embedded ground truth (a
    simulated recording) or with a reference CSV (--reference: time_s and angle columns,
    for example from optical motion capture): RMSE, bias and 95 % limits of agreement in
    degrees, per angle.

    Example: spinecoach validate angles pt.screc --json

    Example: spinecoach validate angles session.screc --reference mocap.csv
    """
    choice = calibration_choice(calibration, neutral, calibration_file)
    _validate_angles(path, reference, fmt, rate, mapping, placement, as_json, choice)


@validate_app.command("exercise", short_help=f"Compare {SUBCOMMANDS['exercise']}.")
def exercise(
    technique: Annotated[str, typer.Argument(help="The technique whose reps to count.")],
    path: Annotated[Path, typer.Argument(help="A simulated recording (with its truth).")],
    fmt: FormatOption = "auto",
    rate: RateOption = None,
    mapping: MappingOption = None,
    placement: PlacementOption = None,
    as_json: JsonOption = False,
    calibration: CalibrationOption = "auto",
    neutral: NeutralOption = None,
    calibration_file: CalibrationFileOption = None,
) -> None:
    """Compare the reps the exercise engine finds for TECHNIQUE with the simulator's true
    reps: counts, hold-time errors, fault precision and recall, reps counted during
    set-up. Needs a simulated recording (spinecoach simulate TECHNIQUE --out FILE).

    Example: spinecoach validate exercise pelvic-tilt pt.screc --json
    """
    choice = calibration_choice(calibration, neutral, calibration_file)
    technique = check_exercise(technique, "TECHNIQUE")
    _validate_exercise(path, fmt, rate, mapping, placement, technique, as_json, choice)


@validate_app.command("posture", short_help=f"Compare {SUBCOMMANDS['posture']}.")
def posture(
    path: Annotated[Path, typer.Argument(help="A simulated day (spinecoach simulate-day).")],
    fmt: FormatOption = "auto",
    rate: RateOption = None,
    mapping: MappingOption = None,
    placement: PlacementOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare the all-day posture analysis with a simulated day's truth: per-minute
    accuracy, sitting-bout errors, slouched-share error.

    Example: spinecoach validate posture day.screc --json
    """
    _validate_posture(path, fmt, rate, mapping, placement, as_json)


@validate_app.command("camera", short_help=f"Compare {SUBCOMMANDS['camera']}.")
def camera(
    path: Annotated[Path, typer.Argument(help="Pose landmarks (see --format).")],
    reference: Annotated[
        Path | None, typer.Option(help="Reference angles (see --reference-format).")
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="Format of the landmarks: keraal-blazepose (see `spinecoach formats`)."
        ),
    ] = "keraal-blazepose",
    reference_format: Annotated[
        str,
        typer.Option(
            "--reference-format",
            help="Format of --reference: csv (time_s + angle columns) or keraal-vicon "
            "(see `spinecoach formats`).",
        ),
    ] = "csv",
    as_json: JsonOption = False,
) -> None:
    """Compare camera angles (from pose landmarks) with reference angles: each side zeroed
    at its first second of quiet standing, the lag found by cross-correlation (within
    ±0.5 s), then RMSE, bias, limits of agreement, Pearson r and n per angle.

    Example: spinecoach validate camera bp.json --format keraal-blazepose --reference
    vicon.txt --reference-format keraal-vicon --json
    """
    from spinecoach.io.formats import LANDMARK_FORMATS, is_landmark_format

    if not is_landmark_format(fmt):
        known = ", ".join(info.name for info in LANDMARK_FORMATS)
        fail(
            f"--format {fmt} is not a pose-landmark format; validate camera reads {known} "
            "(to compare a sensor recording use spinecoach validate angles)"
        )
    if reference is None:
        fail(
            f"validate camera compares {path.name}'s pose landmarks with reference angles: "
            "pass --reference FILE (and --reference-format, for example keraal-vicon)"
        )
    _validate_camera(path, fmt, reference, reference_format, as_json)


def _detect(
    recording: Any,
    technique: str,
    step: Callable[[str], None],
    choice: CalibrationChoice | None = None,
) -> tuple[Any, Any, dict[str, Any]]:
    """Angle frames, the exercise engine's result and the motion info (two CLI steps)."""
    from spinecoach.exercises import detect_exercise

    step("estimating angles")
    frames, motion_info = exercise_frames(recording, technique, choice)
    step(f"finding {technique} reps")
    result = detect_exercise(
        frames,
        technique,
        annotations=recording.events,
        calibrated_position=motion_info["position"],
    )
    return frames, result, motion_info


def _validate_angles(
    path: Path,
    reference: Path | None,
    fmt: str,
    rate: float | None,
    mapping: str | None,
    placement: str | None,
    as_json: bool,
    choice: CalibrationChoice,
) -> None:
    from spinecoach.io.reference import load_reference_csv
    from spinecoach.motion import motion_process
    from spinecoach.motion.agreement import compare_angles

    with reporting_errors(), steps(3, quiet=as_json) as step:
        step("reading")
        recording = load(path, fmt, rate, mapping, placement)
        if reference is not None:
            ref_time, ref_angles = load_reference_csv(reference)
            source = str(reference)
        elif recording.truth is not None:
            ref_time, ref_angles = recording.truth.time_s, dict(recording.truth.series)
            source = "embedded ground truth"
        else:
            fail(
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

    with reporting_errors(), steps(3, quiet=as_json) as step:
        step("reading")
        recording = load(path, fmt, rate, mapping, placement)
        if recording.truth is None:
            fail(
                f"{path} has no ground truth; exercise validation needs a simulated "
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


def _validate_camera(
    path: Path, fmt: str, reference: Path, reference_format: str, as_json: bool
) -> None:
    from spinecoach.camera.angles import camera_angles
    from spinecoach.camera.compare import compare_with_reference
    from spinecoach.io.formats import load_landmarks, load_reference

    with reporting_errors(), steps(3, quiet=as_json) as step:
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


def _validate_posture(
    path: Path,
    fmt: str,
    rate: float | None,
    mapping: str | None,
    placement: str | None,
    as_json: bool,
) -> None:
    from spinecoach.posture.validation import validate_posture

    with reporting_errors(), steps(3, quiet=as_json) as step:
        step("reading")
        recording = load(path, fmt, rate, mapping, placement)
        if recording.truth is None:
            fail(
                f"{path} has no ground truth; posture validation needs a simulated day "
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
