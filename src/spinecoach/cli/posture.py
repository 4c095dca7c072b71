"""``spinecoach posture``: the all-day posture summary of a recording (optionally plotted,
labelled per second and stored in the history)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from spinecoach.cli.common import DatabaseOption, fail, out_console, reporting_errors, steps
from spinecoach.cli.recordings import (
    CalibrationChoice,
    FormatOption,
    MappingOption,
    PlacementOption,
    RateOption,
    calibration_choice,
    load,
)
from spinecoach.cli.root import app
from spinecoach.conventions import finite_or_none


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
    recording = load(path, fmt, rate, mapping, placement)
    return posture_process(recording, calibration=calibration, neutral_s=neutral_s), recording


def _save_posture(result: Any, path: Path, database: str | None) -> dict[str, int]:
    """Store an analysed day's minutes and bouts for the local person."""
    from sqlalchemy.orm import Session

    from spinecoach.services.history import History
    from spinecoach.store import posture as store

    if result.start_utc is None:
        fail(f"{path} does not say when it started (start_utc); it cannot be stored by time")
    minutes, bouts = store.rows_from_analysis(result.minutes, result.bouts, result.start_utc)
    history = History.open(database)
    try:
        with Session(history.engine) as db:
            saved_minutes = store.save_minutes(db, history.person_id, minutes, source=path.name)
            saved_bouts = store.save_bouts(db, history.person_id, bouts, source=path.name)
    finally:
        history.close()
    return {"minutes": saved_minutes, "bouts": saved_bouts}


SaveOption = Annotated[
    bool,
    typer.Option(
        "--save",
        help="Store the day's minutes and sitting bouts in the history (the day and "
        "week views and 'Recommended for you' read them).",
    ),
]

LabelsOption = Annotated[
    Path | None,
    typer.Option(
        "--labels",
        metavar="CSV",
        help="Write the per-second labels here (time_s, label, trusted 1/0).",
    ),
]

DayCalibrationOption = Annotated[
    str,
    typer.Option(
        "--calibration",
        help="auto (the recording's calibration windows, else up and forward learnt "
        "from the wear), protocol (the calibration windows only; refused without them), "
        "neutral-only (up from --neutral or the calibration windows' neutral, forward "
        "from the documented mounting: sensor x up the spine, z out of the skin) or none "
        "(up and forward from the documented mounting).",
    ),
]

DayNeutralOption = Annotated[
    str | None,
    typer.Option(
        "--neutral",
        metavar="START:END",
        help="Seconds of standing still, upright: up is taken there instead of learnt "
        "(with auto, forward is still learnt from the wear).",
    ),
]


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
    save: SaveOption = False,
    database: DatabaseOption = None,
    labels: LabelsOption = None,
    calibration: DayCalibrationOption = "auto",
    neutral: DayNeutralOption = None,
) -> None:
    """The all-day posture summary: time lying, sitting (upright / slouched), standing,
    walking and bending, the slouched share of sitting, sitting bouts and the longest,
    breaks, desk breaks (seated cat-cow) and whether the data can be trusted. One sensor
    on a belt or a phone in a waist pouch works in any orientation (up and forward are
    learnt from the wear). See docs/posture.md.

    Example: spinecoach posture day.screc --plot day.png --labels day-labels.csv --save
    """
    choice = calibration_choice(calibration, neutral, None)
    if choice.method == "none" and choice.neutral_s is not None:
        fail(
            "--calibration none takes no --neutral: use neutral-only (up from the window, "
            "forward from the mounting) or auto (forward learnt from the wear)"
        )
    result = _analyse_day(path, fmt, rate, mapping, placement, choice, plot, as_json)
    summary = result.summary()
    if plot:
        summary["plot"] = str(plot)
    if labels:
        with reporting_errors():
            summary["labels"] = str(result.write_labels(labels))
    if save:
        with reporting_errors():
            summary["saved"] = _save_posture(result, path, database)
    if as_json:
        sys.stdout.write(json.dumps(finite_or_none(summary), indent=2) + "\n")
        return
    _print_day(path.name, summary, result)
    if plot:
        out_console.print(f"plot: {plot}")
    if labels:
        out_console.print(f"per-second labels: {labels}")
    if save:
        saved = summary["saved"]
        out_console.print(
            f"saved: {saved['minutes']} minutes and {saved['bouts']} sitting bouts to the history"
        )


def _analyse_day(
    path: Path,
    fmt: str,
    rate: float | None,
    mapping: str | None,
    placement: str | None,
    choice: CalibrationChoice,
    plot: Path | None,
    quiet: bool,
) -> Any:
    """The day's posture analysis (and its plot), with a progress bar unless ``quiet``."""
    with reporting_errors(), steps(2 if plot else 1, quiet=quiet) as step:
        step("analysing the day")
        result, _recording = _posture_result(
            path,
            fmt,
            rate,
            mapping,
            placement,
            calibration=choice.method,
            neutral_s=choice.neutral_s,
        )
        if choice.method == "protocol" and result.trust.calibration != "annotations":
            fail(
                f"{path} has no calibration windows (a still stand and forward bends "
                "prompted by the coach); use --calibration auto to learn up and forward "
                "from the wear"
            )
        if plot:
            from spinecoach.posture.plot import plot_posture

            step("plotting")
            plot_posture(result, plot, title=f"spinecoach — {path.name}")
    return result


def _print_day(file_name: str, summary: dict[str, Any], result: Any) -> None:
    """The day's table and the notes on whether it can be trusted."""
    table = Table(title=f"{file_name}: the day's posture")
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
