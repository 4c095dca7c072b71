"""``spinecoach sensors``: find Bluetooth LE sensors nearby.

A Typer sub-app, registered on the main command line as ``sensors`` when this module is
imported; the scanning itself is :mod:`spinecoach.sources.ble_scan`::

    spinecoach sensors scan               # a table of devices heard in 5 s
    spinecoach sensors scan --timeout 10 --json

Exit status 1, with one clear line on stderr, when the computer has no Bluetooth adapter
or no BlueZ (the line names the other sources: a phone app, the simulator, a file).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from spinecoach.cli.root import app as root_app
from spinecoach.errors import SourceUnavailableError

if TYPE_CHECKING:  # the BLE stack is imported when a scan runs: the command line starts quicker
    from spinecoach.sources.ble_scan import FoundDevice

app = typer.Typer(
    name="sensors",
    help="Bluetooth LE sensors: find the ones nearby.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def sensors() -> None:
    """Bluetooth LE sensors (Polar Verity Sense over PMD, or a declared packet layout)."""


def _table(devices: list[FoundDevice], timeout_s: float) -> Table:
    table = Table(title=f"Bluetooth LE devices heard in {timeout_s:g} s")
    table.add_column("name")
    table.add_column("address")
    table.add_column("RSSI (dBm)", justify="right")
    table.add_column("supported as")
    for device in devices:
        table.add_row(
            device.name or "(no name)",
            device.address,
            "" if device.rssi is None else str(device.rssi),
            device.protocol or "-",
        )
    return table


@app.command("scan")
def scan_command(
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.5, max=120.0, help="Seconds to listen."),
    ] = 5.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the devices as JSON instead of a table.")
    ] = False,
) -> None:
    """List nearby Bluetooth LE devices and which supported protocol each looks like.

    Example: spinecoach sensors scan --timeout 10
    """
    out, err = Console(), Console(stderr=True)
    try:
        import asyncio

        from spinecoach.sources.ble_scan import scan

        devices = asyncio.run(scan(timeout))
    except SourceUnavailableError as error:
        err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from error
    if as_json:
        typer.echo(json.dumps([d.as_dict() for d in devices], indent=2))
        return
    if not devices:
        out.print(f"No Bluetooth LE device heard in {timeout:g} s.")
        return
    out.print(_table(devices, timeout))
    if not any(d.protocol for d in devices):
        out.print("None of them looks like a supported sensor (Polar over PMD).")


root_app.add_typer(app, name="sensors")
