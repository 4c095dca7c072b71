"""The terminal coach's options, checked when made (:class:`CoachSettings`), and asking
for pain on the visual analogue scale.

Every value is checked before anything is opened or asked: an unknown technique, source,
profile or a malformed database URL fails at once with the fix (:class:`CoachError`).
Nothing is imported from the camera extra here (see :func:`open_camera`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, TextIO

from rich.console import Console

from spinecoach.errors import SpinecoachError

if TYPE_CHECKING:
    from spinecoach.camera.source import CameraSource, CameraSpec

#: Sources of the terminal coach (device sources take addresses after a colon, the
#: camera a webcam number or a video file's path).
SOURCES: Final[tuple[str, ...]] = ("sim", "phyphox", "ble", "sensor-logger", "camera", "video")
#: The camera's sources: ``camera:N`` (webcam N) and ``video:PATH`` (a video file).
CAMERA_KINDS: Final[tuple[str, ...]] = ("camera", "video")
#: The visual analogue scale for pain (mm).
PAIN_MIN_MM: Final = 0.0
PAIN_MAX_MM: Final = 100.0
#: Most reps (or breath cycles) per set of a simulated session (as in the live protocol).
MAX_REPS: Final = 50


class CoachError(SpinecoachError):
    """A terminal-coach option or step that cannot be used; the message says the fix."""


# --- options ---------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CoachSettings:
    """The options of one terminal session, checked when made.

    ``speed`` is the replay speed (1.0 = real time) of the simulator and of a
    ``video:PATH`` camera source; ``pain_before_mm`` and
    ``pain_after_mm`` are 0–100 mm VAS or None (ask, when stdin is a terminal);
    ``database_url`` None means the server's default (``store.db.database_url``).

    >>> try:
    ...     CoachSettings("pelvic-tilt", source="phone")
    ... except CoachError as error:
    ...     print(error)  # doctest: +ELLIPSIS
    unknown source 'phone' for --source; use one of: sim, ...
    """

    technique: str
    source: str = "sim"
    seed: int = 0
    reps: int | None = None
    profile: str = "typical"
    speed: float = 1.0
    pain_before_mm: float | None = None
    pain_after_mm: float | None = None
    database_url: str | None = None
    save: bool = True
    #: Calibrate with the whole protocol even when a kept calibration would be checked.
    recalibrate: bool = False
    #: Where the ingest server of ``sensor-logger`` listens (HOST:PORT).
    listen: str = "127.0.0.1:8000"
    #: ``ble`` sources: a TOML file declaring the sensor's packets (None: Polar PMD).
    ble_device: str | None = None

    def __post_init__(self) -> None:
        from spinecoach.exercises.engine import SUPPORTED
        from spinecoach.sim import PROFILES

        if self.technique not in SUPPORTED:
            raise CoachError(
                f"unknown technique {self.technique!r}; coach takes one of: " + ", ".join(SUPPORTED)
            )
        from spinecoach.cli.terminal.devices import DeviceSourceError, parse_device_source

        if is_camera_source(self.source):
            camera_spec(self.source, self.technique)
        else:
            try:
                parse_device_source(self.source)
            except DeviceSourceError as error:
                raise CoachError(str(error)) from None
        if self.profile not in PROFILES:
            raise CoachError(
                f"unknown performer profile {self.profile!r} for --profile; use one of: "
                + ", ".join(PROFILES)
            )
        if not 0 <= self.seed <= 2**32 - 1:
            raise CoachError(f"--seed must be from 0 to {2**32 - 1}, got {self.seed}")
        if self.reps is not None and not 1 <= self.reps <= MAX_REPS:
            raise CoachError(f"--reps must be from 1 to {MAX_REPS} per set, got {self.reps}")
        if not (math.isfinite(self.speed) and self.speed > 0):
            raise CoachError(
                f"--speed must be a replay speed above 0 (1 = real time), got {self.speed:g}"
            )
        check_pain_mm(self.pain_before_mm, "--pain-before")
        check_pain_mm(self.pain_after_mm, "--pain-after")
        if self.save and self.database_url:
            _check_database_url(self.database_url)


def is_camera_source(source: str) -> bool:
    """Whether ``source`` is the camera's (``camera:N``, ``video:PATH``).

    >>> is_camera_source("video:hinge.mp4"), is_camera_source("ble:A0:9E:1A:00:00:01")
    (True, False)
    """
    return source.partition(":")[0].strip() in CAMERA_KINDS


def camera_spec(source: str, technique: str) -> CameraSpec:
    """The camera named by ``source`` for coaching ``technique``; a :class:`CoachError`
    with the fix when the value is malformed or a camera cannot coach the technique.
    Nothing is opened or imported from the camera extra here (see :func:`open_camera`).

    >>> camera_spec("camera:1", "hip-hinge").label
    'camera:1'
    >>> try:
    ...     camera_spec("video:clip.mp4", "pelvic-tilt")
    ... except CoachError as error:
    ...     print(error)  # doctest: +ELLIPSIS
    the camera cannot coach pelvic-tilt: ... Use a motion sensor ...
    """
    from spinecoach.camera.engine_map import CAMERA_COACHING
    from spinecoach.camera.live import CameraCoach
    from spinecoach.camera.source import parse_camera_source
    from spinecoach.errors import ConfigurationError

    try:
        spec = parse_camera_source(source.strip())
    except ConfigurationError as error:
        raise CoachError(str(error)) from None
    try:
        CameraCoach(technique)
    except ConfigurationError as error:
        raise CoachError(
            f"{error} A camera can coach {', '.join(sorted(CAMERA_COACHING))}; for "
            f"{technique} use --source sim, phyphox:ADDRESS, ble:ADDRESS or sensor-logger."
        ) from None
    return spec


def open_camera(
    settings: CoachSettings, camera_source: Callable[[], CameraSource] | None = None
) -> CameraSource:
    """The camera source of ``settings`` (made by ``camera_source`` when given: the test
    seam), checked now: a :class:`CoachError` naming the install command and the other
    sources when the camera extra is missing, or the video file does not exist."""
    from spinecoach.camera.source import CameraSource

    spec = camera_spec(settings.source, settings.technique)
    source = camera_source() if camera_source is not None else CameraSource(spec)
    try:
        source.check_available()
    except SpinecoachError as error:
        raise CoachError(f"--source {settings.source}: {error}") from None
    return source


def check_pain_mm(value: float | None, option: str) -> float | None:
    """``value`` when it is a pain rating on the 0–100 mm visual analogue scale (or None).

    >>> try:
    ...     check_pain_mm(120, "--pain-before")
    ... except CoachError as error:
    ...     print(error)  # doctest: +ELLIPSIS
    --pain-before must be from 0 to 100 mm ..., got 120
    """
    if value is None:
        return None
    if not (math.isfinite(value) and PAIN_MIN_MM <= value <= PAIN_MAX_MM):
        raise CoachError(
            f"{option} must be from {PAIN_MIN_MM:g} to {PAIN_MAX_MM:g} mm on the visual "
            f"analogue scale (0 no pain, 100 the worst imaginable), got {value:g}"
        )
    return float(value)


def _check_database_url(url: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except ArgumentError:
        raise CoachError(
            f"--database {url!r} is not a database URL; use for example "
            "sqlite:///path/to/spinecoach.sqlite3 or postgresql+psycopg://user@host/db"
        ) from None


def ask_pain(console: Console, when: str, *, stream: TextIO | None = None) -> float | None:
    """Ask for pain ``when`` ("before"/"after") until a 0–100 answer; None when skipped
    (an empty answer, end of input or Ctrl+C)."""
    question = (
        f"Pain {when} the session, 0 (none) to 100 (worst imaginable); Enter skips: "
        if when == "before"
        else "Pain now, after the session, 0 (none) to 100 (worst imaginable); Enter skips: "
    )
    while True:
        try:
            answer = console.input(question, stream=stream).strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return None
        if not answer:
            return None
        try:
            return check_pain_mm(float(answer.replace(",", ".")), "pain")
        except ValueError:
            console.print(f"[yellow]{answer!r} is not a number[/]; type 0 to 100", highlight=False)
        except CoachError as error:
            console.print(f"[yellow]{error}[/]", highlight=False)


__all__ = [
    "CAMERA_KINDS",
    "MAX_REPS",
    "PAIN_MAX_MM",
    "PAIN_MIN_MM",
    "SOURCES",
    "CoachError",
    "CoachSettings",
    "ask_pain",
    "camera_spec",
    "check_pain_mm",
    "is_camera_source",
    "open_camera",
]
