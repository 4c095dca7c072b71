"""``spinecoach coach``: one coached session in the terminal.

The terminal coach itself (display, keys, the session's run) is imported inside the
command, so starting the command line never loads it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from spinecoach.cli.common import DatabaseOption, fail, out_console
from spinecoach.cli.root import app
from spinecoach.errors import SpinecoachError

SourceOption = Annotated[
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
]
ListenOption = Annotated[
    str,
    typer.Option(
        help="HOST:PORT where --source sensor-logger receives the phone's pushes "
        "(0.0.0.0:8000 to reach it from a phone on a trusted network)."
    ),
]
RecalibrateOption = Annotated[
    bool,
    typer.Option(
        "--recalibrate",
        help="Calibrate fully even when a kept calibration would pass its 5-s check "
        "(the sensors sit differently from last time).",
    ),
]


@app.command()
def coach(
    technique: Annotated[str, typer.Argument(help="Technique to coach, e.g. pelvic-tilt.")],
    source: SourceOption = "sim",
    listen: ListenOption = "127.0.0.1:8000",
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
    recalibrate: RecalibrateOption = False,
) -> None:
    """Coach one session in the terminal: the live coach's engine with a live display
    (step, angle gauge with the target band, reps, hold countdown, breathing pacer, body
    position, signal flags, trace, cues). Ctrl+C stops early and still shows and saves the
    summary; space pauses. Without a terminal, progress lines are printed instead.

    Example: spinecoach coach pelvic-tilt --seed 3 --reps 5 --pain-before 20
    """
    from spinecoach.cli.terminal import CoachSettings
    from spinecoach.cli.terminal import coach as run_coach

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
            recalibrate=recalibrate,
            listen=listen,
            ble_device=None if ble_device is None else str(ble_device),
        )
        run_coach(settings, out_console, interactive=sys.stdin.isatty())
    except SpinecoachError as error:
        fail(str(error))
