"""Reading recordings from the command line: the file options (``--format``, ``--rate``,
``--mapping``, ``--placement``), the calibration options (``--calibration``,
``--neutral``, ``--calibration-file``) checked into a :class:`CalibrationChoice`, and the
one-line notes on calibration and file cleaning that ``analyze`` and ``validate`` print.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from spinecoach.cli.common import fail, reporting_errors
from spinecoach.conventions import ANGLE_COLUMNS

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


@dataclass(frozen=True)
class CalibrationChoice:
    """The calibration options of analyze and validate, checked."""

    method: str = "auto"
    neutral_s: tuple[float, float] | None = None
    stored: Any = None

    def settings(self, position: str | None, technique: str | None = None) -> Any:
        """The motion core's settings for a recording in ``position`` (with the
        technique's movement prior when ``technique`` is given)."""
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


def _neutral_window(neutral: str) -> tuple[float, float]:
    """``--neutral START:END`` in seconds, checked (exit 2 if wrong)."""
    import numpy as np

    parts = neutral.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        a, b = float(parts[0]), float(parts[1])
    except ValueError:
        fail(
            f"--neutral {neutral!r}: give START:END in seconds from the recording's "
            "start, for example --neutral 0.2:1.0"
        )
    if not (np.isfinite(a) and np.isfinite(b) and 0.0 <= a < b):
        fail(f"--neutral {neutral!r}: START must be at least 0 and before END")
    return (a, b)


def _stored_calibration(calibration_file: Path) -> Any:
    """The :class:`~spinecoach.motion.autocal.StoredCalibration` in a JSON file."""
    from spinecoach.motion.autocal import StoredCalibration

    try:
        payload = json.loads(calibration_file.read_text(encoding="utf-8"))
    except OSError as error:
        fail(f"--calibration-file {calibration_file}: cannot read it ({error.strerror})")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        fail(
            f"--calibration-file {calibration_file} is not JSON ({error}); write one with "
            "spinecoach analyze FILE --save-calibration PATH"
        )
    with reporting_errors():
        if not isinstance(payload, dict):
            fail(f"--calibration-file {calibration_file}: expected a JSON object")
        return StoredCalibration.from_json(payload)


def calibration_choice(
    method: str, neutral: str | None, calibration_file: Path | None
) -> CalibrationChoice:
    """Check --calibration, --neutral START:END and --calibration-file (exit 2 if wrong)."""
    from spinecoach.motion.autocal import CALIBRATION_METHODS

    method = method.strip().lower()
    if method not in CALIBRATION_METHODS:
        fail(
            f"--calibration {method!r} is not a method; use one of: "
            + ", ".join(CALIBRATION_METHODS)
        )
    window = None if neutral is None else _neutral_window(neutral)
    stored = None if calibration_file is None else _stored_calibration(calibration_file)
    return CalibrationChoice(method, window, stored)


def load(
    path: Path, fmt: str, rate: float | None, mapping: str | None, placement: str | None
) -> Any:
    """One recording file read with the file options."""
    from spinecoach.io import load_recording

    return load_recording(path, format=fmt, rate_hz=rate, mapping=mapping, placement=placement)


def load_paths(
    paths: list[Path], fmt: str, rate: float | None, mapping: str | None, placement: str | None
) -> Any:
    """One recording file, or one file per sensor (``--placement lower,upper`` says which
    is which; without it the first is the lower sensor and the second the upper one)."""
    if len(paths) == 1:
        return load(paths[0], fmt, rate, mapping, placement)
    if len(paths) != 2:
        fail(
            f"{len(paths)} files given; pass one recording, or two files with one sensor each "
            "(lower then upper, or say which with --placement lower,upper)"
        )
    from spinecoach.io import load_recordings

    names = [p.strip().lower() for p in (placement or "lower,upper").split(",")]
    if len(names) != 2 or sorted(names) != ["lower", "upper"]:
        fail(
            f"--placement {placement!r} with two files: give both placements in the order of "
            "the files, for example --placement upper,lower"
        )
    return load_recordings(
        list(zip(paths, names, strict=True)), format=fmt, rate_hz=rate, mapping=mapping
    )


def exercise_frames(
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


def has_angles(frames: Any) -> bool:
    """Whether any clinical angle has at least one finite value."""
    import numpy as np

    return any(bool(np.isfinite(frames.angles[name]).any()) for name in ANGLE_COLUMNS)


def calibration_line(calibration: dict[str, Any]) -> str:
    """One line on the calibration: method, confidence, windows and why."""
    import numpy as np

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


def cleaning_line(recording: Any) -> str | None:
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
