"""What every command of the ``spinecoach`` command line shares: the consoles, one way to
fail, the progress bar and the checks of a technique name.

Errors print one clear line to stderr and exit with status 2 (:func:`fail`); they never
leave a half-written file behind. Rich markup is never read in an error message, so
``spinecoach[camera]`` stays as written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from spinecoach.conventions import TECHNIQUES
from spinecoach.errors import SpinecoachError

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

#: Exit status when the recording was read but no clinical angle could be computed (the
#: calibration reason says why).
EXIT_NO_ANGLES = 3
#: Exit status of ``analyze --exercise`` when angles were computed but no rep was found.
EXIT_NO_REPS = 4


def fail(message: str) -> NoReturn:
    """Print ``message`` as written (never read as markup: `spinecoach[camera]` stays) and
    exit with code 2."""
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn the project's own errors into :func:`fail` (one line, exit status 2)."""
    try:
        yield
    except SpinecoachError as error:
        fail(str(error))


@contextmanager
def steps(total: int, quiet: bool) -> Iterator[Callable[[str], None]]:
    """A progress bar (on stderr) over the named steps of a command."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

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


def check_technique(technique: str) -> str:
    """A technique name the simulator knows, else exit 2 naming the ones it does."""
    if technique not in TECHNIQUES:
        fail(f"unknown technique {technique!r}; use one of: {', '.join(TECHNIQUES)}")
    return technique


def check_exercise(technique: str, given_as: str = "--exercise") -> str:
    """A technique name the exercise engine covers, else exit 2 naming the ones it does
    (``given_as``: how the user gave it, ``--exercise`` or ``TECHNIQUE``)."""
    from spinecoach.exercises.engine import SUPPORTED

    if technique not in SUPPORTED:
        covered = ", ".join(SUPPORTED)
        fail(f"unknown technique {technique!r}; {given_as} takes one of: {covered}")
    return technique
