"""The ``spinecoach`` Typer application: its help, ``--version``, and nothing else.

The command modules of :mod:`spinecoach.cli` register their commands on :data:`app`;
:mod:`spinecoach.cli` imports them all, so ``spinecoach.cli.app`` is the whole command line.
"""

from __future__ import annotations

from typing import Annotated

import typer

from spinecoach import __version__
from spinecoach.cli.common import out_console

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


@app.callback(invoke_without_command=True)
def root(
    version: Annotated[bool, typer.Option("--version", help="Show the version.")] = False,
) -> None:
    # No docstring: Typer would show it instead of the app's help.
    if version:
        out_console.print(f"spinecoach {__version__}")
        raise typer.Exit()
