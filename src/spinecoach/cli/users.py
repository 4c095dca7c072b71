"""``spinecoach users …``: the accounts of a server with sign-in (issue 16), from the
terminal of the machine that holds the database — whoever can run this can read the
database file anyway, so it needs no password of its own.

``add`` (the first account takes over the data recorded so far and should be an admin),
``list``, ``reset-password``, ``disable``, ``enable``, ``assign`` / ``unassign`` (a
clinician follows a person), ``audit`` (the audit log as CSV). Passwords are typed twice
at a hidden prompt, or read from the first line of stdin with ``--password-stdin`` (for
scripts; never as an argument, which would land in the shell history and ``ps``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from spinecoach.cli.common import DatabaseOption, fail, out_console, reporting_errors
from spinecoach.cli.root import app as root_app

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from spinecoach.services.accounts import Principal

app = typer.Typer(
    help="Accounts of the server: add, list, reset-password, disable, enable, assign, audit.",
    no_args_is_help=True,
)

PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of stdin instead of a hidden prompt.",
    ),
]


def _engine(database: str | None) -> Engine:
    from spinecoach.services.history import History

    with reporting_errors():
        return History.open(database).engine


def _terminal() -> Principal:
    """Who the audit log names for a change made here: the terminal's user."""
    import getpass

    from spinecoach.services.accounts import Principal

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Principal(f"terminal:{name}"[:64], "admin", None)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            fail("--password-stdin: stdin is empty; pipe the password in, one line")
        return line.rstrip("\r\n")
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Password again", hide_input=True) != first:
        fail("the two passwords differ; run the command again")
    return str(first)


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="The user name (lower-case letters, digits).")],
    role: Annotated[
        str, typer.Option(help="person (own data), clinician (assigned persons) or admin.")
    ] = "person",
    own_data: Annotated[
        bool | None,
        typer.Option(
            "--own-data/--no-own-data",
            help="Whether the account exercises itself (default: yes, except a clinician).",
        ),
    ] = None,
    password_stdin: PasswordStdin = False,
    database: DatabaseOption = None,
) -> None:
    """Add an account. The first account takes over the data recorded so far (make it an
    admin: it manages the others).

    Example: spinecoach users add owner --role admin
    """
    from spinecoach.services import accounts, audit

    engine = _engine(database)
    with reporting_errors():
        first = not accounts.has_users(engine)
        made = accounts.add_user(
            engine, username, _password(password_stdin), role, own_data=own_data
        )
        audit.record(engine, _terminal(), "account", made.person_id, "cli users add",
                     f"added {made.username} ({made.role}) from the terminal")  # fmt: skip
    note = " (it keeps the data recorded so far)" if first and made.person_id else ""
    out_console.print(f"added {made.username} ({made.role}){note}", highlight=False)


@app.command("list")
def list_users(database: DatabaseOption = None) -> None:
    """List the accounts."""
    from spinecoach.services import accounts

    engine = _engine(database)
    table = Table("user", "role", "own data", "disabled", "follows persons")
    for user in accounts.list_users(engine):
        table.add_row(
            user.username,
            user.role,
            "-" if user.person_id is None else f"person {user.person_id}",
            "yes" if user.disabled else "",
            ", ".join(str(p) for p in user.persons),
        )
    out_console.print(table)


@app.command("reset-password")
def reset_password(
    username: str, password_stdin: PasswordStdin = False, database: DatabaseOption = None
) -> None:
    """Give an account a new password; its sign-ins end."""
    from spinecoach.services import accounts, audit

    engine = _engine(database)
    with reporting_errors():
        accounts.set_password(engine, username, _password(password_stdin))
        info = accounts.get_user(engine, username)
        audit.record(engine, _terminal(), "account", info.person_id, "cli users reset-password",
                     f"reset the password of {info.username}")  # fmt: skip
    out_console.print(f"new password set for {username}; their sign-ins ended", highlight=False)


def _set_disabled(username: str, database: str | None, disabled: bool) -> None:
    from spinecoach.services import accounts, audit

    engine = _engine(database)
    with reporting_errors():
        accounts.set_disabled(engine, username, disabled)
        info = accounts.get_user(engine, username)
        word = "disabled" if disabled else "enabled"
        audit.record(engine, _terminal(), "account", info.person_id, f"cli users {word}",
                     f"{word} {info.username}")  # fmt: skip
    out_console.print(f"{username} {word}", highlight=False)


@app.command("disable")
def disable(username: str, database: DatabaseOption = None) -> None:
    """Disable an account: it cannot sign in, its sign-ins end (its data is kept)."""
    _set_disabled(username, database, True)


@app.command("enable")
def enable(username: str, database: DatabaseOption = None) -> None:
    """Enable a disabled account again."""
    _set_disabled(username, database, False)


def _assign(clinician: str, person: str, database: str | None, remove: bool) -> None:
    from spinecoach.services import accounts, audit

    engine = _engine(database)
    with reporting_errors():
        accounts.assign(engine, clinician, person, remove=remove)
        info = accounts.get_user(engine, person)
        word = "unassigned" if remove else "assigned"
        audit.record(engine, _terminal(), "account", info.person_id, f"cli users {word[:-2]}",
                     f"{person} {word} to {clinician}")  # fmt: skip
    out_console.print(f"{person} {word} {'from' if remove else 'to'} {clinician}")


@app.command("assign")
def assign(clinician: str, person: str, database: DatabaseOption = None) -> None:
    """Let a clinician follow (read) a person's data."""
    _assign(clinician, person, database, False)


@app.command("unassign")
def unassign(clinician: str, person: str, database: DatabaseOption = None) -> None:
    """Stop a clinician following a person."""
    _assign(clinician, person, database, True)


@app.command("audit")
def audit_log(
    out: Annotated[
        Path | None, typer.Option(help="Write the CSV here (default: print it).")
    ] = None,
    person: Annotated[int | None, typer.Option(help="Only this person's entries.")] = None,
    database: DatabaseOption = None,
) -> None:
    """The audit log (who read or changed whose data, sign-ins, account changes) as CSV,
    newest first."""
    from spinecoach.services import audit

    engine = _engine(database)
    text = audit.to_csv(audit.entries(engine, person_id=person, limit=audit.MAX_LIST))
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {out}: {error.strerror}; choose another --out")
    out_console.print(f"wrote {out}", highlight=False)


root_app.add_typer(app, name="users")
