"""``spinecoach sensors``: the sensor commands (``sensors scan``), defined with the
Bluetooth sources in :mod:`spinecoach.sources.cli_sensors`."""

from __future__ import annotations

from spinecoach.cli.root import app
from spinecoach.sources.cli_sensors import app as sensors_app

app.add_typer(sensors_app, name="sensors")
