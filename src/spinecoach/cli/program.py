"""The 6-week program and the history from the command line: ``onboard`` and ``screen``
(the red-flag questions and the baseline, prompted by :mod:`spinecoach.cli.onboard`),
``report``, ``simulate-program`` and ``export``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from spinecoach.cli.common import DatabaseOption, out_console, reporting_errors
from spinecoach.cli.root import app
from spinecoach.conventions import finite_or_none


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
    from spinecoach.cli.onboard import run_onboarding

    with reporting_errors():
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
    from spinecoach.cli.onboard import run_screening

    with reporting_errors():
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

    with reporting_errors():
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

    with reporting_errors():
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

    with reporting_errors():
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
