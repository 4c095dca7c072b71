"""The ``spinecoach`` Typer application: its help, ``--version``, and the list of commands.

The command modules of :mod:`spinecoach.cli` register their commands on :data:`app`, but
they are imported only when one of their commands runs (or its ``--help`` is asked):
:class:`CommandLine` knows each command's name, module and one-line summary from
:data:`COMMANDS`, so ``spinecoach --help`` lists every command without importing any of
them (issue 17: under 0.15 s). The top-level help uses Click's plain layout, which costs
no import; each command's own help keeps Typer's Rich layout (the 60 ms of ``rich`` and
``markdown_it`` it imports are paid only there). A test checks that :data:`COMMANDS`
names every registered command, in order, with the start of its own help.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Annotated, Any, Final

import typer
from typer import _click
from typer.core import TyperGroup


@dataclass(frozen=True)
class CommandEntry:
    """One command of the top level: the module that registers it and the summary the
    top-level help shows (the start of the command's own help)."""

    module: str
    summary: str


#: Every command of the top level, in the order ``spinecoach --help`` lists them.
COMMANDS: Final[dict[str, CommandEntry]] = {
    "simulate": CommandEntry(
        "simulate",
        "Simulate a session of TECHNIQUE with two IMUs and write it with its ground truth.",
    ),
    "simulate-day": CommandEntry(
        "simulate", "Simulate a working day of all-day wear (two IMUs) and write it."
    ),
    "demo": CommandEntry(
        "simulate", "Simulate a session, analyse it, validate it against its truth and plot it."
    ),
    "analyze": CommandEntry(
        "analyze", "Estimate the clinical angles of a recording and summarise them."
    ),
    "formats": CommandEntry("analyze", "List the readable recording formats and their options."),
    "validate": CommandEntry(
        "validate", "Compare what spinecoach computes with a truth; one subcommand per comparison."
    ),
    "posture": CommandEntry("posture", "The all-day posture summary."),
    "coach": CommandEntry("coach", "Coach one session in the terminal."),
    "serve": CommandEntry("serve", "Start the live coaching server."),
    "onboard": CommandEntry("program", "Start the 6-week program."),
    "screen": CommandEntry(
        "program",
        "Something new or worrying during the program? Answer the red-flag safety questions again.",
    ),
    "report": CommandEntry("program", "Write a report of the 6-week program."),
    "simulate-program": CommandEntry("program", "Run a virtual person through the 6-week program."),
    "export": CommandEntry("program", "Export the history."),
    "sensors": CommandEntry("sensors", "Bluetooth LE sensors: find the ones nearby."),
    "users": CommandEntry("users", "Accounts of the server: add, list, reset-password, …"),
}


class CommandLine(TyperGroup):
    """The top-level group: lists :data:`COMMANDS` without importing them, imports a
    command's module when that command is resolved."""

    def list_commands(self, ctx: Any) -> list[str]:  # Typer's own click Context
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> _click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if cmd_name not in self.commands and entry is not None:
            import_module(f"spinecoach.cli.{entry.module}")
            from typer.main import get_command

            built = get_command(app)  # every command registered so far
            assert isinstance(built, TyperGroup)
            self.commands.update(built.commands)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        # Click's plain layout: Typer's Rich layout would import rich and markdown_it.
        _click.Command.format_help(self, ctx, formatter)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, _click.utils.make_default_short_help(entry.summary, limit))
            for name, entry in COMMANDS.items()
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return self._click_resolve_command(ctx, args)
        except _click.exceptions.UsageError as error:
            from difflib import get_close_matches

            matches = get_close_matches(args[0], list(COMMANDS)) if args else []
            if matches:
                suggestions = ", ".join(repr(match) for match in matches)
                error.message = f"{error.message.rstrip('.')}. Did you mean {suggestions}?"
            raise


app = typer.Typer(
    name="spinecoach",
    cls=CommandLine,
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
        from spinecoach import __version__

        typer.echo(f"spinecoach {__version__}")
        raise typer.Exit()
